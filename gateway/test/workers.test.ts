/**
 * GATEWAY_WORKERS: the default from the container's CPU limit, and a real 2-worker gateway
 * (main.ts under node:cluster): requests spread over both workers, /metrics sums them, SIGTERM
 * drains an in-flight request and every process exits 0.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { defaultWorkers } from "../src/config";
import { containerCpuLimit, parseCfsQuota, parseCpuMax } from "../src/cpuLimit";
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

describe("2 workers (node:cluster)", () => {
    it("spreads requests over both, sums /metrics, drains on SIGTERM and exits 0", async () => {
        const images = await startHttpServer({ "/ok.png": serveBytes(await pngOf(2, 2, 3, Array(12).fill(100)), "image/png") });
        const slow = await startStubTfServing({ scores: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], delayMs: 300 });
        const child = spawn(process.execPath, ["--import", "tsx", path.resolve(__dirname, "../src/main.ts"), "--http_port", "0"], {
            cwd: path.resolve(__dirname, "../.."),
            env: { ...process.env, TF_SERVING_HOST: slow.target, MODEL_INPUT_SIZE: "2,2", GATEWAY_ALLOWED_CIDRS: "127.0.0.0/8", LOG_LEVEL: "info", GATEWAY_WORKERS: "2" },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
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
            for (let i = 0; i < 6; i++) expect(await postFresh(port, body)).toBe(200);
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
        } finally {
            child.kill("SIGKILL");
            await images.close();
            await slow.close();
        }
    }, 90_000);
});
