/**
 * Local platform's model store: a single-node MinIO standing in for S3, plus what KServe needs to
 * read from it: an S3 credentials Secret with KServe's `serving.kserve.io/s3-*` annotations in the
 * models namespace, attached to the models' ServiceAccount (KServe's secret-based S3 path; on AWS
 * the same ServiceAccount uses IRSA instead).
 *
 * Data lives on a PersistentVolumeClaim, not an emptyDir: models are uploaded once by a seeding
 * Job, so a MinIO pod restart (node pressure, image update) must not silently empty the store.
 *
 * Credentials: generated root credentials stay in the `minio` namespace; the models get a second,
 * non-admin MinIO user whose policy covers only the model bucket. An idempotent Job with the
 * MinIO client creates the bucket, the policy and the user (plain MinIO has no
 * `MINIO_DEFAULT_BUCKETS`; that variable belongs to other images).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ContainerResources, containerResourcesProblems, platformLabels } from "./certManager";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "./podSecurity";
import { images } from "./versions";

/**
 * The environment KServe's storage initializer reads for S3 (what KServe itself derives from the
 * Secret's annotations), for containers KServe does not manage, such as the inference server's
 * init container.
 */
export function minioStorageEnv(args: { endpoint: string; region: string; secretName: pulumi.Input<string> }): k8s.types.input.core.v1.EnvVar[] {
    return [
        { name: "AWS_ENDPOINT_URL", value: `http://${args.endpoint}` },
        { name: "S3_ENDPOINT", value: args.endpoint },
        { name: "S3_USE_HTTPS", value: "0" },
        { name: "S3_VERIFY_SSL", value: "0" },
        { name: "AWS_REGION", value: args.region },
        { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: args.secretName, key: "AWS_ACCESS_KEY_ID" } } },
        { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: args.secretName, key: "AWS_SECRET_ACCESS_KEY" } } },
    ];
}

export interface MinioModelStoreArgs {
    /** Models namespace (must exist; pass its `metadata.name` to wait for it). Required. */
    readonly namespace: pulumi.Input<string>;
    /** ServiceAccount the models run as; created here with the S3 Secret attached. Required. */
    readonly serviceAccountName: string;
    /** Bucket to create. Default: `models`. */
    readonly bucketName?: string;
    /** Namespace MinIO runs in (created here). Default: `minio`. */
    readonly minioNamespace?: string;
    /** Size of MinIO's volume. Default: `10Gi`. */
    readonly storageSize?: string;
    /** StorageClass of MinIO's volume. Default: the cluster's default class (kind: `standard`). */
    readonly storageClassName?: string;
    /** Name of the KServe S3 credentials Secret in the models namespace. Default: `minio-s3-credentials`. */
    readonly credentialsSecretName?: string;
    /** Region name the S3 clients send (MinIO accepts any; its default is us-east-1). Default: `us-east-1`. */
    readonly region?: string;
    /** MinIO server container resources. Default: `defaultMinioResources`. */
    readonly resources?: ContainerResources;
}

export const defaultMinioResources: ContainerResources = {
    requests: { cpu: "100m", memory: "256Mi" },
    limits: { cpu: "1", memory: "1Gi" },
};

const bucketJobResources: ContainerResources = {
    requests: { cpu: "10m", memory: "32Mi" },
    limits: { cpu: "200m", memory: "128Mi" },
};

/** MinIO's S3 API port. */
export const minioPort = 9000;
/** Non-admin MinIO user whose credentials the models get. */
export const modelsAccessKeyId = "kserve-models";
/** Name of the MinIO policy that grants the models user the bucket. */
export const modelsPolicyName = "kserve-model-bucket";
/** Non-root UID/GID of MinIO and the bucket Job (neither image needs a particular one). */
const uid = 1000;

/** In-cluster S3 endpoint (`host:port`, the form KServe's s3-endpoint annotation takes). */
export function minioEndpoint(minioNamespace: string): string {
    return `minio.${minioNamespace}.svc.cluster.local:${minioPort}`;
}

