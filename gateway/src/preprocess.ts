/**
 * Image preprocessing that reproduces the Keras image helpers (keras `load_img(target_size)` and
 * `keras_image_helper`, both built on PIL): decode at full size, convert to RGB, nearest-neighbour
 * resize with PIL's sampling rule, then the model family's `preprocess_input` in float32.
 *
 * `sharp` only decodes (libjpeg-turbo/libpng/libwebp, ICC profiles ignored and no EXIF rotation,
 * as PIL does); the resize and normalisation are one fused pass in JS writing straight into a
 * Float32Array (no per-pixel arrays), which is also where a batch tensor is assembled.
 */
import { availableParallelism } from "node:os";
import type Sharp from "sharp";
import { decodeSlotsFrom } from "./config";
import { GatewayError, tooLarge, unprocessable } from "./errors";
import { cmykToRgbInPlace, type ImageInfo, probeImage } from "./imageInfo";
import type { InputSize, PreprocessMode } from "./kerasModels";
import type { JpegDecoder } from "./turboJpeg";

/** Decoded 8-bit pixels, interleaved, 1 to 4 channels. */
export interface RawImage {
    readonly data: Uint8Array;
    readonly width: number;
    readonly height: number;
    readonly channels: number;
    /** Gives `data` back to the pool it came from; absent when it is a buffer of its own. */
    readonly release?: () => void;
}

/**
 * Source index for each output index, as PIL's nearest resize computes it (ImagingScaleAffine):
 * start at scale/2 and add scale per step in double precision, truncating. Accumulating (rather
 * than computing (i + 0.5) * scale) matters: it is what PIL does and the two can differ by one at
 * exact boundaries.
 */
export function pilNearestIndices(inSize: number, outSize: number): Int32Array {
    const idx = new Int32Array(outSize);
    if (inSize === outSize) {
        for (let i = 0; i < outSize; i++) idx[i] = i;
        return idx;
    }
    const scale = inSize / outSize;
    let pos = scale * 0.5;
    for (let i = 0; i < outSize; i++) {
        idx[i] = pos < 0 ? -1 : Math.min(Math.trunc(pos), inSize - 1);
        pos += scale;
    }
    return idx;
}

const f32 = Math.fround;

/**
 * Lookup tables value → preprocessed value per output channel (channel order of the tensor:
 * RGB for tf/torch, BGR for caffe), each step rounded to float32 exactly as numpy does on a
 * float32 array (`x /= 127.5; x -= 1.`, `x[..., c] -= mean[c]`, `x /= 255.; x -= mean; x /= std`).
 */
export function modeTables(mode: PreprocessMode): [Float32Array, Float32Array, Float32Array] {
    const t = [new Float32Array(256), new Float32Array(256), new Float32Array(256)] as [Float32Array, Float32Array, Float32Array];
    for (let v = 0; v < 256; v++) {
        if (mode === "tf") {
            const x = f32(f32(v / f32(127.5)) - 1);
            t[0][v] = x;
            t[1][v] = x;
            t[2][v] = x;
        } else if (mode === "caffe") {
            // After RGB→BGR, channel 0 is blue.
            const mean = [103.939, 116.779, 123.68];
            for (let c = 0; c < 3; c++) t[c][v] = f32(v - f32(mean[c]));
        } else {
            const mean = [0.485, 0.456, 0.406];
            const std = [0.229, 0.224, 0.225];
            for (let c = 0; c < 3; c++) t[c][v] = f32(f32(f32(v / 255) - f32(mean[c])) / f32(std[c]));
        }
    }
    return t;
}

/** Per mode: the float tables and the same values as raw float32 bit patterns (Uint32 views). */
const tableCache = new Map<PreprocessMode, { f: [Float32Array, Float32Array, Float32Array]; u: [Uint32Array, Uint32Array, Uint32Array] }>();
function tablesFor(mode: PreprocessMode) {
    let t = tableCache.get(mode);
    if (!t) {
        const f = modeTables(mode);
        t = { f, u: [new Uint32Array(f[0].buffer), new Uint32Array(f[1].buffer), new Uint32Array(f[2].buffer)] };
        tableCache.set(mode, t);
    }
    return t;
}

/**
 * Nearest-resizes `img` to `size`, converts to RGB the way PIL's convert('RGB') does (grey is
 * replicated, alpha dropped), applies `mode`, and writes height×width×3 float32 values into `out`
 * starting at `offset` (NHWC, one image of a batch).
 */
