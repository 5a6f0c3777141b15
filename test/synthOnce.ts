/**
 * The synth CLI's output for a stack, produced at most once per `npm test` and shared by every test
 * file and worker that reads it (a CLI synth is a fresh Node process that loads @pulumi/* and runs the
 * whole program: seconds of CPU each). The first caller in the run spawns `npm run synth`'s script;
 * the others, in any worker, wait for its result. test/globalSetup.ts provides the run's directory.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { inject } from "vitest";
import { readTree, runSynthCli } from "../scripts/lib/synthCli";

declare module "vitest" {
    export interface ProvidedContext {
        /** A directory that lives as long as this `npm test` run (test/globalSetup.ts). */
        runDir: string;
    }
}

export interface CliSynth {
    /** Where the CLI wrote its output (`--out`). */
    readonly dir: string;
    /** Exit code and stderr of `node --import tsx scripts/synth.ts --stack <stack> --out <dir>`. */
    readonly code: number | null;
    readonly stderr: string;
}

const inProcess = new Map<string, Promise<CliSynth>>();

/** `scripts/synth.ts --stack <stack>`, run once per test run; resolves when its output is complete. */
export function synthCliOnce(stack: string, timeoutMs = 240_000): Promise<CliSynth> {
    let pending = inProcess.get(stack);
    if (!pending) {
        pending = runOrWait(stack, timeoutMs);
        inProcess.set(stack, pending);
    }
    return pending;
}

/** Every file the CLI wrote for `stack` (relative path → content). */
export async function synthCliFiles(stack: string): Promise<Record<string, string>> {
    const run = await synthCliOnce(stack);
    if (run.code !== 0) throw new Error(`npm run synth -- --stack ${stack} failed (exit ${run.code}):\n${run.stderr}`);
    return readTree(run.dir);
}

async function runOrWait(stack: string, timeoutMs: number): Promise<CliSynth> {
    const base = path.join(inject("runDir"), `synth-${stack}`);
    const resultFile = `${base}.json`;
    let owner = false;
    try {
        fs.mkdirSync(`${base}.lock`); // atomic: exactly one process in the run gets to run the CLI
        owner = true;
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    if (owner) {
        const dir = path.join(base, "out");
        const run = await runSynthCli(["--stack", stack, "--out", dir], { timeoutMs });
        const result: CliSynth = { dir, code: run.code, stderr: run.stderr };
        fs.writeFileSync(`${resultFile}.tmp`, JSON.stringify(result));
        fs.renameSync(`${resultFile}.tmp`, resultFile); // readers never see a partial result
        return result;
    }
    for (const started = Date.now(); !fs.existsSync(resultFile); ) {
        if (Date.now() - started > timeoutMs) throw new Error(`waited ${timeoutMs} ms for another worker's synth of ${stack}`);
        await new Promise((r) => setTimeout(r, 50));
    }
    return JSON.parse(fs.readFileSync(resultFile, "utf8")) as CliSynth;
}
