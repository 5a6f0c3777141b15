/**
 * A typed model of KServe's `serving.kserve.io/v1beta1` InferenceService (the subset this platform
 * uses, field names as in the v0.20.0 CRD), its validation, a pure renderer and a component that
 * registers it as a `CustomResource`.
 *
 * There is no npm package with KServe types: the interfaces below are written from the CRD in
 * /work/shared/schemas/kserve-v0.20.0 and the runtime definitions of KServe v0.20.0
 * (`config/runtimes/*.yaml`). The tests validate every rendered manifest against that CRD.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { gpuNodeSelector, gpuResource, gpuToleration } from "../common/gpuScheduling";
import { restrictedContainerSecurityContext } from "../common/podSecurity";
import { domainProblem, isDnsLabel } from "../common/validation";

export const inferenceServiceApiVersion = "serving.kserve.io/v1beta1";

/** Storage URI schemes KServe's storage initializer (or modelcar) understands and we allow. */
export const storageUriSchemes = ["s3", "gs", "pvc", "https", "hf", "oci"] as const;
export type StorageUriScheme = (typeof storageUriSchemes)[number];

/** Model formats of KServe's built-in ClusterServingRuntimes (v0.20.0). */
export const modelFormatNames = [
    "sklearn",
    "xgboost",
    "lightgbm",
    "tensorflow",
    "pytorch",
    "onnx",
    "triton",
    "mlflow",
    "huggingface",
    "pmml",
    "paddle",
] as const;
export type ModelFormatName = (typeof modelFormatNames)[number];

/** REST protocols. v1 is TF-Serving style (`:predict`), v2 the Open Inference Protocol (`/infer`). */
export const protocolVersions = ["v1", "v2"] as const;
export type ProtocolVersion = (typeof protocolVersions)[number];

/** Knative (KPA) autoscaling metrics; `cpu`/`memory` need the HPA class, which Serverless mode does not use. */
export const scaleMetrics = ["concurrency", "rps"] as const;
export type ScaleMetric = (typeof scaleMetrics)[number];

/** The ClusterServingRuntime KServe v0.20.0 ships for sklearn (supports v1 and v2). */
export const sklearnServerRuntime = "kserve-sklearnserver";
/** The ClusterServingRuntime that serves MLflow models (MLServer; v2 only). */
export const mlserverRuntime = "kserve-mlserver";


export interface ResourceRequirements {
    readonly requests?: Readonly<Record<string, string>>;
    readonly limits?: Readonly<Record<string, string>>;
}

export interface Toleration {
    readonly key?: string;
    readonly operator?: "Exists" | "Equal";
    readonly value?: string;
    readonly effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
    readonly tolerationSeconds?: number;
}

/** A plain environment variable (no valueFrom: examples carry no secrets). */
export interface EnvVar<S = string> {
    readonly name: string;
    readonly value: S;
}

/** Fields KServe's ComponentExtensionSpec shares between predictor and transformer. */
export interface ScalingSpec {
    /** Minimum replicas; 0 scales to zero when idle. Default in `renderInferenceService`: 0. */
    readonly minReplicas?: number;
    /** Maximum replicas (>= minReplicas, >= 1). Default: unset (KServe: no limit). */
    readonly maxReplicas?: number;
    /** Autoscaling target per replica for `scaleMetric`. Default: unset (Knative: 100 concurrent requests). */
    readonly scaleTarget?: number;
    /** `concurrency` or `rps`. Default: unset (concurrency). */
    readonly scaleMetric?: ScaleMetric;
    /** Extra pod annotations (e.g. `autoscaling.knative.dev/*`). Default: none. */
    readonly annotations?: Readonly<Record<string, string>>;
}

