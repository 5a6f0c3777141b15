/**
 * The platform's policies as pure functions. Each resource policy takes a resource's type token and
 * its inputs (plain objects, as the Pulumi engine or the offline synth's resources.json gives them)
 * and returns one message per violation; each stack policy takes every resource. `index.ts` wires
 * these into a `PolicyPack`; `runPolicies` runs them without the engine (tests, the synth).
 *
 * What policies can see: the inputs of each registered resource. Helm charts installed with
 * `k8s.helm.v3.Release` are rendered by Helm inside the provider, so the Deployments and Services
 * of a chart are invisible here: only the Release's own inputs (chart, version, values) are checked.
 * Multi-language components (`eks:index:Cluster`, `eks:index:ManagedNodeGroup`) are checked on their
 * inputs and again through the AWS resources they create (`aws:eks/cluster:Cluster`, ...).
 *
 * Under the engine, reading an input that is unknown during preview throws the policy SDK's
 * UnknownValueError, which the SDK turns into an advisory "can't run during preview" note; so
 * nothing here catches exceptions around property reads.
 */
import { supportedKubernetesVersions } from "../versions";

export type EnforcementLevel = "advisory" | "mandatory";
export type Inputs = Record<string, any>;

/** A resource as policies see it: type token, logical name and inputs (outputs for stack checks). */
export interface ResourceView {
    readonly type: string;
    readonly name: string;
    readonly inputs: Inputs;
    /** URN, when known (engine; absent in resources.json). */
    readonly urn?: string;
    /** URNs this resource depends on (dependsOn and inputs), when known. */
    readonly dependencies?: readonly string[];
}

export interface ResourcePolicy {
    readonly kind: "resource";
    readonly name: string;
    readonly description: string;
    readonly enforcementLevel: EnforcementLevel;
    /** Type tokens this policy checks. */
    readonly resourceTypes: readonly string[];
    readonly validate: (type: string, inputs: Inputs, name?: string) => string[];
}

export interface StackPolicy {
    readonly kind: "stack";
    readonly name: string;
    readonly description: string;
    readonly enforcementLevel: EnforcementLevel;
    readonly validate: (resources: readonly ResourceView[]) => string[];
}

export interface Violation {
    readonly policy: string;
    readonly enforcementLevel: EnforcementLevel;
    /** The offending resource; absent for stack-wide findings. */
    readonly resource?: { readonly type: string; readonly name: string };
    readonly message: string;
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function asArray<T>(value: T | readonly T[] | undefined | null): T[] {
    if (value === undefined || value === null) return [];
    return Array.isArray(value) ? [...value] : [value as T];
}

/** A policy document given as a JSON string or an object; `undefined` when absent. */
function parseDocument(value: unknown, what: string, problems: string[]): any | undefined {
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value === "string") {
        try {
            return JSON.parse(value);
        } catch {
            problems.push(`${what} is not valid JSON`);
            return undefined;
        }
    }
    return value;
}

function statements(doc: any): any[] {
    return doc ? asArray(doc.Statement) : [];
}

const isTrue = (v: unknown) => v === true || v === "true";

// ---------------------------------------------------------------------------------------------
// S3
// ---------------------------------------------------------------------------------------------

export const bucketTypes = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"] as const;
export const publicAccessBlockType = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
export const encryptionConfigTypes = [
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
] as const;
export const bucketPolicyType = "aws:s3/bucketPolicy:BucketPolicy";

const publicAccessFlags = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

/** All four public-access-block flags must be true. */
export function checkPublicAccessBlock(_type: string, inputs: Inputs): string[] {
    return publicAccessFlags.filter((flag) => !isTrue(inputs[flag])).map((flag) => `${flag} must be true`);
}

const sseAlgorithms = ["AES256", "aws:kms", "aws:kms:dsse"];

function encryptionRuleProblems(rules: any[], where: string): string[] {
    if (rules.length === 0) return [`${where}: no encryption rule`];
    const problems: string[] = [];
    for (const rule of rules) {
        const algorithm = rule?.applyServerSideEncryptionByDefault?.sseAlgorithm;
        if (!sseAlgorithms.includes(algorithm)) {
            problems.push(`${where}: sseAlgorithm must be one of ${sseAlgorithms.join(", ")} (is ${JSON.stringify(algorithm)})`);
        }
    }
    return problems;
}

/**
 * Default encryption: the standalone configuration resource must set an algorithm; a bucket that
 * configures encryption inline (deprecated in aws v7, still accepted) must set one too. A bucket with
 * no inline block is left to `s3-bucket-companions`, which looks for the standalone resource.
 */
export function checkBucketEncryption(type: string, inputs: Inputs): string[] {
    if ((encryptionConfigTypes as readonly string[]).includes(type)) return encryptionRuleProblems(asArray(inputs.rules), "rules");
    if (type === "aws:s3/bucket:Bucket" && inputs.serverSideEncryptionConfiguration !== undefined) {
        return encryptionRuleProblems(asArray(inputs.serverSideEncryptionConfiguration?.rule), "serverSideEncryptionConfiguration.rule");
    }
    if (type === "aws:s3/bucketV2:BucketV2" && inputs.serverSideEncryptionConfigurations !== undefined) {
        const rules = asArray(inputs.serverSideEncryptionConfigurations).flatMap((c: any) => asArray(c?.rules));
        return encryptionRuleProblems(rules, "serverSideEncryptionConfigurations.rules");
    }
    return [];
}

