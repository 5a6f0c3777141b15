/**
 * Contract: the Knative ConfigMap keys we patch, as Knative Serving knative-v1.21.1 and net-istio
 * knative-v1.21.1 parse them (see ./upstream.ts for how contract tests work).
 *
 * Knative reads each ConfigMap with typed parsers (knative.dev/pkg configmap/parser: strconv.ParseBool,
 * time.ParseDuration, strconv.ParseInt) and then validates the result; a key it does not read is
 * ignored, and a feature flag it cannot read silently keeps its default. knative.test.ts checks that
 * each key is documented in the release's `_example` block; this file checks that the parser reads
 * the key, parses our value, and that the parsed value passes its validation and means what we want.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
    defaultIngressGatewayService,
    defaultLocalGatewayService,
    domainConfig,
    istioGatewaysConfig,
    knativeAutoscalerConfig,
    knativeDeploymentConfig,
    knativeFeatureFlags,
    knativeNamespace,
} from "../../components/platform/knative";
import { cite, Source } from "./upstream";

const serving = (file: string, at: string): Source => ({ repo: "knative/serving", tag: "knative-v1.21.1", file, at });
const netIstio = (file: string, at: string): Source => ({ repo: "knative-extensions/net-istio", tag: "knative-v1.21.1", file, at });
/** knative.dev/pkg at the version serving's go.mod pins (v0.0.0-20260120122510-4a022ed9999a). */
const parserSource: Source = { repo: "knative/pkg", tag: "4a022ed9999a", file: "configmap/parser/parse.go", at: "parse[T]: bool→strconv.ParseBool, time.Duration→time.ParseDuration, int32→strconv.ParseInt(s, 10, 32)" };

// --- Go parsers, as the cited sources define them -------------------------------------------

/** strconv.ParseBool: exactly these spellings. */
function goBool(s: string): boolean {
    if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
    if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
    throw new Error(`strconv.ParseBool: parsing "${s}": invalid syntax`);
}

/** time.ParseDuration, in seconds: an optional sign, then decimal numbers each with a unit (ns, us, µs, ms, s, m, h); "0" alone is allowed. */
function goDuration(s: string): number {
    if (s === "0" || s === "+0" || s === "-0") return 0;
    const whole = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/;
    if (!whole.test(s)) throw new Error(`time: invalid duration "${s}"`);
    const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, "µs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
    let total = 0;
    for (const [, n, u] of s.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) total += Number(n) * unit[u];
    return s.startsWith("-") ? -total : total;
}

/** strconv.ParseInt(s, 10, 32). */
function goInt32(s: string): number {
    if (!/^[+-]?\d+$/.test(s)) throw new Error(`strconv.ParseInt: parsing "${s}": invalid syntax`);
    const n = Number(s);
    if (n < -(2 ** 31) || n > 2 ** 31 - 1) throw new Error(`strconv.ParseInt: parsing "${s}": value out of range`);
    return n;
}

/** pkg/apis/config/features.go asFlag: case-insensitive Enabled | Allowed | Disabled; anything else is ignored (default kept). */
function knativeFlag(s: string): "Enabled" | "Allowed" | "Disabled" | undefined {
    return (["Enabled", "Allowed", "Disabled"] as const).find((f) => f.toLowerCase() === s.toLowerCase());
}

describe("the Go parsers as transcribed", () => {
    it("accept and reject what Go does", () => {
        expect(goDuration("900s")).toBe(900);
        expect(goDuration("1h30m")).toBe(5400);
        expect(() => goDuration("15 min")).toThrow();
        expect(() => goDuration("900")).toThrow();
        expect(goBool("true")).toBe(true);
        expect(() => goBool("yes")).toThrow();
        expect(goInt32("1")).toBe(1);
        expect(() => goInt32("1.0")).toThrow();
        expect(knativeFlag("enabled")).toBe("Enabled");
        expect(knativeFlag("on")).toBeUndefined();
    });
});

// --- ConfigMaps ------------------------------------------------------------------------------

describe("config-features (pkg/apis/config/features.go NewFeaturesConfigFromMap)", () => {
    const source = serving("pkg/apis/config/features.go", 'FeaturesConfigName = "config-features"; asFlag(FeaturePodSpec*) lines 133-154');
    /** The feature keys GPU models need, as the constants name them (lines 57, 70, 77); each defaults to Disabled. */
    const readKeys = { "kubernetes.podspec-affinity": "Disabled", "kubernetes.podspec-nodeselector": "Disabled", "kubernetes.podspec-tolerations": "Disabled" };

    it("every key we set is a flag the parser reads, and our value turns it on", () => {
        for (const [key, value] of Object.entries(knativeFeatureFlags())) {
            expect(Object.keys(readKeys), `${key}: ${cite(source)}`).toContain(key);
            // An unreadable value would be ignored silently and leave the default (Disabled).
            expect(knativeFlag(value), `${key}=${value}`).toBe("Enabled");
        }
        expect(Object.keys(knativeFeatureFlags()).sort()).toEqual(Object.keys(readKeys).sort());
    });
});

