/**
 * The `llm` example: a small instruct model behind an OpenAI-compatible API, served by KServe's
 * Hugging Face runtime (`kserve-huggingfaceserver`) with its vLLM backend on one GPU, from weights
 * the seeding Job put in our bucket (never from the hub at serving time).
 *
 * Upstream facts used here (kserve/kserve v0.20.0):
 * - The runtime: charts/kserve-runtime-configs/files/runtimes/clusterservingruntimes-patch.yaml,
 *   `kserve-huggingfaceserver`: image `kserve/huggingfaceserver:<version>`, model format
 *   `huggingface` (autoSelect), args `--model_name={{.Name}}`, a memory-backed `devshm` emptyDir
 *   at /dev/shm without a size limit. The CUDA/vLLM build is published with a `-gpu` tag suffix
 *   (.github/workflows/huggingface-docker-publish.yml), hence `runtimeVersion: v0.20.0-gpu`.
 * - Arguments: python/huggingfaceserver/huggingfaceserver/__main__.py takes `--backend`
 *   (auto|vllm|huggingface) and, with the vLLM backend, every vLLM engine flag (vllm/utils.py
 *   `maybe_add_vllm_cli_parser`); docs/samples/fluid/kserve-isvc.yaml passes `--max-model-len` and
 *   `--gpu-memory-utilization` the same way.
 * - OpenAI routes: python/kserve/kserve/protocol/rest/openai/config.py registers `/openai/v1/completions`,
 *   `/openai/v1/chat/completions`, `/openai/v1/models` (prefix `KSERVE_OPENAI_ROUTE_PREFIX`, default `/openai`).
 * - KServe merges the InferenceService's pod spec into the runtime's with a strategic merge patch
 *   (pkg/controller/v1beta1/inferenceservice/utils/utils.go `MergePodSpec`): a volume named
 *   `devshm` here adds a size limit to the runtime's volume of that name.
 *
 * vLLM semantics (vllm-project/vllm, engine args): `--gpu-memory-utilization` is the fraction of the
 * GPU's total memory this engine may use for weights, activations and KV cache (default 0.9);
 * `--max-model-len` is the longest prompt plus answer; the KV cache must hold at least one sequence
 * of that length or the engine refuses to start.
 */
import { gpuResource } from "../common/gpuScheduling";
import { ColdStartInput, coldStartTimeouts, ColdStartTimeouts, estimateColdStart, ImagePullMode, NodeProvisioning } from "./coldStart";
import type { InferenceServiceSpec } from "./inferenceService";
import type { HubFile, SeedModel } from "./modelSeeding";

/** The ClusterServingRuntime that serves Hugging Face models (vLLM backend on GPU). */
export const huggingfaceServerRuntime = "kserve-huggingfaceserver";

/** Everything the platform needs to know about one Hugging Face LLM. */
export interface LlmModel {
    /** Hugging Face repository id. */
    readonly repo: string;
    /** Full commit hash the weights are pinned to. */
    readonly revision: string;
    /** SPDX id of the license. */
    readonly license: string;
    /** Parameters (for the README and sizing notes). */
    readonly parameters: number;
    /** From config.json: what the KV cache size per token follows from. */
    readonly architecture: {
        readonly layers: number;
        readonly kvHeads: number;
        readonly headDim: number;
        readonly maxPositionEmbeddings: number;
        /** Weight dtype as stored (`torch_dtype`). */
        readonly dtype: "bfloat16" | "float16";
    };
    /** Files the runtime needs, pinned by size and sha256. */
    readonly files: readonly HubFile[];
}

/**
 * Qwen2.5-0.5B-Instruct at commit 7ae5576 (Apache-2.0, ungated). The revision and the files' sizes
 * and digests were checked against independent public records of the hub's
 * `/api/models/Qwen/Qwen2.5-0.5B-Instruct/revision/7ae557604adf67be50417f59c2c2f167def9a775?blobs=true`
 * answer and of the snapshot's files (the LFS `model.safetensors` sha256 is the hub's `lfs.sha256`;
 * the small files' sha256 were computed from their content, the API lists only their git blob ids).
 * config.json: 24 layers, 14 attention heads of 64 (hidden 896), 2 key-value heads, 32768 positions, bfloat16.
 */
