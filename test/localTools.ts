/**
 * Local tools the tests start, looked up once per `npm test` by test/globalSetup.ts (which provides
 * the result to every worker) rather than once per test file: test files share workers and reset
 * modules between files, so a lookup at module level would run again for each file that imports it.
 */
import { spawnSync } from "node:child_process";

/**
 * The python3 on PATH, resolved to the interpreter itself (a version manager's shim, such as
 * pyenv's, costs 0.4 s or more per start, and the Python tests start it a few hundred times), or
 * "" when there is none.
 */
export function resolvePython3Interpreter(): string {
    const result = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" });
    return result.status === 0 ? result.stdout.trim() : "";
}
