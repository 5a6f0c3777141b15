/**
 * Bit-for-bit parity with the seeds' Python preprocessing (PIL open → convert("RGB") →
 * resize(NEAREST) → float32 numpy → Keras preprocess_input) when a Python with Pillow and numpy is
 * on the machine (Debian: apt-get install python3-pil python3-numpy); the reference is
 * fixtures/pil_preprocess.py. Skipped, with a note,
 * otherwise: the hand-computed tests in preprocess.test.ts always run.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import type { PreprocessMode } from "../src/kerasModels";
import { decodePngNearest, pngNearestLayout } from "../src/pngNearest";
import { decodeImage, type RawImage, resizeNormalizeInto } from "../src/preprocess";
import { countingJpegDecoder, jpegDecoderCases, noteSkippedForMissingTool, pilPreprocessScript, pillowPython, testTurboJpeg } from "./helpers";

const python = pillowPython();
if (!python) noteSkippedForMissingTool("the PIL parity tests", "python3 with Pillow and numpy (apt-get install python3-pil python3-numpy)");

const turboJpeg = python ? testTurboJpeg() : undefined;
const decoders = jpegDecoderCases(turboJpeg);

describe.skipIf(!python).each(decoders)("parity with PIL + numpy (keras_image_helper's pipeline), JPEGs decoded by %s", (_, jpeg) => {
    it("JPEG (4:2:0, 4:4:4, progressive, grey, odd sizes), PNG (RGBA, grey, interlaced RGB), WebP; down- and upscaling; tf, caffe and torch modes: zero differing values", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pilparity-"));
        try {
            const noise = (w: number, h: number, c: 1 | 3 | 4) => {
                const raw = Buffer.alloc(w * h * c);
                for (let i = 0; i < raw.length; i++) raw[i] = ((i * 2654435761) >>> 13) & 255;
                return sharp(raw, { raw: { width: w, height: h, channels: c } });
            };
            const images: [string, number, number, Buffer][] = [
                ["a.jpg", 640, 480, await noise(640, 480, 3).blur(1).jpeg({ quality: 85 }).toBuffer()],
                // Odd sizes leave partial MCUs, where upsampling and edge handling could differ.
                ["e.jpg", 333, 217, await noise(333, 217, 3).blur(1.5).jpeg({ quality: 90, chromaSubsampling: "4:4:4" }).toBuffer()],
                ["f.jpg", 517, 389, await noise(517, 389, 3).blur(0.8).jpeg({ quality: 75, progressive: true }).toBuffer()],
                ["g.jpg", 1001, 3, await noise(1001, 3, 3).jpeg({ quality: 95, optimiseCoding: true }).toBuffer()],
                ["h.jpg", 250, 250, await noise(250, 250, 1).blur(1).jpeg({ quality: 80 }).toBuffer()],
                ["b.png", 101, 77, await noise(101, 77, 4).png().toBuffer()],
                ["c.png", 64, 50, await noise(64, 50, 1).png().toBuffer()],
                ["i.png", 97, 61, await noise(97, 61, 3).png({ progressive: true, adaptiveFiltering: true }).toBuffer()],
                ["d.webp", 37, 250, await noise(37, 250, 3).webp({ lossless: true }).toBuffer()],
            ];
            const counted = jpeg && countingJpegDecoder(jpeg);
            const specs: { file: string; ours: string; w: number; h: number; mode: PreprocessMode }[] = [];
            for (const [name, , , bytes] of images) {
                const file = path.join(dir, name);
                fs.writeFileSync(file, bytes);
                const raw = await decodeImage(bytes, { maxPixels: 1e8, jpeg: counted });
                const layout = pngNearestLayout(bytes);
                for (const [mode, h, w] of [["tf", 299, 299], ["caffe", 224, 224], ["torch", 150, 200]] as const) {
                    // PNGs twice: decoded whole (sharp) and row by row (pngNearest.ts, what the server uses).
                    const decoded: [string, RawImage][] = [["", raw]];
                    if (layout) decoded.push(["rows.", await decodePngNearest(bytes, layout, { height: h, width: w })]);
                    for (const [variant, image] of decoded) {
                        const out = new Float32Array(h * w * 3);
                        resizeNormalizeInto(image, { height: h, width: w }, mode, out);
                        const ours = path.join(dir, `${name}.${variant}${mode}.f32`);
                        fs.writeFileSync(ours, Buffer.from(out.buffer));
                        specs.push({ file, ours, w, h, mode });
                    }
                }
            }
            // Every PNG (the interlaced one too) also went row by row.
            expect(specs.filter((spec) => spec.ours.includes(".rows.")).length).toBe(3 * 3);
            // Every JPEG took the decoder under test (none fell back to sharp).
            if (counted) expect(counted.decoded).toBe(images.filter(([name]) => name.endsWith(".jpg")).length);
            const result = JSON.parse(execFileSync(python!, [pilPreprocessScript, JSON.stringify(specs)], { encoding: "utf8" }));
            expect(Object.keys(result)).toHaveLength(specs.length);
            expect(Object.values(result).every((n) => n === 0), JSON.stringify(result)).toBe(true);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
