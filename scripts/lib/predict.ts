/**
 * The predict client's pieces: argument parsing, target resolution, request building, response
 * checking and pretty printing (pure), and `runPredict`, which ties them to an HttpClient.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { HttpClient } from "./client";
import { dexLogin, isAuthPath } from "./dex";
import { excerpt, HttpResponse, isRedirect, parseHostPort, parseHttpUrl, UserError } from "./http";
import { PlatformOutputs, Protocol } from "./stackOutputs";
import { formatChatStats, formatWaking, podPhaseOf, streamChat, StreamTransport } from "./chat";
import { KubeClient, kubeAccessFromConfig } from "./kube";

/** KServe's OpenAI chat route (kserve/kserve v0.20.0 python/kserve/kserve/protocol/rest/openai/config.py). */
export const openaiChatPath = "/openai/v1/chat/completions";

export const predictUsage = `Usage: npm run predict -- [MODEL] (--stack STACK | --url URL) (--input FILE | --image-url URL | --chat TEXT) [options]

Calls a deployed model and prints its answer.

Where the model is:
  MODEL                   model name (an example name or a key of the stack's modelUrls)
  --stack STACK           read the model's URL from this stack's outputs (needs the Pulumi CLI)
  --work-dir DIR          Pulumi project directory for --stack (default: current directory)
  --url URL               model base URL (http://<name>.<namespace>.<domain>) or full endpoint URL
  --protocol v1|v2|openai KServe protocol, or the OpenAI API (default: the example's, else v1)
  --path PATH             request path (default: /v1/models/<name>:predict or /v2/models/<name>/infer)
  --model-name NAME       model name in the path (default: MODEL, else the URL's first host label)
  --ingress-ip HOST[:PORT] connect to this ingress address and send Host: <model host> (no DNS needed)
  --via-ingress           like --ingress-ip with the stack's ingressIp output

What to send:
  --input FILE            JSON request body, sent as is (e.g. examples/iris-input.json)
  --image-url URL         image for a transformer: sends {"instances":[{"url":URL}]}
  --chat TEXT             ask an OpenAI-compatible model (e.g. llm); the answer streams token by
                          token, then time to first token and tokens/s go to stderr
  --system TEXT           system message for --chat
  --max-tokens N          longest answer, in tokens (--chat)
  --temperature T         sampling temperature 0..2 (--chat; 0 is deterministic)

Auth:
  --token TOKEN           bearer token (or env INFERENCE_TOKEN)
  --dex-user USER         Kubeflow Dex login (or env DEX_USER)
  --dex-password PASS     (or env DEX_PASSWORD; prefer the env var: flags show up in ps)

Output:
  --raw                   print the response body unchanged
  --json                  --chat: print one JSON object (answer, usage, timings) instead of streaming
  --verbose               print the request and the login steps to stderr
  --timeout SECONDS       per-request timeout (default 60; --chat: how long to wait for a model
                          scaled to zero to wake up, default 1800)
  --kubeconfig FILE       --chat: read the model's pod phase while it wakes up (default: the stack's
                          kubeconfig output, else $KUBECONFIG)
  -h, --help`;

export interface PredictOptions {
    readonly model: string | undefined;
    readonly stack: string | undefined;
    readonly workDir: string;
    readonly url: string | undefined;
    readonly protocol: Protocol | undefined;
    readonly path: string | undefined;
    readonly modelName: string | undefined;
    readonly ingress: string | undefined;
    readonly viaIngress: boolean;
    readonly input: string | undefined;
    readonly imageUrl: string | undefined;
    readonly token: string | undefined;
    readonly dex: { readonly user: string; readonly password: string } | undefined;
    readonly raw: boolean;
    readonly verbose: boolean;
    readonly timeoutMs: number;
    readonly help: boolean;
    /** `--chat TEXT` and its settings; undefined for a predict call. */
    readonly chat: { readonly prompt: string; readonly system?: string; readonly maxTokens?: number; readonly temperature?: number } | undefined;
    readonly json: boolean;
    /** Kubeconfig file for the pod phase while a model wakes up. */
    readonly kubeconfig: string | undefined;
}