/** `predictor.model`: the model, its format and where it is stored. */
export interface ModelSpec<S = string> {
    readonly modelFormat: { readonly name: ModelFormatName; readonly version?: string };
    /** ClusterServingRuntime name; unset lets KServe pick (sklearn + v2 pins `kserve-sklearnserver`). */
    readonly runtime?: string;
    /** Image tag of the runtime (e.g. `2.18.0-gpu`). Default: the runtime's own tag. */
    readonly runtimeVersion?: string;
    /** Default: v1 (KServe's default). */
    readonly protocolVersion?: ProtocolVersion;
    /** Where the model lives: one of `storageUriSchemes`. Required. */
    readonly storageUri: S;
    /** Default: `defaultModelResources`. GPUs go in limits (`nvidia.com/gpu`). */
    readonly resources?: ResourceRequirements;
    readonly env?: readonly EnvVar<S>[];
    readonly args?: readonly (S | string)[];
}

export interface PredictorSpec<S = string> extends ScalingSpec {
    readonly model: ModelSpec<S>;
    /** ServiceAccount whose credentials (IRSA role or S3 secret) the storage initializer uses. */
    readonly serviceAccountName?: S;
    /** Percent of traffic for the latest revision during a rollout (0-100). Default: unset (100). */
    readonly canaryTrafficPercent?: number;
    readonly nodeSelector?: Readonly<Record<string, string>>;
    readonly tolerations?: readonly Toleration[];
}

/** A custom transformer container (KServe appends `--http_port 8080` when absent). */
export interface TransformerContainer<S = string> {
    /** Default: `kserve-container` (the name KServe's examples use). */
    readonly name?: string;
    readonly image: S;
    readonly args?: readonly (S | string)[];
    readonly env?: readonly EnvVar<S>[];
    /** Default: `defaultTransformerResources`. */
    readonly resources?: ResourceRequirements;
}

export interface TransformerSpec<S = string> extends ScalingSpec {
    /** Exactly one container. */
    readonly containers: readonly TransformerContainer<S>[];
    readonly serviceAccountName?: S;
}

/**
 * The InferenceService. `S` is the type of fields that may come from other resources (bucket
 * names, namespaces, images): `string` for the pure renderer, `pulumi.Input<string>` for the component.
 */
export interface InferenceServiceSpec<S = string> {
    /** DNS-1035 label (KServe's rule: starts with a letter), at most 45 characters. */
    readonly name: string;
    readonly namespace: S;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly predictor: PredictorSpec<S>;
    readonly transformer?: TransformerSpec<S>;
}

export const defaultModelResources: ResourceRequirements = {
    requests: { cpu: "100m", memory: "512Mi" },
    limits: { cpu: "1", memory: "2Gi" },
};
export const defaultTransformerResources: ResourceRequirements = {
    requests: { cpu: "100m", memory: "256Mi" },
    limits: { cpu: "1", memory: "512Mi" },
};

/**
 * Knative names revisions `<name>-<component>-00001` and those must be DNS labels (63 chars):
 * "-transformer-00001" is the longest suffix (18), leaving 45.
 */
export const maxInferenceServiceNameLength = 45;

const isvcName = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const quantity = /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
const s3Bucket = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function isPlainString<S>(value: S): value is S & string {
    return typeof value === "string";
}

/** Why `uri` is not a usable storage URI, or undefined. */
export function storageUriProblem(uri: string): string | undefined {
    const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/.exec(uri);
    if (!match) return `storageUri '${uri}' has no scheme; use one of ${storageUriSchemes.map((s) => `${s}://`).join(", ")}`;
    const [, scheme, rest] = match;
    if (!(storageUriSchemes as readonly string[]).includes(scheme)) {
        const hint = scheme === "http" ? " (plain http is not allowed: use https://)" : scheme === "gcs" ? " (use gs://)" : "";
        return `storageUri '${uri}' has unsupported scheme '${scheme}://'${hint}; use one of ${storageUriSchemes.map((s) => `${s}://`).join(", ")}`;
    }
    const [authority] = rest.split("/");
    if (authority === "") return `storageUri '${uri}' has no ${scheme === "pvc" ? "claim name" : "bucket/host"} after '${scheme}://'`;
    if (scheme === "s3" && !s3Bucket.test(authority)) return `storageUri '${uri}': '${authority}' is not a valid S3 bucket name`;
    if (scheme === "pvc" && !isDnsLabel(authority)) return `storageUri '${uri}': '${authority}' is not a valid PersistentVolumeClaim name`;
    if (/\s/.test(uri)) return `storageUri '${uri}' contains whitespace`;
    return undefined;
}

