/**
 * The EKS cluster: control plane (pulumi-eks), a CPU managed node group, a GPU managed node group
 * that scales from zero, and the Kubernetes provider every in-cluster component uses.
 *
 * Teardown order is encoded here: the Kubernetes provider depends on the node groups, so every
 * Kubernetes resource (the ingress NLB's Service above all) is deleted before nodes drain, and the
 * node groups depend on their role's policy attachments, so the VPC CNI keeps its permissions
 * while nodes drain.
 */
import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { gpuNodeLabel, gpuTaint } from "../common/gpuScheduling";
import { gpuNodeUserData, gpuRootVolumePerformance } from "./gpuNodeBoot";
import { OidcProvider } from "./irsa";
import { karpenterDiscoveryTagKey } from "./network";
import { KubernetesVersion } from "../../versions";


/** How a node group buys its instances. */
export type CapacityType = "ON_DEMAND" | "SPOT";

/** One managed node group's shape. */
export interface NodeGroupConfig {
    /** EC2 instance types (one architecture per group). */
    readonly instanceTypes: readonly string[];
    /** On-demand or spot capacity. */
    readonly capacityType: CapacityType;
    /** Nodes the group never goes below. */
    readonly minSize: number;
    /** Nodes at creation (the autoscaler owns the size afterwards). */
    readonly desiredSize: number;
    /** Nodes the group never goes above. */
    readonly maxSize: number;
    /** Root volume size, GiB. */
    readonly diskSizeGiB: number;
}

/** Control-plane log types sent to CloudWatch. */
export const controlPlaneLogTypes = ["api", "audit", "authenticator"] as const;

/** AWS-managed policies a managed node group's role needs (EKS documents exactly these three). */
export const nodeRoleManagedPolicies = {
    worker: "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    cni: "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    ecrPull: "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
} as const;

const clusterAdminPolicyArn = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
/** Read-only access to most Kubernetes objects (not Secrets), cluster-wide: what a preview needs. */
const clusterViewPolicyArn = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";

/**
 * The label the Cluster Autoscaler's AWS provider treats as "this node has a GPU"
 * (kubernetes/autoscaler, cluster-autoscaler/cloudprovider/aws/aws_cloud_provider.go, `GPULabel`).
 * Only its presence matters for readiness: a node carrying it whose allocatable `nvidia.com/gpu` is
 * still zero counts as unready, so the autoscaler does not add another node while the device plugin
 * starts (cluster-autoscaler/processors/customresources/gpu_processor.go,
 * `FilterOutNodesWithUnreadyResources`). Its value names the GPU type (used for metrics and
 * `--gpu-total` limits).
 */
export const gpuAcceleratorLabelKey = "k8s.amazonaws.com/accelerator";

/** GPU model per instance family, in the autoscaler's AWS `availableGPUTypes` spelling where it has one. */
export const gpuModelOfFamily: Readonly<Record<string, string>> = {
    g4dn: "nvidia-tesla-t4",
    g5: "nvidia-a10g",
    g6: "nvidia-l4",
    g6e: "nvidia-l40s",
    p4d: "nvidia-tesla-a100",
    p5: "nvidia-h100",
};

/**
 * The accelerator label's value for a group: the GPU model when every instance type has the same
 * one, otherwise `nvidia` (a managed node group carries one static label set, so a group that mixes
 * g5 and g6 cannot name one model truthfully; readiness only needs the label to be present).
 */
export function gpuAcceleratorLabelValue(instanceTypes: readonly string[]): string {
    const models = new Set(instanceTypes.map((t) => gpuModelOfFamily[t.split(".")[0]] ?? "nvidia"));
    return models.size === 1 ? [...models][0] : "nvidia";
}

/** Graviton families need the arm64 AMI; everything else here is x86_64. */
export function nodeAmiType(kind: "cpu" | "gpu", instanceTypes: readonly string[]): string {
    if (kind === "gpu") return "AL2023_x86_64_NVIDIA";
    const arm = instanceTypes.every((t) => /^[a-z]+\d+g[a-z]*\./.test(t));
    return arm ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD";
}

/**
 * Tags on the GPU group's auto scaling group that tell the Cluster Autoscaler what a node would look
 * like while the group is at zero (it cannot inspect a node that does not exist). The autoscaler also
 * reads labels and taints through `eks:DescribeNodegroup` for managed groups; the tags make scale-up
 * from zero independent of that API and of instance-type tables (both documented upstream).
 */
