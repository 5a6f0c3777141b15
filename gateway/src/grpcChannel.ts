/**
 * A lean gRPC unary client over node:http2, for one job: sending ~1 MiB Predict requests to TF
 * Serving with as little CPU as possible. Measured against @grpc/grpc-js on this workload it
 * spends roughly half the CPU per call (grpc-js copies every message into a new framed buffer and
 * runs its filter/retry machinery; here the 5-byte gRPC prefix and the caller's buffer are written
 * to the HTTP/2 stream as they are).
 *
 * Behaviour kept from a gRPC channel: `dns:///host:port` targets are resolved to every address and
 * calls are spread round robin over the connected ones (a headless Service gives one per pod);
 * addresses are re-resolved periodically and after failures; broken connections are dropped and
 * re-established with exponential backoff; deadlines travel as `grpc-timeout`; cancellation
 * resets the stream. `ipv4:a:p,b:p` static targets work as in gRPC. No TLS (in-cluster, as in the
 * seeds), no compression, no retries.
 */
import * as dns from "node:dns";
import * as http2 from "node:http2";

export class GrpcError extends Error {
    constructor(
        readonly code: number,
        readonly details: string,
    ) {
        super(`gRPC status ${code}: ${details}`);
        this.name = "GrpcError";
    }
}

/** gRPC status codes used here (grpc/status.h). */
export const GrpcStatus = { OK: 0, CANCELLED: 1, UNKNOWN: 2, DEADLINE_EXCEEDED: 4, RESOURCE_EXHAUSTED: 8, INTERNAL: 13, UNAVAILABLE: 14 } as const;

export interface ParsedTarget {
    readonly kind: "dns" | "static";
    /** dns: host to resolve; static: unused. */
    readonly host: string;
    readonly port: number;
    /** static: the addresses. */
    readonly addresses: readonly { address: string; port: number }[];
}