/** True when the statement is the TLS-only deny: Deny, every principal, when aws:SecureTransport is false. */
function isTlsDeny(statement: any): boolean {
    if (statement?.Effect !== "Deny") return false;
    const principal = statement.Principal;
    const everyone = principal === "*" || asArray(principal?.AWS).includes("*");
    const actions = asArray<string>(statement.Action);
    const coversAll = actions.includes("s3:*") || actions.includes("*");
    const secure = statement.Condition?.Bool?.["aws:SecureTransport"];
    return everyone && coversAll && (secure === false || secure === "false" || asArray(secure).includes("false"));
}

/** A bucket policy must contain the TLS-only deny statement. */
export function checkTlsOnlyBucketPolicy(type: string, inputs: Inputs): string[] {
    const problems: string[] = [];
    if (type !== bucketPolicyType && inputs.policy === undefined) return []; // a bucket without an inline policy
    const doc = parseDocument(inputs.policy, "policy", problems);
    if (problems.length > 0) return problems;
    if (!statements(doc).some(isTlsDeny)) {
        problems.push('policy must deny s3:* to Principal "*" when aws:SecureTransport is "false" (TLS only)');
    }
    return problems;
}

// ---------------------------------------------------------------------------------------------
// IAM
// ---------------------------------------------------------------------------------------------

/**
 * IRSA trust: every web-identity statement names one OIDC provider and pins `<issuer>:sub` to one
 * ServiceAccount and `<issuer>:aud` to `sts.amazonaws.com` with StringEquals; no StringLike, no
 * wildcards. Also: no statement may trust every principal.
 */
export function checkIrsaTrust(_type: string, inputs: Inputs): string[] {
    const problems: string[] = [];
    const doc = parseDocument(inputs.assumeRolePolicy, "assumeRolePolicy", problems);
    for (const [i, st] of statements(doc).entries()) {
        if (st?.Effect === "Deny") continue;
        const at = `Statement[${i}]`;
        const principal = st?.Principal;
        if (principal === "*" || asArray(principal?.AWS).includes("*")) problems.push(`${at}: trusts every principal ("*")`);
        const actions = asArray<string>(st?.Action);
        const federated = asArray<string>(principal?.Federated);
        const webIdentity = actions.includes("sts:AssumeRoleWithWebIdentity") || federated.some((f) => f.includes(":oidc-provider/"));
        if (!webIdentity) continue;
        if (actions.some((a) => a.includes("*"))) problems.push(`${at}: wildcard action in a web-identity trust`);
        const providers = federated.filter((f) => f.includes(":oidc-provider/"));
        if (providers.length !== 1) {
            problems.push(`${at}: must name exactly one OIDC provider in Principal.Federated`);
            continue;
        }
        const host = providers[0].split(":oidc-provider/")[1];
        const condition = st.Condition ?? {};
        for (const [operator, entries] of Object.entries<any>(condition)) {
            if (operator === "StringEquals") continue;
            for (const key of Object.keys(entries ?? {})) {
                if (key.endsWith(":sub") || key.endsWith(":aud")) problems.push(`${at}: ${key} uses ${operator}; use StringEquals with an exact value`);
            }
        }
        const equals = condition.StringEquals ?? {};
        const sub = asArray<string>(equals[`${host}:sub`]);
        const aud = asArray<string>(equals[`${host}:aud`]);
        if (sub.length !== 1) problems.push(`${at}: StringEquals ${host}:sub must name exactly one ServiceAccount`);
        else if (!/^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(sub[0])) {
            problems.push(`${at}: ${host}:sub '${sub[0]}' is not an exact system:serviceaccount:<namespace>:<name>`);
        }
        if (aud.length !== 1 || aud[0] !== "sts.amazonaws.com") problems.push(`${at}: StringEquals ${host}:aud must be exactly sts.amazonaws.com`);
    }
    return problems;
}

/**
 * Documented upstream policies that AWS forces to use `Resource: "*"` (Describe and List calls and other
 * actions without resource-level permissions). A policy is one of these when:
 * - an `aws:iam/policy:Policy` or `aws:iam/role:Role` carries the tag
 *   `inference-platform/iam-wildcard-exception: <key>`, or
 * - the policy document's top-level `Id` is `inference-platform/iam-wildcard-exception/<key>`
 *   (travels with the document into a RolePolicy, which cannot carry tags), or
 * - its logical name or `name` input contains `<key>` as a hyphen-separated segment run
 *   (an `IrsaRole` named e.g. `aws-load-balancer-controller-irsa` creates the RolePolicy
 *   `aws-load-balancer-controller-irsa-policy`).
 * The exception covers `Resource: "*"` only: wildcard actions (`*`, `s3:*`, `ec2:Describe*`) and
 * NotAction/NotResource stay forbidden for these too.
 */
export const iamWildcardExceptionTag = "inference-platform/iam-wildcard-exception";
export const iamWildcardExceptions: Readonly<Record<string, string>> = {
    "aws-load-balancer-controller": "https://github.com/kubernetes-sigs/aws-load-balancer-controller/blob/main/docs/install/iam_policy.json",
    "cluster-autoscaler": "https://github.com/kubernetes/autoscaler/blob/master/cluster-autoscaler/cloudprovider/aws/README.md",
    karpenter: "https://github.com/aws/karpenter-provider-aws/blob/v1.14.1/website/content/en/preview/getting-started/getting-started-with-karpenter/cloudformation.yaml",
    "ebs-csi-driver": "https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/v1.64.0/docs/AmazonEBSCSIDriverEKSClusterScopedPolicy.json",
};

