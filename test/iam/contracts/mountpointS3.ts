/**
 * The Mountpoint for S3 CSI driver's role, as Mountpoint uses it to serve the model claim: the
 * `aws-mountpoint-s3-csi-driver` EKS add-on packages awslabs/mountpoint-s3-csi-driver v2.7.0, which
 * runs Mountpoint 1.22.3 (its Dockerfile `MOUNTPOINT_VERSION`) with the driver's IRSA credentials
 * (docs/CONFIGURATION.md "Driver-Level Credentials with IRSA"). The calls, at awslabs/mountpoint-s3
 * tag mountpoint-s3-1.22.3:
 *   mount           → mountpoint-s3-fs/src/s3/config.rs `validate_client_for_bucket`: ListObjectsV2 of
 *                     the mounted prefix (max-keys 0)
 *   lookup(name)    → mountpoint-s3-fs/src/superblock.rs (lookup): HeadObject `<prefix><path>` and
 *                     ListObjectsV2 `<prefix><path>/` with delimiter `/`, concurrently
 *   readdir         → mountpoint-s3-fs/src/superblock/readdir.rs: ListObjectsV2 `<prefix><dir>/`
 *   read            → mountpoint-s3-fs/src/prefetch/part_stream.rs: ranged GetObject with If-Match
 * KServe's sklearn server reaches them by `os.listdir` of /mnt/models (the claim's subPath) and
 * `joblib.load` of the one model file (kserve/kserve v0.20.0 python/sklearnserver/sklearnserver/model.py
 * `SKLearnModel.load`); kubelet's subPath bind mount looks the directory up first.
 * Every listing names a prefix inside the mounted one, so a listing of the whole bucket is not needed.
 */
import { AccessContract, ForbiddenCall, NeededCall, uniqueRows } from "../contract";
import type { RenderedStack } from "../renderedStack";
import { bucketArn, BucketEncryption, kmsViaS3, objectArn, s3UserGuideSseKms, tls } from "./s3";

const mountpoint = "awslabs/mountpoint-s3 mountpoint-s3-1.22.3";
/** The driver release the rows were read from (versions.ts `storageDriverAddons.mountpointS3Csi.driverVersion`). */
export const mountpointContractVersion = "v2.7.0";
/** The model file KServe's sklearn server loads in the examples (components/models/seeding/train_iris.py MODEL_FILE). */
const modelFile = "model.joblib";

/** One Mountpoint volume of the rendered stack and the model paths InferenceServices read through it. */
export interface MountpointUse {
    readonly bucket: string;
    /** The mounted key prefix (the PV's `prefix` mount option), ends with `/`. */
    readonly prefix: string;
    /** `<namespace>/<claim>` the volume is bound to. */
    readonly claim: string;
    /** Paths inside the claim that `pvc://` URIs name. */
    readonly modelPaths: readonly string[];
    readonly declaredBy: string;
}

/** Mountpoint volumes of the rendered stack (PersistentVolumes of `s3.csi.aws.com`) and the pvc:// URIs on their claims. */
export function mountpointUses(stack: RenderedStack): MountpointUse[] {
    const isvcs = stack.byType("kubernetes:serving.kserve.io/v1beta1:InferenceService");
    return stack
        .byType("kubernetes:core/v1:PersistentVolume")
        .filter((pv) => pv.inputs.spec?.csi?.driver === "s3.csi.aws.com")
        .map((pv) => {
            const spec = pv.inputs.spec;
            const prefixOption = (spec.mountOptions as string[]).find((o) => o.startsWith("prefix "));
            if (!prefixOption) throw new Error(`${pv.name}: a Mountpoint volume without a prefix mounts the whole bucket`);
            const claimRef = spec.claimRef;
            const modelPaths = isvcs
                .filter((i) => i.inputs.metadata.namespace === claimRef.namespace)
                .map((i) => String(i.inputs.spec?.predictor?.model?.storageUri ?? ""))
                .filter((uri) => uri.startsWith(`pvc://${claimRef.name}/`))
                .map((uri) => uri.slice(`pvc://${claimRef.name}/`.length));
            return { bucket: spec.csi.volumeAttributes.bucketName, prefix: prefixOption.slice("prefix ".length), claim: `${claimRef.namespace}/${claimRef.name}`, modelPaths, declaredBy: `PersistentVolume ${pv.name}` };
        });
}

