/**
 * The drained teardown: what `pulumi destroy` deletes, in which order, when GPUs come from Karpenter.
 * The whole dev stack is built as `pulumi up` builds it (index.ts, Pulumi.dev.yaml, plus the GPU
 * example and the inference server's GPU mode), and destroy is simulated the way the engine runs it:
 * a resource is deleted only after every resource that depends on it (through `dependsOn`, outputs
 * used as inputs, or a dependency on a component, which stands for all its descendants) and every
 * resource it is the provider of. The sequence the issue asks for is checked wave by wave:
 * InferenceServices and the ingress Service, then the NodePools, then the wait for their instances,
 * then the controller, the node groups, the cluster, the VPC.
 */
import { describe, expect, it } from "vitest";
import { installMocks, RecordedResource, Recorder } from "./kit";
import { stackConfig } from "./stackFiles";

/**
 * Destroy waves: wave 0 is deleted first; a resource goes one wave after the last resource that
 * depends on it. Remote components (awsx's Vpc, pulumi-eks's Cluster) stand for the resources
 * inside them, which the mocks do not create.
 */
export function destroyWaves(rec: Recorder): Map<string, number> {
    const deletable = (r: RecordedResource) => r.custom || r.type.startsWith("awsx:") || r.type.startsWith("eks:index:");
    const children = new Map<string, RecordedResource[]>();
    for (const r of rec.resources) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
    // A dependency on a component is a dependency on every deletable resource under it.
    const expand = (urn: string, seen = new Set<string>()): string[] => {
        if (seen.has(urn)) return [];
        seen.add(urn);
        const r = rec.byUrn(urn);
        const own = r && deletable(r) ? [urn] : [];
        return [...own, ...(children.get(urn) ?? []).flatMap((c) => expand(c.urn, seen))];
    };
    const dependents = new Map<string, Set<string>>();
    for (const r of rec.resources.filter(deletable)) {
        const direct = [...r.dependencies, ...Object.values(r.propertyDependencies).flat(), ...(r.provider ? [r.provider] : [])];
        for (const target of new Set(direct.flatMap((urn) => expand(urn)))) {
            if (target === r.urn) continue;
            dependents.set(target, (dependents.get(target) ?? new Set()).add(r.urn));
        }
    }
    const wave = new Map<string, number>();
    const waveOf = (urn: string, path = new Set<string>()): number => {
        if (wave.has(urn)) return wave.get(urn)!;
        if (path.has(urn)) throw new Error(`dependency cycle through ${urn}`);
        path.add(urn);
        const w = Math.max(-1, ...[...(dependents.get(urn) ?? [])].map((d) => waveOf(d, path))) + 1;
        path.delete(urn);
        wave.set(urn, w);
        return w;
    };
    for (const r of rec.resources.filter(deletable)) waveOf(r.urn);
    return wave;
}

