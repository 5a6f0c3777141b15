/**
 * A minimal Kubernetes API client for the end-to-end run: enough to list KServe InferenceServices
 * and wait until they are Ready. No client library: it reads the kubeconfig the stack exports
 * (server, CA, and either a static token, client certificates, or an `exec` credential plugin such
 * as `aws eks get-token`), and GETs
 * `/apis/serving.kserve.io/v1beta1/namespaces/<ns>/inferenceservices`.
 */
import { execFile } from "node:child_process";
import { parse as parseYaml } from "yaml";
import { excerpt, NetworkError, nodeTransport, parseHttpUrl, Transport, UserError } from "./http";

export interface ExecPlugin {
    readonly command: string;
    readonly args: readonly string[];
    readonly env: Readonly<Record<string, string>>;
    readonly apiVersion: string;
}

/** How to reach and authenticate to one cluster (the current context of a kubeconfig). */
export interface KubeAccess {
    readonly server: string;
    readonly ca: string | undefined;
    readonly insecure: boolean;
    readonly token: string | undefined;
    readonly cert: string | undefined;
    readonly key: string | undefined;
    readonly exec: ExecPlugin | undefined;
}

function b64(value: unknown): string | undefined {
    return typeof value === "string" && value ? Buffer.from(value, "base64").toString("utf8") : undefined;
}

function named(list: unknown, name: string, what: string): Record<string, any> {
    if (!Array.isArray(list)) throw new UserError(`kubeconfig has no ${what}s list`);
    const entry = list.find((e) => e && e.name === name);
    if (!entry) throw new UserError(`kubeconfig has no ${what} named '${name}'`);
    return entry;
}

/**
 * Reads a kubeconfig (object, JSON or YAML text) down to what one context needs. File paths in
 * the kubeconfig (`certificate-authority`, `tokenFile`) are not followed: the stack's output
 * inlines everything, and kind's kubeconfig does too.
 */
export function kubeAccessFromConfig(kubeconfig: unknown, context?: string): KubeAccess {
    let config: any = kubeconfig;
    if (typeof kubeconfig === "string") {
        try {
            config = parseYaml(kubeconfig);
        } catch (err) {
            throw new UserError(`kubeconfig is neither JSON nor YAML: ${(err as Error).message}`);
        }
    }
    if (!config || typeof config !== "object") throw new UserError("kubeconfig is empty");
    const contextName = context ?? config["current-context"];
    if (!contextName) throw new UserError("kubeconfig has no current-context (pass a context)");
    const ctx = named(config.contexts, contextName, "context").context ?? {};
    const cluster = named(config.clusters, ctx.cluster, "cluster").cluster ?? {};
    const user = ctx.user !== undefined ? named(config.users, ctx.user, "user").user ?? {} : {};
    if (typeof cluster.server !== "string") throw new UserError(`kubeconfig cluster '${ctx.cluster}' has no server`);
    parseHttpUrl(cluster.server, "kubeconfig server");
    let exec: ExecPlugin | undefined;
    if (user.exec) {
        if (typeof user.exec.command !== "string") throw new UserError("kubeconfig exec plugin has no command");
        const env: Record<string, string> = {};
        for (const e of user.exec.env ?? []) if (e && typeof e.name === "string") env[e.name] = String(e.value ?? "");
        exec = {
            command: user.exec.command,
            args: Array.isArray(user.exec.args) ? user.exec.args.map(String) : [],
            env,
            apiVersion: user.exec.apiVersion ?? "client.authentication.k8s.io/v1beta1",
        };
    }
    return {
        server: cluster.server.replace(/\/$/, ""),
        ca: b64(cluster["certificate-authority-data"]),
        insecure: cluster["insecure-skip-tls-verify"] === true,
        token: typeof user.token === "string" ? user.token : undefined,
        cert: b64(user["client-certificate-data"]),
        key: b64(user["client-key-data"]),
        exec,
    };
}

export type ExecRunner = (command: string, args: readonly string[], env: Record<string, string>) => Promise<string>;

export const defaultExecRunner: ExecRunner = (command, args, env) =>
    new Promise((resolve, reject) => {
        execFile(command, [...args], { env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
            if (!err) return resolve(stdout);
            const code = (err as NodeJS.ErrnoException).code;
            reject(new UserError(code === "ENOENT"
                ? `the kubeconfig gets its token by running '${command}', which is not installed (for EKS: install the AWS CLI)`
                : `'${command} ${args.join(" ")}' failed: ${excerpt(stderr || err.message)}`));
        });
    });

/** Runs an exec credential plugin (e.g. `aws eks get-token`) and returns its ExecCredential token and expiry. */
export async function execToken(plugin: ExecPlugin, run: ExecRunner = defaultExecRunner): Promise<{ token: string; expiresAt: number | undefined }> {
    const execInfo = JSON.stringify({ apiVersion: plugin.apiVersion, kind: "ExecCredential", spec: { interactive: false } });
    const stdout = await run(plugin.command, plugin.args, { ...plugin.env, KUBERNETES_EXEC_INFO: execInfo });
    let credential: any;
    try {
        credential = JSON.parse(stdout);
    } catch {
        throw new UserError(`'${plugin.command}' did not print an ExecCredential (JSON): ${excerpt(stdout, 120)}`);
    }
    const token = credential?.status?.token;
    if (typeof token !== "string" || !token) throw new UserError(`'${plugin.command}' printed an ExecCredential without status.token`);
    const expiry = Date.parse(credential.status.expirationTimestamp ?? "");
    return { token, expiresAt: Number.isNaN(expiry) ? undefined : expiry };
}

