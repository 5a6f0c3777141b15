/**
 * The cold start of a model scaled to zero, made explicit: what it is made of, how long it is
 * expected to take, and the Knative/KServe timeouts derived from it so that nothing kills a pod that
 * is still loading and the first request waits instead of failing.
 *
 * A request to a model at zero replicas goes through these steps, in this order:
 *
 *   1. node     a GPU node is provisioned (Cluster Autoscaler: scan interval, EC2 launch, boot,
 *               join; then the NVIDIA device plugin advertises `nvidia.com/gpu`). 0 when a GPU node
 *               is already there.
 *   2. image    the runtime image is pulled and unpacked (multi-GB for CUDA/vLLM images).
 *   3. weights  KServe's storage initializer (an init container) downloads the model from S3.
 *   4. load     the runtime starts: weights into GPU memory, vLLM's compile and CUDA-graph capture.
 *
 * Where each timeout applies (knative/serving knative-v1.21.1):
 * - progress deadline: `serving.knative.dev/progress-deadline` on the revision template becomes the
 *   Deployment's `progressDeadlineSeconds` (pkg/reconciler/revision/resources/deploy.go
 *   `makeDeployment`), and the KPA gives up activating a revision from zero after the same deadline
 *   (pkg/reconciler/autoscaling/kpa/scaler.go, `activationTimeout`). It must cover steps 1-4.
 * - startup probe: kubelet runs it only once the serving container has started, i.e. after the
 *   init containers (step 3), so it covers step 4 only. KServe passes `startupProbe` of
 *   `predictor.model` through to the container; Knative allows it on serving containers
 *   (pkg/apis/serving/fieldmask.go `ContainerMask` keeps StartupProbe).
 * - request timeout: KServe's `predictor.timeout` becomes the revision's `timeoutSeconds` and
 *   `responseStartTimeoutSeconds` (kserve/kserve v0.20.0 pkg/controller/v1beta1/inferenceservice/
 *   reconcilers/knative/ksvc_reconciler.go `createKnativeService`). The activator holds a request to
 *   a revision at zero for at most that long, first byte included (cmd/activator/main.go,
 *   `NewTimeoutHandler` with the revision's timeouts), so it must cover steps 1-4 plus the time to
 *   the first token. Knative's webhook rejects a `timeoutSeconds` above config-defaults'
 *   `max-revision-timeout-seconds` (pkg/apis/serving/v1/revision_validation.go `validateTimeoutSeconds`).
 *
 * The rates below are planning estimates, not measurements: they say what the deadlines are made
 * of, so that a slower cluster is fixed by changing one documented number.
 */

/** How a GPU node comes to exist when a pod needs one. */
export type NodeProvisioning = "cluster-autoscaler" | "karpenter" | "existing-node";

/** How containerd pulls images on the GPU nodes. */
export type ImagePullMode = "sequential" | "parallel";

/** Seconds from a pending GPU pod to a node that advertises `nvidia.com/gpu`, per provisioning mode. */
export const nodeProvisioningSeconds: Readonly<Record<NodeProvisioning, number>> = {
    // Scan interval (10 s), managed node group scale-up and EC2 launch (~60 s), AL2023 boot and
    // nodeadm join (~60 s), NVIDIA device plugin start (~30 s), slack for a second instance type
    // when the first has no capacity.
    "cluster-autoscaler": 210,
    // Karpenter launches the instance directly (no ASG round trip): launch, boot, join, device plugin.
    karpenter: 120,
    "existing-node": 0,
};

/**
 * Effective image pull rate (download and unpack), MB/s of compressed image. Sequential: AWS reports
 * standard pulls of 15-20 GB images taking 4-6 minutes (AWS Machine Learning Blog, "Reducing
 * container cold start times using SOCI index on DLAMI and DLC"), about 55 MB/s; we plan with 50.
 * Parallel (SOCI parallel pull and unpack, nodeadm's `FastImagePull`): an estimate of 3x, bounded
 * by the 600 MiB/s root volume every GPU node gets (components/aws/gpuNodeBoot.ts); AWS publishes no figure for
 * this image, so the deadlines are derived from the sequential rate (the gate may be ignored on
 * small instances: awslabs/amazon-eks-ami nodeadm/internal/containerd/config.go `UseSOCISnapshotter`).
 */
export const imagePullMBps: Readonly<Record<ImagePullMode, number>> = { sequential: 50, parallel: 150 };

/** S3 download by the storage initializer (boto3 download_file, ranged GETs on 10 threads), MB/s; the gp3 root volume's write rate bounds it. */
export const weightDownloadMBps = 100;

/** Reading weights from the node's disk into GPU memory, MB/s. */
export const weightLoadMBps = 500;

/** What the derivation needs to know about one model deployment. */
export interface ColdStartInput {
    /** Bytes of model files the storage initializer downloads. */
    readonly modelBytes: number;
    /** Compressed bytes of the runtime image (what the registry sends). */
    readonly imageBytes: number;
    /** Seconds the runtime needs after its weights are in memory (vLLM: compile and CUDA-graph capture), on a GPU of relative speed 1. */
    readonly engineStartSeconds: number;
    /** Speed of the GPU relative to an A10G/L4 (1); a T4 is slower (0.5), so its start takes longer. Default: 1. */
    readonly gpuRelativeSpeed?: number;
    readonly nodeProvisioning: NodeProvisioning;
    readonly imagePull: ImagePullMode;
}

