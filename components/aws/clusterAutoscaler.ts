/**
 * Cluster Autoscaler: grows the CPU and GPU node groups when pods are pending and shrinks them when
 * idle, including scaling the GPU group from zero. Helm chart `cluster-autoscaler` in kube-system,
 * ASGs found by auto-discovery tags, IRSA with the least-privilege policy from the autoscaler's AWS docs.
 *
 * Scale-from-zero: with no GPU node running, the autoscaler learns the GPU group's labels, taints and
 * `nvidia.com/gpu` capacity from the managed node group (`eks:DescribeNodegroup`) and from the ASG's
 * `k8s.io/cluster-autoscaler/node-template/...` tags, which the cluster component sets.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { IrsaRole, OidcProvider } from "./irsa";
import { awsRegionProblem, eksClusterNameProblem } from "./names";
import { helmChartSource } from "../common/charts";
import { chartPins, clusterAutoscalerImageTag, defaultVersions, KubernetesVersion, supportedKubernetesVersions, VersionSet } from "../../versions";

export const clusterAutoscalerNamespace = "kube-system";
export const clusterAutoscalerServiceAccount = "cluster-autoscaler";

/** Expanders that need no extra configuration (the `priority` expander needs a priorities ConfigMap). */
export type ClusterAutoscalerExpander = "least-waste" | "random" | "most-pods";
const expanders: readonly ClusterAutoscalerExpander[] = ["least-waste", "random", "most-pods"];


/** Inputs of `clusterAutoscalerPolicy`, all resolved. */
export interface ClusterAutoscalerPolicyInput {
    /** EKS cluster name: the ASG tag `k8s.io/cluster-autoscaler/<clusterName>` scopes writes to this cluster. */
    readonly clusterName: string;
    readonly region: string;
    /** 12-digit AWS account id. */
    readonly accountId: string;
    /** `aws`, `aws-cn` or `aws-us-gov`. Default: `aws`. */
    readonly partition?: string;
}

/**
 * Least-privilege policy for the autoscaler, after the policy its AWS provider docs recommend, tightened
 * where AWS allows it:
 * - Describe/Get actions on Auto Scaling and EC2 have no resource-level permissions, so they need
 *   `Resource: "*"` (they are read-only).
 * - `eks:DescribeNodegroup` (needed to scale managed node groups from zero) is limited to this cluster's node groups.
 * - `SetDesiredCapacity` and `TerminateInstanceInAutoScalingGroup` are limited to ASGs in this
 *   account and region that carry both auto-discovery tags of this cluster.
 */
export function clusterAutoscalerPolicy(input: ClusterAutoscalerPolicyInput): aws.iam.PolicyDocument {
    const partition = input.partition ?? "aws";
    const problems = [
        ...(eksClusterNameProblem(input.clusterName) ? [`clusterName ${eksClusterNameProblem(input.clusterName)}`] : []),
        ...(awsRegionProblem(input.region) ? [`region: ${awsRegionProblem(input.region)}`] : []),
        ...(/^\d{12}$/.test(input.accountId) ? [] : [`accountId '${input.accountId}' is not a 12-digit AWS account id`]),
        ...(/^aws(-[a-z]+)*$/.test(partition) ? [] : [`partition '${partition}' is not an AWS partition`]),
    ];
    if (problems.length > 0) throw new Error(`clusterAutoscalerPolicy: ${problems.join("; ")}`);
    const { clusterName, region, accountId } = input;

    return {
        Version: "2012-10-17",
        Statement: [
            {
                // No resource-level permissions exist for these read-only actions; AWS requires "*".
                Sid: "DescribeScalingInputs",
                Effect: "Allow",
                Action: [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                Resource: "*",
            },
            {
                Sid: "DescribeOwnNodegroups",
                Effect: "Allow",
                Action: ["eks:DescribeNodegroup"],
                Resource: `arn:${partition}:eks:${region}:${accountId}:nodegroup/${clusterName}/*/*`,
            },
            {
                Sid: "ScaleOwnAutoScalingGroups",
                Effect: "Allow",
                Action: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                Resource: `arn:${partition}:autoscaling:${region}:${accountId}:autoScalingGroup:*:autoScalingGroupName/*`,
                Condition: {
                    StringEquals: {
                        [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: "owned",
                        "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
                    },
                },
            },
        ],
    };
}

/** Inputs of `clusterAutoscalerValues`, all resolved. */
export interface ClusterAutoscalerValuesInput {
    readonly clusterName: string;
    readonly region: string;
    readonly roleArn: string;
    readonly kubernetesVersion: KubernetesVersion;
    readonly expander: ClusterAutoscalerExpander;
}

/** Helm values of the cluster-autoscaler chart (value names from the chart's values.yaml at 9.59.0). */
export function clusterAutoscalerValues(input: ClusterAutoscalerValuesInput): Record<string, unknown> {
    return {
        cloudProvider: "aws",
        awsRegion: input.region,
        // Finds ASGs tagged `k8s.io/cluster-autoscaler/enabled` and `k8s.io/cluster-autoscaler/<clusterName>` (EKS
        // managed node groups carry both).
        autoDiscovery: { clusterName: input.clusterName },
        // The autoscaler's minor must match the cluster's; the chart's default follows its own appVersion.
        image: { tag: clusterAutoscalerImageTag(input.kubernetesVersion) },
        rbac: {
            serviceAccount: {
                create: true,
                name: clusterAutoscalerServiceAccount,
                annotations: { "eks.amazonaws.com/role-arn": input.roleArn },
            },
        },
        extraArgs: {
            // Merged key by key with the chart's defaults (logtostderr, stderrthreshold, v), which stay.
            // GPU node groups with instance types of the same shape (g5/g6/g4dn .xlarge) balance across AZs.
            "balance-similar-node-groups": true,
            // Picks the group that leaves the least idle CPU/memory: a CPU pod never lands on a GPU node.
            expander: input.expander,
            // kube-system pods (CoreDNS, the controller) would otherwise pin every node forever, so idle nodes never go.
            "skip-nodes-with-system-pods": false,
            // Model servers use emptyDir for downloaded models; that must not block scale-down.
            "skip-nodes-with-local-storage": false,
        },
        // The autoscaler must not evict itself while draining the node it runs on.
        podAnnotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "false" },
        resources: {
            requests: { cpu: "100m", memory: "300Mi" },
            limits: { cpu: "500m", memory: "600Mi" },
        },
        securityContext: {
            runAsNonRoot: true,
            runAsUser: 65534,
            runAsGroup: 65534,
            seccompProfile: { type: "RuntimeDefault" },
        },
        containerSecurityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
        },
    };
}