export function resizeNormalizeInto(img: RawImage, size: InputSize, mode: PreprocessMode, out: Float32Array, offset = 0): void {
    const { data, width, height, channels } = img;
    if (channels < 1 || channels > 4) throw unprocessable("unsupported_channels", `images with ${channels} channels are not supported`);
    if (data.length < width * height * channels) throw unprocessable("truncated_image", "decoded image is shorter than its dimensions");
    if (out.length < offset + size.height * size.width * 3) throw new Error("output tensor too small");
    const xs = pilNearestIndices(width, size.width);
    const ys = pilNearestIndices(height, size.height);
    const tables = tablesFor(mode);
    const [t0, t1, t2] = tables.f;
    const bgr = mode === "caffe";
    const grey = channels <= 2;
    if (channels === 3 || channels === 4) {
        // Hot path (RGB/RGBA): no per-pixel branches. The table values are copied as their float32
        // bit patterns through a Uint32 view of `out` (same bytes, no float conversions), with the
        // source column offsets precomputed once per call.
        const [u0, u1, u2] = tables.u;
        const out32 = new Uint32Array(out.buffer, out.byteOffset + offset * 4, size.height * size.width * 3);
        const [c0, c2] = bgr ? [2, 0] : [0, 2];
        const outW = size.width;
        const cols = new Int32Array(outW);
        for (let x = 0; x < outW; x++) cols[x] = xs[x] * channels;
        const stride = width * channels;
        let o = 0;
        for (let y = 0; y < size.height; y++) {
            const row = ys[y] * stride;
            for (let x = 0; x < outW; x++) {
                const p = row + cols[x];
                out32[o] = u0[data[p + c0]];
                out32[o + 1] = u1[data[p + 1]];
                out32[o + 2] = u2[data[p + c2]];
                o += 3;
            }
        }
        return;
    }
    let o = offset;
    for (let y = 0; y < size.height; y++) {
        const row = ys[y] * width * channels;
        for (let x = 0; x < size.width; x++) {
            const p = row + xs[x] * channels;
            let r: number, g: number, b: number;
            if (grey) {
                r = g = b = data[p];
            } else {
                r = data[p];
                g = data[p + 1];
                b = data[p + 2];
            }
            if (bgr) {
                out[o] = t0[b];
                out[o + 1] = t1[g];
                out[o + 2] = t2[r];
            } else {
                out[o] = t0[r];
                out[o + 1] = t1[g];
                out[o + 2] = t2[b];
            }
            o += 3;
        }
    }
}

export interface DecodeLimits {
    /** Largest width × height decoded. */
    readonly maxPixels: number;
    /** TurboJPEG for JPEGs up to `syncJpegMaxPixels`; default none (sharp decodes everything). */
    readonly jpeg?: JpegDecoder;
}

/**
 * How many decodes run at once (GATEWAY_DECODE_CONCURRENCY; default: the CPUs node may use, at
 * most 4). Decoding is CPU-bound: running more at once than there are cores only adds context
 * switches between libuv and libvips threads (measured on 2 cores: ~10-15% more CPU per request
 * with 4 in parallel than with 2). Waiting here rather than in libuv's queue keeps the other libuv
 * threads free for DNS lookups.
 */
const decodeSlots = decodeSlotsFrom(process.env.GATEWAY_DECODE_CONCURRENCY, availableParallelism());
let decodesRunning = 0;
const decodeWaiters: (() => void)[] = [];

async function withDecodeSlot<T>(fn: () => Promise<T>): Promise<T> {
    if (decodesRunning >= decodeSlots) await new Promise<void>((resolve) => decodeWaiters.push(resolve));
    else decodesRunning++;
    try {
        return await fn();
    } finally {
        // Hand the slot straight to the next waiter (the running count stays the same).
        const next = decodeWaiters.shift();
        if (next) next();
        else decodesRunning--;
    }
}

/**
 * Decodes JPEG/PNG/GIF/WebP bytes to 8-bit interleaved pixels at full size, as PIL's
 * `convert("RGB")` sees them: alpha dropped (not composited), 16-bit reduced to the high byte,
 * CMYK converted with Pillow's formula. `info` is the header read by `probeImage` (read here when
 * not given). With `limits.jpeg`, JPEGs up to `syncJpegMaxPixels` are decoded by TurboJPEG on this
 * thread (`decodeJpegNow`); everything else, and any JPEG it declines, by sharp.
 */
