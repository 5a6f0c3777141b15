import { describe, expect, it } from "vitest";
import { Istio, istioBaseValues, istiodValues } from "../components/platform/istio";
import { undeclaredValuePaths } from "./chartValues";
import { itWithSharedSchemas, readUpstreamYaml } from "./shared";
import { installMocks, FakeCluster } from "./kit";

describe("istio values", () => {
    it("keeps sidecar injection opt-in", () => {
        expect(istiodValues({ minReplicas: 1 })).toMatchObject({ sidecarInjectorWebhook: { enableNamespacesByDefault: false } });
    });

    it("keeps istiod's PDB only when a second replica can take over during a drain", () => {
        expect(istiodValues({ minReplicas: 1 })).toMatchObject({ global: { defaultPodDisruptionBudget: { enabled: false } } });
        expect(istiodValues({ minReplicas: 2 })).toMatchObject({ global: { defaultPodDisruptionBudget: { enabled: true } } });
    });

    it("gives istiod requests and limits", () => {
        const values = istiodValues({ minReplicas: 2 }) as any;
        expect(values.autoscaleMin).toBe(2);
        expect(values.resources.requests.cpu).toBeDefined();
        expect(values.resources.limits.memory).toBeDefined();
    });

    // Istio charts declare user-settable values under `_internal_defaults_do_not_set`, set at the top level.
    itWithSharedSchemas("uses only value names istiod's and base's values.yaml declare", () => {
        const istiod = readUpstreamYaml("istio", "istiod.values.yaml")._internal_defaults_do_not_set as Record<string, unknown>;
        expect(undeclaredValuePaths(istiodValues({ minReplicas: 1 }), istiod, { freeForm: ["resources"] })).toEqual([]);
        const base = readUpstreamYaml("istio", "base.values.yaml")._internal_defaults_do_not_set as Record<string, unknown>;
        expect(undeclaredValuePaths(istioBaseValues(), base)).toEqual([]);
    });
});

describe("Istio component", async () => {
    const rec = await installMocks();
    const cluster = new FakeCluster("cluster", "cpu");
    new Istio("istio", { waitFor: [cluster] });
    await rec.settle();
    const base = rec.one("kubernetes:helm.sh/v3:Release", "istio-base");
    const istiod = rec.one("kubernetes:helm.sh/v3:Release", "istio-istiod");

    it.each([
        ["istio-base", "base"],
        ["istio-istiod", "istiod"],
    ])("installs %s as chart %s 1.29.6 from Istio's repository into istio-system", (resourceName, chart) => {
        const release = rec.one("kubernetes:helm.sh/v3:Release", resourceName);
        expect(release.inputs).toMatchObject({
            chart,
            version: "1.29.6",
            namespace: "istio-system",
            repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" },
        });
        expect(typeof release.inputs.name).toBe("string");
    });

    it("installs istiod after base", () => {
        expect(rec.dependsOn(istiod, base)).toBe(true);
        expect(rec.dependsOn(base, istiod)).toBe(false);
    });

    it("waits for the node groups", () => {
        const nodeGroup = rec.one("aws:eks/nodeGroup:NodeGroup", "cluster-cpu");
        expect(rec.dependsOn(base, nodeGroup)).toBe(true);
        expect(rec.dependsOn(istiod, nodeGroup)).toBe(true);
    });

    it("labels no namespace for sidecar injection", () => {
        const namespaces = rec.byType("kubernetes:core/v1:Namespace");
        expect(namespaces.map((n) => n.inputs.metadata.name)).toEqual(["istio-system"]);
        for (const ns of namespaces) {
            expect(ns.inputs.metadata.labels).not.toHaveProperty("istio-injection");
            expect(ns.inputs.metadata.labels).not.toHaveProperty("istio.io/rev");
            expect(ns.inputs.metadata.labels).toMatchObject({ "app.kubernetes.io/part-of": "inference-platform", "app.kubernetes.io/managed-by": "pulumi" });
        }
    });

    it("rejects a bad istiod replica count", () => {
        expect(() => new Istio("bad", { istiodMinReplicas: 0 })).toThrow(/istiodMinReplicas 0/);
    });
});
