/**
 * Entry point: `node dist/main.js [--model_name m] [--predictor_host h] [--http_port p] [--protocol v1|v2|tfserving-grpc|tfserving-rest]`.
 * Configuration errors print one message and exit 2; SIGTERM drains in-flight requests, then exits 0.
 */
import { parseConfig } from "./config";
import { closeDownloadAgents } from "./download";
import { createLogger } from "./log";
import { configureSharp } from "./preprocess";
import { createGateway } from "./server";

async function main(): Promise<void> {
    let parsed;
    try {
        parsed = parseConfig(process.argv.slice(2), process.env);
    } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        process.exit(2);
    }
    const { config, ignored } = parsed;
    const logger = createLogger(config.logLevel);
    configureSharp();
    process.on("unhandledRejection", (reason) => logger.error("unhandled rejection", { reason: String(reason) }));
    process.on("uncaughtException", (err) => {
        logger.error("uncaught exception, exiting", { error: String(err.stack ?? err) });
        process.exit(1);
    });

    const gateway = createGateway({ config, logger });
    const port = await gateway.listen(config.httpPort);
    logger.info("gateway listening", {
        port,
        model: config.modelName,
        protocol: config.predictor.protocol,
        predictor: config.predictor.target,
        inputSize: config.inputSize,
        kerasModel: config.kerasModel,
        labels: config.labels,
        defaultLabels: config.defaultLabels,
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
            logger.info("shutdown complete");
            process.exit(0);
        });
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
}

void main();
