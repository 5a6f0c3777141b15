/**
 * Local platform's model store: a single-node S3-compatible server standing in for S3, plus what
 * KServe needs to read from it: an S3 credentials Secret with KServe's `serving.kserve.io/s3-*`
 * annotations in the models namespace, attached to the models' ServiceAccount (KServe's
 * secret-based S3 path; on AWS the same ServiceAccount uses IRSA instead).
 *
 * Why versitygw (Versity S3 Gateway, posix backend) and not MinIO any more:
 * - MinIO's community edition is frozen: since October 2025 it is source-only (minio/minio README,
 *   "Source-Only Distribution"; minio/minio#21647), so no official image carries
 *   RELEASE.2025-10-15T17-29-55Z and its fix for CVE-2025-62506; the repository is archived
 *   ("NO LONGER MAINTAINED"); Docker Hub's minio/minio and minio/mc were removed in September 2026
 *   (dandi/dandi-archive#2922, testcontainers/testcontainers-node#1463) and quay.io's copies are a
 *   frozen snapshot reported to need authentication since 2026-09-24. Third-party rebuilds
 *   (alpine/minio, derklaro/minio, ...) are not a publisher we can vouch for.
 * - versitygw is Apache-2.0, released about monthly (v1.0.15 2025-07 ... v1.7.0 2026-07-14), and its
 *   own release workflow (.github/workflows/docker.yml, on `release: published`) pushes
 *   `ghcr.io/versity/versitygw:<tag>` and `versity/versitygw:<tag>` for amd64 and arm64. It is one Go
 *   process over a directory (no database, no cluster layout to bootstrap), takes static root keys from
 *   ROOT_ACCESS_KEY_ID/ROOT_SECRET_ACCESS_KEY, runs non-root with a read-only root filesystem (its
 *   own chart's defaults), and has internal IAM accounts plus AWS-style bucket policies, so the
 *   models get a non-admin key limited to the model bucket.
 * - SeaweedFS (Apache-2.0, weekly releases) would also do, but is master + volume + filer + S3 in one
 *   container, several times the footprint; Garage is AGPL-3.0 and needs a cluster layout step;
 *   RustFS was still a 1.0 release candidate when this was decided.
 *
 * Data lives on a PersistentVolumeClaim, not an emptyDir: models are uploaded once by a seeding
 * Job, so a pod restart (node pressure, image update) must not silently empty the store. Buckets,
 * their metadata (a sidecar directory, so the volume's filesystem needs no extended attributes) and
 * the IAM accounts are three sub-directories of that one volume.
 *
 * Credentials: generated root credentials stay in the store's namespace; the models get a second,
 * non-admin account (role `user`: no bucket creation, no admin API) that the bucket policy allows
 * to list the model bucket and read and write its objects, nothing else. An idempotent Job creates
 * the account (versitygw's own admin CLI) and the bucket and policy (boto3 as root).
 */
import * as k8s from "@pulumi/kubernetes";
import { formerUrn } from "../common/aliases";
import type { ModelStorage } from "../common/foundation";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as fs from "node:fs";
import * as path from "node:path";
import { platformLabels } from "../common/labels";
import { ContainerResources, containerResourcesProblems } from "../common/resources";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../common/podSecurity";
import { images } from "../../versions";

/**
 * Region the store signs and checks. versitygw rejects a SigV4 signature scoped to any other region
 * (s3api/middlewares/authentication.go, VerifyV4Signature: `authData.Region != region`), and the
 * seeding Job and botocore's default both sign for us-east-1, so it is fixed, not an option.
 */
export const localStoreRegion = "us-east-1";
/** versitygw's S3 port (its default, and its chart's). The admin API shares it (no VGW_ADMIN_PORT). */
export const versitygwPort = 7070;
/** Unauthenticated GET health path (VGW_HEALTH), as versitygw's chart sets it. */
export const versitygwHealthPath = "/_/health";
/** Non-admin account whose credentials the models (and the seeding Job) get. */
export const modelsAccessKeyId = "kserve-models";
/** Access key ID of the root account (its secret is generated). */
export const rootAccessKeyId = "model-store-root";
/** Non-root UID/GID of the server and the setup Job (versitygw's chart runs as 1000 too). */
const uid = 1000;

