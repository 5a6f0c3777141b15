/** Prometheus metrics on a registry of the gateway's own (so tests can run several gateways). */
import * as client from "prom-client";
import { metricsCollect, metricsCollected, metricsRequest, metricsResponse, type MetricsCollect, type MetricsCollected, type MetricsRequest, type MetricsResponse } from "./cluster";

export interface GatewayMetrics {
    readonly registry: client.Registry;
    readonly requests: client.Counter<"route" | "method" | "status">;
    readonly requestDuration: client.Histogram<"route" | "status">;
    readonly predictorDuration: client.Histogram<"protocol" | "outcome">;
    readonly downloadDuration: client.Histogram<"outcome">;
    readonly preprocessDuration: client.Histogram;
    readonly inFlight: client.Gauge;
    readonly errors: client.Counter<"code">;
}

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(options: { defaultMetrics?: boolean } = {}): GatewayMetrics {
    const registry = new client.Registry();
    if (options.defaultMetrics ?? true) client.collectDefaultMetrics({ register: registry, prefix: "gateway_" });
    return {
        registry,
        requests: new client.Counter({ name: "gateway_http_requests_total", help: "HTTP requests by route, method and status.", labelNames: ["route", "method", "status"], registers: [registry] }),
        requestDuration: new client.Histogram({ name: "gateway_http_request_duration_seconds", help: "HTTP request latency by route and status.", labelNames: ["route", "status"], buckets: latencyBuckets, registers: [registry] }),
        predictorDuration: new client.Histogram({ name: "gateway_predictor_duration_seconds", help: "Predictor call latency by protocol and outcome.", labelNames: ["protocol", "outcome"], buckets: latencyBuckets, registers: [registry] }),
        downloadDuration: new client.Histogram({ name: "gateway_image_download_duration_seconds", help: "Image download latency by outcome.", labelNames: ["outcome"], buckets: latencyBuckets, registers: [registry] }),
        preprocessDuration: new client.Histogram({ name: "gateway_preprocess_duration_seconds", help: "Decode, resize and normalise latency per image.", buckets: latencyBuckets, registers: [registry] }),
        inFlight: new client.Gauge({ name: "gateway_http_requests_in_flight", help: "Requests being served.", registers: [registry] }),
        errors: new client.Counter({ name: "gateway_errors_total", help: "Error responses by error code.", labelNames: ["code"], registers: [registry] }),
    };
}

/** The part of a worker's `process` the metrics protocol uses (a fake in tests). */
export interface ClusterChannel {
    on(event: "message", listener: (message: unknown) => void): unknown;
    send?(message: MetricsRequest | MetricsCollected): unknown;
}

/**
 * In a worker (cluster.ts has the protocol): answers the primary's collection requests with
 * `registry`, and returns the function the worker's `/metrics` uses to get the text summed over
 * every worker, prom-client's `AggregatorRegistry.aggregate` of every worker's registry.
 */
export function workerMetrics(registry: client.Registry, channel: ClusterChannel = process, timeoutMs = 10_000): () => Promise<string> {
    let next = 0;
    const pending = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
    const send = (message: MetricsRequest | MetricsCollected) => {
        if (!channel.send) throw new Error("this process has no cluster IPC channel");
        channel.send(message);
    };
    channel.on("message", (raw) => {
        const message = raw as MetricsCollect | MetricsResponse | undefined;
        if (message?.type === metricsCollect) {
            registry.getMetricsAsJSON().then(
                (metrics) => send({ type: metricsCollected, id: message.id, metrics }),
                (err: Error) => send({ type: metricsCollected, id: message.id, error: err.message }),
            );
            return;
        }
        if (message?.type !== metricsResponse) return;
        const p = pending.get(message.id);
        if (!p) return;
        pending.delete(message.id);
        clearTimeout(p.timer);
        if (message.parts === undefined) return p.reject(new Error(message.error ?? "no metrics"));
        try {
            client.AggregatorRegistry.aggregate(message.parts).metrics().then(p.resolve, p.reject);
        } catch (err) {
            p.reject(err as Error);
        }
    });
    return () =>
        new Promise<string>((resolve, reject) => {
            const id = next++;
            const timer = setTimeout(() => {
                pending.delete(id);
                reject(new Error(`the primary did not answer the metrics request in ${timeoutMs / 1000} s`));
            }, timeoutMs);
            pending.set(id, { resolve, reject, timer });
            try {
                send({ type: metricsRequest, id });
            } catch (err) {
                pending.delete(id);
                clearTimeout(timer);
                reject(err as Error);
            }
        });
}
