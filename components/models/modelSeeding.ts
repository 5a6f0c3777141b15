/**
 * Model seeding: a Kubernetes Job that fills the model store (S3 on eks, MinIO locally) with the
 * example models, so the S3-backed InferenceServices have something to serve on the first
 * `pulumi up`. Pulumi's Kubernetes provider waits for a Job to complete, so InferenceServices that
 * depend on the Job are created only after their model is in the bucket.
 *
 * - Public models (KServe's examples on `gs://kfserving-examples`, world-readable) are copied with
 *   the storage-initializer image, which has boto3 and google-cloud-storage (anonymous client).
 * - Keras `.h5` models (the book's clothing classifier) are converted to SavedModels by a pinned
 *   TensorFlow image in an init container, then uploaded by the same copy step.
 * - Idempotent: a model whose marker `<prefix>_seeded/<model>/<source digest>` exists is skipped
 *   (also by the converter); objects already present with the same size are not uploaded again, so
 *   a retried Job resumes. A changed source gets a new digest and is copied again.
 * - On eks the Job runs as its own ServiceAccount bound to a writer IRSA role that can only put
 *   objects under the model prefix (and list it); the serving role stays read-only.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { IrsaRole, OidcProvider } from "../aws/irsa";
import { isDnsLabel } from "../platform/magicDns";
import { bucketArns } from "../aws/modelStore";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../common/podSecurity";
import { images } from "../../versions";

/** Where a model comes from. */
export type SeedSource =
    /** A public `gs://bucket/prefix`: every object under it is copied, relative paths kept. */
    | { readonly kind: "gcs"; readonly uri: string }
    /**
     * A Keras `.h5` file at an https URL, converted to a SavedModel in `<dest><version>/`
     * (TF Serving's layout). `sha256` is checked when given.
     */
    | { readonly kind: "keras-h5"; readonly url: string; readonly version: number; readonly sha256?: string };

export interface SeedModel {
    /** DNS label naming the model (marker and scratch directory names). */
    readonly name: string;
    readonly source: SeedSource;
    /** Key prefix under the model prefix, ending in `/` (e.g. `mnist/`). */
    readonly dest: string;
}

/** Where the Job writes. */
export type SeedingTarget =
    | {
          readonly kind: "s3";
          /** Bucket name. */
          readonly bucket: pulumi.Input<string>;
          /** Bucket region (plain: it goes into the writer policy's KMS condition). */
          readonly region: string;
          /** The cluster's OIDC provider, for the writer role. */
          readonly oidcProvider: OidcProvider;
          /** KMS key of the bucket when it uses SSE-KMS. Default: none (SSE-S3). */
          readonly kmsKeyArn?: pulumi.Input<string>;
          /** Tags on the writer role. Default: none. */
          readonly tags?: Record<string, string>;
      }
    | {
          readonly kind: "minio";
          /** S3 API endpoint with scheme, e.g. `http://minio.minio.svc.cluster.local:9000`. */
          readonly endpoint: pulumi.Input<string>;
          readonly bucket: pulumi.Input<string>;
          /** Secret (in the Job's namespace) holding MinIO credentials. */
          readonly credentialsSecretName: pulumi.Input<string>;
          /** Key of the access key id in that Secret. Default: `AWS_ACCESS_KEY_ID`. */
          readonly accessKeyIdKey?: string;
          /** Key of the secret key in that Secret. Default: `AWS_SECRET_ACCESS_KEY`. */
          readonly secretAccessKeyKey?: string;
      };

export interface ModelSeedingArgs {
    /** Namespace the Job and its ServiceAccount run in (the models namespace). Required. */
    readonly namespace: pulumi.Input<string>;
    /** Storage to fill. Required. */
    readonly target: SeedingTarget;
    /** Models to copy; at least one. Required. */
    readonly models: readonly SeedModel[];
    /** Key prefix of all models (ends with `/`). Default: `models/`. */
    readonly modelPrefix?: string;
    /** Name of the Job's ServiceAccount (the writer role trusts exactly this name). Default: `model-seeder`. */
    readonly serviceAccountName?: string;
    /** Seconds before Kubernetes kills the Job. Default: 1800. */
    readonly activeDeadlineSeconds?: number;
    /** Retries of a failed pod. Default: 3. */
    readonly backoffLimit?: number;
    /** Resources that must exist first (namespace, MinIO, bucket). Default: none. */
    readonly waitFor?: pulumi.Input<pulumi.Resource>[];
}

