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
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { describe, inject, it } from "vitest";
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

declare module "vitest" {
    export interface ProvidedContext {
        /** The python3 interpreter (test/localTools.ts), or "" when there is none. */
        python3Interpreter: string;
    }
}

/**
 * The python3 on PATH, resolved to the interpreter itself (test/localTools.ts says why), or
 * undefined when there is none. Looked up once per run by test/globalSetup.ts.
 */
export const python3Interpreter: string | undefined = inject("python3Interpreter") || undefined;

/**
 * Flags for a python3 that runs a script against the stand-ins (test/fixtures/python-stubs,
 * test/fixtures/s3stub): `-S`, no `site` module, so the machine's site-packages are out of reach
 * and the script imports the stand-ins and the standard library only, never a real boto3 or
 * scikit-learn that happens to be installed. It also skips the site's start-up hooks: on the CI
 * machine a `.pth` file imports certifi into every Python, 60 of its 87 ms of start-up.
 * PYTHONPATH still applies.
 */
export const hermeticPythonFlags: readonly string[] = ["-S"];

/**
 * Compiles each file with `python` in one process (test/fixtures/compile_check.py): file -> null when
 * it compiles, or the SyntaxError's text.
 */
export function compileWithPython(python: string, files: readonly string[]): Record<string, string | null> {
    const checker = path.join(__dirname, "fixtures", "compile_check.py");
    return JSON.parse(execFileSync(python, [...hermeticPythonFlags, checker, ...files], { encoding: "utf8" })) as Record<string, string | null>;
}