/** Actions AWS documents with no resource-level permissions: `Resource: "*"` is the only option. */
export const actionsWithoutResourceLevelPermissions: readonly string[] = ["ecr:GetAuthorizationToken", "sts:GetCallerIdentity"];

function exceptionOf(inputs: Inputs, name: string | undefined, doc?: any): string | undefined {
    const tag = inputs.tags?.[iamWildcardExceptionTag];
    if (typeof tag === "string" && tag in iamWildcardExceptions) return tag;
    const id = typeof doc?.Id === "string" && doc.Id.startsWith(`${iamWildcardExceptionTag}/`) ? doc.Id.slice(iamWildcardExceptionTag.length + 1) : undefined;
    if (id !== undefined && id in iamWildcardExceptions) return id;
    for (const candidate of [name, inputs.name]) {
        if (typeof candidate !== "string") continue;
        for (const key of Object.keys(iamWildcardExceptions)) {
            if (new RegExp(`(^|-)${key}(-|$)`).test(candidate)) return key;
        }
    }
    return undefined;
}

function isWildcardResource(resource: string): boolean {
    if (resource === "*") return true;
    const arn = /^arn:[^:]*:[^:]*:[^:]*:[^:]*:(.*)$/.exec(resource);
    return arn !== null && /^[*/]+$/.test(arn[1]);
}

/** Problems of one permission policy document (Allow statements only; Deny may be broad). */
export function policyDocumentWildcardProblems(doc: any, exception: string | undefined, where = "policy"): string[] {
    const problems: string[] = [];
    for (const [i, st] of statements(doc).entries()) {
        if (st?.Effect === "Deny") continue;
        const at = `${where} Statement[${i}]${st?.Sid ? ` (${st.Sid})` : ""}`;
        if (st?.NotAction !== undefined) problems.push(`${at}: Allow with NotAction grants everything else`);
        if (st?.NotResource !== undefined) problems.push(`${at}: Allow with NotResource grants every other resource`);
        const actions = asArray<string>(st?.Action);
        for (const action of actions) {
            if (action.includes("*") || action.includes("?")) problems.push(`${at}: wildcard action '${action}'`);
        }
        const wildcardResources = asArray<string>(st?.Resource).filter(isWildcardResource);
        if (wildcardResources.length === 0) continue;
        const unavoidable = actions.length > 0 && actions.every((a) => actionsWithoutResourceLevelPermissions.includes(a));
        if (!unavoidable && exception === undefined) {
            problems.push(`${at}: wildcard resource '${wildcardResources[0]}' (name the ARNs; see iamWildcardExceptions for upstream policies)`);
        }
    }
    return problems;
}

/** No wildcard actions anywhere; no wildcard resources outside the documented exceptions. */
export function checkIamWildcards(type: string, inputs: Inputs, name?: string): string[] {
    const problems: string[] = [];
    if (type === "aws:iam/role:Role") {
        for (const [i, inline] of asArray<any>(inputs.inlinePolicies).entries()) {
            const doc = parseDocument(inline?.policy, `inlinePolicies[${i}]`, problems);
            problems.push(...policyDocumentWildcardProblems(doc, exceptionOf(inputs, inline?.name, doc), `inlinePolicies[${i}]`));
        }
        return problems;
    }
    const doc = parseDocument(inputs.policy, "policy", problems);
    problems.push(...policyDocumentWildcardProblems(doc, exceptionOf(inputs, name, doc)));
    return problems;
}

// ---------------------------------------------------------------------------------------------
// EKS
// ---------------------------------------------------------------------------------------------

export const clusterTypes = ["eks:index:Cluster", "aws:eks/cluster:Cluster"] as const;
export const nodeGroupTypes = ["aws:eks/nodeGroup:NodeGroup", "eks:index:ManagedNodeGroup"] as const;

export function checkEksVersion(_type: string, inputs: Inputs): string[] {
    const version = inputs.version;
    if (version === undefined) return [`version is not pinned (use one of ${supportedKubernetesVersions.join(", ")})`];
    if (!(supportedKubernetesVersions as readonly string[]).includes(version)) {
        return [`version ${version} is not supported by the pinned components (${supportedKubernetesVersions.join(", ")})`];
    }
    return [];
}

/** AWS defaults supportType to EXTENDED, which bills 6x the standard control-plane price. */
export function checkEksUpgradePolicy(_type: string, inputs: Inputs): string[] {
    const supportType = inputs.upgradePolicy?.supportType;
    return supportType === "STANDARD" ? [] : [`upgradePolicy.supportType must be STANDARD (is ${supportType ?? "unset, which AWS treats as EXTENDED"})`];
}

export const requiredControlPlaneLogs = ["api", "audit", "authenticator"] as const;

export function checkEksLogging(_type: string, inputs: Inputs): string[] {
    const enabled = asArray<string>(inputs.enabledClusterLogTypes);
    const missing = requiredControlPlaneLogs.filter((t) => !enabled.includes(t));
    return missing.length === 0 ? [] : [`enabledClusterLogTypes is missing ${missing.join(", ")}`];
}

