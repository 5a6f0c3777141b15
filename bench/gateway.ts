/**
 * Gateway benchmark (`npm run bench:gateway`): prints figures, asserts nothing about speed.
 *
 * Setup: builds gateway/ (tsc → gateway/dist) and runs `node gateway/dist/main.js` (or
 * BENCH_GATEWAY_MAIN) as a child process, exactly as the image does, so CPU and RSS are the
 * gateway's alone. This process serves a
 * 640×480 JPEG (~100 KB, generated with sharp) on loopback, runs a TF Serving gRPC stub (plain
 * node:http2) that does not decode the 1 MiB request (it answers a fixed PredictResponse), and drives load on
 * `POST /predict` at concurrency 1, 4 and 16 over keep-alive connections.
 *
 * Reference to beat (Python: Flask under gunicorn, PIL, numpy, gRPC tensor_content, same 2-core
 * machine): ~440 req/s at 16 concurrent, p99 ~46 ms, ~170 MB RSS, ~3 ms gateway CPU per request.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import sharp from "sharp";
import { decodeImage, resizeNormalizeInto } from "../gateway/src/preprocess";

const root = path.resolve(__dirname, "..");
const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 2000);
const measureMs = Number(process.env.BENCH_MEASURE_MS ?? 8000);
const levels = (process.env.BENCH_CONCURRENCY ?? "1,4,16").split(",").map(Number);
const reference = { rps: 440, p99Ms: 46, rssMb: 170, cpuMsPerReq: 3 };

/** A ~100 KB 640×480 JPEG with photo-like detail (smooth gradients plus noise). */
async function makeJpeg(): Promise<Buffer> {
    const w = 640;
    const h = 480;
    const raw = Buffer.alloc(w * h * 3);
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
            const i = (y * w + x) * 3;
            const n = rand() * 48;
            raw[i] = Math.min(255, (x / w) * 200 + n);
            raw[i + 1] = Math.min(255, (y / h) * 180 + n);
            raw[i + 2] = Math.min(255, 128 + 100 * Math.sin(x / 23) * Math.cos(y / 31) + n / 2);
        }
    }
    // Pick the quality that lands closest to 100 KB.
    let best: Buffer | undefined;
    for (const q of [70, 75, 80, 85, 90, 95]) {
        const jpg = await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: q }).toBuffer();
        if (!best || Math.abs(jpg.length - 100_000) < Math.abs(best.length - 100_000)) best = jpg;
    }
    return best!;
}

/** Serialized PredictResponse{outputs{"dense_7": DT_FLOAT [1,10] float_val}}, built by hand once. */
function fixedPredictResponse(): Buffer {
    const scores = [-1.868, -4.761, -2.316, -1.062, 9.887, -2.812, -3.666, 3.2, -2.602, -4.835];
    const floats = Buffer.alloc(40);
    scores.forEach((s, i) => floats.writeFloatLE(s, i * 4));
    const shape = Buffer.from([0x12, 0x02, 0x08, 0x01, 0x12, 0x02, 0x08, 0x0a]);
    const tensor = Buffer.concat([Buffer.from([0x08, 0x01, 0x12, shape.length]), shape, Buffer.from([0x2a, floats.length]), floats]);
    const key = Buffer.from("dense_7");
    const entry = Buffer.concat([Buffer.from([0x0a, key.length]), key, Buffer.from([0x12, tensor.length]), tensor]);
    return Buffer.concat([Buffer.from([0x0a, entry.length]), entry]);
}

/**
 * TF Serving stand-in on plain node:http2 (h2c, gRPC framing by hand): it reads the request bytes
 * without decoding them and answers a fixed PredictResponse, so the stub costs as little CPU as
 * possible on the shared 2 cores. Window and session memory are large, as in TF Serving's gRPC core.
 */
