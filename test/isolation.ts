/**
 * What makes test files safe to share a worker process (vitest `isolate: false`, vitest.config.mts).
 *
 * Sharing a process saves re-importing @pulumi/* and the rest for every file, most of what
 * `npm test` used to spend. Two kinds of state would otherwise leak from one file into the next:
 *
 * - Modules of this repository (components, index.ts, the kit): `vi.resetModules()` before each file,
 *   so every file evaluates them afresh (an `import("../index")` runs the program again). Packages
 *   under node_modules stay loaded, which is the point.
 * - Pulumi's runtime state (process-wide: `global.globalStore` and module variables of
 *   @pulumi/pulumi/runtime/settings): the mock monitor, project/stack options, the stack resource,
 *   feature flags, and the config map (`setMocks` leaves it alone, so a file that sets no config
 *   would read the previous file's). `resetPulumiRuntime` clears all of it, as in a fresh process,
 *   and keeps what provider packages registered when they were loaded (resource modules and
 *   packages; they are loaded once per process in any case).
 *
 * A file must also not leave Pulumi work running into the next one: `waitForPulumiQuiescence` waits,
 * after a file's tests, until no registration or other RPC is in flight (the check Pulumi itself uses
 * to decide a program has finished), and fails the file when that does not happen in time.
 * test/isolation.test.ts tests these functions.
 */
/* eslint-disable @typescript-eslint/no-require-imports */

/** The parts of @pulumi/pulumi/runtime/state used here (marked @internal, so not in its typings). */
interface PulumiStore {
    config: Record<string, string>;
    settings: { options: Record<string, unknown> };
    logErrorCount: number;
    terminated: boolean;
}
interface PulumiState {
    getStore(): PulumiStore;
    LocalStore: new () => PulumiStore;
}
/** The parts of @pulumi/pulumi/runtime/settings used here (@internal as well). */
interface PulumiSettings {
    _reset(): void;
    waitForRPCs(): Promise<void>;
}

const state = (): PulumiState => require("@pulumi/pulumi/runtime/state");
const settings = (): PulumiSettings => require("@pulumi/pulumi/runtime/settings");

/** True once this process has loaded Pulumi's runtime (files that never do have nothing to reset). */
export function pulumiRuntimeLoaded(): boolean {
    return require.cache[require.resolve("@pulumi/pulumi/runtime/settings")] !== undefined;
}

/** Pulumi's runtime as a fresh process has it: no monitor, default options, empty config, no stack. */
export function resetPulumiRuntime(): void {
    if (!pulumiRuntimeLoaded()) return;
    const { getStore, LocalStore } = state();
    // Options, monitor, engine, stack resource, feature flags, pending registrations, callbacks.
    settings()._reset();
    const store = getStore();
    const fresh = new LocalStore();
    // Config survives `setMocks`; a fresh map holds only what the environment sets.
    store.config = fresh.config;
    store.settings.options = fresh.settings.options;
    store.logErrorCount = 0;
    store.terminated = false;
}

/**
 * Resolves once Pulumi has no RPC in flight (registrations, invokes, outputs being registered);
 * rejects after `timeoutMs` with a message naming `what`.
 */
export async function waitForPulumiQuiescence(what: string, timeoutMs = 20_000): Promise<void> {
    if (!pulumiRuntimeLoaded()) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
            () => reject(new Error(`${what}: Pulumi still has work in flight ${timeoutMs} ms after its tests; it would run into the next test file`)),
            timeoutMs,
        );
        timer.unref();
    });
    try {
        await Promise.race([settings().waitForRPCs(), timeout]);
    } finally {
        clearTimeout(timer);
    }
}
