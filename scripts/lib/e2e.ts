/**
 * Ephemeral end-to-end run: create a throwaway stack, `up`, wait for every example
 * InferenceService to be Ready, send the seeds' requests and check the answers, then destroy and
 * remove the stack, whatever happened (errors, Ctrl-C, SIGTERM), unless `--keep`.
 *
 * Reaping: a run that dies hard (SIGKILL, runner lost) leaves its stack behind. Every e2e stack is
 * marked so a reaper (or a human) can find and delete it safely:
 *   - stack tags `expires-at` (ISO time), `ttl-hours` and `purpose: e2e` (Pulumi Cloud shows and
 *     filters by them; self-managed backends may not support stack tags, which is only a warning);
 *   - AWS resource tags through `aws:defaultTags`: `inference-platform/expires-at` and
 *     `inference-platform/stack`, so leftovers are findable in the AWS console / Resource Groups
 *     Tagging API even if the Pulumi state is gone.
 * The config also sets `ephemeral: true`, so the model bucket is force-destroyed on delete.
 */
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { checkChatCompletion, checkClothing, checkIrisV2, labelScores, topLabel } from "./checks";
import { HttpClient } from "./client";
import { dexLogin } from "./dex";
import { HttpResponse, NetworkError, UserError } from "./http";
import { KubeClient, kubeAccessFromConfig, sleep, waitForReady } from "./kube";
import { buildPredictRequest, checkPredictResponse } from "./predict";
import { ExampleEndpoint, PlatformOutputs, platformOutputs } from "./stackOutputs";

export const e2eUsage = `Usage: npm run e2e -- [options]

Creates a throwaway stack e2e-<time>-<random> (config from the base stack plus ephemeral: true),
runs pulumi up, waits for every example InferenceService to be Ready, calls sklearn-iris (v2, with
examples/iris-input.json), clothing-transformer (an image URL) and llm (one chat completion with
examples/chat-input.json, waiting through its cold start), checks the answers, then destroys and
removes the stack (also on failure and Ctrl-C). On eks it then checks, by the stack's and its
cluster's tags, that no EC2 instance, load balancer, network interface, Elastic IP or security
group remains, and fails naming any leftover.

Options:
  --base-stack NAME       stack whose config is copied (default: dev, i.e. Pulumi.dev.yaml)
  --stack-name NAME       use this stack name instead of e2e-<time>-<random> (e.g. pr-123)
  --work-dir DIR          Pulumi project directory (default: current directory)
  --keep                  leave the stack up afterwards (destroy it yourself)
  --ttl-hours N           when a reaper may delete the stack (tags; default 6)
  --ready-timeout MIN     minutes to wait for Ready (default 30)
  --image-url URL         image for the transformer (default: the body in examples/clothing-request.json)
  --kubeconfig FILE       kubeconfig when the stack exports none (local platform)
  --write-config-only     only write Pulumi.<stack-name>.yaml (base config + ephemeral + tags) and exit
  -h, --help

Env: INFERENCE_TOKEN (bearer token), DEX_USER / DEX_PASSWORD (Kubeflow Dex login) for the requests.`;

export interface E2eOptions {
    readonly baseStack: string;
    readonly stackName: string | undefined;
    readonly workDir: string;
    readonly keep: boolean;
    readonly ttlHours: number;
    readonly readyTimeoutMs: number;
    readonly imageUrl: string | undefined;
    readonly kubeconfig: string | undefined;
    readonly writeConfigOnly: boolean;
    readonly help: boolean;
}

const stackNamePattern = /^[A-Za-z0-9_.-]{1,100}$/;

