/**
 * Validates Kubernetes objects against a CRD's openAPIV3Schema, read in place from
 * ../shared/schemas (test/shared.ts; never copied into the repo).
 *
 * The API server prunes fields a structural schema does not declare; a field we set that would be
 * pruned is a bug, so unknown fields are errors here, except under
 * `x-kubernetes-preserve-unknown-fields: true`. `metadata` (the schema says only `type: object`)
 * is checked against the ObjectMeta fields manifests in this repo use.
 *
 * Usage:
 *   const crd = loadCrdValidator("kserve", "serving.kserve.io_inferenceservices.yaml");
 *   describeWithSharedSchemas(...); crd?.errors(obj) // [] when valid
 */
import { ErrorObject, ValidateFunction } from "ajv";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { compileSchemaCached } from "./jsonSchema";
import { readUpstreamYamlDocuments, sharedSchemasPresent, UpstreamComponent, upstreamPath } from "./shared";

export interface CrdValidator {
    /** `group/version` and kind the validator was built for. */
    readonly apiVersion: string;
    readonly kind: string;
    /** One readable message per problem (`/spec/predictor/model: unknown field 'x'`); empty when valid. */
    errors(obj: unknown): string[];
}

type Schema = Record<string, any>;

const dnsSubdomain = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const stringMap = { type: "object", additionalProperties: { type: "string" } };

