/**
 * NVIDIA device plugin: advertises `nvidia.com/gpu` on GPU nodes so model pods can request GPUs.
 * The EKS AL2023 NVIDIA AMI already ships the driver and the container toolkit, so neither
 * node-feature-discovery nor gpu-feature-discovery (nor the GPU operator) is installed: the plugin is
 * placed by the label the GPU node group sets, `nvidia.com/gpu.present=true`, and tolerates the
 * group's taint `nvidia.com/gpu=true:NoSchedule` (both taken from the cluster component).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { gpuNodeLabel, gpuToleration } from "../common/gpuScheduling";
import { isDnsLabel } from "../common/validation";
import { helmChartSource } from "../common/charts";
import { chartPins, defaultVersions, VersionSet } from "../../versions";

/** Helm values of the nvidia-device-plugin chart (value names from the chart's values.yaml at v0.18.2). */
export function devicePluginValues(): Record<string, unknown> {
    return {
        nodeSelector: { [gpuNodeLabel.key]: gpuNodeLabel.value },
        // The chart's default affinity ORs NFD's PCI-vendor labels with `nvidia.com/gpu.present`; without NFD
        // only the latter exists, so the affinity is replaced (Helm replaces lists) to say just that.
        affinity: {
            nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: [
                        { matchExpressions: [{ key: gpuNodeLabel.key, operator: "In", values: [gpuNodeLabel.value] }] },
                    ],
                },
            },
        },
        // Any value of the GPU taint, so a node group that taints `nvidia.com/gpu=present` still gets the plugin.
        // (The node group states the effect in EKS's spelling, NO_SCHEDULE; Kubernetes spells it NoSchedule.)
        tolerations: [{ ...gpuToleration }],
        // The chart pulls node-feature-discovery in when `nfd.enabled` (or `gfd.enabled`) is true.
        nfd: { enabled: false },
        gfd: { enabled: false },
        resources: {
            requests: { cpu: "10m", memory: "64Mi" },
            limits: { cpu: "100m", memory: "256Mi" },
        },
        // The plugin runs as root because it creates its socket in the kubelet's root-owned
        // /var/lib/kubelet/device-plugins; it keeps the chart's no-capabilities default and adds seccomp.
        securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        },
    };
}

export interface DevicePluginArgs {
    /** Namespace of the DaemonSet. Default: `kube-system` (the chart refuses `default`). */
    readonly namespace?: string;
    /** What the release waits for (the node groups). Default: none. */
    readonly waitFor?: pulumi.Resource[];
    /** Version set to take the chart pin from. Default: `defaultVersions`. */
    readonly versions?: VersionSet;
}

/** The NVIDIA device plugin DaemonSet on GPU nodes. */
export class DevicePlugin extends pulumi.ComponentResource {
    public readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: DevicePluginArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const namespace = args.namespace ?? "kube-system";
        if (!isDnsLabel(namespace) || namespace === "default") {
            throw new Error(`DevicePlugin ${name}: namespace '${namespace}' must be a DNS label other than 'default'`);
        }
        super("inference-platform:gpu:DevicePlugin", name, {}, opts);
        const pin = chartPins(args.versions ?? defaultVersions).nvidiaDevicePlugin;

        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: "nvidia-device-plugin",
                namespace,
                ...helmChartSource(pin),
                values: devicePluginValues(),
                // No GPU node exists until a GPU pod is pending (the group scales from zero), so a DaemonSet
                // with zero desired pods is "ready" at once; waiting costs nothing.
            },
            { parent: this, dependsOn: args.waitFor ?? [] },
        );

        this.registerOutputs({ releaseStatus: this.release.status });
    }
}
