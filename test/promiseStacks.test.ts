/**
 * scripts/lib/promiseStacks.ts, which test/setup.ts installs before this file. The consumer is
 * @pulumi/pulumi's runtime/debuggable.js (version pinned in package-lock.json): `debuggablePromise`
 * stores `new Error().stack` on each promise as `_debugStackTrace` and keeps the promise among the
 * store's `leakCandidates` until it settles; `leakedPromises` prints the traces only when
 * PULUMI_DEBUG_PROMISE_LEAKS is set (`exports.debugPromiseLeaks`). And resource.js: each resource's
 * constructor asks `Resource.stackTrace(4)` for the frames it sends with its registration, which
 * runtime/mocks.js's monitor never reads.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { type PulumiDebuggable, skipPulumiPromiseStacks, skipPulumiSourcePositions } from "../scripts/lib/promiseStacks";

/** Set in the environment, the variable keeps Pulumi's traces in this run too (test/setup.ts). */
const tracesWanted = Boolean(process.env.PULUMI_DEBUG_PROMISE_LEAKS);
const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const installed = (): PulumiDebuggable => require("@pulumi/pulumi/runtime/debuggable");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pulumiStore = (): { leakCandidates: Set<Promise<unknown>> } => require("@pulumi/pulumi/runtime/state").getStore();
const traceOf = (promise: Promise<unknown>) => (promise as unknown as { _debugStackTrace: string })._debugStackTrace;

/** Every .js file under `dir`. */
function jsFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name === "node_modules" ? [] : jsFiles(path.join(dir, e.name))) : e.name.endsWith(".js") ? [path.join(dir, e.name)] : []));
}

describe("the installed @pulumi/pulumi (the contract the wrapper relies on)", () => {
    it("creates an Error for its stack in debuggablePromise", () => {
        const source = fs.readFileSync(path.join(pulumiDir, "runtime", "debuggable.js"), "utf8");
        const body = source.slice(source.indexOf("function debuggablePromise("), source.indexOf("exports.debuggablePromise = debuggablePromise;"));
        expect(body).toContain("new Error().stack");
        expect(source).toMatch(/^exports\.debuggablePromise = debuggablePromise;$/m);
    });

    it("calls it only through its module's exports, so replacing the export reaches every call", () => {
        const calls: string[] = [];
        for (const file of jsFiles(pulumiDir)) {
            const text = fs.readFileSync(file, "utf8");
            if (!text.includes("debuggablePromise")) continue;
            if (file === path.join(pulumiDir, "runtime", "debuggable.js")) {
                // Its definition and export; nothing in the file calls it directly.
                const rest = text.replace("function debuggablePromise(", "").replace("exports.debuggablePromise = debuggablePromise;", "");
                if (/\bdebuggablePromise\b/.test(rest)) calls.push("runtime/debuggable.js calls it directly");
                continue;
            }
            for (const m of text.matchAll(/([\w$]+\.)?\bdebuggablePromise\b/g)) {
                if (m[1] !== "debuggable_1.") calls.push(`${path.relative(pulumiDir, file)}: ${m[0]}`);
            }
        }
        expect(calls).toEqual([]);
    });
});

