/**
 * What an encoded image is, read from its header alone (no decoding): format, size, and the
 * properties that decide how it is decoded or refused. Pure functions over bytes.
 *
 * The decisions follow what Keras `load_img` (PIL `Image.open(...).convert("RGB")`) gives, checked
 * against Pillow 9.4 by gateway/test/imageParity.test.ts:
 * - CMYK/YCCK JPEG: accepted; decoded to CMYK and converted with Pillow's formula (`cmyk`).
 * - 16-bit PNG: RGB, RGBA and grey+alpha accepted (PIL keeps the high byte, as libvips does);
 *   16-bit greyscale refused with 415: PIL opens it as 32-bit integers and convert("RGB") clips
 *   every value above 255 to white, which no model was trained on.
 * - GIF: the first frame, accepted when it covers the whole canvas and has no transparent colour
 *   (then libvips and PIL give the same pixels); otherwise refused with 415 naming the reason.
 */
import { GatewayError, unprocessable, unsupportedMedia } from "./errors";

export type ImageFormat = "jpeg" | "png" | "webp" | "gif";

export interface ImageInfo {
    readonly format: ImageFormat;
    readonly width: number;
    readonly height: number;
    /** JPEG with 4 components (CMYK or Adobe YCCK). */
    readonly cmyk: boolean;
    /** Set on an Adam7-interlaced PNG, with its bits per sample: libvips holds one whole before converting it (decodeCost). */
    readonly interlaced?: { readonly bitDepth: number };
    /**
     * Set on a sequential Huffman JPEG (SOF0 baseline, SOF1 extended), which libjpeg decodes one MCU
     * row at a time and can skip rows of without their IDCT: jpegStrips.ts decodes large ones in strips.
     */
    readonly sequential?: true;
    /**
     * Set on any other JPEG (progressive, arithmetic-coded): bytes of the DCT coefficients libjpeg
     * holds for the whole image (2 bytes each, every component at its sampling, padded to whole MCUs)
     * before it outputs a row. A 40-MP 4:2:0 one holds 120 MB of them besides its 114 MB of pixels.
     */
    readonly coefficientBytes?: number;
}

/** Sniffs JPEG, PNG, GIF and WebP signatures. */
export function sniffImageType(bytes: Uint8Array): ImageFormat | undefined {
    if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
    if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 && bytes[4] === 0x0d && bytes[5] === 0x0a && bytes[6] === 0x1a && bytes[7] === 0x0a) return "png";
    if (bytes.length >= 6 && ascii(bytes, 0, 6) === "GIF87a") return "gif";
    if (bytes.length >= 6 && ascii(bytes, 0, 6) === "GIF89a") return "gif";
    if (bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") return "webp";
    return undefined;
}

function ascii(b: Uint8Array, from: number, n: number): string {
    let s = "";
    for (let i = 0; i < n && from + i < b.length; i++) s += String.fromCharCode(b[from + i]);
    return s;
}

const truncated = () => unprocessable("undecodable_image", "the image header is truncated or malformed");
const be16 = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const le16 = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const be32 = (b: Uint8Array, i: number) => ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
const le24 = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);

/** Reads the header; throws 415 for formats or variants the gateway refuses, 422 for broken headers. */
export function probeImage(bytes: Uint8Array): ImageInfo {
    const format = sniffImageType(bytes);
    if (!format) throw unsupportedMedia("not_an_image", "bytes are not a JPEG, PNG, GIF or WebP image");
    if (format === "jpeg") return probeJpeg(bytes);
    if (format === "png") return probePng(bytes);
    if (format === "gif") return probeGif(bytes);
    return probeWebp(bytes);
}

/**
 * Bytes of a JPEG's whole coefficient array as libjpeg allocates it (jdcoefct.c: per component,
 * width and height in 8×8 blocks rounded up to its sampling factors, 64 two-byte coefficients a
 * block), from the frame header's component specs (id, H<<4|V, table; three bytes each).
 */
export function jpegCoefficientBytes(specs: Uint8Array, width: number, height: number): number {
    const factors: [number, number][] = [];
    for (let c = 0; c + 3 <= specs.length; c += 3) factors.push([Math.max(1, specs[c + 1] >> 4), Math.max(1, specs[c + 1] & 15)]);
    const hMax = Math.max(...factors.map(([h]) => h));
    const vMax = Math.max(...factors.map(([, v]) => v));
    let bytes = 0;
    for (const [h, v] of factors) {
        const blocksWide = Math.ceil(Math.ceil((width * h) / hMax) / 8);
        const blocksHigh = Math.ceil(Math.ceil((height * v) / vMax) / 8);
        bytes += Math.ceil(blocksWide / h) * h * Math.ceil(blocksHigh / v) * v * 64 * 2;
    }
    return bytes;
}

