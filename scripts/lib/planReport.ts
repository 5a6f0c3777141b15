/**
 * The pull request's plan report (CI job summary and sticky comment): per stack, what changed
 * against the base branch (planDiff.ts) and this branch's infrastructure summary (plan.md's first
 * section). Pure apart from `readPlanReportInputs`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { diffPlans, readSynthDir, renderDiff, SynthSnapshot } from "./planDiff";

/** Marks the one comment the report lives in (updated in place on every push). */
export const planCommentMarker = "<!-- inference-platform:plan-report -->";

/** GitHub rejects comments over 65,536 characters; stay well under. */
export const maxReportLength = 60_000;

export interface StackReportInput {
    readonly stack: string;
    /** This branch's synth (out dir read), or why there is none. */
    readonly head: { readonly snapshot: SynthSnapshot; readonly planMd: string } | { readonly error: string };
    /** The base branch's synth, or why there is none. */
    readonly base: SynthSnapshot | { readonly error: string };
}

/** The `## Summary` section of a plan.md (up to the next `## ` heading), without its heading. */
export function summarySection(planMd: string): string | undefined {
    const start = planMd.search(/^## Summary$/m);
    if (start < 0) return undefined;
    const afterHeading = planMd.indexOf("\n", start) + 1;
    const next = planMd.slice(afterHeading).search(/^## /m);
    return planMd.slice(afterHeading, next < 0 ? undefined : afterHeading + next).trim();
}

/** Markdown of the report; `runUrl` links the CI run (full plans are in its artifact). */
export function renderPlanReport(stacks: readonly StackReportInput[], options: { baseRef?: string; runUrl?: string } = {}): string {
    const render = (limit: number) => {
        const out = [
            planCommentMarker,
            "## Plan: what this pull request changes",
            "",
            `Offline synth (\`npm run synth\`) of ${stacks.map((s) => `\`${s.stack}\``).join(" and ")} on this branch, compared with the base branch${options.baseRef ? ` (\`${options.baseRef}\`)` : ""}.` +
                (options.runUrl ? ` Full plans: the [CI run](${options.runUrl})'s job summary and its \`synth-*\` artifact.` : ""),
        ];
        for (const s of stacks) {
            out.push("", `### ${s.stack}`, "");
            if ("error" in s.head) {
                out.push(`This branch's synth failed: ${s.head.error}`);
                continue;
            }
            if ("error" in s.base) out.push(`No diff: the base branch's synth is not available (${s.base.error}).`);
            else out.push(renderDiff(diffPlans(s.base, s.head.snapshot), { title: "Changes against the base branch", limit }).trimEnd().replace(/^### /, "#### "));
            const summary = summarySection(s.head.planMd);
            out.push("", "<details>", "<summary>Infrastructure summary (this branch)</summary>", "", summary ?? "(plan.md has no summary section)", "", "</details>");
        }
        return `${out.join("\n")}\n`;
    };
    for (const limit of [150, 40, 10]) {
        const text = render(limit);
        if (text.length <= maxReportLength) return text;
    }
    const text = render(10);
    const note = `\n\n(Report cut at ${maxReportLength} characters; the CI run's job summary has all of it.)\n`;
    return text.slice(0, maxReportLength - note.length) + note;
}

/** Reads `<head>/<stack>` and `<base>/<stack>` synth out dirs for each stack. */
export function readPlanReportInputs(stacks: readonly string[], dirs: { readonly head: string; readonly base: string }): StackReportInput[] {
    const attempt = <T>(f: () => T): T | { error: string } => {
        try {
            return f();
        } catch (err) {
            return { error: (err as Error).message };
        }
    };
    return stacks.map((stack) => ({
        stack,
        head: attempt(() => {
            const dir = path.join(dirs.head, stack);
            return { snapshot: readSynthDir(dir), planMd: fs.readFileSync(path.join(dir, "plan.md"), "utf8") };
        }),
        base: attempt(() => readSynthDir(path.join(dirs.base, stack))),
    }));
}
