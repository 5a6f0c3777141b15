/**
 * The AWS foundation: everything the serving platform and the models stand on when they run on AWS.
 *
 *   Network ─> EksCluster (control plane, node groups ─> Kubernetes provider)
 *                 ├─> LoadBalancerController ─> IngressNlb (EIPs, destroy-time gate) ─> (the gateway Service)
 *                 ├─> DevicePlugin (GPU nodes), ClusterAutoscaler
 *                 ├─> ModelStore (bucket, reader and writer IRSA roles, models namespace and accounts)
 *                 └─> GatewayImage (ECR, when the stack runs the gateway and no image is given)
 *
 * It implements the `Foundation` contract; nothing above it knows it is AWS.
 *
 * Children are named `<name>-<child>`. Each used to be registered at the top of the stack as plain
 * `<child>`; the aliases let an existing stack adopt them here instead of replacing them.
 */
import * as pulumi from "@pulumi/pulumi";
import { movedFromStackRoot } from "../common/aliases";
import type { Capacity, Foundation, FoundationOutputs, IngressExposure, ModelStorage } from "../common/foundation";
import { imageRefProblem } from "../common/validation";
import { defaultVersions, KubernetesVersion, VersionSet } from "../../versions";
import { ClusterAutoscaler } from "./clusterAutoscaler";
import { DevicePlugin } from "./devicePlugin";
import { EksCluster, NodeGroupConfig } from "./eksCluster";
import { GatewayImage } from "./gatewayImage";
import { IngressNlb } from "./ingressNlb";
import { LoadBalancerController } from "./loadBalancerController";
import { BucketEncryption, ModelStore } from "./modelStore";
import { awsRegionProblem } from "./names";
import { NatGatewayStrategy, Network } from "./network";

export interface AwsFoundationArgs {
    /** AWS region of everything. Required. */
    readonly region: string;
    /** Named AWS profile of the stack's AWS provider, for the SDK calls the stack makes itself (destroy-time checks). Default: the default credential chain. */
    readonly awsProfile?: string;
    /** Tags on every AWS resource (the e2e leftover check finds resources by them). Default: none. */
    readonly tags?: Record<string, string>;
    /** Throwaway stack: destroy also deletes the model bucket with its objects. Default: false. */
    readonly ephemeral?: boolean;
    /** Chart and image versions (from the compatibility table). Default: `defaultVersions`. */
    readonly versions?: VersionSet;
    /** The VPC. Required. */
    readonly network: {
        /** IPv4 CIDR of the VPC (/16 to /22). */
        readonly vpcCidr: string;
        /** Availability zones to spread subnets over (2 to 4); one public subnet, and one NLB address, per zone. */
        readonly availabilityZoneCount: number;
        /** `single` NAT gateway or one per zone. */
        readonly natGateways: NatGatewayStrategy;
    };
    /** The EKS control plane and who may use it. Required. */
    readonly cluster: {
        readonly name: string;
        readonly kubernetesVersion: KubernetesVersion;
        /** CIDRs allowed to reach the public API endpoint. */
        readonly publicAccessCidrs: readonly string[];
        /** IAM principals made cluster admins (never the creator, which EKS makes admin). */
        readonly adminPrincipalArns: readonly string[];
        /** IAM principals with read-only access (CI previews). */
        readonly previewPrincipalArns: readonly string[];
    };
    /** The CPU node group (the platform's controllers run here). Required. */
    readonly cpuNodes: NodeGroupConfig;
    /** The GPU node group, scaled from zero by the Cluster Autoscaler; `enabled: false` skips it. Required. */
    readonly gpuNodes: NodeGroupConfig & { readonly enabled: boolean };
    /** The model bucket. Required. */
    readonly modelStore: {
        readonly bucketNamePrefix: string;
        readonly encryption: BucketEncryption;
        /** Existing KMS key for `aws:kms`; unset creates one. */
        readonly kmsKeyArn: string | undefined;
        readonly versioning: boolean;
        readonly noncurrentVersionExpirationDays: number;
        /** Key prefix of the models (ends with `/`). */
        readonly modelPrefix: string;
    };
    /** The models' namespace and the ServiceAccount model pods run as. Required. */
    readonly models: { readonly namespace: string; readonly serviceAccountName: string };
    /**
     * The gateway image: `image` given is used as is; otherwise, when `needed`, the stack builds
     * gateway/ and pushes it to a private ECR repository (Docker with BuildKit where Pulumi runs).
     * Required.
     */
    readonly gatewayImage: { readonly image: string | undefined; readonly needed: boolean };
}

