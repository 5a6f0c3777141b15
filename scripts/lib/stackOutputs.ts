/**
 * The stack outputs the scripts read, by convention with the program (index.ts):
 *
 *   modelUrls:  { [name]: "http://<name>.<namespace>.<domain>" }
 *   ingressIp:  "<ip or load balancer host name>"
 *   examples:   { [name]: { url, protocol: "v1" | "v2", path } }
 *   kubeconfig: kubeconfig object or JSON/YAML string (eks; may be a secret)
 *
 * `readStackOutputs` reads them through the Automation API (needs the Pulumi CLI and a login).
 */
import { UserError } from "./http";

/** KServe's v1 and v2 protocols, or the OpenAI API of generative models (`/openai/v1/...`). */
export type Protocol = "v1" | "v2" | "openai";

export interface ExampleEndpoint {
    readonly url: string;
    readonly protocol: Protocol;
    /** Request path, e.g. `/v2/models/sklearn-iris/infer`. */
    readonly path: string;
    /** Request body file relative to the project (`examples/iris-input.json`), when the stack says. */
    readonly inputFile?: string;
}

/**
 * One `examples` entry: `{url, protocol, path}` (the agreed shape), also accepting the fields of
 * `exampleInvocations()` (`endpointUrl`, `inputFile`), where the protocol follows from the path.
 */
function exampleEndpoint(value: unknown): ExampleEndpoint | undefined {
    if (!isRecord(value) || typeof value.url !== "string") return undefined;
    let path = typeof value.path === "string" ? value.path : undefined;
    if (path === undefined && typeof value.endpointUrl === "string") {
        try {
            const u = new URL(value.endpointUrl);
            path = `${u.pathname}${u.search}`;
        } catch {
            return undefined;
        }
    }
    if (path === undefined || !path.startsWith("/")) return undefined;
    const protocol = value.protocol ?? (path.startsWith("/v2/") ? "v2" : path.startsWith("/v1/") ? "v1" : path.startsWith("/openai/") ? "openai" : undefined);
    if (protocol !== "v1" && protocol !== "v2" && protocol !== "openai") return undefined;
    return { url: value.url, protocol, path, ...(typeof value.inputFile === "string" ? { inputFile: value.inputFile } : {}) };
}

export interface PlatformOutputs {
    readonly modelUrls: Readonly<Record<string, string>>;
    readonly ingressIp: string | undefined;
    readonly examples: Readonly<Record<string, ExampleEndpoint>>;
    readonly kubeconfig: unknown;
    /** Every output, unwrapped. */
    readonly raw: Readonly<Record<string, unknown>>;
}

/** Turns `stack.outputs()` ({key: {value, secret}}) or a plain object into typed outputs; throws on wrong shapes. */
export function platformOutputs(outputs: Readonly<Record<string, unknown>>): PlatformOutputs {
    const raw: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(outputs)) {
        raw[key] = entry !== null && typeof entry === "object" && "value" in (entry as object) ? (entry as { value: unknown }).value : entry;
    }
    const problems: string[] = [];
    const modelUrls: Record<string, string> = {};
    if (raw.modelUrls !== undefined) {
        if (!isRecord(raw.modelUrls)) problems.push("modelUrls: expected a map of name → URL");
        else for (const [k, v] of Object.entries(raw.modelUrls)) {
            if (typeof v === "string") modelUrls[k] = v;
            else problems.push(`modelUrls.${k}: expected a URL string`);
        }
    }
    const examples: Record<string, ExampleEndpoint> = {};
    if (raw.examples !== undefined) {
        if (!isRecord(raw.examples)) problems.push("examples: expected a map of name → {url, protocol, path}");
        else for (const [k, v] of Object.entries(raw.examples)) {
            const endpoint = exampleEndpoint(v);
            if (endpoint) examples[k] = endpoint;
            else problems.push(`examples.${k}: expected {url: string, protocol: "v1" | "v2" | "openai", path: "/..."} (or {url, endpointUrl})`);
        }
    }
    let ingressIp: string | undefined;
    if (raw.ingressIp !== undefined && raw.ingressIp !== null && raw.ingressIp !== "") {
        if (typeof raw.ingressIp !== "string") problems.push("ingressIp: expected a string");
        else ingressIp = raw.ingressIp;
    }
    if (problems.length > 0) throw new UserError(`unexpected stack outputs:\n  - ${problems.join("\n  - ")}`);
    // The local platform exports kubeconfig: null.
    return { modelUrls, ingressIp, examples, kubeconfig: raw.kubeconfig ?? undefined, raw };
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Reads a stack's outputs through the Automation API (the Pulumi CLI must be installed and logged in). */
export async function readStackOutputs(stackName: string, workDir: string): Promise<PlatformOutputs> {
    // Loaded lazily: the Automation API pulls in a lot and `--url` runs never need it.
    const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
    try {
        const stack = await LocalWorkspace.selectStack({ stackName, workDir });
        return platformOutputs(await stack.outputs());
    } catch (err) {
        if (err instanceof UserError) throw err;
        throw new UserError(`could not read the outputs of stack '${stackName}' in ${workDir} (or pass --url): ${automationErrorSummary(err)}`);
    }
}

/**
 * One line for an Automation API failure. Its CommandError message is `code: N\n stdout: ...\n
 * stderr: ...`; the useful part is the CLI's `error:` line, or the fact that there is no CLI.
 */
export function automationErrorSummary(err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    if (/spawn pulumi ENOENT|ENOENT: pulumi/.test(message)) return "the Pulumi CLI is not installed or not on PATH (https://www.pulumi.com/docs/install/)";
    const errorLine = message.split("\n").map((l) => l.trim()).find((l) => /^error:/i.test(l));
    if (errorLine) return errorLine;
    const stderr = /stderr:\s*([^\n]+)/.exec(message)?.[1]?.trim();
    if (stderr) return stderr;
    return message.split("\n").find((l) => l.trim())?.trim() ?? message;
}
