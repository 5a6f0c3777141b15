/**
 * A delete-time wait for AWS state that Pulumi cannot see: a resource whose `delete` blocks until
 * something that another system releases asynchronously is really gone, so that what depends on it
 * is deleted only afterwards. Create and update do nothing.
 *
 * Why it exists: some AWS objects are made and removed by in-cluster controllers, not by Pulumi.
 * The AWS Load Balancer Controller deletes the ingress NLB when its Service goes, and AWS frees the
 * NLB's network interfaces (which hold our Elastic IPs) some time after `DeleteLoadBalancer`
 * returns. Releasing the EIPs in that window fails with `AuthFailure` / `InvalidIPAddress.InUse`
 * (terraform-provider-aws issues #13763 and #33645 describe the same race). Placing a gate between
 * the EIPs and the gateway release makes `pulumi destroy` wait until every address is disassociated.
 *
 * The condition is checked with the AWS SDK from the machine that runs Pulumi, with the default
 * credential chain (the same environment the AWS provider uses) and the stack's region and profile.
 */
import * as pulumi from "@pulumi/pulumi";

/** What must be true before the resources the gate protects may be deleted. */
export type DeletionCondition =
    /** These Elastic IPs are no longer associated with any network interface (or no longer exist). */
    | { readonly kind: "addresses-disassociated"; readonly allocationIds: readonly string[] }
    /**
     * No EC2 instance carrying this tag (and every `alsoTagged` tag, with any of its values) is
     * pending, running, shutting down, stopping or stopped.
     */
    | {
          readonly kind: "instances-terminated";
          readonly tagKey: string;
          readonly tagValue: string;
          /** Further tags an instance must carry to count (AND); each matches any of its values. Default: none. */
          readonly alsoTagged?: readonly TagFilter[];
      };

/** A tag an instance must carry, with any one of `values`. */
export interface TagFilter {
    readonly key: string;
    readonly values: readonly string[];
}

/** The EC2 answers a condition is judged on (the subset of the SDK's response shapes we read). */
export interface Ec2Snapshot {
    readonly addresses?: readonly { readonly AllocationId?: string; readonly AssociationId?: string; readonly NetworkInterfaceId?: string; readonly PublicIp?: string }[];
    readonly instances?: readonly {
        readonly InstanceId?: string;
        readonly State?: { readonly Name?: string };
        readonly Tags?: readonly { readonly Key?: string; readonly Value?: string }[];
    }[];
}

/** Instance states that still hold capacity, an ENI or an address. */
export const liveInstanceStates = ["pending", "running", "shutting-down", "stopping", "stopped"] as const;

/** One line per thing that still blocks deletion; empty when the condition holds. */
export function blockingItems(condition: DeletionCondition, snapshot: Ec2Snapshot): string[] {
    switch (condition.kind) {
        case "addresses-disassociated": {
            const wanted = new Set(condition.allocationIds);
            return (snapshot.addresses ?? [])
                .filter((a) => a.AllocationId !== undefined && wanted.has(a.AllocationId) && a.AssociationId)
                .map((a) => `Elastic IP ${a.PublicIp ?? a.AllocationId} (${a.AllocationId}) is still associated with ${a.NetworkInterfaceId ?? a.AssociationId}`);
        }
        case "instances-terminated": {
            const filters = instanceTagFilters(condition);
            const described = filters.map((f) => `${f.key}=${f.values.join("|")}`).join(", ");
            return (snapshot.instances ?? [])
                .filter((i) => (liveInstanceStates as readonly string[]).includes(i.State?.Name ?? ""))
                // EC2 filtered by these tags already; instances whose tags came back are checked again.
                .filter((i) => i.Tags === undefined || filters.every((f) => i.Tags!.some((t) => t.Key === f.key && f.values.includes(t.Value ?? ""))))
                .map((i) => `instance ${i.InstanceId} tagged ${described} is ${i.State?.Name}`);
        }
    }
}

/** Every tag an `instances-terminated` condition requires (the primary tag first). */
export function instanceTagFilters(condition: Extract<DeletionCondition, { kind: "instances-terminated" }>): TagFilter[] {
    return [{ key: condition.tagKey, values: [condition.tagValue] }, ...(condition.alsoTagged ?? [])];
}

/** Why a condition cannot be checked, or undefined. Checked before anything is created. */
export function deletionConditionProblem(condition: DeletionCondition): string | undefined {
    switch (condition.kind) {
        case "addresses-disassociated":
            return condition.allocationIds.every((id) => id.length > 0) ? undefined : "allocationIds must not contain empty ids";
        case "instances-terminated": {
            const problems = instanceTagFilters(condition).flatMap((f) => [
                ...(f.key.length > 0 && f.key.length <= 128 ? [] : [`tag key '${f.key}' must be 1-128 characters`]),
                ...(f.values.length > 0 ? [] : [`tag ${f.key} needs at least one value`]),
                ...f.values.filter((v) => v.length > 256).map((v) => `tag ${f.key} value '${v}' is longer than 256 characters`),
            ]);
            return problems.length === 0 ? undefined : problems.join("; ");
        }
    }
}

export interface WaitOptions {
    /** Give up after this long. */
    readonly timeoutMs: number;
    /** Time between checks. */
    readonly intervalMs: number;
    /** Clock and sleep, injectable for tests. */
    readonly now?: () => number;
    readonly sleep?: (ms: number) => Promise<void>;
    /** Progress lines (the provider logs them). Default: none. */
    readonly log?: (line: string) => void;
}

