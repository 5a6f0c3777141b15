/**
 * The seeds' plain-Kubernetes serving path (seed 003, chapter 9) as one component: TF Serving with the
 * model pulled from S3, and the image gateway in front of it, exposed through the Istio ingress
 * gateway on its own host `<name>.<namespace>.<domain>`.
 *
 *   client ──HTTP──▶ istio-ingressgateway ──VirtualService──▶ gateway Service ──▶ gateway pods
 *   gateway pods ──gRPC, client-side round robin over DNS──▶ headless Service ──▶ TF Serving pods
 *
 * What differs from the seeds, and why:
 * - The model is not baked into an image: an init container (KServe's storage initializer, args
 *   `<storageUri> <destDir>`) downloads `s3://<bucket>/models/<model>/` with the IRSA ServiceAccount,
 *   and a second init container checks the `<version>/saved_model.pb` layout TF Serving needs, so a
 *   wrong upload fails fast with a clear message instead of a pod that never becomes ready.
 * - gRPC keeps one HTTP/2 connection per client, so a ClusterIP Service would pin each gateway pod to
 *   one TF Serving pod (the seed's own warning). A headless Service gives the gateway every pod IP,
 *   the gateway dials `dns:///<svc>.<ns>.svc.cluster.local:8500` with round robin, and TF Serving
 *   closes connections after `grpc.max_connection_age_ms` so clients re-resolve and find new pods.
 * - Nothing is a public LoadBalancer: the host goes through the shared ingress gateway and its
 *   authorization policies (IngressAuth).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { gpuNodeSelector, gpuToleration } from "../common/gpuScheduling";
import { platformLabels } from "../common/labels";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../common/podSecurity";
import { images } from "../../versions";

type Input<T> = pulumi.Input<T>;

/** Joins strings; stays a plain string when every part is one, so pure builders stay plain in tests. */
function concat(...parts: Input<string>[]): Input<string> {
    if (parts.every((part) => typeof part === "string")) return (parts as string[]).join("");
    return pulumi.all(parts).apply((values) => values.join(""));
}

/** The seeds' clothing model (Xception, 299×299, ten classes). */
export const clothingLabels = ["dress", "hat", "longsleeve", "outwear", "pants", "shirt", "shoes", "shorts", "skirt", "t-shirt"] as const;

export const tfServingPorts = { grpc: 8500, rest: 8501 } as const;
export const gatewayHttpPort = 8080;
/** Where the model volume is mounted in the init containers. */
const downloadDir = "/mnt/models";



/** Kubernetes object names of one inference server. */
export function inferenceServerNames(name: string) {
    return {
        tfServing: `${name}-tf-serving`,
        tfServingGrpc: `${name}-tf-serving-grpc`,
        gateway: `${name}-gateway`,
    } as const;
}

/** The gateway's gRPC target: every TF Serving pod through the headless Service's DNS records. */
export function predictorGrpcTarget(grpcService: string, namespace: string): string {
    return `dns:///${grpcService}.${namespace}.svc.cluster.local:${tfServingPorts.grpc}`;
}

/**
 * Validates an `s3://bucket/prefix` model location and ends it with `/`: KServe's storage initializer
 * lists objects by key prefix, so `models/clothing-model` would also download `models/clothing-model-v2/...`.
 */
export function normalizeStorageUri(uri: string): string {
    const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(uri);
    if (!match) throw new Error(`storageUri '${uri}' must be s3://<bucket>/<prefix> (e.g. s3://my-bucket/models/clothing-model)`);
    const prefix = match[2].replace(/\/+$/, "");
    if (prefix === "" || prefix.includes("*") || prefix.split("/").some((part) => part === "" || part === "." || part === "..")) {
        throw new Error(`storageUri '${uri}': the key prefix must be a plain path (no '*', '//', '.' or '..')`);
    }
    return `s3://${match[1]}/${prefix}/`;
}

