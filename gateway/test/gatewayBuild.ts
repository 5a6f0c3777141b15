/**
 * The gateway as its image runs it, for tests (and benchmarks) that start it as a process:
 * gateway/src compiled to CommonJS, one .js file per module, as gateway/Dockerfile's
 * `tsc -p gateway/tsconfig.json` emits it (a dynamic `import()` becomes a `require()`), started with
 * plain `node`.
 *
 * Why not the TypeScript source through tsx's loader: every module then passes through tsx's
 * loader thread, and one start of the gateway costs 0.77 s of CPU against 0.33 s for the compiled
 * files (measured on the 2-core CI machine). `npm test` starts the gateway about 20 times.
 *
 * esbuild transpiles (tsx uses it too); it does not type-check, which `npx tsc --noEmit` does. The
 * build lands in gateway/node_modules/.cache/test-build/<hash of the sources>/, so it resolves
 * packages from the same node_modules as gateway/dist would, is shared by the test workers and
 * later runs while the sources are unchanged, and `npm ci` clears it.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync, version as esbuildVersion, type BuildOptions } from "esbuild";

const gatewayRoot = path.resolve(__dirname, "..");
const sourceDir = path.join(gatewayRoot, "src");
const buildsDir = path.join(gatewayRoot, "node_modules", ".cache", "test-build");

/** Options matching gateway/tsconfig.json's emit (CommonJS, ES2023, strict mode). */
const options = {
    format: "cjs",
    platform: "node",
    target: "es2023",
    // tsc's `module: commonjs` turns `await import("./x")` into `require("./x")`; esbuild keeps a
    // real import() unless told the target lacks it, and Node would then resolve "./x" as ESM (no
    // extension: not found).
    supported: { "dynamic-import": false },
    // tsc emits "use strict" into every CommonJS file (`strict: true`); esbuild does not for a module
    // it converts, and sloppy mode would change what some code does.
    banner: { js: '"use strict";' },
    logLevel: "silent",
} as const satisfies BuildOptions;

/** Path of `gateway/src/<name>.ts`'s compiled file, building the gateway first if these sources have no build yet. */
export function gatewayScript(name: "main" | "selfCheck"): string {
    return path.join(ensureGatewayBuild(), `${name}.js`);
}

/** Builds gateway/src unless a build of the same sources exists; returns the build's directory. */
export function ensureGatewayBuild(): string {
    const sources = fs
        .readdirSync(sourceDir, { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".ts"))
        .sort();
    const hash = createHash("sha256").update(JSON.stringify({ esbuildVersion, options }));
    for (const file of sources) hash.update(`\0${file}\0`).update(fs.readFileSync(path.join(sourceDir, file)));
    const dir = path.join(buildsDir, hash.digest("hex").slice(0, 16));
    if (fs.existsSync(path.join(dir, "main.js"))) return dir;

    // Built beside the final directory and renamed into place, so a concurrent worker sees a whole
    // build or none.
    const partial = `${dir}.${process.pid}.partial`;
    fs.rmSync(partial, { recursive: true, force: true });
    const result = buildSync({ ...options, entryPoints: sources.map((f) => path.join(sourceDir, f)), outbase: sourceDir, outdir: partial, write: true });
    if (result.errors.length > 0) throw new Error(`building gateway/src failed: ${result.errors.map((e) => e.text).join("; ")}`);
    try {
        fs.renameSync(partial, dir);
    } catch (err) {
        // Another worker renamed its identical build into place first.
        fs.rmSync(partial, { recursive: true, force: true });
        if (!fs.existsSync(path.join(dir, "main.js"))) throw err;
    }
    pruneOldBuilds(dir);
    return dir;
}

/** Removes builds of other sources made over a day ago, so the cache does not grow without bound. */
function pruneOldBuilds(keep: string): void {
    const dayAgo = Date.now() - 24 * 3600 * 1000;
    for (const entry of fs.readdirSync(buildsDir)) {
        const other = path.join(buildsDir, entry);
        if (other === keep) continue;
        try {
            if (fs.statSync(other).mtimeMs < dayAgo) fs.rmSync(other, { recursive: true, force: true });
        } catch {
            // Removed meanwhile by another worker.
        }
    }
}
