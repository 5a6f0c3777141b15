/**
 * The one place that reads Pulumi config. `loadConfig` reads every key once, applies defaults and
 * validates everything together: it throws a single `ConfigError` naming every bad key, before any
 * resource is registered.
 *
 * `configKeys` is the schema: Pulumi.yaml declares exactly these keys (a test checks it), and the
 * README's config reference is written from it.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CapacityType, NodeGroupConfig } from "./components/aws/eksCluster";
import { durationSeconds, GpuProvisioner, gpuPoolDefaults, gpuProvisioners, KarpenterPoolsConfig, smallestGpuInstance } from "./components/aws/gpuNodePool";
import type { BucketEncryption } from "./components/aws/modelStore";
import { cpuInstanceFamilies, gpuInstanceFamilies, isGravitonFamily, x86CpuInstanceFamilies } from "./components/aws/names";
import type { NatGatewayStrategy } from "./components/aws/network";
import { isIpv4, parseCidr } from "./components/common/validation";
import type { InferencePlatformArgs, Platform } from "./components/inferencePlatform";
import { defaultExamples, ExampleName, exampleNames } from "./components/models/exampleModels";
import { gpusOf, qwen25Instruct05b, sizeVllm } from "./components/models/llm";
import type { AuthMode } from "./components/platform/ingressAuth";
import {
    allowedVersions,
    ComponentName,
    defaultKubernetesVersion,
    defaultVersions,
    KubernetesVersion,
    supportedKubernetesVersions,
    VersionSet,
} from "./versions";




/** Everything the program needs from config, typed, defaulted and validated: the platform's args plus the names. */
export interface StackConfig extends InferencePlatformArgs {
    /** Project and stack names, used to derive resource names and tags. */
    readonly project: string;
    readonly stack: string;
}

export type ConfigKeyType = "string" | "integer" | "boolean" | "array";

/**
 * One declared config key: its type, what it does, its default and the values it takes. Validation,
 * Pulumi.yaml's `config:` block and the README's table are all derived from these declarations.
 */
export interface ConfigKey {
    readonly type: ConfigKeyType;
    readonly description: string;
    /** Default value; `undefined` when the default is derived (described in `description`) or absent. */
    readonly default?: string | number | boolean | readonly string[];
    /** Strings (or list items, for arrays) the key accepts; anything else is a problem. */
    readonly enum?: readonly string[];
    /** How a value outside `enum` is reported. Default: `<key>: '<value>' is not supported; use one of ...`. */
    readonly enumProblem?: (key: string, value: string, allowed: readonly string[]) => string;
    /** Integers: the smallest and largest value accepted. */
    readonly min?: number;
    readonly max?: number;
    /** Why the minimum is what it is, appended to an out-of-range message. */
    readonly minReason?: string;
}

const versionProblem = (key: string, value: string, allowed: readonly string[]) =>
    `${key} (${value}) is not in the compatibility table; allowed: ${allowed.join(", ")}`;

