/**
 * An existing stack survives the layered structure: every resource a deployed dev or local stack
 * holds (the URNs in test/fixtures/urns-before-layers/, written from the synth of the last commit
 * before the layers, in the engine's URN form) is adopted by exactly one resource of today's
 * program, through its own aliases or its parents' (test/urnAliases.ts follows the engine's rules).
 * An orphan would be deleted and re-created by the next `pulumi up`, a duplicate claim is an error.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { installMocks } from "./kit";
import { stackConfig } from "./stackFiles";
import { adoption, engineUrn } from "./urnAliases";

const fixture = (name: string) =>
    fs.readFileSync(path.join(__dirname, "fixtures/urns-before-layers", `${name}.txt`), "utf8").trim().split("\n");

/**
 * Old resources a stack is meant to lose, each with the reason; every other old URN must be adopted.
 * The list is exact: an entry that something adopts again, or an orphan missing here, fails.
 */
const intentionallyRemoved: Readonly<Record<string, { readonly urns: readonly string[]; readonly why: string }>> = {
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

describe.each(["dev"])("the %s stack adopts every resource it deployed before the layers", async (name) => {
    const rec = await installMocks({ stack: name, config: stackConfig(name) });
    await import("../index");
    await rec.settle();
    const records = rec.resources.map((r) => ({ urn: r.urn, type: r.type, name: r.name, parent: r.parent, aliases: r.aliases }));
    const before = fixture(name);
    const { adoptedBy, orphaned, contested } = adoption(before, records);

    it("has a fixture worth checking", () => {
        expect(before.length).toBeGreaterThan(name === "dev" ? 90 : 40);
    });

    const removed = intentionallyRemoved[name]?.urns ?? [];

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

describe("the adoption check can fail", () => {
    it("reports an old URN no resource claims", () => {
        const records = [{ urn: "urn:pulumi:dev::p::t:m:T::a", type: "t:m:T", name: "a" }];
        const { orphaned } = adoption(["urn:pulumi:dev::p::t:m:T::gone"], records);
        expect(orphaned).toEqual(["urn:pulumi:dev::p::t:m:T::gone"]);
    });

    it("follows a renamed parent's alias into its children's names", () => {
        const records = [
            { urn: "urn:pulumi:dev::p::pulumi:pulumi:Stack$x:m:Layer::eks", type: "x:m:Layer", name: "eks" },
            {
                urn: "urn:pulumi:dev::p::x:m:Layer$x:m:Net::eks-network",
                type: "x:m:Net",
                name: "eks-network",
                parent: "urn:pulumi:dev::p::pulumi:pulumi:Stack$x:m:Layer::eks",
                aliases: ["urn:pulumi:dev::p::x:m:Net::network"],
            },
            { urn: "urn:pulumi:dev::p::x:m:Net$aws:ec2/vpc:Vpc::eks-network-vpc", type: "aws:ec2/vpc:Vpc", name: "eks-network-vpc", parent: "urn:pulumi:dev::p::x:m:Layer$x:m:Net::eks-network" },
        ];
        const { orphaned, adoptedBy } = adoption(["urn:pulumi:dev::p::x:m:Net$aws:ec2/vpc:Vpc::network-vpc", "urn:pulumi:dev::p::x:m:Net::network"], records);
        expect(orphaned).toEqual([]);
        expect(adoptedBy.get("urn:pulumi:dev::p::x:m:Net$aws:ec2/vpc:Vpc::network-vpc")).toBe(records[2].urn);
    });
});
