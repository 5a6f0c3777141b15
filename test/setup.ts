/**
 * Runs before every test file (vitest `setupFiles`): test files share worker processes, and this
 * gives each one the state a fresh process would have (test/isolation.ts says what and why). It
 * also spares Pulumi a stack trace per promise and per resource, which nothing under mocks reads
 * (scripts/lib/promiseStacks.ts; installing it loads Pulumi's runtime, which every worker of
 * `npm test` loads anyway), and Pulumi the loading of modules only function serialization uses
 * (scripts/lib/deferRequires.ts). It keeps function serialization, which turns V8's debugger on for
 * the rest of a process, out of the workers (test/functionSerialization.ts).
 */
import { afterAll, vi } from "vitest";
import { skipFunctionSerialization } from "./functionSerialization";
import { resetPulumiRuntime, waitForPulumiQuiescence } from "./isolation";
import { deferPulumiToolchain } from "../scripts/lib/deferRequires";
import { skipPulumiPromiseStacks, skipPulumiSourcePositions } from "../scripts/lib/promiseStacks";

// Before the first file loads @pulumi/pulumi: its compiler and npm modules load on first use.
deferPulumiToolchain();
vi.resetModules();
resetPulumiRuntime();
skipPulumiPromiseStacks();
skipPulumiSourcePositions();
skipFunctionSerialization();

afterAll(async () => {
    await waitForPulumiQuiescence("this test file");
});
