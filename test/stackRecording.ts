/**
 * The dev and local stacks as `pulumi up` would build them (index.ts with the config of
 * Pulumi.<stack>.yaml) under the kit's mocks, recorded at most once per worker process and shared
 * by the files that only read the recording (test files share workers: vitest.config.mts). A whole
 * program run is seconds of CPU; five files read these two.
 *
 * The cache lives on globalThis because every file gets fresh copies of this repo's modules
 * (test/setup.ts). A recording is plain data once settled; files must not change it.
 */
import { installMocks, Recorder } from "./kit";
import { stackConfig } from "./stackFiles";

type Stack = "dev" | "local";
const cacheKey = Symbol.for("inference-platform.test.stackRecordings");
const cache = ((globalThis as Record<symbol, unknown>)[cacheKey] ??= new Map<Stack, Promise<Recorder>>()) as Map<Stack, Promise<Recorder>>;

/** The recording of `stack` with its stack file's config (first call in the worker runs the program). */
export function recordedStack(stack: Stack): Promise<Recorder> {
    let pending = cache.get(stack);
    if (!pending) {
        pending = (async () => {
            const rec = await installMocks({ stack, config: stackConfig(stack) });
            await import("../index");
            await rec.settle();
            return rec;
        })();
        cache.set(stack, pending);
    }
    return pending;
}
