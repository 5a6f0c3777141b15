/**
 * Health, readiness, metrics, gRPC round robin and reconnects, graceful shutdown (in-process and
 * through main.ts with a real SIGTERM), structured logs.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/log";
import { gatewayScript } from "./gatewayBuild";
import { pngOf, postJson, serveBytes, startGateway, startHttpServer, startStubTfServing, type StubServer, type StubTfServing, testConfig, testTurboJpegLibrary } from "./helpers";

const scores = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const turboJpegLibrary = testTurboJpegLibrary();
let images: StubServer;

beforeAll(async () => {
    images = await startHttpServer({ "/ok.png": serveBytes(await pngOf(2, 2, 3, Array(12).fill(100)), "image/png") });
});
afterAll(async () => {
    await images.close();
});

describe("health, readiness and metrics", () => {
    it("answers KServe's health and model endpoints and counts requests", async () => {
        const stub = await startStubTfServing({ scores });
        const gw = await startGateway(testConfig(["--model_name", "clothing-model"], { TF_SERVING_HOST: stub.target, MODEL_INPUT_SIZE: "2,2" }));
        try {
            expect(await (await fetch(`${gw.url}/v2/health/live`)).json()).toEqual({ live: true });
            expect(await (await fetch(`${gw.url}/v2/health/ready`)).json()).toEqual({ ready: true });
            expect(await (await fetch(`${gw.url}/v1/models/clothing-model`)).json()).toEqual({ name: "clothing-model", ready: true });
            expect((await fetch(`${gw.url}/v2/models/clothing-model/ready`)).status).toBe(200);
            expect((await fetch(`${gw.url}/v2/models/other/ready`)).status).toBe(404);
            expect(((await (await fetch(`${gw.url}/v2/models/clothing-model`)).json()) as any).outputs[1]).toEqual({ name: "labels", datatype: "BYTES", shape: [10] });
            expect((await postJson(`${gw.url}/predict`, { url: `${images.url}/ok.png` })).status).toBe(200);
            expect((await postJson(`${gw.url}/predict`, { url: "ftp://x/y" })).status).toBe(400);
            const res = await fetch(`${gw.url}/metrics`);
            expect(res.headers.get("content-type")).toMatch(/text\/plain/);
            const text = await res.text();
            expect(text).toMatch(/gateway_http_requests_total\{route="\/predict",method="POST",status="200"\} 1/);
            expect(text).toMatch(/gateway_http_requests_total\{route="\/predict",method="POST",status="400"\} 1/);
            expect(text).toMatch(/gateway_http_request_duration_seconds_bucket\{le="[^"]+",route="\/predict",status="200"\}/);
            expect(text).toMatch(/gateway_predictor_duration_seconds_count\{protocol="tfserving-grpc",outcome="ok"\} 1/);
            expect(text).toMatch(/gateway_errors_total\{code="url_scheme_not_allowed"\} 1/);
            expect(text).toMatch(/gateway_process_resident_memory_bytes/);
        } finally {
            await gw.close();
            await stub.close();
        }
    });

    it("with --expose-gc, asks for a major GC (run from a task) every GATEWAY_GC_EVERY requests, never with 0", async () => {
        const calls: unknown[] = [];
        const g = globalThis as { gc?: unknown };
        const saved = g.gc;
        g.gc = (o: unknown) => calls.push(o);
        const stub = await startStubTfServing({ scores });
        const gw = await startGateway(testConfig([], { TF_SERVING_HOST: stub.target, MODEL_INPUT_SIZE: "2,2", GATEWAY_GC_EVERY: "100" }));
        const never = await startGateway(testConfig([], { TF_SERVING_HOST: stub.target, MODEL_INPUT_SIZE: "2,2", GATEWAY_GC_EVERY: "0" }));
        try {
            for (let i = 0; i < 300; i++) await (await fetch(`${gw.url}/v2/health/live`)).text();
            expect(calls.length).toBeGreaterThanOrEqual(2);
            expect(calls.length).toBeLessThanOrEqual(3);
            expect(calls[0]).toEqual({ type: "major", execution: "async" });
            const before = calls.length;
            for (let i = 0; i < 150; i++) await (await fetch(`${never.url}/v2/health/live`)).text();
            expect(calls.length).toBe(before);
        } finally {
            g.gc = saved;
            await gw.close();
            await never.close();
            await stub.close();
        }
    });

    it("logs one JSON object per line", () => {
        const lines: string[] = [];
        const log = createLogger("info", (l) => lines.push(l));
        log.debug("hidden");
        log.info("request", { route: "/predict", status: 200 });
        expect(lines).toHaveLength(1);
        expect(lines[0].endsWith("\n")).toBe(true);
        expect(JSON.parse(lines[0])).toMatchObject({ level: "info", msg: "request", route: "/predict", status: 200 });
    });
});

// Its tests run side by side (each with its own stubs and gateway): they mostly wait on timers.
describe.concurrent("gRPC channel", () => {
    it("round-robins across TF Serving backends", async ({ expect }) => {
        const a = await startStubTfServing({ scores });
        const b = await startStubTfServing({ scores });
        const target = `ipv4:${a.target},${b.target}`;
        const gw = await startGateway(testConfig(["--protocol", "tfserving-grpc", "--predictor_host", target], { MODEL_INPUT_SIZE: "2,2" }));
        try {
            for (let i = 0; i < 10; i++) expect((await postJson(`${gw.url}/predict`, { url: `${images.url}/ok.png` })).status).toBe(200);
            expect(a.calls.length).toBeGreaterThanOrEqual(4);
            expect(b.calls.length).toBeGreaterThanOrEqual(4);
        } finally {
            await gw.close();
            await a.close();
            await b.close();
        }
    });

    it("reconnects after TF Serving restarts", async ({ expect }) => {
        const first = await startStubTfServing({ scores });
        const port = Number(first.target.split(":")[1]);
        const gw = await startGateway(testConfig(["--predictor_request_timeout_seconds", "1"], { TF_SERVING_HOST: first.target, MODEL_INPUT_SIZE: "2,2" }));
        try {
            expect((await postJson(`${gw.url}/predict`, { url: `${images.url}/ok.png` })).status).toBe(200);
            await first.close();
            const down = await postJson(`${gw.url}/predict`, { url: `${images.url}/ok.png` });
            expect([502, 504]).toContain(down.status);
            const second = await startStubTfServing({ scores, port });
            try {
                let status = 0;
                for (let i = 0; i < 40 && status !== 200; i++) {
                    status = (await postJson(`${gw.url}/predict`, { url: `${images.url}/ok.png` })).status;
                    if (status !== 200) await new Promise((r) => setTimeout(r, 100));
                }
                expect(status).toBe(200);
                expect(second.calls.length).toBeGreaterThanOrEqual(1);
            } finally {
                await second.close();
            }
        } finally {
            await gw.close();
        }
    });
});

/**
 * Resolves once `stub` has received a call, so the request is in flight in the gateway. A fixed
 * sleep raced the request on a busy machine.
 */
