/**
 * Predictor clients: TF Serving gRPC, TF Serving REST, KServe v1 REST and Open Inference Protocol
 * v2 REST (JSON or binary tensor extension). Each one hands out a request whose float32 tensor the
 * preprocessing fills in place, then sends it and returns one row of scores per image.
 */
import type * as grpc from "@grpc/grpc-js";
import * as http from "node:http";
import * as https from "node:https";
import {
    type DecodedTensorProto,
    decodePredictResponse,
    parseV1Response,
    parseV2Response,
    pickOutput,
    prepareTfPredictRequest,
    prepareV2BinaryRequest,
    releaseBuffer,
    rowsOf,
    tensorProtoValues,
    v1RequestBody,
    v2JsonRequestBody,
} from "./codecs";
import type { PredictorConfig, PredictorProtocol } from "./config";
import { badGateway, GatewayError, gatewayTimeout } from "./errors";
import { GrpcChannel, GrpcError, GrpcStatus } from "./grpcChannel";

export interface PreparedPredict {
    /** NHWC float32 tensor to fill before `send`; not to be touched once `send` is called. */
    readonly tensor: Float32Array;
    /** Sends the request; on success the request buffer goes back to the pool for reuse. */
    send(signal?: AbortSignal): Promise<number[][]>;
}

export interface Predictor {
    readonly protocol: PredictorProtocol;
    prepare(shape: readonly [number, number, number, number]): PreparedPredict;
    /** Whether the predictor answers its readiness endpoint / the channel is connected. */
    probe(timeoutMs: number): Promise<boolean>;
    close(): void;
}


// ------------------------------------------------------------------------------- gRPC

type Deserialize = (bytes: Buffer) => { outputs?: Record<string, DecodedTensorProto> };

/**
 * @grpc/grpc-js is loaded only for `--grpc_client grpc-js` (it adds ~11 MB of RSS); the default
 * transport needs neither it nor protobufjs (responses are decoded by `decodePredictResponse`).
 */
function loadGrpcJs(): typeof grpc {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("@grpc/grpc-js") as typeof grpc;
}

/** gRPC status code names (grpc/status.h), for error messages. */
const grpcStatusNames: Record<number, string> = { 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION", 12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE", 16: "UNAUTHENTICATED" };

const grpcMethod = "/tensorflow.serving.PredictionService/Predict";

/** Channel options: round robin over every address DNS returns (headless Service → all pods). */
export function grpcChannelOptions(): grpc.ChannelOptions {
    return {
        "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
        "grpc.max_send_message_length": 64 * 1024 * 1024,
        "grpc.max_receive_message_length": 64 * 1024 * 1024,
        "grpc.keepalive_time_ms": 30_000,
        "grpc.keepalive_timeout_ms": 10_000,
        "grpc.keepalive_permit_without_calls": 1,
        // Re-resolve soon after a pod goes away so new pods join the rotation.
        "grpc.dns_min_time_between_resolutions_ms": 5_000,
        "grpc.initial_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 5_000,
        // A 299×299×3 float32 tensor is 1 MiB: a large HTTP/2 window avoids waiting for WINDOW_UPDATEs.
        "grpc-node.flow_control_window": 16 * 1024 * 1024,
    };
}

function grpcStatusError(code: number, details: string): GatewayError {
    if (code === GrpcStatus.DEADLINE_EXCEEDED) return gatewayTimeout("predictor_timeout", "the predictor did not answer in time");
    if (code === GrpcStatus.CANCELLED) return badGateway("aborted", "predictor call cancelled");
    const name = grpcStatusNames[code] ?? String(code);
    return badGateway("predictor_error", `the predictor failed: ${name}${details ? `: ${details.slice(0, 300)}` : ""}`);
}

/**
 * TF Serving `PredictionService/Predict`. Default transport: the lean node:http2 channel
 * (grpcChannel.ts); `--grpc_client grpc-js` uses @grpc/grpc-js instead (same behaviour, more CPU).
 */
export class TfServingGrpcPredictor implements Predictor {
    readonly protocol = "tfserving-grpc" as const;
    private readonly deserialize: Deserialize = decodePredictResponse;
    private readonly lean?: GrpcChannel;
    private readonly client?: grpc.Client;
    private readonly grpcJs?: typeof grpc;

