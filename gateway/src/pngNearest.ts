/**
 * PNGs decoded straight to the pixels a nearest-neighbour resize keeps: the rows of the image are
 * inflated (zlib, on libuv's threads) and unfiltered one at a time, and only the source pixels PIL's
 * nearest resize picks (`pilNearestIndices`) are copied out. Memory is two rows of the source plus
 * the output, whatever the image's size: a 40-megapixel PNG takes ~50 KB instead of the 114 MB a
 * full decode holds. The pixels are what PIL's `convert("RGB")` gives for these PNG types (alpha
 * dropped, grey replicated, palette looked up, tRNS ignored), so the tensor is the same bit for bit.
 *
 * Taken for 8-bit PNGs of colour type grey, RGB, palette, grey+alpha or RGBA, interlaced (Adam7:
 * each of the seven passes is read the same way) or not (what `pngNearestLayout` accepts);
 * everything else (16-bit, 1-4-bit) is decoded whole by sharp.
 */
import * as zlib from "node:zlib";
import { unprocessable } from "./errors";
import { noteImageGarbage } from "./imageGarbage";
import { pngHeader } from "./imageInfo";
import type { InputSize } from "./kerasModels";
import { pilNearestIndices, type RawImage } from "./preprocess";

/** What the row decoder needs from IHDR (and PLTE for a palette image). */
export interface PngNearestLayout {
    readonly width: number;
    readonly height: number;
    /** Bytes per pixel in a row: 1 grey or palette index, 2 grey+alpha, 3 RGB, 4 RGBA. */
    readonly bytesPerPixel: number;
    readonly colorType: 0 | 2 | 3 | 4 | 6;
    /** Adam7: the image comes as seven reduced images (passes), each filtered on its own. */
    readonly interlaced: boolean;
}

const bytesPerPixelOf: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** The layout of a PNG this decoder takes, or undefined (the caller then decodes it whole). */
export function pngNearestLayout(bytes: Uint8Array): PngNearestLayout | undefined {
    const header = pngHeader(bytes);
    if (!header) return undefined;
    const { width, height, bitDepth, colorType, compression, filter, interlace } = header;
    const bytesPerPixel = bytesPerPixelOf[colorType];
    if (width === 0 || height === 0 || bitDepth !== 8 || bytesPerPixel === undefined || compression !== 0 || filter !== 0 || interlace > 1) return undefined;
    return { width, height, bytesPerPixel, colorType: colorType as PngNearestLayout["colorType"], interlaced: interlace === 1 };
}

/** A reduced image of the PNG: the pixels at x0 + i·dx, y0 + j·dy (the whole image when not interlaced). */
interface Pass {
    readonly x0: number;
    readonly y0: number;
    readonly dx: number;
    readonly dy: number;
    /** Pixels per row and rows; a pass with none of either has no bytes at all (PNG spec 8.2). */
    readonly width: number;
    readonly height: number;
}

/** Adam7's seven passes as [x0, y0, dx, dy] (PNG spec, section 8.2). */
export const adam7: readonly (readonly [number, number, number, number])[] = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
];

/** Adam7's passes, or the one pass of a non-interlaced image. */
function passesOf(layout: PngNearestLayout): Pass[] {
    const steps = layout.interlaced ? adam7 : [[0, 0, 1, 1] as const];
    return steps
        .map(([x0, y0, dx, dy]) => ({ x0, y0, dx, dy, width: Math.ceil(Math.max(0, layout.width - x0) / dx), height: Math.ceil(Math.max(0, layout.height - y0) / dy) }))
        .filter((p) => p.width > 0 && p.height > 0);
}

/** The pixel budget's units (3 bytes) this decoder holds for `layout` resized to `size`: the output and two rows. */
export function pngNearestCost(layout: PngNearestLayout, size: InputSize): number {
    return Math.ceil((size.width * size.height * 3 + 2 * layout.width * layout.bytesPerPixel) / 3);
}

const broken = (why: string) => unprocessable("undecodable_image", `the image could not be decoded: ${why}`);

