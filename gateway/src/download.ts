/**
 * Downloads an image URL safely: http/https only, no credentials in URLs, every address the host
 * resolves to checked against the address policy, the connection pinned to the checked address
 * (custom `lookup`, so no DNS-rebinding window), redirects followed by hand with each hop checked
 * again, and limits on time, bytes and content type.
 */
import * as dns from "node:dns";
import * as http from "node:http";
import * as https from "node:https";
import type { LookupFunction } from "node:net";
import { badGateway, badRequest, GatewayError, gatewayTimeout, tooLarge, unsupportedMedia } from "./errors";
import { noteImageGarbage } from "./imageGarbage";
import { sniffImageType } from "./imageInfo";
import { type AddressPolicy, checkAddress, parseIp } from "./netPolicy";
import { MemoryBudget } from "./memoryBudget";

export { sniffImageType };

export interface DownloadLimits {
    /** Largest image accepted, bytes. */
    readonly maxBytes: number;
    /** Whole download (all hops, DNS included), milliseconds. */
    readonly timeoutMs: number;
    /** Redirect hops followed before giving up. */
    readonly maxRedirects: number;
}

export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

export interface DownloadOptions {
    readonly policy: AddressPolicy;
    readonly limits: DownloadLimits;
    /** Aborts the download (client went away, shutdown). */
    readonly signal?: AbortSignal;
    /** DNS resolver; default `dns.promises.lookup(host, { all: true })`. Injectable for tests. */
    readonly resolve?: Resolver;
    /**
     * Bytes of downloads in flight (server.ts: GATEWAY_DOWNLOAD_BUDGET_BYTES): an image's declared
     * length (or `limits.maxBytes` when it declares none) is taken once its headers arrive, before its
     * body is read, and held until the caller calls `release`. Default: none.
     */
    readonly budget?: { acquire(bytes: number, signal?: AbortSignal): Promise<() => void> };
}

export interface Downloaded {
    readonly bytes: Buffer;
    /** Gives the bytes' share of `options.budget` back (call it once the bytes are freed); a no-op without a budget. */
    readonly release: () => void;
    readonly contentType: string;
    readonly finalUrl: string;
    readonly hops: number;
}

/**
 * The budget `DownloadOptions.budget` expects, in bytes: waiters first come, first served, and past
 * `maxWaiting` of them 503 `download_budget_exhausted` with Retry-After (server.ts makes one per process).
 */
export function createDownloadBudget(capacityBytes: number, maxWaiting: number): MemoryBudget {
    return new MemoryBudget(capacityBytes, maxWaiting, { code: "download_budget_exhausted", busy: "too many image bytes are being downloaded" });
}

/** Media types accepted; octet-stream is accepted too when the bytes sniff as an image. */
export const imageMediaTypes: ReadonlySet<string> = new Set(["image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/webp", "image/gif"]);
const genericMediaTypes: ReadonlySet<string> = new Set(["application/octet-stream", "binary/octet-stream"]);

const defaultResolve: Resolver = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: "lifo", timeout: 30_000 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: "lifo", timeout: 30_000 });

/** Closes pooled keep-alive sockets (shutdown). */
export function closeDownloadAgents(): void {
    httpAgent.destroy();
    httpsAgent.destroy();
}

/** Pure URL check: scheme, credentials, host present. Returns the parsed URL. */
export function parseImageUrl(text: unknown): URL {
    if (typeof text !== "string" || text.length === 0) throw badRequest("invalid_url", "url must be a non-empty string");
    if (text.length > 8192) throw badRequest("invalid_url", "url is longer than 8192 characters");
    let url: URL;
    try {
        url = new URL(text);
    } catch {
        throw badRequest("invalid_url", "url is not a valid absolute URL");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw badRequest("url_scheme_not_allowed", `only http and https URLs are fetched, not ${url.protocol.replace(/:$/, "")}`);
    }
    if (url.username !== "" || url.password !== "") throw badRequest("invalid_url", "URLs with credentials are not fetched");
    if (url.hostname === "") throw badRequest("invalid_url", "url has no host");
    return url;
}