    constructor(private readonly config: PredictorConfig) {
        if (config.grpcClient === "grpc-js") {
            this.grpcJs = loadGrpcJs();
            this.client = new this.grpcJs.Client(config.target, this.grpcJs.credentials.createInsecure(), grpcChannelOptions());
        } else this.lean = new GrpcChannel(config.target);
    }

    private call(message: Buffer, signal?: AbortSignal): Promise<Buffer> {
        if (this.lean) {
            return this.lean.unary(grpcMethod, message, this.config.timeoutMs, signal).catch((err: unknown) => {
                if (err instanceof GrpcError) throw grpcStatusError(err.code, err.details);
                throw err;
            });
        }
        return new Promise<Buffer>((resolve, reject) => {
            const call = this.client!.makeUnaryRequest(
                grpcMethod,
                (b: Buffer) => b,
                (b: Buffer) => b,
                message,
                new this.grpcJs!.Metadata(),
                { deadline: Date.now() + this.config.timeoutMs },
                (err: grpc.ServiceError | null, res?: Buffer) => {
                    signal?.removeEventListener("abort", onAbort);
                    if (err) reject(grpcStatusError(err.code, err.details));
                    else resolve(res!);
                },
            );
            const onAbort = () => call.cancel();
            signal?.addEventListener("abort", onAbort, { once: true });
        });
    }

    prepare(shape: readonly [number, number, number, number]): PreparedPredict {
        const { message, tensor } = prepareTfPredictRequest(this.config, shape);
        return {
            tensor,
            send: async (signal) => {
                const res = await this.call(message, signal);
                releaseBuffer(message.buffer);
                try {
                    const decoded = this.deserialize(res);
                    const out = pickOutput(decoded.outputs ?? {}, this.config.outputName);
                    const { values, shape: outShape } = tensorProtoValues(out);
                    return rowsOf(values, outShape, shape[0]);
                } catch (e) {
                    throw badGateway("bad_predictor_response", (e as Error).message);
                }
            },
        };
    }

    probe(timeoutMs: number): Promise<boolean> {
        if (this.lean) return this.lean.probe(timeoutMs);
        return new Promise((resolve) => {
            this.client!.waitForReady(Date.now() + timeoutMs, (err) => resolve(!err));
        });
    }

    close(): void {
        this.lean?.close();
        this.client?.close();
    }
}

// ------------------------------------------------------------------------------- REST

interface RestResponse {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
}

const maxPredictorResponseBytes = 64 * 1024 * 1024;

class RestClient {
    private readonly agent: http.Agent;
    private readonly base: URL;

    constructor(target: string) {
        this.base = new URL(target);
        const opts = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: "lifo" as const, timeout: 60_000 };
        this.agent = this.base.protocol === "https:" ? new https.Agent(opts) : new http.Agent(opts);
    }

    request(method: string, pathname: string, body: Buffer | string | undefined, headers: Record<string, string>, timeoutMs: number, signal?: AbortSignal): Promise<RestResponse> {
        const timeout = AbortSignal.timeout(timeoutMs);
        const all = signal ? AbortSignal.any([signal, timeout]) : timeout;
        return new Promise<RestResponse>((resolve, reject) => {
            const mod = this.base.protocol === "https:" ? https : http;
            const req = mod.request(
                {
                    protocol: this.base.protocol,
                    hostname: this.base.hostname.replace(/^\[|\]$/g, ""),
                    port: this.base.port || (this.base.protocol === "https:" ? 443 : 80),
                    path: pathname,
                    method,
                    agent: this.agent,
                    headers: body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) },
                    signal: all,
                },
                (res) => {
                    const chunks: Buffer[] = [];
                    let size = 0;
                    res.on("data", (c: Buffer) => {
                        size += c.length;
                        if (size > maxPredictorResponseBytes) {
                            reject(badGateway("bad_predictor_response", "predictor response is too large"));
                            res.destroy();
                        } else chunks.push(c);
                    });
                    res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) }));
                    res.on("error", reject);
                },
            );
            req.on("error", (err) => {
                if (timeout.aborted) reject(gatewayTimeout("predictor_timeout", "the predictor did not answer in time"));
                else if (signal?.aborted) reject(badGateway("aborted", "predictor call cancelled"));
                else reject(badGateway("predictor_unreachable", `could not reach the predictor (${(err as NodeJS.ErrnoException).code ?? "error"})`));
            });
            req.end(body);
        });
    }

    close(): void {
        this.agent.destroy();
    }
}

