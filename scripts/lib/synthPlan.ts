/**
 * plan.md: what a stack would deploy, for humans and pull-request diffs. Deterministic (no times,
 * sorted tables). It opens with the infrastructure summary (planSummary.ts), then outputs, cost,
 * policy verdict and the details; IAM documents and structured outputs are folded in <details>.
 */
import * as YAML from "yaml";
import { StackConfig } from "../../config";
import { llmWorkloadSettings } from "../../components/inferencePlatform";
import { formatSeconds } from "../../components/models/coldStart";
import { llmColdStart, qwen25Instruct05b, sizeVllm } from "../../components/models/llm";
import { maxRevisionTimeoutSeconds } from "../../components/platform/knative";
import { CostEstimate, formatCostTable } from "../../cost/estimate";
import { PlanSummary, renderSummary } from "./planSummary";
import { runPolicies } from "../../policy/policies";
import { MadeUpValue } from "./synthMocks";
import { kindOf, Model, sortKeys, Step } from "./synthModel";
import { plainValue, Registration } from "./synthRecorder";

export interface PlanInput {
    readonly project: string;
    readonly stack: string;
    readonly source: string;
    readonly secretKeys: readonly string[];
    readonly config: StackConfig;
    readonly model: Model;
    readonly outputs: Record<string, unknown>;
    readonly manifestFiles: ReadonlyMap<string, string>;
    readonly madeUpValues: readonly MadeUpValue[];
    readonly calls: Record<string, number>;
    readonly warnings: readonly string[];
    /** The infrastructure summary of the recorded resources. */
    readonly summary: PlanSummary;
    /** The cost model's estimate, or why there is none. */
    readonly cost: CostEstimate | { readonly error: string };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const cell = (s: unknown) => String(s ?? "").replace(/\|/g, "\\|").replace(/\n/g, " ");
const code = (s: unknown) => (s === undefined || s === "" ? "" : `\`${String(s).replace(/`/g, "'")}\``);
const table = (header: string[], rows: unknown[][]) => [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
];
const yamlBlock = (value: unknown) => ["```yaml", YAML.stringify(sortKeys(value), { lineWidth: 0, aliasDuplicateObjects: false }).trimEnd(), "```"];
const jsonBlock = (value: unknown) => ["```json", JSON.stringify(value, null, 2), "```"];
/** A folded block: GitHub renders the Markdown inside when blank lines surround it. */
const details = (summary: string, body: string[]) => ["<details>", `<summary>${summary}</summary>`, "", ...body, "", "</details>"];
const html = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const codeHtml = (s: string) => `<code>${html(s)}</code>`;
/** Outputs longer than this (as JSON) are pretty-printed below the table instead of inline. */
const inlineOutputLimit = 120;

function inputsOf(r: Registration): Record<string, any> {
    return plainValue(r.inputs) as Record<string, any>;
}

/** Policy JSON in an input, parsed; undefined when the input is not a policy document. */
function policyDocument(value: unknown): unknown {
    if (typeof value === "object" && value !== null && "Statement" in value) return value;
    if (typeof value !== "string") return undefined;
    try {
        const parsed = JSON.parse(value);
        return parsed && typeof parsed === "object" && "Statement" in parsed ? parsed : undefined;
    } catch {
        return undefined;
    }
}

/** Every string value in outputs that is an http(s) URL, with its path in the outputs. */
function urlsIn(value: unknown, at: string): [string, string][] {
    if (typeof value === "string") return /^https?:\/\//.test(value) ? [[at, value]] : [];
    if (Array.isArray(value)) return value.flatMap((v, i) => urlsIn(v, `${at}[${i}]`));
    if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => urlsIn(v, at ? `${at}.${k}` : k));
    return [];
}

/** The policy pack's verdict on this plan (`pulumi preview --policy-pack policy` runs the same functions). */
function policySection(resources: readonly Registration[]): string[] {
    const violations = runPolicies(resources.map((r) => ({ type: r.type, name: r.name, inputs: plainValue(r.inputs) as Record<string, unknown> })));
    if (violations.length === 0) return ["No violations (mandatory or advisory)."];
    return table(
        ["level", "policy", "resource", "message"],
        violations
            .map((v) => [v.enforcementLevel, code(v.policy), v.resource ? `${code(v.resource.type)} ${v.resource.name}` : "(stack)", v.message])
            .sort((a, b) => compare(a.join(" "), b.join(" "))),
    );
}

