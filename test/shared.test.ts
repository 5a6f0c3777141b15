/**
 * The test helpers around ../shared/schemas: folders follow the pinned versions, one skip message,
 * parsed YAML and compiled validators are cached by what they are made from, and the CRD validator's
 * subschema hoisting accepts and rejects exactly what the plain schema does.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { defaultVersions } from "../versions";
import { closeSchema, hoistRepeatedSubschemas, readCrd } from "./crdSchema";
import { compileSchemaCached, newSchemaAjv } from "./jsonSchema";
import {
    describeWithSharedSchemas,
    parseYamlDocumentsCached,
    sharedSchemasDir,
    sharedSchemasSkipMessage,
    upstreamFolders,
    upstreamPath,
} from "./shared";

describe("upstream folders", () => {
    it("follow the versions the stack pins (versions.ts)", () => {
        const folders = upstreamFolders();
        expect(folders.istio).toBe(`istio-${defaultVersions.istio}`);
        expect(folders.kserve).toBe(`kserve-${defaultVersions.kserve}`);
        expect(folders.certManager).toBe(`cert-manager-${defaultVersions.certManager}`);
        // A moved pin moves the folder: tests then read that version's files (or fail without them).
        expect(upstreamFolders({ ...defaultVersions, istio: "1.30.0" }).istio).toBe("istio-1.30.0");
        expect(upstreamFolders({ ...defaultVersions, knative: "knative-v1.21.3" })).toMatchObject({
            knativeServing: "knative-serving-v1.21.3",
            netIstio: "net-istio-v1.21.3",
        });
        expect(() => upstreamFolders({ ...defaultVersions, awsLoadBalancerController: "9.9.9" })).toThrow(/no app version/);
    });

    it("one skip message, naming ../shared/schemas", () => {
        expect(sharedSchemasSkipMessage).toMatch(/need \.\.\/shared\/schemas \(.+\), which is absent$/);
        expect(sharedSchemasSkipMessage).toContain(sharedSchemasDir);
    });

    describeWithSharedSchemas("when ../shared/schemas is present", () => {
        it.each(Object.entries(upstreamFolders()))("has the pinned %s folder (%s)", (component, folder) => {
            expect(fs.existsSync(`${sharedSchemasDir}/${folder}`), `${component}: ${folder}`).toBe(true);
        });

        it("reads Istio's files of the pinned version, not an older one", () => {
            expect(upstreamPath("istio", "crd-all.gen.yaml")).toBe(`${sharedSchemasDir}/istio-${defaultVersions.istio}/crd-all.gen.yaml`);
            // 1.29.6 fixed the EnvoyFilter port rule (`self <= 6553` in 1.29.1): the pinned file has the fix.
            const crds = fs.readFileSync(upstreamPath("istio", "crd-all.gen.yaml"), "utf8");
            expect(crds).not.toMatch(/self <= 6553$/m);
            expect(crds).toMatch(/self <= 65535$/m);
        });
    });
});

describe("parseYamlDocumentsCached", () => {
    const text = "kind: A\nspec: {replicas: 2, on: yes}\n---\nkind: B\nitems: [1, '2', ~]\n";

    it("gives yaml's documents, and a later call reads them from the cache entry the first one wrote", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "yaml-cache-"));
        try {
            const expected = parseAllDocuments(text).map((d) => d.toJS());
            expect(parseYamlDocumentsCached(text, "a.yaml", dir)).toEqual(expected);
            const entries = fs.readdirSync(dir);
            expect(entries).toHaveLength(1);
            expect(JSON.parse(fs.readFileSync(path.join(dir, entries[0]), "utf8"))).toEqual(expected);
            // The second call reads the entry, not the text: an entry changed by hand shows through.
            fs.writeFileSync(path.join(dir, entries[0]), JSON.stringify([{ kind: "FromTheCache" }]));
            expect(parseYamlDocumentsCached(text, "a.yaml", dir)).toEqual([{ kind: "FromTheCache" }]);
            // Another text (one character) never reads that entry.
            const edited = text.replace("replicas: 2", "replicas: 3");
            expect(parseYamlDocumentsCached(edited, "a.yaml", dir)).toEqual(parseAllDocuments(edited).map((d) => d.toJS()));
            expect(fs.readdirSync(dir).filter((f) => f.endsWith(".json"))).toHaveLength(2);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("names the text in a parse error and caches nothing for it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "yaml-cache-"));
        try {
            expect(() => parseYamlDocumentsCached("a: [1, 2\n", "broken.yaml", dir)).toThrow(/^broken\.yaml: /);
            expect(fs.readdirSync(dir)).toEqual([]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("compileSchemaCached", () => {
    // Kubernetes formats, a pattern, a $ref and closed objects: what CRD schemas use.
    const schema = {
        type: "object",
        required: ["name", "port"],
        additionalProperties: false,
        definitions: { label: { type: "string", pattern: "^[a-z]+$" } },
        properties: {
            name: { $ref: "#/definitions/label" },
            port: { type: "integer", format: "int32" },
            since: { type: "string", format: "date-time" },
            data: { type: "string", format: "byte" },
            tags: { type: "array", items: { $ref: "#/definitions/label" } },
        },
    };
    const objects = [
        { name: "web", port: 8080, since: "2026-12-01T08:00:00Z", data: "aGk=", tags: ["a", "b"] },
        { name: "web", port: 2 ** 31 }, // int32 out of range: the format's own check
        { name: "web", port: 80, since: "yesterday", data: "not base64!" },
        { name: "Web", port: 80, tags: ["ok", "NOT"], extra: true },
        { port: "80" },
    ];
    const verdicts = (validate: (o: unknown) => boolean | Promise<unknown>) =>
        objects.map((o) => {
            const valid = validate(o) as boolean;
            return { valid, errors: ((validate as { errors?: unknown[] | null }).errors ?? []).map((e: any) => `${e.instancePath} ${e.keyword} ${e.message}`) };
        });

    it("validates as a fresh compile does, when it writes its cache entry and when it reads it, without building the schema again", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ajv-cache-"));
        try {
            const options = { allErrors: true, inlineRefs: false };
            const expected = verdicts(newSchemaAjv(options).compile(schema));
            expect(expected.map((v) => v.valid)).toEqual([true, false, false, false, false]);
            let built = 0;
            const build = () => (built++, schema);
            expect(verdicts(compileSchemaCached(["inputs"], build, options, dir))).toEqual(expected);
            expect(fs.readdirSync(dir)).toHaveLength(1);
            expect(verdicts(compileSchemaCached(["inputs"], build, options, dir))).toEqual(expected);
            expect(built).toBe(1);
            // Other inputs or options get an entry of their own.
            compileSchemaCached(["other inputs"], build, options, dir);
            compileSchemaCached(["inputs"], build, { allErrors: false, inlineRefs: false }, dir);
            expect(built).toBe(3);
            expect(fs.readdirSync(dir)).toHaveLength(3);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("hoistRepeatedSubschemas", () => {
    const container = {
        type: "object",
        required: ["name"],
        properties: {
            name: { type: "string", description: "x".repeat(300) },
            ports: { type: "array", items: { type: "object", properties: { containerPort: { type: "integer", format: "int32" } }, required: ["containerPort"] } },
        },
    };
    const schema = closeSchema({
        type: "object",
        properties: {
            predictor: { type: "object", properties: { containers: { type: "array", items: container } } },
            transformer: { type: "object", properties: { containers: { type: "array", items: container }, minReplicas: { type: "integer" } } },
            tag: { type: "string" },
        },
    });
    const objects: unknown[] = [
        { predictor: { containers: [{ name: "a", ports: [{ containerPort: 1 }] }] } },
        { predictor: { containers: [{ name: "a", ports: [{ containerPort: 2 ** 40 }] }] }, transformer: { containers: [{}] } },
        { transformer: { containers: [{ name: 1, extra: true, ports: [{}] }] }, tag: 3 },
        { predictor: { containers: "no" }, unknown: {} },
    ];
    const errorsOf = (validate: ReturnType<ReturnType<typeof newSchemaAjv>["compile"]>, obj: unknown) => {
        validate(obj);
        return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.keyword} ${e.message}`).sort();
    };

    it("moves each repeated subschema into definitions once", () => {
        const hoisted = hoistRepeatedSubschemas(schema);
        expect(Object.keys(hoisted.definitions)).toHaveLength(1);
        // The largest repeat (the containers list) is shared; what is inside it is not hoisted again.
        expect(hoisted.properties.predictor.properties.containers).toEqual({ $ref: `#/definitions/${Object.keys(hoisted.definitions)[0]}` });
        expect(hoisted.properties.transformer.properties.containers).toEqual(hoisted.properties.predictor.properties.containers);
        expect(hoistRepeatedSubschemas({ type: "object", properties: { a: { type: "string" } } })).toEqual({ type: "object", properties: { a: { type: "string" } } });
    });

    it("accepts and rejects exactly what the plain schema does, with the same instance paths", () => {
        const plain = newSchemaAjv({ allErrors: true }).compile(schema);
        const hoisted = newSchemaAjv({ allErrors: true, inlineRefs: false }).compile(hoistRepeatedSubschemas(schema));
        for (const obj of objects) expect(errorsOf(hoisted, obj), JSON.stringify(obj)).toEqual(errorsOf(plain, obj));
        expect(errorsOf(plain, objects[0])).toEqual([]);
        expect(errorsOf(plain, objects[2]).length).toBeGreaterThan(3);
    });

    describeWithSharedSchemas("on an upstream CRD (Knative Service: its probes share schemas)", () => {
        it("gives the same errors as the plain schema", () => {
            const crd = readCrd("knativeServing", "service.yaml");
            const root = closeSchema(crd.spec.versions.find((v: { name: string }) => v.name === "v1").schema.openAPIV3Schema);
            const hoisted = hoistRepeatedSubschemas(root);
            expect(Object.keys(hoisted.definitions ?? {}).length).toBeGreaterThan(0);
            const plainValidate = newSchemaAjv({ allErrors: true }).compile(root);
            const hoistedValidate = newSchemaAjv({ allErrors: true, inlineRefs: false }).compile(hoisted);
            const container = { name: "c", image: "i", ports: [{ containerPort: 8080 }] };
            const samples = [
                { apiVersion: "serving.knative.dev/v1", kind: "Service", metadata: { name: "s" }, spec: { template: { spec: { containers: [{ ...container, readinessProbe: { httpGet: { port: 8080 } } }] } } } },
                {
                    apiVersion: "serving.knative.dev/v1",
                    kind: "Service",
                    metadata: { name: "s" },
                    spec: { template: { spec: { containers: [{ ...container, imagez: 1, readinessProbe: { httpGet: { path: 1 }, periodSecond: 1 }, livenessProbe: { tcpSocket: {}, periodSeconds: "x" } }] } } },
                },
            ];
            for (const obj of samples) expect(errorsOf(hoistedValidate, obj)).toEqual(errorsOf(plainValidate, obj));
            expect(errorsOf(plainValidate, samples[1]).length).toBeGreaterThan(1);
        });
    });
});