/** Where the one volume's sub-directories are mounted in the server container. */
const mounts = { buckets: "/var/lib/versitygw/buckets", metadata: "/var/lib/versitygw/metadata", iam: "/var/lib/versitygw/iam" } as const;

/** In-cluster S3 endpoint (`host:port`, the form KServe's s3-endpoint annotation takes). */
export function localStoreEndpoint(storeNamespace: string): string {
    return `versitygw.${storeNamespace}.svc.cluster.local:${versitygwPort}`;
}

/**
 * Annotations KServe reads from an S3 credentials Secret attached to a model's ServiceAccount
 * (kserve/kserve v0.20.0 pkg/credentials/s3/s3_secret.go, the InferenceServiceS3* annotation names).
 */
export function kserveS3SecretAnnotations(options: { endpoint: string; region: string }): Record<string, string> {
    return {
        "serving.kserve.io/s3-endpoint": options.endpoint,
        // The in-cluster store speaks plain HTTP (no certificate to verify).
        "serving.kserve.io/s3-usehttps": "0",
        "serving.kserve.io/s3-verifyssl": "0",
        "serving.kserve.io/s3-region": options.region,
        "serving.kserve.io/s3-useanoncredential": "false",
    };
}

/**
 * The environment KServe derives from such a Secret (pkg/credentials/s3/utils.go, BuildS3EnvVars,
 * and s3_secret.go, BuildSecretEnvs), for containers KServe does not manage, such as the inference
 * server's init container. KServe's storage initializer reads exactly these
 * (python/storage/kserve_storage/kserve_storage.py: AWS_ENDPOINT_URL, AWS_DEFAULT_REGION,
 * S3_VERIFY_SSL, awsAnonymousCredential; boto3 reads the keys).
 */
export function localStorageEnv(args: { endpoint: string; region: string; secretName: pulumi.Input<string> }): k8s.types.input.core.v1.EnvVar[] {
    return [
        { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: args.secretName, key: "AWS_ACCESS_KEY_ID" } } },
        { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: args.secretName, key: "AWS_SECRET_ACCESS_KEY" } } },
        { name: "S3_USE_HTTPS", value: "0" },
        { name: "S3_ENDPOINT", value: args.endpoint },
        { name: "AWS_ENDPOINT_URL", value: `http://${args.endpoint}` },
        { name: "S3_VERIFY_SSL", value: "0" },
        { name: "awsAnonymousCredential", value: "false" },
        { name: "AWS_DEFAULT_REGION", value: args.region },
    ];
}

/** S3 bucket naming rules (versitygw's strict check is the same subset): 3-63 lowercase letters, digits, dots, hyphens. */
export function bucketNameProblems(bucket: string): string[] {
    const problems: string[] = [];
    if (typeof bucket !== "string" || bucket.length < 3 || bucket.length > 63) problems.push("must be 3 to 63 characters");
    if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket ?? "")) problems.push("must use lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit");
    if (/\.\.|\.-|-\./.test(bucket ?? "")) problems.push("must not contain '..', '.-' or '-.'");
    if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket ?? "")) problems.push("must not look like an IP address");
    return problems;
}

/**
 * Bucket policy for the models' account: list the bucket, read and write its objects, abort a
 * failed multipart upload. Nothing else: no deletes, no bucket settings, no other bucket (versitygw
 * evaluates only the policy for a non-admin account once a bucket has one: auth/access-control.go,
 * VerifyAccess). Principals are access key IDs in versitygw.
 */
export function modelsBucketPolicy(bucket: string, principal: string = modelsAccessKeyId) {
    return {
        Version: "2012-10-17",
        Statement: [
            { Effect: "Allow", Principal: { AWS: [principal] }, Action: ["s3:ListBucket"], Resource: [`arn:aws:s3:::${bucket}`] },
            {
                Effect: "Allow",
                Principal: { AWS: [principal] },
                Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                Resource: [`arn:aws:s3:::${bucket}/*`],
            },
        ],
    };
}

/** The setup Job's scripts (own files next to this one), keyed by their name in the ConfigMap. */
export function setupScripts(): { "create-user.sh": string; "create-bucket.py": string } {
    const read = (file: string) => fs.readFileSync(path.join(__dirname, file), "utf8");
    return { "create-user.sh": read("localModelStore.create-user.sh"), "create-bucket.py": read("localModelStore.create-bucket.py") };
}

