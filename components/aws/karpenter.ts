/**
 * Karpenter's controller on EKS: the default GPU provisioner (issue 12). It launches GPU nodes for
 * pending pods from several instance families, spot first with on-demand as fallback, from zero every
 * time, and removes them when empty (the NodePools are in ./gpuNodePool.ts).
 *
 * What this component creates, after aws/karpenter-provider-aws v1.14.1's reference CloudFormation
 * (website/content/en/preview/getting-started/getting-started-with-karpenter/cloudformation.yaml):
 * - the node role (EC2 trust, the three policies EKS documents for nodes) and its `EC2_LINUX` access
 *   entry, so nodes Karpenter launches can join; a role of its own, since EKS already made the access
 *   entry of the managed node groups' role;
 * - the SQS interruption queue (SSE, 5-minute retention), its queue policy, and the EventBridge rules
 *   that feed it: spot interruption, rebalance recommendation, instance state change, scheduled change
 *   (AWS Health), and capacity reservation interruption (the pinned controller parses all five:
 *   pkg/controllers/interruption/messages/<kind>/parser.go);
 * - the controller's IRSA role with `karpenterControllerPolicy`, the reference's six policies in one
 *   typed document (scoped to this cluster by tag conditions, `iam:PassRole` only for the node role);
 * - the `karpenter-crd` release (CRDs that Helm upgrades) and the `karpenter` release in kube-system,
 *   on the CPU managed node group only (never on a node it manages).
 *
 * Teardown (`pulumi destroy`): the NodePools and EC2NodeClasses depend on this component, so they are
 * deleted while the controller still runs (it drains and terminates their instances and removes their
 * finalizers); a DeletionGate between them and the controller waits until no instance of the pools is
 * left. Only then the controller goes, then its queue, rules and roles, then the node groups (the
 * Kubernetes provider waits for them), the cluster and the VPC.
 *
 * Config: `gpuProvisioner` (default `karpenter` on eks), `gpuInstanceFamilies`, `gpuSpot`, `gpuMaxGpus`,
 * `gpuMaxVcpus`, `gpuConsolidateAfter`, `gpuDiskSizeGiB`, `cpuBurstPool`, `cpuBurstInstanceFamilies`,
 * `cpuBurstMaxVcpus` and `karpenterVersion` (config.ts); `AwsFoundation` builds this component and
 * `GpuNodePool` from them.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { helmChartSource } from "../common/charts";
import { ChartPin, karpenterPins } from "../../versions";
import { nodeRoleManagedPolicies, nodeRoleTrustPolicy } from "./eksCluster";
import { IrsaRole, OidcProvider } from "./irsa";
import { awsRegionProblem } from "./names";

/** Release namespace and ServiceAccount (fixed: the IRSA trust policy names them). */
export const karpenterNamespace = "kube-system";
export const karpenterServiceAccount = "karpenter";

/** The label of the CPU managed node group (./eksCluster.ts) the controller is placed on. */
export const cpuPoolLabel = { key: "inference-platform/pool", value: "cpu" } as const;

/**
 * The label Karpenter puts on every node it launches (sigs.k8s.io/karpenter pkg/apis/v1 `NodePoolLabelKey`);
 * the chart's own default affinity keeps the controller off such nodes with `DoesNotExist`.
 */
export const karpenterNodePoolLabelKey = "karpenter.sh/nodepool";

const eksClusterName = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

/** What the controller policy is scoped to, all resolved. */
export interface KarpenterPolicyInput {
    /** `aws`, `aws-cn` or `aws-us-gov`. */
    readonly partition: string;
    readonly region: string;
    /** 12-digit AWS account id. */
    readonly accountId: string;
    /** EKS cluster name: the tag conditions scope every write to this cluster's resources. */
    readonly clusterName: string;
    /** ARN of the node role, the only role the controller may pass. */
    readonly nodeRoleArn: string;
    /** ARN of the interruption queue, the only queue the controller may read. */
    readonly interruptionQueueArn: string;
}

