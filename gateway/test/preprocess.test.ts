import { describe, expect, it, vi } from "vitest";
import fc from "fast-check";
import sharp from "sharp";
import { modeForKerasModel } from "../src/kerasModels";
import { decodeImage, pilNearestIndices, releaseNow, resizeNormalizeInto } from "../src/preprocess";
import { pngOf } from "./helpers";

const f = Math.fround;

describe("pilNearestIndices (PIL's nearest sampling)", () => {
    it.each([
        // scale 2: positions 1, 3, 5 → indices 1, 3, 5
        [6, 3, [1, 3, 5]],
        // scale 0.75: 0.375, 1.125, 1.875, 2.625 → 0, 1, 1, 2
        [3, 4, [0, 1, 1, 2]],
        // scale 1.5: 0.75, 2.25 → 0, 2
        [3, 2, [0, 2]],
        [5, 1, [2]],
        [4, 4, [0, 1, 2, 3]],
        // 640 → 299: first 1.0702…, last 638.93… → 1 … 638
        [640, 299, null],
    ])("%i → %i", (inSize, outSize, expected) => {
        const idx = Array.from(pilNearestIndices(inSize, outSize));
        if (expected) expect(idx).toEqual(expected);
        else {
            expect(idx[0]).toBe(1);
            expect(idx.at(-1)).toBe(638);
        }
    });

    it("indices are in range and non-decreasing for any sizes", () => {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 1000 }), (i, o) => {
                const idx = pilNearestIndices(i, o);
                for (let k = 0; k < o; k++) {
                    if (idx[k] < 0 || idx[k] >= i) return false;
                    if (k > 0 && idx[k] < idx[k - 1]) return false;
                }
                return true;
            }),
        );
    });
});

describe("modes", () => {
    it.each([
        ["xception", "tf"],
        ["Inception_V3", "tf"],
        ["mobilenet", "tf"],
        ["resnet50", "caffe"],
        ["vgg16", "caffe"],
        ["densenet121", "torch"],
    ])("%s → %s", (name, mode) => expect(modeForKerasModel(name)).toBe(mode));

    it("unknown models are an error", () => expect(() => modeForKerasModel("alexnet")).toThrow(/unknown Keras model 'alexnet'/));
});