const modelPrefixPattern = /^[a-z0-9][a-z0-9._-]*\/([a-z0-9][a-z0-9._-]*\/)*$/;

/**
 * Writer policy for the seeding Job: put (and abort multipart uploads of) objects under the model
 * prefix, list only that prefix. No GetObject and no DeleteObject. With SSE-KMS, S3 needs
 * GenerateDataKey to encrypt new objects and Decrypt to complete multipart uploads; both only via S3.
 *
 * Derived from `seedScript`'s calls through boto3 1.38.33 / s3transfer 0.13.0 (the versions the
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
    if (!modelPrefixPattern.test(args.modelPrefix)) {
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
    if (args.kmsKeyArn) {
        statements.push({
            Sid: "EncryptModels",
            Effect: "Allow",
            Action: ["kms:GenerateDataKey", "kms:Decrypt"],
            Resource: args.kmsKeyArn,
            Condition: { StringEquals: { "kms:ViaService": `s3.${args.region}.amazonaws.com` } },
        });
    }
    return { Version: "2012-10-17", Statement: statements };
}

/** Every problem with the seeding arguments (empty when valid). */
export function modelSeedingProblems(args: Pick<ModelSeedingArgs, "models" | "modelPrefix" | "serviceAccountName" | "activeDeadlineSeconds" | "backoffLimit" | "target">): string[] {
    const problems: string[] = [];
    const prefix = args.modelPrefix ?? "models/";
    if (!modelPrefixPattern.test(prefix)) problems.push(`modelPrefix '${prefix}' must be a relative key prefix ending in '/' (e.g. models/)`);
    if (args.models.length === 0) problems.push("models is empty: nothing to seed (do not create ModelSeeding then)");
    const names = new Set<string>();
    for (const m of args.models) {
        if (!isDnsLabel(m.name)) problems.push(`model name '${m.name}' is not a DNS label`);
        if (names.has(m.name)) problems.push(`model name '${m.name}' appears twice`);
        names.add(m.name);
        if (!/^[a-z0-9][a-z0-9._-]*\/$/.test(m.dest)) problems.push(`model '${m.name}': dest '${m.dest}' must be one path segment ending in '/'`);
        if (m.source.kind === "gcs" && !/^gs:\/\/[a-z0-9][a-z0-9._-]*[a-z0-9]\/\S+$/.test(m.source.uri)) {
            problems.push(`model '${m.name}': '${m.source.uri}' is not a gs://bucket/path URI`);
        }
        if (m.source.kind === "keras-h5") {
            if (!/^https:\/\/\S+$/.test(m.source.url)) problems.push(`model '${m.name}': '${m.source.url}' is not an https URL`);
            if (!Number.isInteger(m.source.version) || m.source.version < 1) {
                problems.push(`model '${m.name}': version ${m.source.version} must be a whole number >= 1 (TF Serving version directory)`);
            }
            if (m.source.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(m.source.sha256)) {
                problems.push(`model '${m.name}': sha256 must be 64 lowercase hex digits`);
            }
        }
    }
    // KServe downloads `s3://bucket/<prefix><dest>` by key prefix: one dest must not be a prefix of another.
    for (const a of args.models) {
        for (const b of args.models) {
            if (a !== b && b.dest.startsWith(a.dest)) problems.push(`model '${b.name}': dest '${b.dest}' is inside '${a.dest}' of '${a.name}'`);
        }
    }
    if (args.serviceAccountName !== undefined && !isDnsLabel(args.serviceAccountName)) {
        problems.push(`serviceAccountName '${args.serviceAccountName}' is not a DNS label`);
    }
    if (args.activeDeadlineSeconds !== undefined && (!Number.isInteger(args.activeDeadlineSeconds) || args.activeDeadlineSeconds < 60)) {
        problems.push(`activeDeadlineSeconds must be a whole number >= 60 (got ${args.activeDeadlineSeconds})`);
    }
    if (args.backoffLimit !== undefined && (!Number.isInteger(args.backoffLimit) || args.backoffLimit < 0 || args.backoffLimit > 10)) {
        problems.push(`backoffLimit must be a whole number from 0 to 10 (got ${args.backoffLimit})`);
    }
    const t = args.target;
    if (t.kind === "s3" && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(t.region)) problems.push(`target.region '${t.region}' is not an AWS region`);
    if (t.kind === "minio" && typeof t.endpoint === "string" && !/^https?:\/\/[^/\s]+\/?$/.test(t.endpoint)) {
        problems.push(`target.endpoint '${t.endpoint}' must be http(s)://host[:port]`);
    }
    return problems;
}

