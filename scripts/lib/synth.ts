/**
 * Offline synth: runs the real program (index.ts) under Pulumi's mock runtime with a stack's config
 * and returns everything it would deploy, rendered as files (`resources.json`, `outputs.json`,
 * `k8s/NNN-*.yaml`, `plan.md`). No credentials, no Pulumi CLI, no network.
 *
 * Pulumi's mock runtime is process-global: synthesize once per process (tests that need several
 * stacks spawn the CLI).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { ConfigError, loadConfig, StackConfig } from "../../config";
import { CostEstimate, estimateCost } from "../../cost/estimate";
import { PlanSummary, ResourceRow, summarizePlan } from "./planSummary";
import { skipPulumiPromiseStacks, skipPulumiSourcePositions } from "./promiseStacks";
import { readStackConfigFile, StackConfigInput } from "./synthConfig";
import { createSynthMocks, MadeUpValue } from "./synthMocks";
import { buildModel, manifestFileName, Model, renderManifest, sortKeys, stableJson } from "./synthModel";
import { renderPlan } from "./synthPlan";
import { hookRegistrations, plainValue, RegistrationHook } from "./synthRecorder";

/** Repository root (this file is scripts/lib/synth.ts). */
export const repoRoot = path.resolve(__dirname, "../..");

export interface SynthOptions {
    /** Stack name: reads `Pulumi.<stack>.yaml` from `root`. */
    readonly stack?: string;
    /** A stack file elsewhere (tests use temp files); the stack name comes from its file name or `stack`. */
    readonly stackFile?: string;
    /** Config given directly (skips file reading). */
    readonly config?: StackConfigInput;
    /** Repository root. Default: the repo this file lives in. */
    readonly root?: string;
    /**
     * Loads the program and returns its exports. Default: `require("<root>/index.ts")` (needs tsx);
     * vitest passes `() => import("../index")`.
     */
    readonly program?: () => unknown;
    /** Runs after the program, inside the same stack (the benchmark adds services here). */
    readonly extend?: (config: StackConfig) => void | Promise<void>;
    /** Progress lines. Default: none. */
    readonly log?: (line: string) => void;
}

export interface SynthResult {
    readonly project: string;
    readonly stack: string;
    readonly config: StackConfig;
    readonly model: Model;
    /** Stack outputs, secrets as `<secret>`. */
    readonly outputs: Record<string, unknown>;
    /** Relative path → file content; `writeSynth` puts them on disk. */
    readonly files: Record<string, string>;
    readonly madeUpValues: readonly MadeUpValue[];
    readonly warnings: readonly string[];
    /** The infrastructure summary plan.md opens with. */
    readonly summary: PlanSummary;
    readonly timings: { readonly programMs: number; readonly renderMs: number };
}

/** Resolves an exported value: Outputs awaited (secret → `<secret>`), nested values walked. */
async function resolveExport(value: unknown): Promise<unknown> {
    if (pulumi.Output.isInstance(value)) {
        const out = value as pulumi.Output<unknown> & { isSecret: Promise<boolean>; promise(): Promise<unknown> };
        if (await out.isSecret) return "<secret>";
        return resolveExport(await out.promise());
    }
    if (value instanceof Promise) return resolveExport(await value);
    if (pulumi.Resource.isInstance(value)) return `<resource:${await resolveExport((value as pulumi.Resource).urn)}>`;
    if (Array.isArray(value)) return Promise.all(value.map(resolveExport));
    if (value && typeof value === "object") {
        const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveExport(v)] as const));
        return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
    }
    return plainValue(value);
}

function exportsOf(mod: unknown): Record<string, unknown> {
    if (!mod || typeof mod !== "object") return {};
    return Object.fromEntries(Object.entries(mod as Record<string, unknown>).filter(([k]) => k !== "__esModule" && k !== "default"));
}

