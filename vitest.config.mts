import { defineConfig } from "vitest/config";

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