/**
 * The shell script run after the download (components/models/scripts/check-model-layout.sh), and the
 * container command that runs it on `dir`: TF Serving waits forever on a wrong layout, the check fails fast.
 */
export function modelLayoutCheckScript(): string {
    return fs.readFileSync(path.join(__dirname, "scripts", "check-model-layout.sh"), "utf8");
}
export function modelLayoutCheckCommand(dir: string): string[] {
    return ["/bin/sh", "-c", modelLayoutCheckScript(), "check-model-layout", dir];
}

// ---------------------------------------------------------------------------------------------
// Pod building blocks.
// ---------------------------------------------------------------------------------------------

const uid = 1000;

// emptyDir volumes become group-writable for this GID (fsGroup), so the init container can write the model.
const podSecurityContext = restrictedPodSecurityContext(uid);
const containerSecurityContext = restrictedContainerSecurityContext(uid);

function selectorLabels(name: string, component: string): Record<string, string> {
    return { "app.kubernetes.io/name": component, "app.kubernetes.io/instance": name };
}

function objectLabels(name: string, component: string): Record<string, string> {
    return { ...selectorLabels(name, component), "app.kubernetes.io/component": component, ...platformLabels };
}

function zoneSpread(labels: Record<string, string>): k8s.types.input.core.v1.TopologySpreadConstraint[] {
    // Soft: a single-zone cluster (kind) must still schedule.
    return [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: labels } }];
}

// ---------------------------------------------------------------------------------------------
// TF Serving.
// ---------------------------------------------------------------------------------------------

export interface TfServingParams {
    /** Base name of the objects (`<name>-tf-serving`). */
    readonly name: string;
    readonly namespace: Input<string>;
    /** IRSA ServiceAccount that may read the model prefix. */
    readonly serviceAccountName: Input<string>;
    /** Normalized `s3://bucket/prefix/` (see `normalizeStorageUri`). */
    readonly storageUri: Input<string>;
    readonly modelName: string;
    readonly gpu: boolean;
    /** Extra environment for the storage initializer (e.g. AWS_ENDPOINT_URL for MinIO). */
    readonly storageEnv?: Input<k8s.types.input.core.v1.EnvVar>[];
}

