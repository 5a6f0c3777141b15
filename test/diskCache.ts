/**
 * Test-side caches kept across runs under node_modules/.cache (which `npm ci` clears): parsed
 * upstream YAML (test/upstreamFiles.ts) and Ajv's compiled validators (test/jsonSchema.ts). Callers
 * name each entry by the hash of everything it is made from, so an entry is never stale. No vitest
 * here: test/globalSetup.ts loads test/upstreamFiles.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** `node_modules/.cache/<name>` of this checkout. */
export function testCacheDir(name: string): string {
    return path.resolve(__dirname, "..", "node_modules", ".cache", name);
}

/**
 * The text of entry `name` in `dir`: read when it is there, else made by `make` and written beside its
 * final name, then renamed into place, so a concurrent worker reads a whole entry or none.
 */
export function cachedText(dir: string, name: string, make: () => string): string {
    const entry = path.join(dir, name);
    if (fs.existsSync(entry)) return fs.readFileSync(entry, "utf8");
    const text = make();
    fs.mkdirSync(dir, { recursive: true });
    const partial = `${entry}.${process.pid}.partial`;
    fs.writeFileSync(partial, text);
    fs.renameSync(partial, entry);
    return text;
}

/** The installed version of package `name` (part of a cache key when its output is cached). */
export function packageVersion(name: string): string {
    return (JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), "utf8")) as { version: string }).version;
}
