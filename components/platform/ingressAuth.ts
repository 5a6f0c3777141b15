/**
 * Who may call models through the Istio ingress gateway. Three modes (config `authMode`):
 *
 * - `jwt`: a `RequestAuthentication` validates tokens from the configured issuer, and a DENY policy
 *   rejects requests that carry no valid token, except health/readiness paths and cluster-local traffic.
 * - `open-model-paths`: the seeds' bypass, made explicit. One ALLOW policy lists the model and probe
 *   paths. In Istio, once any ALLOW policy selects a workload, every request to that workload that
 *   matches no ALLOW rule is denied ("RBAC: access denied", 403), so this one policy both opens the
 *   model paths and closes everything else on the gateway (other hosts included).
 * - `kubeflow`: the cluster already runs Kubeflow's `istio-ingressgateway-require-jwt` (DENY) and
 *   `istio-ingressgateway-oauth2-proxy` (CUSTOM) policies. Instead of adding an ALLOW policy (which
 *   would close the Kubeflow dashboard) or replacing Kubeflow's objects, we server-side-apply a patch
 *   that adds the model paths to their `notPaths`, as the seeds do by hand with `kubectl edit`.
 *
 * Scope: every policy here lives in the gateway's namespace and selects the gateway pods by label.
 * Nothing is namespace-wide in model namespaces, so in-cluster calls (a KServe transformer calling its
 * predictor, the inference gateway calling TF Serving) are never subject to these rules, except when
 * they pass through the same gateway pods (see `localGatewayPorts`). A selector is mandatory: a policy
 * without one in `istio-system` (Istio's root namespace) would apply to the whole mesh.
 *
 * Path matching: Istio matches `paths` exactly, by prefix (`/v1/models/*`), by suffix (`*.json`) or
 * by presence (`*`), on the normalized path without the query string. `/v1/models/*` therefore covers
 * `/v1/models/clothing-model:predict` and `/v1/models/clothing-model` but not `/v1/models` itself.
 * `istioPathMatches` implements these semantics so tests and the policy pack can check patterns.
 * Encoded slashes (`%2F`) are not decoded by Istio's default (BASE) normalization; a backend that
 * decodes them could see a different path than the policy did. Model servers here do not route on
 * decoded slashes, but a mesh config of `pathNormalization: DECODE_AND_MERGE_SLASHES` closes the gap.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * What the ingress gateway enforces: `jwt` (a valid token on every model path), `open-model-paths`
 * (the seeds' bypass: model paths open, everything else denied) or `kubeflow` (patch Kubeflow's
 * policies so model paths pass).
 */
export type AuthMode = "jwt" | "open-model-paths" | "kubeflow";

// ---------------------------------------------------------------------------------------------
// Types (the subset of security.istio.io/v1 these policies use).
// ---------------------------------------------------------------------------------------------

export interface IstioOperation {
    readonly paths?: string[];
    readonly notPaths?: string[];
    readonly ports?: string[];
    readonly notPorts?: string[];
    readonly hosts?: string[];
    readonly notHosts?: string[];
    readonly methods?: string[];
    readonly notMethods?: string[];
}

export interface IstioSource {
    readonly requestPrincipals?: string[];
    readonly notRequestPrincipals?: string[];
}

export interface IstioCondition {
    readonly key: string;
    readonly values?: string[];
    readonly notValues?: string[];
}

export interface IstioRule {
    readonly from?: { source?: IstioSource }[];
    readonly to?: { operation?: IstioOperation }[];
    readonly when?: IstioCondition[];
}

export interface IstioMetadata {
    readonly name: string;
    readonly namespace: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
}

export interface AuthorizationPolicy {
    readonly apiVersion: "security.istio.io/v1";
    readonly kind: "AuthorizationPolicy";
    readonly metadata: IstioMetadata;
    readonly spec: {
        readonly selector?: { matchLabels: Record<string, string> };
        readonly action?: "ALLOW" | "DENY" | "AUDIT" | "CUSTOM";
        readonly provider?: { name: string };
        readonly rules?: IstioRule[];
    };
}

