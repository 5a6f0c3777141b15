/**
 * Storage drivers on EKS, each an EKS add-on pinned per cluster minor (versions.ts
 * `storageDriverAddons`) with its own least-privilege IRSA role:
 *
 * - `EbsCsiDriver`: the EBS CSI driver and an encrypted gp3 default StorageClass that binds on first
 *   consumer, so any user's claim binds (EKS ships no default StorageClass from 1.30 on). Its role
 *   can create, attach, resize and delete only volumes that carry this cluster's tag (the add-on
 *   tells the driver to put it on every volume it creates), and attach them only to this cluster's
 *   nodes.
 * - `MountpointS3Driver`: the Mountpoint for Amazon S3 CSI driver, whose role can only list and read
 *   the model prefix of the model bucket. The read-many model claim (s3ModelVolume.ts) mounts
 *   that prefix through it.
 *
 * Why Mountpoint for S3 and not EFS for the model claim (the read-many volume `pvc://` URIs name):
 * - How KServe mounts `pvc://`: for a single storageUri, KServe v0.20.0's pod webhook runs no storage
 *   initializer; it mounts the claim itself into the model container at /mnt/models with the URI's
 *   path as subPath, read-only unless the InferenceService sets `storage.kserve.io/readonly: "false"`
 *   (kserve/kserve v0.20.0 pkg/webhook/admission/pod/storage_initializer_injector.go
 *   `InjectStorageInitializer`, `CommonStorageInitialization`, `GetStorageInitializerReadOnlyFlag`;
 *   pkg/utils/storage.go `AddModelMount`). Every replica of every model mounts the same claim, on
 *   whatever node and zone Knative puts it: the volume must be ReadOnlyMany across nodes and zones,
 *   which EBS (one node, one zone) cannot be.
 * - Mountpoint serves the bucket itself: no copy, no second source of truth, nothing to keep in sync,
 *   nothing billed while idle beyond the objects already stored. S3 is regional, so replicas in any
 *   zone read the same objects. A `ReadOnlyMany` claim makes the driver mount with `--read-only`
 *   (awslabs/mountpoint-s3-csi-driver v2.7.0 pkg/driver/node/node.go `NodePublishVolume`), so no
 *   model pod can change a model, and pods on one node share one Mountpoint instance
 *   (docs/MOUNTPOINT_POD_SHARING.md).
 * - EFS would also be read-many across zones, but it is a copy (a seeding step per model, drift
 *   between the bucket and the file system), needs a file system, a mount target and security group
 *   per zone, and bills per GiB-month for data the bucket already holds.
 * - What Mountpoint cannot do (random writes, renames, appends) a read-only model volume never does;
 *   model servers read whole files sequentially, which is what it is built for.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { platformLabels } from "../common/labels";
import { IrsaRole, OidcProvider } from "./irsa";
import { bucketArns, kmsThroughS3Statement } from "./modelStore";
import { KubernetesVersion, storageDriverAddonVersion, storageDriverAddons } from "../../versions";

/**
 * The ServiceAccount each add-on's AWS client runs as (the add-on creates it and annotates it with
 * `serviceAccountRoleArn`): kubernetes-sigs/aws-ebs-csi-driver v1.64.0
 * charts/aws-ebs-csi-driver/values.yaml `controller.serviceAccount.name`; awslabs/mountpoint-s3-csi-driver
 * v2.7.0 charts/aws-mountpoint-s3-csi-driver/values.yaml `node.serviceAccount.name` (driver-level
 * credentials, docs/CONFIGURATION.md "Driver-Level Credentials with IRSA").
 */
export const storageDriverServiceAccounts = {
    ebsCsi: { namespace: "kube-system", name: "ebs-csi-controller-sa" },
    mountpointS3Csi: { namespace: "kube-system", name: "s3-csi-driver-sa" },
} as const;

/** CSI driver names (the `provisioner` of a StorageClass, `csi.driver` of a PersistentVolume). */
export const csiDriverNames = { ebs: "ebs.csi.aws.com", mountpointS3: "s3.csi.aws.com" } as const;

/**
 * Tag the EBS driver puts on every volume it creates (the add-on's `controller.extraVolumeTags`),
 * whose value is the cluster's name: the role's conditions confine it to this cluster's volumes.
 * Not a `kubernetes.io/` key (the driver rejects those as extra tags: pkg/driver/validation.go
 * `validateExtraTags`).
 */
