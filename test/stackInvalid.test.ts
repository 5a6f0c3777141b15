import { describe, expect, it } from "vitest";
import { ConfigError } from "../config";
import { installMocks } from "./kit";
import { stackConfig } from "./stackFiles";

describe("the program with invalid config", async () => {
    const rec = await installMocks({
        stack: "dev",
        config: stackConfig("dev", { gpuMinSize: "3", gpuMaxSize: "1", vpcCidr: "10.0.0.0/33", kubernetesVersion: "1.29" }),
    });
    let error: unknown;
    try {
        await import("../index");
    } catch (err) {
        error = err;
    }
    await rec.settle();

    it("fails with one error naming every bad key", () => {
        expect(error).toBeInstanceOf(ConfigError);
        const problems = (error as ConfigError).problems.join("\n");
        for (const key of ["gpuMaxSize (1) < gpuMinSize (3)", "vpcCidr", "kubernetesVersion"]) expect(problems).toContain(key);
    });

    it("registers nothing", () => {
        expect(rec.resources.map((r) => `${r.type} ${r.name}`)).toEqual([]);
    });
});
