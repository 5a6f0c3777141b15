/**
 * The local foundation: an existing kind cluster (local/kind-cluster.yaml) and an in-cluster
 * S3-compatible model store, as a `Foundation`. No AWS resource exists here.
 *
 *   KindCluster (Kubernetes provider) ─> ModelNamespace ─> LocalModelStore (versitygw, KServe S3 Secret, accounts)
 *                                                     └─> LocalModelVolume (`models` claim on local-path, loader pod)
 *
 * The gateway Service is a NodePort that kind maps to a host port; model hosts resolve to the host's
 * address through magic DNS. One node group of one node: no autoscaling, no GPUs, one replica of
 * everything.
 *
 * Children are named `<name>-<child>`. Each used to be registered at the top of the stack under an
 * older name; the aliases let an existing stack adopt them here instead of replacing them.
 */
import * as pulumi from "@pulumi/pulumi";
import { movedFromStackRoot } from "../common/aliases";
import type { Capacity, Foundation, FoundationOutputs, IngressExposure, ModelStorage, ModelVolume } from "../common/foundation";
import { ModelNamespace } from "../common/modelNamespace";
import { imageRefProblem, reachableIpv4Problem } from "../common/validation";
import { defaultLocalHttpNodePort, KindCluster } from "./kindCluster";
import { LocalModelStore } from "./localModelStore";
import { LocalModelVolume } from "./localModelVolume";


export interface KindFoundationArgs {
    /** Kubeconfig file path. Default: `$KUBECONFIG` or `~/.kube/config`. */
    readonly kubeconfig?: string;
    /** Context of the kind cluster in the kubeconfig. Default: `kind-inference-platform`. */
    readonly context?: string;
    /** Host address kind's port mapping listens on (model hosts resolve to it). Default: `127.0.0.1`. */
    readonly ingressIp?: string;
    /** Host port kind maps to the gateway's nodePort. Default: 8080. */
    readonly ingressPort?: number;
    /** The models' namespace and the ServiceAccount model pods run as. Required. */
    readonly models: { readonly namespace: string; readonly serviceAccountName: string };
    /** Key prefix of the models in the local bucket (ends with `/`). Default: `models/`. */
    readonly modelPrefix?: string;
    /**
     * The gateway image when the stack runs the gateway: kind nodes cannot pull what only the host's
     * Docker has, so it must be loaded with `kind load docker-image` (or be pullable). Default: none.
     */
    readonly gatewayImage?: string;
    /** The `models` claim (kind's local-path StorageClass) and its loader pod, for `pvc://models/...`. Default: true. */
    readonly modelVolume?: boolean;
}

function problemsOf(args: KindFoundationArgs): string[] {
    const problems: string[] = [];
    const ipProblem = reachableIpv4Problem(args.ingressIp ?? "127.0.0.1");
    if (ipProblem) problems.push(`ingressIp ${ipProblem}`);
    const port = args.ingressPort ?? 8080;
    if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`ingressPort ${port} is not a port`);
    if (args.gatewayImage !== undefined) {
        const imageProblem = imageRefProblem(args.gatewayImage);
        if (imageProblem) problems.push(`gatewayImage ${imageProblem}`);
    }
    return problems;
}

/** A kind cluster and a local S3-compatible store, as a `Foundation`. */
export class KindFoundation extends pulumi.ComponentResource implements Foundation {
    public readonly platform = "local";
    public readonly cluster: KindCluster;
    public readonly modelsNamespace: ModelNamespace;
    public readonly modelStore: LocalModelStore;
    public readonly localModelVolume: LocalModelVolume | undefined;

    public readonly provider: Foundation["provider"];
    public readonly clusterReady: readonly pulumi.Resource[] = [];
    /** kind's nodes are fixed: nothing beyond the cluster itself. */
    public readonly workloadsReady: readonly pulumi.Resource[] = [];
    /** kind's kubelets serve self-signed certificates. */
    public readonly kubeletCertificatesVerifiable = false;
    public readonly ingress: IngressExposure;
    public readonly modelStorage: ModelStorage;
    public readonly modelVolume: ModelVolume | undefined;
    public readonly capacity: Capacity = { highAvailability: false, nodeAutoscaling: false, gpu: false };
    public readonly gatewayImage: pulumi.Output<string> | undefined;
    public readonly outputs: FoundationOutputs = {
        clusterName: null,
        kubeconfig: null,
        oidcProviderArn: null,
        modelReaderRoleArn: null,
        modelWriterRoleArn: null,
        loadBalancerControllerRoleArn: null,
        clusterAutoscalerRoleArn: null,
    };

    constructor(name: string, args: KindFoundationArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = problemsOf(args);
        if (problems.length > 0) throw new Error(`KindFoundation ${name}:\n  - ${problems.join("\n  - ")}`);
        super("inference-platform:local:KindFoundation", name, {}, opts);

        this.cluster = new KindCluster(
            `${name}-cluster`,
            { kubeconfig: args.kubeconfig, context: args.context },
            { parent: this, aliases: movedFromStackRoot("inference-platform:local:LocalCluster", "local") },
        );
        this.provider = this.cluster.provider;
        const inCluster = (type: string, childName: string) => ({ parent: this, providers: [this.cluster.provider], aliases: movedFromStackRoot(type, childName) });

        this.modelsNamespace = new ModelNamespace(`${name}-models`, { name: args.models.namespace }, inCluster("inference-platform:models:ModelNamespace", "models"));
        this.modelStore = new LocalModelStore(
            `${name}-model-store`,
            { namespace: this.modelsNamespace.name, serviceAccountName: args.models.serviceAccountName, modelPrefix: args.modelPrefix },
            inCluster("inference-platform:modelStore:LocalModelStore", "model-store"),
        );
        this.modelStorage = this.modelStore.storage;
        this.localModelVolume =
            args.modelVolume === false
                ? undefined
                : new LocalModelVolume(`${name}-model-volume`, { namespace: this.modelsNamespace.name }, { parent: this, providers: [this.cluster.provider] });
        this.modelVolume = this.localModelVolume?.volume;

        this.ingress = {
            kind: "node-port",
            address: pulumi.output(args.ingressIp ?? "127.0.0.1"),
            port: args.ingressPort ?? 8080,
            nodePort: defaultLocalHttpNodePort,
        };
        this.gatewayImage = args.gatewayImage !== undefined ? pulumi.output(args.gatewayImage) : undefined;

        this.registerOutputs({ modelBucket: this.modelStorage.bucket, ingressAddress: this.ingress.address });
    }
}
