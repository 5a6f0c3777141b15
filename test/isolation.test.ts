/**
 * test/isolation.ts: what lets test files share a worker process. Each check sets up what a previous
 * test file could leave behind and shows the reset removes it, or that the quiescence wait holds the
 * next file back until in-flight Pulumi work is done.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { pulumiRuntimeLoaded, resetPulumiRuntime, waitForPulumiQuiescence } from "./isolation";

/* eslint-disable @typescript-eslint/no-require-imports */
const settings = () => require("@pulumi/pulumi/runtime/settings");
const state = () => require("@pulumi/pulumi/runtime/state");

class Thing extends pulumi.CustomResource {
    constructor(name: string) {
        super("test:index:Thing", name, {});
    }
}

const noopMocks: pulumi.runtime.Mocks = {
    newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
    call: (args) => args.inputs,
};

describe("resetPulumiRuntime", () => {
    it("is a no-op while Pulumi is not loaded, and reports loading correctly", () => {
        expect(pulumiRuntimeLoaded()).toBe(true); // this file imports @pulumi/pulumi
    });

    it("clears config a previous file set (setMocks keeps it; a file that sets none would read it)", async () => {
        await pulumi.runtime.setMocks(noopMocks, "proj", "leaky");
        pulumi.runtime.setAllConfig({ "proj:cpuMinSize": "7" });
        pulumi.runtime.setConfig("proj:other", "x");
        await pulumi.runtime.setMocks(noopMocks, "proj", "next");
        expect(new pulumi.Config("proj").get("cpuMinSize")).toBe("7");
        resetPulumiRuntime();
        await pulumi.runtime.setMocks(noopMocks, "proj", "next");
        expect(new pulumi.Config("proj").get("cpuMinSize")).toBeUndefined();
        expect(new pulumi.Config("proj").get("other")).toBeUndefined();
    });

    it("drops the mock monitor, the project and stack names and the stack resource", async () => {
        await pulumi.runtime.setMocks(noopMocks, "proj", "leaky", true);
        new Thing("registered");
        await waitForPulumiQuiescence("this test");
        expect(settings().hasMonitor()).toBe(true);
        expect(pulumi.getStack()).toBe("leaky");
        expect(pulumi.runtime.isDryRun()).toBe(true);
        resetPulumiRuntime();
        expect(settings().hasMonitor()).toBe(false);
        expect(pulumi.getProject()).toBe(new (state().LocalStore)().settings.options.project);
        expect(pulumi.getStack()).toBe(new (state().LocalStore)().settings.options.stack);
        expect(pulumi.runtime.isDryRun()).toBe(false);
        expect(state().getStore().stackResource).toBeUndefined();
    });

    it("keeps what provider packages registered when they were loaded (they load once per process)", async () => {
        await import("@pulumi/random"); // registers its resource modules on load
        const modules = () => [...state().getResourceModules().keys()].sort();
        const before = modules();
        expect(before.some((key: string) => key.startsWith("random:"))).toBe(true);
        resetPulumiRuntime();
        expect(modules()).toEqual(before);
    });
});

describe("waitForPulumiQuiescence", () => {
    it("waits for a registration still in flight", async () => {
        let finished = false;
        await pulumi.runtime.setMocks(
            {
                newResource: async (args) => {
                    await new Promise((r) => setTimeout(r, 300));
                    finished = true;
                    return { id: "slow-id", state: args.inputs };
                },
                call: (args) => args.inputs,
            },
            "proj",
            "slow",
        );
        new Thing("slow");
        expect(finished).toBe(false);
        await waitForPulumiQuiescence("this test");
        expect(finished).toBe(true);
    });

    it("fails, naming the file, when work does not finish in time (and resolves once it does)", async () => {
        let release: () => void = () => undefined;
        const gate = new Promise<void>((r) => (release = r));
        await pulumi.runtime.setMocks(
            {
                newResource: async (args) => {
                    await gate;
                    return { id: "stuck-id", state: args.inputs };
                },
                call: (args) => args.inputs,
            },
            "proj",
            "stuck",
        );
        new Thing("stuck");
        await expect(waitForPulumiQuiescence("some.test.ts", 200)).rejects.toThrow(
            /some\.test\.ts: Pulumi still has work in flight 200 ms after its tests; it would run into the next test file/,
        );
        release();
        await waitForPulumiQuiescence("this test");
    });
});
