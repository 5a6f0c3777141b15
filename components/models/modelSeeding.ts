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
 * - The Job runs as the model store's writer account (`ModelStorage.writerServiceAccountName`): on
 *   eks bound to an IRSA role that can only put objects under the model prefix (and list it), on the
 *   local store with the store's credentials; the serving account stays read-only.
 * - The scripts are files next to this one (seeding/seed.py, seeding/convert.py), read at synth
 *   time into the Job's ConfigMap; test/modelSeedingScripts.test.ts compiles and runs them.
 * - Trained models (`train-iris`: the KServe notes' iris SVC) are fitted by seeding/train_iris.py in
 *   KServe's sklearn runtime image, so the pickle is written by the scikit-learn that loads it. A
 *   model whose `target` is `volume` is written straight into the model claim, which the Job then
 *   mounts read-write (the claim of a foundation whose `ModelVolume.content` is `mount`); every other
 *   model goes to the store (`store`, the default), trained ones through the same upload step.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { isDnsLabel } from "../common/validation";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../common/podSecurity";
import { images, sklearnRuntime } from "../../versions";

/** Where a model comes from. */
export type SeedSource =
    /** A public `gs://bucket/prefix`: every object under it is copied, relative paths kept. */
    | { readonly kind: "gcs"; readonly uri: string }
    /**
     * A Keras `.h5` file at an https URL, converted to a SavedModel in `<dest><version>/`
     * (TF Serving's layout). `sha256` is checked when given.
     */
    | { readonly kind: "keras-h5"; readonly url: string; readonly version: number; readonly sha256?: string }
    /**
     * The iris classifier of the KServe notes (seed 004): an SVC (`gamma="scale"`) fitted on
     * scikit-learn's bundled iris data and dumped with joblib to `<dest>model.joblib`. `scikitLearn`
     * is the version of the runtime image it is trained in (versions.ts `sklearnRuntime`); the
     * training step refuses any other.
     */
    | { readonly kind: "train-iris"; readonly scikitLearn: string };

/** Where a seeded model is written: the model store (default) or the mounted model claim. */
export type SeedTarget = "store" | "volume";

export interface SeedModel {
    /** DNS label naming the model (marker and scratch directory names). */
    readonly name: string;
    readonly source: SeedSource;
    /** Key prefix under the model prefix, ending in `/` (e.g. `mnist/`); the directory in the claim for `volume`. */
    readonly dest: string;
    /** `volume` writes into the model claim (train-iris only; needs `ModelSeedingArgs.volume`). Default: `store`. */
    readonly target?: SeedTarget;
}

export interface ModelSeedingArgs {
    /** Namespace the Job runs in (the models namespace). Required. */
    readonly namespace: pulumi.Input<string>;
    /** Bucket to fill. Required. */
    readonly bucket: pulumi.Input<string>;
    /** ServiceAccount the Job runs as: the model store's writer account, which must exist. Required. */
    readonly serviceAccountName: pulumi.Input<string>;
    /** What boto3 needs to reach and sign for the store (`ModelStorage.writerEnv`). Required. */
    readonly env: pulumi.Input<k8s.types.input.core.v1.EnvVar>[];
    /** Models to copy; at least one. Required. */
    readonly models: readonly SeedModel[];
    /** Key prefix of all models (ends with `/`). Default: `models/`. */
    readonly modelPrefix?: string;
    /** Seconds before Kubernetes kills the Job. Default: 1800. */
    readonly activeDeadlineSeconds?: number;
    /** Retries of a failed pod. Default: 3. */
    readonly backoffLimit?: number;
    /** Resources that must exist first (the store, its accounts and policies). Default: none. */
    readonly waitFor?: pulumi.Input<pulumi.Resource>[];
    /** The model claim, mounted read-write for models whose target is `volume`. Required for those. */
    readonly volume?: { readonly claimName: pulumi.Input<string> };
}

const modelPrefixPattern = /^[a-z0-9][a-z0-9._-]*\/([a-z0-9][a-z0-9._-]*\/)*$/;

/** Every problem with the seeding arguments (empty when valid). */
export function modelSeedingProblems(args: Pick<ModelSeedingArgs, "models" | "modelPrefix" | "activeDeadlineSeconds" | "backoffLimit" | "volume">): string[] {
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
        if (m.source.kind === "train-iris" && !/^\d+\.\d+\.\d+$/.test(m.source.scikitLearn)) {
            problems.push(`model '${m.name}': scikitLearn '${m.source.scikitLearn}' must be an exact version (x.y.z)`);
        }
        if (m.target !== undefined && m.target !== "store" && m.target !== "volume") problems.push(`model '${m.name}': target '${String(m.target)}' is not store or volume`);
        if (m.target === "volume" && m.source.kind !== "train-iris") problems.push(`model '${m.name}': only trained models can be written into the model claim (target volume)`);
        if (m.target === "volume" && args.volume === undefined) problems.push(`model '${m.name}': target volume needs the model claim (volume)`);
    }
    // KServe downloads `s3://bucket/<prefix><dest>` by key prefix: one dest must not be a prefix of another.
    for (const a of args.models) {
        for (const b of args.models) {
            if (a !== b && b.dest.startsWith(a.dest)) problems.push(`model '${b.name}': dest '${b.dest}' is inside '${a.dest}' of '${a.name}'`);
        }
    }
    if (args.activeDeadlineSeconds !== undefined && (!Number.isInteger(args.activeDeadlineSeconds) || args.activeDeadlineSeconds < 60)) {
        problems.push(`activeDeadlineSeconds must be a whole number >= 60 (got ${args.activeDeadlineSeconds})`);
    }
    if (args.backoffLimit !== undefined && (!Number.isInteger(args.backoffLimit) || args.backoffLimit < 0 || args.backoffLimit > 10)) {
        problems.push(`backoffLimit must be a whole number from 0 to 10 (got ${args.backoffLimit})`);
    }
    return problems;
}

