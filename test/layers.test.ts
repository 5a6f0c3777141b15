/**
 * The layers point down only: models -> platform -> common; aws -> common; local -> common; the
 * composition modules (components/foundations.ts, components/inferencePlatform.ts, the package entry)
 * may use every layer. No component reads config (config.ts imports components, not the reverse),
 * nothing imports the Pulumi program (index.ts), and the gateway service knows nothing of Pulumi.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..");

function filesUnder(dir: string): string[] {
    return fs
        .readdirSync(path.join(root, dir), { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
}

/** Repo-relative targets of a file's relative imports, and its package imports. */
function importsOf(file: string): { local: string[]; packages: string[] } {
    const text = fs.readFileSync(path.join(root, file), "utf8");
    const specs = [...text.matchAll(/(?:from|import|require)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]);
    return {
        local: specs.filter((s) => s.startsWith(".")).map((s) => path.normalize(path.join(path.dirname(file), s))),
        packages: specs.filter((s) => !s.startsWith(".")),
    };
}

/** The layer a repo-relative module path belongs to. */
function layerOf(module: string): string {
    const m = /^components\/(common|aws|local|platform|models)\//.exec(module);
    if (m) return m[1];
    if (module.startsWith("components/")) return "composition";
    if (module === "versions" || module === "versions.ts") return "versions";
    return module.replace(/\.ts$/, "");
}

const allowed: Record<string, readonly string[]> = {
    common: ["common", "versions"],
    aws: ["aws", "common", "versions"],
    local: ["local", "common", "versions"],
    platform: ["platform", "common", "versions"],
    models: ["models", "platform", "common", "versions"],
    composition: ["composition", "aws", "local", "platform", "models", "common", "versions"],
};

/** Every import that breaks the rules, as `file -> target`. */
export function layerViolations(files: readonly string[], imports: (file: string) => string[]): string[] {
    const out: string[] = [];
    for (const file of files) {
        const from = layerOf(file);
        for (const target of imports(file)) {
            const to = layerOf(target);
            if (to === "index") out.push(`${file} -> ${target} (nothing imports the Pulumi program)`);
            else if (allowed[from] && !allowed[from].includes(to)) out.push(`${file} -> ${target} (${from} may not use ${to})`);
        }
    }
    return out;
}

describe("layers", () => {
    const components = filesUnder("components");

    it("every component file belongs to a layer folder or the composition modules", () => {
        expect(components.length).toBeGreaterThan(30);
        for (const file of components) expect(Object.keys(allowed), file).toContain(layerOf(file));
    });

    it("imports point down only", () => {
        expect(layerViolations(components, (f) => importsOf(f).local)).toEqual([]);
    });

    it("the check catches an upward import (models -> aws, common -> platform, component -> config)", () => {
        const fake: Record<string, string[]> = {
            "components/models/x.ts": ["components/aws/irsa"],
            "components/common/y.ts": ["components/platform/magicDns"],
            "components/aws/z.ts": ["config"],
            "scripts/w.ts": ["index"],
        };
        expect(layerViolations(Object.keys(fake), (f) => fake[f])).toHaveLength(4);
        expect(layerViolations(["scripts/w.ts"], (f) => fake[f])).toEqual(["scripts/w.ts -> index (nothing imports the Pulumi program)"]);
    });

    it("no module imports the Pulumi program (tests run it, as Pulumi does, under mocks)", () => {
        const modules = [...components, ...filesUnder("scripts"), ...filesUnder("policy").filter((f) => !f.startsWith("policy/test/")), ...filesUnder("bench"), "config.ts", "versions.ts"];
        expect(modules.filter((f) => importsOf(f).local.some((t) => t === "index"))).toEqual([]);
    });

    it("the gateway service imports nothing from Pulumi", () => {
        for (const file of [...filesUnder("gateway/src")]) {
            expect(importsOf(file).packages.filter((p) => p.startsWith("@pulumi/")), file).toEqual([]);
        }
    });
});
