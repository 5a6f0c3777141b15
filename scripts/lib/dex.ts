/**
 * The Kubeflow Dex login that the seeds do by hand with curl, automated:
 *
 *   1. GET the model URL: the ingress (oidc-authservice, or oauth2-proxy on Kubeflow >= 1.8)
 *      redirects an anonymous request to `/dex/auth?client_id=...` (oauth2-proxy via `/oauth2/start`).
 *   2. Dex either redirects to its only connector's login form or shows a connector list; we take
 *      the `local` (static password) connector.
 *   3. POST `login` and `password` to the form's action (`/dex/auth/local?req=...` on older Dex,
 *      `/dex/auth/local/login?back=&state=...` on newer).
 *   4. Dex redirects to `/dex/approval?req=...` (or shows an approval form when
 *      `skipApprovalScreen` is off: we approve), then back to the auth proxy's callback
 *      (`/login/oidc` or `/oauth2/callback`), which sets the session cookie
 *      (`authservice_session`, or `oauth2_proxy_kubeflow`) and redirects to the model URL.
 *
 * Redirects are followed by hand so that every `Set-Cookie` on the way lands in the jar and the
 * ingress routing (IP + Host header) applies to each hop.
 */
import { HttpClient } from "./client";
import { Cookie } from "./cookies";
import { excerpt, isRedirect, UserError } from "./http";

export interface DexCredentials {
    readonly user: string;
    readonly password: string;
}

export interface DexLoginOptions {
    /** Dex connector id to use when Dex shows a connector list. Default `local`. */
    readonly connector?: string;
    /** Maximum requests in the whole flow. Default 20. */
    readonly maxHops?: number;
}

export interface DexLoginResult {
    /** False when the URL answered without asking for a login (auth is off for model paths). */
    readonly required: boolean;
    /** The session cookies the auth proxy set (authservice_session / oauth2_proxy_*). */
    readonly sessionCookies: readonly Cookie[];
    /** Every URL visited, in order (for `--verbose` and error messages). */
    readonly trail: readonly string[];
}

/**
 * Names of the session cookies Kubeflow's auth proxies set: `authservice_session`, or oauth2-proxy's
 * cookie (`oauth2_proxy_kubeflow` in Kubeflow, `_oauth2_proxy` by default; split into `_0`, `_1`
 * when large). oauth2-proxy's CSRF cookie (`<name>_csrf`, or `<name>_<hash>_csrf`) is not a session.
 */
export function isSessionCookie(name: string): boolean {
    return name === "authservice_session" || (/^_?oauth2_proxy/.test(name) && !/_csrf$/.test(name));
}

/** Paths that belong to the login machinery rather than to the model. */
export function isAuthPath(pathname: string): boolean {
    return /^\/(dex|oauth2|login|authservice)(\/|$)/.test(pathname);
}

const entities: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", "#39": "'", "#34": '"', "#x2F": "/", "#x2f": "/", "#47": "/" };
export function decodeEntities(text: string): string {
    return text.replace(/&(#x?[0-9a-fA-F]+|[a-z]+);/g, (whole, name: string) => {
        if (entities[name] !== undefined) return entities[name];
        if (/^#x[0-9a-f]+$/i.test(name)) return String.fromCodePoint(parseInt(name.slice(2), 16));
        if (/^#\d+$/.test(name)) return String.fromCodePoint(Number(name.slice(1)));
        return whole;
    });
}

function attribute(tag: string, name: string): string | undefined {
    const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, "i").exec(tag);
    return m ? decodeEntities(m[1] ?? m[2] ?? m[3]) : undefined;
}

export interface HtmlForm {
    readonly action: string | undefined;
    readonly method: string;
    /** name → value of every input that has a name (hidden fields, buttons with values). */
    readonly fields: Readonly<Record<string, string>>;
    readonly inputNames: readonly string[];
}

/** Every `<form>` in a page with its action, method and named inputs/buttons. */
export function parseForms(html: string): HtmlForm[] {
    const forms: HtmlForm[] = [];
    const formRe = /<form\b([^>]*)>([\s\S]*?)<\/form>/gi;
    for (let m = formRe.exec(html); m; m = formRe.exec(html)) {
        const open = ` ${m[1]}`;
        const fields: Record<string, string> = {};
        const inputNames: string[] = [];
        const inputRe = /<(input|button)\b([^>]*)>/gi;
        for (let i = inputRe.exec(m[2]); i; i = inputRe.exec(m[2])) {
            const name = attribute(` ${i[2]}`, "name");
            if (!name) continue;
            inputNames.push(name);
            const value = attribute(` ${i[2]}`, "value");
            if (value !== undefined && fields[name] === undefined) fields[name] = value;
        }
        forms.push({ action: attribute(open, "action"), method: (attribute(open, "method") ?? "get").toLowerCase(), fields, inputNames });
    }
    return forms;
}

/** The link to connector `connector` on Dex's connector list page, if any. */
export function connectorLink(html: string, connector: string): string | undefined {
    const hrefRe = /<a\b[^>]*\shref\s*=\s*(?:"([^"]*)"|'([^']*)')/gi;
    for (let m = hrefRe.exec(html); m; m = hrefRe.exec(html)) {
        const href = decodeEntities(m[1] ?? m[2]);
        if (new RegExp(`/auth/${connector}(/|\\?|$)`).test(href)) return href;
    }
    return undefined;
}

