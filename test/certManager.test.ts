import { describe, expect, it } from "vitest";
import { containerResourcesProblems } from "../components/common/resources";
import { CertManager, certManagerValues, defaultCertManagerResources } from "../components/platform/certManager";
import { defaultVersions } from "../versions";
import { compileValuesSchema } from "./jsonSchema";
import { installMocks } from "./kit";
import { describeWithSharedSchemas, readUpstreamText } from "./shared";


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

describeWithSharedSchemas(`certManagerValues against the chart's values.schema.json (${defaultVersions.certManager})`, () => {
    it("validates", () => {
        const validate = compileValuesSchema(readUpstreamText("certManager", "values.schema.json"), { allErrors: true });
        const ok = validate(certManagerValues());
        expect(validate.errors ?? []).toEqual([]);
        expect(ok).toBe(true);
    });

    it("the schema is strict enough to catch a misspelt key", () => {
        const validate = compileValuesSchema(readUpstreamText("certManager", "values.schema.json"), { allErrors: true });
        expect(validate({ ...certManagerValues(), crd: { enabled: true } })).toBe(false);
    });

    it("the chart does not install CRDs unless told to (so setting crds.enabled matters)", () => {
        const text = readUpstreamText("certManager", "values.yaml");
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
