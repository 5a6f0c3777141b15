/**
 * The `llm` example: its InferenceService against the KServe v0.20.0 CRD and the runtime the chart
 * installs, its GPU scheduling against the GPU capacity's labels and taints, its vLLM sizing, and the
 * cold-start timeouts as pure functions.
 *
 * Upstream facts, transcribed with their sources (never taken from the code under test):
 * - kserve/kserve v0.20.0 charts/kserve-runtime-configs/files/runtimes/clusterservingruntimes-patch.yaml:
 *   ClusterServingRuntime `kserve-huggingfaceserver`, container `kserve-container`, image
 *   `{{ huggingfaceserver.image }}:{{ tag | default kserve.version }}`, args `--model_name=...`.
 * - same tag, files/runtimes/resources.yaml: supportedModelFormats `[{name: huggingface, version: "1",
 *   autoSelect: true}]`, protocolVersions `[v2, v1]`, a volume `devshm` (emptyDir, medium Memory)
 *   mounted at /dev/shm.
 * - .github/workflows/huggingface-docker-publish.yml: the CUDA build is tagged `<version>-gpu`.
 * - python/huggingfaceserver/huggingfaceserver/__init__.py `Backend`: auto, huggingface, vllm;
 *   __main__.py parses `--backend` as `Backend[t]`, and with the vLLM backend adds vLLM's engine
 *   flags (vllm/utils.py `maybe_add_vllm_cli_parser`).
 * - vllm-project/vllm vllm/config/model.py `ModelDType`: auto, half, float16, bfloat16, float, float32;
 *   `--gpu-memory-utilization` is a fraction in (0, 1].
 * - knative/serving knative-v1.21.1 pkg/apis/serving/v1/revision_validation.go
 *   `validateProgressDeadlineAnnotation` (a Go duration at second precision) and `validateTimeoutSeconds`
 *   (timeoutSeconds <= max-revision-timeout-seconds); pkg/apis/autoscaling/register.go
 *   `InitialScaleAnnotationKey` = autoscaling.knative.dev/initial-scale.
 */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { gpuNodeLabel, gpuTaint } from "../components/common/gpuScheduling";
import { coldStartTimeouts, estimateColdStart, formatSeconds, ImagePullMode, NodeProvisioning } from "../components/models/coldStart";
import { exampleSpec, plainInterpolate, seedCatalog } from "../components/models/exampleModels";
import { renderInferenceService } from "../components/models/inferenceService";
import {
    gpuOfFamily,
    gpusOf,
    kvBytesPerToken,
    llmColdStart,
    llmInferenceServiceSpec,
    LlmExampleSettings,
    LlmModel,
    modelBytes,
    qwen25Instruct05b,
    sizeVllm,
} from "../components/models/llm";
import { maxRevisionTimeoutSeconds } from "../components/platform/knative";
import { loadCrdValidator } from "./crdSchema";
import { describeWithSharedSchemas, itWithSharedSchemas, readUpstreamYaml } from "./shared";
import { schedulingProblems } from "./scheduling";

const crd = loadCrdValidator("kserve", "serving.kserve.io_inferenceservices.yaml");

const settings = (over: Partial<LlmExampleSettings> & { types?: string[] } = {}): LlmExampleSettings => ({
    model: qwen25Instruct05b,
    capacity: { gpuInstanceTypes: over.types ?? ["g6.xlarge", "g5.xlarge", "g4dn.xlarge"], nodeProvisioning: "cluster-autoscaler", imagePull: "parallel" },
    minReplicas: 0,
    maxRevisionTimeoutSeconds,
    ...over,
});
const render = (s: LlmExampleSettings = settings()) =>
    renderInferenceService(
        exampleSpec("llm", {
            namespace: "models",
            bucket: "inference-platform-dev-models-abcd1234",
            modelPrefix: "models/",
            serviceAccountName: "kserve-models",
            llm: s,
            interpolate: plainInterpolate,
        }),
    );
const flag = (args: readonly string[] | undefined, name: string) => args?.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];