/** Runs the program under mocks and renders the result. Throws `ConfigError` for invalid config. */
export async function synthesize(options: SynthOptions): Promise<SynthResult> {
    const log = options.log ?? (() => undefined);
    const root = options.root ?? repoRoot;
    const input = options.config ?? readStackConfigFile({ root, stack: options.stack, stackFile: options.stackFile });
    log(`config: ${path.relative(process.cwd(), input.source) || input.source} (${Object.keys(input.config).length} keys${input.secretKeys.length ? `, ${input.secretKeys.length} secret as placeholders` : ""})`);

    // Validate first: the same function the program uses, so a bad stack fails before any resource.
    const prefix = `${input.project}:`;
    const stackConfig = loadConfig(
        {
            get: (key) => (key.startsWith("aws:") ? input.config[key] : input.config[`${prefix}${key}`]),
            keys: () => Object.keys(input.config).filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)),
        },
        input.project,
        input.stack,
    );

    const warnings: string[] = [];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumiLog = require("@pulumi/pulumi/log");
    const originalWarn = pulumiLog.warn;
    const originalError = pulumiLog.error;
    pulumiLog.warn = (msg: string) => {
        warnings.push(`warning: ${msg}`);
        return Promise.resolve();
    };
    pulumiLog.error = (msg: string) => {
        warnings.push(`error: ${msg}`);
        return Promise.resolve();
    };
    const asyncFailures: unknown[] = [];
    const onRejection = (reason: unknown) => asyncFailures.push(reason);
    process.on("unhandledRejection", onRejection);

    // Under mocks nothing reads the stack traces Pulumi captures per promise and per resource.
    skipPulumiPromiseStacks();
    skipPulumiSourcePositions();
    const mocks = createSynthMocks({ region: stackConfig.region });
    const started = performance.now();
    let hook: RegistrationHook | undefined;
    let rawOutputs: Record<string, unknown> = {};
    try {
        pulumi.runtime.setAllConfig(input.config, input.secretKeys);
        await pulumi.runtime.setMocks(mocks, input.project, input.stack, false);
        hook = hookRegistrations();
        const program = options.program ?? (() => require(path.join(root, "index.ts")));
        log(`running ${options.program ? "program" : "index.ts"} under mocks`);
        let captured: Record<string, unknown> = {};
        await pulumi.runtime.runInPulumiStack(async () => {
            captured = exportsOf(await program());
            await options.extend?.(stackConfig);
            return captured;
        });
        await hook.settle();
        rawOutputs = captured;
    } finally {
        pulumiLog.warn = originalWarn;
        pulumiLog.error = originalError;
    }
    const outputs = (await resolveExport(rawOutputs)) as Record<string, unknown>;
    await hook!.settle();
    process.off("unhandledRejection", onRejection);
    if (asyncFailures.length > 0) {
        const first = asyncFailures[0];
        throw first instanceof Error ? first : new Error(String(first));
    }
    const programMs = performance.now() - started;
    log(`${hook!.registrations.length} resources registered in ${(programMs / 1000).toFixed(2)} s`);

    const renderStart = performance.now();
    const model = buildModel(hook!.registrations);
    const files: Record<string, string> = {};
    const manifestFiles = new Map<string, string>();
    for (const step of model.kubernetesSteps) {
        const kind = step.kubernetes!.kind;
        if (kind !== "manifest" && kind !== "patch") continue;
        const manifest = renderManifest(step.registration);
        const file = manifestFileName(step, manifest);
        manifestFiles.set(step.registration.urn, file);
        const header = [
            `# Apply step ${step.kubernetes!.number} (plan.md lists the order). Rendered offline from the inputs of`,
            `# ${step.registration.type} "${step.registration.name}".`,
            kind === "patch" ? "# Server-side-apply patch: only these fields are applied to an object that already exists." : undefined,
            "# <computed:...> marks values known only after deploy; see plan.md for made-up documentation values.",
        ].filter((l): l is string => l !== undefined);
        files[`k8s/${file}`] = `${header.join("\n")}\n${YAML.stringify(manifest, { lineWidth: 0, aliasDuplicateObjects: false })}`;
    }
    const rows = resourcesJson(model, manifestFiles);
    files["resources.json"] = stableJson({
        project: input.project,
        stack: input.stack,
        // The default AWS provider's region (aws:region): not a resource input, but where they all go.
        region: stackConfig.platform === "eks" ? stackConfig.region : undefined,
        placeholders: "<computed:TYPE:NAME.PROPERTY> = known only after deploy; <secret> = secret value; see plan.md for documentation values (192.0.2.x, xxxxxxxx suffixes)",
        resources: rows,
    });
    files["outputs.json"] = stableJson(outputs);
    const madeUpValues = mocks.madeUpValues();
    let cost: CostEstimate | { error: string };
    try {
        cost = estimateCost(stackConfig);
    } catch (err) {
        cost = { error: (err as Error).message };
    }
    // From the rows as written (plain values), so `--diff` can summarize an out dir the same way.
    const summary = summarizePlan(JSON.parse(stableJson(rows)) as ResourceRow[], {
        project: input.project,
        stack: input.stack,
        region: stackConfig.region,
        cost: "error" in cost ? undefined : { idlePerHour: cost.idlePerHour, peakPerHour: cost.peakPerHour },
    });
    files["plan.md"] = renderPlan({
        project: input.project,
        stack: input.stack,
        source: path.relative(root, input.source) || input.source,
        secretKeys: input.secretKeys,
        config: stackConfig,
        model,
        outputs,
        manifestFiles,
        madeUpValues,
        calls: mocks.calls(),
        warnings,
        summary,
        cost,
    });
    // Absolute paths (Docker build contexts, chart paths) would differ between checkouts.
    for (const [file, content] of Object.entries(files)) files[file] = content.split(root).join("<repo>");
    const renderMs = performance.now() - renderStart;
    log(`rendered ${manifestFiles.size} manifests, ${model.steps.length} steps in ${(renderMs / 1000).toFixed(2)} s`);
    return { project: input.project, stack: input.stack, config: stackConfig, model, outputs, files, madeUpValues, warnings, summary, timings: { programMs, renderMs } };
}