export function tfServingDeployment(p: TfServingParams): k8s.types.input.apps.v1.Deployment {
    const names = inferenceServerNames(p.name);
    const selector = selectorLabels(p.name, "tf-serving");
    const modelBasePath = `/models/${p.modelName}`;
    const statusPath = `/v1/models/${p.modelName}`;
    const resources: k8s.types.input.core.v1.ResourceRequirements = p.gpu
        ? { requests: { cpu: "1", memory: "4Gi", "nvidia.com/gpu": "1" }, limits: { cpu: "4", memory: "8Gi", "nvidia.com/gpu": "1" } }
        : { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } };
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: names.tfServing, namespace: p.namespace, labels: objectLabels(p.name, "tf-serving") },
        spec: {
            // No `replicas`: the HorizontalPodAutoscaler owns it (a value here would fight it on every update).
            selector: { matchLabels: selector },
            template: {
                metadata: { labels: { ...objectLabels(p.name, "tf-serving") } },
                spec: {
                    serviceAccountName: p.serviceAccountName,
                    // IRSA mounts its own projected token (eks.amazonaws.com/serviceaccount); the
                    // Kubernetes API token is not needed by anything in this pod.
                    automountServiceAccountToken: false,
                    securityContext: podSecurityContext,
                    terminationGracePeriodSeconds: 30,
                    topologySpreadConstraints: zoneSpread(selector),
                    ...(p.gpu ? { nodeSelector: { ...gpuNodeSelector }, tolerations: [{ ...gpuToleration }] } : {}),
                    initContainers: [
                        {
                            name: "storage-initializer",
                            image: images.kserveStorageInitializer,
                            args: [p.storageUri, downloadDir],
                            env: [{ name: "HOME", value: "/tmp" }, ...(p.storageEnv ?? [])],
                            resources: { requests: { cpu: "100m", memory: "100Mi" }, limits: { cpu: "1", memory: "1Gi" } },
                            securityContext: containerSecurityContext,
                            volumeMounts: [
                                { name: "model", mountPath: downloadDir },
                                { name: "tmp", mountPath: "/tmp" },
                            ],
                        },
                        {
                            name: "check-model-layout",
                            image: images.kserveStorageInitializer,
                            command: modelLayoutCheckCommand(downloadDir),
                            resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
                            securityContext: containerSecurityContext,
                            volumeMounts: [{ name: "model", mountPath: downloadDir, readOnly: true }],
                        },
                    ],
                    containers: [
                        {
                            name: "tf-serving",
                            image: p.gpu ? images.tensorflowServingGpu : images.tensorflowServing,
                            command: ["tensorflow_model_server"],
                            args: [
                                `--port=${tfServingPorts.grpc}`,
                                `--rest_api_port=${tfServingPorts.rest}`,
                                `--model_name=${p.modelName}`,
                                `--model_base_path=${modelBasePath}`,
                                // The model directory never changes while the pod lives: poll it once.
                                "--file_system_poll_wait_seconds=0",
                                // Makes gRPC clients reconnect (and re-resolve DNS) every minute, so
                                // pods added by the autoscaler receive traffic.
                                "--grpc_channel_arguments=grpc.max_connection_age_ms=60000",
                            ],
                            // Read-only root: anything that wants a home directory (CUDA's JIT cache) gets /tmp.
                            env: [{ name: "HOME", value: "/tmp" }],
                            ports: [
                                { name: "grpc", containerPort: tfServingPorts.grpc, protocol: "TCP" },
                                { name: "http", containerPort: tfServingPorts.rest, protocol: "TCP" },
                            ],
                            // Loading a SavedModel can take a while; liveness starts after this passes.
                            startupProbe: { httpGet: { path: statusPath, port: "http" }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 60 },
                            // The status endpoint answers 200 while a version is still LOADING; the
                            // metadata endpoint needs a servable handle, i.e. a version that is AVAILABLE.
                            readinessProbe: { httpGet: { path: `${statusPath}/metadata`, port: "http" }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
                            livenessProbe: { httpGet: { path: statusPath, port: "http" }, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
                            // Endpoints are removed asynchronously; keep serving briefly after SIGTERM is due.
                            lifecycle: { preStop: { sleep: { seconds: 5 } } },
                            resources,
                            securityContext: containerSecurityContext,
                            volumeMounts: [
                                { name: "model", mountPath: modelBasePath, readOnly: true },
                                { name: "tmp", mountPath: "/tmp" },
                            ],
                        },
                    ],
                    volumes: [
                        { name: "model", emptyDir: { sizeLimit: "4Gi" } },
                        { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
                    ],
                },
            },
        },
    };
}

/** Headless Service for gRPC (one DNS A record per ready pod) and a ClusterIP Service for REST. */
export function tfServingServices(p: { name: string; namespace: Input<string> }): {
    grpc: k8s.types.input.core.v1.Service;
    rest: k8s.types.input.core.v1.Service;
} {
    const names = inferenceServerNames(p.name);
    const selector = selectorLabels(p.name, "tf-serving");
    const labels = objectLabels(p.name, "tf-serving");
    return {
        grpc: {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: names.tfServingGrpc, namespace: p.namespace, labels },
            spec: {
                clusterIP: "None",
                selector,
                ports: [{ name: "grpc", port: tfServingPorts.grpc, targetPort: "grpc", protocol: "TCP", appProtocol: "grpc" }],
            },
        },
        rest: {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: names.tfServing, namespace: p.namespace, labels },
            spec: {
                type: "ClusterIP",
                selector,
                ports: [{ name: "http", port: tfServingPorts.rest, targetPort: "http", protocol: "TCP", appProtocol: "http" }],
            },
        },
    };
}

