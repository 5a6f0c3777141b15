/**
 * End-to-end: the gateway on loopback in front of stub predictors (TF Serving gRPC, TF Serving
 * REST, KServe v1, v2 JSON and v2 binary), fetching a generated image from a loopback server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import sharp from "sharp";
import { defaultClothingLabels } from "../src/labels";
import { floatsOf, pngOf, postJson, type RunningGateway, serveBytes, startGateway, startHttpServer, startStubTfServing, type StubServer, testConfig } from "./helpers";

// A 4×3 RGB image; the gateway resizes it to 2×2 (height 2, width 2).
// PIL nearest: x indices for 4→2 are [1, 3]; y indices for 3→2 are [0, 2] (0.75 → 0, 2.25 → 2).
const W = 4;
const H = 3;
const pixel = (x: number, y: number) => [10 * x + y, 100 + x, 200 + y];
const pixels: number[] = [];
for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) pixels.push(...pixel(x, y));
const picked = [pixel(1, 0), pixel(3, 0), pixel(1, 2), pixel(3, 2)].flat();
// Xception/tf mode by hand: v / 127.5 - 1 in float32.
const expectedXception = picked.map((v) => Math.fround(Math.fround(v / 127.5) - 1));

const scores = [-1.868, -4.761, -2.316, -1.062, 9.887, -2.812, -3.666, 3.2, -2.602, -4.835];

let images: StubServer;
let png: Buffer;

beforeAll(async () => {
    png = await pngOf(W, H, 3, pixels);
    images = await startHttpServer({ "/pants.png": serveBytes(png, "image/png") });
});
afterAll(async () => {
    await images.close();
});

function expectLabelled(result: Record<string, number>, offset = 0) {
    expect(Object.keys(result)).toEqual([...defaultClothingLabels]);
    defaultClothingLabels.forEach((l, i) => expect(result[l]).toBeCloseTo(scores[i] + offset, 3));
}

describe("TF Serving gRPC (the seeds' gateway)", () => {
    let gw: RunningGateway;
    let stub: Awaited<ReturnType<typeof startStubTfServing>>;
    beforeAll(async () => {
        stub = await startStubTfServing({ scores });
        gw = await startGateway(testConfig([], { TF_SERVING_HOST: stub.target, MODEL_INPUT_SIZE: "2,2", MODEL_NAME: "clothing-model" }));
    });
    afterAll(async () => {
        await gw.close();
        await stub.close();
    });

    it("POST /predict returns the labelled scores", async () => {
        const res = await postJson(`${gw.url}/predict`, { url: `${images.url}/pants.png` });
        expect(res.status).toBe(200);
        expectLabelled(res.json);
    });

    it("sends model_spec, DT_FLOAT, shape [1,2,2,3] and the xception values in tensor_content", () => {
        const call = stub.calls.at(-1)!;
        expect(call.model_spec?.name).toBe("clothing-model");
        expect(call.model_spec?.signature_name).toBe("serving_default");
        const input = call.inputs?.input_8;
        expect(input).toBeDefined();
        expect(input!.dtype).toBe(1);
        expect(input!.tensor_shape!.dim!.map((d) => Number(d.size))).toEqual([1, 2, 2, 3]);
        expect(input!.float_val ?? []).toEqual([]);
        expect(Array.from(floatsOf(input!.tensor_content!))).toEqual(expectedXception);
    });

    it("KServe v1 :predict batches url and b64 instances into one call", async () => {
        const before = stub.calls.length;
        const res = await postJson(`${gw.url}/v1/models/clothing-model:predict`, { instances: [{ url: `${images.url}/pants.png` }, { b64: png.toString("base64") }] });
        expect(res.status).toBe(200);
        expect(res.json.predictions).toHaveLength(2);
        expectLabelled(res.json.predictions[0], 0);
        expectLabelled(res.json.predictions[1], 1); // the stub adds the batch index
        expect(stub.calls.length).toBe(before + 1);
        const input = stub.calls.at(-1)!.inputs!.input_8;
        expect(input.tensor_shape!.dim!.map((d) => Number(d.size))).toEqual([2, 2, 2, 3]);
        const floats = Array.from(floatsOf(input.tensor_content!));
        expect(floats).toEqual([...expectedXception, ...expectedXception]);
    });

    it("v2 infer with BYTES input answers scores and labels", async () => {
        const res = await postJson(`${gw.url}/v2/models/clothing-model/infer`, { id: "r1", inputs: [{ name: "image", datatype: "BYTES", shape: [1], data: [`${images.url}/pants.png`] }] });
        expect(res.status).toBe(200);
        expect(res.json.id).toBe("r1");
        const byName = Object.fromEntries(res.json.outputs.map((o: any) => [o.name, o]));
        expect(byName.labels.data).toEqual([...defaultClothingLabels]);
        expect(byName.scores.shape).toEqual([1, 10]);
        byName.scores.data.forEach((s: number, i: number) => expect(s).toBeCloseTo(scores[i], 3));
    });

    it("a 640x480 JPEG goes to the predictor as [1,299,299,3] within [-1, 1]", async () => {
        const stub299 = await startStubTfServing({ scores });
        const gw299 = await startGateway(testConfig([], { TF_SERVING_HOST: stub299.target }));
        const jpeg = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 255, g: 0, b: 51 } } }).jpeg({ quality: 95 }).toBuffer();
        const server = await startHttpServer({ "/x.jpg": serveBytes(jpeg, "image/jpeg") });
        try {
            const res = await postJson(`${gw299.url}/predict`, { url: `${server.url}/x.jpg` });
            expect(res.status).toBe(200);
            const input = stub299.calls[0].inputs!.input_8;
            expect(input.tensor_shape!.dim!.map((d) => Number(d.size))).toEqual([1, 299, 299, 3]);
            const floats = floatsOf(input.tensor_content!);
            expect(floats.length).toBe(299 * 299 * 3);
            // Solid colour (JPEG may shift a level or two): red ≈ 1, green ≈ -1, blue ≈ 51/127.5 - 1 = -0.6.
            expect(floats[0]).toBeGreaterThan(0.97);
            expect(floats[1]).toBeLessThan(-0.97);
            expect(floats[2]).toBeCloseTo(-0.6, 1);
        } finally {
            await gw299.close();
            await stub299.close();
            await server.close();
        }
    });
});

describe("REST predictors", () => {
    const predictionsHandler = (outputKey?: string) => (req: any, res: any, body: Buffer) => {
        const parsed = JSON.parse(body.toString());
        const n = parsed.instances.length;
        const preds = Array.from({ length: n }, (_, i) => scores.map((s) => s + i));
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ predictions: outputKey ? preds.map((p) => ({ [outputKey]: p })) : preds }));
    };

    it("KServe v1: nested instances text with the preprocessed values", async () => {
        const pred = await startHttpServer({ "/v1/models/clothing-model:predict": predictionsHandler() });
        const gw = await startGateway(testConfig(["--model_name", "clothing-model", "--predictor_host", `127.0.0.1:${pred.port}`, "--http_port", "8080"], { MODEL_INPUT_SIZE: "2,2", KERAS_MODEL_NAME: "xception" }));
        try {
            const res = await postJson(`${gw.url}/v1/models/clothing-model:predict`, { instances: [{ url: `${images.url}/pants.png` }] });
            expect(res.status).toBe(200);
            expectLabelled(res.json.predictions[0]);
            const sent = JSON.parse(pred.requests[0].body.toString());
            expect(sent.signature_name).toBeUndefined();
            expect(sent.instances).toHaveLength(1);
            const flat = (sent.instances as number[][][][]).flat(3);
            expect(sent.instances[0]).toHaveLength(2);
            expect(sent.instances[0][0]).toHaveLength(2);
            expect(flat.map((v) => Math.fround(v))).toEqual(expectedXception);
        } finally {
            await gw.close();
            await pred.close();
        }
    });

    it("TF Serving REST: signature_name and outputs keyed by name", async () => {
        const pred = await startHttpServer({ "/v1/models/clothing-model:predict": predictionsHandler("dense_7") });
        const gw = await startGateway(testConfig(["--protocol", "tfserving-rest", "--predictor_host", `http://127.0.0.1:${pred.port}`], { MODEL_INPUT_SIZE: "2,2", MODEL_OUTPUT_NAME: "dense_7" }));
        try {
            const res = await postJson(`${gw.url}/predict`, { url: `${images.url}/pants.png` });
            expect(res.status).toBe(200);
            expectLabelled(res.json);
            expect(JSON.parse(pred.requests[0].body.toString()).signature_name).toBe("serving_default");
        } finally {
            await gw.close();
            await pred.close();
        }
    });

    it("v2 JSON: FP32 input with flattened data, FP32 output read back", async () => {
        const pred = await startHttpServer({
            "/v2/models/clothing-model/infer": (_req, res, body) => {
                const parsed = JSON.parse(body.toString());
                const n = parsed.inputs[0].shape[0];
                res.writeHead(200, { "content-type": "application/json" });
                res.end(JSON.stringify({ model_name: "clothing-model", outputs: [{ name: "dense_7", datatype: "FP32", shape: [n, 10], data: scores }] }));
            },
        });
        const gw = await startGateway(testConfig(["--protocol", "v2", "--predictor_host", `127.0.0.1:${pred.port}`], { MODEL_INPUT_SIZE: "2,2" }));
        try {
            const res = await postJson(`${gw.url}/predict`, { url: `${images.url}/pants.png` });
            expect(res.status).toBe(200);
            expectLabelled(res.json);
            const input = JSON.parse(pred.requests[0].body.toString()).inputs[0];
            expect(input).toMatchObject({ name: "input_8", datatype: "FP32", shape: [1, 2, 2, 3] });
            expect((input.data as number[]).map((v) => Math.fround(v))).toEqual(expectedXception);
        } finally {
            await gw.close();
            await pred.close();
        }
    });

    it("v2 binary extension: raw FP32 bytes after the JSON header, binary output read back", async () => {
        const pred = await startHttpServer({
            "/v2/models/clothing-model/infer": (req, res, body) => {
                const hl = Number(req.headers["inference-header-content-length"]);
                const header = JSON.parse(body.subarray(0, hl).toString());
                const out = Buffer.from(new Float32Array(scores).buffer);
                const json = JSON.stringify({ outputs: [{ name: "dense_7", datatype: "FP32", shape: [header.inputs[0].shape[0], 10], parameters: { binary_data_size: out.length } }] });
                res.writeHead(200, { "content-type": "application/octet-stream", "inference-header-content-length": String(Buffer.byteLength(json)) });
                res.end(Buffer.concat([Buffer.from(json), out]));
            },
        });
        const gw = await startGateway(testConfig(["--protocol", "v2", "--predictor_host", `127.0.0.1:${pred.port}`], { MODEL_INPUT_SIZE: "2,2", V2_BINARY_DATA: "true" }));
        try {
            const res = await postJson(`${gw.url}/predict`, { url: `${images.url}/pants.png` });
            expect(res.status).toBe(200);
            expectLabelled(res.json);
            const r = pred.requests[0];
            const hl = Number(r.headers["inference-header-content-length"]);
            const header = JSON.parse(r.body.subarray(0, hl).toString());
            expect(header.inputs[0]).toMatchObject({ name: "input_8", datatype: "FP32", shape: [1, 2, 2, 3], parameters: { binary_data_size: 48 } });
            expect(r.body.length - hl).toBe(48);
            expect(Array.from(floatsOf(r.body.subarray(hl)))).toEqual(expectedXception);
        } finally {
            await gw.close();
            await pred.close();
        }
    });
});