export interface LocalModelStoreArgs {
    /** Models namespace (must exist; pass its `metadata.name` to wait for it). Required. */
    readonly namespace: pulumi.Input<string>;
    /** ServiceAccount the models run as; created here with the S3 Secret attached. Required. */
    readonly serviceAccountName: string;
    /** ServiceAccount of jobs that write models (created here). Default: `model-seeder`. */
    readonly writerServiceAccountName?: string;
    /** Key prefix models live under (ends with `/`). Default: `models/`. */
    readonly modelPrefix?: string;
    /** Bucket to create. Default: `models`. */
    readonly bucketName?: string;
    /** Namespace the store runs in (created here, restricted Pod Security). Default: `model-store`. */
    readonly storeNamespace?: string;
    /** Size of the store's volume. Default: `10Gi`. */
    readonly storageSize?: string;
    /** StorageClass of the store's volume. Default: the cluster's default class (kind: `standard`). */
    readonly storageClassName?: string;
    /** Name of the KServe S3 credentials Secret in the models namespace. Default: `model-store-s3-credentials`. */
    readonly credentialsSecretName?: string;
    /** Server container resources. Default: `defaultLocalModelStoreResources`. */
    readonly resources?: ContainerResources;
}

export const defaultLocalModelStoreResources: ContainerResources = {
    requests: { cpu: "50m", memory: "64Mi" },
    limits: { cpu: "1", memory: "512Mi" },
};

const userStepResources: ContainerResources = {
    requests: { cpu: "10m", memory: "16Mi" },
    limits: { cpu: "100m", memory: "64Mi" },
};

const bucketStepResources: ContainerResources = {
    requests: { cpu: "50m", memory: "96Mi" },
    limits: { cpu: "500m", memory: "256Mi" },
};

