/**
 * GATEWAY_WORKERS > 1: a primary process that only supervises, and worker processes that each run
 * the whole gateway on the shared port (node:cluster; the primary hands out connections round
 * robin). What keeps working across processes:
 * - Graceful drain: SIGTERM/SIGINT to the primary (PID 1 in the container) is passed to every
 *   worker; each turns unready, stops accepting, finishes its in-flight requests (up to the drain
 *   timeout) and exits 0; the primary exits 0 when all have. A worker that dies otherwise is
 *   replaced, unless the primary is stopping.
 * - Metrics: `/metrics` on any worker answers the sum over all workers: the primary collects every
 *   worker's registry over the cluster IPC channel and the asking worker sums them (metrics.ts,
 *   `workerMetrics`).
 * The primary loads neither sharp, prom-client nor the gateway's server code.
 */
import cluster, { type Worker } from "node:cluster";
import type { Logger } from "./log";

/**
 * The cluster's metrics protocol. A worker asks the primary for the metrics (MetricsRequest); the
 * primary asks every worker for its registry as JSON (MetricsCollect / MetricsCollected, prom-client's
 * `getMetricsAsJSON`) and hands the parts to the asking worker (MetricsResponse), which sums and
 * renders them. The primary only relays, so it never loads prom-client (about 8 MB of memory).
 */
export const metricsRequest = "gateway:metrics-request";
export const metricsCollect = "gateway:metrics-collect";
export const metricsCollected = "gateway:metrics-collected";
export const metricsResponse = "gateway:metrics-response";

export interface MetricsRequest {
    type: typeof metricsRequest;
    id: number;
}
export interface MetricsCollect {
    type: typeof metricsCollect;
    id: number;
}
export interface MetricsCollected {
    type: typeof metricsCollected;
    id: number;
    /** The worker's registry, `Registry.getMetricsAsJSON()`. */
    metrics?: unknown[];
    error?: string;
}
export interface MetricsResponse {
    type: typeof metricsResponse;
    id: number;
    /** One `getMetricsAsJSON()` per worker, for prom-client's `AggregatorRegistry.aggregate`. */
    parts?: unknown[][];
    error?: string;
}

/** How long the primary waits for every worker's metrics before answering with an error. */
export const metricsCollectTimeoutMs = 5_000;

/** Runs the primary: forks `workers`, replaces crashed ones, forwards SIGTERM/SIGINT, serves metric requests. */
export function runPrimary(workers: number, logger: Logger): void {
    let stopping = false;
    const fork = () => cluster.fork();
    let nextCollection = 0;
    const collections = new Map<number, { parts: unknown[][]; waitingFor: Set<number>; done: (error?: string) => void }>();
    cluster.on("message", (worker: Worker, message: MetricsRequest | MetricsCollected) => {
        if (message?.type === metricsCollected) {
            const c = collections.get(message.id);
            if (!c || !c.waitingFor.delete(worker.id)) return;
            if (message.error !== undefined || !Array.isArray(message.metrics)) return c.done(`worker ${worker.process.pid}: ${message.error ?? "no metrics"}`);
            c.parts.push(message.metrics);
            if (c.waitingFor.size === 0) c.done();
            return;
        }
        if (message?.type !== metricsRequest) return;
        const id = nextCollection++;
        const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
        const reply = (answer: MetricsResponse) => worker.isConnected() && worker.send(answer);
        const timer = setTimeout(() => collections.get(id)?.done(`not every worker answered in ${metricsCollectTimeoutMs / 1000} s`), metricsCollectTimeoutMs);
        const collection = {
            parts: [] as unknown[][],
            waitingFor: new Set(live.map((w) => w.id)),
            done: (error?: string) => {
                collections.delete(id);
                clearTimeout(timer);
                reply(error === undefined ? { type: metricsResponse, id: message.id, parts: collection.parts } : { type: metricsResponse, id: message.id, error });
            },
        };
        collections.set(id, collection);
        for (const w of live) w.send({ type: metricsCollect, id } satisfies MetricsCollect);
    });
    cluster.on("exit", (worker, code, signal) => {
        // A collection waiting for this worker goes on without it.
        for (const c of collections.values()) if (c.waitingFor.delete(worker.id) && c.waitingFor.size === 0) c.done();
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

export const isPrimary = () => cluster.isPrimary;
