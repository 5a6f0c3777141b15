/**
 * The Cluster Autoscaler role, as the AWS cloud provider of kubernetes/autoscaler uses it with our
 * EKS managed node groups (launch templates, instance-type lists, the GPU group scaling from zero).
 *
 * Read at the tags `cluster-autoscaler-1.33.0` … `1.33.6`, `1.34.0` … `1.34.5` and `1.35.0` … `1.35.2`
 * (cluster-autoscaler/cloudprovider/aws/): every one makes the same AWS calls from the same functions
 * (1.35 moved to aws-sdk-go-v2 paginators, the calls are unchanged). `verifiedClusterAutoscalerTags`
 * lists them; the stack test fails when an image pin leaves that list, so a new pin gets re-read.
 *
 * The ASG tags the writes depend on are the ones EKS puts on a managed node group's Auto Scaling
 * group: `k8s.io/cluster-autoscaler/enabled=true` and `k8s.io/cluster-autoscaler/<cluster name>=owned`
 * (Amazon EKS User Guide, "Managed node groups": resources created with node groups).
 */
import { AccessContract, ForbiddenCall, NeededCall } from "../contract";

const patches = (minor: string, last: number) => Array.from({ length: last + 1 }, (_, i) => `v${minor}.${i}`);
/** Image tags whose AWS provider source these rows were read from. */
export const verifiedClusterAutoscalerTags: readonly string[] = [...patches("1.33", 6), ...patches("1.34", 5), ...patches("1.35", 2)];

export function clusterAutoscalerContract(args: { readonly clusterName: string; readonly region: string; readonly accountId: string; readonly imageTag: string }): AccessContract {
    const { clusterName, region, accountId } = args;
    if (!verifiedClusterAutoscalerTags.includes(args.imageTag)) {
        throw new Error(`cluster-autoscaler ${args.imageTag}: its AWS calls were not read; read cloudprovider/aws at that tag and extend verifiedClusterAutoscalerTags`);
    }
    const src = (fileAndFunction: string) => `kubernetes/autoscaler cluster-autoscaler-${args.imageTag.replace(/^v/, "")} cluster-autoscaler/cloudprovider/aws/${fileAndFunction}`;
    const asg = (name: string) => `arn:aws:autoscaling:${region}:${accountId}:autoScalingGroup:0a1b2c3d-1111-2222-3333-444455556666:autoScalingGroupName/${name}`;
    const ours = asg(`eks-${clusterName}-gpu-0a1b2c3d`);
    const eksTags = {
        "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
        [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: "owned",
    };
    const needed: NeededCall[] = [
        { call: "DescribeAutoScalingGroups (auto-discovery by tags)", action: "autoscaling:DescribeAutoScalingGroups", resource: "*", source: src("aws_wrapper.go awsWrapper.getAutoscalingGroupsByTags") },
        { call: "DescribeScalingActivities (is the group able to scale)", action: "autoscaling:DescribeScalingActivities", resource: "*", source: src("auto_scaling_groups.go asgCache.isNodeGroupAvailable") },
        { call: "DescribeLaunchTemplateVersions (instance type of a group at zero)", action: "ec2:DescribeLaunchTemplateVersions", resource: "*", source: src("aws_wrapper.go awsWrapper.getLaunchTemplateData") },
        { call: "DescribeInstanceTypes (instance capacity table at start-up)", action: "ec2:DescribeInstanceTypes", resource: "*", source: src("aws_util.go GenerateEC2InstanceTypes") },
        {
            call: "DescribeNodegroup (labels and taints of a managed group at zero)",
            action: "eks:DescribeNodegroup",
            resource: `arn:aws:eks:${region}:${accountId}:nodegroup/${clusterName}/${clusterName}-gpu/0a1b2c3d-1111-2222-3333-444455556666`,
            source: src("aws_wrapper.go awsWrapper.getManagedNodegroupInfo"),
        },
        { call: "SetDesiredCapacity (scale up, HonorCooldown false)", action: "autoscaling:SetDesiredCapacity", resource: ours, context: eksTags, source: src("auto_scaling_groups.go asgCache.setAsgSizeNoLock") },
        {
            call: "TerminateInstanceInAutoScalingGroup (scale down, ShouldDecrementDesiredCapacity)",
            action: "autoscaling:TerminateInstanceInAutoScalingGroup",
            resource: ours,
            context: eksTags,
            source: src("auto_scaling_groups.go asgCache.DeleteInstances"),
        },
    ];
    const forbidden: ForbiddenCall[] = [
        {
            call: "SetDesiredCapacity of another cluster's group",
            action: "autoscaling:SetDesiredCapacity",
            resource: asg("eks-other-cluster-cpu-0a1b2c3d"),
            context: { "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true", "aws:ResourceTag/k8s.io/cluster-autoscaler/other-cluster": "owned" },
            why: "only this cluster's groups",
        },
        { call: "SetDesiredCapacity of an untagged group", action: "autoscaling:SetDesiredCapacity", resource: asg("batch-workers"), why: "only groups opted in to autoscaling" },
        {
            call: "TerminateInstanceInAutoScalingGroup in a group not opted in",
            action: "autoscaling:TerminateInstanceInAutoScalingGroup",
            resource: asg(`eks-${clusterName}-legacy`),
            context: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: "owned" },
            why: "both auto-discovery tags are required",
        },
        {
            call: "DescribeNodegroup of another cluster",
            action: "eks:DescribeNodegroup",
            resource: `arn:aws:eks:${region}:${accountId}:nodegroup/other-cluster/workers/0a1b2c3d-1111-2222-3333-444455556666`,
            why: "only this cluster's node groups",
        },
        ...(["autoscaling:UpdateAutoScalingGroup", "autoscaling:DeleteAutoScalingGroup", "autoscaling:CreateOrUpdateTags"] as const).map((action) => ({
            call: `${action.split(":")[1]} of this cluster's group`,
            action,
            resource: ours,
            context: eksTags,
            why: "it only changes the desired size and terminates instances",
        })),
        { call: "TerminateInstances directly", action: "ec2:TerminateInstances", resource: `arn:aws:ec2:${region}:${accountId}:instance/i-0123456789abcdef0`, why: "only through the group" },
        { call: "RunInstances", action: "ec2:RunInstances", resource: `arn:aws:ec2:${region}:${accountId}:instance/*`, why: "the group launches nodes" },
        { call: "iam:PassRole", action: "iam:PassRole", resource: `arn:aws:iam::${accountId}:role/any-role`, why: "no role hand-off" },
    ];
    return { client: `Cluster Autoscaler ${args.imageTag} (AWS cloud provider)`, needed, forbidden };
}