/** The manifest the scripts read: prefix and models, in a stable order. */
export function seedManifest(models: readonly SeedModel[], modelPrefix: string) {
    return { prefix: modelPrefix, models: [...models].sort((a, b) => a.name.localeCompare(b.name)) };
}

/** The Job's scripts, read from the files next to this module (the ConfigMap carries them verbatim). */
export function seedingScripts(): { "seed.py": string; "convert.py": string; "train_iris.py": string } {
    const read = (file: string) => fs.readFileSync(path.join(__dirname, "seeding", file), "utf8");
    return { "seed.py": read("seed.py"), "convert.py": read("convert.py"), "train_iris.py": read("train_iris.py") };
}

/** Where the training step mounts the model claim. */
export const seedVolumeMountPath = "/model-volume";

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
    /** The model claim (required when a model's target is `volume`). */
    volumeClaimName?: string;
}) {
    const needsConversion = args.models.some((m) => m.source.kind === "keras-h5");
    const needsTraining = args.models.some((m) => m.source.kind === "train-iris");
    const needsStore = args.models.some((m) => (m.target ?? "store") === "store");
    const needsVolume = args.models.some((m) => m.target === "volume");
    if (needsVolume && args.volumeClaimName === undefined) throw new Error("seedingPodSpec: a model's target is volume, but no claim is given");
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
    const initContainers: k8s.types.input.core.v1.Container[] = needsStore ? [step("plan", "plan")] : [];
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
    const train: k8s.types.input.core.v1.Container | undefined = needsTraining
        ? {
              name: "train",
              image: sklearnRuntime.image,
              // The image's entrypoint is the model server; run the training script with its python.
              command: ["python", "/scripts/train_iris.py"],
              env: needsVolume ? [...env, { name: "SEED_VOLUME_DIR", value: seedVolumeMountPath }] : env,
              volumeMounts: needsVolume ? [...mounts, { name: "model-volume", mountPath: seedVolumeMountPath }] : mounts,
              resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
              securityContext: containerSecurityContext,
          }
        : undefined;
    // Training goes before the upload; with nothing to upload it is the Job's only step.
    if (train && needsStore) initContainers.push(train);
    const containers = needsStore ? [step("copy", "copy")] : [train!];
    return {
        serviceAccountName: args.serviceAccountName,
        restartPolicy: "Never",
        // IRSA's webhook mounts its own projected token; the Kubernetes API token is not needed.
        automountServiceAccountToken: false,
        // The TensorFlow converter image is pulled for linux/amd64 (arm64 builds of 2.15 are not assured).
        nodeSelector: needsConversion ? { "kubernetes.io/arch": "amd64" } : undefined,
        securityContext: restrictedPodSecurityContext(),
        initContainers,
        containers,
        volumes: [
            { name: "scripts", configMap: { name: args.configMapName } },
            { name: "work", emptyDir: { sizeLimit: "4Gi" } },
            { name: "tmp", emptyDir: { sizeLimit: "2Gi" } },
            ...(needsVolume ? [{ name: "model-volume", persistentVolumeClaim: { claimName: args.volumeClaimName! } }] : []),
        ],
    };
}

/** The seeding Job, its scripts, its ServiceAccount and (on eks) its writer role. */
export class ModelSeeding extends pulumi.ComponentResource {
    public readonly job: k8s.batch.v1.Job;
    public readonly configMap: k8s.core.v1.ConfigMap;

    constructor(name: string, args: ModelSeedingArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = modelSeedingProblems(args);
        if (problems.length > 0) throw new Error(`ModelSeeding ${name}:\n  - ${problems.join("\n  - ")}`);
        super("inference-platform:models:ModelSeeding", name, {}, opts);
        const modelPrefix = args.modelPrefix ?? "models/";
        const manifestJson = JSON.stringify(seedManifest(args.models, modelPrefix), null, 2);
        const scripts = seedingScripts();

        this.configMap = new k8s.core.v1.ConfigMap(
            `${name}-scripts`,
            {
                metadata: { namespace: args.namespace, labels },
                data: { ...scripts, "manifest.json": manifestJson },
            },
            { parent: this, dependsOn: args.waitFor },
        );

        const env: pulumi.Input<k8s.types.input.core.v1.EnvVar>[] = [{ name: "SEED_BUCKET", value: args.bucket }, ...args.env];
        // A Job's pod template is immutable: hashing what the pod runs makes any change a new Job.
        const specHash = createHash("sha256")
            .update(scripts["seed.py"])
            .update(scripts["convert.py"])
            .update(scripts["train_iris.py"])
            .update(manifestJson)
            .update(images.kserveStorageInitializer)
            .update(images.tensorflowModelConverter)
            .update(sklearnRuntime.image)
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
                            .all([this.configMap.metadata.name, args.serviceAccountName, pulumi.output(env), args.volume?.claimName])
                            .apply(([configMapName, saName, resolvedEnv, volumeClaimName]) =>
                                seedingPodSpec({
                                    models: args.models,
                                    configMapName,
                                    serviceAccountName: saName,
                                    env: resolvedEnv as k8s.types.input.core.v1.EnvVar[],
                                    volumeClaimName,
                                }),
                            ),
                    },
                },
            },
            { parent: this, dependsOn: [this.configMap, ...(args.waitFor ?? [])] },
        );
        this.registerOutputs({ jobName: this.job.metadata.name });
    }
}
