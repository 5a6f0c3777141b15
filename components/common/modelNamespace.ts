/**
 * The namespace example models run in. Sidecar injection stays off: KServe's storage initializer is
 * an init container, and with an Istio sidecar it would race the proxy and fail to reach storage.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface ModelNamespaceArgs {
    /** Namespace name (a DNS label). Required. */
    readonly name: string;
}

/** Labels on the models namespace: ownership only, and never `istio-injection`. */
export function modelNamespaceLabels(): Record<string, string> {
    return { "app.kubernetes.io/part-of": "inference-platform", "app.kubernetes.io/managed-by": "pulumi" };
}

export class ModelNamespace extends pulumi.ComponentResource {
    public readonly namespace: k8s.core.v1.Namespace;
    /** The namespace's name, resolved once it exists (use it to wait for the namespace). */
    public readonly name: pulumi.Output<string>;

    constructor(name: string, args: ModelNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("inference-platform:models:ModelNamespace", name, {}, opts);
        if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(args.name)) {
            throw new Error(`ModelNamespace ${name}: '${args.name}' is not a valid namespace name`);
        }
        this.namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            { metadata: { name: args.name, labels: modelNamespaceLabels() } },
            { parent: this },
        );
        this.name = this.namespace.metadata.name;
        this.registerOutputs({ name: this.name });
    }
}