/** Annotations KServe reads from an S3 credentials Secret attached to a model's ServiceAccount. */
export function kserveS3SecretAnnotations(options: { endpoint: string; region: string }): Record<string, string> {
    return {
        "serving.kserve.io/s3-endpoint": options.endpoint,
        // In-cluster MinIO speaks plain HTTP (no certificate to verify).
        "serving.kserve.io/s3-usehttps": "0",
        "serving.kserve.io/s3-verifyssl": "0",
        "serving.kserve.io/s3-region": options.region,
        "serving.kserve.io/s3-useanoncredential": "false",
    };
}

/** S3 bucket naming rules (MinIO enforces the same): 3-63 lowercase letters, digits, dots, hyphens. */
export function bucketNameProblems(bucket: string): string[] {
    const problems: string[] = [];
    if (typeof bucket !== "string" || bucket.length < 3 || bucket.length > 63) problems.push("must be 3 to 63 characters");
    if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket ?? "")) problems.push("must use lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit");
    if (/\.\.|\.-|-\./.test(bucket ?? "")) problems.push("must not contain '..', '.-' or '-.'");
    if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket ?? "")) problems.push("must not look like an IP address");
    return problems;
}

/** MinIO (IAM-style) policy granting read/write on one bucket and nothing else. */
export function minioBucketPolicy(bucket: string) {
    return {
        Version: "2012-10-17",
        Statement: [
            { Effect: "Allow", Action: ["s3:GetBucketLocation", "s3:ListBucket"], Resource: [`arn:aws:s3:::${bucket}`] },
            { Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: [`arn:aws:s3:::${bucket}/*`] },
        ],
    };
}

/**
 * Shell script of the bucket Job. Every step is idempotent so the Job can be re-run (replaced) at
 * any time: `mb --ignore-existing`, `policy create` and `user add` overwrite, and a failed
 * `policy attach` is accepted only when the user already has the policy.
 */
export function bucketJobScript(): string {
    return [
        'mc alias set store "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"',
        'mc mb --ignore-existing "store/$BUCKET"',
        'printf "%s" "$POLICY_JSON" > /tmp/policy.json',
        'mc admin policy create store "$POLICY_NAME" /tmp/policy.json',
        'mc admin user add store "$MODELS_ACCESS_KEY_ID" "$MODELS_SECRET_ACCESS_KEY"',
        'mc admin policy attach store "$POLICY_NAME" --user "$MODELS_ACCESS_KEY_ID" || mc admin user info store "$MODELS_ACCESS_KEY_ID" | grep -q "$POLICY_NAME"',
    ].join("\n");
}

