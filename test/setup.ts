/**
 * Runs before every test file (vitest `setupFiles`): test files share worker processes, and this
 * gives each one the state a fresh process would have (test/isolation.ts says what and why).
 */
import { afterAll, vi } from "vitest";
import { resetPulumiRuntime, waitForPulumiQuiescence } from "./isolation";

vi.resetModules();
resetPulumiRuntime();

afterAll(async () => {
    await waitForPulumiQuiescence("this test file");
});