/** Parses the command line (plus env for secrets); throws UserError (exit code 2) on bad usage. */
export function parsePredictArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}, cwd = "."): PredictOptions {
    let parsed;
    try {
        parsed = parseArgs({
            args: [...argv],
            allowPositionals: true,
            strict: true,
            options: {
                stack: { type: "string" },
                "work-dir": { type: "string" },
                url: { type: "string" },
                protocol: { type: "string" },
                path: { type: "string" },
                "model-name": { type: "string" },
                "ingress-ip": { type: "string" },
                "via-ingress": { type: "boolean" },
                input: { type: "string" },
                "image-url": { type: "string" },
                token: { type: "string" },
                "dex-user": { type: "string" },
                "dex-password": { type: "string" },
                raw: { type: "boolean" },
                verbose: { type: "boolean" },
                timeout: { type: "string" },
                help: { type: "boolean", short: "h" },
                chat: { type: "string" },
                system: { type: "string" },
                "max-tokens": { type: "string" },
                temperature: { type: "string" },
                json: { type: "boolean" },
                kubeconfig: { type: "string" },
            },
        });
    } catch (err) {
        throw new UserError(`${(err as Error).message}\n\n${predictUsage}`, 2);
    }
    const v = parsed.values;
    const help = v.help ?? false;
    const usage = (message: string) => new UserError(`${message}\n(see --help)`, 2);
    const problems: string[] = [];
    if (parsed.positionals.length > 1) problems.push(`expected at most one model name, got ${parsed.positionals.join(", ")}`);
    const model = parsed.positionals[0];
    if (model !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(model)) problems.push(`model name '${model}' is not a Kubernetes name (lowercase letters, digits, '-')`);
    if (!help) {
        if (v.stack === undefined && v.url === undefined) problems.push("say where the model is: --stack STACK or --url URL");
        if (v.stack !== undefined && v.url !== undefined) problems.push("--stack and --url are exclusive");
        if (v.stack !== undefined && model === undefined) problems.push("--stack needs a MODEL name");
        const bodies = [v.input, v["image-url"], v.chat].filter((x) => x !== undefined).length;
        if (bodies !== 1) problems.push("give exactly one of --input FILE, --image-url URL or --chat TEXT");
        if (v["via-ingress"] && v.stack === undefined) problems.push("--via-ingress reads the stack's ingressIp: it needs --stack (or use --ingress-ip)");
        if (v["via-ingress"] && v["ingress-ip"] !== undefined) problems.push("--via-ingress and --ingress-ip are exclusive");
    }
    if (v.protocol !== undefined && !["v1", "v2", "openai"].includes(v.protocol)) problems.push(`--protocol must be v1, v2 or openai, not '${v.protocol}'`);
    if (v.chat !== undefined && v.chat.trim() === "") problems.push("--chat needs a question");
    if (v.chat !== undefined && v.protocol !== undefined && v.protocol !== "openai") problems.push("--chat speaks the OpenAI API: drop --protocol or use --protocol openai");
    for (const flag of ["system", "max-tokens", "temperature", "json"] as const) {
        if (v[flag] !== undefined && v.chat === undefined) problems.push(`--${flag} only applies to --chat`);
    }
    let maxTokens: number | undefined;
    if (v["max-tokens"] !== undefined) {
        maxTokens = Number(v["max-tokens"]);
        if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > 1_000_000) problems.push(`--max-tokens must be a whole number from 1, not '${v["max-tokens"]}'`);
    }
    let temperature: number | undefined;
    if (v.temperature !== undefined) {
        temperature = Number(v.temperature);
        if (v.temperature.trim() === "" || !Number.isFinite(temperature) || temperature < 0 || temperature > 2) problems.push(`--temperature must be a number from 0 to 2, not '${v.temperature}'`);
    }
    if (v.path !== undefined && !v.path.startsWith("/")) problems.push(`--path must start with '/' (got '${v.path}')`);
    if (v["ingress-ip"] !== undefined) {
        try {
            parseHostPort(v["ingress-ip"]);
        } catch (err) {
            problems.push(`--ingress-ip: ${(err as Error).message}`);
        }
    }
    if (v.url !== undefined) {
        try {
            parseHttpUrl(v.url, "--url");
        } catch (err) {
            problems.push((err as Error).message);
        }
    }
    if (v["image-url"] !== undefined && !/^(https?|s3|gs):\/\/[^\s/]+/.test(v["image-url"])) {
        problems.push(`--image-url '${v["image-url"]}' must be an http(s)://, s3:// or gs:// URL`);
    }
    let timeoutMs = v.chat !== undefined ? 1_800_000 : 60_000;
    if (v.timeout !== undefined) {
        const seconds = Number(v.timeout);
        if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) problems.push(`--timeout must be 1..3600 seconds, not '${v.timeout}'`);
        else timeoutMs = Math.round(seconds * 1000);
    }
    const dexUser = v["dex-user"] ?? env.DEX_USER;
    const dexPassword = v["dex-password"] ?? env.DEX_PASSWORD;
    if ((dexUser === undefined) !== (dexPassword === undefined)) {
        problems.push("Dex login needs both a user (--dex-user / DEX_USER) and a password (--dex-password / DEX_PASSWORD)");
    }
    if (problems.length > 0) throw usage(problems.join("\n"));
    return {
        model,
        stack: v.stack,
        workDir: v["work-dir"] ?? cwd,
        url: v.url,
        protocol: v.protocol as Protocol | undefined,
        path: v.path,
        modelName: v["model-name"],
        ingress: v["ingress-ip"],
        viaIngress: v["via-ingress"] ?? false,
        input: v.input,
        imageUrl: v["image-url"],
        token: v.token ?? env.INFERENCE_TOKEN,
        dex: dexUser !== undefined && dexPassword !== undefined ? { user: dexUser, password: dexPassword } : undefined,
        raw: v.raw ?? false,
        verbose: v.verbose ?? false,
        timeoutMs,
        help,
        chat: v.chat !== undefined ? { prompt: v.chat, system: v.system, maxTokens, temperature } : undefined,
        json: v.json ?? false,
        kubeconfig: v.kubeconfig ?? env.KUBECONFIG,
    };
}