export interface RequestAuthentication {
    readonly apiVersion: "security.istio.io/v1";
    readonly kind: "RequestAuthentication";
    readonly metadata: IstioMetadata;
    readonly spec: {
        readonly selector: { matchLabels: Record<string, string> };
        readonly jwtRules: { issuer: string; jwksUri: string; forwardOriginalToken?: boolean }[];
    };
}

/** A server-side-apply patch of an existing AuthorizationPolicy (only the fields we take over). */
export interface AuthorizationPolicyPatch {
    readonly apiVersion: "security.istio.io/v1";
    readonly kind: "AuthorizationPolicy";
    readonly metadata: IstioMetadata;
    readonly spec: { readonly rules: IstioRule[] };
}

/** What one mode needs: objects we own, and patches of objects someone else owns. */
export interface AuthPolicySet {
    readonly mode: AuthMode;
    readonly objects: (AuthorizationPolicy | RequestAuthentication)[];
    readonly patches: AuthorizationPolicyPatch[];
}

// ---------------------------------------------------------------------------------------------
// Constants.
// ---------------------------------------------------------------------------------------------

/** The Istio ingress gateway pods (label set by Istio's `gateway` chart for release `istio-ingressgateway`). */
export const ingressGatewaySelector: Readonly<Record<string, string>> = { istio: "ingressgateway" };
export const ingressGatewayNamespace = "istio-system";

/** KServe V1 and V2 (Open Inference Protocol) model endpoints. */
export const modelPaths = ["/v1/models/*", "/v2/models/*", "/v2/health/*"] as const;

/** Knative / Istio probe and drain paths the seeds' allowlist keeps open (net-istio probes `/healthz`). */
export const probePaths = ["/healthz", "/ready", "/metrics", "/wait-for-drain"] as const;

/** Paths the `open-model-paths` ALLOW policy lists. */
export const openModelPaths: readonly string[] = [...modelPaths, ...probePaths];

/** Paths that need no token in `jwt` mode: health and readiness only (no model metadata, no metrics). */
export const jwtExemptPaths: readonly string[] = ["/healthz", "/ready", "/v2/health/live", "/v2/health/ready"];

/**
 * Port of net-istio's `knative-local-gateway` listener. net-istio binds that Gateway to the same pods
 * as the external one (`istio: ingressgateway`, Service port 80 → pod port 8081), so cluster-local
 * Knative traffic, such as a KServe transformer calling its predictor in Serverless mode, passes
 * through these pods on 8081. The ingress Service exposes only 80/443, so 8081 is reachable from
 * inside the cluster only.
 */
export const defaultLocalGatewayPorts: readonly string[] = ["8081"];

/** `notPaths` of Kubeflow's two policies as Kubeflow's manifests ship them (common/oauth2-proxy, v1.9 - v1.11). */
export const kubeflowDefaultNotPaths: readonly string[] = ["/dex/*", "/dex/**", "/oauth2/*"];

/** Names of Kubeflow's policies the `kubeflow` mode patches. */
export const kubeflowPolicyNames = {
    requireJwt: "istio-ingressgateway-require-jwt",
    oauth2Proxy: "istio-ingressgateway-oauth2-proxy",
} as const;

const platformLabels = {
    "app.kubernetes.io/part-of": "inference-platform",
    "app.kubernetes.io/managed-by": "pulumi",
};

// ---------------------------------------------------------------------------------------------
// Istio semantics, as pure functions.
// ---------------------------------------------------------------------------------------------

/**
 * Istio's string match for `paths`/`notPaths`: `*` is presence (any non-empty path), a leading `*` is a
 * suffix match, a trailing `*` a prefix match, anything else exact. Only one `*` is special (`/dex/**`
 * is the prefix `/dex/*`, a literal star). Path templates (`{*}`, `{**}`) are not implemented: they
 * throw so a check never silently misjudges them. The query string is not part of the matched path.
 */
export function istioPathMatches(pattern: string, requestPath: string): boolean {
    if (pattern.includes("{")) throw new Error(`istioPathMatches: path templates are not supported ('${pattern}')`);
    const path = requestPath.split("?")[0];
    if (pattern === "*") return path.length > 0;
    if (pattern.startsWith("*")) return path.endsWith(pattern.slice(1));
    if (pattern.endsWith("*")) return path.startsWith(pattern.slice(0, -1));
    return path === pattern;
}

