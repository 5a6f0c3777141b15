/**
 * Validates Kubernetes objects against a CRD's openAPIV3Schema, read in place from
 * /work/shared/schemas (never copied into the repo).
 *
 * The API server prunes fields a structural schema does not declare; a field we set that would be
 * pruned is a bug, so unknown fields are errors here, except under
 * `x-kubernetes-preserve-unknown-fields: true`. `metadata` (the schema says only `type: object`)
 * is checked against the ObjectMeta fields manifests in this repo use.
 *
 * Usage:
 *   const crd = loadCrdValidator("kserve-v0.20.0/serving.kserve.io_inferenceservices.yaml");
 *   describe.skipIf(!crd)(...); crd?.errors(obj) // [] when valid
 */
import Ajv, { ErrorObject, ValidateFunction } from "ajv";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";

/** Where the upstream schema files live (a sibling of the repo). */
export const schemasDir = path.resolve(__dirname, "../../shared/schemas");

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

function newAjv(): Ajv {
    const ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addVocabulary([
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-int-or-string",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-map-type",
        "x-kubernetes-embedded-resource",
        "x-kubernetes-validations",
    ]);
    ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
    ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
    ajv.addFormat("date-time", /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
    ajv.addFormat("byte", /^[A-Za-z0-9+/]*={0,2}$/);
    ajv.addFormat("double", { type: "number", validate: () => true });
    return ajv;
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

const cache = new Map<string, CrdValidator | undefined>();

/**
 * Builds a validator for the CRD in `relativePath` (under `schemasDir`). `version` picks the CRD
 * version (default: the storage version). Returns undefined when the schema folder is absent so the
 * caller can skip; throws when the folder exists but the file or version does not (a typo, not a skip).
 */
export function loadCrdValidator(relativePath: string, version?: string): CrdValidator | undefined {
    const key = `${relativePath}@${version ?? ""}`;
    if (cache.has(key)) return cache.get(key);
    if (!fs.existsSync(schemasDir)) {
        cache.set(key, undefined);
        return undefined;
    }
    const file = path.join(schemasDir, relativePath);
    const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS() as Schema);
    const crd = docs.find((d) => d?.kind === "CustomResourceDefinition");
    if (!crd) throw new Error(`${file}: no CustomResourceDefinition`);
    const versions = crd.spec.versions as Schema[];
    const chosen = version ? versions.find((v) => v.name === version) : versions.find((v) => v.storage);
    if (!chosen) throw new Error(`${file}: no version ${version ?? "(storage)"}; has ${versions.map((v) => v.name).join(", ")}`);
    const apiVersion = `${crd.spec.group}/${chosen.name}`;
    const kind = crd.spec.names.kind as string;
    const root = closeSchema(chosen.schema.openAPIV3Schema);
    root.required = [...new Set([...(root.required ?? []), "apiVersion", "kind", "metadata"])];
    root.properties.apiVersion = { type: "string", const: apiVersion };
    root.properties.kind = { type: "string", const: kind };
    const validate: ValidateFunction = newAjv().compile(root);
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

/** The message callers log when they skip because the schemas are absent. */
export function skipMessage(relativePath: string): string {
    return `skipping CRD validation: ${path.join(schemasDir, relativePath)} is absent (the shared schema folder is not mounted)`;
}