export async function decodeImage(bytes: Buffer, limits: DecodeLimits, info: ImageInfo = probeImage(bytes)): Promise<RawImage> {
    if (info.width * info.height > limits.maxPixels) throw tooLarge("too_many_pixels", `image has ${info.width}x${info.height} pixels, more than the limit of ${limits.maxPixels}`);
    const jpeg = limits.jpeg;
    if (jpeg && info.format === "jpeg" && !info.cmyk && info.width * info.height <= syncJpegMaxPixels) {
        const decoded = decodeJpegNow(jpeg, bytes, info);
        if (decoded) return decoded;
    }
    return decodeWithSharpInSlot(bytes, limits, info);
}

/**
 * JPEGs up to this many pixels are decoded with TurboJPEG on the calling thread (a Full HD frame:
 * about 9 ms of CPU on a 2-core test machine, so the event loop never stalls longer); larger ones
 * go to sharp, which decodes on libuv's threads.
 */
export const syncJpegMaxPixels = 1920 * 1080;

/**
 * Pixel buffers for TurboJPEG decodes, reused: on Linux a fresh 1 MB buffer is fresh pages, and
 * faulting them in cost as much CPU as the decode itself (measured: 2.4 ms against 1.4 ms per 640×480
 * JPEG). At most two idle buffers of a Full HD frame are kept (12 MB of address space; pages count
 * toward RSS only once an image that large has used them).
 */
export class PixelBufferPool {
    private readonly idle: ArrayBuffer[] = [];

    constructor(
        /** Capacity of each pooled buffer, bytes; larger requests get a buffer of their own. */
        readonly bufferBytes: number,
        /** Idle buffers kept for reuse. */
        readonly maxIdle: number,
    ) {}

    /** A view of `bytes` bytes and the function that gives it back (call it once, then stop using the view). */
    take(bytes: number): { data: Uint8Array; release: () => void } {
        if (bytes > this.bufferBytes) {
            const data = new Uint8Array(bytes);
            return { data, release: () => releaseNow(data) };
        }
        const buffer = this.idle.pop() ?? new ArrayBuffer(this.bufferBytes);
        let given = false;
        return {
            data: new Uint8Array(buffer, 0, bytes),
            release: () => {
                if (given) return;
                given = true;
                if (this.idle.length < this.maxIdle) this.idle.push(buffer);
            },
        };
    }

    /** Idle buffers held now. */
    get idleCount(): number {
        return this.idle.length;
    }
}

const jpegPixels = new PixelBufferPool(syncJpegMaxPixels * 3, 2);

/**
 * TurboJPEG's decode of a baseline or progressive YCbCr/RGB/grey JPEG into a pooled buffer, or
 * undefined for sharp to handle: CMYK/YCCK, a header TurboJPEG reads differently from the probe (a
 * file with several frame headers), or any libjpeg warning or error (sharp then gives the answer the
 * gateway always gave for such files).
 */
function decodeJpegNow(jpeg: JpegDecoder, bytes: Buffer, info: ImageInfo): RawImage | undefined {
    const header = jpeg.header(bytes);
    if (!header || header.width !== info.width || header.height !== info.height) return undefined;
    if (header.cmyk) return undefined;
    const pixels = jpegPixels.take(header.width * header.height * 3);
    if (!jpeg.decodeRgbInto(bytes, header, pixels.data)) {
        pixels.release();
        return undefined;
    }
    return { data: pixels.data, width: header.width, height: header.height, channels: 3, release: pixels.release };
}

/** Frees decoded pixels once they are resized: back to their pool, or released now (`releaseNow`). */
export function releasePixels(raw: RawImage): void {
    if (raw.release) raw.release();
    else releaseNow(raw.data);
}

/** Rows `top` to `top + height - 1` of an image, at its full width. */
export interface RowRange {
    readonly top: number;
    readonly height: number;
}

/**
 * `decodeImage`'s sharp path, for the whole image or only `rows` of it (jpegStrips.ts): libvips reads
 * the image sequentially, so rows above the range are decoded and dropped as they go, not kept.
 */
export function decodeWithSharpInSlot(bytes: Buffer, limits: DecodeLimits, info: ImageInfo, rows?: RowRange): Promise<RawImage> {
    return withDecodeSlot(() => decodeWithSharp(bytes, limits, info, rows));
}