/** True when a `paths` pattern matches every HTTP path (they all start with `/`). */
export function patternCoversEveryPath(pattern: string): boolean {
    if (pattern === "*" || pattern === "/*") return true;
    // Templates: `/{**}` matches every path.
    return pattern === "/{**}" || pattern === "{**}";
}

/**
 * True when an ALLOW policy (or one without an action, which Istio treats as ALLOW) has a rule that
 * does not restrict paths to a list: a rule with no `to`, an operation without `paths` (`notPaths`
 * alone is a blocklist, not an allowlist), or a `paths` entry that matches every path. Other
 * conditions on such a rule (ports, hosts, principals) are ignored on purpose: the check is
 * conservative, and the policy pack can reuse it on any object shaped like an AuthorizationPolicy.
 */
export function allowsEveryPath(policy: {
    spec?: { action?: string; rules?: readonly { to?: readonly { operation?: { paths?: readonly string[] } }[] }[] };
}): boolean {
    const action = policy.spec?.action ?? "ALLOW";
    if (action !== "ALLOW") return false;
    for (const rule of policy.spec?.rules ?? []) {
        const to = rule.to ?? [];
        if (to.length === 0) return true;
        for (const target of to) {
            const paths = target.operation?.paths;
            if (!paths || paths.length === 0) return true;
            if (paths.some(patternCoversEveryPath)) return true;
        }
    }
    return false;
}

/** A request as the gateway's authorization filter sees it. */
export interface GatewayRequest {
    readonly path: string;
    /** Port the gateway pod received the request on (8080 external HTTP, 8081 knative-local-gateway). */
    readonly port: number;
    /** `iss/sub` of a validated JWT; undefined when the request carried none. */
    readonly principal?: string;
    /** Request headers, lower-case names. */
    readonly headers?: Readonly<Record<string, string>>;
}

function listMatches(values: readonly string[] | undefined, actual: string | undefined, negate: boolean): boolean {
    if (values === undefined) return true;
    const hit = actual !== undefined && values.some((v) => istioPathMatches(v, actual));
    return negate ? !hit : hit;
}

function operationMatches(op: IstioOperation, req: GatewayRequest): boolean {
    for (const unsupported of ["hosts", "notHosts", "methods", "notMethods"] as const) {
        if (op[unsupported] !== undefined) throw new Error(`evaluateGatewayPolicies: operation.${unsupported} is not implemented`);
    }
    const port = String(req.port);
    return (
        listMatches(op.paths, req.path, false) &&
        listMatches(op.notPaths, req.path, true) &&
        (op.ports === undefined || op.ports.includes(port)) &&
        (op.notPorts === undefined || !op.notPorts.includes(port))
    );
}

function sourceMatches(source: IstioSource, req: GatewayRequest): boolean {
    return (
        listMatches(source.requestPrincipals, req.principal, false) &&
        listMatches(source.notRequestPrincipals, req.principal, true)
    );
}

function conditionMatches(condition: IstioCondition, req: GatewayRequest): boolean {
    const header = /^request\.headers\[(.+)\]$/.exec(condition.key);
    if (!header) throw new Error(`evaluateGatewayPolicies: condition key '${condition.key}' is not implemented`);
    const value = req.headers?.[header[1].toLowerCase()];
    return listMatches(condition.values, value, false) && listMatches(condition.notValues, value, true);
}

function ruleMatches(rule: IstioRule, req: GatewayRequest): boolean {
    const from = rule.from ?? [];
    const to = rule.to ?? [];
    return (
        (from.length === 0 || from.some((f) => sourceMatches(f.source ?? {}, req))) &&
        (to.length === 0 || to.some((t) => operationMatches(t.operation ?? {}, req))) &&
        (rule.when ?? []).every((c) => conditionMatches(c, req))
    );
}

function policyMatches(policy: AuthorizationPolicy, req: GatewayRequest): boolean {
    // A policy with no rules matches nothing (for ALLOW that means: allow nothing).
    return (policy.spec.rules ?? []).some((r) => ruleMatches(r, req));
}

