/**
 * Entry point: `node dist/main.js [--model_name m] [--predictor_host h] [--http_port p] [--protocol v1|v2|tfserving-grpc|tfserving-rest]`.
 * Configuration errors print one message and exit 2; SIGTERM drains in-flight requests, then exits 0.
 * With GATEWAY_WORKERS > 1 (default: the container's CPU limit) this process supervises that many
 * worker processes (cluster.ts), each serving the port.
 */
import { availableParallelism } from "node:os";
import { isPrimary, runPrimary } from "./cluster";
import { parseConfig } from "./config";
import { containerCpuLimit, containerMemoryLimit } from "./containerLimits";
import { createLogger } from "./log";

async function main(): Promise<void> {
    let parsed;
    try {
        parsed = parseConfig(process.argv.slice(2), process.env, { cpuLimit: containerCpuLimit(), memoryLimit: containerMemoryLimit(), cpus: availableParallelism() });
    } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        process.exit(2);
    }
    const { config, ignored } = parsed;
    const logger = createLogger(config.logLevel);
    const clustered = config.workers > 1;
    const primary = clustered && isPrimary();
    let jpegDecoder;
    try {
        // A primary serves nothing, but it checks that a required TurboJPEG loads: a missing library
        // then stops the container once, with one message, instead of workers exiting 2 in a loop.
        // koffi (a native module) is loaded only where TurboJPEG may be used.
        if (config.jpeg.decoder === "libjpeg-turbo" || (config.jpeg.decoder === "auto" && !primary)) {
            const { selectJpegDecoder } = await import("./turboJpeg");
            jpegDecoder = selectJpegDecoder(config.jpeg, logger);
        }
    } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        process.exit(2);
    }
    if (primary) {
        logger.info("starting workers", { workers: config.workers, port: config.httpPort });
        runPrimary(config.workers, logger);
        return;
    }
    // Loaded only where requests are served: the primary needs neither the server nor its packages.
    const { closeDownloadAgents } = await import("./download");
    const { createGateway } = await import("./server");
    if (!jpegDecoder) {
        // Every JPEG is sharp's to decode: load it now, so a broken install fails the start.
        const { loadSharp } = await import("./preprocess");
        try {
            loadSharp();
        } catch (err) {
            process.stderr.write(`${(err as Error).message}\n`);
            process.exit(1);
        }
    }
    process.on("unhandledRejection", (reason) => logger.error("unhandled rejection", { reason: String(reason) }));
    process.on("uncaughtException", (err) => {
        logger.error("uncaught exception, exiting", { error: String(err.stack ?? err) });
        process.exit(1);
    });

    const { createMetrics, workerMetrics } = await import("./metrics");
    const metrics = createMetrics();
    const gateway = createGateway({ config, logger, metrics, jpegDecoder, ...(clustered ? { metricsText: workerMetrics(metrics.registry) } : {}) });
    const port = await gateway.listen(config.httpPort);
    logger.info("gateway listening", {
        port,
        ...(clustered ? { worker: process.pid } : {}),
        model: config.modelName,
        protocol: config.predictor.protocol,
        predictor: config.predictor.target,
        inputSize: config.inputSize,
        kerasModel: config.kerasModel,
        labels: config.labels,
        defaultLabels: config.defaultLabels,
        workers: config.workers,
        jpegDecoder: jpegDecoder ? `libjpeg-turbo (${jpegDecoder.library})` : "sharp",
        ...(ignored.length > 0 ? { ignoredArguments: ignored } : {}),
    });
    if (config.defaultLabels) logger.info("MODEL_LABELS not set: using the seeds' 10 clothing labels");
    void gateway.predictor.probe(2000).then((ok) => logger[ok ? "info" : "warn"](ok ? "predictor reachable" : "predictor not reachable yet", { predictor: config.predictor.target }));

    let stopping = false;
    const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info("shutting down: draining in-flight requests", { signal, inFlight: gateway.inFlight });
        void gateway.shutdown().then(() => {
            closeDownloadAgents();
            if (!clustered) logger.info("shutdown complete");
            process.exit(0);
        });
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    // A worker ignores the terminal's SIGINT: the primary passes the stop on as SIGTERM.
    process.on("SIGINT", () => (clustered ? undefined : stop("SIGINT")));
}

void main();
