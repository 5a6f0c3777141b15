/**
 * GATEWAY_WORKERS: the default from the container's CPU limit, and a real 2-worker gateway
 * (main.ts under node:cluster): requests spread over both workers, /metrics sums them, SIGTERM
 * drains an in-flight request and every process exits 0, and the primary loads none of the
 * serving packages.
 */
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { metricsCollect, metricsCollected, metricsRequest, metricsResponse } from "../src/cluster";
import { defaultWorkers } from "../src/config";
import { containerCpuLimit, parseCfsQuota, parseCpuMax } from "../src/containerLimits";
import { type ClusterChannel, createMetrics, workerMetrics } from "../src/metrics";
import { gatewayScript } from "./gatewayBuild";
import { pngOf, serveBytes, startHttpServer, startStubTfServing, testConfig } from "./helpers";

describe("worker count", () => {
    it("cgroup v2 cpu.max and v1 CFS quota give the CPU limit; no limit gives undefined", () => {
        expect(parseCpuMax("200000 100000\n")).toBe(2);
        expect(parseCpuMax("150000 100000")).toBe(1.5);
        expect(parseCpuMax("max 100000")).toBeUndefined();
        expect(parseCfsQuota("50000\n", "100000\n")).toBe(0.5);
        expect(parseCfsQuota("-1", "100000")).toBeUndefined();
    });

    it("reads the files a container runtime writes", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "cgroup-"));
        try {
            expect(containerCpuLimit(root)).toBeUndefined();
            fs.mkdirSync(path.join(root, "cpu"));
            fs.writeFileSync(path.join(root, "cpu/cpu.cfs_quota_us"), "300000");
            fs.writeFileSync(path.join(root, "cpu/cpu.cfs_period_us"), "100000");
            expect(containerCpuLimit(root)).toBe(3);
            fs.writeFileSync(path.join(root, "cpu.max"), "100000 100000");
            expect(containerCpuLimit(root)).toBe(1);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });

    it("defaults to the limit rounded up, else the CPUs; GATEWAY_WORKERS wins", () => {
        expect(defaultWorkers(1.5, 8)).toBe(2);
        expect(defaultWorkers(0.5, 8)).toBe(1);
        expect(defaultWorkers(undefined, 4)).toBe(4);
        expect(defaultWorkers(undefined, 64)).toBe(16);
        expect(testConfig([], { TF_SERVING_HOST: "x:1" }).workers).toBe(1);
        expect(testConfig([], { TF_SERVING_HOST: "x:1", GATEWAY_WORKERS: "3" }).workers).toBe(3);
        expect(() => testConfig([], { TF_SERVING_HOST: "x:1", GATEWAY_WORKERS: "0" })).toThrow(/GATEWAY_WORKERS/);
    });
});

/** POST on a fresh connection each time, so the primary hands requests to the workers in turn. */
function postFresh(port: number, body: string): Promise<number> {
    return new Promise((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, path: "/predict", method: "POST", agent: false, headers: { "content-type": "application/json", connection: "close" } }, (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject);
        req.end(body);
    });
}

/** A worker's end of the cluster IPC channel: what it sent, and a way to deliver the primary's messages. */
function fakeChannel() {
    const events = new EventEmitter();
    const sent: Record<string, unknown>[] = [];
    const channel: ClusterChannel = { on: (event, listener) => events.on(event, listener), send: (message) => sent.push(message as unknown as Record<string, unknown>) };
    return { channel, sent, deliver: (message: unknown) => events.emit("message", message) };
}

