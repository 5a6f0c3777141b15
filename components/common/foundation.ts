/**
 * The `Foundation` contract: what the serving platform and the models need from the place they run
 * on, and nothing about how that place is built. `AwsFoundation` (EKS, S3 with IRSA, an NLB on
 * Elastic IPs) and `KindFoundation` (a kind cluster, an S3-compatible store, a NodePort) implement
 * it; the layers above take a `Foundation` and never ask which one they got. A new kind of capacity
 * or storage is a change to one foundation and, where workloads must see it, to this contract.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** How clients reach the ingress gateway's Service. */
export type IngressExposure =
    | {
          /** A cloud load balancer in front of a `LoadBalancer` Service. */
          readonly kind: "load-balancer";
          /** Address clients use: an IP, so magic DNS (`<ip>.sslip.io`) works before any DNS record exists. */
          readonly address: pulumi.Output<string>;
          /** Port clients use. */
          readonly port: number;
          /**
           * Annotations that tell the load balancer controller what to build for the Service, given
           * the gateway pods' readiness endpoint (which the platform knows and the load balancer checks).
           */
          readonly serviceAnnotations: (healthCheck: { readonly port: number; readonly path: string }) => pulumi.Input<Record<string, string>>;
          /**
           * What the Service must wait for: the controller that reconciles it and the addresses it
           * uses. On destroy the Service goes first, so these outlive the load balancer.
           */
          readonly dependsOn: readonly pulumi.Resource[];
      }
    | {
          /** A fixed NodePort that the host maps to a local port (kind's `extraPortMappings`). */
          readonly kind: "node-port";
          /** Address clients use (the host's). */
          readonly address: pulumi.Output<string>;
          /** Port clients use on that address. */
          readonly port: number;
          /** The Service's http nodePort (30000-32767). */
          readonly nodePort: number;
      };

/** Storage defaults KServe's storage initializer applies to S3 URIs (`inferenceservice-config`'s `credentials.s3`). */
export interface S3StorageDefaults {
    /** Region of the bucket, or any region name an S3-compatible endpoint accepts. */
    readonly region: string;
    /** `host[:port]` of an S3-compatible endpoint; unset for AWS S3. */
    readonly endpoint?: string;
    /** Talk HTTPS to the store. Default: true. */
    readonly useHttps?: boolean;
    /** Verify the store's TLS certificate. Default: true. */
    readonly verifySsl?: boolean;
}

/**
 * Where models live and how workloads authenticate to it. Models are read as
 * `s3://<bucket>/<modelPrefix><model>/`, by pods running as `readerServiceAccountName`; jobs that put
 * models there run as `writerServiceAccountName` with `writerEnv`.
 */
export interface ModelStorage {
    /** Bucket name. */
    readonly bucket: pulumi.Output<string>;
    /** Key prefix of every model (relative, ends with `/`). */
    readonly modelPrefix: string;
    /** Namespace the models run in (the foundation creates it, with both accounts). */
    readonly namespace: pulumi.Output<string>;
    /** ServiceAccount of model pods: read access to the models, nothing else. */
    readonly readerServiceAccountName: pulumi.Output<string>;
    /** What a container KServe does not manage (the inference server's storage initializer) needs to read models. */
    readonly readerEnv: pulumi.Input<k8s.types.input.core.v1.EnvVar>[];
    /** ServiceAccount of jobs that write models (the seeding Job): write access under the prefix. */
    readonly writerServiceAccountName: pulumi.Output<string>;
    /** What those jobs need in their environment (region, or endpoint and credentials). */
    readonly writerEnv: pulumi.Input<k8s.types.input.core.v1.EnvVar>[];
    /** KServe's cluster-wide S3 defaults; undefined leaves them to each account's annotations. */
    readonly kserveDefaults: S3StorageDefaults | undefined;
    /** What must exist before anything reads or writes models (bucket, policies, accounts). */
    readonly ready: readonly pulumi.Resource[];
}

/**
 * How files get into the model claim:
 * - `model-store`: the claim is a read-only view of the model store's prefix: a file at `<path>` in
 *   the claim is the object `s3://<ModelStorage.bucket>/<ModelStorage.modelPrefix><path>`, so it is
 *   written by uploading there (the writer account, or the user's own credentials);
 * - `mount`: the claim is a volume of its own: it is written by mounting it read-write (a seeding
 *   Job, or `kubectl cp` into the loader pod the foundation runs).
 */
