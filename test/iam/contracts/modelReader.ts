/**
 * The model reader role, as KServe's storage initializer v0.20.0 uses it (the image
 * `kserve/storage-initializer:v0.20.0`, run by KServe for every InferenceService with an `s3://`
 * storageUri and by our own inference server Deployments as an init container).
 *
 * kserve/kserve v0.20.0 python/storage/kserve_storage/kserve_storage.py, `Storage._download_s3`:
 *   s3 = boto3.resource("s3"); s3.meta.client.head_bucket(Bucket=bucket)   → HeadBucket
 *   for obj in s3.Bucket(bucket).objects.filter(Prefix=path)               → ListObjects (boto3's
 *     resource model maps Bucket.objects to ListObjects: boto/boto3 1.38.33, the version KServe's
 *     python/storage/uv.lock pins, boto3/data/s3/2006-03-01/resources-1.json)
 * then `Storage._download_s3_object` (one process per object): bucket.download_file(key, target)
 *   → s3transfer 0.13.0 s3transfer/download.py: `DownloadSubmissionTask._submit` head_object, then
 *     `GetObjectTask._main` get_object (ranged above 8 MiB)                → HeadObject, GetObject
 */
import { AccessContract, ForbiddenCall, NeededCall, uniqueRows } from "../contract";
import type { RenderedResource, RenderedStack } from "../renderedStack";
import { boto3, bucketArn, BucketEncryption, kmsViaS3, objectArn, parseS3Uri, s3transfer, s3UserGuideSseKms, tls } from "./s3";

const kserve = "kserve/kserve v0.20.0 python/storage/kserve_storage/kserve_storage.py";

/** One place the storage initializer downloads a model with an IRSA ServiceAccount. */
export interface StorageInitializerUse {
    readonly uri: string;
    /** `predictor.model.modelFormat.name` of an InferenceService (what the runtime then loads); undefined for other pods. */
    readonly modelFormat?: string;
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly declaredBy: string;
}

/**
 * Every `s3://` download in the rendered stack: InferenceService predictors (KServe injects the
 * storage initializer and runs it as the predictor's ServiceAccount) and pods whose init container
 * runs the storage-initializer image on an `s3://` argument.
 */
export function storageInitializerUses(stack: RenderedStack): StorageInitializerUse[] {
    const uses: StorageInitializerUse[] = [];
    for (const isvc of stack.byType("kubernetes:serving.kserve.io/v1beta1:InferenceService")) {
        const predictor = isvc.inputs.spec?.predictor ?? {};
        for (const component of Object.values(predictor)) {
            const uri = (component as { storageUri?: unknown })?.storageUri;
            if (typeof uri === "string" && uri.startsWith("s3://")) {
                const modelFormat = (component as { modelFormat?: { name?: string } })?.modelFormat?.name;
                uses.push({ uri, modelFormat, namespace: isvc.inputs.metadata.namespace, serviceAccount: predictor.serviceAccountName ?? "default", declaredBy: `InferenceService ${isvc.name}` });
            }
        }
    }
    const podOwners = (r: RenderedResource) => ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job"].includes(r.type);
    for (const owner of stack.resources.filter(podOwners)) {
        const pod = owner.inputs.spec?.template?.spec ?? {};
        for (const c of pod.initContainers ?? []) {
            const uri = [...(c.args ?? []), ...(c.command ?? [])].find((a: unknown) => typeof a === "string" && a.startsWith("s3://"));
            if (String(c.image).includes("storage-initializer") && uri) {
                uses.push({ uri, namespace: owner.inputs.metadata.namespace, serviceAccount: pod.serviceAccountName ?? "default", declaredBy: `${owner.type} ${owner.name}` });
            }
        }
    }
    return uses;
}

/** Keys and prefixes no model lives under (the contract checks no download URI points there). */
export const notModels = { key: "secrets/credentials.json", prefix: "secrets/" } as const;

/**
 * Files the storage initializer downloads under a model's prefix, by model format, as the runtime
 * then reads them: TF Serving a version directory (`1/saved_model.pb`); the Hugging Face runtime a
 * snapshot (kserve/kserve v0.20.0 python/huggingfaceserver/huggingfaceserver/__main__.py reads
 * `config.json` through `AutoConfig.from_pretrained(/mnt/models)`, vLLM loads `*.safetensors` and
 * the tokenizer's `tokenizer.json`). Each large one (a safetensors file of ~1 GB) is fetched with
 * ranged GETs: s3transfer 0.13.0 s3transfer/download.py splits objects above 8 MiB into
 * `Range: bytes=` parts (`DownloadSubmissionTask._submit_ranged_download_request`), each authorized
 * as s3:GetObject on the object.
 */
export function downloadedFiles(modelFormat: string | undefined): { key: string; ranged: boolean }[] {
    if (modelFormat === "huggingface") {
        return [
            { key: "config.json", ranged: false },
            { key: "tokenizer.json", ranged: false },
            { key: "model.safetensors", ranged: true },
        ];
    }
    return [{ key: "1/saved_model.pb", ranged: false }];
}