export function gpuNodeTemplateTags(instanceTypes: readonly string[], gpusPerNode = 1): Record<string, string> {
    return {
        [`k8s.io/cluster-autoscaler/node-template/label/${gpuNodeLabel.key}`]: gpuNodeLabel.value,
        [`k8s.io/cluster-autoscaler/node-template/label/${gpuAcceleratorLabelKey}`]: gpuAcceleratorLabelValue(instanceTypes),
        [`k8s.io/cluster-autoscaler/node-template/taint/${gpuTaint.key}`]: `${gpuTaint.value}:${gpuTaint.effect}`,
        "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu": String(gpusPerNode),
    };
}

/** The trust policy of the node role: only EC2 instances may assume it. */
export function nodeRoleTrustPolicy(): aws.iam.PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    };
}

/**
 * The IAM principal behind a caller ARN as `sts:GetCallerIdentity` returns it: an assumed-role
 * session (`arn:aws:sts::<account>:assumed-role/<role>/<session>`) is the role; a user is itself.
 * Returns account, kind and name; role paths are not part of a session ARN, so they are ignored.
 */
export function principalOf(arn: string): { account: string; kind: "role" | "user" | "other"; name: string } {
    const session = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
    if (session) return { account: session[1], kind: "role", name: session[2] };
    const iam = /^arn:aws[a-z-]*:iam::(\d{12}):(role|user)\/(?:.*\/)?([^/]+)$/.exec(arn);
    if (iam) return { account: iam[1], kind: iam[2] as "role" | "user", name: iam[3] };
    return { account: "", kind: "other", name: arn };
}

/** True when an access entry's principal is the identity that runs Pulumi (EKS already made its entry). */
export function isCreator(principalArn: string, callerArn: string): boolean {
    const a = principalOf(principalArn);
    const b = principalOf(callerArn);
    return a.kind !== "other" && a.kind === b.kind && a.account === b.account && a.name === b.name;
}

/**
 * EKS access entries: cluster-admin for each admin principal, read-only view for each preview
 * principal (CI previews: the Kubernetes provider falls back to a client-side diff when server-side
 * dry-run is forbidden, pulumi/pulumi-kubernetes #2419, and Helm releases render client-only in
 * preview). The creator already has an entry (pulumi-eks bootstraps it), so naming it again would
 * fail with ResourceInUseException: `principalArn` resolves through `assertNotCreator`.
 */
export function clusterAccessEntries(
    adminPrincipalArns: readonly string[],
    previewPrincipalArns: readonly string[],
    assertNotCreator: (principalArn: string) => pulumi.Input<string> = (arn) => arn,
): Record<string, eks.types.input.AccessEntryArgs> {
    const entry = (principalArn: string, key: string, policyArn: string): eks.types.input.AccessEntryArgs => ({
        principalArn: assertNotCreator(principalArn),
        accessPolicies: { [key]: { policyArn, accessScope: { type: "cluster" } } },
    });
    return Object.fromEntries([
        ...adminPrincipalArns.map((arn, i) => [`admin-${i}`, entry(arn, "admin", clusterAdminPolicyArn)]),
        ...previewPrincipalArns.map((arn, i) => [`preview-${i}`, entry(arn, "view", clusterViewPolicyArn)]),
    ]);
}

export interface EksClusterArgs {
    /** EKS cluster name. Required. */
    readonly clusterName: string;
    /** Kubernetes minor version (pinned; see versions.ts). Required. */
    readonly kubernetesVersion: KubernetesVersion;
    /** VPC to run in. Required. */
    readonly vpcId: pulumi.Input<string>;
    /** Public subnets (load balancers only; nodes never get public IPs). Required. */
    readonly publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Private subnets for nodes. Required. */
    readonly privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** CIDRs allowed to reach the public API endpoint. Default: `["0.0.0.0/0"]` (IAM still required). */
    readonly publicAccessCidrs?: readonly string[];
    /** IAM principals granted cluster-admin through access entries. Default: none (the creator is admin). */
    readonly adminPrincipalArns?: readonly string[];
    /** IAM principals granted read-only view (CI previews). Must not be the creator or an admin. Default: none. */
    readonly previewPrincipalArns?: readonly string[];
    /** CPU node group. Required. */
    readonly cpuNodes: NodeGroupConfig;
    /** GPU node group; `enabled: false` skips it. Required. */
    readonly gpuNodes: NodeGroupConfig & { readonly enabled: boolean };
    /** Tags on every AWS resource. Default: none. */
    readonly tags?: Record<string, string>;
}