export function mountpointContract(args: { readonly use: MountpointUse; readonly region: string; readonly accountId: string; readonly encryption: BucketEncryption }): AccessContract {
    const { bucket, prefix } = args.use;
    if (args.use.modelPaths.length === 0) throw new Error(`${args.use.declaredBy}: no InferenceService reads ${args.use.claim}`);
    const list = (keyPrefix: string, call: string, source: string): NeededCall => ({
        call: `ListObjectsV2 Prefix=${keyPrefix} (${call})`,
        action: "s3:ListBucket",
        resource: bucketArn(bucket),
        context: { ...tls, "s3:prefix": keyPrefix },
        source: `${mountpoint} ${source}`,
    });
    const get = (key: string, call: string, source: string): NeededCall => ({ call: `${call} ${key}`, action: "s3:GetObject", resource: objectArn(bucket, key), context: { ...tls }, source: `${mountpoint} ${source}` });
    const needed: NeededCall[] = [list(prefix, "mount: can the prefix be listed", "mountpoint-s3-fs/src/s3/config.rs validate_client_for_bucket")];
    for (const path of args.use.modelPaths) {
        const dir = `${prefix}${path}`;
        const file = `${dir}/${modelFile}`;
        needed.push(
            get(dir, "HeadObject (lookup of the subPath)", "mountpoint-s3-fs/src/superblock.rs lookup"),
            list(`${dir}/`, "lookup of the subPath: a directory?", "mountpoint-s3-fs/src/superblock.rs lookup"),
            list(`${dir}/`, "readdir of the model directory", "mountpoint-s3-fs/src/superblock/readdir.rs"),
            get(file, "HeadObject (lookup of the model file)", "mountpoint-s3-fs/src/superblock.rs lookup"),
            get(file, "GetObject ranged, If-Match (read)", "mountpoint-s3-fs/src/prefetch/part_stream.rs"),
        );
        if (args.encryption.algorithm === "aws:kms") {
            needed.push({
                call: `GetObject ${file} of an SSE-KMS object (S3 decrypts its data key)`,
                action: "kms:Decrypt",
                resource: args.encryption.kmsKeyArn!,
                context: kmsViaS3({ region: args.region, accountId: args.accountId }),
                source: `${mountpoint} mountpoint-s3-fs/src/prefetch/part_stream.rs; ${s3UserGuideSseKms}`,
            });
        }
    }
    const file = `${prefix}${args.use.modelPaths[0]}/${modelFile}`;
    const forbidden: ForbiddenCall[] = [
        ...["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"].map((action) => ({
            call: `${action} in the mounted prefix`,
            action,
            resource: objectArn(bucket, file),
            context: { ...tls },
            why: "the model volume is read-only",
        })),
        { call: "GetObject outside the prefix", action: "s3:GetObject", resource: objectArn(bucket, "secrets/credentials.json"), context: { ...tls }, why: "only the mounted prefix" },
        { call: "ListObjectsV2 under another prefix", action: "s3:ListBucket", resource: bucketArn(bucket), context: { ...tls, "s3:prefix": "secrets/" }, why: "only the mounted prefix" },
        { call: "ListObjectsV2 of the whole bucket (no prefix)", action: "s3:ListBucket", resource: bucketArn(bucket), context: { ...tls }, why: "Mountpoint always lists inside the prefix" },
        { call: "GetObject without TLS", action: "s3:GetObject", resource: objectArn(bucket, file), context: { "aws:SecureTransport": "false" }, why: "the bucket policy denies plain HTTP" },
        { call: "GetObject in another bucket", action: "s3:GetObject", resource: objectArn("another-bucket", file), context: { ...tls }, why: "only the model store" },
        { call: "s3:PutBucketPolicy", action: "s3:PutBucketPolicy", resource: bucketArn(bucket), context: { ...tls }, why: "no bucket administration" },
        { call: "iam:PassRole", action: "iam:PassRole", resource: `arn:aws:iam::${args.accountId}:role/any-role`, why: "no role hand-off" },
    ];
    if (args.encryption.algorithm === "aws:kms") {
        forbidden.push(
            { call: "kms:Decrypt called directly (not through S3)", action: "kms:Decrypt", resource: args.encryption.kmsKeyArn!, context: { "kms:CallerAccount": args.accountId }, why: "the key is for S3 objects only" },
            { call: "kms:GenerateDataKey through S3 (a write)", action: "kms:GenerateDataKey", resource: args.encryption.kmsKeyArn!, context: kmsViaS3({ region: args.region, accountId: args.accountId }), why: "the volume is read-only" },
        );
    }
    return { client: `Mountpoint 1.22.3 in the Mountpoint for S3 CSI driver ${mountpointContractVersion} (EKS add-on)`, needed: uniqueRows(needed), forbidden: uniqueRows(forbidden) };
}