/** Resolves the URL's host and returns the first address, refusing when ANY answer is disallowed. */
async function resolveChecked(url: URL, policy: AddressPolicy, resolve: Resolver): Promise<{ address: string; family: number }> {
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const literal = parseIp(host);
    let answers: { address: string; family: number }[];
    if (literal) {
        answers = [{ address: host, family: literal.length === 4 ? 4 : 6 }];
    } else {
        try {
            answers = await resolve(host);
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code ?? "error";
            throw badGateway("dns_failed", `could not resolve the image host (${code})`);
        }
        if (answers.length === 0) throw badGateway("dns_failed", "the image host has no addresses");
    }
    for (const a of answers) {
        const verdict = checkAddress(a.address, policy);
        if (!verdict.allowed) {
            throw badRequest("address_not_allowed", `the image host resolves to a ${verdict.reason} address, which is not fetched`);
        }
    }
    return answers[0];
}

function pinnedLookup(address: string, family: number): LookupFunction {
    return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
        if (options?.all) callback(null, [{ address, family }]);
        else callback(null, address, family);
    }) as unknown as LookupFunction;
}

function mediaType(header: string | undefined): string {
    return (header ?? "").split(";")[0].trim().toLowerCase();
}

interface HopResult {
    readonly redirect?: string;
    readonly bytes?: Buffer;
    readonly contentType?: string;
    readonly release?: () => void;
}

function oneHop(url: URL, target: { address: string; family: number }, limits: DownloadLimits, signal: AbortSignal, budget: DownloadOptions["budget"]): Promise<HopResult> {
    return new Promise<HopResult>((resolve, outerReject) => {
        // The budget share taken for this response's body: given back on any failure, handed to the
        // caller with the bytes on success (after which late socket events change nothing).
        let release: (() => void) | undefined;
        let settled = false;
        const reject = (err: unknown) => {
            if (settled) return;
            settled = true;
            release?.();
            outerReject(err);
        };
        const isHttps = url.protocol === "https:";
        const req = (isHttps ? https : http).request(
            {
                protocol: url.protocol,
                host: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
                port: url.port || (isHttps ? 443 : 80),
                path: url.pathname + url.search,
                method: "GET",
                headers: { accept: "image/jpeg, image/png, image/webp, image/gif", "user-agent": "inference-platform-gateway" },
                agent: isHttps ? httpsAgent : httpAgent,
                lookup: pinnedLookup(target.address, target.family),
                signal,
            },
            (res) => {
                const status = res.statusCode ?? 0;
                if (status >= 300 && status < 400 && status !== 304) {
                    res.resume();
                    const location = res.headers.location;
                    if (!location) return reject(badGateway("bad_redirect", `image server answered ${status} without a Location`));
                    return resolve({ redirect: location });
                }
                if (status !== 200) {
                    res.resume();
                    return reject(badGateway("image_fetch_failed", `image server answered HTTP ${status}`));
                }
                const type = mediaType(res.headers["content-type"]);
                if (!imageMediaTypes.has(type) && !genericMediaTypes.has(type)) {
                    reject(unsupportedMedia("unsupported_content_type", `image URL served '${type || "no content type"}', expected image/jpeg, image/png, image/gif or image/webp`));
                    return void res.destroy();
                }
                const declared = Number(res.headers["content-length"]);
                if (Number.isFinite(declared) && declared > limits.maxBytes) {
                    reject(tooLarge("image_too_large", `image is ${declared} bytes, the limit is ${limits.maxBytes}`));
                    return void res.destroy();
                }
                const readBody = () => {
                    // Preallocate when the length is known: one buffer, no concatenation.
                    const known = Number.isFinite(declared) && declared > 0 ? Buffer.allocUnsafe(declared) : undefined;
                    const chunks: Buffer[] = [];
                    let received = 0;
                    res.on("data", (chunk: Buffer) => {
                        if (received + chunk.length > limits.maxBytes) {
                            // Reject before destroy: destroy() emits 'aborted' synchronously.
                            reject(tooLarge("image_too_large", `image is larger than the limit of ${limits.maxBytes} bytes`));
                            res.destroy();
                            return;
                        }
                        if (known && received + chunk.length <= known.length) {
                            chunk.copy(known, received);
                            noteImageGarbage(chunk.length);
                        } else chunks.push(chunk);
                        received += chunk.length;
                    });
                    res.on("end", () => {
                        let bytes: Buffer;
                        if (known && chunks.length === 0) {
                            if (received !== known.length) return reject(badGateway("image_fetch_failed", "image download ended early"));
                            bytes = known;
                        } else {
                            bytes = Buffer.concat(known ? [known.subarray(0, Math.min(received, known.length)), ...chunks] : chunks);
                        }
                        if (settled) return;
                        settled = true;
                        resolve({ bytes, contentType: type, release });
                    });
                };
                res.on("error", (err) => reject(err));
                res.on("aborted", () => reject(badGateway("image_fetch_failed", "image download was cut off")));
                if (!budget) return readBody();
                // Until readBody adds its 'data' listener the body stays unread: Node buffers up to its
                // high-water mark and TCP holds the rest back.
                budget.acquire(Number.isFinite(declared) && declared > 0 ? declared : limits.maxBytes, signal).then(
                    (giveBack) => {
                        if (settled) return giveBack(); // the response failed while it waited
                        release = giveBack;
                        readBody();
                    },
                    (err: unknown) => {
                        reject(err);
                        res.destroy();
                    },
                );
            },
        );
        req.on("error", (err) => reject(err));
        req.end();
    });
}

