/**
 * Gateway configuration from command-line arguments and environment. Pure: `parseConfig(argv, env)`.
 *
 * Arguments follow KServe's model-server conventions (`--name value` or `--name=value`), so the
 * controller-injected `--model_name`, `--predictor_host`, `--http_port`, `--workers` and `--protocol`
 * work; environment variables cover the seeds' transformer (`MODEL_INPUT_SIZE`, `KERAS_MODEL_NAME`,
 * `MODEL_LABELS`) and gateway (`TF_SERVING_HOST`). Arguments win over environment.
 */
import { defaultClothingLabels, parseLabels } from "./labels";
import { type LogLevel, isLogLevel } from "./log";
import { type Cidr, parseCidr } from "./netPolicy";
import { type InputSize, modeForKerasModel, type PreprocessMode } from "./kerasModels";

/**
 * - `tfserving-grpc`: TF Serving `PredictionService/Predict` over gRPC (the seeds' gateway).
 * - `tfserving-rest`: TF Serving REST `POST /v1/models/{m}:predict` with `signature_name`.
 * - `v1`: KServe v1 REST (the seeds' KFServing transformer; TF Serving predictors speak it too).
 * - `v2`: Open Inference Protocol REST, JSON or (with binary data) the binary tensor extension.
 */
export type PredictorProtocol = "tfserving-grpc" | "tfserving-rest" | "v1" | "v2";

export interface PredictorConfig {
    readonly protocol: PredictorProtocol;
    /** gRPC target (`dns:///host:port`) or REST base URL (`http://host:port`). */
    readonly target: string;
    readonly modelName: string;
    /** TF Serving signature (gRPC and TF REST). */
    readonly signatureName: string;
    /** Model input tensor name (gRPC and v2). */
    readonly inputName: string;
    /** Model output tensor name; undefined takes the only output. */
    readonly outputName: string | undefined;
    /** v2: send the tensor with the binary extension instead of a JSON array. */
    readonly binaryData: boolean;
    /** tfserving-grpc transport: the lean node:http2 channel (default) or @grpc/grpc-js. */
    readonly grpcClient: "http2" | "grpc-js";
    readonly timeoutMs: number;
}

export interface Limits {
    /** Largest request body, bytes (b64 instances included). */
    readonly maxBodyBytes: number;
    /** Largest downloaded image, bytes. */
    readonly maxImageBytes: number;
    /** Largest decoded image, width × height. */
    readonly maxPixels: number;
    readonly downloadTimeoutMs: number;
    readonly maxRedirects: number;
    /** Whole request, milliseconds. */
    readonly requestTimeoutMs: number;
    /** Instances per v1/v2 request. */
    readonly maxInstances: number;
    /** From the end of the headers to the end of the body, milliseconds (then 408). */
    readonly bodyTimeoutMs: number;
    /** From the first byte of a request to the end of its headers, milliseconds (then 408). */
    readonly headersTimeoutMs: number;
    /**
     * Decoded pixels in flight in one process (see MemoryBudget), in units of 3 bytes; an image whose
     * decode alone costs more is refused (413 `image_too_large_to_decode`). Default: what
     * `memoryLimitBytes` leaves a worker (`decodeBudgetFromMemory`), else `maxPixels`.
     */
    readonly decodeBudgetPixels: number;
    /** Requests that may wait for the pixel budget (or the download budget) before the next one gets 503. */
    readonly decodeQueue: number;
    /** Bytes of downloaded images held at once in one process, from their headers until they are decoded; default 4 × `maxImageBytes`. */
    readonly downloadBudgetBytes: number;
    /** Memory of the whole container (all workers), bytes; default its cgroup limit; undefined: none known. */
    readonly memoryLimitBytes?: number;
}