async function startStub(): Promise<{ port: number; lastRequest: () => Buffer | undefined; calls: () => number; close: () => void }> {
    const message = fixedPredictResponse();
    const framed = Buffer.alloc(5 + message.length);
    framed.writeUInt32BE(message.length, 1);
    message.copy(framed, 5);
    let first: Buffer | undefined;
    let calls = 0;
    const server = http2.createServer({ settings: { initialWindowSize: 16 * 1024 * 1024, maxConcurrentStreams: 1000 }, maxSessionMemory: 1024 });
    server.on("session", (session) => session.on("connect", () => session.setLocalWindowSize(16 * 1024 * 1024)));
    server.on("stream", (stream, headers) => {
        if (headers[":path"] !== "/tensorflow.serving.PredictionService/Predict") {
            stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12" }, { endStream: true });
            return;
        }
        const chunks: Buffer[] | undefined = calls === 0 ? [] : undefined;
        calls++;
        stream.on("data", (c: Buffer) => chunks?.push(c));
        stream.on("end", () => {
            if (chunks) first = Buffer.concat(chunks).subarray(5);
            stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
            stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
            stream.end(framed);
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as AddressInfo).port;
    return { port, lastRequest: () => first, calls: () => calls, close: () => server.close() };
}

function procStat(pid: number): { cpuMs: number; rssMb: number; hwmMb: number; anonMb: number; fileMb: number } {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
    const hz = 100; // USER_HZ on Linux
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { cpuMs: (ticks * 1000) / hz, rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024, anonMb: kb("RssAnon") / 1024, fileMb: kb("RssFile") / 1024 };
}

function pythonPreprocessCpuMs(jpeg: Buffer): number | undefined {
    const script = [
        "import io, sys, time, numpy as np",
        "from PIL import Image",
        "data = sys.stdin.buffer.read()",
        "t = time.process_time()",
        "for _ in range(200):",
        "    img = Image.open(io.BytesIO(data)).convert('RGB').resize((299, 299), Image.NEAREST)",
        "    x = np.array(img, dtype='float32'); x /= 127.5; x -= 1.",
        "print((time.process_time() - t) / 200 * 1000)",
    ].join("\n");
    for (const py of ["/usr/bin/python3", "python3"]) {
        try {
            return Number(execFileSync(py, ["-c", script], { input: jpeg, encoding: "utf8", stdio: ["pipe", "pipe", "ignore"] }).trim());
        } catch {
            // no such python or no PIL
        }
    }
    return undefined;
}

function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const s = http.createServer().listen(0, "127.0.0.1", () => {
            const p = (s.address() as AddressInfo).port;
            s.close(() => resolve(p));
        });
    });
}

async function waitLive(port: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
        try {
            if ((await fetch(`http://127.0.0.1:${port}/v2/health/ready`)).ok) return;
        } catch {
            // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("gateway did not become ready in 20 s");
}

function percentile(sorted: number[], p: number): number {
    if (sorted.length === 0) return NaN;
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function load(url: string, body: string, concurrency: number, durationMs: number): Promise<{ latencies: number[]; errors: number; elapsedMs: number }> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const target = new URL(url);
    const latencies: number[] = [];
    let errors = 0;
    const start = performance.now();
    const end = start + durationMs;
    const one = () =>
        new Promise<void>((resolve) => {
            const t0 = performance.now();
            const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
                res.resume();
                res.on("end", () => {
                    if (res.statusCode === 200) latencies.push(performance.now() - t0);
                    else errors++;
                    resolve();
                });
            });
            req.on("error", () => {
                errors++;
                resolve();
            });
            req.end(body);
        });
    await Promise.all(
        Array.from({ length: concurrency }, async () => {
            while (performance.now() < end) await one();
        }),
    );
    const elapsedMs = performance.now() - start;
    agent.destroy();
    return { latencies, errors, elapsedMs };
}

