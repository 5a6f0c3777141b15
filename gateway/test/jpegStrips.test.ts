/**
 * Strip decoding of large sequential JPEGs (src/jpegStrips.ts) against the whole decode it replaces:
 * the same tensor, float for float, for 4:4:4, 4:2:2, 4:2:0, 4:4:0 and 4:1:1 chroma, restart markers,
 * grey and CMYK, odd sizes, upscales and strips that do not line up with MCU rows. The whole decode (sharp, PIL-identical per
 * pilParity.test.ts) is the reference; the strip size is forced small so small images have many strips.
 */
import * as fs from "node:fs";
import koffi from "koffi";
import * as path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { jpegCoefficientBytes, jpegScans, probeImage } from "../src/imageInfo";
import { asLibjpegHoldsIt, decodeJpegInStrips, jpegStripCost, jpegStripMinPixels, jpegStripPixels, jpegStripRows } from "../src/jpegStrips";
import type { InputSize } from "../src/kerasModels";
import { decodeCost, decodeImage, resizeNormalizeInto } from "../src/preprocess";
import { noteSkippedForMissingTool, testTurboJpegLibrary } from "./helpers";

const fixtures = path.join(__dirname, "fixtures");
const turboJpegLibrary = testTurboJpegLibrary();
if (!turboJpegLibrary) noteSkippedForMissingTool("the strip tests of 4:2:2, 4:4:0, 4:1:1 and restart-marker JPEGs", "a prebuilt libturbojpeg from @julusian/jpeg-turbo");
const limits = { maxPixels: 50_000_000 };

/** Seeded noise (every pixel differs from its neighbours, so an off-by-one row or column shows). */
function noise(width: number, height: number, channels: number, seed: number): Buffer {
    const data = Buffer.alloc(width * height * channels);
    let s = seed >>> 0;
    for (let i = 0; i < data.length; i++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        data[i] = s >>> 24;
    }
    return data;
}

async function jpegOf(width: number, height: number, options: { channels?: 1 | 3; chroma?: "4:2:0" | "4:4:4"; progressive?: boolean } = {}): Promise<Buffer> {
    const channels = options.channels ?? 3;
    const image = sharp(noise(width, height, channels, width * 31 + height), { raw: { width, height, channels } });
    return (channels === 1 ? image.toColourspace("b-w") : image).jpeg({ quality: 85, chromaSubsampling: options.chroma ?? "4:2:0", progressive: options.progressive ?? false }).toBuffer();
}

/**
 * An RGB JPEG written by libjpeg-turbo through TurboJPEG 3 (turbojpeg.h: tj3Init(TJINIT_COMPRESS = 0),
 * tj3Set TJPARAM_NOREALLOC = 2, TJPARAM_QUALITY = 3, TJPARAM_SUBSAMP = 4, TJPARAM_RESTARTROWS = 19;
 * TJPF_RGB = 0), for the layouts sharp cannot write: 4:2:2, 4:4:0, 4:1:1 and restart markers.
 */
function turboJpegOf(library: string, width: number, height: number, subsamp: number, restartRows: number): Buffer {
    const lib = koffi.load(library);
    const tj3Init = lib.func("void *tj3Init(int initType)");
    const tj3Set = lib.func("int tj3Set(void *handle, int param, int value)");
    const tj3JPEGBufSize = lib.func("size_t tj3JPEGBufSize(int width, int height, int jpegSubsamp)");
    const tj3Compress8 = lib.func("int tj3Compress8(void *handle, const uint8_t *srcBuf, int width, int pitch, int height, int pixelFormat, _Inout_ uint8_t **jpegBuf, _Inout_ size_t *jpegSize)");
    const tj3Destroy = lib.func("void tj3Destroy(void *handle)");
    const handle = tj3Init(0);
    try {
        for (const [param, value] of [[2, 1], [3, 85], [4, subsamp], [19, restartRows]]) expect(tj3Set(handle, param, value)).toBe(0);
        const out = Buffer.alloc(Number(tj3JPEGBufSize(width, height, subsamp)));
        const size = [out.length];
        expect(tj3Compress8(handle, noise(width, height, 3, width * 17 + subsamp), width, 0, height, 0, [out], size)).toBe(0);
        return out.subarray(0, size[0]);
    } finally {
        tj3Destroy(handle);
    }
}

/** The first component's sampling factors (H<<4 | V) in a JPEG's frame header. */
function lumaSampling(jpeg: Buffer): number {
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    return jpeg[sof + 11];
}

function tensorOf(raw: Parameters<typeof resizeNormalizeInto>[0], size: InputSize): Float32Array {
    const out = new Float32Array(size.width * size.height * 3);
    resizeNormalizeInto(raw, size, "tf", out);
    return out;
}

const size: InputSize = { width: 299, height: 299 };

