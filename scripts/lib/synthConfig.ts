/**
 * Reads a stack's config the way the Pulumi CLI hands it to a program, without the CLI: Pulumi's mock
 * runtime reads no `Pulumi.<stack>.yaml`, so the synth parses it here.
 *
 * - keys without a namespace get the project's (`cpuMinSize` → `inference-platform:cpuMinSize`);
 * - structured values (lists, maps) become JSON strings, scalars their string form (what
 *   `pulumi.Config.get` returns for them);
 * - `secure:` values (ciphertext only the real CLI can decrypt) become `<secure:ns:key>` placeholders
 *   and are reported as secret keys;
 * - project-level defaults from `Pulumi.yaml` (`config: key: { default: ... }`) apply to keys the stack
 *   does not set, as the CLI does.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";

export interface StackConfigInput {
    /** Project name (from Pulumi.yaml). */
    readonly project: string;
    /** Stack name (`dev` for Pulumi.dev.yaml). */
    readonly stack: string;
    /** Namespaced key → string value, ready for `pulumi.runtime.setAllConfig`. */
    readonly config: Record<string, string>;
    /** Keys whose value was `secure:` (their values are placeholders). */
    readonly secretKeys: string[];
    /** The file the config came from (for messages). */
    readonly source: string;
}

/** Thrown for unreadable or malformed stack/project files (not for invalid config values). */
export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Placeholder that stands in for a `secure:` value. */
export function securePlaceholder(key: string): string {
    return `<secure:${key}>`;
}

function parseYamlFile(file: string): unknown {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new StackFileError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    try {
        return YAML.parse(text);
    } catch (err) {
        throw new StackFileError(`${file} is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
    }
}

/** The `name` of the project in `<root>/Pulumi.yaml`. */
export function readProject(root: string): { name: string; defaults: Record<string, unknown> } {
    const file = path.join(root, "Pulumi.yaml");
    const doc = parseYamlFile(file);
    if (!isMap(doc) || typeof doc.name !== "string" || doc.name === "") throw new StackFileError(`${file}: no project name`);
    const defaults: Record<string, unknown> = {};
    const declared = isMap(doc.config) ? doc.config : {};
    for (const [key, spec] of Object.entries(declared)) {
        // `key: value` (short form) or `key: { default | value: ... }`.
        if (isMap(spec)) {
            if ("default" in spec) defaults[key] = spec.default;
            else if ("value" in spec) defaults[key] = spec.value;
        } else if (spec !== null && spec !== undefined) {
            defaults[key] = spec;
        }
    }
    return { name: doc.name, defaults };
}

/** Replaces `{ secure: ... }` anywhere in a value by a placeholder; reports whether it did. */
function stripSecure(value: unknown, key: string): { value: unknown; secret: boolean } {
    if (isMap(value)) {
        if (Object.keys(value).length === 1 && typeof value.secure === "string") return { value: securePlaceholder(key), secret: true };
        let secret = false;
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) {
            const r = stripSecure(v, `${key}.${k}`);
            secret ||= r.secret;
            out[k] = r.value;
        }
        return { value: out, secret };
    }
    if (Array.isArray(value)) {
        let secret = false;
        const out = value.map((v, i) => {
            const r = stripSecure(v, `${key}[${i}]`);
            secret ||= r.secret;
            return r.value;
        });
        return { value: out, secret };
    }
    return { value, secret: false };
}

/** The string Pulumi's config API returns for a YAML value. */
export function configString(value: unknown): string {
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    return JSON.stringify(value);
}

const namespaced = (key: string, project: string) => (key.includes(":") ? key : `${project}:${key}`);

/**
 * Turns the parsed `config:` map of a stack file (plus project defaults) into the flat map Pulumi
 * gives a program. Pure; `readStackConfigFile` wraps it with file reading.
 */
export function flattenStackConfig(
    stackConfig: Record<string, unknown>,
    project: string,
    projectDefaults: Record<string, unknown> = {},
): { config: Record<string, string>; secretKeys: string[] } {
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, raw] of Object.entries(projectDefaults)) {
        if (raw === null || raw === undefined) continue;
        config[namespaced(key, project)] = configString(raw);
    }
    for (const [key, raw] of Object.entries(stackConfig)) {
        const full = namespaced(key, project);
        if (raw === null || raw === undefined) {
            delete config[full];
            continue;
        }
        const { value, secret } = stripSecure(raw, full);
        config[full] = configString(value);
        if (secret) secretKeys.push(full);
    }
    // Stable order: the map is written into outputs and plan.md.
    return {
        config: Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
        secretKeys: secretKeys.sort(),
    };
}

/**
 * Reads `Pulumi.<stack>.yaml` from `root` (or `stackFile` when given; the stack name is then taken
 * from the file name `Pulumi.<name>.yaml`, or `stackName`).
 */
export function readStackConfigFile(options: { root: string; stack?: string; stackFile?: string }): StackConfigInput {
    const project = readProject(options.root);
    let file: string;
    let stack: string;
    if (options.stackFile) {
        file = path.resolve(options.stackFile);
        stack = options.stack ?? /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(file))?.[1] ?? "synth";
    } else if (options.stack) {
        stack = options.stack;
        file = path.join(options.root, `Pulumi.${stack}.yaml`);
        if (!fs.existsSync(file)) {
            const known = fs
                .readdirSync(options.root)
                .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
                .filter((s): s is string => s !== undefined)
                .sort();
            throw new StackFileError(`no stack file ${file} (stacks here: ${known.join(", ") || "none"})`);
        }
    } else {
        throw new StackFileError("no stack given (use --stack <name> or --stack-file <path>)");
    }
    if (!/^[\w.-]+$/.test(stack)) throw new StackFileError(`'${stack}' is not a stack name (letters, digits, '-', '_', '.')`);
    const doc = parseYamlFile(file) ?? {};
    if (!isMap(doc)) throw new StackFileError(`${file}: expected a map with a 'config:' key`);
    const stackConfig = doc.config ?? {};
    if (!isMap(stackConfig)) throw new StackFileError(`${file}: 'config:' must be a map`);
    const { config, secretKeys } = flattenStackConfig(stackConfig, project.name, project.defaults);
    return { project: project.name, stack, config, secretKeys, source: file };
}