describe("skipPulumiPromiseStacks", () => {
    it("leaves Pulumi's promises without captured frames (unless PULUMI_DEBUG_PROMISE_LEAKS is set), and its leak bookkeeping as it was", async () => {
        const { debuggablePromise } = installed();
        let resolve!: (value: number) => void;
        const pending = new Promise<number>((r) => (resolve = r));
        const tracked = debuggablePromise(pending, "test");
        if (tracesWanted) expect(traceOf(pending)).toMatch(/\n\s+at (Object\.)?debuggablePromise /);
        else expect(traceOf(pending)).not.toMatch(/\n\s+at /);
        expect(pulumiStore().leakCandidates.has(pending)).toBe(true);
        resolve(42);
        await expect(tracked).resolves.toBe(42);
        expect(pulumiStore().leakCandidates.has(pending)).toBe(false);
    });

    it("keeps every other error's stack, still mapped to the TypeScript source", () => {
        const error = new Error("kept"); // marker: the expected line
        const line = fs.readFileSync(__filename, "utf8").split("\n").findIndex((l) => l.includes("// marker: the expected line")) + 1;
        expect(error.stack).toMatch(/^Error: kept\n/);
        expect(error.stack).toContain(`promiseStacks.test.ts:${line}:`);
    });

    /** A stand-in with the shape of Pulumi's: it records the stack of an Error made in the call. */
    const standIn = () => {
        const stacks: string[] = [];
        const debuggable: PulumiDebuggable = {
            debuggablePromise: <T>(promise: Promise<T>) => {
                stacks.push(new Error().stack ?? "");
                return promise;
            },
        };
        return { debuggable, stacks, original: debuggable.debuggablePromise };
    };

    it("wraps a module's debuggablePromise: the same promise back, no frames inside, the limit restored", async () => {
        const { debuggable, stacks, original } = standIn();
        const limit = Error.stackTraceLimit;
        original(Promise.resolve(1), "unwrapped");
        expect(skipPulumiPromiseStacks({}, debuggable)).toBe(true);
        const promise = Promise.resolve(2);
        expect(debuggable.debuggablePromise(promise, "wrapped")).toBe(promise);
        expect(stacks[0]).toMatch(/\n\s+at /);
        expect(stacks[1]).not.toMatch(/\n\s+at /);
        expect(Error.stackTraceLimit).toBe(limit);
    });

    it("restores the limit when the original throws", () => {
        const debuggable: PulumiDebuggable = {
            debuggablePromise: () => {
                throw new Error("broken");
            },
        };
        const limit = Error.stackTraceLimit;
        skipPulumiPromiseStacks({}, debuggable);
        expect(() => debuggable.debuggablePromise(Promise.resolve(), "x")).toThrow("broken");
        expect(Error.stackTraceLimit).toBe(limit);
    });

    it("wraps once, however often a file's setup runs", () => {
        const { debuggable } = standIn();
        expect(skipPulumiPromiseStacks({}, debuggable)).toBe(true);
        const first = debuggable.debuggablePromise;
        expect(skipPulumiPromiseStacks({}, debuggable)).toBe(false);
        expect(debuggable.debuggablePromise).toBe(first);
        if (!tracesWanted) expect(skipPulumiPromiseStacks()).toBe(false); // test/setup.ts installed it
    });

    it("changes nothing when PULUMI_DEBUG_PROMISE_LEAKS asks Pulumi to print the traces", () => {
        const { debuggable, original } = standIn();
        expect(skipPulumiPromiseStacks({ PULUMI_DEBUG_PROMISE_LEAKS: "1" }, debuggable)).toBe(false);
        expect(debuggable.debuggablePromise).toBe(original);
    });
});

describe("skipPulumiSourcePositions", () => {
    it("relies on what the installed @pulumi/pulumi does: each resource asks Resource.stackTrace, and the mock monitor never reads the result", () => {
        const resource = fs.readFileSync(path.join(pulumiDir, "resource.js"), "utf8");
        expect(resource).toContain("const stackTrace = Resource.stackTrace(4);");
        expect(resource).toMatch(/static stackTrace\(skip\) \{\n\s+let stack = Resource\.callsites\(\);/);
        // The registration carries them as `sourcePosition` and `stackTrace`; the mock monitor's
        // registerResource reads neither.
        const mocks = fs.readFileSync(path.join(pulumiDir, "runtime", "mocks.js"), "utf8");
        expect(mocks).not.toMatch(/[Ss]ourceposition|[Ss]tacktrace|sourcePosition|stackTrace/);
    });

    it("gives every resource no frames, once however often it is installed", () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { Resource } = require("@pulumi/pulumi/resource") as { Resource: { stackTrace(skip: number): unknown[] } };
        expect(Resource.stackTrace(0)).toEqual([]); // test/setup.ts installed it
        expect(skipPulumiSourcePositions()).toBe(false);
        const standIn = { Resource: { stackTrace: (skip: number): unknown[] => [{ skip }] } };
        expect(skipPulumiSourcePositions(standIn)).toBe(true);
        expect(standIn.Resource.stackTrace(1)).toEqual([]);
        const first = standIn.Resource.stackTrace;
        expect(skipPulumiSourcePositions(standIn)).toBe(false);
        expect(standIn.Resource.stackTrace).toBe(first);
    });
});