export const qwen25Instruct05b: LlmModel = {
    repo: "Qwen/Qwen2.5-0.5B-Instruct",
    revision: "7ae557604adf67be50417f59c2c2f167def9a775",
    license: "Apache-2.0",
    // Model card: 0.49B parameters.
    parameters: 0.49e9,
    architecture: { layers: 24, kvHeads: 2, headDim: 64, maxPositionEmbeddings: 32768, dtype: "bfloat16" },
    files: [
        { path: "config.json", size: 659, sha256: "18e18afcaccafade98daf13a54092927904649e1dd4eba8299ab717d5d94ff45" },
        { path: "generation_config.json", size: 242, sha256: "e558847a8b4402616f1273797b015104dc266fe4b520056fca88823ba8f8ebe6" },
        { path: "merges.txt", size: 1_671_839, sha256: "599bab54075088774b1733fde865d5bd747cbcc7a547c5bc12610e874e26f5e3" },
        { path: "model.safetensors", size: 988_097_824, sha256: "fdf756fa7fcbe7404d5c60e26bff1a0c8b8aa1f72ced49e7dd0210fe288fb7fe" },
        { path: "tokenizer.json", size: 7_031_645, sha256: "c0382117ea329cdf097041132f6d735924b697924d6f6fc3945713e96ce87539" },
        { path: "tokenizer_config.json", size: 7_305, sha256: "5b5d4f65d0acd3b2d56a35b56d374a36cbc1c8fa5cf3b3febbbfabf22f359583" },
        { path: "vocab.json", size: 2_776_833, sha256: "ca10d7e9fb3ed18575dd1e277a2579c16d108e32f27439684afa0e10b1440910" },
    ],
};

/** The seeding source of an LLM: its pinned files, stored under `<prefix><dest>`. */
export function llmSeed(model: LlmModel, name: string): SeedModel {
    return { name, dest: `${name}/`, source: { kind: "huggingface", repo: model.repo, revision: model.revision, files: model.files } };
}

/** Bytes the storage initializer downloads. */
export function modelBytes(model: LlmModel): number {
    return model.files.reduce((sum, f) => sum + f.size, 0);
}

/** One GPU as vLLM sees it. */
export interface GpuSpec {
    readonly name: string;
    /** Total memory as the driver reports it (nvidia-smi), MiB. */
    readonly memoryMiB: number;
    /** CUDA compute capability, e.g. 8.6. */
    readonly computeCapability: number;
    /** Rough speed relative to an A10G/L4 for starting the engine (compile, CUDA graphs). */
    readonly relativeSpeed: number;
}

/**
 * The GPU of each instance family the GPU capacity may use (one GPU per `xlarge`..`8xlarge` size of
 * g4dn/g5/g6/g6e; p4d/p5 carry 8). Memory as nvidia-smi reports it; compute capability from NVIDIA's
 * CUDA GPU list (T4 7.5, A10G 8.6, L4 8.9, L40S 8.9, A100 8.0, H100 9.0).
 */
export const gpuOfFamily: Readonly<Record<string, GpuSpec>> = {
    g4dn: { name: "NVIDIA T4", memoryMiB: 15_360, computeCapability: 7.5, relativeSpeed: 0.5 },
    g5: { name: "NVIDIA A10G", memoryMiB: 23_028, computeCapability: 8.6, relativeSpeed: 1 },
    g6: { name: "NVIDIA L4", memoryMiB: 23_034, computeCapability: 8.9, relativeSpeed: 1 },
    g6e: { name: "NVIDIA L40S", memoryMiB: 46_068, computeCapability: 8.9, relativeSpeed: 1.5 },
    p4d: { name: "NVIDIA A100 40GB", memoryMiB: 40_960, computeCapability: 8.0, relativeSpeed: 2 },
    p5: { name: "NVIDIA H100 80GB", memoryMiB: 81_559, computeCapability: 9.0, relativeSpeed: 3 },
};

/** The GPUs of a list of instance types, each once, in list order; throws on a family it does not know. */
export function gpusOf(instanceTypes: readonly string[]): { family: string; gpu: GpuSpec }[] {
    const out: { family: string; gpu: GpuSpec }[] = [];
    for (const type of instanceTypes) {
        const family = type.split(".")[0];
        const gpu = gpuOfFamily[family];
        if (!gpu) throw new Error(`llm: no GPU is known for instance type '${type}' (known families: ${Object.keys(gpuOfFamily).join(", ")})`);
        if (!out.some((g) => g.family === family)) out.push({ family, gpu });
    }
    return out;
}

/** vLLM's default `--gpu-memory-utilization`; one model has the GPU to itself, so we keep it. */
export const gpuMemoryUtilization = 0.9;
/** What vLLM needs besides weights and KV cache (CUDA context, activations of an 8192-token batch, CUDA graphs), GiB: a planning allowance. */
export const engineOverheadGiB = 2.5;
/** Full-length sequences the KV cache must hold at once for the chosen `--max-model-len`. */
export const minConcurrentSequences = 4;

