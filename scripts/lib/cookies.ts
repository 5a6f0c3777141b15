/**
 * A small cookie jar (the subset of RFC 6265 the Dex / oidc-authservice / oauth2-proxy login needs):
 * host-only and Domain cookies, Path, Expires / Max-Age, Secure. No public-suffix list: the jar only
 * ever talks to one platform's hosts.
 */

export interface Cookie {
    readonly name: string;
    readonly value: string;
    /** Lower-case host (host-only) or domain (without a leading dot). */
    readonly domain: string;
    readonly hostOnly: boolean;
    readonly path: string;
    /** Epoch milliseconds; undefined means a session cookie. */
    readonly expiresAt: number | undefined;
    readonly secure: boolean;
}

/** The default-path of RFC 6265 5.1.4: the request path up to (not including) its last `/`. */
function defaultPath(pathname: string): string {
    if (!pathname.startsWith("/")) return "/";
    const last = pathname.lastIndexOf("/");
    return last <= 0 ? "/" : pathname.slice(0, last);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
    if (requestPath === cookiePath) return true;
    if (!requestPath.startsWith(cookiePath)) return false;
    return cookiePath.endsWith("/") || requestPath[cookiePath.length] === "/";
}

function domainMatches(host: string, cookie: Cookie): boolean {
    if (cookie.hostOnly) return host === cookie.domain;
    return host === cookie.domain || host.endsWith(`.${cookie.domain}`);
}

/**
 * Parses one `Set-Cookie` header value as sent by `url`; returns undefined when the cookie must be
 * ignored (no name=value pair, or a Domain that does not cover the URL's host).
 */
export function parseSetCookie(header: string, url: URL, now: number): Cookie | undefined {
    const [pair, ...attributes] = header.split(";");
    const eq = pair.indexOf("=");
    if (eq <= 0) return undefined;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
    if (!name) return undefined;
    const host = url.hostname.toLowerCase();
    let domain = host;
    let hostOnly = true;
    let path = defaultPath(url.pathname);
    let expiresAt: number | undefined;
    let maxAgeSeen = false;
    let secure = false;
    for (const attribute of attributes) {
        const i = attribute.indexOf("=");
        const key = (i < 0 ? attribute : attribute.slice(0, i)).trim().toLowerCase();
        const val = i < 0 ? "" : attribute.slice(i + 1).trim();
        if (key === "domain" && val) {
            const d = val.replace(/^\./, "").toLowerCase();
            if (host !== d && !host.endsWith(`.${d}`)) return undefined;
            domain = d;
            hostOnly = false;
        } else if (key === "path") {
            path = val.startsWith("/") ? val : defaultPath(url.pathname);
        } else if (key === "max-age" && /^-?\d+$/.test(val)) {
            maxAgeSeen = true;
            const seconds = Number(val);
            expiresAt = seconds <= 0 ? 0 : now + seconds * 1000;
        } else if (key === "expires" && !maxAgeSeen) {
            const t = Date.parse(val);
            if (!Number.isNaN(t)) expiresAt = t;
        } else if (key === "secure") {
            secure = true;
        }
    }
    return { name, value, domain, hostOnly, path, expiresAt, secure };
}

export class CookieJar {
    private cookies: Cookie[] = [];

    constructor(private readonly clock: () => number = Date.now) {}

    /** Stores every `Set-Cookie` value received from `url` (an expired cookie deletes its match). */
    store(url: string | URL, setCookies: readonly string[]): void {
        const u = typeof url === "string" ? new URL(url) : url;
        const now = this.clock();
        for (const header of setCookies) {
            const cookie = parseSetCookie(header, u, now);
            if (!cookie) continue;
            this.cookies = this.cookies.filter(
                (c) => !(c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path),
            );
            if (cookie.expiresAt === undefined || cookie.expiresAt > now) this.cookies.push(cookie);
        }
    }

    /** Cookies to send to `url`, longest path first (RFC 6265 5.4). */
    matching(url: string | URL): Cookie[] {
        const u = typeof url === "string" ? new URL(url) : url;
        const now = this.clock();
        const host = u.hostname.toLowerCase();
        return this.cookies
            .filter((c) => c.expiresAt === undefined || c.expiresAt > now)
            .filter((c) => domainMatches(host, c) && pathMatches(u.pathname || "/", c.path))
            .filter((c) => !c.secure || u.protocol === "https:")
            .sort((a, b) => b.path.length - a.path.length);
    }

    /** The `Cookie` header value for `url`, or undefined when no cookie applies. */
    header(url: string | URL): string | undefined {
        const cookies = this.matching(url);
        return cookies.length === 0 ? undefined : cookies.map((c) => `${c.name}=${c.value}`).join("; ");
    }

    /** Every live cookie (a copy). */
    all(): Cookie[] {
        const now = this.clock();
        return this.cookies.filter((c) => c.expiresAt === undefined || c.expiresAt > now);
    }

    /** Adds a cookie by hand (e.g. a session value the user already has). */
    set(url: string | URL, name: string, value: string): void {
        this.store(url, [`${name}=${value}; Path=/`]);
    }
}
