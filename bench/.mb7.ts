import sharp from "sharp";
import { readFileSync } from "node:fs";
import { resizeNormalizeInto, pilNearestIndices, modeTables } from "../gateway/src/preprocess";
function v2(data: Uint8Array, width: number, channels: number, oh: number, ow: number, out: Float32Array, offset: number, t0: Float32Array, t1: Float32Array, t2: Float32Array, xs: Int32Array, ys: Int32Array) {
  let o = offset;
  for (let y = 0; y < oh; y++) {
    const row = ys[y] * width * channels;
    for (let x = 0; x < ow; x++) {
      const p = row + xs[x] * channels;
      out[o] = t0[data[p]]; out[o + 1] = t1[data[p + 1]]; out[o + 2] = t2[data[p + 2]];
      o += 3;
    }
  }
}
(async () => {
  const jpg = readFileSync("/tmp/pilcheck/a.jpeg");
  const { data, info } = await sharp(jpg).raw().toBuffer({ resolveWithObject: true });
  const img = { data, width: info.width, height: info.height, channels: info.channels };
  const out = new Float32Array(299 * 299 * 3);
  const N = 300;
  for (let k = 0; k < 3; k++) {
    let t = performance.now();
    for (let i = 0; i < N; i++) resizeNormalizeInto(img, { height: 299, width: 299 }, "tf", out, 0);
    console.log("current", ((performance.now() - t) / N).toFixed(3));
    const [a, b, c] = modeTables("tf");
    const u8 = new Uint8Array(data.buffer, data.byteOffset, data.length);
    t = performance.now();
    for (let i = 0; i < N; i++) { const xs = pilNearestIndices(640, 299), ys = pilNearestIndices(480, 299); v2(u8, 640, 3, 299, 299, out, 0, a, b, c, xs, ys); }
    console.log("v2", ((performance.now() - t) / N).toFixed(3));
  }
})();