/** The engine arguments for one model on the smallest GPU of the capacity. */
export interface VllmSizing {
    /** The smallest GPU (by memory) the pod may land on; the one the arguments are sized for. */
    readonly sizedFor: GpuSpec;
    readonly maxModelLen: number;
    readonly gpuMemoryUtilization: number;
    /** `auto` (the checkpoint's dtype) or `half` when some GPU cannot run bfloat16 (compute capability < 8.0). */
    readonly dtype: "auto" | "half";
    /** KV-cache tokens left on the smallest GPU after weights and overhead (the engine's concurrency). */
    readonly kvCacheTokens: number;
}

const GiB = 2 ** 30;

/** KV-cache bytes per token: keys and values, every layer, every KV head, 2 bytes each. */
export function kvBytesPerToken(model: LlmModel): number {
    const a = model.architecture;
    return 2 * a.layers * a.kvHeads * a.headDim * 2;
}

/**
 * Sizes the vLLM arguments for the smallest GPU in `gpus` (pure): the longest `--max-model-len`
 * (the model's own limit, then halving down to 2048) whose KV cache for `minConcurrentSequences`
 * full-length sequences fits next to the weights and `engineOverheadGiB` in
 * `gpuMemoryUtilization` of that GPU. Throws when even 2048 tokens do not fit.
 */
export function sizeVllm(model: LlmModel, gpus: readonly GpuSpec[]): VllmSizing {
    if (gpus.length === 0) throw new Error("llm: no GPU to size for (the capacity has no GPU instance types)");
    const smallest = [...gpus].sort((a, b) => a.memoryMiB - b.memoryMiB)[0];
    const budget = smallest.memoryMiB * 2 ** 20 * gpuMemoryUtilization;
    const free = budget - modelBytes(model) - engineOverheadGiB * GiB;
    const perToken = kvBytesPerToken(model);
    let maxModelLen = model.architecture.maxPositionEmbeddings;
    while (maxModelLen >= 2048 && maxModelLen * minConcurrentSequences * perToken > free) maxModelLen /= 2;
    if (maxModelLen < 2048) {
        throw new Error(
            `llm: ${model.repo} does not fit a ${smallest.name} (${Math.round(smallest.memoryMiB / 1024)} GiB): weights ${(modelBytes(model) / GiB).toFixed(1)} GiB ` +
                `+ ${engineOverheadGiB} GiB overhead + KV cache for ${minConcurrentSequences} x 2048 tokens exceed ${gpuMemoryUtilization} of its memory; ` +
                "use larger GPU instance types or a smaller model",
        );
    }
    const bf16Everywhere = gpus.every((g) => g.computeCapability >= 8);
    return {
        sizedFor: smallest,
        maxModelLen,
        gpuMemoryUtilization,
        dtype: model.architecture.dtype === "bfloat16" && !bf16Everywhere ? "half" : "auto",
        kvCacheTokens: Math.floor(free / perToken),
    };
}

/**
 * The runtime image and how long it takes to start. `imageBytes` is an estimate of the compressed
 * size of `kserve/huggingfaceserver:v0.20.0-gpu` (CUDA 13 runtime, PyTorch, vLLM 0.24.0 and
 * FlashInfer; python/huggingface_server.Dockerfile); it was not measured here (no registry access).
 * `engineStartSeconds`: vLLM's torch.compile and CUDA-graph capture on a cold cache, on an A10G/L4.
 */
export const huggingfaceServerGpuImage = { imageBytes: 7_000_000_000, engineStartSeconds: 120 } as const;

/** How the GPU capacity behaves, for the cold start. */
export interface LlmCapacity {
    /** GPU instance types the pod may land on. */
    readonly gpuInstanceTypes: readonly string[];
    readonly nodeProvisioning: NodeProvisioning;
    readonly imagePull: ImagePullMode;
}

/** The cold start of `model` on each GPU of the capacity, and the deadlines (from the slowest GPU). */
export function llmColdStart(model: LlmModel, capacity: LlmCapacity, limits: { readonly maxRevisionTimeoutSeconds: number }) {
    const gpus = gpusOf(capacity.gpuInstanceTypes);
    const input = (gpu: GpuSpec): ColdStartInput => ({
        modelBytes: modelBytes(model),
        imageBytes: huggingfaceServerGpuImage.imageBytes,
        engineStartSeconds: huggingfaceServerGpuImage.engineStartSeconds,
        gpuRelativeSpeed: gpu.relativeSpeed,
        nodeProvisioning: capacity.nodeProvisioning,
        imagePull: capacity.imagePull,
    });
    const perGpu = gpus.map(({ family, gpu }) => ({ family, gpu, estimate: estimateColdStart(input(gpu)) }));
    const slowest = [...gpus].sort((a, b) => a.gpu.relativeSpeed - b.gpu.relativeSpeed)[0].gpu;
    const timeouts: ColdStartTimeouts = coldStartTimeouts(input(slowest), limits);
    return { perGpu, timeouts };
}

