/**
 * An HTTP client over a `Transport` that keeps cookies and can route chosen hosts through an
 * ingress address with the original `Host` header (the seeds' `curl -H "Host: ..." http://<ip>/`).
 */
import { CookieJar } from "./cookies";
import { HttpResponse, nodeTransport, Transport } from "./http";

export interface ClientOptions {
    /** Default: node:http(s). */
    readonly transport?: Transport;
    /** Default: a new empty jar. */
    readonly jar?: CookieJar;
    /**
     * `host[:port]` of the ingress (IP or load balancer name). Requests whose URL host is in
     * `ingressHosts` connect there instead of resolving the host. Default: resolve every host.
     */
    readonly ingress?: string;
    /** Host names (lower case) routed through `ingress`. Default: none. */
    readonly ingressHosts?: Iterable<string>;
    /** Headers added to every request (e.g. Authorization). Default: none. */
    readonly headers?: Readonly<Record<string, string>>;
    /** Per-request timeout in ms. Default 30000. */
    readonly timeoutMs?: number;
    readonly signal?: AbortSignal;
}

export interface ClientRequest {
    readonly method: string;
    readonly url: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string;
}

export class HttpClient {
    readonly jar: CookieJar;
    private readonly transport: Transport;
    private readonly ingressHosts: Set<string>;

    constructor(private readonly options: ClientOptions = {}) {
        this.jar = options.jar ?? new CookieJar();
        this.transport = options.transport ?? nodeTransport;
        this.ingressHosts = new Set([...(options.ingressHosts ?? [])].map((h) => h.toLowerCase()));
    }

    /** One request, no redirect following; cookies sent from and stored into the jar. */
    async send(request: ClientRequest): Promise<HttpResponse> {
        const url = new URL(request.url);
        const headers: Record<string, string> = { ...(this.options.headers ?? {}), ...(request.headers ?? {}) };
        const cookie = this.jar.header(url);
        if (cookie) headers.cookie = headers.cookie ? `${headers.cookie}; ${cookie}` : cookie;
        const connectTo = this.options.ingress && this.ingressHosts.has(url.hostname.toLowerCase()) ? this.options.ingress : undefined;
        const response = await this.transport({
            method: request.method,
            url: url.toString(),
            headers,
            body: request.body,
            connectTo,
            timeoutMs: this.options.timeoutMs,
            signal: this.options.signal,
        });
        this.jar.store(url, response.setCookies);
        return response;
    }
}
