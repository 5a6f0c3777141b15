/**
 * The S3 model store: a private, encrypted, versioned bucket that only TLS clients may use, a
 * read-only IRSA role for model servers, and the Kubernetes namespace and ServiceAccount that
 * KServe models run as.
 *
 * Teardown: models are data, not infrastructure. On an ephemeral stack the bucket is emptied and
 * deleted with everything else. Otherwise `pulumi destroy` completes but keeps the bucket, its
 * protections (public access block, TLS-only policy, encryption, versioning) and the KMS key that
 * can decrypt it (`retainOnDelete`): a plain delete would fail on a non-empty bucket with
 * BucketNotEmpty and stop the destroy halfway, and deleting only the key would make the kept
 * objects unreadable. The README's Teardown section says how to delete them by hand.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { formerUrn } from "../common/aliases";
import type { ModelStorage } from "../common/foundation";
import { platformLabels } from "../common/labels";
import { IrsaRole, OidcProvider } from "./irsa";
import { ModelNamespace } from "../common/modelNamespace";

/** Server-side encryption of the bucket: `AES256` (SSE-S3) or `aws:kms` (SSE-KMS). */
export type BucketEncryption = "AES256" | "aws:kms";

/** The model bucket as the stack's config describes it (config keys `modelBucketPrefix`, `bucketEncryption`, ...). */
export interface ModelStoreSettings {
    /** Prefix of the bucket's name (a random suffix follows). */
    readonly bucketNamePrefix: string;
    readonly encryption: BucketEncryption;
    /** Existing KMS key for `aws:kms`; unset makes the stack create one. */
    readonly kmsKeyArn: string | undefined;
    readonly versioning: boolean;
    /** Days before noncurrent object versions expire. */
    readonly noncurrentVersionExpirationDays: number;
    /** Key prefix (no leading slash, trailing slash) under which models live. */
    readonly modelPrefix: string;
}

/** The bucket's ARN and the ARN of every object under `prefix`. */
export function bucketArns(bucketName: string, prefix = "") {
    return { bucket: `arn:aws:s3:::${bucketName}`, objects: `arn:aws:s3:::${bucketName}/${prefix}*` };
}

/**
 * The KMS statement a role needs to use SSE-KMS objects of the bucket: `actions` on the key, only
 * when S3 calls KMS on the role's behalf (`kms:ViaService`), never directly.
 */
export function kmsThroughS3Statement(kmsKeyArn: string, region: string, actions: string | string[], sid = "DecryptModels"): aws.iam.PolicyStatement {
    return { Sid: sid, Effect: "Allow", Action: actions, Resource: kmsKeyArn, Condition: { StringEquals: { "kms:ViaService": `s3.${region}.amazonaws.com` } } };
}

/** Bucket policy: deny every request that does not use TLS (the AWS-recommended statement). */
export function tlsOnlyBucketPolicy(bucketName: string): aws.iam.PolicyDocument {
    const arns = bucketArns(bucketName);
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [arns.bucket, arns.objects],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ],
    };
}

/**
 * Read-only access to the models for KServe's storage initializer: find the bucket, list the model
 * prefix, get objects under it; decrypt only through S3 when the bucket uses a KMS key.
 *
 * The calls (kserve/kserve v0.20.0, python/storage/kserve_storage/kserve_storage.py,
 * `Storage._download_s3` and `Storage._download_s3_object`): `head_bucket` (HeadBucket), then
 * `Bucket.objects.filter(Prefix=<key prefix of the storageUri>)` (ListObjects), then `download_file`
 * per object (HeadObject + GetObject). S3 authorizes HeadBucket and ListObjects as `s3:ListBucket`
 * on the bucket and HeadObject/GetObject as `s3:GetObject` on the object (Amazon S3 API Reference,
 * HeadBucket "Permissions"; "Required permissions for Amazon S3 API operations").
 */
export function modelReaderPolicy(args: {
    bucketName: string;
    modelPrefix: string;
    region: string;
    kmsKeyArn?: string;
}): aws.iam.PolicyDocument {
    const arns = bucketArns(args.bucketName, args.modelPrefix);
    const statements: aws.iam.PolicyStatement[] = [
        {
            // HeadBucket has no prefix parameter, so its s3:ListBucket request carries no `s3:prefix`:
            // a plain `StringLike` on `s3:prefix` denies it and the storage initializer fails before it
            // lists anything. `...IfExists` admits the request without a prefix and still confines
            // every listing that names one to the model prefix. No condition can do better: s3:prefix,
            // s3:delimiter and s3:max-keys come from request parameters, and a ListObjects that sends
            // none carries the same keys as HeadBucket, so whatever admits HeadBucket admits listing the
            // key names of this bucket. The bucket holds only models, and reading object contents
            // stays limited to the prefix (ReadModels).
            Sid: "ListModels",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: arns.bucket,
            Condition: { StringLikeIfExists: { "s3:prefix": [`${args.modelPrefix}*`] } },
        },
        { Sid: "ReadModels", Effect: "Allow", Action: "s3:GetObject", Resource: arns.objects },
    ];
    if (args.kmsKeyArn) statements.push(kmsThroughS3Statement(args.kmsKeyArn, args.region, "kms:Decrypt"));
    return { Version: "2012-10-17", Statement: statements };
}