export interface GatewayConfig {
    readonly modelName: string;
    readonly httpPort: number;
    readonly predictor: PredictorConfig;
    readonly inputSize: InputSize;
    readonly kerasModel: string;
    readonly mode: PreprocessMode;
    readonly labels: readonly string[];
    /** True when MODEL_LABELS was not given and the seeds' clothing labels are used. */
    readonly defaultLabels: boolean;
    readonly limits: Limits;
    readonly allowCidrs: readonly Cidr[];
    readonly logLevel: LogLevel;
    /** SIGTERM: how long in-flight requests may take before connections are cut. */
    readonly drainTimeoutMs: number;
    /** Server processes (GATEWAY_WORKERS); 1 serves from the main process. */
    readonly workers: number;
    readonly jpeg: JpegDecoderConfig;
    /**
     * GATEWAY_GC_EVERY: with node's --expose-gc (the image's ENTRYPOINT), a full major GC is run
     * (from a task) every this many requests; 0 never (default 1024, see server.ts).
     */
    readonly gcEvery: number;
}

/** The soname Debian's libturbojpeg0 (the gateway image's) installs; the dynamic linker finds it. */
export const defaultTurboJpegLibrary = "libturbojpeg.so.0";

/**
 * GATEWAY_JPEG_DECODER: `auto` (default) decodes JPEGs with TurboJPEG when its library loads, else
 * with sharp (and says so at startup); `libjpeg-turbo` requires it (startup fails without it);
 * `sharp` never uses it. GATEWAY_TURBOJPEG_LIBRARY: where TurboJPEG is, a path or a soname
 * (default `defaultTurboJpegLibrary`, Debian's libturbojpeg0 in the gateway image).
 */
export interface JpegDecoderConfig {
    readonly decoder: "auto" | "libjpeg-turbo" | "sharp";
    readonly library: string;
}

/** Our own flags → env fallback. */
const flags = {
    model_name: "MODEL_NAME",
    predictor_host: "PREDICTOR_HOST",
    http_port: "HTTP_PORT",
    protocol: "PROTOCOL",
    predictor_use_ssl: "PREDICTOR_USE_SSL",
    predictor_request_timeout_seconds: "PREDICTOR_TIMEOUT_SECONDS",
    input_size: "MODEL_INPUT_SIZE",
    keras_model: "KERAS_MODEL_NAME",
    labels: "MODEL_LABELS",
    input_name: "MODEL_INPUT_NAME",
    output_name: "MODEL_OUTPUT_NAME",
    signature_name: "MODEL_SIGNATURE_NAME",
    binary_data: "V2_BINARY_DATA",
    grpc_client: "GRPC_CLIENT",
    allow_cidrs: "GATEWAY_ALLOWED_CIDRS",
    max_body_bytes: "GATEWAY_MAX_BODY_BYTES",
    max_image_bytes: "GATEWAY_MAX_IMAGE_BYTES",
    max_pixels: "GATEWAY_MAX_PIXELS",
    download_timeout_seconds: "GATEWAY_DOWNLOAD_TIMEOUT_SECONDS",
    request_timeout_seconds: "GATEWAY_REQUEST_TIMEOUT_SECONDS",
    max_redirects: "GATEWAY_MAX_REDIRECTS",
    max_instances: "GATEWAY_MAX_INSTANCES",
    log_level: "LOG_LEVEL",
    drain_timeout_seconds: "GATEWAY_DRAIN_TIMEOUT_SECONDS",
    body_timeout_seconds: "GATEWAY_BODY_TIMEOUT_SECONDS",
    headers_timeout_seconds: "GATEWAY_HEADERS_TIMEOUT_SECONDS",
    decode_budget_pixels: "GATEWAY_DECODE_BUDGET_PIXELS",
    decode_queue: "GATEWAY_DECODE_QUEUE",
    download_budget_bytes: "GATEWAY_DOWNLOAD_BUDGET_BYTES",
    memory_limit_bytes: "GATEWAY_MEMORY_LIMIT_BYTES",
    gateway_workers: "GATEWAY_WORKERS",
    jpeg_decoder: "GATEWAY_JPEG_DECODER",
    turbojpeg_library: "GATEWAY_TURBOJPEG_LIBRARY",
    gc_every: "GATEWAY_GC_EVERY",
} as const;
type Flag = keyof typeof flags;

/**
 * KServe model-server flags that mean nothing to a single-process Node server; accepted so the
 * controller's injected arguments never stop the container, and reported in `ignored`.
 */
