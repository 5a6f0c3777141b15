/**
 * The gateway's HTTP server (node:http): the seeds' `POST /predict {"url"}` API, KServe transformer
 * endpoints (v1 `:predict`, v2 `/infer` with BYTES inputs), health/readiness, `/metrics`, and a
 * graceful shutdown that drains in-flight requests.
 *
 * Readiness reports the gateway's own state, not the predictor's: with Knative scale-to-zero the
 * predictor wakes only when requests arrive, so a transformer that waited for it would never
 * become ready. Predictor reachability is a metric-free `probe` the operator can check via logs.
 */
import * as http from "node:http";
import { randomUUID } from "node:crypto";
import type { GatewayConfig } from "./config";
import { createDownloadBudget, downloadImage, type Resolver } from "./download";
import { badRequest, GatewayError, gatewayTimeout, requestTimeout, toGatewayError, tooLarge, unsupportedMedia } from "./errors";
import { type ImageInfo, probeImage } from "./imageInfo";
import { attachLabels } from "./labels";
import { type Logger, silentLogger } from "./log";
import { createMetrics, type GatewayMetrics } from "./metrics";
import type { AddressPolicy } from "./netPolicy";
import { createPredictor, type Predictor } from "./predictors";
import { asLibjpegHoldsIt, decodeJpegInStrips, jpegStripCost, jpegStripRows } from "./jpegStrips";
import { decodePngNearest, pngNearestCost, pngNearestLayout } from "./pngNearest";
import { MemoryBudget } from "./memoryBudget";
import { decodeCost, decodeImage, releaseNow, releasePixels, resizeNormalizeInto } from "./preprocess";
import type { JpegDecoder } from "./turboJpeg";

export interface GatewayOptions {
    readonly config: GatewayConfig;
    /**
     * Address policy for image downloads; default refuses loopback and private ranges and allows
     * `config.allowCidrs`. Tests pass `{ allowLoopbackForTests: true }`.
     */
    readonly policy?: AddressPolicy;
    readonly logger?: Logger;
    /** DNS resolver for image hosts (tests). */
    readonly resolve?: Resolver;
    /** Predictor client; default built from `config.predictor`. */
    readonly predictor?: Predictor;
    readonly metrics?: GatewayMetrics;
    /** `/metrics` text; default this gateway's registry (workers pass the cluster-wide sum). */
    readonly metricsText?: () => Promise<string>;
    /** Decoded-pixel budget; default one of `config.limits.decodeBudgetPixels` for this gateway. */
    readonly pixelBudget?: MemoryBudget;
    /** Budget of downloaded bytes held; default one of `config.limits.downloadBudgetBytes` for this gateway. */
    readonly downloadBudget?: MemoryBudget;
    /** TurboJPEG for JPEGs up to a Full HD frame (main.ts loads it per `config.jpeg`); default none: sharp decodes everything. */
    readonly jpegDecoder?: JpegDecoder;
}

export interface Gateway {
    readonly server: http.Server;
    readonly metrics: GatewayMetrics;
    readonly predictor: Predictor;
    /** Starts listening; resolves with the bound port. */
    listen(port?: number, host?: string): Promise<number>;
    /** Stops accepting, waits for in-flight requests (up to the drain timeout), closes clients. */
    shutdown(): Promise<void>;
    readonly inFlight: number;
    readonly pixelBudget: MemoryBudget;
}

type ImageSource = { readonly url: string } | { readonly bytes: Buffer };

class Json {
    constructor(
        readonly status: number,
        readonly body: unknown,
    ) {}
}

const base64Pattern = /^[A-Za-z0-9+/_-]*={0,2}$/;

