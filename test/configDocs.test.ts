import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { configKeys } from "../config";
import { pulumiYamlConfig, readmeConfigTable, renderPulumiYaml, renderReadme } from "../scripts/configDocs";

const root = path.resolve(__dirname, "..");

describe("config reference", () => {
    it("Pulumi.yaml declares every key with its type, description and default (run `npm run config:docs` if stale)", () => {
        const current = fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8");
        expect(current).toBe(renderPulumiYaml(current));
        const declared = YAML.parse(current).config;
        expect(Object.keys(declared).sort()).toEqual(Object.keys(configKeys).sort());
        for (const entry of Object.values(declared) as any[]) {
            expect(["string", "integer", "boolean", "array"]).toContain(entry.type);
            expect(entry.description.length).toBeGreaterThan(10);
            // Pulumi treats a declared key without a default as required.
            expect(entry).toHaveProperty("default");
        }
    });

    it("README's config table is current", () => {
        const current = fs.readFileSync(path.join(root, "README.md"), "utf8");
        expect(current).toBe(renderReadme(current));
        expect(readmeConfigTable().split("\n")).toHaveLength(Object.keys(configKeys).length + 3);
        expect(Object.keys(pulumiYamlConfig())).toContain("gpuMaxSize");
    });

    it("every stack file sets only declared keys (or provider keys)", () => {
        for (const file of fs.readdirSync(root).filter((f) => /^Pulumi\.[\w-]+\.yaml$/.test(f))) {
            const config = YAML.parse(fs.readFileSync(path.join(root, file), "utf8")).config ?? {};
            for (const key of Object.keys(config)) {
                const [namespace, name] = key.split(":");
                if (namespace === "inference-platform") expect(Object.keys(configKeys), `${file}: ${key}`).toContain(name);
                else expect(["aws", "kubernetes"], `${file}: ${key}`).toContain(namespace);
            }
        }
    });
});