/**
 * Writer policy for the seeding Job: put (and abort multipart uploads of) objects under the model
 * prefix, list only that prefix. No GetObject and no DeleteObject. With SSE-KMS, S3 needs
 * GenerateDataKey to encrypt new objects and Decrypt to complete multipart uploads; both only via S3.
 *
 * Derived from components/models/seeding/seed.py's calls through boto3 1.38.33 / s3transfer 0.13.0 (the versions the
 * `kserve/storage-initializer:v0.20.0` image runs it with, pinned in kserve/kserve v0.20.0
 * python/storage/uv.lock): `list_objects_v2` always with a Prefix under the model prefix (so the
 * plain `StringLike` on `s3:prefix` holds; it never calls HeadBucket), `upload_fileobj` (PutObject below
 * 8 MiB; CreateMultipartUpload, UploadPart, CompleteMultipartUpload above it, all authorized as
 * s3:PutObject, and AbortMultipartUpload on failure: s3transfer/upload.py `PutObjectTask`,
 * `UploadPartTask`, s3transfer/tasks.py `CreateMultipartUploadTask`, `CompleteMultipartUploadTask`),
 * and `put_object` for the marker. S3 calls kms:GenerateDataKey (writes) and kms:Decrypt (completing
 * multipart uploads) with the caller's permissions (Amazon S3 User Guide, "Using server-side
 * encryption with AWS KMS keys"). test/iam/contracts/modelWriter.ts holds these calls as a contract.
 */
export function modelWriterPolicy(args: {
    bucketName: string;
    modelPrefix: string;
    region: string;
    kmsKeyArn?: string;
}): aws.iam.PolicyDocument {
    if (!/^[a-z0-9][a-z0-9._-]*\/([a-z0-9][a-z0-9._-]*\/)*$/.test(args.modelPrefix)) {
        throw new Error(`modelWriterPolicy: modelPrefix '${args.modelPrefix}' must be a non-empty key prefix ending in '/'`);
    }
    const arns = bucketArns(args.bucketName, args.modelPrefix);
    const statements: aws.iam.PolicyStatement[] = [
        {
            Sid: "WriteModels",
            Effect: "Allow",
            Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
            Resource: arns.objects,
        },
        {
            Sid: "ListModels",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: arns.bucket,
            Condition: { StringLike: { "s3:prefix": [`${args.modelPrefix}*`] } },
        },
    ];
    if (args.kmsKeyArn) statements.push(kmsThroughS3Statement(args.kmsKeyArn, args.region, ["kms:GenerateDataKey", "kms:Decrypt"], "EncryptModels"));
    return { Version: "2012-10-17", Statement: statements };
}

/**
 * Annotations KServe reads from a ServiceAccount to configure S3 access for the storage
 * initializer. No `s3-endpoint`: KServe exports it as AWS_ENDPOINT_URL, which breaks
 * AssumeRoleWithWebIdentity against AWS S3 (kserve issue 3482).
 */
export function kserveIrsaServiceAccountAnnotations(roleArn: string, region: string): Record<string, string> {
    return {
        "eks.amazonaws.com/role-arn": roleArn,
        "serving.kserve.io/s3-region": region,
        "serving.kserve.io/s3-usehttps": "1",
        "serving.kserve.io/s3-useanoncredential": "false",
    };
}

export interface ModelStoreArgs {
    /** Prefix of the bucket name; Pulumi appends a random suffix. Required. */
    readonly bucketNamePrefix: string;
    /** AWS region of the bucket (for annotations and the KMS condition). Required. */
    readonly region: string;
    /** `AES256` (SSE-S3) or `aws:kms` (SSE-KMS). Default: `AES256`. */
    readonly encryption?: BucketEncryption;
    /** KMS key for `aws:kms`; unset with `aws:kms` creates a key with rotation. Default: unset. */
    readonly kmsKeyArn?: string;
    /** Keep object versions. Default: true. */
    readonly versioning?: boolean;
    /** Days before noncurrent versions expire. Default: 30. */
    readonly noncurrentVersionExpirationDays?: number;
    /** Prefix under which models live (ends with `/`). Default: `models/`. */
    readonly modelPrefix?: string;
    /** Throwaway stack: destroy empties and deletes the bucket; otherwise destroy keeps the bucket and its key. Default: false. */
    readonly ephemeral?: boolean;
    /** The cluster's OIDC provider, for the reader role. Required. */
    readonly oidcProvider: OidcProvider;
    /** Namespace of the models (created here). Required. */
    readonly namespace: string;
    /** ServiceAccount the models use (created here, bound to the reader role). Required. */
    readonly serviceAccountName: string;
    /** ServiceAccount of jobs that write models (created here, bound to the writer role). Default: `model-seeder`. */
    readonly writerServiceAccountName?: string;
    /** Tags on AWS resources. Default: none. */
    readonly tags?: Record<string, string>;
}

