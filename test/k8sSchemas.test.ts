/**
 * Every Kubernetes object the dev and local stacks render (out/<stack>/k8s/*.yaml of the offline
 * synth) validates against its schema: core kinds with kubernetes-models, Istio and Knative kinds with
 * @kubernetes-models/istio and /knative, KServe and Karpenter kinds with the upstream CRDs in
 * ../shared/schemas (test/crdSchema.ts). Unknown fields are errors: the generated kubernetes-models validators accept
 * any extra property, so `unknownFields` probes each field (see there). Helm values validate against
 * the charts' values schemas where upstream ships one (Istio gateway, cert-manager).
 *
 * Both stacks come from the synth CLI (test/synthOnce.ts: one run per stack, shared with other files).
 * `K8S_SCHEMA_DIRS=out/x,out/y npx vitest run test/k8sSchemas.test.ts` also checks those synth outputs.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { readTree } from "../scripts/lib/synthCli";
import { loadCrdValidator } from "./crdSchema";
import { testCacheDir } from "./diskCache";
import { compileValuesSchema } from "./jsonSchema";
import { itWithSharedSchemas, sharedSchemasPresent, UpstreamComponent } from "./shared";
import { parseYamlDocumentsCached, readUpstreamText } from "./upstreamFiles";
import { synthCliFiles } from "./synthOnce";


interface AjvLikeError {
    instancePath: string;
    keyword: string;
    message?: string;
}
/** Errors of one object against one schema; [] when valid. */
type Validate = (obj: unknown) => AjvLikeError[];

const pointer = (parts: readonly string[]) => parts.map((p) => `/${p.replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function setAt(obj: any, parts: readonly string[], value: unknown): any {
    const copy = structuredClone(obj);
    let cur = copy;
    for (const p of parts.slice(0, -1)) cur = cur[p];
    cur[parts[parts.length - 1]] = value;
    return copy;
}

/**
 * Fields of `obj` the schema behind `validate` does not declare. A field is declared when replacing
 * its value by `true` or by a string makes validation fail at that field (a type error: no declared
 * field accepts both). An undeclared field accepts anything. Objects none of whose keys are declared
 * are treated as free-form (x-kubernetes-preserve-unknown-fields); a wholly misspelt object is
 * therefore not caught, a misspelt field next to a correct one is.
 */
export function unknownFields(obj: unknown, validate: Validate): string[] {
    const declared = (parts: readonly string[]) => {
        const at = pointer(parts);
        return [true, "__probe__"].some((probe) =>
            validate(setAt(obj, parts, probe)).some((e) => e.instancePath === at || e.instancePath.startsWith(`${at}/`)),
        );
    };
    const found: string[] = [];
    const visit = (parts: string[], value: unknown) => {
        if (Array.isArray(value)) {
            value.forEach((item, i) => visit([...parts, String(i)], item));
            return;
        }
        if (!isMap(value)) return;
        const keys = Object.keys(value);
        const known = keys.filter((k) => declared([...parts, k]));
        if (known.length === 0 && parts.length > 0) return;
        for (const k of keys) {
            if (known.includes(k)) visit([...parts, k], value[k]);
            else found.push(`${pointer([...parts, k])}: unknown field '${k}'`);
        }
    };
    visit([], obj);
    return found;
}

/** kubernetes-models style class → Validate (its validate() throws a ValidationError with ajv errors). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function modelValidator(ModelClass: new (data: any) => object): Validate {
    return (obj) => {
        try {
            (new ModelClass(obj) as { validate(): void }).validate();
            return [];
        } catch (err) {
            const errors = (err as { errors?: AjvLikeError[] }).errors;
            if (!errors) throw err;
            return errors;
        }
    };
}

const kserveCrdFiles: Record<string, string> = {
    InferenceService: "serving.kserve.io_inferenceservices.yaml",
    ServingRuntime: "serving.kserve.io_servingruntimes.yaml",
    ClusterServingRuntime: "serving.kserve.io_clusterservingruntimes.yaml",
    InferenceGraph: "serving.kserve.io_inferencegraphs.yaml",
};

/** CRDs of other groups, by `group/kind` (Karpenter's, aws/karpenter-provider-aws v1.14.1 pkg/apis/crds/). */
const otherCrdFiles: Record<string, string> = {
    "karpenter.sh/NodePool": "karpenter.sh_nodepools.yaml",
    "karpenter.k8s.aws/EC2NodeClass": "karpenter.k8s.aws_ec2nodeclasses.yaml",
};

/** `skip`: the schema is in ../shared/schemas, which is absent. */
type Checker = { source: string; problems(obj: Record<string, unknown>, patch: boolean): string[] } | { skip: true } | { missing: string };

/** Picks the schema for an object by apiVersion/kind. */
async function checkerFor(apiVersion: string, kind: string): Promise<Checker> {
    const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
    let modulePath: string | undefined;
    if (group === "" || group.endsWith(".k8s.io") || !group.includes(".")) modulePath = `kubernetes-models/${apiVersion}`;
    else if (group.endsWith(".istio.io")) modulePath = `@kubernetes-models/istio/${apiVersion}`;
    else if (group.endsWith(".knative.dev")) modulePath = `@kubernetes-models/knative/${apiVersion}`;
    if (modulePath) {
        let mod: Record<string, unknown>;
        try {
            mod = await import(modulePath);
        } catch {
            return { missing: `no ${modulePath} module` };
        }
        const ModelClass = mod[kind] as (new (data: unknown) => object) | undefined;
        if (!ModelClass) return { missing: `${modulePath} has no ${kind}` };
        const validate = modelValidator(ModelClass);
        return {
            source: modulePath,
            problems(obj, patch) {
                // A server-side-apply patch carries only the fields it owns: required fields may be absent.
                const errors = validate(obj).filter((e) => !(patch && e.keyword === "required"));
                return [...errors.map((e) => `${e.instancePath || "/"}: ${e.message ?? e.keyword}`), ...unknownFields(obj, validate)];
            },
        };
    }
    if (group === "serving.kserve.io" && kserveCrdFiles[kind]) {
        const file = kserveCrdFiles[kind];
        const crd = loadCrdValidator("kserve", file, apiVersion.split("/")[1]);
        if (!crd) return { skip: true };
        return { source: file, problems: (obj) => crd.errors(obj) };
    }
    const other = otherCrdFiles[`${group}/${kind}`];
    if (other) {
        const crd = loadCrdValidator("karpenter", other, apiVersion.split("/")[1]);
        if (!crd) return { skip: true };
        return { source: other, problems: (obj) => crd.errors(obj) };
    }
    return { missing: `no schema known for ${apiVersion} ${kind}` };
}

/** Values schema of a chart, when upstream ships one. */
const valuesSchemas: Record<string, [UpstreamComponent, string]> = {
    gateway: ["istio", "gateway.values.schema.json"],
    "cert-manager": ["certManager", "values.schema.json"],
};

function valuesValidator([component, file]: [UpstreamComponent, string]): (values: unknown) => string[] {
    const validate = compileValuesSchema(readUpstreamText(component, file), { allErrors: true });
    return (values) => (validate(values) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"}: ${e.message}${e.keyword === "additionalProperties" ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : ""}`));
}

