/**
 * Pulumi's `debuggablePromise` (@pulumi/pulumi runtime/debuggable.js) reads `new Error().stack` for
 * every promise it tracks, which is every resource registration and output, and keeps the text as
 * `_debugStackTrace`. It prints those traces only in its report of promises still pending at exit,
 * and only when `PULUMI_DEBUG_PROMISE_LEAKS` is set (`leakedPromises` in the same file).
 *
 * Capturing the frames costs V8 microseconds per promise, and formatting them more: with source maps
 * on (tsx, vitest) every frame is mapped back to TypeScript. Measured with `--cpu-prof`, formatting
 * was about 15% of an offline synth of the dev stack (0.8 of 5.4 s) and about 3 s of one vitest
 * worker's CPU in `npm test`; once formatting was skipped, capturing alone was still 1.5 s of a
 * worker's profile and 0.2-0.3 s of CPU per dev synth.
 *
 * `skipPulumiPromiseStacks` replaces `debuggablePromise` on its module's exports, through which
 * Pulumi's own modules call it (`debuggable_1.debuggablePromise(...)`), with a wrapper that runs the
 * original with `Error.stackTraceLimit` at 0: its error captures no frames, so there is nothing to
 * format, and everything else it does (the leak bookkeeping, the chained promise) is unchanged. Errors
 * created anywhere else keep their stacks. Unless `PULUMI_DEBUG_PROMISE_LEAKS` is set.
 *
 * `skipPulumiSourcePositions` does the same for the other stack Pulumi captures: every resource's
 * constructor calls `Resource.stackTrace(4)` (@pulumi/pulumi resource.js), which reads
 * `new Error().stack` with no frame limit, parses every frame, and sends the frames to the engine as
 * the registration's source position and stack trace. Pulumi's mock monitor (runtime/mocks.js) never
 * reads them, so under mocks they are work without a reader.
 *
 * Both are for the offline tools only (test/setup.ts, `synthesize` in scripts/lib/synth.ts); `pulumi up`
 * never runs this code.
 */

/** The part of @pulumi/pulumi/runtime/debuggable used here (marked @internal, so not in its typings). */
export interface PulumiDebuggable {
    debuggablePromise: DebuggablePromise;
}
type DebuggablePromise = (<T>(promise: Promise<T>, context: unknown) => Promise<T>) & { [wrapped]?: true };

/** Marks the wrapper so that installing it again (test/setup.ts runs once per file) keeps one layer. */
const wrapped = Symbol.for("inference-platform.skipPulumiPromiseStacks");

// eslint-disable-next-line @typescript-eslint/no-require-imports
const installedDebuggable = (): PulumiDebuggable => require("@pulumi/pulumi/runtime/debuggable");

/**
 * Wraps `debuggable.debuggablePromise` (by default, the installed @pulumi/pulumi's) as described
 * above. Returns whether it did: false when already wrapped, or when `env.PULUMI_DEBUG_PROMISE_LEAKS`
 * asks Pulumi to print the traces.
 */
export function skipPulumiPromiseStacks(env: NodeJS.ProcessEnv = process.env, debuggable: PulumiDebuggable = installedDebuggable()): boolean {
    if (env.PULUMI_DEBUG_PROMISE_LEAKS) return false;
    const original = debuggable.debuggablePromise;
    if (original[wrapped]) return false;
    const withoutFrames = <T>(promise: Promise<T>, context: unknown): Promise<T> => {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
            return original(promise, context);
        } finally {
            Error.stackTraceLimit = limit;
        }
    };
    debuggable.debuggablePromise = Object.assign(withoutFrames, { [wrapped]: true as const });
    return true;
}

/** The part of @pulumi/pulumi's resource.js used here. */
export interface PulumiResourceModule {
    Resource: { stackTrace: ((skip: number) => unknown[]) & { [wrapped]?: true } };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const installedResourceModule = (): PulumiResourceModule => require("@pulumi/pulumi/resource");

/**
 * Makes `Resource.stackTrace` (by default, the installed @pulumi/pulumi's) return no frames, as
 * described above. Returns whether it did: false when already done.
 */
export function skipPulumiSourcePositions(resourceModule: PulumiResourceModule = installedResourceModule()): boolean {
    if (resourceModule.Resource.stackTrace[wrapped]) return false;
    resourceModule.Resource.stackTrace = Object.assign((_skip: number): unknown[] => [], { [wrapped]: true as const });
    return true;
}
