/**
 * The drained teardown: what `pulumi destroy` deletes, in which order, when GPUs come from Karpenter.
 * Pulumi deletes a resource only after everything that depends on it is gone, so the order is the
 * dependency graph read backwards; this builds the AWS layer the way the composition root will
 * (network, cluster, Karpenter's controller and pools, the platform and models waiting for the
 * foundation's compute), simulates destroy in waves and checks the sequence the issue asks for:
 * InferenceServices and the ingress Service, then the NodePools, then the wait for their instances,
 * then the controller, the node groups, the cluster, the VPC.
 */
import * as k8s from "@pulumi/kubernetes";
import { describe, expect, it } from "vitest";
import { GpuNodePool } from "../components/aws/gpuNodePool";
import { KarpenterController } from "../components/aws/karpenter";
import { EksCluster } from "../components/aws/eksCluster";
import { Network } from "../components/aws/network";
import { installMocks, RecordedResource, Recorder } from "./kit";

/**
 * Destroy waves: wave 0 is deleted first; a resource waits for every resource that depends on it.
 * Remote components (awsx's Vpc, pulumi-eks's Cluster) stand for the resources inside them, which the
 * mocks do not create.
 */
function destroyWaves(rec: Recorder): Map<string, number> {
    const custom = rec.resources.filter((r) => r.custom || r.type.startsWith("awsx:") || r.type.startsWith("eks:index:"));
    const dependents = new Map(custom.map((r) => [r.urn, custom.filter((d) => d !== r && rec.dependsOn(d, r))]));
    const wave = new Map<string, number>();
    const waveOf = (r: RecordedResource): number => {
        if (wave.has(r.urn)) return wave.get(r.urn)!;
        const w = Math.max(-1, ...dependents.get(r.urn)!.map(waveOf)) + 1;
        wave.set(r.urn, w);
        return w;
    };
    for (const r of custom) waveOf(r);
    return wave;
}

describe("drained teardown with Karpenter (mocks)", async () => {
    const rec = await installMocks();
    const tags = { "inference-platform/stack": "inference-platform-dev" };
    const network = new Network("network", { region: "us-east-2", clusterName: "demo", tags });
    const cluster = new EksCluster("cluster", {
        clusterName: "demo",
        kubernetesVersion: "1.34",
        vpcId: network.vpcId,
        publicSubnetIds: network.publicSubnetIds,
        privateSubnetIds: network.privateSubnetIds,
        cpuNodes: { instanceTypes: ["m6i.large"], capacityType: "ON_DEMAND", minSize: 2, desiredSize: 2, maxSize: 4, diskSizeGiB: 50 },
        // Karpenter mode: no managed GPU group.
        gpuNodes: { enabled: false, instanceTypes: ["g6.xlarge"], capacityType: "ON_DEMAND", minSize: 0, desiredSize: 0, maxSize: 1, diskSizeGiB: 100 },
        tags,
    });
    const k8sOpts = { provider: cluster.provider };
    const controller = new KarpenterController(
        "karpenter",
        {
            clusterName: cluster.clusterName,
            clusterEndpoint: cluster.cluster.eksCluster.endpoint,
            region: "us-east-2",
            oidcProvider: cluster.oidcProvider,
            waitFor: [cluster],
            tags,
        },
        { providers: [cluster.provider] },
    );
    const gpuPool = new GpuNodePool(
        "gpu-pool",
        { clusterName: cluster.clusterName, nodeRoleName: controller.nodeRoleName, controller, nodeIdentity: controller.nodeIdentity, region: "us-east-2", tags },
        { providers: [cluster.provider] },
    );
    // What the AwsFoundation hands the upper layers as "compute is ready": the cluster and the GPU pools.
    const foundationReady = [cluster, gpuPool];
    const ingressService = new k8s.core.v1.Service(
        "ingress",
        { metadata: { name: "istio-ingressgateway", namespace: "istio-system" }, spec: { type: "LoadBalancer", ports: [{ port: 80 }] } },
        { ...k8sOpts, dependsOn: foundationReady },
    );
    new k8s.apiextensions.CustomResource(
        "gpu-model",
        { apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", metadata: { name: "gpu", namespace: "models" }, spec: {} },
        { ...k8sOpts, dependsOn: [...foundationReady, ingressService] },
    );
    // A control: a model that waits only for the cluster, not for the foundation's pools.
    new k8s.apiextensions.CustomResource(
        "loose-model",
        { apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", metadata: { name: "loose", namespace: "models" }, spec: {} },
        { ...k8sOpts, dependsOn: [cluster] },
    );
    await rec.settle();
    const waves = destroyWaves(rec);
    const at = (type: string, nameSuffix?: string) => waves.get(rec.one(type, nameSuffix).urn)!;

    const sequence = () => ({
        inferenceService: at("kubernetes:serving.kserve.io/v1beta1:InferenceService", "gpu-model"),
        ingressService: at("kubernetes:core/v1:Service", "ingress"),
        gpuNodePool: at("kubernetes:karpenter.sh/v1:NodePool", "gpu-nodepool"),
        gpuNodeClass: at("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "gpu-nodeclass"),
        drainGate: at("pulumi-nodejs:dynamic/inference-platform:DeletionGate", "instances-terminated"),
        controller: at("kubernetes:helm.sh/v3:Release", "karpenter-release"),
        crds: at("kubernetes:helm.sh/v3:Release", "karpenter-crd"),
        nodeAccess: at("aws:eks/accessEntry:AccessEntry"),
        nodeGroup: at("aws:eks/nodeGroup:NodeGroup", "cluster-cpu"),
        cluster: at("eks:index:Cluster"),
        vpc: at("awsx:ec2:Vpc"),
    });

    it("deletes the models and the ingress Service before the NodePools", () => {
        const s = sequence();
        expect(s.inferenceService).toBeLessThan(s.gpuNodePool);
        expect(s.ingressService).toBeLessThan(s.gpuNodePool);
    });

    it("deletes the NodePool, then its EC2NodeClass, then waits for the instances, then removes the controller", () => {
        const s = sequence();
        expect(s.gpuNodePool).toBeLessThan(s.gpuNodeClass);
        expect(s.gpuNodeClass).toBeLessThan(s.drainGate);
        expect(s.drainGate).toBeLessThan(s.controller);
        expect(s.controller).toBeLessThan(s.crds);
    });

    it("keeps the nodes' access entry until the instances are gone", () => {
        const s = sequence();
        expect(s.drainGate).toBeLessThan(s.nodeAccess);
    });

    it("then the node groups, the cluster and the VPC", () => {
        const s = sequence();
        expect(s.controller).toBeLessThan(s.nodeGroup);
        expect(s.nodeGroup).toBeLessThan(s.cluster);
        expect(s.cluster).toBeLessThan(s.vpc);
    });

    it("the order comes from the foundation's wait: a model that waits only for the cluster has none against the pools", () => {
        const loose = rec.one("kubernetes:serving.kserve.io/v1beta1:InferenceService", "loose-model");
        const pool = rec.one("kubernetes:karpenter.sh/v1:NodePool", "gpu-nodepool");
        expect(rec.dependsOn(loose, pool)).toBe(false);
        expect(rec.dependsOn(pool, loose)).toBe(false);
        // ...while it still goes before the cluster's node groups (the Kubernetes provider waits for them).
        expect(waves.get(loose.urn)!).toBeLessThan(sequence().nodeGroup);
    });
});