describeWithSharedSchemas("the llm InferenceService matches the KServe v0.20.0 CRD", () => {
    it.each([[0], [1]])("with minReplicas %i", (minReplicas) => {
        expect(crd!.errors(render(settings({ minReplicas })))).toEqual([]);
    });
    it("rejects what the CRD rejects (so the check can fail)", () => {
        const bad = render() as any;
        bad.spec.predictor.timeout = "26m";
        expect(crd!.errors(bad).join()).toMatch(/timeout/);
    });
});

describe("the llm runtime, as the kserve-runtime-configs chart installs it", () => {
    const p = render().spec.predictor;
    it("names the Hugging Face runtime, its model format and its CUDA image tag", () => {
        expect(p.model.runtime).toBe("kserve-huggingfaceserver");
        expect(p.model.modelFormat).toEqual({ name: "huggingface" });
        // Protocol left to the runtime (it declares v2 and v1; the OpenAI routes are added for generative models).
        expect(p.model.protocolVersion).toBeUndefined();
    });
    itWithSharedSchemas("the chart values enable that runtime, with the image whose `-gpu` tag we select", () => {
        const values = readUpstreamYaml("kserve", "kserve-runtime-configs.values.yaml") as any;
        const hf = values.kserve.servingruntime.huggingfaceserver;
        expect(hf.disabled).toBe(false);
        expect(hf.image).toBe("kserve/huggingfaceserver");
        // tag "" -> the chart version (kserve.version), published for CUDA as `<version>-gpu`.
        expect(hf.tag).toBe("");
        expect(p.model.runtimeVersion).toBe(`${values.kserve.version}-gpu`);
        // The runtime's own /dev/shm is not sized by default (devShm.sizeLimit ""), so the InferenceService sizes it.
        expect(hf.devShm.sizeLimit).toBe("");
    });
    it("passes only flags the server parses, with values it accepts, and leaves --model_name to the runtime", () => {
        const args = p.model.args!;
        for (const a of args) expect(a, a).toMatch(/^--[a-z][a-z0-9-]*=\S+$/);
        expect(args.some((a) => a.startsWith("--model_name") || a.startsWith("--model-name"))).toBe(false);
        expect(["auto", "huggingface", "vllm"]).toContain(flag(args, "backend"));
        expect(flag(args, "backend")).toBe("vllm");
        expect(["auto", "half", "float16", "bfloat16", "float", "float32"]).toContain(flag(args, "dtype"));
        const utilization = Number(flag(args, "gpu-memory-utilization"));
        expect(utilization).toBeGreaterThan(0);
        expect(utilization).toBeLessThanOrEqual(1);
        const maxLen = Number(flag(args, "max-model-len"));
        expect(Number.isInteger(maxLen)).toBe(true);
        // config.json of the pinned revision: max_position_embeddings 32768.
        expect(maxLen).toBeLessThanOrEqual(32768);
    });
    it("sizes /dev/shm through the runtime's own `devshm` volume (merged by name), memory-backed", () => {
        expect(p.volumes).toEqual([{ name: "devshm", emptyDir: { medium: "Memory", sizeLimit: expect.stringMatching(/^\d+Gi$/) } }]);
        expect(p.model.volumeMounts).toEqual([{ name: "devshm", mountPath: "/dev/shm" }]);
        // Memory-backed: counted in the container's memory, so the limit must leave room for it.
        const gi = (q: string) => Number(q.replace(/Gi$/, ""));
        expect(gi(p.model.resources.limits!.memory) - gi(p.volumes![0].emptyDir.sizeLimit!)).toBeGreaterThanOrEqual(8);
    });
    it("reads our bucket through the reader account, never the hub", () => {
        expect(p.model.storageUri).toBe(`s3://inference-platform-dev-models-abcd1234/models/${seedCatalog.llm.dest.replace(/\/$/, "")}`);
        expect(p.serviceAccountName).toBe("kserve-models");
        expect(p.model.env).toContainEqual({ name: "HF_HUB_OFFLINE", value: "1" });
        expect(JSON.stringify(p)).not.toMatch(/huggingface\.co|hf:\/\//);
    });
});

describe("GPU request, toleration and node selection against the GPU capacity", () => {
    const p = render().spec.predictor;
    // A node of the GPU capacity, as the node group (and a Karpenter NodePool) label and taint it.
    const gpuNode = { labels: { [gpuNodeLabel.key]: gpuNodeLabel.value, "kubernetes.io/arch": "amd64" }, taints: [{ key: gpuTaint.key, value: gpuTaint.value, effect: gpuTaint.effect }] };
    const cpuNode = { labels: { "kubernetes.io/arch": "amd64" }, taints: [] };
    it("asks for exactly one GPU", () => {
        expect(p.model.resources.limits!["nvidia.com/gpu"]).toBe("1");
        expect(p.model.resources.requests!["nvidia.com/gpu"]).toBe("1");
    });
    it("lands on GPU nodes and never on CPU nodes", () => {
        expect(schedulingProblems(p as any, gpuNode)).toEqual([]);
        expect(schedulingProblems(p as any, cpuNode).join()).toMatch(/nvidia\.com\/gpu\.present/);
        // Without the toleration the GPU taint keeps it off (the check is not vacuous).
        expect(schedulingProblems({ ...p, tolerations: [] } as any, gpuNode).join()).toMatch(/not tolerated/);
    });
});

describe("scale to zero and warm replicas", () => {
    it("starts at zero replicas: a deploy does not start a GPU node", () => {
        const p = render(settings({ minReplicas: 0 })).spec.predictor;
        expect(p.minReplicas).toBe(0);
        expect(p.annotations!["autoscaling.knative.dev/initial-scale"]).toBe("0");
    });
    it("keeps minReplicas warm when configured, and then lets the first replica start at deploy", () => {
        const p = render(settings({ minReplicas: 1 })).spec.predictor;
        expect(p.minReplicas).toBe(1);
        expect(p.maxReplicas).toBeGreaterThanOrEqual(1);
        expect(p.annotations!["autoscaling.knative.dev/initial-scale"]).toBeUndefined();
    });
    it("carries a progress deadline Knative accepts (a Go duration at second precision) and a timeout within the cap", () => {
        const p = render().spec.predictor;
        expect(p.annotations!["serving.knative.dev/progress-deadline"]).toMatch(/^[1-9]\d*s$/);
        expect(p.timeout).toBeLessThanOrEqual(maxRevisionTimeoutSeconds);
        expect(p.timeout).toBeGreaterThan(Number(p.annotations!["serving.knative.dev/progress-deadline"].slice(0, -1)));
        const probe = p.model.startupProbe!;
        expect(probe.httpGet).toEqual({ path: "/v1/models/llm", port: 8080 });
        expect(probe.periodSeconds! * probe.failureThreshold!).toBeGreaterThanOrEqual(120);
    });
});

describe("vLLM sizing for the smallest GPU", () => {
    const gpu = (family: string) => gpuOfFamily[family];
    it("reads the GPUs of the instance types, each family once, and rejects unknown families", () => {
        expect(gpusOf(["g5.xlarge", "g5.2xlarge", "g6.xlarge"]).map((g) => g.family)).toEqual(["g5", "g6"]);
        expect(() => gpusOf(["x9.large"])).toThrow(/no GPU is known/);
    });
    it("Qwen2.5-0.5B's KV cache per token (24 layers x 2 KV heads x 64 x K and V x 2 bytes) is 12 KiB", () => {
        expect(kvBytesPerToken(qwen25Instruct05b)).toBe(24 * 2 * 64 * 2 * 2);
        expect(kvBytesPerToken(qwen25Instruct05b)).toBe(12 * 1024);
    });
    it("sizes for the T4 when g4dn is allowed, and casts bfloat16 weights to half there (compute capability 7.5 has no bfloat16)", () => {
        const s = sizeVllm(qwen25Instruct05b, [gpu("g6"), gpu("g4dn")]);
        expect(s.sizedFor.name).toBe("NVIDIA T4");
        expect(s.dtype).toBe("half");
        expect(sizeVllm(qwen25Instruct05b, [gpu("g5"), gpu("g6")]).dtype).toBe("auto");
    });
    it("fits weights, overhead and the KV cache of the chosen length in the memory it lets vLLM use", () => {
        for (const family of Object.keys(gpuOfFamily)) {
            const s = sizeVllm(qwen25Instruct05b, [gpu(family)]);
            const budget = gpu(family).memoryMiB * 2 ** 20 * s.gpuMemoryUtilization;
            expect(modelBytes(qwen25Instruct05b) + 2.5 * 2 ** 30 + s.maxModelLen * 4 * 12 * 1024, family).toBeLessThanOrEqual(budget);
            expect(s.kvCacheTokens).toBeGreaterThanOrEqual(s.maxModelLen * 4);
        }
    });
    it("shortens --max-model-len for a model whose KV cache is large, and refuses one that does not fit at all", () => {
        const big: LlmModel = {
            ...qwen25Instruct05b,
            architecture: { ...qwen25Instruct05b.architecture, layers: 80, kvHeads: 8, headDim: 128 },
            files: [{ path: "model.safetensors", size: 8 * 2 ** 30, sha256: "0".repeat(64) }],
        };
        const s = sizeVllm(big, [gpu("g6")]);
        expect(s.maxModelLen).toBeLessThan(32768);
        expect(s.maxModelLen).toBeGreaterThanOrEqual(2048);
        const huge: LlmModel = { ...big, files: [{ path: "model.safetensors", size: 30 * 2 ** 30, sha256: "0".repeat(64) }] };
        expect(() => sizeVllm(huge, [gpu("g6")])).toThrow(/does not fit a NVIDIA L4/);
        expect(() => sizeVllm(qwen25Instruct05b, [])).toThrow(/no GPU/);
    });
});

describe("cold start (pure)", () => {
    const input = {
        modelBytes: 1_000_000_000,
        imageBytes: 7_000_000_000,
        engineStartSeconds: 120,
        nodeProvisioning: "cluster-autoscaler" as NodeProvisioning,
        imagePull: "sequential" as ImagePullMode,
    };
    it("adds up node, image, weights and load", () => {
        const e = estimateColdStart(input);
        expect(e.totalSeconds).toBe(e.nodeSeconds + e.imageSeconds + e.weightsSeconds + e.loadSeconds);
        // 7 GB at 50 MB/s; 1 GB at 100 MB/s; 1 GB at 500 MB/s + 120 s.
        expect(e.imageSeconds).toBe(140);
        expect(e.weightsSeconds).toBe(10);
        expect(e.loadSeconds).toBe(122);
    });
    it("costs no node time on an existing node, less with Karpenter, less with parallel pull, more on a slower GPU", () => {
        const ca = estimateColdStart(input);
        expect(estimateColdStart({ ...input, nodeProvisioning: "existing-node" }).nodeSeconds).toBe(0);
        expect(estimateColdStart({ ...input, nodeProvisioning: "karpenter" }).nodeSeconds).toBeLessThan(ca.nodeSeconds);
        expect(estimateColdStart({ ...input, imagePull: "parallel" }).imageSeconds).toBeLessThan(ca.imageSeconds);
        expect(estimateColdStart({ ...input, gpuRelativeSpeed: 0.5 }).loadSeconds).toBeGreaterThan(ca.loadSeconds);
    });
    it("derives the deadlines from the sequential pull whatever the node is configured with", () => {
        expect(coldStartTimeouts({ ...input, imagePull: "parallel" }, { maxRevisionTimeoutSeconds: 1800 })).toEqual(coldStartTimeouts(input, { maxRevisionTimeoutSeconds: 1800 }));
    });
    it("deadline >= 2 x the planned cold start, whole minutes; probe >= 2 x the load; request timeout = deadline + time to answer", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 1_000_000, max: 20_000_000_000 }),
                fc.integer({ min: 100_000_000, max: 20_000_000_000 }),
                fc.integer({ min: 1, max: 600 }),
                fc.constantFrom<NodeProvisioning>("cluster-autoscaler", "karpenter", "existing-node"),
                (modelB, imageB, engine, node) => {
                    const i = { modelBytes: modelB, imageBytes: imageB, engineStartSeconds: engine, nodeProvisioning: node, imagePull: "sequential" as const };
                    const planned = estimateColdStart(i);
                    let t;
                    try {
                        t = coldStartTimeouts(i, { maxRevisionTimeoutSeconds: 100_000 });
                    } catch {
                        return;
                    }
                    expect(t.progressDeadlineSeconds % 60).toBe(0);
                    expect(t.progressDeadlineSeconds).toBeGreaterThanOrEqual(2 * planned.totalSeconds);
                    expect(t.startupProbe.periodSeconds * t.startupProbe.failureThreshold).toBeGreaterThanOrEqual(2 * planned.loadSeconds);
                    expect(t.requestTimeoutSeconds).toBeGreaterThan(t.progressDeadlineSeconds);
                    // More bytes never shorten a deadline.
                    const bigger = coldStartTimeouts({ ...i, imageBytes: imageB * 2 }, { maxRevisionTimeoutSeconds: 100_000 });
                    expect(bigger.progressDeadlineSeconds).toBeGreaterThanOrEqual(t.progressDeadlineSeconds);
                },
            ),
        );
    });
    it("refuses a timeout Knative's webhook would reject, naming the setting", () => {
        expect(() => coldStartTimeouts({ ...input, imageBytes: 60_000_000_000 }, { maxRevisionTimeoutSeconds: 1800 })).toThrow(/max-revision-timeout-seconds \(1800\)/);
        expect(() => estimateColdStart({ ...input, modelBytes: 0 })).toThrow(/modelBytes/);
    });
    it("the llm's derived timeouts fit the platform's cap on every GPU mix the config allows", () => {
        for (const types of [["g4dn.xlarge"], ["g5.xlarge"], ["g6.xlarge", "g5.xlarge", "g4dn.xlarge"], ["p5.48xlarge"]]) {
            const { timeouts, perGpu } = llmColdStart(qwen25Instruct05b, settings({ types }).capacity, { maxRevisionTimeoutSeconds });
            expect(timeouts.requestTimeoutSeconds).toBeLessThanOrEqual(maxRevisionTimeoutSeconds);
            expect(perGpu.length).toBe(new Set(types.map((t) => t.split(".")[0])).size);
        }
    });
    it("formats durations", () => {
        expect(formatSeconds(0)).toBe("0s");
        expect(formatSeconds(59)).toBe("59s");
        expect(formatSeconds(60)).toBe("1m");
        expect(formatSeconds(389)).toBe("6m29s");
    });
});

describe("the pinned model", () => {
    it("is a full commit, with every file pinned by size and sha256, under its own destination", () => {
        expect(qwen25Instruct05b.revision).toMatch(/^[0-9a-f]{40}$/);
        for (const f of qwen25Instruct05b.files) expect(f.sha256, f.path).toMatch(/^[0-9a-f]{64}$/);
        expect(qwen25Instruct05b.files.map((f) => f.path).sort()).toEqual(
            ["config.json", "generation_config.json", "merges.txt", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.json"],
        );
        expect(seedCatalog.llm.source).toMatchObject({ kind: "huggingface", repo: "Qwen/Qwen2.5-0.5B-Instruct", revision: qwen25Instruct05b.revision });
        expect(qwen25Instruct05b.license).toBe("Apache-2.0");
    });
    it("spec builder is pure and independent of the example wiring", () => {
        const spec = llmInferenceServiceSpec({ name: "chat", namespace: "ns", storageUri: "s3://b/m/chat", serviceAccountName: "sa", settings: settings() });
        expect(spec.predictor.model.startupProbe!.httpGet.path).toBe("/v1/models/chat");
    });
});
