/**
 * 408 paths: a request body that trickles or never ends is cut at the body timeout with a JSON
 * 408; headers that never finish get a JSON 408 too. Timeouts are set short here; nothing asserts
 * how long anything took.
 */
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway, startStubTfServing, type StubTfServing, testConfig } from "./helpers";

let stub: StubTfServing;
let gw: RunningGateway;

beforeAll(async () => {
    stub = await startStubTfServing({ scores: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    gw = await startGateway(testConfig([], { TF_SERVING_HOST: stub.target, MODEL_INPUT_SIZE: "2,2", GATEWAY_BODY_TIMEOUT_SECONDS: "0.5", GATEWAY_HEADERS_TIMEOUT_SECONDS: "0.5" }));
});
afterAll(async () => {
    await gw.close();
    await stub.close();
});

/** Writes `chunks` on a raw connection, then waits for the server to answer and close. */
function rawExchange(chunks: string[]): Promise<{ status: number; headers: string; body: string; closed: boolean }> {
    return new Promise((resolve, reject) => {
        const port = Number(new URL(gw.url).port);
        const socket = net.connect(port, "127.0.0.1", () => chunks.forEach((c) => socket.write(c)));
        let data = "";
        socket.on("data", (d) => (data += d.toString()));
        socket.on("error", reject);
        socket.on("close", () => {
            const [head, ...rest] = data.split("\r\n\r\n");
            resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body: rest.join("\r\n\r\n"), closed: true });
        });
    });
}

describe("408 Request Timeout", () => {
    it("the defaults are 30 s for the body and 20 s for the headers, and both can be set", () => {
        const defaults = testConfig([], { TF_SERVING_HOST: "x:1" }).limits;
        expect(defaults.bodyTimeoutMs).toBe(30_000);
        expect(defaults.headersTimeoutMs).toBe(20_000);
        const set = testConfig(["--body_timeout_seconds", "7"], { TF_SERVING_HOST: "x:1", GATEWAY_HEADERS_TIMEOUT_SECONDS: "3" }).limits;
        expect(set.bodyTimeoutMs).toBe(7000);
        expect(set.headersTimeoutMs).toBe(3000);
        expect(() => testConfig([], { TF_SERVING_HOST: "x:1", GATEWAY_BODY_TIMEOUT_SECONDS: "0" })).toThrow(/body_timeout_seconds/);
    });

    // The three waits for a timeout run side by side; the metrics test below runs after all of them.
    describe.concurrent("cut at the timeout", () => {
        it("a chunked body that never ends gets 408 body_timeout as JSON, and the connection is closed", async ({ expect }) => {
            const res = await rawExchange(["POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", "5\r\n{\"url\r\n"]);
            expect(res.status).toBe(408);
            expect(res.headers).toMatch(/content-type: application\/json/i);
            expect(res.headers).toMatch(/connection: close/i);
            expect(JSON.parse(res.body)).toEqual({ code: "body_timeout", error: "the request body was not received within 0.5 s" });
            expect(res.closed).toBe(true);
        });

        it("a body shorter than its Content-Length gets 408 too (KServe v1 route)", async ({ expect }) => {
            const res = await rawExchange(["POST /v1/models/clothing-model:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"instances\":"]);
            expect(res.status).toBe(408);
            expect(JSON.parse(res.body).code).toBe("body_timeout");
        });

        it("headers that never finish get 408 headers_timeout as JSON", async ({ expect }) => {
            const res = await rawExchange(["POST /predict HTTP/1.1\r\nHost: x\r\nContent-Ty"]);
            expect(res.status).toBe(408);
            expect(JSON.parse(res.body)).toEqual({ code: "headers_timeout", error: "the request headers were not received within 0.5 s" });
        });
    });

    it("malformed HTTP is still a JSON 400, and the timeouts are counted in the metrics", async () => {
        const res = await rawExchange(["NOT HTTP AT ALL\r\n\r\n"]);
        expect(res.status).toBe(400);
        expect(JSON.parse(res.body).code).toBe("bad_http");
        const text = await (await fetch(`${gw.url}/metrics`)).text();
        expect(text).toMatch(/gateway_errors_total\{code="body_timeout"\} 2/);
        expect(text).toMatch(/gateway_errors_total\{code="headers_timeout"\} 1/);
    });

    it("a body that arrives in time is served normally", async () => {
        const res = await fetch(`${gw.url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url: "ftp://x/y" }) });
        expect(res.status).toBe(400); // reached the handler: URL scheme refused, not a timeout
    });
});
