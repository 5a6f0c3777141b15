/**
 * The image build's check (gateway/Dockerfile: `RUN node dist/selfCheck.js`, as the image's user):
 * the native parts the gateway loads only when it needs them, sharp (libvips) and TurboJPEG (koffi),
 * load and decode in the image, so a broken install fails `docker build` rather than the first PNG
 * in production. TurboJPEG is loaded from GATEWAY_TURBOJPEG_LIBRARY (default: Debian's soname), as
 * the gateway loads it. Prints one line and exits 0, or prints every problem and exits 1.
 */
import { defaultTurboJpegLibrary } from "./config";
import { loadSharp } from "./preprocess";
import { loadTurboJpeg } from "./turboJpeg";

/** The colour of the test image, and how far a JPEG round trip may move it. */
const colour = { r: 200, g: 100, b: 50 };
const jpegTolerance = 8;

async function selfCheck(): Promise<{ found: string[]; problems: string[] }> {
    const found: string[] = [];
    const problems: string[] = [];
    let jpeg: Buffer | undefined;
    try {
        const sharp = loadSharp();
        // A 16×8 image through libvips' PNG encoder and decoder, then its JPEG encoder.
        const png = await sharp({ create: { width: 16, height: 8, channels: 3, background: colour } }).png().toBuffer();
        const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
        if (info.width !== 16 || info.height !== 8 || data[0] !== colour.r) problems.push(`sharp decoded its own PNG as ${info.width}x${info.height} starting with ${data[0]}`);
        jpeg = await sharp(png).jpeg({ quality: 95 }).toBuffer();
        found.push(`sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips})`);
    } catch (err) {
        problems.push((err as Error).message);
    }
    // As config.ts reads it: unset means the default; set but empty fails (here, to load).
    const library = (process.env.GATEWAY_TURBOJPEG_LIBRARY ?? defaultTurboJpegLibrary).trim();
    try {
        const turboJpeg = loadTurboJpeg(library);
        if (jpeg) {
            const header = turboJpeg.header(jpeg);
            const pixels = new Uint8Array(16 * 8 * 3);
            const decoded = header !== undefined && header.width === 16 && header.height === 8 && turboJpeg.decodeRgbInto(jpeg, header, pixels);
            const [r, g, b] = pixels;
            if (!decoded || Math.abs(r - colour.r) > jpegTolerance || Math.abs(g - colour.g) > jpegTolerance || Math.abs(b - colour.b) > jpegTolerance) {
                problems.push(`TurboJPEG from ${library} did not decode the JPEG libvips wrote (got ${decoded ? `${r},${g},${b}` : "no pixels"})`);
            }
        }
        found.push(`TurboJPEG from ${library}`);
    } catch (err) {
        problems.push((err as Error).message);
    }
    return { found, problems };
}

selfCheck().then(
    ({ found, problems }) => {
        if (problems.length === 0) {
            process.stdout.write(`gateway self-check passed: ${found.join(", ")}\n`);
            return;
        }
        process.stderr.write(`gateway self-check failed:\n${problems.map((p) => `  - ${p}\n`).join("")}`);
        process.exitCode = 1;
    },
    (err: unknown) => {
        process.stderr.write(`gateway self-check failed: ${String(err)}\n`);
        process.exitCode = 1;
    },
);