const ignoredKServeFlags = new Set(["workers", "grpc_port", "enable_grpc", "max_threads", "max_asyncio_workers", "enable_docs_url", "enable_latency_logging", "configure_logging", "log_config_file", "access_log_format", "predictor_protocol"]);

/**
 * Default worker count: the container's CPU limit (cgroup v2 `cpu.max`, else cgroup v1 CFS quota),
 * rounded up, else the CPUs Node may use; at most 16. `cpuLimit` is read by `containerCpuLimit`.
 */
export function defaultWorkers(cpuLimit: number | undefined, cpus: number): number {
    const n = cpuLimit !== undefined && cpuLimit > 0 ? Math.ceil(cpuLimit - 1e-9) : cpus;
    return Math.max(1, Math.min(16, n));
}

const MiB = 1024 * 1024;
/**
 * What one worker holds before any request is counted, with sharp loaded and after its first
 * requests: measured 82 MB RSS started as the image starts it (`npm run bench:gateway-memory`,
 * idle), 93-106 MB under tsx's loader; 112 MiB covers both with room to spare.
 */
export const idleWorkerBytes = 112 * MiB;
/** The `node:cluster` primary with 2 workers or more (it loads neither sharp nor gRPC): measured 52 MB RSS. */
export const clusterPrimaryBytes = 56 * MiB;

/**
 * What one decode needs besides the pixels the budget counts: libvips' and libjpeg's own buffers
 * (measured about 30 MB for a 40-MP JPEG strip decode, with the image's MALLOC_ARENA_MAX=2). One
 * per decode slot (`decodeSlotsFrom`), since that many decodes run at once.
 */
export const decodeSlotWorkingBytes = 32 * MiB;

/**
 * How many decodes run at once in a worker: GATEWAY_DECODE_CONCURRENCY (an integer from 1 to 64),
 * else the CPUs node may use, at most 4 (preprocess.ts says why). Throws on a bad value.
 */
export function decodeSlotsFrom(raw: string | undefined, cpus: number): number {
    if (raw !== undefined && raw.trim() !== "") {
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`GATEWAY_DECODE_CONCURRENCY must be an integer from 1 to 64, not '${raw}'`);
        return n;
    }
    return Math.max(1, Math.min(4, cpus));
}

/**
 * The pixel budget (units of 3 bytes) a memory limit leaves each worker: the limit less the
 * primary (with more than one worker), shared by the workers, less an idle worker, its download
 * budget and the working memory of its decode slots. A budget that stays within it keeps the
 * container inside its limit by design: every decode's pixels are counted (decodeCost,
 * jpegStripCost, pngNearestCost), its other memory is reserved per slot, and an image that does not
 * fit is refused rather than decoded.
 */
export function decodeBudgetFromMemory(memoryLimitBytes: number, workers: number, downloadBudgetBytes: number, decodeSlots: number): number {
    const perWorker = (memoryLimitBytes - (workers > 1 ? clusterPrimaryBytes : 0)) / workers;
    return Math.floor((perWorker - idleWorkerBytes - downloadBudgetBytes - decodeSlots * decodeSlotWorkingBytes) / 3);
}

/**
 * The smallest pixel budget the memory limit may leave: room for one 2-MiP strip of a large JPEG
 * (jpegStrips.ts) and a 299×299 output, so every format the gateway decodes in pieces still fits.
 */
export const minDerivedDecodeBudgetPixels = 4 * 1024 * 1024;

export interface ParsedConfig {
    readonly config: GatewayConfig;
    /** Accepted but unused KServe arguments (logged at startup). */
    readonly ignored: readonly string[];
}

function splitArgs(argv: readonly string[], problems: string[]): { values: Partial<Record<Flag, string>>; ignored: string[] } {
    const values: Partial<Record<Flag, string>> = {};
    const ignored: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (!arg.startsWith("--")) {
            problems.push(`unexpected argument '${arg}'`);
            continue;
        }
        const eq = arg.indexOf("=");
        const name = (eq >= 0 ? arg.slice(2, eq) : arg.slice(2)).replace(/-/g, "_");
        let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
        if (value === undefined) {
            const next = argv[i + 1];
            // Boolean-looking flags may stand alone (`--enable_grpc`).
            if (next !== undefined && !next.startsWith("--")) {
                value = next;
                i++;
            } else value = "true";
        }
        if (name in flags) values[name as Flag] = value;
        else if (ignoredKServeFlags.has(name)) ignored.push(`--${name}=${value}`);
        else problems.push(`unknown argument '--${name}'`);
    }
    return { values, ignored };
}