function problemsOf(args: AwsFoundationArgs): string[] {
    const problems: string[] = [];
    const regionProblem = awsRegionProblem(args.region);
    if (regionProblem) problems.push(`region ${regionProblem}`);
    if (args.gatewayImage.image !== undefined) {
        const imageProblem = imageRefProblem(args.gatewayImage.image);
        if (imageProblem) problems.push(`gatewayImage.image ${imageProblem}`);
    }
    if (args.cpuNodes.minSize < 1) problems.push(`cpuNodes.minSize (${args.cpuNodes.minSize}) must be at least 1: the platform's controllers run on CPU nodes`);
    return problems;
}

/** EKS, S3 and the AWS controllers, as a `Foundation`. */
export class AwsFoundation extends pulumi.ComponentResource implements Foundation {
    public readonly platform = "eks";
    public readonly network: Network;
    public readonly cluster: EksCluster;
    public readonly loadBalancerController: LoadBalancerController;
    public readonly ingressNlb: IngressNlb;
    public readonly clusterAutoscaler: ClusterAutoscaler;
    public readonly devicePlugin: DevicePlugin | undefined;
    public readonly modelStore: ModelStore;
    public readonly gatewayImageBuild: GatewayImage | undefined;

    public readonly provider: Foundation["provider"];
    public readonly clusterReady: readonly pulumi.Resource[];
    public readonly kubeletCertificatesVerifiable = true;
    public readonly ingress: IngressExposure;
    public readonly modelStorage: ModelStorage;
    public readonly capacity: Capacity;
    public readonly gatewayImage: pulumi.Output<string> | undefined;
    public readonly outputs: FoundationOutputs;

