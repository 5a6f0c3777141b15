/**
 * Large sequential JPEGs decoded in horizontal strips, keeping only what the nearest resize picks.
 *
 * A whole decode holds width × height × 3 bytes: 114 MB for a 40-MP photo, more than the gateway's
 * idle memory, so a few of them at once cannot stay within a couple of hundred MB whatever the pixel
 * budget does. Here each strip of at most `jpegStripPixels` is decoded by sharp on its own (libvips
 * reads the JPEG sequentially: the rows above a strip are decoded and dropped, and libjpeg skips
 * their IDCT), the rows and columns PIL's nearest resize picks (`pilNearestIndices`) are copied into
 * an output of the model's input size, and the strip is freed before the next. The output goes
 * through `resizeNormalizeInto` as an identity resize, like the PNG row decoder's (pngNearest.ts).
 *
 * The pixels are the whole decode's, byte for byte (test/jpegStrips.test.ts compares them): libjpeg
 * produces the same rows whether or not the rows before them are written out. The cost is CPU: strip
 * k reads all rows above it again (entropy-decoded, not transformed). Measured on a 40-MP JPEG on a
 * 2-core test machine: 0.53 s of CPU whole, 1.0 s in 16 strips, for a peak of one strip instead of
 * the whole image (32 MB against 127 MB above idle, with one malloc arena). 32 concurrent ones peak
 * at 193 MB in one worker, against 249 MB decoded whole under the pixel budget, and finish sooner
 * (13.8 s against 17-19 s: the budget ran the whole decodes one at a time).
 *
 * Progressive and arithmetic-coded JPEGs, and sequential ones written as several scans, are not
 * decoded in strips: libjpeg buffers every coefficient of a multi-scan image before it outputs a row
 * (libjpeg-turbo jdcoefct.c, jinit_d_coef_controller's whole-image arrays), so a strip would cost a
 * whole decode in memory and in CPU.
 */
import { unprocessable } from "./errors";
import { type ImageInfo, jpegScans } from "./imageInfo";
import type { InputSize } from "./kerasModels";
import { type DecodeLimits, decodeWithSharpInSlot, pilNearestIndices, type RawImage, releasePixels, syncJpegMaxPixels } from "./preprocess";

/**
 * JPEGs with more pixels than this are decoded in strips. Below it a whole decode is cheaper in CPU,
 * and a 12-MP phone photo (36 MB decoded) is not worth the extra passes.
 */
export const jpegStripMinPixels = 16 * 1024 * 1024;

/**
 * Pixels per strip, at most (a strip holds this × 3 bytes, × 4 for CMYK). Measured with 32 concurrent
 * 40-MP JPEGs, one worker, peak RSS: 1 MP strips 156 MB (3 requests), 2 MP 171 MB (3) and 193 MB
 * (32), 4 MP 191 MB (3): each strip is a fresh libvips output buffer, and glibc keeps some freed ones.
 */
export const jpegStripPixels = 2 * 1024 * 1024;

/**
 * `info` as libjpeg will hold the image: a sequential JPEG written as several scans (rare: one
 * component per scan, or a custom scan script) is buffered whole like a progressive one, so it
 * loses `sequential` and gains its `coefficientBytes` (decodeCost counts them, and it is not decoded
 * in strips). Reads the file only for sequential JPEGs larger than TurboJPEG's (`syncJpegMaxPixels`).
 */
export function asLibjpegHoldsIt(info: ImageInfo, bytes: Uint8Array): ImageInfo {
    if (info.format !== "jpeg" || !info.sequential || info.width * info.height <= syncJpegMaxPixels) return info;
    const { scans, coefficientBytes } = jpegScans(bytes);
    if (scans <= 1) return info;
    const { sequential: _, ...rest } = info;
    return { ...rest, coefficientBytes };
}

/** Rows per strip for `info` (after `asLibjpegHoldsIt`), or undefined when it is decoded whole. */
export function jpegStripRows(info: ImageInfo): number | undefined {
    if (info.format !== "jpeg" || !info.sequential || info.width * info.height <= jpegStripMinPixels) return undefined;
    // At least one MCU row (16 rows with 2×2 chroma subsampling), so a strip never splits one.
    return Math.max(16, Math.floor(jpegStripPixels / info.width));
}

/** The pixel budget's cost of a strip decode (in RGB pixels of 3 bytes): one strip plus the output. */
export function jpegStripCost(info: ImageInfo, rowsPerStrip: number, size: InputSize): number {
    return Math.ceil((rowsPerStrip * info.width * (info.cmyk ? 4 : 3) + size.width * size.height * 3) / 3);
}

/**
 * Decodes `bytes` (probed as `info`) strip by strip into a `size.width` × `size.height` image of the
 * pixels PIL's nearest resize picks, with the channels a whole decode has (1 for grey, 3 otherwise;
 * CMYK converted as `decodeImage` does). Every strip is decoded, the last ones too, so a corrupt
 * row anywhere fails as the whole decode fails. Stops between strips when `signal` aborts.
 */
export async function decodeJpegInStrips(bytes: Buffer, info: ImageInfo, rowsPerStrip: number, size: InputSize, limits: DecodeLimits, signal?: AbortSignal): Promise<RawImage> {
    const xs = pilNearestIndices(info.width, size.width);
    const ys = pilNearestIndices(info.height, size.height);
    let out: Uint8Array | undefined;
    let channels = 0;
    let outY = 0;
    for (let top = 0; top < info.height; top += rowsPerStrip) {
        signal?.throwIfAborted();
        const height = Math.min(rowsPerStrip, info.height - top);
        const strip = await decodeWithSharpInSlot(bytes, limits, info, { top, height });
        try {
            if (strip.width !== info.width || strip.height !== height) throw unprocessable("undecodable_image", `the image could not be decoded: a strip decoded to ${strip.width}x${strip.height}, not ${info.width}x${height}`);
            if (out === undefined) {
                channels = strip.channels;
                out = new Uint8Array(size.width * size.height * channels);
            } else if (strip.channels !== channels) throw unprocessable("undecodable_image", `the image could not be decoded: strips decoded to ${channels} and ${strip.channels} channels`);
            const stride = info.width * channels;
            for (; outY < size.height && ys[outY] < top + height; outY++) {
                const from = (ys[outY] - top) * stride;
                let o = outY * size.width * channels;
                for (let x = 0; x < size.width; x++) {
                    const p = from + xs[x] * channels;
                    for (let c = 0; c < channels; c++) out[o++] = strip.data[p + c];
                }
            }
        } finally {
            releasePixels(strip);
        }
    }
    if (out === undefined || outY !== size.height) throw new Error(`strips covered ${outY} of ${size.height} output rows`);
    return { data: out, width: size.width, height: size.height, channels };
}
