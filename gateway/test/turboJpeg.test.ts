/**
 * The TurboJPEG path (src/turboJpeg.ts) and when decodeImage takes it. Pixel parity with PIL for
 * both decoders is in imageParity.test.ts and pilParity.test.ts; this file covers loading, headers,
 * refusals and fallbacks, and the pixel buffer pool. Colorspace numbers are turbojpeg.h's TJCS enum
 * (libjpeg-turbo 2.1 and 3.1: RGB 0, YCbCr 1, GRAY 2, CMYK 3, YCCK 4).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import fc from "fast-check";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/log";
import { decodeImage, PixelBufferPool, releasePixels, syncJpegMaxPixels } from "../src/preprocess";
import { type JpegDecoder, loadTurboJpeg, selectJpegDecoder } from "../src/turboJpeg";
import { gatewayScript } from "./gatewayBuild";
import { countingJpegDecoder, testTurboJpeg, testTurboJpegLibrary } from "./helpers";

const fixtures = path.join(__dirname, "fixtures");
const turboJpeg = testTurboJpeg();

async function noiseJpeg(width: number, height: number): Promise<Buffer> {
    const raw = Buffer.alloc(width * height * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = ((i * 2654435761) >>> 11) & 255;
    return sharp(raw, { raw: { width, height, channels: 3 } }).blur(1).jpeg({ quality: 80 }).toBuffer();
}

describe.skipIf(!turboJpeg)("TurboJPEG through koffi", () => {
    it("reads size and colorspace from headers: YCbCr, grey, CMYK; nothing from bytes that are not a JPEG", async () => {
        const fresh = loadTurboJpeg(testTurboJpegLibrary()!);
        expect(fresh.header(Buffer.from([0xff, 0xd8, 0xff]))).toBeUndefined();
        expect(fresh.header(fs.readFileSync(path.join(fixtures, "grey8.png")))).toBeUndefined();
        expect(turboJpeg!.header(await noiseJpeg(33, 17))).toEqual({ width: 33, height: 17, colorspace: 1, cmyk: false });
        expect(turboJpeg!.header(fs.readFileSync(path.join(fixtures, "grey.jpg")))).toMatchObject({ colorspace: 2, cmyk: false });
        const cmyk = turboJpeg!.header(fs.readFileSync(path.join(fixtures, "cmyk.jpg")));
        expect(cmyk?.colorspace).toBeOneOf([3, 4]);
        expect(cmyk?.cmyk).toBe(true);
        expect(turboJpeg!.header(fs.readFileSync(path.join(fixtures, "grey8.png")))).toBeUndefined();
    });

    it("never decodes when TurboJPEG's header (stale after data that ends early) disagrees with the probe", async () => {
        const counted = countingJpegDecoder(turboJpeg!);
        // A file that ends inside its frame header: the probe refuses it before any decoder runs.
        const whole = await noiseJpeg(48, 40);
        expect(turboJpeg!.header(whole)).toMatchObject({ width: 48, height: 40 });
        const sof = whole.indexOf(Buffer.from([0xff, 0xc0]));
        await expect(decodeImage(Buffer.from(whole.subarray(0, sof + 6)), { maxPixels: 1e7, jpeg: counted })).rejects.toMatchObject({ status: 422 });
        // A header TurboJPEG reads as another size than the probe: sharp decodes it, at its real size.
        const liar = { ...counted, header: () => ({ width: 24, height: 20, colorspace: 1, cmyk: false }) };
        expect(await decodeImage(whole, { maxPixels: 1e7, jpeg: liar })).toMatchObject({ width: 48, height: 40 });
        expect(counted.decoded).toBe(0);
    });

    it("decodes to the pixels sharp gives, and refuses an output buffer of the wrong size", async () => {
        const jpeg = await noiseJpeg(97, 61);
        const header = turboJpeg!.header(jpeg)!;
        const out = new Uint8Array(97 * 61 * 3);
        expect(turboJpeg!.decodeRgbInto(jpeg, header, out)).toBe(true);
        expect(Buffer.from(out).equals(await sharp(jpeg).raw().toBuffer())).toBe(true);
        expect(() => turboJpeg!.decodeRgbInto(jpeg, header, new Uint8Array(10))).toThrow(RangeError);
    });

    it("reports a truncated JPEG (libjpeg only warns) as a failure, and decodeImage then answers as sharp does", async () => {
        const whole = await noiseJpeg(160, 120);
        const cut = whole.subarray(0, Math.floor(whole.length * 0.6));
        const header = turboJpeg!.header(cut)!;
        expect(header).toMatchObject({ width: 160, height: 120 });
        expect(turboJpeg!.decodeRgbInto(cut, header, new Uint8Array(160 * 120 * 3))).toBe(false);
        const withSharp = await decodeImage(Buffer.from(cut), { maxPixels: 1e7 }).then(() => "decoded", (err) => err);
        const counted = countingJpegDecoder(turboJpeg!);
        const withTurbo = await decodeImage(Buffer.from(cut), { maxPixels: 1e7, jpeg: counted }).then(() => "decoded", (err) => err);
        expect(withTurbo).toEqual(withSharp);
        expect(withSharp).toMatchObject({ status: 422, code: "undecodable_image" });
        expect(counted.decoded).toBe(0);
    });

    it("decodeImage takes TurboJPEG up to a Full HD frame, and sharp for larger and CMYK JPEGs", async () => {
        const counted = countingJpegDecoder(turboJpeg!);
        const small = await decodeImage(await noiseJpeg(64, 48), { maxPixels: 1e8, jpeg: counted });
        expect(counted.decoded).toBe(1);
        expect(small).toMatchObject({ width: 64, height: 48, channels: 3 });
        releasePixels(small);
        expect(syncJpegMaxPixels).toBe(1920 * 1080);
        releasePixels(await decodeImage(await noiseJpeg(1920, 1080), { maxPixels: 1e8, jpeg: counted }));
        expect(counted.decoded).toBe(2);
        releasePixels(await decodeImage(await noiseJpeg(1921, 1080), { maxPixels: 1e8, jpeg: counted }));
        releasePixels(await decodeImage(fs.readFileSync(path.join(fixtures, "cmyk.jpg")), { maxPixels: 1e8, jpeg: counted }));
        expect(counted.decoded).toBe(2);
    });
});

describe.skipIf(!turboJpeg)("damaged JPEGs: the same answer with and without TurboJPEG", () => {
    // Both paths end in libjpeg: a file TurboJPEG decodes without a warning decodes to the same
    // pixels in sharp, and any other file goes to sharp. So for any bytes the two gateways agree:
    // same pixels, or the same error.
    const outcome = (bytes: Buffer, jpeg?: JpegDecoder) =>
        decodeImage(bytes, { maxPixels: 1e7, jpeg }).then(
            (raw) => {
                const result = { width: raw.width, height: raw.height, channels: raw.channels, sha: createHash("sha256").update(raw.data).digest("hex") };
                releasePixels(raw);
                return result;
            },
            (err: { status?: number; code?: string }) => ({ status: err.status, code: err.code }),
        );

    it("changed quantization tables, bytes changed anywhere, cut files: 300 cases", async () => {
        const base = await noiseJpeg(64, 48);
        const progressive = await sharp(base).jpeg({ quality: 70, progressive: true }).toBuffer();
        let viaTurbo = 0;
        await fc.assert(
            fc.asyncProperty(
                fc.constantFrom(base, progressive),
                // Where: 0 the first quantization table's 64 values (other pixels, no libjpeg warning),
                // 1 anywhere after the first 20 bytes (the probe still sees a JPEG).
                fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }).map((n) => (n < 2 ? 0 : 1)), fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 6 }),
                fc.option(fc.nat(), { nil: undefined, freq: 2 }), // half the files cut short
                async (original, changes, cutAt) => {
                    const bytes = Buffer.from(original);
                    const quantization = bytes.indexOf(Buffer.from([0xff, 0xdb])) + 5;
                    for (const [where, at, value] of changes) {
                        bytes[where === 0 ? quantization + (at % 64) : 20 + (at % (bytes.length - 20))] = value;
                    }
                    const damaged = cutAt === undefined ? bytes : bytes.subarray(0, 20 + (cutAt % (bytes.length - 20)));
                    const counted = countingJpegDecoder(turboJpeg!);
                    const withTurbo = await outcome(damaged, counted);
                    viaTurbo += counted.decoded;
                    expect(withTurbo).toEqual(await outcome(damaged));
                },
            ),
            { numRuns: 300, seed: 20261130 },
        );
        // Many changed files still decode cleanly in TurboJPEG: the property is not only about fallbacks.
        expect(viaTurbo).toBeGreaterThan(10);
    });
});

describe("loading and choosing the decoder", () => {
    const logs: string[] = [];
    const logger = { ...createLogger("error"), warn: (msg: string, fields?: Record<string, unknown>) => void logs.push(`${msg} ${JSON.stringify(fields)}`) };

    it("a library that is not there is an error naming it", () => {
        expect(() => loadTurboJpeg("/nonexistent/libturbojpeg.so.0")).toThrow(/^cannot load \/nonexistent\/libturbojpeg\.so\.0: /);
    });

    it("auto: TurboJPEG when it loads, else sharp with a warning; libjpeg-turbo: required; sharp: never loaded", () => {
        const missing = "/nonexistent/libturbojpeg.so.0";
        expect(selectJpegDecoder({ decoder: "auto", library: missing }, logger)).toBeUndefined();
        expect(logs).toEqual([expect.stringContaining("TurboJPEG did not load")]);
        expect(logs[0]).toContain(missing);
        expect(() => selectJpegDecoder({ decoder: "libjpeg-turbo", library: missing }, logger)).toThrow(`GATEWAY_JPEG_DECODER=libjpeg-turbo, but TurboJPEG did not load from '${missing}'`);
        expect(selectJpegDecoder({ decoder: "sharp", library: testTurboJpegLibrary() ?? missing }, logger)).toBeUndefined();
        const library = testTurboJpegLibrary();
        if (library) expect(selectJpegDecoder({ decoder: "auto", library }, logger)?.library).toBe(library);
        expect(logs).toHaveLength(1);
    });
});

describe.skipIf(!turboJpeg)("sharp on demand", () => {
    // libvips is about 25 MB of RSS per process: a worker whose JPEGs TurboJPEG decodes never loads
    // it. A fresh process, since this one has sharp loaded already.
    // Fresh processes, started side by side with the self-check's below.
    it.concurrent("a JPEG TurboJPEG decodes leaves sharp unloaded; a sharp that fails to load is the gateway's error, not the image's; the next PNG loads it", async ({ expect }) => {
        const script = path.join(fixtures, "sharpOnDemand.ts");
        const { stdout: output } = await promisify(execFile)(process.execPath, ["--import", "tsx", script, testTurboJpegLibrary()!, path.join(fixtures, "grey.jpg"), path.join(fixtures, "grey8.png")], {
            cwd: path.resolve(__dirname, "../.."),
            encoding: "utf8",
        });
        expect(JSON.parse(output)).toEqual({
            atStart: false,
            afterJpeg: { loaded: false, width: 48, height: 40 },
            // A plain Error is answered 500 and logged (server.ts); a GatewayError would blame the image.
            whileBroken: { gatewayError: false, message: expect.stringMatching(/^sharp did not load \(GIF, WebP, 16-bit PNG, CMYK and large JPEGs need it\): Could not load the "sharp" module/) },
            afterPng: { loaded: true, width: 37, height: 23 },
        });
    });
});

describe.skipIf(!turboJpeg)("selfCheck.ts, the image build's check of sharp and TurboJPEG", () => {
    const run = (env: Record<string, string>, preload: string[] = []) =>
        promisify(execFile)(process.execPath, [...preload, gatewayScript("selfCheck")], { cwd: path.resolve(__dirname, "../.."), env: { ...process.env, ...env } }).then(
            ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
            (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
        );

    it.concurrent("passes where both load and decode; otherwise exits 1 naming every problem", async ({ expect }) => {
        const [working, broken] = await Promise.all([
            run({ GATEWAY_TURBOJPEG_LIBRARY: testTurboJpegLibrary()! }),
            run({ GATEWAY_TURBOJPEG_LIBRARY: "/nonexistent/libturbojpeg.so.0", BREAK_SHARP: "1" }, ["--require", path.join(fixtures, "breakSharp.cjs")]),
        ]);
        expect(working).toMatchObject({ code: 0, stderr: "" });
        expect(working.stdout).toMatch(/^gateway self-check passed: sharp \d+\.\d+\.\d+ \(libvips \d+\.\d+\.\d+\), TurboJPEG from .*libturbojpeg\.so\.0\n$/);
        expect(broken.code).toBe(1);
        expect(broken.stderr.trim().split("\n")).toEqual([
            "gateway self-check failed:",
            expect.stringMatching(/^  - sharp did not load \(.*\): Could not load the "sharp" module/),
            expect.stringMatching(/^  - cannot load \/nonexistent\/libturbojpeg\.so\.0: /),
        ]);
    });
});

describe("PixelBufferPool", () => {
    it("hands a returned buffer to the next taker, keeps at most maxIdle, and ignores a second release", () => {
        const pool = new PixelBufferPool(100, 1);
        const a = pool.take(60);
        const b = pool.take(100);
        expect(a.data.length).toBe(60);
        expect(a.data.buffer).not.toBe(b.data.buffer);
        a.release();
        a.release();
        b.release();
        expect(pool.idleCount).toBe(1);
        const c = pool.take(40);
        expect(c.data.buffer).toBe(a.data.buffer);
        expect(c.data.length).toBe(40);
        expect(pool.idleCount).toBe(0);
    });

    it("gives a request larger than its buffers a buffer of its own, freed on release", () => {
        const pool = new PixelBufferPool(100, 2);
        const big = pool.take(8192);
        expect(big.data.length).toBe(8192);
        big.release();
        expect(big.data.length).toBe(0); // detached: its memory is freed now
        expect(pool.idleCount).toBe(0);
    });
});
