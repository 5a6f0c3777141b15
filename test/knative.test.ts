import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
    domainConfig,
    istioGatewaysConfig,
    KnativeServing,
    knativeAutoscalerConfig,
    knativeDeploymentConfig,
    knativeFeatureFlags,
    validateDomain,
} from "../components/platform/knative";
import { defaultVersions } from "../versions";
import { installMocks } from "./kit";
import { describeWithSharedSchemas, readUpstreamText, UpstreamComponent } from "./shared";


/** Keys documented in a Knative ConfigMap's `_example` block. */
function exampleKeys(configMap: { data: { _example: string } }): Set<string> {
    return new Set(Object.keys(parse(configMap.data._example) ?? {}));
}

/** Go duration (`30s`, `10m`, `1h`) in seconds. */
function seconds(duration: string): number {
    const match = /^(\d+)(s|m|h)$/.exec(duration);
    if (!match) throw new Error(`not a simple duration: ${duration}`);
    return Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as "s" | "m" | "h"];
}

describe("Knative ConfigMap value builders", () => {
    it("enables the pod-spec fields GPU models need", () => {
        expect(knativeFeatureFlags()).toEqual({
            "kubernetes.podspec-nodeselector": "enabled",
            "kubernetes.podspec-tolerations": "enabled",
            "kubernetes.podspec-affinity": "enabled",
        });
    });

    it("keeps scale to zero on and the last pod long enough to amortise a GPU cold start (>= 5 min)", () => {
        const autoscaler = knativeAutoscalerConfig();
        expect(autoscaler["enable-scale-to-zero"]).toBe("true");
        expect(seconds(autoscaler["scale-to-zero-pod-retention-period"])).toBeGreaterThanOrEqual(300);
        expect(seconds(autoscaler["scale-to-zero-grace-period"])).toBeGreaterThan(0);
        expect(autoscaler["initial-scale"]).toBe("1");
    });

    it("gives a revision 15 minutes to become ready (cold GPU node + image pull)", () => {
        expect(seconds(knativeDeploymentConfig({ clusterAutoscaler: true })["progress-deadline"])).toBe(900);
        expect(knativeDeploymentConfig({ clusterAutoscaler: true })["pod-is-always-schedulable"]).toBe("true");
        expect(knativeDeploymentConfig({ clusterAutoscaler: false })["pod-is-always-schedulable"]).toBe("false");
    });

    it("config-domain has exactly the given domain with no selector", () => {
        expect(domainConfig("203.0.113.7.sslip.io")).toEqual({ "203.0.113.7.sslip.io": "" });
        expect(domainConfig("models.example.com")).toEqual({ "models.example.com": "" });
    });

    it("rejects what is not a domain", () => {
        for (const bad of ["", "localhost", "Models.Example.com", "-a.example.com", "a..b", "http://x.io", "x.io/"]) {
            expect(() => domainConfig(bad), bad).toThrow(/not a DNS domain/);
        }
        expect(() => validateDomain("1.2.3.4.sslip.io")).not.toThrow();
    });

    it("config-istio points both gateways at the given Services", () => {
        const config = istioGatewaysConfig("gw.istio-ingress.svc.cluster.local", "local.istio-system.svc.cluster.local");
        expect(parse(config["external-gateways"])).toEqual([
            { name: "knative-ingress-gateway", namespace: "knative-serving", service: "gw.istio-ingress.svc.cluster.local" },
        ]);
        expect(parse(config["local-gateways"])).toEqual([
            { name: "knative-local-gateway", namespace: "knative-serving", service: "local.istio-system.svc.cluster.local" },
        ]);
    });
});

describeWithSharedSchemas(`keys exist in the upstream ConfigMaps' _example blocks (${defaultVersions.knative})`, () => {
    const cases: [string, [UpstreamComponent, string], Record<string, string>][] = [
        ["config-features", ["knativeServing", "features.yaml"], knativeFeatureFlags()],
        ["config-autoscaler", ["knativeServing", "autoscaler.yaml"], knativeAutoscalerConfig()],
        ["config-deployment", ["knativeServing", "deployment.yaml"], knativeDeploymentConfig({ clusterAutoscaler: true })],
        ["config-istio", ["netIstio", "400-config-istio.yaml"], istioGatewaysConfig("a.b.svc.cluster.local", "c.d.svc.cluster.local")],
    ];
    for (const [configMap, [component, file], data] of cases) {
        it(configMap, () => {
            const upstream = parse(readUpstreamText(component, file));
            const keys = exampleKeys(upstream);
            expect(upstream.metadata.name).toBe(configMap);
            for (const key of Object.keys(data)) expect(keys.has(key), `${configMap}: ${key}`).toBe(true);
        });
    }

    it("features use the values upstream documents (enabled/disabled)", () => {
        const text = readUpstreamText("knativeServing", "features.yaml");
        for (const key of Object.keys(knativeFeatureFlags())) expect(text).toContain(`${key}: "disabled"`);
    });

    it("our progress deadline is longer than upstream's default", () => {
        const example = parse(parse(readUpstreamText("knativeServing", "deployment.yaml")).data._example);
        expect(seconds(knativeDeploymentConfig({ clusterAutoscaler: false })["progress-deadline"])).toBeGreaterThan(seconds(example["progress-deadline"]));
    });

    it("config-domain's example has the same shape (domain -> empty value or selector)", () => {
        const example = parse(parse(readUpstreamText("knativeServing", "domain.yaml")).data._example);
        expect(example["example.com"]).toBe("");
        expect(Object.values(domainConfig("example.com"))).toEqual([""]);
    });
});

