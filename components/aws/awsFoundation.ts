/**
 * The AWS foundation: everything the serving platform and the models stand on when they run on AWS.
 *
 *   Preflight (quotas, offerings; invokes at preview) ─> everything below registers only once it passed
 *   Network ─> EksCluster (control plane, CPU node group [+ GPU node group in node-group mode] ─> Kubernetes provider)
 *                 ├─> LoadBalancerController ─> IngressNlb (EIPs, destroy-time gate) ─> (the gateway Service)
 *                 ├─> KarpenterController ─> GpuNodePool (EC2NodeClass, GPU NodePool [+ CPU burst pool], drain gate)
 *                 │      (karpenter mode)        └─> workloadsReady: the platform and the models wait for the pools
 *                 ├─> DevicePlugin (GPU nodes, both modes), ClusterAutoscaler (the managed groups; see below)
 *                 ├─> ModelStore (bucket, reader and writer IRSA roles, models namespace and accounts)
 *                 ├─> EbsCsiDriver (add-on, IRSA role, gp3 default StorageClass)
 *                 ├─> MountpointS3Driver (add-on, read-only IRSA role) ─> S3ModelVolume (PV on the model prefix, `models` claim)
 *                 └─> GatewayImage (ECR, when the stack runs the gateway and no image is given)
 *
 * It implements the `Foundation` contract; nothing above it knows it is AWS.
 *
 * GPU capacity (`gpuProvisioner`): `karpenter` (default) installs Karpenter and a GPU NodePool, and no
 * managed GPU group; `node-group` keeps the managed GPU group the Cluster Autoscaler scales from zero.
 * Either way GPU nodes carry components/common/gpuScheduling.ts's label and taint, and the device plugin runs.
 *
 * The Cluster Autoscaler stays in karpenter mode too, for the CPU managed group (the platform's
 * controllers; Karpenter itself runs there), unless `cpuBurstPool` is on: then Karpenter adds CPU
 * capacity, and two autoscalers reacting to the same pending pods would race, so the Cluster
 * Autoscaler is not installed. The two never compete for GPU pods: the autoscaler only knows the
 * managed groups' Auto Scaling groups, and no managed group has GPUs in karpenter mode.
 *
 * Teardown: the serving platform and the models depend on `workloadsReady` (the NodePools), so
 * destroy deletes InferenceServices and the ingress Service first, then the NodePools (Karpenter
 * terminates their instances), then waits for those instances (the pools' DeletionGate), then the
 * controller, the node groups, the cluster and the VPC.
 *
 * Children are named `<name>-<child>`. Each used to be registered at the top of the stack as plain
 * `<child>`; the aliases let an existing stack adopt them here instead of replacing them.
 */
import * as pulumi from "@pulumi/pulumi";
import { movedFromStackRoot } from "../common/aliases";
import type { Capacity, Foundation, FoundationOutputs, IngressExposure, ModelStorage, ModelVolume } from "../common/foundation";
import { imageRefProblem } from "../common/validation";
import { chartPins, defaultVersions, KubernetesVersion, VersionSet } from "../../versions";
import { ClusterAutoscaler } from "./clusterAutoscaler";
import { DevicePlugin } from "./devicePlugin";
import { EksCluster, NodeGroupConfig } from "./eksCluster";
import { GatewayImage } from "./gatewayImage";
import { GpuNodePool, GpuProvisioner, gpuPoolDefaults, KarpenterPoolsConfig } from "./gpuNodePool";
import { IngressNlb } from "./ingressNlb";
import { KarpenterController } from "./karpenter";
import { LoadBalancerController } from "./loadBalancerController";
import { ModelStore, ModelStoreSettings } from "./modelStore";
import { awsRegionProblem } from "./names";
import { NatGatewayStrategy, Network, vpcAvailabilityZones } from "./network";
import { GpuCapacityPlan, Preflight } from "./preflight";
import { S3ModelVolume } from "./s3ModelVolume";
import { EbsCsiDriver, MountpointS3Driver } from "./storageDrivers";

/** The VPC's shape. */
export interface NetworkSettings {
    /** IPv4 CIDR of the VPC (/16 to /22). */
    readonly vpcCidr: string;
    /** Availability zones to spread subnets over (2 to 4); one public subnet, and one NLB address, per zone. */
    readonly availabilityZoneCount: number;
    /** `single` NAT gateway or one per zone. */
    readonly natGateways: NatGatewayStrategy;
}

