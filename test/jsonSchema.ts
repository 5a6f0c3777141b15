/**
 * The one way tests build an Ajv instance for upstream schemas (CRDs' openAPIV3Schema, Helm
 * values.schema.json): Kubernetes' OpenAPI formats and `x-kubernetes-*` extensions are declared, so
 * Ajv neither ignores them with an `unknown format "int64" ignored` warning per occurrence nor rejects
 * them as unknown keywords.
 */
import Ajv, { Options } from "ajv";

/**
 * The OpenAPI/Kubernetes formats upstream schemas use (kube-openapi pkg/validation/strfmt and the
 * OpenAPI 3.0 data types). Integers are checked for their range; `double`/`float` only say "number",
 * which `type` already checks.
 */
export const kubernetesFormats = {
    int32: { type: "number", validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 },
    int64: { type: "number", validate: (n: number) => Number.isInteger(n) },
    double: { type: "number", validate: () => true },
    float: { type: "number", validate: () => true },
    byte: { type: "string", validate: /^[A-Za-z0-9+/]*={0,2}$/ },
    "date-time": { type: "string", validate: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/ },
} as const;

/** Annotation keywords of Kubernetes structural schemas (validation happens in the API server). */
export const kubernetesKeywords = [
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-validations",
];

/**
 * Ajv for upstream schemas: `strict: false` (upstream schemas use keywords and unions strict mode
 * rejects), every format above declared. Any further format is a real unknown: Ajv's warning for it
 * is turned into an error, so a new format shows up as a failing test, not as log noise.
 */
export function newSchemaAjv(options: Options = {}): Ajv {
    const ajv = new Ajv({
        strict: false,
        ...options,
        logger: {
            log: console.log,
            warn: (...args: unknown[]) => {
                throw new Error(`ajv: ${args.map(String).join(" ")} (declare it in test/jsonSchema.ts)`);
            },
            error: console.error,
        },
    });
    ajv.addVocabulary(kubernetesKeywords);
    for (const [name, format] of Object.entries(kubernetesFormats)) {
        ajv.addFormat(name, format as Parameters<Ajv["addFormat"]>[1]);
    }
    return ajv;
}
