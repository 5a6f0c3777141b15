/**
 * Image preprocessing that reproduces the Keras image helpers (keras `load_img(target_size)` and
 * `keras_image_helper`, both built on PIL): decode at full size, convert to RGB, nearest-neighbour
 * resize with PIL's sampling rule, then the model family's `preprocess_input` in float32.
 *
 * `sharp` only decodes (libjpeg-turbo/libpng/libwebp, ICC profiles ignored and no EXIF rotation,
 * as PIL does); the resize and normalisation are one fused pass in JS writing straight into a
 * Float32Array (no per-pixel arrays), which is also where a batch tensor is assembled.
 */
import sharp from "sharp";
import { sniffImageType } from "./download";
import { tooLarge, unprocessable, unsupportedMedia } from "./errors";

/** Keras `imagenet_utils.preprocess_input` modes. */
export type PreprocessMode = "tf" | "caffe" | "torch";

/** Keras application names (KERAS_MODEL_NAME) and the mode each one's preprocess_input uses. */
export const kerasModelModes: Readonly<Record<string, PreprocessMode>> = {
    xception: "tf",
    inception: "tf",
    inception_v3: "tf",
    inceptionv3: "tf",
    inception_resnet_v2: "tf",
    mobilenet: "tf",
    mobilenet_v2: "tf",
    nasnet: "tf",
    resnet50: "caffe",
    resnet: "caffe",
    resnet101: "caffe",
    resnet152: "caffe",
    vgg16: "caffe",
    vgg19: "caffe",
    densenet: "torch",
    densenet121: "torch",
};

export function modeForKerasModel(name: string): PreprocessMode {
    const mode = kerasModelModes[name.trim().toLowerCase()];
    if (!mode) throw new Error(`unknown Keras model '${name}'; known: ${Object.keys(kerasModelModes).join(", ")}`);
    return mode;
}

export interface InputSize {
    readonly height: number;
    readonly width: number;
}

/** Decoded 8-bit pixels, interleaved, 1 to 4 channels. */
export interface RawImage {
    readonly data: Uint8Array;
    readonly width: number;
    readonly height: number;
    readonly channels: number;
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

const tableCache = new Map<PreprocessMode, [Float32Array, Float32Array, Float32Array]>();
function tablesFor(mode: PreprocessMode) {
    let t = tableCache.get(mode);
    if (!t) {
        t = modeTables(mode);
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
    const [t0, t1, t2] = tablesFor(mode);
    const bgr = mode === "caffe";
    const grey = channels <= 2;
    if (channels === 3 || channels === 4) {
        // Hot path (RGB/RGBA): no per-pixel branches.
        const [c0, c2] = bgr ? [2, 0] : [0, 2];
        let o = offset;
        for (let y = 0; y < size.height; y++) {
            const row = ys[y] * width * channels;
            for (let x = 0; x < size.width; x++) {
                const p = row + xs[x] * channels;
                out[o] = t0[data[p + c0]];
                out[o + 1] = t1[data[p + 1]];
                out[o + 2] = t2[data[p + c2]];
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
}

/** Decodes JPEG/PNG/WebP bytes to 8-bit interleaved pixels at full size. */
export async function decodeImage(bytes: Buffer, limits: DecodeLimits): Promise<RawImage> {
    if (!sniffImageType(bytes)) throw unsupportedMedia("not_an_image", "bytes are not a JPEG, PNG or WebP image");
    // The pixel limit is checked by libvips from the header before decoding (no separate
    // metadata() round trip); its error is told apart from a decode failure by the message.
    try {
        const { data, info } = await sharp(bytes, { limitInputPixels: limits.maxPixels, ignoreIcc: true, failOn: "error", sequentialRead: true, animated: false })
            .raw({ depth: "uchar" })
            .toBuffer({ resolveWithObject: true });
        if (info.width <= 0 || info.height <= 0) throw unprocessable("undecodable_image", "the image has no dimensions");
        return { data, width: info.width, height: info.height, channels: info.channels };
    } catch (err) {
        if (/pixel limit/i.test((err as Error).message)) throw tooLarge("too_many_pixels", `image has more than the limit of ${limits.maxPixels} pixels`);
        if (err instanceof Error && err.name === "GatewayError") throw err;
        throw unprocessable("undecodable_image", "the image could not be decoded");
    }
}

/** Tunes sharp for a gateway: one libvips thread per image (requests give parallelism), no cache. */
export function configureSharp(): void {
    sharp.cache(false);
    sharp.concurrency(1);
    sharp.simd(true);
}