describe("metrics across workers: a worker's side of the protocol", () => {
    const served = (count: number) => {
        const metrics = createMetrics({ defaultMetrics: false });
        metrics.requests.inc({ route: "/predict", method: "POST", status: "200" }, count);
        return metrics;
    };

    it("answers the primary's collection with its registry, and sums the parts the primary relays", async () => {
        const [mine, other] = [served(2), served(3)];
        const worker = fakeChannel();
        const metricsText = workerMetrics(mine.registry, worker.channel);
        worker.deliver({ type: metricsCollect, id: 7 });
        await vi.waitFor(() => expect(worker.sent).toHaveLength(1));
        expect(worker.sent[0]).toEqual({ type: metricsCollected, id: 7, metrics: await mine.registry.getMetricsAsJSON() });

        const text = metricsText();
        expect(worker.sent[1]).toEqual({ type: metricsRequest, id: 0 });
        worker.deliver({ type: metricsResponse, id: 0, parts: [await mine.registry.getMetricsAsJSON(), await other.registry.getMetricsAsJSON()] });
        expect(await text).toMatch(/^gateway_http_requests_total\{route="\/predict",method="POST",status="200"\} 5$/m);
    });

    it("fails with the primary's error, on parts it cannot sum, and when the primary never answers", async () => {
        const worker = fakeChannel();
        const metricsText = workerMetrics(served(1).registry, worker.channel, 50);
        const refused = metricsText();
        worker.deliver({ type: metricsResponse, id: 0, error: "not every worker answered in 5 s" });
        await expect(refused).rejects.toThrow("not every worker answered in 5 s");
        const garbled = metricsText();
        worker.deliver({ type: metricsResponse, id: 1, parts: [[{ name: "x", help: "x", type: "counter", values: [], aggregator: "no-such-aggregator" }]] });
        await expect(garbled).rejects.toThrow(/no-such-aggregator/);
        await expect(metricsText()).rejects.toThrow("the primary did not answer the metrics request in 0.05 s");
    });
});

describe("2 workers (node:cluster)", () => {
    it("spreads requests over both, sums /metrics, drains on SIGTERM and exits 0", async () => {
        const images = await startHttpServer({ "/ok.png": serveBytes(await pngOf(2, 2, 3, Array(12).fill(100)), "image/png") });
        const slow = await startStubTfServing({ scores: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], delayMs: 300 });
        const child = spawn(process.execPath, ["-r", path.join(__dirname, "fixtures/primaryModules.cjs"), gatewayScript("main"), "--http_port", "0"], {
            cwd: path.resolve(__dirname, "../.."),
            env: { ...process.env, TF_SERVING_HOST: slow.target, MODEL_INPUT_SIZE: "2,2", GATEWAY_ALLOWED_CIDRS: "127.0.0.0/8", LOG_LEVEL: "info", GATEWAY_WORKERS: "2" },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
        try {
            const port = await new Promise<number>((resolve, reject) => {
                const t = setTimeout(() => reject(new Error(`workers did not listen: ${out}`)), 40_000);
                child.stdout!.on("data", () => {
                    const ports = [...out.matchAll(/"msg":"gateway listening","port":(\d+),"worker":(\d+)/g)];
                    if (ports.length === 2) {
                        clearTimeout(t);
                        resolve(Number(ports[0][1]));
                    }
                });
            });
            const workers = new Set([...out.matchAll(/"worker":(\d+)/g)].map((m) => m[1]));
            expect(workers.size).toBe(2);
            const body = JSON.stringify({ url: `${images.url}/ok.png` });
            // Side by side: each waits on the slow stub, one after another would wait six times.
            expect(await Promise.all(Array.from({ length: 6 }, () => postFresh(port, body)))).toEqual(Array(6).fill(200));
            // Whichever worker answers /metrics reports all six.
            for (let i = 0; i < 2; i++) {
                const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: "close" } })).text();
                expect(text).toMatch(/gateway_http_requests_total\{route="\/predict",method="POST",status="200"\} 6\n/);
            }
            const inflight = postFresh(port, body);
            await new Promise((r) => setTimeout(r, 150));
            child.kill("SIGTERM");
            expect(await inflight).toBe(200);
            const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
            expect(code).toBe(0);
            const logs = out.trim().split("\n").map((l) => JSON.parse(l) as { msg: string });
            expect(logs.filter((l) => l.msg === "shutting down: draining in-flight requests")).toHaveLength(2);
            expect(logs.at(-1)?.msg).toBe("shutdown complete");
            // The primary only supervises and relays metrics: no prom-client, sharp or koffi in it.
            const primaryPackages = JSON.parse(/primary packages: (.*)\n/.exec(err)?.[1] ?? "null") as string[] | null;
            expect(primaryPackages, err).not.toBeNull();
            expect(primaryPackages!.filter((p) => ["prom-client", "sharp", "koffi", "@grpc/grpc-js"].includes(p))).toEqual([]);
        } finally {
            child.kill("SIGKILL");
            await images.close();
            await slow.close();
        }
    }, 90_000);
});