// ---------------------------------------------------------------------------------------------
// Gateway.
// ---------------------------------------------------------------------------------------------

export interface GatewayParams {
    readonly name: string;
    readonly namespace: Input<string>;
    readonly image: Input<string>;
    readonly modelName: string;
    /** `dns:///<headless svc>.<ns>.svc.cluster.local:8500` (see `predictorGrpcTarget`). */
    readonly predictorTarget: Input<string>;
    /** `height,width` of the model input. */
    readonly inputSize: string;
    /** Keras application the model was trained from (selects preprocessing). */
    readonly kerasModelName: string;
    readonly labels: readonly string[];
}

export function gatewayDeployment(p: GatewayParams): k8s.types.input.apps.v1.Deployment {
    const names = inferenceServerNames(p.name);
    const selector = selectorLabels(p.name, "gateway");
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: names.gateway, namespace: p.namespace, labels: objectLabels(p.name, "gateway") },
        spec: {
            selector: { matchLabels: selector },
            template: {
                metadata: { labels: { ...objectLabels(p.name, "gateway") } },
                spec: {
                    automountServiceAccountToken: false,
                    securityContext: podSecurityContext,
                    // The gateway drains in-flight requests for up to 25 s after SIGTERM.
                    terminationGracePeriodSeconds: 35,
                    topologySpreadConstraints: zoneSpread(selector),
                    containers: [
                        {
                            name: "gateway",
                            image: p.image,
                            // Flag names follow gateway/src/config.ts (KServe model-server conventions).
                            args: [
                                `--model_name=${p.modelName}`,
                                concat("--predictor_host=", p.predictorTarget),
                                `--http_port=${gatewayHttpPort}`,
                                "--protocol=tfserving-grpc",
                            ],
                            env: [
                                { name: "MODEL_INPUT_SIZE", value: p.inputSize },
                                { name: "KERAS_MODEL_NAME", value: p.kerasModelName },
                                { name: "MODEL_LABELS", value: p.labels.join(",") },
                            ],
                            ports: [{ name: "http", containerPort: gatewayHttpPort, protocol: "TCP" }],
                            readinessProbe: { httpGet: { path: "/v2/health/ready", port: "http" }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
                            livenessProbe: { httpGet: { path: "/v2/health/live", port: "http" }, initialDelaySeconds: 5, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 3 },
                            lifecycle: { preStop: { sleep: { seconds: 5 } } },
                            resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
                            securityContext: containerSecurityContext,
                            volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                        },
                    ],
                    volumes: [{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }],
                },
            },
        },
    };
}

export function gatewayService(p: { name: string; namespace: Input<string> }): k8s.types.input.core.v1.Service {
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: inferenceServerNames(p.name).gateway, namespace: p.namespace, labels: objectLabels(p.name, "gateway") },
        spec: {
            type: "ClusterIP",
            selector: selectorLabels(p.name, "gateway"),
            ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP", appProtocol: "http" }],
        },
    };
}

/** Istio VirtualService routing `host` on the shared ingress gateway to the gateway Service. */
export function gatewayVirtualService(p: { name: string; namespace: Input<string>; host: Input<string>; ingressGateway: string }) {
    const names = inferenceServerNames(p.name);
    return {
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: { name: names.gateway, namespace: p.namespace, labels: objectLabels(p.name, "gateway") },
        spec: {
            hosts: [p.host],
            gateways: [p.ingressGateway],
            http: [
                {
                    route: [{ destination: { host: concat(names.gateway, ".", p.namespace, ".svc.cluster.local"), port: { number: 80 } } }],
                    timeout: "60s",
                },
            ],
        },
    };
}

// ---------------------------------------------------------------------------------------------
// Scaling and disruption.
// ---------------------------------------------------------------------------------------------