/** The ObjectMeta fields a manifest may set (server-populated fields are not accepted). */
const objectMetaSchema: Schema = {
    type: "object",
    additionalProperties: false,
    properties: {
        name: { type: "string", maxLength: 253, pattern: dnsSubdomain },
        generateName: { type: "string" },
        namespace: { type: "string", maxLength: 63, pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" },
        labels: stringMap,
        annotations: stringMap,
        finalizers: { type: "array", items: { type: "string" } },
        ownerReferences: { type: "array", items: { type: "object" } },
    },
};

/**
 * Returns a copy of `schema` where every object schema that neither declares
 * `additionalProperties` nor preserves unknown fields rejects undeclared properties.
 */
export function closeSchema(schema: Schema, isRoot = true): Schema {
    if (schema === null || typeof schema !== "object" || Array.isArray(schema)) return schema;
    const out: Schema = { ...schema };
    if (out.properties) {
        out.properties = Object.fromEntries(
            Object.entries(out.properties as Record<string, Schema>).map(([key, child]) => {
                if (isRoot && key === "metadata") return [key, objectMetaSchema];
                return [key, closeSchema(child, false)];
            }),
        );
    }
    if (out.items && typeof out.items === "object") out.items = closeSchema(out.items, false);
    if (out.additionalProperties && typeof out.additionalProperties === "object") {
        out.additionalProperties = closeSchema(out.additionalProperties, false);
    }
    for (const key of ["anyOf", "allOf", "oneOf"]) {
        if (Array.isArray(out[key])) out[key] = out[key].map((s: Schema) => closeSchema(s, false));
    }
    const preserves = out["x-kubernetes-preserve-unknown-fields"] === true;
    const isObject = out.type === "object" || out.properties !== undefined;
    if (isObject && !preserves && out.additionalProperties === undefined) out.additionalProperties = false;
    return out;
}

function describe(error: ErrorObject): string {
    const where = error.instancePath || "/";
    if (error.keyword === "additionalProperties") {
        return `${where}: unknown field '${(error.params as { additionalProperty: string }).additionalProperty}'`;
    }
    if (error.keyword === "enum") {
        return `${where}: ${error.message} (${(error.params as { allowedValues: unknown[] }).allowedValues.join(", ")})`;
    }
    return `${where}: ${error.message}`;
}

/**
 * Builds a validator for the CRD in `file` of `component`'s upstream folder (the pinned version).
 * `version` picks the CRD version (default: the storage version). Returns undefined when
 * ../shared/schemas is absent so the caller can skip; throws when it is there but the file or version
 * is not (a typo or a missing pin, not a skip).
 *
 * Validators are cached for the whole worker process (test files share workers), and Ajv's code for
 * them across runs (`compileSchemaCached`): the KServe InferenceService CRD alone is 2 MB of YAML.
 */
export function loadCrdValidator(component: UpstreamComponent, file: string, version?: string): CrdValidator | undefined {
    if (!sharedSchemasPresent) return undefined;
    const key = `${upstreamPath(component, file)}@${version ?? ""}`;
    const cache = processCache().validators;
    const cached = cache.get(key);
    if (cached) return cached;
    const crd = readCrd(component, file);
    const versions = crd.spec.versions as Schema[];
    const chosen = version ? versions.find((v) => v.name === version) : versions.find((v) => v.storage);
    if (!chosen) throw new Error(`${upstreamPath(component, file)}: no version ${version ?? "(storage)"}; has ${versions.map((v) => v.name).join(", ")}`);
    const apiVersion = `${crd.spec.group}/${chosen.name}`;
    const kind = crd.spec.names.kind as string;
    const schema = () => {
        const root = closeSchema(chosen.schema.openAPIV3Schema);
        root.required = [...new Set([...(root.required ?? []), "apiVersion", "kind", "metadata"])];
        root.properties.apiVersion = { type: "string", const: apiVersion };
        root.properties.kind = { type: "string", const: kind };
        return hoistRepeatedSubschemas(root);
    };
    // What the schema is made from: the version's schema as parsed, its names, and this file's code.
    const inputs = [JSON.stringify(chosen.schema.openAPIV3Schema), apiVersion, kind, fs.readFileSync(__filename)];
    const validate: ValidateFunction = compileSchemaCached(inputs, schema, { allErrors: true, inlineRefs: false });
    const validator: CrdValidator = {
        apiVersion,
        kind,
        errors(obj) {
            if (validate(JSON.parse(JSON.stringify(obj)))) return [];
            return (validate.errors ?? []).map(describe);
        },
    };
    cache.set(key, validator);
    return validator;
}

/**
 * The CustomResourceDefinition in `file` of `component`'s upstream folder, parsed (cached per
 * process; treat it as read-only). Throws when the file holds none.
 */
export function readCrd(component: UpstreamComponent, file: string): Schema {
    const found = (readUpstreamYamlDocuments(component, file) as Schema[]).find((d) => d?.kind === "CustomResourceDefinition");
    if (!found) throw new Error(`${upstreamPath(component, file)}: no CustomResourceDefinition`);
    return found;
}

/** One cache per process, kept across test files (and their module resets) in a shared worker. */
function processCache(): { validators: Map<string, CrdValidator> } {
    const slot = Symbol.for("inference-platform.test.crdCache");
    const holder = globalThis as unknown as Record<symbol, ReturnType<typeof processCache> | undefined>;
    return (holder[slot] ??= { validators: new Map() });
}

/** Keywords whose value is a schema, a list of schemas, or a map of name to schema. */
const schemaKeywords = new Set(["additionalProperties", "items", "additionalItems", "not", "contains", "propertyNames", "if", "then", "else"]);
const schemaListKeywords = new Set(["anyOf", "allOf", "oneOf", "items"]);
const schemaMapKeywords = new Set(["properties", "patternProperties", "definitions", "dependencies"]);

/**
 * The same schema with every subschema that occurs more than once (and is not tiny) moved to
 * `definitions` and referenced by `$ref`: a CRD repeats the container and pod schemas dozens of
 * times (KServe: once per model server), and Ajv compiles each occurrence unless it is shared. What
 * the schema accepts, and where errors point in the instance, do not change; only `schemaPath` does.
 * Pair with Ajv's `inlineRefs: false`, which keeps each definition one compiled function.
 */
export function hoistRepeatedSubschemas(root: Schema, minimumJsonLength = 300): Schema {
    const seen = new Map<string, number>();
    const keyOf = (s: Schema) => createHash("sha1").update(JSON.stringify(s)).digest("base64url").slice(0, 16);
    const eachChild = (s: Schema, visit: (child: Schema) => unknown): void => {
        for (const [keyword, value] of Object.entries(s)) {
            if (schemaMapKeywords.has(keyword) && value && typeof value === "object" && !Array.isArray(value)) {
                for (const child of Object.values(value)) if (child && typeof child === "object" && !Array.isArray(child)) visit(child as Schema);
            } else if (schemaListKeywords.has(keyword) && Array.isArray(value)) {
                for (const child of value) if (child && typeof child === "object") visit(child as Schema);
            } else if (schemaKeywords.has(keyword) && value && typeof value === "object" && !Array.isArray(value)) {
                visit(value as Schema);
            }
        }
    };
    // Top-down: a repeat's children were counted at its first occurrence, so they are not counted
    // again (they end up once, inside the shared definition).
    const count = (s: Schema): void => {
        if (JSON.stringify(s).length >= minimumJsonLength) {
            const key = keyOf(s);
            const n = (seen.get(key) ?? 0) + 1;
            seen.set(key, n);
            if (n > 1) return;
        }
        eachChild(s, count);
    };
    eachChild(root, count);

    const definitions: Record<string, Schema> = {};
    const rewrite = (s: Schema): Schema => {
        const out: Schema = {};
        for (const [keyword, value] of Object.entries(s)) {
            if (schemaMapKeywords.has(keyword) && value && typeof value === "object" && !Array.isArray(value)) {
                out[keyword] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, child && typeof child === "object" && !Array.isArray(child) ? replace(child as Schema) : child]));
            } else if (schemaListKeywords.has(keyword) && Array.isArray(value)) {
                out[keyword] = value.map((child) => (child && typeof child === "object" ? replace(child as Schema) : child));
            } else if (schemaKeywords.has(keyword) && value && typeof value === "object" && !Array.isArray(value)) {
                out[keyword] = replace(value as Schema);
            } else {
                out[keyword] = value;
            }
        }
        return out;
    };
    const replace = (s: Schema): Schema => {
        if (JSON.stringify(s).length < minimumJsonLength) return rewrite(s);
        const key = keyOf(s);
        if ((seen.get(key) ?? 0) < 2) return rewrite(s);
        if (!(key in definitions)) {
            definitions[key] = {}; // reserved first: a definition never contains itself (schemas here are trees)
            definitions[key] = rewrite(s);
        }
        return { $ref: `#/definitions/${key}` };
    };
    const hoisted = rewrite(root);
    if (Object.keys(definitions).length === 0) return hoisted;
    if (hoisted.definitions) throw new Error("hoistRepeatedSubschemas: the root schema already has definitions");
    return { ...hoisted, definitions };
}