function checkStatus(res: RestResponse): void {
    if (res.status !== 200) {
        const detail = res.body.subarray(0, 300).toString("utf8").replace(/\s+/g, " ");
        throw badGateway("predictor_error", `the predictor answered HTTP ${res.status}: ${detail}`);
    }
}

function parseJson(res: RestResponse): unknown {
    try {
        return JSON.parse(res.body.toString("utf8"));
    } catch {
        throw badGateway("bad_predictor_response", "predictor response is not JSON");
    }
}

function wrapDecode<T>(fn: () => T): T {
    try {
        return fn();
    } catch (e) {
        if (e instanceof GatewayError) throw e;
        throw badGateway("bad_predictor_response", (e as Error).message);
    }
}

/** TF Serving REST (with signature_name) or KServe v1: `POST /v1/models/{m}:predict {"instances": …}`. */
export class V1RestPredictor implements Predictor {
    private readonly client: RestClient;

    constructor(
        private readonly config: PredictorConfig,
        readonly protocol: "v1" | "tfserving-rest",
    ) {
        this.client = new RestClient(config.target);
    }

    prepare(shape: readonly [number, number, number, number]): PreparedPredict {
        const tensor = new Float32Array(shape[0] * shape[1] * shape[2] * shape[3]);
        return {
            tensor,
            send: async (signal) => {
                const body = v1RequestBody(tensor, shape, this.protocol === "tfserving-rest" ? this.config.signatureName : undefined);
                const res = await this.client.request("POST", `/v1/models/${encodeURIComponent(this.config.modelName)}:predict`, body, { "content-type": "application/json" }, this.config.timeoutMs, signal);
                checkStatus(res);
                return wrapDecode(() => parseV1Response(parseJson(res), shape[0], this.config.outputName));
            },
        };
    }

    async probe(timeoutMs: number): Promise<boolean> {
        try {
            const res = await this.client.request("GET", `/v1/models/${encodeURIComponent(this.config.modelName)}`, undefined, {}, timeoutMs);
            return res.status === 200;
        } catch {
            return false;
        }
    }

    close(): void {
        this.client.close();
    }
}

/** Open Inference Protocol REST: `POST /v2/models/{m}/infer`, JSON or binary tensor extension. */
export class V2RestPredictor implements Predictor {
    readonly protocol = "v2" as const;
    private readonly client: RestClient;

    constructor(private readonly config: PredictorConfig) {
        this.client = new RestClient(config.target);
    }

    prepare(shape: readonly [number, number, number, number]): PreparedPredict {
        const path = `/v2/models/${encodeURIComponent(this.config.modelName)}/infer`;
        const readResponse = (res: RestResponse) => {
            checkStatus(res);
            const h = res.headers["inference-header-content-length"];
            const headerLength = h === undefined ? undefined : Number(h);
            if (headerLength !== undefined && !Number.isInteger(headerLength)) throw badGateway("bad_predictor_response", "bad Inference-Header-Content-Length");
            return wrapDecode(() => parseV2Response(res.body, headerLength, shape[0], this.config.outputName));
        };
        if (this.config.binaryData) {
            const { message, tensor, headerLength } = prepareV2BinaryRequest(this.config, shape);
            return {
                tensor,
                send: async (signal) => {
                    const headers = { "content-type": "application/octet-stream", "inference-header-content-length": String(headerLength) };
                    const res = await this.client.request("POST", path, message, headers, this.config.timeoutMs, signal);
                    releaseBuffer(message.buffer);
                    return readResponse(res);
                },
            };
        }
        const tensor = new Float32Array(shape[0] * shape[1] * shape[2] * shape[3]);
        return {
            tensor,
            send: async (signal) => {
                const body = v2JsonRequestBody(this.config, tensor, shape);
                return readResponse(await this.client.request("POST", path, body, { "content-type": "application/json" }, this.config.timeoutMs, signal));
            },
        };
    }

    async probe(timeoutMs: number): Promise<boolean> {
        try {
            const res = await this.client.request("GET", `/v2/models/${encodeURIComponent(this.config.modelName)}/ready`, undefined, {}, timeoutMs);
            return res.status === 200;
        } catch {
            return false;
        }
    }

    close(): void {
        this.client.close();
    }
}

export function createPredictor(config: PredictorConfig): Predictor {
    switch (config.protocol) {
        case "tfserving-grpc":
            return new TfServingGrpcPredictor(config);
        case "tfserving-rest":
        case "v1":
            return new V1RestPredictor(config, config.protocol);
        case "v2":
            return new V2RestPredictor(config);
    }
}
