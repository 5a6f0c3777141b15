/**
 * Runs before every test file (vitest `setupFiles`): test files share worker processes, and this
 * gives each one the state a fresh process would have (test/isolation.ts says what and why). It
 * also spares Pulumi's promise bookkeeping a source-mapped stack trace per promise
 * (scripts/lib/promiseStacks.ts).
 */
import { afterAll, vi } from "vitest";
import { resetPulumiRuntime, waitForPulumiQuiescence } from "./isolation";
import { skipPulumiPromiseStacks } from "../scripts/lib/promiseStacks";

vi.resetModules();
resetPulumiRuntime();
skipPulumiPromiseStacks();

afterAll(async () => {
    await waitForPulumiQuiescence("this test file");
});
