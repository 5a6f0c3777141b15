/**
 * One run of N concurrent large-PNG requests against a real gateway process (one worker), reporting
 * its idle and peak RSS. Shared by test/pixelBudget.test.ts (a few requests: the budget's bound
 * holds) and bench/gatewayMemory.ts (the 32 requests, with and without the budget).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import sharp, { type Sharp } from "sharp";
import { sniffImageType } from "../src/imageInfo";
import { gatewayScript } from "./gatewayBuild";
import { pngOf, serveBytes, startHttpServer, startStubTfServing } from "./helpers";

export interface ConcurrentDecodesRun {
    /** Encoded size of the one image every request fetches, bytes. */
    readonly imageBytes: number;
    /** RSS after a first small request has loaded everything (sharp, the gRPC channel), MB. */
    readonly idleMb: number;
    /** The process's peak RSS (VmHWM) after all answers, MB. */
    readonly peakMb: number;
    /** Every answer's status and Retry-After header. */
    readonly answers: readonly { readonly status: number; readonly retryAfter: string | null }[];
    readonly seconds: number;
}

function statusMb(pid: number, field: "VmRSS" | "VmHWM"): number {
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

/**
 * A width×height 8-bit RGBA PNG with a gradient half and a flat half (about 2 MB at 40 MP), the same
 * every run. The gateway decodes it row by row (src/pngNearest.ts), `interlaced` (Adam7) or not.
 */
export async function largePng(width: number, height: number, options: { interlaced?: boolean } = {}): Promise<Buffer> {
    return cachedImage(["png", width, height, options], () => gradientImage(width, height, 4).png({ compressionLevel: 6, progressive: options.interlaced ?? false }).toBuffer());
}

/**
 * The same picture as a JPEG, larger than a Full HD frame so sharp decodes it: a baseline one above
 * 16 MP strip by strip (src/jpegStrips.ts), a `progressive` one whole, under the pixel budget.
 */
export async function largeJpeg(width: number, height: number, options: { progressive?: boolean } = {}): Promise<Buffer> {
    return cachedImage(["jpeg", width, height, options], () => gradientImage(width, height, 3).jpeg({ quality: 80, progressive: options.progressive ?? false }).toBuffer());
}

const imageCacheDir = path.resolve(__dirname, "..", "node_modules", ".cache", "test-images");

/**
 * Encoding a 40-MP picture costs 0.3-1.1 s of CPU (a progressive JPEG the most), on every test run.
 * The bytes depend only on the arguments, this file and the libraries sharp bundles, so they are
 * kept under gateway/node_modules/.cache (which `npm ci` clears), named by the hash of all three;
 * an edit here or another libvips makes new ones. Written beside the final name and renamed into
 * place, so a concurrent reader sees a whole file or none.
 */
async function cachedImage(args: readonly unknown[], encode: () => Promise<Buffer>): Promise<Buffer> {
    const key = createHash("sha256").update(JSON.stringify({ args, versions: sharp.versions })).update(fs.readFileSync(__filename)).digest("hex").slice(0, 32);
    const file = path.join(imageCacheDir, key);
    if (fs.existsSync(file)) return fs.readFileSync(file);
    const image = await encode();
    fs.mkdirSync(imageCacheDir, { recursive: true });
    fs.writeFileSync(`${file}.${process.pid}.partial`, image);
    fs.renameSync(`${file}.${process.pid}.partial`, file);
    return image;
}

/**
 * A left-to-right gradient over the top half, one flat colour below; with 4 channels, opaque RGBA.
 * Built from one row of pixels that libvips repeats (a nearest resize, then an extend): rasterizing an
 * SVG gradient of 40 MP instead cost about 2 s of CPU per image in every test run.
 */
function gradientImage(width: number, height: number, channels: 3 | 4): Sharp {
    const row = Buffer.alloc(width * channels, 255);
    const [from, to] = [[0x10, 0x20, 0x30], [0xf0, 0xe0, 0xd0]];
    for (let x = 0; x < width; x++) {
        const t = width > 1 ? x / (width - 1) : 0;
        for (let c = 0; c < 3; c++) row[channels * x + c] = Math.round(from[c] + t * (to[c] - from[c]));
    }
    const gradientRows = Math.max(1, Math.floor(height / 2));
    return sharp(row, { raw: { width, height: 1, channels } })
        .resize(width, gradientRows, { kernel: "nearest", fit: "fill" })
        .extend({ bottom: height - gradientRows, background: { r: 40, g: 120, b: 200, alpha: 1 } });
}

/**
 * Starts the gateway (its compiled files under plain node, gatewayBuild.ts, so the child's pid is the
 * process measured), sends `requests` concurrent /predict calls for `image`, and reads its memory. `env` is added to the
 * gateway's environment (e.g. GATEWAY_DECODE_BUDGET_PIXELS). Unless `env` sets the pixel budget or a
 * memory limit, the budget is the one a gateway without a memory limit has (GATEWAY_MAX_PIXELS, 40 M),
 * so the figures do not depend on the memory limit of the machine that runs them.
 */
export async function runConcurrentDecodes(image: Buffer, requests: number, env: Record<string, string> = {}): Promise<ConcurrentDecodesRun> {
    if (process.platform !== "linux") throw new Error("runConcurrentDecodes reads /proc/<pid>/status (Linux only)");
    // A WebP, which sharp decodes: the warm-up loads sharp before idle is read.
    const small = await sharp(await pngOf(2, 2, 3, Array(12).fill(100))).webp({ lossless: true }).toBuffer();
    const images = await startHttpServer({ "/big": serveBytes(image, `image/${sniffImageType(image)}`), "/small.webp": serveBytes(small, "image/webp") });
    const stub = await startStubTfServing({ scores: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    // --expose-gc as the image's ENTRYPOINT has it (gateway/Dockerfile).
    const child = spawn(process.execPath, ["--expose-gc", gatewayScript("main"), "--http_port", "0"], {
        cwd: path.resolve(__dirname, "../.."),
        env: {
            ...process.env,
            TF_SERVING_HOST: stub.target,
            MODEL_INPUT_SIZE: "299,299",
            GATEWAY_ALLOWED_CIDRS: "127.0.0.0/8",
            LOG_LEVEL: "info",
            GATEWAY_WORKERS: "1",
            GATEWAY_REQUEST_TIMEOUT_SECONDS: "300",
            GATEWAY_DOWNLOAD_TIMEOUT_SECONDS: "120",
            MALLOC_ARENA_MAX: "2",
            UV_THREADPOOL_SIZE: "4",
            ...(env.GATEWAY_DECODE_BUDGET_PIXELS === undefined && env.GATEWAY_MEMORY_LIMIT_BYTES === undefined ? { GATEWAY_DECODE_BUDGET_PIXELS: "40000000" } : {}),
            ...env,
        },
        stdio: ["ignore", "pipe", "inherit"],
    });
    try {
        let out = "";
        const port = await new Promise<number>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`no listening log: ${out}`)), 30_000);
            child.stdout!.on("data", (d: Buffer) => {
                out += d.toString();
                const m = /"msg":"gateway listening","port":(\d+)/.exec(out);
                if (m) {
                    clearTimeout(t);
                    resolve(Number(m[1]));
                }
            });
        });
        // sharp is loaded on a worker's first image it decodes: a small one first, so idle includes it.
        const warmUp = await fetch(`http://127.0.0.1:${port}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: `${images.url}/small.webp` }) });
        if (warmUp.status !== 200) throw new Error(`the warm-up request answered ${warmUp.status}: ${await warmUp.text()}`);
        const idleMb = statusMb(child.pid!, "VmRSS");
        const started = performance.now();
        const answers = await Promise.all(
            Array.from({ length: requests }, () =>
                fetch(`http://127.0.0.1:${port}/predict`, {
                    method: "POST",
                    headers: { "content-type": "application/json" },
                    body: JSON.stringify({ url: `${images.url}/big` }),
                    signal: AbortSignal.timeout(280_000),
                }).then(async (r) => ({ status: r.status, retryAfter: r.headers.get("retry-after"), body: await r.text() })),
            ),
        );
        const seconds = (performance.now() - started) / 1000;
        return { imageBytes: image.length, idleMb, peakMb: statusMb(child.pid!, "VmHWM"), answers: answers.map(({ status, retryAfter }) => ({ status, retryAfter })), seconds };
    } finally {
        child.kill("SIGKILL");
        await images.close();
        await stub.close();
    }
}