export function parseE2eArgs(argv: readonly string[], cwd = "."): E2eOptions {
    let parsed;
    try {
        parsed = parseArgs({
            args: [...argv],
            strict: true,
            allowPositionals: false,
            options: {
                "base-stack": { type: "string" },
                "stack-name": { type: "string" },
                "work-dir": { type: "string" },
                keep: { type: "boolean" },
                "ttl-hours": { type: "string" },
                "ready-timeout": { type: "string" },
                "image-url": { type: "string" },
                kubeconfig: { type: "string" },
                "write-config-only": { type: "boolean" },
                help: { type: "boolean", short: "h" },
            },
        });
    } catch (err) {
        throw new UserError(`${(err as Error).message}\n\n${e2eUsage}`, 2);
    }
    const v = parsed.values;
    const problems: string[] = [];
    const number = (flag: string, raw: string | undefined, fallback: number, min: number, max: number): number => {
        if (raw === undefined) return fallback;
        const n = Number(raw);
        if (!Number.isFinite(n) || n < min || n > max) {
            problems.push(`--${flag} must be a number in ${min}..${max}, not '${raw}'`);
            return fallback;
        }
        return n;
    };
    const ttlHours = number("ttl-hours", v["ttl-hours"], 6, 1, 24 * 14);
    const readyMinutes = number("ready-timeout", v["ready-timeout"], 30, 1, 240);
    const baseStack = v["base-stack"] ?? "dev";
    if (!stackNamePattern.test(baseStack)) problems.push(`--base-stack '${baseStack}' is not a stack name`);
    if (v["stack-name"] !== undefined && !stackNamePattern.test(v["stack-name"])) problems.push(`--stack-name '${v["stack-name"]}' is not a stack name (letters, digits, '-', '_', '.')`);
    if (v["write-config-only"] && v["stack-name"] === undefined) problems.push("--write-config-only needs --stack-name");
    if (v["image-url"] !== undefined && !/^(https?|s3|gs):\/\/\S+$/.test(v["image-url"])) problems.push(`--image-url '${v["image-url"]}' is not an http(s)/s3/gs URL`);
    if (problems.length > 0) throw new UserError(`${problems.join("\n")}\n(see --help)`, 2);
    return {
        baseStack,
        stackName: v["stack-name"],
        workDir: v["work-dir"] ?? cwd,
        keep: v.keep ?? false,
        ttlHours,
        readyTimeoutMs: readyMinutes * 60_000,
        imageUrl: v["image-url"],
        kubeconfig: v.kubeconfig,
        writeConfigOnly: v["write-config-only"] ?? false,
        help: v.help ?? false,
    };
}

/** `e2e-<UTC yyyymmddhhmmss>-<6 base-36 chars>`: sortable by age, unique across parallel runs. */
export function e2eStackName(now: Date, random: () => number = Math.random): string {
    const stamp = now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
    let suffix = "";
    for (let i = 0; i < 6; i++) suffix += Math.floor(random() * 36).toString(36);
    return `e2e-${stamp}-${suffix}`;
}

/** The parts of a Pulumi stack settings file this script reads and writes. */
export interface StackSettingsLike {
    readonly config?: Readonly<Record<string, unknown>>;
    readonly [other: string]: unknown;
}

export interface E2eSettingsResult {
    readonly settings: StackSettingsLike;
    /** Base keys whose values are secrets: they cannot be copied as ciphertext and are set afresh. */
    readonly secureKeys: readonly string[];
}

export const expiresAtTag = "inference-platform/expires-at";
export const stackTag = "inference-platform/stack";

/**
 * The new stack's settings: what the backend wrote for it (`created`: secrets provider, salt),
 * plus every plain config value of the base stack (structured values stay structured), plus
 * `<project>:ephemeral: true` and, on eks, the reaper tags in `aws:defaultTags`.
 */
export function e2eStackSettings(
    base: StackSettingsLike,
    created: StackSettingsLike,
    args: { readonly project: string; readonly stackName: string; readonly expiresAt: Date },
): E2eSettingsResult {
    const config: Record<string, unknown> = { ...(created.config ?? {}) };
    const secureKeys: string[] = [];
    for (const [key, value] of Object.entries(base.config ?? {})) {
        if (value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value) secureKeys.push(key);
        else config[key] = value;
    }
    config[`${args.project}:ephemeral`] = true;
    const platform = config[`${args.project}:platform`] ?? "eks";
    if (platform !== "local") {
        const existing = config["aws:defaultTags"];
        const existingTags = existing !== null && typeof existing === "object" && typeof (existing as any).tags === "object" ? (existing as any).tags : {};
        config["aws:defaultTags"] = {
            ...(typeof existing === "object" && existing !== null ? existing : {}),
            tags: { ...existingTags, [expiresAtTag]: args.expiresAt.toISOString(), [stackTag]: args.stackName },
        };
    }
    return { settings: { ...created, config }, secureKeys };
}