/**
 * Istio's decision for one request against the policies selecting one workload: CUSTOM first (the
 * external authorizer, e.g. oauth2-proxy, is consulted), then DENY, then ALLOW (if any ALLOW policy
 * exists, the request must match one). Implements the fields these policies use; others throw.
 */
export function evaluateGatewayPolicies(
    policies: readonly AuthorizationPolicy[],
    req: GatewayRequest,
): { allowed: boolean; externalAuthorizer: boolean } {
    const externalAuthorizer = policies.some((p) => p.spec.action === "CUSTOM" && policyMatches(p, req));
    if (policies.some((p) => p.spec.action === "DENY" && policyMatches(p, req))) return { allowed: false, externalAuthorizer };
    const allowPolicies = policies.filter((p) => (p.spec.action ?? "ALLOW") === "ALLOW");
    const allowed = allowPolicies.length === 0 || allowPolicies.some((p) => policyMatches(p, req));
    return { allowed, externalAuthorizer };
}

// ---------------------------------------------------------------------------------------------
// Builders.
// ---------------------------------------------------------------------------------------------

export interface AuthPolicyOptions {
    /** Prefix of the object names. Default: `inference-platform`. */
    readonly namePrefix?: string;
    /** JWT issuer (https URL). Required in `jwt` mode. */
    readonly jwtIssuer?: string;
    /** JWKS URI (https URL). Required in `jwt` mode. */
    readonly jwksUri?: string;
    /** Namespace of the ingress gateway pods. Default: `istio-system`. */
    readonly gatewayNamespace?: string;
    /** Labels selecting the ingress gateway pods. Default: `{ istio: "ingressgateway" }`. Must not be empty. */
    readonly gatewaySelector?: Readonly<Record<string, string>>;
    /**
     * Gateway pod ports that carry cluster-local traffic (exempt from the JWT requirement in `jwt`
     * mode). Default: `["8081"]` (net-istio's knative-local-gateway). `[]` requires tokens there too.
     */
    readonly localGatewayPorts?: readonly string[];
    /**
     * `kubeflow` mode: the `notPaths` Kubeflow's policies have in this cluster, kept by the patch
     * (the patch replaces the whole `rules` list, see `kubeflowPatches`). Default: Kubeflow's own
     * (`kubeflowDefaultNotPaths`); add site-specific entries such as `/.well-known/acme-challenge/*`.
     */
    readonly kubeflowNotPaths?: readonly string[];
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function isHttpsUrl(value: string): boolean {
    try {
        return new URL(value).protocol === "https:";
    } catch {
        return false;
    }
}

/** Every problem with a mode and its options (empty when valid). */
export function authPolicyProblems(mode: AuthMode, opts: AuthPolicyOptions = {}): string[] {
    const problems: string[] = [];
    if (!["jwt", "open-model-paths", "kubeflow"].includes(mode)) {
        problems.push(`mode '${String(mode)}' is not one of jwt, open-model-paths, kubeflow`);
    }
    const prefix = opts.namePrefix ?? "inference-platform";
    if (!dnsLabel.test(prefix) || prefix.length > 40) problems.push(`namePrefix '${prefix}' must be a DNS label of at most 40 characters`);
    const namespace = opts.gatewayNamespace ?? ingressGatewayNamespace;
    if (!dnsLabel.test(namespace) || namespace.length > 63) problems.push(`gatewayNamespace '${namespace}' is not a namespace name`);
    const selector = opts.gatewaySelector ?? ingressGatewaySelector;
    if (Object.keys(selector).length === 0) {
        problems.push("gatewaySelector must not be empty: a policy without a selector applies to every workload in its namespace (mesh-wide in istio-system)");
    }
    for (const [key, value] of Object.entries(selector)) {
        if (key.length === 0 || !labelValue.test(value) || value.length > 63) problems.push(`gatewaySelector ${key}=${value} is not a valid label`);
    }
    for (const port of opts.localGatewayPorts ?? []) {
        if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) problems.push(`localGatewayPorts: '${port}' is not a port number`);
    }
    if (mode === "jwt") {
        if (!opts.jwtIssuer) problems.push("jwtIssuer is required in jwt mode");
        else if (!isHttpsUrl(opts.jwtIssuer)) problems.push(`jwtIssuer '${opts.jwtIssuer}' must be an https:// URL`);
        if (!opts.jwksUri) problems.push("jwksUri is required in jwt mode");
        else if (!isHttpsUrl(opts.jwksUri)) problems.push(`jwksUri '${opts.jwksUri}' must be an https:// URL`);
    }
    for (const p of opts.kubeflowNotPaths ?? []) {
        if (!p.startsWith("/") && !p.startsWith("*")) problems.push(`kubeflowNotPaths: '${p}' must start with '/' or '*'`);
    }
    return problems;
}

