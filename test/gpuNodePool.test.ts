/**
 * Karpenter's EC2NodeClass and NodePools: valid against the v1.14.1 CRDs (structural schema, plus the
 * CEL rules we rely on, read from the CRD files), schedulable for every GPU workload the stack runs,
 * and wired so destroy drains them before the controller goes.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import {
    amiAliasProblem,
    cpuBurstNodePoolManifest,
    durationSeconds,
    ec2NodeClassManifest,
    GpuNodePool,
    gpuNodePoolManifest,
    gpuNodePoolProblems,
} from "../components/aws/gpuNodePool";
import { KarpenterController } from "../components/aws/karpenter";
import { devicePluginValues } from "../components/aws/devicePlugin";
import { exampleSpec, plainInterpolate } from "../components/models/exampleModels";
import { tfServingDeployment } from "../components/models/inferenceServer";
import { renderInferenceService } from "../components/models/inferenceService";
import { karpenterAmiReleaseKubernetesVersions, karpenterPins, supportedKubernetesVersions } from "../versions";
import { loadCrdValidator } from "./crdSchema";
import { describeWithSharedSchemas, readUpstreamText } from "./shared";
import { pendingPodOf, whyNotSchedulable } from "./karpenterScheduling";
import { FakeCluster, installMocks, testAccountId, testOidcIssuerHost } from "./kit";
import { nodeConfigs } from "./nodeadmUserData";

const nodeClassCrd = "karpenter.k8s.aws_ec2nodeclasses.yaml";
const nodePoolCrd = "karpenter.sh_nodepools.yaml";
const nodeClassValidator = loadCrdValidator("karpenter", nodeClassCrd);
const nodePoolValidator = loadCrdValidator("karpenter", nodePoolCrd);

const gpuClass = ec2NodeClassManifest({
    name: "gpu",
    clusterName: "demo",
    nodeRoleName: "karpenter-node-role-1234567",
    amiAlias: karpenterPins.amiAlias,
    rootVolumeGiB: 100,
    tags: { "inference-platform/stack": "inference-platform-dev" },
});
const gpuPool = gpuNodePoolManifest({ nodeClassName: "gpu", instanceFamilies: ["g6", "g5", "g6e"], spot: true, maxGpus: 2, maxVcpus: 16, consolidateAfter: "10m", expireAfter: "720h" });
const burstPool = cpuBurstNodePoolManifest({ nodeClassName: "cpu-burst", instanceFamilies: ["m6i", "m7i", "c6i"], spot: true, maxVcpus: 16, consolidateAfter: "10m", expireAfter: "720h" });

/** The CEL rules of a Karpenter CRD's openAPIV3Schema (`x-kubernetes-validations`), as text, read in place. */
function celRules(file: string): string[] {
    return [...readUpstreamText("karpenter", file).matchAll(/rule: (.+)$/gm)].map((m) => m[1]);
}

