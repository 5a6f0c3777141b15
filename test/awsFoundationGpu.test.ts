/**
 * The AWS foundation's GPU capacity modes, built from the dev stack's config as `pulumi up` builds
 * it: `karpenter` (the default on eks), `karpenter` with the CPU burst pool, `node-group` (the
 * managed GPU group and the Cluster Autoscaler, kept working), GPUs off, and preflight off.
 *
 * What is expected comes from the issue and the upstream behaviour it cites, not from the
 * component: Karpenter replaces the managed GPU group; the device plugin runs in both modes (GPU
 * nodes of either kind carry components/common/gpuScheduling.ts's label and taint); two autoscalers
 * must not both add CPU capacity; the platform and the models wait for the pools, so destroy removes
 * them first.
 */
import { describe, expect, it } from "vitest";
import { AwsFoundation } from "../components/aws/awsFoundation";
import { createFoundation } from "../components/foundations";
import { ModelWorkloads } from "../components/models/modelWorkloads";
import { ServingPlatform } from "../components/platform/servingPlatform";
import { loadConfig, StackConfig } from "../config";
import { descendants, installMocks } from "./kit";
import { stackConfig } from "./stackFiles";

function devConfig(overrides: Record<string, string> = {}): StackConfig {
    const raw = stackConfig("dev", overrides);
    return loadConfig({ get: (key) => raw[key.startsWith("aws:") ? key : `inference-platform:${key}`] }, "inference-platform", "dev");
}

/** Every resource under the component `root` (children, grandchildren, ...). */
const tree = descendants;

