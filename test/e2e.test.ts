import * as fc from "fast-check";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { EventEmitter } from "node:events";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkChatCompletion, checkClothing, checkIrisV2, clothingLabels } from "../scripts/lib/checks";
import {
    e2eStackName,
    e2eStackSettings,
    E2eStack,
    exitCodeOf,
    expiresAtTag,
    InterruptedError,
    parseE2eArgs,
    runE2e,
    stackTag,
    verifyPlatform,
} from "../scripts/lib/e2e";
import { UserError } from "../scripts/lib/http";
import { execToken, KubeClient, kubeAccessFromConfig, readinessOf, waitForReady } from "../scripts/lib/kube";
import { platformOutputs } from "../scripts/lib/stackOutputs";
import { defaultVersions } from "../versions";
import { loadCrdValidator, readCrd } from "./crdSchema";
import { mockOutputs } from "./kit";
import { describeWithSharedSchemas } from "./shared";

const isvcCrdFile = "serving.kserve.io_inferenceservices.yaml";

/** An InferenceService as the API server lists it, Ready or not. */
function isvc(name: string, namespace: string, ready: boolean, reason = "PredictorNotReady") {
    return {
        apiVersion: "serving.kserve.io/v1beta1",
        kind: "InferenceService",
        metadata: { name, namespace },
        spec: { predictor: { model: { modelFormat: { name: "sklearn" }, storageUri: "s3://bucket/models/iris" } } },
        status: {
            url: `http://${name}.${namespace}.example.com`,
            conditions: [ready
                ? { type: "Ready", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" }
                : { type: "Ready", status: "False", reason, message: "Revision not ready", lastTransitionTime: "2026-01-01T00:00:00Z" }],
        },
    };
}

describeWithSharedSchemas(`fake InferenceServices match the KServe ${defaultVersions.kserve} CRD schema`, () => {
    it("validates Ready and not-Ready objects", () => {
        const validator = loadCrdValidator("kserve", isvcCrdFile, "v1beta1")!;
        for (const object of [isvc("a", "models", true), isvc("b", "models", false)]) {
            expect(validator.errors(object)).toEqual([]);
        }
        const crd = readCrd("kserve", isvcCrdFile);
        const version = crd.spec.versions.find((v: any) => v.name === "v1beta1");
        // and the fields readinessOf reads are where the schema says
        const status = version.schema.openAPIV3Schema.properties.status.properties;
        expect(status.conditions.items.required).toEqual(expect.arrayContaining(["type", "status"]));
    });
});

describe("stack names and settings", () => {
    it("builds e2e-<utc stamp>-<6 chars>", () => {
        expect(e2eStackName(new Date("2026-03-04T05:06:07.890Z"), () => 0.5)).toBe("e2e-20260304050607-iiiiii");
    });

    it("property: always a valid, bounded Pulumi stack name; different randomness, different names", () => {
        fc.assert(
            fc.property(fc.date({ min: new Date("2000-01-01"), max: new Date("2099-12-31"), noInvalidDate: true }), fc.array(fc.double({ min: 0, max: 0.9999, noNaN: true }), { minLength: 6, maxLength: 6 }), (date, rs) => {
                let i = 0;
                const name = e2eStackName(date, () => rs[i++ % 6]);
                expect(name).toMatch(/^e2e-\d{14}-[0-9a-z]{6}$/);
                expect(name.length).toBeLessThanOrEqual(30);
            }),
        );
        expect(e2eStackName(new Date(0), () => 0.1)).not.toBe(e2eStackName(new Date(0), () => 0.2));
    });

    const base = {
        config: {
            "aws:region": "us-east-2",
            "inference-platform:platform": "eks",
            "inference-platform:cpuInstanceTypes": ["m6i.large", "m5.large"],
            "inference-platform:cpuMinSize": 2,
            "inference-platform:jwksUri": { secure: "v1:abc" },
            "aws:defaultTags": { tags: { team: "ml" } },
        },
        encryptionsalt: "base-salt",
    };
    const expiresAt = new Date("2026-01-01T06:00:00Z");

    it("copies plain values (structured stay structured), marks ephemeral and tags for the reaper", () => {
        const { settings, secureKeys } = e2eStackSettings(base, { encryptionsalt: "new-salt" }, { project: "inference-platform", stackName: "e2e-x", expiresAt });
        expect(settings.encryptionsalt).toBe("new-salt");
        expect(settings.config).toMatchObject({
            "aws:region": "us-east-2",
            "inference-platform:cpuInstanceTypes": ["m6i.large", "m5.large"],
            "inference-platform:cpuMinSize": 2,
            "inference-platform:ephemeral": true,
        });
        expect(settings.config!["aws:defaultTags"]).toEqual({ tags: { team: "ml", [expiresAtTag]: "2026-01-01T06:00:00.000Z", [stackTag]: "e2e-x" } });
        expect(secureKeys).toEqual(["inference-platform:jwksUri"]);
        expect(settings.config!["inference-platform:jwksUri"]).toBeUndefined();
    });

    it("adds no AWS tags on the local platform", () => {
        const { settings } = e2eStackSettings({ config: { "inference-platform:platform": "local" } }, {}, { project: "inference-platform", stackName: "e2e-y", expiresAt });
        expect(settings.config).toEqual({ "inference-platform:platform": "local", "inference-platform:ephemeral": true });
    });

    it("overrides a base stack's ephemeral: false", () => {
        const { settings } = e2eStackSettings({ config: { "inference-platform:ephemeral": false } }, {}, { project: "inference-platform", stackName: "s", expiresAt });
        expect(settings.config!["inference-platform:ephemeral"]).toBe(true);
    });

    it("parses flags and rejects bad ones with exit code 2", () => {
        expect(parseE2eArgs(["--keep", "--ttl-hours", "2", "--base-stack", "staging"], "/w")).toMatchObject({ keep: true, ttlHours: 2, baseStack: "staging", workDir: "/w", readyTimeoutMs: 30 * 60_000 });
        for (const argv of [["--ttl-hours", "0"], ["--stack-name", "bad name"], ["--write-config-only"], ["--image-url", "nope"], ["--what"]]) {
            let caught: unknown;
            try {
                parseE2eArgs(argv);
            } catch (err) {
                caught = err;
            }
            expect(caught, argv.join(" ")).toBeInstanceOf(UserError);
            expect((caught as UserError).exitCode).toBe(2);
        }
    });
});

describe("kubeconfig and credentials", () => {
    it("reads the stack's EKS kubeconfig (exec plugin) as the mocks model it", () => {
        const { state } = mockOutputs("eks:index:Cluster", "c", { name: "cl" });
        const access = kubeAccessFromConfig(state.kubeconfigJson);
        expect(access.server).toBe("https://EXAMPLE.gr7.us-east-2.eks.amazonaws.com");
        expect(access.ca).toBe("CA");
        expect(access.exec).toMatchObject({ command: "aws", args: ["eks", "get-token", "--cluster-name", "cl"] });
    });

    it("reads a kind-style YAML kubeconfig with client certificates", () => {
        const yaml = `apiVersion: v1
clusters:
- cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: ${Buffer.from("CA-PEM").toString("base64")}}
  name: kind-x
contexts:
- context: {cluster: kind-x, user: kind-x}
  name: kind-x
current-context: kind-x
users:
- name: kind-x
  user: {client-certificate-data: ${Buffer.from("CERT").toString("base64")}, client-key-data: ${Buffer.from("KEY").toString("base64")}}
`;
        expect(kubeAccessFromConfig(yaml)).toMatchObject({ server: "https://127.0.0.1:6443", ca: "CA-PEM", cert: "CERT", key: "KEY", token: undefined, exec: undefined });
    });

    it("names a missing context", () => {
        expect(() => kubeAccessFromConfig({ contexts: [], clusters: [], users: [], "current-context": "x" })).toThrow(/no context named 'x'/);
    });

    it("runs the exec plugin with KUBERNETES_EXEC_INFO and refreshes the token before it expires", async () => {
        let t = Date.parse("2026-01-01T00:00:00Z");
        const calls: Record<string, string>[] = [];
        const runner = async (_cmd: string, _args: readonly string[], env: Record<string, string>) => {
            calls.push(env);
            return JSON.stringify({ kind: "ExecCredential", status: { token: `k8s-aws-v1.tok${calls.length}`, expirationTimestamp: new Date(t + 15 * 60_000).toISOString() } });
        };
        const seenAuth: string[] = [];
        const transport = async (req: { headers?: Readonly<Record<string, string>> }) => {
            seenAuth.push(req.headers?.authorization ?? "");
            return { status: 200, headers: {}, setCookies: [], body: '{"items":[]}' };
        };
        const access = kubeAccessFromConfig({
            "current-context": "c",
            contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
            clusters: [{ name: "k", cluster: { server: "https://k8s.example.com" } }],
            users: [{ name: "u", user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token"], env: [{ name: "AWS_PROFILE", value: "ci" }] } } }],
        });
        const client = new KubeClient(access, transport, runner, () => t);
        await client.listInferenceServices("models");
        await client.listInferenceServices("models");
        t += 14.5 * 60_000; // inside the last minute: refresh
        await client.listInferenceServices("models");
        expect(seenAuth).toEqual(["Bearer k8s-aws-v1.tok1", "Bearer k8s-aws-v1.tok1", "Bearer k8s-aws-v1.tok2"]);
        expect(calls[0].AWS_PROFILE).toBe("ci");
        expect(JSON.parse(calls[0].KUBERNETES_EXEC_INFO)).toMatchObject({ kind: "ExecCredential", spec: { interactive: false } });
    });

    it("explains an exec plugin that prints no token", async () => {
        await expect(execToken({ command: "aws", args: [], env: {}, apiVersion: "v1" }, async () => '{"status":{}}')).rejects.toThrow(/without status.token/);
    });
});

describe("readiness polling against a local API server", () => {
    let server: http.Server;
    let port: number;
    let polls = 0;
    let mode: { readyAfter: number; failFirst?: number; forbid?: boolean } = { readyAfter: 3 };
    const auth: string[] = [];
    const paths: string[] = [];

    beforeAll(async () => {
        server = http.createServer((req, res) => {
            polls += 1;
            auth.push(String(req.headers.authorization));
            paths.push(String(req.url));
            if (mode.forbid) return res.writeHead(403, { "content-type": "application/json" }).end('{"kind":"Status","message":"inferenceservices is forbidden"}');
            if (mode.failFirst && polls <= mode.failFirst) return res.writeHead(503).end("etcd hiccup");
            const ready = polls > mode.readyAfter;
            return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
                apiVersion: "serving.kserve.io/v1beta1",
                kind: "InferenceServiceList",
                items: [isvc("sklearn-iris", "models", ready), isvc("clothing-transformer", "models", polls > mode.readyAfter + 1)],
            }));
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    const client = () => new KubeClient(kubeAccessFromConfig({
        "current-context": "c",
        contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
        clusters: [{ name: "k", cluster: { server: `http://127.0.0.1:${port}` } }],
        users: [{ name: "u", user: { token: "static-token" } }],
    }));
    const reset = (m: typeof mode) => {
        polls = 0;
        mode = m;
        auth.length = 0;
        paths.length = 0;
    };

    it("returns once every service is Ready, after the expected number of polls", async () => {
        reset({ readyAfter: 3 });
        const k = client();
        const n = await waitForReady({ names: ["sklearn-iris", "clothing-transformer"], list: (s) => k.listInferenceServices("models", s), intervalMs: 5, timeoutMs: 10_000 });
        expect(n).toBe(5); // iris Ready from poll 4, the transformer from poll 5
        expect(paths[0]).toBe("/apis/serving.kserve.io/v1beta1/namespaces/models/inferenceservices");
        expect(new Set(auth)).toEqual(new Set(["Bearer static-token"]));
    });

    it("times out naming what is not Ready and why", async () => {
        reset({ readyAfter: 1_000_000 });
        const k = client();
        // 400 ms leaves room for several polls on a busy machine (60 ms sometimes allowed only one).
        await expect(waitForReady({ names: ["sklearn-iris", "missing-one"], list: (s) => k.listInferenceServices("models", s), intervalMs: 5, timeoutMs: 400 }))
            .rejects.toThrow(/not Ready after .*sklearn-iris: Ready=False \(PredictorNotReady\): Revision not ready; missing-one: not found/);
        expect(polls).toBeGreaterThan(1);
    });

    it("retries server errors until they pass", async () => {
        reset({ readyAfter: 0, failFirst: 2 });
        const k = client();
        const n = await waitForReady({ names: ["sklearn-iris"], list: (s) => k.listInferenceServices("models", s), intervalMs: 5, timeoutMs: 10_000 });
        expect(n).toBe(3);
    });

    it("stops at once on 403 (no amount of waiting fixes RBAC)", async () => {
        reset({ readyAfter: 0, forbid: true });
        const k = client();
        await expect(waitForReady({ names: ["sklearn-iris"], list: (s) => k.listInferenceServices("models", s), intervalMs: 5, timeoutMs: 10_000 })).rejects.toThrow(/HTTP 403.*forbidden/);
        expect(polls).toBe(1);
    });

    it("stops when aborted", async () => {
        reset({ readyAfter: 1_000_000 });
        const k = client();
        const abort = new AbortController();
        setTimeout(() => abort.abort(new Error("stop now")), 30);
        await expect(waitForReady({ names: ["sklearn-iris"], list: (s) => k.listInferenceServices("models", s), intervalMs: 5, timeoutMs: 60_000, signal: abort.signal })).rejects.toThrow(/stop now/);
    });

    it("readinessOf reads conditions, not status.url", () => {
        const noConditions = { ...isvc("x", "m", true), status: { url: "http://x" } };
        expect(readinessOf({ items: [noConditions] }, ["x"]).notReady).toEqual({ x: "no Ready condition yet" });
    });
});

describe("answer checks", () => {
    it("accepts 2 iris classes and rejects wrong shapes and values", () => {
        expect(checkIrisV2({ outputs: [{ name: "output-0", shape: [2], datatype: "INT64", data: [1, 1] }] })).toEqual([]);
        expect(checkIrisV2({ outputs: [{ name: "o", shape: [2], datatype: "INT64", data: [1, 3] }] }).join()).toMatch(/data\[1\] = 3/);
        expect(checkIrisV2({ outputs: [{ name: "o", shape: [3], datatype: "INT64", data: [1, 1, 1] }] }).join()).toMatch(/3 values, expected 2/);
        expect(checkIrisV2({ outputs: [{ name: "o", shape: [2], datatype: "FP32", data: [0.5, 1] }] }).join()).toMatch(/not an iris class/);
        expect(checkIrisV2({ predictions: [1, 1] }).join()).toMatch(/no `outputs`/);
    });

    it("accepts probabilities summing to 1, raw logits, or a top label", () => {
        const probabilities = Object.fromEntries(clothingLabels.map((l) => [l, l === "pants" ? 0.91 : 0.01]));
        expect(checkClothing({ predictions: [probabilities] })).toEqual([]);
        const logits = { dress: -1.87, hat: -4.76, longsleeve: -2.32, outwear: -1.05, pants: 11.88, shirt: -2.81, shoes: -3.66, shorts: 3.24, skirt: -2.61, "t-shirt": -4.85 };
        expect(checkClothing({ predictions: [logits] })).toEqual([]);
        expect(checkClothing({ Pants: 0.97 })).toEqual([]);
        expect(checkClothing({ predictions: ["T-Shirt"] })).toEqual([]);
    });

    it("rejects unknown labels, probability sums far from 1, non-finite scores and non-maps", () => {
        const skewed = Object.fromEntries(clothingLabels.map((l) => [l, 0.5]));
        expect(checkClothing({ predictions: [skewed] }).join()).toMatch(/sum to 5\.0000/);
        expect(checkClothing({ predictions: [{ cat: 0.9 }] }).join()).toMatch(/unknown labels: cat/);
        expect(checkClothing({ predictions: [[0.1, 0.9]] }).join()).toMatch(/neither/);
        expect(checkClothing({ predictions: ["Sandal"] }).join()).toMatch(/not a clothing label/);
        expect(checkClothing({ pants: Number.NaN }).join()).toMatch(/not a finite number/);
    });
});

describe("chat completion check (the llm example)", () => {
    const good = {
        id: "chatcmpl-1",
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: "2 + 2 is 4." }, finish_reason: "stop" }],
        usage: { prompt_tokens: 30, completion_tokens: 8, total_tokens: 38 },
    };
    it("accepts OpenAI's chat completion shape", () => {
        expect(checkChatCompletion(good)).toEqual([]);
    });
    it.each([
        [{ ...good, choices: [] }, /no `choices\[0\]`/],
        [{ ...good, choices: [{ index: 0, message: { role: "assistant", content: "" }, finish_reason: "stop" }] }, /content is not a non-empty string/],
        [{ ...good, choices: [{ index: 0, message: { role: "user", content: "x" }, finish_reason: "stop" }] }, /role is "user"/],
        [{ ...good, choices: [{ index: 0, text: "x", finish_reason: "stop" }] }, /no `message` object/],
        [{ ...good, usage: undefined }, /no `usage` object/],
        [{ ...good, usage: { prompt_tokens: 30, completion_tokens: 8, total_tokens: 37 } }, /total_tokens 37 is not prompt_tokens \+ completion_tokens \(38\)/],
        [{ ...good, usage: { prompt_tokens: 30, completion_tokens: 0, total_tokens: 30 } }, /answered nothing/],
        [{ predictions: [1] }, /no `choices\[0\]`/],
    ])("rejects %j", (body, message) => {
        expect(checkChatCompletion(body).join("; ")).toMatch(message);
    });
});

describe("verifyPlatform against local servers (API + ingress)", () => {
    let api: http.Server;
    let ingress: http.Server;
    let apiPort: number;
    let ingressPort: number;
    let workDir: string;
    let irisAnswer: unknown = { model_name: "sklearn-iris", outputs: [{ name: "output-0", shape: [2], datatype: "INT64", data: [1, 2] }] };
    let unavailableFirst = 0;
    const requests: { host: string; path: string; body: string }[] = [];

    beforeAll(async () => {
        api = http.createServer((_req, res) => {
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ items: [isvc("sklearn-iris", "models", true), isvc("clothing-transformer", "models", true), isvc("llm", "models", true)] }));
        });
        ingress = http.createServer((req, res) => {
            let body = "";
            req.on("data", (c) => (body += c));
            req.on("end", () => {
                requests.push({ host: String(req.headers.host), path: String(req.url), body });
                if (unavailableFirst > 0) {
                    unavailableFirst -= 1;
                    return res.writeHead(503).end("no healthy upstream");
                }
                if (req.headers.host === "llm.models.example.com" && req.url === "/openai/v1/chat/completions") {
                    const asked = JSON.parse(body);
                    return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
                        object: "chat.completion",
                        model: asked.model,
                        choices: [{ index: 0, message: { role: "assistant", content: "4" }, finish_reason: "stop" }],
                        usage: { prompt_tokens: 20, completion_tokens: 1, total_tokens: 21 },
                    }));
                }
                if (req.headers.host === "sklearn-iris.models.example.com" && req.url === "/v2/models/sklearn-iris/infer") {
                    return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(irisAnswer));
                }
                if (req.headers.host === "clothing-transformer.models.example.com" && req.url === "/v1/models/clothing-transformer:predict") {
                    // raw logits, as the book's Xception model gives them
                    const scores = Object.fromEntries(clothingLabels.map((l, i) => [l, l === "pants" ? 11.88 : -1.5 + i * 0.3]));
                    return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ predictions: [scores] }));
                }
                return res.writeHead(404).end("no route");
            });
        });
        await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
        await new Promise<void>((r) => ingress.listen(0, "127.0.0.1", r));
        apiPort = (api.address() as AddressInfo).port;
        ingressPort = (ingress.address() as AddressInfo).port;
        workDir = mkdtempSync(path.join(os.tmpdir(), "e2e-"));
        mkdirSync(path.join(workDir, "examples"));
        writeFileSync(path.join(workDir, "examples", "iris-input.json"), JSON.stringify({ inputs: [{ name: "input-0", shape: [2, 4], datatype: "FP32", data: [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]] }] }));
    });
    afterAll(async () => {
        await new Promise<void>((r) => api.close(() => r()));
        await new Promise<void>((r) => ingress.close(() => r()));
    });

    const outputs = () => platformOutputs({
        ingressIp: `127.0.0.1:${ingressPort}`,
        kubeconfig: {
            "current-context": "c",
            contexts: [{ name: "c", context: { cluster: "k", user: "u" } }],
            clusters: [{ name: "k", cluster: { server: `http://127.0.0.1:${apiPort}` } }],
            users: [{ name: "u", user: { token: "t" } }],
        },
        examples: {
            "sklearn-iris": { url: "http://sklearn-iris.models.example.com", protocol: "v2", path: "/v2/models/sklearn-iris/infer" },
            "clothing-transformer": { url: "http://clothing-transformer.models.example.com", protocol: "v1", path: "/v1/models/clothing-transformer:predict" },
        },
    });
    const verifyOptions = () => ({ workDir, imageUrl: "https://example.com/sandal.png", readyTimeoutMs: 5_000, kubeconfigText: undefined, token: undefined, dex: undefined, log: () => undefined, pollIntervalMs: 5, retryDelayMs: 5 });

    it("sends iris-input.json over v2 and the image through the transformer, with Host headers", async () => {
        requests.length = 0;
        const report = await verifyPlatform(outputs(), verifyOptions(), new AbortController().signal);
        expect(report.join("\n")).toMatch(/sklearn-iris \(v2\): classes \[1,2\]/);
        expect(report.join("\n")).toMatch(/clothing-transformer \(v1\): top label pants/);
        const transformer = requests.find((r) => r.host.startsWith("clothing"))!;
        expect(JSON.parse(transformer.body)).toEqual({ instances: [{ url: "https://example.com/sandal.png" }] });
        expect(JSON.parse(requests.find((r) => r.host.startsWith("sklearn"))!.body).inputs[0].shape).toEqual([2, 4]);
    });

    it("retries while the route still answers 503", async () => {
        unavailableFirst = 2;
        await expect(verifyPlatform(outputs(), verifyOptions(), new AbortController().signal)).resolves.toHaveLength(3);
    });

    it("fails on a wrong answer", async () => {
        irisAnswer = { outputs: [{ name: "output-0", shape: [2], datatype: "INT64", data: [1, 7] }] };
        try {
            await expect(verifyPlatform(outputs(), verifyOptions(), new AbortController().signal)).rejects.toThrow(/wrong answers:[\s\S]*sklearn-iris: outputs\[0\]\.data\[1\] = 7/);
        } finally {
            irisAnswer = { model_name: "sklearn-iris", outputs: [{ name: "output-0", shape: [2], datatype: "INT64", data: [1, 2] }] };
        }
    });

    it("without --image-url, sends examples/clothing-request.json (or the output's inputFile)", async () => {
        const request = { instances: [{ url: "http://bit.ly/mlbookcamp-pants" }] };
        writeFileSync(path.join(workDir, "examples", "clothing-request.json"), JSON.stringify(request));
        requests.length = 0;
        await verifyPlatform(outputs(), { ...verifyOptions(), imageUrl: undefined }, new AbortController().signal);
        expect(JSON.parse(requests.find((r) => r.host.startsWith("clothing"))!.body)).toEqual(request);
    });

    it("sends one chat completion to the llm (examples/chat-input.json) and checks its shape", async () => {
        writeFileSync(path.join(workDir, "examples", "chat-input.json"), JSON.stringify({ model: "llm", messages: [{ role: "user", content: "2+2?" }], max_tokens: 8 }));
        const o = platformOutputs({
            ...outputs().raw,
            examples: { llm: { url: "http://llm.models.example.com", endpointUrl: "http://llm.models.example.com/openai/v1/chat/completions", inputFile: "examples/chat-input.json" } },
        });
        expect(o.examples.llm.protocol).toBe("openai");
        requests.length = 0;
        const report = await verifyPlatform(o, verifyOptions(), new AbortController().signal);
        expect(report.join("\n")).toMatch(/llm \(openai\): 1 tokens in \d+ s: "4"/);
        const sent = requests.find((r) => r.host === "llm.models.example.com")!;
        expect(sent.path).toBe("/openai/v1/chat/completions");
        expect(JSON.parse(sent.body)).toMatchObject({ model: "llm", messages: [{ role: "user", content: "2+2?" }] });
    });

    it("names the missing request body", async () => {
        const o = platformOutputs({ ...outputs().raw, examples: { "sklearn-iris": { url: "http://sklearn-iris.models.example.com", endpointUrl: "http://sklearn-iris.models.example.com/v2/models/sklearn-iris/infer", inputFile: "examples/nope.json" } } });
        await expect(verifyPlatform(o, verifyOptions(), new AbortController().signal)).rejects.toThrow(/sklearn-iris: request body examples\/nope\.json is missing/);
    });
});

