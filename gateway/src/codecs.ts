/**
 * Wire codecs for the predictor protocols. Pure functions, no I/O.
 *
 * Requests are built so that the preprocessing writes the float32 tensor straight into the final
 * request bytes (TF Serving gRPC `tensor_content`, v2 binary extension): `prepare*` returns the
 * message buffer and a Float32Array view over its tensor region. JSON protocols get a text writer
 * that formats each distinct float once (a preprocessed image has at most 768 distinct values).
 */
import { endianness } from "node:os";

if (endianness() !== "LE") throw new Error("the gateway writes little-endian float32 tensors and needs a little-endian CPU");

// ---------------------------------------------------------------- protobuf (TF Serving Predict)

/** protobuf DataType enum values (tensorflow/core/framework/types.proto). */
export const DT_FLOAT = 1;
export const DT_DOUBLE = 2;

function varintBytes(n: number): number[] {
    const out: number[] = [];
    let v = n;
    while (v >= 0x80) {
        out.push((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
    }
    out.push(v);
    return out;
}

/** A length-delimited field: tag, length, payload. */
function lenField(fieldNumber: number, payload: readonly number[] | Uint8Array): number[] {
    return [...varintBytes((fieldNumber << 3) | 2), ...varintBytes(payload.length), ...payload];
}

const utf8 = (s: string) => Array.from(Buffer.from(s, "utf8"));

export interface TfPredictMeta {
    readonly modelName: string;
    readonly signatureName: string;
    readonly inputName: string;
}

export interface PreparedTensorMessage {
    /** The whole serialised message; the tensor bytes are its tail (or the body's tail). */
    readonly message: Buffer;
    /** float32 view over the tensor region of `message`, to be filled by preprocessing. */
    readonly tensor: Float32Array;
}

/**
 * Free list of request buffers by size. Every request allocates ~1 MiB outside the V8 heap; fresh
 * ArrayBuffers at that rate make V8 run a full mark-compact every few requests (external memory
 * pressure), so buffers of finished requests are reused. Contents are not cleared: the header is
 * rewritten and preprocessing overwrites every tensor element.
 */
const bufferPool = new Map<number, ArrayBuffer[]>();
const maxPooledPerSize = 16;

function acquireBuffer(size: number): ArrayBuffer {
    return bufferPool.get(size)?.pop() ?? new ArrayBuffer(size);
}

/** Returns a request buffer to the pool once nothing (socket writes included) can still read it. */
export function releaseBuffer(ab: ArrayBufferLike): void {
    if (!(ab instanceof ArrayBuffer)) return;
    let list = bufferPool.get(ab.byteLength);
    if (!list) {
        list = [];
        bufferPool.set(ab.byteLength, list);
    }
    if (list.length < maxPooledPerSize) list.push(ab);
}

/** Allocates `header ++ tensor` so that the tensor region is 4-byte aligned, and views it. */
function withAlignedTensor(header: readonly number[] | Uint8Array, elements: number): PreparedTensorMessage {
    const total = header.length + elements * 4;
    const pad = (4 - (header.length % 4)) % 4;
    const ab = acquireBuffer(total + pad);
    const message = Buffer.from(ab, pad, total);
    message.set(header, 0);
    const tensor = new Float32Array(ab, pad + header.length, elements);
    return { message, tensor };
}

/**
 * Serialises a tensorflow.serving.PredictRequest with one DT_FLOAT input whose data travels in
 * `tensor_content` (what `tf.make_tensor_proto` produces in the seeds' gateway):
 * model_spec{name=1, signature_name=3}=1, inputs=2 (map entry key=1, value=2: TensorProto
 * {dtype=1, tensor_shape=2 {dim=2 {size=1}}, tensor_content=4}).
 */
export function prepareTfPredictRequest(meta: TfPredictMeta, shape: readonly number[]): PreparedTensorMessage {
    const elements = shape.reduce((a, b) => a * b, 1);
    // The header depends only on these; it is built once per model/shape (batch sizes vary a little).
    const key = `${meta.modelName}\0${meta.signatureName}\0${meta.inputName}\0${shape.join(",")}`;
    let header = tfHeaderCache.get(key);
    if (!header) {
        header = Uint8Array.from(tfPredictHeader(meta, shape, elements));
        if (tfHeaderCache.size >= 64) tfHeaderCache.clear();
        tfHeaderCache.set(key, header);
    }
    return withAlignedTensor(header, elements);
}

const tfHeaderCache = new Map<string, Uint8Array>();

function tfPredictHeader(meta: TfPredictMeta, shape: readonly number[], elements: number): number[] {
    const modelSpec = [...lenField(1, utf8(meta.modelName)), ...lenField(3, utf8(meta.signatureName))];
    const shapeProto = shape.flatMap((d) => lenField(2, [0x08, ...varintBytes(d)]));
    const contentLen = elements * 4;
    const tensorHead = [0x08, DT_FLOAT, ...lenField(2, shapeProto), ...varintBytes((4 << 3) | 2), ...varintBytes(contentLen)];
    const tensorLen = tensorHead.length + contentLen;
    const entryHead = [...lenField(1, utf8(meta.inputName)), ...varintBytes((2 << 3) | 2), ...varintBytes(tensorLen), ...tensorHead];
    const entryLen = entryHead.length + contentLen;
    return [...lenField(1, modelSpec), ...varintBytes((2 << 3) | 2), ...varintBytes(entryLen), ...entryHead];
}

/** TensorProto as decoded by proto-loader (keepCase, enums and longs as numbers). */
export interface DecodedTensorProto {
    dtype?: number;
    tensor_shape?: { dim?: { size?: number | string }[] };
    tensor_content?: Buffer;
    float_val?: number[];
    double_val?: number[];
}

/** Values and shape of a decoded float tensor (float_val, double_val or tensor_content). */
export function tensorProtoValues(t: DecodedTensorProto): { values: Float32Array | Float64Array | number[]; shape: number[] } {
    const shape = (t.tensor_shape?.dim ?? []).map((d) => Number(d.size ?? 0));
    const content = t.tensor_content;
    if (content && content.length > 0) {
        if (t.dtype === DT_FLOAT) {
            const copy = new Float32Array(content.length / 4);
            new Uint8Array(copy.buffer).set(content);
            return { values: copy, shape };
        }
        if (t.dtype === DT_DOUBLE) {
            const copy = new Float64Array(content.length / 8);
            new Uint8Array(copy.buffer).set(content);
            return { values: copy, shape };
        }
        throw new Error(`output tensor has dtype ${t.dtype}; only DT_FLOAT and DT_DOUBLE are read`);
    }
    if (t.float_val && t.float_val.length > 0) return { values: t.float_val, shape };
    if (t.double_val && t.double_val.length > 0) return { values: t.double_val, shape };
    return { values: [], shape };
}

/** Reads a protobuf varint at `pos`; returns [value, next position]. int64 negatives come back negative. */
function readVarint(buf: Uint8Array, pos: number): [number, number] {
    let result = 0;
    let mul = 1;
    const start = pos;
    for (let i = 0; i < 10; i++) {
        if (pos >= buf.length) throw new Error("truncated protobuf varint");
        const b = buf[pos++];
        result += (b & 0x7f) * mul;
        if ((b & 0x80) === 0) {
            if (i < 7) return [result, pos];
            // Beyond 49 bits doubles lose precision: redo in BigInt, two's complement for int64.
            let big = 0n;
            for (let k = pos - 1; k >= start; k--) big = (big << 7n) | BigInt(buf[k] & 0x7f);
            return [Number(BigInt.asIntN(64, big)), pos];
        }
        mul *= 128;
    }
    throw new Error("protobuf varint longer than 10 bytes");
}

/** Calls `onField(field, wireType, start, end)` for each field of a message; varint/fixed values via `value`. */
function forEachField(buf: Uint8Array, onField: (field: number, wire: number, start: number, end: number, value: number) => void): void {
    let pos = 0;
    while (pos < buf.length) {
        const [key, p1] = readVarint(buf, pos);
        const field = Math.floor(key / 8);
        const wire = key & 7;
        pos = p1;
        if (wire === 0) {
            const [v, p2] = readVarint(buf, pos);
            onField(field, wire, pos, p2, v);
            pos = p2;
        } else if (wire === 1 || wire === 5) {
            const n = wire === 1 ? 8 : 4;
            if (pos + n > buf.length) throw new Error("truncated protobuf fixed field");
            onField(field, wire, pos, pos + n, 0);
            pos += n;
        } else if (wire === 2) {
            const [len, p2] = readVarint(buf, pos);
            if (len < 0 || p2 + len > buf.length) throw new Error("truncated protobuf length-delimited field");
            onField(field, wire, p2, p2 + len, len);
            pos = p2 + len;
        } else throw new Error(`unsupported protobuf wire type ${wire}`);
    }
}

/** Decodes a tensorflow.TensorProto's numeric fields (dtype, shape, tensor_content, float_val, double_val). */
export function decodeTensorProto(buf: Buffer): DecodedTensorProto {
    const t: DecodedTensorProto = {};
    const floats: number[] = [];
    const doubles: number[] = [];
    forEachField(buf, (field, wire, start, end, value) => {
        if (field === 1 && wire === 0) t.dtype = value;
        else if (field === 2 && wire === 2) {
            const dim: { size: number }[] = [];
            forEachField(buf.subarray(start, end), (f, w, s, e, v) => {
                if (f === 2 && w === 2) {
                    let size = 0;
                    forEachField(buf.subarray(start, end).subarray(s, e), (f2, w2, _s2, _e2, v2) => {
                        if (f2 === 1 && w2 === 0) size = v2;
                    });
                    dim.push({ size });
                }
                void v;
            });
            t.tensor_shape = { dim };
        } else if (field === 4 && wire === 2) t.tensor_content = buf.subarray(start, end);
        else if (field === 5 && wire === 2) for (let p = start; p + 4 <= end; p += 4) floats.push(buf.readFloatLE(p));
        else if (field === 5 && wire === 5) floats.push(buf.readFloatLE(start));
        else if (field === 6 && wire === 2) for (let p = start; p + 8 <= end; p += 8) doubles.push(buf.readDoubleLE(p));
        else if (field === 6 && wire === 1) doubles.push(buf.readDoubleLE(start));
    });
    if (floats.length > 0) t.float_val = floats;
    if (doubles.length > 0) t.double_val = doubles;
    return t;
}

/** Decodes a tensorflow.serving.PredictResponse's `outputs` map (field 1; entries key=1, value=2). */
export function decodePredictResponse(buf: Buffer): { outputs: Record<string, DecodedTensorProto> } {
    const outputs: Record<string, DecodedTensorProto> = {};
    forEachField(buf, (field, wire, start, end) => {
        if (field !== 1 || wire !== 2) return;
        const entry = buf.subarray(start, end);
        let key = "";
        let value: DecodedTensorProto = {};
        forEachField(entry, (f, w, s, e) => {
            if (f === 1 && w === 2) key = entry.toString("utf8", s, e);
            else if (f === 2 && w === 2) value = decodeTensorProto(entry.subarray(s, e));
        });
        outputs[key] = value;
    });
    return { outputs };
}

/** Splits flat scores into one row per image: shape [N, K] (or [K] for N = 1). */
export function rowsOf(values: ArrayLike<number>, shape: readonly number[], batch: number): number[][] {
    const total = values.length;
    if (total % batch !== 0 || total === 0) throw new Error(`predictor returned ${total} values for a batch of ${batch}`);
    if (shape.length > 0) {
        const declared = shape.reduce((a, b) => a * b, 1);
        if (declared !== total) throw new Error(`predictor output shape [${shape.join(",")}] does not match its ${total} values`);
        if (shape.length > 1 && shape[0] !== batch) throw new Error(`predictor output has batch ${shape[0]}, expected ${batch}`);
    }
    const k = total / batch;
    const rows: number[][] = [];
    for (let i = 0; i < batch; i++) rows.push(Array.from({ length: k }, (_, j) => values[i * k + j]));
    return rows;
}

/** Picks the named output, or the only one. */
export function pickOutput<T>(outputs: Record<string, T> | Map<string, T>, name: string | undefined): T {
    const entries = outputs instanceof Map ? [...outputs.entries()] : Object.entries(outputs);
    if (name !== undefined) {
        const hit = entries.find(([k]) => k === name);
        if (!hit) throw new Error(`predictor has no output '${name}' (it returned ${entries.map(([k]) => k).join(", ") || "none"})`);
        return hit[1];
    }
    if (entries.length !== 1) throw new Error(`predictor returned ${entries.length} outputs (${entries.map(([k]) => k).join(", ")}); set MODEL_OUTPUT_NAME`);
    return entries[0][1];
}

// ---------------------------------------------------------------- JSON number text

/**
 * Shortest decimal text that reads back as the same float32 (what TF Serving and KServe parse
 * into), memoised: a preprocessed image has at most 3 × 256 distinct values.
 */
export function createFloatFormatter(): (v: number) => string {
    const cache = new Map<number, string>();
    return (v: number) => {
        let s = cache.get(v);
        if (s === undefined) {
            if (!Number.isFinite(v)) throw new Error("non-finite value in tensor");
            s = String(v);
            for (let p = 1; p <= 9; p++) {
                const t = v.toPrecision(p);
                if (Math.fround(Number(t)) === v) {
                    s = String(Number(t));
                    break;
                }
            }
            if (cache.size < 65536) cache.set(v, s);
        }
        return s;
    };
}

/** `[[[[c,c,c],…],…],…]` for an NHWC tensor, as text (seeds' `X.tolist()`). */
export function nestedArrayText(tensor: Float32Array, shape: readonly number[], fmt: (v: number) => string): string {
    const parts: string[] = [];
    let i = 0;
    const walk = (dim: number) => {
        parts.push("[");
        const n = shape[dim];
        for (let k = 0; k < n; k++) {
            if (k > 0) parts.push(",");
            if (dim === shape.length - 1) parts.push(fmt(tensor[i++]));
            else walk(dim + 1);
        }
        parts.push("]");
    };
    walk(0);
    return parts.join("");
}

/** KServe v1 / TF Serving REST request body. */
export function v1RequestBody(tensor: Float32Array, shape: readonly number[], signatureName?: string): string {
    const fmt = createFloatFormatter();
    const sig = signatureName === undefined ? "" : `"signature_name":${JSON.stringify(signatureName)},`;
    return `{${sig}"instances":${nestedArrayText(tensor, shape, fmt)}}`;
}

/** Rows from a v1/TF REST response (`predictions` as rows, or as objects keyed by output name). */
export function parseV1Response(body: unknown, batch: number, outputName: string | undefined): number[][] {
    const preds = (body as { predictions?: unknown })?.predictions;
    if (!Array.isArray(preds)) throw new Error("predictor response has no 'predictions' array");
    if (preds.length !== batch) throw new Error(`predictor returned ${preds.length} predictions for a batch of ${batch}`);
    return preds.map((p) => {
        const row = Array.isArray(p) ? p : p && typeof p === "object" ? pickOutput(p as Record<string, unknown>, outputName) : undefined;
        if (!Array.isArray(row) || row.some((x) => typeof x !== "number")) throw new Error("predictor prediction is not a list of numbers");
        return row as number[];
    });
}

// ---------------------------------------------------------------- Open Inference Protocol (v2)

export interface V2Meta {
    readonly inputName: string;
    readonly outputName: string | undefined;
}

/** v2 JSON request: one FP32 input with row-major flattened data. */
export function v2JsonRequestBody(meta: V2Meta, tensor: Float32Array, shape: readonly number[]): string {
    const fmt = createFloatFormatter();
    const parts: string[] = new Array(tensor.length);
    for (let i = 0; i < tensor.length; i++) parts[i] = fmt(tensor[i]);
    const outputs = meta.outputName === undefined ? "" : `,"outputs":[{"name":${JSON.stringify(meta.outputName)}}]`;
    return `{"inputs":[{"name":${JSON.stringify(meta.inputName)},"shape":${JSON.stringify(shape)},"datatype":"FP32","data":[${parts.join(",")}]}]${outputs}}`;
}

/**
 * v2 binary tensor extension request: JSON header (length in the `Inference-Header-Content-Length`
 * header) followed by the raw little-endian FP32 bytes. The header is padded with spaces (valid
 * JSON whitespace) so the tensor region is 4-byte aligned inside the body buffer.
 */
export function prepareV2BinaryRequest(meta: V2Meta, shape: readonly number[]): PreparedTensorMessage & { headerLength: number } {
    const elements = shape.reduce((a, b) => a * b, 1);
    const outputs = meta.outputName === undefined ? "" : `,"outputs":[{"name":${JSON.stringify(meta.outputName)},"parameters":{"binary_data":false}}]`;
    let json = `{"inputs":[{"name":${JSON.stringify(meta.inputName)},"shape":${JSON.stringify(shape)},"datatype":"FP32","parameters":{"binary_data_size":${elements * 4}}}]${outputs}}`;
    const len = Buffer.byteLength(json);
    json += " ".repeat((4 - (len % 4)) % 4);
    const header = Buffer.from(json, "utf8");
    const prepared = withAlignedTensor(header, elements);
    return { ...prepared, headerLength: header.length };
}

interface V2Output {
    name?: string;
    datatype?: string;
    shape?: number[];
    data?: unknown;
    parameters?: { binary_data_size?: number };
}

/** Reads a v2 response, JSON or binary extension (header length given), into rows. */
export function parseV2Response(body: Buffer, headerLength: number | undefined, batch: number, outputName: string | undefined): number[][] {
    const jsonEnd = headerLength ?? body.length;
    if (jsonEnd > body.length) throw new Error("predictor response is shorter than its inference header");
    let parsed: { outputs?: V2Output[]; error?: string };
    try {
        parsed = JSON.parse(body.subarray(0, jsonEnd).toString("utf8"));
    } catch {
        throw new Error("predictor response is not JSON");
    }
    if (!Array.isArray(parsed.outputs) || parsed.outputs.length === 0) throw new Error("predictor response has no outputs");
    // Binary outputs follow the header in output order.
    let offset = jsonEnd;
    const byName = new Map<string, { values: ArrayLike<number>; shape: number[] }>();
    for (const o of parsed.outputs) {
        const size = o.parameters?.binary_data_size;
        let values: ArrayLike<number>;
        if (typeof size === "number") {
            if (offset + size > body.length) throw new Error("predictor binary output is truncated");
            const bytes = body.subarray(offset, offset + size);
            offset += size;
            if (o.datatype === "FP32") {
                const a = new Float32Array(size / 4);
                new Uint8Array(a.buffer).set(bytes);
                values = a;
            } else if (o.datatype === "FP64") {
                const a = new Float64Array(size / 8);
                new Uint8Array(a.buffer).set(bytes);
                values = a;
            } else {
                values = [];
                if (o.name === outputName || parsed.outputs.length === 1) throw new Error(`predictor output datatype ${o.datatype} is not read (FP32/FP64 only)`);
            }
        } else {
            const flat = Array.isArray(o.data) ? (o.data as unknown[]).flat(Infinity) : [];
            values = flat.filter((x): x is number => typeof x === "number");
        }
        byName.set(o.name ?? "", { values, shape: o.shape ?? [] });
    }
    const out = pickOutput(byName, outputName);
    return rowsOf(out.values, out.shape, batch);
}