/** The public API endpoint open to the whole internet (IAM still guards it): advisory. */
export function checkEksPublicEndpoint(type: string, inputs: Inputs): string[] {
    const vpc = type === "aws:eks/cluster:Cluster" ? (inputs.vpcConfig ?? {}) : inputs;
    if (vpc.endpointPublicAccess === false) return [];
    const cidrs = vpc.publicAccessCidrs === undefined ? ["0.0.0.0/0"] : asArray<string>(vpc.publicAccessCidrs);
    return cidrs.includes("0.0.0.0/0") ? ["the public API endpoint accepts 0.0.0.0/0; set endpointPublicAccessCidrs to your office/CI ranges"] : [];
}

export const gpuAmiType = "AL2023_x86_64_NVIDIA";
const gpuInstanceType = /^(g\d+[a-z]*|p\d+[a-z]*|gr\d+[a-z]*)\./;

function isGpuNodeGroup(inputs: Inputs): boolean {
    const types = asArray<string>(inputs.instanceTypes).concat(inputs.instanceType ? [inputs.instanceType] : []);
    const labels = inputs.labels ?? {};
    return (
        types.some((t) => gpuInstanceType.test(t)) ||
        (typeof inputs.amiType === "string" && inputs.amiType.includes("NVIDIA")) ||
        inputs.gpu === true ||
        labels["nvidia.com/gpu.present"] === "true" ||
        labels["inference-platform/pool"] === "gpu"
    );
}

/** GPU groups: the NVIDIA AL2023 AMI (driver + toolkit), only GPU instance types, and the GPU taint. */
export function checkGpuNodeGroup(type: string, inputs: Inputs): string[] {
    if (!isGpuNodeGroup(inputs)) return [];
    const problems: string[] = [];
    const eksGpuShortcut =
        type === "eks:index:ManagedNodeGroup" && inputs.gpu === true && inputs.amiType === undefined &&
        (inputs.operatingSystem === undefined || inputs.operatingSystem === "AL2023");
    if (inputs.amiType !== gpuAmiType && !eksGpuShortcut) problems.push(`GPU node group amiType must be ${gpuAmiType} (is ${inputs.amiType ?? "unset"})`);
    const nonGpu = asArray<string>(inputs.instanceTypes).filter((t) => !gpuInstanceType.test(t));
    if (nonGpu.length > 0) problems.push(`GPU node group has non-GPU instance types: ${nonGpu.join(", ")}`);
    const tainted = asArray<any>(inputs.taints).some(
        (t) => t?.key === "nvidia.com/gpu" && t?.value === "true" && (t?.effect === "NO_SCHEDULE" || t?.effect === "NoSchedule"),
    );
    if (!tainted) problems.push("GPU node group needs the taint nvidia.com/gpu=true:NoSchedule");
    return problems;
}

/** GPU nodes cost ~$0.5-1/h each: the group should scale from zero. */
export function checkGpuScalesToZero(_type: string, inputs: Inputs): string[] {
    if (!isGpuNodeGroup(inputs)) return [];
    const min = inputs.scalingConfig?.minSize ?? inputs.minSize;
    return min === 0 ? [] : [`GPU node group minSize is ${min ?? "unset"}; 0 lets it cost nothing idle`];
}

export const launchTemplateType = "aws:ec2/launchTemplate:LaunchTemplate";

export function checkLaunchTemplateEbsEncrypted(_type: string, inputs: Inputs): string[] {
    return asArray<any>(inputs.blockDeviceMappings)
        .filter((m) => m?.ebs !== undefined && !isTrue(m.ebs.encrypted))
        .map((m) => `EBS volume ${m.deviceName ?? "(unnamed)"} must be encrypted`);
}

/** IMDSv2 only and one hop, so pods (which use IRSA) cannot borrow the node role. */
export function checkLaunchTemplateImds(_type: string, inputs: Inputs): string[] {
    const options = inputs.metadataOptions ?? {};
    const problems: string[] = [];
    if (options.httpTokens !== "required") problems.push("metadataOptions.httpTokens must be required (IMDSv2 only)");
    if (options.httpEndpoint !== "disabled" && options.httpPutResponseHopLimit !== undefined && options.httpPutResponseHopLimit > 1) {
        problems.push(`metadataOptions.httpPutResponseHopLimit is ${options.httpPutResponseHopLimit}; 1 keeps pods off the node role`);
    }
    return problems;
}

// ---------------------------------------------------------------------------------------------
// Karpenter (karpenter-provider-aws v1 objects)
// ---------------------------------------------------------------------------------------------

export const ec2NodeClassType = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass";
export const nodePoolType = "kubernetes:karpenter.sh/v1:NodePool";

/**
 * What Karpenter's nodes are launched with: encrypted volumes, IMDSv2 at one hop (the CRD's defaults
 * when unset), and an AMI alias pinned to a release (`@latest` replaces every node on each release).
 */
