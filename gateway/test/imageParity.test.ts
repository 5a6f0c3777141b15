/**
 * Parity with Keras `load_img` (PIL open → convert("RGB") → resize NEAREST) on the formats PIL
 * opens that need care: CMYK JPEG, GIF, 16-bit PNG, grey and grey+alpha PNG/JPEG, palette PNG with
 * transparency. The fixtures and PIL's expected tensors were made by fixtures/make_fixtures.py with
 * Pillow 9.4 (Debian bookworm); they are compared bit for bit, so this runs without Python. When a
 * Python with Pillow and numpy is present, the same images also go through the installed PIL.
 * Refused variants must be a 415 whose message names the variant.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { cmykToRgbInPlace, probeImage } from "../src/imageInfo";
import { decodePngNearest, pngNearestLayout } from "../src/pngNearest";
import { decodeImage, resizeNormalizeInto } from "../src/preprocess";
import type { JpegDecoder } from "../src/turboJpeg";
import { jpegDecoderCases, noteSkippedForMissingTool, pilPreprocessScript, pillowPython, testTurboJpeg } from "./helpers";

const dir = path.join(__dirname, "fixtures");
const expected = JSON.parse(fs.readFileSync(path.join(dir, "expected.json"), "utf8")) as {
    size: [number, number];
    accepted: Record<string, { pilMode: string; tensor: string }>;
    refused: Record<string, string>;
};
const [outH, outW] = expected.size;

/** Each JPEG decoder the gateway can run with: sharp alone, and TurboJPEG for the JPEGs it takes. */
const turboJpeg = testTurboJpeg();
const decoders = jpegDecoderCases(turboJpeg);

async function ours(name: string, jpeg: JpegDecoder | undefined): Promise<Buffer> {
    const bytes = fs.readFileSync(path.join(dir, name));
    const raw = await decodeImage(bytes, { maxPixels: 1e7, jpeg });
    const out = new Float32Array(outH * outW * 3);
    resizeNormalizeInto(raw, { height: outH, width: outW }, "tf", out);
    return Buffer.from(out.buffer);
}

describe.each(decoders)("parity with PIL's pixels (committed Pillow 9.4 tensors), JPEGs decoded by %s", (_, jpeg) => {
    for (const [name, { pilMode, tensor }] of Object.entries(expected.accepted)) {
        it(`${name} (PIL mode ${pilMode}): bit-identical tensor`, async () => {
            const mine = await ours(name, jpeg);
            const theirs = Buffer.from(tensor, "base64");
            expect(mine.length).toBe(theirs.length);
            let differing = 0;
            for (let i = 0; i < mine.length; i += 4) if (mine.readUInt32LE(i) !== theirs.readUInt32LE(i)) differing++;
            expect(differing).toBe(0);
        });
    }

    for (const [name, what] of Object.entries(expected.refused)) {
        it(`${name}: 415 naming "${what}"`, async () => {
            const bytes = fs.readFileSync(path.join(dir, name));
            await expect(decodeImage(bytes, { maxPixels: 1e7, jpeg })).rejects.toMatchObject({ status: 415, code: "unsupported_image", message: expect.stringContaining(what) });
        });
    }
});

describe("header probe", () => {
    it("reads format, size and CMYK from the header alone", () => {
        // Pillow writes baseline JPEGs (SOF0) unless asked for progressive ones (make_fixtures.py does not ask).
        expect(probeImage(fs.readFileSync(path.join(dir, "cmyk.jpg")))).toEqual({ format: "jpeg", width: 48, height: 40, cmyk: true, sequential: true });
        expect(probeImage(fs.readFileSync(path.join(dir, "grey.jpg")))).toEqual({ format: "jpeg", width: 48, height: 40, cmyk: false, sequential: true });
        expect(probeImage(fs.readFileSync(path.join(dir, "rgb16.png")))).toEqual({ format: "png", width: 37, height: 23, cmyk: false });
        expect(probeImage(fs.readFileSync(path.join(dir, "animated.gif")))).toEqual({ format: "gif", width: 37, height: 23, cmyk: false });
    });

    it("refuses a GIF whose first frame does not cover the canvas, with a 415 saying so", () => {
        // Header 4x4, no global table, image descriptor at (1,0) 3x4.
        const gif = Buffer.from([..."GIF89a"].map((c) => c.charCodeAt(0)).concat([4, 0, 4, 0, 0, 0, 0, 0x2c, 1, 0, 0, 0, 3, 0, 4, 0, 0, 2, 2, 0x4c, 0x01, 0, 0x3b]));
        expect(() => probeImage(gif)).toThrow(expect.objectContaining({ status: 415, message: expect.stringContaining("first frame does not cover") }));
    });

    it("a truncated header is 422, unknown bytes 415", () => {
        expect(() => probeImage(fs.readFileSync(path.join(dir, "cmyk.jpg")).subarray(0, 20))).toThrow(expect.objectContaining({ status: 422 }));
        expect(() => probeImage(Buffer.from("BM this is a bitmap"))).toThrow(expect.objectContaining({ status: 415 }));
    });
});