/** KServe's predict path for a protocol (v1 `:predict`, v2 `/infer`). */
export function endpointPath(protocol: Protocol, modelName: string): string {
    if (protocol === "openai") return openaiChatPath;
    return protocol === "v2" ? `/v2/models/${encodeURIComponent(modelName)}/infer` : `/v1/models/${encodeURIComponent(modelName)}:predict`;
}

/** Where a request goes. */
export interface PredictTarget {
    /** The model's base URL (scheme and host); the Dex login starts here. */
    readonly baseUrl: string;
    /** Full endpoint URL. */
    readonly url: string;
    readonly protocol: Protocol;
    /** `host[:port]` to connect to instead of resolving the URL's host. */
    readonly ingress: string | undefined;
}

type TargetOptions = Pick<PredictOptions, "model" | "url" | "protocol" | "path" | "modelName" | "ingress" | "viaIngress">;

/** Resolves the endpoint from flags and (for --stack) the stack's outputs. */
export function resolveTarget(options: TargetOptions, outputs?: PlatformOutputs): PredictTarget {
    let base: URL;
    let protocol: Protocol;
    let path: string;
    if (outputs) {
        const name = options.model;
        if (name === undefined) throw new UserError("a MODEL name is needed to look it up in the stack outputs", 2);
        const example = outputs.examples[name];
        const modelUrl = outputs.modelUrls[name];
        if (!example && !modelUrl) {
            const known = [...new Set([...Object.keys(outputs.examples), ...Object.keys(outputs.modelUrls)])].sort();
            throw new UserError(`the stack has no model '${name}' (known: ${known.length > 0 ? known.join(", ") : "none; are the examples enabled?"})`);
        }
        base = parseHttpUrl(example?.url ?? modelUrl, `stack output URL of '${name}'`);
        protocol = options.protocol ?? example?.protocol ?? "v1";
        path = options.path ?? (example && protocol === example.protocol ? example.path : endpointPath(protocol, options.modelName ?? name));
    } else {
        if (options.url === undefined) throw new UserError("--url or --stack is required", 2);
        base = parseHttpUrl(options.url, "--url");
        const given = base.pathname !== "/" && base.pathname !== "" ? `${base.pathname}${base.search}` : undefined;
        protocol = options.protocol ?? (given?.startsWith("/v2/") ? "v2" : given?.startsWith("/openai/") ? "openai" : "v1");
        let name = options.modelName ?? options.model;
        if (name === undefined && given === undefined && options.path === undefined) {
            // KServe hosts are <name>.<namespace>.<domain>; an IP or bare host names no model.
            if (/^[\d.]+$|^\[|^[^.]+$/.test(base.hostname)) {
                throw new UserError(`cannot tell the model name from ${base.host}: give MODEL, --model-name or a full endpoint URL`, 2);
            }
            name = base.hostname.split(".")[0];
        }
        path = options.path ?? given ?? endpointPath(protocol, name ?? "");
    }
    let ingress = options.ingress;
    if (options.viaIngress) {
        if (!outputs?.ingressIp) throw new UserError("--via-ingress: the stack has no ingressIp output (is the ingress up?)");
        ingress = outputs.ingressIp;
    }
    const origin = `${base.protocol}//${base.host}`;
    return { baseUrl: `${origin}/`, url: new URL(path, origin).toString(), protocol, ingress };
}

/** The request body: the input file's text (validated as JSON, sent unchanged) or the image wrapper. */
export function buildPayload(source: { readonly inputText?: string; readonly inputName?: string; readonly imageUrl?: string }): string {
    if (source.imageUrl !== undefined) return JSON.stringify({ instances: [{ url: source.imageUrl }] });
    if (source.inputText === undefined) throw new UserError("nothing to send: give --input FILE or --image-url URL", 2);
    try {
        JSON.parse(source.inputText);
    } catch (err) {
        throw new UserError(`${source.inputName ?? "input"} is not valid JSON: ${(err as Error).message}`);
    }
    return source.inputText;
}

/** Non-fatal hints about a body that the protocol will likely reject. */
export function payloadWarnings(protocol: Protocol, payload: string): string[] {
    const body = JSON.parse(payload) as unknown;
    if (body === null || typeof body !== "object" || Array.isArray(body)) return ["the request body is not a JSON object"];
    const keys = Object.keys(body);
    if (protocol === "v2" && !keys.includes("inputs")) return ["a v2 (open inference protocol) request needs an `inputs` array of {name, shape, datatype, data}"];
    if (protocol === "v1" && !keys.includes("instances") && !keys.includes("inputs")) return ["a v1 request needs `instances` (or `inputs`)"];
    if (protocol === "openai" && !keys.includes("messages") && !keys.includes("prompt")) return ["an OpenAI request needs `messages` (chat) or `prompt` (completions)"];
    return [];
}

export interface HttpRequestSpec {
    readonly method: "POST";
    readonly url: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: string;
}

export function buildPredictRequest(target: PredictTarget, payload: string, token?: string): HttpRequestSpec {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    return { method: "POST", url: target.url, headers, body: payload };
}

/** Turns a non-success answer into a clear error; returns the parsed JSON of a success. */
export function checkPredictResponse(request: { readonly url: string }, response: HttpResponse): unknown {
    if (isRedirect(response.status)) {
        const location = response.headers.location ?? "";
        let path = "";
        try {
            path = new URL(location, request.url).pathname;
        } catch {
            /* keep empty */
        }
        if (isAuthPath(path)) {
            throw new UserError(`the ingress redirects to a login (${location}): pass --dex-user/--dex-password (Kubeflow Dex) or --token`);
        }
        throw new UserError(`POST ${request.url} answered HTTP ${response.status} redirecting to ${location}`);
    }
    if (response.status < 200 || response.status >= 300) {
        const hints: Record<number, string> = {
            401: " (missing or rejected credentials: --token, or --dex-user for Kubeflow)",
            403: " (the ingress's authorization policy refused the request)",
            404: " (wrong model name, path or protocol? or the Host header matches no route)",
            503: " (the model is not ready, or scaled to zero and still starting)",
        };
        throw new UserError(`POST ${request.url} answered HTTP ${response.status}${hints[response.status] ?? ""}: ${excerpt(response.body) || "(empty body)"}`);
    }
    try {
        return JSON.parse(response.body);
    } catch {
        throw new UserError(`POST ${request.url} answered HTTP ${response.status} with a body that is not JSON: ${excerpt(response.body)}`);
    }
}

function isLabelMap(value: unknown): value is Record<string, number> {
    return value !== null && typeof value === "object" && !Array.isArray(value) &&
        Object.keys(value).length > 0 && Object.values(value).every((v) => typeof v === "number");
}

function fmtNumber(n: number): string {
    return Number.isInteger(n) ? String(n) : n.toPrecision(6).replace(/\.?0+$/, "").replace(/\.?0+e/, "e");
}

function fmtData(data: unknown, max = 50): string {
    const flat = Array.isArray(data) ? (data as unknown[]).flat(Infinity) : [data];
    const shown = flat.slice(0, max).map((x) => (typeof x === "number" ? fmtNumber(x) : JSON.stringify(x)));
    return `[${shown.join(", ")}${flat.length > max ? `, … (${flat.length - max} more)` : ""}]`;
}

function labelLines(map: Record<string, number>, indent: string): string[] {
    const entries = Object.entries(map).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const width = Math.max(...entries.map(([k]) => k.length));
    return entries.map(([k, v]) => `${indent}${k.padEnd(width)}  ${fmtNumber(v)}`);
}

/** Pretty text for a response: label maps sorted by score, v2 outputs as name/shape/datatype/data. */
export function formatResponse(body: unknown): string {
    if (isRecord(body) && Array.isArray(body.choices) && isRecord(body.choices[0])) {
        const choice = body.choices[0] as Record<string, unknown>;
        const message = isRecord(choice.message) ? choice.message.content : choice.text;
        const usage = isRecord(body.usage) ? body.usage : undefined;
        const lines = [typeof message === "string" ? message : JSON.stringify(choice, null, 2)];
        if (usage) lines.push(`(${String(usage.prompt_tokens ?? "?")} prompt + ${String(usage.completion_tokens ?? "?")} completion tokens${choice.finish_reason ? `, finish: ${String(choice.finish_reason)}` : ""})`);
        return lines.join("\n");
    }
    if (isRecord(body) && Array.isArray(body.outputs)) {
        const lines: string[] = [];
        if (typeof body.model_name === "string") {
            lines.push(`model: ${body.model_name}${typeof body.model_version === "string" ? ` (version ${body.model_version})` : ""}`);
        }
        for (const output of body.outputs as unknown[]) {
            if (!isRecord(output)) {
                lines.push(`output: ${JSON.stringify(output)}`);
                continue;
            }
            lines.push(`output ${String(output.name ?? "?")}: shape ${JSON.stringify(output.shape ?? [])} ${String(output.datatype ?? "")}`.trimEnd());
            lines.push(`  data ${fmtData(output.data)}`);
        }
        return lines.join("\n");
    }
    if (isRecord(body) && Array.isArray(body.predictions)) {
        const predictions = body.predictions as unknown[];
        const lines: string[] = [];
        predictions.forEach((p, i) => {
            const tag = predictions.length > 1 ? `[${i}] ` : "";
            if (isLabelMap(p)) {
                lines.push(`${tag}labels by score:`);
                lines.push(...labelLines(p, "  "));
            } else if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === "number")) {
                const nums = p as number[];
                const top = nums.indexOf(Math.max(...nums));
                lines.push(`${tag}${fmtData(nums)}  (argmax ${top})`);
            } else if (typeof p === "number" || typeof p === "string" || typeof p === "boolean") {
                lines.push(`${tag}${typeof p === "number" ? fmtNumber(p) : String(p)}`);
            } else {
                lines.push(`${tag}${JSON.stringify(p, null, 2)}`);
            }
        });
        return lines.length > 0 ? lines.join("\n") : "(no predictions)";
    }
    if (isLabelMap(body)) return ["labels by score:", ...labelLines(body, "  ")].join("\n");
    return JSON.stringify(body, null, 2);
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