/** The EKS control plane and who may use it. */
export interface ClusterSettings {
    readonly name: string;
    readonly kubernetesVersion: KubernetesVersion;
    /** CIDRs allowed to reach the public API endpoint. */
    readonly publicAccessCidrs: readonly string[];
    /** IAM principals made cluster admins (never the creator, which EKS makes admin). */
    readonly adminPrincipalArns: readonly string[];
    /** IAM principals with read-only access (CI previews). */
    readonly previewPrincipalArns: readonly string[];
}

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
    readonly network: NetworkSettings;
    /** The EKS control plane and who may use it. Required. */
    readonly cluster: ClusterSettings;
    /** The CPU node group (the platform's controllers and Karpenter run here). Required. */
    readonly cpuNodes: NodeGroupConfig;
    /**
     * GPU capacity: `enabled: false` makes none. `diskSizeGiB` is the GPU nodes' root volume in both
     * modes; the rest shapes the managed GPU group of `node-group` mode. Required.
     */
    readonly gpuNodes: NodeGroupConfig & { readonly enabled: boolean };
    /**
     * Who makes GPU nodes: `karpenter` (a NodePool; scale from zero every time, spot with on-demand
     * fallback, removed when empty) or `node-group` (the managed GPU group and the Cluster
     * Autoscaler). Default: `karpenter`.
     */
    readonly gpuProvisioner?: GpuProvisioner;
    /** Karpenter's GPU pool (and optional CPU burst pool), in `karpenter` mode. Default: `defaultKarpenterPools`. */
    readonly karpenter?: KarpenterPoolsConfig;
    /**
     * Check the Service Quotas and instance offerings the stack needs before anything else registers
     * (invokes, so at preview too); a shortfall fails with one message. Default: true.
     */
    readonly preflight?: boolean;
    /** The model bucket. Required. */
    readonly modelStore: ModelStoreSettings;
    /** The models' namespace and the ServiceAccount model pods run as. Required. */
    readonly models: { readonly namespace: string; readonly serviceAccountName: string };
    /**
     * The gateway image: `image` given is used as is; otherwise, when `needed`, the stack builds
     * gateway/ and pushes it to a private ECR repository (Docker with BuildKit where Pulumi runs).
     * Required.
     */
    readonly gatewayImage: { readonly image: string | undefined; readonly needed: boolean };
    /** Storage drivers (EKS add-ons) and the model claim. Default: both on. */
    readonly storage?: {
        /** The EBS CSI driver add-on and an encrypted gp3 default StorageClass (any claim binds). */
        readonly ebsCsiDriver: boolean;
        /** The Mountpoint for S3 driver add-on and the read-only `models` claim on the model prefix (`pvc://models/...`). */
        readonly modelVolume: boolean;
    };
}

/** Karpenter's pools when `AwsFoundationArgs.karpenter` is unset (the config keys' defaults). */
export const defaultKarpenterPools: KarpenterPoolsConfig = {
    instanceFamilies: gpuPoolDefaults.instanceFamilies,
    spot: true,
    maxGpus: gpuPoolDefaults.maxGpus,
    maxVcpus: gpuPoolDefaults.maxGpus * gpuPoolDefaults.vcpusPerGpu,
    consolidateAfter: gpuPoolDefaults.consolidateAfter,
    cpuBurst: undefined,
};

/** What preflight checks GPU capacity against, per mode (undefined: no GPU nodes). */
export function gpuCapacityPlan(args: Pick<AwsFoundationArgs, "gpuNodes" | "gpuProvisioner" | "karpenter">): GpuCapacityPlan | undefined {
    if (!args.gpuNodes.enabled) return undefined;
    if ((args.gpuProvisioner ?? "karpenter") === "node-group") {
        return { kind: "node-group", instanceTypes: args.gpuNodes.instanceTypes, maxSize: args.gpuNodes.maxSize, capacityType: args.gpuNodes.capacityType };
    }
    const pools = args.karpenter ?? defaultKarpenterPools;
    return { kind: "karpenter", instanceFamilies: pools.instanceFamilies, maxVcpus: pools.maxVcpus, spot: pools.spot };
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
    const provisioner = args.gpuProvisioner ?? "karpenter";
    if (provisioner !== "karpenter" && provisioner !== "node-group") problems.push(`gpuProvisioner '${provisioner}' is not karpenter or node-group`);
    if (args.karpenter?.cpuBurst && !(provisioner === "karpenter" && args.gpuNodes.enabled)) {
        problems.push("karpenter.cpuBurst needs gpuProvisioner karpenter with gpuNodes.enabled (Karpenter is installed with the GPU pool)");
    }
    return problems;
}

