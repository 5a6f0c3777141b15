/**
 * The EBS CSI driver's role, as the driver's controller (the `aws-ebs-csi-driver` EKS add-on, which
 * packages kubernetes-sigs/aws-ebs-csi-driver v1.64.0) calls EC2 for the claims our gp3
 * StorageClass provisions: create a gp3 volume in the pod's zone, attach it to the node, resize it,
 * detach and delete it. No snapshot controller runs here, so the snapshot calls are not needed.
 *
 * The tags a CreateVolume request carries come from the driver and from what the add-on tells it:
 * kubernetes-sigs/aws-ebs-csi-driver v1.64.0 pkg/driver/controller.go `CreateVolume` always sets
 * `CSIVolumeName` (cloud.VolumeNameTagKey) and `ebs.csi.aws.com/cluster=true` (cloud.AwsEbsDriverTagKey)
 * and adds the `--extra-tags` the add-on's `controller.extraVolumeTags` become; pkg/cloud/cloud.go
 * `CreateDisk` sends them as the request's TagSpecifications, so EC2 authorizes them as
 * `aws:RequestTag/<key>` on CreateVolume and as ec2:CreateTags with `ec2:CreateAction=CreateVolume`.
 * The instances volumes are attached to are this cluster's nodes: managed node groups' instances
 * carry `eks:cluster-name` (the driver's docs/AmazonEBSCSIDriverEKSClusterScopedPolicy.json relies on
 * it), Karpenter's carry `kubernetes.io/cluster/<name>=owned` (aws/karpenter-provider-aws v1.14.1
 * reference CloudFormation requires that tag on every instance it launches).
 */
import { AccessContract, ForbiddenCall, NeededCall } from "../contract";

const cloud = "kubernetes-sigs/aws-ebs-csi-driver v1.64.0 pkg/cloud/cloud.go";
/** The driver release the rows were read from (versions.ts `storageDriverAddons.ebsCsi.driverVersion`). */
export const ebsCsiDriverContractVersion = "v1.64.0";

