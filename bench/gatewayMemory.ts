/**
 * Gateway memory benchmark (`npm run bench:gateway-memory`): the gateway issue's case, 32
 * concurrent requests for one 40-megapixel image against one gateway worker (sharp loaded, as after
 * any image sharp decodes), in one go:
 * - an 8-bit non-interlaced PNG, which the gateway decodes row by row (src/pngNearest.ts);
 * - the same picture as a baseline JPEG, which the gateway decodes strip by strip (src/jpegStrips.ts);
 * - the picture as a progressive JPEG (decoded whole by sharp), with the pixel budget (the default,
 *   GATEWAY_DECODE_BUDGET_PIXELS = GATEWAY_MAX_PIXELS) and with it effectively off (a budget of all
 *   32 images at once), so the budget's effect is read side by side;
 * - the PNG interlaced (Adam7), also decoded row by row, pass by pass.
 * Prints figures; asserts nothing (gateway/test/pixelBudget.test.ts holds the bounds).
 *
 * Knobs: BENCH_MEMORY_REQUESTS (32).
 */
import { largeJpeg, largePng, runConcurrentDecodes, type ConcurrentDecodesRun } from "../gateway/test/concurrentDecodes";

const requests = Number(process.env.BENCH_MEMORY_REQUESTS ?? 32);
if (!Number.isInteger(requests) || requests < 1 || requests > 256) throw new Error(`BENCH_MEMORY_REQUESTS must be an integer in [1, 256], not ${process.env.BENCH_MEMORY_REQUESTS}`);
const width = 8000;
const height = 5000;
const issueTargetMb = 200;

function line(label: string, run: ConcurrentDecodesRun): string {
    const ok = run.answers.filter((a) => a.status === 200).length;
    const busy = run.answers.filter((a) => a.status === 503).length;
    const other = run.answers.length - ok - busy;
    return `${label.padEnd(22)} idle ${run.idleMb.toFixed(0).padStart(4)} MB  peak ${run.peakMb.toFixed(0).padStart(4)} MB  ${ok} × 200, ${busy} × 503${other ? `, ${other} other` : ""}  ${run.seconds.toFixed(1)} s`;
}

async function main(): Promise<void> {
    const png = await largePng(width, height);
    const jpeg = await largeJpeg(width, height);
    const progressive = await largeJpeg(width, height, { progressive: true });
    const interlaced = await largePng(width, height, { interlaced: true });
    const kib = (b: Buffer) => `${(b.length / 1024).toFixed(0)} KiB`;
    console.log(`${requests} concurrent requests for one ${width}×${height} image (PNG ${kib(png)}, JPEG ${kib(jpeg)}, progressive JPEG ${kib(progressive)}, interlaced PNG ${kib(interlaced)}; ${((width * height * 3) / 2 ** 20).toFixed(0)} MB decoded whole), one gateway worker, 4 libuv threads`);
    const runs: [string, ConcurrentDecodesRun][] = [
        ["PNG, row by row", await runConcurrentDecodes(png, requests)],
        ["progressive, budget", await runConcurrentDecodes(progressive, requests)],
        ["progressive, no budget", await runConcurrentDecodes(progressive, requests, { GATEWAY_DECODE_BUDGET_PIXELS: String(3 * width * height * requests) })],
        ["JPEG, strips", await runConcurrentDecodes(jpeg, requests)],
        ["interlaced PNG, rows", await runConcurrentDecodes(interlaced, requests)],
    ];
    for (const [label, run] of runs) console.log(`${line(label, run)}  issue's ${issueTargetMb} MB: ${run.peakMb <= issueTargetMb ? "met" : "NOT met"}`);
    console.log(`progressive JPEG peak with / without the budget: ${(runs[1][1].peakMb / runs[2][1].peakMb).toFixed(2)}`);
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