interface Rendered {
    stack: string;
    manifests: { file: string; obj: Record<string, unknown>; patch: boolean }[];
    releases: { name: string; chart: string; values: Record<string, unknown> }[];
}

function fromFiles(stack: string, files: Record<string, string>): Rendered {
    const manifests = Object.entries(files)
        .filter(([f]) => f.startsWith("k8s/") && f.endsWith(".yaml"))
        .map(([file, text]) => {
            const docs = parseYamlDocumentsCached(text, file, testCacheDir("synth-yaml"));
            if (docs.length !== 1) throw new Error(`${file}: expected one YAML document, found ${docs.length}`);
            return { file, obj: docs[0] as Record<string, unknown>, patch: /^# Server-side-apply patch/m.test(text) };
        });
    const resources = JSON.parse(files["resources.json"]).resources as { type: string; name: string; inputs: Record<string, any> }[];
    const releases = resources
        .filter((r) => r.type === "kubernetes:helm.sh/v3:Release")
        .map((r) => ({ name: r.inputs.name ?? r.name, chart: String(r.inputs.chart).split("/").pop()!, values: r.inputs.values ?? {} }));
    return { stack, manifests, releases };
}

describe("Kubernetes objects of the synthesized stacks", async () => {
    const [dev, local] = await Promise.all([synthCliFiles("dev"), synthCliFiles("local")]);
    const stacks = [fromFiles("dev", dev), fromFiles("local", local)];
    // K8S_SCHEMA_DIRS=out/a,out/b also checks earlier synth outputs (e.g. of other stacks).
    for (const dir of (process.env.K8S_SCHEMA_DIRS ?? "").split(",").filter(Boolean)) {
        stacks.push(fromFiles(dir, readTree(path.resolve(__dirname, "..", dir))));
    }

    it("the strictness probe finds unknown fields that kubernetes-models itself accepts", async () => {
        const { Deployment } = await import("kubernetes-models/apps/v1");
        const validate = modelValidator(Deployment);
        const typo = {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "x", labelz: { a: "b" } },
            spec: {
                selector: { matchLabels: { app: "x" } },
                template: { metadata: { labels: { app: "x" } }, spec: { containers: [{ name: "c", image: "i", imagePullPolicy: "Always", resourcez: {} }] } },
            },
        };
        expect(validate(typo)).toEqual([]);
        expect(unknownFields(typo, validate)).toEqual([
            "/metadata/labelz: unknown field 'labelz'",
            "/spec/template/spec/containers/0/resourcez: unknown field 'resourcez'",
        ]);
        const { ConfigMap } = await import("kubernetes-models/v1");
        expect(unknownFields({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" }, data: { a: "b" }, spec: {} }, modelValidator(ConfigMap))).toEqual([
            "/spec: unknown field 'spec'",
        ]);
    });

    for (const stack of stacks) {
        describe(`${stack.stack} stack`, () => {
            it("renders Kubernetes objects", () => {
                expect(stack.manifests.length).toBeGreaterThan(0);
            });

            it.for(stack.manifests.map((m) => [m.file, m] as const))("%s validates", async ([, m], context) => {
                const checker = await checkerFor(String(m.obj.apiVersion), String(m.obj.kind));
                if ("skip" in checker) {
                    context.skip();
                    return;
                }
                if ("missing" in checker) throw new Error(`${m.file}: ${checker.missing}`);
                expect(checker.problems(m.obj, m.patch), `${m.file} against ${checker.source}`).toEqual([]);
            });

            const withSchema = stack.releases.filter((r) => valuesSchemas[r.chart]);
            it.skipIf(!sharedSchemasPresent || withSchema.length === 0).each(withSchema.map((r) => [r.name, r] as const))(
                "Helm values of %s validate against the chart's values schema",
                (_name, r) => {
                    expect(valuesValidator(valuesSchemas[r.chart])(r.values)).toEqual([]);
                },
            );
        });
    }

    itWithSharedSchemas("the values-schema check rejects a value the chart does not declare", () => {
        const check = valuesValidator(valuesSchemas.gateway);
        expect(check({ service: { type: "NodePort" } })).toEqual([]);
        expect(check({ servce: { type: "NodePort" } }).join("\n")).toMatch(/servce/);
    });
});