describe("Pillow's CMYK → RGB", () => {
    it("matches hand-computed values of nk - round(C·nk/255)", () => {
        // K = 0: R = 255 - C; K = 255: black; C = 255, K = 55: nk = 200, 200 - 200 = 0; C = 100, K = 55: 200 - round(20000/255) = 200 - 78 = 122.
        const px = Uint8Array.from([0, 100, 255, 0, 9, 9, 9, 255, 255, 100, 0, 55]);
        expect(Array.from(cmykToRgbInPlace(px))).toEqual([255, 155, 0, 0, 0, 0, 0, 122, 200]);
    });
});

/** The tensor the gateway makes when the row-by-row PNG decoder takes the fixture, else undefined. */
async function oursRowByRow(name: string): Promise<Buffer | undefined> {
    const bytes = fs.readFileSync(path.join(dir, name));
    const layout = pngNearestLayout(bytes);
    if (!layout) return undefined;
    const size = { height: outH, width: outW };
    const out = new Float32Array(outH * outW * 3);
    resizeNormalizeInto(await decodePngNearest(bytes, layout, size), size, "tf", out);
    return Buffer.from(out.buffer);
}

describe("parity with PIL's pixels (committed Pillow 9.4 tensors), 8-bit PNGs decoded row by row (pngNearest.ts)", async () => {
    const rowByRow: [string, Buffer, Buffer][] = [];
    for (const [name, { tensor }] of Object.entries(expected.accepted)) {
        const mine = await oursRowByRow(name);
        if (mine) rowByRow.push([name, mine, Buffer.from(tensor, "base64")]);
    }
    it("takes the grey, grey+alpha and palette+tRNS fixtures (16-bit ones go to sharp)", () => {
        expect(rowByRow.map(([name]) => name).sort()).toEqual(["grey8.png", "greyalpha8.png", "palette-trns.png"]);
    });
    for (const [name, mine, theirs] of rowByRow) {
        it(`${name}: bit-identical tensor`, () => {
            expect(mine.equals(theirs)).toBe(true);
        });
    }
});

const python = pillowPython();
if (!python) noteSkippedForMissingTool("the live PIL checks", "python3 with Pillow and numpy (apt-get install python3-pil python3-numpy)");

describe.skipIf(!python).each(decoders)("the same fixtures through the installed PIL, JPEGs decoded by %s", (_, jpeg) => {
    it("every accepted fixture: zero differing values against PIL now", async () => {
        const tmp = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "parity-"));
        try {
            const specs: { file: string; ours: string; w: number; h: number; mode: "tf" }[] = [];
            for (const name of Object.keys(expected.accepted)) {
                const f = path.join(tmp, `${name}.f32`);
                fs.writeFileSync(f, await ours(name, jpeg));
                specs.push({ file: path.join(dir, name), ours: f, w: outW, h: outH, mode: "tf" });
            }
            const result = JSON.parse(execFileSync(python!, [pilPreprocessScript, JSON.stringify(specs)], { encoding: "utf8" })) as Record<string, number>;
            expect(Object.keys(result)).toHaveLength(specs.length);
            // Keyed by our output file; named by the fixture so a failure says which image differs.
            expect(Object.fromEntries(specs.map((s) => [path.basename(s.file), result[s.ours]]))).toEqual(Object.fromEntries(specs.map((s) => [path.basename(s.file), 0])));
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });
});