/** The schema of this project's config namespace. `aws:region` is read too (required on eks). */
export const configKeys = {
    platform: { type: "string", description: "Where to deploy: `eks` (AWS) or `local` (a kind cluster).", default: "eks", enum: ["eks", "local"] },
    ephemeral: {
        type: "boolean",
        description: "Throwaway stack (per-PR environments): destroy also deletes the model bucket with its objects (otherwise destroy keeps the bucket and its key).",
        default: false,
    },
    vpcCidr: { type: "string", description: "IPv4 CIDR of the VPC (/16 to /22).", default: "10.0.0.0/16" },
    availabilityZones: { type: "integer", description: "Availability zones to spread subnets over (one public subnet, NLB address and node subnet each).", default: 2, min: 2, max: 4 },
    natGateways: {
        type: "string",
        description: "`single` (one NAT gateway, cheapest) or `onePerAz` (survives an AZ outage).",
        default: "single",
        enum: ["single", "onePerAz"],
    },
    clusterName: {
        type: "string",
        description: "EKS cluster name. Default: `<project>-<stack>`.",
    },
    kubernetesVersion: {
        type: "string",
        description: "Kubernetes minor version of the EKS control plane (the versions every pinned component supports).",
        default: defaultKubernetesVersion,
        enum: supportedKubernetesVersions,
    },
    endpointPublicAccessCidrs: {
        type: "array",
        description: "CIDRs allowed to reach the public EKS API endpoint (pulumi itself needs it). Narrow it to your office/CI ranges.",
        default: ["0.0.0.0/0"],
    },
    adminPrincipalArns: {
        type: "array",
        description: "IAM role/user ARNs granted cluster-admin through EKS access entries (the creator always is; do not list it).",
        default: [],
    },
    previewPrincipalArns: {
        type: "array",
        description: "IAM role/user ARNs granted read-only cluster access (AmazonEKSViewPolicy) for CI previews, e.g. the role preview.yml assumes. Not the creator, not an admin.",
        default: [],
    },
    elasticIpQuota: {
        type: "integer",
        description:
            "Your account's Elastic IP quota in the region (AWS default 5), checked against the stack's need (one per NAT gateway plus one per public subnet for the NLB) " +
            "when `preflight` is false. With preflight on (the default) the real quota is read at preview and this key is not used.",
        default: 5,
        min: 1,
        max: 10000,
    },
    preflight: {
        type: "boolean",
        description:
            "eks: before anything is created (at preview too), read the Service Quotas the stack is bounded by (G/VT on-demand and spot vCPUs, Elastic IPs) " +
            "and the per-zone offerings of every GPU instance type or family; a shortfall fails with the quota, the need, the value and how to raise it. " +
            "Needs servicequotas:GetServiceQuota, ec2:DescribeInstanceTypeOfferings and ec2:DescribeAvailabilityZones. `false` skips it.",
        default: true,
    },
    cpuInstanceTypes: { type: "array", description: "Instance types of the CPU node group.", default: ["m6i.large", "m5.large"] },
    cpuCapacityType: { type: "string", description: "`ON_DEMAND` or `SPOT` for the CPU node group.", default: "ON_DEMAND", enum: ["ON_DEMAND", "SPOT"] },
    cpuMinSize: { type: "integer", description: "Minimum CPU nodes (the platform's controllers run on them).", default: 2, min: 1, max: 100, minReason: "the platform's controllers run on CPU nodes" },
    cpuDesiredSize: { type: "integer", description: "Initial CPU nodes (changes are ignored after creation).", default: 2, min: 0, max: 100 },
    cpuMaxSize: { type: "integer", description: "Maximum CPU nodes.", default: 4, min: 1, max: 100 },
    cpuDiskSizeGiB: { type: "integer", description: "Root volume of CPU nodes, GiB.", default: 50, min: 20, max: 16384 },
    gpuEnabled: {
        type: "boolean",
        description: "GPU capacity (a Karpenter NodePool or the managed GPU node group, per `gpuProvisioner`); scales from zero and costs nothing idle.",
        default: true,
    },
    gpuProvisioner: {
        type: "string",
        description:
            "eks: who makes GPU nodes. `karpenter`: a Karpenter NodePool over several instance families, spot with on-demand fallback, from zero every time, " +
            "removed when empty. `node-group`: one managed GPU node group scaled by the Cluster Autoscaler (the `gpuInstanceTypes`/`gpuCapacityType`/`gpuMinSize`/... keys).",
        default: "karpenter",
        enum: gpuProvisioners,
    },
    gpuInstanceFamilies: {
        type: "array",
        description: "`karpenter`: instance families of the GPU NodePool (NVIDIA, x86_64; g6 = L4, g5 = A10G, g6e = L40S, g4dn = T4). Karpenter picks the size a pod needs.",
        default: [...gpuPoolDefaults.instanceFamilies],
        enum: gpuInstanceFamilies,
        enumProblem: (key, value, allowed) => `${key}: unknown or unsuitable instance family '${value}' (known: ${allowed.join(", ")})`,
    },
    gpuSpot: {
        type: "boolean",
        description: "`karpenter`: launch spot GPUs while any is offered, on-demand when not (`false`: on-demand only).",
        default: true,
    },
    gpuMaxGpus: {
        type: "integer",
        description: "`karpenter`: most GPUs the pool runs at once (NodePool limit `nvidia.com/gpu`); bounds the peak cost.",
        default: gpuPoolDefaults.maxGpus,
        min: 1,
        max: 512,
    },
    gpuMaxVcpus: {
        type: "integer",
        description:
            "`karpenter`: most vCPUs the GPU pool runs at once (NodePool limit `cpu`), the unit of the G/VT vCPU quotas preflight checks; at least 4 per GPU " +
            "(the smallest GPU sizes). `0`: 8 per GPU of `gpuMaxGpus`.",
        // Pulumi.yaml must declare an integer default (Pulumi rejects "" for an integer key), so 0 stands for "derived".
        default: 0,
        min: 0,
        max: 100000,
    },
    gpuConsolidateAfter: {
        type: "string",
        description: "`karpenter`: how long a GPU node runs without pods before it is removed (a duration such as `30s`, `10m`, `1h`; at most `24h`).",
        default: gpuPoolDefaults.consolidateAfter,
    },
    cpuBurstPool: {
        type: "boolean",
        description:
            "`karpenter`: a CPU NodePool for pods the CPU node group cannot fit (spot per `gpuSpot`, removed when empty or underused). " +
            "With it on, Karpenter alone adds CPU capacity and the Cluster Autoscaler is not installed.",
        default: false,
    },
    cpuBurstInstanceFamilies: {
        type: "array",
        description: "`karpenter` with `cpuBurstPool`: instance families of the CPU burst pool (x86_64).",
        default: [...gpuPoolDefaults.cpuBurst.instanceFamilies],
        enum: x86CpuInstanceFamilies,
        enumProblem: (key, value, allowed) => `${key}: unknown or unsuitable (non-x86_64) instance family '${value}' (known: ${allowed.join(", ")})`,
    },
    cpuBurstMaxVcpus: {
        type: "integer",
        description: "`karpenter` with `cpuBurstPool`: most vCPUs the burst pool runs at once (NodePool limit `cpu`).",
        default: gpuPoolDefaults.cpuBurst.maxVcpus,
        min: 2,
        max: 100000,
    },
    gpuInstanceTypes: {
        type: "array",
        description: "`node-group`: GPU instance types (one GPU each, same shape so the autoscaler can plan).",
        default: ["g5.xlarge", "g6.xlarge", "g4dn.xlarge"],
    },
    gpuCapacityType: { type: "string", description: "`node-group`: `ON_DEMAND` or `SPOT` for the GPU node group.", default: "ON_DEMAND", enum: ["ON_DEMAND", "SPOT"] },
    gpuMinSize: { type: "integer", description: "`node-group`: minimum GPU nodes.", default: 0, min: 0, max: 100 },
    gpuDesiredSize: { type: "integer", description: "`node-group`: initial GPU nodes (changes are ignored after creation).", default: 0, min: 0, max: 100 },
    gpuMaxSize: { type: "integer", description: "`node-group`: maximum GPU nodes.", default: 2, min: 1, max: 100 },
    gpuDiskSizeGiB: {
        type: "integer",
        description: "Root volume of GPU nodes, GiB (CUDA images are large; at least 50 with `karpenter`).",
        default: gpuPoolDefaults.rootVolumeGiB,
        min: 20,
        max: 16384,
    },
    modelBucketPrefix: {
        type: "string",
        description: "Prefix of the model bucket's name (S3 rules, at most 37 characters; a random suffix follows). Default: `<project>-<stack>-models`.",
    },
    modelBucketEncryption: { type: "string", description: "`AES256` (SSE-S3) or `aws:kms` (SSE-KMS).", default: "AES256", enum: ["AES256", "aws:kms"] },
    modelBucketKmsKeyArn: {
        type: "string",
        description: "KMS key for `aws:kms`. Unset: the stack creates a key with rotation on.",
    },
    modelBucketVersioning: { type: "boolean", description: "Keep object versions of models.", default: true },
    modelBucketNoncurrentDays: {
        type: "integer",
        description: "Days before noncurrent model versions expire.",
        default: 30,
        min: 1,
        max: 3650,
    },
    ebsCsiDriver: {
        type: "boolean",
        description: "eks: install the EBS CSI driver (EKS add-on, own IRSA role) and make an encrypted gp3 StorageClass (WaitForFirstConsumer) the default, so any claim binds.",
        default: true,
    },
    modelVolume: {
        type: "boolean",
        description: "Create the `models` PersistentVolumeClaim in the models namespace for `pvc://models/<path>` URIs: on eks a read-only Mountpoint for S3 volume on the model prefix (EKS add-on, read-only IRSA role); locally a local-path volume with a loader pod.",
        default: true,
    },
    modelNamespace: { type: "string", description: "Kubernetes namespace of the example models.", default: "models" },
    modelServiceAccount: {
        type: "string",
        description: "ServiceAccount that KServe models use to read the model store.",
        default: "kserve-models",
    },
    istioVersion: { type: "string", description: "Istio charts version.", default: defaultVersions.istio, enum: allowedVersions.istio, enumProblem: versionProblem },
    knativeVersion: { type: "string", description: "Knative Serving / net-istio release.", default: defaultVersions.knative, enum: allowedVersions.knative, enumProblem: versionProblem },
    certManagerVersion: { type: "string", description: "cert-manager chart version.", default: defaultVersions.certManager, enum: allowedVersions.certManager, enumProblem: versionProblem },
    kserveVersion: { type: "string", description: "KServe charts version.", default: defaultVersions.kserve, enum: allowedVersions.kserve, enumProblem: versionProblem },
    awsLoadBalancerControllerVersion: {
        type: "string",
        description: "AWS Load Balancer Controller chart version.",
        default: defaultVersions.awsLoadBalancerController,
        enum: allowedVersions.awsLoadBalancerController,
        enumProblem: versionProblem,
    },
    nvidiaDevicePluginVersion: {
        type: "string",
        description: "NVIDIA device plugin chart version.",
        default: defaultVersions.nvidiaDevicePlugin,
        enum: allowedVersions.nvidiaDevicePlugin,
        enumProblem: versionProblem,
    },
    clusterAutoscalerVersion: {
        type: "string",
        description: "Cluster Autoscaler chart version (the image follows the cluster's minor).",
        default: defaultVersions.clusterAutoscaler,
        enum: allowedVersions.clusterAutoscaler,
        enumProblem: versionProblem,
    },
    metricsServerVersion: {
        type: "string",
        description: "metrics-server chart version (the metrics API every HorizontalPodAutoscaler reads).",
        default: defaultVersions.metricsServer,
        enum: allowedVersions.metricsServer,
        enumProblem: versionProblem,
    },
    karpenterVersion: {
        type: "string",
        description: "`karpenter`: Karpenter chart version (the karpenter-crd chart gets the same).",
        default: defaultVersions.karpenter,
        enum: allowedVersions.karpenter,
        enumProblem: versionProblem,
    },
    domain: {
        type: "string",
        description: "Custom DNS domain for model URLs (you point a wildcard record at the ingress). Unset: `<ip>.sslip.io`.",
    },
    localIngressIp: {
        type: "string",
        description: "Local platform: IP that magic DNS names resolve to.",
        default: "127.0.0.1",
    },
    localIngressPort: {
        type: "integer",
        description: "Local platform: host port that kind maps to the ingress gateway.",
        default: 8080,
        min: 1,
        max: 65535,
    },
    authMode: {
        type: "string",
        description: "Ingress auth: `jwt`, `open-model-paths` or `kubeflow`. Default: `jwt` when `jwtIssuer` is set, else `open-model-paths`.",
        enum: ["jwt", "open-model-paths", "kubeflow"],
    },
    jwtIssuer: { type: "string", description: "JWT issuer (https URL) for `authMode: jwt`." },
    jwksUri: { type: "string", description: "JWKS URI (https URL) for `authMode: jwt`." },
    examples: {
        type: "array",
        description: "Example models to deploy (see the README's examples table).",
        default: [...defaultExamples],
        enum: exampleNames,
        enumProblem: (key, value, allowed) => `${key}: unknown example '${value}' (known: ${allowed.join(", ")})`,
    },
    llmMinReplicas: {
        type: "integer",
        description: "Replicas of the `llm` example kept running. 0 scales it to zero when idle (no GPU cost; the first request waits for the cold start, see the README); 1 keeps a GPU node and the model warm.",
        default: 0,
        min: 0,
        max: 4,
    },
    hfTokenSecret: {
        type: "string",
        description: "Name of a Secret in the models namespace whose key `token` holds a Hugging Face access token, used only by the seeding Job (gated or private models). Unset: public models only.",
    },
    gatewayImage: {
        type: "string",
        description: "Prebuilt gateway image. Unset: the stack builds gateway/ and pushes it to ECR (needs Docker where pulumi runs).",
    },
    inferenceServer: {
        type: "boolean",
        description: "Deploy the plain-Kubernetes TF Serving + gateway inference server.",
        default: true,
    },
    inferenceServerGpu: { type: "boolean", description: "Run the inference server's TF Serving on a GPU node.", default: false },
    kubeconfig: { type: "string", description: "Local platform: path to the kubeconfig. Unset: $KUBECONFIG or ~/.kube/config." },
    kubeContext: { type: "string", description: "Local platform: kubeconfig context.", default: "kind-inference-platform" },
} as const satisfies Record<string, ConfigKey>;