/**
 * Polls `check` until it returns no blocking items; throws, naming what still blocks, when the
 * timeout passes. A check that throws is retried (AWS throttling, a transient network error) until
 * the timeout, and the last error is reported.
 */
export async function waitUntilClear(check: () => Promise<string[]>, options: WaitOptions): Promise<void> {
    const now = options.now ?? Date.now;
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const deadline = now() + options.timeoutMs;
    let last: string[] = [];
    for (;;) {
        try {
            last = await check();
            if (last.length === 0) return;
            options.log?.(`waiting: ${last.join("; ")}`);
        } catch (err) {
            last = [`the check failed: ${(err as Error).message}`];
        }
        if (now() >= deadline) {
            throw new Error(`gave up after ${Math.round(options.timeoutMs / 1000)} s: ${last.join("; ")}`);
        }
        await sleep(options.intervalMs);
    }
}

/** What the dynamic provider stores; everything it needs at delete time. */
interface GateState {
    readonly region: string;
    readonly profile?: string;
    readonly condition: DeletionCondition;
    readonly timeoutSeconds: number;
    readonly intervalSeconds: number;
}

/** Reads the EC2 state a condition is judged on, through the AWS SDK. */
async function readSnapshot(state: GateState): Promise<Ec2Snapshot> {
    // Loaded here, not at the top: this runs inside Pulumi's dynamic-provider host, from the
    // serialized provider, where only `require` of installed packages is available.
    const ec2 = require("@aws-sdk/client-ec2");
    const client = new ec2.EC2Client({ region: state.region, ...(state.profile ? { profile: state.profile } : {}) });
    const condition = state.condition;
    if (condition.kind === "addresses-disassociated") {
        if (condition.allocationIds.length === 0) return { addresses: [] };
        try {
            const out = await client.send(new ec2.DescribeAddressesCommand({ AllocationIds: [...condition.allocationIds] }));
            return { addresses: out.Addresses ?? [] };
        } catch (err) {
            // Released already (by hand or by an earlier destroy): nothing holds it.
            if ((err as { name?: string }).name === "InvalidAllocationID.NotFound") return { addresses: [] };
            throw err;
        }
    }
    const instances: NonNullable<Ec2Snapshot["instances"]>[number][] = [];
    let nextToken: string | undefined;
    do {
        const out = await client.send(
            new ec2.DescribeInstancesCommand({
                Filters: [
                    // EC2 ANDs filters and ORs the values of one filter.
                    ...[{ key: condition.tagKey, values: [condition.tagValue] }, ...(condition.alsoTagged ?? [])].map((f) => ({ Name: `tag:${f.key}`, Values: [...f.values] })),
                    { Name: "instance-state-name", Values: [...liveInstanceStates] },
                ],
                NextToken: nextToken,
            }),
        );
        for (const reservation of out.Reservations ?? []) instances.push(...(reservation.Instances ?? []));
        nextToken = out.NextToken;
    } while (nextToken);
    return { instances };
}

const gateProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: GateState) {
        return { id: `gate-${inputs.condition.kind}`, outs: inputs };
    },
    async diff() {
        // Inputs only matter at delete time, where the stored (newest) state is used: never replace.
        return { changes: false };
    },
    async update(_id: string, _olds: GateState, news: GateState) {
        return { outs: news };
    },
    async delete(_id: string, state: GateState) {
        await waitUntilClear(async () => blockingItems(state.condition, await readSnapshot(state)), {
            timeoutMs: state.timeoutSeconds * 1000,
            intervalMs: state.intervalSeconds * 1000,
        });
    },
};

export interface DeletionGateArgs {
    /** AWS region of the resources the condition names. Required. */
    readonly region: pulumi.Input<string>;
    /** Named AWS CLI/SDK profile, when the stack's AWS provider uses one (`aws:profile`). Default: the default credential chain. */
    readonly profile?: pulumi.Input<string>;
    /** What must hold before the gate's dependencies are deleted. Required. */
    readonly condition: pulumi.Input<DeletionCondition>;
    /** How long delete waits before failing with what still blocks. Default: 900 s. */
    readonly timeoutSeconds?: number;
    /** Seconds between checks. Default: 10. */
    readonly intervalSeconds?: number;
}

/**
 * Put the gate after what must be gone last (`dependsOn` or inputs) and before what deletes the thing
 * that holds it (that resource `dependsOn` the gate): on destroy, Pulumi deletes the holder first,
 * then the gate waits, then the rest goes.
 */
export class DeletionGate extends pulumi.dynamic.Resource {
    constructor(name: string, args: DeletionGateArgs, opts?: pulumi.CustomResourceOptions) {
        const timeoutSeconds = args.timeoutSeconds ?? 900;
        const intervalSeconds = args.intervalSeconds ?? 10;
        if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 30 || timeoutSeconds > 3600) {
            throw new Error(`DeletionGate ${name}: timeoutSeconds must be a whole number from 30 to 3600 (got ${timeoutSeconds})`);
        }
        if (!Number.isInteger(intervalSeconds) || intervalSeconds < 1 || intervalSeconds > timeoutSeconds) {
            throw new Error(`DeletionGate ${name}: intervalSeconds must be a whole number from 1 to timeoutSeconds (got ${intervalSeconds})`);
        }
        const condition = pulumi.output(args.condition).apply((c) => {
            const problem = deletionConditionProblem(c);
            if (problem) throw new Error(`DeletionGate ${name}: ${problem}`);
            return c;
        });
        super(gateProvider, name, { region: args.region, profile: args.profile, condition, timeoutSeconds, intervalSeconds }, opts, "inference-platform", "DeletionGate");
    }
}