/** Dex's error text on a re-rendered login page ("Invalid username and password."), if any. */
function loginErrorText(html: string): string | undefined {
    const m = /<div[^>]*(?:class|id)\s*=\s*"[^"]*error[^"]*"[^>]*>([\s\S]*?)<\/div>/i.exec(html);
    const text = m ? decodeEntities(m[1].replace(/<[^>]+>/g, " ")).replace(/\s+/g, " ").trim() : "";
    return text || undefined;
}

/**
 * Runs the login against `startUrl` (the model's base URL) with `client` (whose jar keeps the
 * cookies for the requests that follow). Throws UserError when the flow does not end with a
 * session cookie.
 */
export async function dexLogin(client: HttpClient, startUrl: string, credentials: DexCredentials, options: DexLoginOptions = {}): Promise<DexLoginResult> {
    const connector = options.connector ?? "local";
    const maxHops = options.maxHops ?? 20;
    const trail: string[] = [];
    let method = "GET";
    let url = new URL(startUrl);
    let body: string | undefined;
    let posted = false;
    let approved = false;
    const sessionCookies = () => client.jar.matching(new URL("/", startUrl)).filter((c) => isSessionCookie(c.name));
    const where = () => `(visited: ${trail.join(" → ")})`;

    for (let hop = 0; hop < maxHops; hop++) {
        trail.push(`${method} ${url.pathname}`);
        const headers: Record<string, string> = { accept: "text/html,application/json" };
        if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
        const res = await client.send({ method, url: url.toString(), headers, body });
        if (isRedirect(res.status)) {
            const location = res.headers.location;
            if (!location) throw new UserError(`${method} ${url} answered ${res.status} without a Location header ${where()}`);
            const next = new URL(location, url);
            // Back from the auth proxy with a session: done, without one more request to the model.
            if (sessionCookies().length > 0 && !isAuthPath(next.pathname)) {
                return { required: true, sessionCookies: sessionCookies(), trail };
            }
            // 303 (and 301/302 after a POST, as browsers do) turn into GET; 307/308 would repeat the
            // POST, which Dex never asks for.
            method = "GET";
            body = undefined;
            url = next;
            continue;
        }
        if (hop === 0) {
            if (res.status === 401 || res.status === 403) {
                throw new UserError(
                    `GET ${startUrl} answered HTTP ${res.status} instead of redirecting to Dex, so there is no login to run: ` +
                    `the ingress wants a token (--token) or blocks the path (${excerpt(res.body, 200)})`,
                );
            }
            return { required: false, sessionCookies: sessionCookies(), trail };
        }
        if (res.status >= 400) {
            throw new UserError(`Dex login: ${method} ${url.pathname} answered HTTP ${res.status}: ${excerpt(res.body)} ${where()}`);
        }
        const path = url.pathname;
        const forms = parseForms(res.body);
        const loginForm = forms.find((f) => f.inputNames.includes("login") && f.inputNames.includes("password"));
        if (loginForm) {
            if (posted) {
                const why = loginErrorText(res.body) ?? "the login form came back";
                throw new UserError(`Dex rejected the login for user '${credentials.user}': ${why}`);
            }
            url = new URL(loginForm.action ?? url.toString(), url);
            method = "POST";
            body = new URLSearchParams({ ...loginForm.fields, login: credentials.user, password: credentials.password }).toString();
            posted = true;
            continue;
        }
        const approval = forms.find((f) => f.fields.approval === "approve");
        if (approval && !approved) {
            url = new URL(approval.action ?? url.toString(), url);
            method = "POST";
            body = new URLSearchParams({ ...approval.fields, approval: "approve" }).toString();
            approved = true;
            continue;
        }
        if (/\/dex\/auth\/?$/.test(path)) {
            const link = connectorLink(res.body, connector);
            // Some Dex versions list connectors by a path that just appends the id to /dex/auth.
            url = link ? new URL(link, url) : new URL(`${path.replace(/\/$/, "")}/${connector}${url.search}`, url);
            method = "GET";
            body = undefined;
            continue;
        }
        if (sessionCookies().length > 0) return { required: true, sessionCookies: sessionCookies(), trail };
        throw new UserError(
            `Dex login: unexpected page at ${url.pathname} (HTTP ${res.status}) with no login form and no session cookie: ${excerpt(res.body, 200)} ${where()}`,
        );
    }
    throw new UserError(`Dex login: more than ${maxHops} steps without a session cookie ${where()}`);
}
