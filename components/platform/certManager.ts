/**
 * cert-manager from the Jetstack Helm chart. KServe's webhook certificates are cert-manager
 * `Certificate`s, so KServe waits for this component (its CRDs and its webhook).
 *
 * The chart installs its own CRDs (`crds.enabled`; off by default in 1.19) and keeps them on
 * uninstall (`crds.keep`), so deleting the release never garbage-collects every Certificate.
 * The chart's non-root security contexts are its defaults and are left untouched.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { helmChartSource } from "../common/charts";
import { chartLabels } from "../common/labels";
import { ContainerResources, containerResourcesProblems } from "../common/resources";
import { allowedVersions, chartPins, defaultVersions } from "../../versions";

/** Resources of each cert-manager container. */
export interface CertManagerResources {
    readonly controller: ContainerResources;
    readonly webhook: ContainerResources;
    readonly cainjector: ContainerResources;
    readonly startupapicheck: ContainerResources;
}

/**
 * Sized for a cluster with tens of Certificates (KServe's webhook certificates and a few more).
 * cainjector watches every Secret and webhook configuration, so it gets the most memory.
 */
export const defaultCertManagerResources: CertManagerResources = {
    controller: { requests: { cpu: "50m", memory: "96Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
    webhook: { requests: { cpu: "20m", memory: "48Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
    cainjector: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "384Mi" } },
    startupapicheck: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
};

export interface CertManagerArgs {
    /** cert-manager chart version; must be in `allowedVersions.certManager`. Default: `defaultVersions.certManager`. */
    readonly version?: string;
    /** Namespace of the release (created by Helm). Default: `cert-manager`. */
    readonly namespace?: string;
    /** Container resources. Default: `defaultCertManagerResources`. */
    readonly resources?: CertManagerResources;
    /** What the release waits for (nodes that can run it); on destroy it goes before them. Default: none. */
    readonly waitFor?: pulumi.Resource[];
}

/** Helm values of the cert-manager chart (keys as in the chart's values.yaml of v1.19.6). */
export function certManagerValues(resources: CertManagerResources = defaultCertManagerResources) {
    return {
        crds: { enabled: true, keep: true },
        global: { commonLabels: { ...chartLabels } },
        resources: resources.controller,
        webhook: { resources: resources.webhook },
        cainjector: { resources: resources.cainjector },
        startupapicheck: { resources: resources.startupapicheck },
    };
}

export class CertManager extends pulumi.ComponentResource {
    /** The Helm release; depend on it (or on the component) to wait for the CRDs and the webhook. */
    public readonly release: k8s.helm.v3.Release;
    /** Namespace cert-manager runs in. */
    public readonly namespace: string;

    constructor(name: string, args: CertManagerArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const version = args.version ?? defaultVersions.certManager;
        const namespace = args.namespace ?? "cert-manager";
        const resources = args.resources ?? defaultCertManagerResources;
        const problems: string[] = [];
        if (!(allowedVersions.certManager as readonly string[]).includes(version)) {
            problems.push(`version '${version}' is not in the compatibility table (allowed: ${allowedVersions.certManager.join(", ")})`);
        }
        if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) problems.push(`namespace '${namespace}' is not a DNS label`);
        for (const part of ["controller", "webhook", "cainjector", "startupapicheck"] as const) {
            problems.push(...containerResourcesProblems(`resources.${part}`, resources[part]));
        }
        if (problems.length > 0) throw new Error(`CertManager ${name}: ${problems.join("; ")}`);

        super("inference-platform:certManager:CertManager", name, {}, opts);
        this.namespace = namespace;
        const pin = chartPins({ ...defaultVersions, certManager: version }).certManager;

        this.release = new k8s.helm.v3.Release(
            `${name}-cert-manager`,
            {
                name: "cert-manager",
                namespace,
                createNamespace: true,
                ...helmChartSource(pin),
                values: certManagerValues(resources),
            },
            { parent: this, dependsOn: args.waitFor ?? [] },
        );

        this.registerOutputs({ release: this.release, namespace });
    }
}