export function renderPlan(p: PlanInput): string {
    const { model } = p;
    const out: string[] = [];
    const push = (...lines: string[]) => out.push(...lines);
    const custom = p.model.registrations.filter((r) => r.custom);
    const components = p.model.registrations.filter((r) => !r.custom);
    const componentCount = components.filter((r) => r.type !== "pulumi:pulumi:Stack").length;

    push(
        `# Plan: ${p.project} / ${p.stack}`,
        "",
        `Offline synth of \`index.ts\` with \`${p.source}\` under Pulumi's mock runtime (\`npm run synth -- --stack ${p.stack}\`).`,
        `Platform \`${p.config.platform}\`${p.config.region ? `, region \`${p.config.region}\`` : ""}: ${custom.length} resources, ${componentCount} components, ${model.kubernetesSteps.length} Kubernetes apply steps.`,
        "",
        "## Summary",
        "",
        "What the recorded resources would create (not what the config asks for).",
        "",
        ...renderSummary(p.summary),
        "",
        "Placeholders: `<computed:TYPE:NAME.PROPERTY>` is a value only the deployment knows (ids, ARNs, endpoints, generated names);",
        "`<secret>` hides a secret; `<secure:KEY>` stands for an encrypted config value. Where the program must parse a value,",
        "the mocks use documentation values instead, listed under [Made-up values](#made-up-values).",
    );
    if (p.secretKeys.length > 0) push("", `Secure config keys (not decrypted offline): ${p.secretKeys.map(code).join(", ")}.`);

    // Warnings first: they are what a reviewer must not miss.
    const warnings = [...p.warnings, ...orderingWarnings(model)];
    if (warnings.length > 0) push("", "## Warnings", "", ...[...new Set(warnings)].sort(compare).map((w) => `- ${w}`));

    push("", "## Stack outputs", "");
    const outputKeys = Object.keys(p.outputs).sort(compare);
    const inlineText = (k: string) => (typeof p.outputs[k] === "string" ? String(p.outputs[k]) : JSON.stringify(sortKeys(p.outputs[k])));
    const folded = outputKeys.filter((k) => p.outputs[k] !== null && typeof p.outputs[k] === "object" && inlineText(k).length > inlineOutputLimit);
    if (outputKeys.length === 0) push("(none)");
    else {
        push(...table(["output", "value"], outputKeys.map((k) => [code(k), folded.includes(k) ? `(below: ${Object.keys(p.outputs[k] as object).length} entries)` : code(inlineText(k))])));
        for (const k of folded) push("", ...details(`${codeHtml(k)}`, jsonBlock(sortKeys(p.outputs[k]))));
    }

    // Each URL once, with every place it appears (stack outputs first, then component outputs).
    const componentUrls = components
        .filter((r) => r.outputs && r.type !== "pulumi:pulumi:Stack")
        .flatMap((r) => urlsIn(plainValue(r.outputs), "").map(([at, url]) => [url, `${r.type.split(":").pop()} ${r.name}: \`${at}\``] as const));
    const outputUrls = urlsIn(p.outputs, "").map(([at, url]) => [url, `stack output \`${at}\``] as const);
    const sources = new Map<string, string[]>();
    for (const [url, from] of [...outputUrls, ...componentUrls]) sources.set(url, [...(sources.get(url) ?? []), from]);
    push("", "## Model URLs", "");
    if (sources.size === 0) push("(none: no stack output or component output is an http(s) URL yet)");
    else push(...table(["URL", "from"], [...sources.entries()].sort(([a], [b]) => compare(a, b)).map(([url, from]) => [code(url), [...new Set(from)].join("; ")])));

    push("", "## Cost estimate", "", ...("error" in p.cost ? [`(no estimate: ${p.cost.error})`] : ["```text", formatCostTable(p.cost), "```"]));

    push(...llmColdStartSection(p.config));

    push("", "## Policy pack", "", ...policySection(custom));

    push("", "## Resources by type", "");
    const counts = new Map<string, number>();
    for (const r of p.model.registrations) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    push(...table(["type", "count", "kind"], [...counts.entries()].sort(([a], [b]) => compare(a, b)).map(([t, n]) => {
        const sample = p.model.registrations.find((r) => r.type === t)!;
        return [code(t), n, sample.custom ? "resource" : sample.remote ? "remote component" : "component"];
    })));

    push("", "## Kubernetes apply order", "");
    push("Every Kubernetes step in dependency order. Manifests are in `k8s/`; Helm releases and remote manifest sets are rendered by the provider at deploy time (see the next sections).", "");
    push(...table(["#", "what", "namespace/name", "file or source", "waits for"], model.kubernetesSteps.map((s) => kubernetesRow(s, p.manifestFiles, model))));

    const releases = model.kubernetesSteps.filter((s) => s.kubernetes!.kind === "helm");
    push("", "## Helm releases", "");
    if (releases.length === 0) push("(none)");
    else {
        push(...table(["#", "release", "namespace", "chart", "version", "repository"], releases.map((s) => {
            const i = inputsOf(s.registration);
            return [s.kubernetes!.number, code(i.name ?? s.registration.name), code(i.namespace), code(i.chart), code(i.version), code(i.repositoryOpts?.repo ?? (String(i.chart ?? "").startsWith("oci://") ? "(oci chart)" : ""))];
        })));
        for (const s of releases) {
            const i = inputsOf(s.registration);
            const flags = ["createNamespace", "skipCrds", "atomic", "waitForJobs", "skipAwait", "timeout", "maxHistory", "disableWebhooks"]
                .filter((k) => i[k] !== undefined)
                .map((k) => `${k}: ${JSON.stringify(i[k])}`);
            push("", `### ${s.kubernetes!.number}. ${i.name ?? s.registration.name} (${i.chart} ${i.version ?? ""})`.trimEnd(), "");
            if (flags.length > 0) push(`Options: ${flags.join(", ")}`, "");
            const valueYamlFiles = Array.isArray(i.valueYamlFiles) ? i.valueYamlFiles : [];
            if (valueYamlFiles.length > 0) push(`Value files: ${valueYamlFiles.map(code).join(", ")}`, "");
            push(...(i.values && Object.keys(i.values).length > 0 ? yamlBlock(i.values) : ["(chart defaults)"]));
        }
    }

    const remote = model.kubernetesSteps.filter((s) => s.kubernetes!.kind === "remote-manifests");
    if (remote.length > 0) {
        push("", "## Remote manifests", "", "Fetched and applied by the provider at deploy time (not rendered offline).", "");
        push(...table(["#", "resource", "type", "source"], remote.map((s) => {
            const i = inputsOf(s.registration);
            const sources = [i.file, ...(Array.isArray(i.files) ? i.files : []), i.directory].filter((x) => x !== undefined);
            const inline = i.yaml !== undefined || i.objs !== undefined ? ["(inline YAML)"] : [];
            return [s.kubernetes!.number, code(s.registration.name), code(s.registration.type), [...sources, ...inline].map(code).join(", ")];
        })));
    }

    push("", "## IAM policy documents", "");
    const policies = model.steps
        .map((s) => s.registration)
        .filter((r) => r.type.startsWith("aws:"))
        .flatMap((r) => {
            const i = inputsOf(r);
            return ["assumeRolePolicy", "policy"]
                .map((key) => [key, policyDocument(i[key])] as const)
                .filter(([, doc]) => doc !== undefined)
                .map(([key, doc]) => ({ r, key, doc }));
        });
    if (policies.length === 0) push("(none)");
    else push("Each document is folded; the summary's IAM table says who assumes which role.", "");
    for (const { r, key, doc } of policies) {
        const i = inputsOf(r);
        const about = r.type === "aws:iam/rolePolicy:RolePolicy" ? ` on role ${codeHtml(String(i.role))}` : "";
        const statements = (doc as { Statement?: unknown }).Statement;
        const count = Array.isArray(statements) ? statements.length : statements === undefined ? 0 : 1;
        push(...details(`${codeHtml(r.name)} (${codeHtml(r.type)} ${key}, ${count} statement${count === 1 ? "" : "s"})${about}`, jsonBlock(doc)), "");
    }
    const attachments = model.steps.map((s) => s.registration).filter((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment");
    if (attachments.length > 0) {
        push("Managed policy attachments:", "", ...table(["attachment", "role", "policy"], attachments.map((r) => [code(r.name), code(inputsOf(r).role), code(inputsOf(r).policyArn)])), "");
    }
    if (out[out.length - 1] === "") out.pop();

    push("", "## Made-up values", "");
    push("Documentation values the mocks used where the program needs a parseable value (RFC 5737 IPs, `x` runs for random suffixes).", "");
    if (p.madeUpValues.length === 0) push("(none)");
    else push(...table(["value", "stands for"], p.madeUpValues.map((v) => [code(v.value), v.standsFor])));

    const calls = Object.entries(p.calls);
    push("", "## Provider functions called", "");
    if (calls.length === 0) push("(none)");
    else push(...table(["function", "calls"], calls.map(([token, n]) => [code(token), n])));
    return `${out.join("\n")}\n`;
}

function kubernetesRow(s: Step, files: ReadonlyMap<string, string>, model: Model): unknown[] {
    const r = s.registration;
    const i = inputsOf(r);
    const kind = s.kubernetes!.kind;
    const waits = s.waitsFor
        .map((u) => model.stepByUrn.get(u))
        .filter((x): x is Step => x?.kubernetes !== undefined)
        .map((x) => x.kubernetes!.number)
        .sort((a, b) => a - b);
    const nonK8sWaits = s.waitsFor.filter((u) => !model.stepByUrn.get(u)?.kubernetes).length;
    const waitText = [waits.join(", "), nonK8sWaits > 0 ? `+${nonK8sWaits} other` : ""].filter(Boolean).join(" ");
    if (kind === "helm") return [s.kubernetes!.number, `Helm release (${i.chart})`, `${i.namespace ?? ""}/${i.name ?? r.name}`, "rendered at deploy", waitText];
    if (kind === "remote-manifests") return [s.kubernetes!.number, r.type.split(":").pop(), r.name, "fetched at deploy", waitText];
    const meta = (i.metadata ?? {}) as { name?: string; namespace?: string };
    const stateName = (plainValue(r.state) as { metadata?: { name?: string } }).metadata?.name;
    return [
        s.kubernetes!.number,
        `${kindOf(r)}${kind === "patch" ? " (patch)" : ""}`,
        `${meta.namespace ? `${meta.namespace}/` : ""}${meta.name ?? stateName ?? r.name}`,
        files.has(r.urn) ? `[k8s/${files.get(r.urn)}](k8s/${files.get(r.urn)})` : "",
        waitText,
    ];
}

/**
 * Objects in a namespace this stack creates that do not wait for that Namespace: Pulumi may create
 * them first, and the API server rejects them.
 */
export function orderingWarnings(model: Model): string[] {
    const namespaces = new Map<string, Step>();
    for (const s of model.kubernetesSteps) {
        if (s.kubernetes!.kind === "manifest" && kindOf(s.registration) === "Namespace") {
            const name = (inputsOf(s.registration).metadata ?? {}).name;
            if (typeof name === "string") namespaces.set(name, s);
        }
    }
    const warnings: string[] = [];
    for (const s of model.kubernetesSteps) {
        if (s.kubernetes!.kind === "remote-manifests") continue;
        const i = inputsOf(s.registration);
        const ns = s.kubernetes!.kind === "helm" ? i.namespace : i.metadata?.namespace;
        const nsStep = typeof ns === "string" ? namespaces.get(ns) : undefined;
        if (!nsStep || nsStep === s || i.createNamespace === true) continue;
        if (!s.waitsFor.includes(nsStep.registration.urn)) {
            warnings.push(`ordering: ${kindOf(s.registration)} ${s.registration.name} (step ${s.kubernetes!.number}) is in namespace '${ns}' but does not depend on its Namespace (step ${nsStep.kubernetes!.number}); it may be created first and fail`);
        }
    }
    return warnings;
}

/**
 * plan.md's "LLM cold start" section (issue 13): for the `llm` example, the estimated cold start on
 * each GPU the capacity may use, step by step, and the Knative timeouts derived from it
 * (components/models/coldStart.ts). Empty when the example is off.
 */
export function llmColdStartSection(config: StackConfig): string[] {
    if (!config.examples.includes("llm")) return [];
    const settings = llmWorkloadSettings(config);
    const { perGpu, timeouts } = llmColdStart(qwen25Instruct05b, settings.capacity, { maxRevisionTimeoutSeconds });
    const sizing = sizeVllm(qwen25Instruct05b, perGpu.map((g) => g.gpu));
    const f = formatSeconds;
    return [
        "",
        "## LLM cold start",
        "",
        `\`llm\` (${qwen25Instruct05b.repo} @ ${qwen25Instruct05b.revision.slice(0, 7)}) scales to zero with ${settings.minReplicas} warm replica(s); GPU nodes come from ` +
            `${settings.capacity.nodeProvisioning}, images are pulled in ${settings.capacity.imagePull} mode. Estimated first-request wait (planning rates, not measurements):`,
        "",
        ...table(
            ["GPU (instance family)", "node", "image pull", "weights from S3", "load + compile", "total"],
            perGpu.map(({ family, gpu, estimate: e }) => [`${gpu.name} (${family})`, f(e.nodeSeconds), f(e.imageSeconds), f(e.weightsSeconds), f(e.loadSeconds), f(e.totalSeconds)]),
        ),
        "",
        `Derived (slowest GPU, sequential pull, x2): progress deadline ${f(timeouts.progressDeadlineSeconds)}, startup probe ` +
            `${timeouts.startupProbe.failureThreshold} x ${timeouts.startupProbe.periodSeconds}s, request timeout ${f(timeouts.requestTimeoutSeconds)} ` +
            `(Knative max-revision-timeout-seconds ${maxRevisionTimeoutSeconds}).`,
        `vLLM sized for ${sizing.sizedFor.name}: --max-model-len=${sizing.maxModelLen} --gpu-memory-utilization=${sizing.gpuMemoryUtilization} --dtype=${sizing.dtype} (KV cache ~${sizing.kvCacheTokens} tokens).`,
    ];
}