/** The declared keys, typed as the general shape (for code that walks all of them). */
export const configKeySpecs: Readonly<Record<ConfigKeyName, ConfigKey>> = configKeys;

export type ConfigKeyName = keyof typeof configKeys;

/** Raw config: the string value of each key as Pulumi stores it (structured values as JSON). */
export interface ConfigSource {
    get(key: ConfigKeyName | "aws:region" | "aws:profile"): string | undefined;
    /** Every key set under the project's namespace (without the namespace), for catching misspelt keys. Default: none checked. */
    keys?(): readonly string[];
}

/**
 * Thrown when config is invalid; `problems` has one line per problem. A `pulumi.RunError`, so
 * `pulumi up` prints the message without a stack trace.
 */
export class ConfigError extends pulumi.RunError {
    constructor(public readonly problems: readonly string[]) {
        super(
            `Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** Edit distance (insertions, deletions, substitutions, adjacent transpositions), case-insensitive. */
export function editDistance(a: string, b: string): number {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    const d = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= x.length; i++) {
        for (let j = 1; j <= y.length; j++) {
            const cost = x[i - 1] === y[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[x.length][y.length];
}

/** The declared key a misspelt one most likely meant, if any is close enough to suggest. */
export function suggestKey(unknown: string, known: readonly string[] = Object.keys(configKeys)): string | undefined {
    let best: { key: string; distance: number } | undefined;
    for (const key of known) {
        const distance = editDistance(unknown, key);
        if (!best || distance < best.distance) best = { key, distance };
    }
    // A third of the name may be wrong (gpuMaxSze, authMod, exmaples), never more than 4 characters.
    return best && best.distance <= Math.min(4, Math.max(1, Math.floor(best.key.length / 3))) ? best.key : undefined;
}

/**
 * S3 bucket name rules for a prefix that Pulumi completes with an 8-character random suffix
 * (3-63 characters in all, lowercase letters, digits, dots and hyphens, starting and ending with a
 * letter or digit, no `..`, not an IP address, no reserved prefixes or suffixes).
 */
export function bucketPrefixProblems(prefix: string): string[] {
    const problems: string[] = [];
    if (prefix.length < 1 || prefix.length > 37) problems.push(`must be 1 to 37 characters (is ${prefix.length})`);
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(prefix)) problems.push("must use lowercase letters, digits, dots and hyphens, starting with a letter or digit");
    if (prefix.includes("..") || prefix.includes(".-") || prefix.includes("-.")) problems.push("must not contain '..', '.-' or '-.'");
    if (/^xn--|^sthree-|^amzn-s3-demo-/.test(prefix)) problems.push("must not start with a reserved prefix (xn--, sthree-, amzn-s3-demo-)");
    return problems;
}

/** Known EC2 instance families per node-group kind (components/aws/names.ts); anything else is a typo or an unsuitable family. */
export { cpuInstanceFamilies, gpuInstanceFamilies };
const instanceSizes = /^(nano|micro|small|medium|large|xlarge|\d{1,2}xlarge|metal(-\d+xl)?)$/;

function instanceTypeProblem(type: string, families: readonly string[]): string | undefined {
    const match = /^([a-z0-9-]+)\.([a-z0-9-]+)$/.exec(type);
    if (!match) return `'${type}' is not an instance type (family.size)`;
    if (!families.includes(match[1])) return `'${type}': unknown or unsuitable instance family '${match[1]}' (known: ${families.join(", ")})`;
    if (!instanceSizes.test(match[2])) return `'${type}': unknown size '${match[2]}'`;
    return undefined;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const iamPrincipalArn = /^arn:aws(-cn|-us-gov)?:iam::\d{12}:(role|user)\/[\w+=,.@\/-]{1,512}$/;
const kmsKeyArn = /^arn:aws(-cn|-us-gov)?:kms:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:key\/[0-9a-f-]{36}$/;
const awsRegion = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const eksClusterName = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const domainName = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/**
 * Reads every key once, applies defaults and validates the whole set; throws one `ConfigError`
 * listing every problem. Pure: give it any `ConfigSource` (tests pass a plain map).
 */
export function loadConfig(source: ConfigSource, project: string, stack: string): StackConfig {
    const problems: string[] = [];
    const specs: Readonly<Record<string, ConfigKey>> = configKeys;
    for (const key of source.keys?.() ?? []) {
        if (key in specs) continue;
        const suggestion = suggestKey(key);
        problems.push(`${key}: unknown key${suggestion ? `; did you mean ${suggestion}?` : ` (see the configuration reference in README.md)`}`);
    }

    // Each key is read and checked against its declaration once; a bad value is reported once and
    // the key's default stands in, so checks that combine keys see a sane value and stay quiet.
    const bad = new Set<ConfigKeyName>();
    const raw = (key: ConfigKeyName) => {
        const value = source.get(key);
        return value === undefined || value === "" ? undefined : value;
    };
    const report = (key: ConfigKeyName, problem: string) => {
        bad.add(key);
        problems.push(problem);
    };
    const enumCheck = (key: ConfigKeyName, value: string): boolean => {
        const spec = specs[key];
        if (!spec.enum || spec.enum.includes(value)) return true;
        report(key, spec.enumProblem ? spec.enumProblem(key, value, spec.enum) : `${key}: '${value}' is not supported; use one of ${spec.enum.join(", ")}`);
        return false;
    };
    const str = (key: ConfigKeyName): string | undefined => {
        const value = raw(key);
        return value !== undefined && enumCheck(key, value) ? value : (specs[key].default as string | undefined);
    };
    const oneOf = <T extends string>(key: ConfigKeyName, fallback?: T): T => (str(key) ?? fallback) as T;
    const int = (key: ConfigKeyName): number => {
        const spec = specs[key];
        const fallback = spec.default as number;
        const value = raw(key);
        if (value === undefined) return fallback;
        if (!/^-?\d+$/.test(value.trim())) {
            report(key, `${key}: '${value}' is not an integer`);
            return fallback;
        }
        const n = Number(value);
        if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
            const reason = spec.minReason && spec.min !== undefined && n < spec.min ? ` (${spec.minReason})` : "";
            report(key, `${key}: ${n} is outside ${spec.min ?? "-inf"}..${spec.max ?? "inf"}${reason}`);
            return fallback;
        }
        return n;
    };
    const bool = (key: ConfigKeyName): boolean => {
        const fallback = specs[key].default as boolean;
        const value = raw(key);
        if (value === undefined) return fallback;
        if (value !== "true" && value !== "false") {
            report(key, `${key}: '${value}' is not true or false`);
            return fallback;
        }
        return value === "true";
    };
    const list = (key: ConfigKeyName): readonly string[] => {
        const fallback = (specs[key].default as readonly string[] | undefined) ?? [];
        const value = raw(key);
        if (value === undefined) return fallback;
        let parsed: unknown;
        try {
            parsed = JSON.parse(value);
        } catch {
            report(key, `${key}: not a list (set it with 'pulumi config set --path ${key}[0] ...' or a YAML list)`);
            return fallback;
        }
        if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
            report(key, `${key}: must be a list of strings`);
            return fallback;
        }
        return parsed.every((item) => enumCheck(key, item)) ? (parsed as string[]) : fallback;
    };

    const platform = oneOf<Platform>("platform");
    const ephemeral = bool("ephemeral");

    // Region: required on eks, ignored on local.
    const region = source.get("aws:region") || undefined;
    if (platform === "eks") {
        if (region === undefined) problems.push("aws:region: required on the eks platform (pulumi config set aws:region us-east-2)");
        else if (!awsRegion.test(region)) problems.push(`aws:region: '${region}' is not an AWS region`);
    }

    // Network.
    const vpcCidr = str("vpcCidr")!;
    const parsedCidr = parseCidr(vpcCidr);
    if (!parsedCidr) problems.push(`vpcCidr: '${vpcCidr}' is not a valid IPv4 CIDR (a.b.c.d/n with no host bits set)`);
    else if (parsedCidr.prefix < 16 || parsedCidr.prefix > 22) problems.push(`vpcCidr: prefix /${parsedCidr.prefix} must be /16 to /22 (EKS needs room for pod IPs)`);
    const availabilityZoneCount = int("availabilityZones");
    const natGateways = oneOf<NatGatewayStrategy>("natGateways");
    const elasticIpQuota = int("elasticIpQuota");
    const preflight = bool("preflight");
    // With preflight on, the real quota is read at preview (components/aws/preflight.ts); the
    // configured one is the offline fallback, so a raised quota needs no config change.
    if (platform === "eks" && !preflight && !bad.has("availabilityZones") && !bad.has("natGateways") && !bad.has("elasticIpQuota")) {
        const need = elasticIpsNeeded(availabilityZoneCount, natGateways);
        if (need > elasticIpQuota) {
            problems.push(
                `elasticIpQuota: the stack needs ${need} Elastic IPs (${need - availabilityZoneCount} for NAT, ${availabilityZoneCount} for the NLB) ` +
                    `but the quota is ${elasticIpQuota}; lower availabilityZones or set natGateways: single, or raise the quota ` +
                    "(Service Quotas > Amazon EC2 > 'EC2-VPC Elastic IPs', L-0263D0A3) and set elasticIpQuota",
            );
        }
    }

    // Cluster.
    const clusterName = str("clusterName") ?? `${project}-${stack}`;
    if (!eksClusterName.test(clusterName)) {
        problems.push(`clusterName: '${clusterName}' must be 1-100 characters of letters, digits, '-' and '_', starting with a letter or digit`);
    }
    const kubernetesVersion = oneOf<KubernetesVersion>("kubernetesVersion");
    const publicAccessCidrs = list("endpointPublicAccessCidrs");
    for (const cidr of publicAccessCidrs) {
        if (!parseCidr(cidr)) problems.push(`endpointPublicAccessCidrs: '${cidr}' is not a valid IPv4 CIDR`);
    }
    if (publicAccessCidrs.length === 0) problems.push("endpointPublicAccessCidrs: must not be empty (pulumi reaches the cluster API through it)");
    const adminPrincipalArns = list("adminPrincipalArns");
    for (const arn of adminPrincipalArns) {
        if (!iamPrincipalArn.test(arn)) problems.push(`adminPrincipalArns: '${arn}' is not an IAM role or user ARN`);
    }
    const previewPrincipalArns = list("previewPrincipalArns");
    for (const arn of previewPrincipalArns) {
        if (!iamPrincipalArn.test(arn)) problems.push(`previewPrincipalArns: '${arn}' is not an IAM role or user ARN`);
        else if (adminPrincipalArns.includes(arn)) problems.push(`previewPrincipalArns: '${arn}' is also in adminPrincipalArns; EKS allows one access entry per principal`);
    }

    // Node groups.
    const nodeGroup = (kind: "cpu" | "gpu"): NodeGroupConfig => {
        const k = (suffix: string) => `${kind}${suffix}` as ConfigKeyName;
        const instanceTypes = list(k("InstanceTypes"));
        const families = kind === "cpu" ? cpuInstanceFamilies : gpuInstanceFamilies;
        if (instanceTypes.length === 0) problems.push(`${k("InstanceTypes")}: must name at least one instance type`);
        for (const type of instanceTypes) {
            const problem = instanceTypeProblem(type, families);
            if (problem) problems.push(`${k("InstanceTypes")}: ${problem}`);
        }
        const architectures = new Set(instanceTypes.map((t) => isGravitonFamily(t.split(".")[0]) ? "arm64" : "x86_64"));
        if (architectures.size > 1) problems.push(`${k("InstanceTypes")}: mixes arm64 (Graviton) and x86_64 types; one node group has one AMI`);
        const capacityType = oneOf<CapacityType>(k("CapacityType"));
        const minSize = int(k("MinSize"));
        // Unset sizes follow an explicit minimum up, so `gpuMinSize: 3` alone is valid.
        const desiredSize = raw(k("DesiredSize")) === undefined ? Math.max(int(k("DesiredSize")), minSize) : int(k("DesiredSize"));
        const maxSize = raw(k("MaxSize")) === undefined ? Math.max(int(k("MaxSize")), minSize) : int(k("MaxSize"));
        const sizesOk = !bad.has(k("MinSize")) && !bad.has(k("MaxSize")) && !bad.has(k("DesiredSize"));
        if (sizesOk && maxSize < minSize) problems.push(`${k("MaxSize")} (${maxSize}) < ${k("MinSize")} (${minSize})`);
        else if (sizesOk && (desiredSize < minSize || desiredSize > maxSize)) {
            problems.push(`${k("DesiredSize")} (${desiredSize}) must be between ${k("MinSize")} (${minSize}) and ${k("MaxSize")} (${maxSize})`);
        }
        const diskSizeGiB = int(k("DiskSizeGiB"));
        return { instanceTypes, capacityType, minSize, desiredSize, maxSize, diskSizeGiB };
    };
    const cpuNodes = nodeGroup("cpu");
    const gpuEnabled = bool("gpuEnabled");
    const gpuNodes = {
        enabled: gpuEnabled,
        ...nodeGroup("gpu"),
    };

    // GPU capacity: Karpenter's pools or the managed GPU group. A key of the other mode set to
    // anything but its default would do nothing: it is reported rather than ignored. (Pulumi hands
    // the program Pulumi.yaml's defaults as values, so "set" can only mean "differs from the default".)
    const differsFromDefault = (key: ConfigKeyName): boolean => {
        const value = raw(key);
        const declared = specs[key].default;
        if (value === undefined || declared === undefined) return value !== undefined;
        if (Array.isArray(declared)) {
            try {
                return JSON.stringify(JSON.parse(value)) !== JSON.stringify(declared);
            } catch {
                return true;
            }
        }
        return value.trim() !== String(declared);
    };
    const gpuProvisioner = oneOf<GpuProvisioner>("gpuProvisioner");
    const nodeGroupOnlyKeys: ConfigKeyName[] = ["gpuInstanceTypes", "gpuCapacityType", "gpuMinSize", "gpuDesiredSize", "gpuMaxSize"];
    const karpenterOnlyKeys: ConfigKeyName[] = [
        "gpuInstanceFamilies", "gpuSpot", "gpuMaxGpus", "gpuMaxVcpus", "gpuConsolidateAfter",
        "cpuBurstPool", "cpuBurstInstanceFamilies", "cpuBurstMaxVcpus", "karpenterVersion",
    ];
    if (platform === "eks" && !bad.has("gpuProvisioner")) {
        const otherModeKeys = gpuProvisioner === "karpenter" ? nodeGroupOnlyKeys : karpenterOnlyKeys;
        const hint =
            gpuProvisioner === "karpenter"
                ? "Karpenter picks sizes from gpuInstanceFamilies and is bounded by gpuMaxGpus/gpuMaxVcpus; or set gpuProvisioner: node-group"
                : "or set gpuProvisioner: karpenter";
        for (const key of otherModeKeys) {
            if (differsFromDefault(key)) problems.push(`${key}: applies to gpuProvisioner: ${gpuProvisioner === "karpenter" ? "node-group" : "karpenter"} only (${hint})`);
        }
    }
    const instanceFamilies = list("gpuInstanceFamilies");
    if (instanceFamilies.length === 0 || instanceFamilies.length > 10) problems.push(`gpuInstanceFamilies: name 1 to 10 instance families (got ${instanceFamilies.length})`);
    if (new Set(instanceFamilies).size !== instanceFamilies.length) problems.push("gpuInstanceFamilies: lists a family twice");
    const maxGpus = int("gpuMaxGpus");
    const configuredMaxVcpus = int("gpuMaxVcpus");
    const maxVcpus = configuredMaxVcpus === 0 || bad.has("gpuMaxVcpus") ? maxGpus * gpuPoolDefaults.vcpusPerGpu : configuredMaxVcpus;
    if (!bad.has("gpuMaxGpus") && !bad.has("gpuMaxVcpus") && maxVcpus < 4 * maxGpus) {
        problems.push(`gpuMaxVcpus (${maxVcpus}) must be at least 4 per GPU of gpuMaxGpus (${4 * maxGpus}): the smallest GPU sizes have 4 vCPUs`);
    }
    if (platform === "eks" && gpuProvisioner === "karpenter" && gpuEnabled && !bad.has("gpuMaxGpus") && !bad.has("gpuMaxVcpus")) {
        // A family whose smallest instance exceeds the limits could never launch: say so now.
        for (const family of instanceFamilies) {
            const smallest = smallestGpuInstance[family];
            if (smallest && (smallest.gpus > maxGpus || smallest.vcpus > maxVcpus)) {
                problems.push(
                    `gpuInstanceFamilies: ${family}'s smallest instance (${smallest.type}: ${smallest.gpus} GPUs, ${smallest.vcpus} vCPUs) exceeds gpuMaxGpus (${maxGpus}) or gpuMaxVcpus (${maxVcpus}); ` +
                        "Karpenter could never launch it: raise the limits or drop the family",
                );
            }
        }
    }
    const consolidateAfter = str("gpuConsolidateAfter")!;
    const consolidateSeconds = durationSeconds(consolidateAfter);
    if (consolidateSeconds === undefined || consolidateSeconds > 86400) {
        problems.push(`gpuConsolidateAfter: '${consolidateAfter}' must be a duration such as 30s, 10m or 1h (at most 24h)`);
    }
    const cpuBurstPool = bool("cpuBurstPool");
    const burstFamilies = list("cpuBurstInstanceFamilies");
    if (burstFamilies.length === 0 || burstFamilies.length > 10) problems.push(`cpuBurstInstanceFamilies: name 1 to 10 instance families (got ${burstFamilies.length})`);
    if (new Set(burstFamilies).size !== burstFamilies.length) problems.push("cpuBurstInstanceFamilies: lists a family twice");
    const cpuBurstMaxVcpus = int("cpuBurstMaxVcpus");
    if (platform === "eks" && gpuProvisioner === "karpenter") {
        // Karpenter is installed for the GPU pool; the burst pool rides along.
        if (cpuBurstPool && !gpuEnabled) problems.push("cpuBurstPool: needs gpuEnabled: true (Karpenter is installed with the GPU pool)");
        if (gpuEnabled && !bad.has("gpuDiskSizeGiB") && gpuNodes.diskSizeGiB < 50) {
            problems.push(`gpuDiskSizeGiB: ${gpuNodes.diskSizeGiB} is too small for Karpenter's GPU nodes (at least 50: CUDA images)`);
        }
    }
    if (platform === "eks" && preflight && gpuEnabled && gpuProvisioner === "node-group") {
        // Preflight counts the group's G/VT vCPUs from the size (`<n>xlarge` = 4n vCPUs in these families).
        for (const type of gpuNodes.instanceTypes) {
            if (!/^[a-z0-9-]+\.\d*xlarge$/.test(type)) problems.push(`gpuInstanceTypes: '${type}' has no vCPU count preflight knows (use <n>xlarge sizes, or set preflight: false)`);
        }
    }
    const karpenter: KarpenterPoolsConfig = {
        instanceFamilies,
        spot: bool("gpuSpot"),
        maxGpus,
        maxVcpus,
        consolidateAfter,
        cpuBurst: cpuBurstPool ? { instanceFamilies: burstFamilies, maxVcpus: cpuBurstMaxVcpus } : undefined,
    };

    // Model store.
    const bucketNamePrefix = str("modelBucketPrefix") ?? defaultBucketPrefix(project, stack);
    for (const p of bucketPrefixProblems(bucketNamePrefix)) problems.push(`modelBucketPrefix: '${bucketNamePrefix}' ${p}`);
    const encryption = oneOf<BucketEncryption>("modelBucketEncryption");
    const kmsKeyArnValue = str("modelBucketKmsKeyArn");
    if (kmsKeyArnValue !== undefined) {
        if (!kmsKeyArn.test(kmsKeyArnValue)) problems.push(`modelBucketKmsKeyArn: '${kmsKeyArnValue}' is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<uuid>)`);
        if (encryption !== "aws:kms" && !bad.has("modelBucketEncryption")) problems.push("modelBucketKmsKeyArn: set, but modelBucketEncryption is not aws:kms");
    }
    const versioning = bool("modelBucketVersioning");
    const noncurrentVersionExpirationDays = int("modelBucketNoncurrentDays");

    // Models.
    const namespace = str("modelNamespace")!;
    if (namespace.length > 63 || !dnsLabel.test(namespace)) problems.push(`modelNamespace: '${namespace}' is not a valid Kubernetes namespace (DNS label)`);
    if (["kube-system", "istio-system", "knative-serving", "kserve", "cert-manager"].includes(namespace)) {
        problems.push(`modelNamespace: '${namespace}' belongs to the platform; use a namespace of its own`);
    }
    const serviceAccountName = str("modelServiceAccount")!;
    if (serviceAccountName.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(serviceAccountName)) {
        problems.push(`modelServiceAccount: '${serviceAccountName}' is not a valid Kubernetes name`);
    }

    // Storage for pvc:// models.
    const ebsCsiDriver = bool("ebsCsiDriver");
    const modelVolume = bool("modelVolume");

    // Versions: each key's declaration holds its column of the compatibility table.
    const versionKeys: Record<ComponentName, ConfigKeyName> = {
        istio: "istioVersion",
        knative: "knativeVersion",
        certManager: "certManagerVersion",
        kserve: "kserveVersion",
        awsLoadBalancerController: "awsLoadBalancerControllerVersion",
        nvidiaDevicePlugin: "nvidiaDevicePluginVersion",
        clusterAutoscaler: "clusterAutoscalerVersion",
        metricsServer: "metricsServerVersion",
        karpenter: "karpenterVersion",
    };
    const versions = Object.fromEntries(
        (Object.keys(allowedVersions) as ComponentName[]).map((c) => [c, str(versionKeys[c]) ?? defaultVersions[c]]),
    ) as unknown as VersionSet;

    // Ingress.
    const domain = str("domain");
    if (domain !== undefined && !domainName.test(domain)) problems.push(`domain: '${domain}' is not a DNS domain (lowercase, e.g. models.example.com)`);
    const localIp = str("localIngressIp")!;
    if (!isIpv4(localIp)) problems.push(`localIngressIp: '${localIp}' is not an IPv4 address`);
    const localHttpPort = int("localIngressPort");

    // Auth.
    const jwtIssuer = str("jwtIssuer");
    const jwksUri = str("jwksUri");
    const mode = oneOf<AuthMode>("authMode", jwtIssuer ? "jwt" : "open-model-paths");
    for (const [key, value] of [["jwtIssuer", jwtIssuer], ["jwksUri", jwksUri]] as const) {
        if (value !== undefined && !isHttpsUrl(value)) problems.push(`${key}: '${value}' must be an https:// URL`);
    }
    if (mode === "jwt") {
        if (!jwtIssuer) problems.push("jwtIssuer: required when authMode is jwt");
        if (!jwksUri) problems.push("jwksUri: required when authMode is jwt");
    }

    // Examples.
    const examples = list("examples");
    if (new Set(examples).size !== examples.length) problems.push("examples: lists an example twice");
    if (examples.includes("sklearn-iris-pvc") && !modelVolume) problems.push("examples: 'sklearn-iris-pvc' serves from the models claim; it needs modelVolume: true");
    if (examples.includes("gpu") && (platform !== "eks" || !gpuEnabled)) {
        problems.push(platform === "eks" ? "examples: 'gpu' needs gpuEnabled: true" : "examples: 'gpu' needs GPU nodes, which the local platform has none of");
    }

    // The LLM example.
    const llmMinReplicas = int("llmMinReplicas");
    const hfTokenSecret = str("hfTokenSecret");
    if (hfTokenSecret !== undefined && (hfTokenSecret.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(hfTokenSecret))) {
        problems.push(`hfTokenSecret: '${hfTokenSecret}' is not a valid Secret name`);
    }
    if (examples.includes("llm")) {
        if (platform !== "eks") {
            problems.push("examples: 'llm' serves on a GPU (vLLM), and the local platform has no GPU nodes; remove llm from examples on local (it is on in the dev stack)");
        } else if (!gpuEnabled) {
            problems.push("examples: 'llm' needs GPU nodes: set gpuEnabled: true");
        } else if (!bad.has("gpuInstanceTypes")) {
            try {
                sizeVllm(qwen25Instruct05b, gpusOf(gpuNodes.instanceTypes).map((g) => g.gpu));
            } catch (err) {
                problems.push(`gpuInstanceTypes: ${(err as Error).message}`);
            }
        }
    }

    // Gateway and inference server.
    const gatewayImage = str("gatewayImage");
    if (gatewayImage !== undefined && !/^[a-z0-9]([a-z0-9._:\/-]*[a-z0-9])?(@sha256:[0-9a-f]{64}|:[\w][\w.-]{0,127})?$/.test(gatewayImage)) {
        problems.push(`gatewayImage: '${gatewayImage}' is not an image reference (registry/name:tag or @sha256:digest)`);
    }
    const inferenceServerEnabled = bool("inferenceServer");
    const inferenceServerGpu = bool("inferenceServerGpu");
    if (inferenceServerGpu && (platform !== "eks" || !gpuEnabled)) {
        problems.push(platform === "eks" ? "inferenceServerGpu: needs gpuEnabled: true" : "inferenceServerGpu: the local platform has no GPU nodes");
    }
    if (platform === "local" && gatewayImage === undefined && (inferenceServerEnabled || examples.includes("clothing-transformer"))) {
        // kind nodes cannot pull an image that only exists in the host's Docker.
        problems.push(
            "gatewayImage: required on the local platform while inferenceServer or the clothing-transformer example is on " +
                "(docker build -f gateway/Dockerfile -t inference-gateway:dev . && kind load docker-image inference-gateway:dev --name inference-platform; " +
                "then pulumi config set gatewayImage inference-gateway:dev), or turn both off",
        );
    }

    // Local.
    const kubeconfig = str("kubeconfig");
    const context = str("kubeContext")!;

    if (problems.length > 0) throw new ConfigError(problems);

    return {
        project,
        stack,
        platform,
        ephemeral,
        tags: stackTags(project, stack),
        region: platform === "eks" ? region : undefined,
        awsProfile: platform === "eks" ? source.get("aws:profile") || undefined : undefined,
        network: { vpcCidr, availabilityZoneCount, natGateways, elasticIpQuota },
        cluster: { name: clusterName, kubernetesVersion, publicAccessCidrs, adminPrincipalArns, previewPrincipalArns },
        cpuNodes,
        gpuNodes,
        gpuProvisioner,
        karpenter,
        preflight,
        modelStore: {
            bucketNamePrefix,
            encryption,
            kmsKeyArn: kmsKeyArnValue,
            versioning,
            noncurrentVersionExpirationDays,
            modelPrefix: "models/",
        },
        storage: { ebsCsiDriver, modelVolume },
        models: { namespace, serviceAccountName },
        versions,
        ingress: { domain, localIp, localHttpPort },
        auth: { mode, jwtIssuer, jwksUri },
        examples: examples as readonly ExampleName[],
        llm: { minReplicas: llmMinReplicas, hfTokenSecret },
        gateway: { image: gatewayImage },
        inferenceServer: { enabled: inferenceServerEnabled, gpu: inferenceServerGpu },
        local: { kubeconfig, context },
    };
}

