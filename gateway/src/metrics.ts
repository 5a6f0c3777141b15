/** Prometheus metrics on a registry of the gateway's own (so tests can run several gateways). */
import * as client from "prom-client";

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
