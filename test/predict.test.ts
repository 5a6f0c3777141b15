import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpClient } from "../scripts/lib/client";
import { UserError } from "../scripts/lib/http";
import {
    buildPayload,
    buildPredictRequest,
    checkPredictResponse,
    endpointPath,
    formatResponse,
    parsePredictArgs,
    payloadWarnings,
    PredictOptions,
    resolveTarget,
    runPredict,
} from "../scripts/lib/predict";
import { platformOutputs } from "../scripts/lib/stackOutputs";

const outputs = platformOutputs({
    modelUrls: { value: { "sklearn-iris": "http://sklearn-iris.models.1.2.3.4.sslip.io", "tensorflow-s3": "http://tensorflow-s3.models.1.2.3.4.sslip.io" }, secret: false },
    ingressIp: { value: "1.2.3.4", secret: false },
    examples: {
        value: {
            "sklearn-iris": { url: "http://sklearn-iris.models.1.2.3.4.sslip.io", protocol: "v2", path: "/v2/models/sklearn-iris/infer" },
        },
        secret: false,
    },
});

function options(argv: string[], env: Record<string, string> = {}): PredictOptions {
    return parsePredictArgs(argv, env, "/repo");
}

function usageError(fn: () => unknown): UserError {
    try {
        fn();
    } catch (err) {
        expect(err).toBeInstanceOf(UserError);
        return err as UserError;
    }
    throw new Error("expected a UserError");
}

describe("parsePredictArgs", () => {
    it("reads a stack-based call", () => {
        const o = options(["sklearn-iris", "--stack", "dev", "--input", "examples/iris-input.json", "--via-ingress"]);
        expect(o).toMatchObject({ model: "sklearn-iris", stack: "dev", input: "examples/iris-input.json", viaIngress: true, workDir: "/repo", timeoutMs: 60_000 });
    });

    it("takes secrets from the environment when the flags are absent", () => {
        const o = options(["--url", "http://m.ns.example.com", "--input", "x.json"], { DEX_USER: "user@example.com", DEX_PASSWORD: "pw", INFERENCE_TOKEN: "tok" });
        expect(o.dex).toEqual({ user: "user@example.com", password: "pw" });
        expect(o.token).toBe("tok");
    });

    it.each([
        [["--input", "x.json"], /--stack STACK or --url URL/],
        [["m", "--stack", "dev", "--url", "http://a.b.c", "--input", "x"], /exclusive/],
        [["--stack", "dev", "--input", "x"], /needs a MODEL/],
        [["--url", "http://a.b.c"], /exactly one of --input/],
        [["--url", "http://a.b.c", "--input", "x", "--image-url", "http://i/x.png"], /exactly one of --input/],
        [["--url", "http://a.b.c", "--input", "x", "--protocol", "v3"], /--protocol must be v1, v2 or openai/],
        [["--url", "ftp://a.b.c", "--input", "x"], /must use http or https/],
        [["--url", "not a url", "--input", "x"], /not a valid URL/],
        [["--url", "http://a.b.c", "--input", "x", "--ingress-ip", "1.2.3.4:99999"], /port must be 1..65535/],
        [["--url", "http://a.b.c", "--input", "x", "--via-ingress"], /needs --stack/],
        [["--url", "http://a.b.c", "--input", "x", "--dex-user", "u"], /needs both a user/],
        [["--url", "http://a.b.c", "--image-url", "file:///etc/passwd"], /--image-url/],
        [["--url", "http://a.b.c", "--input", "x", "--timeout", "0"], /--timeout/],
        [["--url", "http://a.b.c", "--input", "x", "--bogus"], /Unknown option/],
        [["Bad_Name", "--url", "http://a.b.c", "--input", "x"], /not a Kubernetes name/],
    ])("rejects %j with a usage error", (argv, message) => {
        const err = usageError(() => options(argv as string[]));
        expect(err.message).toMatch(message);
        expect(err.exitCode).toBe(2);
    });
});

