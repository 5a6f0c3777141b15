/**
 * The row-by-row PNG decoder (src/pngNearest.ts) against libpng: PNGs written here with every row
 * filter (None, Sub, Up, Average, Paeth: PNG spec section 9.2, applied forwards here) in every
 * colour type it takes, interlaced or not, are decoded whole by sharp (libpng), the pixels PIL's
 * nearest resize picks are gathered from that, and the two must agree byte for byte. The writer
 * shares the decoder's Paeth predictor and Adam7 table: were either wrong, the file would say
 * something else to libpng than to the decoder, and the comparison fails. Parity with PIL itself is in
 * imageParity.test.ts (committed Pillow tensors) and pilParity.test.ts (live Pillow).
 */
import * as zlib from "node:zlib";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { adam7, decodePngNearest, paeth, pngNearestCost, pngNearestLayout } from "../src/pngNearest";
import { noteImageGarbage } from "../src/imageGarbage";
import { probeImage } from "../src/imageInfo";
import { decodeCost, pilNearestIndices } from "../src/preprocess";

function chunk(type: string, data: Uint8Array): Buffer {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, "latin1");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
}

/** Row `y` filtered with `type`, as an encoder writes it (`prior`: the previous raw row, or zeros). */
function filterRow(type: number, row: Uint8Array, prior: Uint8Array, bpp: number): Uint8Array {
    const out = new Uint8Array(row.length + 1);
    out[0] = type;
    for (let i = 0; i < row.length; i++) {
        const a = i >= bpp ? row[i - bpp] : 0;
        const b = prior[i];
        const c = i >= bpp ? prior[i - bpp] : 0;
        const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][type];
        out[i + 1] = (row[i] - predictor) & 255;
    }
    return out;
}

interface PngSpec {
    width: number;
    height: number;
    colorType: 0 | 2 | 3 | 4 | 6;
    /** Raw samples, rows of width × channels bytes (palette indices for colour type 3). */
    pixels: Uint8Array;
    palette?: Uint8Array;
    transparency?: Uint8Array;
    /** Filter of row y: filters[y % filters.length]. */
    filters?: number[];
    /** IDAT split into this many chunks. */
    idatChunks?: number;
    /** Adam7 (PNG spec 8.2): seven reduced images, each filtered on its own. */
    interlaced?: boolean;
    /** Leaves out this many bytes at the end of the filtered rows (a complete zlib stream of less data). */
    shortBy?: number;
}


const channelsOf = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

let zerosDeflated: Promise<Buffer> | undefined;
/**
 * zlib's stream of 100 MiB of zeros, for the zlib-bomb cases: 450 KB at zlib's fastest level, which
 * deflates it in about 50 ms of CPU against 0.5-0.8 s at the default level (a 100 KB stream); the
 * inflater reads both the same. Fed one zeroed MiB a hundred times: the same stream as from one
 * 100 MiB buffer, without allocating and touching 100 MiB (67 ms of CPU against 384 ms measured).
 */
function hundredMiBOfZerosDeflated(): Promise<Buffer> {
    zerosDeflated ??= new Promise((resolve, reject) => {
        const deflate = zlib.createDeflate({ level: zlib.constants.Z_BEST_SPEED });
        const parts: Buffer[] = [];
        deflate.on("data", (part: Buffer) => parts.push(part));
        deflate.on("end", () => resolve(Buffer.concat(parts)));
        deflate.on("error", reject);
        const mebibyte = Buffer.alloc(2 ** 20);
        for (let i = 0; i < 100; i++) deflate.write(mebibyte);
        deflate.end();
    });
    return zerosDeflated;
}