function parseBool(name: string, text: string, problems: string[]): boolean {
    const t = text.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(t)) return true;
    if (["0", "false", "no", "off", ""].includes(t)) return false;
    problems.push(`${name}: '${text}' is not a boolean (true/false)`);
    return false;
}

function parseNumber(name: string, text: string, min: number, max: number, problems: string[], integer = true): number {
    const n = Number(text.trim());
    if (text.trim() === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
        problems.push(`${name}: '${text}' is not ${integer ? "an integer" : "a number"} in [${min}, ${max}]`);
        return min;
    }
    return n;
}

/** `299,299` / `299x299` (height, width as Keras target_size) or `299`. */
export function parseInputSize(text: string): InputSize {
    const parts = text.trim().split(/\s*[,x×]\s*/i);
    const nums = parts.map((p) => Number(p));
    if ((parts.length !== 1 && parts.length !== 2) || nums.some((n) => !Number.isInteger(n) || n < 1 || n > 4096)) {
        throw new Error(`MODEL_INPUT_SIZE '${text}' is not 'height,width' (e.g. "299,299") with sides in [1, 4096]`);
    }
    return { height: nums[0], width: nums[1] ?? nums[0] };
}

/** Normalises a predictor host into a gRPC target or an http(s) base URL. */
export function predictorTarget(protocol: PredictorProtocol, host: string, useSsl: boolean): string {
    const h = host.trim().replace(/\/+$/, "");
    if (h === "" || /\s/.test(h)) throw new Error(`predictor host '${host}' is empty or has spaces`);
    if (protocol === "tfserving-grpc") {
        // Already a gRPC target: dns:///host:port, ipv4:a:p,b:p, ipv6:[…]:p, unix:/path.
        if (/^(dns|ipv4|ipv6|unix|unix-abstract):/i.test(h)) return h;
        const bare = h.replace(/^https?:\/\//, "");
        return `dns:///${/:\d+$/.test(bare) ? bare : `${bare}:8500`}`;
    }
    const withScheme = /^https?:\/\//.test(h) ? h : `${useSsl ? "https" : "http"}://${h}`;
    let url: URL;
    try {
        url = new URL(withScheme);
    } catch {
        throw new Error(`predictor host '${host}' is not a host name, host:port or URL`);
    }
    if (!url.port && protocol === "tfserving-rest") url.port = "8501";
    return url.origin;
}

const protocols: Record<string, PredictorProtocol> = {
    "tfserving-grpc": "tfserving-grpc",
    grpc: "tfserving-grpc",
    "tfserving-rest": "tfserving-rest",
    v1: "v1",
    v2: "v2",
};

/** Builds the configuration or throws one Error listing every problem. */
export function parseConfig(
    argv: readonly string[],
    env: Readonly<Record<string, string | undefined>>,
    machine: { cpuLimit?: number; memoryLimit?: number; cpus: number } = { cpus: 1 },
): ParsedConfig {
    const problems: string[] = [];
    const { values, ignored } = splitArgs(argv, problems);
    const get = (flag: Flag): string | undefined => values[flag] ?? env[flags[flag]];
    const num = (flag: Flag, def: number, min: number, max: number, integer = true) => {
        const v = get(flag);
        return v === undefined ? def : parseNumber(`--${flag}/${flags[flag]}`, v, min, max, problems, integer);
    };

    const modelName = get("model_name") ?? "clothing-model";
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(modelName)) problems.push(`model name '${modelName}' must be letters, digits, '.', '_' or '-'`);
    const httpPort = num("http_port", 8080, 0, 65535); // 0: any free port (tests)

    // Protocol: explicit, else TF_SERVING_HOST (the seeds' gateway) means gRPC, else KServe v1.
    const protoText = get("protocol");
    let protocol: PredictorProtocol = env.TF_SERVING_HOST && !get("predictor_host") ? "tfserving-grpc" : "v1";
    if (protoText !== undefined) {
        const p = protocols[protoText.trim().toLowerCase()];
        if (!p) problems.push(`protocol '${protoText}' is not one of ${Object.keys(protocols).join(", ")}` + (protoText === "grpc-v2" ? " (the Open Inference Protocol over gRPC is not implemented; use v2 REST)" : ""));
        else protocol = p;
    }
    const host = get("predictor_host") ?? env.TF_SERVING_HOST;
    const useSsl = parseBool("--predictor_use_ssl", get("predictor_use_ssl") ?? "false", problems);
    let target = "";
    if (host === undefined) problems.push("no predictor: pass --predictor_host (KServe injects it) or set TF_SERVING_HOST");
    else {
        try {
            target = predictorTarget(protocol, host, useSsl);
        } catch (err) {
            problems.push((err as Error).message);
        }
    }

    let inputSize: InputSize = { height: 299, width: 299 };
    const sizeText = get("input_size");
    if (sizeText !== undefined) {
        try {
            inputSize = parseInputSize(sizeText);
        } catch (err) {
            problems.push((err as Error).message);
        }
    }
    const kerasModel = (get("keras_model") ?? "xception").trim().toLowerCase();
    let mode: PreprocessMode = "tf";
    try {
        mode = modeForKerasModel(kerasModel);
    } catch (err) {
        problems.push(`KERAS_MODEL_NAME: ${(err as Error).message}`);
    }
    const labelsText = get("labels");
    let labels: readonly string[] = defaultClothingLabels;
    if (labelsText !== undefined) {
        try {
            labels = parseLabels(labelsText);
        } catch (err) {
            problems.push((err as Error).message);
        }
    }

    const allowCidrs: Cidr[] = [];
    for (const c of (get("allow_cidrs") ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")) {
        try {
            allowCidrs.push(parseCidr(c));
        } catch (err) {
            problems.push(`GATEWAY_ALLOWED_CIDRS: ${(err as Error).message}`);
        }
    }

    const logLevelText = (get("log_level") ?? "info").trim().toLowerCase();
    if (!isLogLevel(logLevelText)) problems.push(`LOG_LEVEL '${logLevelText}' is not debug, info, warn or error`);

    const predictorTimeoutS = num("predictor_request_timeout_seconds", 20, 0.1, 600, false);
    const limits: { -readonly [K in keyof Limits]: Limits[K] } = {
        maxBodyBytes: num("max_body_bytes", 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
        maxImageBytes: num("max_image_bytes", 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
        maxPixels: num("max_pixels", 40_000_000, 1, 1_000_000_000),
        downloadTimeoutMs: num("download_timeout_seconds", 10, 0.1, 600, false) * 1000,
        maxRedirects: num("max_redirects", 3, 0, 20),
        requestTimeoutMs: num("request_timeout_seconds", 30, 0.1, 3600, false) * 1000,
        maxInstances: num("max_instances", 16, 1, 1024),
        bodyTimeoutMs: num("body_timeout_seconds", 30, 0.1, 3600, false) * 1000,
        headersTimeoutMs: num("headers_timeout_seconds", 20, 0.1, 3600, false) * 1000,
        decodeBudgetPixels: 0,
        decodeQueue: num("decode_queue", 64, 0, 100_000),
        downloadBudgetBytes: 0,
    };
    limits.downloadBudgetBytes = num("download_budget_bytes", 4 * limits.maxImageBytes, 1024, 64 * 1024 * 1024 * 1024);
    const workers = num("gateway_workers", defaultWorkers(machine.cpuLimit, machine.cpus), 1, 64);
    let decodeSlots = 1;
    try {
        decodeSlots = decodeSlotsFrom(env.GATEWAY_DECODE_CONCURRENCY, machine.cpus);
    } catch (err) {
        problems.push((err as Error).message);
    }
    const memoryLimitText = get("memory_limit_bytes");
    const problemsBeforeMemory = problems.length;
    limits.memoryLimitBytes = memoryLimitText === undefined ? machine.memoryLimit : parseNumber("--memory_limit_bytes/GATEWAY_MEMORY_LIMIT_BYTES", memoryLimitText, 16 * MiB, 2 ** 50, problems, true);
    if (get("decode_budget_pixels") !== undefined) limits.decodeBudgetPixels = num("decode_budget_pixels", limits.maxPixels, 1, 10_000_000_000);
    else if (limits.memoryLimitBytes === undefined || problems.length > problemsBeforeMemory) limits.decodeBudgetPixels = limits.maxPixels;
    else {
        limits.decodeBudgetPixels = decodeBudgetFromMemory(limits.memoryLimitBytes, workers, limits.downloadBudgetBytes, decodeSlots);
        if (limits.decodeBudgetPixels < minDerivedDecodeBudgetPixels) {
            const mib = (bytes: number) => `${Math.round(bytes / MiB)} MiB`;
            problems.push(
                `memory limit ${mib(limits.memoryLimitBytes)} (GATEWAY_MEMORY_LIMIT_BYTES, else the container's) leaves ${workers} worker(s) ` +
                    `${mib(Math.max(0, limits.decodeBudgetPixels * 3))} each for decoded pixels after an idle worker (${mib(idleWorkerBytes)}), its download budget ` +
                    `(${mib(limits.downloadBudgetBytes)}) and ${decodeSlots} decode slot(s) (${mib(decodeSlotWorkingBytes)} each); at least ${mib(minDerivedDecodeBudgetPixels * 3)} is needed: ` +
                    `give the container more memory, or lower GATEWAY_WORKERS, GATEWAY_DECODE_CONCURRENCY or GATEWAY_DOWNLOAD_BUDGET_BYTES, or set GATEWAY_DECODE_BUDGET_PIXELS yourself`,
            );
        }
    }
    const drainTimeoutMs = num("drain_timeout_seconds", 25, 0, 3600, false) * 1000;
    const binaryData = parseBool("--binary_data/V2_BINARY_DATA", get("binary_data") ?? "false", problems);
    const outputName = get("output_name");
    const grpcClient = (get("grpc_client") ?? "http2").trim();
    if (grpcClient !== "http2" && grpcClient !== "grpc-js") problems.push(`--grpc_client/GRPC_CLIENT '${grpcClient}' is not http2 or grpc-js`);
    const gcEvery = num("gc_every", 1024, 0, 1_000_000);
    const jpegDecoder = (get("jpeg_decoder") ?? "auto").trim();
    if (jpegDecoder !== "auto" && jpegDecoder !== "libjpeg-turbo" && jpegDecoder !== "sharp") problems.push(`--jpeg_decoder/GATEWAY_JPEG_DECODER '${jpegDecoder}' is not auto, libjpeg-turbo or sharp`);
    const turboJpegLibrary = (get("turbojpeg_library") ?? defaultTurboJpegLibrary).trim();
    if (turboJpegLibrary === "") problems.push(`--turbojpeg_library/GATEWAY_TURBOJPEG_LIBRARY is empty (unset it for ${defaultTurboJpegLibrary})`);

    if (problems.length > 0) throw new Error(`invalid gateway configuration:\n  - ${problems.join("\n  - ")}`);
    return {
        ignored,
        config: {
            modelName,
            httpPort,
            predictor: {
                protocol,
                target,
                modelName,
                signatureName: get("signature_name") ?? "serving_default",
                // The seeds' model: `input_8` → `dense_7` (saved_model_cli output in seed 003).
                inputName: get("input_name") ?? "input_8",
                outputName: outputName === undefined || outputName.trim() === "" ? undefined : outputName.trim(),
                binaryData,
                grpcClient: grpcClient as "http2" | "grpc-js",
                timeoutMs: predictorTimeoutS * 1000,
            },
            inputSize,
            kerasModel,
            mode,
            labels,
            defaultLabels: labelsText === undefined,
            limits,
            allowCidrs,
            logLevel: logLevelText as LogLevel,
            drainTimeoutMs,
            workers,
            jpeg: { decoder: jpegDecoder as JpegDecoderConfig["decoder"], library: turboJpegLibrary },
            gcEvery,
        },
    };
}