describeWithSharedSchemas("against the Karpenter v1.14.1 CRDs", () => {
    it("the EC2NodeClass and both NodePools validate against their structural schemas", () => {
        expect(nodeClassValidator!.errors(gpuClass)).toEqual([]);
        expect(nodePoolValidator!.errors(gpuPool)).toEqual([]);
        expect(nodePoolValidator!.errors(burstPool)).toEqual([]);
        // The validator must catch a misspelt field.
        expect(nodeClassValidator!.errors({ ...gpuClass, spec: { ...gpuClass.spec, amiSelector: [] } }).join("\n")).toMatch(/unknown field 'amiSelector'/);
    });

    it("the AMI alias passes the CRD's alias rules (format and family)", () => {
        const rules = celRules(nodeClassCrd);
        const format = rules.find((r) => r.startsWith("self.matches('^[a-zA-Z0-9]+@"))!;
        const pattern = new RegExp(/self\.matches\('(.+)'\)/.exec(format)![1]);
        expect(pattern.test(karpenterPins.amiAlias)).toBe(true);
        const families = /in \[(.+)\]/.exec(rules.find((r) => r.startsWith("self.split('@')[0] in"))!)![1].split(",").map((f) => f.trim().replace(/'/g, ""));
        expect(families).toContain(karpenterPins.amiAlias.split("@")[0]);
    });

    it("template labels and requirement keys stay out of karpenter.sh (CRD rule) and In requirements have values", () => {
        const rules = celRules(nodePoolCrd);
        expect(rules).toContain('self.all(x, x in ["karpenter.sh/capacity-type", "karpenter.sh/nodepool"] || !x.find("^([^/]+)").endsWith("karpenter.sh"))');
        for (const pool of [gpuPool, burstPool]) {
            for (const key of Object.keys(pool.spec.template.metadata.labels)) expect(key.split("/")[0].endsWith("karpenter.sh"), key).toBe(false);
            for (const r of pool.spec.template.spec.requirements) {
                if (r.key.split("/")[0].endsWith("karpenter.sh")) expect(["karpenter.sh/capacity-type", "karpenter.sh/nodepool"]).toContain(r.key);
                if (r.operator === "In") expect(r.values.length, r.key).toBeGreaterThan(0);
            }
        }
    });

    it("tags avoid the keys the CRD reserves for Karpenter", () => {
        const restricted = celRules(nodeClassCrd).filter((r) => r.includes("self.all(k, k") && !r.includes("k != ''"));
        expect(restricted.length).toBeGreaterThanOrEqual(3);
        for (const key of Object.keys(gpuClass.spec.tags)) {
            expect(key).not.toBe("eks:eks-cluster-name");
            expect(key.startsWith("kubernetes.io/cluster")).toBe(false);
            expect(key).not.toBe("karpenter.sh/nodepool");
        }
    });
});

describe("the EC2NodeClass", () => {
    it("pins an AL2023 AMI release published for every Kubernetes version the stack supports", () => {
        expect(gpuClass.spec.amiSelectorTerms).toEqual([{ alias: "al2023@v20260714" }]);
        for (const v of supportedKubernetesVersions) expect(karpenterAmiReleaseKubernetesVersions, v).toContain(v);
        expect(amiAliasProblem("al2023@latest")).toMatch(/not pinned/);
        expect(amiAliasProblem("bottlerocket@v1.20.0")).toMatch(/not an AL2023 release alias/);
    });

    it("encrypts a gp3 root volume and requires IMDSv2 with one hop", () => {
        expect(gpuClass.spec.blockDeviceMappings).toEqual([
            { deviceName: "/dev/xvda", rootVolume: true, ebs: { volumeSize: "100Gi", volumeType: "gp3", encrypted: true, deleteOnTermination: true } },
        ]);
        expect(gpuClass.spec.metadataOptions).toMatchObject({ httpTokens: "required", httpPutResponseHopLimit: 1 });
        expect(gpuClass.spec.associatePublicIPAddress).toBe(false);
    });

    it("finds subnets and security groups by the discovery tags network.ts and eksCluster.ts set", () => {
        expect(gpuClass.spec.subnetSelectorTerms).toEqual([{ tags: { "karpenter.sh/discovery": "demo" } }]);
        expect(gpuClass.spec.securityGroupSelectorTerms).toEqual([{ tags: { "karpenter.sh/discovery": "demo" } }]);
        expect(gpuClass.spec.role).toBe("karpenter-node-role-1234567");
    });
});

describe("the GPU NodePool", () => {
    it("offers spot with on-demand as fallback, the configured families, NVIDIA, amd64", () => {
        const byKey = Object.fromEntries(gpuPool.spec.template.spec.requirements.map((r: any) => [r.key, r.values]));
        expect(byKey["karpenter.sh/capacity-type"]).toEqual(["spot", "on-demand"]);
        expect(byKey["karpenter.k8s.aws/instance-family"]).toEqual(["g6", "g5", "g6e"]);
        expect(byKey["karpenter.k8s.aws/instance-gpu-manufacturer"]).toEqual(["nvidia"]);
        expect(gpuNodePoolManifest({ ...gpuPoolInput(), spot: false }).spec.template.spec.requirements.find((r: any) => r.key === "karpenter.sh/capacity-type").values).toEqual(["on-demand"]);
    });

    it("is bounded by GPUs and vCPUs, empties after the delay, expires", () => {
        expect(gpuPool.spec.limits).toEqual({ "nvidia.com/gpu": "2", cpu: "16" });
        expect(gpuPool.spec.disruption).toEqual({ consolidationPolicy: "WhenEmpty", consolidateAfter: "10m" });
        expect(gpuPool.spec.template.spec.expireAfter).toBe("720h");
    });

    it("bounds every drain, so a disruption budget no pod can meet cannot hang destroy past the drain gate", () => {
        // The CRD: unset, "the controller will wait indefinitely for pods to be drained".
        for (const pool of [gpuPool, cpuBurstNodePoolManifest({ ...gpuPoolInput(), instanceFamilies: ["m6i"], maxVcpus: 16 })]) {
            const grace = durationSeconds(pool.spec.template.spec.terminationGracePeriod);
            expect(grace, pool.metadata.name).toBeDefined();
            // The drain gate waits 1200 s by default (GpuNodePoolArgs.drainTimeoutSeconds); leave room for EC2's own termination.
            expect(grace!).toBeLessThanOrEqual(1200 - 300);
        }
    });
});

function gpuPoolInput() {
    return { nodeClassName: "gpu", instanceFamilies: ["g6"], spot: true, maxGpus: 2, maxVcpus: 16, consolidateAfter: "10m", expireAfter: "720h" };
}

describe("scheduling: every GPU workload of the stack lands on the GPU pool (Karpenter's checks)", () => {
    const ctx = { namespace: "models", bucket: "bucket", modelPrefix: "models/", serviceAccountName: "kserve-models", interpolate: plainInterpolate };
    const predictorPod = (example: "gpu" | "sklearn-iris") => {
        const predictor = renderInferenceService(exampleSpec(example, ctx)).spec.predictor as Record<string, any>;
        return pendingPodOf({ nodeSelector: predictor.nodeSelector, tolerations: predictor.tolerations, containers: [{ resources: predictor.model.resources }] });
    };
    const tfServingGpu = pendingPodOf(
        (tfServingDeployment({ name: "clothing", namespace: "models", serviceAccountName: "sa", storageUri: "s3://b/p/", modelName: "m", gpu: true }).spec as any).template.spec,
    );

    it("a pending pod requesting nvidia.com/gpu: 1 with the GPU toleration fits (the gpu example's predictor)", () => {
        const pod = predictorPod("gpu");
        expect(pod.requests?.["nvidia.com/gpu"]).toBe("1");
        expect(whyNotSchedulable(pod, gpuPool)).toEqual([]);
    });

    it("the inference server's GPU mode fits", () => {
        expect(tfServingGpu.requests?.["nvidia.com/gpu"]).toBe("1");
        expect(whyNotSchedulable(tfServingGpu, gpuPool)).toEqual([]);
    });

    it("the device plugin's DaemonSet pods fit, so every GPU node gets the plugin", () => {
        const v = devicePluginValues() as Record<string, any>;
        expect(whyNotSchedulable({ nodeSelector: v.nodeSelector, affinity: v.affinity, tolerations: v.tolerations }, gpuPool)).toEqual([]);
    });

    it("a CPU pod stays off GPU nodes (taint), and GPU pods stay off the CPU burst pool (label)", () => {
        expect(whyNotSchedulable(predictorPod("sklearn-iris"), gpuPool)).toEqual(["does not tolerate taint nvidia.com/gpu=true:NoSchedule"]);
        expect(whyNotSchedulable(predictorPod("sklearn-iris"), burstPool)).toEqual([]);
        expect(whyNotSchedulable(tfServingGpu, burstPool)).toEqual([
            // The burst pool cannot produce the GPU label, and its cpu limit does not matter here.
            'label "nvidia.com/gpu.present" does not have known values',
        ]);
    });

    it("the model catches a pool that lacks a label, an arch or room for the request", () => {
        const noLabel = { ...gpuPool, spec: { ...gpuPool.spec, template: { ...gpuPool.spec.template, metadata: { labels: {} } } } };
        expect(whyNotSchedulable(tfServingGpu, noLabel)).toEqual(['label "nvidia.com/gpu.present" does not have known values']);
        expect(whyNotSchedulable({ ...predictorPod("gpu"), nodeSelector: { "kubernetes.io/arch": "arm64", "nvidia.com/gpu.present": "true" } }, gpuPool)).toEqual([
            'key kubernetes.io/arch: In ["arm64"] not in In ["amd64"]',
        ]);
        expect(whyNotSchedulable({ ...predictorPod("gpu"), requests: { "nvidia.com/gpu": "4" } }, gpuPool)).toEqual(["requests nvidia.com/gpu 4 above the pool's limit 2"]);
    });
});

describe("gpuNodePoolProblems", () => {
    const base = { clusterName: "demo", nodeRoleName: "r", controller: undefined as never, region: "us-east-2" };
    it("accepts the defaults", () => expect(gpuNodePoolProblems(base)).toEqual([]));
    it("names every bad argument at once", () => {
        const problems = gpuNodePoolProblems({
            ...base,
            instanceFamilies: ["g6", "m5", "g6"],
            maxGpus: 2,
            maxVcpus: 4,
            consolidateAfter: "soon",
            amiAlias: "al2023@latest",
            tags: { "kubernetes.io/cluster/demo": "owned" },
            cpuBurst: { instanceFamilies: ["m6g"] },
        });
        expect(problems).toEqual([
            expect.stringMatching(/instanceFamilies: unknown or unsuitable instance family 'm5'/),
            "instanceFamilies: lists a family twice",
            "maxVcpus: 4 must be an integer from 8 (4 per GPU, the smallest GPU sizes) to 100000",
            "consolidateAfter: 'soon' must be a duration like 30s, 10m or 1h (at most 24h)",
            expect.stringMatching(/amiAlias: AMI alias 'al2023@latest' is not pinned/),
            "tags: 'kubernetes.io/cluster/demo' is a tag Karpenter sets itself",
            expect.stringMatching(/cpuBurst.instanceFamilies: unknown or unsuitable instance family 'm6g'/),
        ]);
    });
    it("reads Karpenter durations", () => {
        expect(durationSeconds("1h30m")).toBe(5400);
        expect(durationSeconds("Never")).toBeUndefined();
        expect(durationSeconds("10")).toBeUndefined();
    });
});

describe("GpuNodePool component", async () => {
    const rec = await installMocks();
    const cluster = new FakeCluster("cluster", "cpu");
    const controller = new KarpenterController("karpenter", {
        clusterName: pulumi.output("demo"),
        clusterEndpoint: "https://EXAMPLE.gr7.us-east-2.eks.amazonaws.com",
        region: "us-east-2",
        oidcProvider: { arn: `arn:aws:iam::${testAccountId}:oidc-provider/${testOidcIssuerHost}`, issuer: testOidcIssuerHost },
        waitFor: [cluster],
    });
    const pools = new GpuNodePool("gpu-pool", {
        clusterName: pulumi.output("demo"),
        nodeRoleName: controller.nodeRoleName,
        controller,
        nodeIdentity: controller.nodeIdentity,
        region: "us-east-2",
        cpuBurst: {},
        tags: { "inference-platform/stack": "inference-platform-dev" },
    });
    await rec.settle();
    const nodeClasses = rec.byType("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass");
    const nodePools = rec.byType("kubernetes:karpenter.sh/v1:NodePool");
    const gate = rec.one("pulumi-nodejs:dynamic/inference-platform:DeletionGate", "gpu-pool-instances-terminated");
    const release = rec.one("kubernetes:helm.sh/v3:Release", "karpenter-release");

    it("creates a GPU and a CPU burst class and pool, each class naming the node role", () => {
        expect(nodeClasses.map((c) => c.inputs.metadata.name).sort()).toEqual(["cpu-burst", "gpu"]);
        expect(nodePools.map((p) => p.inputs.metadata.name).sort()).toEqual(["cpu-burst", "gpu"]);
        const nodeRole = rec.one("aws:iam/role:Role", "karpenter-node-role");
        for (const c of nodeClasses) expect(c.inputs.spec.role).toBe(nodeRole.state.name);
        expect(pools.poolNames).toEqual(["gpu", "cpu-burst"]);
        if (nodeClassValidator) for (const c of nodeClasses) expect(nodeClassValidator.errors(c.inputs)).toEqual([]);
        if (nodePoolValidator) for (const p of nodePools) expect(nodePoolValidator.errors(p.inputs)).toEqual([]);
    });

    // What the LLM's cold-start estimate assumes of every GPU node (README "Cold start"): a root volume of
    // at least 600 MiB/s (awslabs/amazon-eks-ami nodeadm/doc/examples.md, "Enabling fast image pull"; gp3:
    // 125-1000 MiB/s and at most 0.25 MiB/s per IOPS, Amazon EBS User Guide) and nodeadm's FastImagePull
    // gate in a NodeConfig part Karpenter keeps (test/nodeadmUserData.ts cites how it reads user data).
    it("boots GPU nodes with a fast root volume and SOCI parallel pull; CPU burst nodes keep the defaults", () => {
        const gpu = nodeClasses.find((c) => c.inputs.metadata.name === "gpu")!.inputs.spec;
        const burst = nodeClasses.find((c) => c.inputs.metadata.name === "cpu-burst")!.inputs.spec;
        const ebs = gpu.blockDeviceMappings[0].ebs;
        expect(ebs.throughput).toBeGreaterThanOrEqual(600);
        expect(ebs.throughput).toBeLessThanOrEqual(1000);
        expect(ebs.throughput).toBeLessThanOrEqual(ebs.iops * 0.25);
        expect(nodeConfigs(gpu.userData)).toEqual([{ apiVersion: "node.eks.aws/v1alpha1", kind: "NodeConfig", spec: { featureGates: { FastImagePull: true } } }]);
        expect(burst.blockDeviceMappings[0].ebs.throughput).toBeUndefined();
        expect(burst.userData).toBeUndefined();
    });

    it("gates destroy on every instance of its pools in this cluster", () => {
        expect(gate.inputs.condition).toEqual({
            kind: "instances-terminated",
            tagKey: "eks:eks-cluster-name",
            tagValue: "demo",
            alsoTagged: [{ key: "karpenter.sh/nodepool", values: ["gpu", "cpu-burst"] }],
        });
        expect(gate.inputs.region).toBe("us-east-2");
    });

    it("orders destroy: pools, then classes, then the gate's wait, then the controller and the nodes' identity", () => {
        for (const pool of nodePools) {
            const className = pool.inputs.spec.template.spec.nodeClassRef.name;
            expect(rec.dependsOn(pool, nodeClasses.find((c) => c.inputs.metadata.name === className)!)).toBe(true);
        }
        for (const c of nodeClasses) expect(rec.dependsOn(c, gate)).toBe(true);
        expect(rec.dependsOn(gate, release)).toBe(true);
        expect(rec.dependsOn(gate, rec.one("aws:eks/accessEntry:AccessEntry"))).toBe(true);
        expect(rec.dependsOn(gate, rec.one("aws:iam/role:Role", "karpenter-node-role"))).toBe(true);
        // And never the other way round (a cycle would make the order meaningless).
        expect(rec.dependsOn(release, gate)).toBe(false);
    });

    it("waits long enough on delete for Karpenter's finalizers", () => {
        for (const r of [...nodeClasses, ...nodePools]) expect(r.options.customTimeouts.delete, r.name).toBe("30m");
        expect(Number(gate.inputs.timeoutSeconds)).toBe(1200);
    });

    it("rejects bad arguments before creating anything", () => {
        const before = rec.resources.length;
        expect(() => new GpuNodePool("bad", { clusterName: "demo", nodeRoleName: "r", controller, region: "us-east-2", maxGpus: 0 })).toThrow(/maxGpus: 0/);
        expect(rec.resources.length).toBe(before);
    });
});
