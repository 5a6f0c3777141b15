import { describe, expect, it } from "vitest";
import { helmChartSource } from "../components/common/charts";
import { allowedVersions, chartPins, checkVersionSet, defaultVersions } from "../versions";

describe("versions", () => {
    it("an https repository goes in repositoryOpts; an OCI chart is referenced in full", () => {
        expect(helmChartSource({ repository: "https://charts.jetstack.io", chart: "cert-manager", version: "v1.19.6" })).toEqual({
            chart: "cert-manager",
            version: "v1.19.6",
            repositoryOpts: { repo: "https://charts.jetstack.io" },
        });
        expect(helmChartSource({ repository: "oci://ghcr.io/kserve/charts", chart: "kserve-crd", version: "v0.20.0" })).toEqual({
            chart: "oci://ghcr.io/kserve/charts/kserve-crd",
            version: "v0.20.0",
        });
    });

    it("every default is the first allowed version, and the defaults pass the table", () => {
        for (const [component, versions] of Object.entries(allowedVersions)) {
            expect(defaultVersions[component as keyof typeof defaultVersions]).toBe(versions[0]);
        }
        expect(checkVersionSet(defaultVersions)).toEqual([]);
        expect(checkVersionSet({ istio: "1.29.1" })).toEqual(["istio (1.29.1) is not in the compatibility table; allowed: 1.29.6"]);
    });

    it("pins the Istio charts to one version", () => {
        const pins = chartPins(defaultVersions);
        expect(new Set([pins.istioBase.version, pins.istiod.version, pins.istioGateway.version])).toEqual(new Set(["1.29.6"]));
    });
});