/** Parses `dns:///host:port`, `dns:host:port`, `ipv4:a:p,b:p`, `ipv6:[a]:p` or `host:port`. */
export function parseGrpcTarget(target: string): ParsedTarget {
    const hostPort = (s: string, defPort = 443): { host: string; port: number } => {
        const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
        if (!m) throw new Error(`bad gRPC address '${s}'`);
        const port = m[2] === undefined ? defPort : Number(m[2]);
        if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port in gRPC address '${s}'`);
        return { host: m[1], port };
    };
    if (target.startsWith("ipv4:") || target.startsWith("ipv6:")) {
        const addresses = target
            .slice(5)
            .split(",")
            .map((a) => {
                const { host, port } = hostPort(a.trim());
                return { address: host, port };
            });
        return { kind: "static", host: "", port: 0, addresses };
    }
    const rest = target.startsWith("dns:///") ? target.slice(7) : target.startsWith("dns:") ? target.slice(4) : target;
    if (rest.includes("/")) throw new Error(`unsupported gRPC target '${target}' (DNS authorities are not supported)`);
    const { host, port } = hostPort(rest);
    return { kind: "dns", host, port, addresses: [] };
}

export interface ChannelOptions {
    /** Re-resolve DNS at least this often, ms. */
    readonly resolveIntervalMs?: number;
    /** …and at most this often after failures, ms. */
    readonly minResolveIntervalMs?: number;
    readonly initialBackoffMs?: number;
    readonly maxBackoffMs?: number;
    /** Largest response message, bytes. */
    readonly maxResponseBytes?: number;
    /** Resolver (tests). */
    readonly lookup?: (host: string) => Promise<{ address: string; family: number }[]>;
}

interface Subchannel {
    readonly key: string;
    readonly address: string;
    readonly port: number;
    session?: http2.ClientHttp2Session;
    ready: boolean;
    connecting?: Promise<boolean>;
    failures: number;
    retryAt: number;
}

const window = 16 * 1024 * 1024;

export class GrpcChannel {
    private readonly target: ParsedTarget;
    private subchannels: Subchannel[] = [];
    private next = 0;
    private lastResolve = 0;
    private resolving?: Promise<void>;
    private closed = false;
    private readonly opts: Required<Omit<ChannelOptions, "lookup">> & Pick<ChannelOptions, "lookup">;

    constructor(target: string, options: ChannelOptions = {}) {
        this.target = parseGrpcTarget(target);
        this.opts = {
            resolveIntervalMs: options.resolveIntervalMs ?? 30_000,
            minResolveIntervalMs: options.minResolveIntervalMs ?? 5_000,
            initialBackoffMs: options.initialBackoffMs ?? 200,
            maxBackoffMs: options.maxBackoffMs ?? 5_000,
            maxResponseBytes: options.maxResponseBytes ?? 64 * 1024 * 1024,
            lookup: options.lookup,
        };
        if (this.target.kind === "static") this.setAddresses(this.target.addresses);
    }

    /** Addresses currently in the rotation (tests, logs). */
    get addresses(): string[] {
        return this.subchannels.map((s) => s.key);
    }

    private setAddresses(list: readonly { address: string; port: number }[]): void {
        const keyOf = (a: { address: string; port: number }) => (a.address.includes(":") ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);
        const wanted = new Map(list.map((a) => [keyOf(a), a]));
        const kept: Subchannel[] = [];
        for (const s of this.subchannels) {
            if (wanted.has(s.key)) {
                kept.push(s);
                wanted.delete(s.key);
            } else s.session?.close(); // gone from DNS: finish in-flight calls, then close
        }
        for (const [key, a] of wanted) kept.push({ key, address: a.address, port: a.port, ready: false, failures: 0, retryAt: 0 });
        this.subchannels = kept;
    }

    private async resolve(force: boolean): Promise<void> {
        if (this.target.kind !== "dns") return;
        const now = Date.now();
        const age = now - this.lastResolve;
        if (!force && age < this.opts.resolveIntervalMs && this.subchannels.length > 0) return;
        if (force && age < this.opts.minResolveIntervalMs && this.subchannels.length > 0) return;
        if (this.resolving) return this.resolving;
        this.resolving = (async () => {
            try {
                const lookup = this.opts.lookup ?? ((h: string) => dns.promises.lookup(h, { all: true }));
                const answers = await lookup(this.target.host);
                this.lastResolve = Date.now();
                if (answers.length > 0) this.setAddresses(answers.map((a) => ({ address: a.address, port: this.target.port })));
            } catch {
                this.lastResolve = Date.now(); // keep the old addresses; try again later
            } finally {
                this.resolving = undefined;
            }
        })();
        return this.resolving;
    }

    private connect(sub: Subchannel): Promise<boolean> {
        if (sub.connecting) return sub.connecting;
        const host = sub.address.includes(":") ? `[${sub.address}]` : sub.address;
        sub.connecting = new Promise<boolean>((resolve) => {
            // maxSessionMemory: Node's default (10 MB) refuses new streams with ENHANCE_YOUR_CALM once
            // that much is queued, i.e. about ten 1 MiB tensors waiting for a slow predictor's window.
            // The gateway bounds its memory itself (pixel budget, request limits), so the limit is off,
            // as grpc-js turns it off (transport.js, `grpc-node.max_session_memory`).
            const session = http2.connect(`http://${host}:${sub.port}`, { settings: { initialWindowSize: window, enablePush: false }, peerMaxConcurrentStreams: 1000, maxSessionMemory: Number.MAX_SAFE_INTEGER });
            sub.session = session;
            let settled = false;
            const done = (ok: boolean) => {
                if (settled) return;
                settled = true;
                sub.connecting = undefined;
                resolve(ok);
            };
            session.once("connect", () => {
                try {
                    session.setLocalWindowSize(window);
                } catch {
                    // older peers: keep the default connection window
                }
                sub.ready = true;
                sub.failures = 0;
                done(true);
            });
            const drop = () => {
                if (sub.session === session) {
                    sub.session = undefined;
                    sub.ready = false;
                }
                if (!settled) {
                    sub.failures += 1;
                    sub.retryAt = Date.now() + Math.min(this.opts.maxBackoffMs, this.opts.initialBackoffMs * 2 ** (sub.failures - 1));
                    void this.resolve(true);
                }
                done(false);
            };
            session.on("error", drop);
            session.on("close", drop);
            session.on("goaway", () => {
                // The server is going away (TF Serving pod stopping): stop picking this connection.
                if (sub.session === session) {
                    sub.session = undefined;
                    sub.ready = false;
                }
                void this.resolve(true);
            });
            // Keepalive: a peer that vanished without closing (node gone) is noticed within ~40 s.
            const ping = setInterval(() => {
                if (session.closed || session.destroyed) return clearInterval(ping);
                const timeout = setTimeout(() => session.destroy(new Error("keepalive timeout")), 10_000);
                timeout.unref();
                try {
                    session.ping((err) => {
                        clearTimeout(timeout);
                        if (err) session.destroy(err);
                    });
                } catch {
                    clearTimeout(timeout);
                }
            }, 30_000);
            ping.unref();
            session.once("close", () => clearInterval(ping));
            session.unref();
        });
        return sub.connecting;
    }

    /** A connected session, round robin; connects (bounded by `deadline`) when none is ready. */
    private async pick(deadline: number): Promise<http2.ClientHttp2Session> {
        if (this.closed) throw new GrpcError(GrpcStatus.UNAVAILABLE, "channel closed");
        void this.resolve(false);
        if (this.subchannels.length === 0) await this.resolve(true);
        for (;;) {
            const subs = this.subchannels;
            const n = subs.length;
            if (n === 0) throw new GrpcError(GrpcStatus.UNAVAILABLE, `no addresses for ${this.target.host || "target"}`);
            for (let i = 0; i < n; i++) {
                const s = subs[(this.next + i) % n];
                if (s.ready && s.session && !s.session.closed && !s.session.destroyed) {
                    this.next = (this.next + i + 1) % n;
                    return s.session;
                }
            }
            // None ready: start connecting every address out of backoff, take the first that connects.
            const now = Date.now();
            const attempts = subs.filter((s) => !s.ready && s.retryAt <= now).map((s) => this.connect(s));
            if (attempts.length === 0) throw new GrpcError(GrpcStatus.UNAVAILABLE, "all predictor connections are failing (backing off)");
            const remaining = deadline - Date.now();
            if (remaining <= 0) throw new GrpcError(GrpcStatus.DEADLINE_EXCEEDED, "deadline exceeded while connecting");
            let timer: NodeJS.Timeout | undefined;
            const anyOk = await Promise.race([
                Promise.all(attempts).then((r) => r.some(Boolean)),
                new Promise<boolean>((r) => {
                    timer = setTimeout(() => r(false), remaining);
                }),
                ...attempts.map((a) => a.then((ok) => (ok ? true : new Promise<boolean>(() => undefined)))),
            ]);
            clearTimeout(timer);
            if (!anyOk) {
                if (Date.now() >= deadline) throw new GrpcError(GrpcStatus.DEADLINE_EXCEEDED, "deadline exceeded while connecting");
                throw new GrpcError(GrpcStatus.UNAVAILABLE, "could not connect to the predictor");
            }
        }
    }

    /**
     * Unary call: sends `message` (already serialised) and resolves with the response message.
     * The caller's buffer is not copied, so it must not change until the promise settles.
     */
    async unary(path: string, message: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer> {
        const deadline = Date.now() + timeoutMs;
        let session = await this.pick(deadline);
        // A re-resolution may have closed the picked session meanwhile (GOAWAY sent): pick again.
        for (let i = 0; i < 3 && (session.closed || session.destroyed); i++) session = await this.pick(deadline);
        signal?.throwIfAborted();
        return new Promise<Buffer>((resolve, reject) => {
            const remaining = Math.max(1, deadline - Date.now());
            let stream: http2.ClientHttp2Stream;
            try {
                stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", "grpc-timeout": `${remaining}m` }, { endStream: false });
            } catch (err) {
                return reject(new GrpcError(GrpcStatus.UNAVAILABLE, `could not start the call (${(err as Error).message})`));
            }
            let settled = false;
            const finish = (err: GrpcError | undefined, value?: Buffer) => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                signal?.removeEventListener("abort", onAbort);
                if (err) {
                    if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
                    reject(err);
                } else resolve(value!);
            };
            const timer = setTimeout(() => finish(new GrpcError(GrpcStatus.DEADLINE_EXCEEDED, "deadline exceeded")), remaining);
            const onAbort = () => finish(new GrpcError(GrpcStatus.CANCELLED, "cancelled"));
            signal?.addEventListener("abort", onAbort, { once: true });

            let status: number | undefined;
            let statusMessage = "";
            let httpStatus = 0;
            const chunks: Buffer[] = [];
            let received = 0;
            const readStatus = (h: http2.IncomingHttpHeaders) => {
                if (h["grpc-status"] !== undefined) {
                    status = Number(h["grpc-status"]);
                    statusMessage = decodeURIComponent(String(h["grpc-message"] ?? ""));
                }
            };
            stream.on("response", (h) => {
                httpStatus = Number(h[":status"]);
                readStatus(h); // trailers-only responses carry the status in the headers
            });
            stream.on("trailers", readStatus);
            stream.on("data", (c: Buffer) => {
                received += c.length;
                if (received > this.opts.maxResponseBytes + 5) finish(new GrpcError(GrpcStatus.RESOURCE_EXHAUSTED, "response too large"));
                else chunks.push(c);
            });
            stream.on("error", (err) => finish(new GrpcError(GrpcStatus.UNAVAILABLE, `stream error (${(err as NodeJS.ErrnoException).code ?? ""} ${err.message})`)));
            stream.on("close", () => {
                if (settled) return;
                if (httpStatus !== 200) return finish(new GrpcError(GrpcStatus.UNAVAILABLE, `HTTP status ${httpStatus || "none"} from the predictor`));
                if (status === undefined) return finish(new GrpcError(GrpcStatus.INTERNAL, "the predictor sent no grpc-status"));
                if (status !== GrpcStatus.OK) return finish(new GrpcError(status, statusMessage));
                const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
                if (body.length < 5) return finish(new GrpcError(GrpcStatus.INTERNAL, "response has no message"));
                if (body[0] !== 0) return finish(new GrpcError(GrpcStatus.INTERNAL, "compressed responses are not supported"));
                const len = body.readUInt32BE(1);
                if (body.length < 5 + len) return finish(new GrpcError(GrpcStatus.INTERNAL, "truncated response message"));
                finish(undefined, body.subarray(5, 5 + len));
            });

            const prefix = Buffer.allocUnsafe(5);
            prefix[0] = 0;
            prefix.writeUInt32BE(message.length, 1);
            stream.write(prefix);
            stream.end(message);
        });
    }

    /** Whether a connection can be made within `timeoutMs`. */
    async probe(timeoutMs: number): Promise<boolean> {
        try {
            await this.pick(Date.now() + timeoutMs);
            return true;
        } catch {
            return false;
        }
    }

    close(): void {
        this.closed = true;
        for (const s of this.subchannels) s.session?.close();
        this.subchannels = [];
    }
}
