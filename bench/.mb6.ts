import sharp from "sharp";
import { readFileSync } from "node:fs";
(async () => {
  sharp.cache(false); sharp.concurrency(1);
  const jpg = readFileSync("/tmp/pilcheck/a.jpeg");
  for (const opts of [{}, { sequentialRead: true }, { sequentialRead: true, ignoreIcc: true, failOn: "error" as const }]) {
    const N = 200; const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await sharp(jpg, opts).raw().toBuffer();
    const c1 = process.cpuUsage(c0);
    console.log(JSON.stringify(opts), "cpu ms", ((c1.user + c1.system) / 1000 / N).toFixed(2));
  }
})();