/** A fake Automation API stack with spies. */
function fakeStack(behaviour: { up?: (signal?: AbortSignal) => Promise<unknown>; destroy?: () => Promise<unknown>; remove?: () => Promise<void> } = {}) {
    const calls: string[] = [];
    const stack: E2eStack = {
        name: "e2e-test",
        up: async ({ signal }) => {
            calls.push("up");
            return behaviour.up ? behaviour.up(signal) : {};
        },
        outputs: async () => {
            calls.push("outputs");
            return { examples: { value: {} } };
        },
        destroy: async () => {
            calls.push("destroy");
            return behaviour.destroy ? behaviour.destroy() : {};
        },
        workspace: {
            removeStack: async (name) => {
                calls.push(`remove ${name}`);
                if (behaviour.remove) await behaviour.remove();
            },
        },
    };
    return { stack, calls };
}

describe("runE2e cleanup", () => {
    const deps = (stack: E2eStack, extra: Partial<Parameters<typeof runE2e>[1]> = {}) => {
        const signals = new EventEmitter();
        const logs: string[] = [];
        return {
            signals,
            logs,
            deps: {
                createStack: async () => stack,
                configure: async () => undefined,
                verify: async () => ["ok"],
                signals: signals as unknown as Parameters<typeof runE2e>[1]["signals"],
                log: (l: string) => logs.push(l),
                ...extra,
            },
        };
    };

    it("destroys and removes the stack when up throws, and the error propagates with a non-zero exit code", async () => {
        const upError = new Error("up failed: eks:index:Cluster creating failed");
        const { stack, calls } = fakeStack({ up: async () => Promise.reject(upError) });
        const { deps: d, signals } = deps(stack);
        let caught: unknown;
        await runE2e({ stackName: "e2e-test", keep: false }, d).catch((err) => (caught = err));
        expect(caught).toBe(upError);
        expect(exitCodeOf(caught)).not.toBe(0);
        expect(calls).toEqual(["up", "destroy", "remove e2e-test"]);
        expect(signals.listenerCount("SIGINT")).toBe(0);
        expect(signals.listenerCount("SIGTERM")).toBe(0);
    });

    it("cleans up when verification fails", async () => {
        const { stack, calls } = fakeStack();
        const { deps: d } = deps(stack, { verify: async () => Promise.reject(new UserError("wrong answers")) });
        await expect(runE2e({ stackName: "e2e-test", keep: false }, d)).rejects.toThrow(/wrong answers/);
        expect(calls).toEqual(["up", "outputs", "destroy", "remove e2e-test"]);
    });

    it("succeeds: up, verify, destroy, remove, report", async () => {
        const { stack, calls } = fakeStack();
        const { deps: d } = deps(stack);
        const result = await runE2e({ stackName: "e2e-test", keep: false }, d);
        expect(result).toEqual({ stackName: "e2e-test", report: ["ok"], kept: false });
        expect(calls).toEqual(["up", "outputs", "destroy", "remove e2e-test"]);
    });

    it("SIGINT during up aborts it and cleans up once, even when repeated", async () => {
        const { stack, calls } = fakeStack({
            up: (signal) => new Promise((_resolve, reject) => signal!.addEventListener("abort", () => reject(new Error("pulumi: update canceled")))),
        });
        const { deps: d, signals, logs } = deps(stack);
        const run = runE2e({ stackName: "e2e-test", keep: false }, d);
        await new Promise((r) => setTimeout(r, 10));
        signals.emit("SIGINT", "SIGINT");
        signals.emit("SIGINT", "SIGINT");
        signals.emit("SIGTERM", "SIGTERM");
        let caught: unknown;
        await run.catch((err) => (caught = err));
        expect(caught).toBeInstanceOf(InterruptedError);
        expect(exitCodeOf(caught)).toBe(130);
        expect(calls.filter((c) => c === "destroy")).toHaveLength(1);
        expect(calls.filter((c) => c.startsWith("remove"))).toHaveLength(1);
        expect(logs.join("\n")).toMatch(/SIGINT again/);
    });

    it("does not remove a stack whose destroy failed, and says how to finish", async () => {
        const { stack, calls } = fakeStack({ up: async () => Promise.reject(new Error("up failed")), destroy: async () => Promise.reject(new Error("DependencyViolation")) });
        const { deps: d } = deps(stack);
        const err = await runE2e({ stackName: "e2e-test", keep: false }, d).then(() => new Error("expected a failure"), (e: Error) => e);
        expect(calls).toEqual(["up", "destroy"]);
        expect(err.message).toMatch(/up failed[\s\S]*cleanup failed too: destroy of stack e2e-test failed.*DependencyViolation/);
        expect(err.message).toMatch(/pulumi destroy --stack e2e-test --yes/);
    });

    it("--keep leaves the stack up", async () => {
        const { stack, calls } = fakeStack();
        const { deps: d, logs } = deps(stack);
        await runE2e({ stackName: "e2e-test", keep: true }, d);
        expect(calls).toEqual(["up", "outputs"]);
        expect(logs.join("\n")).toMatch(/--keep: stack e2e-test stays up/);
    });

    it("cleans up a stack whose configuration failed", async () => {
        const { stack, calls } = fakeStack();
        const { deps: d } = deps(stack, { configure: async () => Promise.reject(new Error("config write failed")) });
        await expect(runE2e({ stackName: "e2e-test", keep: false }, d)).rejects.toThrow(/config write failed/);
        expect(calls).toEqual(["destroy", "remove e2e-test"]);
    });
});
