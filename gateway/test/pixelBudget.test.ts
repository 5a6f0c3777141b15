/**
 * Memory bounded by design. 8-bit PNGs are decoded row by row (src/pngNearest.ts) and large baseline
 * JPEGs strip by strip (src/jpegStrips.ts), so those requests never hold a whole image; everything
 * decoded whole (by sharp) shares one budget of decoded pixels in flight (MemoryBudget). Unit tests of
 * the budget's rules, then end to end against a gateway process:
 * - An image whose decode alone costs more than the whole budget is refused (413), in process.
 * - 40-megapixel progressive JPEGs (decoded whole by sharp, coefficients and pixels) under a budget of
 *   one of them: the peak RSS (VmHWM) must stay within what the design allows: idle RSS, plus the
 *   budget (3 bytes a unit), plus the encoded images the requests hold, plus 80 MB of working memory
 *   (decoder, allocator, buffers freed by finalizers a little later; measured 35-55 MB). Without the
 *   budget the decodes overlap and this fails.
 * - 40-megapixel 8-bit PNGs (the case) and baseline JPEGs: under the 200 MB.
 * The 32-request figures come from `npm run bench:gateway-memory`. Nothing here is timed.
 */
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { probeImage } from "../src/imageInfo";
import { jpegStripRows } from "../src/jpegStrips";
import { pngNearestLayout } from "../src/pngNearest";
import { MemoryBudget } from "../src/memoryBudget";
import { largeJpeg, largePng, runConcurrentDecodes, type ConcurrentDecodesRun } from "./concurrentDecodes";
import { postJson, startGateway, startStubTfServing, testConfig } from "./helpers";

describe("MemoryBudget", () => {
    it("admits while the capacity lasts, then first come first served", async () => {
        const budget = new MemoryBudget(100, 10);
        const order: string[] = [];
        const a = await budget.acquire(60);
        const b = budget.acquire(60).then((r) => (order.push("b"), r));
        const c = budget.acquire(30).then((r) => (order.push("c"), r)); // would fit, but b is first
        await new Promise((r) => setTimeout(r, 10));
        expect(order).toEqual([]);
        expect(budget.used).toBe(60);
        expect(budget.queued).toBe(2);
        a();
        const releaseB = await b;
        const releaseC = await c;
        expect(order).toEqual(["b", "c"]);
        expect(budget.used).toBe(90);
        releaseB();
        releaseB(); // a second call gives nothing back twice
        releaseC();
        expect(budget.used).toBe(0);
    });

    it("an image larger than the whole budget runs alone", async () => {
        const budget = new MemoryBudget(100, 10);
        const big = await budget.acquire(1000);
        expect(budget.used).toBe(100);
        let small = false;
        const next = budget.acquire(1).then((r) => ((small = true), r));
        await new Promise((r) => setTimeout(r, 10));
        expect(small).toBe(false);
        big();
        (await next)();
    });

    it("when the queue is full the next request gets 503 with Retry-After", async () => {
        const budget = new MemoryBudget(10, 1);
        const held = await budget.acquire(10);
        const waiting = budget.acquire(5);
        await expect(budget.acquire(5)).rejects.toMatchObject({ status: 503, code: "decode_budget_exhausted", headers: { "retry-after": "1" } });
        held();
        (await waiting)();
    });

    it("an aborted waiter leaves the queue and lets the next one in", async () => {
        const budget = new MemoryBudget(10, 5);
        const held = await budget.acquire(8);
        const controller = new AbortController();
        const aborted = budget.acquire(8, controller.signal);
        const after = budget.acquire(2);
        controller.abort(new Error("client closed"));
        await expect(aborted).rejects.toThrow("client closed");
        (await after)();
        held();
        expect(budget.used).toBe(0);
        expect(budget.queued).toBe(0);
    });
});

