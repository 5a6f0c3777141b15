/**
 * Istio control plane: the `base` chart (CRDs, validation) and `istiod`, in `istio-system`. The
 * ingress gateway is a separate component (`IngressGateway`) because, on EKS, it must wait for the
 * AWS Load Balancer Controller while the control plane need not.
 *
 * Sidecar injection stays opt-in: no namespace is labelled `istio-injection=enabled` here, and
 * `enableNamespacesByDefault` is false, so model pods (Knative/KServe) run without sidecars unless a
 * namespace asks for them.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { helmChartSource } from "../common/charts";
import { chartPins, defaultVersions, VersionSet } from "../../versions";

export const istioNamespace = "istio-system";

/** Helm values of the `base` chart (value names from base/values.yaml at 1.29.1). */
export function istioBaseValues(): Record<string, unknown> {
    return { defaultRevision: "default" };
}

/** Helm values of the `istiod` chart (value names from istio-discovery/values.yaml at 1.29.1). */
export function istiodValues(input: { minReplicas: number }): Record<string, unknown> {
    return {
        autoscaleEnabled: true,
        autoscaleMin: input.minReplicas,
        autoscaleMax: 5,
        // The chart requests 500m / 2Gi by default, a quarter of a small node; this platform's mesh is the
        // gateway plus Knative's routes. Limits added so istiod cannot starve its node.
        resources: {
            requests: { cpu: "100m", memory: "512Mi" },
            limits: { cpu: "1000m", memory: "2Gi" },
        },
        seccompProfile: { type: "RuntimeDefault" },
        sidecarInjectorWebhook: { enableNamespacesByDefault: false },
        global: {
            istioNamespace,
            // The chart's PDB (minAvailable 1) on a single istiod would block every node drain, and with it
            // node group upgrades and autoscaler scale-down; it is kept only when a second replica exists.
            defaultPodDisruptionBudget: { enabled: input.minReplicas > 1 },
        },
    };
}

export interface IstioArgs {
    /** Version set to take the chart pins from. Default: `defaultVersions`. */
    readonly versions?: VersionSet;
    /** What the control plane waits for (the node groups). Default: none. */
    readonly waitFor?: pulumi.Resource[];
    /** Minimum istiod replicas (its HPA scales up to 5). Default: 1. */
    readonly istiodMinReplicas?: number;
}

/** Istio base + istiod. Depend on this component (or `istiod`) to wait until the control plane is ready. */
export class Istio extends pulumi.ComponentResource {
    public readonly namespace: k8s.core.v1.Namespace;
    /** Name of the namespace, known once it exists. */
    public readonly namespaceName: pulumi.Output<string>;
    public readonly base: k8s.helm.v3.Release;
    public readonly istiod: k8s.helm.v3.Release;

    constructor(name: string, args: IstioArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const minReplicas = args.istiodMinReplicas ?? 1;
        if (!Number.isInteger(minReplicas) || minReplicas < 1 || minReplicas > 5) {
            throw new Error(`Istio ${name}: istiodMinReplicas ${minReplicas} is not an integer from 1 to 5`);
        }
        super("inference-platform:mesh:Istio", name, {}, opts);
        const pins = chartPins(args.versions ?? defaultVersions);
        const waitFor = args.waitFor ?? [];

        this.namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            {
                metadata: {
                    name: istioNamespace,
                    labels: { "app.kubernetes.io/part-of": "inference-platform", "app.kubernetes.io/managed-by": "pulumi" },
                },
            },
            { parent: this, dependsOn: waitFor },
        );
        this.namespaceName = this.namespace.metadata.name;

        this.base = new k8s.helm.v3.Release(
            `${name}-base`,
            {
                name: "istio-base",
                namespace: this.namespaceName,
                ...helmChartSource(pins.istioBase),
                values: istioBaseValues(),
            },
            { parent: this, dependsOn: waitFor },
        );

        // istiod's webhooks and config refer to the CRDs and validator that base installs.
        this.istiod = new k8s.helm.v3.Release(
            `${name}-istiod`,
            {
                name: "istiod",
                namespace: this.namespaceName,
                ...helmChartSource(pins.istiod),
                values: istiodValues({ minReplicas }),
            },
            { parent: this, dependsOn: [this.base, ...waitFor] },
        );

        this.registerOutputs({ namespace: this.namespaceName, istiodStatus: this.istiod.status });
    }
}
