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
import type { BucketEncryption } from "./components/aws/modelStore";
import type { NatGatewayStrategy } from "./components/aws/network";
import { isIpv4, parseCidr } from "./components/common/validation";
import type { InferencePlatformArgs, Platform } from "./components/inferencePlatform";
import { defaultExamples, ExampleName, exampleNames } from "./components/models/exampleModels";
import type { AuthMode } from "./components/platform/ingressAuth";
import {
    allowedVersions,
    checkVersionSet,
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

/** One declared config key: its type, what it does and its default (as Pulumi.yaml shows it). */
export interface ConfigKey {
    readonly type: ConfigKeyType;
    readonly description: string;
    /** Default value; `undefined` when the default is derived (described in `description`) or absent. */
    readonly default?: string | number | boolean | readonly string[];
}

/** The schema of this project's config namespace. `aws:region` is read too (required on eks). */
export const configKeys = {
    platform: { type: "string", description: "Where to deploy: `eks` (AWS) or `local` (a kind cluster).", default: "eks" },
    ephemeral: {
        type: "boolean",
        description: "Throwaway stack (per-PR environments): model buckets are force-destroyed on delete.",
        default: false,
    },
    vpcCidr: { type: "string", description: "IPv4 CIDR of the VPC (/16 to /22).", default: "10.0.0.0/16" },
    availabilityZones: { type: "integer", description: "Availability zones to spread subnets over (2 to 4).", default: 2 },
    natGateways: {
        type: "string",
        description: "`single` (one NAT gateway, cheapest) or `onePerAz` (survives an AZ outage).",
        default: "single",
    },
    clusterName: {
        type: "string",
        description: "EKS cluster name. Default: `<project>-<stack>`.",
    },
    kubernetesVersion: {
        type: "string",
        description: `Kubernetes minor version of the EKS control plane (${supportedKubernetesVersions.join(", ")}).`,
        default: defaultKubernetesVersion,
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
        description: "Your account's Elastic IP quota in the region (AWS default 5). The stack needs one per NAT gateway plus one per public subnet for the NLB; config fails when that exceeds the quota.",
        default: 5,
    },
    cpuInstanceTypes: { type: "array", description: "Instance types of the CPU node group.", default: ["m6i.large", "m5.large"] },
    cpuCapacityType: { type: "string", description: "`ON_DEMAND` or `SPOT` for the CPU node group.", default: "ON_DEMAND" },
    cpuMinSize: { type: "integer", description: "Minimum CPU nodes.", default: 2 },
    cpuDesiredSize: { type: "integer", description: "Initial CPU nodes (changes are ignored after creation).", default: 2 },
    cpuMaxSize: { type: "integer", description: "Maximum CPU nodes.", default: 4 },
    cpuDiskSizeGiB: { type: "integer", description: "Root volume of CPU nodes, GiB.", default: 50 },
    gpuEnabled: { type: "boolean", description: "Create the GPU node group (scales from zero; costs nothing idle).", default: true },
    gpuInstanceTypes: {
        type: "array",
        description: "GPU instance types (one GPU each, same shape so the autoscaler can plan).",
        default: ["g5.xlarge", "g6.xlarge", "g4dn.xlarge"],
    },
    gpuCapacityType: { type: "string", description: "`ON_DEMAND` or `SPOT` for the GPU node group.", default: "ON_DEMAND" },
    gpuMinSize: { type: "integer", description: "Minimum GPU nodes.", default: 0 },
    gpuDesiredSize: { type: "integer", description: "Initial GPU nodes (changes are ignored after creation).", default: 0 },
    gpuMaxSize: { type: "integer", description: "Maximum GPU nodes.", default: 2 },
    gpuDiskSizeGiB: { type: "integer", description: "Root volume of GPU nodes, GiB (CUDA images are large).", default: 100 },
    modelBucketPrefix: {
        type: "string",
        description: "Prefix of the model bucket's name (S3 rules, at most 37 characters; a random suffix follows). Default: `<project>-<stack>-models`.",
    },
    modelBucketEncryption: { type: "string", description: "`AES256` (SSE-S3) or `aws:kms` (SSE-KMS).", default: "AES256" },
    modelBucketKmsKeyArn: {
        type: "string",
        description: "KMS key for `aws:kms`. Unset: the stack creates a key with rotation on.",
    },
    modelBucketVersioning: { type: "boolean", description: "Keep object versions of models.", default: true },
    modelBucketNoncurrentDays: {
        type: "integer",
        description: "Days before noncurrent model versions expire (1 to 3650).",
        default: 30,
    },
    modelNamespace: { type: "string", description: "Kubernetes namespace of the example models.", default: "models" },
    modelServiceAccount: {
        type: "string",
        description: "ServiceAccount that KServe models use to read the model store.",
        default: "kserve-models",
    },
    istioVersion: { type: "string", description: "Istio charts version.", default: defaultVersions.istio },
    knativeVersion: { type: "string", description: "Knative Serving / net-istio release.", default: defaultVersions.knative },
    certManagerVersion: { type: "string", description: "cert-manager chart version.", default: defaultVersions.certManager },
    kserveVersion: { type: "string", description: "KServe charts version.", default: defaultVersions.kserve },
    awsLoadBalancerControllerVersion: {
        type: "string",
        description: "AWS Load Balancer Controller chart version.",
        default: defaultVersions.awsLoadBalancerController,
    },
    nvidiaDevicePluginVersion: {
        type: "string",
        description: "NVIDIA device plugin chart version.",
        default: defaultVersions.nvidiaDevicePlugin,
    },
    clusterAutoscalerVersion: {
        type: "string",
        description: "Cluster Autoscaler chart version (the image follows the cluster's minor).",
        default: defaultVersions.clusterAutoscaler,
    },
    metricsServerVersion: {
        type: "string",
        description: "metrics-server chart version (the metrics API every HorizontalPodAutoscaler reads).",
        default: defaultVersions.metricsServer,
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
    },
    authMode: {
        type: "string",
        description: "Ingress auth: `jwt`, `open-model-paths` or `kubeflow`. Default: `jwt` when `jwtIssuer` is set, else `open-model-paths`.",
    },
    jwtIssuer: { type: "string", description: "JWT issuer (https URL) for `authMode: jwt`." },
    jwksUri: { type: "string", description: "JWKS URI (https URL) for `authMode: jwt`." },
    examples: {
        type: "array",
        description: `Example models to deploy: any of ${exampleNames.join(", ")}.`,
        default: [...defaultExamples],
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

export type ConfigKeyName = keyof typeof configKeys;

/** Raw config: the string value of each key as Pulumi stores it (structured values as JSON). */
export interface ConfigSource {
    get(key: ConfigKeyName | "aws:region" | "aws:profile"): string | undefined;
}

/** Thrown when config is invalid; `problems` has one line per bad key. */
export class ConfigError extends Error {
    constructor(public readonly problems: readonly string[]) {
        super(`Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
            problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "ConfigError";
    }
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

/** Known EC2 instance families per node-group kind; anything else is a typo or an unsuitable family. */
export const cpuInstanceFamilies = [
    "t3", "t3a", "m5", "m5a", "m5n", "m6i", "m6a", "m7i", "m7a", "m8i",
    "c5", "c5a", "c6i", "c6a", "c7i", "c7a", "c8i", "r5", "r6i", "r6a", "r7i",
    "m6g", "m7g", "m8g", "c6g", "c7g", "c8g", "r6g", "r7g", "t4g",
];
export const gpuInstanceFamilies = ["g4dn", "g5", "g6", "g6e", "p4d", "p5"];
const gravitonFamilies = new Set(["m6g", "m7g", "m8g", "c6g", "c7g", "c8g", "r6g", "r7g", "t4g"]);
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
    const raw = (key: ConfigKeyName) => {
        const value = source.get(key);
        return value === undefined || value === "" ? undefined : value;
    };

    const str = (key: ConfigKeyName): string | undefined => raw(key);
    const oneOf = <T extends string>(key: ConfigKeyName, allowed: readonly T[], fallback: T): T => {
        const value = raw(key);
        if (value === undefined) return fallback;
        if (!(allowed as readonly string[]).includes(value)) {
            problems.push(`${key}: '${value}' is not supported; use one of ${allowed.join(", ")}`);
            return fallback;
        }
        return value as T;
    };
    const int = (key: ConfigKeyName, fallback: number, min: number, max: number): number => {
        const value = raw(key);
        if (value === undefined) return fallback;
        if (!/^-?\d+$/.test(value.trim())) {
            problems.push(`${key}: '${value}' is not an integer`);
            return fallback;
        }
        const n = Number(value);
        if (n < min || n > max) problems.push(`${key}: ${n} is outside ${min}..${max}`);
        return n;
    };
    const bool = (key: ConfigKeyName, fallback: boolean): boolean => {
        const value = raw(key);
        if (value === undefined) return fallback;
        if (value !== "true" && value !== "false") {
            problems.push(`${key}: '${value}' is not true or false`);
            return fallback;
        }
        return value === "true";
    };
    const list = (key: ConfigKeyName, fallback: readonly string[]): readonly string[] => {
        const value = raw(key);
        if (value === undefined) return fallback;
        let parsed: unknown;
        try {
            parsed = JSON.parse(value);
        } catch {
            problems.push(`${key}: not a list (set it with 'pulumi config set --path ${key}[0] ...' or a YAML list)`);
            return fallback;
        }
        if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
            problems.push(`${key}: must be a list of strings`);
            return fallback;
        }
        return parsed as string[];
    };

    const platform = oneOf<Platform>("platform", ["eks", "local"], "eks");
    const ephemeral = bool("ephemeral", false);

    // Region: required on eks, ignored on local.
    const region = source.get("aws:region") || undefined;
    if (platform === "eks") {
        if (region === undefined) problems.push("aws:region: required on the eks platform (pulumi config set aws:region us-east-2)");
        else if (!awsRegion.test(region)) problems.push(`aws:region: '${region}' is not an AWS region`);
    }

    // Network.
    const vpcCidr = str("vpcCidr") ?? "10.0.0.0/16";
    const parsedCidr = parseCidr(vpcCidr);
    if (!parsedCidr) problems.push(`vpcCidr: '${vpcCidr}' is not a valid IPv4 CIDR (a.b.c.d/n with no host bits set)`);
    else if (parsedCidr.prefix < 16 || parsedCidr.prefix > 22) problems.push(`vpcCidr: prefix /${parsedCidr.prefix} must be /16 to /22 (EKS needs room for pod IPs)`);
    const availabilityZoneCount = int("availabilityZones", 2, 2, 4);
    const natGateways = oneOf<NatGatewayStrategy>("natGateways", ["single", "onePerAz"], "single");
    const elasticIpQuota = int("elasticIpQuota", configKeys.elasticIpQuota.default, 1, 10000);
    if (platform === "eks") {
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
    const kubernetesVersion = oneOf<KubernetesVersion>("kubernetesVersion", supportedKubernetesVersions, defaultKubernetesVersion);
    const publicAccessCidrs = list("endpointPublicAccessCidrs", ["0.0.0.0/0"]);
    for (const cidr of publicAccessCidrs) {
        if (!parseCidr(cidr)) problems.push(`endpointPublicAccessCidrs: '${cidr}' is not a valid IPv4 CIDR`);
    }
    if (publicAccessCidrs.length === 0) problems.push("endpointPublicAccessCidrs: must not be empty (pulumi reaches the cluster API through it)");
    const adminPrincipalArns = list("adminPrincipalArns", []);
    for (const arn of adminPrincipalArns) {
        if (!iamPrincipalArn.test(arn)) problems.push(`adminPrincipalArns: '${arn}' is not an IAM role or user ARN`);
    }
    const previewPrincipalArns = list("previewPrincipalArns", []);
    for (const arn of previewPrincipalArns) {
        if (!iamPrincipalArn.test(arn)) problems.push(`previewPrincipalArns: '${arn}' is not an IAM role or user ARN`);
        else if (adminPrincipalArns.includes(arn)) problems.push(`previewPrincipalArns: '${arn}' is also in adminPrincipalArns; EKS allows one access entry per principal`);
    }

    // Node groups.
    const nodeGroup = (kind: "cpu" | "gpu", defaults: NodeGroupConfig): NodeGroupConfig => {
        const k = (suffix: string) => `${kind}${suffix}` as ConfigKeyName;
        const instanceTypes = list(k("InstanceTypes"), defaults.instanceTypes);
        const families = kind === "cpu" ? cpuInstanceFamilies : gpuInstanceFamilies;
        if (instanceTypes.length === 0) problems.push(`${k("InstanceTypes")}: must name at least one instance type`);
        for (const type of instanceTypes) {
            const problem = instanceTypeProblem(type, families);
            if (problem) problems.push(`${k("InstanceTypes")}: ${problem}`);
        }
        const architectures = new Set(instanceTypes.map((t) => gravitonFamilies.has(t.split(".")[0]) ? "arm64" : "x86_64"));
        if (architectures.size > 1) problems.push(`${k("InstanceTypes")}: mixes arm64 (Graviton) and x86_64 types; one node group has one AMI`);
        const capacityType = oneOf<CapacityType>(k("CapacityType"), ["ON_DEMAND", "SPOT"], defaults.capacityType);
        const minSize = int(k("MinSize"), defaults.minSize, 0, 100);
        const desiredSize = int(k("DesiredSize"), Math.max(defaults.desiredSize, minSize), 0, 100);
        const maxSize = int(k("MaxSize"), Math.max(defaults.maxSize, minSize), 1, 100);
        if (maxSize < minSize) problems.push(`${k("MaxSize")} (${maxSize}) < ${k("MinSize")} (${minSize})`);
        if (desiredSize < minSize || desiredSize > maxSize) {
            problems.push(`${k("DesiredSize")} (${desiredSize}) must be between ${k("MinSize")} (${minSize}) and ${k("MaxSize")} (${maxSize})`);
        }
        const diskSizeGiB = int(k("DiskSizeGiB"), defaults.diskSizeGiB, 20, 16384);
        return { instanceTypes, capacityType, minSize, desiredSize, maxSize, diskSizeGiB };
    };
    const cpuNodes = nodeGroup("cpu", {
        instanceTypes: configKeys.cpuInstanceTypes.default,
        capacityType: "ON_DEMAND",
        minSize: configKeys.cpuMinSize.default,
        desiredSize: configKeys.cpuDesiredSize.default,
        maxSize: configKeys.cpuMaxSize.default,
        diskSizeGiB: configKeys.cpuDiskSizeGiB.default,
    });
    if (cpuNodes.minSize < 1) problems.push(`cpuMinSize (${cpuNodes.minSize}) must be at least 1: the platform's controllers run on CPU nodes`);
    const gpuEnabled = bool("gpuEnabled", true);
    const gpuNodes = {
        enabled: gpuEnabled,
        ...nodeGroup("gpu", {
            instanceTypes: configKeys.gpuInstanceTypes.default,
            capacityType: "ON_DEMAND",
            minSize: configKeys.gpuMinSize.default,
            desiredSize: configKeys.gpuDesiredSize.default,
            maxSize: configKeys.gpuMaxSize.default,
            diskSizeGiB: configKeys.gpuDiskSizeGiB.default,
        }),
    };

    // Model store.
    const bucketNamePrefix = str("modelBucketPrefix") ?? defaultBucketPrefix(project, stack);
    for (const p of bucketPrefixProblems(bucketNamePrefix)) problems.push(`modelBucketPrefix: '${bucketNamePrefix}' ${p}`);
    const encryption = oneOf<BucketEncryption>("modelBucketEncryption", ["AES256", "aws:kms"], "AES256");
    const kmsKeyArnValue = str("modelBucketKmsKeyArn");
    if (kmsKeyArnValue !== undefined) {
        if (!kmsKeyArn.test(kmsKeyArnValue)) problems.push(`modelBucketKmsKeyArn: '${kmsKeyArnValue}' is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<uuid>)`);
        if (encryption !== "aws:kms") problems.push("modelBucketKmsKeyArn: set, but modelBucketEncryption is not aws:kms");
    }
    const versioning = bool("modelBucketVersioning", true);
    const noncurrentVersionExpirationDays = int("modelBucketNoncurrentDays", 30, 1, 3650);

    // Models.
    const namespace = str("modelNamespace") ?? configKeys.modelNamespace.default;
    if (namespace.length > 63 || !dnsLabel.test(namespace)) problems.push(`modelNamespace: '${namespace}' is not a valid Kubernetes namespace (DNS label)`);
    if (["kube-system", "istio-system", "knative-serving", "kserve", "cert-manager"].includes(namespace)) {
        problems.push(`modelNamespace: '${namespace}' belongs to the platform; use a namespace of its own`);
    }
    const serviceAccountName = str("modelServiceAccount") ?? configKeys.modelServiceAccount.default;
    if (serviceAccountName.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(serviceAccountName)) {
        problems.push(`modelServiceAccount: '${serviceAccountName}' is not a valid Kubernetes name`);
    }

    // Versions: each override must be in the compatibility table.
    const versionKeys: Record<ComponentName, ConfigKeyName> = {
        istio: "istioVersion",
        knative: "knativeVersion",
        certManager: "certManagerVersion",
        kserve: "kserveVersion",
        awsLoadBalancerController: "awsLoadBalancerControllerVersion",
        nvidiaDevicePlugin: "nvidiaDevicePluginVersion",
        clusterAutoscaler: "clusterAutoscalerVersion",
        metricsServer: "metricsServerVersion",
    };
    const requested = Object.fromEntries(
        (Object.keys(allowedVersions) as ComponentName[]).map((c) => [c, raw(versionKeys[c])]),
    ) as Partial<Record<ComponentName, string>>;
    problems.push(...checkVersionSet(requested, (c) => versionKeys[c]));
    const versions = Object.fromEntries(
        (Object.keys(allowedVersions) as ComponentName[]).map((c) => {
            const v = requested[c];
            return [c, v !== undefined && (allowedVersions[c] as readonly string[]).includes(v) ? v : defaultVersions[c]];
        }),
    ) as unknown as VersionSet;

    // Ingress.
    const domain = str("domain");
    if (domain !== undefined && !domainName.test(domain)) problems.push(`domain: '${domain}' is not a DNS domain (lowercase, e.g. models.example.com)`);
    const localIp = str("localIngressIp") ?? "127.0.0.1";
    if (!isIpv4(localIp)) problems.push(`localIngressIp: '${localIp}' is not an IPv4 address`);
    const localHttpPort = int("localIngressPort", 8080, 1, 65535);

    // Auth.
    const jwtIssuer = str("jwtIssuer");
    const jwksUri = str("jwksUri");
    const mode = oneOf<AuthMode>("authMode", ["jwt", "open-model-paths", "kubeflow"], jwtIssuer ? "jwt" : "open-model-paths");
    for (const [key, value] of [["jwtIssuer", jwtIssuer], ["jwksUri", jwksUri]] as const) {
        if (value !== undefined && !isHttpsUrl(value)) problems.push(`${key}: '${value}' must be an https:// URL`);
    }
    if (mode === "jwt") {
        if (!jwtIssuer) problems.push("jwtIssuer: required when authMode is jwt");
        if (!jwksUri) problems.push("jwksUri: required when authMode is jwt");
    }

    // Examples.
    const examples = list("examples", defaultExamples);
    for (const name of examples) {
        if (!(exampleNames as readonly string[]).includes(name)) problems.push(`examples: unknown example '${name}' (known: ${exampleNames.join(", ")})`);
    }
    if (new Set(examples).size !== examples.length) problems.push("examples: lists an example twice");
    if (examples.includes("gpu") && (platform !== "eks" || !gpuEnabled)) {
        problems.push(platform === "eks" ? "examples: 'gpu' needs gpuEnabled: true" : "examples: 'gpu' needs GPU nodes, which the local platform has none of");
    }

    // Gateway and inference server.
    const gatewayImage = str("gatewayImage");
    if (gatewayImage !== undefined && !/^[a-z0-9]([a-z0-9._:\/-]*[a-z0-9])?(@sha256:[0-9a-f]{64}|:[\w][\w.-]{0,127})?$/.test(gatewayImage)) {
        problems.push(`gatewayImage: '${gatewayImage}' is not an image reference (registry/name:tag or @sha256:digest)`);
    }
    const inferenceServerEnabled = bool("inferenceServer", true);
    const inferenceServerGpu = bool("inferenceServerGpu", false);
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
    const context = str("kubeContext") ?? configKeys.kubeContext.default;

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
        modelStore: {
            bucketNamePrefix,
            encryption,
            kmsKeyArn: kmsKeyArnValue,
            versioning,
            noncurrentVersionExpirationDays,
            modelPrefix: "models/",
        },
        models: { namespace, serviceAccountName },
        versions,
        ingress: { domain, localIp, localHttpPort },
        auth: { mode, jwtIssuer, jwksUri },
        examples: examples as readonly ExampleName[],
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
    const own = new pulumi.Config();
    const aws = new pulumi.Config("aws");
    return loadConfig(
        { get: (key) => (key === "aws:region" ? aws.get("region") : key === "aws:profile" ? aws.get("profile") : own.get(key)) },
        pulumi.getProject(),
        pulumi.getStack(),
    );
}
