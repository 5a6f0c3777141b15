/**
 * How GPU workloads find GPU nodes, in one place: whatever provides GPU capacity (a managed node
 * group, a Karpenter NodePool) labels and taints its nodes with these, and every GPU workload (the
 * device plugin, GPU InferenceServices, the inference server's GPU mode) selects and tolerates them.
 * The taint keeps everything else off expensive nodes; the label is what the NVIDIA GPU Operator's
 * feature discovery also sets, so the selector keeps working with it.
 */

/** The extended resource a GPU is requested as (the NVIDIA device plugin advertises it). */
export const gpuResource = "nvidia.com/gpu";

/** Label on every GPU node. */
export const gpuNodeLabel = { key: "nvidia.com/gpu.present", value: "true" } as const;

/** Taint on every GPU node (the EKS API spells the effect `NO_SCHEDULE`, Kubernetes `NoSchedule`). */
export const gpuTaint = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" } as const;

/** Node selector a GPU pod uses. */
export const gpuNodeSelector: Readonly<Record<string, string>> = { [gpuNodeLabel.key]: gpuNodeLabel.value };

/** Toleration of the GPU taint, for any value of it. */
export const gpuToleration = { key: gpuTaint.key, operator: "Exists", effect: gpuTaint.effect } as const;
