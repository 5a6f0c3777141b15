/**
 * Test helper: an existing stack survives the layered structure. Every resource a deployed stack
 * holds (test/fixtures/urns-before-layers/<stack>.txt, written from the synth of the last commit
 * before the layers, in the engine's URN form) must be adopted by exactly one resource of today's
 * program, through its own aliases or its parents' (test/urnAliases.ts follows the engine's rules).
 * An orphan would be deleted and re-created by the next `pulumi up`, a duplicate claim is an error.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { recordedStack } from "./stackRecording";
import { adoption, engineUrn } from "./urnAliases";

/**
 * Old resources a stack is meant to lose, each with the reason; every other old URN must be adopted.
 * The list is exact: an entry that something adopts again, or an orphan missing here, fails.
 */
export const intentionallyRemoved: Readonly<Record<string, { readonly urns: readonly string[]; readonly why: string }>> = {
    dev: {
        // Issue 12: GPUs come from Karpenter's NodePool by default on eks (Pulumi.dev.yaml sets
        // gpuProvisioner: karpenter). The next `pulumi up` creates Karpenter and the pool and deletes
        // the managed GPU group with its launch template and the Cluster Autoscaler's scale-from-zero
        // tags on its Auto Scaling group; the group is at zero when idle, so nothing running is lost.
        // A stack that wants to keep the group sets gpuProvisioner: node-group and loses nothing.
        urns: [
            "cluster-gpu-node-template-label-k8s-amazonaws-com-accelerator",
            "cluster-gpu-node-template-label-nvidia-com-gpu-present",
            "cluster-gpu-node-template-resources-nvidia-com-gpu",
            "cluster-gpu-node-template-taint-nvidia-com-gpu",
        ]
            .map((n) => `urn:pulumi:dev::inference-platform::inference-platform:aws:EksCluster$aws:autoscaling/tag:Tag::${n}`)
            .concat([
                "urn:pulumi:dev::inference-platform::inference-platform:aws:EksCluster$aws:ec2/launchTemplate:LaunchTemplate::cluster-gpu-lt",
                "urn:pulumi:dev::inference-platform::inference-platform:aws:EksCluster$aws:eks/nodeGroup:NodeGroup::cluster-gpu",
            ]),
        why: "the managed GPU node group is replaced by Karpenter's GPU NodePool (gpuProvisioner: karpenter, issue 12)",
    },
};

export function describeAdoption(stack: "dev" | "local", minimumResources: number): void {
    describe(`the ${stack} stack adopts every resource it deployed before the layers`, async () => {
        const rec = await recordedStack(stack);
        const records = rec.resources.map((r) => ({ urn: r.urn, type: r.type, name: r.name, parent: r.parent, aliases: r.aliases }));
        const before = fs.readFileSync(path.join(__dirname, "fixtures/urns-before-layers", `${stack}.txt`), "utf8").trim().split("\n");
        const { adoptedBy, orphaned, contested } = adoption(before, records);

        it("has a fixture worth checking", () => {
            expect(before.length).toBeGreaterThan(minimumResources);
        });

        const removed = intentionallyRemoved[stack]?.urns ?? [];

        it("no resource of the old stack is orphaned (it would be replaced), except the ones removed on purpose", () => {
            expect(orphaned).toEqual([...removed]);
            expect(adoptedBy.size).toBe(before.length - removed.length);
        });

        it("the resources removed on purpose were in the old stack (the list is not stale)", () => {
            for (const urn of removed) expect(before, urn).toContain(urn);
        });

        it("no old resource is claimed twice", () => {
            expect(contested).toEqual([]);
        });

        it("the moved resources really moved (the aliases carry the adoption, not identical URNs)", () => {
            const byUrn = new Map(records.map((r) => [r.urn, r]));
            const moved = [...adoptedBy].filter(([old, now]) => engineUrn(byUrn.get(now)!, byUrn) !== old);
            expect(moved.length).toBe(before.length - removed.length);
        });
    });
}