const podSecurityContext = restrictedPodSecurityContext(uid);
const containerSecurityContext = restrictedContainerSecurityContext(uid);

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export class LocalModelStore extends pulumi.ComponentResource {
    /** S3 endpoint `host:port` inside the cluster. */
    public readonly endpoint: pulumi.Output<string>;
    /** The same endpoint as a URL (`http://host:port`), for clients that want one. */
    public readonly endpointUrl: pulumi.Output<string>;
    /** Env for a plain storage-initializer container (not KServe-managed) to read models from the store. */
    public readonly storageEnv: k8s.types.input.core.v1.EnvVar[];
    public readonly bucketName: pulumi.Output<string>;
    public readonly serviceAccountName: pulumi.Output<string>;
    /** KServe S3 Secret in the models namespace (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, s3-* annotations). */
    public readonly credentialsSecretName: pulumi.Output<string>;
    /** Models namespace (where the Secret and ServiceAccount live). */
    public readonly namespace: pulumi.Output<string>;
    /** Namespace the store runs in. */
    public readonly storeNamespace: pulumi.Output<string>;
    public readonly region: pulumi.Output<string>;
    /** What models and the seeding job must wait for: server up, account, bucket and policy in place, Secret and ServiceAccount. */
    public readonly ready: pulumi.Resource[];
    /** The store as the `Foundation` contract describes it. */
    public readonly storage: ModelStorage;

    constructor(name: string, args: LocalModelStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        const bucket = args?.bucketName ?? "models";
        const storeNs = args?.storeNamespace ?? "model-store";
        const storageSize = args?.storageSize ?? "10Gi";
        const secretName = args?.credentialsSecretName ?? "model-store-s3-credentials";
        const resources = args?.resources ?? defaultLocalModelStoreResources;
        const problems: string[] = [];
        if (args?.namespace === undefined || args.namespace === null || args.namespace === "") problems.push("namespace is required");
        if (!args?.serviceAccountName || !dnsSubdomain.test(args.serviceAccountName)) {
            problems.push(`serviceAccountName '${args?.serviceAccountName}' is not a valid Kubernetes name`);
        }
        for (const p of bucketNameProblems(bucket)) problems.push(`bucketName '${bucket}' ${p}`);
        if (!dnsLabel.test(storeNs)) problems.push(`storeNamespace '${storeNs}' is not a DNS label`);
        if (!/^\d+(Mi|Gi|Ti)$/.test(storageSize)) problems.push(`storageSize '${storageSize}' must be a quantity in Mi, Gi or Ti`);
        if (!dnsSubdomain.test(secretName)) problems.push(`credentialsSecretName '${secretName}' is not a valid Kubernetes name`);
        if (args?.storageClassName !== undefined && !dnsSubdomain.test(args.storageClassName)) {
            problems.push(`storageClassName '${args.storageClassName}' is not a valid Kubernetes name`);
        }
        problems.push(...containerResourcesProblems("resources", resources));
        if (problems.length > 0) throw new Error(`LocalModelStore ${name}: ${problems.join("; ")}`);

        super("inference-platform:modelStore:LocalModelStore", name, {}, opts);
        const endpoint = localStoreEndpoint(storeNs);
        const endpointUrl = `http://${endpoint}`;
        const region = localStoreRegion;
        const labels = { ...platformLabels, "app.kubernetes.io/name": "versitygw", "app.kubernetes.io/component": "model-store" };
        const selector = { "app.kubernetes.io/name": "versitygw", "app.kubernetes.io/component": "model-store" };
        const setupLabels = { ...platformLabels, "app.kubernetes.io/name": "model-store-setup", "app.kubernetes.io/component": "model-store" };

        // Restricted Pod Security: everything in this namespace runs non-root, so enforce it.
        const ns = new k8s.core.v1.Namespace(
            `${name}-ns`,
            { metadata: { name: storeNs, labels: { ...platformLabels, "pod-security.kubernetes.io/enforce": "restricted" } } },
            { parent: this },
        );
        const namespace = ns.metadata.name;

        // Alphanumeric only: the values go through shell arguments of the admin CLI, and 32/40
        // random alphanumerics are ample entropy.
        const rootSecretKey = new random.RandomPassword(`${name}-root-secret-key`, { length: 40, special: false }, { parent: this });
        const modelsSecretKey = new random.RandomPassword(`${name}-models-secret-key`, { length: 40, special: false }, { parent: this });

        const rootSecret = new k8s.core.v1.Secret(
            `${name}-credentials`,
            {
                metadata: { name: "model-store-credentials", namespace, labels },
                type: "Opaque",
                stringData: {
                    ROOT_ACCESS_KEY_ID: rootAccessKeyId,
                    ROOT_SECRET_ACCESS_KEY: rootSecretKey.result,
                    MODELS_ACCESS_KEY_ID: modelsAccessKeyId,
                    MODELS_SECRET_ACCESS_KEY: modelsSecretKey.result,
                },
            },
            { parent: this },
        );
        const fromSecret = (envName: string, key: string = envName) => ({
            name: envName,
            valueFrom: { secretKeyRef: { name: rootSecret.metadata.name, key } },
        });

        const pvc = new k8s.core.v1.PersistentVolumeClaim(
            `${name}-data`,
            {
                metadata: { name: "model-store-data", namespace, labels },
                spec: {
                    accessModes: ["ReadWriteOnce"],
                    storageClassName: args.storageClassName,
                    resources: { requests: { storage: storageSize } },
                },
            },
            { parent: this },
        );

        const deployment = new k8s.apps.v1.Deployment(
            `${name}-versitygw`,
            {
                metadata: { name: "versitygw", namespace, labels },
                spec: {
                    replicas: 1,
                    // One ReadWriteOnce volume: the old pod must let go before the new one starts.
                    strategy: { type: "Recreate" },
                    selector: { matchLabels: selector },
                    template: {
                        metadata: { labels },
                        spec: {
                            automountServiceAccountToken: false,
                            securityContext: podSecurityContext,
                            containers: [
                                {
                                    name: "versitygw",
                                    image: images.versitygw,
                                    // The image's entrypoint runs `versitygw <args>` when given arguments
                                    // (docker-entrypoint.sh); global options come from VGW_* variables.
                                    args: ["posix", mounts.buckets],
                                    env: [
                                        fromSecret("ROOT_ACCESS_KEY_ID"),
                                        fromSecret("ROOT_SECRET_ACCESS_KEY"),
                                        { name: "VGW_PORT", value: `:${versitygwPort}` },
                                        { name: "VGW_REGION", value: region },
                                        { name: "VGW_HEALTH", value: versitygwHealthPath },
                                        // Internal IAM (users.json) on the volume: the models' account survives restarts.
                                        { name: "VGW_IAM_DIR", value: mounts.iam },
                                        // Metadata in files, not extended attributes, whatever the volume's filesystem.
                                        { name: "VGW_META_SIDECAR", value: mounts.metadata },
                                    ],
                                    ports: [{ name: "s3", containerPort: versitygwPort }],
                                    readinessProbe: { httpGet: { path: versitygwHealthPath, port: versitygwPort }, periodSeconds: 5 },
                                    livenessProbe: { httpGet: { path: versitygwHealthPath, port: versitygwPort }, initialDelaySeconds: 10, periodSeconds: 10 },
                                    resources,
                                    securityContext: containerSecurityContext,
                                    volumeMounts: [
                                        { name: "data", mountPath: mounts.buckets, subPath: "buckets" },
                                        { name: "data", mountPath: mounts.metadata, subPath: "metadata" },
                                        { name: "data", mountPath: mounts.iam, subPath: "iam" },
                                        { name: "tmp", mountPath: "/tmp" },
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "data", persistentVolumeClaim: { claimName: pvc.metadata.name } },
                                { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
                            ],
                        },
                    },
                },
            },
            { parent: this },
        );

        const service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: "versitygw", namespace, labels },
                spec: {
                    type: "ClusterIP",
                    selector,
                    ports: [{ name: "s3", port: versitygwPort, targetPort: versitygwPort, protocol: "TCP" }],
                },
            },
            { parent: this },
        );

        // Auto-named: changed scripts make a new ConfigMap name, hence a new (replaced) Job.
        const scripts = new k8s.core.v1.ConfigMap(
            `${name}-setup-scripts`,
            { metadata: { namespace, labels: setupLabels }, data: setupScripts() },
            { parent: this },
        );

        // Auto-named, so a changed Job (immutable) is replaced create-before-delete.
        const job = new k8s.batch.v1.Job(
            `${name}-setup`,
            {
                metadata: { namespace, labels: setupLabels },
                spec: {
                    backoffLimit: 6,
                    activeDeadlineSeconds: 900,
                    template: {
                        metadata: { labels: setupLabels },
                        spec: {
                            restartPolicy: "OnFailure",
                            automountServiceAccountToken: false,
                            securityContext: podSecurityContext,
                            // The account first: the bucket policy names it, and versitygw rejects a
                            // policy whose principal does not exist (auth/bucket_policy_principals.go, Validate).
                            initContainers: [
                                {
                                    name: "create-user",
                                    image: images.versitygw,
                                    command: ["/bin/sh", "/scripts/create-user.sh"],
                                    env: [
                                        { name: "ADMIN_ENDPOINT_URL", value: endpointUrl },
                                        { name: "ADMIN_REGION", value: region },
                                        fromSecret("ADMIN_ACCESS_KEY_ID", "ROOT_ACCESS_KEY_ID"),
                                        fromSecret("ADMIN_SECRET_ACCESS_KEY", "ROOT_SECRET_ACCESS_KEY"),
                                        fromSecret("MODELS_ACCESS_KEY_ID"),
                                        fromSecret("MODELS_SECRET_ACCESS_KEY"),
                                    ],
                                    resources: userStepResources,
                                    securityContext: containerSecurityContext,
                                    volumeMounts: [{ name: "scripts", mountPath: "/scripts", readOnly: true }],
                                },
                            ],
                            containers: [
                                {
                                    name: "create-bucket",
                                    image: images.kserveStorageInitializer,
                                    // The image's entrypoint is KServe's downloader; run our script with its python.
                                    command: ["python", "/scripts/create-bucket.py"],
                                    env: [
                                        { name: "BUCKET", value: bucket },
                                        { name: "POLICY_JSON", value: JSON.stringify(modelsBucketPolicy(bucket)) },
                                        { name: "AWS_ENDPOINT_URL", value: endpointUrl },
                                        { name: "AWS_DEFAULT_REGION", value: region },
                                        fromSecret("AWS_ACCESS_KEY_ID", "ROOT_ACCESS_KEY_ID"),
                                        fromSecret("AWS_SECRET_ACCESS_KEY", "ROOT_SECRET_ACCESS_KEY"),
                                        // The image's home directory is on the read-only root.
                                        { name: "HOME", value: "/tmp" },
                                    ],
                                    resources: bucketStepResources,
                                    securityContext: containerSecurityContext,
                                    volumeMounts: [
                                        { name: "scripts", mountPath: "/scripts", readOnly: true },
                                        { name: "tmp", mountPath: "/tmp" },
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "scripts", configMap: { name: scripts.metadata.name } },
                                { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
                            ],
                        },
                    },
                },
            },
            { parent: this, dependsOn: [deployment, service] },
        );

        const kserveSecret = new k8s.core.v1.Secret(
            `${name}-kserve-s3`,
            {
                metadata: {
                    name: secretName,
                    namespace: args.namespace,
                    labels: { ...platformLabels },
                    annotations: kserveS3SecretAnnotations({ endpoint, region }),
                },
                type: "Opaque",
                // The key names KServe's chart configures (kserve.storage.s3.accessKeyIdName /
                // secretAccessKeyName in kserve-resources values.yaml, v0.20.0).
                stringData: {
                    AWS_ACCESS_KEY_ID: modelsAccessKeyId,
                    AWS_SECRET_ACCESS_KEY: modelsSecretKey.result,
                },
            },
            { parent: this },
        );
        const serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-models-sa`,
            {
                metadata: { name: args.serviceAccountName, namespace: args.namespace, labels: { ...platformLabels } },
                // KServe looks up the S3 credentials through the ServiceAccount's `secrets` list
                // (pkg/credentials/service_account_credentials.go, CreateSecretVolumeAndEnvFromServiceAccount).
                secrets: [{ name: kserveSecret.metadata.name }],
            },
            { parent: this },
        );

        // The seeding Job's account. It used to be created by the Job's own component (under the
        // examples); the alias lets existing stacks adopt it where it now lives. Its credentials come
        // from the environment (the models' key, which may also write), so it needs no secrets.
        const writerServiceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-writer-sa`,
            {
                metadata: {
                    name: args.writerServiceAccountName ?? "model-seeder",
                    namespace: args.namespace,
                    labels: { "app.kubernetes.io/name": "model-seeding", ...platformLabels },
                },
                automountServiceAccountToken: false,
            },
            {
                parent: this,
                aliases: [
                    formerUrn("kubernetes:core/v1:ServiceAccount", "examples-seeding-sa", [
                        { type: "inference-platform:models:ExampleModels", name: "examples" },
                        { type: "inference-platform:models:ModelSeeding", name: "examples-seeding" },
                    ]),
                ],
            },
        );

        this.endpoint = pulumi.output(endpoint);
        this.endpointUrl = pulumi.output(endpointUrl);
        this.storageEnv = localStorageEnv({ endpoint, region, secretName: kserveSecret.metadata.name });
        this.bucketName = pulumi.output(bucket);
        this.serviceAccountName = serviceAccount.metadata.name;
        this.credentialsSecretName = kserveSecret.metadata.name;
        this.namespace = pulumi.output(args.namespace);
        this.storeNamespace = namespace;
        this.region = pulumi.output(region);
        this.ready = [deployment, service, job, kserveSecret, serviceAccount, writerServiceAccount];
        this.storage = {
            bucket: this.bucketName,
            modelPrefix: args.modelPrefix ?? "models/",
            namespace: this.namespace,
            readerServiceAccountName: this.serviceAccountName,
            readerEnv: this.storageEnv,
            writerServiceAccountName: writerServiceAccount.metadata.name,
            writerEnv: this.storageEnv,
            // The KServe Secret on the models' account carries endpoint and region for each model.
            kserveDefaults: undefined,
            ready: this.ready,
        };

        this.registerOutputs({
            endpoint: this.endpoint,
            endpointUrl: this.endpointUrl,
            bucketName: this.bucketName,
            serviceAccountName: this.serviceAccountName,
            credentialsSecretName: this.credentialsSecretName,
            namespace: this.namespace,
            storeNamespace: this.storeNamespace,
        });
    }
}
