/**
 * TF Serving stand-in for `npm run bench:gateway`, run as its own process so its CPU is neither
 * the gateway's nor the load generator's.
 *
 * gRPC (h2c, framing by hand on node:http2) on 127.0.0.1: every `PredictionService/Predict` gets
 * the same PredictResponse (`dense_7`, DT_FLOAT [1, 10], the scores below) without the request
 * being decoded, so the stub costs as little CPU as possible. A control server (HTTP/1.1, also
 * 127.0.0.1) lets the bench check what each gateway sent: `POST /capture` keeps the next request
 * message, `GET /captured` returns it, `GET /calls` counts calls.
 *
 * Prints one line `{"grpcPort":…,"controlPort":…}` on stdout when both listen. Exits on SIGTERM or
 * when its parent goes away (stdin closes).
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";

export const stubScores = [-1.868, -4.761, -2.316, -1.062, 9.887, -2.812, -3.666, 3.2, -2.602, -4.835];

/** Serialized PredictResponse{outputs{"dense_7": DT_FLOAT [1,10] float_val}}, built by hand once. */
function fixedPredictResponse(): Buffer {
    const floats = Buffer.alloc(40);
    stubScores.forEach((s, i) => floats.writeFloatLE(s, i * 4));
    const shape = Buffer.from([0x12, 0x02, 0x08, 0x01, 0x12, 0x02, 0x08, 0x0a]);
    const tensor = Buffer.concat([Buffer.from([0x08, 0x01, 0x12, shape.length]), shape, Buffer.from([0x2a, floats.length]), floats]);
    const key = Buffer.from("dense_7");
    const entry = Buffer.concat([Buffer.from([0x0a, key.length]), key, Buffer.from([0x12, tensor.length]), tensor]);
    return Buffer.concat([Buffer.from([0x0a, entry.length]), entry]);
}

function main(): void {
    const message = fixedPredictResponse();
    const framed = Buffer.alloc(5 + message.length);
    framed.writeUInt32BE(message.length, 1);
    message.copy(framed, 5);
    let captured: Buffer | undefined;
    let capture = false;
    let calls = 0;

    // Large windows and session memory, as in TF Serving's gRPC core.
    const grpc = http2.createServer({ settings: { initialWindowSize: 16 * 1024 * 1024, maxConcurrentStreams: 1000 }, maxSessionMemory: 1024 });
    grpc.on("session", (session) => session.on("connect", () => session.setLocalWindowSize(16 * 1024 * 1024)));
    grpc.on("stream", (stream, headers) => {
        if (headers[":path"] !== "/tensorflow.serving.PredictionService/Predict") {
            stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12" }, { endStream: true });
            return;
        }
        calls++;
        const chunks: Buffer[] | undefined = capture ? [] : undefined;
        capture = false;
        // A client that gives up on a call (the gateway cancels it when its caller is gone, as at
        // the end of every load window) resets the stream: nothing to answer, and nothing to crash on.
        stream.on("error", () => undefined);
        stream.on("data", (c: Buffer) => chunks?.push(c));
        stream.on("end", () => {
            if (stream.destroyed || stream.closed) return;
            if (chunks) captured = Buffer.concat(chunks).subarray(5);
            stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
            stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
            stream.end(framed);
        });
    });

    const control = http.createServer((req, res) => {
        if (req.method === "POST" && req.url === "/capture") {
            captured = undefined;
            capture = true;
            res.end("armed");
        } else if (req.url === "/captured") {
            if (!captured) {
                res.writeHead(404);
                res.end();
            } else {
                res.writeHead(200, { "content-type": "application/octet-stream" });
                res.end(captured);
            }
        } else if (req.url === "/calls") res.end(String(calls));
        else {
            res.writeHead(404);
            res.end();
        }
    });

    let pending = 2;
    const ready = () => {
        if (--pending === 0) {
            process.stdout.write(`${JSON.stringify({ grpcPort: (grpc.address() as AddressInfo).port, controlPort: (control.address() as AddressInfo).port })}\n`);
        }
    };
    grpc.listen(0, "127.0.0.1", ready);
    control.listen(0, "127.0.0.1", ready);
    const stop = () => process.exit(0);
    process.on("SIGTERM", stop);
    process.stdin.on("end", stop);
    process.stdin.resume();
}

if (require.main === module) main();