function resourceProblems(where: string, resources: ResourceRequirements | undefined): string[] {
    const problems: string[] = [];
    for (const kind of ["requests", "limits"] as const) {
        for (const [resource, value] of Object.entries(resources?.[kind] ?? {})) {
            if (!quantity.test(value)) problems.push(`${where}.resources.${kind}.${resource}: '${value}' is not a Kubernetes quantity`);
        }
    }
    const gpuRequest = resources?.requests?.[gpuResource];
    const gpuLimit = resources?.limits?.[gpuResource];
    if (gpuRequest !== undefined && gpuLimit === undefined) {
        problems.push(`${where}.resources: ${gpuResource} must be set in limits (extended resources are requested through limits)`);
    }
    if (gpuRequest !== undefined && gpuLimit !== undefined && gpuRequest !== gpuLimit) {
        problems.push(`${where}.resources: ${gpuResource} request (${gpuRequest}) must equal its limit (${gpuLimit})`);
    }
    if (gpuLimit !== undefined && !/^[1-9][0-9]*$/.test(gpuLimit)) {
        problems.push(`${where}.resources.limits.${gpuResource}: '${gpuLimit}' must be a positive whole number of GPUs`);
    }
    return problems;
}

function scalingProblems(where: string, s: ScalingSpec): string[] {
    const problems: string[] = [];
    const isInt = (n: number) => Number.isInteger(n);
    if (s.minReplicas !== undefined && (!isInt(s.minReplicas) || s.minReplicas < 0)) {
        problems.push(`${where}.minReplicas must be a whole number >= 0 (got ${s.minReplicas})`);
    }
    if (s.maxReplicas !== undefined && (!isInt(s.maxReplicas) || s.maxReplicas < 1)) {
        problems.push(`${where}.maxReplicas must be a whole number >= 1 (got ${s.maxReplicas}); omit it for no limit`);
    }
    if (s.minReplicas !== undefined && s.maxReplicas !== undefined && s.minReplicas > s.maxReplicas) {
        problems.push(`${where}.minReplicas (${s.minReplicas}) must be <= maxReplicas (${s.maxReplicas})`);
    }
    if (s.scaleTarget !== undefined && (!isInt(s.scaleTarget) || s.scaleTarget < 1)) {
        problems.push(`${where}.scaleTarget must be a whole number >= 1 (got ${s.scaleTarget})`);
    }
    if (s.scaleMetric !== undefined && !(scaleMetrics as readonly string[]).includes(s.scaleMetric)) {
        problems.push(`${where}.scaleMetric '${s.scaleMetric}' is not supported in Serverless mode; use one of ${scaleMetrics.join(", ")}`);
    }
    return problems;
}

/**
 * Every problem with `spec`, one message each (empty when valid). Fields that are not plain strings
 * yet (unresolved Outputs) are skipped; the component checks them again once they resolve.
 */