/** Downloads an image URL under the policy and limits; throws a GatewayError on any failure. */
export async function downloadImage(rawUrl: unknown, options: DownloadOptions): Promise<Downloaded> {
    const { limits, policy } = options;
    let url = parseImageUrl(rawUrl);
    // One controller for the time limit and the caller's signal (cheaper than AbortSignal.any).
    const controller = new AbortController();
    const signal = controller.signal;
    let timedOut = false;
    const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
    }, limits.timeoutMs);
    const onCallerAbort = () => controller.abort();
    if (options.signal?.aborted) controller.abort();
    else options.signal?.addEventListener("abort", onCallerAbort, { once: true });
    try {
        for (let hop = 0; ; hop++) {
            let target: { address: string; family: number };
            try {
                target = await resolveChecked(url, policy, options.resolve ?? defaultResolve);
            } catch (err) {
                if (hop === 0 || !(err instanceof GatewayError)) throw err;
                throw new GatewayError(err.status, err.code, `redirect refused: ${err.message}`);
            }
            signal.throwIfAborted();
            const result = await oneHop(url, target, limits, signal, options.budget);
            if (result.redirect !== undefined) {
                if (hop >= limits.maxRedirects) throw badGateway("too_many_redirects", `image URL redirected more than ${limits.maxRedirects} times`);
                let next: URL;
                try {
                    next = new URL(result.redirect, url);
                } catch {
                    throw badGateway("bad_redirect", "image server redirected to an invalid URL");
                }
                try {
                    url = parseImageUrl(next.href);
                } catch (err) {
                    const e = err as GatewayError;
                    throw new GatewayError(e.status, e.code, `redirect refused: ${e.message}`);
                }
                continue;
            }
            const bytes = result.bytes!;
            const release = result.release ?? (() => undefined);
            const sniffed = sniffImageType(bytes);
            if (!sniffed) {
                release();
                throw unsupportedMedia("not_an_image", "downloaded bytes are not a JPEG, PNG, GIF or WebP image");
            }
            return { bytes, release, contentType: result.contentType!, finalUrl: url.href, hops: hop };
        }
    } catch (err) {
        if (err instanceof GatewayError) throw err;
        if (timedOut) throw gatewayTimeout("image_fetch_timeout", `image download took longer than ${limits.timeoutMs} ms`);
        if (options.signal?.aborted) throw badGateway("aborted", "request aborted");
        const code = (err as NodeJS.ErrnoException).code ?? "error";
        throw badGateway("image_fetch_failed", `could not download the image (${code})`);
    } finally {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onCallerAbort);
    }
}
