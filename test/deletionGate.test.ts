import { describe, expect, it } from "vitest";
import { blockingItems, deletionConditionProblem, waitUntilClear } from "../components/aws/deletionGate";

// Response shapes follow EC2's DescribeAddresses and DescribeInstances (AWS EC2 API reference:
// Address has AllocationId, AssociationId, NetworkInterfaceId, PublicIp; Instance has InstanceId, State.Name).
const held = { AllocationId: "eipalloc-0a", AssociationId: "eipassoc-1", NetworkInterfaceId: "eni-nlb", PublicIp: "203.0.113.10" };
const free = { AllocationId: "eipalloc-0b", PublicIp: "203.0.113.11" };

describe("blockingItems", () => {
    it("an address still associated with the NLB's interface blocks; a free one does not", () => {
        const condition = { kind: "addresses-disassociated", allocationIds: ["eipalloc-0a", "eipalloc-0b"] } as const;
        expect(blockingItems(condition, { addresses: [held, free] })).toEqual([
            "Elastic IP 203.0.113.10 (eipalloc-0a) is still associated with eni-nlb",
        ]);
        expect(blockingItems(condition, { addresses: [free, { ...held, AssociationId: undefined, NetworkInterfaceId: undefined }] })).toEqual([]);
        // Already released addresses are simply absent from the answer.
        expect(blockingItems(condition, { addresses: [] })).toEqual([]);
    });

    it("ignores associated addresses the gate does not guard", () => {
        expect(blockingItems({ kind: "addresses-disassociated", allocationIds: ["eipalloc-0b"] }, { addresses: [held, free] })).toEqual([]);
    });

    it("instances that still hold capacity block; terminated ones do not", () => {
        const condition = { kind: "instances-terminated", tagKey: "karpenter.sh/nodepool", tagValue: "gpu" } as const;
        const items = blockingItems(condition, {
            instances: [
                { InstanceId: "i-1", State: { Name: "running" } },
                { InstanceId: "i-2", State: { Name: "shutting-down" } },
                { InstanceId: "i-3", State: { Name: "terminated" } },
                { InstanceId: "i-4", State: { Name: "stopped" } },
            ],
        });
        expect(items).toEqual([
            "instance i-1 tagged karpenter.sh/nodepool=gpu is running",
            "instance i-2 tagged karpenter.sh/nodepool=gpu is shutting-down",
            "instance i-4 tagged karpenter.sh/nodepool=gpu is stopped",
        ]);
    });
});

describe("blockingItems with several tags (Karpenter's pools of one cluster)", () => {
    // DescribeInstances returns Tags per instance (EC2 API reference, Instance.Tags).
    const condition = {
        kind: "instances-terminated",
        tagKey: "eks:eks-cluster-name",
        tagValue: "demo",
        alsoTagged: [{ key: "karpenter.sh/nodepool", values: ["gpu", "cpu-burst"] }],
    } as const;
    const tags = (cluster: string, pool?: string) => [{ Key: "eks:eks-cluster-name", Value: cluster }, ...(pool ? [{ Key: "karpenter.sh/nodepool", Value: pool }] : [])];

    it("blocks on a live instance of any listed pool of this cluster, naming every tag", () => {
        expect(
            blockingItems(condition, {
                instances: [
                    { InstanceId: "i-gpu", State: { Name: "running" }, Tags: tags("demo", "gpu") },
                    { InstanceId: "i-burst", State: { Name: "shutting-down" }, Tags: tags("demo", "cpu-burst") },
                ],
            }),
        ).toEqual([
            "instance i-gpu tagged eks:eks-cluster-name=demo, karpenter.sh/nodepool=gpu|cpu-burst is running",
            "instance i-burst tagged eks:eks-cluster-name=demo, karpenter.sh/nodepool=gpu|cpu-burst is shutting-down",
        ]);
    });

    it("ignores instances of another cluster, another pool, or no pool (the managed node groups)", () => {
        expect(
            blockingItems(condition, {
                instances: [
                    { InstanceId: "i-other", State: { Name: "running" }, Tags: tags("other", "gpu") },
                    { InstanceId: "i-pool", State: { Name: "running" }, Tags: tags("demo", "batch") },
                    { InstanceId: "i-mng", State: { Name: "running" }, Tags: tags("demo") },
                ],
            }),
        ).toEqual([]);
    });
});

describe("deletionConditionProblem", () => {
    it("rejects conditions that cannot be checked", () => {
        expect(deletionConditionProblem({ kind: "addresses-disassociated", allocationIds: ["eipalloc-1", ""] })).toMatch(/empty/);
        expect(deletionConditionProblem({ kind: "instances-terminated", tagKey: "", tagValue: "x" })).toMatch(/tag key '' must be 1-128 characters/);
        expect(
            deletionConditionProblem({ kind: "instances-terminated", tagKey: "eks:eks-cluster-name", tagValue: "c", alsoTagged: [{ key: "karpenter.sh/nodepool", values: [] }] }),
        ).toMatch(/karpenter.sh\/nodepool needs at least one value/);
        expect(deletionConditionProblem({ kind: "addresses-disassociated", allocationIds: ["eipalloc-1"] })).toBeUndefined();
    });
});

describe("waitUntilClear", () => {
    /** A fake clock: sleeping advances time, nothing really waits. */
    const clock = () => {
        let t = 0;
        return { now: () => t, sleep: async (ms: number) => void (t += ms), elapsed: () => t };
    };

    it("returns as soon as nothing blocks", async () => {
        const c = clock();
        const answers = [["Elastic IP a is still associated"], ["Elastic IP a is still associated"], []];
        const log: string[] = [];
        await waitUntilClear(async () => answers.shift()!, { timeoutMs: 60_000, intervalMs: 10_000, now: c.now, sleep: c.sleep, log: (l) => log.push(l) });
        expect(c.elapsed()).toBe(20_000);
        expect(log).toEqual(["waiting: Elastic IP a is still associated", "waiting: Elastic IP a is still associated"]);
    });

    it("fails after the timeout naming what still blocks", async () => {
        const c = clock();
        await expect(
            waitUntilClear(async () => ["Elastic IP 203.0.113.10 (eipalloc-0a) is still associated with eni-nlb"], {
                timeoutMs: 30_000,
                intervalMs: 10_000,
                now: c.now,
                sleep: c.sleep,
            }),
        ).rejects.toThrow(/gave up after 30 s: Elastic IP 203\.0\.113\.10 \(eipalloc-0a\) is still associated with eni-nlb/);
        expect(c.elapsed()).toBe(30_000);
    });

    it("retries a check that throws (throttling) and reports the last error at the timeout", async () => {
        const c = clock();
        let calls = 0;
        await waitUntilClear(
            async () => {
                calls += 1;
                if (calls < 3) throw new Error("Rate exceeded");
                return [];
            },
            { timeoutMs: 60_000, intervalMs: 5_000, now: c.now, sleep: c.sleep },
        );
        expect(calls).toBe(3);
        await expect(
            waitUntilClear(async () => Promise.reject(new Error("UnauthorizedOperation")), { timeoutMs: 10_000, intervalMs: 5_000, now: c.now, sleep: c.sleep }),
        ).rejects.toThrow(/the check failed: UnauthorizedOperation/);
    });
});
