/**
 * The offline synth's command line (scripts/synth.ts is its entry point; the options are described
 * there): argument parsing, the run, and what it reports, with the exit code returned rather than
 * taken, so tests run the command in their own process.
 */
import * as nodeModule from "node:module";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "../..");

/** Where the command writes: the process's streams for the CLI, buffers in tests. */
export interface SynthCommandOutput {
    stdout(text: string): void;
    stderr(text: string): void;
}

interface Args {
    stack?: string;
    stackFile?: string;
    out?: string;
    diff?: string;
    quiet: boolean;
    verbose: boolean;
    help: boolean;
}

function parseArgs(argv: readonly string[]): Args {
    const args: Args = { quiet: false, verbose: false, help: false };
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
                args.help = true;
                return args;
            default:
                throw new UsageError(`unknown argument '${a}'`);
        }
    }
    if (!args.stack && !args.stackFile) throw new UsageError("give --stack <name> (reads Pulumi.<name>.yaml) or --stack-file <path>");
    return args;
}

class UsageError extends Error {}

const usage = [
    "usage: npm run synth -- --stack <name> [--stack-file <path>] [--out <dir>] [--diff <other out dir>] [--quiet]",
    "",
    "Runs index.ts offline under Pulumi's mock runtime and writes out/<stack>/: resources.json, outputs.json,",
    "plan.md (opens with the infrastructure summary) and k8s/*.yaml. --diff <dir> then prints what changed",
    "against another synth's out dir (e.g. the base branch's): versions, sizes, IAM statements, resources",
    "added or removed, changed inputs.",
    "",
].join("\n");

/**
 * `npm run synth` with `argv` (the arguments after the script): writes the synth, reports on
 * `output`, and returns the exit code (0 written; 2 invalid config, bad arguments or an unusable
 * --diff base; 1 other failure), which scripts/synth.ts exits with. A failed synth is reported on
 * `output`, not thrown.
 */
export async function runSynthCommand(argv: readonly string[], output: SynthCommandOutput): Promise<number> {
    const started = performance.now();
    let args: Args;
    try {
        args = parseArgs([...argv]);
    } catch (err) {
        output.stderr(`synth: ${(err as Error).message}\n`);
        return 2;
    }
    if (args.help) {
        output.stdout(usage);
        return 0;
    }
    if (args.diff) {
        // Checked before the synth: no point running it when the comparison cannot happen.
        const { diffBaseProblem } = await import("./planDiff");
        const problem = diffBaseProblem(path.resolve(args.diff));
        if (problem) {
            output.stderr(`synth: ${problem}\n`);
            return 2;
        }
    }
    // Most of a synth is loading @pulumi/* (less what scripts/lib/deferRequires.ts defers); V8's
    // on-disk code cache roughly halves that on the second run.
    nodeModule.enableCompileCache?.(path.join(repoRoot, "node_modules", ".cache", "synth-compile"));
    const { describeFailure, synthesize, writeSynth } = await import("./synth");
    const log = args.quiet ? () => undefined : (line: string) => output.stderr(`synth: ${line}\n`);
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
            const { synthDiffReport } = await import("./planDiff");
            output.stdout(synthDiffReport(diffBase, outDir, result.stack, (dir) => path.relative(process.cwd(), dir) || "."));
        }
        return 0;
    } catch (err) {
        const failure = describeFailure(err);
        if (failure.configProblems) {
            output.stderr(`synth: invalid configuration (${failure.configProblems.length} problem${failure.configProblems.length === 1 ? "" : "s"}):\n`);
            for (const p of failure.configProblems) output.stderr(`  - ${p}\n`);
            return 2;
        }
        const stackFileProblem = err instanceof Error && err.name === "StackFileError";
        output.stderr(`synth: ${stackFileProblem ? "" : "failed: "}${failure.message}\n`);
        if (args.verbose && err instanceof Error && err.stack) output.stderr(`${err.stack}\n`);
        else if (!stackFileProblem) output.stderr("synth: (run with --verbose for the stack trace)\n");
        return stackFileProblem ? 2 : 1;
    }
}