export interface PredictDeps {
    /** Reads stack outputs (default: the Automation API). */
    readonly readOutputs?: (stack: string, workDir: string) => Promise<PlatformOutputs>;
    /** Builds the HTTP client (default: node transport with the options given). */
    readonly makeClient?: (options: { ingress?: string; ingressHosts: string[]; timeoutMs: number }) => HttpClient;
    readonly stdout: (line: string) => void;
    readonly stderr: (line: string) => void;
    /** Writes text without a newline (streamed tokens). Default: `stdout` per token. */
    readonly write?: (text: string) => void;
    /** The chat transport (tests pass one). Default: node:http(s). */
    readonly streamTransport?: StreamTransport;
    /** Reads a kubeconfig file (default: fs). */
    readonly readKubeconfig?: (file: string) => Promise<string>;
    /** Pod-phase lookups while a model wakes up (default: the Kubernetes API through the kubeconfig). */
    readonly podPhase?: (namespace: string, name: string) => Promise<string | undefined>;
    /** How often "waking up" is reported, ms. Default 10 s. */
    readonly wakeReportMs?: number;
    /** Pause between retries of 502/503/504 while a model wakes up, ms. Default 5 s. */
    readonly retryDelayMs?: number;
}

/** Runs one prediction as the CLI does; throws UserError on any user-fixable problem. */
export async function runPredict(options: PredictOptions, deps: PredictDeps): Promise<unknown> {
    let outputs: PlatformOutputs | undefined;
    if (options.stack !== undefined) {
        const read = deps.readOutputs ?? (async (s, w) => (await import("./stackOutputs")).readStackOutputs(s, w));
        outputs = await read(options.stack, options.workDir);
    }
    const target = resolveTarget(options.chat ? { ...options, protocol: "openai" } : options, outputs);
    if (options.chat) return runChat(options, target, outputs, deps);
    let inputText: string | undefined;
    if (options.input !== undefined) {
        try {
            inputText = await readFile(options.input, "utf8");
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            throw new UserError(code === "ENOENT" ? `input file '${options.input}' does not exist` : `cannot read input file '${options.input}': ${(err as Error).message}`);
        }
    }
    const payload = buildPayload({ inputText, inputName: options.input, imageUrl: options.imageUrl });
    for (const warning of payloadWarnings(target.protocol, payload)) deps.stderr(`warning: ${warning}`);
    const host = new URL(target.url).hostname;
    const client = (deps.makeClient ?? ((o) => new HttpClient(o)))({ ingress: target.ingress, ingressHosts: [host], timeoutMs: options.timeoutMs });
    if (options.dex) {
        const login = await dexLogin(client, target.baseUrl, options.dex);
        if (options.verbose) {
            deps.stderr(login.required
                ? `dex: logged in as ${options.dex.user} (${login.trail.join(" → ")}); session cookie ${login.sessionCookies.map((c) => c.name).join(", ")}`
                : "dex: the model URL did not ask for a login");
        }
    }
    const request = buildPredictRequest(target, payload, options.token);
    if (options.verbose) deps.stderr(`POST ${request.url}${target.ingress ? ` via ${target.ingress}` : ""} (${target.protocol}, ${payload.length} bytes)`);
    const response = await client.send(request);
    const body = checkPredictResponse(request, response);
    deps.stdout(options.raw ? response.body : formatResponse(body));
    return body;
}

