/**
 * metrics-server: serves the `metrics.k8s.io` API, the source of the CPU and memory figures every
 * HorizontalPodAutoscaler reads (istiod, the ingress gateway, the inference server). Without it those
 * HPAs report `FailedGetResourceMetric` and stay at their minimum forever.
 *
 * Installed from the upstream Helm chart (kubernetes-sigs/metrics-server, chart 3.13.1 = metrics-server
 * v0.8.1) in kube-system, on eks and on local alike, rather than as the EKS add-on:
 * - one mechanism for both platforms: kind has no add-ons, and two mechanisms would mean two sets of
 *   settings that drift apart;
 * - the chart's values are checked against its values.yaml and rendered with `helm template` offline,
 *   and its version sits in `versions.ts`'s compatibility table like every other chart; an add-on
 *   version is per Kubernetes minor and can only be resolved against the AWS API;
 * - the chart takes the flag kind needs (`--kubelet-insecure-tls`) as an ordinary value.
 *
 * TLS: kind's kubelets serve self-signed certificates, so metrics-server skips verifying them there
 * (upstream README, "Requirements": the kubelet certificate must be signed by the cluster CA, or pass
 * `--kubelet-insecure-tls`). EKS kubelets serve certificates signed by the cluster CA, so eks verifies.
 *
 * It needs nothing but the nodes: no Istio, and no cert-manager (the chart's default `tls.type`,
 * `metrics-server`, makes its own serving certificate).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { chartLabels } from "../common/labels";
import { ContainerResources, containerResourcesProblems } from "../common/resources";
import { isDnsLabel } from "../common/validation";
import { helmChartSource } from "../common/charts";
import { allowedVersions, chartPins, defaultVersions, VersionSet } from "../../versions";

/** Release name; the chart also names the Deployment, Service and APIService backend after it. */
export const metricsServerReleaseName = "metrics-server";

/**
 * Upstream's recommendation for clusters up to 100 nodes (README "Scaling": 100m CPU, 200MiB) as the
 * request, which is also the chart's default; the chart sets no limit, so one is added here with
 * headroom for a scrape of every pod every 15 s.
 */
export const defaultMetricsServerResources: ContainerResources = {
    requests: { cpu: "100m", memory: "200Mi" },
    limits: { cpu: "1", memory: "400Mi" },
};

/** Inputs of `metricsServerValues`. */
export interface MetricsServerValuesInput {
    /**
     * Whether kubelets serve certificates the cluster CA signed (EKS: yes); when not (kind's
     * self-signed kubelet certificates), metrics-server runs with `--kubelet-insecure-tls`.
     */
    readonly kubeletCertificatesVerifiable: boolean;
    /** Replicas: 1 to 5, with a PDB above 1. Required. */
    readonly replicas: number;
    /** Container resources. Default: `defaultMetricsServerResources`. */
    readonly resources?: ContainerResources;
}

/** Helm values of the metrics-server chart (value names from its values.yaml at chart 3.13.1). */
export function metricsServerValues(input: MetricsServerValuesInput): Record<string, unknown> {
    const replicas = input.replicas;
    const problems = metricsServerValueProblems(input);
    if (problems.length > 0) throw new Error(`metrics-server values: ${problems.join("; ")}`);
    // The chart's selector labels (app.kubernetes.io/name + instance), as its _helpers.tpl renders them.
    const podLabels = { "app.kubernetes.io/name": "metrics-server", "app.kubernetes.io/instance": metricsServerReleaseName };
    return {
        replicas,
        // A second replica keeps `kubectl top` and every HPA working through a node drain; with one
        // replica a PDB (minAvailable 1) would block every drain, so local has none.
        podDisruptionBudget: replicas > 1 ? { enabled: true, minAvailable: 1 } : { enabled: false },
        ...(replicas > 1
            ? {
                  topologySpreadConstraints: [
                      { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: podLabels } },
                      { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: podLabels } },
                  ],
              }
            : {}),
        // Added after the chart's defaultArgs (--cert-dir, --kubelet-preferred-address-types, ...), which stay.
        args: input.kubeletCertificatesVerifiable ? [] : ["--kubelet-insecure-tls"],
        resources: input.resources ?? defaultMetricsServerResources,
        // Only the platform's own label: the chart already sets app.kubernetes.io/{name,instance,version,
        // managed-by} and helm.sh/chart on everything (a repeat would be a duplicate YAML key).
        commonLabels: { ...chartLabels },
        // securityContext is the chart's default and is kept: uid 1000, non-root, read-only root
        // filesystem, no privilege escalation, every capability dropped, RuntimeDefault seccomp.
    };
}

function metricsServerValueProblems(input: MetricsServerValuesInput): string[] {
    const problems: string[] = [];
    if (!Number.isInteger(input.replicas) || input.replicas < 1 || input.replicas > 5) {
        problems.push(`replicas ${input.replicas} is not an integer from 1 to 5`);
    }
    if (input.resources) problems.push(...containerResourcesProblems("resources", input.resources));
    return problems;
}

export interface MetricsServerArgs {
    /** Whether kubelets serve CA-signed certificates (`Foundation.kubeletCertificatesVerifiable`); false skips verification. Required. */
    readonly kubeletCertificatesVerifiable: boolean;
    /** Version set to take the chart pin from; `metricsServer` must be in `allowedVersions.metricsServer`. Default: `defaultVersions`. */
    readonly versions?: VersionSet;
    /** Namespace of the release. Default: `kube-system` (the chart's priority class is `system-cluster-critical`). */
    readonly namespace?: string;
    /** Replicas (2 lets one move during a node drain while a PDB keeps one up). Default: 1. */
    readonly replicas?: number;
    /** Container resources. Default: `defaultMetricsServerResources`. */
    readonly resources?: ContainerResources;
    /** What the release waits for (the node groups). Default: none. */
    readonly waitFor?: pulumi.Resource[];
}

/**
 * metrics-server. The release waits until its Deployment is ready, so depending on this component
 * means the metrics API is being served (its APIService has endpoints).
 */
export class MetricsServer extends pulumi.ComponentResource {
    public readonly release: k8s.helm.v3.Release;
    /** Namespace metrics-server runs in. */
    public readonly namespace: string;

    constructor(name: string, args: MetricsServerArgs, opts?: pulumi.ComponentResourceOptions) {
        const versions = args?.versions ?? defaultVersions;
        const namespace = args?.namespace ?? "kube-system";
        const replicas = args?.replicas ?? 1;
        const input = { kubeletCertificatesVerifiable: args.kubeletCertificatesVerifiable, replicas, resources: args.resources };
        const problems = metricsServerValueProblems(input);
        if (!(allowedVersions.metricsServer as readonly string[]).includes(versions.metricsServer)) {
            problems.push(`version '${versions.metricsServer}' is not in the compatibility table (allowed: ${allowedVersions.metricsServer.join(", ")})`);
        }
        if (!isDnsLabel(namespace)) problems.push(`namespace '${namespace}' is not a DNS label`);
        if (problems.length > 0) throw new Error(`MetricsServer ${name}: ${problems.join("; ")}`);

        super("inference-platform:cluster:MetricsServer", name, {}, opts);
        this.namespace = namespace;

        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: metricsServerReleaseName,
                namespace,
                ...helmChartSource(chartPins(versions).metricsServer),
                values: metricsServerValues(input),
            },
            { parent: this, dependsOn: args.waitFor ?? [] },
        );

        this.registerOutputs({ namespace, releaseStatus: this.release.status });
    }
}
