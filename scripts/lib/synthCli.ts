/**
 * Runs the synth CLI in a child process (Pulumi's mock runtime is process-global, so a second stack
 * needs a fresh process) and reads a synth output directory back. Used by tests and the benchmark.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const repoRoot = path.resolve(__dirname, "../..");

export interface CliRun {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** `node --import tsx <script> ...args` from the repo root. */
export function runTsx(script: string, args: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", path.resolve(repoRoot, script), ...args], {
            cwd: repoRoot,
            env: { ...process.env, ...options.env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`${script} ${args.join(" ")} timed out after ${options.timeoutMs} ms\n${stderr}`));
        }, options.timeoutMs ?? 120_000);
        child.on("error", (err) => {
            clearTimeout(timer);
            reject(err);
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr });
        });
    });
}

/** `scripts/synth.ts` with `args`. */
export function runSynthCli(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<CliRun> {
    return runTsx("scripts/synth.ts", args, options);
}

/** Every file under `dir` (relative path → content), sorted. */
export function readTree(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (rel: string) => {
        for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
            const child = rel ? `${rel}/${entry.name}` : entry.name;
            if (entry.isDirectory()) walk(child);
            else out[child] = fs.readFileSync(path.join(dir, child), "utf8");
        }
    };
    walk("");
    return out;
}