export function inferenceServiceProblems<S>(spec: InferenceServiceSpec<S>): string[] {
    const problems: string[] = [];
    const name = spec.name;
    const at = `InferenceService '${name}'`;
    if (!isvcName.test(name)) {
        problems.push(`${at}: name must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter)`);
    } else if (name.length > maxInferenceServiceNameLength) {
        problems.push(`${at}: name is longer than ${maxInferenceServiceNameLength} characters (Knative revision names must stay DNS labels)`);
    }
    if (isPlainString(spec.namespace) && !isDnsLabel(spec.namespace)) {
        problems.push(`${at}: namespace '${spec.namespace}' is not a DNS label`);
    }

    const p = spec.predictor;
    const m = p.model;
    const format = m.modelFormat?.name;
    const protocol = m.protocolVersion;
    if (!(modelFormatNames as readonly string[]).includes(format)) {
        problems.push(`${at}: modelFormat '${format}' is not one of ${modelFormatNames.join(", ")}`);
    }
    if (protocol !== undefined && !(protocolVersions as readonly string[]).includes(protocol)) {
        problems.push(`${at}: protocolVersion '${protocol}' is not supported; use v1 or v2`);
    }
    if (format === "tensorflow" && protocol !== undefined && protocol !== "v1") {
        problems.push(`${at}: TensorFlow Serving speaks protocol v1 only (got ${protocol}); drop protocolVersion or set v1`);
    }
    if (format === "mlflow" && protocol !== "v2") {
        problems.push(`${at}: MLflow models are served by MLServer, which speaks protocol v2 only; set protocolVersion: v2`);
    }
    if (format === "mlflow" && m.runtime !== undefined && m.runtime.startsWith("kserve-") && m.runtime !== mlserverRuntime) {
        problems.push(`${at}: runtime '${m.runtime}' cannot serve MLflow models; use ${mlserverRuntime} or leave runtime unset`);
    }
    if (m.storageUri === undefined || (isPlainString(m.storageUri) && m.storageUri === "")) {
        problems.push(`${at}: predictor.model.storageUri is required`);
    } else if (isPlainString(m.storageUri)) {
        const problem = storageUriProblem(m.storageUri);
        if (problem) problems.push(`${at}: ${problem}`);
    }
    if (isPlainString(p.serviceAccountName) && !isDnsLabel(p.serviceAccountName) && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(p.serviceAccountName)) {
        problems.push(`${at}: serviceAccountName '${p.serviceAccountName}' is not a valid Kubernetes name`);
    }
    problems.push(...resourceProblems(`${at}: predictor.model`, m.resources));
    problems.push(...scalingProblems(`${at}: predictor`, p));
    if (p.canaryTrafficPercent !== undefined && (!Number.isInteger(p.canaryTrafficPercent) || p.canaryTrafficPercent < 0 || p.canaryTrafficPercent > 100)) {
        problems.push(`${at}: predictor.canaryTrafficPercent must be a whole number from 0 to 100 (got ${p.canaryTrafficPercent})`);
    }
    const gpus = m.resources?.limits?.[gpuResource];
    if (gpus !== undefined && format === "tensorflow" && !(m.runtimeVersion ?? "").endsWith("-gpu")) {
        // The runtime's default image is CPU-only: the pod would hold a GPU and never use it.
        problems.push(`${at}: a TensorFlow model that requests ${gpuResource} needs a GPU image; set runtimeVersion to a '-gpu' tag`);
    }

    const t = spec.transformer;
    if (t) {
        if (t.containers.length !== 1) {
            problems.push(`${at}: transformer must have exactly one container (got ${t.containers.length})`);
        }
        t.containers.forEach((c, i) => {
            if (isPlainString(c.image) && (c.image === "" || /\s/.test(c.image))) {
                problems.push(`${at}: transformer.containers[${i}].image '${c.image}' is not an image reference`);
            }
            problems.push(...resourceProblems(`${at}: transformer.containers[${i}]`, c.resources));
            if (c.resources?.limits?.[gpuResource] !== undefined) {
                problems.push(`${at}: transformer.containers[${i}] requests a GPU; transformers do CPU/IO work, put GPUs on the predictor`);
            }
        });
        problems.push(...scalingProblems(`${at}: transformer`, t));
    }
    return problems;
}

/** Throws one error listing every problem, or returns. */
export function validateInferenceService<S>(spec: InferenceServiceSpec<S>): void {
    const problems = inferenceServiceProblems(spec);
    if (problems.length > 0) throw new Error(`Invalid InferenceService '${spec.name}':\n  - ${problems.join("\n  - ")}`);
}

/** The runtime KServe should use: sklearn over v2 is pinned to KServe's sklearn server unless one is given. */
export function effectiveRuntime(model: Pick<ModelSpec<unknown>, "modelFormat" | "protocolVersion" | "runtime">): string | undefined {
    if (model.runtime !== undefined) return model.runtime;
    // Both kserve-sklearnserver and kserve-mlserver claim sklearn for v2; pin so the choice does not
    // depend on runtime priorities that change between KServe releases.
    if (model.modelFormat.name === "sklearn" && model.protocolVersion === "v2") return sklearnServerRuntime;
    return undefined;
}