/** Why the policy input is unusable, one line per problem; empty when it is fine. */
export function karpenterPolicyInputProblems(input: KarpenterPolicyInput): string[] {
    return [
        ...(/^aws(-[a-z]+)*$/.test(input.partition) ? [] : [`partition '${input.partition}' is not an AWS partition`]),
        ...(awsRegionProblem(input.region) ? [`region: ${awsRegionProblem(input.region)}`] : []),
        ...(/^\d{12}$/.test(input.accountId) ? [] : [`accountId '${input.accountId}' is not a 12-digit AWS account id`]),
        ...(eksClusterName.test(input.clusterName) ? [] : [`clusterName '${input.clusterName}' is not an EKS cluster name`]),
        ...(/^arn:aws[\w-]*:iam::\d{12}:role\/\S+$/.test(input.nodeRoleArn) ? [] : [`nodeRoleArn '${input.nodeRoleArn}' is not an IAM role ARN`]),
        ...(/^arn:aws[\w-]*:sqs:[a-z0-9-]+:\d{12}:[\w-]{1,80}$/.test(input.interruptionQueueArn) ? [] : [`interruptionQueueArn '${input.interruptionQueueArn}' is not an SQS queue ARN`]),
    ];
}

/**
 * The controller's IAM policy: the six managed policies of the reference CloudFormation at v1.14.1
 * (NodeLifecycle, IAMIntegration, EKSIntegration, Interruption, ZonalShift, ResourceDiscovery) as one
 * document, statement by statement with upstream's Sids, so an upgrade is a diff against that file.
 *
 * How it is scoped (all upstream's design, kept as is):
 * - launches (`RunInstances`, `CreateFleet`, `CreateLaunchTemplate`) and tagging at creation need the
 *   request to tag `kubernetes.io/cluster/<cluster>: owned`, `eks:eks-cluster-name: <cluster>` and some
 *   `karpenter.sh/nodepool`; later tagging, termination and launch-template deletion need those tags on
 *   the resource already; instance profiles likewise carry the cluster and region tags;
 * - `iam:PassRole` names only the node role, and only for EC2;
 * - SQS actions name only the interruption queue; `eks:DescribeCluster` only this cluster;
 * - `Resource: "*"` only for Describe/Get/List actions without resource-level permissions (EC2 reads
 *   limited to the region by `aws:RequestedRegion`, pricing, instance-profile listing) and the zonal
 *   shift read, which a condition pins to this cluster. The policy pack's documented-wildcard
 *   exception `karpenter` covers those.
 */
