/**
 * What `npm run deploy` prints when the update is done: each model's URL and ready-to-run curl lines
 * (the stack outputs `modelUrls` and `examples`, see index.ts), the inference server's URL, and the
 * next commands. Pure.
 */

/** A stack output as the Automation API returns it. */
export interface OutputValue {
    readonly value: unknown;
    readonly secret: boolean;
}

/** One entry of the `examples` output (components/exampleModels.ts `exampleInvocations`). */
interface ExampleInvocation {
    readonly url?: string;
    readonly endpointUrl?: string;
    readonly inputFile?: string;
    readonly curlViaDns?: string;
    readonly curlViaIngress?: string;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export interface OutputContext {
    readonly stack: string;
    /** Set for the project's local backend: later `pulumi` commands need it too. */
    readonly localBackendUrl?: string;
}

/** Lines to print after a successful update. */
export function renderDeployOutputs(outputs: Readonly<Record<string, OutputValue>>, context: OutputContext): string[] {
    const value = (key: string) => (outputs[key] && !outputs[key].secret ? outputs[key].value : undefined);
    const modelUrls = isMap(value("modelUrls")) ? (value("modelUrls") as Record<string, unknown>) : {};
    const examples = isMap(value("examples")) ? (value("examples") as Record<string, ExampleInvocation>) : {};
    const names = [...new Set([...Object.keys(modelUrls), ...Object.keys(examples)])].sort();
    const out: string[] = [];
    if (names.length === 0) {
        out.push("No example models in this stack (the `examples` config is empty).");
    } else {
        out.push("Models (stack outputs `modelUrls` and `examples`):", "");
        for (const name of names) {
            const ex = isMap(examples[name]) ? examples[name] : {};
            out.push(`  ${name}  ${String(modelUrls[name] ?? ex.url ?? "")}`);
            if (ex.curlViaDns) out.push(`    ${ex.curlViaDns}`);
            if (ex.curlViaIngress) out.push(`    # without DNS, through the ingress address:`, `    ${ex.curlViaIngress}`);
            out.push("");
        }
        if (value("authMode") === "jwt") out.push("authMode is jwt: set TOKEN to a token from your issuer before running the curl lines.", "");
    }
    const server = value("inferenceServerUrl");
    if (typeof server === "string") out.push(`Inference server (TF Serving + gateway): ${server}`, "");
    const backendEnv = context.localBackendUrl ? `PULUMI_BACKEND_URL=${context.localBackendUrl} ` : "";
    out.push(
        "The first requests can take a few minutes: load balancer targets register and models scale up from zero.",
        "Next:",
        ...(names.length > 0 ? [`  ${backendEnv}npm run predict -- ${names[0]} --stack ${context.stack} --input <file>    # pretty-prints the answer`] : []),
        ...(outputs.kubeconfig?.value !== null && outputs.kubeconfig !== undefined
            ? [`  ${backendEnv}pulumi stack output kubeconfig --show-secrets --stack ${context.stack} > kubeconfig.json`]
            : []),
        `  ${backendEnv}pulumi stack output --stack ${context.stack}    # every output`,
    );
    if (context.localBackendUrl) {
        out.push("", `This stack's state is in ${context.localBackendUrl}: keep that folder (and the passphrase); destroy with npm run deploy -- --stack ${context.stack} --destroy.`);
    }
    return out;
}