/** Kubeflow's `notPaths` plus the model paths (deduplicated, Kubeflow's first). */
function withModelPaths(existing: readonly string[]): string[] {
    return [...new Set([...existing, ...modelPaths])];
}

/**
 * Server-side-apply patches of Kubeflow's two gateway policies.
 *
 * The Istio CRD declares no `x-kubernetes-list-type` on `spec.rules`, so SSA treats `rules` as an
 * atomic list: an apply cannot add one `notPaths` entry, it owns and replaces the whole list. The
 * patch therefore restates Kubeflow's rule (as its manifests ship it, with `kubeflowNotPaths`) plus
 * the model paths, and takes ownership of `spec.rules` with `pulumi.com/patchForce` (Kubeflow's
 * manager, usually kubectl, owns it). Anything else in those rules on the live object is replaced.
 * The selector, action and provider stay Kubeflow's: the patch does not name them.
 */
export function kubeflowPatches(opts: AuthPolicyOptions = {}): AuthorizationPolicyPatch[] {
    const namespace = opts.gatewayNamespace ?? ingressGatewayNamespace;
    const notPaths = withModelPaths(opts.kubeflowNotPaths ?? kubeflowDefaultNotPaths);
    const metadata = (name: string): IstioMetadata => ({
        name,
        namespace,
        annotations: { "pulumi.com/patchForce": "true" },
    });
    return [
        {
            apiVersion: "security.istio.io/v1",
            kind: "AuthorizationPolicy",
            metadata: metadata(kubeflowPolicyNames.requireJwt),
            spec: {
                rules: [{ from: [{ source: { notRequestPrincipals: ["*"] } }], to: [{ operation: { notPaths } }] }],
            },
        },
        {
            apiVersion: "security.istio.io/v1",
            kind: "AuthorizationPolicy",
            metadata: metadata(kubeflowPolicyNames.oauth2Proxy),
            spec: {
                rules: [
                    {
                        // Kubeflow sends only requests without an Authorization header to oauth2-proxy.
                        when: [{ key: "request.headers[authorization]", notValues: ["*"] }],
                        to: [{ operation: { notPaths } }],
                    },
                ],
            },
        },
    ];
}