export const ebsClusterTagKey = "inference-platform/cluster";

const ec2Arn = (region: string, resource: string) => `arn:aws:ec2:${region}:*:${resource}`;

/**
 * The EBS CSI driver's policy, scoped to one cluster. Derived from the calls of
 * kubernetes-sigs/aws-ebs-csi-driver v1.64.0 pkg/cloud/cloud.go (the contract in
 * test/iam/contracts/ebsCsiDriver.ts lists them) and shaped like the project's cluster-scoped example
 * (docs/AmazonEBSCSIDriverEKSClusterScopedPolicy.json), with the cluster's name written in instead of
 * a principal tag. What it leaves out on purpose:
 * - snapshots and volume copies (no snapshot controller runs here);
 * - tagging existing volumes (only tags set in the CreateVolume request itself, so a volume cannot
 *   be re-tagged into or out of the cluster);
 * - KMS: volumes are encrypted with the account's default EBS key, whose AWS-managed key policy lets
 *   EC2 use it for any principal of the account. An account whose EBS default key is a customer key
 *   must grant this role kms:CreateGrant/GenerateDataKeyWithoutPlaintext/Decrypt on it.
 * The driver's IOPS-limit probe (a dry-run CreateVolume without the cluster tag, `getVolumeLimits`)
 * is denied and falls back to the driver's built-in limits.
 */
export function ebsCsiDriverPolicy(args: { clusterName: string; region: string }): aws.iam.PolicyDocument {
    const volumes = ec2Arn(args.region, "volume/*");
    const instances = ec2Arn(args.region, "instance/*");
    const ownVolume = { StringEquals: { [`aws:ResourceTag/${ebsClusterTagKey}`]: args.clusterName } };
    return {
        Version: "2012-10-17",
        Statement: [
            {
                // Describe calls have no resource-level permissions (the policy pack's documented
                // exception `ebs-csi-driver` covers this statement).
                Sid: "Describe",
                Effect: "Allow",
                Action: [
                    "ec2:DescribeAvailabilityZones",
                    "ec2:DescribeInstances",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeVolumes",
                    "ec2:DescribeVolumesModifications",
                    "ec2:DescribeVolumeStatus",
                ],
                Resource: "*",
            },
            {
                Sid: "CreateClusterVolumes",
                Effect: "Allow",
                Action: "ec2:CreateVolume",
                Resource: volumes,
                Condition: { StringEquals: { [`aws:RequestTag/${ebsClusterTagKey}`]: args.clusterName } },
            },
            {
                Sid: "TagVolumesOnCreation",
                Effect: "Allow",
                Action: "ec2:CreateTags",
                Resource: volumes,
                Condition: { StringEquals: { "ec2:CreateAction": "CreateVolume" } },
            },
            {
                Sid: "ManageClusterVolumes",
                Effect: "Allow",
                Action: ["ec2:AttachVolume", "ec2:DetachVolume", "ec2:ModifyVolume", "ec2:DeleteVolume"],
                Resource: volumes,
                Condition: ownVolume,
            },
            {
                // Managed node groups' instances carry `eks:cluster-name` (the upstream cluster-scoped
                // policy's AttachDetachVolumesToClusterInstance statement relies on it).
                Sid: "AttachToNodeGroupNodes",
                Effect: "Allow",
                Action: ["ec2:AttachVolume", "ec2:DetachVolume"],
                Resource: instances,
                Condition: { StringEquals: { "aws:ResourceTag/eks:cluster-name": args.clusterName } },
            },
            {
                // Nodes Karpenter launches carry `kubernetes.io/cluster/<name>: owned` (aws/karpenter-provider-aws
                // v1.14.1 reference CloudFormation: its controller may only launch instances with that tag).
                Sid: "AttachToClusterOwnedNodes",
                Effect: "Allow",
                Action: ["ec2:AttachVolume", "ec2:DetachVolume"],
                Resource: instances,
                Condition: { StringEquals: { [`aws:ResourceTag/kubernetes.io/cluster/${args.clusterName}`]: "owned" } },
            },
        ],
    };
}

