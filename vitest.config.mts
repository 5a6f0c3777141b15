import * as module from "node:module";
import * as path from "node:path";
import { defineConfig } from "vitest/config";

// V8's code cache on disk (Node >= 22.1): the workers and every Node child the tests start (synth
// CLIs, gateways, the package-entry program) load @pulumi/*, tsx and the rest from it instead of
// compiling them again. With an empty cache the first process fills it for the others; measured by
// the task clock of `npm test`: 85-91 s of CPU with an empty cache, 83 s with a warm one, against
// 87-100 s without it. The workers and children inherit the variable; node_modules/.cache is where
// tools keep caches that `npm ci` throws away. A user's own NODE_COMPILE_CACHE (or
// NODE_DISABLE_COMPILE_CACHE) wins. The path is relative to the working directory, vitest's root
// (as the `include` globs below are): Vite 8 warns about `__dirname` in a config file.
process.env.NODE_COMPILE_CACHE ??= path.resolve("node_modules", ".cache", "node-compile-cache");
module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE);

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts", "gateway/test/**/*.test.ts", "policy/test/**/*.test.ts"],
        // Test files share worker processes, so @pulumi/* and the rest load once per worker instead of
        // once per file; test/setup.ts resets this repo's modules and Pulumi's process-wide runtime
        // state before each file (test/isolation.ts explains, test/isolation.test.ts tests it).
        pool: "forks",
        isolate: false,
        setupFiles: ["test/setup.ts"],
        globalSetup: ["test/globalSetup.ts"],
        // vitest's default is one worker per core minus one: a single worker on a 2-core machine,
        // while much of the suite waits on child processes and loopback servers.
        maxWorkers: 2,
        testTimeout: 60_000,
        hookTimeout: 60_000,
    },
});