/** Path of the REST inference endpoint for a model of this protocol. */
export function inferencePath(name: string, protocol: ProtocolVersion = "v1"): string {
    return protocol === "v2" ? `/v2/models/${name}/infer` : `/v1/models/${name}:predict`;
}

/** `http://<name>.<namespace>.<domain>`, the InferenceService's top-level URL (Knative's default template). */
export function inferenceServiceUrl(name: string, namespace: string, domain: string): string {
    if (!isDnsLabel(namespace)) throw new Error(`namespace '${namespace}' is not a DNS label`);
    const problem = domainProblem(domain);
    if (problem) throw new Error(`InferenceService URL: ${problem}`);
    return `http://${name}.${namespace}.${domain}`;
}

const platformLabels = {
    "app.kubernetes.io/part-of": "inference-platform",
    "app.kubernetes.io/managed-by": "pulumi",
} as const;

/** Hardening KServe merges into the runtime's own container (runtimes already set runAsUser/non-root). */
const modelSecurityContext = {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
    // No readOnlyRootFilesystem: MLServer unpacks model environments and the runtimes are not
    // tested upstream with a read-only root; the rest of the hardening still applies.
};

/** Our own transformer image runs as uid 1000 with a read-only root (it only serves HTTP). */
const transformerSecurityContext = restrictedContainerSecurityContext();

/** Drops keys whose value is undefined, so manifests carry only what was set. */
function compact<T extends Record<string, unknown>>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function withDefaults(resources: ResourceRequirements | undefined, defaults: ResourceRequirements): ResourceRequirements {
    return {
        requests: { ...defaults.requests, ...resources?.requests },
        limits: { ...defaults.limits, ...resources?.limits },
    };
}

function scaling(s: ScalingSpec, defaultMinReplicas: number | undefined) {
    return compact({
        minReplicas: s.minReplicas ?? defaultMinReplicas,
        maxReplicas: s.maxReplicas,
        scaleTarget: s.scaleTarget,
        scaleMetric: s.scaleMetric,
        annotations: s.annotations && Object.keys(s.annotations).length > 0 ? { ...s.annotations } : undefined,
    });
}

/**
 * The InferenceService manifest for `spec` (throws on invalid input). Scales to zero unless
 * minReplicas is given; adds the GPU toleration and node selector when the model requests GPUs.
 */
export function renderInferenceService(spec: InferenceServiceSpec) {
    validateInferenceService(spec);
    const p = spec.predictor;
    const m = p.model;
    const usesGpu = m.resources?.limits?.[gpuResource] !== undefined;
    const tolerations = [...(p.tolerations ?? [])];
    if (usesGpu && !tolerations.some((t) => t.key === gpuResource)) tolerations.push(gpuToleration);
    const nodeSelector = { ...(usesGpu ? gpuNodeSelector : {}), ...p.nodeSelector };

    const predictor = compact({
        ...scaling(p, 0),
        serviceAccountName: p.serviceAccountName,
        canaryTrafficPercent: p.canaryTrafficPercent,
        nodeSelector: Object.keys(nodeSelector).length > 0 ? nodeSelector : undefined,
        tolerations: tolerations.length > 0 ? tolerations.map((t) => compact({ ...t })) : undefined,
        model: compact({
            modelFormat: compact({ name: m.modelFormat.name, version: m.modelFormat.version }),
            runtime: effectiveRuntime(m),
            runtimeVersion: m.runtimeVersion,
            protocolVersion: m.protocolVersion,
            storageUri: m.storageUri,
            args: m.args && m.args.length > 0 ? [...m.args] : undefined,
            env: m.env && m.env.length > 0 ? m.env.map((e) => ({ name: e.name, value: e.value })) : undefined,
            resources: withDefaults(m.resources, defaultModelResources),
            securityContext: modelSecurityContext,
        }),
    });

    const t = spec.transformer;
    const transformer = t
        ? compact({
              ...scaling(t, 0),
              serviceAccountName: t.serviceAccountName,
              containers: t.containers.map((c) =>
                  compact({
                      name: c.name ?? "kserve-container",
                      image: c.image,
                      args: c.args && c.args.length > 0 ? [...c.args] : undefined,
                      env: c.env && c.env.length > 0 ? c.env.map((e) => ({ name: e.name, value: e.value })) : undefined,
                      resources: withDefaults(c.resources, defaultTransformerResources),
                      securityContext: transformerSecurityContext,
                  }),
              ),
          })
        : undefined;

    return {
        apiVersion: inferenceServiceApiVersion,
        kind: "InferenceService",
        metadata: compact({
            name: spec.name,
            namespace: spec.namespace,
            labels: { ...spec.labels, ...platformLabels },
            annotations: spec.annotations && Object.keys(spec.annotations).length > 0 ? { ...spec.annotations } : undefined,
        }),
        spec: compact({ predictor, transformer }),
    };
}

