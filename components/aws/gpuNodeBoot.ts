/**
 * How GPU nodes boot, whoever makes them (the managed GPU node group's launch template in
 * ./eksCluster.ts, the Karpenter GPU EC2NodeClass in ./gpuNodePool.ts): a root volume fast enough for
 * multi-GB images and models, and nodeadm user data that turns on SOCI parallel image pull. The LLM's
 * cold-start estimate (components/models/coldStart.ts) counts on both.
 */

/**
 * Root volume performance of GPU nodes. A GPU node scaled from zero pulls a multi-GB CUDA image and
 * writes the model before serving, both disk-bound; gp3's baseline is 3000 IOPS and 125 MiB/s.
 * awslabs/amazon-eks-ami nodeadm/doc/examples.md ("Enabling fast image pull") asks for at least
 * 600 MiB/s with `FastImagePull`, below which parallel pulls can be slower. Extra gp3 throughput is
 * billed per MiB/s-month only while the volume exists, i.e. while the GPU node runs.
 */
export const gpuRootVolumePerformance = { throughput: 600, iops: 3000 } as const;

/**
 * User data of GPU nodes: a nodeadm `NodeConfig` turning on the `FastImagePull` feature gate, which
 * makes containerd pull through the SOCI snapshotter in parallel pull-and-unpack mode (no SOCI index
 * or image change needed). Sources (awslabs/amazon-eks-ami): nodeadm/api/v1alpha1/nodeconfig_types.go
 * (`FastImagePull`, experimental), nodeadm/internal/containerd/config.go `UseSOCISnapshotter` (ignored
 * below 4 vCPUs and 7 GiB, so on every GPU size we allow it applies), templates/al2023/provisioners/
 * install-worker.sh (every AL2023 AMI, NVIDIA included, ships soci-snapshotter). EKS merges a
 * MIME multi-part `application/node.eks.aws` part into the managed node group's own NodeConfig
 * (nodeadm/doc/examples.md, "Merging multiple configuration objects"), and Karpenter into the one it
 * generates for its nodes.
 */
export function gpuNodeUserData(): string {
    return [
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="INFERENCE-PLATFORM"',
        "",
        "--INFERENCE-PLATFORM",
        "Content-Type: application/node.eks.aws",
        "",
        "---",
        "apiVersion: node.eks.aws/v1alpha1",
        "kind: NodeConfig",
        "spec:",
        "  featureGates:",
        "    FastImagePull: true",
        "",
        "--INFERENCE-PLATFORM--",
        "",
    ].join("\n");
}