export class ModelStore extends pulumi.ComponentResource {
    public readonly bucket: aws.s3.Bucket;
    public readonly bucketName: pulumi.Output<string>;
    public readonly bucketArn: pulumi.Output<string>;
    public readonly kmsKeyArn: pulumi.Output<string> | undefined;
    public readonly modelPrefix: string;
    /** True when `pulumi destroy` keeps the bucket and its key (every non-ephemeral stack). */
    public readonly retainedOnDestroy: boolean;
    public readonly readerRole: IrsaRole;
    /** Write-only role of the seeding Job (put under the model prefix, list it). */
    public readonly writerRole: IrsaRole;
    public readonly writerServiceAccount: k8s.core.v1.ServiceAccount;
    /** The store as the `Foundation` contract describes it. */
    public readonly storage: ModelStorage;
    public readonly namespace: ModelNamespace;
    public readonly serviceAccount: k8s.core.v1.ServiceAccount;
    public readonly namespaceName: pulumi.Output<string>;
    public readonly serviceAccountName: pulumi.Output<string>;

    constructor(name: string, args: ModelStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("inference-platform:aws:ModelStore", name, {}, opts);
        const modelPrefix = args.modelPrefix ?? "models/";
        if (!/^[a-z0-9][a-z0-9._-]*\/$/.test(modelPrefix)) {
            throw new Error(`ModelStore ${name}: modelPrefix '${modelPrefix}' must be a relative key prefix ending in '/'`);
        }
        if (args.encryption !== "aws:kms" && args.kmsKeyArn) {
            throw new Error(`ModelStore ${name}: kmsKeyArn is set but encryption is not aws:kms`);
        }
        this.modelPrefix = modelPrefix;
        const tags = args.tags ?? {};
        this.retainedOnDestroy = args.ephemeral !== true;
        // Everything that holds or protects the models outlives a destroy of a non-ephemeral stack.
        const data = { parent: this, retainOnDelete: this.retainedOnDestroy };

        this.bucket = new aws.s3.Bucket(
            `${name}-bucket`,
            { bucketPrefix: args.bucketNamePrefix.endsWith("-") ? args.bucketNamePrefix : `${args.bucketNamePrefix}-`, forceDestroy: args.ephemeral === true, tags },
            data,
        );
        this.bucketName = this.bucket.bucket;
        this.bucketArn = this.bucket.arn;

        const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access`,
            { bucket: this.bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            data,
        );
        new aws.s3.BucketOwnershipControls(
            `${name}-ownership`,
            { bucket: this.bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
            data,
        );

        if (args.encryption === "aws:kms") {
            this.kmsKeyArn = args.kmsKeyArn
                ? pulumi.output(args.kmsKeyArn)
                : new aws.kms.Key(
                      `${name}-key`,
                      {
                          description: `Model store ${args.bucketNamePrefix}`,
                          enableKeyRotation: true,
                          deletionWindowInDays: args.ephemeral ? 7 : 30,
                          tags,
                      },
                      data,
                  ).arn;
        }
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            {
                bucket: this.bucket.id,
                rules: [
                    {
                        applyServerSideEncryptionByDefault: this.kmsKeyArn
                            ? { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.kmsKeyArn }
                            : { sseAlgorithm: "AES256" },
                        // S3 Bucket Keys cut KMS request costs by ~99% for model downloads.
                        bucketKeyEnabled: this.kmsKeyArn !== undefined,
                    },
                ],
            },
            data,
        );

        const versioning = args.versioning ?? true;
        const versioningConfig = new aws.s3.BucketVersioning(
            `${name}-versioning`,
            { bucket: this.bucket.id, versioningConfiguration: { status: versioning ? "Enabled" : "Suspended" } },
            data,
        );
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-lifecycle`,
            {
                bucket: this.bucket.id,
                rules: [
                    {
                        id: "expire-noncurrent-versions",
                        status: "Enabled",
                        filter: {},
                        noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionExpirationDays ?? 30 },
                    },
                    { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
                ],
            },
            { ...data, dependsOn: [versioningConfig] },
        );
        new aws.s3.BucketPolicy(
            `${name}-tls-only`,
            { bucket: this.bucket.id, policy: this.bucket.bucket.apply((b) => JSON.stringify(tlsOnlyBucketPolicy(b))) },
            // S3 rejects policies while a fresh public access block is still being applied.
            { ...data, dependsOn: [publicAccessBlock] },
        );

