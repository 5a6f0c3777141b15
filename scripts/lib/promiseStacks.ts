/**
 * Pulumi's `debuggablePromise` (@pulumi/pulumi runtime/debuggable.js) reads `new Error().stack` for
 * every promise it tracks, which is every resource registration and output, and keeps the text as
 * `_debugStackTrace`. It prints those traces only in its report of promises still pending at exit,
 * and only when `PULUMI_DEBUG_PROMISE_LEAKS` is set (`leakedPromises` in the same file).
 *
 * V8 formats a stack when it is read, and with source maps on (tsx, vitest) every frame is mapped
 * back to TypeScript. Measured with `--cpu-prof`: about 15% of an offline synth of the dev stack
 * (0.8 of 5.4 s), and about 3 s of one vitest worker's CPU in `npm test`.
 *
 * `skipPulumiPromiseStacks` gives errors created directly in `debuggablePromise` an empty stack,
 * unless `PULUMI_DEBUG_PROMISE_LEAKS` is set; every other error's stack is formatted as before, by
 * whatever formatter was installed (Node's own, vite's).
 */

/** Marks the wrapper so that installing it again (test/setup.ts runs once per file) keeps one layer. */
const wrapped = Symbol.for("inference-platform.skipPulumiPromiseStacks");

type PrepareStackTrace = (error: Error, stack: NodeJS.CallSite[]) => unknown;

/** V8's formatting without source maps, for a runtime that installs no formatter of its own. */
function plainStack(error: Error, stack: NodeJS.CallSite[]): string {
    return `${Error.prototype.toString.call(error)}${stack.map((frame) => `\n    at ${frame}`).join("")}`;
}

/**
 * Wraps the current `Error.prepareStackTrace`. Returns whether it did: false when already wrapped,
 * or when `env.PULUMI_DEBUG_PROMISE_LEAKS` asks Pulumi to print the traces.
 */
export function skipPulumiPromiseStacks(env: NodeJS.ProcessEnv = process.env): boolean {
    if (env.PULUMI_DEBUG_PROMISE_LEAKS) return false;
    const current = Error.prepareStackTrace as (PrepareStackTrace & { [wrapped]?: true }) | undefined;
    if (current?.[wrapped]) return false;
    const format: PrepareStackTrace = current ?? plainStack;
    const prepare = (error: Error, stack: NodeJS.CallSite[]) => (stack[0]?.getFunctionName() === "debuggablePromise" ? "" : format(error, stack));
    Error.prepareStackTrace = Object.assign(prepare, { [wrapped]: true as const });
    return true;
}