export function karpenterControllerPolicy(input: KarpenterPolicyInput): aws.iam.PolicyDocument {
    const problems = karpenterPolicyInputProblems(input);
    if (problems.length > 0) throw new Error(`karpenterControllerPolicy: ${problems.join("; ")}`);
    const { partition, region, accountId, clusterName } = input;
    const ec2 = (resource: string, account = "*") => `arn:${partition}:ec2:${region}:${account}:${resource}`;
    const clusterTag = `kubernetes.io/cluster/${clusterName}`;
    const taggedResources = ["fleet/*", "instance/*", "volume/*", "network-interface/*", "launch-template/*", "spot-instances-request/*"].map((r) => ec2(r));
    const instanceProfiles = `arn:${partition}:iam::${accountId}:instance-profile/*`;
    const clusterArn = `arn:${partition}:eks:${region}:${accountId}:cluster/${clusterName}`;

    return {
        Version: "2012-10-17",
        Statement: [
            // --- NodeLifecycle ---
            {
                Sid: "AllowScopedEC2InstanceAccessActions",
                Effect: "Allow",
                Resource: [
                    `arn:${partition}:ec2:${region}::image/*`,
                    `arn:${partition}:ec2:${region}::snapshot/*`,
                    ec2("security-group/*"),
                    ec2("subnet/*"),
                    ec2("capacity-reservation/*"),
                    ec2("placement-group/*"),
                ],
                Action: ["ec2:RunInstances", "ec2:CreateFleet"],
            },
            {
                Sid: "AllowScopedEC2LaunchTemplateAccessActions",
                Effect: "Allow",
                Resource: ec2("launch-template/*"),
                Action: ["ec2:RunInstances", "ec2:CreateFleet"],
                Condition: {
                    StringEquals: { [`aws:ResourceTag/${clusterTag}`]: "owned" },
                    StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" },
                },
            },
            {
                Sid: "AllowScopedEC2InstanceActionsWithTags",
                Effect: "Allow",
                Resource: taggedResources,
                Action: ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
                Condition: {
                    StringEquals: { [`aws:RequestTag/${clusterTag}`]: "owned", "aws:RequestTag/eks:eks-cluster-name": clusterName },
                    StringLike: { "aws:RequestTag/karpenter.sh/nodepool": "*" },
                },
            },
            {
                Sid: "AllowScopedResourceCreationTagging",
                Effect: "Allow",
                Resource: taggedResources,
                Action: "ec2:CreateTags",
                Condition: {
                    StringEquals: {
                        [`aws:RequestTag/${clusterTag}`]: "owned",
                        "aws:RequestTag/eks:eks-cluster-name": clusterName,
                        "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                    },
                    StringLike: { "aws:RequestTag/karpenter.sh/nodepool": "*" },
                },
            },
            {
                Sid: "AllowScopedResourceTagging",
                Effect: "Allow",
                Resource: ec2("instance/*"),
                Action: "ec2:CreateTags",
                Condition: {
                    StringEquals: { [`aws:ResourceTag/${clusterTag}`]: "owned" },
                    StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" },
                    StringEqualsIfExists: { "aws:RequestTag/eks:eks-cluster-name": clusterName },
                    "ForAllValues:StringEquals": { "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"] },
                },
            },
            {
                Sid: "AllowScopedDeletion",
                Effect: "Allow",
                Resource: [ec2("instance/*"), ec2("launch-template/*")],
                Action: ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
                Condition: {
                    StringEquals: { [`aws:ResourceTag/${clusterTag}`]: "owned" },
                    StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" },
                },
            },
            // --- IAMIntegration ---
            {
                Sid: "AllowPassingInstanceRole",
                Effect: "Allow",
                Resource: input.nodeRoleArn,
                Action: "iam:PassRole",
                Condition: { StringEquals: { "iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"] } },
            },
            {
                Sid: "AllowScopedInstanceProfileCreationActions",
                Effect: "Allow",
                Resource: instanceProfiles,
                Action: ["iam:CreateInstanceProfile"],
                Condition: {
                    StringEquals: {
                        [`aws:RequestTag/${clusterTag}`]: "owned",
                        "aws:RequestTag/eks:eks-cluster-name": clusterName,
                        "aws:RequestTag/topology.kubernetes.io/region": region,
                    },
                    StringLike: { "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*" },
                },
            },
            {
                Sid: "AllowScopedInstanceProfileTagActions",
                Effect: "Allow",
                Resource: instanceProfiles,
                Action: ["iam:TagInstanceProfile"],
                Condition: {
                    StringEquals: {
                        [`aws:ResourceTag/${clusterTag}`]: "owned",
                        "aws:ResourceTag/topology.kubernetes.io/region": region,
                        [`aws:RequestTag/${clusterTag}`]: "owned",
                        "aws:RequestTag/eks:eks-cluster-name": clusterName,
                        "aws:RequestTag/topology.kubernetes.io/region": region,
                    },
                    StringLike: {
                        "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                        "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
                    },
                },
            },
            {
                Sid: "AllowScopedInstanceProfileActions",
                Effect: "Allow",
                Resource: instanceProfiles,
                Action: ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
                Condition: {
                    StringEquals: { [`aws:ResourceTag/${clusterTag}`]: "owned", "aws:ResourceTag/topology.kubernetes.io/region": region },
                    StringLike: { "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*" },
                },
            },
            // --- EKSIntegration ---
            { Sid: "AllowAPIServerEndpointDiscovery", Effect: "Allow", Resource: clusterArn, Action: "eks:DescribeCluster" },
            // --- Interruption ---
            {
                Sid: "AllowInterruptionQueueActions",
                Effect: "Allow",
                Resource: input.interruptionQueueArn,
                Action: ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            },
            // --- ZonalShift ---
            {
                Sid: "AllowZonalShiftStatusReadOnly",
                Effect: "Allow",
                Resource: "*",
                Action: ["arc-zonal-shift:GetManagedResource"],
                Condition: { StringEquals: { "arc-zonal-shift:ResourceIdentifier": clusterArn } },
            },
            // --- ResourceDiscovery ---
            {
                Sid: "AllowRegionalReadActions",
                Effect: "Allow",
                Resource: "*",
                Action: [
                    "ec2:DescribeCapacityReservations",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstances",
                    "ec2:DescribeInstanceStatus",
                    "ec2:DescribeInstanceTypeOfferings",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplates",
                    "ec2:DescribePlacementGroups",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSpotPriceHistory",
                    "ec2:DescribeSubnets",
                ],
                Condition: { StringEquals: { "aws:RequestedRegion": region } },
            },
            {
                // Only AWS's public parameters (the EKS optimized AMI ids), never the account's own.
                Sid: "AllowSSMReadActions",
                Effect: "Allow",
                Resource: `arn:${partition}:ssm:${region}::parameter/aws/service/*`,
                Action: "ssm:GetParameter",
            },
            { Sid: "AllowPricingReadActions", Effect: "Allow", Resource: "*", Action: "pricing:GetProducts" },
            { Sid: "AllowUnscopedInstanceProfileListAction", Effect: "Allow", Resource: "*", Action: "iam:ListInstanceProfiles" },
            { Sid: "AllowInstanceProfileReadActions", Effect: "Allow", Resource: instanceProfiles, Action: "iam:GetInstanceProfile" },
        ],
    };
}

