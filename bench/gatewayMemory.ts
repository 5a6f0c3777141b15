/**
 * Gateway memory benchmark (`npm run bench:gateway-memory`): the gateway issue's case, 32
 * concurrent requests for one 40-megapixel image against one gateway worker (sharp loaded, as after
 * any image sharp decodes), in one go:
 * - an 8-bit non-interlaced PNG, which the gateway decodes row by row (src/pngNearest.ts);
 * - the same picture as a baseline JPEG, which the gateway decodes strip by strip (src/jpegStrips.ts);
 * - the PNG interlaced (Adam7), also decoded row by row, pass by pass;
 * - the picture as a progressive JPEG (decoded whole by sharp), under a pixel budget of one such
 *   image (by default it costs more than the budget and is refused) and with the budget effectively
 *   off (all 32 images at once), so the budget's effect is read side by side;
 * - the PNG, the JPEG and the progressive JPEG again under a memory limit of the issue's 200 MB
 *   (GATEWAY_MEMORY_LIMIT_BYTES, as a container's cgroup limit would set it, with one decode slot and
 *   a 20 MiB download budget), from which the gateway sizes its pixel budget and refuses (413) what
 *   cannot fit.
 * Prints figures; asserts nothing (gateway/test/pixelBudget.test.ts holds the bounds).
 *
 * Knobs: BENCH_MEMORY_REQUESTS (32).
 */
import { probeImage } from "../gateway/src/imageInfo";
import { largeJpeg, largePng, runConcurrentDecodes, type ConcurrentDecodesRun } from "../gateway/test/concurrentDecodes";

const requests = Number(process.env.BENCH_MEMORY_REQUESTS ?? 32);
if (!Number.isInteger(requests) || requests < 1 || requests > 256) throw new Error(`BENCH_MEMORY_REQUESTS must be an integer in [1, 256], not ${process.env.BENCH_MEMORY_REQUESTS}`);
const width = 8000;
const height = 5000;
const issueTargetMb = 200;

function line(label: string, run: ConcurrentDecodesRun): string {
    const ok = run.answers.filter((a) => a.status === 200).length;
    const busy = run.answers.filter((a) => a.status === 503).length;
    const refused = run.answers.filter((a) => a.status === 413).length;
    const other = run.answers.length - ok - busy - refused;
    return `${label.padEnd(28)} idle ${run.idleMb.toFixed(0).padStart(4)} MB  peak ${run.peakMb.toFixed(0).padStart(4)} MB  ${ok} × 200, ${busy} × 503, ${refused} × 413${other ? `, ${other} other` : ""}  ${run.seconds.toFixed(1)} s`;
}

async function main(): Promise<void> {
    const png = await largePng(width, height);
    const jpeg = await largeJpeg(width, height);
    const progressive = await largeJpeg(width, height, { progressive: true });
    const interlaced = await largePng(width, height, { interlaced: true });
    const kib = (b: Buffer) => `${(b.length / 1024).toFixed(0)} KiB`;
    console.log(`${requests} concurrent requests for one ${width}×${height} image (PNG ${kib(png)}, JPEG ${kib(jpeg)}, progressive JPEG ${kib(progressive)}, interlaced PNG ${kib(interlaced)}; ${((width * height * 3) / 2 ** 20).toFixed(0)} MB decoded whole), one gateway worker, 4 libuv threads`);
    const oneProgressive = String(Math.ceil(width * height + probeImage(progressive).coefficientBytes! / 3));
    // 200 MB leave room for one decode slot and a 20 MiB download budget (gateway/README.md, "The
    // budget from the memory limit"); with the defaults the gateway would refuse to start.
    const issueLimit = { GATEWAY_MEMORY_LIMIT_BYTES: String(issueTargetMb * 1_000_000), GATEWAY_DECODE_CONCURRENCY: "1", GATEWAY_DOWNLOAD_BUDGET_BYTES: String(20 * 2 ** 20) };
    const cases: [string, Buffer, Record<string, string>][] = [
        ["PNG, row by row", png, {}],
        ["JPEG, strips", jpeg, {}],
        ["interlaced PNG, rows", interlaced, {}],
        ["progressive, one at a time", progressive, { GATEWAY_DECODE_BUDGET_PIXELS: oneProgressive }],
        ["progressive, no budget", progressive, { GATEWAY_DECODE_BUDGET_PIXELS: String(3 * width * height * requests) }],
        ["PNG, 200 MB limit", png, issueLimit],
        ["JPEG, 200 MB limit", jpeg, issueLimit],
        ["progressive, 200 MB limit", progressive, issueLimit],
    ];
    const runs: [string, ConcurrentDecodesRun][] = [];
    for (const [label, image, env] of cases) runs.push([label, await runConcurrentDecodes(image, requests, env)]);
    for (const [label, run] of runs) console.log(`${line(label, run)}  issue's ${issueTargetMb} MB: ${run.peakMb <= issueTargetMb ? "met" : "NOT met"}`);
    const peak = (label: string) => runs.find(([l]) => l === label)![1].peakMb;
    console.log(`progressive JPEG peak one at a time / without the budget: ${(peak("progressive, one at a time") / peak("progressive, no budget")).toFixed(2)}`);
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
