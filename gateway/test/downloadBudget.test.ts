/**
 * The download budget (GATEWAY_DOWNLOAD_BUDGET_BYTES): encoded images held at once are bounded. A
 * download takes its declared length (or the image limit when it declares none) once its headers
 * arrive, reads its body only then, and gives it back when the caller is done with the bytes, or
 * at once when the download fails. Real HTTP on 127.0.0.1; the budget is the one server.ts makes.
 */
import type * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../src/config";
import { createDownloadBudget, downloadImage } from "../src/download";
import type { MemoryBudget } from "../src/memoryBudget";
import { pngOf, postJson, serveBytes, startGateway, startHttpServer, startStubTfServing, type StubServer, testConfig } from "./helpers";

// 600 bytes that sniff as a PNG (the signature, then filler): the download only checks the signature.
const png600 = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(592, 7)]);

let images: StubServer;
beforeAll(async () => {
    const send = (bytes: Buffer, declareLength: boolean) => (_req: http.IncomingMessage, res: http.ServerResponse) => {
        res.writeHead(200, { "content-type": "image/png", ...(declareLength ? { "content-length": String(bytes.length) } : {}) });
        res.end(bytes);
    };
    images = await startHttpServer({
        "/a.png": send(png600, true),
        "/chunked.png": send(png600, false),
        "/big.png": send(Buffer.concat([png600, Buffer.alloc(2000)]), false),
        "/text.png": send(Buffer.alloc(600, 65), true),
    });
});
afterAll(() => images.close());

const download = (path: string, budget: MemoryBudget, signal?: AbortSignal) =>
    downloadImage(`${images.url}${path}`, { policy: { allowLoopbackForTests: true }, limits: { maxBytes: 1500, timeoutMs: 5000, maxRedirects: 0 }, budget, signal });

/** Lets pending I/O and promise callbacks run. */
const settle = () => new Promise((r) => setTimeout(r, 50));

describe("the download budget", () => {
    it("holds a download's declared length until it is released; the next one waits for it, first come first served", async () => {
        const budget = createDownloadBudget(1000, 8);
        const first = await download("/a.png", budget);
        expect(first.bytes.equals(png600)).toBe(true);
        expect(budget.used).toBe(600);
        let secondDone = false;
        const second = download("/a.png", budget).then((d) => ((secondDone = true), d));
        await settle();
        expect(secondDone).toBe(false);
        expect(budget.queued).toBe(1);
        first.release();
        const got = await second;
        expect(got.bytes.equals(png600)).toBe(true);
        expect(budget.used).toBe(600);
        got.release();
        got.release(); // twice is harmless
        expect(budget.used).toBe(0);
    });

    it("takes the image limit for a body of unknown length", async () => {
        const budget = createDownloadBudget(10_000, 8);
        const got = await download("/chunked.png", budget);
        expect(got.bytes.equals(png600)).toBe(true);
        expect(budget.used).toBe(1500);
        got.release();
        expect(budget.used).toBe(0);
    });

    it("gives the share back when the download fails: too large, not an image", async () => {
        const budget = createDownloadBudget(10_000, 8);
        await expect(download("/big.png", budget)).rejects.toMatchObject({ status: 413, code: "image_too_large" });
        expect(budget.used).toBe(0);
        await expect(download("/text.png", budget)).rejects.toMatchObject({ status: 415, code: "not_an_image" });
        expect(budget.used).toBe(0);
    });

    it("answers 503 with Retry-After when the queue is full, and a waiter that is aborted leaves the queue", async () => {
        const full = createDownloadBudget(600, 0);
        const held = await download("/a.png", full);
        await expect(download("/a.png", full)).rejects.toMatchObject({ status: 503, code: "download_budget_exhausted", headers: { "retry-after": "1" } });
        held.release();
        expect(full.used).toBe(0);

        const budget = createDownloadBudget(600, 8);
        const holder = await download("/a.png", budget);
        const controller = new AbortController();
        const waiting = download("/a.png", budget, controller.signal);
        await settle();
        expect(budget.queued).toBe(1);
        controller.abort();
        await expect(waiting).rejects.toMatchObject({ code: "aborted" });
        expect(budget.queued).toBe(0);
        holder.release();
        expect(budget.used).toBe(0);
    });
});

describe("the gateway's download budget", () => {
    it("is held while an image is decoded and given back after every request, answered or refused", async () => {
        const stub = await startStubTfServing({ scores: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
        const good = await pngOf(4, 4, 3, Array(48).fill(90));
        const pictures = await startHttpServer({ "/good.png": serveBytes(good, "image/png"), "/broken.png": serveBytes(png600, "image/png"), "/text.png": serveBytes(Buffer.alloc(64, 65), "image/png") });
        const budget = createDownloadBudget(10_000, 8);
        const gw = await startGateway(testConfig([], { TF_SERVING_HOST: stub.target, MODEL_INPUT_SIZE: "2,2" }), { downloadBudget: budget });
        try {
            const predict = (name: string) => postJson(`${gw.url}/predict`, { url: `${pictures.url}/${name}` });
            const answers = await Promise.all([predict("good.png"), predict("good.png"), predict("broken.png"), predict("text.png")]);
            expect(answers.map((a) => a.status)).toEqual([200, 200, 422, 415]);
            expect(budget.used).toBe(0);
            expect(budget.queued).toBe(0);
        } finally {
            await gw.close();
            await pictures.close();
            await stub.close();
        }
    });
});

describe("GATEWAY_DOWNLOAD_BUDGET_BYTES", () => {
    const base = { TF_SERVING_HOST: "127.0.0.1:9000" };
    const loadConfig = (argv: string[], env: Record<string, string>) => parseConfig(argv, env).config;
    it("defaults to four images of the image limit, and follows that limit", () => {
        expect(loadConfig([], base).limits.downloadBudgetBytes).toBe(4 * 10 * 1024 * 1024);
        expect(loadConfig([], { ...base, GATEWAY_MAX_IMAGE_BYTES: "1000000" }).limits.downloadBudgetBytes).toBe(4_000_000);
        expect(loadConfig(["--download_budget_bytes", "5000"], base).limits.downloadBudgetBytes).toBe(5000);
    });
    it("refuses values that are not a whole number of at least 1024", () => {
        for (const bad of ["0", "1023", "1.5", "lots"]) expect(() => loadConfig([], { ...base, GATEWAY_DOWNLOAD_BUDGET_BYTES: bad })).toThrow(/download_budget_bytes|GATEWAY_DOWNLOAD_BUDGET_BYTES/);
    });
});
