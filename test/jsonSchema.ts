/**
 * The one way tests build an Ajv instance for upstream schemas (CRDs' openAPIV3Schema, Helm
 * values.schema.json): Kubernetes' OpenAPI formats and `x-kubernetes-*` extensions are declared, so
 * Ajv neither ignores them with an `unknown format "int64" ignored` warning per occurrence nor rejects
 * them as unknown keywords.
 */
import Ajv, { _, Options, ValidateFunction } from "ajv";
import standaloneCode from "ajv/dist/standalone";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { cachedText, packageVersion, testCacheDir } from "./diskCache";

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

/** What compiled validators' code calls `require` with to reach `kubernetesFormats`. */
const formatsModule = "inference-platform:kubernetesFormats";

/**
 * `newSchemaAjv(options).compile(schema())`, with Ajv's generated code kept across runs.
 *
 * Compiling a large CRD's schema costs Ajv most of a second (KServe's InferenceService: 0.6 s of
 * CPU, and building the schema another 0.17 s), in every worker of every run. Ajv can write a
 * compiled validator out as a CommonJS module (`ajv/dist/standalone`); that module is kept
 * (test/diskCache.ts), and every call, the first included, loads it: later calls neither build nor
 * compile anything. The module reaches Ajv's runtime helpers with `require` and the formats above
 * through `formatsModule`, so it validates exactly as the freshly compiled function does.
 *
 * The entry is named by the hash of `inputs`, `options`, this file and Ajv's version: `inputs` must
 * hold everything `schema()` is made from (the upstream file's text, the source of the code that
 * transforms it), so that a change to any of them gets a new entry, never a stale one.
 */
export function compileSchemaCached(inputs: readonly (string | Uint8Array)[], schema: () => object, options: Options = {}, cacheDir = testCacheDir("ajv-validators")): ValidateFunction {
    const hash = createHash("sha256").update(JSON.stringify({ ajv: packageVersion("ajv"), options })).update(fs.readFileSync(__filename));
    for (const input of inputs) hash.update(`\0${input.length}\0`).update(input);
    return loadValidatorModule(
        cachedText(cacheDir, `${hash.digest("hex").slice(0, 32)}.cjs`, () => {
            const ajv = newSchemaAjv({ ...options, code: { ...options.code, source: true, formats: _`require(${formatsModule})` } });
            return standaloneCode(ajv, ajv.compile(schema()));
        }),
    );
}

/** Runs a standalone validator module (CommonJS source) and returns the function it exports. */
function loadValidatorModule(code: string): ValidateFunction {
    const module = { exports: {} as { default?: ValidateFunction } };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const requireInModule = (id: string) => (id === formatsModule ? kubernetesFormats : require(id));
    new Function("require", "module", "exports", code)(requireInModule, module, module.exports);
    const validate = module.exports.default ?? (module.exports as unknown as ValidateFunction);
    if (typeof validate !== "function") throw new Error("a cached Ajv validator module exports no function");
    return validate;
}

/**
 * A chart's `values.schema.json` (its text), compiled with `compileSchemaCached`. Its `$schema` is
 * dropped: Helm's charts name meta-schemas Ajv does not know (`http://json-schema.org/schema#`), and
 * the keywords they use are draft-07's, Ajv's default.
 */
export function compileValuesSchema(text: string, options: Options = {}): ValidateFunction {
    return compileSchemaCached([text], () => {
        const schema = JSON.parse(text) as Record<string, unknown>;
        delete schema.$schema;
        return schema;
    }, options);
}
