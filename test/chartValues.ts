/**
 * Test helper: checks Helm values against the upstream chart files in /work/shared/schemas, read in
 * place (never copied). Tests skip with a message when that folder is absent.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

export const schemasDir = path.resolve(__dirname, "../../shared/schemas");
export const schemasPresent = fs.existsSync(schemasDir);

/** Warns once per file why chart-file checks are skipped. */
export function warnIfSchemasAbsent(what: string): void {
    if (!schemasPresent) console.warn(`skipping ${what}: upstream chart files not found at ${schemasDir}`);
}

export function readUpstreamYaml(relative: string): Record<string, unknown> {
    return parse(fs.readFileSync(path.join(schemasDir, relative), "utf8")) as Record<string, unknown>;
}

export function readUpstreamJson(relative: string): any {
    return JSON.parse(fs.readFileSync(path.join(schemasDir, relative), "utf8"));
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Paths in `ours` that the chart's values.yaml does not declare. Below a key whose upstream default is
 * an empty map, null or a scalar, anything goes (free-form maps such as annotations); `freeForm` names
 * further paths whose contents are not checked (e.g. a non-empty default we replace wholesale), and
 * `extra` names keys a chart reads without declaring them in values.yaml (e.g. dependency conditions).
 */
export function undeclaredValuePaths(
    ours: Record<string, unknown>,
    upstream: Record<string, unknown>,
    options: { freeForm?: string[]; extra?: string[] } = {},
    prefix = "",
): string[] {
    const found: string[] = [];
    for (const [key, value] of Object.entries(ours)) {
        const here = prefix ? `${prefix}.${key}` : key;
        if (options.extra?.includes(here)) continue;
        if (!(key in upstream)) {
            found.push(here);
            continue;
        }
        const theirs = upstream[key];
        if (options.freeForm?.includes(here)) continue;
        if (isMap(value) && isMap(theirs) && Object.keys(theirs).length > 0) {
            found.push(...undeclaredValuePaths(value, theirs, options, here));
        }
    }
    return found;
}
