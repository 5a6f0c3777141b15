/**
 * Runs once per `npm test` (vitest `globalSetup`), before any test file:
 * - says once, in one line, why tests against upstream files are skipped when ../shared/schemas is
 *   absent (test/shared.ts);
 * - provides a directory that lives as long as the run (emptied on each watch-mode rerun), where
 *   test/synthOnce.ts shares CLI synths between files and workers;
 * - looks up the local python3 once (test/localTools.ts), for every worker.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { TestProject } from "vitest/node";
import { resolvePython3Interpreter } from "./localTools";
import { sharedSchemasPresent, sharedSchemasSkipMessage } from "./upstreamFiles";

export default function setup(project: TestProject): () => void {
    if (!sharedSchemasPresent) process.stderr.write(`${sharedSchemasSkipMessage}\n`);
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "inference-platform-test-"));
    project.provide("runDir", runDir);
    project.provide("python3Interpreter", resolvePython3Interpreter());
    // Watch mode: a rerun after an edit must synthesize the edited program, not reuse the last run's.
    project.onTestsRerun(() => {
        fs.rmSync(runDir, { recursive: true, force: true });
        fs.mkdirSync(runDir);
    });
    return () => fs.rmSync(runDir, { recursive: true, force: true });
}