export function checkEc2NodeClass(_type: string, inputs: Inputs): string[] {
    const spec = inputs.spec ?? {};
    const problems: string[] = [];
    for (const m of asArray<any>(spec.blockDeviceMappings)) {
        if (m?.ebs !== undefined && !isTrue(m.ebs.encrypted)) problems.push(`EBS volume ${m.deviceName ?? "(unnamed)"} must be encrypted`);
    }
    const md = spec.metadataOptions ?? {};
    if (md.httpTokens !== undefined && md.httpTokens !== "required") problems.push("metadataOptions.httpTokens must be required (IMDSv2 only)");
    if (md.httpEndpoint !== "disabled" && md.httpPutResponseHopLimit !== undefined && md.httpPutResponseHopLimit > 1) {
        problems.push(`metadataOptions.httpPutResponseHopLimit is ${md.httpPutResponseHopLimit}; 1 keeps pods off the node role`);
    }
    for (const term of asArray<any>(spec.amiSelectorTerms)) {
        if (typeof term?.alias === "string" && /@latest$/.test(term.alias)) problems.push(`amiSelectorTerms alias '${term.alias}' is not pinned to an AMI release`);
    }
    if (spec.associatePublicIPAddress === true) problems.push("associatePublicIPAddress must not be true (nodes stay private)");
    return problems;
}

/** Every NodePool is bounded (`spec.limits`); one whose nodes carry the GPU taint is bounded in GPUs. */
export function checkNodePoolLimits(_type: string, inputs: Inputs): string[] {
    const spec = inputs.spec ?? {};
    const limits = spec.limits ?? {};
    if (Object.keys(limits).length === 0) return ["spec.limits is empty: the pool could launch without bound"];
    const gpuTainted = asArray<any>(spec.template?.spec?.taints).some((t) => t?.key === "nvidia.com/gpu");
    return gpuTainted && limits["nvidia.com/gpu"] === undefined ? ["a GPU pool (nvidia.com/gpu taint) must limit nvidia.com/gpu"] : [];
}

// ---------------------------------------------------------------------------------------------
// Kubernetes workloads
// ---------------------------------------------------------------------------------------------

export const inferenceServiceType = "kubernetes:serving.kserve.io/v1beta1:InferenceService";

/** Where the pod spec lives for each workload type. */
const podSpecPaths: Readonly<Record<string, readonly string[]>> = {
    "kubernetes:core/v1:Pod": ["spec"],
    "kubernetes:apps/v1:Deployment": ["spec", "template", "spec"],
    "kubernetes:apps/v1:StatefulSet": ["spec", "template", "spec"],
    "kubernetes:apps/v1:DaemonSet": ["spec", "template", "spec"],
    "kubernetes:apps/v1:ReplicaSet": ["spec", "template", "spec"],
    "kubernetes:batch/v1:Job": ["spec", "template", "spec"],
    "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
    "kubernetes:serving.knative.dev/v1:Service": ["spec", "template", "spec"],
};
export const workloadTypes: readonly string[] = [...Object.keys(podSpecPaths), inferenceServiceType];

