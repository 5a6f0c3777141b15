/**
 * The gateway's fast JPEG path: libjpeg-turbo's TurboJPEG library, called through koffi (FFI).
 *
 * Why: for a 640×480 JPEG sharp/libvips spends about 4 ms of CPU (pipeline set-up, strips handed
 * between libuv and libvips threads), TurboJPEG about 1.4 ms, the same decoder PIL calls (measured
 * by `npm run bench:gateway`). The pixels are PIL's: TurboJPEG decompresses with libjpeg's accurate
 * integer IDCT and fancy upsampling unless told otherwise, which is what PIL asks libjpeg for.
 *
 * Only TurboJPEG 2 functions are used (tjInitDecompress, tjDecompressHeader3, tjDecompress2):
 * libjpeg-turbo 2.1 (Debian bookworm's libturbojpeg0, installed in the gateway image) and 3.x both
 * export them. Decoding is synchronous on the calling thread, so callers
 * keep it to images whose decode takes a few milliseconds (`syncJpegMaxPixels`).
 */
import koffi from "koffi";
import type { JpegDecoderConfig } from "./config";
import type { Logger } from "./log";

/** What a JPEG header says, as TurboJPEG reads it. */
export interface JpegHeader {
    readonly width: number;
    readonly height: number;
    /** TurboJPEG colorspace (TJCS): 0 RGB, 1 YCbCr, 2 grey, 3 CMYK, 4 YCCK. */
    readonly colorspace: number;
    /** CMYK or YCCK: four channels, which the RGB decode does not convert as PIL does. */
    readonly cmyk: boolean;
}

export interface JpegDecoder {
    /** Where the library was loaded from, for the startup log. */
    readonly library: string;
    /**
     * The header, or undefined when TurboJPEG cannot read it. Not proof of a valid JPEG: when the
     * data ends before a frame header, TurboJPEG reports success with the previous image's header
     * (seen with libjpeg-turbo 3.1), so decodeImage uses it only when it matches the probe's size.
     */
    header(jpeg: Uint8Array): JpegHeader | undefined;
    /**
     * Decodes `jpeg` to interleaved 8-bit RGB into `out` (exactly width × height × 3 bytes). Returns
     * false when libjpeg reported any problem, a warning included (a truncated file only warns): the
     * caller then decodes with sharp, which refuses or accepts the image as it always has.
     */
    decodeRgbInto(jpeg: Uint8Array, header: JpegHeader, out: Uint8Array): boolean;
}

// turbojpeg.h (libjpeg-turbo 2.1 and 3.x): pixel format, colorspaces and flags.
const TJPF_RGB = 0;
const TJCS_CMYK = 3;
const TJCS_YCCK = 4;
const TJFLAG_ACCURATEDCT = 4096;
const TJFLAG_STOPONWARNING = 8192;

/**
 * Loads TurboJPEG from `library` (a path, or a soname the dynamic linker finds). Throws with the
 * reason when the library or one of its functions is missing.
 */
export function loadTurboJpeg(library: string): JpegDecoder {
    let lib: ReturnType<typeof koffi.load>;
    try {
        lib = koffi.load(library);
    } catch (err) {
        throw new Error(`cannot load ${library}: ${(err as Error).message}`);
    }
    const tjInitDecompress = lib.func("void *tjInitDecompress(void)");
    const tjDecompressHeader3 = lib.func("int tjDecompressHeader3(void *handle, const uint8_t *jpegBuf, unsigned long jpegSize, _Out_ int *width, _Out_ int *height, _Out_ int *jpegSubsamp, _Out_ int *jpegColorspace)");
    const tjDecompress2 = lib.func("int tjDecompress2(void *handle, const uint8_t *jpegBuf, unsigned long jpegSize, uint8_t *dstBuf, int width, int pitch, int height, int pixelFormat, int flags)");
    // One handle per process: decodes are synchronous, so no two ever use it at once.
    const handle = tjInitDecompress();
    if (!handle) throw new Error(`${library}: tjInitDecompress failed`);
    const width = [0];
    const height = [0];
    const subsampling = [0];
    const colorspace = [0];
    return {
        library,
        header(jpeg) {
            width[0] = height[0] = 0;
            if (tjDecompressHeader3(handle, jpeg, jpeg.length, width, height, subsampling, colorspace) !== 0) return undefined;
            if (width[0] <= 0 || height[0] <= 0) return undefined;
            return { width: width[0], height: height[0], colorspace: colorspace[0], cmyk: colorspace[0] === TJCS_CMYK || colorspace[0] === TJCS_YCCK };
        },
        decodeRgbInto(jpeg, header, out) {
            if (out.length !== header.width * header.height * 3) throw new RangeError(`output holds ${out.length} bytes, not ${header.width}x${header.height}x3`);
            const status = tjDecompress2(handle, jpeg, jpeg.length, out, header.width, 0, header.height, TJPF_RGB, TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING);
            return status === 0;
        },
    };
}

/**
 * TurboJPEG as `jpeg` asks (see JpegDecoderConfig); undefined means sharp decodes every JPEG.
 * Throws when `libjpeg-turbo` is required and does not load; under `auto` that is a warning.
 */
export function selectJpegDecoder(jpeg: JpegDecoderConfig, logger: Logger): JpegDecoder | undefined {
    if (jpeg.decoder === "sharp") return undefined;
    try {
        return loadTurboJpeg(jpeg.library);
    } catch (err) {
        const reason = (err as Error).message;
        if (jpeg.decoder === "libjpeg-turbo") throw new Error(`GATEWAY_JPEG_DECODER=libjpeg-turbo, but TurboJPEG did not load from '${jpeg.library}': ${reason}`);
        logger.warn("TurboJPEG did not load: sharp decodes JPEGs (several times the CPU per image)", { library: jpeg.library, reason });
        return undefined;
    }
}