describe("decodeJpegInStrips gives the whole decode's tensor", () => {
    const cases: [string, () => Promise<Buffer>][] = [
        ["640×480, 4:2:0", () => jpegOf(640, 480)],
        ["640×480, 4:4:4", () => jpegOf(640, 480, { chroma: "4:4:4" })],
        ["odd 333×517, 4:2:0", () => jpegOf(333, 517)],
        ["grey 401×389", () => jpegOf(401, 389, { channels: 1 })],
        ["upscaled 150×120 (rows picked twice)", () => jpegOf(150, 120)],
        ["CMYK fixture (Pillow's)", async () => fs.readFileSync(path.join(fixtures, "cmyk.jpg"))],
        ...(turboJpegLibrary
            ? ([
                  // TJSAMP_422 = 1, TJSAMP_420 = 2, TJSAMP_440 = 4, TJSAMP_411 = 5 (turbojpeg.h).
                  ["libjpeg-turbo 4:2:2, a restart marker every MCU row", 0x21, 1, 1],
                  ["libjpeg-turbo 4:2:0, a restart marker every 3 MCU rows", 0x22, 2, 3],
                  ["libjpeg-turbo 4:4:0, a restart marker every MCU row", 0x12, 4, 1],
                  ["libjpeg-turbo 4:1:1, no restart markers", 0x41, 5, 0],
              ] as const).map(([name, sampling, subsamp, restartRows]): [string, () => Promise<Buffer>] => [
                  name,
                  async () => {
                      const jpeg = turboJpegOf(turboJpegLibrary, 333, 517, subsamp, restartRows);
                      expect(lumaSampling(jpeg)).toBe(sampling);
                      expect(jpeg.includes(Buffer.from([0xff, 0xd0]))).toBe(restartRows > 0);
                      expect(jpegScans(jpeg).scans).toBe(1); // restart markers stay inside the one scan
                      return jpeg;
                  },
              ])
            : []),
    ];
    for (const [name, make] of cases) {
        it(name, async () => {
            const jpeg = await make();
            const info = probeImage(jpeg);
            expect(info.sequential).toBe(true);
            const reference = tensorOf(await decodeImage(jpeg, limits, info), size);
            // Strips of one MCU row, of rows that cut MCU rows, of a prime, and one larger than the image.
            // 23 rows put strip boundaries at every row offset inside an 8- or 16-row MCU row within 16
            // strips (23 is odd), as 7 rows did with three times the strips: each strip decodes the
            // image from its top, so the cost grows with the number of strips.
            for (const rows of [16, 23, 61, info.height + 5]) {
                const strips = await decodeJpegInStrips(jpeg, info, rows, size, limits);
                expect(strips.width).toBe(size.width);
                expect(strips.height).toBe(size.height);
                const tensor = tensorOf(strips, size);
                let firstDifference = -1;
                for (let i = 0; i < tensor.length && firstDifference < 0; i++) if (!Object.is(tensor[i], reference[i])) firstDifference = i;
                expect(firstDifference, `${rows} rows per strip: first difference at value ${firstDifference}`).toBe(-1);
            }
        });
    }

    it("a JPEG cut short fails as the whole decode does (422), however many rows are picked from its end", async () => {
        const jpeg = await jpegOf(640, 480);
        const cut = jpeg.subarray(0, Math.floor(jpeg.length * 0.8));
        const info = probeImage(cut);
        await expect(decodeImage(cut, limits, info)).rejects.toMatchObject({ status: 422 });
        await expect(decodeJpegInStrips(cut, info, 64, size, limits)).rejects.toMatchObject({ status: 422 });
    });

    it("stops between strips when the request is aborted", async () => {
        const jpeg = await jpegOf(640, 480);
        const info = probeImage(jpeg);
        const controller = new AbortController();
        controller.abort(new Error("client went away"));
        await expect(decodeJpegInStrips(jpeg, info, 64, size, limits, controller.signal)).rejects.toThrow("client went away");
    });
});

describe("which JPEGs are decoded in strips", () => {
    const header = (format: "jpeg" | "png", width: number, height: number, extra: object = {}) => ({ format, width, height, cmyk: false, ...extra }) as Parameters<typeof jpegStripRows>[0];

    it("large sequential JPEGs only: not progressive ones, not PNGs, not ones at or under the threshold", async () => {
        expect(jpegStripRows(header("jpeg", 8000, 5000, { sequential: true }))).toBeGreaterThan(0);
        expect(jpegStripRows(header("jpeg", 8000, 5000))).toBeUndefined();
        expect(jpegStripRows(header("png", 8000, 5000, { sequential: true }))).toBeUndefined();
        expect(jpegStripRows(header("jpeg", 4000, 3000, { sequential: true }))).toBeUndefined(); // a 12-MP photo
        expect(jpegStripRows(header("jpeg", jpegStripMinPixels, 1, { sequential: true }))).toBeUndefined();
        // The probe tells the two kinds apart by their frame header (SOF0 against SOF2).
        expect(probeImage(await jpegOf(64, 48)).sequential).toBe(true);
        expect(probeImage(await jpegOf(64, 48, { progressive: true })).sequential).toBeUndefined();
    });

    it("a strip holds at most jpegStripPixels and at least one MCU row (16 rows)", () => {
        for (const [width, height] of [[8000, 5000], [5000, 8000], [65535, 300], [4097, 4097]]) {
            const rows = jpegStripRows(header("jpeg", width, height, { sequential: true }))!;
            expect(rows).toBeGreaterThanOrEqual(16);
            if (rows > 16) expect(rows * width).toBeLessThanOrEqual(jpegStripPixels);
            expect((rows + 1) * width).toBeGreaterThan(jpegStripPixels); // as large as it may be
        }
    });

    it("the budget's cost is one strip plus the output, in RGB pixels (CMYK strips are 4 bytes a pixel)", () => {
        const rgb = header("jpeg", 8000, 5000, { sequential: true });
        expect(jpegStripCost(rgb, 500, size)).toBe(500 * 8000 + 299 * 299);
        expect(jpegStripCost({ ...rgb, cmyk: true }, 500, size)).toBe(Math.ceil((500 * 8000 * 4) / 3) + 299 * 299);
    });
});