function writePng(spec: PngSpec): Buffer {
    const bpp = channelsOf[spec.colorType];
    const rowBytes = spec.width * bpp;
    const filters = spec.filters ?? [0, 1, 2, 3, 4];
    const rows: Uint8Array[] = [];
    let filtered = 0;
    for (const [x0, y0, dx, dy] of spec.interlaced ? adam7 : [[0, 0, 1, 1]]) {
        const passWidth = Math.ceil(Math.max(0, spec.width - x0) / dx);
        let prior: Uint8Array = new Uint8Array(passWidth * bpp);
        for (let y = y0; y < spec.height && passWidth > 0; y += dy) {
            const row = new Uint8Array(passWidth * bpp);
            for (let i = 0; i < passWidth; i++) row.set(spec.pixels.subarray(y * rowBytes + (x0 + i * dx) * bpp, y * rowBytes + (x0 + i * dx + 1) * bpp), i * bpp);
            rows.push(filterRow(filters[filtered++ % filters.length], row, prior, bpp));
            prior = row;
        }
    }
    const filteredRows = Buffer.concat(rows);
    const data = zlib.deflateSync(filteredRows.subarray(0, filteredRows.length - (spec.shortBy ?? 0)));
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(spec.width, 0);
    ihdr.writeUInt32BE(spec.height, 4);
    ihdr.set([8, spec.colorType, 0, 0, spec.interlaced ? 1 : 0], 8);
    const parts = spec.idatChunks ?? 1;
    const step = Math.ceil(data.length / parts);
    const idat = Array.from({ length: parts }, (_, i) => chunk("IDAT", data.subarray(i * step, (i + 1) * step)));
    return Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        chunk("IHDR", ihdr),
        ...(spec.palette ? [chunk("PLTE", spec.palette)] : []),
        ...(spec.transparency ? [chunk("tRNS", spec.transparency)] : []),
        ...idat,
        chunk("IEND", new Uint8Array(0)),
    ]);
}

function noise(length: number, seed: number): Uint8Array {
    const out = new Uint8Array(length);
    let s = seed;
    for (let i = 0; i < length; i++) {
        s = (s * 1103515245 + 12345) >>> 0;
        // Smooth-ish values, so every filter has something to predict.
        out[i] = ((s >>> 24) & 63) + ((i * 7) & 127);
    }
    return out;
}

/** libpng's answer: sharp decodes whole (RGB, alpha dropped); `at(size)` gathers the pixels PIL's nearest resize picks. */
async function libpngNearest(png: Buffer): Promise<{ at: (width: number, height: number) => Uint8Array }> {
    const { data, info } = await sharp(png).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(3);
    return {
        at(width, height) {
            const xs = pilNearestIndices(info.width, width);
            const ys = pilNearestIndices(info.height, height);
            const out = new Uint8Array(width * height * 3);
            for (let y = 0; y < height; y++) {
                for (let x = 0; x < width; x++) {
                    const from = (ys[y] * info.width + xs[x]) * 3;
                    out.set(data.subarray(from, from + 3), (y * width + x) * 3);
                }
            }
            return out;
        },
    };
}

const palette = noise(3 * 40, 9);

describe("decodePngNearest against libpng", () => {
    const cases: [string, PngSpec][] = [
        ["grey", { width: 53, height: 41, colorType: 0, pixels: noise(53 * 41, 1) }],
        ["RGB", { width: 53, height: 41, colorType: 2, pixels: noise(53 * 41 * 3, 2) }],
        ["palette with tRNS", { width: 53, height: 41, colorType: 3, pixels: noise(53 * 41, 3).map((v) => v % 40), palette, transparency: new Uint8Array([0, 128, 255]) }],
        ["grey+alpha", { width: 53, height: 41, colorType: 4, pixels: noise(53 * 41 * 2, 4) }],
        ["RGBA", { width: 53, height: 41, colorType: 6, pixels: noise(53 * 41 * 4, 5) }],
        ["RGB, IDAT in 7 chunks", { width: 64, height: 64, colorType: 2, pixels: noise(64 * 64 * 3, 6), idatChunks: 7 }],
        ["RGB, one column", { width: 1, height: 300, colorType: 2, pixels: noise(300 * 3, 7) }],
        ["RGB, interlaced", { width: 53, height: 41, colorType: 2, pixels: noise(53 * 41 * 3, 10), interlaced: true }],
        ["RGBA, interlaced", { width: 53, height: 41, colorType: 6, pixels: noise(53 * 41 * 4, 11), interlaced: true }],
        ["grey, interlaced", { width: 53, height: 41, colorType: 0, pixels: noise(53 * 41, 12), interlaced: true }],
        ["grey+alpha, interlaced", { width: 53, height: 41, colorType: 4, pixels: noise(53 * 41 * 2, 15), interlaced: true }],
        ["palette, interlaced", { width: 53, height: 41, colorType: 3, pixels: noise(53 * 41, 13).map((v) => v % 40), palette, interlaced: true }],
        // Some passes are empty here (no columns or no rows): they have no bytes at all.
        ["RGB, interlaced 5x3", { width: 5, height: 3, colorType: 2, pixels: noise(5 * 3 * 3, 14), interlaced: true }],
        ["RGB, interlaced 1x1", { width: 1, height: 1, colorType: 2, pixels: new Uint8Array([10, 20, 30]), interlaced: true }],
    ];
    for (const [name, spec] of cases) {
        // To 29x17 (down) and 299x299 (up: source rows and columns repeat), inflated in one call
        // (the default for images this small) and streamed (as large ones are).
        it(`${name} ${spec.width}x${spec.height}, every row filter: the pixels libpng decodes, at 29x17 and 299x299, inflated in one call and streamed`, async () => {
            const png = writePng(spec);
            const layout = pngNearestLayout(png);
            expect(layout).toEqual({ width: spec.width, height: spec.height, bytesPerPixel: channelsOf[spec.colorType], colorType: spec.colorType, interlaced: spec.interlaced ?? false });
            const libpng = await libpngNearest(png);
            for (const [width, height] of [
                [29, 17],
                [299, 299],
            ]) {
                const expected = Buffer.from(libpng.at(width, height));
                for (const [inflate, options] of [
                    ["one call", {}],
                    ["streamed", { syncInflateMaxBytes: 0 }],
                ] as const) {
                    const mine = await decodePngNearest(png, layout!, { width, height }, undefined, options);
                    expect({ width: mine.width, height: mine.height, channels: mine.channels }).toEqual({ width, height, channels: 3 });
                    expect(Buffer.from(mine.data).equals(expected), `${width}x${height}, inflated ${inflate}`).toBe(true);
                }
            }
        });
    }

    it("holds two source rows and the output, whatever the source size", () => {
        const layout = pngNearestLayout(writePng({ width: 8000, height: 2, colorType: 6, pixels: new Uint8Array(8000 * 2 * 4) }))!;
        expect(pngNearestCost(layout, { width: 299, height: 299 })).toBe(Math.ceil((299 * 299 * 3 + 2 * 8000 * 4) / 3));
    });
});

