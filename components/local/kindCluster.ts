/**
 * The local platform's cluster: an existing kind (or any) cluster reached through a kubeconfig
 * context. Nothing is created in AWS; this only builds the Kubernetes provider.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { reachableIpv4Problem } from "../common/validation";

/** The gateway's http nodePort on kind; local/kind-cluster.yaml maps it to the host (see `kindPortMapping`). */
export const defaultLocalHttpNodePort = 31080;

/**
 * The kind `extraPortMappings` entry that exposes the gateway's NodePort on the host: put it on the
 * control-plane node of the kind cluster config, e.g.
 * `nodes: [{ role: control-plane, extraPortMappings: [{ containerPort: 31080, hostPort: 8080, listenAddress: 127.0.0.1, protocol: TCP }] }]`.
 * Listening only on `localIp` keeps the gateway off the LAN unless that IP is a LAN address.
 */
export function kindPortMapping(input: { localIp: string; hostPort: number; httpNodePort?: number }) {
    const containerPort = input.httpNodePort ?? defaultLocalHttpNodePort;
    const problem = reachableIpv4Problem(input.localIp);
    if (problem) throw new Error(`kindPortMapping: localIp ${problem}`);
    if (!Number.isInteger(input.hostPort) || input.hostPort < 1 || input.hostPort > 65535) {
        throw new Error(`kindPortMapping: hostPort ${input.hostPort} is not a port (1 to 65535)`);
    }
    if (!Number.isInteger(containerPort) || containerPort < 30000 || containerPort > 32767) {
        throw new Error(`kindPortMapping: httpNodePort ${containerPort} is outside the NodePort range 30000-32767`);
    }
    return { containerPort, hostPort: input.hostPort, listenAddress: input.localIp, protocol: "TCP" as const };
}


export interface KindClusterArgs {
    /** Kubeconfig file path or contents. Default: `$KUBECONFIG` or `~/.kube/config`. */
    readonly kubeconfig?: string;
    /** Context in the kubeconfig. Default: `kind-inference-platform` (what `kind create cluster --name inference-platform` writes). */
    readonly context?: string;
}

export class KindCluster extends pulumi.ComponentResource {
    /** Provider for every in-cluster resource. */
    public readonly provider: k8s.Provider;

    constructor(name: string, args: KindClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("inference-platform:local:LocalCluster", name, {}, opts);
        const context = args.context ?? "kind-inference-platform";
        if (!/^[\w@.:/-]+$/.test(context)) throw new Error(`LocalCluster ${name}: '${context}' is not a kubeconfig context name`);
        this.provider = new k8s.Provider(
            `${name}-k8s`,
            { kubeconfig: args.kubeconfig, context, enableServerSideApply: true },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
