/**
 * The upstream data files in `../shared/schemas` (a sibling of the checkout: charts' values and
 * schemas, CRDs, ConfigMaps, reference IAM), read in place and never copied into the repo.
 *
 * Every test that reads them goes through this module:
 * - one presence check and one skip message (`sharedSchemasSkipMessage`), printed once per run by
 *   test/globalSetup.ts; suites use `describeWithSharedSchemas` / `itWithSharedSchemas`;
 * - each component's folder is derived from the version the stack pins (versions.ts), so
 *   moving a pin makes the tests read that version's files, or fail when they are not there (an
 *   absent folder for a pinned version is an error, not a skip: only an absent `../shared/schemas`
 *   skips).
 */
import { spawnSync } from "node:child_process";
import { describe, it } from "vitest";
import { sharedSchemasPresent } from "./upstreamFiles";

export * from "./upstreamFiles";

/** A `describe` that is skipped (with `sharedSchemasSkipMessage`, printed once) when ../shared/schemas is absent. */
export const describeWithSharedSchemas = describe.skipIf(!sharedSchemasPresent);
/** An `it` that is skipped (with `sharedSchemasSkipMessage`, printed once) when ../shared/schemas is absent. */
export const itWithSharedSchemas = it.skipIf(!sharedSchemasPresent);

/**
 * The one wording for tests skipped because a local tool is missing (python3, scikit-learn, sh):
 * `skipped: <what> need <needs>`, printed once per file that skips.
 */
export function noteSkippedForMissingTool(what: string, needs: string): void {
    process.stderr.write(`skipped: ${what} need ${needs}\n`);
}

/**
 * The python3 on PATH, resolved to the interpreter itself (a version manager's shim, such as
 * pyenv's, costs 0.4 s or more per start, and the Python tests start it a few hundred times), or
 * undefined when there is none.
 */
export const python3Interpreter: string | undefined = ((r) => (r.status === 0 && r.stdout.trim() ? r.stdout.trim() : undefined))(
    spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }),
);
