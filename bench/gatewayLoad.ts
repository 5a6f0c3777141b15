/**
 * Fallback load generator for `npm run bench:gateway` when wrk is not installed: its own process,
 * keep-alive connections, closed loop (each connection sends its next request when the previous
 * answer arrives), for a fixed time. Prints the same JSON line as bench/gatewayWrk.lua.
 *
 * Usage: node --import tsx bench/gatewayLoad.ts URL CONCURRENCY SECONDS   (body in BENCH_BODY)
 */
import * as http from "node:http";

async function main(): Promise<void> {
    const [url, cText, sText] = process.argv.slice(2);
    const concurrency = Number(cText);
    const durationMs = Number(sText) * 1000;
    const body = process.env.BENCH_BODY ?? "";
    const target = new URL(url);
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const latencies: number[] = [];
    let non2xx = 0;
    let socketErrors = 0;
    const start = performance.now();
    const end = start + durationMs;
    const one = () =>
        new Promise<void>((resolve) => {
            const t0 = performance.now();
            const req = http.request(
                { host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
                (res) => {
                    res.resume();
                    res.on("end", () => {
                        latencies.push((performance.now() - t0) * 1000);
                        if ((res.statusCode ?? 0) >= 300) non2xx++;
                        resolve();
                    });
                },
            );
            req.on("error", () => {
                socketErrors++;
                resolve();
            });
            req.end(body);
        });
    await Promise.all(
        Array.from({ length: concurrency }, async () => {
            while (performance.now() < end) await one();
        }),
    );
    const durationUs = (performance.now() - start) * 1000;
    agent.destroy();
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0);
    process.stdout.write(`${JSON.stringify({ requests: latencies.length, durationUs: Math.round(durationUs), non2xx, socketErrors, p50Us: pct(50), p99Us: pct(99), maxUs: Math.round(latencies[latencies.length - 1] ?? 0) })}\n`);
}

void main();