async function decodeWithSharp(bytes: Buffer, limits: DecodeLimits, info: ImageInfo, rows?: RowRange): Promise<RawImage> {
    // The pixel limit is also enforced by libvips from the header (the probe could be fooled by
    // a JPEG with several frame headers); its error is told apart from a decode failure by the message.
    // Outside the try: sharp failing to load is this gateway's fault (500, logged), not the image's.
    const sharp = loadSharp();
    try {
        const input = sharp(bytes, { limitInputPixels: limits.maxPixels, ignoreIcc: true, failOn: "error", sequentialRead: true, animated: false });
        // CMYK: the decoder's CMYK values untouched (libvips undoes Adobe's inversion as libjpeg
        // callers such as PIL do), no colour management; Pillow's conversion follows in JS.
        const whole = info.cmyk ? input.pipelineColourspace("cmyk").toColourspace("cmyk") : input.removeAlpha();
        const pipeline = rows ? whole.extract({ left: 0, top: rows.top, width: info.width, height: rows.height }) : whole;
        const { data, info: out } = await pipeline.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
        if (out.width <= 0 || out.height <= 0) throw unprocessable("undecodable_image", "the image has no dimensions");
        if (info.cmyk) {
            if (out.channels !== 4) throw unprocessable("undecodable_image", "the CMYK JPEG did not decode to 4 channels");
            return { data: cmykToRgbInPlace(data), width: out.width, height: out.height, channels: 3 };
        }
        return { data, width: out.width, height: out.height, channels: out.channels };
    } catch (err) {
        if (/pixel limit/i.test((err as Error).message)) throw tooLarge("too_many_pixels", `image has more than the limit of ${limits.maxPixels} pixels`);
        if (err instanceof GatewayError) throw err;
        throw unprocessable("undecodable_image", "the image could not be decoded");
    }
}

/** Bytes of decoded pixels an image needs while it is decoded and resized, in RGB pixels (3 bytes). */
export function decodeCost(info: ImageInfo): number {
    // An interlaced PNG (one sharp decodes: 16-bit or under 8 bits; 8-bit ones go row by row,
    // pngNearest.ts) is read whole at its own depth (at least a byte a sample) before libvips
    // converts it into the 8-bit pixels. Measured on 40-MP ones, above idle: 16-bit interlaced
    // 434 MB (3 × 114 + working memory), 16-bit not interlaced 166 MB, 8-bit interlaced 283 MB.
    // A progressive JPEG's coefficients are held whole besides its pixels (measured at 40 MP, 4:2:0:
    // 239 MB above idle against 127 MB for the same picture baseline).
    const copies = info.interlaced ? 1 + Math.max(1, info.interlaced.bitDepth / 8) : 1;
    return Math.ceil((copies * info.width * info.height * (info.cmyk ? 4 : 3) + (info.coefficientBytes ?? 0)) / 3);
}


/**
 * Frees the memory behind `bytes` now instead of at the next major GC, when `bytes` is the only
 * view of its ArrayBuffer (sharp's decoded pixels, a downloaded image): detaching the buffer with
 * `transfer(0)` releases its backing store at once. Without this every request leaves ~1 MB of
 * external memory that V8 reclaims only with a mark-compact, which it then runs every ~20 requests
 * (most of the GC CPU under load and most of the peak RSS). Views into shared or pooled memory are
 * left alone. The caller must not read `bytes` afterwards (it reads as empty).
 */
export function releaseNow(bytes: Uint8Array): void {
    const ab = bytes.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer; detached?: boolean };
    if (!(ab instanceof ArrayBuffer) || ab.detached || typeof ab.transfer !== "function") return;
    if (bytes.byteOffset !== 0 || bytes.byteLength !== ab.byteLength || ab.byteLength < 4096) return;
    ab.transfer(0);
}

let sharpModule: typeof Sharp | undefined;

/**
 * sharp, loaded on first use and tuned for a gateway: one libvips thread per image (requests give
 * parallelism), no cache. libvips and its libraries are about 25 MB of RSS per process, which a
 * worker that only sees JPEGs TurboJPEG decodes and 8-bit PNGs (pngNearest.ts) never pays; the
 * first image sharp decodes in a worker pays the load instead (about 70 ms, once). Without
 * TurboJPEG every JPEG needs sharp, so main.ts loads it at start and a broken install stops the
 * gateway there. A failed load is thrown as a plain Error (a 500, logged) and tried again on the
 * next image.
 */
export function loadSharp(): typeof Sharp {
    if (sharpModule === undefined) {
        let loaded: typeof Sharp;
        try {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            loaded = require("sharp") as typeof Sharp;
        } catch (err) {
            throw new Error(`sharp did not load (GIF, WebP, 16-bit PNG, CMYK and large JPEGs need it): ${(err as Error).message}`);
        }
        loaded.cache(false);
        loaded.concurrency(1);
        loaded.simd(true);
        sharpModule = loaded;
    }
    return sharpModule;
}
