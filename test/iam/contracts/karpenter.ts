/**
 * The Karpenter controller role, as aws/karpenter-provider-aws v1.14.1 uses it with our EC2NodeClasses
 * (role-based instance profiles, AMI alias, discovery by tags) and NodePools (GPU families, spot and
 * on-demand), the interruption queue, and no zonal shift, capacity reservations or placement groups.
 *
 * Every row cites aws/karpenter-provider-aws v1.14.1 (file, function). The tags Karpenter puts on what
 * it launches are `GetTags` in pkg/utils/utils.go: `kubernetes.io/cluster/<cluster>: owned`,
 * `karpenter.sh/nodepool: <pool>`, `eks:eks-cluster-name: <cluster>`, `karpenter.k8s.aws/ec2nodeclass:
 * <class>` over the EC2NodeClass's `spec.tags`; instance profiles get
 * `EC2NodeClass.InstanceProfileTags` (pkg/apis/v1/ec2nodeclass.go: the cluster tags, the class and
 * `topology.kubernetes.io/region`). How AWS authorizes the calls: a `CreateFleet` of type instant is
 * also authorized as `ec2:RunInstances` on every resource it launches or uses, and creating with
 * TagSpecifications as `ec2:CreateTags` with `ec2:CreateAction` (Amazon EC2 User Guide, "EC2 Fleet
 * prerequisites" and "Grant permission to tag Amazon EC2 resources during creation"); creating an
 * instance profile with tags also needs `iam:TagInstanceProfile` (IAM User Guide, "Permissions
 * required to tag IAM resources"); launching with an instance profile, and adding a role to one,
 * needs `iam:PassRole` on the role (IAM User Guide, "Using an IAM role to grant permissions to
 * applications running on Amazon EC2 instances").
 */
import { AccessContract, ForbiddenCall, NeededCall } from "../contract";

const karpenter = "aws/karpenter-provider-aws v1.14.1";

export interface KarpenterContractFacts {
    readonly clusterName: string;
    readonly region: string;
    readonly accountId: string;
    /** ARN of the role the EC2NodeClasses name (`spec.role`). */
    readonly nodeRoleArn: string;
    /** ARN of the queue the chart's `settings.interruptionQueue` names. */
    readonly interruptionQueueArn: string;
    /** A NodePool and its EC2NodeClass, as rendered. */
    readonly nodePool: string;
    readonly nodeClass: string;
    /** The EC2NodeClass's `spec.tags` (the stack's tags). */
    readonly nodeClassTags: Readonly<Record<string, string>>;
    /** The SSM parameter the AMI alias resolves to for the NVIDIA variant (al2023.go `resolvePath`). */
    readonly amiParameter: string;
}