describe("platformOutputs", () => {
    it("unwraps {value, secret} and reads the agreed examples shape", () => {
        expect(outputs.examples["sklearn-iris"]).toEqual({ url: "http://sklearn-iris.models.1.2.3.4.sslip.io", protocol: "v2", path: "/v2/models/sklearn-iris/infer" });
        expect(outputs.ingressIp).toBe("1.2.3.4");
    });

    it("also reads exampleInvocations() entries (endpointUrl, inputFile), with the protocol from the path", () => {
        const o = platformOutputs({ examples: { "clothing-transformer": { url: "http://c.models.d.io", endpointUrl: "http://c.models.d.io/v1/models/c:predict", inputFile: "examples/clothing-request.json" } } });
        expect(o.examples["clothing-transformer"]).toEqual({ url: "http://c.models.d.io", protocol: "v1", path: "/v1/models/c:predict", inputFile: "examples/clothing-request.json" });
    });

    it("lists every malformed entry", () => {
        let message = "";
        try {
            platformOutputs({ examples: { a: { url: "http://a", protocol: "v3", path: "/x" }, b: "nope" }, modelUrls: { c: 1 }, ingressIp: 5 });
        } catch (err) {
            message = (err as Error).message;
        }
        for (const key of ["examples.a", "examples.b", "modelUrls.c", "ingressIp"]) expect(message).toContain(`- ${key}:`);
    });
});

describe("resolveTarget", () => {
    const base = { model: undefined, url: undefined, protocol: undefined, path: undefined, modelName: undefined, ingress: undefined, viaIngress: false };

    it("uses the example's protocol and path from the stack outputs", () => {
        const t = resolveTarget({ ...base, model: "sklearn-iris", viaIngress: true }, outputs);
        expect(t).toEqual({
            baseUrl: "http://sklearn-iris.models.1.2.3.4.sslip.io/",
            url: "http://sklearn-iris.models.1.2.3.4.sslip.io/v2/models/sklearn-iris/infer",
            protocol: "v2",
            ingress: "1.2.3.4",
        });
    });

    it("falls back to modelUrls with the v1 predict path", () => {
        const t = resolveTarget({ ...base, model: "tensorflow-s3" }, outputs);
        expect(t.url).toBe("http://tensorflow-s3.models.1.2.3.4.sslip.io/v1/models/tensorflow-s3:predict");
        expect(t.protocol).toBe("v1");
        expect(t.ingress).toBeUndefined();
    });

    it("names the known models when the name is unknown", () => {
        expect(() => resolveTarget({ ...base, model: "nope" }, outputs)).toThrow(/no model 'nope' \(known: sklearn-iris, tensorflow-s3\)/);
    });

    it("derives the path from a base URL's first host label", () => {
        const t = resolveTarget({ ...base, url: "http://flowers.kserve-test.example.com", protocol: "v2", ingress: "10.0.0.1:8080" });
        expect(t.url).toBe("http://flowers.kserve-test.example.com/v2/models/flowers/infer");
        expect(t.ingress).toBe("10.0.0.1:8080");
    });

    it("keeps a full endpoint URL and infers v2 from its path", () => {
        const t = resolveTarget({ ...base, url: "http://h.ns.example.com/v2/models/x/infer" });
        expect(t.url).toBe("http://h.ns.example.com/v2/models/x/infer");
        expect(t.protocol).toBe("v2");
    });

    it("refuses to guess a model name from an IP address", () => {
        expect(() => resolveTarget({ ...base, url: "http://10.1.2.3:8080" })).toThrow(/cannot tell the model name/);
    });

    it("needs the ingressIp output for --via-ingress", () => {
        const noIngress = platformOutputs({ modelUrls: { a: "http://a.b.c.d" } });
        expect(() => resolveTarget({ ...base, model: "a", viaIngress: true }, noIngress)).toThrow(/no ingressIp/);
    });
});