/**
 * A JPEG's marker segments after SOI, in order: each marker, the offset of its 0xFF and its length
 * field. Fill bytes and standalone markers are stepped over, and so is the entropy-coded data after
 * each SOS (stuffed 0xFF00 and restart markers belong to it). Ends at EOI or at the end of the bytes;
 * throws `truncated()` where a segment does not fit or a marker should be and is not.
 */
function* jpegSegments(b: Uint8Array): Generator<{ marker: number; at: number; length: number }> {
    let i = 2;
    while (i + 4 <= b.length) {
        if (b[i] !== 0xff) throw truncated();
        const marker = b[i + 1];
        if (marker === 0xff) {
            i++; // fill byte
            continue;
        }
        if (marker === 0xd9) return;
        if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
            i += 2;
            continue;
        }
        const length = be16(b, i + 2);
        if (length < 2 || i + 2 + length > b.length) throw truncated();
        yield { marker, at: i, length };
        i += 2 + length;
        if (marker === 0xda) {
            while (i + 1 < b.length && !(b[i] === 0xff && b[i + 1] !== 0x00 && !(b[i + 1] >= 0xd0 && b[i + 1] <= 0xd7))) i++;
        }
    }
}

/** SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
const isFrameHeader = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

/** The frame header (SOFn) segment at `at`: its size and component specs, refused as the probe refuses them. */
function readFrame(b: Uint8Array, at: number, length: number): { width: number; height: number; components: number; specs: Uint8Array } {
    if (length < 8) throw truncated();
    const height = be16(b, at + 5);
    const width = be16(b, at + 7);
    const components = b[at + 9];
    if (width === 0 || height === 0) throw unprocessable("undecodable_image", "the JPEG declares no dimensions");
    if (components !== 1 && components !== 3 && components !== 4) throw unsupportedMedia("unsupported_image", `JPEG with ${components} colour components is not supported`);
    if (length < 8 + 3 * components) throw truncated();
    return { width, height, components, specs: b.subarray(at + 10, at + 10 + 3 * components) };
}

/**
 * Counts a JPEG's scans (SOS markers), with its frame's `jpegCoefficientBytes`. Reads the whole file:
 * for large sequential JPEGs only (jpegStrips.ts), not on the hot path. At anything malformed it
 * returns what it has counted; the decoder reports the problem.
 */
export function jpegScans(b: Uint8Array): { scans: number; coefficientBytes: number } {
    let scans = 0;
    let coefficientBytes = 0;
    try {
        for (const { marker, at, length } of jpegSegments(b)) {
            if (isFrameHeader(marker)) {
                const frame = readFrame(b, at, length);
                coefficientBytes = jpegCoefficientBytes(frame.specs, frame.width, frame.height);
            } else if (marker === 0xda) scans++;
        }
    } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
    }
    return { scans, coefficientBytes };
}

function probeJpeg(b: Uint8Array): ImageInfo {
    for (const { marker, at, length } of jpegSegments(b)) {
        if (isFrameHeader(marker)) {
            const { width, height, components, specs } = readFrame(b, at, length);
            const base = { format: "jpeg" as const, width, height, cmyk: components === 4 };
            if (marker === 0xc0 || marker === 0xc1) return { ...base, sequential: true };
            return { ...base, coefficientBytes: jpegCoefficientBytes(specs, width, height) };
        }
        if (marker === 0xda) break; // scan data before any frame header
    }
    throw truncated();
}

/** A PNG's IHDR fields (PNG spec 11.2.2). */
export interface PngHeader {
    readonly width: number;
    readonly height: number;
    readonly bitDepth: number;
    readonly colorType: number;
    readonly compression: number;
    readonly filter: number;
    readonly interlace: number;
}

/** The IHDR of a PNG (signature checked), or undefined when `b` does not start with one. */
export function pngHeader(b: Uint8Array): PngHeader | undefined {
    if (b.length < 29 || sniffImageType(b) !== "png" || ascii(b, 12, 4) !== "IHDR") return undefined;
    return { width: be32(b, 16), height: be32(b, 20), bitDepth: b[24], colorType: b[25], compression: b[26], filter: b[27], interlace: b[28] };
}

