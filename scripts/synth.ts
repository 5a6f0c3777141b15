/**
 * Offline synth: `npm run synth -- --stack dev` runs index.ts under Pulumi's mock runtime with the
 * config of Pulumi.dev.yaml and writes out/dev/{resources.json,outputs.json,plan.md,k8s/*.yaml}.
 * No credentials, no Pulumi CLI. Deterministic output: diff it in pull requests.
 *
 * Options:
 *   --stack <name>        stack whose Pulumi.<name>.yaml to read (required unless --stack-file)
 *   --stack-file <path>   read config from this file instead (stack name from Pulumi.<name>.yaml or --stack)
 *   --out <dir>           output directory (default: out/<stack>)
 *   --diff <dir>          afterwards, print (stdout, Markdown) what changed against another synth's
 *                         out dir: summary facts (versions, sizes, CIDRs, cost), resources added or
 *                         removed, IAM statements added or removed, changed inputs by path
 *   --quiet               no progress lines
 *
 * Pulumi's per-promise stack traces are not formatted (scripts/lib/promiseStacks.ts says why) unless
 * PULUMI_DEBUG_PROMISE_LEAKS is set, the variable that makes Pulumi print them.
 *
 * Exit codes: 0 written; 2 invalid config (each problem on stderr) or bad arguments; 1 other failure.
 */
import * as nodeModule from "node:module";
import * as path from "node:path";
import { skipPulumiPromiseStacks } from "./lib/promiseStacks";

const repoRoot = path.resolve(__dirname, "..");

interface Args {
    stack?: string;
    stackFile?: string;
    out?: string;
    diff?: string;
    quiet: boolean;
    verbose: boolean;
}

function parseArgs(argv: string[]): Args {
    const args: Args = { quiet: false, verbose: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) throw new UsageError(`${a} needs a value`);
            return v;
        };
        const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
        switch (flag) {
            case "--stack":
            case "-s":
                args.stack = inline ?? value();
                break;
            case "--stack-file":
                args.stackFile = inline ?? value();
                break;
            case "--out":
                args.out = inline ?? value();
                break;
            case "--diff":
                args.diff = inline ?? value();
                break;
            case "--quiet":
                args.quiet = true;
                break;
            case "--verbose":
                args.verbose = true;
                break;
            case "--help":
            case "-h":
                process.stdout.write(
                    [
                        "usage: npm run synth -- --stack <name> [--stack-file <path>] [--out <dir>] [--diff <other out dir>] [--quiet]",
                        "",
                        "Runs index.ts offline under Pulumi's mock runtime and writes out/<stack>/: resources.json, outputs.json,",
                        "plan.md (opens with the infrastructure summary) and k8s/*.yaml. --diff <dir> then prints what changed",
                        "against another synth's out dir (e.g. the base branch's): versions, sizes, IAM statements, resources",
                        "added or removed, changed inputs.",
                        "",
                    ].join("\n"),
                );
                process.exit(0);
            // eslint-disable-next-line no-fallthrough
            default:
                throw new UsageError(`unknown argument '${a}'`);
        }
    }
    if (!args.stack && !args.stackFile) throw new UsageError("give --stack <name> (reads Pulumi.<name>.yaml) or --stack-file <path>");
    return args;
}

class UsageError extends Error {}

async function main(): Promise<number> {
    const started = performance.now();
    let args: Args;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`synth: ${(err as Error).message}\n`);
        return 2;
    }
    if (args.diff) {
        // Checked before the synth: no point running it when the comparison cannot happen.
        const { diffBaseProblem } = await import("./lib/planDiff");
        const problem = diffBaseProblem(path.resolve(args.diff));
        if (problem) {
            process.stderr.write(`synth: ${problem}\n`);
            return 2;
        }
    }
    // Most of a synth is loading @pulumi/* (the SDK alone pulls in TypeScript and npm's arborist);
    // V8's on-disk code cache roughly halves that on the second run.
    nodeModule.enableCompileCache?.(path.join(repoRoot, "node_modules", ".cache", "synth-compile"));
    const { describeFailure, synthesize, writeSynth } = await import("./lib/synth");
    skipPulumiPromiseStacks();
    const log = args.quiet ? () => undefined : (line: string) => process.stderr.write(`synth: ${line}\n`);
    try {
        const result = await synthesize({ stack: args.stack, stackFile: args.stackFile, log });
        const outDir = path.resolve(args.out ?? path.join(repoRoot, "out", result.stack));
        const diffBase = args.diff ? path.resolve(args.diff) : undefined;
        if (diffBase === outDir) throw new Error(`--diff ${args.diff} is the output directory itself; give the other synth's out dir`);
        writeSynth(outDir, result.files);
        const manifests = Object.keys(result.files).filter((f) => f.startsWith("k8s/")).length;
        for (const w of result.warnings) log(w);
        log(
            `wrote ${path.relative(process.cwd(), outDir) || "."}/ (resources.json, outputs.json, plan.md, ${manifests} manifests) ` +
                `in ${((performance.now() - started) / 1000).toFixed(2)} s, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
        );
        if (diffBase) {
            const { synthDiffReport } = await import("./lib/planDiff");
            process.stdout.write(synthDiffReport(diffBase, outDir, result.stack, (dir) => path.relative(process.cwd(), dir) || "."));
        }
        return 0;
    } catch (err) {
        const failure = describeFailure(err);
        if (failure.configProblems) {
            process.stderr.write(`synth: invalid configuration (${failure.configProblems.length} problem${failure.configProblems.length === 1 ? "" : "s"}):\n`);
            for (const p of failure.configProblems) process.stderr.write(`  - ${p}\n`);
            return 2;
        }
        const stackFileProblem = err instanceof Error && err.name === "StackFileError";
        process.stderr.write(`synth: ${stackFileProblem ? "" : "failed: "}${failure.message}\n`);
        if (args.verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
        else if (!stackFileProblem) process.stderr.write("synth: (run with --verbose for the stack trace)\n");
        return stackFileProblem ? 2 : 1;
    }
}

main().then(
    (code) => process.exit(code),
    (err) => {
        process.stderr.write(`synth: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
    },
);