const podSecurityContext = restrictedPodSecurityContext(uid);
const containerSecurityContext = restrictedContainerSecurityContext(uid);

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export class MinioModelStore extends pulumi.ComponentResource {
    /** S3 endpoint `host:port` inside the cluster. */
    public readonly endpoint: pulumi.Output<string>;
    /** The same endpoint as a URL (`http://host:port`), for clients that want one. */
    public readonly endpointUrl: pulumi.Output<string>;
    /** Env for a plain storage-initializer container (not KServe-managed) to read models from MinIO. */
    public readonly storageEnv: k8s.types.input.core.v1.EnvVar[];
    public readonly bucketName: pulumi.Output<string>;
    public readonly serviceAccountName: pulumi.Output<string>;
    /** KServe S3 Secret in the models namespace (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, s3-* annotations). */
    public readonly credentialsSecretName: pulumi.Output<string>;
    /** Models namespace (where the Secret and ServiceAccount live). */
    public readonly namespace: pulumi.Output<string>;
    /** Namespace MinIO runs in. */
    public readonly minioNamespace: pulumi.Output<string>;
    public readonly region: pulumi.Output<string>;
    /** What models and the seeding job must wait for: MinIO up, bucket and user created, Secret and ServiceAccount. */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: MinioModelStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        const bucket = args?.bucketName ?? "models";
        const minioNs = args?.minioNamespace ?? "minio";
        const storageSize = args?.storageSize ?? "10Gi";
        const secretName = args?.credentialsSecretName ?? "minio-s3-credentials";
        const region = args?.region ?? "us-east-1";
        const resources = args?.resources ?? defaultMinioResources;
        const problems: string[] = [];
        if (args?.namespace === undefined || args.namespace === null || args.namespace === "") problems.push("namespace is required");
        if (!args?.serviceAccountName || !dnsSubdomain.test(args.serviceAccountName)) {
            problems.push(`serviceAccountName '${args?.serviceAccountName}' is not a valid Kubernetes name`);
        }
        for (const p of bucketNameProblems(bucket)) problems.push(`bucketName '${bucket}' ${p}`);
        if (!dnsLabel.test(minioNs)) problems.push(`minioNamespace '${minioNs}' is not a DNS label`);
        if (!/^\d+(Mi|Gi|Ti)$/.test(storageSize)) problems.push(`storageSize '${storageSize}' must be a quantity in Mi, Gi or Ti`);
        if (!dnsSubdomain.test(secretName)) problems.push(`credentialsSecretName '${secretName}' is not a valid Kubernetes name`);
        if (args?.storageClassName !== undefined && !dnsSubdomain.test(args.storageClassName)) {
            problems.push(`storageClassName '${args.storageClassName}' is not a valid Kubernetes name`);
        }
        if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) problems.push(`region '${region}' is not a region name (e.g. us-east-1)`);
        problems.push(...containerResourcesProblems("resources", resources));
        if (problems.length > 0) throw new Error(`MinioModelStore ${name}: ${problems.join("; ")}`);

        super("inference-platform:modelStore:MinioModelStore", name, {}, opts);
        const endpoint = minioEndpoint(minioNs);
        const labels = { ...platformLabels, "app.kubernetes.io/name": "minio", "app.kubernetes.io/component": "model-store" };
        const selector = { "app.kubernetes.io/name": "minio", "app.kubernetes.io/component": "model-store" };

        // Restricted Pod Security: everything in this namespace runs non-root, so enforce it.
        const ns = new k8s.core.v1.Namespace(
            `${name}-ns`,
            { metadata: { name: minioNs, labels: { ...platformLabels, "pod-security.kubernetes.io/enforce": "restricted" } } },
            { parent: this },
        );
        const namespace = ns.metadata.name;

        // Alphanumeric only: the values go through shell arguments and `mc alias set`, and 32/40
        // random alphanumerics are ample entropy.
        const rootPassword = new random.RandomPassword(`${name}-root-password`, { length: 32, special: false }, { parent: this });
        const modelsSecretKey = new random.RandomPassword(`${name}-models-secret-key`, { length: 40, special: false }, { parent: this });

        const rootSecret = new k8s.core.v1.Secret(
            `${name}-credentials`,
            {
                metadata: { name: "minio-credentials", namespace, labels },
                type: "Opaque",
                stringData: {
                    MINIO_ROOT_USER: "minio-root",
                    MINIO_ROOT_PASSWORD: rootPassword.result,
                    MODELS_ACCESS_KEY_ID: modelsAccessKeyId,
                    MODELS_SECRET_ACCESS_KEY: modelsSecretKey.result,
                },
            },
            { parent: this },
        );
        const fromSecret = (envName: string) => ({
            name: envName,
            valueFrom: { secretKeyRef: { name: rootSecret.metadata.name, key: envName } },
        });

        const pvc = new k8s.core.v1.PersistentVolumeClaim(
            `${name}-data`,
            {
                metadata: { name: "minio-data", namespace, labels },
                spec: {
                    accessModes: ["ReadWriteOnce"],
                    storageClassName: args.storageClassName,
                    resources: { requests: { storage: storageSize } },
                },
            },
            { parent: this },
        );

        const deployment = new k8s.apps.v1.Deployment(
            `${name}-minio`,
            {
                metadata: { name: "minio", namespace, labels },
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
                                    name: "minio",
                                    image: images.minio,
                                    // certs-dir moves MinIO's default ${HOME}/.minio/certs onto the
                                    // writable /tmp, as the root filesystem is read-only.
                                    args: ["server", "/data", "--address", `:${minioPort}`, "--certs-dir", "/tmp/certs"],
                                    env: [
                                        fromSecret("MINIO_ROOT_USER"),
                                        fromSecret("MINIO_ROOT_PASSWORD"),
                                        // No web console: nothing here needs it, and it is one less listener.
                                        { name: "MINIO_BROWSER", value: "off" },
                                    ],
                                    ports: [{ name: "http", containerPort: minioPort }],
                                    readinessProbe: { httpGet: { path: "/minio/health/ready", port: minioPort }, periodSeconds: 5 },
                                    livenessProbe: { httpGet: { path: "/minio/health/live", port: minioPort }, initialDelaySeconds: 10, periodSeconds: 10 },
                                    resources,
                                    securityContext: containerSecurityContext,
                                    volumeMounts: [
                                        { name: "data", mountPath: "/data" },
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
                metadata: { name: "minio", namespace, labels },
                spec: {
                    type: "ClusterIP",
                    selector,
                    ports: [{ name: "http", port: minioPort, targetPort: minioPort, protocol: "TCP" }],
                },
            },
            { parent: this },
        );

        // Auto-named, so a changed Job (immutable) is replaced create-before-delete.
        const job = new k8s.batch.v1.Job(
            `${name}-create-bucket`,
            {
                metadata: { namespace, labels: { ...platformLabels, "app.kubernetes.io/name": "minio-bucket" } },
                spec: {
                    backoffLimit: 6,
                    template: {
                        metadata: { labels: { ...platformLabels, "app.kubernetes.io/name": "minio-bucket" } },
                        spec: {
                            restartPolicy: "OnFailure",
                            automountServiceAccountToken: false,
                            securityContext: podSecurityContext,
                            containers: [
                                {
                                    name: "mc",
                                    image: images.minioClient,
                                    command: ["/bin/sh", "-ec", bucketJobScript()],
                                    env: [
                                        { name: "MINIO_URL", value: `http://${endpoint}` },
                                        { name: "BUCKET", value: bucket },
                                        { name: "POLICY_NAME", value: modelsPolicyName },
                                        { name: "POLICY_JSON", value: JSON.stringify(minioBucketPolicy(bucket)) },
                                        fromSecret("MINIO_ROOT_USER"),
                                        fromSecret("MINIO_ROOT_PASSWORD"),
                                        fromSecret("MODELS_ACCESS_KEY_ID"),
                                        fromSecret("MODELS_SECRET_ACCESS_KEY"),
                                        // mc keeps its alias config under $HOME/.mc; the root filesystem is read-only.
                                        { name: "HOME", value: "/tmp" },
                                    ],
                                    resources: bucketJobResources,
                                    securityContext: containerSecurityContext,
                                    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                                },
                            ],
                            volumes: [{ name: "tmp", emptyDir: { sizeLimit: "16Mi" } }],
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
                // KServe looks up the S3 credentials through the ServiceAccount's `secrets` list.
                secrets: [{ name: kserveSecret.metadata.name }],
            },
            { parent: this },
        );

        this.endpoint = pulumi.output(endpoint);
        this.endpointUrl = pulumi.output(`http://${endpoint}`);
        this.storageEnv = minioStorageEnv({ endpoint, region, secretName: kserveSecret.metadata.name });
        this.bucketName = pulumi.output(bucket);
        this.serviceAccountName = serviceAccount.metadata.name;
        this.credentialsSecretName = kserveSecret.metadata.name;
        this.namespace = pulumi.output(args.namespace);
        this.minioNamespace = namespace;
        this.region = pulumi.output(region);
        this.ready = [deployment, service, job, kserveSecret, serviceAccount];

        this.registerOutputs({
            endpoint: this.endpoint,
            endpointUrl: this.endpointUrl,
            bucketName: this.bucketName,
            serviceAccountName: this.serviceAccountName,
            credentialsSecretName: this.credentialsSecretName,
            namespace: this.namespace,
            minioNamespace: this.minioNamespace,
        });
    }
}
