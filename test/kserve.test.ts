import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { Kserve, kserveResourcesValues, kserveRuntimeConfigsValues, kserveS3Problems } from "../components/platform/kserve";
import { defaultVersions } from "../versions";
import { installMocks } from "./kit";
import { describeWithSharedSchemas, readUpstreamText } from "./shared";


/** Paths in `ours` that the upstream values do not have (descends while upstream has a non-empty map). */
function unknownPaths(ours: unknown, upstream: unknown, prefix = ""): string[] {
    if (!ours || typeof ours !== "object" || Array.isArray(ours)) return [];
    if (!upstream || typeof upstream !== "object" || Array.isArray(upstream)) return [prefix || "<root>"];
    const up = upstream as Record<string, unknown>;
    if (Object.keys(up).length === 0) return []; // free-form map upstream (labels, annotations)
    return Object.entries(ours as Record<string, unknown>).flatMap(([key, value]) => {
        const p = prefix ? `${prefix}.${key}` : key;
        if (!(key in up)) return [p];
        return typeof value === "object" && value !== null && !Array.isArray(value) ? unknownPaths(value, up[key], p) : [];
    });
}

const awsValues = () => kserveResourcesValues({ domain: "203.0.113.5.sslip.io", s3: { region: "us-east-2" } });

