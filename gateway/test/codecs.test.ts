import { describe, expect, it } from "vitest";
import * as protoLoader from "@grpc/proto-loader";
import {
    createFloatFormatter,
    decodePredictResponse,
    nestedArrayText,
    parseV1Response,
    parseV2Response,
    prepareTfPredictRequest,
    prepareV2BinaryRequest,
    rowsOf,
    tensorProtoValues,
    v1RequestBody,
    v2JsonRequestBody,
} from "../src/codecs";
import { protoDir } from "./helpers";

describe("TF Serving PredictRequest encoding", () => {
    it("matches bytes written by hand from the public field numbers", () => {
        const { message, tensor } = prepareTfPredictRequest({ modelName: "m", signatureName: "s", inputName: "i" }, [1, 1, 1, 1]);
        tensor[0] = 1;
        // PredictRequest.model_spec (1) = ModelSpec{name (1) = "m", signature_name (3) = "s"}
        const modelSpec = [0x0a, 0x06, 0x0a, 0x01, 0x6d, 0x1a, 0x01, 0x73];
        // TensorProto{dtype (1) = DT_FLOAT (1), tensor_shape (2) = {dim (2) = {size (1) = 1} ×4}, tensor_content (4) = 1.0f LE}
        const dims = [0x12, 0x02, 0x08, 0x01, 0x12, 0x02, 0x08, 0x01, 0x12, 0x02, 0x08, 0x01, 0x12, 0x02, 0x08, 0x01];
        const tensorProto = [0x08, 0x01, 0x12, 0x10, ...dims, 0x22, 0x04, 0x00, 0x00, 0x80, 0x3f];
        // inputs (2) map entry {key (1) = "i", value (2) = TensorProto}
        const entry = [0x0a, 0x01, 0x69, 0x12, tensorProto.length, ...tensorProto];
        expect(Array.from(message)).toEqual([...modelSpec, 0x12, entry.length, ...entry]);
    });

    it("decodes with the repo's .proto (proto-loader) to the same tensor", () => {
        const def = protoLoader.loadSync("tf_serving_predict.proto", { includeDirs: [protoDir], keepCase: true, longs: Number, enums: Number });
        const svc = def["tensorflow.serving.PredictionService"] as protoLoader.ServiceDefinition;
        const { message, tensor } = prepareTfPredictRequest({ modelName: "clothing-model", signatureName: "serving_default", inputName: "input_8" }, [2, 3, 5, 3]);
        tensor.forEach((_, k) => (tensor[k] = k / 7 - 3));
        const decoded = svc.Predict.requestDeserialize(message) as any;
        expect(decoded.model_spec).toMatchObject({ name: "clothing-model", signature_name: "serving_default" });
        const t = decoded.inputs.input_8;
        expect(t.dtype).toBe(1);
        expect(t.tensor_shape.dim.map((d: any) => d.size)).toEqual([2, 3, 5, 3]);
        const content: Buffer = t.tensor_content;
        expect(content.length).toBe(90 * 4);
        expect(content.readFloatLE(4 * 89)).toBe(Math.fround(89 / 7 - 3));
    });

    it("headers cached per model and shape stay right when shapes and names alternate", () => {
        const def = protoLoader.loadSync("tf_serving_predict.proto", { includeDirs: [protoDir], keepCase: true, longs: Number, enums: Number });
        const svc = def["tensorflow.serving.PredictionService"] as protoLoader.ServiceDefinition;
        const cases = [
            { meta: { modelName: "m1", signatureName: "s", inputName: "x" }, shape: [1, 2, 2, 3] },
            { meta: { modelName: "m1", signatureName: "s", inputName: "x" }, shape: [3, 2, 2, 3] },
            { meta: { modelName: "m2", signatureName: "s", inputName: "y" }, shape: [1, 2, 2, 3] },
        ];
        for (const round of [0, 1]) {
            for (const { meta, shape } of cases) {
                const { message } = prepareTfPredictRequest(meta, shape);
                const decoded = svc.Predict.requestDeserialize(message) as any;
                expect(decoded.model_spec.name, `round ${round}`).toBe(meta.modelName);
                expect(Object.keys(decoded.inputs)).toEqual([meta.inputName]);
                expect(decoded.inputs[meta.inputName].tensor_shape.dim.map((d: any) => d.size)).toEqual(shape);
                expect(decoded.inputs[meta.inputName].tensor_content.length).toBe(shape.reduce((a, b) => a * b, 1) * 4);
            }
        }
    });

    it("the tensor view is 4-byte aligned and shares the message bytes (no copy)", () => {
        for (const name of ["a", "ab", "abc", "abcd"]) {
            const { message, tensor } = prepareTfPredictRequest({ modelName: name, signatureName: "s", inputName: "x" }, [1, 299, 299, 3]);
            expect(tensor.byteOffset % 4).toBe(0);
            tensor[tensor.length - 1] = 2;
            expect(message.readFloatLE(message.length - 4)).toBe(2);
        }
    });

    it("decodes PredictResponses encoded from the repo's .proto (float_val, tensor_content, negative dims)", () => {
        const def = protoLoader.loadSync("tf_serving_predict.proto", { includeDirs: [protoDir], keepCase: true, longs: Number, enums: Number });
        const svc = def["tensorflow.serving.PredictionService"] as protoLoader.ServiceDefinition;
        const content = Buffer.alloc(8);
        content.writeFloatLE(0.5, 0);
        content.writeFloatLE(-3, 4);
        const bytes = svc.Predict.responseSerialize({
            model_spec: { name: "clothing-model", signature_name: "serving_default" },
            outputs: {
                dense_7: { dtype: 1, tensor_shape: { dim: [{ size: 1 }, { size: 3 }] }, float_val: [-1.868, 9.887, 3.2] },
                packed: { dtype: 1, tensor_shape: { dim: [{ size: -1 }, { size: 2 }] }, tensor_content: content },
                doubles: { dtype: 2, double_val: [1.25] },
            },
        });
        const decoded = decodePredictResponse(bytes);
        expect(Object.keys(decoded.outputs).sort()).toEqual(["dense_7", "doubles", "packed"]);
        expect(decoded.outputs.dense_7.dtype).toBe(1);
        expect(decoded.outputs.dense_7.tensor_shape!.dim!.map((d) => d.size)).toEqual([1, 3]);
        expect(decoded.outputs.dense_7.float_val).toEqual([Math.fround(-1.868), Math.fround(9.887), Math.fround(3.2)]);
        expect(decoded.outputs.packed.tensor_shape!.dim!.map((d) => d.size)).toEqual([-1, 2]);
        expect(Array.from(tensorProtoValues(decoded.outputs.packed).values)).toEqual([0.5, -3]);
        expect(decoded.outputs.doubles.double_val).toEqual([1.25]);
        expect(() => decodePredictResponse(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated/);
    });

    it("reads float_val, double_val and tensor_content outputs", () => {
        expect(tensorProtoValues({ dtype: 1, tensor_shape: { dim: [{ size: 1 }, { size: 2 }] }, float_val: [1, 2] })).toEqual({ values: [1, 2], shape: [1, 2] });
        const content = Buffer.alloc(8);
        content.writeFloatLE(1.5, 0);
        content.writeFloatLE(-2, 4);
        expect(Array.from(tensorProtoValues({ dtype: 1, tensor_content: content }).values)).toEqual([1.5, -2]);
        expect(() => tensorProtoValues({ dtype: 7, tensor_content: content })).toThrow(/dtype 7/);
    });

    it("rowsOf splits a batch and checks shapes", () => {
        expect(rowsOf([1, 2, 3, 4], [2, 2], 2)).toEqual([
            [1, 2],
            [3, 4],
        ]);
        expect(() => rowsOf([1, 2, 3], [3], 2)).toThrow();
        expect(() => rowsOf([1, 2, 3, 4], [4, 1], 2)).toThrow(/batch 4/);
    });
});

describe("JSON text", () => {
    it("formats float32 values as the shortest text that reads back exactly", () => {
        const fmt = createFloatFormatter();
        const v = Math.fround(Math.fround(1 / 127.5) - 1);
        expect(Math.fround(Number(fmt(v)))).toBe(v);
        expect(fmt(v).length).toBeLessThanOrEqual(11);
        expect(fmt(-1)).toBe("-1");
        expect(fmt(Math.fround(0.1))).toBe("0.1");
        expect(() => fmt(NaN)).toThrow();
    });

    it("nested instances follow NHWC (the seeds' X.tolist())", () => {
        const t = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        expect(nestedArrayText(t, [1, 2, 2, 3], createFloatFormatter())).toBe("[[[[1,2,3],[4,5,6]],[[7,8,9],[10,11,12]]]]");
        expect(JSON.parse(v1RequestBody(t, [1, 2, 2, 3], "serving_default"))).toEqual({ signature_name: "serving_default", instances: [[[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]]] });
        expect(JSON.parse(v2JsonRequestBody({ inputName: "in", outputName: "out" }, t.subarray(0, 3), [1, 1, 1, 3]))).toEqual({
            inputs: [{ name: "in", shape: [1, 1, 1, 3], datatype: "FP32", data: [1, 2, 3] }],
            outputs: [{ name: "out" }],
        });
    });

    it("v1 responses: rows, rows keyed by output name, errors", () => {
        expect(parseV1Response({ predictions: [[1, 2]] }, 1, undefined)).toEqual([[1, 2]]);
        expect(parseV1Response({ predictions: [{ dense_7: [1, 2] }] }, 1, "dense_7")).toEqual([[1, 2]]);
        expect(() => parseV1Response({ predictions: [[1, 2]] }, 2, undefined)).toThrow(/1 predictions for a batch of 2/);
        expect(() => parseV1Response({ error: "x" }, 1, undefined)).toThrow(/no 'predictions'/);
        expect(() => parseV1Response({ predictions: [["a"]] }, 1, undefined)).toThrow(/not a list of numbers/);
    });
});

describe("Open Inference Protocol binary extension", () => {
    it("request: JSON header with binary_data_size, padded for alignment, tensor bytes after it", () => {
        const { message, tensor, headerLength } = prepareV2BinaryRequest({ inputName: "input_8", outputName: undefined }, [1, 2, 2, 3]);
        tensor.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        expect(headerLength % 4).toBe(0);
        expect(tensor.byteOffset % 4).toBe(0);
        const header = JSON.parse(message.subarray(0, headerLength).toString());
        expect(header).toEqual({ inputs: [{ name: "input_8", shape: [1, 2, 2, 3], datatype: "FP32", parameters: { binary_data_size: 48 } }] });
        expect(message.length).toBe(headerLength + 48);
        expect(message.readFloatLE(headerLength + 44)).toBe(12);
    });

    it("response: JSON and binary outputs, picked by name", () => {
        const bin = Buffer.alloc(8);
        bin.writeFloatLE(0.25, 0);
        bin.writeFloatLE(4, 4);
        const json = JSON.stringify({ outputs: [{ name: "other", datatype: "FP32", shape: [1], data: [9] }, { name: "probs", datatype: "FP32", shape: [1, 2], parameters: { binary_data_size: 8 } }] });
        const body = Buffer.concat([Buffer.from(json), bin]);
        expect(parseV2Response(body, Buffer.byteLength(json), 1, "probs")).toEqual([[0.25, 4]]);
        expect(parseV2Response(body, Buffer.byteLength(json), 1, "other")).toEqual([[9]]);
        expect(() => parseV2Response(body, Buffer.byteLength(json), 1, undefined)).toThrow(/2 outputs/);
        expect(() => parseV2Response(body.subarray(0, body.length - 1), Buffer.byteLength(json), 1, "probs")).toThrow(/truncated/);
        expect(parseV2Response(Buffer.from(JSON.stringify({ outputs: [{ name: "o", datatype: "FP32", shape: [2, 2], data: [[1, 2], [3, 4]] }] })), undefined, 2, undefined)).toEqual([
            [1, 2],
            [3, 4],
        ]);
    });
});