function resourcesJson(model: Model, manifestFiles: ReadonlyMap<string, string>): unknown[] {
    const stepOf = new Map(model.steps.map((s) => [s.registration.urn, s]));
    // Apply order first; components (not steps) follow, sorted by URN.
    const components = model.registrations.filter((r) => !stepOf.has(r.urn)).sort((a, b) => (a.urn < b.urn ? -1 : 1));
    const rows = [...model.steps.map((s) => s.registration), ...components];
    return rows.map((r) => {
        const step = stepOf.get(r.urn);
        const options = Object.fromEntries(
            Object.entries(r.options).filter(([, v]) => v !== false && v !== "" && v !== undefined && !(Array.isArray(v) && v.length === 0)),
        );
        return {
            order: step?.order,
            kubernetesStep: step?.kubernetes?.number,
            manifest: manifestFiles.has(r.urn) ? `k8s/${manifestFiles.get(r.urn)}` : undefined,
            urn: r.urn,
            type: r.type,
            name: r.name,
            custom: r.custom,
            remote: r.remote || undefined,
            parent: r.parent || undefined,
            provider: r.provider || undefined,
            dependencies: [...new Set(r.dependencies)].sort(),
            aliases: r.aliases.length > 0 ? [...r.aliases].sort() : undefined,
            waitsFor: step?.waitsFor.length ? step.waitsFor : undefined,
            inputs: sortKeys(plainValue(r.inputs)),
            outputs: r.outputs && Object.keys(r.outputs).length > 0 && !r.custom ? sortKeys(plainValue(r.outputs)) : undefined,
            options: Object.keys(options).length > 0 ? sortKeys(options) : undefined,
        };
    });
}

/**
 * Writes `files` under `outDir`, replacing an earlier synth there. Refuses to clear a directory that
 * is not empty and holds no `resources.json` (not ours).
 */
export function writeSynth(outDir: string, files: Record<string, string>): void {
    if (fs.existsSync(outDir)) {
        const entries = fs.readdirSync(outDir);
        if (entries.length > 0 && !entries.includes("resources.json")) {
            throw new Error(`${outDir} is not empty and holds no resources.json: not clearing it`);
        }
        fs.rmSync(outDir, { recursive: true, force: true });
    }
    for (const [rel, content] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) {
        const file = path.join(outDir, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, content);
    }
}

/** One line per problem for a config error; other errors as their message. */
export function describeFailure(err: unknown): { configProblems?: readonly string[]; message: string } {
    if (err instanceof ConfigError || (err instanceof Error && err.name === "ConfigError" && Array.isArray((err as ConfigError).problems))) {
        return { configProblems: (err as ConfigError).problems, message: err.message };
    }
    return { message: err instanceof Error ? err.message : String(err) };
}