export class EksCluster extends pulumi.ComponentResource {
    public readonly cluster: eks.Cluster;
    public readonly clusterName: pulumi.Output<string>;
    /** Kubeconfig as JSON (secret: it names the cluster endpoint and the exec credentials). */
    public readonly kubeconfig: pulumi.Output<string>;
    public readonly oidcProvider: OidcProvider;
    /**
     * The security group EKS creates for the cluster, which managed nodes without their own groups
     * get; tagged `karpenter.sh/discovery: <clusterName>` so Karpenter's nodes get it too.
     */
    public readonly clusterSecurityGroupId: pulumi.Output<string>;
    public readonly nodeRole: aws.iam.Role;
    public readonly cpuNodeGroup: aws.eks.NodeGroup;
    public readonly gpuNodeGroup: aws.eks.NodeGroup | undefined;
    /** Provider for every in-cluster resource; it waits for the node groups (see file comment). */
    public readonly provider: k8s.Provider;

    constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const overlap = (args.previewPrincipalArns ?? []).filter((arn) => (args.adminPrincipalArns ?? []).includes(arn));
        if (overlap.length > 0) {
            throw new Error(`EksCluster ${name}: ${overlap.join(", ")} is both an admin and a preview principal; one access entry per principal`);
        }
        super("inference-platform:aws:EksCluster", name, {}, opts);
        const tags = args.tags ?? {};
        const callerArn = aws.getCallerIdentityOutput({}, { parent: this }).arn;
        const assertNotCreator = (principalArn: string) =>
            callerArn.apply((caller) => {
                if (isCreator(principalArn, caller)) {
                    throw new Error(
                        `EksCluster ${name}: ${principalArn} is the identity running Pulumi (${caller}), which EKS already makes cluster admin; ` +
                            "remove it from adminPrincipalArns/previewPrincipalArns",
                    );
                }
                return principalArn;
            });

        this.cluster = new eks.Cluster(
            `${name}-eks`,
            {
                name: args.clusterName,
                version: args.kubernetesVersion,
                vpcId: args.vpcId,
                publicSubnetIds: args.publicSubnetIds,
                privateSubnetIds: args.privateSubnetIds,
                nodeAssociatePublicIpAddress: false,
                endpointPrivateAccess: true,
                endpointPublicAccess: true,
                publicAccessCidrs: [...(args.publicAccessCidrs ?? ["0.0.0.0/0"])],
                skipDefaultNodeGroup: true,
                createOidcProvider: true,
                authenticationMode: eks.AuthenticationMode.Api,
                accessEntries: clusterAccessEntries(args.adminPrincipalArns ?? [], args.previewPrincipalArns ?? [], assertNotCreator),
                // Extended support costs 6x the standard hourly price; upgrade instead.
                upgradePolicy: { supportType: "STANDARD" },
                enabledClusterLogTypes: [...controlPlaneLogTypes],
                tags,
            },
            { parent: this },
        );
        this.clusterName = this.cluster.eksCluster.name;
        this.kubeconfig = pulumi.secret(this.cluster.kubeconfigJson);
        this.oidcProvider = { arn: this.cluster.oidcProviderArn, issuer: this.cluster.oidcIssuer };
        this.clusterSecurityGroupId = this.cluster.eksCluster.vpcConfig.clusterSecurityGroupId;
        // EKS owns the group, so the tag is a resource of its own (removed before the cluster goes).
        new aws.ec2.Tag(
            `${name}-sg-karpenter-discovery`,
            { resourceId: this.clusterSecurityGroupId, key: karpenterDiscoveryTagKey, value: this.clusterName },
            { parent: this },
        );

        this.nodeRole = new aws.iam.Role(
            `${name}-node-role`,
            { assumeRolePolicy: JSON.stringify(nodeRoleTrustPolicy()), description: `EKS nodes of ${args.clusterName}`, tags },
            { parent: this },
        );
        const attachments = Object.entries(nodeRoleManagedPolicies).map(
            ([key, policyArn]) =>
                new aws.iam.RolePolicyAttachment(`${name}-node-${key}`, { role: this.nodeRole.name, policyArn }, { parent: this }),
        );