/**
 * Mountpoint's read-only access to the model prefix: list under it, read objects under it, decrypt
 * only through S3 when the bucket uses a KMS key. Mountpoint (awslabs/mountpoint-s3 mountpoint-s3-1.22.3,
 * the client the CSI driver v2.7.0 ships) always lists with a prefix inside the mounted one (its
 * startup check, lookups and readdir), so unlike the storage initializer's role the listing
 * condition is a plain `StringLike` that a listing of the whole bucket does not pass.
 */
export function mountpointModelReaderPolicy(args: { bucketName: string; prefix: string; region: string; kmsKeyArn?: string }): aws.iam.PolicyDocument {
    if (!/^[a-z0-9][a-z0-9._-]*\/([a-z0-9][a-z0-9._-]*\/)*$/.test(args.prefix)) {
        throw new Error(`mountpointModelReaderPolicy: prefix '${args.prefix}' must be a non-empty key prefix ending in '/'`);
    }
    const arns = bucketArns(args.bucketName, args.prefix);
    const statements: aws.iam.PolicyStatement[] = [
        { Sid: "ListModelPrefix", Effect: "Allow", Action: "s3:ListBucket", Resource: arns.bucket, Condition: { StringLike: { "s3:prefix": [`${args.prefix}*`] } } },
        { Sid: "ReadModels", Effect: "Allow", Action: "s3:GetObject", Resource: arns.objects },
    ];
    if (args.kmsKeyArn) statements.push(kmsThroughS3Statement(args.kmsKeyArn, args.region, "kms:Decrypt"));
    return { Version: "2012-10-17", Statement: statements };
}

/** The add-on's `configurationValues`: the cluster tag on every volume the driver creates. */
export function ebsCsiAddonConfiguration(clusterName: string): string {
    return JSON.stringify({ controller: { extraVolumeTags: { [ebsClusterTagKey]: clusterName } } });
}

/** The default StorageClass: encrypted gp3, created where its first pod is scheduled, expandable. */
export function gp3StorageClassSpec() {
    return {
        metadata: {
            name: "gp3",
            labels: { ...platformLabels },
            annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
        },
        provisioner: csiDriverNames.ebs,
        // kubernetes-sigs/aws-ebs-csi-driver v1.64.0 docs/parameters.md: `type`, `encrypted` and the
        // case-sensitive `csi.storage.k8s.io/fstype` (pkg/driver/constants.go VolumeTypeKey, EncryptedKey, FSTypeKey).
        parameters: { type: "gp3", encrypted: "true", "csi.storage.k8s.io/fstype": "ext4" },
        // A volume lives in one zone: create it in the zone of the pod that first uses it.
        volumeBindingMode: "WaitForFirstConsumer",
        reclaimPolicy: "Delete",
        allowVolumeExpansion: true,
    };
}

interface AddonArgs {
    /** The cluster's name. Required. */
    readonly clusterName: pulumi.Input<string>;
    /** The cluster's Kubernetes minor (picks the add-on version). Required. */
    readonly kubernetesVersion: KubernetesVersion;
    /** The cluster's OIDC provider (IRSA). Required. */
    readonly oidcProvider: OidcProvider;
    /** What the add-on waits for: nodes to run on. Default: none. */
    readonly waitFor?: pulumi.Input<pulumi.Resource>[];
    /** Tags on AWS resources. Default: none. */
    readonly tags?: Record<string, string>;
}

export interface EbsCsiDriverArgs extends AddonArgs {
    /** The cluster's name as a plain string (it goes into the role's conditions). Required. */
    readonly clusterNameValue: string;
    /** AWS region of the cluster. Required. */
    readonly region: string;
    /** Make the gp3 StorageClass the cluster's default. Default: true. */
    readonly defaultStorageClass?: boolean;
}

/** The EBS CSI driver add-on, its IRSA role and the gp3 default StorageClass. */
export class EbsCsiDriver extends pulumi.ComponentResource {
    public readonly role: IrsaRole;
    public readonly addon: aws.eks.Addon;
    public readonly storageClass: k8s.storage.v1.StorageClass;
    public readonly storageClassName: pulumi.Output<string>;