/** What the `llm` example's spec is built from. */
export interface LlmExampleSettings {
    readonly model: LlmModel;
    readonly capacity: LlmCapacity;
    /** Replicas kept warm (config `llmMinReplicas`); 0 scales to zero. */
    readonly minReplicas: number;
    /** Knative's `max-revision-timeout-seconds` (config-defaults), which the request timeout must not exceed. */
    readonly maxRevisionTimeoutSeconds: number;
}

/** Image tag of the runtime's CUDA/vLLM build (the chart's tag is the KServe version). */
export const huggingfaceServerGpuTag = "v0.20.0-gpu";

/** /dev/shm for vLLM's inter-process queues (engine core <-> API server); memory-backed, counted in the memory limit. */
export const devShmSize = "1Gi";

/** The `llm` example's InferenceService (pure): sized, scheduled on a GPU, its cold start made explicit. */
export function llmInferenceServiceSpec<S>(args: {
    readonly name: string;
    readonly namespace: S;
    readonly storageUri: S;
    readonly serviceAccountName: S;
    readonly settings: LlmExampleSettings;
}): InferenceServiceSpec<S> {
    const { model, capacity, minReplicas } = args.settings;
    const sizing = sizeVllm(model, gpusOf(capacity.gpuInstanceTypes).map((g) => g.gpu));
    const { timeouts } = llmColdStart(model, capacity, { maxRevisionTimeoutSeconds: args.settings.maxRevisionTimeoutSeconds });
    const annotations: Record<string, string> = {
        "serving.knative.dev/progress-deadline": `${timeouts.progressDeadlineSeconds}s`,
    };
    // Scaled to zero, a deploy must not start a GPU node just to stop it again (allowed by our
    // config-autoscaler's allow-zero-initial-scale). Kept warm, the first replica starts at deploy.
    if (minReplicas === 0) annotations["autoscaling.knative.dev/initial-scale"] = "0";
    return {
        name: args.name,
        namespace: args.namespace,
        predictor: {
            minReplicas,
            maxReplicas: Math.max(1, minReplicas),
            // One sequence batch per GPU is vLLM's job: let requests queue in the engine, not in Knative.
            scaleTarget: 32,
            scaleMetric: "concurrency",
            serviceAccountName: args.serviceAccountName,
            timeout: timeouts.requestTimeoutSeconds,
            annotations,
            nodeSelector: { "kubernetes.io/arch": "amd64" },
            volumes: [{ name: "devshm", emptyDir: { medium: "Memory", sizeLimit: devShmSize } }],
            model: {
                modelFormat: { name: "huggingface" },
                runtime: huggingfaceServerRuntime,
                runtimeVersion: huggingfaceServerGpuTag,
                storageUri: args.storageUri,
                args: [
                    "--backend=vllm",
                    `--max-model-len=${sizing.maxModelLen}`,
                    `--gpu-memory-utilization=${sizing.gpuMemoryUtilization}`,
                    `--dtype=${sizing.dtype}`,
                ],
                env: [
                    // The weights are local (/mnt/models): nothing may reach the hub at serving time.
                    { name: "HF_HUB_OFFLINE", value: "1" as S },
                    { name: "VLLM_NO_USAGE_STATS", value: "1" as S },
                    { name: "DO_NOT_TRACK", value: "1" as S },
                ],
                volumeMounts: [{ name: "devshm", mountPath: "/dev/shm" }],
                startupProbe: {
                    httpGet: { path: `/v1/models/${args.name}`, port: 8080 },
                    periodSeconds: timeouts.startupProbe.periodSeconds,
                    failureThreshold: timeouts.startupProbe.failureThreshold,
                    timeoutSeconds: timeouts.startupProbe.timeoutSeconds,
                },
                resources: {
                    // The engine's host side: PyTorch and CUDA libraries, tokenizer, /dev/shm (memory-backed).
                    requests: { cpu: "2", memory: "8Gi", "ephemeral-storage": "4Gi", [gpuResource]: "1" },
                    limits: { cpu: "4", memory: "12Gi", [gpuResource]: "1" },
                },
            },
        },
    };
}