/** Stands in for the Istio component: a component with one child (dependsOn expands to children). */
class FakeIstio extends pulumi.ComponentResource {
    constructor(name: string) {
        super("test:index:Istio", name);
        new k8s.core.v1.Namespace(`${name}-system`, { metadata: { name: "istio-system" } }, { parent: this });
        this.registerOutputs({});
    }
}

describe("KnativeServing component", async () => {
    const rec = await installMocks();
    const istio = new FakeIstio("istio");
    const knative = new KnativeServing("kn", { domain: pulumi.output("203.0.113.9.sslip.io"), istio, clusterAutoscaler: true });
    await rec.settle();
    const configFile = (suffix: string) => rec.one("kubernetes:yaml/v2:ConfigFile", suffix);
    const patch = (configMap: string) => rec.one("kubernetes:core/v1:ConfigMapPatch", `-${configMap}`);

    it("installs the pinned release YAML", () => {
        expect(configFile("-serving-crds").inputs.file).toBe("https://github.com/knative/serving/releases/download/knative-v1.21.1/serving-crds.yaml");
        expect(configFile("-serving-core").inputs.file).toBe("https://github.com/knative/serving/releases/download/knative-v1.21.1/serving-core.yaml");
        expect(configFile("-net-istio").inputs.file).toBe("https://github.com/knative-extensions/net-istio/releases/download/knative-v1.21.1/net-istio.yaml");
    });

    it("orders CRDs -> core -> net-istio, and net-istio after Istio", () => {
        const crds = configFile("-serving-crds");
        const core = configFile("-serving-core");
        const netIstio = configFile("-net-istio");
        const istioRec = rec.one("kubernetes:core/v1:Namespace", "istio-system");
        expect(rec.dependsOn(core, crds)).toBe(true);
        expect(rec.dependsOn(netIstio, core)).toBe(true);
        expect(rec.dependsOn(netIstio, istioRec)).toBe(true);
        expect(rec.dependsOn(core, istioRec)).toBe(false);
        expect(rec.dependsOn(crds, core)).toBe(false);
    });

    it("patches wait for the core install; config-istio for net-istio", () => {
        const core = configFile("-serving-core");
        for (const name of ["config-features", "config-autoscaler", "config-deployment", "config-domain"]) {
            expect(rec.dependsOn(patch(name), core), name).toBe(true);
            expect(patch(name).inputs.metadata).toMatchObject({ name, namespace: "knative-serving" });
        }
        expect(rec.dependsOn(patch("config-istio"), configFile("-net-istio"))).toBe(true);
    });

    it("patch data", () => {
        expect(patch("config-features").inputs.data["kubernetes.podspec-tolerations"]).toBe("enabled");
        expect(patch("config-autoscaler").inputs.data["enable-scale-to-zero"]).toBe("true");
        expect(patch("config-deployment").inputs.data["pod-is-always-schedulable"]).toBe("true");
        expect(patch("config-domain").inputs.data).toEqual({ "203.0.113.9.sslip.io": "" });
        expect(parse(patch("config-istio").inputs.data["external-gateways"])[0].service).toBe("istio-ingressgateway.istio-system.svc.cluster.local");
    });

    it("uses no default-domain Job", () => {
        expect(rec.resources.filter((r) => r.type === "kubernetes:batch/v1:Job")).toEqual([]);
        expect(rec.resources.map((r) => r.inputs.file).filter((f) => typeof f === "string" && f.includes("default-domain"))).toEqual([]);
    });

    it("exposes what dependants wait for", () => {
        expect(knative.ready).toContain(knative.core);
        expect(knative.ready).toContain(knative.crds);
        expect(knative.ready).toContain(knative.patches["config-domain"]);
    });

    it("validates its arguments before creating anything", () => {
        const before = rec.resources.length;
        expect(() => new KnativeServing("bad1", { domain: "not_a_domain", istio })).toThrow(/not a DNS domain/);
        expect(() => new KnativeServing("bad2", { domain: "a.example.com", istio: [] })).toThrow(/istio is required/);
        expect(() => new KnativeServing("bad3", { domain: "a.example.com", istio, version: "knative-v1.9.0" })).toThrow(/compatibility table/);
        expect(() => new KnativeServing("bad4", { domain: "a.example.com", istio, ingressGatewayService: "http://gw" })).toThrow(/Service FQDN/);
        expect(rec.resources.length).toBe(before);
    });
});
