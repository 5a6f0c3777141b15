import sharp from "sharp";
import { readFileSync } from "node:fs";
(async () => {
  sharp.cache(false); sharp.concurrency(1);
  const jpg = readFileSync("/tmp/pilcheck/a.jpeg");
  let syncMs = 0, cbMs = 0; const N = 200;
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const p = sharp(jpg, { sequentialRead: true }).raw().toBuffer();
    syncMs += performance.now() - t0;
    await p;
  }
  console.log("pipeline sync part ms", (syncMs / N).toFixed(3));
  syncMs = 0;
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const p = sharp(jpg).metadata();
    syncMs += performance.now() - t0;
    await p;
  }
  console.log("metadata sync part ms", (syncMs / N).toFixed(3));
  // main-thread time overall (event loop busy) for decode loop
  const { monitorEventLoopDelay, performance: perf } = await import("node:perf_hooks");
  const elu0 = perf.eventLoopUtilization();
  for (let i = 0; i < N; i++) await sharp(jpg, { sequentialRead: true }).raw().toBuffer();
  const elu = perf.eventLoopUtilization(elu0);
  console.log("main thread active ms per decode", (elu.active / N).toFixed(3), "idle", (elu.idle / N).toFixed(3));
})();