async function main(): Promise<void> {
    const t0 = Date.now();
    process.stdout.write("building gateway (tsc -p gateway/tsconfig.json)… ");
    execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(root, "gateway/tsconfig.json")], { stdio: "inherit" });
    console.log("done");

    const jpeg = await makeJpeg();
    const imageServer = http.createServer((_req, res) => {
        res.writeHead(200, { "content-type": "image/jpeg", "content-length": jpeg.length });
        res.end(jpeg);
    });
    imageServer.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => imageServer.listen(0, "127.0.0.1", () => r()));
    const imageUrl = `http://127.0.0.1:${(imageServer.address() as AddressInfo).port}/pants.jpg`;
    const stub = await startStub();

    // --expose-gc as in the image's ENTRYPOINT; BENCH_NODE_ARGS adds flags (e.g. "--cpu-prof --trace-gc").
    const nodeArgs = ["--expose-gc", ...(process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a !== "")];
    const port = await freePort();
    // BENCH_GATEWAY_MAIN runs another build of the gateway (e.g. the previous commit's, for an A/B).
    const mainJs = process.env.BENCH_GATEWAY_MAIN || path.join(root, "gateway/dist/main.js");
    const child = spawn(process.execPath, [...nodeArgs, mainJs, "--http_port", String(port)], {
        env: {
            ...process.env,
            TF_SERVING_HOST: `127.0.0.1:${stub.port}`,
            MODEL_INPUT_SIZE: "299,299",
            KERAS_MODEL_NAME: "xception",
            // Production mechanism for fetching from an allow-listed private range; here loopback.
            GATEWAY_ALLOWED_CIDRS: "127.0.0.0/8",
            LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info",
            // As in gateway/Dockerfile.
            NODE_ENV: "production",
            UV_THREADPOOL_SIZE: "4",
            MALLOC_ARENA_MAX: "2",
            ...(process.env.BENCH_EXTRA_ENV ? Object.fromEntries(process.env.BENCH_EXTRA_ENV.split(",").map((kv) => kv.split("="))) : {}),
        },
        stdio: ["ignore", "pipe", "inherit"],
    });
    let logBytes = 0;
    let out = "";
    // BENCH_CHILD_STDOUT=file keeps the gateway's stdout (logs, --trace-gc) for inspection.
    const tee = process.env.BENCH_CHILD_STDOUT ? fs.createWriteStream(process.env.BENCH_CHILD_STDOUT) : undefined;
    child.stdout.on("data", (d: Buffer) => {
        tee?.write(d);
        logBytes += d.length;
        if (out.length < 10_000) out += d.toString();
    });
    const exited = new Promise<never>((_, reject) => child.on("exit", (code) => reject(new Error(`gateway exited ${code}: ${out}`))));
    exited.catch(() => undefined);
    await Promise.race([waitLive(port), exited]);
    const gatewayUrl = `http://127.0.0.1:${port}/predict`;
    const body = JSON.stringify({ url: imageUrl });

    // Correctness first: labels present, and the tensor sent equals in-process preprocessing.
    const first = await fetch(gatewayUrl, { method: "POST", headers: { "content-type": "application/json" }, body });
    const firstJson = (await first.json()) as Record<string, number>;
    const sent = stub.lastRequest()!;
    const expected = new Float32Array(299 * 299 * 3);
    resizeNormalizeInto(await decodeImage(jpeg, { maxPixels: 1e8 }), { height: 299, width: 299 }, "tf", expected);
    const tail = sent.subarray(sent.length - expected.byteLength);
    const identical = Buffer.from(expected.buffer).equals(tail);

    console.log(`\nimage: 640x480 JPEG, ${(jpeg.length / 1024).toFixed(1)} KiB; model input 1x299x299x3 float32 (xception); predictor: TF Serving gRPC stub`);
    console.log(`first response: HTTP ${first.status}, labels ${Object.keys(firstJson).join(",")}`);
    console.log(`tensor sent equals in-process preprocessing: ${identical ? "yes (bit-identical)" : "NO"}`);
    console.log(`node ${process.version}, ${(await import("node:os")).cpus().length} CPUs; warmup ${warmupMs} ms + ${measureMs} ms per level\n`);

    const rows: string[][] = [["concurrency", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "RSS MB", "errors"]];
    const results: { c: number; rps: number; p99: number; cpu: number }[] = [];
    for (const c of levels) {
        await load(gatewayUrl, body, c, warmupMs);
        const before = procStat(child.pid!);
        const r = await load(gatewayUrl, body, c, measureMs);
        const after = procStat(child.pid!);
        const sorted = r.latencies.sort((a, b) => a - b);
        const rps = (sorted.length / r.elapsedMs) * 1000;
        const cpu = (after.cpuMs - before.cpuMs) / Math.max(1, sorted.length + r.errors);
        results.push({ c, rps, p99: percentile(sorted, 99), cpu });
        rows.push([String(c), rps.toFixed(0), percentile(sorted, 50).toFixed(1), percentile(sorted, 99).toFixed(1), cpu.toFixed(2), after.rssMb.toFixed(0), String(r.errors)]);
    }
    const end = procStat(child.pid!);
    const peak = end.hwmMb;
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) console.log(r.map((v, i) => v.padStart(widths[i])).join("  "));
    console.log(`\npeak RSS of the gateway process (VmHWM): ${peak.toFixed(0)} MB (now ${end.rssMb.toFixed(0)} MB: ${end.anonMb.toFixed(0)} anon + ${end.fileMb.toFixed(0)} file); access logs written: ${(logBytes / 1024).toFixed(0)} KiB; stub calls: ${stub.calls()}`);
    const at16 = results.find((r) => r.c === 16);
    if (at16) {
        const verdict = (ok: boolean) => (ok ? "better" : "WORSE");
        console.log(
            `vs Python reference at 16: req/s ${at16.rps.toFixed(0)} vs ${reference.rps} (${verdict(at16.rps > reference.rps)}), ` +
                `p99 ${at16.p99.toFixed(1)} vs ${reference.p99Ms} ms (${verdict(at16.p99 < reference.p99Ms)}), ` +
                `peak RSS ${peak.toFixed(0)} vs ${reference.rssMb} MB (${verdict(peak < reference.rssMb)}), ` +
                `CPU ${at16.cpu.toFixed(2)} vs ${reference.cpuMsPerReq} ms/req (${verdict(at16.cpu < reference.cpuMsPerReq)})`,
        );
    }

    // Context for the reference figures: the same image through the seeds' Python preprocessing on
    // this machine now (only when a python3 with Pillow and numpy is installed).
    const calibration = pythonPreprocessCpuMs(jpeg);
    if (calibration !== undefined) console.log(`Python PIL+numpy preprocessing of the same JPEG on this machine now: ${calibration.toFixed(2)} ms CPU per image (preprocessing only, no HTTP/gRPC)`);

    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    stub.close();
    imageServer.close();
    console.log(`total bench time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
