import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AuthorizationPolicy as AuthorizationPolicyModel, RequestAuthentication as RequestAuthenticationModel } from "@kubernetes-models/istio/security.istio.io/v1";
import {
    allowsEveryPath,
    authPolicies,
    authPolicyProblems,
    AuthorizationPolicy,
    evaluateGatewayPolicies,
    IngressAuth,
    istioPathMatches,
    kubeflowPatches,
} from "../components/platform/ingressAuth";
import { defaultVersions } from "../versions";
import { newSchemaAjv } from "./jsonSchema";
import { installMocks } from "./kit";
import { describeWithSharedSchemas, readUpstreamYamlDocuments, sharedSchemasPresent } from "./shared";

const jwtOpts = { jwtIssuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/.well-known/jwks.json" };
/** The models' `validate()` (their base class's types do not resolve under this tsconfig's module resolution). */
const validateModel = (model: unknown) => (model as { validate(): void }).validate();
const policiesOf = (objs: readonly { kind: string }[]) => objs.filter((o) => o.kind === "AuthorizationPolicy") as AuthorizationPolicy[];

describe("istioPathMatches (Istio's exact / prefix / suffix / presence semantics)", () => {
    it.each([
        ["/v1/models/*", "/v1/models/clothing-model:predict", true],
        ["/v1/models/*", "/v1/models/clothing-model", true],
        ["/v1/models/*", "/v1/models", false],
        ["/v1/models/*", "/v1/modelsX", false],
        ["/v2/models/*", "/v2/models/iris/infer", true],
        ["/v2/models/*", "/v1/models/iris", false],
        ["/healthz", "/healthz", true],
        ["/healthz", "/healthz/extra", false],
        ["/healthz", "/healthz?probe=1", true],
        ["*.json", "/a/b.json", true],
        ["*.json", "/a/b.jsonx", false],
        ["*", "/anything", true],
        ["*", "", false],
        // Only the last star is special: `/dex/**` is the literal prefix `/dex/*`.
        ["/dex/**", "/dex/*abc", true],
        ["/dex/**", "/dex/auth", false],
    ])("%s vs %s → %s", (pattern, p, expected) => {
        expect(istioPathMatches(pattern, p)).toBe(expected);
    });

    it("rejects path templates instead of guessing", () => {
        expect(() => istioPathMatches("/v1/{*}/x", "/v1/a/x")).toThrow(/templates/);
    });

    it("a prefix pattern matches exactly the paths that start with it (property)", () => {
        fc.assert(
            fc.property(fc.stringMatching(/^\/[a-z0-9/]{0,8}$/), fc.stringMatching(/^[a-z0-9/:.-]{0,12}$/), (prefix, rest) => {
                expect(istioPathMatches(`${prefix}*`, prefix + rest)).toBe(true);
                const other = `/zz${prefix}${rest}`;
                expect(istioPathMatches(`${prefix}*`, other)).toBe(other.startsWith(prefix));
            }),
        );
    });
});

describe("allowsEveryPath", () => {
    const allow = (rules: any[], action?: string) => ({ spec: { action, rules } });
    it.each([
        ["a rule without `to`", allow([{}]), true],
        ["a rule with an empty operation", allow([{ to: [{ operation: {} }] }]), true],
        ["notPaths only (blocklist)", allow([{ to: [{ operation: { notPaths: ["/admin"] } }] }]), true],
        ["paths: ['*']", allow([{ to: [{ operation: { paths: ["/v1/models/*", "*"] } }] }]), true],
        ["paths: ['/*']", allow([{ to: [{ operation: { paths: ["/*"] } }] }]), true],
        ["a port-only rule", allow([{ to: [{ operation: { ports: ["8081"] } }] }]), true],
        ["no action (ALLOW by default) and open", { spec: { rules: [{}] } }, true],
        ["an allowlist of paths", allow([{ to: [{ operation: { paths: ["/v1/models/*"] } }] }]), false],
        ["no rules (allows nothing)", allow([]), false],
        ["a DENY policy", allow([{}], "DENY"), false],
        ["a CUSTOM policy", allow([{}], "CUSTOM"), false],
        ["suffix '*/' is not every path", allow([{ to: [{ operation: { paths: ["*/"] } }] }]), false],
    ])("%s → %s", (_label, policy, expected) => {
        expect(allowsEveryPath(policy)).toBe(expected);
    });
});

describe("open-model-paths mode", () => {
    const set = authPolicies("open-model-paths");
    const policies = policiesOf(set.objects);

    it("is one ALLOW policy on the ingress gateway pods in istio-system", () => {
        expect(set.objects).toHaveLength(1);
        expect(set.patches).toHaveLength(0);
        const [policy] = policies;
        expect(policy.spec.action).toBe("ALLOW");
        expect(policy.metadata.namespace).toBe("istio-system");
        expect(policy.spec.selector).toEqual({ matchLabels: { istio: "ingressgateway" } });
    });

    it("lists exactly the seeds' model and probe paths plus V2 health", () => {
        const paths = policies[0].spec.rules!.flatMap((r) => r.to!.flatMap((t) => t.operation!.paths!));
        expect([...paths].sort()).toEqual(
            ["/v1/models/*", "/v2/models/*", "/v2/health/*", "/openai/v1/*", "/healthz", "/ready", "/metrics", "/wait-for-drain"].sort(),
        );
    });

    it("never allows every path", () => {
        expect(allowsEveryPath(policies[0])).toBe(false);
    });

    it.each([
        ["/v1/models/clothing-model:predict", true],
        ["/v1/models/clothing-model", true],
        ["/v2/models/sklearn-iris/infer", true],
        ["/v2/health/ready", true],
        ["/healthz", true],
        // The OpenAI-compatible routes of generative models (kserve/kserve v0.20.0 python/kserve/kserve/protocol/rest/openai/config.py).
        ["/openai/v1/chat/completions", true],
        ["/openai/v1/completions", true],
        ["/openai/v1/models", true],
        ["/openai/v2/chat/completions", false],
        ["/openai", false],
        ["/openai/v1", false],
        ["/openaiX/v1/chat/completions", false],
        ["/", false],
        ["/admin", false],
        ["/v1/models", false],
        ["/v3/models/x", false],
    ])("gateway decision for %s: allowed=%s (everything unlisted is denied by the ALLOW policy alone)", (p, allowed) => {
        expect(evaluateGatewayPolicies(policies, { path: p, port: 8080 }).allowed).toBe(allowed);
    });

    it("lets a transformer call its predictor through knative-local-gateway (port 8081)", () => {
        expect(evaluateGatewayPolicies(policies, { path: "/v1/models/clothing-model:predict", port: 8081 }).allowed).toBe(true);
        expect(evaluateGatewayPolicies(policies, { path: "/v2/models/clothing-model/infer", port: 8081 }).allowed).toBe(true);
    });
});

describe("jwt mode", () => {
    const set = authPolicies("jwt", jwtOpts);
    const policies = policiesOf(set.objects);
    const requestAuthn = set.objects.find((o) => o.kind === "RequestAuthentication")!;

    it("has a RequestAuthentication with the configured issuer and JWKS URI on the gateway", () => {
        expect(requestAuthn).toBeDefined();
        expect((requestAuthn.spec as any).jwtRules).toEqual([
            expect.objectContaining({ issuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/.well-known/jwks.json" }),
        ]);
        expect(requestAuthn.metadata.namespace).toBe("istio-system");
        expect(requestAuthn.spec.selector).toEqual({ matchLabels: { istio: "ingressgateway" } });
    });

    it("has a DENY policy for requests without a principal", () => {
        expect(policies).toHaveLength(1);
        expect(policies[0].spec.action).toBe("DENY");
        expect(policies[0].spec.rules![0].from).toEqual([{ source: { notRequestPrincipals: ["*"] } }]);
        expect(policies[0].spec.selector).toEqual({ matchLabels: { istio: "ingressgateway" } });
    });

    it.each([
        [{ path: "/v1/models/clothing-model:predict", port: 8080 }, false],
        [{ path: "/v1/models/clothing-model:predict", port: 8080, principal: "https://issuer.example.com/user" }, true],
        [{ path: "/admin", port: 8080, principal: "https://issuer.example.com/user" }, true],
        [{ path: "/healthz", port: 8080 }, true],
        [{ path: "/v2/health/ready", port: 8080 }, true],
        [{ path: "/v2/health/readyX", port: 8080 }, false],
        [{ path: "/metrics", port: 8080 }, false],
        [{ path: "/openai/v1/chat/completions", port: 8080 }, false],
        [{ path: "/openai/v1/models", port: 8080 }, false],
        [{ path: "/openai/v1/chat/completions", port: 8080, principal: "https://issuer.example.com/user" }, true],
        // Cluster-local traffic through knative-local-gateway needs no token (transformer → predictor).
        [{ path: "/v1/models/clothing-model:predict", port: 8081 }, true],
    ])("%o → allowed=%s", (req, allowed) => {
        expect(evaluateGatewayPolicies(policies, req).allowed).toBe(allowed);
    });

    it("requires tokens on every port when localGatewayPorts is empty", () => {
        const strict = policiesOf(authPolicies("jwt", { ...jwtOpts, localGatewayPorts: [] }).objects);
        expect(evaluateGatewayPolicies(strict, { path: "/v1/models/m:predict", port: 8081 }).allowed).toBe(false);
    });

    it("reports missing or non-https issuer settings together", () => {
        expect(authPolicyProblems("jwt", {})).toEqual([
            "jwtIssuer is required in jwt mode",
            "jwksUri is required in jwt mode",
        ]);
        expect(() => authPolicies("jwt", { jwtIssuer: "http://insecure", jwksUri: "nope" })).toThrow(/https:\/\/ URL[\s\S]*https:\/\/ URL/);
    });
});

describe("kubeflow mode", () => {
    const set = authPolicies("kubeflow");

    it("creates nothing and patches Kubeflow's two policies in istio-system", () => {
        expect(set.objects).toEqual([]);
        expect(set.patches.map((p) => [p.apiVersion, p.kind, p.metadata.namespace, p.metadata.name])).toEqual([
            ["security.istio.io/v1", "AuthorizationPolicy", "istio-system", "istio-ingressgateway-require-jwt"],
            ["security.istio.io/v1", "AuthorizationPolicy", "istio-system", "istio-ingressgateway-oauth2-proxy"],
        ]);
    });

    it("forces ownership of spec.rules and leaves selector, action and provider to Kubeflow", () => {
        for (const patch of set.patches) {
            expect(patch.metadata.annotations).toEqual({ "pulumi.com/patchForce": "true" });
            expect(Object.keys(patch.spec)).toEqual(["rules"]);
        }
    });

    // Kubeflow's policies as its manifests ship them (common/oauth2-proxy/components/istio-external-auth).
    const kubeflowRequireJwt: AuthorizationPolicy = {
        apiVersion: "security.istio.io/v1",
        kind: "AuthorizationPolicy",
        metadata: { name: "istio-ingressgateway-require-jwt", namespace: "istio-system" },
        spec: {
            action: "DENY",
            selector: { matchLabels: { app: "istio-ingressgateway" } },
            rules: [{ from: [{ source: { notRequestPrincipals: ["*"] } }], to: [{ operation: { notPaths: ["/dex/*", "/dex/**", "/oauth2/*"] } }] }],
        },
    };
    const kubeflowOauth2: AuthorizationPolicy = {
        apiVersion: "security.istio.io/v1",
        kind: "AuthorizationPolicy",
        metadata: { name: "istio-ingressgateway-oauth2-proxy", namespace: "istio-system" },
        spec: {
            action: "CUSTOM",
            provider: { name: "oauth2-proxy" },
            selector: { matchLabels: { app: "istio-ingressgateway" } },
            rules: [{ when: [{ key: "request.headers[authorization]", notValues: ["*"] }], to: [{ operation: { notPaths: ["/dex/*", "/dex/**", "/oauth2/*"] } }] }],
        },
    };
    // SSA with an atomic `rules` list: the applied list replaces the live one wholesale.
    const applied = [kubeflowRequireJwt, kubeflowOauth2].map((live) => {
        const patch = set.patches.find((p) => p.metadata.name === live.metadata.name)!;
        return { ...live, spec: { ...live.spec, rules: patch.spec.rules } } as AuthorizationPolicy;
    });

    it("before the patch, Kubeflow blocks an anonymous model call (the seeds' RBAC error)", () => {
        const r = evaluateGatewayPolicies([kubeflowRequireJwt, kubeflowOauth2], { path: "/v1/models/m:predict", port: 8080 });
        expect(r).toEqual({ allowed: false, externalAuthorizer: true });
    });

    it.each([
        ["/v1/models/clothing-model:predict", true, false],
        ["/v2/models/iris/infer", true, false],
        ["/v2/health/ready", true, false],
        ["/openai/v1/chat/completions", true, false],
        // Everything else still goes through Dex login and the JWT requirement.
        ["/", false, true],
        ["/pipeline/", false, true],
        // Kubeflow's own exemptions survive the patch.
        ["/dex/auth", true, false],
        ["/oauth2/callback", true, false],
    ])("after the patch: %s allowed=%s, oauth2-proxy consulted=%s", (p, allowed, externalAuthorizer) => {
        expect(evaluateGatewayPolicies(applied, { path: p, port: 8080 })).toEqual({ allowed, externalAuthorizer });
    });

    it("keeps site-specific notPaths given in kubeflowNotPaths", () => {
        const [jwtPatch] = kubeflowPatches({ kubeflowNotPaths: ["/dex/*", "/dex/**", "/oauth2/*", "/.well-known/acme-challenge/*"] });
        expect(jwtPatch.spec.rules[0].to![0].operation!.notPaths).toContain("/.well-known/acme-challenge/*");
        expect(jwtPatch.spec.rules[0].to![0].operation!.notPaths).toContain("/v1/models/*");
    });
});

describe("every mode", () => {
    const sets = [authPolicies("jwt", jwtOpts), authPolicies("open-model-paths"), authPolicies("kubeflow")];

    it("binds only to the ingress gateway workload, never namespace-wide", () => {
        for (const set of sets) {
            for (const obj of set.objects) {
                expect(obj.metadata.namespace).toBe("istio-system");
                expect(obj.spec.selector?.matchLabels).toEqual({ istio: "ingressgateway" });
            }
        }
    });

    it("never emits an ALLOW policy that matches every path", () => {
        for (const set of sets) for (const p of policiesOf(set.objects)) expect(allowsEveryPath(p)).toBe(false);
    });

    it("refuses an empty gateway selector (it would be mesh-wide in istio-system)", () => {
        expect(() => authPolicies("open-model-paths", { gatewaySelector: {} })).toThrow(/must not be empty/);
    });

    it("validates with @kubernetes-models/istio", () => {
        for (const set of sets) {
            for (const obj of [...set.objects, ...set.patches]) {
                const model = obj.kind === "RequestAuthentication" ? new RequestAuthenticationModel(obj as any) : new AuthorizationPolicyModel(obj as any);
                expect(() => validateModel(model)).not.toThrow();
            }
        }
        // The validator does reject a broken object, so the check above can fail.
        expect(() => validateModel(new AuthorizationPolicyModel({ metadata: { name: "x" }, spec: { action: "MAYBE" } } as any))).toThrow();
    });
});

describeWithSharedSchemas(`against Istio ${defaultVersions.istio}'s CRDs`, () => {
    const crds = sharedSchemasPresent ? (readUpstreamYamlDocuments("istio", "crd-all.gen.yaml") as any[]) : [];
    const schemaOf = (kind: string) =>
        crds.find((c) => c?.spec?.names?.kind === kind)?.spec.versions.find((v: any) => v.name === "v1").schema.openAPIV3Schema;

    it("AuthorizationPolicy.spec.rules has no x-kubernetes-list-type, so server-side apply treats it as atomic", () => {
        const rules = schemaOf("AuthorizationPolicy").properties.spec.properties.rules;
        expect(rules.type).toBe("array");
        expect(rules["x-kubernetes-list-type"]).toBeUndefined();
    });

    it("every object and patch validates against the CRD's openAPIV3Schema", () => {
        const ajv = newSchemaAjv({ allErrors: true });
        const validators = {
            AuthorizationPolicy: ajv.compile(schemaOf("AuthorizationPolicy")),
            RequestAuthentication: ajv.compile(schemaOf("RequestAuthentication")),
        };
        const all = [authPolicies("jwt", jwtOpts), authPolicies("open-model-paths"), authPolicies("kubeflow")].flatMap((s) => [...s.objects, ...s.patches]);
        for (const obj of all) {
            const validate = validators[obj.kind];
            expect(validate(obj), JSON.stringify(validate.errors)).toBe(true);
        }
        expect(validators.AuthorizationPolicy({ spec: { action: "MAYBE" } })).toBe(false);
    });
});

describe("IngressAuth component", async () => {
    const rec = await installMocks();
    const { CustomResource } = await import("@pulumi/kubernetes/apiextensions");
    const istio = new CustomResource("istio-ready", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } });
    new IngressAuth("jwtauth", { mode: "jwt", ...jwtOpts, waitFor: [istio] });
    new IngressAuth("kf", { mode: "kubeflow" });
    await rec.settle();

    it("registers the jwt objects as CustomResources that wait for Istio", () => {
        const ra = rec.one("kubernetes:security.istio.io/v1:RequestAuthentication", "jwtauth-ingress-jwt");
        const ap = rec.one("kubernetes:security.istio.io/v1:AuthorizationPolicy", "jwtauth-ingress-require-jwt");
        expect(ra.inputs.spec.jwtRules[0].issuer).toBe("https://issuer.example.com");
        expect(ap.inputs.spec.action).toBe("DENY");
        expect(ap.inputs.metadata.name).toBe("jwtauth-ingress-require-jwt");
        const dep = rec.one("kubernetes:v1:ConfigMap", "istio-ready");
        expect(rec.dependsOn(ra, dep)).toBe(true);
        expect(rec.dependsOn(ap, dep)).toBe(true);
        expect(ap.parent).toBe(rec.one("inference-platform:ingress:IngressAuth", "jwtauth").urn);
    });

    it("registers the Kubeflow patches as AuthorizationPolicyPatch, retained on delete", () => {
        const patches = rec.byType("kubernetes:security.istio.io/v1:AuthorizationPolicyPatch");
        expect(patches.map((p) => p.inputs.metadata.name).sort()).toEqual([
            "istio-ingressgateway-oauth2-proxy",
            "istio-ingressgateway-require-jwt",
        ]);
        for (const p of patches) {
            expect(p.options.retainOnDelete).toBe(true);
            expect(p.inputs.metadata.namespace).toBe("istio-system");
        }
    });

    it("throws one clear error before creating anything", () => {
        const before = rec.resources.length;
        expect(() => new IngressAuth("bad", { mode: "jwt" })).toThrow(/jwtIssuer is required[\s\S]*jwksUri is required/);
        expect(rec.resources.length).toBe(before);
    });
});
