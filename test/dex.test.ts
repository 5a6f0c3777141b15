import * as fc from "fast-check";
import { mkdtempSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpClient } from "../scripts/lib/client";
import { CookieJar, parseSetCookie } from "../scripts/lib/cookies";
import { connectorLink, decodeEntities, dexLogin, isSessionCookie, parseForms } from "../scripts/lib/dex";
import { parsePredictArgs, runPredict } from "../scripts/lib/predict";

describe("CookieJar", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    const jar = () => new CookieJar(() => now);

    it("sends a host-only cookie back to its host only", () => {
        const j = jar();
        j.store("http://a.example.com/login/oidc?code=1", ["authservice_session=S1; Path=/; HttpOnly"]);
        expect(j.header("http://a.example.com/v2/models/x/infer")).toBe("authservice_session=S1");
        expect(j.header("http://b.example.com/")).toBeUndefined();
        expect(j.header("http://sub.a.example.com/")).toBeUndefined();
    });

    it("shares a Domain cookie with subdomains and rejects a foreign Domain", () => {
        const j = jar();
        j.store("http://dex.example.com/", ["d=1; Domain=.example.com; Path=/", "evil=1; Domain=other.com"]);
        expect(j.header("http://m.ns.example.com/")).toBe("d=1");
        expect(j.all().map((c) => c.name)).toEqual(["d"]);
    });

    it("defaults the path to the request's directory and matches paths on segment boundaries", () => {
        const j = jar();
        j.store("http://h.example.com/dex/auth/local", ["csrf=1"]);
        expect(j.header("http://h.example.com/dex/auth/local/login")).toBe("csrf=1");
        expect(j.header("http://h.example.com/dex/authx")).toBeUndefined();
        expect(j.header("http://h.example.com/")).toBeUndefined();
    });

    it("expires by Max-Age (over Expires) and deletes with Max-Age=0", () => {
        let t = now;
        const j = new CookieJar(() => t);
        j.store("http://h.example.com/", ["a=1; Max-Age=60; Expires=Wed, 01 Jan 2100 00:00:00 GMT", "b=2; Path=/"]);
        expect(j.header("http://h.example.com/")).toBe("a=1; b=2");
        t += 61_000;
        expect(j.header("http://h.example.com/")).toBe("b=2");
        j.store("http://h.example.com/", ["b=gone; Max-Age=0; Path=/"]);
        expect(j.header("http://h.example.com/")).toBeUndefined();
    });

    it("keeps Secure cookies off plain http and orders longer paths first", () => {
        const j = jar();
        j.store("https://h.example.com/", ["s=1; Secure; Path=/", "p=1; Path=/v2", "r=1; Path=/"]);
        expect(j.header("http://h.example.com/v2/x")).toBe("p=1; r=1");
        expect(j.header("https://h.example.com/v2/x")).toBe("p=1; s=1; r=1");
    });

    it("replaces a cookie with the same name, domain and path", () => {
        const j = jar();
        j.store("http://h.example.com/", ["a=1; Path=/", "a=2; Path=/"]);
        expect(j.header("http://h.example.com/")).toBe("a=2");
    });

    it("property: a cookie with Path=P is sent exactly to P and paths under P/", () => {
        const segment = fc.stringMatching(/^[a-z]{1,5}$/);
        fc.assert(
            fc.property(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.array(segment, { maxLength: 3 }), (cookieSegs, requestSegs) => {
                const cookiePath = `/${cookieSegs.join("/")}`;
                const requestPath = `/${requestSegs.join("/")}`;
                const j = jar();
                j.store("http://h.example.com/", [`c=1; Path=${cookiePath}`]);
                const sent = j.header(`http://h.example.com${requestPath}`) !== undefined;
                const expected = requestPath === cookiePath || requestPath.startsWith(`${cookiePath}/`);
                expect(sent).toBe(expected);
            }),
        );
    });

    it("ignores malformed Set-Cookie values", () => {
        expect(parseSetCookie("novalue", new URL("http://h/"), now)).toBeUndefined();
        expect(parseSetCookie("=x", new URL("http://h/"), now)).toBeUndefined();
    });
});

describe("isSessionCookie", () => {
    it.each([
        ["authservice_session", true],
        ["oauth2_proxy_kubeflow", true],
        ["oauth2_proxy_kubeflow_1", true],
        ["_oauth2_proxy", true],
        ["_oauth2_proxy_csrf", false],
        ["oauth2_proxy_kubeflow_5f3a_csrf", false],
        ["oidc_state_csrf", false],
    ])("%s → %s", (name, expected) => {
        expect(isSessionCookie(name)).toBe(expected);
    });
});