    constructor(name: string, args: EbsCsiDriverArgs, opts?: pulumi.ComponentResourceOptions) {
        super("inference-platform:aws:EbsCsiDriver", name, {}, opts);
        const sa = storageDriverServiceAccounts.ebsCsi;
        // The policy pack's documented-wildcard exception matches `ebs-csi-driver` in this role's name.
        this.role = new IrsaRole(
            `${name}-ebs-csi-driver`,
            {
                oidcProvider: args.oidcProvider,
                namespace: sa.namespace,
                serviceAccountName: sa.name,
                description: `EBS CSI driver of ${args.clusterNameValue}: volumes tagged ${ebsClusterTagKey}=${args.clusterNameValue} only`,
                policy: ebsCsiDriverPolicy({ clusterName: args.clusterNameValue, region: args.region }),
                tags: args.tags,
            },
            { parent: this },
        );
        this.addon = new aws.eks.Addon(
            `${name}-addon`,
            {
                clusterName: args.clusterName,
                addonName: storageDriverAddons.ebsCsi.addonName,
                addonVersion: storageDriverAddonVersion("ebsCsi", args.kubernetesVersion),
                serviceAccountRoleArn: this.role.roleArn,
                configurationValues: ebsCsiAddonConfiguration(args.clusterNameValue),
                resolveConflictsOnCreate: "OVERWRITE",
                resolveConflictsOnUpdate: "OVERWRITE",
                tags: args.tags,
            },
            // The role's policy must exist before the controller's first call; the controller needs nodes.
            { parent: this, dependsOn: [this.role, ...(args.waitFor ?? [])] },
        );
        const spec = gp3StorageClassSpec();
        const annotations = args.defaultStorageClass === false ? {} : spec.metadata.annotations;
        this.storageClass = new k8s.storage.v1.StorageClass(
            `${name}-gp3`,
            { ...spec, metadata: { ...spec.metadata, annotations } },
            { parent: this, dependsOn: [this.addon] },
        );
        this.storageClassName = this.storageClass.metadata.name;
        this.registerOutputs({ roleArn: this.role.roleArn, addonVersion: this.addon.addonVersion, storageClassName: this.storageClassName });
    }
}

export interface MountpointS3DriverArgs extends AddonArgs {
    /** The model bucket. Required. */
    readonly bucketName: pulumi.Input<string>;
    /** Key prefix the role may read (the model prefix, ends with `/`). Required. */
    readonly prefix: string;
    /** AWS region of the bucket. Required. */
    readonly region: string;
    /** The bucket's KMS key, when SSE-KMS. Default: none. */
    readonly kmsKeyArn?: pulumi.Input<string>;
}

/** The Mountpoint for Amazon S3 CSI driver add-on and its read-only IRSA role. */
export class MountpointS3Driver extends pulumi.ComponentResource {
    public readonly role: IrsaRole;
    public readonly addon: aws.eks.Addon;

    constructor(name: string, args: MountpointS3DriverArgs, opts?: pulumi.ComponentResourceOptions) {
        super("inference-platform:aws:MountpointS3Driver", name, {}, opts);
        const sa = storageDriverServiceAccounts.mountpointS3Csi;
        this.role = new IrsaRole(
            `${name}-mountpoint-s3`,
            {
                oidcProvider: args.oidcProvider,
                namespace: sa.namespace,
                serviceAccountName: sa.name,
                description: `Mountpoint for S3 CSI driver: read-only access to ${args.prefix} of the model store`,
                policy: pulumi
                    .all([args.bucketName, args.kmsKeyArn])
                    .apply(([bucketName, kmsKeyArn]) => mountpointModelReaderPolicy({ bucketName, prefix: args.prefix, region: args.region, kmsKeyArn })),
                tags: args.tags,
            },
            { parent: this },
        );
        this.addon = new aws.eks.Addon(
            `${name}-addon`,
            {
                clusterName: args.clusterName,
                addonName: storageDriverAddons.mountpointS3Csi.addonName,
                addonVersion: storageDriverAddonVersion("mountpointS3Csi", args.kubernetesVersion),
                serviceAccountRoleArn: this.role.roleArn,
                resolveConflictsOnCreate: "OVERWRITE",
                resolveConflictsOnUpdate: "OVERWRITE",
                tags: args.tags,
            },
            { parent: this, dependsOn: [this.role, ...(args.waitFor ?? [])] },
        );
        this.registerOutputs({ roleArn: this.role.roleArn, addonVersion: this.addon.addonVersion });
    }
}