describe("drained teardown of the dev stack with Karpenter (mocks)", async () => {
    const rec = await installMocks({
        stack: "dev",
        config: stackConfig("dev", { examples: '["sklearn-iris","gpu"]', inferenceServerGpu: "true" }),
    });
    await import("../index");
    await rec.settle();
    const waves = destroyWaves(rec);
    const wavesOf = (type: string, match: (r: RecordedResource) => boolean = () => true) => {
        const found = rec.byType(type).filter(match);
        if (found.length === 0) throw new Error(`no ${type} matches`);
        return found.map((r) => waves.get(r.urn)!);
    };
    const last = (ws: number[]) => Math.max(...ws);
    const first = (ws: number[]) => Math.min(...ws);
    const named = (suffix: string) => (r: RecordedResource) => r.name.endsWith(suffix);

    const s = {
        inferenceServices: wavesOf("kubernetes:serving.kserve.io/v1beta1:InferenceService"),
        gpuServer: wavesOf("kubernetes:apps/v1:Deployment", (r) => r.inputs.metadata?.name === "clothing-tf-serving"),
        // The ingress gateway's Service (type LoadBalancer) lives in its Helm release.
        ingressService: wavesOf("kubernetes:helm.sh/v3:Release", (r) => r.inputs.name === "istio-ingressgateway"),
        platformReleases: wavesOf("kubernetes:helm.sh/v3:Release", (r) => ["istiod", "istio-base", "cert-manager", "metrics-server"].includes(r.inputs.name)),
        nodePools: wavesOf("kubernetes:karpenter.sh/v1:NodePool"),
        nodeClasses: wavesOf("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"),
        drainGate: wavesOf("pulumi-nodejs:dynamic/inference-platform:DeletionGate", named("instances-terminated")),
        controller: wavesOf("kubernetes:helm.sh/v3:Release", (r) => r.inputs.name === "karpenter"),
        crds: wavesOf("kubernetes:helm.sh/v3:Release", (r) => r.inputs.name === "karpenter-crd"),
        interruptionQueue: wavesOf("aws:sqs/queue:Queue"),
        nodeAccess: wavesOf("aws:eks/accessEntry:AccessEntry", named("karpenter-node-access")),
        nodeGroups: wavesOf("aws:eks/nodeGroup:NodeGroup"),
        cluster: wavesOf("eks:index:Cluster"),
        vpc: wavesOf("awsx:ec2:Vpc"),
    };

    it("builds the Karpenter mode with a GPU model and the GPU inference server", () => {
        expect(s.nodePools).toHaveLength(1);
        expect(s.inferenceServices.length).toBe(2);
        expect(rec.byType("aws:eks/nodeGroup:NodeGroup").map((g) => g.name)).toEqual(["eks-cluster-cpu"]);
    });

    it("deletes the InferenceServices, the GPU server and the ingress Service before the NodePools", () => {
        expect(last([...s.inferenceServices, ...s.gpuServer, ...s.ingressService])).toBeLessThan(first(s.nodePools));
        // ...and every platform release with pods, so no drain waits on a workload that is about to go anyway.
        expect(last(s.platformReleases)).toBeLessThan(first(s.nodePools));
    });

    it("deletes the NodePool, then its EC2NodeClass, then waits for the instances, then removes the controller", () => {
        expect(last(s.nodePools)).toBeLessThan(first(s.nodeClasses));
        expect(last(s.nodeClasses)).toBeLessThan(first(s.drainGate));
        expect(last(s.drainGate)).toBeLessThan(first(s.controller));
        expect(last(s.controller)).toBeLessThan(first(s.crds));
    });

    it("keeps the nodes' access entry and the interruption queue until the instances are gone", () => {
        expect(last(s.drainGate)).toBeLessThan(first(s.nodeAccess));
        expect(last(s.controller)).toBeLessThan(first(s.interruptionQueue));
    });

    it("then the node groups, the cluster and the VPC", () => {
        expect(last(s.controller)).toBeLessThan(first(s.nodeGroups));
        expect(last(s.nodeGroups)).toBeLessThan(first(s.cluster));
        expect(last(s.cluster)).toBeLessThan(first(s.vpc));
    });

    it("the simulation follows dependencies, providers and components, so a missing edge shows", () => {
        const r = (name: string, extra: Partial<RecordedResource> = {}): RecordedResource =>
            ({ urn: name, type: "t:m:R", name, custom: true, parent: "", dependencies: [], provider: "", propertyDependencies: {}, aliases: [], inputs: {}, state: {}, options: {} as never, ...extra }) as RecordedResource;
        const fake = [
            r("pool"),
            r("component", { custom: false, type: "t:m:Component" }),
            r("release", { parent: "component", dependencies: ["pool"] }),
            r("model", { dependencies: ["component"] }),
            r("provider"),
            r("object", { provider: "provider" }),
            r("loose"),
        ];
        const fakeRec = { resources: fake, byType: () => [], byUrn: (urn: string) => fake.find((x) => x.urn === urn) } as unknown as Recorder;
        const w = destroyWaves(fakeRec);
        expect([w.get("model"), w.get("release"), w.get("pool")]).toEqual([0, 1, 2]);
        expect([w.get("object"), w.get("provider")]).toEqual([0, 1]);
        expect(w.get("loose")).toBe(0);
        expect(w.has("component")).toBe(false);
    });
});