describe("HTML helpers", () => {
    it("decodes the entities Go templates emit", () => {
        expect(decodeEntities("/dex/auth/local/login?back=&amp;state=a&#43;b&#x2F;")).toBe("/dex/auth/local/login?back=&state=a+b/");
    });

    it("finds the login form and the approval form's hidden fields", () => {
        const html = `<form method="post" action="/dex/auth/local?req=abc&amp;x=1"><input type="text" name="login"/><input type="password" name="password"></form>
            <form method="post"><input type="hidden" name="req" value="r1"/><input type="hidden" name="approval" value="approve"><button type="submit">Grant</button></form>`;
        const forms = parseForms(html);
        expect(forms[0]).toMatchObject({ action: "/dex/auth/local?req=abc&x=1", method: "post", inputNames: ["login", "password"] });
        expect(forms[1].fields).toEqual({ req: "r1", approval: "approve" });
    });

    it("picks the local connector's link from Dex's connector list", () => {
        const html = `<a href="/dex/auth/ldap?req=1">LDAP</a> <a href="/dex/auth/local?client_id=kf&amp;req=2">Email</a>`;
        expect(connectorLink(html, "local")).toBe("/dex/auth/local?client_id=kf&req=2");
        expect(connectorLink(html, "github")).toBeUndefined();
    });
});

type Flow = "authservice" | "oauth2-proxy";

/**
 * A fake Kubeflow ingress reached by IP with Host headers: oidc-authservice (Kubeflow <= 1.7) or
 * oauth2-proxy (>= 1.8) in front of Dex with the `local` connector, and one v2 model behind it.
 */
function fakeKubeflow(flow: Flow, options: { connectorList?: boolean; approvalForm?: boolean } = {}) {
    const modelHost = "sklearn-irisv2.kubeflow-user-example-com.example.com";
    const hostsSeen = new Set<string>();
    const state = { posts: 0 };
    const sessionCookie = flow === "authservice" ? "authservice_session" : "oauth2_proxy_kubeflow";
    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
            hostsSeen.add(String(req.headers.host));
            const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
            const cookies = Object.fromEntries((req.headers.cookie ?? "").split(/;\s*/).filter(Boolean).map((c) => c.split("=") as [string, string]));
            const redirect = (location: string, setCookie?: string[]) => {
                res.writeHead(req.method === "POST" ? 303 : 302, { location, ...(setCookie ? { "set-cookie": setCookie } : {}) }).end();
            };
            const page = (html: string) => res.writeHead(200, { "content-type": "text/html" }).end(html);
            const loginForm = (action: string, error = "") =>
                page(`<html><body>${error ? `<div id="login-error" class="dex-error-box">${error}</div>` : ""}<form method="post" action="${action}"><input id="login" name="login" type="text"/><input name="password" type="password"/><button type="submit">Login</button></form></body></html>`);
            const p = url.pathname;
            if (p === "/dex/auth") {
                if (options.connectorList) return page(`<a href="/dex/auth/ldap?req=R1">LDAP</a><a href="/dex/auth/local?req=R1">Email</a>`);
                return redirect(flow === "authservice" ? "/dex/auth/local?req=R1" : "/dex/auth/local/login?back=&state=R1");
            }
            if ((p === "/dex/auth/local" || p === "/dex/auth/local/login") && req.method === "GET") {
                return loginForm(flow === "authservice" ? "/dex/auth/local?req=R1&amp;connector=local" : "/dex/auth/local/login?back=&amp;state=R1");
            }
            if ((p === "/dex/auth/local" || p === "/dex/auth/local/login") && req.method === "POST") {
                state.posts += 1;
                const form = new URLSearchParams(body);
                if (form.get("login") === "user@example.com" && form.get("password") === "12341234") {
                    return redirect(`/dex/approval?req=R1${flow === "oauth2-proxy" ? "&hmac=H1" : ""}`);
                }
                return loginForm(p, "Invalid Email Address and password.");
            }
            if (p === "/dex/approval") {
                if (options.approvalForm && req.method === "GET") {
                    return page(`<form method="post"><input type="hidden" name="req" value="R1"/><input type="hidden" name="approval" value="approve"><button type="submit">Grant Access</button></form>`);
                }
                return redirect(flow === "authservice" ? "/login/oidc?code=C1&state=ST" : "/oauth2/callback?code=C1&state=ST");
            }
            if (p === "/oauth2/start") return redirect("/dex/auth?client_id=kubeflow-oidc-authservice&state=ST", ["_oauth2_proxy_csrf=X1; Path=/; HttpOnly"]);
            if (p === "/oauth2/callback" || p === "/login/oidc") {
                // The proxy checks its CSRF/state cookie from the first hop: the jar must carry it.
                if (flow === "oauth2-proxy" && cookies._oauth2_proxy_csrf !== "X1") return res.writeHead(403).end("csrf cookie missing");
                if (flow === "authservice" && cookies.oidc_state_csrf !== "ST") return res.writeHead(403).end("state cookie missing");
                return redirect("/", [`${sessionCookie}=SESSION1; Path=/; Max-Age=86400; HttpOnly`]);
            }
            // Everything else is behind the auth proxy.
            if (cookies[sessionCookie] !== "SESSION1") {
                return flow === "authservice"
                    ? redirect("/dex/auth?client_id=kubeflow-oidc-authservice&redirect_uri=%2Flogin%2Foidc&state=ST", ["oidc_state_csrf=ST; Path=/"])
                    : redirect(`/oauth2/start?rd=${encodeURIComponent(p)}`);
            }
            if (req.method === "POST" && p === "/v2/models/sklearn-irisv2/infer") {
                return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ model_name: "sklearn-irisv2", outputs: [{ name: "output-0", shape: [2], datatype: "INT64", data: [1, 1] }] }));
            }
            return res.writeHead(404).end("not found");
        });
    });
    return { server, modelHost, hostsSeen, state, sessionCookie };
}