describe("an image whose decode alone costs more than the whole pixel budget", () => {
    it("is refused with 413 image_too_large_to_decode, naming its cost and the budget; one that fits is decoded", async () => {
        const picture = sharp({ create: { width: 400, height: 300, channels: 3, background: { r: 200, g: 90, b: 30 } } });
        const baseline = await picture.clone().jpeg({ quality: 90 }).toBuffer();
        const progressive = await picture.clone().jpeg({ quality: 90, progressive: true }).toBuffer();
        // Costs in units of 3 bytes, by libjpeg's rule (jdcoefct.c), not by the code under test: the
        // pixels, 400 × 300 = 120,000; a progressive 4:2:0 one also holds its coefficients: Y in 50 × 38
        // blocks, Cb and Cr 25 × 19 each (each rounded up to its sampling factor), 128 bytes a block.
        const pixels = 400 * 300;
        const progressiveCost = pixels + ((50 * 38 + 2 * 25 * 19) * 128) / 3;
        expect(probeImage(progressive).coefficientBytes).toBe((50 * 38 + 2 * 25 * 19) * 128);
        const budget = Math.floor((pixels + progressiveCost) / 2);
        const stub = await startStubTfServing({ scores: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
        const gw = await startGateway(testConfig([], { TF_SERVING_HOST: stub.target, GATEWAY_DECODE_BUDGET_PIXELS: String(budget) }));
        try {
            const v1 = (jpeg: Buffer) => postJson(`${gw.url}/v1/models/clothing-model:predict`, { instances: [{ b64: jpeg.toString("base64") }] });
            expect((await v1(baseline)).status).toBe(200);
            const refused = await v1(progressive);
            expect(refused.status).toBe(413);
            expect(refused.json.code).toBe("image_too_large_to_decode");
            expect(refused.json.error).toMatch(/400x300 progressive or multi-scan JPEG .* takes about 0\.7 MiB, more than this gateway's decode budget of 0\.5 MiB \(GATEWAY_DECODE_BUDGET_PIXELS/);
            expect(gw.gateway.pixelBudget.used).toBe(0);
        } finally {
            await gw.close();
            await stub.close();
        }
    });
});

/** What the design allows a run of concurrent decodes of one image to peak at, MB (see the header). */
function designBoundMb(run: ConcurrentDecodesRun, requests: number, budgetPixels: number): number {
    const budgetMb = (budgetPixels * 3) / 2 ** 20;
    const encodedMb = (requests * run.imageBytes) / 2 ** 20;
    return run.idleMb + budgetMb + encodedMb + 80;
}

const width = 8000;
const height = 5000;

describe.skipIf(process.platform !== "linux")("concurrent 40-megapixel images", () => {
    // A progressive JPEG is decoded whole: its coefficients (120 MB at 40 MP, 4:2:0) and then its
    // pixels (114 MB), 239 MB above idle measured. The budget here is one such image, so the decodes
    // run one at a time (by default, one costs more than the budget of GATEWAY_MAX_PIXELS and is
    // refused: the in-process test above). Without the budget the decodes overlap (one per decode slot,
    // GATEWAY_DECODE_CONCURRENCY, default the CPUs up to 4) and the peak passes the bound: two
    // requests are enough for that (measured on 2 cores: 580 MB without the budget against a bound of
    // about 405 MB, 342 MB with it).
    // The runs are separate gateway processes, each measured on its own: they run side by side.
    it.concurrent("2 progressive JPEGs (decoded whole by sharp) under a budget of one: peak RSS stays within idle + the budget + the encoded images; every answer is 200, or 503 with Retry-After", async ({ expect }) => {
        const requests = 2;
        const jpeg = await largeJpeg(width, height, { progressive: true });
        const info = probeImage(jpeg);
        expect(jpegStripRows(info)).toBeUndefined();
        // What libjpeg holds for it, by its allocation rule (libjpeg-turbo jdcoefct.c): sharp writes
        // 4:2:0, so Y is 1000×626 blocks and Cb, Cr 500×313 each, 128 bytes a block; then the pixels.
        const coefficientBytes = (1000 * 626 + 2 * 500 * 313) * 128;
        expect(info.coefficientBytes).toBe(coefficientBytes);
        const oneImage = width * height + coefficientBytes / 3;
        const run = await runConcurrentDecodes(jpeg, requests, { GATEWAY_DECODE_BUDGET_PIXELS: String(Math.ceil(oneImage)) });
        for (const a of run.answers) {
            if (a.status !== 200) expect(a).toEqual({ status: 503, retryAfter: "1" });
        }
        expect(run.answers.filter((a) => a.status === 200).length).toBeGreaterThan(0);
        expect(run.peakMb).toBeLessThan(designBoundMb(run, requests, Math.ceil(oneImage)));
    }, 300_000);

    // The case: 8-bit PNGs are decoded row by row to the pixels the resize keeps
    // (src/pngNearest.ts), so no request holds a full image. A full decode of one alone is 114 MB on
    // top of idle (94-111 MB with sharp loaded), so this fails without the row decoder. Measured:
    // 3 requests peak at 114-117 MB; the 32 at 197-204 MB, of which about 70 MB are the 32
    // encoded PNGs held in flight (`npm run bench:gateway-memory`; 342 MB when sharp decoded them
    // whole under the budget).
    it.concurrent("3 8-bit PNGs (decoded row by row): peak RSS under the issue's 200 MB, every answer 200", async ({ expect }) => {
        const requests = 3;
        const png = await largePng(width, height);
        expect(pngNearestLayout(png)).toBeDefined();
        const run = await runConcurrentDecodes(png, requests);
        expect(run.answers).toEqual(Array(requests).fill({ status: 200, retryAfter: null }));
        expect(run.peakMb).toBeLessThan(200);
    }, 300_000);

    // Baseline JPEGs are decoded in strips (src/jpegStrips.ts); decoded whole, one alone is 127 MB
    // above idle, so this fails without the strips. Measured: 168 MB, 224 MB when decoded whole.
    it.concurrent("2 baseline JPEGs (decoded strip by strip): peak RSS under the issue's 200 MB, every answer 200", async ({ expect }) => {
        const requests = 2;
        const jpeg = await largeJpeg(width, height);
        expect(jpegStripRows(probeImage(jpeg))).toBeDefined();
        const run = await runConcurrentDecodes(jpeg, requests);
        expect(run.answers).toEqual(Array(requests).fill({ status: 200, retryAfter: null }));
        expect(run.peakMb).toBeLessThan(200);
    }, 300_000);
});
