/**
 * Test helper: Karpenter's reference CloudFormation (aws/karpenter-provider-aws v1.14.1,
 * website/content/en/preview/getting-started/getting-started-with-karpenter/cloudformation.yaml), read
 * in place from the shared schema folder, with its `!Sub` placeholders filled in for one deployment.
 */
import { parse } from "yaml";
import type { KarpenterPolicyInput } from "../components/aws/karpenter";
import { readUpstreamText } from "./upstreamFiles";

const referenceFile = "cloudformation.yaml";

/** What the template's parameters and pseudo parameters stand for in one deployment (the facts our policy is scoped to). */
export type ReferenceFacts = KarpenterPolicyInput;

type Tagged = { readonly tag: string; readonly value: unknown };

/** The template with `!Sub`, `!GetAtt` and `!Ref` kept as `{ tag, value }` so they can be resolved per deployment. */
export function readReference(): { Resources: Record<string, { Type: string; Properties: Record<string, any> }> } {
    const keep = (tag: string) => ({ tag, resolve: (value: unknown) => ({ tag, value }) as Tagged });
    const text = readUpstreamText("karpenter", referenceFile);
    return parse(text, { customTags: [keep("!Sub"), keep("!GetAtt"), keep("!Ref")] }) as any;
}

/** Fills `${...}` of a `!Sub` string; an unknown placeholder is an error (the template changed). */
export function substitute(text: string, facts: ReferenceFacts): string {
    const values: Record<string, string> = {
        "AWS::Partition": facts.partition,
        "AWS::Region": facts.region,
        "AWS::AccountId": facts.accountId,
        "AWS::URLSuffix": "amazonaws.com",
        ClusterName: facts.clusterName,
        "KarpenterNodeRole.Arn": facts.nodeRoleArn,
        "KarpenterInterruptionQueue.Arn": facts.interruptionQueueArn,
    };
    return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        if (!(name in values)) throw new Error(`reference template: unknown placeholder \${${name}}`);
        return values[name];
    });
}

/** Resolves every tagged value in `value` (deeply) for one deployment. */
export function resolve(value: unknown, facts: ReferenceFacts): any {
    if (Array.isArray(value)) return value.map((v) => resolve(v, facts));
    if (value && typeof value === "object") {
        const tagged = value as Tagged;
        if (typeof tagged.tag === "string" && "value" in tagged) {
            if (tagged.tag === "!Sub") return substitute(String(tagged.value), facts);
            if (tagged.tag === "!GetAtt" && tagged.value === "KarpenterInterruptionQueue.Arn") return facts.interruptionQueueArn;
            if (tagged.tag === "!Ref" && tagged.value === "KarpenterInterruptionQueue") return `queue-url-of-${facts.interruptionQueueArn}`;
            throw new Error(`reference template: cannot resolve ${tagged.tag} ${String(tagged.value)}`);
        }
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, facts)]));
    }
    return value;
}

/** Every statement of the controller's managed policies (the `AWS::IAM::ManagedPolicy` resources), by policy. */
export function referenceControllerPolicies(facts: ReferenceFacts): Record<string, { Statement: any[] }> {
    const template = readReference();
    return Object.fromEntries(
        Object.entries(template.Resources)
            .filter(([, r]) => r.Type === "AWS::IAM::ManagedPolicy")
            .map(([name, r]) => {
                const doc = resolve(r.Properties.PolicyDocument, facts);
                return [name, typeof doc === "string" ? JSON.parse(doc) : doc];
            }),
    );
}

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]).sort();

/** A statement in a canonical form (lists sorted, single values as lists), so upstream and ours compare. */
export function canonicalStatement(s: Record<string, any>): string {
    const condition = s.Condition
        ? Object.fromEntries(
              Object.keys(s.Condition)
                  .sort()
                  .map((op) => [op, Object.fromEntries(Object.keys(s.Condition[op]).sort().map((k) => [k, asList(s.Condition[op][k])]))]),
          )
        : undefined;
    return JSON.stringify({
        Sid: s.Sid,
        Effect: s.Effect,
        Principal: s.Principal === undefined ? undefined : typeof s.Principal === "string" ? s.Principal : { Service: asList(s.Principal.Service) },
        Action: asList(s.Action),
        Resource: asList(s.Resource),
        Condition: condition,
    });
}