/** What runE2e needs from an Automation API stack (a subset, so tests can pass a fake). */
export interface E2eStack {
    readonly name: string;
    up(options: { onOutput?: (out: string) => void; signal?: AbortSignal }): Promise<unknown>;
    outputs(): Promise<Record<string, unknown>>;
    destroy(options: { onOutput?: (out: string) => void }): Promise<unknown>;
    readonly workspace: { removeStack(stackName: string): Promise<void> };
}

/** Where signals come from (`process` in the CLI, an EventEmitter in tests). */
export interface SignalSource {
    on(event: "SIGINT" | "SIGTERM", listener: (signal: NodeJS.Signals) => void): unknown;
    off(event: "SIGINT" | "SIGTERM", listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface E2eDeps {
    /** Creates the (empty) stack. Nothing exists to clean up if this throws. */
    createStack(name: string): Promise<E2eStack>;
    /** Writes config and tags into the new stack. */
    configure(stack: E2eStack): Promise<void>;
    /** Waits for readiness and checks the answers; returns report lines; throws on failure. */
    verify(outputs: PlatformOutputs, signal: AbortSignal): Promise<string[]>;
    readonly signals: SignalSource;
    /**
     * After a successful destroy: what of the stack is still in AWS (./leftovers.ts), one line each.
     * Default: not checked (the local platform has no cloud resources).
     */
    findLeftovers?(): Promise<string[]>;
    log(line: string): void;
    /** Pulumi's progress output (default: dropped). */
    output?(text: string): void;
}

export class InterruptedError extends UserError {
    constructor(public readonly signal: NodeJS.Signals) {
        super(`interrupted by ${signal}`, signal === "SIGINT" ? 130 : 143);
        this.name = "InterruptedError";
    }
}

/** The process exit code for a failure: the UserError's own (2 usage, 130 SIGINT, 143 SIGTERM), else 1. */
export function exitCodeOf(err: unknown): number {
    return err instanceof UserError ? err.exitCode : 1;
}

export interface E2eResult {
    readonly stackName: string;
    readonly report: readonly string[];
    readonly kept: boolean;
}

/**
 * Runs the whole cycle. The first SIGINT/SIGTERM aborts what is running (Pulumi gets SIGINT and
 * cancels gracefully) and goes to cleanup; later signals only say that cleanup is running. The
 * run's error (or the interruption) propagates after cleanup; a cleanup failure is added to it.
 */
export async function runE2e(options: { readonly stackName: string; readonly keep: boolean }, deps: E2eDeps): Promise<E2eResult> {
    const abort = new AbortController();
    let interrupted: NodeJS.Signals | undefined;
    let cleaning = false;
    const onSignal = (signal: NodeJS.Signals) => {
        if (interrupted === undefined) {
            interrupted = signal;
            deps.log(`${signal}: stopping, then cleaning up stack ${options.stackName}${options.keep ? " (--keep: it stays up)" : ""}`);
            abort.abort(new InterruptedError(signal));
        } else {
            deps.log(`${signal} again: ${cleaning ? "cleanup is running; let it finish or the stack's resources stay behind" : "already stopping"} (stack ${options.stackName})`);
        }
    };
    deps.signals.on("SIGINT", onSignal);
    deps.signals.on("SIGTERM", onSignal);
    const output = deps.output ?? (() => undefined);
    try {
        const stack = await deps.createStack(options.stackName);
        deps.log(`created stack ${stack.name}`);
        let failure: unknown;
        let report: string[] = [];
        try {
            abort.signal.throwIfAborted();
            await deps.configure(stack);
            abort.signal.throwIfAborted();
            deps.log(`pulumi up ${stack.name} ...`);
            await stack.up({ onOutput: output, signal: abort.signal });
            abort.signal.throwIfAborted();
            const outputs = platformOutputs(await stack.outputs());
            report = await deps.verify(outputs, abort.signal);
        } catch (err) {
            failure = interrupted !== undefined ? new InterruptedError(interrupted) : err;
        }
        if (options.keep) {
            deps.log(`--keep: stack ${stack.name} stays up; remove it with: pulumi destroy --stack ${stack.name} --yes --remove`);
        } else {
            cleaning = true;
            const cleanupError = await cleanup(stack, deps.log, output, deps.findLeftovers);
            if (cleanupError) {
                failure = failure === undefined
                    ? cleanupError
                    : new UserError(`${describe(failure)}\n...and cleanup failed too: ${cleanupError.message}`, failure instanceof UserError ? failure.exitCode : 1);
            }
        }
        if (failure !== undefined) throw failure;
        return { stackName: stack.name, report, kept: options.keep };
    } finally {
        deps.signals.off("SIGINT", onSignal);
        deps.signals.off("SIGTERM", onSignal);
    }
}

function describe(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}

/**
 * destroy, then remove only if destroy succeeded (removing a stack with resources would orphan them),
 * then look for what the destroy left in AWS: a leftover fails the run, naming each one.
 */
async function cleanup(
    stack: E2eStack,
    log: (l: string) => void,
    output: (t: string) => void,
    findLeftovers?: () => Promise<string[]>,
): Promise<UserError | undefined> {
    log(`destroying stack ${stack.name} ...`);
    try {
        await stack.destroy({ onOutput: output });
    } catch (err) {
        return new UserError(
            `destroy of stack ${stack.name} failed, so it was not removed: ${firstLine(describe(err))}\n` +
            `  finish by hand: pulumi destroy --stack ${stack.name} --yes && pulumi stack rm ${stack.name} --yes`,
        );
    }
    let leftovers: string[] = [];
    if (findLeftovers) {
        try {
            leftovers = await findLeftovers();
        } catch (err) {
            leftovers = [`the leftovers check itself failed: ${firstLine(describe(err))}`];
        }
        log(leftovers.length === 0 ? "leftovers check: nothing of the stack remains in AWS" : `leftovers check: ${leftovers.length} left behind`);
    }
    try {
        await stack.workspace.removeStack(stack.name);
        log(`removed stack ${stack.name}`);
    } catch (err) {
        return new UserError(`stack ${stack.name} was destroyed but not removed: ${firstLine(describe(err))} (pulumi stack rm ${stack.name} --yes)`);
    }
    if (leftovers.length > 0) {
        return new UserError(`destroy of stack ${stack.name} left ${leftovers.length} resource(s) behind (delete them by hand):\n  - ${leftovers.join("\n  - ")}`);
    }
    return undefined;
}

function firstLine(text: string): string {
    return text.split("\n").find((l) => l.trim()) ?? text;
}

/** `<name>` and `<namespace>` of a KServe URL `http://<name>.<namespace>.<domain>`. */
export function inferenceServiceOf(url: string): { name: string; namespace: string } {
    const labels = new URL(url).hostname.split(".");
    if (labels.length < 3) throw new UserError(`cannot read <name>.<namespace> from model URL ${url}`);
    return { name: labels[0], namespace: labels[1] };
}

/** Retries a model request while the route is still settling (scale from zero, Istio config push). */
export async function sendWithRetry(
    client: HttpClient,
    request: { method: string; url: string; headers: Readonly<Record<string, string>>; body: string },
    options: { attempts?: number; delayMs?: number; signal?: AbortSignal; log?: (l: string) => void } = {},
): Promise<HttpResponse> {
    const attempts = options.attempts ?? 6;
    for (let attempt = 1; ; attempt++) {
        let retryable: string | undefined;
        try {
            const response = await client.send(request);
            if (![404, 502, 503, 504].includes(response.status) || attempt >= attempts) return response;
            retryable = `HTTP ${response.status}`;
        } catch (err) {
            if (!(err instanceof NetworkError) || attempt >= attempts) throw err;
            retryable = err.message;
        }
        options.log?.(`  ${request.url}: ${retryable}; retrying (${attempt}/${attempts - 1})`);
        await sleep(options.delayMs ?? 10_000, options.signal);
    }
}

/** Request bodies the checks send when the stack output names none (files of the examples/ folder). */
export const defaultInputFiles: Readonly<Record<string, string>> = {
    "sklearn-iris": "examples/iris-input.json",
    "clothing-transformer": "examples/clothing-request.json",
    "sklearn-iris-pvc": "examples/iris-notes-input.json",
    llm: "examples/chat-input.json",
};

export interface VerifyOptions {
    /** Project directory (examples/ lives there). */
    readonly workDir: string;
    readonly imageUrl: string | undefined;
    readonly readyTimeoutMs: number;
    /** Kubeconfig text when the stack exports none. */
    readonly kubeconfigText: string | undefined;
    readonly token: string | undefined;
    readonly dex: { user: string; password: string } | undefined;
    readonly log: (line: string) => void;
    /** Injection points for tests. */
    readonly makeKubeClient?: (kubeconfig: unknown) => Pick<KubeClient, "listInferenceServices">;
    readonly makeHttpClient?: (ingress: string | undefined, hosts: string[]) => HttpClient;
    /** How long the LLM's first answer may take (a GPU cold start from zero). Default 30 minutes. */
    readonly llmTimeoutMs?: number;
    readonly pollIntervalMs?: number;
    readonly retryDelayMs?: number;
}

/** Waits for every example to be Ready, then sends the seeds' requests and checks the answers. */
export async function verifyPlatform(outputs: PlatformOutputs, options: VerifyOptions, signal: AbortSignal): Promise<string[]> {
    const examples = Object.entries(outputs.examples);
    if (examples.length === 0) throw new UserError("the stack exports no `examples`: nothing to test (is the examples config empty?)");
    const services = examples.map(([key, e]) => ({ key, ...inferenceServiceOf(e.url) }));
    const report: string[] = [];

    const kubeconfig = outputs.kubeconfig ?? options.kubeconfigText;
    if (kubeconfig === undefined) throw new UserError("the stack exports no kubeconfig: pass --kubeconfig FILE");
    const kube = options.makeKubeClient ? options.makeKubeClient(kubeconfig) : new KubeClient(kubeAccessFromConfig(kubeconfig));
    const namespaces = [...new Set(services.map((s) => s.namespace))];
    for (const namespace of namespaces) {
        const names = services.filter((s) => s.namespace === namespace).map((s) => s.name);
        options.log(`waiting for InferenceServices ${names.join(", ")} in ${namespace} to be Ready ...`);
        const started = Date.now();
        await waitForReady({
            names,
            list: (s) => kube.listInferenceServices(namespace, s),
            timeoutMs: options.readyTimeoutMs,
            intervalMs: options.pollIntervalMs,
            signal,
            onPoll: (r, n) => {
                if (n % 6 === 1) options.log(`  poll ${n}: ready ${r.ready.length}/${names.length}${Object.keys(r.notReady).length ? `; waiting: ${Object.entries(r.notReady).map(([k, v]) => `${k} (${v})`).join(", ")}` : ""}`);
            },
        });
        report.push(`Ready: ${names.join(", ")} (${Math.round((Date.now() - started) / 1000)} s)`);
    }

    const hosts = examples.map(([, e]) => new URL(e.url).hostname);
    const http = options.makeHttpClient ? options.makeHttpClient(outputs.ingressIp, hosts) : new HttpClient({ ingress: outputs.ingressIp, ingressHosts: hosts, timeoutMs: 60_000, signal });
    const problems: string[] = [];
    const call = async (example: ExampleEndpoint, payload: string): Promise<unknown> => {
        if (options.dex) await dexLogin(http, new URL("/", example.url).toString(), options.dex);
        const request = buildPredictRequest({ baseUrl: example.url, url: new URL(example.path, example.url).toString(), protocol: example.protocol, ingress: outputs.ingressIp }, payload, options.token);
        const response = await sendWithRetry(http, request, { signal, delayMs: options.retryDelayMs, log: options.log });
        return checkPredictResponse(request, response);
    };

    const readInput = async (key: string, example: ExampleEndpoint): Promise<string> => {
        const file = example.inputFile ?? defaultInputFiles[key];
        return readFile(path.resolve(options.workDir, file), "utf8").catch(() => {
            throw new UserError(`${key}: request body ${file} is missing${key === "clothing-transformer" ? " (or pass --image-url URL)" : ""}`);
        });
    };

    const iris = outputs.examples["sklearn-iris"];
    if (iris) {
        const body = await call(iris, await readInput("sklearn-iris", iris));
        const found = checkIrisV2(body);
        if (found.length > 0) problems.push(...found.map((p) => `sklearn-iris: ${p}`));
        else report.push(`sklearn-iris (${iris.protocol}): classes ${JSON.stringify((body as any).outputs[0].data)}`);
    }

    // The KServe notes' own model, served from the models claim (pvc://): the same answer shape.
    const irisPvc = outputs.examples["sklearn-iris-pvc"];
    if (irisPvc) {
        const body = await call(irisPvc, await readInput("sklearn-iris-pvc", irisPvc));
        const found = checkIrisV2(body);
        if (found.length > 0) problems.push(...found.map((p) => `sklearn-iris-pvc: ${p}`));
        else report.push(`sklearn-iris-pvc (${irisPvc.protocol}): classes ${JSON.stringify((body as any).outputs[0].data)}`);
    }

    const clothing = outputs.examples["clothing-transformer"];
    if (clothing) {
        const payload = options.imageUrl ? JSON.stringify({ instances: [{ url: options.imageUrl }] }) : await readInput("clothing-transformer", clothing);
        const body = await call(clothing, payload);
        const found = checkClothing(body);
        if (found.length > 0) problems.push(...found.map((p) => `clothing-transformer: ${p}`));
        else {
            const scores = labelScores(body);
            report.push(`clothing-transformer (${clothing.protocol}): top label ${typeof scores === "string" ? scores : topLabel(scores ?? {})}`);
        }
    }
    const llm = outputs.examples.llm;
    if (llm) {
        // Scaled to zero with initial scale 0, the first request starts a GPU node: the activator holds
        // it through the cold start, so one request with a long timeout, not short retries.
        const payload = await readInput("llm", llm);
        const llmHttp = options.makeHttpClient
            ? options.makeHttpClient(outputs.ingressIp, hosts)
            : new HttpClient({ ingress: outputs.ingressIp, ingressHosts: hosts, timeoutMs: options.llmTimeoutMs ?? 30 * 60_000, signal });
        const request = buildPredictRequest({ baseUrl: llm.url, url: new URL(llm.path, llm.url).toString(), protocol: llm.protocol, ingress: outputs.ingressIp }, payload, options.token);
        options.log(`llm: one chat completion (the first request wakes it from zero; this can take minutes) ...`);
        const started = Date.now();
        const response = await sendWithRetry(llmHttp, request, { signal, delayMs: options.retryDelayMs, log: options.log });
        const body = checkPredictResponse(request, response);
        const found = checkChatCompletion(body);
        if (found.length > 0) problems.push(...found.map((p) => `llm: ${p}`));
        else {
            const b = body as { choices: { message: { content: string } }[]; usage: { completion_tokens: number } };
            report.push(`llm (openai): ${b.usage.completion_tokens} tokens in ${Math.round((Date.now() - started) / 1000)} s: ${JSON.stringify(b.choices[0].message.content.slice(0, 80))}`);
        }
    }
    if (problems.length > 0) throw new UserError(`wrong answers:\n  - ${problems.join("\n  - ")}`);
    return report;
}
