/**
 * `npm run synth -- --stack dev --diff <other out dir>`: what changed between two synth outputs, in
 * the terms a reviewer checks: summary facts (a version, a size, a CIDR, the cost), resources added
 * and removed, IAM policy statements added and removed, and every other changed input by path.
 *
 * Both sides are read from their out dirs (resources.json, and plan.md for the two values that are
 * not resources: region and cost), and summarized by this checkout's code, so an out dir written by
 * an older version of the synth (the base branch) still compares. Pure apart from `readSynthDir`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PlanSummary, ResourceRow, summarizePlan, summaryFacts } from "./planSummary";

export interface SynthSnapshot {
    readonly resources: readonly ResourceRow[];
    readonly summary: PlanSummary;
}

export type PlanChange =
    | { readonly kind: "fact"; readonly label: string; readonly before?: string; readonly after?: string }
    | { readonly kind: "added" | "removed"; readonly type: string; readonly name: string }
    | { readonly kind: "statement"; readonly change: "added" | "removed"; readonly resource: string; readonly document: string; readonly statement: string }
    | { readonly kind: "input"; readonly resource: string; readonly path: string; readonly before?: string; readonly after?: string };

/** Reads a synth out dir (`resources.json`, and `plan.md` for region and cost when present). */
export function readSynthDir(dir: string): SynthSnapshot {
    const file = path.join(dir, "resources.json");
    if (!fs.existsSync(file)) throw new Error(`${dir} is not a synth output directory (no resources.json); run npm run synth there first`);
    const json = JSON.parse(fs.readFileSync(file, "utf8")) as { project?: string; stack?: string; region?: string; resources?: ResourceRow[] };
    if (!Array.isArray(json.resources)) throw new Error(`${file} has no resources list`);
    const plan = fs.existsSync(path.join(dir, "plan.md")) ? fs.readFileSync(path.join(dir, "plan.md"), "utf8") : "";
    return snapshotOf(json, plan);
}

/** A snapshot from a parsed resources.json and the text of plan.md ("" when absent). */
export function snapshotOf(json: { project?: string; stack?: string; region?: string; resources?: ResourceRow[] }, planText: string): SynthSnapshot {
    const resources = json.resources ?? [];
    // plan.md's cost table ends with `| total | $idle | $peak | |`; its intro line names the region.
    const total = /^\| total\s+\|\s+\$(\d+(?:\.\d+)?) \|\s+\$(\d+(?:\.\d+)?) \|/m.exec(planText);
    const region = json.region ?? /region `([a-z0-9-]+)`/.exec(planText)?.[1];
    const summary = summarizePlan(resources, {
        project: json.project ?? "",
        stack: json.stack ?? "",
        region,
        cost: total ? { idlePerHour: Number(total[1]), peakPerHour: Number(total[2]) } : undefined,
    });
    return { resources, summary };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** A resource's identity across two synths: its URN without the stack and project. */
const identity = (r: ResourceRow) => r.urn.replace(/^urn:pulumi:[^:]*::[^:]*::/, "");
const shown = (v: unknown) => (v === undefined ? undefined : typeof v === "string" ? v : JSON.stringify(v));

/** Inputs that hold IAM-style policy documents (JSON with `Statement`): diffed by statement. */
function policyDocument(value: unknown): { Statement?: unknown } | undefined {
    const doc = typeof value === "string" ? (() => {
        try {
            return JSON.parse(value);
        } catch {
            return undefined;
        }
    })() : value;
    return doc && typeof doc === "object" && !Array.isArray(doc) && "Statement" in doc ? (doc as { Statement?: unknown }) : undefined;
}

/** Leaf paths of a value: `a.b[0].c` → JSON of the leaf (arrays of scalars are one leaf). */
function leaves(value: unknown, at: string, out: Map<string, unknown>): void {
    if (Array.isArray(value) && value.some((v) => v !== null && typeof v === "object")) {
        value.forEach((v, i) => leaves(v, `${at}[${i}]`, out));
        if (value.length === 0) out.set(at, []);
    } else if (value && typeof value === "object" && !Array.isArray(value)) {
        const entries = Object.entries(value);
        if (entries.length === 0) out.set(at, {});
        for (const [k, v] of entries) leaves(v, at ? `${at}.${k}` : k, out);
    } else {
        out.set(at, value);
    }
}

const canonical = (v: unknown): string => JSON.stringify(sortDeep(v));
function sortDeep(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(sortDeep);
    if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort(compare).map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]));
    return v;
}

function statementsOf(doc: { Statement?: unknown }): string[] {
    const list = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement === undefined ? [] : [doc.Statement];
    return list.map(canonical);
}