describe("payloads and requests", () => {
    it("wraps an image URL for the transformer", () => {
        expect(JSON.parse(buildPayload({ imageUrl: "https://example.com/shoe.png" }))).toEqual({ instances: [{ url: "https://example.com/shoe.png" }] });
    });

    it("sends an input file byte for byte", () => {
        const text = '{ "inputs" : [ {"name":"input-0","shape":[1,4],"datatype":"FP32","data":[[6.8,2.8,4.8,1.4]]} ] }\n';
        expect(buildPayload({ inputText: text })).toBe(text);
    });

    it("names the file that is not JSON", () => {
        expect(() => buildPayload({ inputText: "{oops", inputName: "in.json" })).toThrow(/in\.json is not valid JSON/);
    });

    it("warns when the body does not fit the protocol", () => {
        expect(payloadWarnings("v2", '{"instances":[1]}')).toHaveLength(1);
        expect(payloadWarnings("v2", '{"inputs":[]}')).toEqual([]);
        expect(payloadWarnings("v1", '{"instances":[1]}')).toEqual([]);
    });

    it("builds a JSON POST with an optional bearer token", () => {
        const target = { baseUrl: "http://a.b.c/", url: "http://a.b.c/v1/models/a:predict", protocol: "v1" as const, ingress: undefined };
        expect(buildPredictRequest(target, "{}", "t0k").headers).toEqual({ "content-type": "application/json", accept: "application/json", authorization: "Bearer t0k" });
        expect(buildPredictRequest(target, "{}").headers.authorization).toBeUndefined();
    });

    it("uses KServe's paths per protocol", () => {
        expect(endpointPath("v1", "m")).toBe("/v1/models/m:predict");
        expect(endpointPath("v2", "m")).toBe("/v2/models/m/infer");
    });
});

describe("checkPredictResponse", () => {
    const req = { url: "http://a.b.c/v1/models/a:predict" };
    it("reports status and a body excerpt", () => {
        const err = usageError(() => checkPredictResponse(req, { status: 404, headers: {}, setCookies: [], body: '{"error":"Model with name a does not exist."}' }));
        expect(err.message).toMatch(/HTTP 404/);
        expect(err.message).toMatch(/Model with name a does not exist/);
    });
    it("points at --dex-user when redirected to Dex", () => {
        const err = usageError(() => checkPredictResponse(req, { status: 302, headers: { location: "/dex/auth?client_id=x" }, setCookies: [], body: "" }));
        expect(err.message).toMatch(/--dex-user/);
    });
    it("rejects a 200 that is not JSON", () => {
        expect(() => checkPredictResponse(req, { status: 200, headers: {}, setCookies: [], body: "<html>" })).toThrow(/not JSON/);
    });
});

describe("formatResponse", () => {
    it("sorts a transformer's labels by score", () => {
        const text = formatResponse({ predictions: [{ Bag: 0.05, Sandal: 0.9, Coat: 0.05, Dress: 0 }] });
        const labels = text.split("\n").slice(1).map((l) => l.trim().split(/\s+/)[0]);
        expect(labels).toEqual(["Sandal", "Bag", "Coat", "Dress"]);
    });

    it("prints v2 outputs as name, shape, datatype and data", () => {
        const text = formatResponse({ model_name: "sklearn-iris", outputs: [{ name: "output-0", shape: [2], datatype: "INT64", data: [1, 1] }] });
        expect(text).toContain("model: sklearn-iris");
        expect(text).toMatch(/output output-0: shape \[2\] INT64/);
        expect(text).toMatch(/data \[1, 1\]/);
    });

    it("shows the argmax of a score vector", () => {
        expect(formatResponse({ predictions: [[0.1, 0.7, 0.2]] })).toMatch(/argmax 1/);
    });

    it("truncates long tensors", () => {
        const text = formatResponse({ outputs: [{ name: "o", shape: [100], datatype: "FP32", data: Array.from({ length: 100 }, (_, i) => i) }] });
        expect(text).toMatch(/50 more/);
    });
});

