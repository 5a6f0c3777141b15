/**
 * GATEWAY_WORKERS > 1: a primary process that only supervises, and worker processes that each run
 * the whole gateway on the shared port (node:cluster; the primary hands out connections round
 * robin). What keeps working across processes:
 * - Graceful drain: SIGTERM/SIGINT to the primary (PID 1 in the container) is passed to every
 *   worker; each turns unready, stops accepting, finishes its in-flight requests (up to the drain
 *   timeout) and exits 0; the primary exits 0 when all have. A worker that dies otherwise is
 *   replaced, unless the primary is stopping.
 * - Metrics: `/metrics` on any worker answers the sum over all workers (prom-client's
 *   AggregatorRegistry, asked through the primary over the cluster IPC channel).
 * The primary loads neither sharp nor the gateway's server code.
 */
import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";
import type { Logger } from "./log";

const metricsRequest = "gateway:metrics-request";
const metricsResponse = "gateway:metrics-response";

interface MetricsRequest {
    type: typeof metricsRequest;
    id: number;
}
interface MetricsResponse {
    type: typeof metricsResponse;
    id: number;
    text?: string;
    error?: string;
}

/** Runs the primary: forks `workers`, replaces crashed ones, forwards SIGTERM/SIGINT, serves metric requests. */
export function runPrimary(workers: number, logger: Logger): void {
    const aggregator = new AggregatorRegistry();
    let stopping = false;
    const fork = () => cluster.fork();
    cluster.on("message", (worker: Worker, message: MetricsRequest) => {
        if (message?.type !== metricsRequest) return;
        aggregator.clusterMetrics().then(
            (text) => worker.isConnected() && worker.send({ type: metricsResponse, id: message.id, text } satisfies MetricsResponse),
            (err: Error) => worker.isConnected() && worker.send({ type: metricsResponse, id: message.id, error: err.message } satisfies MetricsResponse),
        );
    });
    cluster.on("exit", (worker, code, signal) => {
        if (stopping) {
            if (Object.keys(cluster.workers ?? {}).length === 0) {
                logger.info("shutdown complete");
                process.exit(0);
            }
            return;
        }
        logger.warn("worker exited; starting another", { pid: worker.process.pid, code, signal });
        fork();
    });
    const stop = (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        logger.info("shutting down: draining the workers", { signal, workers: Object.keys(cluster.workers ?? {}).length });
        for (const w of Object.values(cluster.workers ?? {})) if (w?.process.pid) process.kill(w.process.pid, "SIGTERM");
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    for (let i = 0; i < workers; i++) fork();
}

/**
 * In a worker: answers the primary's aggregation requests with `registry`, and returns the
 * function the worker's `/metrics` uses to get the text summed over every worker.
 */
export function workerMetrics(registry: Registry): () => Promise<string> {
    new AggregatorRegistry(); // registers prom-client's worker-side listener
    AggregatorRegistry.setRegistries([registry]);
    let next = 0;
    const pending = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
    process.on("message", (message: MetricsResponse) => {
        if (message?.type !== metricsResponse) return;
        const p = pending.get(message.id);
        if (!p) return;
        pending.delete(message.id);
        clearTimeout(p.timer);
        if (message.text !== undefined) p.resolve(message.text);
        else p.reject(new Error(message.error ?? "no metrics"));
    });
    return () =>
        new Promise<string>((resolve, reject) => {
            const id = next++;
            const timer = setTimeout(() => {
                pending.delete(id);
                reject(new Error("the primary did not answer the metrics request in 10 s"));
            }, 10_000);
            pending.set(id, { resolve, reject, timer });
            process.send!({ type: metricsRequest, id } satisfies MetricsRequest);
        });
}

export const isPrimary = () => cluster.isPrimary;
