/**
 * Gateway memory benchmark (`npm run bench:gateway-memory`): the gateway issue's case, 32
 * concurrent requests for one 40-megapixel PNG against one gateway worker, run twice in one go:
 * with the pixel budget (the default, GATEWAY_DECODE_BUDGET_PIXELS = GATEWAY_MAX_PIXELS) and with
 * it effectively off (a budget of all 32 images at once), so the budget's effect is read side by
 * side. Prints figures; asserts nothing (gateway/test/pixelBudget.test.ts holds the bound).
 *
 * Knobs: BENCH_MEMORY_REQUESTS (32).
 */
import { largePng, runConcurrentDecodes, type ConcurrentDecodesRun } from "../gateway/test/concurrentDecodes";

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
    console.log(`${requests} concurrent requests for one ${width}×${height} PNG (${(png.length / 1024).toFixed(0)} KiB, ${((width * height * 3) / 2 ** 20).toFixed(0)} MB decoded), one gateway worker, 4 libuv threads`);
    const withBudget = await runConcurrentDecodes(png, requests);
    const withoutBudget = await runConcurrentDecodes(png, requests, { GATEWAY_DECODE_BUDGET_PIXELS: String(width * height * requests) });
    console.log(line("with the budget", withBudget));
    console.log(line("without (reference)", withoutBudget));
    console.log(`peak with / without: ${(withBudget.peakMb / withoutBudget.peakMb).toFixed(2)}; issue's target ${issueTargetMb} MB: ${withBudget.peakMb <= issueTargetMb ? "met" : "NOT met"}`);
}

main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
