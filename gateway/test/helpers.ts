/**
 * Test doubles that run as real servers on loopback: an image server, a TF Serving gRPC stub
 * (decoding requests with the repo's .proto files), and KServe v1/v2 REST stubs.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import sharp from "sharp";
import { type GatewayConfig, parseConfig } from "../src/config";
import { createGateway, type Gateway, type GatewayOptions } from "../src/server";
import { type JpegDecoder, loadTurboJpeg } from "../src/turboJpeg";

export const protoDir = path.resolve(__dirname, "../proto");

/** Encodes raw interleaved RGB(A)/grey pixels as PNG (lossless, so pixel values are known). */
export async function pngOf(width: number, height: number, channels: 1 | 2 | 3 | 4, pixels: number[]): Promise<Buffer> {
    return sharp(Buffer.from(pixels), { raw: { width, height, channels } }).png().toBuffer();
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

export interface StubServer {
    readonly url: string;
    readonly port: number;
    readonly requests: { method: string; path: string; headers: http.IncomingHttpHeaders; body: Buffer }[];
    close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that records requests and routes by exact path. */
export async function startHttpServer(routes: Record<string, Handler>): Promise<StubServer> {
    const requests: StubServer["requests"] = [];
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const body = Buffer.concat(chunks);
            const p = (req.url ?? "/").split("?")[0];
            requests.push({ method: req.method ?? "", path: p, headers: req.headers, body });
            const h = routes[p] ?? routes["*"];
            if (!h) {
                res.writeHead(404, { "content-type": "text/plain" });
                res.end("not found");
                return;
            }
            h(req, res, body);
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as AddressInfo).port;
    return {
        url: `http://127.0.0.1:${port}`,
        port,
        requests,
        close: () =>
            new Promise<void>((r) => {
                server.closeAllConnections();
                server.close(() => r());
            }),
    };
}

export const serveBytes =
    (bytes: Buffer, contentType: string, extraHeaders: Record<string, string> = {}): Handler =>
    (_req, res) => {
        res.writeHead(200, { "content-type": contentType, "content-length": bytes.length, ...extraHeaders });
        res.end(bytes);
    };

export const redirectTo =
    (location: string, status = 302): Handler =>
    (_req, res) => {
        res.writeHead(status, { location });
        res.end();
    };

/** What the TF Serving stub decoded from one Predict call. */
export interface DecodedPredict {
    model_spec?: { name?: string; signature_name?: string };
    inputs?: Record<string, { dtype?: number; tensor_shape?: { dim?: { size?: number }[] }; tensor_content?: Buffer; float_val?: number[] }>;
}

export interface StubTfServing {
    readonly target: string;
    readonly calls: DecodedPredict[];
    close(): Promise<void>;
}

/**
 * A TF Serving PredictionService stub. It decodes requests with proto-loader from the repo's
 * .proto files and answers `outputs[outputName]` = DT_FLOAT [batch, scores.length] float_val.
 */
export async function startStubTfServing(options: { scores: number[]; outputName?: string; delayMs?: number; fail?: grpc.status; port?: number; host?: string }): Promise<StubTfServing> {
    const def = protoLoader.loadSync("tf_serving_predict.proto", { includeDirs: [protoDir], keepCase: true, longs: Number, enums: Number, defaults: false });
    const proto = grpc.loadPackageDefinition(def) as any;
    const calls: DecodedPredict[] = [];
    const server = new grpc.Server();
    server.addService(proto.tensorflow.serving.PredictionService.service, {
        Predict: (call: grpc.ServerUnaryCall<DecodedPredict, unknown>, cb: grpc.sendUnaryData<unknown>) => {
            calls.push(call.request);
            const reply = () => {
                if (options.fail !== undefined) return cb({ code: options.fail, details: "stub failure" });
                const input = Object.values(call.request.inputs ?? {})[0];
                const batch = Number(input?.tensor_shape?.dim?.[0]?.size ?? 1);
                const floats = Array.from({ length: batch }, (_, i) => options.scores.map((s) => s + i)).flat();
                cb(null, { outputs: { [options.outputName ?? "dense_7"]: { dtype: 1, tensor_shape: { dim: [{ size: batch }, { size: options.scores.length }] }, float_val: floats } } });
            };
            if (options.delayMs) setTimeout(reply, options.delayMs);
            else reply();
        },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync(`${options.host ?? "127.0.0.1"}:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    return {
        target: `${options.host ?? "127.0.0.1"}:${port}`,
        calls,
        close: () =>
            new Promise<void>((r) => {
                server.forceShutdown();
                r();
            }),
    };
}

/** Floats of a tensor_content buffer. */
export function floatsOf(content: Buffer): Float32Array {
    const copy = Buffer.from(content);
    return new Float32Array(copy.buffer, copy.byteOffset, copy.length / 4);
}

/** Gateway config from KServe-style args plus env, with test-friendly limits. */
export function testConfig(args: string[], env: Record<string, string> = {}): GatewayConfig {
    return parseConfig(args, { LOG_LEVEL: "error", ...env }).config;
}

export interface RunningGateway {
    readonly gateway: Gateway;
    readonly url: string;
    close(): Promise<void>;
}

/** Starts a gateway on 127.0.0.1 with loopback downloads allowed unless a policy is given. */
export async function startGateway(config: GatewayConfig, extra: Partial<GatewayOptions> = {}): Promise<RunningGateway> {
    const gateway = createGateway({ config, policy: { allowLoopbackForTests: true }, ...extra });
    const port = await gateway.listen(0, "127.0.0.1");
    return { gateway, url: `http://127.0.0.1:${port}`, close: () => gateway.shutdown() };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
    const text = await res.text();
    let json: any;
    try {
        json = JSON.parse(text);
    } catch {
        json = { raw: text };
    }
    return { status: res.status, json, headers: res.headers };
}

/** A python3 that imports Pillow and numpy (Debian's first), or undefined. */
export function pillowPython(): string | undefined {
    for (const py of ["/usr/bin/python3", "python3"]) {
        // Found without importing them (numpy's import alone costs a few hundred ms of CPU per file).
        if (spawnSync(py, ["-c", "import importlib.util as u, sys; sys.exit(0 if u.find_spec('PIL') and u.find_spec('numpy') else 1)"], { stdio: "ignore" }).status === 0) return py;
    }
    return undefined;
}

/** The PIL + numpy reference pipeline (fixtures/pil_preprocess.py says its input and output). */
export const pilPreprocessScript = path.resolve(__dirname, "fixtures/pil_preprocess.py");

/** Says once, in the wording the root tests use, why a file's tests are skipped. */
export function noteSkippedForMissingTool(what: string, needs: string): void {
    process.stderr.write(`skipped: ${what} need ${needs}\n`);
}

/**
 * A libturbojpeg for tests and the benchmark: TEST_TURBOJPEG_LIBRARY when set (e.g. Debian's
 * libturbojpeg0, the image's, extracted with `apt-get download libturbojpeg0 && dpkg -x ...`), else
 * the one the `@julusian/jpeg-turbo` dev dependency ships prebuilt (libjpeg-turbo 3.1) for Linux
 * x64, arm64, arm and x64 musl; undefined elsewhere.
 */
export function testTurboJpegLibrary(): string | undefined {
    if (process.env.TEST_TURBOJPEG_LIBRARY) return process.env.TEST_TURBOJPEG_LIBRARY;
    if (process.platform !== "linux") return undefined;
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    const musl = report?.header?.glibcVersionRuntime === undefined;
    const folder = `jpeg-turbo-linux-${process.arch}${musl ? "-musl" : ""}`;
    let packageDir: string;
    try {
        packageDir = path.dirname(require.resolve("@julusian/jpeg-turbo/package.json"));
    } catch {
        return undefined;
    }
    const library = path.join(packageDir, "prebuilds", folder, "libturbojpeg.so.0");
    return fs.existsSync(library) ? library : undefined;
}

/** TurboJPEG loaded from `testTurboJpegLibrary()`, or undefined (with one note) where there is none. */
export function testTurboJpeg(): JpegDecoder | undefined {
    const library = testTurboJpegLibrary();
    if (!library) {
        noteSkippedForMissingTool("the TurboJPEG decoder tests", `a prebuilt libturbojpeg from @julusian/jpeg-turbo for ${process.platform}-${process.arch}`);
        return undefined;
    }
    return loadTurboJpeg(library);
}

/** The decoders a parity test runs with: sharp alone, and TurboJPEG when there is one. */
export function jpegDecoderCases(turboJpeg: JpegDecoder | undefined): [string, JpegDecoder | undefined][] {
    return turboJpeg ? [["sharp", undefined], ["libjpeg-turbo", turboJpeg]] : [["sharp", undefined]];
}

/** `decoder` with a count of the JPEGs it decoded successfully (to show a test took the TurboJPEG path). */
export function countingJpegDecoder(decoder: JpegDecoder): JpegDecoder & { readonly decoded: number } {
    let decoded = 0;
    return {
        library: decoder.library,
        header: (jpeg) => decoder.header(jpeg),
        decodeRgbInto(jpeg, header, out) {
            const ok = decoder.decodeRgbInto(jpeg, header, out);
            if (ok) decoded++;
            return ok;
        },
        get decoded() {
            return decoded;
        },
    };
}