describe("a progressive JPEG's whole coefficient array, which the budget counts", () => {
    // Hand-computed with libjpeg's rule (jdcoefct.c, jdinput.c): per component, width and height in
    // 8×8 blocks (jdiv_round_up(size × factor, max factor × 8)), each rounded up to a multiple of its
    // factor, times 64 coefficients of 2 bytes.
    it("4:2:0 at 8000×5000: Y 1000×626 blocks, Cb and Cr 500×313 each", () => {
        const specs = Uint8Array.from([1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        expect(jpegCoefficientBytes(specs, 8000, 5000)).toBe((1000 * 626 + 2 * 500 * 313) * 128);
    });

    it("4:4:4 at 640×480 and 4:2:0 at the odd 333×517 (Y 42×66, chroma 21×33)", () => {
        expect(jpegCoefficientBytes(Uint8Array.from([1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1]), 640, 480)).toBe(3 * 80 * 60 * 128);
        expect(jpegCoefficientBytes(Uint8Array.from([1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]), 333, 517)).toBe((42 * 66 + 2 * 21 * 33) * 128);
    });

    it("the probe reads it from a progressive JPEG's frame header, and decodeCost adds it to the pixels", async () => {
        const info = probeImage(await jpegOf(333, 517, { progressive: true }));
        expect(info.coefficientBytes).toBe((42 * 66 + 2 * 21 * 33) * 128);
        expect(decodeCost(info)).toBe(Math.ceil((333 * 517 * 3 + (42 * 66 + 2 * 21 * 33) * 128) / 3));
        expect(probeImage(await jpegOf(333, 517)).coefficientBytes).toBeUndefined();
    });
});

describe("scans, which decide whether libjpeg holds a sequential JPEG whole", () => {
    it("counts one scan in a baseline JPEG and several in a progressive one, whatever an APP segment carries", async () => {
        const baseline = await jpegOf(333, 517);
        expect(jpegScans(baseline)).toEqual({ scans: 1, coefficientBytes: (42 * 66 + 2 * 21 * 33) * 128 });
        expect(jpegScans(await jpegOf(333, 517, { progressive: true })).scans).toBeGreaterThan(1);
        // An APP1 segment right after SOI whose payload looks like markers (an embedded thumbnail's SOI and SOS).
        const payload = Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x04, 0xff, 0xda]);
        const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, 0x00, payload.length + 2]), payload]);
        const withApp1 = Buffer.concat([baseline.subarray(0, 2), app1, baseline.subarray(2)]);
        expect(jpegScans(withApp1).scans).toBe(1);
        expect(probeImage(withApp1)).toEqual(probeImage(baseline));
    });

    it("a sequential frame written as several scans is held whole: not in strips, its coefficients budgeted", async () => {
        // A progressive JPEG with its SOF2 marker turned into SOF0: a sequential frame with many scans,
        // as far as the header and the scan count go (this is all asLibjpegHoldsIt reads).
        const progressive = await jpegOf(2000, 1200, { progressive: true });
        const sof2 = progressive.indexOf(Buffer.from([0xff, 0xc2]));
        expect(sof2).toBeGreaterThan(0);
        const multiScan = Buffer.from(progressive);
        multiScan[sof2 + 1] = 0xc0;
        const info = probeImage(multiScan);
        expect(info.sequential).toBe(true);
        const held = asLibjpegHoldsIt(info, multiScan);
        expect(held.sequential).toBeUndefined();
        expect(held.coefficientBytes).toBe((250 * 150 + 2 * 125 * 75) * 128); // 4:2:0: Y 250×150 blocks, chroma 125×75
        expect(decodeCost(held)).toBeGreaterThan(decodeCost(info));
        // One scan, or small enough for TurboJPEG: unchanged, and nothing read past the header.
        const baseline = await jpegOf(2000, 1200);
        expect(asLibjpegHoldsIt(probeImage(baseline), baseline)).toEqual(probeImage(baseline));
        const small = await jpegOf(640, 480, { progressive: true });
        const smallMultiScan = Buffer.from(small);
        smallMultiScan[small.indexOf(Buffer.from([0xff, 0xc2])) + 1] = 0xc0;
        expect(asLibjpegHoldsIt(probeImage(smallMultiScan), smallMultiScan)).toEqual(probeImage(smallMultiScan));
    });
});