function probePng(b: Uint8Array): ImageInfo {
    const header = pngHeader(b);
    if (!header) throw truncated();
    const { width, height, bitDepth, colorType } = header;
    if (width === 0 || height === 0) throw unprocessable("undecodable_image", "the PNG declares no dimensions");
    if (bitDepth === 16 && colorType === 0) {
        throw unsupportedMedia(
            "unsupported_image",
            "16-bit greyscale PNG is not supported: Keras load_img (PIL) clips its values to 0-255, so the model would see a white image; convert it to 8-bit",
        );
    }
    return { format: "png", width, height, cmyk: false, ...(header.interlace === 1 ? { interlaced: { bitDepth } } : {}) };
}

function probeGif(b: Uint8Array): ImageInfo {
    if (b.length < 13) throw truncated();
    const width = le16(b, 6);
    const height = le16(b, 8);
    if (width === 0 || height === 0) throw unprocessable("undecodable_image", "the GIF declares no dimensions");
    let i = 13;
    if (b[10] & 0x80) i += 3 * (1 << ((b[10] & 7) + 1)); // global colour table
    let transparent = false;
    while (i < b.length) {
        const block = b[i];
        if (block === 0x21) {
            if (i + 2 > b.length) throw truncated();
            const label = b[i + 1];
            if (label === 0xf9 && i + 4 <= b.length) transparent = (b[i + 3] & 1) === 1;
            i += 2;
            while (i < b.length && b[i] !== 0) i += 1 + b[i]; // data sub-blocks
            i++;
        } else if (block === 0x2c) {
            if (i + 10 > b.length) throw truncated();
            const [left, top, w, h] = [le16(b, i + 1), le16(b, i + 3), le16(b, i + 5), le16(b, i + 7)];
            if (left !== 0 || top !== 0 || w !== width || h !== height) {
                throw unsupportedMedia("unsupported_image", "GIF whose first frame does not cover the whole image is not supported (PIL and libvips fill the rest differently)");
            }
            if (transparent) throw unsupportedMedia("unsupported_image", "GIF with a transparent colour is not supported (Keras load_img shows the hidden palette colour there); send PNG or JPEG");
            return { format: "gif", width, height, cmyk: false };
        } else break;
    }
    throw truncated();
}

function probeWebp(b: Uint8Array): ImageInfo {
    if (b.length < 30) throw truncated();
    const chunk = ascii(b, 12, 4);
    let width: number;
    let height: number;
    if (chunk === "VP8 ") {
        width = le16(b, 26) & 0x3fff;
        height = le16(b, 28) & 0x3fff;
    } else if (chunk === "VP8L") {
        const bits = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
        width = (bits & 0x3fff) + 1;
        height = ((bits >>> 14) & 0x3fff) + 1;
    } else if (chunk === "VP8X") {
        width = le24(b, 24) + 1;
        height = le24(b, 27) + 1;
    } else throw truncated();
    if (width === 0 || height === 0) throw unprocessable("undecodable_image", "the WebP declares no dimensions");
    return { format: "webp", width, height, cmyk: false };
}

/**
 * Pillow's CMYK → RGB (libImaging/Convert.c `cmyk2rgb`): with nk = 255 - K, each channel is
 * nk - round(C·nk / 255), computed as MULDIV255. Converts in place: pixel i's RGB is written at
 * 3i, which never overtakes the CMYK read at 4i. Returns the RGB view.
 */
export function cmykToRgbInPlace(data: Uint8Array): Uint8Array {
    const n = Math.floor(data.length / 4);
    for (let i = 0, o = 0; i < n * 4; i += 4, o += 3) {
        const nk = 255 - data[i + 3];
        let t = data[i] * nk + 128;
        const r = nk - (((t >> 8) + t) >> 8);
        t = data[i + 1] * nk + 128;
        const g = nk - (((t >> 8) + t) >> 8);
        t = data[i + 2] * nk + 128;
        const bl = nk - (((t >> 8) + t) >> 8);
        data[o] = r < 0 ? 0 : r;
        data[o + 1] = g < 0 ? 0 : g;
        data[o + 2] = bl < 0 ? 0 : bl;
    }
    return data.subarray(0, n * 3);
}
