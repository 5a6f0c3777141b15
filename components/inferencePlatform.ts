/**
 * The whole platform as one component: a foundation (AWS or kind), the serving platform and the
 * models. Another TypeScript Pulumi program adds a model-serving platform to its own stack with
 *
 *     import { InferencePlatform } from "inference-platform";
 *     const platform = new InferencePlatform("serving", { ...settings });
 *
 * `InferencePlatformArgs` has the same shape as this project's stack config (`config.ts` reads,
 * defaults and validates a stack's config into exactly this type), so the README's configuration
 * reference documents both.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterSettings, NetworkSettings } from "./aws/awsFoundation";
import type { NodeGroupConfig } from "./aws/eksCluster";
import type { GpuProvisioner, KarpenterPoolsConfig } from "./aws/gpuNodePool";
import type { ModelStoreSettings } from "./aws/modelStore";
import type { Foundation } from "./common/foundation";
import { createFoundation } from "./foundations";
import type { ExampleName } from "./models/exampleModels";
import { LlmWorkloadSettings, ModelWorkloads } from "./models/modelWorkloads";
import type { AuthMode } from "./platform/ingressAuth";
import { ServingPlatform } from "./platform/servingPlatform";
import type { VersionSet } from "../versions";

/** Where the platform runs: `eks` builds everything on AWS; `local` uses an existing kind cluster. */
export type Platform = "eks" | "local";

/** Everything the platform is built from: the stack config, typed, defaulted and validated. */
export interface InferencePlatformArgs {
    /** `eks` or `local`. */
    readonly platform: Platform;
    /** Throwaway stack (per-PR environments): destroy also deletes the model bucket with its objects. */
    readonly ephemeral: boolean;
    /** AWS region; required on eks, unused on local. */
    readonly region: string | undefined;
    /** Named AWS profile of the AWS provider, for the SDK calls the stack makes itself; unset uses the default chain. */
    readonly awsProfile: string | undefined;
    /** Tags on every AWS resource (the e2e leftover check finds resources by them). */
    readonly tags: Readonly<Record<string, string>>;
    /** eks: the VPC. */
    readonly network: NetworkSettings & {
        /**
         * The account's Elastic IP quota in the region, which NAT gateways and the NLB share; checked
         * at config time only when `preflight` is false (preflight reads the real quota).
         */
        readonly elasticIpQuota: number;
    };
    /** eks: the control plane and who may use it. */
    readonly cluster: ClusterSettings;
    /** eks: the CPU node group. */
    readonly cpuNodes: NodeGroupConfig;
    /**
     * eks: GPU capacity. `enabled` turns it on in either mode; `diskSizeGiB` is the GPU nodes' root
     * volume in either mode; the other fields shape the managed GPU node group (`node-group` mode).
     */
    readonly gpuNodes: NodeGroupConfig & { readonly enabled: boolean };
    /** eks: who makes GPU nodes: Karpenter's NodePool (`karpenter`) or the managed GPU group with the Cluster Autoscaler (`node-group`). */
    readonly gpuProvisioner: GpuProvisioner;
    /** eks, `karpenter` mode: the GPU NodePool's families, spot, limits and consolidation, and the optional CPU burst pool. */
    readonly karpenter: KarpenterPoolsConfig;
    /** eks: check quotas and instance offerings at preview, before anything is created. */
    readonly preflight: boolean;
    /** eks: the model bucket. `modelPrefix` applies to every platform. */
    readonly modelStore: ModelStoreSettings;
    /** Storage for `pvc://` models and users' claims. */
    readonly storage: {
        /** eks: the EBS CSI driver add-on and an encrypted gp3 default StorageClass. */
        readonly ebsCsiDriver: boolean;
        /** The `models` claim (Mountpoint for S3 on the model prefix on eks, local-path on kind). */
        readonly modelVolume: boolean;
    };
    /** The models' namespace and the ServiceAccount model pods run as. */
    readonly models: {
        readonly namespace: string;
        readonly serviceAccountName: string;
    };
    /** Chart and release versions (from the compatibility table). */
    readonly versions: VersionSet;
    readonly ingress: {
        /** Custom DNS domain for model URLs; `undefined` means magic DNS `<ip>.sslip.io`. */
        readonly domain: string | undefined;
        /** local: the IP that sslip.io names resolve to (kind's port mapping on the host). */
        readonly localIp: string;
        /** local: host port mapped to the ingress gateway's NodePort. */
        readonly localHttpPort: number;
    };
    readonly auth: {
        readonly mode: AuthMode;
        readonly jwtIssuer: string | undefined;
        readonly jwksUri: string | undefined;
    };
    /** Example models to deploy. */
    readonly examples: readonly ExampleName[];
    /** The `llm` example. */
    readonly llm: {
        /** Replicas kept warm; 0 scales to zero. */
        readonly minReplicas: number;
        /** Secret (key `token`) with a Hugging Face token for the seeding Job; `undefined` for public models. */
        readonly hfTokenSecret: string | undefined;
    };
    readonly gateway: {
        /** Prebuilt gateway image; `undefined` means eks builds and pushes it to ECR (local requires one). */
        readonly image: string | undefined;
    };
    /** The TF Serving + gateway inference server. */
    readonly inferenceServer: {
        readonly enabled: boolean;
        readonly gpu: boolean;
    };
    /** local: how to reach the kind cluster. */
    readonly local: {
        /** Path to a kubeconfig file; `undefined` means `$KUBECONFIG` or ~/.kube/config. */
        readonly kubeconfig: string | undefined;
        readonly context: string;
    };
}

