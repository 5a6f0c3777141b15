/**
 * Python scripts run as forks of a warm interpreter (test/fixtures/zygote.py says what a fork shares
 * with a fresh `python3 <flags> script` and what it does not; test/pythonZygote.test.ts compares the
 * two).
 *
 * Why: the tests run dozens of short scripts (the seeding Job's steps, the training Job, the setup
 * scripts). A fresh interpreter spent about 0.13 s of CPU importing urllib.request, json, hashlib and
 * the rest before doing anything (scikit-learn: 1.5 s), and the kernel spent more forking a vitest
 * worker of several hundred MB. A zygote imports them once and forks from a small process; its forks
 * leave without tearing down every module, which would copy each page they share with it. Measured
 * per file (all processes' CPU, 2 runs each): modelSeeding.test.ts 9.0 s -> 6.3-6.7 s, trainIris.test.ts
 * 6.3-6.5 s -> 5.4-5.5 s.
 *
 * One zygote per worker process and `PythonScripts`, started on first use and kept across test files
 * (vitest resets this module between files, so it lives on `globalThis`); it ends when the worker
 * does (EOF on its stdin).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { hermeticPythonFlags } from "./shared";

/** An interpreter, the flags it runs scripts with, and the modules its zygote imports once. */
export interface PythonScripts {
    /** The python3 binary. */
    readonly python: string;
    /** Its flags, as on `python3 <flags> script` (e.g. `hermeticPythonFlags`). */
    readonly flags: readonly string[];
    /**
     * Modules the zygote imports before its first fork, under its own environment (this process's): only
     * modules that read at import no variable a run sets.
     */
    readonly preload: readonly string[];
}

/**
 * Stdlib-only scripts (the seeding Job's, the setup scripts) with `hermeticPythonFlags`; the zygote
 * holds the standard library modules they import.
 */
export function hermeticScripts(python: string): PythonScripts {
    return { python, flags: hermeticPythonFlags, preload: ["hashlib", "json", "shutil", "tempfile", "urllib.error", "urllib.parse", "urllib.request"] };
}

export interface PythonRun {
    /** Exit code; negative when killed by a signal (as the zygote reports it). */
    readonly status: number;
    readonly stdout: string;
    readonly stderr: string;
}

export interface PythonRunOptions {
    /** Working directory. Default: this process's. */
    readonly cwd?: string;
    /** The whole environment of the run (not added to this process's). Default: this process's. */
    readonly env?: NodeJS.ProcessEnv;
    /** Killed (SIGKILL) after this long; the promise then rejects. Default: 60 s. */
    readonly timeoutMs?: number;
}

interface Zygote {
    readonly process: ChildProcess;
    readonly started: Map<number, (pid: number) => void>;
    readonly finished: Map<number, (code: number) => void>;
    nextId: number;
    failure?: Error;
}

const zygotes: Map<string, Zygote> = ((globalThis as Record<symbol, unknown>)[Symbol.for("inference-platform.test.pythonZygotes")] ??= new Map()) as Map<string, Zygote>;

function zygoteFor(scripts: PythonScripts): Zygote {
    const key = JSON.stringify([scripts.python, scripts.flags, scripts.preload]);
    const existing = zygotes.get(key);
    if (existing && !existing.failure) return existing;
    const { python } = scripts;
    const child = spawn(python, [...scripts.flags, path.join(__dirname, "fixtures", "zygote.py"), ...scripts.preload], { stdio: ["pipe", "pipe", "pipe"] });
    const zygote: Zygote = { process: child, started: new Map(), finished: new Map(), nextId: 0 };
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const fail = (why: string) => {
        zygote.failure ??= new Error(`the Python zygote (${python}) ${why}${stderr ? `:\n${stderr}` : ""}`);
        for (const settle of [...zygote.started.values(), ...zygote.finished.values()]) settle(Number.NaN);
    };
    child.on("error", (err) => fail(`could not start (${err.message})`));
    child.on("exit", (code, signal) => fail(`exited (${signal ?? code})`));
    createInterface({ input: child.stdout! }).on("line", (line) => {
        const message = JSON.parse(line) as { id: number; pid?: number; code?: number };
        if (message.pid !== undefined) zygote.started.get(message.id)?.(message.pid);
        else if (message.code !== undefined) zygote.finished.get(message.id)?.(message.code);
    });
    // The worker exits without waiting for it; the zygote ends at EOF.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr] as const) (stream as unknown as { unref?: () => void }).unref?.();
    zygotes.set(key, zygote);
    return zygote;
}

/**
 * `python3 <flags> <argv...>` as a fork of this worker's zygote for `scripts`: resolves with the exit
 * code and output once the run has ended, whatever its exit code; rejects only when the run could not
 * be made or timed out.
 */
export async function runPython(scripts: PythonScripts, argv: readonly string[], options: PythonRunOptions = {}): Promise<PythonRun> {
    const zygote = zygoteFor(scripts);
    const id = zygote.nextId++;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "python-run-"));
    const files = { stdout: path.join(dir, "stdout"), stderr: path.join(dir, "stderr") };
    const env = Object.fromEntries(Object.entries(options.env ?? process.env).filter((e): e is [string, string] => e[1] !== undefined));
    const pid = new Promise<number>((resolve) => zygote.started.set(id, resolve));
    const code = new Promise<number>((resolve) => zygote.finished.set(id, resolve));
    try {
        zygote.process.stdin!.write(`${JSON.stringify({ id, argv, cwd: path.resolve(options.cwd ?? process.cwd()), env, ...files })}\n`);
        const timeoutMs = options.timeoutMs ?? 60_000;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
                void pid.then((p) => p > 0 && process.kill(p, "SIGKILL"));
                reject(new Error(`python ${argv.join(" ")} timed out after ${timeoutMs} ms`));
            }, timeoutMs);
        });
        const status = await Promise.race([code, timedOut]).finally(() => clearTimeout(timer));
        if (Number.isNaN(status)) throw zygote.failure ?? new Error("the Python zygote stopped");
        return { status, stdout: fs.readFileSync(files.stdout, "utf8"), stderr: fs.readFileSync(files.stderr, "utf8") };
    } finally {
        zygote.started.delete(id);
        zygote.finished.delete(id);
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** `runPython` that rejects, with the run's stderr, unless it exits 0 (as `execFileSync` throws); resolves with stdout. */
export async function runPythonOk(scripts: PythonScripts, argv: readonly string[], options: PythonRunOptions = {}): Promise<string> {
    const run = await runPython(scripts, argv, options);
    if (run.status !== 0) throw new Error(`python ${argv.join(" ")} exited ${run.status}:\n${run.stderr}`);
    return run.stdout;
}

/**
 * A Job's containers, each a script run on its own (`runPythonOk` each): one after the other, in the
 * same directory and environment, stopping at the first that fails (the rejection carries its
 * stderr), as Kubernetes runs a pod's init containers. Resolves with their stdout, in order.
 */
export async function runPythonSteps(scripts: PythonScripts, steps: readonly (readonly string[])[], options: PythonRunOptions = {}): Promise<string> {
    let stdout = "";
    for (const step of steps) stdout += await runPythonOk(scripts, step, options);
    return stdout;
}
