/**
 * The seeding writer role, as our seeding Job's `seed.py` uses it (components/modelSeeding.ts, run
 * with the boto3 of `kserve/storage-initializer:v0.20.0`: boto3 1.38.33, s3transfer 0.13.0, pinned by
 * kserve/kserve v0.20.0 python/storage/uv.lock). Its calls:
 *   listing(prefix)            → s3.get_paginator("list_objects_v2").paginate(Bucket, Prefix): ListObjectsV2
 *                                 (for each model's destination and for its `_seeded/` marker)
 *   copy(): upload_fileobj()   → s3transfer 0.13.0: below 8 MiB `PutObjectTask._main` put_object, above it
 *                                 `CreateMultipartUploadTask`, `UploadPartTask`, `CompleteMultipartUploadTask`,
 *                                 and abort_multipart_upload when a part fails (s3transfer/tasks.py,
 *                                 s3transfer/upload.py)
 *   copy(): put_object(marker) → PutObject
 * It never reads objects back, deletes, or lists without a prefix.
 */
import { AccessContract, ForbiddenCall, NeededCall, uniqueRows } from "../contract";
import type { RenderedStack } from "../renderedStack";
import { bucketArn, BucketEncryption, kmsViaS3, objectArn, s3transfer, s3UserGuideSseKms, tls } from "./s3";

const seedPy = "inference-platform components/modelSeeding.ts seedScript";

/** What the rendered seeding Job will do: its bucket, ServiceAccount and manifest. */
export interface SeedingUse {
    readonly bucket: string;
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly prefix: string;
    readonly models: readonly { readonly name: string; readonly dest: string; readonly source?: { readonly kind: string; readonly files?: readonly { readonly path: string; readonly size: number }[] } }[];
}

/** Seeding Jobs of the rendered stack that write to S3 (MinIO seeding has no IAM role). */
export function seedingUses(stack: RenderedStack): SeedingUse[] {
    const manifests = stack
        .byType("kubernetes:core/v1:ConfigMap")
        .filter((c) => c.inputs.data?.["seed.py"] && c.inputs.data?.["manifest.json"])
        .map((c) => JSON.parse(c.inputs.data["manifest.json"]) as { prefix: string; models: { name: string; dest: string }[] });
    const uses: SeedingUse[] = [];
    for (const job of stack.byType("kubernetes:batch/v1:Job")) {
        const pod = job.inputs.spec?.template?.spec ?? {};
        const env: { name: string; value?: string }[] = pod.containers?.[0]?.env ?? [];
        const bucket = env.find((e) => e.name === "SEED_BUCKET")?.value;
        if (!bucket || env.some((e) => e.name === "AWS_ENDPOINT_URL")) continue;
        if (manifests.length !== 1) throw new Error(`expected one seeding manifest, found ${manifests.length}`);
        uses.push({ bucket, namespace: job.inputs.metadata.namespace, serviceAccount: pod.serviceAccountName, ...manifests[0] });
    }
    return uses;
}