/** Seconds per step, and their sum. */
export interface ColdStartEstimate {
    readonly nodeSeconds: number;
    readonly imageSeconds: number;
    readonly weightsSeconds: number;
    readonly loadSeconds: number;
    readonly totalSeconds: number;
}

const MB = 1_000_000;

function positive(name: string, value: number): void {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`coldStart: ${name} must be a positive number (got ${value})`);
}

/** The expected cold start, step by step (pure). */
export function estimateColdStart(input: ColdStartInput): ColdStartEstimate {
    positive("modelBytes", input.modelBytes);
    positive("imageBytes", input.imageBytes);
    positive("engineStartSeconds", input.engineStartSeconds);
    const speed = input.gpuRelativeSpeed ?? 1;
    positive("gpuRelativeSpeed", speed);
    if (!(input.nodeProvisioning in nodeProvisioningSeconds)) throw new Error(`coldStart: unknown node provisioning '${input.nodeProvisioning}'`);
    if (!(input.imagePull in imagePullMBps)) throw new Error(`coldStart: unknown image pull mode '${input.imagePull}'`);
    const nodeSeconds = nodeProvisioningSeconds[input.nodeProvisioning];
    const imageSeconds = Math.ceil(input.imageBytes / MB / imagePullMBps[input.imagePull]);
    const weightsSeconds = Math.ceil(input.modelBytes / MB / weightDownloadMBps);
    const loadSeconds = Math.ceil(input.modelBytes / MB / weightLoadMBps + input.engineStartSeconds / speed);
    return { nodeSeconds, imageSeconds, weightsSeconds, loadSeconds, totalSeconds: nodeSeconds + imageSeconds + weightsSeconds + loadSeconds };
}

/** The Knative/KServe settings derived from a cold start. */
export interface ColdStartTimeouts {
    /** What the deadlines were derived from: the slow case (sequential pull), whatever the node is configured with. */
    readonly planned: ColdStartEstimate;
    /** `serving.knative.dev/progress-deadline`, whole seconds (Knative requires second precision). */
    readonly progressDeadlineSeconds: number;
    /** The serving container's startup probe: `periodSeconds` x `failureThreshold` covers the load step twice over. */
    readonly startupProbe: { readonly periodSeconds: number; readonly failureThreshold: number; readonly timeoutSeconds: number };
    /** KServe `predictor.timeout` (revision `timeoutSeconds` and `responseStartTimeoutSeconds`). */
    readonly requestTimeoutSeconds: number;
}

/** Safety factor on the planned cold start: estimates, not measurements. */
export const coldStartSafetyFactor = 2;
/** Time a request may take once the model is up (a long streamed answer), on top of the cold start. */
export const generationBudgetSeconds = 300;

const roundUpToMinute = (s: number) => Math.ceil(s / 60) * 60;

/**
 * Deadlines that let a cold start finish (pure). Derived from the sequential-pull estimate even when
 * parallel pull is configured (nodeadm may ignore the gate), times `coldStartSafetyFactor`, rounded
 * up to whole minutes. Throws when the request timeout would exceed `maxRevisionTimeoutSeconds`
 * (Knative's webhook would reject the revision).
 */
export function coldStartTimeouts(input: ColdStartInput, limits: { readonly maxRevisionTimeoutSeconds: number }): ColdStartTimeouts {
    const planned = estimateColdStart({ ...input, imagePull: "sequential" });
    const progressDeadlineSeconds = roundUpToMinute(planned.totalSeconds * coldStartSafetyFactor);
    const periodSeconds = 10;
    const failureThreshold = Math.max(3, Math.ceil((planned.loadSeconds * coldStartSafetyFactor) / periodSeconds));
    const requestTimeoutSeconds = progressDeadlineSeconds + generationBudgetSeconds;
    if (requestTimeoutSeconds > limits.maxRevisionTimeoutSeconds) {
        throw new Error(
            `coldStart: the request timeout (${requestTimeoutSeconds} s = progress deadline ${progressDeadlineSeconds} s + ${generationBudgetSeconds} s to answer) ` +
                `exceeds Knative's max-revision-timeout-seconds (${limits.maxRevisionTimeoutSeconds}); raise it in config-defaults or shrink the image/model`,
        );
    }
    return { planned, progressDeadlineSeconds, startupProbe: { periodSeconds, failureThreshold, timeoutSeconds: 5 }, requestTimeoutSeconds };
}

/** `1234` → `20m34s`. */
export function formatSeconds(seconds: number): string {
    const m = Math.floor(seconds / 60);
    const s = seconds % 60;
    return m === 0 ? `${s}s` : s === 0 ? `${m}m` : `${m}m${String(s).padStart(2, "0")}s`;
}