/** The objects (and patches) one mode needs. Throws one error listing every problem with the input. */
export function authPolicies(mode: AuthMode, opts: AuthPolicyOptions = {}): AuthPolicySet {
    const problems = authPolicyProblems(mode, opts);
    if (problems.length > 0) throw new Error(`IngressAuth: invalid arguments:\n  - ${problems.join("\n  - ")}`);
    const prefix = opts.namePrefix ?? "inference-platform";
    const namespace = opts.gatewayNamespace ?? ingressGatewayNamespace;
    const selector = { matchLabels: { ...(opts.gatewaySelector ?? ingressGatewaySelector) } };
    const localPorts = [...(opts.localGatewayPorts ?? defaultLocalGatewayPorts)];
    const metadata = (suffix: string): IstioMetadata => ({ name: `${prefix}-${suffix}`, namespace, labels: { ...platformLabels } });

    switch (mode) {
        case "jwt": {
            const requestAuthentication: RequestAuthentication = {
                apiVersion: "security.istio.io/v1",
                kind: "RequestAuthentication",
                metadata: metadata("ingress-jwt"),
                spec: {
                    selector,
                    // The token is not forwarded to model servers: they do not need it.
                    jwtRules: [{ issuer: opts.jwtIssuer!, jwksUri: opts.jwksUri!, forwardOriginalToken: false }],
                },
            };
            const operation: IstioOperation = localPorts.length > 0
                ? { notPaths: [...jwtExemptPaths], notPorts: localPorts }
                : { notPaths: [...jwtExemptPaths] };
            const requireJwt: AuthorizationPolicy = {
                apiVersion: "security.istio.io/v1",
                kind: "AuthorizationPolicy",
                metadata: metadata("ingress-require-jwt"),
                spec: {
                    selector,
                    action: "DENY",
                    // RequestAuthentication rejects invalid tokens (401) but lets token-less requests
                    // through with no principal; this rule denies those (403).
                    rules: [{ from: [{ source: { notRequestPrincipals: ["*"] } }], to: [{ operation }] }],
                },
            };
            return { mode, objects: [requestAuthentication, requireJwt], patches: [] };
        }
        case "open-model-paths": {
            const allow: AuthorizationPolicy = {
                apiVersion: "security.istio.io/v1",
                kind: "AuthorizationPolicy",
                metadata: metadata("ingress-allow-model-paths"),
                spec: { selector, action: "ALLOW", rules: [{ to: [{ operation: { paths: [...openModelPaths] } }] }] },
            };
            return { mode, objects: [allow], patches: [] };
        }
        case "kubeflow":
            return { mode, objects: [], patches: kubeflowPatches(opts) };
    }
}

// ---------------------------------------------------------------------------------------------
// Component.
// ---------------------------------------------------------------------------------------------

/**
 * Args of `IngressAuth`: the policy options (documented on `AuthPolicyOptions`; `namePrefix` defaults
 * to the component's name), the mode, and what to wait for.
 */
export interface IngressAuthArgs extends AuthPolicyOptions {
    /** `jwt`, `open-model-paths` or `kubeflow` (config `authMode`). Required. */
    readonly mode: AuthMode;
    /** Resources that must exist first (the Istio CRDs and gateway; Kubeflow's policies). Default: none. */
    readonly waitFor?: pulumi.Input<pulumi.Resource>[];
}

/** Registers the policies of one auth mode on the ingress gateway. */
export class IngressAuth extends pulumi.ComponentResource {
    /** Names of the objects created or patched, `namespace/name`. */
    public readonly policyNames: string[];

    constructor(name: string, args: IngressAuthArgs, opts?: pulumi.ComponentResourceOptions) {
        const prefix = args.namePrefix ?? name;
        const set = authPolicies(args.mode, {
            namePrefix: prefix,
            jwtIssuer: args.jwtIssuer,
            jwksUri: args.jwksUri,
            gatewayNamespace: args.gatewayNamespace,
            gatewaySelector: args.gatewaySelector,
            localGatewayPorts: args.localGatewayPorts,
            kubeflowNotPaths: args.kubeflowNotPaths,
        });
        super("inference-platform:ingress:IngressAuth", name, {}, opts);
        const dependsOn = args.waitFor ?? [];
        for (const obj of set.objects) {
            // metadata.name is `<prefix>-<purpose>`, unique per mode; the resource is `<name>-<purpose>`.
            new k8s.apiextensions.CustomResource(
                `${name}${obj.metadata.name.slice(prefix.length)}`,
                { apiVersion: obj.apiVersion, kind: obj.kind, metadata: obj.metadata, spec: obj.spec },
                { parent: this, dependsOn },
            );
        }
        for (const patch of set.patches) {
            new k8s.apiextensions.CustomResourcePatch(
                `${name}-${patch.metadata.name}`,
                { apiVersion: patch.apiVersion, kind: patch.kind, metadata: patch.metadata, spec: patch.spec },
                {
                    parent: this,
                    dependsOn,
                    // Deleting a forced SSA patch removes the fields it owns: `spec.rules` would vanish
                    // and Kubeflow's DENY policy would match nothing (auth off). Leave the patched
                    // rules in place on destroy; re-apply Kubeflow's manifests to restore the originals.
                    retainOnDelete: true,
                },
            );
        }
        this.policyNames = [...set.objects, ...set.patches].map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
        this.registerOutputs({ policyNames: this.policyNames });
    }
}