export function modelWriterContract(args: { readonly use: SeedingUse; readonly region: string; readonly accountId: string; readonly encryption: BucketEncryption }): AccessContract {
    const { bucket, prefix } = args.use;
    const needed: NeededCall[] = [];
    const list = (keyPrefix: string, what: string): NeededCall => ({
        call: `ListObjectsV2 Prefix=${keyPrefix} (${what})`,
        action: "s3:ListBucket",
        resource: bucketArn(bucket),
        context: { ...tls, "s3:prefix": keyPrefix },
        source: `${seedPy} listing`,
    });
    const put = (key: string, call: string, source: string): NeededCall[] => {
        const rows: NeededCall[] = [{ call: `${call} ${key}`, action: "s3:PutObject", resource: objectArn(bucket, key), context: { ...tls }, source }];
        if (args.encryption.algorithm === "aws:kms") {
            rows.push({
                call: `${call} ${key} into SSE-KMS (S3 generates the data key)`,
                action: "kms:GenerateDataKey",
                resource: args.encryption.kmsKeyArn!,
                context: kmsViaS3({ region: args.region, accountId: args.accountId }),
                source: `${source}; ${s3UserGuideSseKms}`,
            });
        }
        return rows;
    };
    /** s3transfer 0.13.0 TransferConfig.multipart_threshold: 8 MiB. */
    const multipartThreshold = 8 * 1024 * 1024;
    for (const model of args.use.models) {
        const dest = `${prefix}${model.dest}`;
        const marker = `${prefix}_seeded/${model.name}/0123456789abcdef`;
        if (model.source?.kind === "huggingface") {
            // seed.py copy_hub: each pinned file, verified, then upload_fileobj to <dest><path>; the marker last.
            needed.push(list(dest, "what is already there"), list(marker, "is the model seeded"));
            for (const f of model.source.files ?? []) {
                const key = `${dest}${f.path}`;
                if (f.size > multipartThreshold) {
                    needed.push(
                        ...put(key, "CreateMultipartUpload (upload_fileobj, above 8 MiB)", `${seedPy} copy_hub; ${s3transfer} s3transfer/tasks.py CreateMultipartUploadTask._main`),
                        ...put(key, "UploadPart", `${seedPy} copy_hub; ${s3transfer} s3transfer/upload.py UploadPartTask._main`),
                        ...put(key, "CompleteMultipartUpload", `${seedPy} copy_hub; ${s3transfer} s3transfer/tasks.py CompleteMultipartUploadTask._main`),
                        { call: `AbortMultipartUpload ${key} (a part failed)`, action: "s3:AbortMultipartUpload", resource: objectArn(bucket, key), context: { ...tls }, source: `${seedPy} copy_hub; ${s3transfer} s3transfer/tasks.py CreateMultipartUploadTask._main` },
                    );
                    if (args.encryption.algorithm === "aws:kms") {
                        needed.push({ call: `CompleteMultipartUpload ${key} into SSE-KMS`, action: "kms:Decrypt", resource: args.encryption.kmsKeyArn!, context: kmsViaS3({ region: args.region, accountId: args.accountId }), source: `${seedPy} copy_hub; ${s3UserGuideSseKms} (multipart uploads need kms:Decrypt)` });
                    }
                } else {
                    needed.push(...put(key, "PutObject (upload_fileobj, below 8 MiB)", `${seedPy} copy_hub; ${s3transfer} s3transfer/upload.py PutObjectTask._main`));
                }
            }
            needed.push(...put(marker, "PutObject marker (put_object)", `${seedPy} copy`));
            continue;
        }
        const file = `${dest}1/saved_model.pb`;
        needed.push(
            list(dest, "what is already there"),
            list(marker, "is the model seeded"),
            ...put(file, "PutObject (upload_fileobj, below 8 MiB)", `${seedPy} copy; ${s3transfer} s3transfer/upload.py PutObjectTask._main`),
            ...put(`${dest}1/variables/variables.data-00000-of-00001`, "CreateMultipartUpload (upload_fileobj, above 8 MiB)", `${seedPy} copy; ${s3transfer} s3transfer/tasks.py CreateMultipartUploadTask._main`),
            ...put(`${dest}1/variables/variables.data-00000-of-00001`, "UploadPart", `${seedPy} copy; ${s3transfer} s3transfer/upload.py UploadPartTask._main`),
            ...put(`${dest}1/variables/variables.data-00000-of-00001`, "CompleteMultipartUpload", `${seedPy} copy; ${s3transfer} s3transfer/tasks.py CompleteMultipartUploadTask._main`),
            {
                call: `AbortMultipartUpload ${dest}1/variables/variables.data-00000-of-00001 (a part failed)`,
                action: "s3:AbortMultipartUpload",
                resource: objectArn(bucket, `${dest}1/variables/variables.data-00000-of-00001`),
                context: { ...tls },
                source: `${seedPy} copy; ${s3transfer} s3transfer/tasks.py CreateMultipartUploadTask._main (registers abort_multipart_upload as cleanup)`,
            },
            ...put(marker, "PutObject marker (put_object)", `${seedPy} copy`),
        );
        if (args.encryption.algorithm === "aws:kms") {
            needed.push({
                call: `CompleteMultipartUpload ${dest}… into SSE-KMS (S3 decrypts the parts' data key)`,
                action: "kms:Decrypt",
                resource: args.encryption.kmsKeyArn!,
                context: kmsViaS3({ region: args.region, accountId: args.accountId }),
                source: `${seedPy} copy; ${s3UserGuideSseKms} (multipart uploads need kms:Decrypt)`,
            });
        }
    }
    const inside = `${prefix}${args.use.models[0].dest}1/saved_model.pb`;
    const forbidden: ForbiddenCall[] = [
        ...["s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl", "s3:GetObjectVersion"].map((action) => ({
            call: `${action} in the model prefix`,
            action,
            resource: objectArn(bucket, inside),
            context: { ...tls },
            why: "seeding only lists and writes",
        })),
        { call: "PutObject outside the model prefix", action: "s3:PutObject", resource: objectArn(bucket, "secrets/credentials.json"), context: { ...tls }, why: "writes stay under the prefix" },
        { call: "PutObject at the bucket root", action: "s3:PutObject", resource: objectArn(bucket, "index.html"), context: { ...tls }, why: "writes stay under the prefix" },
        { call: "ListObjectsV2 under another prefix", action: "s3:ListBucket", resource: bucketArn(bucket), context: { ...tls, "s3:prefix": "secrets/" }, why: "listing stays under the prefix" },
        { call: "ListObjectsV2 without a prefix", action: "s3:ListBucket", resource: bucketArn(bucket), context: { ...tls }, why: "seed.py always passes Prefix" },
        { call: "PutObject without TLS", action: "s3:PutObject", resource: objectArn(bucket, inside), context: { "aws:SecureTransport": "false" }, why: "the bucket policy denies plain HTTP" },
        { call: "PutObject into another bucket", action: "s3:PutObject", resource: objectArn("another-bucket", inside), context: { ...tls }, why: "only the model store" },
        ...["s3:PutBucketPolicy", "s3:DeleteBucket", "s3:PutLifecycleConfiguration"].map((action) => ({ call: action, action, resource: bucketArn(bucket), context: { ...tls }, why: "no bucket administration" })),
        { call: "iam:PassRole", action: "iam:PassRole", resource: `arn:aws:iam::${args.accountId}:role/any-role`, why: "no role hand-off" },
    ];
    if (args.encryption.algorithm === "aws:kms") {
        forbidden.push(
            { call: "kms:GenerateDataKey called directly (not through S3)", action: "kms:GenerateDataKey", resource: args.encryption.kmsKeyArn!, context: { "kms:CallerAccount": args.accountId }, why: "the key is for S3 objects only" },
            { call: "kms:Decrypt called directly (not through S3)", action: "kms:Decrypt", resource: args.encryption.kmsKeyArn!, context: { "kms:CallerAccount": args.accountId }, why: "the key is for S3 objects only" },
        );
    }
    return { client: "seed.py on the KServe storage-initializer v0.20.0 image (boto3 1.38.33, s3transfer 0.13.0)", needed: uniqueRows(needed), forbidden: uniqueRows(forbidden) };
}
