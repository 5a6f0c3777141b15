/**
 * How S3 and KMS authorize the calls boto3 makes (shared by the model reader and writer contracts).
 *
 * Sources for the mapping of S3 API operations to IAM actions: AWS, Amazon S3 API Reference
 * (HeadBucket "Permissions": s3:ListBucket; ListObjects/ListObjectsV2: s3:ListBucket, with the
 * `prefix` parameter as `s3:prefix`; HeadObject/GetObject: s3:GetObject; PutObject,
 * CreateMultipartUpload, UploadPart, CompleteMultipartUpload: s3:PutObject; AbortMultipartUpload:
 * s3:AbortMultipartUpload), and the Amazon S3 User Guide, "Using server-side encryption with AWS KMS
 * keys (SSE-KMS)": S3 calls kms:GenerateDataKey (writes) and kms:Decrypt (reads, and to complete
 * multipart uploads) with the caller's permissions, with `kms:ViaService` = `s3.<region>.amazonaws.com`
 * and `kms:CallerAccount` = the caller's account. (S3 also sends the encryption context `aws:s3:arn`;
 * no policy here conditions on it, and the evaluator cannot carry `kms:EncryptionContext:<key>` keys.)
 */
export const boto3 = "boto/boto3 1.38.33";
export const s3transfer = "boto/s3transfer 0.13.0";
export const s3UserGuideSseKms = "AWS Amazon-S3-User-Guide UserGuide/UsingKMSEncryption.html (SSE-KMS: permissions S3 uses on the caller's behalf)";

export const bucketArn = (bucket: string) => `arn:aws:s3:::${bucket}`;
export const objectArn = (bucket: string, key: string) => `arn:aws:s3:::${bucket}/${key}`;

/** Every boto3 request here goes over HTTPS (botocore's default; KServe's `s3-usehttps: 1`). */
export const tls = { "aws:SecureTransport": "true" } as const;

/** The bucket's default encryption, as S3 applies it. */
export interface BucketEncryption {
    readonly algorithm: string;
    readonly kmsKeyArn?: string;
    readonly bucketKey: boolean;
}

/** Condition keys of a KMS request S3 makes on the caller's behalf. */
export function kmsViaS3(args: { region: string; accountId: string }) {
    return { "kms:ViaService": `s3.${args.region}.amazonaws.com`, "kms:CallerAccount": args.accountId };
}

/** `s3://bucket/key/prefix` → bucket and key prefix (as KServe's `urlparse` splits it). */
export function parseS3Uri(uri: string): { bucket: string; keyPrefix: string } {
    const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
    if (!match) throw new Error(`not an s3:// URI: ${uri}`);
    return { bucket: match[1], keyPrefix: match[2] };
}