async function listen(server: http.Server): Promise<number> {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return (server.address() as AddressInfo).port;
}

describe.each<[Flow, { connectorList?: boolean; approvalForm?: boolean }]>([
    ["authservice", {}],
    ["authservice", { connectorList: true, approvalForm: true }],
    ["oauth2-proxy", {}],
])("Dex login through a fake Kubeflow ingress (%s, %j)", (flow, variant) => {
    const fake = fakeKubeflow(flow, variant);
    let port: number;
    let inputFile: string;
    beforeAll(async () => {
        port = await listen(fake.server);
        const dir = mkdtempSync(path.join(os.tmpdir(), "dex-"));
        inputFile = path.join(dir, "iris-input.json");
        writeFileSync(inputFile, JSON.stringify({ inputs: [{ name: "input-0", shape: [2, 4], datatype: "FP32", data: [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]] }] }));
    });
    afterAll(() => new Promise<void>((r) => fake.server.close(() => r())));

    const client = () => new HttpClient({ ingress: `127.0.0.1:${port}`, ingressHosts: [fake.modelHost] });

    it("logs in, keeps the session cookie, and only ever sends the model's Host", async () => {
        const c = client();
        const result = await dexLogin(c, `http://${fake.modelHost}/`, { user: "user@example.com", password: "12341234" });
        expect(result.required).toBe(true);
        expect(result.sessionCookies.map((k) => `${k.name}=${k.value}`)).toEqual([`${fake.sessionCookie}=SESSION1`]);
        expect(result.trail.some((s) => s.startsWith("POST /dex/auth/local"))).toBe(true);
        expect([...fake.hostsSeen]).toEqual([fake.modelHost]);
    });

    it("rejects a wrong password with Dex's message, after one POST", async () => {
        const before = fake.state.posts;
        await expect(dexLogin(client(), `http://${fake.modelHost}/`, { user: "user@example.com", password: "wrong" }))
            .rejects.toThrow(/Dex rejected the login for user 'user@example.com': Invalid Email Address and password/);
        expect(fake.state.posts - before).toBe(1);
    });

    it("runPredict logs in first and then gets the model's answer", async () => {
        const out: string[] = [];
        await runPredict(
            parsePredictArgs(["sklearn-irisv2", "--url", `http://${fake.modelHost}`, "--protocol", "v2", "--ingress-ip", `127.0.0.1:${port}`, "--input", inputFile],
                { DEX_USER: "user@example.com", DEX_PASSWORD: "12341234" }),
            { stdout: (l) => out.push(l), stderr: () => undefined },
        );
        expect(out.join("\n")).toMatch(/output output-0: shape \[2\] INT64\n\s+data \[1, 1\]/);
    });

    it("without credentials, says a Dex login is needed", async () => {
        await expect(runPredict(
            parsePredictArgs(["sklearn-irisv2", "--url", `http://${fake.modelHost}`, "--protocol", "v2", "--ingress-ip", `127.0.0.1:${port}`, "--input", inputFile]),
            { stdout: () => undefined, stderr: () => undefined },
        )).rejects.toThrow(/--dex-user/);
    });
});

describe("dexLogin when no login is asked for", () => {
    it("returns required: false for an open model path", async () => {
        const server = http.createServer((_req, res) => res.writeHead(404).end("{}"));
        const port = await listen(server);
        try {
            const result = await dexLogin(new HttpClient(), `http://127.0.0.1:${port}/`, { user: "u", password: "p" });
            expect(result).toMatchObject({ required: false, sessionCookies: [] });
        } finally {
            server.close();
        }
    });

    it("explains a 403 instead of a redirect", async () => {
        const server = http.createServer((_req, res) => res.writeHead(403).end("RBAC: access denied"));
        const port = await listen(server);
        try {
            await expect(dexLogin(new HttpClient(), `http://127.0.0.1:${port}/`, { user: "u", password: "p" })).rejects.toThrow(/HTTP 403 instead of redirecting to Dex.*RBAC: access denied/);
        } finally {
            server.close();
        }
    });

    it("stops a redirect loop", async () => {
        const server = http.createServer((_req, res) => res.writeHead(302, { location: "/dex/auth?x=1" }).end());
        const port = await listen(server);
        try {
            await expect(dexLogin(new HttpClient(), `http://127.0.0.1:${port}/`, { user: "u", password: "p" }, { maxHops: 5 })).rejects.toThrow(/more than 5 steps/);
        } finally {
            server.close();
        }
    });
});
