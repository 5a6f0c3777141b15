/** The lean gRPC channel against grpc-js stub servers: framing, DNS round robin, failures. */
import { describe, expect, it } from "vitest";
import { decodePredictResponse, prepareTfPredictRequest } from "../src/codecs";
import { GrpcChannel, GrpcError, GrpcStatus, parseGrpcTarget } from "../src/grpcChannel";
import { pngOf, postJson, serveBytes, startGateway, startHttpServer, startStubTfServing, testConfig } from "./helpers";

const scores = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const method = "/tensorflow.serving.PredictionService/Predict";
const request = () => prepareTfPredictRequest({ modelName: "m", signatureName: "serving_default", inputName: "input_8" }, [1, 2, 2, 3]).message;

describe("parseGrpcTarget", () => {
    it.each([
        ["dns:///tf.default.svc:8500", { kind: "dns", host: "tf.default.svc", port: 8500 }],
        ["dns:tf:9000", { kind: "dns", host: "tf", port: 9000 }],
        ["tf-serving:8500", { kind: "dns", host: "tf-serving", port: 8500 }],
        ["dns:///[::1]:8500", { kind: "dns", host: "::1", port: 8500 }],
    ])("%s", (t, expected) => expect(parseGrpcTarget(t)).toMatchObject(expected));

    it("static ipv4 lists and bad targets", () => {
        expect(parseGrpcTarget("ipv4:10.0.0.1:8500,10.0.0.2:8501").addresses).toEqual([
            { address: "10.0.0.1", port: 8500 },
            { address: "10.0.0.2", port: 8501 },
        ]);
        expect(() => parseGrpcTarget("dns://8.8.8.8/tf:8500")).toThrow(/authorities/);
        expect(() => parseGrpcTarget("tf:99999")).toThrow(/bad port/);
    });
});

describe("GrpcChannel", () => {
    it("sends a framed Predict the grpc-js server decodes, and returns the response message", async () => {
        const stub = await startStubTfServing({ scores });
        const ch = new GrpcChannel(`dns:///${stub.target}`);
        try {
            const res = await ch.unary(method, request(), 2000);
            expect(decodePredictResponse(res).outputs.dense_7.float_val).toEqual(scores);
            expect(stub.calls[0].model_spec?.name).toBe("m");
            expect(stub.calls[0].inputs?.input_8.tensor_content?.length).toBe(48);
        } finally {
            ch.close();
            await stub.close();
        }
    });

    it("32 concurrent 1 MiB tensors to a grpc-js server (its default flow-control window) all succeed", async () => {
        // Node's http2 client otherwise refuses new streams with ENHANCE_YOUR_CALM once 10 MB is queued.
        const stub = await startStubTfServing({ scores });
        const ch = new GrpcChannel(`dns:///${stub.target}`);
        try {
            const big = () => prepareTfPredictRequest({ modelName: "m", signatureName: "serving_default", inputName: "input_8" }, [1, 299, 299, 3]).message;
            const answers = await Promise.allSettled(Array.from({ length: 32 }, () => ch.unary(method, big(), 30_000)));
            expect(answers.filter((a) => a.status === "rejected").map((a) => String((a as PromiseRejectedResult).reason))).toEqual([]);
            expect(stub.calls).toHaveLength(32);
        } finally {
            ch.close();
            await stub.close();
        }
    });

    it("round-robins over every DNS answer and follows DNS changes", async () => {
        const a = await startStubTfServing({ scores });
        const port = Number(a.target.split(":")[1]);
        const b = await startStubTfServing({ scores, host: "127.0.0.2", port });
        let answers = [
            { address: "127.0.0.1", family: 4 },
            { address: "127.0.0.2", family: 4 },
        ];
        const ch = new GrpcChannel(`dns:///tf-serving.invalid:${port}`, { lookup: async () => answers, resolveIntervalMs: 50, minResolveIntervalMs: 10 });
        try {
            for (let i = 0; i < 10; i++) await ch.unary(method, request(), 2000);
            expect(a.calls.length).toBe(5);
            expect(b.calls.length).toBe(5);
            answers = [{ address: "127.0.0.2", family: 4 }];
            await new Promise((r) => setTimeout(r, 80));
            await ch.unary(method, request(), 2000); // triggers the re-resolution
            await new Promise((r) => setTimeout(r, 20));
            const before = a.calls.length;
            for (let i = 0; i < 6; i++) await ch.unary(method, request(), 2000);
            expect(a.calls.length).toBe(before);
            expect(ch.addresses).toEqual(["127.0.0.2:" + port]);
        } finally {
            ch.close();
            await a.close();
            await b.close();
        }
    });

    it("maps server status, deadline, cancellation and unreachable to gRPC codes", async () => {
        const failing = await startStubTfServing({ scores, fail: 3 });
        const slow = await startStubTfServing({ scores, delayMs: 2000 });
        const f = new GrpcChannel(failing.target);
        const s = new GrpcChannel(slow.target);
        const none = new GrpcChannel("127.0.0.1:1", { initialBackoffMs: 50 });
        try {
            await expect(f.unary(method, request(), 2000)).rejects.toMatchObject({ code: 3, details: "stub failure" });
            await expect(s.unary(method, request(), 200)).rejects.toMatchObject({ code: GrpcStatus.DEADLINE_EXCEEDED });
            const ac = new AbortController();
            const p = s.unary(method, request(), 5000, ac.signal);
            setTimeout(() => ac.abort(), 100);
            await expect(p).rejects.toMatchObject({ code: GrpcStatus.CANCELLED });
            const err = await none.unary(method, request(), 1000).catch((e: unknown) => e);
            expect(err).toBeInstanceOf(GrpcError);
            expect((err as GrpcError).code).toBe(GrpcStatus.UNAVAILABLE);
            expect(await none.probe(300)).toBe(false);
            expect(await f.probe(1000)).toBe(true);
        } finally {
            f.close();
            s.close();
            none.close();
            await failing.close();
            await slow.close();
        }
    });

    it("the grpc-js transport (GRPC_CLIENT=grpc-js) gives the same answers", async () => {
        const stub = await startStubTfServing({ scores });
        const images = await startHttpServer({ "/ok.png": serveBytes(await pngOf(2, 2, 3, Array(12).fill(9)), "image/png") });
        const gw = await startGateway(testConfig([], { TF_SERVING_HOST: stub.target, MODEL_INPUT_SIZE: "2,2", GRPC_CLIENT: "grpc-js" }));
        try {
            const res = await postJson(`${gw.url}/predict`, { url: `${images.url}/ok.png` });
            expect(res.status).toBe(200);
            expect(res.json.pants).toBeCloseTo(4, 5);
            expect(stub.calls[0].inputs?.input_8.tensor_shape?.dim?.map((d) => Number(d.size))).toEqual([1, 2, 2, 3]);
        } finally {
            await gw.close();
            await stub.close();
            await images.close();
        }
    });
});
