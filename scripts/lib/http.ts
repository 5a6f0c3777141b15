/**
 * A small HTTP(S) transport for the scripts: one request, no automatic redirects, no cookie handling.
 *
 * Why node:http instead of `fetch`: Node's fetch (undici) silently replaces a caller's `Host`
 * header with the URL's host (checked on Node 24), and it cannot take a per-request CA. The
 * seeds reach models as `curl -H "Host: <model host>" http://<ingress ip>/...` before DNS exists,
 * and the Kubernetes API needs the kubeconfig's CA, so both need this.
 */
import * as http from "node:http";
import * as https from "node:https";

/** Thrown for problems the user can fix (bad URL, unreachable host, HTTP error); printed without a stack. */
export class UserError extends Error {
    constructor(message: string, public readonly exitCode = 1) {
        super(message);
        this.name = "UserError";
    }
}

/**
 * Runs a command's `main` and sets the exit code: `main`'s result, a UserError's code with its message
 * (the user can act on it), or 70 (EX_SOFTWARE) with the whole error for anything else (a bug).
 */
export function runCommand(name: string, main: () => Promise<number>): void {
    main().then(
        (code) => {
            process.exitCode = code;
        },
        (err: unknown) => {
            if (err instanceof UserError) {
                console.error(`${name}: ${err.message}`);
                process.exitCode = err.exitCode;
            } else {
                console.error(`${name}: unexpected error (a bug; please report it):`, err);
                process.exitCode = 70;
            }
        },
    );
}

/** The request never got an HTTP answer (refused, DNS, timeout, TLS). Worth a retry while polling. */
export class NetworkError extends UserError {
    constructor(message: string) {
        super(message);
        this.name = "NetworkError";
    }
}

export interface HttpRequest {
    readonly method: string;
    /** Absolute http(s) URL; its host becomes the `Host` header (and the TLS server name). */
    readonly url: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string | Buffer;
    /**
     * `host[:port]` to open the connection to instead of the URL's host (an ingress IP or load
     * balancer name); the `Host` header still names the URL's host. Default: the URL's host.
     */
    readonly connectTo?: string;
    /** PEM CA bundle to trust (kubeconfig `certificate-authority-data`). Default: the system CAs. */
    readonly ca?: string | Buffer;
    /** PEM client certificate and key (kubeconfig client-certificate-data / client-key-data). */
    readonly cert?: string | Buffer;
    readonly key?: string | Buffer;
    /** Skip TLS verification (kubeconfig `insecure-skip-tls-verify`). Default false. */
    readonly insecure?: boolean;
    /** Whole-request timeout in milliseconds. Default 30000. */
    readonly timeoutMs?: number;
    /** Aborts the request. */
    readonly signal?: AbortSignal;
}

export interface HttpResponse {
    readonly status: number;
    /** Lower-case header names; repeated headers joined with ", " (except set-cookie, kept apart). */
    readonly headers: Readonly<Record<string, string>>;
    readonly setCookies: readonly string[];
    readonly body: string;
}

/** Sends one request; anything may be injected in its place (tests, other transports). */
export type Transport = (request: HttpRequest) => Promise<HttpResponse>;

const maxBodyBytes = 64 * 1024 * 1024;

/** Parses `host[:port]` (IPv6 in brackets); throws UserError when malformed. */
export function parseHostPort(value: string): { host: string; port: number | undefined } {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(value);
    if (!match) throw new UserError(`'${value}' is not host[:port]`);
    const port = match[2] === undefined ? undefined : Number(match[2]);
    if (port !== undefined && (port < 1 || port > 65535)) throw new UserError(`'${value}': port must be 1..65535`);
    return { host: match[1].replace(/^\[|\]$/g, ""), port };
}