export function ebsCsiDriverContract(args: {
    readonly clusterName: string;
    readonly region: string;
    readonly accountId: string;
    /** The add-on's `controller.extraVolumeTags` (the tags the driver adds to every volume). */
    readonly extraVolumeTags: Readonly<Record<string, string>>;
}): AccessContract {
    const { region, accountId } = args;
    const volume = `arn:aws:ec2:${region}:${accountId}:volume/vol-0123456789abcdef0`;
    const node = `arn:aws:ec2:${region}:${accountId}:instance/i-0123456789abcdef0`;
    const extraRequestTags = Object.fromEntries(Object.entries(args.extraVolumeTags).map(([k, v]) => [`aws:RequestTag/${k}`, v]));
    const extraResourceTags = Object.fromEntries(Object.entries(args.extraVolumeTags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
    const createTags = { ...extraRequestTags, "aws:RequestTag/CSIVolumeName": "pvc-0a1b2c3d", "aws:RequestTag/ebs.csi.aws.com/cluster": "true" };
    const tagKeys = Object.keys(createTags).map((k) => k.slice("aws:RequestTag/".length));
    const ownVolume = { ...extraResourceTags, "aws:ResourceTag/CSIVolumeName": "pvc-0a1b2c3d", "aws:ResourceTag/ebs.csi.aws.com/cluster": "true" };
    const nodeGroupNode = { "aws:ResourceTag/eks:cluster-name": args.clusterName };
    const karpenterNode = { [`aws:ResourceTag/kubernetes.io/cluster/${args.clusterName}`]: "owned" };
    const otherCluster = Object.fromEntries(Object.entries(extraResourceTags).map(([k]) => [k, "another-cluster"]));

    const needed: NeededCall[] = [
        { call: "DescribeAvailabilityZones (DryRun health check; zone of an unscheduled volume)", action: "ec2:DescribeAvailabilityZones", resource: "*", source: `${cloud} cloud.DryRun, cloud.randomAvailabilityZone` },
        { call: "DescribeInstances (the node a volume attaches to)", action: "ec2:DescribeInstances", resource: "*", source: `${cloud} cloud.getInstance` },
        { call: "DescribeInstanceTypes (EBS cards of the node)", action: "ec2:DescribeInstanceTypes", resource: "*", source: `${cloud} cloud.getCardCount` },
        { call: "DescribeVolumes (wait for a new volume, find one by name)", action: "ec2:DescribeVolumes", resource: "*", source: `${cloud} cloud.waitForVolume, cloud.GetDiskByName, cloud.WaitForAttachmentState` },
        { call: "DescribeVolumesModifications (resize progress)", action: "ec2:DescribeVolumesModifications", resource: "*", source: `${cloud} cloud.getLatestVolumeModification` },
        { call: "DescribeVolumeStatus (is the new volume initialized)", action: "ec2:DescribeVolumeStatus", resource: "*", source: `${cloud} cloud.IsVolumeInitialized` },
        { call: "CreateVolume gp3, encrypted, with the driver's tags", action: "ec2:CreateVolume", resource: `arn:aws:ec2:${region}:${accountId}:volume/*`, context: { ...createTags, "aws:TagKeys": tagKeys }, source: `${cloud} cloud.CreateDisk, cloud.createVolumeHelper` },
        { call: "CreateTags in the CreateVolume request (TagSpecifications)", action: "ec2:CreateTags", resource: `arn:aws:ec2:${region}:${accountId}:volume/*`, context: { ...createTags, "aws:TagKeys": tagKeys, "ec2:CreateAction": "CreateVolume" }, source: `${cloud} cloud.CreateDisk (tagSpec)` },
        { call: "AttachVolume: the volume", action: "ec2:AttachVolume", resource: volume, context: ownVolume, source: `${cloud} cloud.AttachDisk` },
        { call: "AttachVolume: a managed node group's node", action: "ec2:AttachVolume", resource: node, context: nodeGroupNode, source: `${cloud} cloud.AttachDisk` },
        { call: "AttachVolume: a Karpenter node", action: "ec2:AttachVolume", resource: node, context: karpenterNode, source: `${cloud} cloud.AttachDisk` },
        { call: "DetachVolume: the volume", action: "ec2:DetachVolume", resource: volume, context: ownVolume, source: `${cloud} cloud.DetachDisk` },
        { call: "DetachVolume: a managed node group's node", action: "ec2:DetachVolume", resource: node, context: nodeGroupNode, source: `${cloud} cloud.DetachDisk` },
        { call: "ModifyVolume (claim resize: allowVolumeExpansion)", action: "ec2:ModifyVolume", resource: volume, context: ownVolume, source: `${cloud} cloud.ResizeOrModifyDisk` },
        { call: "DeleteVolume (claim deleted, reclaimPolicy Delete)", action: "ec2:DeleteVolume", resource: volume, context: ownVolume, source: `${cloud} cloud.DeleteDisk` },
    ];
    const forbidden: ForbiddenCall[] = [
        { call: "CreateVolume without this cluster's tag", action: "ec2:CreateVolume", resource: `arn:aws:ec2:${region}:${accountId}:volume/*`, context: { "aws:RequestTag/CSIVolumeName": "pvc-0a1b2c3d" }, why: "every volume it makes carries the cluster tag" },
        { call: "CreateVolume tagged for another cluster", action: "ec2:CreateVolume", resource: `arn:aws:ec2:${region}:${accountId}:volume/*`, context: Object.fromEntries(Object.keys(extraRequestTags).map((k) => [k, "another-cluster"])), why: "only this cluster's volumes" },
        { call: "DeleteVolume of another cluster's volume", action: "ec2:DeleteVolume", resource: volume, context: { ...otherCluster, "aws:ResourceTag/ebs.csi.aws.com/cluster": "true" }, why: "only this cluster's volumes" },
        { call: "DeleteVolume of an untagged volume", action: "ec2:DeleteVolume", resource: volume, why: "never volumes it did not create" },
        { call: "AttachVolume of another cluster's volume", action: "ec2:AttachVolume", resource: volume, context: otherCluster, why: "only this cluster's volumes" },
        { call: "AttachVolume to an instance outside the cluster", action: "ec2:AttachVolume", resource: node, context: { "aws:ResourceTag/eks:cluster-name": "another-cluster" }, why: "volumes go to this cluster's nodes only" },
        { call: "CreateTags on an existing volume (re-tagging)", action: "ec2:CreateTags", resource: volume, context: { ...extraRequestTags, "aws:TagKeys": Object.keys(args.extraVolumeTags) }, why: "a volume cannot be tagged into the cluster" },
        { call: "DeleteTags on a volume", action: "ec2:DeleteTags", resource: volume, context: ownVolume, why: "a volume cannot be tagged out of its cluster" },
        { call: "CreateSnapshot", action: "ec2:CreateSnapshot", resource: volume, context: ownVolume, why: "no snapshot controller runs here" },
        { call: "TerminateInstances", action: "ec2:TerminateInstances", resource: node, context: nodeGroupNode, why: "storage only" },
        { call: "iam:PassRole", action: "iam:PassRole", resource: `arn:aws:iam::${accountId}:role/any-role`, why: "no role hand-off" },
    ];
    return { client: `EBS CSI driver ${ebsCsiDriverContractVersion} (aws-ebs-csi-driver EKS add-on)`, needed, forbidden };
}
