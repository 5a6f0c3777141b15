/**
 * scripts/lib/promiseStacks.ts, which test/setup.ts installs before this file. The consumer is
 * @pulumi/pulumi's runtime/debuggable.js (version pinned in package-lock.json): `debuggablePromise`
 * stores `new Error().stack` on each promise as `_debugStackTrace`, and `leakedPromises` prints it
 * only when PULUMI_DEBUG_PROMISE_LEAKS is set (`exports.debugPromiseLeaks`).
 */
import * as fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { skipPulumiPromiseStacks } from "../scripts/lib/promiseStacks";

const installed = Error.prepareStackTrace;
/** Set in the environment, the variable keeps Pulumi's traces in this run too (test/setup.ts). */
const tracesWanted = Boolean(process.env.PULUMI_DEBUG_PROMISE_LEAKS);
afterEach(() => {
    Error.prepareStackTrace = installed;
});

describe("skipPulumiPromiseStacks", () => {
    it("leaves Pulumi's promise bookkeeping without a formatted stack", async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { debuggablePromise } = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise<T>(p: Promise<T>, ctx: string): Promise<T> };
        const tracked = Promise.resolve(42);
        await expect(debuggablePromise(tracked, "test")).resolves.toBe(42);
        const trace = (tracked as unknown as { _debugStackTrace: string })._debugStackTrace;
        if (tracesWanted) expect(trace).toMatch(/^Error: ?\n {4}at debuggablePromise /);
        else expect(trace).toBe("");
    });

    it("keeps every other error's stack, still mapped to the TypeScript source", () => {
        const error = new Error("kept"); // marker: the expected line
        const line = fs.readFileSync(__filename, "utf8").split("\n").findIndex((l) => l.includes("// marker: the expected line")) + 1;
        expect(error.stack).toMatch(/^Error: kept\n/);
        expect(error.stack).toContain(`promiseStacks.test.ts:${line}:`);
    });

    it.skipIf(tracesWanted)("wraps the installed formatter once, however often a file's setup runs", () => {
        expect(skipPulumiPromiseStacks({})).toBe(false);
        expect(Error.prepareStackTrace).toBe(installed);
    });

    it("formats other errors as V8 does when no formatter is installed", () => {
        (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
        expect(skipPulumiPromiseStacks({})).toBe(true);
        const error = new TypeError("plain");
        expect(error.stack).toMatch(/^TypeError: plain\n {4}at .*promiseStacks\.test\.ts:\d+:\d+/);
    });

    it("changes nothing when PULUMI_DEBUG_PROMISE_LEAKS asks Pulumi to print the traces", () => {
        (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
        expect(skipPulumiPromiseStacks({ PULUMI_DEBUG_PROMISE_LEAKS: "1" })).toBe(false);
        expect(Error.prepareStackTrace).toBeUndefined();
    });
});