/** EKS, S3 and the AWS controllers, as a `Foundation`. */
export class AwsFoundation extends pulumi.ComponentResource implements Foundation {
    public readonly platform = "eks";
    /** Quotas and offerings, checked first; undefined with `preflight: false`. */
    public readonly preflight: Preflight | undefined;
    public readonly network: Network;
    public readonly cluster: EksCluster;
    public readonly loadBalancerController: LoadBalancerController;
    public readonly ingressNlb: IngressNlb;
    /** The managed groups' autoscaler; undefined when Karpenter's CPU burst pool adds CPU capacity instead. */
    public readonly clusterAutoscaler: ClusterAutoscaler | undefined;
    /** Karpenter and its pools, in karpenter mode with GPUs on. */
    public readonly karpenterController: KarpenterController | undefined;
    public readonly gpuNodePool: GpuNodePool | undefined;
    public readonly devicePlugin: DevicePlugin | undefined;
    public readonly modelStore: ModelStore;
    public readonly gatewayImageBuild: GatewayImage | undefined;
    public readonly ebsCsiDriver: EbsCsiDriver | undefined;
    public readonly mountpointS3Driver: MountpointS3Driver | undefined;
    public readonly s3ModelVolume: S3ModelVolume | undefined;

    public readonly provider: Foundation["provider"];
    public readonly clusterReady: readonly pulumi.Resource[];
    public readonly workloadsReady: readonly pulumi.Resource[];
    public readonly kubeletCertificatesVerifiable = true;
    public readonly ingress: IngressExposure;
    public readonly modelStorage: ModelStorage;
    public readonly modelVolume: ModelVolume | undefined;
    public readonly capacity: Capacity;
    public readonly gatewayImage: pulumi.Output<string> | undefined;
    public readonly outputs: FoundationOutputs;

    constructor(name: string, args: AwsFoundationArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = problemsOf(args);
        if (problems.length > 0) throw new Error(`AwsFoundation ${name}:\n  - ${problems.join("\n  - ")}`);
        super("inference-platform:aws:AwsFoundation", name, {}, opts);
        const versions = args.versions ?? defaultVersions;
        const tags = args.tags ?? {};
        const provisioner = args.gpuProvisioner ?? "karpenter";
        const karpenterMode = args.gpuNodes.enabled && provisioner === "karpenter";
        const pools = args.karpenter ?? defaultKarpenterPools;
        const azCount = args.network.availabilityZoneCount;

        // Preflight first: every other child registers only after its checks passed (a child waits for
        // its parent's registration, which waits for `passed`), so a shortfall stops the preview
        // before anything is planned.
        this.preflight =
            args.preflight ?? true
                ? new Preflight(
                      `${name}-preflight`,
                      {
                          region: args.region,
                          availabilityZones: vpcAvailabilityZones(azCount, { parent: this }),
                          plan: {
                              gpu: gpuCapacityPlan(args),
                              natGateways: args.network.natGateways === "onePerAz" ? azCount : 1,
                              loadBalancerAddresses: azCount,
                          },
                      },
                      { parent: this },
                  )
                : undefined;
        const afterPreflight = this.preflight ? { dependsOn: this.preflight.passed } : {};
        const child = (type: string, childName: string) => ({ parent: this, aliases: movedFromStackRoot(type, childName), ...afterPreflight });

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
                // The managed GPU group exists in node-group mode only.
                gpuNodes: { ...args.gpuNodes, enabled: args.gpuNodes.enabled && provisioner === "node-group" },
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
            { parent: this, ...afterPreflight },
        );
        this.ingress = this.ingressNlb.exposure;

        if (karpenterMode) {
            // The policy pack's documented-wildcard exception matches `karpenter` in these names.
            this.karpenterController = new KarpenterController(
                `${name}-karpenter`,
                {
                    clusterName: this.cluster.clusterName,
                    clusterEndpoint: this.cluster.cluster.eksCluster.endpoint,
                    region: args.region,
                    oidcProvider: this.cluster.oidcProvider,
                    chart: chartPins(versions).karpenter,
                    crdChart: chartPins(versions).karpenterCrd,
                    // On the CPU managed group, which exists before it (never on a node it manages).
                    waitFor: [this.cluster],
                    tags,
                },
                { parent: this, providers: [this.cluster.provider], ...afterPreflight },
            );
            this.gpuNodePool = new GpuNodePool(
                `${name}-gpu-pool`,
                {
                    clusterName: this.cluster.clusterName,
                    nodeRoleName: this.karpenterController.nodeRoleName,
                    controller: this.karpenterController,
                    nodeIdentity: this.karpenterController.nodeIdentity,
                    region: args.region,
                    awsProfile: args.awsProfile,
                    instanceFamilies: pools.instanceFamilies,
                    spot: pools.spot,
                    maxGpus: pools.maxGpus,
                    maxVcpus: pools.maxVcpus,
                    consolidateAfter: pools.consolidateAfter,
                    rootVolumeGiB: args.gpuNodes.diskSizeGiB,
                    cpuBurst: pools.cpuBurst ? { instanceFamilies: pools.cpuBurst.instanceFamilies, maxVcpus: pools.cpuBurst.maxVcpus } : undefined,
                    tags,
                },
                { parent: this, providers: [this.cluster.provider], ...afterPreflight },
            );
        }
        // Workloads wait for Karpenter's pools, so destroy removes them before the pools (see the header).
        this.workloadsReady = this.gpuNodePool ? [this.cluster, this.gpuNodePool] : [this.cluster];

