/**
 * Every bad input gets a JSON error with the right status, SSRF attempts are refused (also after
 * redirects), the default policy refuses loopback, and random bodies never take the process down.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import sharp from "sharp";
import { downloadImage } from "../src/download";
import { pngOf, postJson, redirectTo, type RunningGateway, serveBytes, startGateway, startHttpServer, startStubTfServing, type StubServer, testConfig } from "./helpers";

const scores = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
let images: StubServer;
let stub: Awaited<ReturnType<typeof startStubTfServing>>;
let gw: RunningGateway;
let png: Buffer;
let slowServer: http.Server;
let slowUrl: string;

beforeAll(async () => {
    png = await pngOf(2, 2, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const big = Buffer.concat([png, Buffer.alloc(300 * 1024)]);
    const huge = await sharp({ create: { width: 3000, height: 3000, channels: 3, background: "white" } }).png({ compressionLevel: 9 }).toBuffer();
    images = await startHttpServer({
        "/ok.png": serveBytes(png, "image/png"),
        "/octet.png": serveBytes(png, "application/octet-stream"),
        "/page.html": serveBytes(Buffer.from("<html></html>"), "text/html"),
        "/fake.png": serveBytes(Buffer.from("definitely not an image, just text"), "image/png"),
        "/corrupt.png": serveBytes(Buffer.concat([png.subarray(0, 40), Buffer.alloc(40, 7)]), "image/png"),
        "/big.png": serveBytes(big, "image/png"),
        "/huge.png": serveBytes(huge, "image/png"),
        "/chunked-big": (_req, res) => {
            res.writeHead(200, { "content-type": "image/png" }); // no content-length: the cap applies while streaming
            res.write(png);
            for (let i = 0; i < 40; i++) res.write(Buffer.alloc(16 * 1024));
            res.end();
        },
        "/missing.png": (_req, res) => {
            res.writeHead(404);
            res.end();
        },
        "/to-metadata": redirectTo("http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
        "/to-mapped-metadata": redirectTo("http://[::ffff:169.254.169.254]/latest/"),
        "/to-file": redirectTo("file:///etc/passwd"),
        "/to-ok": redirectTo("/ok.png", 301),
        "/loop": redirectTo("/loop"),
    });
    // Accepts the connection, sends headers, then never finishes the body.
    slowServer = http.createServer((_req, res) => {
        res.writeHead(200, { "content-type": "image/png", "content-length": "1000" });
        res.write(png.subarray(0, 10));
    });
    await new Promise<void>((r) => slowServer.listen(0, "127.0.0.1", () => r()));
    slowUrl = `http://127.0.0.1:${(slowServer.address() as AddressInfo).port}/slow.png`;

    stub = await startStubTfServing({ scores });
    gw = await startGateway(
        testConfig([], {
            TF_SERVING_HOST: stub.target,
            MODEL_INPUT_SIZE: "2,2",
            GATEWAY_MAX_IMAGE_BYTES: String(256 * 1024),
            GATEWAY_MAX_BODY_BYTES: String(64 * 1024),
            GATEWAY_MAX_PIXELS: String(4_000_000),
            GATEWAY_DOWNLOAD_TIMEOUT_SECONDS: "1",
            GATEWAY_MAX_INSTANCES: "4",
        }),
    );
});

afterAll(async () => {
    await gw.close();
    await stub.close();
    await images.close();
    slowServer.closeAllConnections();
    await new Promise<void>((r) => slowServer.close(() => r()));
});

const predict = (url: unknown) => postJson(`${gw.url}/predict`, { url });

describe("URL and address safety", () => {
    it.each([
        ["ftp://example.com/a.png", 400, "url_scheme_not_allowed"],
        ["file:///etc/passwd", 400, "url_scheme_not_allowed"],
        ["data:image/png;base64,AAAA", 400, "url_scheme_not_allowed"],
        ["gopher://127.0.0.1:6379/_FLUSHALL", 400, "url_scheme_not_allowed"],
        ["not a url", 400, "invalid_url"],
        ["http://user:pass@example.com/a.png", 400, "invalid_url"],
        [42, 400, "invalid_url"],
        ["http://169.254.169.254/latest/meta-data/", 400, "address_not_allowed"],
        ["http://[::ffff:169.254.169.254]/latest/", 400, "address_not_allowed"],
        ["http://[::ffff:a9fe:a9fe]/latest/", 400, "address_not_allowed"],
        ["http://[fd00:ec2::254]/latest/", 400, "address_not_allowed"],
        ["http://10.0.0.1/a.png", 400, "address_not_allowed"],
        ["http://192.168.1.1/a.png", 400, "address_not_allowed"],
        ["http://172.16.5.4/a.png", 400, "address_not_allowed"],
        ["http://[fe80::1]/a.png", 400, "address_not_allowed"],
        ["http://[fc00::1]/a.png", 400, "address_not_allowed"],
        ["http://0.0.0.0/a.png", 400, "address_not_allowed"],
        ["http://2852039166/", 400, "address_not_allowed"], // 169.254.169.254 as one decimal number
        ["http://0xa9.0xfe.0xa9.0xfe/", 400, "address_not_allowed"],
    ])("%s → %i %s", async (url, status, code) => {
        const res = await predict(url);
        expect(res.status).toBe(status);
        expect(res.json.code).toBe(code);
        expect(typeof res.json.error).toBe("string");
    });

    it("redirects to the metadata address are refused (plain and IPv4-mapped)", async () => {
        for (const p of ["/to-metadata", "/to-mapped-metadata"]) {
            const res = await predict(`${images.url}${p}`);
            expect(res.status).toBe(400);
            expect(res.json.code).toBe("address_not_allowed");
            expect(res.json.error).toMatch(/redirect refused/);
        }
    });

    it("redirects to other schemes are refused", async () => {
        const res = await predict(`${images.url}/to-file`);
        expect(res.status).toBe(400);
        expect(res.json.code).toBe("url_scheme_not_allowed");
    });

    it("a safe redirect is followed, a redirect loop is capped", async () => {
        expect((await predict(`${images.url}/to-ok`)).status).toBe(200);
        const loop = await predict(`${images.url}/loop`);
        expect(loop.status).toBe(502);
        expect(loop.json.code).toBe("too_many_redirects");
    });

    it("a host name resolving to a private address is refused, whatever else it resolves to", async () => {
        const resolve = async () => [
            { address: "93.184.216.34", family: 4 },
            { address: "10.1.2.3", family: 4 },
        ];
        await expect(downloadImage("http://images.example/a.png", { policy: {}, limits: { maxBytes: 1e6, timeoutMs: 1000, maxRedirects: 3 }, resolve })).rejects.toMatchObject({ status: 400, code: "address_not_allowed" });
    });

    it("the connection goes to the checked address, not a second DNS answer", async () => {
        // The resolver names loopback (allowed for tests); the host name itself would not resolve.
        const resolve = async () => [{ address: "127.0.0.1", family: 4 }];
        const got = await downloadImage(`http://rebind.invalid:${images.port}/ok.png`, { policy: { allowLoopbackForTests: true }, limits: { maxBytes: 1e6, timeoutMs: 2000, maxRedirects: 0 }, resolve });
        expect(got.bytes.equals(png)).toBe(true);
        expect(images.requests.at(-1)?.headers.host).toBe(`rebind.invalid:${images.port}`);
    });

    it("the default policy refuses loopback", async () => {
        const strict = await startGateway(testConfig([], { TF_SERVING_HOST: stub.target, MODEL_INPUT_SIZE: "2,2" }), { policy: undefined });
        try {
            for (const url of [`${images.url}/ok.png`, `http://localhost:${images.port}/ok.png`, `http://[::1]:${images.port}/ok.png`, `http://[::ffff:127.0.0.1]:${images.port}/ok.png`]) {
                const res = await postJson(`${strict.url}/predict`, { url });
                expect(res.status, url).toBe(400);
                expect(res.json.code, url).toBe("address_not_allowed");
            }
        } finally {
            await strict.close();
        }
    });

    it("an allow-listed CIDR is fetched under the default policy, the metadata address never", async () => {
        const allowed = await startGateway(testConfig([], { TF_SERVING_HOST: stub.target, MODEL_INPUT_SIZE: "2,2", GATEWAY_ALLOWED_CIDRS: "127.0.0.0/8,169.254.0.0/16" }), { policy: undefined });
        try {
            expect((await postJson(`${allowed.url}/predict`, { url: `${images.url}/ok.png` })).status).toBe(200);
            expect((await postJson(`${allowed.url}/predict`, { url: "http://169.254.169.254/" })).json.code).toBe("address_not_allowed");
        } finally {
            await allowed.close();
        }
    });
});

describe("limits and content", () => {
    it.each([
        ["/page.html", 415, "unsupported_content_type"],
        ["/fake.png", 415, "not_an_image"],
        ["/corrupt.png", 422, "undecodable_image"],
        ["/big.png", 413, "image_too_large"],
        ["/chunked-big", 413, "image_too_large"],
        ["/huge.png", 413, "too_many_pixels"],
        ["/missing.png", 502, "image_fetch_failed"],
    ])("%s → %i %s", async (p, status, code) => {
        const res = await predict(`${images.url}${p}`);
        expect(res.status).toBe(status);
        expect(res.json.code).toBe(code);
    });

    it("application/octet-stream is accepted when the bytes are an image", async () => {
        expect((await predict(`${images.url}/octet.png`)).status).toBe(200);
    });

    it("a download that stalls is cut off with 504", async () => {
        const t0 = Date.now();
        const res = await predict(slowUrl);
        expect(res.status).toBe(504);
        expect(res.json.code).toBe("image_fetch_timeout");
        expect(Date.now() - t0).toBeLessThan(5000);
    });

    it("a connection refused is a 502", async () => {
        const s = http.createServer();
        await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
        const port = (s.address() as AddressInfo).port;
        await new Promise<void>((r) => s.close(() => r()));
        const res = await predict(`http://127.0.0.1:${port}/x.png`);
        expect(res.status).toBe(502);
    });

    it("request bodies over the limit get 413", async () => {
        const res = await postJson(`${gw.url}/v1/models/clothing-model:predict`, { instances: [{ b64: Buffer.alloc(100 * 1024).toString("base64") }] });
        expect(res.status).toBe(413);
        expect(res.json.code).toBe("body_too_large");
    });

    it.each([
        ["{not json", 400, "invalid_json"],
        [JSON.stringify({}), 400, "invalid_request"],
        [JSON.stringify([1, 2]), 400, "invalid_request"],
        [JSON.stringify({ url: null }), 400, "invalid_url"],
        [JSON.stringify({ url: "" }), 400, "invalid_url"],
    ])("/predict body %s → %i", async (body, status, code) => {
        const res = await postJson(`${gw.url}/predict`, body);
        expect(res.status).toBe(status);
        expect(res.json.code).toBe(code);
    });

    it("v1 instance errors", async () => {
        const v1 = (body: unknown) => postJson(`${gw.url}/v1/models/clothing-model:predict`, body);
        expect((await v1({ instances: [] })).json.code).toBe("no_instances");
        expect((await v1({ instances: Array(5).fill({ b64: png.toString("base64") }) })).status).toBe(413);
        expect((await v1({ instances: [{ b64: "@@@" }] })).json.code).toBe("invalid_base64");
        expect((await v1({ instances: [{ foo: 1 }] })).json.code).toBe("invalid_instance");
        expect((await v1({ instances: [{ b64: Buffer.from("hello").toString("base64") }] })).status).toBe(415);
        expect((await v1({ instances: [{ image_bytes: { b64: png.toString("base64") } }] })).status).toBe(200);
    });

    it("v2 input errors", async () => {
        const v2 = (body: unknown) => postJson(`${gw.url}/v2/models/clothing-model/infer`, body);
        expect((await v2({ inputs: [{ name: "x", datatype: "FP32", shape: [1], data: [1] }] })).json.code).toBe("invalid_datatype");
        expect((await v2({ inputs: [{ name: "x", datatype: "BYTES", shape: [2], data: ["a"] }] })).json.code).toBe("invalid_shape");
        expect((await v2({ inputs: [{ name: "x", datatype: "BYTES", shape: [1], data: [5] }] })).json.code).toBe("invalid_instance");
        expect((await v2({ inputs: [{ name: "x", datatype: "BYTES", shape: [1], data: ["file:///etc/passwd"] }] })).json.code).toBe("url_scheme_not_allowed");
    });

    it("unknown model, route and method", async () => {
        expect((await postJson(`${gw.url}/v1/models/other:predict`, { instances: [] })).status).toBe(404);
        expect((await postJson(`${gw.url}/v2/models/other/infer`, {})).json.code).toBe("model_not_found");
        expect((await postJson(`${gw.url}/nope`, {})).status).toBe(404);
        const get = await fetch(`${gw.url}/predict`);
        expect(get.status).toBe(405);
        expect(((await get.json()) as any).code).toBe("method_not_allowed");
    });

    it("wrong request content type → 415", async () => {
        const res = await fetch(`${gw.url}/predict`, { method: "POST", headers: { "content-type": "image/png" }, body: png });
        expect(res.status).toBe(415);
    });
});

describe("predictor failures", () => {
    it("a failing predictor is a 502, a slow one a 504, an unreachable one a 502", async () => {
        const failing = await startStubTfServing({ scores, fail: 13 });
        const slow = await startStubTfServing({ scores, delayMs: 3000 });
        const a = await startGateway(testConfig([], { TF_SERVING_HOST: failing.target, MODEL_INPUT_SIZE: "2,2" }));
        const b = await startGateway(testConfig(["--predictor_request_timeout_seconds", "0.3"], { TF_SERVING_HOST: slow.target, MODEL_INPUT_SIZE: "2,2" }));
        const c = await startGateway(testConfig(["--predictor_request_timeout_seconds", "1"], { TF_SERVING_HOST: "127.0.0.1:1", MODEL_INPUT_SIZE: "2,2" }));
        const wrongLabels = await startGateway(testConfig([], { TF_SERVING_HOST: failing.target.replace(/:\d+$/, `:${stub.target.split(":")[1]}`), MODEL_INPUT_SIZE: "2,2", MODEL_LABELS: "a,b,c" }));
        try {
            const ra = await postJson(`${a.url}/predict`, { url: `${images.url}/ok.png` });
            expect([ra.status, ra.json.code]).toEqual([502, "predictor_error"]);
            const rb = await postJson(`${b.url}/predict`, { url: `${images.url}/ok.png` });
            expect([rb.status, rb.json.code]).toEqual([504, "predictor_timeout"]);
            const rc = await postJson(`${c.url}/predict`, { url: `${images.url}/ok.png` });
            expect([502, 504]).toContain(rc.status);
            const rl = await postJson(`${wrongLabels.url}/predict`, { url: `${images.url}/ok.png` });
            expect([rl.status, rl.json.code]).toEqual([502, "label_mismatch"]);
        } finally {
            await Promise.all([a.close(), b.close(), c.close(), wrongLabels.close()]);
            await Promise.all([failing.close(), slow.close()]);
        }
    });
});

describe("fuzz", () => {
    it("hundreds of random bodies: always a JSON answer, process up, memory bounded", async () => {
        const paths = ["/predict", "/v1/models/clothing-model:predict", "/v2/models/clothing-model/infer"];
        const jsonish = fc.oneof(
            fc.json(),
            fc.string({ maxLength: 300 }),
            fc.record({ url: fc.oneof(fc.webUrl(), fc.string(), fc.integer(), fc.constant(`${images.url}/ok.png`), fc.constant("http://169.254.169.254/")) }).map((o) => JSON.stringify(o)),
            fc.record({ instances: fc.array(fc.oneof(fc.record({ url: fc.string() }), fc.record({ b64: fc.base64String({ maxLength: 200 }) }), fc.anything()), { maxLength: 6 }) }).map((o) => JSON.stringify(o)),
            fc.record({ inputs: fc.array(fc.record({ name: fc.string(), datatype: fc.constantFrom("BYTES", "FP32", 5), shape: fc.array(fc.integer()), data: fc.array(fc.oneof(fc.string(), fc.base64String())) }), { maxLength: 2 }) }).map((o) => JSON.stringify(o)),
            fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a).toString("latin1")),
        );
        const samples = fc.sample(fc.tuple(fc.constantFrom(...paths), jsonish), { numRuns: 300, seed: 4242 });
        global.gc?.();
        const heapBefore = process.memoryUsage().heapUsed;
        const statuses = new Set<number>();
        for (let i = 0; i < samples.length; i += 10) {
            await Promise.all(
                samples.slice(i, i + 10).map(async ([p, body]) => {
                    const res = await fetch(`${gw.url}${p}`, { method: "POST", headers: { "content-type": "application/json" }, body });
                    statuses.add(res.status);
                    const json = (await res.json()) as any;
                    if (res.status !== 200) {
                        expect([400, 404, 413, 415, 422, 502, 504]).toContain(res.status);
                        expect(typeof json.error).toBe("string");
                    }
                }),
            );
        }
        expect([...statuses].every((s) => s < 500 || s === 502 || s === 504)).toBe(true);
        const live = await fetch(`${gw.url}/v2/health/live`);
        expect(live.status).toBe(200);
        global.gc?.();
        // The gateway runs in this process: its heap must not have grown by more than a few tens of MB.
        expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
        expect(gw.gateway.inFlight).toBe(0);
    });
});