        const nodeGroup = (kind: "cpu" | "gpu", config: NodeGroupConfig) => {
            const launchTemplate = new aws.ec2.LaunchTemplate(
                `${name}-${kind}-lt`,
                {
                    description: `${kind.toUpperCase()} nodes of ${args.clusterName}`,
                    blockDeviceMappings: [
                        {
                            deviceName: "/dev/xvda",
                            ebs: {
                                volumeSize: config.diskSizeGiB,
                                volumeType: "gp3",
                                encrypted: "true",
                                deleteOnTermination: "true",
                                ...(kind === "gpu" ? gpuRootVolumePerformance : {}),
                            },
                        },
                    ],
                    userData: kind === "gpu" ? Buffer.from(gpuNodeUserData()).toString("base64") : undefined,
                    // IMDSv2 only, one hop: pods (which use IRSA) cannot borrow the node role.
                    metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
                    tagSpecifications: [{ resourceType: "instance", tags: { ...tags, Name: `${args.clusterName}-${kind}` } }],
                    tags,
                },
                { parent: this },
            );
            return new aws.eks.NodeGroup(
                `${name}-${kind}`,
                {
                    clusterName: this.clusterName,
                    nodeRoleArn: this.nodeRole.arn,
                    subnetIds: args.privateSubnetIds,
                    amiType: nodeAmiType(kind, config.instanceTypes),
                    instanceTypes: [...config.instanceTypes],
                    capacityType: config.capacityType,
                    scalingConfig: { minSize: config.minSize, desiredSize: config.desiredSize, maxSize: config.maxSize },
                    updateConfig: { maxUnavailable: 1 },
                    launchTemplate: { id: launchTemplate.id, version: pulumi.interpolate`${launchTemplate.latestVersion}` },
                    labels:
                        kind === "gpu"
                            ? {
                                  [gpuNodeLabel.key]: gpuNodeLabel.value,
                                  [gpuAcceleratorLabelKey]: gpuAcceleratorLabelValue(config.instanceTypes),
                                  "inference-platform/pool": "gpu",
                              }
                            : { "inference-platform/pool": "cpu" },
                    // The EKS API spells the effect NO_SCHEDULE; nodes carry it as NoSchedule.
                    taints: kind === "gpu" ? [{ key: gpuTaint.key, value: gpuTaint.value, effect: "NO_SCHEDULE" }] : [],
                    tags,
                },
                {
                    parent: this,
                    // Without the attachments, destroy could detach the CNI policy while nodes drain.
                    dependsOn: attachments,
                    // The Cluster Autoscaler owns the size after creation.
                    ignoreChanges: ["scalingConfig.desiredSize"],
                },
            );
        };

        this.cpuNodeGroup = nodeGroup("cpu", args.cpuNodes);
        const nodeGroups = [this.cpuNodeGroup];
        if (args.gpuNodes.enabled) {
            this.gpuNodeGroup = nodeGroup("gpu", args.gpuNodes);
            nodeGroups.push(this.gpuNodeGroup);
            const asgName = this.gpuNodeGroup.resources.apply((r) => r[0].autoscalingGroups[0].name);
            for (const [key, value] of Object.entries(gpuNodeTemplateTags(args.gpuNodes.instanceTypes))) {
                const suffix = key.split("/").slice(2).join("-").replace(/[^a-zA-Z0-9-]/g, "-");
                new aws.autoscaling.Tag(
                    `${name}-gpu-${suffix}`,
                    { autoscalingGroupName: asgName!, tag: { key, value, propagateAtLaunch: false } },
                    { parent: this },
                );
            }
        }

        this.provider = new k8s.Provider(
            `${name}-k8s`,
            {
                kubeconfig: this.kubeconfig,
                // The KServe CRD is too large for client-side apply's last-applied annotation.
                enableServerSideApply: true,
            },
            { parent: this, dependsOn: nodeGroups },
        );

        this.registerOutputs({
            clusterName: this.clusterName,
            kubeconfig: this.kubeconfig,
            oidcProviderArn: this.oidcProvider.arn,
        });
    }
}