/** The curl header the printed invocations carry under an auth mode. */
export function invocationAuthHeader(mode: AuthMode): string | undefined {
    return mode === "jwt" ? "Authorization: Bearer $TOKEN" : undefined;
}

/**
 * What the `llm` example needs to know about the GPU capacity: the instance types its pod may land
 * on, how a GPU node comes up, and how images are pulled there (every eks GPU node, from Karpenter or
 * the managed group, turns on SOCI parallel pull: components/aws/gpuNodeBoot.ts). A GPU group that never goes below one node
 * needs no node provisioning.
 */
export function llmWorkloadSettings(args: Pick<InferencePlatformArgs, "gpuNodes" | "llm" | "gpuProvisioner" | "karpenter">): LlmWorkloadSettings {
    // Karpenter may launch any size of its families: size for the smallest (`<family>.xlarge`, one GPU).
    const karpenter = args.gpuProvisioner === "karpenter";
    return {
        minReplicas: args.llm.minReplicas,
        hfTokenSecret: args.llm.hfTokenSecret,
        capacity: {
            gpuInstanceTypes: karpenter ? args.karpenter.instanceFamilies.map((family) => `${family}.xlarge`) : args.gpuNodes.instanceTypes,
            nodeProvisioning: karpenter ? "karpenter" : args.gpuNodes.minSize > 0 ? "existing-node" : "cluster-autoscaler",
            imagePull: "parallel",
        },
    };
}

/** The foundation, the serving platform and the models, as one component. */
export class InferencePlatform extends pulumi.ComponentResource {
    public readonly foundation: Foundation;
    public readonly serving: ServingPlatform;
    public readonly workloads: ModelWorkloads;

    constructor(name: string, args: InferencePlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super("inference-platform:index:InferencePlatform", name, {}, opts);
        this.foundation = createFoundation(`${name}-foundation`, args, { parent: this });
        this.serving = new ServingPlatform(
            `${name}-serving`,
            { foundation: this.foundation, versions: args.versions, domain: args.ingress.domain, auth: args.auth },
            { parent: this },
        );
        this.workloads = new ModelWorkloads(
            `${name}-workloads`,
            {
                foundation: this.foundation,
                serving: this.serving,
                examples: args.examples,
                inferenceServer: args.inferenceServer,
                authHeader: invocationAuthHeader(args.auth.mode),
                llm: llmWorkloadSettings(args),
            },
            { parent: this },
        );
        this.registerOutputs({ domain: this.serving.domain, modelUrls: this.workloads.modelUrls });
    }
}