describe("resize + normalise on a generated image", () => {
    // 3×2 RGB image; output 2×2 (height 2, width 2). x indices for 3 → 2: [0, 2]; y for 2 → 2: [0, 1].
    const img = {
        width: 3,
        height: 2,
        channels: 3,
        data: Uint8Array.from([
            0, 127, 255, /**/ 1, 2, 3, /**/ 255, 0, 51, //
            10, 20, 30, /**/ 4, 5, 6, /**/ 128, 64, 32,
        ]),
    };
    const size = { height: 2, width: 2 };
    const run = (mode: "tf" | "caffe" | "torch", image = img) => {
        const out = new Float32Array(12);
        resizeNormalizeInto(image, size, mode, out);
        return Array.from(out);
    };

    it("xception/inception/mobilenet (tf): v / 127.5 - 1", () => {
        // pixels picked: (0,0), (2,0), (0,1), (2,1)
        expect(run("tf")).toEqual([
            -1, f(f(127 / 127.5) - 1), 1, /**/ 1, -1, f(f(51 / 127.5) - 1),
            f(f(10 / 127.5) - 1), f(f(20 / 127.5) - 1), f(f(30 / 127.5) - 1), /**/ f(f(128 / 127.5) - 1), f(f(64 / 127.5) - 1), f(f(32 / 127.5) - 1),
        ]);
        expect(run("tf")[1]).toBeCloseTo(-0.003921568, 8);
        expect(run("tf")[5]).toBeCloseTo(-0.6, 6);
    });

    it("resnet50/vgg16 (caffe): BGR order, ImageNet means subtracted, no scaling", () => {
        const [mb, mg, mr] = [f(103.939), f(116.779), f(123.68)];
        expect(run("caffe")).toEqual([
            f(255 - mb), f(127 - mg), f(0 - mr), /**/ f(51 - mb), f(0 - mg), f(255 - mr),
            f(30 - mb), f(20 - mg), f(10 - mr), /**/ f(32 - mb), f(64 - mg), f(128 - mr),
        ]);
        expect(run("caffe")[0]).toBeCloseTo(151.061, 3);
        expect(run("caffe")[2]).toBeCloseTo(-123.68, 3);
    });

    it("densenet (torch): /255, minus mean, over std, per channel", () => {
        const t = (v: number, m: number, s: number) => f(f(f(v / 255) - f(m)) / f(s));
        const out = run("torch");
        expect(out[0]).toBe(t(0, 0.485, 0.229));
        expect(out[1]).toBe(t(127, 0.456, 0.224));
        expect(out[2]).toBe(t(255, 0.406, 0.225));
        expect(out[2]).toBeCloseTo((1 - 0.406) / 0.225, 5);
    });

    it("grey images are replicated to RGB, alpha is dropped", () => {
        const grey = { width: 3, height: 2, channels: 1, data: Uint8Array.from([0, 9, 255, 10, 9, 51]) };
        expect(run("tf", grey)).toEqual([-1, -1, -1, 1, 1, 1, f(f(10 / 127.5) - 1), f(f(10 / 127.5) - 1), f(f(10 / 127.5) - 1), f(f(51 / 127.5) - 1), f(f(51 / 127.5) - 1), f(f(51 / 127.5) - 1)]);
        const rgba = { width: 3, height: 2, channels: 4, data: Uint8Array.from([...img.data].flatMap((v, i) => (i % 3 === 2 ? [v, 0] : [v]))) };
        expect(run("tf", rgba)).toEqual(run("tf"));
    });

    it("writes at an offset without touching the rest (batch assembly)", () => {
        const out = new Float32Array(30).fill(7);
        resizeNormalizeInto(img, size, "tf", out, 12);
        expect(Array.from(out.subarray(0, 12))).toEqual(Array(12).fill(7));
        expect(Array.from(out.subarray(12, 24))).toEqual(run("tf"));
        expect(Array.from(out.subarray(24))).toEqual(Array(6).fill(7));
    });
});

