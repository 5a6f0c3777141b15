/**
 * Every GPU workload of the stack lands on the GPU nodes the capacity provides, and nothing else
 * does: the node group's labels and taint (as the EKS API receives them) against the pod specs of
 * the device plugin, a GPU InferenceService and the inference server's GPU mode, under the
 * scheduler's rules (test/scheduling.ts).
 */
import { describe, expect, it } from "vitest";
import { devicePluginValues } from "../components/aws/devicePlugin";
import { EksCluster } from "../components/aws/eksCluster";
import { exampleSpec, plainInterpolate } from "../components/models/exampleModels";
import { tfServingDeployment } from "../components/models/inferenceServer";
import { renderInferenceService } from "../components/models/inferenceService";
import { installMocks } from "./kit";
import { kubernetesEffect, schedulingProblems, Taint } from "./scheduling";

const nodes = { instanceTypes: ["m6i.large"], capacityType: "ON_DEMAND", minSize: 2, desiredSize: 2, maxSize: 4, diskSizeGiB: 50 } as const;
const gpu = { enabled: true, instanceTypes: ["g6.xlarge"], capacityType: "ON_DEMAND", minSize: 0, desiredSize: 0, maxSize: 2, diskSizeGiB: 100 } as const;

describe("GPU scheduling", async () => {
    const rec = await installMocks();
    new EksCluster("c", { clusterName: "c", kubernetesVersion: "1.34", vpcId: "v", publicSubnetIds: [], privateSubnetIds: [], cpuNodes: nodes, gpuNodes: gpu });
    await rec.settle();
    const nodeOf = (suffix: string) => {
        const group = rec.one("aws:eks/nodeGroup:NodeGroup", suffix);
        return {
            labels: group.inputs.labels as Record<string, string>,
            taints: ((group.inputs.taints ?? []) as Taint[]).map((t) => ({ ...t, effect: kubernetesEffect(t.effect) })),
        };
    };
    const gpuNode = nodeOf("c-gpu");
    const cpuNode = nodeOf("c-cpu");

    const ctx = { namespace: "models", bucket: "model-bucket", modelPrefix: "models/", serviceAccountName: "sa", interpolate: plainInterpolate };
    const gpuIsvc = renderInferenceService(exampleSpec("gpu", ctx)).spec.predictor as { nodeSelector?: Record<string, string>; tolerations?: never[] };
    const cpuIsvc = renderInferenceService(exampleSpec("tensorflow-s3", ctx)).spec.predictor as { nodeSelector?: Record<string, string>; tolerations?: never[] };
    const server = (gpuMode: boolean) =>
        (tfServingDeployment({ name: "clothing", namespace: "models", serviceAccountName: "sa", storageUri: "s3://model-bucket/models/clothing-model", modelName: "m", gpu: gpuMode }) as any).spec.template.spec;
    const plugin = devicePluginValues() as { nodeSelector?: Record<string, string>; tolerations?: never[] };
    const withArch = (node: typeof gpuNode) => ({ ...node, labels: { ...node.labels, "kubernetes.io/arch": "amd64" } });

    it("the GPU nodes are tainted, so nothing lands there by accident", () => {
        expect(gpuNode.taints.length).toBeGreaterThan(0);
        expect(schedulingProblems({}, gpuNode).length).toBeGreaterThan(0);
        expect(schedulingProblems(cpuIsvc, withArch(gpuNode)).length).toBeGreaterThan(0);
        expect(schedulingProblems(server(false), withArch(gpuNode)).length).toBeGreaterThan(0);
    });

    it("every GPU workload lands on a GPU node", () => {
        expect(schedulingProblems(plugin, gpuNode)).toEqual([]);
        expect(schedulingProblems(gpuIsvc, withArch(gpuNode))).toEqual([]);
        expect(schedulingProblems(server(true), withArch(gpuNode))).toEqual([]);
    });

    it("no GPU workload lands on a CPU node (it selects GPU nodes)", () => {
        for (const pod of [plugin, gpuIsvc, server(true)]) expect(schedulingProblems(pod, withArch(cpuNode)).length).toBeGreaterThan(0);
    });
});
