/**
 * Knative Serving with the Istio networking layer (net-istio), installed from the release YAML
 * (Knative publishes no Helm chart) and then configured by server-side-apply patches of its
 * ConfigMaps. The release YAML's ConfigMaps carry only the `_example` documentation block, so the
 * patches own every key they set and a re-apply of the release YAML never undoes them.
 *
 * Order: CRDs -> core -> net-istio (which also waits for Istio, whose CRDs its Gateways use);
 * the ConfigMap patches wait for the core (Knative's webhook validates them and the ConfigMaps
 * must exist), the config-istio patch for net-istio (which creates that ConfigMap).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { platformLabels } from "../common/labels";
import { allowedVersions, defaultVersions, knativeReleaseManifests } from "../../versions";

/** Namespace the release YAML installs Knative Serving into (fixed by upstream). */
export const knativeNamespace = "knative-serving";

/** Default Istio ingress gateway Service, as net-istio's config-istio assumes it. */
export const defaultIngressGatewayService = "istio-ingressgateway.istio-system.svc.cluster.local";
/** Service that net-istio.yaml creates in istio-system for cluster-local traffic. */
export const defaultLocalGatewayService = "knative-local-gateway.istio-system.svc.cluster.local";

/**
 * config-features: GPU models need a nodeSelector (GPU node group label), tolerations (the GPU
 * nodes' taint) and affinity (preferring an instance family); Knative rejects all three fields in
 * a Revision unless these flags are on.
 */
export function knativeFeatureFlags(): Record<string, string> {
    return {
        "kubernetes.podspec-nodeselector": "enabled",
        "kubernetes.podspec-tolerations": "enabled",
        "kubernetes.podspec-affinity": "enabled",
    };
}

/**
 * config-autoscaler. A GPU model scaled to zero needs a GPU node that does not exist yet: the
 * Cluster Autoscaler starts one (about 2-3 min), the NVIDIA device plugin advertises the GPU, and
 * the multi-GB serving image is pulled (2-5 min). The settings trade that cold start against idle
 * GPU cost:
 * - `enable-scale-to-zero`: on (explicit; the point of running GPU models on a zero-min node group).
 * - `scale-to-zero-grace-period`: the upstream 30s. Upstream documents it as the time to put the
 *   activator back in the path, not as an idle timeout, so lengthening it buys nothing.
 * - `scale-to-zero-pod-retention-period`: 10m. Upstream's knob for "pod startup is very expensive
 *   and traffic is bursty but patchy": the last pod stays 10 min after the autoscaler decides to
 *   scale to zero, about twice a GPU cold start, so a client calling every few minutes does not
 *   pay a cold start per call, while an idle model still frees its GPU node (the Cluster Autoscaler
 *   removes the node after its own unneeded time).
 * - `initial-scale` 1: a new revision must become ready once, so `pulumi up` proves the model loads.
 * - `allow-zero-initial-scale`: true, so a model may opt out of that with the annotation
 *   `autoscaling.knative.dev/initial-scale: "0"` (a GPU example that should not start a GPU node
 *   at deploy time). The cluster-wide default stays 1.
 */
export function knativeAutoscalerConfig(): Record<string, string> {
    return {
        "enable-scale-to-zero": "true",
        "scale-to-zero-grace-period": "30s",
        "scale-to-zero-pod-retention-period": "10m",
        "initial-scale": "1",
        "allow-zero-initial-scale": "true",
    };
}

/**
 * config-deployment. `progress-deadline` (default 600s) is how long a revision's Deployment may
 * take to become ready before Knative marks it failed; a cold GPU node plus a multi-GB image pull
 * can exceed 10 min, so 15 min. `pod-is-always-schedulable` tells Knative that an unschedulable
 * pod is transient (a node is on its way), which is true only where a cluster autoscaler runs.
 */
export function knativeDeploymentConfig(options: { clusterAutoscaler: boolean }): Record<string, string> {
    return {
        "progress-deadline": "900s",
        "pod-is-always-schedulable": options.clusterAutoscaler ? "true" : "false",
    };
}

const domainPattern = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/;

/** Throws when `domain` is not a lowercase DNS name with at least two labels. */
export function validateDomain(domain: string): void {
    if (typeof domain !== "string" || !domainPattern.test(domain)) {
        throw new Error(`domain '${String(domain)}' is not a DNS domain (lowercase, at least two labels, e.g. 203.0.113.10.sslip.io or models.example.com)`);
    }
}

/**
 * config-domain: one entry, the domain, with an empty value (no selector), so every Route gets
 * `<name>.<namespace>.<domain>`. The domain is computed by the caller (`<ip>.sslip.io` from the
 * Elastic IP, or a custom domain), so model URLs are known before the load balancer exists;
 * Knative's default-domain Job, which waits for the LB's address, is not used.
 */
export function domainConfig(domain: string): Record<string, string> {
    validateDomain(domain);
    return { [domain]: "" };
}

/** config-istio: which Istio Services carry external and cluster-local traffic. */
export function istioGatewaysConfig(ingressGatewayService: string, localGatewayService: string): Record<string, string> {
    return {
        "external-gateways": [
            `- name: knative-ingress-gateway`,
            `  namespace: ${knativeNamespace}`,
            `  service: ${ingressGatewayService}`,
        ].join("\n") + "\n",
        "local-gateways": [
            `- name: knative-local-gateway`,
            `  namespace: ${knativeNamespace}`,
            `  service: ${localGatewayService}`,
        ].join("\n") + "\n",
    };
}

