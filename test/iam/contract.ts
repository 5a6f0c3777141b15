/**
 * IAM access contracts: what a role's real client does, checked against what the stack renders.
 *
 * A contract (one per role, in `contracts/`) is two tables written from the client's pinned source,
 * never from our policy:
 * - `needed`: every AWS call the client makes, as IAM authorizes it (action, resource ARN, the
 *   condition keys the request carries) with the upstream repository, tag, file and function it
 *   comes from. Each must be Allowed.
 * - `forbidden`: calls the role must not be able to make (writes for readers, other buckets and
 *   prefixes, untagged resources, PassRole, ...). Each must be denied, implicitly or explicitly.
 * Every row is evaluated by a real IAM evaluator (`evaluator.ts`) against the role's rendered
 * identity policies plus the resource's own policy (bucket policy, key policy) from `renderedStack.ts`.
 *
 * Adding a role (e.g. Karpenter's controller, the EBS CSI driver, Mountpoint for S3's CSI driver):
 * 1. Read the client's pinned source (`fetch` the repo at the pinned tag) and list its AWS calls:
 *    the SDK call, the IAM action and resource it is authorized as, the condition keys it carries.
 * 2. Write `contracts/<role>.ts` exporting a function from deployment facts (taken from the consumer
 *    side of the rendered stack: Helm values, ServiceAccounts, URIs, tags AWS puts on resources) to
 *    an `AccessContract`; cite `owner/repo tag file function` in every needed row.
 * 3. In `contracts/index.ts`, find the role from its consumer (`stack.roleOfServiceAccount` for the
 *    account the chart or workload runs as) and push the contract in `roleContracts`; add the
 *    client's pin to `contractClientPins`. `stack.test.ts` then evaluates every row against the
 *    synthesized stack, simulates the role's trust policy, checks its actions and keys against
 *    AWS's data, and fails for any rendered role without a contract.
 */
import { describe, expect, it } from "vitest";
import { Decision, evaluate, evaluateUnvalidated, IamRequest, PolicyDocument } from "./evaluator";

/** One AWS call as IAM authorizes it. */
export interface AwsCall {
    /** The API call and how the client makes it, e.g. `HeadBucket (s3.meta.client.head_bucket)`. */
    readonly call: string;
    /** IAM action the call is authorized as. */
    readonly action: string;
    /** ARN the action is authorized against (`*` for actions without resource-level permissions). */
    readonly resource: string;
    /** Condition keys the request carries (`s3:prefix`, `kms:ViaService`, `aws:ResourceTag/...`). */
    readonly context?: Readonly<Record<string, string | readonly string[]>>;
    /**
     * Why AWS's authorization data as packaged cannot validate this action on this resource (the row
     * is then evaluated by the same engine without input validation). Leave unset otherwise.
     */
    readonly unvalidatedResource?: string;
}

/** A call the client makes: must be Allowed. */
export interface NeededCall extends AwsCall {
    /** Where the pinned client makes it: `owner/repo tag path function` (or the AWS document that maps it). */
    readonly source: string;
}

/** A call the role must not be able to make: must be denied. */
export interface ForbiddenCall extends AwsCall {
    /** Why the role must not make it. */
    readonly why: string;
}

export interface AccessContract {
    /** The client, at its pinned version, e.g. `KServe storage initializer v0.20.0`. */
    readonly client: string;
    readonly needed: readonly NeededCall[];
    readonly forbidden: readonly ForbiddenCall[];
}

/** Everything IAM consults when one role calls AWS. */
export interface RoleAccess {
    readonly roleArn: string;
    readonly accountId: string;
    readonly identityPolicies: readonly { readonly name: string; readonly policy: PolicyDocument }[];
    /** The resource's own policy for a request on `resourceArn` (bucket policy, key policy), if any. */
    readonly resourcePolicyFor: (resourceArn: string) => PolicyDocument | undefined;
    /** Account owning `resourceArn` (S3 ARNs carry none). */
    readonly accountOf: (resourceArn: string) => string;
}

/** IAM's decision on `call` made by the role. */
export function decide(access: RoleAccess, call: AwsCall): Promise<Decision> {
    const roleName = access.roleArn.split("/").pop();
    const request: IamRequest = {
        principal: `arn:aws:sts::${access.accountId}:assumed-role/${roleName}/contract-session`,
        action: call.action,
        resource: call.resource,
        resourceAccount: access.accountOf(call.resource),
        context: call.context,
    };
    const policies = { identityPolicies: access.identityPolicies, resourcePolicy: access.resourcePolicyFor(call.resource) };
    return call.unvalidatedResource ? Promise.resolve(evaluateUnvalidated(request, policies)) : evaluate(request, policies);
}

/** Rows without repeats (the same call and action on the same resource with the same context). */
export function uniqueRows<T extends AwsCall>(rows: readonly T[]): T[] {
    const seen = new Set<string>();
    return rows.filter((r) => {
        const key = JSON.stringify([r.call, r.action, r.resource, r.context ?? {}]);
        return seen.has(key) ? false : (seen.add(key), true);
    });
}

const rowName = (c: AwsCall) => `${c.call}: ${c.action} on ${c.resource}${c.context ? ` ${JSON.stringify(c.context)}` : ""}`;

/**
 * Registers one test per row: `needs <call>` (Allowed) and `must not <call>` (denied). Call inside a
 * `describe`; `access` is read when the tests run.
 */
export function describeAccessContract(title: string, contract: AccessContract, access: () => RoleAccess): void {
    describe(`${title} (${contract.client})`, () => {
        it("has rows on both sides", () => {
            expect(contract.needed.length).toBeGreaterThan(0);
            expect(contract.forbidden.length).toBeGreaterThan(0);
            for (const row of contract.needed) expect(row.source, rowName(row)).toMatch(/\S+ \S+ \S+/);
        });
        for (const row of contract.needed) {
            it(`needs ${rowName(row)} [${row.source}]`, async () => {
                expect(await decide(access(), row)).toBe("Allowed");
            });
        }
        for (const row of contract.forbidden) {
            it(`must not ${rowName(row)} (${row.why})`, async () => {
                expect(await decide(access(), row)).not.toBe("Allowed");
            });
        }
    });
}