describe("the AWS foundation's GPU capacity modes", async () => {
    const rec = await installMocks({ stack: "dev" });
    const nodeGroupOverrides = {
        gpuProvisioner: "node-group",
        gpuInstanceFamilies: "",
        gpuMaxGpus: "",
        gpuInstanceTypes: '["g6.xlarge","g5.xlarge"]',
        gpuMaxSize: "2",
    };
    const foundations = {
        kp: createFoundation("kp", devConfig()) as AwsFoundation,
        burst: createFoundation("burst", devConfig({ cpuBurstPool: "true" })) as AwsFoundation,
        ng: createFoundation("ng", devConfig(nodeGroupOverrides)) as AwsFoundation,
        // Without GPUs the GPU examples must go too (the dev stack turns on llm).
        nogpu: createFoundation("nogpu", devConfig({ gpuEnabled: "false", gpuInstanceFamilies: "", gpuMaxGpus: "", examples: '["sklearn-iris"]' })) as AwsFoundation,
        nopf: createFoundation("nopf", devConfig({ preflight: "false" })) as AwsFoundation,
    };
    // The platform and the models on the Karpenter foundation, as index.ts composes them.
    const serving = new ServingPlatform("kp-serving", { foundation: foundations.kp });
    const workloads = new ModelWorkloads("kp-models", {
        foundation: foundations.kp,
        serving,
        examples: ["sklearn-iris", "gpu"],
        inferenceServer: { enabled: true, gpu: true },
    });
    await rec.settle();

    const under = (name: keyof typeof foundations) => tree(rec, rec.one("inference-platform:aws:AwsFoundation", name));
    const ofType = (name: keyof typeof foundations, type: string) => under(name).filter((r) => r.type === type);
    const releaseNamed = (name: keyof typeof foundations, release: string) =>
        ofType(name, "kubernetes:helm.sh/v3:Release").filter((r) => r.inputs.name === release);
    const managedGpuGroups = (name: keyof typeof foundations) =>
        ofType(name, "aws:eks/nodeGroup:NodeGroup").filter((g) => g.inputs.taints?.some((t: { key: string }) => t.key === "nvidia.com/gpu"));

    it("karpenter (default): Karpenter, its GPU NodePool and the device plugin; no managed GPU group", () => {
        expect(ofType("kp", "inference-platform:aws:KarpenterController").map((r) => r.name)).toEqual(["kp-karpenter"]);
        expect(ofType("kp", "inference-platform:aws:GpuNodePool").map((r) => r.name)).toEqual(["kp-gpu-pool"]);
        expect(ofType("kp", "kubernetes:karpenter.sh/v1:NodePool").map((r) => r.inputs.metadata.name)).toEqual(["gpu"]);
        expect(managedGpuGroups("kp")).toEqual([]);
        expect(ofType("kp", "aws:eks/nodeGroup:NodeGroup")).toHaveLength(1);
        expect(releaseNamed("kp", "nvidia-device-plugin")).toHaveLength(1);
        expect(foundations.kp.capacity.gpu).toBe(true);
    });

    it("karpenter: the pool takes the families, spot, limits and disk from config", () => {
        const pool = ofType("kp", "kubernetes:karpenter.sh/v1:NodePool")[0];
        const requirement = (key: string) => pool.inputs.spec.template.spec.requirements.find((r: { key: string }) => r.key === key)?.values;
        // Pulumi.dev.yaml: gpuInstanceFamilies [g6, g5], gpuMaxGpus 2; gpuSpot and gpuDiskSizeGiB default (true, 100).
        expect(requirement("karpenter.k8s.aws/instance-family")).toEqual(["g6", "g5"]);
        expect(requirement("karpenter.sh/capacity-type")).toEqual(["spot", "on-demand"]);
        expect(pool.inputs.spec.limits).toEqual({ "nvidia.com/gpu": "2", cpu: "16" });
        const nodeClass = ofType("kp", "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")[0];
        expect(nodeClass.inputs.spec.blockDeviceMappings[0].ebs.volumeSize).toBe("100Gi");
    });

    it("karpenter without the CPU burst pool keeps the Cluster Autoscaler for the CPU group", () => {
        expect(releaseNamed("kp", "cluster-autoscaler")).toHaveLength(1);
        expect(foundations.kp.outputs.clusterAutoscalerRoleArn).not.toBeNull();
    });

    it("karpenter with the CPU burst pool: a second NodePool, and no Cluster Autoscaler to race it", () => {
        expect(ofType("burst", "kubernetes:karpenter.sh/v1:NodePool").map((r) => r.inputs.metadata.name).sort()).toEqual(["cpu-burst", "gpu"]);
        expect(releaseNamed("burst", "cluster-autoscaler")).toEqual([]);
        expect(foundations.burst.clusterAutoscaler).toBeUndefined();
        expect(foundations.burst.outputs.clusterAutoscalerRoleArn).toBeNull();
    });

    it("node-group: the managed GPU group scaled by the Cluster Autoscaler, as before; no Karpenter", () => {
        const [gpu] = managedGpuGroups("ng");
        expect(gpu.inputs.instanceTypes).toEqual(["g6.xlarge", "g5.xlarge"]);
        expect(gpu.inputs.scalingConfig).toMatchObject({ minSize: 0, maxSize: 2 });
        expect(gpu.inputs.labels["nvidia.com/gpu.present"]).toBe("true");
        expect(releaseNamed("ng", "cluster-autoscaler")).toHaveLength(1);
        expect(releaseNamed("ng", "nvidia-device-plugin")).toHaveLength(1);
        expect(ofType("ng", "inference-platform:aws:KarpenterController")).toEqual([]);
        expect(ofType("ng", "kubernetes:karpenter.sh/v1:NodePool")).toEqual([]);
        expect(foundations.ng.capacity.gpu).toBe(true);
        expect(foundations.ng.workloadsReady).toEqual(foundations.ng.clusterReady);
    });

    it("GPUs off: no Karpenter, no GPU group, no device plugin, no GPU capacity", () => {
        expect(ofType("nogpu", "inference-platform:aws:KarpenterController")).toEqual([]);
        expect(managedGpuGroups("nogpu")).toEqual([]);
        expect(releaseNamed("nogpu", "nvidia-device-plugin")).toEqual([]);
        expect(foundations.nogpu.capacity.gpu).toBe(false);
    });

    it("preflight runs first by default (quotas and offerings read by invoke) and not at all when off", () => {
        expect(ofType("kp", "inference-platform:aws:Preflight").map((r) => r.name)).toEqual(["kp-preflight"]);
        expect(ofType("nopf", "inference-platform:aws:Preflight")).toEqual([]);
        expect(foundations.nopf.preflight).toBeUndefined();
        const quotaCalls = rec.calls.filter((c) => c.token === "aws:servicequotas/getServiceQuota:getServiceQuota").map((c) => c.inputs.quotaCode);
        // Four foundations with preflight: each asks for the G/VT vCPU quotas it needs and the Elastic IPs.
        expect(quotaCalls.filter((q) => q === "L-0263D0A3")).toHaveLength(4);
    });

    it("names Karpenter's resources after the component, with the segment the policy pack's wildcard exception matches", () => {
        const policies = ofType("kp", "aws:iam/rolePolicy:RolePolicy").filter((p) => p.name.includes("karpenter"));
        expect(policies.map((p) => p.name)).toEqual(["kp-karpenter-irsa-policy"]);
        for (const r of ofType("kp", "aws:cloudwatch/eventRule:EventRule")) expect(r.name.startsWith("kp-karpenter-"), r.name).toBe(true);
    });

    it("the workloads wait for the pools: destroy deletes models and the ingress Service before the NodePools", () => {
        const pool = ofType("kp", "kubernetes:karpenter.sh/v1:NodePool")[0];
        expect(foundations.kp.workloadsReady).toContain(foundations.kp.gpuNodePool);
        const platformTree = tree(rec, rec.one("inference-platform:platform:ServingPlatform", "kp-serving"));
        const modelsTree = tree(rec, rec.one("inference-platform:models:ModelWorkloads", "kp-models"));
        const ingressService = platformTree.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.name === "istio-ingressgateway")!;
        expect(rec.dependsOn(ingressService, pool)).toBe(true);
        const services = modelsTree.filter((r) => r.type === "kubernetes:serving.kserve.io/v1beta1:InferenceService");
        expect(services.map((r) => r.inputs.metadata.name).sort()).toEqual(["sklearn-iris", "tensorflow-gpu"]);
        for (const isvc of services) expect(rec.dependsOn(isvc, pool), isvc.name).toBe(true);
        // Every release of the platform, not only the ones behind traffic (drains must not wait on them).
        for (const release of platformTree.filter((r) => r.type === "kubernetes:helm.sh/v3:Release")) expect(rec.dependsOn(release, pool), release.name).toBe(true);
        const server = modelsTree.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.inputs.metadata?.name === "clothing-tf-serving")!;
        expect(rec.dependsOn(server, pool)).toBe(true);
        expect(workloads.inferenceServer).toBeDefined();
    });
});