function isHttpsUrl(value: string): boolean {
    try {
        return new URL(value).protocol === "https:";
    } catch {
        return false;
    }
}

/** Tags on every AWS resource of a stack: the e2e leftover check and cost reports find resources by them. */
export function stackTags(project: string, stack: string): Record<string, string> {
    return { "inference-platform/stack": `${project}-${stack}`, "managed-by": "pulumi" };
}

/** Elastic IPs the eks platform allocates: one per NAT gateway and one per public subnet (the NLB's). */
export function elasticIpsNeeded(availabilityZoneCount: number, natGateways: NatGatewayStrategy): number {
    return (natGateways === "onePerAz" ? availabilityZoneCount : 1) + availabilityZoneCount;
}

/** `<project>-<stack>-models`, lowercased and cut to the 37 characters S3 leaves a prefix. */
export function defaultBucketPrefix(project: string, stack: string): string {
    return `${project}-${stack}`
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, "-")
        .slice(0, 30)
        .replace(/-+$/, "") + "-models";
}

/** Reads the current Pulumi stack's config (the program's entry point uses this). */
export function readStackConfig(): StackConfig {
    const project = pulumi.getProject();
    const own = new pulumi.Config();
    const aws = new pulumi.Config("aws");
    return loadConfig(
        {
            get: (key) => (key === "aws:region" ? aws.get("region") : key === "aws:profile" ? aws.get("profile") : own.get(key)),
            keys: () =>
                Object.keys(pulumi.runtime.allConfig())
                    .filter((k) => k.startsWith(`${project}:`))
                    .map((k) => k.slice(project.length + 1)),
        },
        project,
        pulumi.getStack(),
    );
}

/** Settings as a TypeScript program passes them: config keys with plain values (lists as arrays). */
export type PlatformSettings = { readonly [K in ConfigKeyName]?: string | number | boolean | readonly string[] } & {
    readonly "aws:region"?: string;
    readonly "aws:profile"?: string;
};

/**
 * The same validation and defaults `pulumi up` applies to a stack's config, for a program that builds
 * the platform itself: `new InferencePlatform("ml", platformArgs({ platform: "local", examples: ["sklearn-iris"] }))`.
 * Throws one `ConfigError` naming every problem (misspelt keys included) before anything is created.
 */
export function platformArgs(settings: PlatformSettings, names: { project?: string; stack?: string } = {}): StackConfig {
    const text = (value: unknown) => (Array.isArray(value) ? JSON.stringify(value) : value === undefined ? undefined : String(value));
    const values = settings as Readonly<Record<string, unknown>>;
    return loadConfig(
        { get: (key) => text(values[key]), keys: () => Object.keys(values).filter((k) => !k.startsWith("aws:")) },
        names.project ?? pulumi.getProject(),
        names.stack ?? pulumi.getStack(),
    );
}