/** The manifest the scripts read: prefix and models, in a stable order. */
export function seedManifest(models: readonly SeedModel[], modelPrefix: string) {
    return { prefix: modelPrefix, models: [...models].sort((a, b) => a.name.localeCompare(b.name)) };
}

/**
 * Copy step (storage-initializer image). `plan` marks models already seeded (for the converter);
 * `copy` uploads what is missing and writes each model's marker last.
 */
export const seedScript = `"""Seeds the model store (inference-platform components/modelSeeding.ts).

Usage: seed.py plan|copy. Needs only s3:ListBucket on the prefix and s3:PutObject under it.
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile

import boto3

manifest = json.load(open(os.environ["SEED_MANIFEST"]))
bucket = os.environ["SEED_BUCKET"]
prefix = manifest["prefix"]
plan_dir = os.environ.get("SEED_PLAN_DIR", "/work/plan")
out_dir = os.environ.get("SEED_OUT_DIR", "/work/out")
s3 = boto3.client("s3")


def marker(model):
    digest = hashlib.sha256(json.dumps(model["source"], sort_keys=True).encode()).hexdigest()[:16]
    return f"{prefix}_seeded/{model['name']}/{digest}"


def listing(key_prefix):
    sizes = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_prefix):
        for obj in page.get("Contents", []):
            sizes[obj["Key"]] = obj["Size"]
    return sizes


def gcs_objects(uri):
    from google.cloud import storage

    src_bucket, _, path = uri[len("gs://"):].partition("/")
    path = path.rstrip("/") + "/"
    client = storage.Client.create_anonymous_client()
    for blob in client.list_blobs(src_bucket, prefix=path):
        if not blob.name.endswith("/"):
            yield blob.name[len(path):], blob.size, blob.download_to_file


def local_objects(root):
    for dirpath, dirnames, files in os.walk(root):
        dirnames.sort()
        for name in sorted(files):
            full = os.path.join(dirpath, name)

            def fetch(out, full=full):
                with open(full, "rb") as src:
                    shutil.copyfileobj(src, out)

            yield os.path.relpath(full, root), os.path.getsize(full), fetch


def copy(model):
    dest = prefix + model["dest"]
    present = listing(dest)
    source = model["source"]
    if source["kind"] == "gcs":
        objects = gcs_objects(source["uri"])
    else:
        objects = local_objects(os.path.join(out_dir, model["name"]))
    count = 0
    for rel, size, fetch in objects:
        count += 1
        key = dest + rel
        if present.get(key) == size:
            continue
        with tempfile.TemporaryFile() as tmp:
            fetch(tmp)
            tmp.seek(0)
            s3.upload_fileobj(tmp, bucket, key)
        print(f"copied s3://{bucket}/{key} ({size} bytes)", flush=True)
    if count == 0:
        sys.exit(f"{model['name']}: the source has no objects")
    s3.put_object(Bucket=bucket, Key=marker(model), Body=b"")


def main(mode):
    os.makedirs(plan_dir, exist_ok=True)
    for model in manifest["models"]:
        done = marker(model) in listing(marker(model))
        if mode == "plan":
            if done:
                open(os.path.join(plan_dir, model["name"]), "w").close()
        elif done:
            print(f"{model['name']}: already seeded, skipped", flush=True)
        else:
            copy(model)
            print(f"{model['name']}: seeded into s3://{bucket}/{prefix}{model['dest']}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("plan", "copy"):
        sys.exit("usage: seed.py plan|copy")
    main(sys.argv[1])
`;

/** Conversion step (TensorFlow image): Keras .h5 to SavedModel `<out>/<model>/<version>/`, skipped when seeded. */
export const convertScript = `"""Converts Keras .h5 models to SavedModels (inference-platform components/modelSeeding.ts)."""
import hashlib
import json
import os
import sys
import urllib.request

manifest = json.load(open(os.environ["SEED_MANIFEST"]))
plan_dir = os.environ.get("SEED_PLAN_DIR", "/work/plan")
out_dir = os.environ.get("SEED_OUT_DIR", "/work/out")

for model in manifest["models"]:
    source = model["source"]
    if source["kind"] != "keras-h5":
        continue
    if os.path.exists(os.path.join(plan_dir, model["name"])):
        print(f"{model['name']}: already seeded, not converting", flush=True)
        continue
    os.makedirs(out_dir, exist_ok=True)
    h5 = os.path.join(out_dir, model["name"] + ".h5")
    urllib.request.urlretrieve(source["url"], h5)
    if source.get("sha256"):
        with open(h5, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if digest != source["sha256"]:
            sys.exit(f"{model['name']}: sha256 {digest} does not match {source['sha256']}")
    import tensorflow as tf

    keras_model = tf.keras.models.load_model(h5, compile=False)
    tf.saved_model.save(keras_model, os.path.join(out_dir, model["name"], str(source["version"])))
    os.remove(h5)
    print(f"{model['name']}: converted to SavedModel version {source['version']}", flush=True)
`;