/** The `--chat` path: one streamed chat completion, with "waking up" reports while the model scales from zero. */
async function runChat(options: PredictOptions, target: PredictTarget, outputs: PlatformOutputs | undefined, deps: PredictDeps): Promise<unknown> {
    const chat = options.chat!;
    const url = new URL(target.url);
    // KServe's Hugging Face runtime serves the model under the InferenceService's name (--model_name={{.Name}}).
    const model = options.modelName ?? options.model ?? url.hostname.split(".")[0];
    const [service, namespace] = url.hostname.split(".");
    if (options.dex) throw new UserError("--chat does not carry a Dex session to the stream; pass a bearer token with --token (or INFERENCE_TOKEN)", 2);
    const podPhase = deps.podPhase ?? (await kubePodPhase(options, outputs, deps));
    const write = deps.write ?? ((text: string) => deps.stdout(text));
    let streamed = false;
    if (options.verbose) deps.stderr(`POST ${target.url}${target.ingress ? ` via ${target.ingress}` : ""} (openai chat, model ${model}, stream)`);
    const result = await streamChat(
        { model, prompt: chat.prompt, system: chat.system, maxTokens: chat.maxTokens, temperature: chat.temperature },
        {
            url: target.url,
            headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
            connectTo: target.ingress,
            deadlineMs: options.timeoutMs,
            wakeReportMs: deps.wakeReportMs,
            retryDelayMs: deps.retryDelayMs,
            transport: deps.streamTransport,
            podPhase: podPhase && namespace ? () => podPhase(namespace, service) : undefined,
            onEvent: (event) => {
                if (event.kind === "waking") deps.stderr(formatWaking(model, event));
                else if (event.kind === "retry" && options.verbose) deps.stderr(`HTTP ${event.status} while waking up; retrying`);
                else if (event.kind === "token" && !options.json) {
                    streamed = true;
                    write(event.text);
                }
            },
        },
    ).catch((err) => {
        // Keep what was printed on its own line before the error.
        if (streamed) write("\n");
        throw err;
    });
    if (options.json) {
        deps.stdout(JSON.stringify({
            model,
            content: result.content,
            finish_reason: result.finishReason ?? null,
            usage: result.usage ?? null,
            time_to_first_token_ms: result.timeToFirstTokenMs ?? null,
            tokens_per_second: result.tokensPerSecond ?? null,
            total_ms: result.totalMs,
            waited_ms: result.waitedMs,
        }));
    } else {
        write("\n");
        deps.stderr(formatChatStats(result));
    }
    return result;
}

/** Pod-phase lookups through the stack's kubeconfig or --kubeconfig; undefined when neither is available. */
async function kubePodPhase(options: PredictOptions, outputs: PlatformOutputs | undefined, deps: PredictDeps) {
    let kubeconfig: unknown = outputs?.kubeconfig;
    if (kubeconfig === undefined && options.kubeconfig !== undefined) {
        const read = deps.readKubeconfig ?? ((file: string) => readFile(file, "utf8"));
        // The first file of a KUBECONFIG list; a missing file only means no pod phase.
        kubeconfig = await read(options.kubeconfig.split(":")[0]).catch(() => undefined);
    }
    if (kubeconfig === undefined) return undefined;
    let client: KubeClient;
    try {
        client = new KubeClient(kubeAccessFromConfig(kubeconfig));
    } catch {
        return undefined;
    }
    return async (namespace: string, name: string) =>
        podPhaseOf(await client.getJson(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${encodeURIComponent(`serving.kserve.io/inferenceservice=${name}`)}`));
}
