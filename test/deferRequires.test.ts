/**
 * scripts/lib/deferRequires.ts: a deferred module loads on first use and then behaves as itself; and
 * the two requires it defers for the offline tools are the ones @pulumi/pulumi makes when loaded.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { deferRequires } from "../scripts/lib/deferRequires";

describe("deferRequires", () => {
    const dirs: string[] = [];
    const uninstalls: (() => void)[] = [];
    afterEach(() => {
        for (const uninstall of uninstalls.splice(0)) uninstall();
        for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    });

    /** A package `lazy-dep` that counts its loads, and two files requiring it: one under `wanted/`, one not. */
    function project() {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "defer-requires-"));
        dirs.push(dir);
        const counter = `__deferRequiresLoads_${path.basename(dir).replace(/\W/g, "_")}`;
        fs.mkdirSync(path.join(dir, "node_modules", "lazy-dep"), { recursive: true });
        fs.writeFileSync(
            path.join(dir, "node_modules", "lazy-dep", "index.js"),
            `globalThis.${counter} = (globalThis.${counter} ?? 0) + 1;\nexports.answer = 42;\nexports.twice = (x) => 2 * x;\n`,
        );
        for (const sub of ["wanted", "other"]) {
            fs.mkdirSync(path.join(dir, sub));
            // What TypeScript emits for `import * as dep from "lazy-dep"` in CommonJS.
            fs.writeFileSync(
                path.join(dir, sub, "user.js"),
                [
                    "var __importStar = function (mod) { if (mod && mod.__esModule) return mod; var result = {}; if (mod != null) for (var k in mod) result[k] = mod[k]; result.default = mod; return result; };",
                    'const dep = __importStar(require("lazy-dep"));',
                    "exports.dep = dep;",
                    'exports.raw = require("lazy-dep");',
                ].join("\n"),
            );
        }
        const loads = () => ((globalThis as Record<string, unknown>)[counter] as number | undefined) ?? 0;
        const load = (sub: string) => createRequire(path.join(dir, sub, "x.js"))(`./user.js`) as { dep: any; raw: any };
        return { dir, loads, load };
    }

    it("hands the requiring file a stand-in; the module loads on first use and then is itself", () => {
        const { dir, loads, load } = project();
        uninstalls.push(deferRequires({ modules: ["lazy-dep"], requiredFrom: new RegExp(`${path.basename(dir)}[\\\\/]wanted[\\\\/]`) }));
        const { dep, raw } = load("wanted");
        expect(loads()).toBe(0);
        // What loaders and __importStar look at does not load it.
        expect(dep.__esModule).toBe(true);
        expect(Object.getOwnPropertyDescriptor(raw, "module.exports")).toBeUndefined();
        expect(loads()).toBe(0);
        expect(dep.answer).toBe(42);
        expect(dep.twice(21)).toBe(42);
        expect(loads()).toBe(1);
        expect("twice" in raw).toBe(true);
        expect(Object.keys(raw).sort()).toEqual(["answer", "twice"]);
        expect(loads()).toBe(1);
    });

    it("leaves other files' requires and other modules alone, and uninstalls", () => {
        const { dir, loads, load } = project();
        const uninstall = deferRequires({ modules: ["lazy-dep"], requiredFrom: new RegExp(`${path.basename(dir)}[\\\\/]wanted[\\\\/]`) });
        uninstalls.push(uninstall);
        const other = load("other");
        expect(loads()).toBe(1); // loaded at the require, as without the hook
        expect(other.dep.answer).toBe(42);
        expect(createRequire(__filename)("node:path").join).toBe(path.join);
        uninstall();
        // After uninstalling, a file that matches loads at once too (a fresh copy of the project).
        const second = project();
        second.load("wanted");
        expect(second.loads()).toBe(1);
    });
});

describe("what deferPulumiToolchain defers is what @pulumi/pulumi loads", () => {
    // @pulumi/pulumi (the version in node_modules, package.json's pin): the two files whose
    // top-level requires deferPulumiToolchain intercepts, by module name, from @pulumi/pulumi's files.
    const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
    const source = (file: string) => fs.readFileSync(path.join(pulumiDir, file), "utf8");

    it("typescript-shim.js requires typescript; runtime/closure/codePaths.js requires @npmcli/arborist at load", () => {
        expect(source("typescript-shim.js")).toMatch(/module\.exports = require\("typescript"\)/);
        expect(source("runtime/closure/codePaths.js")).toMatch(/^const arborist = __importStar\(require\("@npmcli\/arborist"\)\);$/m);
        // Arborist is used inside a function only, so a stand-in is never read at load.
        expect(source("runtime/closure/codePaths.js").match(/arborist\./g)).toEqual(["arborist."]);
        expect(source("runtime/closure/codePaths.js")).toMatch(/^\s+const arb = new arborist\.Arborist\(/m);
    });
});