const labels = {
    "app.kubernetes.io/name": "model-seeding",
    "app.kubernetes.io/part-of": "inference-platform",
    "app.kubernetes.io/managed-by": "pulumi",
};

const containerSecurityContext = restrictedContainerSecurityContext();

/** The pod template's containers and volumes (pure, for tests). `env` is shared by all containers. */
export function seedingPodSpec(args: {
    models: readonly SeedModel[];
    configMapName: string;
    serviceAccountName: string;
    env: k8s.types.input.core.v1.EnvVar[];
}) {
    const needsConversion = args.models.some((m) => m.source.kind === "keras-h5");
    const mounts = [
        { name: "scripts", mountPath: "/scripts", readOnly: true },
        { name: "work", mountPath: "/work" },
        { name: "tmp", mountPath: "/tmp" },
    ];
    const env = [
        ...args.env,
        { name: "SEED_MANIFEST", value: "/scripts/manifest.json" },
        { name: "SEED_PLAN_DIR", value: "/work/plan" },
        { name: "SEED_OUT_DIR", value: "/work/out" },
        // The images' home directories are on the read-only root.
        { name: "HOME", value: "/tmp" },
    ];
    const copyResources = { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } };
    const step = (name: string, mode: "plan" | "copy") => ({
        name,
        image: images.kserveStorageInitializer,
        // The image's entrypoint is KServe's downloader; run our script with its venv's python.
        command: ["python", "/scripts/seed.py", mode],
        env,
        volumeMounts: mounts,
        resources: copyResources,
        securityContext: containerSecurityContext,
    });
    const initContainers: k8s.types.input.core.v1.Container[] = [step("plan", "plan")];
    if (needsConversion) {
        initContainers.push({
            name: "convert",
            image: images.tensorflowModelConverter,
            command: ["python3", "/scripts/convert.py"],
            env: [...env, { name: "KERAS_HOME", value: "/tmp/.keras" }, { name: "TF_CPP_MIN_LOG_LEVEL", value: "1" }],
            volumeMounts: mounts,
            // Loading Xception (~90 MB of weights) and tracing it for export needs ~2 GiB.
            resources: { requests: { cpu: "500m", memory: "2Gi" }, limits: { cpu: "2", memory: "3Gi" } },
            securityContext: containerSecurityContext,
        });
    }
    return {
        serviceAccountName: args.serviceAccountName,
        restartPolicy: "Never",
        // IRSA's webhook mounts its own projected token; the Kubernetes API token is not needed.
        automountServiceAccountToken: false,
        // The TensorFlow converter image is pulled for linux/amd64 (arm64 builds of 2.15 are not assured).
        nodeSelector: needsConversion ? { "kubernetes.io/arch": "amd64" } : undefined,
        securityContext: restrictedPodSecurityContext(),
        initContainers,
        containers: [step("copy", "copy")],
        volumes: [
            { name: "scripts", configMap: { name: args.configMapName } },
            { name: "work", emptyDir: { sizeLimit: "4Gi" } },
            { name: "tmp", emptyDir: { sizeLimit: "2Gi" } },
        ],
    };
}

/** The seeding Job, its scripts, its ServiceAccount and (on eks) its writer role. */
export class ModelSeeding extends pulumi.ComponentResource {
    public readonly job: k8s.batch.v1.Job;
    public readonly serviceAccount: k8s.core.v1.ServiceAccount;
    public readonly writerRole: IrsaRole | undefined;
    public readonly configMap: k8s.core.v1.ConfigMap;