export function cpuAutoscaler(p: {
    name: string;
    namespace: Input<string>;
    deployment: string;
    component: string;
    min: number;
    max: number;
    cpuUtilization: number;
}): k8s.types.input.autoscaling.v2.HorizontalPodAutoscaler {
    return {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: p.deployment, namespace: p.namespace, labels: objectLabels(p.name, p.component) },
        spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: p.deployment },
            minReplicas: p.min,
            maxReplicas: p.max,
            metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: p.cpuUtilization } } }],
        },
    };
}

/** At most one pod down for voluntary disruptions; never blocks a drain, even at one replica. */
export function disruptionBudget(p: { name: string; namespace: Input<string>; component: string; objectName: string }): k8s.types.input.policy.v1.PodDisruptionBudget {
    return {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name: p.objectName, namespace: p.namespace, labels: objectLabels(p.name, p.component) },
        spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(p.name, p.component) } },
    };
}

// ---------------------------------------------------------------------------------------------
// Component.
// ---------------------------------------------------------------------------------------------

export interface ReplicaRange {
    readonly min: number;
    readonly max: number;
}

export interface InferenceServerArgs {
    /** Namespace to deploy into (exists already; the model namespace). Required. */
    readonly namespace: Input<string>;
    /** IRSA ServiceAccount (in `namespace`) allowed to read the model prefix; the lead creates it. Required. */
    readonly serviceAccountName: Input<string>;
    /** Model location, `s3://<bucket>/models/clothing-model` holding `<version>/saved_model.pb`. Required. */
    readonly storageUri: Input<string>;
    /** Model name: TF Serving's `--model_name` and the URL path `/v1/models/<modelName>`. Default: `clothing-model`. */
    readonly modelName?: string;
    /** DNS domain; the host is `<name>.<namespace>.<domain>`. Required. */
    readonly domain: Input<string>;
    /** Gateway image (registry/name:tag or @digest). Required. */
    readonly gatewayImage: Input<string>;
    /** Run TF Serving's GPU build on a GPU node (`nvidia.com/gpu: 1`). Default: false. */
    readonly gpu?: boolean;
    /** TF Serving replicas (HPA bounds). Default: `{ min: 1, max: 3 }`. */
    readonly tfServingReplicas?: ReplicaRange;
    /** Gateway replicas (HPA bounds). Default: `{ min: 1, max: 5 }`. */
    readonly gatewayReplicas?: ReplicaRange;
    /** HPA target CPU utilization, percent of requests. Default: 70. */
    readonly cpuTargetUtilization?: number;
    /** Istio Gateway (`namespace/name`) the host is bound to. Default: `knative-serving/knative-ingress-gateway`. */
    readonly ingressGateway?: string;
    /** Model input size `height,width`. Default: `299,299` (the seeds' Xception). */
    readonly inputSize?: string;
    /** Keras application of the model (selects preprocessing). Default: `xception`. */
    readonly kerasModelName?: string;
    /** Class labels in output order. Default: the seeds' ten clothing classes. */
    readonly labels?: readonly string[];
    /** Extra env for the storage initializer (MinIO endpoint and credentials on the local platform). Default: none. */
    readonly storageEnv?: Input<k8s.types.input.core.v1.EnvVar>[];
    /**
     * Resources that must exist first: the namespace, the IRSA ServiceAccount, the uploaded model (the
     * Deployment waits for ready pods, which needs the model), Istio and Knative's gateway. Default: none.
     */
    readonly waitFor?: Input<pulumi.Resource>[];
    /**
     * Name of the Kubernetes objects and first label of the public host (`<serverName>.<namespace>.<domain>`):
     * a DNS label of at most 40 characters. Default: the component's name.
     */
    readonly serverName?: string;
}