function decodeB64(text: unknown, where: string): Buffer {
    if (typeof text !== "string") throw badRequest("invalid_instance", `${where}: b64 must be a string`);
    const compact = text.replace(/\s+/g, "");
    if (compact.length === 0 || !base64Pattern.test(compact)) throw badRequest("invalid_base64", `${where}: b64 is not base64`);
    const bytes = Buffer.from(compact, compact.includes("-") || compact.includes("_") ? "base64url" : "base64");
    if (bytes.length === 0) throw badRequest("invalid_base64", `${where}: b64 decodes to nothing`);
    return bytes;
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function routeOf(method: string, path: string, model: string): { route: string; handler?: string; modelMatch?: boolean } {
    if (path === "/predict") return { route: "/predict", handler: method === "POST" ? "predict" : undefined };
    if (path === "/metrics") return { route: "/metrics", handler: method === "GET" ? "metrics" : undefined };
    if (path === "/v2/health/live" || path === "/healthz") return { route: path, handler: method === "GET" ? "live" : undefined };
    if (path === "/v2/health/ready" || path === "/readyz") return { route: path, handler: method === "GET" ? "ready" : undefined };
    if (path === "/" || path === "/v2") return { route: path, handler: method === "GET" ? (path === "/" ? "live" : "serverMeta") : undefined };
    let m = /^\/v1\/models\/([^/:]+)(:predict)?$/.exec(path);
    if (m) {
        const name = safeDecode(m[1]);
        const verb = m[2] ? "v1predict" : "v1status";
        const wantMethod = m[2] ? "POST" : "GET";
        return { route: m[2] ? "/v1/models/:name:predict" : "/v1/models/:name", handler: method === wantMethod ? verb : undefined, modelMatch: name === model };
    }
    m = /^\/v2\/models\/([^/]+)(\/infer|\/ready)?$/.exec(path);
    if (m) {
        const name = safeDecode(m[1]);
        const suffix = m[2] ?? "";
        const table: Record<string, [string, string]> = { "/infer": ["POST", "v2infer"], "/ready": ["GET", "v2ready"], "": ["GET", "v2meta"] };
        const [wantMethod, verb] = table[suffix];
        return { route: `/v2/models/:name${suffix}`, handler: method === wantMethod ? verb : undefined, modelMatch: name === model };
    }
    return { route: "other" };
}

function safeDecode(s: string): string {
    try {
        return decodeURIComponent(s);
    } catch {
        return s;
    }
}

/**
 * The big per-request buffers (downloaded bytes, decoded pixels) are freed or pooled as soon as
 * they are used (`releaseNow`, PixelBufferPool), so they no longer pile up as external memory until
 * a major GC. What is left is ordinary V8 heap growth between collections. With --expose-gc (the
 * image's ENTRYPOINT passes it) a major GC runs every `config.gcEvery` requests: V8 runs the
 * `execution: "async"` one from a task, after the request, but as one full, non-incremental
 * collection (a 12.5 ms pause with `--trace-gc` under the bench's 640×480 load, once per 1024
 * requests, so beyond the p99).
 * Measured with `npm run bench:gateway` (2 cores, TurboJPEG decoding, TS/PY ratios at c=16, two
 * 4-round runs each): every 128 requests cost CPU/req 0.92 and 0.81, p99 1.38 and 1.14, peak PSS
 * 1.28 and 1.25; every 1024: CPU/req 0.82 and 0.77, p99 0.99 and 1.08, PSS 1.43 (about 20 MB more
 * over three processes); never: 0.77, 1.12, 1.57. Hence the default, 1024.
 */
function periodicCollector(every: number): () => void {
    let requestsSinceGc = 0;
    return () => {
        const gc = (globalThis as { gc?: (o: { type: "major"; execution: "async" }) => void }).gc;
        if (!gc || every <= 0) return;
        if (++requestsSinceGc < every) return;
        requestsSinceGc = 0;
        gc({ type: "major", execution: "async" });
    };
}

/** 413 for an image whose decode alone costs more than the whole pixel budget (`cost` and `budget` in units of 3 bytes). */
function tooLargeToDecode(info: ImageInfo, cost: number, budget: number): GatewayError {
    const mib = (units: number) => `${((units * 3) / (1024 * 1024)).toFixed(1)} MiB`;
    const what = info.coefficientBytes ? `${info.width}x${info.height} progressive or multi-scan JPEG (libjpeg holds all its coefficients)` : `${info.width}x${info.height} ${info.format.toUpperCase()}`;
    return tooLarge(
        "image_too_large_to_decode",
        `decoding this ${what} takes about ${mib(cost)}, more than this gateway's decode budget of ${mib(budget)} ` +
            `(GATEWAY_DECODE_BUDGET_PIXELS; by default what the memory limit leaves a worker): send a smaller image, or give the gateway more memory`,
    );
}

export function createGateway(options: GatewayOptions): Gateway {
    const { config } = options;
    const logger = options.logger ?? silentLogger;
    const metrics = options.metrics ?? createMetrics();
    const maybeCollect = periodicCollector(config.gcEvery);
    const predictor = options.predictor ?? createPredictor(config.predictor);
    const policy: AddressPolicy = options.policy ?? { allowCidrs: config.allowCidrs };
    const { height, width } = config.inputSize;
    const perImage = height * width * 3;
    let draining = false;
    let listening = false;
    let inFlight = 0;
    const idleWaiters: (() => void)[] = [];
    const pixelBudget = options.pixelBudget ?? new MemoryBudget(config.limits.decodeBudgetPixels, config.limits.decodeQueue);
    const downloadBudget = options.downloadBudget ?? createDownloadBudget(config.limits.downloadBudgetBytes, config.limits.decodeQueue);
    const bodyTimeoutText = `${config.limits.bodyTimeoutMs / 1000} s`;

    /**
     * Reads the whole body within the body timeout (from the end of the headers): a body that
     * trickles or never ends is answered 408 when the time is up, as is one still incomplete when
     * the request deadline passes.
     */
    const readBody = (req: http.IncomingMessage, signal: AbortSignal): Promise<Buffer> =>
        new Promise<Buffer>((resolve, reject) => {
            const declared = Number(req.headers["content-length"]);
            if (Number.isFinite(declared) && declared > config.limits.maxBodyBytes) {
                return reject(tooLarge("body_too_large", `request body is ${declared} bytes, the limit is ${config.limits.maxBodyBytes}`));
            }
            const chunks: Buffer[] = [];
            let size = 0;
            let settled = false;
            const settle = (err: GatewayError | undefined, body?: Buffer) => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                signal.removeEventListener("abort", onAbort);
                if (err) reject(err);
                else resolve(body!);
            };
            const timedOut = () => requestTimeout("body_timeout", `the request body was not received within ${bodyTimeoutText}`);
            const timer = setTimeout(() => settle(timedOut()), config.limits.bodyTimeoutMs);
            const onAbort = () => settle(timedOut());
            signal.addEventListener("abort", onAbort, { once: true });
            req.on("data", (c: Buffer) => {
                if (settled) return;
                size += c.length;
                if (size > config.limits.maxBodyBytes) {
                    settle(tooLarge("body_too_large", `request body is larger than the limit of ${config.limits.maxBodyBytes} bytes`));
                    return;
                }
                chunks.push(c);
            });
            req.on("end", () => settle(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
            req.on("error", (err) => settle(badRequest("body_read_failed", `could not read the request body (${(err as NodeJS.ErrnoException).code ?? "error"})`)));
        });

    const parseJsonBody = async (req: http.IncomingMessage, signal: AbortSignal): Promise<unknown> => {
        const type = (req.headers["content-type"] ?? "application/json").split(";")[0].trim().toLowerCase();
        if (type !== "application/json" && !type.endsWith("+json") && type !== "text/plain" && type !== "") {
            throw unsupportedMedia("unsupported_request_type", `request content type must be application/json, not ${type}`);
        }
        const body = await readBody(req, signal);
        try {
            return JSON.parse(body.toString("utf8"));
        } catch {
            throw badRequest("invalid_json", "request body is not valid JSON");
        }
    };

    /**
     * Downloads one image (its bytes hold a share of the download budget until they are freed), waits
     * for its share of the pixel budget, decodes it and resizes it into `into(raw)`'s tensor; the
     * decoded pixels are freed and both budgets given back right after.
     */
    const prepareImage = async (source: ImageSource, signal: AbortSignal, into: () => { tensor: Float32Array; offset: number }): Promise<void> => {
        let bytes: Buffer;
        let releaseDownload = (): void => undefined;
        if ("url" in source) {
            const t0 = performance.now();
            try {
                const downloaded = await downloadImage(source.url, { policy, limits: { maxBytes: config.limits.maxImageBytes, timeoutMs: config.limits.downloadTimeoutMs, maxRedirects: config.limits.maxRedirects }, signal, resolve: options.resolve, budget: downloadBudget });
                bytes = downloaded.bytes;
                releaseDownload = downloaded.release;
                metrics.downloadDuration.observe({ outcome: "ok" }, (performance.now() - t0) / 1000);
            } catch (err) {
                metrics.downloadDuration.observe({ outcome: "error" }, (performance.now() - t0) / 1000);
                throw err;
            }
        } else bytes = source.bytes;
        try {
            await decodeInto(bytes, releaseDownload, signal, into);
        } finally {
            releaseDownload();
        }
    };

    /** `prepareImage` past the download: `releaseDownload` is called as soon as the bytes are freed. */
    const decodeInto = async (bytes: Buffer, releaseDownload: () => void, signal: AbortSignal, into: () => { tensor: Float32Array; offset: number }): Promise<void> => {
        signal.throwIfAborted();
        const info = probeImage(bytes);
        if (info.width * info.height > config.limits.maxPixels) {
            throw tooLarge("too_many_pixels", `image has ${info.width}x${info.height} pixels, more than the limit of ${config.limits.maxPixels}`);
        }
        // An 8-bit PNG is decoded row by row, a large sequential JPEG strip by strip, each to only
        // the pixels the resize keeps (pngNearest.ts, jpegStrips.ts).
        const pngLayout = info.format === "png" ? pngNearestLayout(bytes) : undefined;
        const held = asLibjpegHoldsIt(info, bytes);
        const stripRows = jpegStripRows(held);
        const cost = pngLayout ? pngNearestCost(pngLayout, config.inputSize) : stripRows ? jpegStripCost(held, stripRows, config.inputSize) : decodeCost(held);
        // Decoded alone it would still break the memory the budget stands for (the container's limit,
        // by default): refused instead of risking the process and every request in it.
        if (cost > pixelBudget.capacity) throw tooLargeToDecode(held, cost, pixelBudget.capacity);
        const giveBack = await pixelBudget.acquire(cost, signal);
        try {
            const t1 = performance.now();
            const limits = { maxPixels: config.limits.maxPixels, jpeg: options.jpegDecoder };
            let raw;
            try {
                raw = pngLayout
                    ? await decodePngNearest(bytes, pngLayout, config.inputSize, signal)
                    : stripRows
                      ? await decodeJpegInStrips(bytes, info, stripRows, config.inputSize, limits, signal)
                      : await decodeImage(bytes, limits, info);
            } finally {
                // The decoder is done with the encoded bytes once the decode settles.
                releaseNow(bytes);
                releaseDownload();
            }
            try {
                signal.throwIfAborted();
                const { tensor, offset } = into();
                resizeNormalizeInto(raw, config.inputSize, config.mode, tensor, offset);
            } finally {
                releasePixels(raw);
            }
            metrics.preprocessDuration.observe((performance.now() - t1) / 1000);
        } finally {
            giveBack();
        }
    };

    /** Downloads/decodes every image into one batch tensor, calls the predictor, attaches labels. */
    const classify = async (sources: readonly ImageSource[], signal: AbortSignal): Promise<Record<string, number>[]> => {
        // The (pooled) request buffer is taken only once pixels are ready to be written, not while
        // a request waits for a download or the pixel budget. A batch resizes each image into its
        // own tensor first, so no image holds the budget while waiting for the others.
        let prepared: ReturnType<Predictor["prepare"]>;
        if (sources.length === 1) {
            await prepareImage(sources[0], signal, () => {
                prepared = predictor.prepare([1, height, width, 3]);
                return { tensor: prepared.tensor, offset: 0 };
            });
        } else {
            const parts = await Promise.all(
                sources.map(async (source) => {
                    const part = new Float32Array(perImage);
                    await prepareImage(source, signal, () => ({ tensor: part, offset: 0 }));
                    return part;
                }),
            );
            signal.throwIfAborted();
            prepared = predictor.prepare([sources.length, height, width, 3]);
            parts.forEach((part, i) => prepared.tensor.set(part, i * perImage));
        }
        signal.throwIfAborted();
        const t2 = performance.now();
        let rows: number[][];
        try {
            rows = await prepared!.send(signal);
            metrics.predictorDuration.observe({ protocol: predictor.protocol, outcome: "ok" }, (performance.now() - t2) / 1000);
        } catch (err) {
            metrics.predictorDuration.observe({ protocol: predictor.protocol, outcome: "error" }, (performance.now() - t2) / 1000);
            throw err;
        }
        try {
            return rows.map((r) => attachLabels(config.labels, r));
        } catch (err) {
            throw new GatewayError(502, "label_mismatch", (err as Error).message);
        }
    };

    const sourceFromInstance = (inst: unknown, i: number): ImageSource => {
        const where = `instances[${i}]`;
        if (typeof inst === "string") return sourceFromString(inst, where);
        if (!isObject(inst)) throw badRequest("invalid_instance", `${where} must be {"url": ...} or {"b64": ...}`);
        if ("url" in inst) {
            if (typeof inst.url !== "string") throw badRequest("invalid_url", `${where}.url must be a string`);
            return { url: inst.url };
        }
        if ("b64" in inst) return { bytes: decodeB64(inst.b64, where) };
        if (isObject(inst.image_bytes) && "b64" in inst.image_bytes) return { bytes: decodeB64(inst.image_bytes.b64, `${where}.image_bytes`) };
        throw badRequest("invalid_instance", `${where} must be {"url": ...} or {"b64": ...}`);
    };

    const sourceFromString = (s: string, where: string): ImageSource => {
        if (/^[a-z][a-z0-9+.-]*:/i.test(s.slice(0, 32))) return { url: s };
        return { bytes: decodeB64(s, where) };
    };

    const checkCount = (n: number, what: string) => {
        if (n === 0) throw badRequest("no_instances", `${what} is empty`);
        if (n > config.limits.maxInstances) throw tooLarge("too_many_instances", `${what} has ${n} items, the limit is ${config.limits.maxInstances}`);
    };

    const handlers: Record<string, (req: http.IncomingMessage, signal: AbortSignal) => Promise<Json>> = {
        async predict(req, signal) {
            const body = await parseJsonBody(req, signal);
            if (!isObject(body) || !("url" in body)) throw badRequest("invalid_request", 'body must be {"url": "http(s)://..."}');
            if (typeof body.url !== "string") throw badRequest("invalid_url", "url must be a string");
            const [result] = await classify([{ url: body.url }], signal);
            return new Json(200, result);
        },
        async v1predict(req, signal) {
            const body = await parseJsonBody(req, signal);
            if (!isObject(body) || !Array.isArray(body.instances)) throw badRequest("invalid_request", 'body must be {"instances": [{"url": ...} | {"b64": ...}]}');
            checkCount(body.instances.length, "instances");
            const sources = body.instances.map(sourceFromInstance);
            return new Json(200, { predictions: await classify(sources, signal) });
        },
        async v2infer(req, signal) {
            const body = await parseJsonBody(req, signal);
            if (!isObject(body) || !Array.isArray(body.inputs) || body.inputs.length !== 1 || !isObject(body.inputs[0])) {
                throw badRequest("invalid_request", 'body must be {"inputs": [{"name": ..., "datatype": "BYTES", "shape": [N], "data": [url-or-base64, ...]}]}');
            }
            const input = body.inputs[0];
            if (input.datatype !== "BYTES") throw badRequest("invalid_datatype", `input datatype must be BYTES, not ${String(input.datatype)}`);
            if (!Array.isArray(input.data)) throw badRequest("invalid_request", "input data must be an array");
            const data = (input.data as unknown[]).flat(2);
            checkCount(data.length, "input data");
            if (Array.isArray(input.shape) && input.shape.reduce((a: number, b: unknown) => a * Number(b), 1) !== data.length) {
                throw badRequest("invalid_shape", `input shape [${input.shape.join(",")}] does not match ${data.length} data items`);
            }
            const sources = data.map((d, i) => {
                if (typeof d !== "string") throw badRequest("invalid_instance", `data[${i}] must be a string (URL or base64)`);
                return sourceFromString(d, `data[${i}]`);
            });
            const results = await classify(sources, signal);
            const scores = results.flatMap((r) => config.labels.map((l) => r[l]));
            const response: Record<string, unknown> = {
                model_name: config.modelName,
                outputs: [
                    { name: "scores", datatype: "FP32", shape: [results.length, config.labels.length], data: scores },
                    { name: "labels", datatype: "BYTES", shape: [config.labels.length], data: config.labels },
                ],
            };
            if (typeof body.id === "string") response.id = body.id;
            return new Json(200, response);
        },
        async live() {
            return new Json(200, { live: true });
        },
        async ready() {
            const ready = listening && !draining;
            return new Json(ready ? 200 : 503, { ready });
        },
        async v1status() {
            const ready = listening && !draining;
            return new Json(ready ? 200 : 503, { name: config.modelName, ready });
        },
        async v2ready() {
            const ready = listening && !draining;
            return new Json(ready ? 200 : 503, { name: config.modelName, ready });
        },
        async v2meta() {
            return new Json(200, {
                name: config.modelName,
                platform: "inference-platform-gateway",
                inputs: [{ name: "image", datatype: "BYTES", shape: [-1] }],
                outputs: [
                    { name: "scores", datatype: "FP32", shape: [-1, config.labels.length] },
                    { name: "labels", datatype: "BYTES", shape: [config.labels.length] },
                ],
            });
        },
        async serverMeta() {
            return new Json(200, { name: "inference-platform-gateway", version: "0.1.0", extensions: [] });
        },
    };

    const send = (res: http.ServerResponse, status: number, body: string, contentType: string, extra: Readonly<Record<string, string>> = {}) => {
        if (res.headersSent || res.destroyed) return;
        const headers: http.OutgoingHttpHeaders = { ...extra, "content-type": contentType, "content-length": Buffer.byteLength(body) };
        if (draining) headers.connection = "close";
        res.writeHead(status, headers);
        res.end(body);
    };

    // Node checks headersTimeout/requestTimeout every connectionsCheckingInterval (default 30 s),
    // so a slow client would get its 408 up to 30 s late; once a second is cheap. requestTimeout is
    // only a backstop for bodies nobody reads (the body timeout above answers first).
    const server = http.createServer(
        {
            keepAliveTimeout: 65_000,
            headersTimeout: config.limits.headersTimeoutMs,
            requestTimeout: config.limits.headersTimeoutMs + config.limits.bodyTimeoutMs + 5_000,
            connectionsCheckingInterval: Math.min(1000, config.limits.headersTimeoutMs),
        },
        (req, res) => {
            const start = performance.now();
            const method = req.method ?? "GET";
            const path = (req.url ?? "/").split("?")[0];
            const { route, handler, modelMatch } = routeOf(method, path, config.modelName);
            const requestId = typeof req.headers["x-request-id"] === "string" ? req.headers["x-request-id"].slice(0, 128) : randomUUID();
            res.setHeader("x-request-id", requestId);
            inFlight++;
            metrics.inFlight.inc();
            const controller = new AbortController();
            let timedOut = false;
            const timer = setTimeout(() => {
                timedOut = true;
                controller.abort(new Error("request deadline"));
            }, config.limits.requestTimeoutMs);
            // The client going away cancels downloads and the predictor call.
            res.on("close", () => {
                if (!res.writableFinished) controller.abort(new Error("client closed"));
            });
            let errorCode: string | undefined;
            let errorMessage: string | undefined;
            let status = 500;

            const finish = () => {
                clearTimeout(timer);
                controller.abort(new Error("request done")); // stop any straggling download of a batch
                inFlight--;
                metrics.inFlight.dec();
                const seconds = (performance.now() - start) / 1000;
                metrics.requests.inc({ route, method, status: String(status) });
                if (route !== "/metrics") metrics.requestDuration.observe({ route, status: String(status) }, seconds);
                if (errorCode) metrics.errors.inc({ code: errorCode });
                if (route !== "/metrics" && !route.includes("health") && route !== "/readyz" && route !== "/healthz") {
                    const fields = { requestId, method, route, status, ms: Math.round(seconds * 10000) / 10, ...(errorCode ? { code: errorCode, error: errorMessage } : {}) };
                    if (status >= 500) logger.warn("request", fields);
                    else logger.info("request", fields);
                }
                if (inFlight === 0) idleWaiters.splice(0).forEach((w) => w());
                maybeCollect();
            };

            const run = async () => {
                if (handler === "metrics") {
                    const text = await (options.metricsText ?? (() => metrics.registry.metrics()))();
                    status = 200;
                    return send(res, 200, text, metrics.registry.contentType);
                }
                if (!handler) {
                    if (route === "other") throw new GatewayError(404, "not_found", `no route for ${method} ${path}`);
                    throw new GatewayError(405, "method_not_allowed", `${method} is not allowed on ${path}`);
                }
                if (modelMatch === false) throw new GatewayError(404, "model_not_found", `model not found; this gateway serves '${config.modelName}'`);
                const result = await handlers[handler](req, controller.signal);
                status = result.status;
                send(res, result.status, JSON.stringify(result.body), "application/json");
            };

            run()
                .catch((err: unknown) => {
                    let e = toGatewayError(err);
                    if (timedOut && (!(err instanceof GatewayError) || e.code === "aborted" || e.code === "image_fetch_failed" || e.code === "predictor_unreachable")) {
                        e = gatewayTimeout("request_timeout", `request took longer than ${config.limits.requestTimeoutMs} ms`);
                    }
                    if (!(err instanceof GatewayError)) logger.error("unexpected error", { requestId, route, error: String((err as Error)?.stack ?? err) });
                    status = e.status;
                    errorCode = e.code;
                    errorMessage = e.message;
                    // A body not read to its end: answer and close rather than wait for the rest.
                    const incomplete = !req.complete;
                    if (incomplete) res.setHeader("connection", "close");
                    send(res, e.status, JSON.stringify({ error: e.message, code: e.code }), "application/json", e.headers);
                    if (incomplete && e.status === 413) req.resume();
                    else if (incomplete) res.once("finish", () => req.socket.destroy());
                })
                .finally(finish);
        },
    );
    /**
     * Errors before a request reaches the handler: headers not finished within headersTimeout
     * (Node's ERR_HTTP_REQUEST_TIMEOUT) get 408, malformed HTTP 400; each is a JSON error, counted.
     */
    server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
        const timeout = err.code === "ERR_HTTP_REQUEST_TIMEOUT";
        const [status, code, message] = timeout
            ? ["408 Request Timeout", "headers_timeout", `the request headers were not received within ${config.limits.headersTimeoutMs / 1000} s`]
            : ["400 Bad Request", "bad_http", "malformed HTTP request"];
        metrics.errors.inc({ code });
        const inProgress = (socket as { _httpMessage?: http.ServerResponse })._httpMessage?.headersSent === true;
        if (socket.writable && !inProgress) {
            const body = JSON.stringify({ error: message, code });
            socket.end(`HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
        } else socket.destroy(err);
    });

    return {
        server,
        metrics,
        predictor,
        get inFlight() {
            return inFlight;
        },
        pixelBudget,
        listen(port = config.httpPort, host?: string) {
            return new Promise<number>((resolve, reject) => {
                server.once("error", reject);
                server.listen(port, host, () => {
                    server.off("error", reject);
                    listening = true;
                    const addr = server.address();
                    resolve(typeof addr === "object" && addr ? addr.port : port);
                });
            });
        },
        async shutdown() {
            if (draining) return;
            draining = true;
            const closed = new Promise<void>((r) => server.close(() => r()));
            server.closeIdleConnections();
            const drained = inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r));
            let timer: NodeJS.Timeout | undefined;
            const timeout = new Promise<"timeout">((r) => {
                timer = setTimeout(() => r("timeout"), config.drainTimeoutMs);
            });
            const outcome = await Promise.race([drained.then(() => "drained" as const), timeout]);
            clearTimeout(timer);
            if (outcome === "timeout") logger.warn("drain timeout: closing remaining connections", { inFlight });
            server.closeAllConnections();
            await closed;
            predictor.close();
            listening = false;
        },
    };
}
