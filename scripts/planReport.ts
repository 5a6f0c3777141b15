/**
 * `npm run plan:report -- --head plan/head --base plan/base --stacks dev,local [--out plan/report.md]`
 *
 * Writes the pull request's plan report (Markdown): per stack, what changed against the base branch's
 * synth and this branch's infrastructure summary. Both directories hold one synth out dir per stack
 * (`<dir>/<stack>/resources.json`, `plan.md`), as `npm run synth -- --stack <stack> --out` writes them.
 * A missing base synth is reported, not fatal; a missing head synth exits 1.
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { readPlanReportInputs, renderPlanReport } from "./lib/planReport";

const usage = "usage: npm run plan:report -- --head <dir> --base <dir> --stacks dev,local [--out <file>] [--base-ref <ref>] [--run-url <url>]";

function main(): number {
    const { values } = parseArgs({
        options: {
            head: { type: "string" },
            base: { type: "string" },
            stacks: { type: "string" },
            out: { type: "string" },
            "base-ref": { type: "string" },
            "run-url": { type: "string" },
            help: { type: "boolean", short: "h" },
        },
    });
    if (values.help) {
        console.log(usage);
        return 0;
    }
    if (!values.head || !values.base || !values.stacks) {
        console.error(`plan:report: --head, --base and --stacks are required\n${usage}`);
        return 2;
    }
    const stacks = values.stacks.split(",").map((s) => s.trim()).filter(Boolean);
    const inputs = readPlanReportInputs(stacks, { head: values.head, base: values.base });
    const report = renderPlanReport(inputs, { baseRef: values["base-ref"], runUrl: values["run-url"] });
    if (values.out) fs.writeFileSync(values.out, report);
    else process.stdout.write(report);
    const failed = inputs.filter((i) => "error" in i.head).map((i) => i.stack);
    if (failed.length > 0) {
        console.error(`plan:report: no synth of this branch for ${failed.join(", ")}`);
        return 1;
    }
    return 0;
}

try {
    process.exitCode = main();
} catch (err) {
    console.error(`plan:report: ${(err as Error).message}`);
    process.exitCode = 2;
}