/** The PNG's chunks after the signature, CRCs checked (as libpng does for the whole-image path). */
function* chunks(bytes: Uint8Array): Generator<{ type: string; data: Uint8Array }> {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 8;
    while (at + 12 <= bytes.length) {
        const length = view.getUint32(at);
        if (at + 12 + length > bytes.length) throw broken(`a PNG chunk runs past the end of the file`);
        const typeAndData = bytes.subarray(at + 4, at + 8 + length);
        if (zlib.crc32(typeAndData) !== view.getUint32(at + 8 + length)) throw broken("a PNG chunk has a bad CRC");
        const type = String.fromCharCode(typeAndData[0], typeAndData[1], typeAndData[2], typeAndData[3]);
        yield { type, data: typeAndData.subarray(4) };
        if (type === "IEND") return;
        at += 12 + length;
    }
    throw broken("the PNG ends before its IEND chunk");
}

/** The Paeth predictor of a byte from its left (a), upper (b) and upper-left (c) neighbours (PNG spec 9.4). */
export function paeth(a: number, b: number, c: number): number {
    const p = a + b - c;
    const pa = Math.abs(p - a);
    const pb = Math.abs(p - b);
    const pc = Math.abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Undoes one row's PNG filter in place (`prior` is the previous row unfiltered, zeros for the first). */
function unfilter(filterType: number, row: Uint8Array, prior: Uint8Array, bpp: number): void {
    const n = row.length;
    switch (filterType) {
        case 0:
            return;
        case 1:
            for (let i = bpp; i < n; i++) row[i] = (row[i] + row[i - bpp]) & 255;
            return;
        case 2:
            for (let i = 0; i < n; i++) row[i] = (row[i] + prior[i]) & 255;
            return;
        case 3:
            for (let i = 0; i < bpp; i++) row[i] = (row[i] + (prior[i] >> 1)) & 255;
            for (let i = bpp; i < n; i++) row[i] = (row[i] + ((row[i - bpp] + prior[i]) >> 1)) & 255;
            return;
        case 4:
            for (let i = 0; i < bpp; i++) row[i] = (row[i] + prior[i]) & 255;
            for (let i = bpp; i < n; i++) row[i] = (row[i] + paeth(row[i - bpp], prior[i], prior[i - bpp])) & 255;
            return;
        default:
            throw broken(`row filter type ${filterType} does not exist`);
    }
}

export interface PngNearestOptions {
    /**
     * Images whose filtered rows take at most this many bytes are inflated in one synchronous call
     * (no thread hand-offs: a 640×480 RGB PNG costs ~25% less CPU that way); larger ones stream.
     * Default 4 MiB (a ~1.3-megapixel RGB image, a few ms on the event loop).
     */
    readonly syncInflateMaxBytes?: number;
}

/**
 * Decodes `bytes` (a PNG `pngNearestLayout` accepted as `layout`) to `size.width` × `size.height`
 * RGB pixels: the source pixels PIL's nearest resize to `size` picks. The result resizes to `size`
 * as the identity. Rejects with 422 when the data is broken or ends early; stops when `signal` aborts.
 */
export async function decodePngNearest(bytes: Uint8Array, layout: PngNearestLayout, size: InputSize, signal?: AbortSignal, options: PngNearestOptions = {}): Promise<RawImage> {
    signal?.throwIfAborted();
    const { width, height, bytesPerPixel: bpp, colorType } = layout;
    let palette: Uint8Array | undefined;
    const idat: Uint8Array[] = [];
    for (const { type, data } of chunks(bytes)) {
        if (type === "PLTE") palette = data;
        else if (type === "IDAT") idat.push(data);
    }
    if (colorType === 3 && (palette === undefined || palette.length % 3 !== 0)) throw broken("the palette PNG has no valid PLTE chunk");
    if (idat.length === 0) throw broken("the PNG has no image data");

    const xs = pilNearestIndices(width, size.width);
    const ys = pilNearestIndices(height, size.height);
    const out = new Uint8Array(size.width * size.height * 3);
    const passes = passesOf(layout);
    let row = new Uint8Array(width * bpp);
    let prior = new Uint8Array(width * bpp);
    let passIndex = 0;
    let pass = passes[0];
    let rowBytes = pass.width * bpp;
    let filterType = -1;
    let filled = 0;
    let passRow = 0;

    /** Copies the picked pixels in pass row `passRow` (source row y0 + passRow·dy) into every output row that uses it. */
    const emit = () => {
        const sourceY = pass.y0 + passRow * pass.dy;
        // ys is non-decreasing: the first output row that samples sourceY, by binary search.
        let lo = 0;
        let hi = size.height;
        while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (ys[mid] < sourceY) lo = mid + 1;
            else hi = mid;
        }
        for (let outY = lo; outY < size.height && ys[outY] === sourceY; outY++) {
            let o = outY * size.width * 3;
            for (let x = 0; x < size.width; x++, o += 3) {
                const fromX = xs[x] - pass.x0;
                if (fromX < 0 || fromX % pass.dx !== 0) continue;
                const p = (fromX / pass.dx) * bpp;
                if (colorType === 2 || colorType === 6) {
                    out[o] = row[p];
                    out[o + 1] = row[p + 1];
                    out[o + 2] = row[p + 2];
                } else if (colorType === 3) {
                    const entry = row[p] * 3;
                    if (entry >= palette!.length) throw broken(`palette index ${row[p]} is past the ${palette!.length / 3} colours of PLTE`);
                    out[o] = palette![entry];
                    out[o + 1] = palette![entry + 1];
                    out[o + 2] = palette![entry + 2];
                } else {
                    out[o] = out[o + 1] = out[o + 2] = row[p];
                }
            }
        }
    };

    /** Consumes inflated bytes: per pass, a filter byte and the row, row after row. */
    const consume = (chunk: Buffer) => {
        let at = 0;
        while (at < chunk.length && passIndex < passes.length) {
            if (filterType < 0) {
                filterType = chunk[at++];
                continue;
            }
            const take = Math.min(rowBytes - filled, chunk.length - at);
            row.set(chunk.subarray(at, at + take), filled);
            filled += take;
            at += take;
            if (filled < rowBytes) continue;
            const current = row.subarray(0, rowBytes);
            unfilter(filterType, current, prior.subarray(0, rowBytes), bpp);
            emit();
            [row, prior] = [prior, row];
            filterType = -1;
            filled = 0;
            if (++passRow === pass.height && ++passIndex < passes.length) {
                // A new pass: its first row is filtered against zeros.
                pass = passes[passIndex];
                rowBytes = pass.width * bpp;
                passRow = 0;
                prior.fill(0);
            }
        }
    };
    const done = () => passIndex === passes.length;
    /** How far the data got, for the error when it ends early. */
    const progress = () => (layout.interlaced ? `${passRow} of ${pass.height} rows of interlace pass ${passIndex + 1}` : `${passRow} of ${height} rows`);

    const image = (): RawImage => ({ data: out, width: size.width, height: size.height, channels: 3 });
    const filteredBytes = passes.reduce((sum, p) => sum + p.height * (p.width * bpp + 1), 0);
    if (filteredBytes <= (options.syncInflateMaxBytes ?? 4 * 1024 * 1024)) {
        let inflated: Buffer;
        try {
            // The header's size caps the output: a small header over a zlib bomb allocates no more.
            inflated = zlib.inflateSync(idat.length === 1 ? idat[0] : Buffer.concat(idat), { maxOutputLength: filteredBytes });
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw broken("the PNG holds more image data than its header declares");
            throw broken("the PNG's compressed data is corrupt");
        }
        consume(inflated);
        if (!done()) throw broken(`the PNG's data ends after ${progress()}`);
        return image();
    }

    // Settled only from the stream's own events, when zlib has no work on libuv's threads: the
    // caller frees `bytes` (releaseNow) once this settles, and an inflate still running would read
    // freed memory. An abort is therefore acted on at the next inflated chunk (a few hundred µs).
    return await new Promise<RawImage>((resolve, reject) => {
        const inflate = zlib.createInflate({ chunkSize: 64 * 1024 });
        let settled = false;
        let abortedBy: Error | undefined;
        const fail = (err: Error) => {
            if (settled) return;
            settled = true;
            signal?.removeEventListener("abort", onAbort);
            inflate.destroy();
            reject(err);
        };
        const onAbort = () => {
            abortedBy = signal!.reason instanceof Error ? signal!.reason : new Error("aborted");
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        inflate.on("data", (chunk: Buffer) => {
            noteImageGarbage(chunk.length);
            if (abortedBy) return fail(abortedBy);
            try {
                consume(chunk);
            } catch (err) {
                fail(err as Error);
            }
            // Rows past the last are ignored (as libpng does with extra data).
            if (done() && !settled) {
                settled = true;
                signal?.removeEventListener("abort", onAbort);
                inflate.destroy();
                resolve(image());
            }
        });
        inflate.on("error", () => fail(abortedBy ?? broken("the PNG's compressed data is corrupt")));
        inflate.on("end", () => fail(abortedBy ?? broken(`the PNG's data ends after ${progress()}`)));
        for (const part of idat) inflate.write(part);
        inflate.end();
    });
}