/** KServe v1beta1 predictor keys that hold a model container (ModelSpec or a framework spec). */
const kserveModelKeys = ["model", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface", "lightgbm", "paddle", "pmml"];
const kserveComponents = ["predictor", "transformer", "explainer"];

interface ContainerRef {
    readonly where: string;
    readonly container: any;
    readonly podSecurityContext: any;
}

/** Every container of a workload with where it sits and its pod's securityContext. */
export function containersOf(type: string, inputs: Inputs): ContainerRef[] {
    const refs: ContainerRef[] = [];
    const addPod = (pod: any, prefix: string) => {
        if (!pod) return;
        for (const key of ["initContainers", "containers"]) {
            for (const [i, c] of asArray<any>(pod[key]).entries()) {
                refs.push({ where: `${prefix}${key}[${i}]${c?.name ? ` (${c.name})` : ""}`, container: c, podSecurityContext: pod.securityContext });
            }
        }
    };
    if (type === inferenceServiceType) {
        for (const component of kserveComponents) {
            const spec = inputs.spec?.[component];
            if (!spec) continue;
            addPod(spec, `spec.${component}.`);
            for (const key of kserveModelKeys) {
                if (spec[key]) refs.push({ where: `spec.${component}.${key}`, container: spec[key], podSecurityContext: spec.securityContext });
            }
        }
        return refs;
    }
    const path = podSpecPaths[type];
    if (!path) return refs;
    let pod: any = inputs;
    for (const key of path) pod = pod?.[key];
    addPod(pod, `${path.join(".")}.`);
    return refs;
}

/** requests and limits for cpu and memory on every container. */
export function checkContainerResources(type: string, inputs: Inputs): string[] {
    const problems: string[] = [];
    for (const { where, container } of containersOf(type, inputs)) {
        const missing: string[] = [];
        for (const kind of ["requests", "limits"]) {
            for (const resource of ["cpu", "memory"]) {
                if (container?.resources?.[kind]?.[resource] === undefined) missing.push(`${kind}.${resource}`);
            }
        }
        if (missing.length > 0) problems.push(`${where}: missing resources ${missing.join(", ")}`);
    }
    return problems;
}

/** runAsNonRoot (container or pod), allowPrivilegeEscalation false, not privileged. */
export function checkContainerSecurity(type: string, inputs: Inputs): string[] {
    const problems: string[] = [];
    for (const { where, container, podSecurityContext } of containersOf(type, inputs)) {
        const sc = container?.securityContext ?? {};
        const nonRoot = sc.runAsNonRoot ?? podSecurityContext?.runAsNonRoot;
        if (nonRoot !== true) problems.push(`${where}: runAsNonRoot must be true`);
        if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation must be false`);
        if (sc.privileged === true) problems.push(`${where}: must not be privileged`);
    }
    return problems;
}

/** Images carry an exact tag or digest, never `latest` or none. KServe model specs have no image. */
export function checkContainerImages(type: string, inputs: Inputs): string[] {
    const problems: string[] = [];
    for (const { where, container } of containersOf(type, inputs)) {
        const image = container?.image;
        if (image === undefined) continue;
        if (typeof image !== "string") continue;
        if (/@sha256:[0-9a-f]{64}$/.test(image)) continue;
        const tag = /:([\w][\w.-]{0,127})$/.exec(image.split("/").pop() ?? "")?.[1];
        if (tag === undefined) problems.push(`${where}: image '${image}' has no tag`);
        else if (tag === "latest") problems.push(`${where}: image '${image}' uses :latest`);
    }
    return problems;
}

export const allowedStorageUriSchemes = ["s3", "gs", "pvc", "https", "hf", "oci"] as const;

/** InferenceService storage URIs use a scheme the platform supports (no plaintext http). */
export function checkStorageUris(_type: string, inputs: Inputs): string[] {
    const problems: string[] = [];
    for (const component of kserveComponents) {
        const spec = inputs.spec?.[component];
        if (!spec) continue;
        for (const key of kserveModelKeys) {
            const uris = [spec[key]?.storageUri, ...asArray<string>(spec[key]?.storageUris?.map?.((s: any) => s?.uri))];
            for (const uri of uris) {
                if (uri === undefined) continue;
                const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(uri)?.[1];
                if (!scheme || !(allowedStorageUriSchemes as readonly string[]).includes(scheme)) {
                    problems.push(`spec.${component}.${key}.storageUri '${uri}': scheme must be one of ${allowedStorageUriSchemes.join(", ")}`);
                }
            }
        }
    }
    return problems;
}

export const authorizationPolicyTypes = [
    "kubernetes:security.istio.io/v1:AuthorizationPolicy",
    "kubernetes:security.istio.io/v1beta1:AuthorizationPolicy",
] as const;

/**
 * An ALLOW policy must not allow every path: each rule needs a `to` whose every operation lists
 * `paths`, none of them `*` or `/*`. An ALLOW policy with no rules is not flagged: Istio documents it
 * as "allow nothing" (with no other ALLOW policy, every request is denied).
 */
export function checkAuthorizationPolicy(_type: string, inputs: Inputs): string[] {
    const spec = inputs.spec ?? {};
    const action = spec.action ?? "ALLOW";
    if (action !== "ALLOW") return [];
    const problems: string[] = [];
    for (const [i, rule] of asArray<any>(spec.rules).entries()) {
        const to = asArray<any>(rule?.to);
        if (to.length === 0) {
            problems.push(`rules[${i}] has no 'to': it allows every path`);
            continue;
        }
        for (const [j, t] of to.entries()) {
            const paths = asArray<string>(t?.operation?.paths);
            if (paths.length === 0) problems.push(`rules[${i}].to[${j}] lists no paths: it allows every path`);
            for (const p of paths) if (p === "*" || p === "/*") problems.push(`rules[${i}].to[${j}] allows every path ('${p}')`);
        }
    }
    return problems;
}

export const ingressGateway = { namespace: "istio-system", name: "istio-ingressgateway" } as const;
export const serviceType = "kubernetes:core/v1:Service";
export const helmReleaseType = "kubernetes:helm.sh/v3:Release";

/**
 * Only the ingress gateway may be a LoadBalancer (an internet-facing NLB). For Helm releases only the
 * inputs are visible: Istio's `gateway` chart defaults to a LoadBalancer Service named after the
 * release, so that release must be istio-system/istio-ingressgateway; other charts are flagged when
 * their values ask for a LoadBalancer.
 */
export function checkLoadBalancerServices(type: string, inputs: Inputs): string[] {
    const isGateway = (namespace: unknown, name: unknown) => namespace === ingressGateway.namespace && name === ingressGateway.name;
    if (type === serviceType) {
        if (inputs.spec?.type !== "LoadBalancer") return [];
        const { namespace, name } = inputs.metadata ?? {};
        return isGateway(namespace, name) ? [] : [`Service ${namespace ?? "default"}/${name ?? "(auto-named)"} is a LoadBalancer; only ${ingressGateway.namespace}/${ingressGateway.name} may be`];
    }
    const serviceTypeValue = inputs.values?.service?.type;
    const istioGatewayChart = inputs.chart === "gateway" && String(inputs.repositoryOpts?.repo ?? "").includes("istio");
    const loadBalancer = serviceTypeValue === "LoadBalancer" || (istioGatewayChart && serviceTypeValue === undefined);
    if (!loadBalancer || isGateway(inputs.namespace, inputs.name)) return [];
    return [`Helm release ${inputs.namespace ?? "default"}/${inputs.name ?? "(auto-named)"} (chart ${inputs.chart}) creates a LoadBalancer Service; only ${ingressGateway.namespace}/${ingressGateway.name} may`];
}

const exactVersion = /^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/;

/** Releases are reproducible: explicit release name and namespace, exact version, https/oci source. */
export function checkHelmRelease(_type: string, inputs: Inputs): string[] {
    const problems: string[] = [];
    const chart = String(inputs.chart ?? "");
    const local = chart.startsWith("./") || chart.startsWith("../") || chart.startsWith("/");
    if (!inputs.name) problems.push("name (the Helm release name) must be set; Pulumi would add a random suffix");
    if (!inputs.namespace) problems.push("namespace must be set");
    if (!local) {
        if (typeof inputs.version !== "string" || !exactVersion.test(inputs.version)) {
            problems.push(`version must be an exact chart version (is ${JSON.stringify(inputs.version)})`);
        }
        const repo = inputs.repositoryOpts?.repo;
        const source = chart.startsWith("oci://") ? chart : repo;
        if (typeof source !== "string" || !/^(https|oci):\/\//.test(source)) {
            problems.push(`chart source must be an https:// repository or an oci:// chart (is ${JSON.stringify(source)})`);
        }
    }
    return problems;
}

// ---------------------------------------------------------------------------------------------
// ECR, KMS
// ---------------------------------------------------------------------------------------------

export const ecrRepositoryType = "aws:ecr/repository:Repository";

export function checkEcrScanOnPush(_type: string, inputs: Inputs): string[] {
    return inputs.imageScanningConfiguration?.scanOnPush === true ? [] : ["imageScanningConfiguration.scanOnPush should be true"];
}

export function checkEcrImmutableTags(_type: string, inputs: Inputs): string[] {
    const mutability = inputs.imageTagMutability ?? "MUTABLE";
    return String(mutability).startsWith("IMMUTABLE") ? [] : [`imageTagMutability is ${mutability}; IMMUTABLE keeps a tag pointing at one image`];
}

export const kmsKeyType = "aws:kms/key:Key";

export function checkKmsRotation(_type: string, inputs: Inputs): string[] {
    const spec = inputs.customerMasterKeySpec ?? inputs.keySpec ?? "SYMMETRIC_DEFAULT";
    if (spec !== "SYMMETRIC_DEFAULT") return []; // AWS rotates only symmetric keys automatically
    return inputs.enableKeyRotation === true ? [] : ["enableKeyRotation must be true"];
}

// ---------------------------------------------------------------------------------------------
// Stack-wide
// ---------------------------------------------------------------------------------------------

/**
 * Whether `companion` (a public access block, encryption config or bucket policy) belongs to
 * `bucket`: by dependency URN when known (engine), else by the `bucket` input naming the bucket
 * (its `bucket` name or `bucketPrefix`), else, when the reference is unknown and the stack has one
 * bucket, that bucket.
 */
function belongsTo(companion: ResourceView, bucket: ResourceView, bucketCount: number): boolean {
    if (bucket.urn !== undefined && companion.dependencies?.includes(bucket.urn)) return true;
    const ref = companion.inputs.bucket;
    if (typeof ref === "string") {
        if (ref === bucket.inputs.bucket) return true;
        if (typeof bucket.inputs.bucketPrefix === "string" && ref.startsWith(bucket.inputs.bucketPrefix)) return true;
        return false;
    }
    return ref === undefined && bucketCount === 1;
}

/** Every bucket has a public access block, default encryption and the TLS-only policy. */
export function checkBucketCompanions(resources: readonly ResourceView[]): string[] {
    const buckets = resources.filter((r) => (bucketTypes as readonly string[]).includes(r.type));
    const problems: string[] = [];
    for (const bucket of buckets) {
        const companions = (types: readonly string[]) => resources.filter((r) => types.includes(r.type) && belongsTo(r, bucket, buckets.length));
        const label = `bucket ${bucket.name}`;
        if (companions([publicAccessBlockType]).length === 0) problems.push(`${label} has no BucketPublicAccessBlock`);
        const inlineEncryption = bucket.inputs.serverSideEncryptionConfiguration !== undefined || bucket.inputs.serverSideEncryptionConfigurations !== undefined;
        if (!inlineEncryption && companions(encryptionConfigTypes).length === 0) problems.push(`${label} has no BucketServerSideEncryptionConfiguration`);
        const inlineTls = bucket.inputs.policy !== undefined && checkTlsOnlyBucketPolicy(bucket.type, bucket.inputs).length === 0;
        if (!inlineTls && companions([bucketPolicyType]).length === 0) problems.push(`${label} has no BucketPolicy (TLS only)`);
    }
    return problems;
}

/** Elastic IPs cost $0.005/h each and the default quota is 5 per region: NAT needs at most one per AZ (4). */
export const maxElasticIps = 4;

export function checkEipCount(resources: readonly ResourceView[]): string[] {
    const count = resources.filter((r) => r.type === "aws:ec2/eip:Eip").length;
    return count > maxElasticIps ? [`${count} Elastic IPs; expected at most ${maxElasticIps} (one per NAT gateway)`] : [];
}

// ---------------------------------------------------------------------------------------------
// The catalogue
// ---------------------------------------------------------------------------------------------

const resource = (
    name: string,
    enforcementLevel: EnforcementLevel,
    resourceTypes: readonly string[],
    description: string,
    validate: ResourcePolicy["validate"],
): ResourcePolicy => ({ kind: "resource", name, description, enforcementLevel, resourceTypes, validate });

export const resourcePolicies: readonly ResourcePolicy[] = [
    resource("s3-public-access-block", "mandatory", [publicAccessBlockType], "S3 public access blocks set all four flags.", checkPublicAccessBlock),
    resource("s3-bucket-encryption", "mandatory", [...encryptionConfigTypes, ...bucketTypes], "S3 default encryption uses AES256 or KMS.", checkBucketEncryption),
    resource("s3-tls-only", "mandatory", [bucketPolicyType, ...bucketTypes], "S3 bucket policies deny requests without TLS.", checkTlsOnlyBucketPolicy),
    resource("irsa-trust-exact", "mandatory", ["aws:iam/role:Role"], "Web-identity trust pins sub and aud with StringEquals; no role trusts everyone.", checkIrsaTrust),
    resource(
        "iam-no-wildcards",
        "mandatory",
        ["aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy", "aws:iam/role:Role"],
        "IAM Allow statements name actions and resources exactly (documented upstream exceptions for Resource \"*\" only).",
        checkIamWildcards,
    ),
    resource("eks-version-supported", "mandatory", clusterTypes, "EKS version is pinned to one the platform's components support.", checkEksVersion),
    resource("eks-upgrade-policy-standard", "advisory", clusterTypes, "EKS upgrade policy is STANDARD (extended support costs 6x).", checkEksUpgradePolicy),
    resource("eks-control-plane-logging", "mandatory", clusterTypes, "EKS sends api, audit and authenticator logs to CloudWatch.", checkEksLogging),
    resource("eks-public-endpoint-restricted", "advisory", clusterTypes, "The public EKS API endpoint is not open to 0.0.0.0/0.", checkEksPublicEndpoint),
    resource("gpu-node-group-nvidia", "mandatory", nodeGroupTypes, "GPU node groups use the AL2023 NVIDIA AMI and the nvidia.com/gpu taint.", checkGpuNodeGroup),
    resource("gpu-node-group-scales-to-zero", "advisory", nodeGroupTypes, "GPU node groups scale from zero.", checkGpuScalesToZero),
    resource("launch-template-ebs-encrypted", "mandatory", [launchTemplateType], "Node root volumes are encrypted.", checkLaunchTemplateEbsEncrypted),
    resource("launch-template-imdsv2", "mandatory", [launchTemplateType], "Nodes require IMDSv2 with a hop limit of 1.", checkLaunchTemplateImds),
    resource("karpenter-nodeclass-hardened", "mandatory", [ec2NodeClassType], "Karpenter nodes: encrypted volumes, IMDSv2 at one hop, a pinned AMI, no public IP.", checkEc2NodeClass),
    resource("karpenter-nodepool-limited", "mandatory", [nodePoolType], "Karpenter NodePools have limits (GPU pools in GPUs).", checkNodePoolLimits),
    resource("container-resources", "mandatory", workloadTypes, "Every container sets cpu and memory requests and limits.", checkContainerResources),
    resource("container-security-context", "mandatory", workloadTypes, "Containers run as non-root without privilege escalation.", checkContainerSecurity),
    resource("container-image-pinned", "mandatory", workloadTypes, "Container images use an exact tag or digest, never latest.", checkContainerImages),
    resource("authz-no-allow-all-paths", "mandatory", authorizationPolicyTypes, "No Istio ALLOW policy allows every path.", checkAuthorizationPolicy),
    resource("isvc-storage-uri-scheme", "mandatory", [inferenceServiceType], `InferenceService storage URIs use ${allowedStorageUriSchemes.join(", ")}.`, checkStorageUris),
    resource("loadbalancer-only-ingress-gateway", "mandatory", [serviceType, helmReleaseType], "Only the Istio ingress gateway is a LoadBalancer Service.", checkLoadBalancerServices),
    resource("helm-release-explicit", "mandatory", [helmReleaseType], "Helm releases have a name, namespace, exact version and https/oci source.", checkHelmRelease),
    resource("ecr-scan-on-push", "advisory", [ecrRepositoryType], "ECR repositories scan images on push.", checkEcrScanOnPush),
    resource("ecr-immutable-tags", "advisory", [ecrRepositoryType], "ECR repositories use immutable tags.", checkEcrImmutableTags),
    resource("kms-key-rotation", "mandatory", [kmsKeyType], "Customer KMS keys rotate yearly.", checkKmsRotation),
];

export const stackPolicies: readonly StackPolicy[] = [
    {
        kind: "stack",
        name: "s3-bucket-companions",
        description: "Every S3 bucket has a public access block, default encryption and a TLS-only policy.",
        enforcementLevel: "mandatory",
        validate: checkBucketCompanions,
    },
    {
        kind: "stack",
        name: "eip-count-bounded",
        description: `At most ${maxElasticIps} Elastic IPs (one per NAT gateway).`,
        enforcementLevel: "advisory",
        validate: checkEipCount,
    },
];

/** Runs every policy over a list of resources, without the Pulumi engine (tests, the synth). */
export function runPolicies(resources: readonly ResourceView[]): Violation[] {
    const violations: Violation[] = [];
    for (const r of resources) {
        for (const p of resourcePolicies) {
            if (!p.resourceTypes.includes(r.type)) continue;
            for (const message of p.validate(r.type, r.inputs ?? {}, r.name)) {
                violations.push({ policy: p.name, enforcementLevel: p.enforcementLevel, resource: { type: r.type, name: r.name }, message });
            }
        }
    }
    for (const p of stackPolicies) {
        for (const message of p.validate(resources)) violations.push({ policy: p.name, enforcementLevel: p.enforcementLevel, message });
    }
    return violations;
}
