/**
 * Reads a `Pulumi.<stack>.yaml` into the flat config map Pulumi's runtime expects (`ns:key` →
 * string; lists and objects as JSON), so tests can run index.ts with a real stack's config.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";

export function stackConfig(stack: string, overrides: Record<string, string> = {}): Record<string, string> {
    const file = path.resolve(__dirname, "..", `Pulumi.${stack}.yaml`);
    const config = (YAML.parse(fs.readFileSync(file, "utf8")).config ?? {}) as Record<string, unknown>;
    const flat = Object.fromEntries(
        Object.entries(config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
    );
    return { ...flat, ...Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k.includes(":") ? k : `inference-platform:${k}`, v])) };
}