export function modelReaderContract(args: {
    /** The `s3://` URIs the storage initializer downloads with this role (with the model format, when an InferenceService says it). */
    readonly uris: readonly (string | { readonly uri: string; readonly modelFormat?: string })[];
    readonly region: string;
    readonly accountId: string;
    /** Default encryption of the bucket the URIs point into. */
    readonly encryption: BucketEncryption;
}): AccessContract {
    const needed: NeededCall[] = [];
    const forbidden: ForbiddenCall[] = [];
    const buckets = new Set<string>();
    for (const entry of args.uris) {
        const { uri, modelFormat } = typeof entry === "string" ? { uri: entry, modelFormat: undefined } : entry;
        const { bucket, keyPrefix } = parseS3Uri(uri);
        buckets.add(bucket);
        // Files of the model: KServe lists the URI's prefix and downloads every object below it.
        const files = downloadedFiles(modelFormat).map((f) => ({ ...f, key: `${keyPrefix.replace(/\/$/, "")}/${f.key}` }));
        for (const file of files.slice(1)) {
            needed.push(
                { call: `HeadObject ${file.key} (download_file)`, action: "s3:GetObject", resource: objectArn(bucket, file.key), context: { ...tls }, source: `${kserve} Storage._download_s3_object; ${s3transfer} s3transfer/download.py DownloadSubmissionTask._submit` },
                {
                    call: `GetObject ${file.key}${file.ranged ? " Range=bytes=8388608-16777215 (one part of a ranged download)" : ""}`,
                    action: "s3:GetObject",
                    resource: objectArn(bucket, file.key),
                    context: { ...tls },
                    source: `${kserve} Storage._download_s3_object; ${s3transfer} s3transfer/download.py ${file.ranged ? "DownloadSubmissionTask._submit_ranged_download_request" : "GetObjectTask._main"}`,
                },
            );
        }
        const fileKey = files[0].key;
        needed.push(
            { call: `HeadBucket ${bucket} (s3.meta.client.head_bucket)`, action: "s3:ListBucket", resource: bucketArn(bucket), context: { ...tls }, source: `${kserve} Storage._download_s3` },
            {
                call: `ListObjects Prefix=${keyPrefix} (Bucket.objects.filter)`,
                action: "s3:ListBucket",
                resource: bucketArn(bucket),
                context: { ...tls, "s3:prefix": keyPrefix },
                source: `${kserve} Storage._download_s3; ${boto3} boto3/data/s3/2006-03-01/resources-1.json Bucket.Objects`,
            },
            { call: `HeadObject ${fileKey} (download_file)`, action: "s3:GetObject", resource: objectArn(bucket, fileKey), context: { ...tls }, source: `${kserve} Storage._download_s3_object; ${s3transfer} s3transfer/download.py DownloadSubmissionTask._submit` },
            { call: `GetObject ${fileKey} (download_file)`, action: "s3:GetObject", resource: objectArn(bucket, fileKey), context: { ...tls }, source: `${kserve} Storage._download_s3_object; ${s3transfer} s3transfer/download.py GetObjectTask._main` },
        );
        if (args.encryption.algorithm === "aws:kms") {
            needed.push({
                call: `GetObject ${fileKey} of an SSE-KMS object (S3 decrypts its data key)`,
                action: "kms:Decrypt",
                resource: args.encryption.kmsKeyArn!,
                context: kmsViaS3({ region: args.region, accountId: args.accountId }),
                source: `${kserve} Storage._download_s3_object; ${s3UserGuideSseKms}`,
            });
        }
        forbidden.push(
            ...["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl", "s3:DeleteObjectVersion"].map((action) => ({
                call: `${action} in the model prefix`,
                action,
                resource: objectArn(bucket, fileKey),
                context: { ...tls },
                why: "serving only reads models",
            })),
            { call: "GetObject outside the models", action: "s3:GetObject", resource: objectArn(bucket, notModels.key), context: { ...tls }, why: "only models are readable" },
            { call: "ListObjects under another prefix", action: "s3:ListBucket", resource: bucketArn(bucket), context: { ...tls, "s3:prefix": notModels.prefix }, why: "listing is for model prefixes only" },
            { call: "GetObject without TLS", action: "s3:GetObject", resource: objectArn(bucket, fileKey), context: { "aws:SecureTransport": "false" }, why: "the bucket policy denies plain HTTP" },
            { call: "s3:PutBucketPolicy", action: "s3:PutBucketPolicy", resource: bucketArn(bucket), context: { ...tls }, why: "no bucket administration" },
        );
        if (args.encryption.algorithm === "aws:kms") {
            const via = kmsViaS3({ region: args.region, accountId: args.accountId });
            forbidden.push(
                { call: "kms:Decrypt called directly (not through S3)", action: "kms:Decrypt", resource: args.encryption.kmsKeyArn!, context: { "kms:CallerAccount": args.accountId }, why: "the key is for S3 objects only" },
                { call: "kms:GenerateDataKey through S3 (a write)", action: "kms:GenerateDataKey", resource: args.encryption.kmsKeyArn!, context: via, why: "serving only reads models" },
                { call: "kms:Decrypt with another key", action: "kms:Decrypt", resource: `arn:aws:kms:${args.region}:${args.accountId}:key/00000000-0000-0000-0000-000000000000`, context: via, why: "only the bucket's key" },
            );
        }
    }
    forbidden.push(
        { call: "GetObject in another bucket", action: "s3:GetObject", resource: objectArn("another-bucket", "models/mnist/1/saved_model.pb"), context: { ...tls }, why: "only the model store" },
        { call: "HeadBucket of another bucket", action: "s3:ListBucket", resource: bucketArn("another-bucket"), context: { ...tls }, why: "only the model store" },
        { call: "iam:PassRole", action: "iam:PassRole", resource: `arn:aws:iam::${args.accountId}:role/any-role`, why: "no role hand-off" },
    );
    if (buckets.size === 0) throw new Error("modelReaderContract: no s3:// URI given");
    return { client: "KServe storage initializer v0.20.0 (boto3 1.38.33, s3transfer 0.13.0)", needed: uniqueRows(needed), forbidden: uniqueRows(forbidden) };
}