/** Everything that differs between `base` and `head`, in a stable order. */
export function diffPlans(base: SynthSnapshot, head: SynthSnapshot): PlanChange[] {
    const changes: PlanChange[] = [];

    const before = summaryFacts(base.summary);
    const after = summaryFacts(head.summary);
    for (const label of [...new Set([...before.keys(), ...after.keys()])]) {
        if (before.get(label) !== after.get(label)) changes.push({ kind: "fact", label, before: before.get(label), after: after.get(label) });
    }

    const baseBy = new Map(base.resources.map((r) => [identity(r), r]));
    const headBy = new Map(head.resources.map((r) => [identity(r), r]));
    const label = (r: ResourceRow) => `${r.type} ${r.name}`;
    for (const [id, r] of headBy) if (!baseBy.has(id)) changes.push({ kind: "added", type: r.type, name: r.name });
    for (const [id, r] of baseBy) if (!headBy.has(id)) changes.push({ kind: "removed", type: r.type, name: r.name });

    for (const [id, h] of [...headBy].sort(([a], [b]) => compare(a, b))) {
        const b = baseBy.get(id);
        if (!b) continue;
        const bi = b.inputs ?? {};
        const hi = h.inputs ?? {};
        const beforeLeaves = new Map<string, unknown>();
        const afterLeaves = new Map<string, unknown>();
        for (const key of [...new Set([...Object.keys(bi), ...Object.keys(hi)])].sort(compare)) {
            const docBefore = policyDocument(bi[key]);
            const docAfter = policyDocument(hi[key]);
            if (docBefore || docAfter) {
                const sb = docBefore ? statementsOf(docBefore) : [];
                const sa = docAfter ? statementsOf(docAfter) : [];
                for (const s of sa.filter((x) => !sb.includes(x))) changes.push({ kind: "statement", change: "added", resource: label(h), document: key, statement: s });
                for (const s of sb.filter((x) => !sa.includes(x))) changes.push({ kind: "statement", change: "removed", resource: label(h), document: key, statement: s });
                const rest = (d: { Statement?: unknown } | undefined) => canonical({ ...(d ?? {}), Statement: undefined });
                if (rest(docBefore) !== rest(docAfter)) changes.push({ kind: "input", resource: label(h), path: `${key} (outside Statement)`, before: rest(docBefore), after: rest(docAfter) });
                continue;
            }
            leaves(bi[key], key, beforeLeaves);
            leaves(hi[key], key, afterLeaves);
        }
        for (const p of [...new Set([...beforeLeaves.keys(), ...afterLeaves.keys()])].sort(compare)) {
            const x = shown(beforeLeaves.get(p));
            const y = shown(afterLeaves.get(p));
            if (x !== y) changes.push({ kind: "input", resource: label(h), path: p, before: x, after: y });
        }
    }
    return changes;
}

/** What `npm run synth -- --diff <baseDir>` prints after writing `outDir`. */
export function synthDiffReport(baseDir: string, outDir: string, stack: string, label: (dir: string) => string = (d) => d): string {
    return renderDiff(diffPlans(readSynthDir(baseDir), readSynthDir(outDir)), { title: `Plan diff: ${stack} (${label(baseDir)} → ${label(outDir)})` });
}

/** Why `dir` cannot be a `--diff` base, or undefined when it can (checked before the synth runs). */
export function diffBaseProblem(dir: string): string | undefined {
    if (!fs.existsSync(path.join(dir, "resources.json"))) return `--diff ${dir}: not a synth output directory (no resources.json); run npm run synth there first`;
    return undefined;
}

const clip = (s: string | undefined, max = 160) => (s === undefined ? "(none)" : s.length > max ? `${s.slice(0, max - 1)}…` : s);
const tick = (s: string | undefined, max?: number) => (s === undefined ? "(none)" : `\`${clip(s, max).replace(/`/g, "'")}\``);

/**
 * `before → after` with long values cut around where they differ (a changed image digest at the end
 * of a 200-character reference stays visible).
 */
function change(before: string | undefined, after: string | undefined, max = 160): string {
    if (before === undefined || after === undefined || (before.length <= max && after.length <= max)) return `${tick(before, max)} → ${tick(after, max)}`;
    let common = 0;
    while (common < before.length && common < after.length && before[common] === after[common]) common++;
    const keep = 24;
    const from = common > keep ? common - keep : 0;
    const cut = (s: string) => (from > 0 ? `…${s.slice(from)}` : s);
    return `${tick(cut(before), max)} → ${tick(cut(after), max)}`;
}

/**
 * Markdown for a pull request (and readable in a terminal). `limit` caps each list so a huge change
 * (a new stack) stays a readable comment; the counts are always complete.
 */
export function renderDiff(changes: readonly PlanChange[], options: { title: string; limit?: number }): string {
    const limit = options.limit ?? 150;
    const out = [`### ${options.title}`, ""];
    if (changes.length === 0) {
        out.push("No changes: both synths create the same resources with the same inputs.");
        return `${out.join("\n")}\n`;
    }
    const section = (heading: string, lines: string[]) => {
        if (lines.length === 0) return;
        out.push(`**${heading} (${lines.length})**`, "", ...lines.slice(0, limit), ...(lines.length > limit ? [`- … and ${lines.length - limit} more`] : []), "");
    };
    const facts = changes.filter((c): c is Extract<PlanChange, { kind: "fact" }> => c.kind === "fact");
    section("Summary", facts.map((c) => (c.before === undefined ? `- ${c.label}: added ${tick(c.after)}` : c.after === undefined ? `- ${c.label}: removed (was ${tick(c.before)})` : `- ${c.label}: ${change(c.before, c.after)}`)));
    const resourceLines = (kind: "added" | "removed") =>
        changes
            .filter((c): c is Extract<PlanChange, { kind: "added" | "removed" }> => c.kind === kind)
            .map((c) => `- \`${c.type}\` ${c.name}`)
            .sort(compare);
    section("Resources added", resourceLines("added"));
    section("Resources removed", resourceLines("removed"));
    section("IAM policy statements", changes
        .filter((c): c is Extract<PlanChange, { kind: "statement" }> => c.kind === "statement")
        .map((c) => `- ${c.change} in ${c.resource} (\`${c.document}\`): ${tick(c.statement, 400)}`));
    section("Changed inputs", changes
        .filter((c): c is Extract<PlanChange, { kind: "input" }> => c.kind === "input")
        .map((c) => `- ${c.resource}: \`${c.path}\`: ${change(c.before, c.after)}`));
    if (out[out.length - 1] === "") out.pop();
    return `${out.join("\n")}\n`;
}