async function untilReceived(stub: StubTfServing): Promise<void> {
    for (const started = Date.now(); stub.calls.length === 0; ) {
        if (Date.now() - started > 20_000) throw new Error("the request never reached TF Serving");
        await new Promise((r) => setTimeout(r, 10));
    }
}

// Its tests run side by side (each with its own stubs and gateway): they mostly wait on timers.
describe.concurrent("graceful shutdown", () => {
    it("drains an in-flight request, turns unready, then refuses new connections", async ({ expect }) => {
        const slow = await startStubTfServing({ scores, delayMs: 400 });
        const gw = await startGateway(testConfig([], { TF_SERVING_HOST: slow.target, MODEL_INPUT_SIZE: "2,2" }));
        try {
            const inflight = postJson(`${gw.url}/predict`, { url: `${images.url}/ok.png` });
            await untilReceived(slow); // TF Serving is 400 ms slow: the request is surely in flight
            expect(gw.gateway.inFlight).toBe(1);
            const shutdown = gw.gateway.shutdown();
            const res = await inflight;
            expect(res.status).toBe(200);
            expect(res.headers.get("connection")).toBe("close");
            await shutdown;
            await expect(fetch(`${gw.url}/v2/health/live`)).rejects.toThrow();
        } finally {
            await slow.close();
        }
    });

    it("main.ts: SIGTERM drains, exits 0, logs JSON; a bad config exits 2 with one message", async ({ expect }) => {
        const slow = await startStubTfServing({ scores, delayMs: 500 });
        // Plain node on the compiled gateway, as the image runs it (gatewayBuild.ts).
        const node = (args: string[]) => [process.execPath, args] as const;
        const repoRoot = path.resolve(__dirname, "../..");
        const main = gatewayScript("main");
        const child = spawn(...node([main, "--http_port", "0"]), {
            cwd: repoRoot,
            env: { ...process.env, TF_SERVING_HOST: slow.target, MODEL_INPUT_SIZE: "2,2", GATEWAY_ALLOWED_CIDRS: "127.0.0.0/8", LOG_LEVEL: "info", GATEWAY_TURBOJPEG_LIBRARY: turboJpegLibrary ?? "/nonexistent/libturbojpeg.so.0" },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        try {
            const port = await new Promise<number>((resolve, reject) => {
                const t = setTimeout(() => reject(new Error(`no listening log: ${out}`)), 20_000);
                child.stdout.on("data", () => {
                    const m = /"msg":"gateway listening","port":(\d+)/.exec(out);
                    if (m) {
                        clearTimeout(t);
                        resolve(Number(m[1]));
                    }
                });
            });
            const inflight = postJson(`http://127.0.0.1:${port}/predict`, { url: `${images.url}/ok.png` });
            await untilReceived(slow); // TF Serving is 500 ms slow: SIGTERM finds the request in flight
            child.kill("SIGTERM");
            const res = await inflight;
            expect(res.status).toBe(200);
            const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
            expect(code).toBe(0);
            const logs = out.trim().split("\n").map((l) => JSON.parse(l));
            expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(["gateway listening", "shutting down: draining in-flight requests", "request", "shutdown complete"]));
            expect(logs.find((l) => l.msg === "request")).toMatchObject({ route: "/predict", status: 200 });
            expect(logs.find((l) => l.msg === "gateway listening").jpegDecoder).toBe(turboJpegLibrary ? `libjpeg-turbo (${turboJpegLibrary})` : "sharp");
        } finally {
            child.kill("SIGKILL");
            await slow.close();
        }

        const exitOf = (args: string[], env: Record<string, string>) => {
            const child = spawn(...node([main, ...args]), { cwd: repoRoot, env: { ...process.env, TF_SERVING_HOST: "127.0.0.1:1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
            let stderr = "";
            child.stderr.on("data", (d) => (stderr += d));
            // A gateway that starts instead of exiting is stopped, and its exit code (null) fails the test.
            const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
            return new Promise<{ code: number | null; stderr: string }>((r) =>
                child.on("exit", (code) => {
                    clearTimeout(timer);
                    r({ code, stderr });
                }),
            );
        };
        const [badConfig, noTurboJpeg, noSharp] = await Promise.all([
            exitOf(["--protocol", "carrier-pigeon"], {}),
            exitOf(["--http_port", "0"], { GATEWAY_JPEG_DECODER: "libjpeg-turbo", GATEWAY_TURBOJPEG_LIBRARY: "/nonexistent/libturbojpeg.so.0" }),
            // sharp decodes every image here, so a sharp that cannot load stops the start.
            exitOf(["--http_port", "0"], { GATEWAY_JPEG_DECODER: "sharp", GATEWAY_WORKERS: "1", BREAK_SHARP: "1", NODE_OPTIONS: `--require "${path.join(__dirname, "fixtures/breakSharp.cjs")}"` }),
        ]);
        expect(badConfig.code).toBe(2);
        expect(badConfig.stderr).toMatch(/invalid gateway configuration:[\s\S]*protocol 'carrier-pigeon'/);
        expect(noTurboJpeg.code).toBe(2);
        expect(noSharp.code).toBe(1);
        expect(noSharp.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^sharp did not load \(GIF, WebP, 16-bit PNG, CMYK and large JPEGs need it\): Could not load the "sharp" module/)]);
        expect(noTurboJpeg.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^GATEWAY_JPEG_DECODER=libjpeg-turbo, but TurboJPEG did not load from '\/nonexistent\/libturbojpeg\.so\.0': cannot load /)]);
    });
});