    constructor(name: string, args: AwsFoundationArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = problemsOf(args);
        if (problems.length > 0) throw new Error(`AwsFoundation ${name}:\n  - ${problems.join("\n  - ")}`);
        super("inference-platform:aws:AwsFoundation", name, {}, opts);
        const versions = args.versions ?? defaultVersions;
        const tags = args.tags ?? {};
        const child = (type: string, childName: string) => ({ parent: this, aliases: movedFromStackRoot(type, childName) });

        this.network = new Network(
            `${name}-network`,
            {
                region: args.region,
                clusterName: args.cluster.name,
                cidrBlock: args.network.vpcCidr,
                availabilityZoneCount: args.network.availabilityZoneCount,
                natGateways: args.network.natGateways,
                tags,
            },
            child("inference-platform:aws:Network", "network"),
        );
        this.cluster = new EksCluster(
            `${name}-cluster`,
            {
                clusterName: args.cluster.name,
                kubernetesVersion: args.cluster.kubernetesVersion,
                vpcId: this.network.vpcId,
                publicSubnetIds: this.network.publicSubnetIds,
                privateSubnetIds: this.network.privateSubnetIds,
                publicAccessCidrs: args.cluster.publicAccessCidrs,
                adminPrincipalArns: args.cluster.adminPrincipalArns,
                previewPrincipalArns: args.cluster.previewPrincipalArns,
                cpuNodes: args.cpuNodes,
                gpuNodes: args.gpuNodes,
                tags,
            },
            child("inference-platform:aws:EksCluster", "cluster"),
        );
        this.provider = this.cluster.provider;
        this.clusterReady = [this.cluster];
        const inCluster = (type: string, childName: string) => ({ ...child(type, childName), providers: [this.cluster.provider] });

        // The policy pack's documented-wildcard exception matches `aws-load-balancer-controller` and
        // `cluster-autoscaler` in these components' names.
        this.loadBalancerController = new LoadBalancerController(
            `${name}-aws-load-balancer-controller`,
            {
                clusterName: this.cluster.clusterName,
                region: args.region,
                vpcId: this.network.vpcId,
                oidcProvider: this.cluster.oidcProvider,
                versions,
                waitFor: [this.cluster],
            },
            inCluster("inference-platform:ingress:LoadBalancerController", "aws-load-balancer-controller"),
        );
        this.ingressNlb = new IngressNlb(
            `${name}-ingress-nlb`,
            {
                publicSubnetIds: this.network.publicSubnetIds,
                publicSubnetCount: args.network.availabilityZoneCount,
                loadBalancerController: this.loadBalancerController,
                region: args.region,
                awsProfile: args.awsProfile,
                tags,
            },
            { parent: this },
        );
        this.ingress = this.ingressNlb.exposure;

        this.devicePlugin = args.gpuNodes.enabled
            ? new DevicePlugin(`${name}-nvidia-device-plugin`, { versions, waitFor: [this.cluster] }, inCluster("inference-platform:gpu:DevicePlugin", "nvidia-device-plugin"))
            : undefined;
        this.clusterAutoscaler = new ClusterAutoscaler(
            `${name}-cluster-autoscaler`,
            {
                clusterName: this.cluster.clusterName,
                region: args.region,
                oidcProvider: this.cluster.oidcProvider,
                kubernetesVersion: args.cluster.kubernetesVersion,
                versions,
                waitFor: [this.cluster],
            },
            inCluster("inference-platform:cluster:ClusterAutoscaler", "cluster-autoscaler"),
        );

        this.modelStore = new ModelStore(
            `${name}-model-store`,
            {
                bucketNamePrefix: args.modelStore.bucketNamePrefix,
                region: args.region,
                encryption: args.modelStore.encryption,
                kmsKeyArn: args.modelStore.kmsKeyArn,
                versioning: args.modelStore.versioning,
                noncurrentVersionExpirationDays: args.modelStore.noncurrentVersionExpirationDays,
                modelPrefix: args.modelStore.modelPrefix,
                ephemeral: args.ephemeral,
                oidcProvider: this.cluster.oidcProvider,
                namespace: args.models.namespace,
                serviceAccountName: args.models.serviceAccountName,
                tags,
            },
            inCluster("inference-platform:aws:ModelStore", "model-store"),
        );
        this.modelStorage = this.modelStore.storage;

        this.gatewayImageBuild =
            args.gatewayImage.needed && args.gatewayImage.image === undefined
                ? new GatewayImage(`${name}-gateway-image`, { tags }, child("inference-platform:gateway:GatewayImage", "gateway-image"))
                : undefined;
        this.gatewayImage = this.gatewayImageBuild?.imageRef ?? (args.gatewayImage.image !== undefined ? pulumi.output(args.gatewayImage.image) : undefined);

        this.capacity = { highAvailability: true, nodeAutoscaling: true, gpu: args.gpuNodes.enabled };
        this.outputs = {
            clusterName: this.cluster.clusterName,
            kubeconfig: this.cluster.kubeconfig,
            oidcProviderArn: pulumi.output(this.cluster.oidcProvider.arn),
            modelReaderRoleArn: this.modelStore.readerRole.roleArn,
            modelWriterRoleArn: this.modelStore.writerRole.roleArn,
            loadBalancerControllerRoleArn: this.loadBalancerController.roleArn,
            clusterAutoscalerRoleArn: this.clusterAutoscaler.roleArn,
        };

        this.registerOutputs({
            clusterName: this.outputs.clusterName,
            modelBucket: this.modelStorage.bucket,
            ingressAddress: this.ingress.address,
        });
    }
}
