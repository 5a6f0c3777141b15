/**
 * KServe in Knative ("serverless") mode from its three OCI Helm charts: `kserve-crd`, then
 * `kserve-resources` (controller, webhooks, inferenceservice-config), then `kserve-runtime-configs`
 * (the built-in ClusterServingRuntimes, which KServe's webhook validates, so the controller must
 * be up first).
 *
 * The controller discovers the Knative, Istio and cert-manager CRDs only when it starts, and its
 * webhook certificate is a cert-manager Certificate, so the CRD chart already waits for all three
 * (taken as explicit Args).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { chartLabels } from "../common/labels";
import { ContainerResources, containerResourcesProblems } from "../common/resources";
import { domainArgProblems, validateDomain } from "./knative";
import { helmChartSource } from "../common/charts";
import { allowedVersions, chartPins, defaultVersions } from "../../versions";

/** Default S3 settings of the storage initializer (the `credentials` block of inferenceservice-config). */
export interface KserveS3Defaults {
    /** Region of the model bucket (AWS) or any region name the endpoint accepts (MinIO: us-east-1). Required. */
    readonly region: string;
    /**
     * S3 endpoint `host[:port]`, only for S3-compatible stores. Default: unset, and it must stay unset
     * on AWS: with an endpoint, the storage initializer's STS call for IRSA
     * (AssumeRoleWithWebIdentity) fails (kserve/kserve#3482); boto3 finds the regional endpoint itself.
     */
    readonly endpoint?: string;
    /** Talk HTTPS to the store. Default: true. */
    readonly useHttps?: boolean;
    /** Verify the store's TLS certificate. Default: true. */
    readonly verifySsl?: boolean;
}

/** Controller resources; upstream's default (100m / 300Mi, equal requests and limits) OOMs with many InferenceServices. */
export const defaultKserveControllerResources: ContainerResources = {
    requests: { cpu: "100m", memory: "300Mi" },
    limits: { cpu: "1", memory: "1Gi" },
};

/** The Knative ingress gateway that net-istio creates; KServe's top-level VirtualServices attach to it. */
export const knativeIngressGateway = "knative-serving/knative-ingress-gateway";

export interface KserveResourcesValuesInput {
    /** Domain of model URLs; must equal Knative's config-domain. */
    readonly domain: string;
    /** Storage defaults; unset leaves them empty (each ServiceAccount/Secret brings its own annotations). */
    readonly s3?: KserveS3Defaults;
    readonly controllerResources?: ContainerResources;
}

/** Returns one message per bad S3 setting. */
export function kserveS3Problems(s3: KserveS3Defaults): string[] {
    const problems: string[] = [];
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(s3.region ?? "")) problems.push(`s3.region '${s3.region}' is not a region name (e.g. us-east-2)`);
    if (s3.endpoint !== undefined) {
        if (/amazonaws\.com(\.cn)?(:\d+)?$/.test(s3.endpoint)) {
            problems.push(`s3.endpoint '${s3.endpoint}': leave it unset for AWS S3 (an endpoint breaks IRSA's AssumeRoleWithWebIdentity, kserve/kserve#3482)`);
        } else if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d{1,5})?$/.test(s3.endpoint)) {
            problems.push(`s3.endpoint '${s3.endpoint}' must be host[:port] without a scheme`);
        }
    }
    return problems;
}

/** Helm values of `kserve-resources` (keys as in the chart's values.yaml at v0.20.0). */
export function kserveResourcesValues(input: KserveResourcesValuesInput) {
    validateDomain(input.domain);
    const problems = input.s3 ? kserveS3Problems(input.s3) : [];
    const resources = input.controllerResources ?? defaultKserveControllerResources;
    problems.push(...containerResourcesProblems("controllerResources", resources));
    if (problems.length > 0) throw new Error(`KServe values: ${problems.join("; ")}`);
    const flag = (value: boolean | undefined) => (value === false ? "0" : "1");
    return {
        kserve: {
            controller: {
                // 0.20 names the modes Knative / Standard; "Serverless" is only a deprecated alias.
                deploymentMode: "Knative",
                labels: { ...chartLabels },
                // The tag is pinned (it defaults to the chart version), so never pull on each restart.
                imagePullPolicy: "IfNotPresent",
                resources,
                gateway: {
                    // In Knative mode the URL's domain comes from Knative's config-domain; KServe's
                    // own ingressDomain is used for Standard-mode models, so both get the same domain.
                    domain: input.domain,
                    urlScheme: "http",
                    ingressGateway: { gateway: knativeIngressGateway },
                },
            },
            storage: {
                s3: input.s3
                    ? {
                          region: input.s3.region,
                          endpoint: input.s3.endpoint ?? "",
                          useHttps: flag(input.s3.useHttps),
                          verifySSL: flag(input.s3.verifySsl),
                      }
                    : {},
            },
        },
    };
}