export interface ClusterAutoscalerArgs {
    /** EKS cluster name (auto-discovery tag and IAM scoping). Required. */
    readonly clusterName: pulumi.Input<string>;
    /** AWS region of the cluster. Required. */
    readonly region: string;
    /** The cluster's OIDC provider, for the IRSA role. Required. */
    readonly oidcProvider: OidcProvider;
    /** Kubernetes minor of the cluster; picks the autoscaler image tag. Required. */
    readonly kubernetesVersion: KubernetesVersion;
    /** What the release waits for (the node groups). Default: none. */
    readonly waitFor?: pulumi.Resource[];
    /** Version set to take the chart pin from. Default: `defaultVersions`. */
    readonly versions?: VersionSet;
    /** How to choose among node groups that fit. Default: `least-waste`. */
    readonly expander?: ClusterAutoscalerExpander;
}

/** The Cluster Autoscaler with its IRSA role. */
export class ClusterAutoscaler extends pulumi.ComponentResource {
    public readonly role: IrsaRole;
    public readonly release: k8s.helm.v3.Release;
    public readonly roleArn: pulumi.Output<string>;

    constructor(name: string, args: ClusterAutoscalerArgs, opts?: pulumi.ComponentResourceOptions) {
        const expander = args.expander ?? "least-waste";
        const regionProblem = awsRegionProblem(args.region);
        const problems = [
            ...(regionProblem ? [`region: ${regionProblem}`] : []),
            ...((supportedKubernetesVersions as readonly string[]).includes(args.kubernetesVersion)
                ? []
                : [`kubernetesVersion '${args.kubernetesVersion}' is not one of ${supportedKubernetesVersions.join(", ")}`]),
            ...(expanders.includes(expander) ? [] : [`expander '${expander}' is not one of ${expanders.join(", ")}`]),
        ];
        if (problems.length > 0) throw new Error(`ClusterAutoscaler ${name}: ${problems.join("; ")}`);
        super("inference-platform:cluster:ClusterAutoscaler", name, {}, opts);

        const pin = chartPins(args.versions ?? defaultVersions).clusterAutoscaler;
        const accountId = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        const partition = aws.getPartitionOutput({}, { parent: this }).partition;

        this.role = new IrsaRole(
            `${name}-irsa`,
            {
                oidcProvider: args.oidcProvider,
                namespace: clusterAutoscalerNamespace,
                serviceAccountName: clusterAutoscalerServiceAccount,
                policy: pulumi
                    .all([args.clusterName, accountId, partition])
                    .apply(([clusterName, account, p]) =>
                        clusterAutoscalerPolicy({ clusterName, region: args.region, accountId: account, partition: p }),
                    ),
                description: "Cluster Autoscaler (IRSA)",
                tags: { "app.kubernetes.io/part-of": "inference-platform", "app.kubernetes.io/managed-by": "pulumi" },
            },
            { parent: this },
        );
        this.roleArn = this.role.roleArn;

        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: "cluster-autoscaler",
                namespace: clusterAutoscalerNamespace,
                ...helmChartSource(pin),
                values: pulumi
                    .all([args.clusterName, this.role.roleArn])
                    .apply(([clusterName, roleArn]) =>
                        clusterAutoscalerValues({
                            clusterName,
                            region: args.region,
                            roleArn,
                            kubernetesVersion: args.kubernetesVersion,
                            expander,
                        }),
                    ),
            },
            // On destroy the autoscaler goes first, so it cannot scale node groups that are being deleted.
            { parent: this, dependsOn: [this.role, ...(args.waitFor ?? [])] },
        );

        this.registerOutputs({ roleArn: this.roleArn, releaseStatus: this.release.status });
    }
}
