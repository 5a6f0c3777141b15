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
import { NodeGroupConfig } from "./config";
import { OidcProvider } from "./irsa";
import { KubernetesVersion } from "./versions";

/** Label and taint that keep everything but GPU workloads off GPU nodes. */
export const gpuNodeLabel = { key: "nvidia.com/gpu.present", value: "true" } as const;
export const gpuTaint = { key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" } as const;

/** Control-plane log types sent to CloudWatch. */
export const controlPlaneLogTypes = ["api", "audit", "authenticator"] as const;

/** AWS-managed policies a managed node group's role needs (EKS documents exactly these three). */
export const nodeRoleManagedPolicies = {
    worker: "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    cni: "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    ecrPull: "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
} as const;

const clusterAdminPolicyArn = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

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
export function gpuNodeTemplateTags(gpusPerNode = 1): Record<string, string> {
    return {
        [`k8s.io/cluster-autoscaler/node-template/label/${gpuNodeLabel.key}`]: gpuNodeLabel.value,
        [`k8s.io/cluster-autoscaler/node-template/taint/${gpuTaint.key}`]: `${gpuTaint.value}:NoSchedule`,
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

/** One EKS access entry per admin principal, with the cluster-admin access policy at cluster scope. */
export function adminAccessEntries(principalArns: readonly string[]): Record<string, eks.types.input.AccessEntryArgs> {
    return Object.fromEntries(
        principalArns.map((principalArn, i) => [
            `admin-${i}`,
            {
                principalArn,
                accessPolicies: {
                    admin: { policyArn: clusterAdminPolicyArn, accessScope: { type: "cluster" } },
                },
            },
        ]),
    );
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
    public readonly nodeRole: aws.iam.Role;
    public readonly cpuNodeGroup: aws.eks.NodeGroup;
    public readonly gpuNodeGroup: aws.eks.NodeGroup | undefined;
    /** Provider for every in-cluster resource; it waits for the node groups (see file comment). */
    public readonly provider: k8s.Provider;

    constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("inference-platform:aws:EksCluster", name, {}, opts);
        const tags = args.tags ?? {};

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
                accessEntries: adminAccessEntries(args.adminPrincipalArns ?? []),
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
                            ebs: { volumeSize: config.diskSizeGiB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
                        },
                    ],
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
                    labels: kind === "gpu" ? { [gpuNodeLabel.key]: gpuNodeLabel.value, "inference-platform/pool": "gpu" } : { "inference-platform/pool": "cpu" },
                    taints: kind === "gpu" ? [{ ...gpuTaint }] : [],
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
            for (const [key, value] of Object.entries(gpuNodeTemplateTags())) {
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