/** Problems with a domain argument: missing, or (when already known) not a valid domain. */
export function domainArgProblems(domain: pulumi.Input<string> | undefined): string[] {
    if (domain === undefined || domain === null || domain === "") return ["domain is required"];
    if (typeof domain !== "string") return [];
    try {
        validateDomain(domain);
        return [];
    } catch (e) {
        return [(e as Error).message];
    }
}

export interface KnativeServingArgs {
    /** Knative release (`knative-vX.Y.Z`); must be in `allowedVersions.knative`. Default: `defaultVersions.knative`. */
    readonly version?: string;
    /** Domain of model URLs (`<first EIP>.sslip.io` or a custom domain). Required. */
    readonly domain: pulumi.Input<string>;
    /** What net-istio waits for: the Istio installation (its CRDs and istiod). Required. */
    readonly istio: pulumi.Resource | readonly pulumi.Resource[];
    /** True where a cluster autoscaler adds nodes for pending pods (eks). Default: false (local). */
    readonly clusterAutoscaler?: boolean;
    /**
     * FQDN of the Istio ingress gateway Service. Default: `istio-ingressgateway.istio-system.svc.cluster.local`
     * (an Istio `gateway` chart release named `istio-ingressgateway` in `istio-system`).
     */
    readonly ingressGatewayService?: string;
}

export class KnativeServing extends pulumi.ComponentResource {
    public readonly crds: k8s.yaml.v2.ConfigFile;
    public readonly core: k8s.yaml.v2.ConfigFile;
    public readonly netIstio: k8s.yaml.v2.ConfigFile;
    /** The ConfigMap patches, by ConfigMap name. */
    public readonly patches: Readonly<Record<string, k8s.core.v1.ConfigMapPatch>>;
    /** Everything KServe and models must wait for: CRDs, core, net-istio and the configuration. */
    public readonly ready: pulumi.Resource[];
    /** The domain of model URLs, as configured. */
    public readonly domain: pulumi.Output<string>;

    constructor(name: string, args: KnativeServingArgs, opts?: pulumi.ComponentResourceOptions) {
        const version = args?.version ?? defaultVersions.knative;
        const problems: string[] = [];
        if (!(allowedVersions.knative as readonly string[]).includes(version)) {
            problems.push(`version '${version}' is not in the compatibility table (allowed: ${allowedVersions.knative.join(", ")})`);
        }
        problems.push(...domainArgProblems(args?.domain));
        const istio = args?.istio === undefined ? [] : Array.isArray(args.istio) ? [...args.istio] : [args.istio as pulumi.Resource];
        if (istio.length === 0) problems.push("istio is required (net-istio must wait for Istio)");
        const ingressGatewayService = args?.ingressGatewayService ?? defaultIngressGatewayService;
        if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.[a-z0-9]([-a-z0-9]*[a-z0-9])?\.svc(\.[a-z0-9.-]+)?$/.test(ingressGatewayService)) {
            problems.push(`ingressGatewayService '${ingressGatewayService}' is not a Service FQDN (<name>.<namespace>.svc.cluster.local)`);
        }
        if (problems.length > 0) throw new Error(`KnativeServing ${name}: ${problems.join("; ")}`);

        super("inference-platform:knative:KnativeServing", name, {}, opts);
        const urls = knativeReleaseManifests(version);

        this.crds = new k8s.yaml.v2.ConfigFile(`${name}-serving-crds`, { file: urls.servingCrds }, { parent: this });
        this.core = new k8s.yaml.v2.ConfigFile(
            `${name}-serving-core`,
            { file: urls.servingCore },
            { parent: this, dependsOn: [this.crds] },
        );
        this.netIstio = new k8s.yaml.v2.ConfigFile(
            `${name}-net-istio`,
            { file: urls.netIstio },
            { parent: this, dependsOn: [this.core, ...istio] },
        );

        this.domain = pulumi.output(args.domain);
        const patch = (configMap: string, data: pulumi.Input<Record<string, string>>, after: pulumi.Resource) =>
            new k8s.core.v1.ConfigMapPatch(
                `${name}-${configMap}`,
                { metadata: { name: configMap, namespace: knativeNamespace, labels: { ...platformLabels } }, data },
                { parent: this, dependsOn: [after] },
            );
        this.patches = {
            "config-features": patch("config-features", knativeFeatureFlags(), this.core),
            "config-autoscaler": patch("config-autoscaler", knativeAutoscalerConfig(), this.core),
            "config-deployment": patch(
                "config-deployment",
                knativeDeploymentConfig({ clusterAutoscaler: args.clusterAutoscaler ?? false }),
                this.core,
            ),
            "config-domain": patch("config-domain", this.domain.apply(domainConfig), this.core),
            "config-istio": patch(
                "config-istio",
                istioGatewaysConfig(ingressGatewayService, defaultLocalGatewayService),
                this.netIstio,
            ),
        };
        this.ready = [this.crds, this.core, this.netIstio, ...Object.values(this.patches)];

        this.registerOutputs({ domain: this.domain });
    }
}