        // Both modes: the plugin's DaemonSet selects and tolerates GPU nodes, whoever made them.
        this.devicePlugin = args.gpuNodes.enabled
            ? new DevicePlugin(`${name}-nvidia-device-plugin`, { versions, waitFor: [this.cluster] }, inCluster("inference-platform:gpu:DevicePlugin", "nvidia-device-plugin"))
            : undefined;
        this.clusterAutoscaler = pools.cpuBurst && karpenterMode
            ? undefined
            : new ClusterAutoscaler(
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

        // Storage drivers and the model claim (storageDrivers.ts says why Mountpoint for S3).
        const storage = args.storage ?? { ebsCsiDriver: true, modelVolume: true };
        const addonArgs = {
            clusterName: this.cluster.clusterName,
            kubernetesVersion: args.cluster.kubernetesVersion,
            oidcProvider: this.cluster.oidcProvider,
            waitFor: [this.cluster],
            tags,
        };
        this.ebsCsiDriver = storage.ebsCsiDriver
            ? new EbsCsiDriver(`${name}-ebs-csi`, { ...addonArgs, clusterNameValue: args.cluster.name, region: args.region }, { parent: this, providers: [this.cluster.provider], ...afterPreflight })
            : undefined;
        this.mountpointS3Driver = storage.modelVolume
            ? new MountpointS3Driver(
                  `${name}-mountpoint-s3`,
                  { ...addonArgs, bucketName: this.modelStorage.bucket, prefix: this.modelStorage.modelPrefix, region: args.region, kmsKeyArn: this.modelStore.kmsKeyArn },
                  { parent: this, ...afterPreflight },
              )
            : undefined;
        this.s3ModelVolume = this.mountpointS3Driver
            ? new S3ModelVolume(
                  `${name}-model-volume`,
                  {
                      bucketName: this.modelStorage.bucket,
                      prefix: this.modelStorage.modelPrefix,
                      region: args.region,
                      namespace: this.modelStorage.namespace,
                      driver: [this.mountpointS3Driver],
                  },
                  { parent: this, providers: [this.cluster.provider], ...afterPreflight },
              )
            : undefined;
        this.modelVolume = this.s3ModelVolume?.volume;

        this.gatewayImageBuild =
            args.gatewayImage.needed && args.gatewayImage.image === undefined
                ? new GatewayImage(`${name}-gateway-image`, { tags }, child("inference-platform:gateway:GatewayImage", "gateway-image"))
                : undefined;
        this.gatewayImage = this.gatewayImageBuild?.imageRef ?? (args.gatewayImage.image !== undefined ? pulumi.output(args.gatewayImage.image) : undefined);

        // GPUs in both modes when on: the managed group or Karpenter's pool, labelled and tainted alike.
        this.capacity = { highAvailability: true, nodeAutoscaling: true, gpu: args.gpuNodes.enabled };
        this.outputs = {
            clusterName: this.cluster.clusterName,
            kubeconfig: this.cluster.kubeconfig,
            oidcProviderArn: pulumi.output(this.cluster.oidcProvider.arn),
            modelReaderRoleArn: this.modelStore.readerRole.roleArn,
            modelWriterRoleArn: this.modelStore.writerRole.roleArn,
            loadBalancerControllerRoleArn: this.loadBalancerController.roleArn,
            clusterAutoscalerRoleArn: this.clusterAutoscaler?.roleArn ?? null,
        };

        this.registerOutputs({
            clusterName: this.outputs.clusterName,
            modelBucket: this.modelStorage.bucket,
            ingressAddress: this.ingress.address,
        });
    }
}