export class KubeClient {
    private cached: { token: string; expiresAt: number | undefined } | undefined;

    constructor(
        private readonly access: KubeAccess,
        private readonly transport: Transport = nodeTransport,
        private readonly runExec: ExecRunner = defaultExecRunner,
        private readonly clock: () => number = Date.now,
    ) {}

    private async bearer(): Promise<string | undefined> {
        if (this.access.token) return this.access.token;
        if (!this.access.exec) return undefined;
        // EKS tokens live 15 minutes and a readiness wait can be longer: refresh a minute early.
        if (!this.cached || (this.cached.expiresAt !== undefined && this.cached.expiresAt - 60_000 <= this.clock())) {
            this.cached = await execToken(this.access.exec, this.runExec);
        }
        return this.cached.token;
    }

    /** GET a JSON API path; throws KubeApiError with the status on non-2xx answers. */
    async getJson(path: string, signal?: AbortSignal): Promise<unknown> {
        const token = await this.bearer();
        const response = await this.transport({
            method: "GET",
            url: `${this.access.server}${path}`,
            headers: { accept: "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
            ca: this.access.ca,
            cert: this.access.cert,
            key: this.access.key,
            insecure: this.access.insecure,
            timeoutMs: 30_000,
            signal,
        });
        if (response.status < 200 || response.status >= 300) {
            throw new KubeApiError(response.status, `GET ${path} answered HTTP ${response.status}: ${excerpt(response.body, 200)}`);
        }
        try {
            return JSON.parse(response.body);
        } catch {
            throw new KubeApiError(response.status, `GET ${path} answered a body that is not JSON: ${excerpt(response.body, 120)}`);
        }
    }

    listInferenceServices(namespace: string, signal?: AbortSignal): Promise<unknown> {
        return this.getJson(`/apis/serving.kserve.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/inferenceservices`, signal);
    }
}

export class KubeApiError extends UserError {
    constructor(public readonly status: number, message: string) {
        super(message);
    }
}

export interface Readiness {
    readonly ready: readonly string[];
    /** name → why it is not ready ("not found", or the Ready condition's reason and message). */
    readonly notReady: Readonly<Record<string, string>>;
}

/** Which of `names` have a `Ready=True` condition in an InferenceServiceList. */
export function readinessOf(list: unknown, names: readonly string[]): Readiness {
    const items: any[] = Array.isArray((list as any)?.items) ? (list as any).items : [];
    const ready: string[] = [];
    const notReady: Record<string, string> = {};
    for (const name of names) {
        const item = items.find((i) => i?.metadata?.name === name);
        if (!item) {
            notReady[name] = "not found";
            continue;
        }
        const conditions: any[] = Array.isArray(item.status?.conditions) ? item.status.conditions : [];
        const condition = conditions.find((c) => c?.type === "Ready");
        if (condition?.status === "True") ready.push(name);
        else notReady[name] = condition
            ? `Ready=${condition.status}${condition.reason ? ` (${condition.reason})` : ""}${condition.message ? `: ${condition.message}` : ""}`
            : "no Ready condition yet";
    }
    return { ready, notReady };
}

export interface WaitOptions {
    readonly names: readonly string[];
    /** Lists the InferenceServices (e.g. `() => client.listInferenceServices(ns)`). */
    readonly list: (signal?: AbortSignal) => Promise<unknown>;
    /** Default 10 s. */
    readonly intervalMs?: number;
    /** Default 20 minutes (first model pulls and node scale-ups are slow). */
    readonly timeoutMs?: number;
    readonly signal?: AbortSignal;
    readonly clock?: () => number;
    readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
    readonly onPoll?: (readiness: Readiness, attempt: number) => void;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason ?? new Error("aborted"));
        const timer = setTimeout(() => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
        }, ms);
        const onAbort = () => {
            clearTimeout(timer);
            reject(signal?.reason ?? new Error("aborted"));
        };
        signal?.addEventListener("abort", onAbort, { once: true });
    });
}

/**
 * Polls until every name is Ready; returns the number of polls. Server errors (5xx, 429) and
 * network errors are retried until the deadline; other API errors (401, 403, 404) end the wait.
 */
export async function waitForReady(options: WaitOptions): Promise<number> {
    const clock = options.clock ?? Date.now;
    const pause = options.sleep ?? sleep;
    const interval = options.intervalMs ?? 10_000;
    const deadline = clock() + (options.timeoutMs ?? 20 * 60_000);
    let last: Readiness | undefined;
    let lastError: string | undefined;
    for (let attempt = 1; ; attempt++) {
        options.signal?.throwIfAborted();
        try {
            last = readinessOf(await options.list(options.signal), options.names);
            lastError = undefined;
            options.onPoll?.(last, attempt);
            if (Object.keys(last.notReady).length === 0) return attempt;
        } catch (err) {
            // Aborted mid-request: report why we stopped, not the socket's AbortError.
            if (options.signal?.aborted) throw options.signal.reason ?? err;
            const transient = err instanceof NetworkError || (err instanceof KubeApiError && (err.status === 429 || err.status >= 500));
            if (!transient) throw err;
            lastError = (err as Error).message;
        }
        if (clock() + interval > deadline) {
            const pending = last
                ? Object.entries(last.notReady).map(([n, why]) => `${n}: ${why}`).join("; ")
                : "never listed";
            throw new UserError(
                `InferenceServices not Ready after ${Math.round((options.timeoutMs ?? 20 * 60_000) / 1000)} s (${attempt} polls): ${pending}` +
                (lastError ? `; last error: ${lastError}` : ""),
            );
        }
        await pause(interval, options.signal);
    }
}