export function karpenterContract(f: KarpenterContractFacts): AccessContract {
    const { region, accountId, clusterName } = f;
    const ec2 = (resource: string, account = accountId) => `arn:aws:ec2:${region}:${account}:${resource}`;
    const instance = ec2("instance/i-0a1b2c3d4e5f60718");
    const volume = ec2("volume/vol-0a1b2c3d4e5f60718");
    const eni = ec2("network-interface/eni-0a1b2c3d4e5f60718");
    const fleet = ec2("fleet/fleet-0a1b2c3d-1111-2222-3333-444455556666");
    const launchTemplate = ec2("launch-template/lt-0a1b2c3d4e5f60718");
    const instanceProfile = `arn:aws:iam::${accountId}:instance-profile/${clusterName}_1234567890123456789`;
    const src = (fileAndFunction: string) => `${karpenter} ${fileAndFunction}`;

    const launchTags = {
        ...f.nodeClassTags,
        [`kubernetes.io/cluster/${clusterName}`]: "owned",
        "karpenter.sh/nodepool": f.nodePool,
        "eks:eks-cluster-name": clusterName,
        "karpenter.k8s.aws/ec2nodeclass": f.nodeClass,
    };
    const profileTags = {
        ...f.nodeClassTags,
        [`kubernetes.io/cluster/${clusterName}`]: "owned",
        "eks:eks-cluster-name": clusterName,
        "karpenter.k8s.aws/ec2nodeclass": f.nodeClass,
        "topology.kubernetes.io/region": region,
    };
    const requestTags = (tags: Record<string, string>) => ({
        ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])),
        "aws:TagKeys": Object.keys(tags),
    });
    const resourceTags = (tags: Record<string, string>) => Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
    const inRegion = { "aws:RequestedRegion": region };

    const launch = (what: string, source: string): NeededCall[] => [
        ...[instance, volume, eni].map((resource) => ({
            call: `${what}: RunInstances on the new ${resource.split(":").pop()!.split("/")[0]} (tagged)`,
            action: "ec2:RunInstances",
            resource,
            context: requestTags(launchTags),
            source,
        })),
        ...[ec2("subnet/subnet-0a1b2c3d4e5f60718", accountId), ec2("security-group/sg-0a1b2c3d4e5f60718"), `arn:aws:ec2:${region}::image/ami-0a1b2c3d4e5f60718`].map(
            (resource) => ({ call: `${what}: RunInstances uses ${resource.split(":").pop()!.split("/")[0]}`, action: "ec2:RunInstances", resource, source }),
        ),
        {
            call: `${what}: RunInstances from Karpenter's launch template`,
            action: "ec2:RunInstances",
            resource: launchTemplate,
            context: resourceTags(launchTags),
            source,
        },
    ];

    const describe = (action: string, source: string, context: Record<string, string> = inRegion): NeededCall => ({
        call: action.split(":")[1],
        action,
        resource: "*",
        context,
        source: src(source),
    });

    const needed: NeededCall[] = [
        // --- discover ---
        describe("ec2:DescribeInstanceTypes", "pkg/providers/instancetype/instancetype.go DefaultProvider.UpdateInstanceTypes; pkg/operator/operator.go CheckEC2Connectivity"),
        describe("ec2:DescribeInstanceTypeOfferings", "pkg/providers/instancetype/instancetype.go DefaultProvider.UpdateInstanceTypeOfferings"),
        describe("ec2:DescribeSubnets", "pkg/providers/subnet/subnet.go DefaultProvider.List"),
        describe("ec2:DescribeSecurityGroups", "pkg/providers/securitygroup/securitygroup.go DefaultProvider.getSecurityGroups"),
        describe("ec2:DescribeImages", "pkg/providers/amifamily/ami.go DefaultProvider.amis"),
        describe("ec2:DescribeInstances", "pkg/batcher/describeinstances.go execDescribeInstancesBatch; pkg/providers/instance/instance.go DefaultProvider.List"),
        describe("ec2:DescribeInstanceStatus", "pkg/providers/instancestatus/instancestatus.go DefaultProvider.List"),
        describe("ec2:DescribeLaunchTemplates", "pkg/providers/launchtemplate/launchtemplate.go DefaultProvider.ensureLaunchTemplate"),
        describe("ec2:DescribeSpotPriceHistory", "pkg/providers/pricing/pricing.go DefaultProvider.UpdateSpotPricing"),
        describe("pricing:GetProducts", "pkg/providers/pricing/pricing.go DefaultProvider.fetchOnDemandPricing", {}),
        {
            call: "GetParameter of the NVIDIA AL2023 AMI for the pinned release",
            action: "ssm:GetParameter",
            resource: `arn:aws:ssm:${region}::parameter${f.amiParameter}`,
            // AWS's public parameters carry no account (the reference policy names them the same way).
            unvalidatedResource: "iam-data's parameter ARN pattern needs an account id; AWS's public parameters (/aws/service/...) have none",
            source: src("pkg/providers/amifamily/al2023.go AL2023.DescribeImageQuery; pkg/providers/ssm/provider.go DefaultProvider.Get"),
        },
        {
            call: "DescribeCluster (Kubernetes version, service CIDR)",
            action: "eks:DescribeCluster",
            resource: `arn:aws:eks:${region}:${accountId}:cluster/${clusterName}`,
            source: src("pkg/providers/version/version.go DefaultProvider.getEKSVersion; pkg/providers/launchtemplate/launchtemplate.go DefaultProvider.ResolveClusterCIDR"),
        },
        // --- instance profile from the EC2NodeClass's role ---
        { call: "GetInstanceProfile", action: "iam:GetInstanceProfile", resource: instanceProfile, source: src("pkg/providers/instanceprofile/instanceprofile.go DefaultProvider.Get") },
        { call: "ListInstanceProfiles (garbage collection)", action: "iam:ListInstanceProfiles", resource: "*", source: src("pkg/providers/instanceprofile/instanceprofile.go DefaultProvider.ListProfiles") },
        {
            call: "CreateInstanceProfile (Tags)",
            action: "iam:CreateInstanceProfile",
            resource: instanceProfile,
            context: requestTags(profileTags),
            source: src("pkg/providers/instanceprofile/instanceprofile.go DefaultProvider.Create"),
        },
        {
            call: "CreateInstanceProfile tags the new profile",
            action: "iam:TagInstanceProfile",
            resource: instanceProfile,
            context: { ...requestTags(profileTags), ...resourceTags(profileTags) },
            source: src("pkg/providers/instanceprofile/instanceprofile.go DefaultProvider.Create"),
        },
        {
            call: "AddRoleToInstanceProfile",
            action: "iam:AddRoleToInstanceProfile",
            resource: instanceProfile,
            context: resourceTags(profileTags),
            source: src("pkg/providers/instanceprofile/instanceprofile.go DefaultProvider.ensureRole"),
        },
        {
            call: "AddRoleToInstanceProfile and launching with the profile pass the node role to EC2",
            action: "iam:PassRole",
            resource: f.nodeRoleArn,
            context: { "iam:PassedToService": "ec2.amazonaws.com" },
            source: src("pkg/providers/instanceprofile/instanceprofile.go DefaultProvider.ensureRole; pkg/providers/launchtemplate/types.go CreateLaunchTemplateInputBuilder.Build (IamInstanceProfile)"),
        },
        // --- launch ---
        {
            call: "CreateLaunchTemplate (TagSpecifications launch-template)",
            action: "ec2:CreateLaunchTemplate",
            resource: launchTemplate,
            context: requestTags(launchTags),
            source: src("pkg/providers/launchtemplate/launchtemplate.go DefaultProvider.createLaunchTemplate; pkg/providers/launchtemplate/types.go CreateLaunchTemplateInputBuilder.Build"),
        },
        {
            call: "CreateLaunchTemplate tags the template",
            action: "ec2:CreateTags",
            resource: launchTemplate,
            context: { "ec2:CreateAction": "CreateLaunchTemplate", ...requestTags(launchTags) },
            source: src("pkg/providers/launchtemplate/launchtemplate.go DefaultProvider.createLaunchTemplate"),
        },
        {
            call: "CreateFleet (instant, TagSpecifications instance, volume, fleet)",
            action: "ec2:CreateFleet",
            resource: fleet,
            context: requestTags(launchTags),
            source: src("pkg/providers/instance/instance.go DefaultProvider.launchInstance; pkg/providers/instance/types.go NewCreateFleetInputBuilder"),
        },
        {
            call: "CreateFleet uses Karpenter's launch template",
            action: "ec2:CreateFleet",
            resource: launchTemplate,
            context: resourceTags(launchTags),
            source: src("pkg/providers/instance/instance.go DefaultProvider.launchInstance"),
        },
        ...launch("CreateFleet", src("pkg/providers/instance/instance.go DefaultProvider.launchInstance; pkg/batcher/createfleet.go execCreateFleetBatch")),
        ...[fleet, instance, volume].map((resource) => ({
            call: `CreateFleet tags the new ${resource.split(":").pop()!.split("/")[0]}`,
            action: "ec2:CreateTags",
            resource,
            context: { "ec2:CreateAction": "CreateFleet", ...requestTags(launchTags) },
            source: src("pkg/providers/instance/types.go NewCreateFleetInputBuilder"),
        })),
        ...launch("RunInstances DryRun (EC2NodeClass validation)", src("pkg/controllers/nodeclass/validation.go Validation.validateRunInstancesAuthorization")),
        {
            call: "CreateTags on its instance (Name, karpenter.sh/nodeclaim, eks:eks-cluster-name)",
            action: "ec2:CreateTags",
            resource: instance,
            context: {
                ...resourceTags(launchTags),
                ...requestTags({ Name: "ip-10-0-3-4.us-east-2.compute.internal", "karpenter.sh/nodeclaim": `${f.nodePool}-abcde`, "eks:eks-cluster-name": clusterName }),
            },
            source: src("pkg/controllers/nodeclaim/tagging/controller.go Controller.tagInstance; pkg/providers/instance/instance.go DefaultProvider.CreateTags"),
        },
        // --- react ---
        ...(["sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage"] as const).map((action) => ({
            call: `${action.split(":")[1]} on the interruption queue`,
            action,
            resource: f.interruptionQueueArn,
            source: src(
                {
                    "sqs:GetQueueUrl": "pkg/providers/sqs/sqs.go NewSQSProvider",
                    "sqs:ReceiveMessage": "pkg/providers/sqs/sqs.go DefaultProvider.GetSQSMessages",
                    "sqs:DeleteMessage": "pkg/providers/sqs/sqs.go DefaultProvider.DeleteSQSMessage",
                }[action],
            ),
        })),
        // --- terminate and clean up ---
        {
            call: "TerminateInstances of its instance",
            action: "ec2:TerminateInstances",
            resource: instance,
            context: resourceTags(launchTags),
            source: src("pkg/providers/instance/instance.go DefaultProvider.Delete; pkg/batcher/terminateinstances.go execTerminateInstancesBatch"),
        },
        {
            call: "DeleteLaunchTemplate (EC2NodeClass deleted, cache eviction)",
            action: "ec2:DeleteLaunchTemplate",
            resource: launchTemplate,
            context: resourceTags(launchTags),
            source: src("pkg/providers/launchtemplate/launchtemplate.go DefaultProvider.DeleteAll"),
        },
        ...(["iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"] as const).map((action) => ({
            call: `${action.split(":")[1]} (EC2NodeClass deleted)`,
            action,
            resource: instanceProfile,
            context: resourceTags(profileTags),
            source: src("pkg/providers/instanceprofile/instanceprofile.go DefaultProvider.Delete"),
        })),
    ];

    const otherCluster = { ...launchTags, [`kubernetes.io/cluster/other-cluster`]: "owned", "eks:eks-cluster-name": "other-cluster" };
    delete (otherCluster as Record<string, string>)[`kubernetes.io/cluster/${clusterName}`];
    // A managed node group's instance: EKS tags it with the cluster tag, but no NodePool.
    const managedNodeGroupInstance = { [`kubernetes.io/cluster/${clusterName}`]: "owned", "eks:cluster-name": clusterName, "eks:nodegroup-name": `${clusterName}-cpu` };
    const withoutClusterTag = Object.fromEntries(Object.entries(launchTags).filter(([k]) => k !== `kubernetes.io/cluster/${clusterName}`));

    const forbidden: ForbiddenCall[] = [
        { call: "TerminateInstances of a managed node group's instance", action: "ec2:TerminateInstances", resource: instance, context: resourceTags(managedNodeGroupInstance), why: "only instances of its NodePools" },
        { call: "TerminateInstances of another cluster's Karpenter instance", action: "ec2:TerminateInstances", resource: instance, context: resourceTags(otherCluster), why: "only this cluster" },
        { call: "TerminateInstances of an untagged instance", action: "ec2:TerminateInstances", resource: instance, why: "only instances it launched" },
        { call: "CreateFleet without this cluster's tag", action: "ec2:CreateFleet", resource: fleet, context: requestTags(withoutClusterTag), why: "everything it launches must be tracked to this cluster" },
        { call: "RunInstances tagged for another cluster", action: "ec2:RunInstances", resource: instance, context: requestTags(otherCluster), why: "only this cluster" },
        { call: "RunInstances without any tag", action: "ec2:RunInstances", resource: instance, why: "untracked instances" },
        { call: "CreateTags adopting an untagged instance", action: "ec2:CreateTags", resource: instance, context: requestTags(launchTags), why: "adopting foreign instances by tagging" },
        {
            call: "CreateTags moving its instance to another NodePool",
            action: "ec2:CreateTags",
            resource: instance,
            context: { ...resourceTags(launchTags), ...requestTags({ "karpenter.sh/nodepool": "other" }) },
            why: "only Name, karpenter.sh/nodeclaim and eks:eks-cluster-name after launch",
        },
        { call: "DeleteLaunchTemplate of an untagged template", action: "ec2:DeleteLaunchTemplate", resource: launchTemplate, why: "only its own templates" },
        { call: "iam:PassRole of another role", action: "iam:PassRole", resource: `arn:aws:iam::${accountId}:role/admin`, context: { "iam:PassedToService": "ec2.amazonaws.com" }, why: "only the node role" },
        { call: "iam:PassRole of the node role to Lambda", action: "iam:PassRole", resource: f.nodeRoleArn, context: { "iam:PassedToService": "lambda.amazonaws.com" }, why: "only to EC2" },
        { call: "DeleteInstanceProfile of a profile it did not make", action: "iam:DeleteInstanceProfile", resource: `arn:aws:iam::${accountId}:instance-profile/bastion`, why: "only this cluster's profiles" },
        { call: "CreateRole", action: "iam:CreateRole", resource: `arn:aws:iam::${accountId}:role/anything`, why: "no role creation" },
        ...(["sqs:ReceiveMessage", "sqs:DeleteMessage"] as const).map((action) => ({
            call: `${action.split(":")[1]} on another queue`,
            action,
            resource: `arn:aws:sqs:${region}:${accountId}:orders`,
            why: "only the interruption queue",
        })),
        { call: "SendMessage to the interruption queue", action: "sqs:SendMessage", resource: f.interruptionQueueArn, why: "EventBridge writes, the controller only reads" },
        { call: "GetParameter of the account's own parameter", action: "ssm:GetParameter", resource: `arn:aws:ssm:${region}:${accountId}:parameter/prod/db-password`, why: "only AWS's public parameters" },
        { call: "DescribeInstances in another region", action: "ec2:DescribeInstances", resource: "*", context: { "aws:RequestedRegion": "eu-west-1" }, why: "only the cluster's region" },
        { call: "DescribeCluster of another cluster", action: "eks:DescribeCluster", resource: `arn:aws:eks:${region}:${accountId}:cluster/other-cluster`, why: "only this cluster" },
    ];
    return { client: "Karpenter controller v1.14.1 (AWS provider)", needed, forbidden };
}