describe("kserveResourcesValues", () => {
    it("runs KServe in Knative mode behind the Knative ingress gateway with the stack's domain", () => {
        const values = awsValues();
        expect(values.kserve.controller.deploymentMode).toBe("Knative");
        expect(values.kserve.controller.gateway.ingressGateway.gateway).toBe("knative-serving/knative-ingress-gateway");
        expect(values.kserve.controller.gateway.domain).toBe("203.0.113.5.sslip.io");
    });

    it("AWS storage defaults: region, HTTPS, and no endpoint (kserve#3482)", () => {
        expect(awsValues().kserve.storage.s3).toEqual({ region: "us-east-2", endpoint: "", useHttps: "1", verifySSL: "1" });
    });

    it("refuses an AWS endpoint and malformed S3 settings", () => {
        expect(() => kserveResourcesValues({ domain: "a.example.com", s3: { region: "us-east-2", endpoint: "s3.amazonaws.com" } })).toThrow(/kserve\/kserve#3482/);
        expect(() => kserveResourcesValues({ domain: "a.example.com", s3: { region: "us-east-2", endpoint: "s3.us-east-2.amazonaws.com" } })).toThrow(/leave it unset/);
        expect(kserveS3Problems({ region: "Ohio" })).toHaveLength(1);
        expect(kserveS3Problems({ region: "us-east-1", endpoint: "http://minio:9000" })).toEqual([
            "s3.endpoint 'http://minio:9000' must be host[:port] without a scheme",
        ]);
        expect(kserveS3Problems({ region: "us-east-1", endpoint: "minio.minio.svc.cluster.local:9000", useHttps: false })).toEqual([]);
    });

    it("rejects a bad domain", () => {
        expect(() => kserveResourcesValues({ domain: "example" })).toThrow(/not a DNS domain/);
    });

    it("leaves storage defaults empty without s3 (local platform)", () => {
        expect(kserveResourcesValues({ domain: "127.0.0.1.sslip.io" }).kserve.storage.s3).toEqual({});
    });

    it("sets controller requests and limits", () => {
        const r = awsValues().kserve.controller.resources;
        expect(r.requests.cpu).toBeDefined();
        expect(r.limits.memory).toBeDefined();
    });

    it("turns on the built-in ClusterServingRuntimes", () => {
        expect(kserveRuntimeConfigsValues().kserve.servingruntime.enabled).toBe(true);
    });
});

describeWithSharedSchemas(`values keys exist in the upstream charts (${defaultVersions.kserve})`, () => {
    const resourcesUpstream = () => parse(readUpstreamText("kserve", "kserve-resources.values.yaml"));
    it("kserve-resources", () => {
        expect(unknownPaths(awsValues(), resourcesUpstream())).toEqual([]);
    });
    it("the check catches a misspelt key", () => {
        expect(unknownPaths({ kserve: { controller: { deploymentmode: "Knative" } } }, resourcesUpstream())).toEqual(["kserve.controller.deploymentmode"]);
    });
    it("kserve-runtime-configs", () => {
        const upstream = parse(readUpstreamText("kserve", "kserve-runtime-configs.values.yaml"));
        expect(unknownPaths(kserveRuntimeConfigsValues(), upstream)).toEqual([]);
        expect(upstream.kserve.servingruntime.enabled).toBe(false); // so setting it matters
    });
    it("upstream 0.20 spells the mode 'Knative' in its values", () => {
        expect(resourcesUpstream().kserve.controller.deploymentMode).toBe("Knative");
    });
    it("the gateway we name is the one KServe's inferenceservice-config documents for Istio", () => {
        const text = readUpstreamText("kserve", "inferenceservice-config.configmap.yaml");
        expect(text).toContain(`"ingressGateway" : "${awsValues().kserve.controller.gateway.ingressGateway.gateway}"`);
    });
});

/** A component with one child: stands in for cert-manager, Knative and Istio (dependsOn expands to children). */
class Stand extends pulumi.ComponentResource {
    constructor(type: string, name: string) {
        super(`test:index:${type}`, name);
        new k8s.core.v1.Namespace(`${name}-child`, { metadata: { name } }, { parent: this });
        this.registerOutputs({});
    }
}

describe("Kserve component", async () => {
    const rec = await installMocks();
    const certManager = new Stand("CertManager", "cert-manager");
    const knative = new Stand("Knative", "knative-serving");
    const istio = new Stand("Istio", "istio-system");
    const kserve = new Kserve("ks", { domain: pulumi.output("203.0.113.5.sslip.io"), certManager, knative, istio, s3: { region: "us-east-2" } });
    await rec.settle();
    const release = (suffix: string) => rec.one("kubernetes:helm.sh/v3:Release", suffix);
    const stand = (name: string) => rec.one("kubernetes:core/v1:Namespace", `${name}-child`);

    it("installs the three OCI charts at v0.20.0 into kserve", () => {
        for (const chart of ["kserve-crd", "kserve-resources", "kserve-runtime-configs"]) {
            const r = release(`-${chart}`);
            expect(r.inputs.chart).toBe(`oci://ghcr.io/kserve/charts/${chart}`);
            expect(r.inputs.name).toBe(chart);
            expect(r.inputs.version).toBe("v0.20.0");
            expect(r.inputs.namespace).toBe("kserve");
            expect(r.inputs.repositoryOpts).toBeUndefined();
        }
    });

    it("passes the values", () => {
        expect(release("-kserve-resources").inputs.values.kserve.controller.deploymentMode).toBe("Knative");
        expect(release("-kserve-resources").inputs.values.kserve.controller.gateway.domain).toBe("203.0.113.5.sslip.io");
        expect(release("-kserve-resources").inputs.values.kserve.storage.s3.region).toBe("us-east-2");
        expect(release("-kserve-runtime-configs").inputs.values.kserve.servingruntime.enabled).toBe(true);
    });

    it("waits for cert-manager, Knative and Istio before anything", () => {
        for (const chart of ["-kserve-crd", "-kserve-resources", "-kserve-runtime-configs"]) {
            for (const dep of ["cert-manager", "knative-serving", "istio-system"]) {
                expect(rec.dependsOn(release(chart), stand(dep)), `${chart} -> ${dep}`).toBe(true);
            }
        }
    });

    it("orders crd -> resources -> runtime-configs", () => {
        expect(rec.dependsOn(release("-kserve-resources"), release("-kserve-crd"))).toBe(true);
        expect(rec.dependsOn(release("-kserve-runtime-configs"), release("-kserve-resources"))).toBe(true);
        expect(rec.dependsOn(release("-kserve-crd"), release("-kserve-resources"))).toBe(false);
    });

    it("exposes what models wait for", () => {
        expect(kserve.ready).toEqual([kserve.crd, kserve.resources, kserve.runtimeConfigs]);
    });

    it("requires its dependencies and validates before creating anything", () => {
        const before = rec.resources.length;
        const base = { domain: "a.example.com", certManager, knative, istio };
        expect(() => new Kserve("b1", { ...base, certManager: undefined as unknown as pulumi.Resource })).toThrow(/certManager is required/);
        expect(() => new Kserve("b2", { ...base, knative: [] })).toThrow(/knative is required/);
        expect(() => new Kserve("b3", { ...base, istio: [] })).toThrow(/istio is required/);
        expect(() => new Kserve("b4", { ...base, version: "v0.14.0" })).toThrow(/compatibility table/);
        expect(() => new Kserve("b5", { ...base, s3: { region: "us-east-2", endpoint: "s3.amazonaws.com" } })).toThrow(/3482/);
        expect(() => new Kserve("b6", { ...base, domain: "nope" })).toThrow(/not a DNS domain/);
        expect(rec.resources.length).toBe(before);
    });
});
