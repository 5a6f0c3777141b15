import { describe, expect, it } from "vitest";
import { helmChartSource } from "../components/common/charts";
import { allowedVersions, chartPins, checkVersionSet, defaultVersions, karpenterPins, supportedKubernetesVersions } from "../versions";
import { itWithSharedSchemas, readUpstreamText } from "./shared";

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

describe("Karpenter pins", () => {
    it("installs the CRD chart at the controller's version, from public ECR, and pins the AMI release", () => {
        expect(karpenterPins.crdChart.version).toBe(karpenterPins.chart.version);
        expect(helmChartSource(karpenterPins.chart)).toEqual({ chart: "oci://public.ecr.aws/karpenter/karpenter", version: "1.14.1" });
        expect(karpenterPins.amiAlias).toMatch(/^al2023@v\d{8}$/);
    });

    itWithSharedSchemas("supports every Kubernetes version the stack allows (upstream compatibility matrix)", () => {
        // The generated table: a "Kubernetes" row of minors and a "karpenter" row of "\>= x.y" minimums.
        const rows = readUpstreamText("karpenter", "compatibility.md").split("\n").filter((l) => /^\|\s*(Kubernetes|karpenter)\s*\|/.test(l));
        const cells = (row: string) => row.split("|").slice(2, -1).map((c) => c.trim());
        const minors = cells(rows.find((r) => r.includes("Kubernetes"))!);
        const minimums = cells(rows.find((r) => r.includes("karpenter"))!).map((c) => c.replace(/^\\?>=\s*/, ""));
        const atLeast = (version: string, minimum: string) => {
            const [a, b] = [version, minimum].map((v) => v.split(".").map(Number));
            for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
            return true;
        };
        for (const k8s of supportedKubernetesVersions) {
            const i = minors.indexOf(k8s);
            expect(i, `Kubernetes ${k8s} in the matrix`).toBeGreaterThanOrEqual(0);
            expect(atLeast(karpenterPins.chart.version, minimums[i]), `Karpenter ${karpenterPins.chart.version} >= ${minimums[i]} for ${k8s}`).toBe(true);
        }
    });
});
