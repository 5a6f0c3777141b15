import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { containerResourcesProblems } from "../components/common/resources";
import { CertManager, certManagerValues, defaultCertManagerResources } from "../components/platform/certManager";
import { installMocks } from "./kit";

const schemaDir = path.resolve(__dirname, "../../shared/schemas/cert-manager-v1.19.6");
const schemaFile = path.join(schemaDir, "values.schema.json");
const valuesFile = path.join(schemaDir, "values.yaml");
const haveSchema = fs.existsSync(schemaFile);
if (!haveSchema) console.warn(`certManager.test: ${schemaFile} is absent; skipping the upstream values-schema checks`);

describe("certManagerValues", () => {
    it("installs and keeps the CRDs", () => {
        const values = certManagerValues();
        expect(values.crds).toEqual({ enabled: true, keep: true });
    });

    it("sets requests and limits on every container", () => {
        const values = certManagerValues();
        for (const r of [values.resources, values.webhook.resources, values.cainjector.resources, values.startupapicheck.resources]) {
            expect(Object.keys(r.requests).sort()).toEqual(["cpu", "memory"]);
            expect(Object.keys(r.limits).sort()).toEqual(["cpu", "memory"]);
        }
    });

    it("keeps the chart's non-root security contexts (overrides none)", () => {
        const text = JSON.stringify(certManagerValues());
        expect(text).not.toMatch(/securityContext|runAsNonRoot|runAsUser/i);
    });

    it("rejects malformed quantities", () => {
        expect(containerResourcesProblems("x", { requests: { cpu: "lots", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } })).toEqual([
            "x.requests.cpu: 'lots' is not a Kubernetes quantity",
        ]);
        expect(containerResourcesProblems("x", defaultCertManagerResources.controller)).toEqual([]);
    });
});

describe.skipIf(!haveSchema)("certManagerValues against the chart's values.schema.json (v1.19.6)", () => {
    it("validates", () => {
        const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8"));
        const ajv = new Ajv({ strict: false, allErrors: true });
        const validate = ajv.compile(schema);
        const ok = validate(certManagerValues());
        expect(validate.errors ?? []).toEqual([]);
        expect(ok).toBe(true);
    });

    it("the schema is strict enough to catch a misspelt key", () => {
        const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8"));
        const validate = new Ajv({ strict: false }).compile(schema);
        expect(validate({ ...certManagerValues(), crd: { enabled: true } })).toBe(false);
    });

    it("the chart does not install CRDs unless told to (so setting crds.enabled matters)", () => {
        const text = fs.readFileSync(valuesFile, "utf8");
        expect(text).toMatch(/^crds:\n(?:\s*#.*\n|\s*\n)*\s+enabled: false$/m);
    });
});

describe("CertManager component", async () => {
    const rec = await installMocks();
    new CertManager("cm", {});
    await rec.settle();

    it("installs the jetstack chart at the pinned version into cert-manager", () => {
        const release = rec.one("kubernetes:helm.sh/v3:Release", "-cert-manager");
        expect(release.inputs.chart).toBe("cert-manager");
        expect(release.inputs.name).toBe("cert-manager");
        expect(release.inputs.version).toBe("v1.19.6");
        expect(release.inputs.namespace).toBe("cert-manager");
        expect(release.inputs.createNamespace).toBe(true);
        expect(release.inputs.repositoryOpts.repo).toBe("https://charts.jetstack.io");
        expect(release.inputs.values.crds.enabled).toBe(true);
        expect(release.inputs.values.webhook.resources.limits.memory).toBe("128Mi");
    });

    it("is a child of the component", () => {
        const component = rec.one("inference-platform:certManager:CertManager");
        expect(rec.one("kubernetes:helm.sh/v3:Release").parent).toBe(component.urn);
    });

    it("rejects a version outside the compatibility table", () => {
        expect(() => new CertManager("bad", { version: "v1.12.0" })).toThrow(/v1\.12\.0.*not in the compatibility table/);
        expect(() => new CertManager("bad2", { namespace: "Cert_Manager" })).toThrow(/not a DNS label/);
    });
});
