/**
 * Writes the config reference from `configKeys` (config.ts), the single source of truth:
 * the `config:` block of Pulumi.yaml and the table in README.md between the config markers.
 * `npm run config:docs` rewrites both; test/configDocs.test.ts fails when either is stale.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { ConfigKey, configKeys } from "../config";

const root = path.resolve(__dirname, "..");
export const readmeStart = "<!-- config-reference:start -->";
export const readmeEnd = "<!-- config-reference:end -->";

/**
 * The `config:` block of Pulumi.yaml: every key with type, description and default. Project keys are
 * declared without the namespace. Pulumi treats a declared key without a default as required, so an
 * optional string key gets the default "" (which `loadConfig` reads as unset).
 */
export function pulumiYamlConfig(): Record<string, Record<string, unknown>> {
    return Object.fromEntries(
        Object.entries(configKeys as Record<string, ConfigKey>).map(([key, spec]) => {
            const entry: Record<string, unknown> = { type: spec.type, description: spec.description };
            if (spec.type === "array") entry.items = { type: "string" };
            entry.default = spec.default ?? "";
            return [key, entry];
        }),
    );
}

function formatDefault(spec: ConfigKey): string {
    if (spec.default === undefined) return "unset";
    if (Array.isArray(spec.default)) return spec.default.length === 0 ? "`[]`" : spec.default.map((v) => `\`${v}\``).join(", ");
    return `\`${String(spec.default)}\``;
}

/** The values a key accepts, as the table shows them: its enum, its range, or nothing. */
function formatValues(spec: ConfigKey): string {
    if (spec.enum) return spec.enum.map((v) => `\`${v}\``).join(", ");
    if (spec.min !== undefined || spec.max !== undefined) return `${spec.min ?? ""}..${spec.max ?? ""}`;
    return "";
}

/** The README's config reference table. */
export function readmeConfigTable(): string {
    const rows = Object.entries(configKeys as Record<string, ConfigKey>).map(
        ([key, spec]) => `| \`${key}\` | ${spec.type} | ${formatDefault(spec)} | ${formatValues(spec)} | ${spec.description.replace(/\|/g, "\\|")} |`,
    );
    return [
        "| key | type | default | values | what it does |",
        "| --- | --- | --- | --- | --- |",
        "| `aws:region` | string | (required on eks) | an AWS region | AWS region of the stack. |",
        ...rows,
    ].join("\n");
}

export function renderPulumiYaml(current: string): string {
    const doc = YAML.parseDocument(current);
    doc.set("config", pulumiYamlConfig());
    return doc.toString({ lineWidth: 0 });
}

export function renderReadme(current: string): string {
    const start = current.indexOf(readmeStart);
    const end = current.indexOf(readmeEnd);
    if (start < 0 || end < start) throw new Error(`README.md has no ${readmeStart} ... ${readmeEnd} markers`);
    return current.slice(0, start + readmeStart.length) + "\n" + readmeConfigTable() + "\n" + current.slice(end);
}

if (require.main === module) {
    const pulumiYaml = path.join(root, "Pulumi.yaml");
    const readme = path.join(root, "README.md");
    fs.writeFileSync(pulumiYaml, renderPulumiYaml(fs.readFileSync(pulumiYaml, "utf8")));
    fs.writeFileSync(readme, renderReadme(fs.readFileSync(readme, "utf8")));
    console.log("config reference written to Pulumi.yaml and README.md");
}