describe("runPredict through an ingress address with a Host header", () => {
    let server: http.Server;
    let port: number;
    const seen: { host?: string; url?: string; body?: string; auth?: string }[] = [];
    let dir: string;

    beforeAll(async () => {
        server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (c) => (body += c));
            req.on("end", () => {
                seen.push({ host: req.headers.host, url: req.url, body, auth: req.headers.authorization });
                if (req.headers.host !== "sklearn-iris.models.example.com") {
                    res.writeHead(404).end("no route for host");
                } else if (req.url === "/v2/models/sklearn-iris/infer") {
                    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ model_name: "sklearn-iris", outputs: [{ name: "output-0", shape: [2], datatype: "INT64", data: [1, 2] }] }));
                } else {
                    res.writeHead(500).end("boom: internal error in predictor");
                }
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        port = (server.address() as AddressInfo).port;
        dir = mkdtempSync(path.join(os.tmpdir(), "predict-"));
        writeFileSync(path.join(dir, "iris.json"), '{"inputs":[{"name":"input-0","shape":[2,4],"datatype":"FP32","data":[[6.8,2.8,4.8,1.4],[6.0,3.4,4.5,1.6]]}]}');
        writeFileSync(path.join(dir, "bad.json"), "{not json");
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    const run = async (argv: string[]) => {
        const out: string[] = [];
        const err: string[] = [];
        const body = await runPredict(options(argv), { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
        return { body, out: out.join("\n"), err: err.join("\n") };
    };

    it("sends the file to the IP with the model's Host and prints the tensor", async () => {
        const { out } = await run(["sklearn-iris", "--url", "http://sklearn-iris.models.example.com", "--protocol", "v2", "--ingress-ip", `127.0.0.1:${port}`, "--input", path.join(dir, "iris.json"), "--token", "abc"]);
        const last = seen[seen.length - 1];
        expect(last.host).toBe("sklearn-iris.models.example.com");
        expect(last.url).toBe("/v2/models/sklearn-iris/infer");
        expect(JSON.parse(last.body!).inputs[0].shape).toEqual([2, 4]);
        expect(last.auth).toBe("Bearer abc");
        expect(out).toMatch(/data \[1, 2\]/);
    });

    it("reads the URL from stack outputs (injected reader)", async () => {
        const stackOutputs = platformOutputs({
            examples: { "sklearn-iris": { url: "http://sklearn-iris.models.example.com", protocol: "v2", path: "/v2/models/sklearn-iris/infer" } },
            ingressIp: `127.0.0.1:${port}`,
        });
        const out: string[] = [];
        await runPredict(options(["sklearn-iris", "--stack", "dev", "--via-ingress", "--input", path.join(dir, "iris.json"), "--raw"]), {
            readOutputs: async (stack) => {
                expect(stack).toBe("dev");
                return stackOutputs;
            },
            stdout: (l) => out.push(l),
            stderr: () => undefined,
        });
        expect(JSON.parse(out[0]).outputs[0].data).toEqual([1, 2]);
    });

    it("turns an HTTP error into a UserError with status and body", async () => {
        await expect(run(["--url", "http://sklearn-iris.models.example.com/v1/models/x:predict", "--ingress-ip", `127.0.0.1:${port}`, "--input", path.join(dir, "iris.json")]))
            .rejects.toThrow(/HTTP 500.*boom: internal error/);
    });

    it("says which input file is missing", async () => {
        await expect(run(["--url", "http://a.b.example.com", "--input", path.join(dir, "missing.json")])).rejects.toThrow(/missing\.json' does not exist/);
    });

    it("reports a refused connection clearly", async () => {
        const closed = http.createServer();
        await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
        const deadPort = (closed.address() as AddressInfo).port;
        await new Promise<void>((r) => closed.close(() => r()));
        await expect(run(["--url", "http://a.b.example.com", "--ingress-ip", `127.0.0.1:${deadPort}`, "--input", path.join(dir, "iris.json")]))
            .rejects.toThrow(/connection refused/);
    });

    it("uses an injected client (the seam the e2e run uses)", async () => {
        let made: { ingress?: string; ingressHosts: string[] } | undefined;
        await runPredict(options(["sklearn-iris", "--url", "http://sklearn-iris.models.example.com", "--protocol", "v2", "--ingress-ip", `127.0.0.1:${port}`, "--input", path.join(dir, "iris.json")]), {
            makeClient: (o) => {
                made = o;
                return new HttpClient(o);
            },
            stdout: () => undefined,
            stderr: () => undefined,
        });
        expect(made).toMatchObject({ ingress: `127.0.0.1:${port}`, ingressHosts: ["sklearn-iris.models.example.com"] });
    });

    it("the CLI exits non-zero without a stack trace on bad input", async () => {
        const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
            execFile(process.execPath, ["--import", "tsx", path.resolve(__dirname, "../scripts/predict.ts"), "--url", "http://a.b.example.com", "--input", path.join(dir, "bad.json")], { cwd: path.resolve(__dirname, "..") }, (err, _stdout, stderr) => {
                resolve({ code: err ? (err as NodeJS.ErrnoException & { code: number }).code : 0, stderr });
            });
        });
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/bad\.json is not valid JSON/);
        expect(result.stderr).not.toMatch(/\n\s+at /);
    });
});
