/**
 * The local platform's cluster: an existing kind (or any) cluster reached through a kubeconfig
 * context. Nothing is created in AWS; this only builds the Kubernetes provider.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface LocalClusterArgs {
    /** Kubeconfig file path or contents. Default: `$KUBECONFIG` or `~/.kube/config`. */
    readonly kubeconfig?: string;
    /** Context in the kubeconfig. Default: `kind-inference-platform` (what `kind create cluster --name inference-platform` writes). */
    readonly context?: string;
}

export class LocalCluster extends pulumi.ComponentResource {
    /** Provider for every in-cluster resource. */
    public readonly provider: k8s.Provider;

    constructor(name: string, args: LocalClusterArgs, opts?: pulumi.ComponentResourceOptions) {
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