describe("what decodePngNearest leaves to sharp, and what it rejects", () => {
    const rgb = (over: Partial<PngSpec> = {}) => writePng({ width: 20, height: 10, colorType: 2, pixels: noise(600, 8), ...over });

    it("takes only 8-bit PNGs of the five colour types", () => {
        expect(pngNearestLayout(rgb())).toBeDefined();
        const variant = (offset: number, value: number) => {
            const png = Buffer.from(rgb());
            png[offset] = value;
            return pngNearestLayout(png);
        };
        expect(variant(24, 16)).toBeUndefined(); // 16-bit
        expect(variant(24, 4)).toBeUndefined(); // 4-bit
        expect(variant(28, 2)).toBeUndefined(); // no such interlace method
        expect(pngNearestLayout(rgb({ interlaced: true }))?.interlaced).toBe(true);
        // sharp decodes the rest whole; an interlaced 16-bit one is budgeted at 3 copies: libvips reads it
        // whole at 2 bytes a sample, then writes 8-bit pixels (measured: 434 MB above idle at 40 MP).
        const interlaced16 = Buffer.from(rgb({ interlaced: true }));
        interlaced16[24] = 16;
        expect(pngNearestLayout(interlaced16)).toBeUndefined();
        expect(probeImage(interlaced16)).toEqual({ format: "png", width: 20, height: 10, cmyk: false, interlaced: { bitDepth: 16 } });
        expect(decodeCost(probeImage(interlaced16))).toBe(3 * 200);
        expect(decodeCost(probeImage(rgb()))).toBe(200);
        expect(variant(25, 5)).toBeUndefined(); // no such colour type
        expect(pngNearestLayout(Buffer.from("not a png at all, but long enough to read"))).toBeUndefined();
    });

    it.each([
        ["one call", {}],
        ["streamed", { syncInflateMaxBytes: 0 }],
    ] as const)("rejects with 422 a bad CRC, corrupt, short or excess image data, a missing PLTE and an index past it (inflated %s)", async (_, options) => {
        const size = { width: 5, height: 5 };
        const decode = (png: Buffer) => decodePngNearest(png, pngNearestLayout(png)!, size, undefined, options);
        const badCrc = Buffer.from(rgb());
        badCrc[41] ^= 1; // inside the IDAT chunk's data
        await expect(decode(badCrc)).rejects.toMatchObject({ status: 422, message: expect.stringContaining("bad CRC") });

        const short = writePng({ width: 20, height: 10, colorType: 2, pixels: noise(600, 8) });
        const ihdrTaller = Buffer.from(short);
        ihdrTaller.writeUInt32BE(11, 20); // one row more than the data holds
        ihdrTaller.writeUInt32BE(zlib.crc32(ihdrTaller.subarray(12, 29)), 29);
        await expect(decode(ihdrTaller)).rejects.toMatchObject({ status: 422, message: expect.stringContaining("ends after 10 of 11 rows") });
        // 20x10 interlaced: pass 7 holds rows 1, 3, 5, 7, 9 of 20 pixels (61 bytes each with the filter byte).
        await expect(decode(rgb({ interlaced: true, shortBy: 61 }))).rejects.toMatchObject({ status: 422, message: expect.stringContaining("ends after 4 of 5 rows of interlace pass 7") });

        const garbage = Buffer.concat([short.subarray(0, 33), chunk("IDAT", Buffer.from("not zlib data at all")), chunk("IEND", new Uint8Array(0))]);
        await expect(decode(garbage)).rejects.toMatchObject({ status: 422, message: expect.stringContaining("compressed data is corrupt") });

        const noPalette = writePng({ width: 4, height: 4, colorType: 3, pixels: new Uint8Array(16) });
        await expect(decode(noPalette)).rejects.toMatchObject({ status: 422, message: expect.stringContaining("no valid PLTE") });
        const pastPalette = writePng({ width: 4, height: 4, colorType: 3, pixels: new Uint8Array(16).fill(2), palette: new Uint8Array(6) });
        await expect(decode(pastPalette)).rejects.toMatchObject({ status: 422, message: expect.stringContaining("palette index 2 is past the 2 colours") });

        // A header of 20x10 over data that inflates to 100 MB: one call stops at the declared size
        // (streamed, the rows past the last are ignored, as libpng does).
        const bomb = Buffer.concat([short.subarray(0, 33), chunk("IDAT", await hundredMiBOfZerosDeflated()), chunk("IEND", new Uint8Array(0))]);
        if ("syncInflateMaxBytes" in options) expect((await decode(bomb)).width).toBe(5);
        else await expect(decode(bomb)).rejects.toMatchObject({ status: 422, message: expect.stringContaining("more image data than its header declares") });

        const noBadFilter = Buffer.concat([short.subarray(0, 33), chunk("IDAT", zlib.deflateSync(Buffer.alloc(61 * 10, 9))), chunk("IEND", new Uint8Array(0))]);
        await expect(decode(noBadFilter)).rejects.toMatchObject({ status: 422, message: expect.stringContaining("row filter type 9 does not exist") });
    });

    it("stops when the request is aborted: before it starts, and mid-stream at the next inflated chunk", async () => {
        const png = rgb();
        const controller = new AbortController();
        controller.abort(new Error("client closed"));
        await expect(decodePngNearest(png, pngNearestLayout(png)!, { width: 5, height: 5 }, controller.signal)).rejects.toThrow("client closed");

        // 2000x1000 RGB: 6 MB of rows, about 90 inflated chunks.
        const big = writePng({ width: 2000, height: 1000, colorType: 2, pixels: noise(2000 * 1000 * 3, 16) });
        const midway = new AbortController();
        const decoding = decodePngNearest(big, pngNearestLayout(big)!, { width: 5, height: 5 }, midway.signal, { syncInflateMaxBytes: 0 });
        setImmediate(() => midway.abort(new Error("deadline")));
        await expect(decoding).rejects.toThrow("deadline");
    });
});

describe("noteImageGarbage", () => {
    it("with --expose-gc's gc, collects the young generation once per 8 MiB of image garbage; without it, does nothing", () => {
        const holder = globalThis as { gc?: (options: { type: string }) => void };
        const before = holder.gc;
        const calls: { type: string }[] = [];
        try {
            delete holder.gc;
            noteImageGarbage(64 * 2 ** 20); // no gc: nothing to call, nothing thrown; the count starts over
            holder.gc = (options) => calls.push(options);
            noteImageGarbage(4 * 2 ** 20);
            noteImageGarbage(4 * 2 ** 20 - 1);
            expect(calls).toEqual([]);
            noteImageGarbage(1);
            expect(calls).toEqual([{ type: "minor" }]);
            noteImageGarbage(20 * 2 ** 20);
            expect(calls).toHaveLength(2);
        } finally {
            holder.gc = before;
            if (before === undefined) delete holder.gc;
        }
    });
});