export type ModelVolumeContent =
    | { readonly kind: "model-store" }
    | {
          readonly kind: "mount";
          /** The pod that mounts the claim read-write for `kubectl cp`, and where. */
          readonly loader: { readonly podName: pulumi.Output<string>; readonly mountPath: string };
      };

/**
 * A PersistentVolumeClaim in the models namespace for `pvc://<claimName>/<path>` storage URIs. KServe
 * v0.20.0 runs no storage initializer for them: it mounts the claim into the model container at
 * /mnt/models with `<path>` as subPath, read-only by default (kserve/kserve v0.20.0
 * pkg/webhook/admission/pod/storage_initializer_injector.go `CommonStorageInitialization`).
 */
export interface ModelVolume {
    /** Name of the claim: the authority of `pvc://` URIs. */
    readonly claimName: string;
    /** Namespace of the claim (the models namespace; a claim is usable only from its own namespace). */
    readonly namespace: pulumi.Output<string>;
    /** Model pods must mount it read-only: one claim holds every model, and no model may change another. */
    readonly readOnlyForModels: boolean;
    /** Pods on several nodes (and zones) can mount it at the same time; false on a single-node cluster. */
    readonly readManyAcrossNodes: boolean;
    readonly content: ModelVolumeContent;
    /** What a pod mounting the claim must wait for: the claim (bound, or bindable by that pod), its volume, its driver. */
    readonly ready: readonly pulumi.Resource[];
    /** One command that puts a model file into the claim (README and stack output). */
    readonly uploadCommand: pulumi.Output<string>;
}

/** The node capacity workloads can count on. */
export interface Capacity {
    /** Several nodes across zones: run two replicas of controllers and gateways with disruption budgets. */
    readonly highAvailability: boolean;
    /** Nodes are added for pending pods: Knative may keep a pod pending while a node comes up. */
    readonly nodeAutoscaling: boolean;
    /** GPU nodes can exist, labelled and tainted as components/common/gpuScheduling.ts says. */
    readonly gpu: boolean;
}

/** Stack outputs a foundation contributes; `null` where the platform has no such thing. */
export interface FoundationOutputs {
    readonly clusterName: pulumi.Output<string> | null;
    /** Secret. */
    readonly kubeconfig: pulumi.Output<string> | null;
    readonly oidcProviderArn: pulumi.Output<string> | null;
    readonly modelReaderRoleArn: pulumi.Output<string> | null;
    readonly modelWriterRoleArn: pulumi.Output<string> | null;
    readonly loadBalancerControllerRoleArn: pulumi.Output<string> | null;
    readonly clusterAutoscalerRoleArn: pulumi.Output<string> | null;
}

export interface Foundation {
    /** `eks` or `local`: reported as a stack output, never branched on by the layers above. */
    readonly platform: string;
    /** Provider of every in-cluster resource. */
    readonly provider: k8s.Provider;
    /** What cluster-wide installs wait for (nodes that can run them). */
    readonly clusterReady: readonly pulumi.Resource[];
    /**
     * What every workload waits for: `clusterReady` plus whatever provides capacity on demand
     * (on EKS with Karpenter: its NodePools). Because the serving platform and the models depend on
     * it, `pulumi destroy` deletes them (InferenceServices, the ingress Service and its load
     * balancer, every pod's owner) before that capacity, so the capacity's own teardown (Karpenter
     * terminating its instances) is not raced by pods being rescheduled onto new nodes. Equal to
     * `clusterReady` where capacity is fixed.
     */
    readonly workloadsReady: readonly pulumi.Resource[];
    /**
     * Whether kubelets serve certificates the cluster CA signed (EKS: yes; kind: self-signed), i.e.
     * whether clients of the kubelet API such as metrics-server can verify them.
     */
    readonly kubeletCertificatesVerifiable: boolean;
    readonly ingress: IngressExposure;
    readonly modelStorage: ModelStorage;
    /** The claim `pvc://` URIs name; undefined when the platform is configured without one. */
    readonly modelVolume: ModelVolume | undefined;
    readonly capacity: Capacity;
    /** The gateway's container image when the stack runs it (built and pushed, or as configured); undefined otherwise. */
    readonly gatewayImage: pulumi.Output<string> | undefined;
    readonly outputs: FoundationOutputs;
}