describe("config-autoscaler (pkg/autoscaler/config/config.go NewConfigFromMap + validate)", () => {
    const source = serving("pkg/autoscaler/config/config.go", 'ConfigName = "config-autoscaler"; cm.As* lines 77-98; validate()');
    /** Key → the parser NewConfigFromMap applies to it. */
    const parsers: Record<string, (s: string) => unknown> = {
        "enable-scale-to-zero": goBool,
        "allow-zero-initial-scale": goBool,
        "initial-scale": goInt32,
        "scale-to-zero-grace-period": goDuration,
        "scale-to-zero-pod-retention-period": goDuration,
    };
    const data = knativeAutoscalerConfig();

    it("every key we set is one the parser reads, and every value parses", () => {
        for (const [key, value] of Object.entries(data)) {
            expect(parsers[key], `${key}: ${cite(source)}; ${cite(parserSource)}`).toBeDefined();
            expect(() => parsers[key](value), `${key}=${value}`).not.toThrow();
        }
    });

    it("the parsed values pass validate()", () => {
        // validate(): scale-to-zero-grace-period must be positive; scale-to-zero-pod-retention-period cannot be negative;
        // initial-scale must be >= 0, and >= 1 unless allow-zero-initial-scale.
        expect(goDuration(data["scale-to-zero-grace-period"])).toBeGreaterThan(0);
        expect(goDuration(data["scale-to-zero-pod-retention-period"])).toBeGreaterThanOrEqual(0);
        const initial = goInt32(data["initial-scale"]);
        expect(initial >= 1 || (initial === 0 && goBool(data["allow-zero-initial-scale"]))).toBe(true);
    });

    it("scale to zero stays on, and a zero initial scale is allowed per model", () => {
        expect(goBool(data["enable-scale-to-zero"])).toBe(true);
        expect(goBool(data["allow-zero-initial-scale"])).toBe(true);
    });
});

describe("config-deployment (pkg/deployment/config.go NewConfigFromMap)", () => {
    const source = serving("pkg/deployment/config.go", 'ConfigName = "config-deployment"; ProgressDeadlineKey = "progress-deadline", podIsAlwaysSchedulableKey (lines 51, 83, 191, 207)');

    it.each([true, false])("every key parses and passes validation (clusterAutoscaler %s)", (clusterAutoscaler) => {
        const data = knativeDeploymentConfig({ clusterAutoscaler });
        const parsers: Record<string, (s: string) => unknown> = { "progress-deadline": goDuration, "pod-is-always-schedulable": goBool };
        for (const [key, value] of Object.entries(data)) {
            expect(parsers[key], `${key}: ${cite(source)}`).toBeDefined();
            expect(() => parsers[key](value), `${key}=${value}`).not.toThrow();
        }
        // "progress-deadline cannot be a non-positive duration" / "must be rounded to a whole second".
        const deadline = goDuration(data["progress-deadline"]);
        expect(deadline).toBeGreaterThan(0);
        expect(Number.isInteger(deadline)).toBe(true);
        expect(goBool(data["pod-is-always-schedulable"])).toBe(clusterAutoscaler);
    });
});

describe("config-domain (pkg/reconciler/route/config/domain.go NewDomainFromConfigMap)", () => {
    const source = serving("pkg/reconciler/route/config/domain.go", 'DomainConfigName = "config-domain"; NewDomainFromConfigMap');

    it.each(["203.0.113.7.sslip.io", "models.example.com"])("%s is the default domain of every Route", (domain) => {
        // Every key but `_example` is a domain; its value is YAML with an optional `selector`; no selector makes it the
        // wildcard default (so Knative's built-in "svc.cluster.local"/example.com default is not added).
        const data = domainConfig(domain);
        const domains = Object.keys(data).filter((k) => k !== "_example");
        expect(domains, cite(source)).toEqual([domain]);
        const parsed = parse(data[domain]) ?? {};
        expect(parsed.selector === undefined || Object.keys(parsed.selector).length === 0).toBe(true);
    });
});

describe("config-istio (net-istio pkg/reconciler/ingress/config/istio.go NewIstioFromConfigMap)", () => {
    const source = netIstio("pkg/reconciler/ingress/config/istio.go", "externalGatewaysKey/localGatewaysKey; parseNewFormatGateways; Gateway.Validate");
    const data = istioGatewaysConfig(defaultIngressGatewayService, defaultLocalGatewayService);

    it("uses the new-format keys only (the old `gateway.`/`local-gateway.` keys may not appear beside them)", () => {
        expect(Object.keys(data).sort(), cite(source)).toEqual(["external-gateways", "local-gateways"]);
        expect(Object.keys(data).filter((k) => k.startsWith("gateway.") || k.startsWith("local-gateway."))).toEqual([]);
    });

    it("each list parses into Gateways that pass Validate, with exactly one default (selector-less) gateway each", () => {
        for (const key of ["external-gateways", "local-gateways"] as const) {
            const gateways = parse(data[key]) as Record<string, unknown>[];
            expect(Array.isArray(gateways)).toBe(true);
            // Gateway fields: Name, Namespace (matched case-insensitively by sigs.k8s.io/yaml), `service`, `labelSelector`.
            for (const gateway of gateways) {
                expect(Object.keys(gateway).every((k) => ["name", "namespace", "service", "labelSelector"].includes(k)), JSON.stringify(gateway)).toBe(true);
                // Validate: namespace, name and service set; service a DNS-1123 subdomain.
                expect(gateway.namespace).toBe(knativeNamespace);
                expect(gateway.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
                expect(String(gateway.service)).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
            }
            // parseNewFormat: "exactly one external gateway with no selector" (and one local).
            expect(gateways.filter((g) => g.labelSelector === undefined)).toHaveLength(1);
        }
    });
});