    constructor(name: string, args: ModelSeedingArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = modelSeedingProblems(args);
        if (problems.length > 0) throw new Error(`ModelSeeding ${name}:\n  - ${problems.join("\n  - ")}`);
        super("inference-platform:models:ModelSeeding", name, {}, opts);
        const modelPrefix = args.modelPrefix ?? "models/";
        const serviceAccountName = args.serviceAccountName ?? "model-seeder";
        const target = args.target;
        const manifestJson = JSON.stringify(seedManifest(args.models, modelPrefix), null, 2);

        if (target.kind === "s3") {
            this.writerRole = new IrsaRole(
                `${name}-writer`,
                {
                    oidcProvider: target.oidcProvider,
                    namespace: args.namespace,
                    serviceAccountName,
                    description: `Seeding Job: write-only access to ${modelPrefix} of the model store`,
                    policy: pulumi
                        .all([target.bucket, target.kmsKeyArn])
                        .apply(([bucketName, kmsKeyArn]) => modelWriterPolicy({ bucketName, modelPrefix, region: target.region, kmsKeyArn })),
                    tags: target.tags,
                },
                { parent: this },
            );
        }
        this.serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            {
                metadata: {
                    name: serviceAccountName,
                    namespace: args.namespace,
                    labels,
                    annotations: this.writerRole ? { "eks.amazonaws.com/role-arn": this.writerRole.roleArn } : undefined,
                },
                automountServiceAccountToken: false,
            },
            // The role's inline policy must exist before the Job's first request.
            { parent: this, dependsOn: [...(this.writerRole ? [this.writerRole] : []), ...(args.waitFor ?? [])] },
        );
        this.configMap = new k8s.core.v1.ConfigMap(
            `${name}-scripts`,
            {
                metadata: { namespace: args.namespace, labels },
                data: { "seed.py": seedScript, "convert.py": convertScript, "manifest.json": manifestJson },
            },
            { parent: this, dependsOn: args.waitFor },
        );

        const env: pulumi.Input<k8s.types.input.core.v1.EnvVar>[] =
            target.kind === "s3"
                ? [
                      { name: "SEED_BUCKET", value: target.bucket },
                      { name: "AWS_REGION", value: target.region },
                      { name: "AWS_DEFAULT_REGION", value: target.region },
                  ]
                : [
                      { name: "SEED_BUCKET", value: target.bucket },
                      { name: "AWS_ENDPOINT_URL", value: target.endpoint },
                      // MinIO ignores the region but botocore needs one to sign requests.
                      { name: "AWS_REGION", value: "us-east-1" },
                      { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: target.credentialsSecretName, key: target.accessKeyIdKey ?? "AWS_ACCESS_KEY_ID" } } },
                      { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: target.credentialsSecretName, key: target.secretAccessKeyKey ?? "AWS_SECRET_ACCESS_KEY" } } },
                  ];
        // A Job's pod template is immutable: hashing what the pod runs makes any change a new Job.
        const specHash = createHash("sha256")
            .update(seedScript)
            .update(convertScript)
            .update(manifestJson)
            .update(images.kserveStorageInitializer)
            .update(images.tensorflowModelConverter)
            .digest("hex")
            .slice(0, 16);

        const activeDeadlineSeconds = args.activeDeadlineSeconds ?? 1800;
        this.job = new k8s.batch.v1.Job(
            `${name}-job`,
            {
                metadata: {
                    namespace: args.namespace,
                    labels,
                    // The provider waits for Jobs to complete (10 minutes by default): let Kubernetes'
                    // deadline, not Pulumi's timeout, end a slow first run (image pulls, conversion).
                    annotations: { "pulumi.com/timeoutSeconds": String(activeDeadlineSeconds + 300) },
                },
                spec: {
                    backoffLimit: args.backoffLimit ?? 3,
                    activeDeadlineSeconds,
                    template: {
                        metadata: {
                            labels,
                            annotations: {
                                "inference-platform/seed-spec": specHash,
                                // An Istio sidecar never exits, so a Job with one never completes.
                                "sidecar.istio.io/inject": "false",
                            },
                        },
                        spec: pulumi
                            .all([this.configMap.metadata.name, this.serviceAccount.metadata.name, pulumi.output(env)])
                            .apply(([configMapName, saName, resolvedEnv]) =>
                                seedingPodSpec({ models: args.models, configMapName, serviceAccountName: saName, env: resolvedEnv as k8s.types.input.core.v1.EnvVar[] }),
                            ),
                    },
                },
            },
            { parent: this, dependsOn: [this.serviceAccount, this.configMap, ...(args.waitFor ?? [])] },
        );
        this.registerOutputs({ jobName: this.job.metadata.name, writerRoleArn: this.writerRole?.roleArn });
    }
}