describe("decodeImage", () => {
    it("decodes PNG pixels exactly at full size", async () => {
        const png = await pngOf(2, 1, 3, [1, 2, 3, 250, 251, 252]);
        const raw = await decodeImage(png, { maxPixels: 100 });
        expect([raw.width, raw.height, raw.channels]).toEqual([2, 1, 3]);
        expect(Array.from(raw.data)).toEqual([1, 2, 3, 250, 251, 252]);
    });

    it("decodes WebP (lossless); grey decodes to equal channels", async () => {
        const webp = await sharp(Buffer.from([9, 8, 7, 6, 5, 4]), { raw: { width: 2, height: 1, channels: 3 } }).webp({ lossless: true }).toBuffer();
        expect(Array.from((await decodeImage(webp, { maxPixels: 100 })).data)).toEqual([9, 8, 7, 6, 5, 4]);
        const grey = await pngOf(2, 2, 1, [0, 50, 100, 150]);
        const raw = await decodeImage(grey, { maxPixels: 100 });
        const c = raw.channels;
        expect(Array.from({ length: 4 }, (_, i) => raw.data[i * c])).toEqual([0, 50, 100, 150]);
        for (let i = 0; i < 4 && c >= 3; i++) expect([raw.data[i * c + 1], raw.data[i * c + 2]]).toEqual([raw.data[i * c], raw.data[i * c]]);
    });

    it("does not rotate by EXIF orientation (PIL's load_img does not either)", async () => {
        const jpeg = await sharp({ create: { width: 4, height: 2, channels: 3, background: "red" } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
        const raw = await decodeImage(jpeg, { maxPixels: 100 });
        expect([raw.width, raw.height]).toEqual([4, 2]);
    });

    it("refuses too many pixels with 413, garbage with 415, a truncated image with 422", async () => {
        const png = await pngOf(20, 20, 3, Array(1200).fill(1));
        await expect(decodeImage(png, { maxPixels: 399 })).rejects.toMatchObject({ status: 413, code: "too_many_pixels" });
        await expect(decodeImage(Buffer.from("BM6\u0000\u0000\u0000 a BMP header"), { maxPixels: 1e6 })).rejects.toMatchObject({ status: 415 });
        await expect(decodeImage(png.subarray(0, 30), { maxPixels: 1e6 })).rejects.toMatchObject({ status: 422 });
    });
});

describe("releaseNow (frees big buffers without waiting for a GC)", () => {
    it("detaches a buffer that is the only view of its memory", () => {
        const b = Buffer.allocUnsafe(100_000);
        const ab = b.buffer;
        releaseNow(b);
        expect(ab.byteLength).toBe(0);
        expect(b.length).toBe(0);
    });

    it("leaves views into larger or pooled memory alone", () => {
        const big = new Uint8Array(200_000);
        const view = big.subarray(1000, 101_000);
        releaseNow(view);
        expect(big.buffer.byteLength).toBe(200_000);
        const pooled = Buffer.from("small, from node's shared pool");
        releaseNow(pooled);
        expect(pooled.toString()).toBe("small, from node's shared pool");
        releaseNow(new Uint8Array(100)); // below the size worth freeing early
    });

    it("sharp's decoded pixels can be released after use (gateway path)", async () => {
        const png = await pngOf(64, 64, 3, Array.from({ length: 64 * 64 * 3 }, (_, i) => i % 251));
        const raw = await decodeImage(png, { maxPixels: 10_000 });
        const out = new Float32Array(8 * 8 * 3);
        resizeNormalizeInto(raw, { height: 8, width: 8 }, "tf", out);
        releaseNow(raw.data);
        expect(raw.data.length).toBe(0);
        expect(out[0]).toBe(Math.fround(Math.fround((((4 * 64 + 4) * 3) % 251) / 127.5) - 1));
    });
});

describe("decode concurrency limit", () => {
    it("many decodes at once all complete with the right pixels (queued beyond the slots)", async () => {
        const images = await Promise.all(Array.from({ length: 12 }, (_, k) => pngOf(3, 1, 3, [k, k + 1, k + 2, 9, 9, 9, 200, 201, k])));
        const results = await Promise.all(images.map((png) => decodeImage(png, { maxPixels: 100 })));
        results.forEach((raw, k) => expect(Array.from(raw.data)).toEqual([k, k + 1, k + 2, 9, 9, 9, 200, 201, k]));
    });

    it("a failing decode gives its slot back", async () => {
        const bad = Buffer.from([0xff, 0xd8, 0xff, 0, 1, 2, 3]);
        for (let i = 0; i < 10; i++) await expect(decodeImage(bad, { maxPixels: 100 })).rejects.toMatchObject({ code: "undecodable_image" });
        const ok = await pngOf(1, 1, 3, [5, 6, 7]);
        expect(Array.from((await decodeImage(ok, { maxPixels: 100 })).data)).toEqual([5, 6, 7]);
    });

    it("GATEWAY_DECODE_CONCURRENCY must be a small positive integer", async () => {
        const before = process.env.GATEWAY_DECODE_CONCURRENCY;
        try {
            for (const bad of ["0", "-1", "2.5", "many", "65"]) {
                process.env.GATEWAY_DECODE_CONCURRENCY = bad;
                vi.resetModules();
                await expect(import("../src/preprocess")).rejects.toThrow(/GATEWAY_DECODE_CONCURRENCY must be an integer from 1 to 64/);
            }
            process.env.GATEWAY_DECODE_CONCURRENCY = "1";
            vi.resetModules();
            const fresh = await import("../src/preprocess");
            const pngs = await Promise.all([1, 2, 3].map((v) => pngOf(1, 1, 3, [v, v, v])));
            expect((await Promise.all(pngs.map((p) => fresh.decodeImage(p, { maxPixels: 10 })))).map((r) => r.data[0])).toEqual([1, 2, 3]);
        } finally {
            if (before === undefined) delete process.env.GATEWAY_DECODE_CONCURRENCY;
            else process.env.GATEWAY_DECODE_CONCURRENCY = before;
            vi.resetModules();
        }
    });
});