/** Helm values of `kserve-runtime-configs`: the built-in ClusterServingRuntimes are off by default. */
export function kserveRuntimeConfigsValues() {
    return { kserve: { servingruntime: { enabled: true } } };
}

export interface KserveArgs {
    /** KServe charts version; must be in `allowedVersions.kserve`. Default: `defaultVersions.kserve`. */
    readonly version?: string;
    /** Namespace of the three releases (created by Helm). Default: `kserve`. */
    readonly namespace?: string;
    /** Domain of model URLs; pass the same value as Knative's `domain`. Required. */
    readonly domain: pulumi.Input<string>;
    /** cert-manager (CRDs and webhook ready). Required. */
    readonly certManager: pulumi.Resource;
    /** Knative Serving: CRDs and core (e.g. `KnativeServing.ready`, or the component). Required. */
    readonly knative: pulumi.Resource | readonly pulumi.Resource[];
    /** Istio (CRDs, istiod, ingress gateway). Required. */
    readonly istio: pulumi.Resource | readonly pulumi.Resource[];
    /** Storage-initializer S3 defaults. eks: `{ region }`. Default: unset (local; the MinIO secret carries its settings). */
    readonly s3?: KserveS3Defaults;
    /** Controller resources. Default: `defaultKserveControllerResources`. */
    readonly controllerResources?: ContainerResources;
}

const asList = (r: pulumi.Resource | readonly pulumi.Resource[] | undefined): pulumi.Resource[] =>
    r === undefined || r === null ? [] : Array.isArray(r) ? [...r] : [r as pulumi.Resource];

export class Kserve extends pulumi.ComponentResource {
    public readonly crd: k8s.helm.v3.Release;
    public readonly resources: k8s.helm.v3.Release;
    public readonly runtimeConfigs: k8s.helm.v3.Release;
    /** What InferenceServices must wait for: CRDs, controller and webhooks, built-in runtimes. */
    public readonly ready: pulumi.Resource[];
    public readonly namespace: string;

    constructor(name: string, args: KserveArgs, opts?: pulumi.ComponentResourceOptions) {
        const version = args?.version ?? defaultVersions.kserve;
        const namespace = args?.namespace ?? "kserve";
        const problems: string[] = [];
        if (!(allowedVersions.kserve as readonly string[]).includes(version)) {
            problems.push(`version '${version}' is not in the compatibility table (allowed: ${allowedVersions.kserve.join(", ")})`);
        }
        if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) problems.push(`namespace '${namespace}' is not a DNS label`);
        if (!args?.certManager) problems.push("certManager is required (KServe's webhook certificate is a cert-manager Certificate)");
        const knative = asList(args?.knative);
        const istio = asList(args?.istio);
        if (knative.length === 0) problems.push("knative is required (the controller discovers Knative's CRDs at start)");
        if (istio.length === 0) problems.push("istio is required (the controller discovers Istio's CRDs at start)");
        problems.push(...domainArgProblems(args?.domain));
        if (args?.s3) problems.push(...kserveS3Problems(args.s3));
        if (args?.controllerResources) problems.push(...containerResourcesProblems("controllerResources", args.controllerResources));
        if (problems.length > 0) throw new Error(`Kserve ${name}: ${problems.join("; ")}`);

        super("inference-platform:kserve:Kserve", name, {}, opts);
        this.namespace = namespace;
        const pins = chartPins({ ...defaultVersions, kserve: version });

        this.crd = new k8s.helm.v3.Release(
            `${name}-kserve-crd`,
            {
                name: "kserve-crd",
                namespace,
                createNamespace: true,
                ...helmChartSource(pins.kserveCrd),
            },
            { parent: this, dependsOn: [args.certManager, ...knative, ...istio] },
        );
        this.resources = new k8s.helm.v3.Release(
            `${name}-kserve-resources`,
            {
                name: "kserve-resources",
                namespace,
                createNamespace: true,
                ...helmChartSource(pins.kserveResources),
                values: pulumi.output(args.domain).apply((domain) =>
                    kserveResourcesValues({ domain, s3: args.s3, controllerResources: args.controllerResources }),
                ),
            },
            // Listed again (not only through the CRD chart) so the ordering survives edits to the CRD release.
            { parent: this, dependsOn: [this.crd, args.certManager, ...knative, ...istio] },
        );
        this.runtimeConfigs = new k8s.helm.v3.Release(
            `${name}-kserve-runtime-configs`,
            {
                name: "kserve-runtime-configs",
                namespace,
                ...helmChartSource(pins.kserveRuntimeConfigs),
                values: kserveRuntimeConfigsValues(),
            },
            { parent: this, dependsOn: [this.resources] },
        );
        this.ready = [this.crd, this.resources, this.runtimeConfigs];

        this.registerOutputs({ namespace });
    }
}