const objectName = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Every problem with the arguments (empty when valid); Inputs that are not plain strings are checked where possible. */
export function inferenceServerProblems(name: string, args: InferenceServerArgs): string[] {
    const problems: string[] = [];
    // The longest object name is `<name>-tf-serving-grpc` (a Service: DNS-1035 label, at most 63).
    if (!objectName.test(name) || name.length > 40) problems.push(`name '${name}' must be a DNS label starting with a letter, at most 40 characters`);
    const modelName = args.modelName ?? "clothing-model";
    if (!/^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/.test(modelName) || modelName.length > 63) {
        problems.push(`modelName '${modelName}' must be lowercase letters, digits, '-', '_' or '.' (it is a URL path segment and a directory)`);
    }
    if (typeof args.storageUri === "string") {
        try {
            normalizeStorageUri(args.storageUri);
        } catch (err) {
            problems.push((err as Error).message);
        }
    }
    if (typeof args.domain === "string" && !/^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(args.domain)) {
        problems.push(`domain '${args.domain}' is not a DNS domain`);
    }
    if (typeof args.gatewayImage === "string" && (args.gatewayImage.trim() === "" || /\s/.test(args.gatewayImage))) {
        problems.push(`gatewayImage '${args.gatewayImage}' is not an image reference`);
    }
    for (const [key, range] of [["tfServingReplicas", args.tfServingReplicas], ["gatewayReplicas", args.gatewayReplicas]] as const) {
        if (range === undefined) continue;
        if (!Number.isInteger(range.min) || !Number.isInteger(range.max) || range.min < 1 || range.max < range.min || range.max > 100) {
            problems.push(`${key} { min: ${range.min}, max: ${range.max} } must be integers with 1 <= min <= max <= 100`);
        }
    }
    const cpu = args.cpuTargetUtilization ?? 70;
    if (!Number.isInteger(cpu) || cpu < 10 || cpu > 100) problems.push(`cpuTargetUtilization ${cpu} must be an integer percentage in 10..100`);
    if (args.ingressGateway !== undefined && !/^[a-z0-9-]+\/[a-z0-9.-]+$/.test(args.ingressGateway)) {
        problems.push(`ingressGateway '${args.ingressGateway}' must be <namespace>/<name>`);
    }
    if (args.inputSize !== undefined && !/^\d{1,4}\s*,\s*\d{1,4}$/.test(args.inputSize)) problems.push(`inputSize '${args.inputSize}' must be 'height,width' (e.g. 299,299)`);
    if (args.kerasModelName !== undefined && !/^[a-z0-9_]+$/.test(args.kerasModelName)) problems.push(`kerasModelName '${args.kerasModelName}' must be a Keras application name (e.g. xception)`);
    if (args.labels !== undefined) {
        if (args.labels.length === 0) problems.push("labels must not be empty");
        if (args.labels.some((l) => l.trim() === "" || l.includes(","))) problems.push("labels must be non-empty and contain no commas (they are passed comma-separated)");
        if (new Set(args.labels).size !== args.labels.length) problems.push("labels must be unique");
    }
    return problems;
}

/** TF Serving + gateway, autoscaled, exposed on `<name>.<namespace>.<domain>` through the Istio ingress gateway. */
export class InferenceServer extends pulumi.ComponentResource {
    /** Public host name. */
    public readonly host: pulumi.Output<string>;
    /** `http://<host>/v1/models/<modelName>:predict`, the gateway's KServe V1 endpoint. */
    public readonly predictUrl: pulumi.Output<string>;
    /** gRPC target the gateway dials. */
    public readonly predictorTarget: pulumi.Output<string>;