/** Parses an absolute http(s) URL or throws a UserError naming the flag/context. */
export function parseHttpUrl(value: string, what = "URL"): URL {
    let url: URL;
    try {
        url = new URL(value);
    } catch {
        throw new UserError(`${what} '${value}' is not a valid URL (expected http://host/... or https://host/...)`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new UserError(`${what} '${value}' must use http or https, not ${url.protocol.replace(/:$/, "")}`);
    }
    return url;
}

/**
 * Where a request to `rawUrl` connects: the URL's host and port (the scheme's default port when it
 * names none), or `connectTo` (`host[:port]`) instead, while the Host header stays the URL's.
 */
export function connectionTarget(rawUrl: string, connectTo?: string): { url: URL; secure: boolean; hostname: string; port: number } {
    const url = parseHttpUrl(rawUrl);
    const secure = url.protocol === "https:";
    const target = connectTo ? parseHostPort(connectTo) : undefined;
    const hostname = target?.host ?? url.hostname.replace(/^\[|\]$/g, "");
    const port = target?.port ?? (url.port ? Number(url.port) : secure ? 443 : 80);
    return { url, secure, hostname, port };
}

export const nodeTransport: Transport = (request) => {
    const { url, secure, hostname, port } = connectionTarget(request.url, request.connectTo);
    const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body);
    const headers: Record<string, string> = { host: url.host, ...lowerKeys(request.headers ?? {}) };
    if (body !== undefined) headers["content-length"] = String(body.length);
    const options: https.RequestOptions = {
        method: request.method,
        hostname,
        port,
        path: `${url.pathname}${url.search}`,
        headers,
        signal: request.signal,
        timeout: request.timeoutMs ?? 30_000,
    };
    if (secure) {
        Object.assign(options, {
            servername: url.hostname,
            ca: request.ca,
            cert: request.cert,
            key: request.key,
            rejectUnauthorized: !request.insecure,
        });
    }
    return new Promise<HttpResponse>((resolve, reject) => {
        const fail = (err: Error & { code?: string }) => reject(describeNetworkError(err, request, hostname, port));
        const req = (secure ? https : http).request(options, (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on("data", (chunk: Buffer) => {
                size += chunk.length;
                if (size > maxBodyBytes) {
                    req.destroy(new Error(`response body exceeds ${maxBodyBytes} bytes`));
                    return;
                }
                chunks.push(chunk);
            });
            res.on("error", fail);
            res.on("end", () => {
                const flat: Record<string, string> = {};
                for (const [name, value] of Object.entries(res.headers)) {
                    if (name === "set-cookie" || value === undefined) continue;
                    flat[name] = Array.isArray(value) ? value.join(", ") : value;
                }
                resolve({
                    status: res.statusCode ?? 0,
                    headers: flat,
                    setCookies: res.headers["set-cookie"] ?? [],
                    body: Buffer.concat(chunks).toString("utf8"),
                });
            });
        });
        req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
        req.on("error", fail);
        req.end(body);
    });
};

function lowerKeys(headers: Readonly<Record<string, string>>): Record<string, string> {
    return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function describeNetworkError(err: Error & { code?: string }, request: HttpRequest, hostname: string, port: number): Error {
    if (err.name === "AbortError") return err;
    const where = request.connectTo ? `${hostname}:${port} (Host: ${new URL(request.url).host})` : `${hostname}:${port}`;
    const reasons: Record<string, string> = {
        ECONNREFUSED: "connection refused",
        ENOTFOUND: "host name not found (no DNS record? try --ingress-ip)",
        EAI_AGAIN: "DNS lookup failed",
        ETIMEDOUT: `no answer within ${request.timeoutMs ?? 30_000} ms`,
        ECONNRESET: "connection reset",
        EHOSTUNREACH: "host unreachable",
        DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed TLS certificate",
        UNABLE_TO_VERIFY_LEAF_SIGNATURE: "TLS certificate not trusted",
        SELF_SIGNED_CERT_IN_CHAIN: "TLS certificate not trusted",
        ERR_TLS_CERT_ALTNAME_INVALID: "TLS certificate does not match the host name",
    };
    const reason = (err.code && reasons[err.code]) ?? err.message;
    return new NetworkError(`${request.method} ${request.url} via ${where} failed: ${reason}`);
}

/** The first `max` characters of a body on one line, for error messages. */
export function excerpt(body: string, max = 300): string {
    const flat = body.replace(/\s+/g, " ").trim();
    return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

export function isRedirect(status: number): boolean {
    return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}