        this.readerRole = new IrsaRole(
            `${name}-reader`,
            {
                oidcProvider: args.oidcProvider,
                namespace: args.namespace,
                serviceAccountName: args.serviceAccountName,
                description: `Read-only access to ${modelPrefix} of the model store`,
                policy: pulumi
                    .all([this.bucket.bucket, this.kmsKeyArn])
                    .apply(([bucketName, kmsKeyArn]) => modelReaderPolicy({ bucketName, modelPrefix, region: args.region, kmsKeyArn })),
                tags,
            },
            { parent: this },
        );

        this.namespace = new ModelNamespace(`${name}-models`, { name: args.namespace }, { parent: this });
        this.serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            {
                metadata: {
                    name: args.serviceAccountName,
                    namespace: this.namespace.name,
                    labels: { "app.kubernetes.io/part-of": "inference-platform", "app.kubernetes.io/managed-by": "pulumi" },
                    annotations: this.readerRole.roleArn.apply((arn) => kserveIrsaServiceAccountAnnotations(arn, args.region)),
                },
            },
            // The role's policy must be attached before a model pod can use the account.
            { parent: this, dependsOn: [this.readerRole] },
        );
        this.namespaceName = this.namespace.name;
        this.serviceAccountName = this.serviceAccount.metadata.name;

        // The seeding Job's identity. It used to be created by the Job's own component (under the
        // examples); the aliases let existing stacks adopt the role and account where they now live.
        const formerSeeding = [
            { type: "inference-platform:models:ExampleModels", name: "examples" },
            { type: "inference-platform:models:ModelSeeding", name: "examples-seeding" },
        ];
        const writerServiceAccountName = args.writerServiceAccountName ?? "model-seeder";
        this.writerRole = new IrsaRole(
            `${name}-writer`,
            {
                oidcProvider: args.oidcProvider,
                namespace: args.namespace,
                serviceAccountName: writerServiceAccountName,
                description: `Seeding Job: write-only access to ${modelPrefix} of the model store`,
                policy: pulumi
                    .all([this.bucket.bucket, this.kmsKeyArn])
                    .apply(([bucketName, kmsKeyArn]) => modelWriterPolicy({ bucketName, modelPrefix, region: args.region, kmsKeyArn })),
                tags,
            },
            { parent: this, aliases: [formerUrn("inference-platform:aws:IrsaRole", "examples-seeding-writer", formerSeeding)] },
        );
        this.writerServiceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-writer-sa`,
            {
                metadata: {
                    name: writerServiceAccountName,
                    namespace: this.namespace.name,
                    labels: { "app.kubernetes.io/name": "model-seeding", ...platformLabels },
                    annotations: { "eks.amazonaws.com/role-arn": this.writerRole.roleArn },
                },
                // IRSA's webhook mounts its own projected token; the Kubernetes API token is not needed.
                automountServiceAccountToken: false,
            },
            // The role's inline policy must exist before the Job's first request.
            { parent: this, dependsOn: [this.writerRole], aliases: [formerUrn("kubernetes:core/v1:ServiceAccount", "examples-seeding-sa", formerSeeding)] },
        );

        // boto3 signs for the bucket's region; the IRSA webhook adds the web-identity credentials.
        const regionEnv = [
            { name: "AWS_REGION", value: args.region },
            { name: "AWS_DEFAULT_REGION", value: args.region },
        ];
        this.storage = {
            bucket: this.bucketName,
            modelPrefix,
            namespace: this.namespaceName,
            readerServiceAccountName: this.serviceAccountName,
            // The inference server's storage initializer gets its credentials from the IRSA webhook.
            readerEnv: [],
            writerServiceAccountName: this.writerServiceAccount.metadata.name,
            writerEnv: regionEnv,
            // No endpoint on AWS: it would break the storage initializer's AssumeRoleWithWebIdentity (kserve/kserve#3482).
            kserveDefaults: { region: args.region },
            // Everything in the store: bucket and its policies, both roles and both accounts.
            ready: [this],
        };

        this.registerOutputs({
            bucketName: this.bucketName,
            bucketArn: this.bucketArn,
            retainedOnDestroy: this.retainedOnDestroy,
            readerRoleArn: this.readerRole.roleArn,
            writerRoleArn: this.writerRole.roleArn,
            namespace: this.namespaceName,
            serviceAccountName: this.serviceAccountName,
        });
    }
}