    constructor(name: string, args: InferenceServerArgs, opts?: pulumi.ComponentResourceOptions) {
        const serverName = args.serverName ?? name;
        const problems = inferenceServerProblems(serverName, args);
        if (problems.length > 0) throw new Error(`InferenceServer ${name}: invalid arguments:\n  - ${problems.join("\n  - ")}`);
        super("inference-platform:serving:InferenceServer", name, {}, opts);

        const modelName = args.modelName ?? "clothing-model";
        const gpu = args.gpu ?? false;
        const tfRange = args.tfServingReplicas ?? { min: 1, max: 3 };
        const gwRange = args.gatewayReplicas ?? { min: 1, max: 5 };
        const cpuUtilization = args.cpuTargetUtilization ?? 70;
        const names = inferenceServerNames(serverName);
        const namespace = args.namespace;
        const childOpts = { parent: this, dependsOn: args.waitFor ?? [] };

        const storageUri = pulumi.output(args.storageUri).apply(normalizeStorageUri);
        const tfDeployment = new k8s.apps.v1.Deployment(
            `${name}-tf-serving`,
            tfServingDeployment({ name: serverName, namespace, serviceAccountName: args.serviceAccountName, storageUri, modelName, gpu, storageEnv: args.storageEnv }),
            childOpts,
        );
        const services = tfServingServices({ name: serverName, namespace });
        const grpcService = new k8s.core.v1.Service(`${name}-tf-serving-grpc`, services.grpc, childOpts);
        new k8s.core.v1.Service(`${name}-tf-serving-rest`, services.rest, childOpts);

        this.predictorTarget = pulumi
            .all([grpcService.metadata.name, grpcService.metadata.namespace])
            .apply(([svc, ns]) => predictorGrpcTarget(svc, ns));
        const gwDeployment = new k8s.apps.v1.Deployment(
            `${name}-gateway`,
            gatewayDeployment({
                name: serverName,
                namespace,
                image: args.gatewayImage,
                modelName,
                predictorTarget: this.predictorTarget,
                inputSize: args.inputSize ?? "299,299",
                kerasModelName: args.kerasModelName ?? "xception",
                labels: args.labels ?? clothingLabels,
            }),
            // The gateway is useless until TF Serving answers; waiting also keeps rollout errors readable.
            { parent: this, dependsOn: [...(args.waitFor ?? []), tfDeployment] },
        );
        const gwService = new k8s.core.v1.Service(`${name}-gateway`, gatewayService({ name: serverName, namespace }), childOpts);

        new k8s.autoscaling.v2.HorizontalPodAutoscaler(
            `${name}-tf-serving`,
            cpuAutoscaler({ name: serverName, namespace, deployment: names.tfServing, component: "tf-serving", min: tfRange.min, max: tfRange.max, cpuUtilization }),
            { parent: this, dependsOn: [tfDeployment] },
        );
        new k8s.autoscaling.v2.HorizontalPodAutoscaler(
            `${name}-gateway`,
            cpuAutoscaler({ name: serverName, namespace, deployment: names.gateway, component: "gateway", min: gwRange.min, max: gwRange.max, cpuUtilization }),
            { parent: this, dependsOn: [gwDeployment] },
        );
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-tf-serving`,
            disruptionBudget({ name: serverName, namespace, component: "tf-serving", objectName: names.tfServing }),
            childOpts,
        );
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-gateway`,
            disruptionBudget({ name: serverName, namespace, component: "gateway", objectName: names.gateway }),
            childOpts,
        );

        this.host = pulumi.interpolate`${serverName}.${namespace}.${args.domain}`;
        const vs = gatewayVirtualService({
            name: serverName,
            namespace,
            host: this.host,
            ingressGateway: args.ingressGateway ?? "knative-serving/knative-ingress-gateway",
        });
        new k8s.apiextensions.CustomResource(`${name}-gateway`, vs, { parent: this, dependsOn: [...(args.waitFor ?? []), gwService] });

        this.predictUrl = pulumi.interpolate`http://${this.host}/v1/models/${modelName}:predict`;
        this.registerOutputs({ host: this.host, predictUrl: this.predictUrl, predictorTarget: this.predictorTarget });
    }
}