/**
 * The interruption queue's policy, as the reference has it: EventBridge (and SQS itself) may send,
 * and nobody may use the queue without TLS.
 */
export function interruptionQueuePolicy(queueArn: string): aws.iam.PolicyDocument {
    return {
        Version: "2012-10-17",
        Id: "EC2InterruptionPolicy",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Service: ["events.amazonaws.com", "sqs.amazonaws.com"] },
                Action: "sqs:SendMessage",
                Resource: queueArn,
            },
            {
                Sid: "DenyHTTP",
                Effect: "Deny",
                Action: "sqs:*",
                Resource: queueArn,
                Condition: { Bool: { "aws:SecureTransport": false } },
                Principal: "*",
            },
        ],
    } as aws.iam.PolicyDocument;
}

/**
 * The EventBridge rules that feed the queue, by name, with the event each carries. Source and
 * detail-type are what the pinned controller's parsers accept
 * (pkg/controllers/interruption/messages/<kind>/parser.go `Parser.Source`, `Parser.DetailType`).
 */
export const interruptionEventPatterns = {
    "scheduled-change": { source: ["aws.health"], "detail-type": ["AWS Health Event"] },
    "spot-interruption": { source: ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"] },
    rebalance: { source: ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"] },
    "instance-state-change": { source: ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"] },
    "reservation-interruption": { source: ["aws.ec2"], "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"] },
} as const;

/** Inputs of `karpenterValues`, all resolved. */
export interface KarpenterValuesInput {
    readonly clusterName: string;
    /** The API server URL; given so the controller does not need to discover it at start. */
    readonly clusterEndpoint: string;
    readonly region: string;
    readonly roleArn: string;
    /** Name (not URL) of the interruption queue. */
    readonly interruptionQueueName: string;
    readonly replicas: number;
}

/** Helm values of the karpenter chart (value names from charts/karpenter/values.yaml at v1.14.1). */
export function karpenterValues(input: KarpenterValuesInput): Record<string, unknown> {
    return {
        replicas: input.replicas,
        serviceAccount: {
            create: true,
            name: karpenterServiceAccount,
            annotations: { "eks.amazonaws.com/role-arn": input.roleArn },
        },
        settings: {
            clusterName: input.clusterName,
            clusterEndpoint: input.clusterEndpoint,
            interruptionQueue: input.interruptionQueueName,
        },
        controller: {
            // Nodes keep IMDSv2 at one hop, so pods cannot ask the metadata service for the region
            // (pkg/operator/operator.go `NewOperator` falls back to IMDS when the SDK has none).
            env: [{ name: "AWS_REGION", value: input.region }],
            // The chart sets no resources; MEMORY_LIMIT (from limits.memory) tunes the Go runtime.
            resources: { requests: { cpu: "200m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
            // The chart's container context already drops all capabilities and runs as non-root, read-only.
            securityContext: { seccompProfile: { type: "RuntimeDefault" } },
        },
        // On the CPU managed node group (which EKS, not Karpenter, runs) and never on a Karpenter node:
        // if the controller ran on a node it manages, it could consolidate its own node away.
        nodeSelector: { "kubernetes.io/os": "linux", [cpuPoolLabel.key]: cpuPoolLabel.value },
        affinity: {
            nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: [
                        {
                            matchExpressions: [
                                { key: karpenterNodePoolLabelKey, operator: "DoesNotExist" },
                                { key: cpuPoolLabel.key, operator: "In", values: [cpuPoolLabel.value] },
                            ],
                        },
                    ],
                },
            },
            // One replica per node (the chart adds the pod selector), so a node loss keeps one leader candidate.
            podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname" }] },
        },
        podLabels: { "app.kubernetes.io/part-of": "inference-platform" },
    };
}

export interface KarpenterControllerArgs {
    /** EKS cluster name (settings, tag conditions, access entry). Required. */
    readonly clusterName: pulumi.Input<string>;
    /** The cluster's API server URL (`settings.clusterEndpoint`). Required. */
    readonly clusterEndpoint: pulumi.Input<string>;
    /** AWS region of the cluster, e.g. `us-east-2`. Required. */
    readonly region: string;
    /** The cluster's OIDC provider, for the controller's IRSA role. Required. */
    readonly oidcProvider: OidcProvider;
    /**
     * What the releases wait for: the CPU managed node group (or the cluster component that owns it),
     * which the controller runs on. Default: none.
     */
    readonly waitFor?: pulumi.Resource[];
    /**
     * Controller replicas, leader-elected, one per node (required anti-affinity), so at most the CPU
     * group's minimum size. Default: 2.
     */
    readonly replicas?: number;
    /** The controller chart. Default: `karpenterPins.chart`. */
    readonly chart?: ChartPin;
    /** The CRD chart; must be the controller chart's version. Default: `karpenterPins.crdChart`. */
    readonly crdChart?: ChartPin;
    /** Tags on every AWS resource. Default: none. */
    readonly tags?: Record<string, string>;
}

/** Karpenter's controller with its AWS side. Depend on it to wait until the controller runs. */
export class KarpenterController extends pulumi.ComponentResource {
    /** The role of the nodes Karpenter launches (EC2NodeClass `spec.role`). */
    public readonly nodeRole: aws.iam.Role;
    public readonly nodeRoleName: pulumi.Output<string>;
    /** What nodes need to join and run: the role's policy attachments and its access entry. */
    public readonly nodeIdentity: pulumi.Resource[];
    public readonly interruptionQueue: aws.sqs.Queue;
    public readonly role: IrsaRole;
    public readonly roleArn: pulumi.Output<string>;
    public readonly crdRelease: k8s.helm.v3.Release;
    public readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: KarpenterControllerArgs, opts?: pulumi.ComponentResourceOptions) {
        const replicas = args.replicas ?? 2;
        const chart = args.chart ?? karpenterPins.chart;
        const crdChart = args.crdChart ?? karpenterPins.crdChart;
        const regionProblem = awsRegionProblem(args.region);
        const problems = [
            // Child names grow from it: EventBridge rule names are at most 64 characters, and the longest
            // rule, `<name>-reservation-interruption`, gets Pulumi's 8-character random suffix.
            ...(/^[a-z][a-z0-9-]{0,30}$/.test(name) ? [] : [`name '${name}' must be 1-31 lowercase letters, digits and '-' (child names grow from it)`]),
            ...(regionProblem ? [`region: ${regionProblem}`] : []),
            ...(!Number.isInteger(replicas) || replicas < 1 || replicas > 5 ? [`replicas: ${replicas} is not an integer from 1 to 5`] : []),
            ...(crdChart.version !== chart.version ? [`crdChart ${crdChart.version} must be the controller chart's version ${chart.version}`] : []),
        ];
        if (problems.length > 0) throw new Error(`KarpenterController ${name}: ${problems.join("; ")}`);
        super("inference-platform:aws:KarpenterController", name, {}, opts);
        const tags = args.tags ?? {};
        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        const partition = aws.getPartitionOutput({}, { parent: this }).partition;

        // --- Node identity. ---
        this.nodeRole = new aws.iam.Role(
            `${name}-node-role`,
            {
                assumeRolePolicy: JSON.stringify(nodeRoleTrustPolicy()),
                description: pulumi.interpolate`Nodes Karpenter launches in ${args.clusterName}`,
                tags,
            },
            { parent: this },
        );
        this.nodeRoleName = this.nodeRole.name;
        const attachments = Object.entries(nodeRoleManagedPolicies).map(
            ([key, policyArn]) =>
                new aws.iam.RolePolicyAttachment(
                    `${name}-node-${key}`,
                    { role: this.nodeRole.name, policyArn },
                    { parent: this },
                ),
        );
        const accessEntry = new aws.eks.AccessEntry(
            `${name}-node-access`,
            { clusterName: args.clusterName, principalArn: this.nodeRole.arn, type: "EC2_LINUX", tags },
            { parent: this },
        );
        this.nodeIdentity = [this.nodeRole, ...attachments, accessEntry];

        // --- Interruption queue and the rules that feed it. ---
        this.interruptionQueue = new aws.sqs.Queue(
            `${name}-interruption`,
            { messageRetentionSeconds: 300, sqsManagedSseEnabled: true, tags },
            { parent: this },
        );
        const queuePolicy = new aws.sqs.QueuePolicy(
            `${name}-interruption`,
            { queueUrl: this.interruptionQueue.url, policy: this.interruptionQueue.arn.apply((arn) => JSON.stringify(interruptionQueuePolicy(arn))) },
            { parent: this },
        );
        const targets = Object.entries(interruptionEventPatterns).map(([key, pattern]) => {
            const rule = new aws.cloudwatch.EventRule(
                `${name}-${key}`,
                { description: pulumi.interpolate`Karpenter interruption events for ${args.clusterName}`, eventPattern: JSON.stringify(pattern), tags },
                { parent: this },
            );
            return new aws.cloudwatch.EventTarget(
                `${name}-${key}`,
                { rule: rule.name, arn: this.interruptionQueue.arn, targetId: "KarpenterInterruptionQueueTarget" },
                { parent: this, dependsOn: [queuePolicy] },
            );
        });

        // --- Controller identity. ---
        this.role = new IrsaRole(
            `${name}-irsa`,
            {
                oidcProvider: args.oidcProvider,
                namespace: karpenterNamespace,
                serviceAccountName: karpenterServiceAccount,
                policy: pulumi
                    .all([partition, identity.accountId, args.clusterName, this.nodeRole.arn, this.interruptionQueue.arn])
                    .apply(([p, accountId, clusterName, nodeRoleArn, interruptionQueueArn]) =>
                        karpenterControllerPolicy({ partition: p, region: args.region, accountId, clusterName, nodeRoleArn, interruptionQueueArn }),
                    ),
                description: "Karpenter controller (IRSA)",
                tags: { ...tags, "app.kubernetes.io/part-of": "inference-platform", "app.kubernetes.io/managed-by": "pulumi" },
            },
            { parent: this },
        );
        this.roleArn = this.role.roleArn;

        // --- The charts. ---
        this.crdRelease = new k8s.helm.v3.Release(
            `${name}-crd`,
            { name: "karpenter-crd", namespace: karpenterNamespace, ...helmChartSource(crdChart) },
            { parent: this, dependsOn: args.waitFor ?? [] },
        );
        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: "karpenter",
                namespace: karpenterNamespace,
                ...helmChartSource(chart),
                // The CRDs come from karpenter-crd, which Helm upgrades; the chart's crds/ folder would not be.
                skipCrds: true,
                values: pulumi
                    .all([args.clusterName, args.clusterEndpoint, this.role.roleArn, this.interruptionQueue.name])
                    .apply(([clusterName, clusterEndpoint, roleArn, interruptionQueueName]) =>
                        karpenterValues({ clusterName, clusterEndpoint, region: args.region, roleArn, interruptionQueueName, replicas }),
                    ),
            },
            // Its permissions, queue and rules exist before it starts, and outlive it on destroy.
            { parent: this, dependsOn: [this.crdRelease, this.role, queuePolicy, ...targets, ...(args.waitFor ?? [])] },
        );

        this.registerOutputs({
            roleArn: this.roleArn,
            nodeRoleName: this.nodeRoleName,
            interruptionQueueName: this.interruptionQueue.name,
            releaseStatus: this.release.status,
        });
    }
}