/** A spec whose string fields may be Outputs (bucket names, namespaces, images). */
export type InferenceServiceInputs = InferenceServiceSpec<pulumi.Input<string>>;

export interface InferenceServiceArgs {
    /** The InferenceService; validated before anything is registered. Required. */
    readonly spec: InferenceServiceInputs;
    /** Domain model hosts live under (`<ip>.sslip.io` or the custom domain). Required. */
    readonly domain: pulumi.Input<string>;
    /** Resources that must exist first (KServe install, model seeding Job, ServiceAccount). Default: none. */
    readonly waitFor?: pulumi.Input<pulumi.Resource>[];
    /**
     * Make `pulumi up` wait until the InferenceService reports Ready (the Kubernetes provider's
     * `pulumi.com/waitFor` annotation). Default: false, because the first pull of a runtime image
     * (1-2 GB) or a GPU node scale-up can take longer than a deployment should block.
     */
    readonly awaitReady?: boolean;
}

/** One KServe InferenceService registered as a CustomResource, with its URL and endpoint. */
export class InferenceService extends pulumi.ComponentResource {
    public readonly resource: k8s.apiextensions.CustomResource;
    /** `http://<name>.<namespace>.<domain>`. */
    public readonly url: pulumi.Output<string>;
    /** `/v1/models/<name>:predict` or `/v2/models/<name>/infer`. */
    public readonly endpointPath: string;
    /** `url` + `endpointPath`. */
    public readonly endpointUrl: pulumi.Output<string>;

    constructor(name: string, args: InferenceServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validate before the component itself is registered, so a bad spec leaves nothing behind.
        validateInferenceService(args.spec);
        super("inference-platform:models:InferenceService", name, {}, opts);
        const spec = args.spec;
        // Outputs resolve to plain values here; a bad bucket name from another resource is caught now.
        const manifest = pulumi.output(spec).apply((plain) => renderInferenceService(plain as InferenceServiceSpec));
        const awaitAnnotations: Record<string, string> = args.awaitReady ? { "pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": "1200" } : {};

        this.resource = new k8s.apiextensions.CustomResource(
            `${name}-isvc`,
            {
                apiVersion: inferenceServiceApiVersion,
                kind: "InferenceService",
                metadata: manifest.apply((m): k8s.types.input.meta.v1.ObjectMeta => {
                    const annotations: Record<string, string> = { ...m.metadata.annotations, ...awaitAnnotations };
                    return compact({ ...m.metadata, annotations: Object.keys(annotations).length > 0 ? annotations : undefined });
                }),
                spec: manifest.apply((m) => m.spec),
            },
            { parent: this, dependsOn: args.waitFor },
        );
        this.endpointPath = inferencePath(spec.name, spec.predictor.model.protocolVersion);
        this.url = pulumi
            .all([spec.namespace, args.domain])
            .apply(([namespace, domain]) => inferenceServiceUrl(spec.name, namespace, domain));
        this.endpointUrl = this.url.apply((u) => `${u}${this.endpointPath}`);
        this.registerOutputs({ url: this.url, endpointPath: this.endpointPath, endpointUrl: this.endpointUrl });
    }
}
