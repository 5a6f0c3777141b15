/**
 * Karpenter's GPU capacity: an `EC2NodeClass` (how nodes look: AMI, disks, metadata service, network)
 * and a GPU `NodePool` (which nodes may exist: instance families, spot or on-demand, taint and labels,
 * limits, when they go), plus an optional CPU burst pool (off by default), and the DeletionGate that
 * makes `pulumi destroy` wait until Karpenter has terminated every instance of these pools.
 *
 * GPU workloads need no change: the pool's nodes carry the label and taint every GPU workload of the
 * stack already targets (`nvidia.com/gpu.present=true`, taint `nvidia.com/gpu=true:NoSchedule`, from
 * components/common/gpuScheduling.ts), and the AL2023 NVIDIA AMI ships the driver and container toolkit, so the
 * device plugin's DaemonSet lands on them as it does on the managed GPU group's nodes.
 *
 * Objects follow the CRDs of aws/karpenter-provider-aws v1.14.1 (pkg/apis/crds/); tests validate
 * them against those files.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { gpuNodeLabel, gpuTaint } from "../common/gpuScheduling";
import { karpenterPins } from "../../versions";
import { DeletionGate } from "./deletionGate";
import { gpuNodeUserData, gpuRootVolumePerformance } from "./gpuNodeBoot";
import { gpuInstanceFamilies, x86CpuInstanceFamilies } from "./names";
import { karpenterDiscoveryTagKey } from "./network";

/** Names of the Kubernetes objects (cluster-scoped; the DeletionGate finds instances by the pool names). */
export const gpuNodePoolName = "gpu";
export const cpuBurstNodePoolName = "cpu-burst";

/** Defaults of `GpuNodePoolArgs` (the config keys in config.ts default to the same). */
export const gpuPoolDefaults = {
    instanceFamilies: ["g6", "g5", "g6e"],
    maxGpus: 2,
    vcpusPerGpu: 8,
    consolidateAfter: "10m",
    expireAfter: "720h",
    /**
     * How long draining a node may take before Karpenter deletes its pods regardless of disruption
     * budgets (NodePool `terminationGracePeriod`; unset, a blocked drain waits forever, which would
     * hang `pulumi destroy` on a budget no pod can satisfy once the pools are going). Below the drain
     * gate's default timeout (20 minutes), so destroy finishes within it.
     */
    terminationGracePeriod: "10m",
    rootVolumeGiB: 100,
    cpuBurst: { instanceFamilies: ["m6i", "m7i", "c6i"], maxVcpus: 16, rootVolumeGiB: 50 },
} as const;

/** Who makes GPU nodes on EKS: Karpenter's NodePool, or a managed node group with the Cluster Autoscaler. */
export const gpuProvisioners = ["karpenter", "node-group"] as const;
export type GpuProvisioner = (typeof gpuProvisioners)[number];

/** The pools' shape as the stack config gives it (`gpuInstanceFamilies`, `gpuSpot`, ... keys). */
export interface KarpenterPoolsConfig {
    /** GPU instance families (NVIDIA, x86_64). */
    readonly instanceFamilies: readonly string[];
    /** Spot while offered, on-demand as fallback; false: on-demand only (both pools). */
    readonly spot: boolean;
    /** NodePool limit `nvidia.com/gpu`. */
    readonly maxGpus: number;
    /** NodePool limit `cpu` of the GPU pool. */
    readonly maxVcpus: number;
    /** How long a GPU node stays empty before it goes. */
    readonly consolidateAfter: string;
    /** The CPU burst pool; undefined: none. */
    readonly cpuBurst: { readonly instanceFamilies: readonly string[]; readonly maxVcpus: number } | undefined;
}

/**
 * The smallest instance of each GPU family the stack allows (AWS "Accelerated computing instance
 * specifications"): g4dn/g5/g6/g6e.xlarge have 1 GPU and 4 vCPUs; p4d comes only as p4d.24xlarge
 * (8 A100, 96 vCPUs). A pool whose limits are below a family's smallest instance never launches that
 * family. p5 is left out: besides p5.48xlarge (8 H100) AWS has announced smaller p5 sizes, which
 * could not be confirmed offline.
 */
export const smallestGpuInstance: Readonly<Record<string, { readonly type: string; readonly gpus: number; readonly vcpus: number }>> = {
    g4dn: { type: "g4dn.xlarge", gpus: 1, vcpus: 4 },
    g5: { type: "g5.xlarge", gpus: 1, vcpus: 4 },
    g6: { type: "g6.xlarge", gpus: 1, vcpus: 4 },
    g6e: { type: "g6e.xlarge", gpus: 1, vcpus: 4 },
    p4d: { type: "p4d.24xlarge", gpus: 8, vcpus: 96 },
};

/** Karpenter's well-known labels (sigs.k8s.io/karpenter pkg/apis/v1 labels.go; karpenter-provider-aws pkg/apis/v1/labels.go). */
export const karpenterLabels = {
    capacityType: "karpenter.sh/capacity-type",
    instanceFamily: "karpenter.k8s.aws/instance-family",
    gpuManufacturer: "karpenter.k8s.aws/instance-gpu-manufacturer",
    arch: "kubernetes.io/arch",
    os: "kubernetes.io/os",
} as const;

/** The pool label the managed node groups carry (./eksCluster.ts), with the values of Karpenter's pools. */
const poolLabelKey = "inference-platform/pool";

/**
 * Tag keys Karpenter sets itself and refuses in `spec.tags`
 * (karpenter-provider-aws v1.14.1 pkg/apis/v1/labels.go `RestrictedTagPatterns`).
 */
const restrictedTagPatterns = [/^kubernetes\.io\/cluster\//, /^karpenter\.sh\/nodepool$/, /^eks:eks-cluster-name$/, /^karpenter\.k8s\.aws\/ec2nodeclass$/, /^karpenter\.sh\/nodeclaim$/];

/** A Karpenter duration (`^(([0-9]+(s|m|h))+|Never)$` in the NodePool CRD) in seconds, or undefined. */
export function durationSeconds(value: string): number | undefined {
    if (!/^([0-9]+(s|m|h))+$/.test(value)) return undefined;
    let total = 0;
    for (const [, n, unit] of value.matchAll(/([0-9]+)(s|m|h)/g)) total += Number(n) * { s: 1, m: 60, h: 3600 }[unit as "s" | "m" | "h"];
    return total;
}

/** An AMI alias pinned to one EKS AMI release, e.g. `al2023@v20260714`; `latest` drifts and is refused. */
export function amiAliasProblem(alias: string): string | undefined {
    if (/@latest$/.test(alias)) return `AMI alias '${alias}' is not pinned: every AMI release would replace every node (use al2023@v<release>)`;
    return /^al2023@v\d{8}$/.test(alias) ? undefined : `AMI alias '${alias}' is not an AL2023 release alias (al2023@vYYYYMMDD)`;
}

/**
 * Inputs of `ec2NodeClassManifest`. `S` is the type of the fields that come from other resources:
 * `string` for the pure renderer, `pulumi.Input<string>` for the component.
 */
export interface NodeClassInput<S = string> {
    readonly name: string;
    readonly clusterName: S;
    /** Name (not ARN) of the node role; Karpenter makes the instance profile. */
    readonly nodeRoleName: S;
    readonly amiAlias: string;
    readonly rootVolumeGiB: number;
    /** gp3 throughput (MiB/s) and IOPS of the root volume. Default: gp3's baseline (neither is set). */
    readonly rootVolumePerformance?: { readonly throughput: number; readonly iops: number };
    /**
     * nodeadm user data (a MIME multi-part archive) that Karpenter merges with the NodeConfig it
     * generates. Default: none (Karpenter's NodeConfig alone).
     */
    readonly userData?: string;
    /** Tags on the instances, volumes and launch templates (not Karpenter's own keys). */
    readonly tags: Readonly<Record<string, string>>;
}

/** An EC2NodeClass (karpenter.k8s.aws/v1). */
export function ec2NodeClassManifest<S = string>(input: NodeClassInput<S>): Record<string, any> {
    const discovery = { tags: { [karpenterDiscoveryTagKey]: input.clusterName } };
    return {
        apiVersion: "karpenter.k8s.aws/v1",
        kind: "EC2NodeClass",
        metadata: { name: input.name, labels: { "app.kubernetes.io/part-of": "inference-platform" } },
        spec: {
            role: input.nodeRoleName,
            // One alias term: Karpenter resolves it per Kubernetes minor and variant (standard or NVIDIA).
            amiSelectorTerms: [{ alias: input.amiAlias }],
            // The private subnets and the cluster security group (the tags ./network.ts and ./eksCluster.ts set).
            subnetSelectorTerms: [discovery],
            securityGroupSelectorTerms: [discovery],
            associatePublicIPAddress: false,
            // IMDSv2 only, one hop: pods (which use IRSA) cannot borrow the node role.
            metadataOptions: { httpEndpoint: "enabled", httpProtocolIPv6: "disabled", httpPutResponseHopLimit: 1, httpTokens: "required" },
            blockDeviceMappings: [
                {
                    // AL2023's root device (pkg/providers/amifamily/al2023.go `EphemeralBlockDevice`).
                    deviceName: "/dev/xvda",
                    rootVolume: true,
                    ebs: { volumeSize: `${input.rootVolumeGiB}Gi`, volumeType: "gp3", encrypted: true, deleteOnTermination: true, ...input.rootVolumePerformance },
                },
            ],
            // Karpenter v1.14.1 keeps a custom MIME archive's parts and appends its own NodeConfig part
            // (pkg/providers/amifamily/bootstrap/nodeadm.go `Nodeadm.Script`, `parseUserData`).
            ...(input.userData === undefined ? {} : { userData: input.userData }),
            tags: { ...input.tags },
        },
    };
}

/** Inputs of `gpuNodePoolManifest`, all resolved. */
export interface GpuPoolInput {
    readonly nodeClassName: string;
    readonly instanceFamilies: readonly string[];
    /** Allow spot (preferred while offered), with on-demand as fallback. */
    readonly spot: boolean;
    readonly maxGpus: number;
    readonly maxVcpus: number;
    readonly consolidateAfter: string;
    readonly expireAfter: string;
}

const nodeClassRef = (name: string) => ({ group: "karpenter.k8s.aws", kind: "EC2NodeClass", name });
const capacityTypes = (spot: boolean) => (spot ? ["spot", "on-demand"] : ["on-demand"]);

/**
 * The GPU NodePool (karpenter.sh/v1). With both capacity types allowed, Karpenter launches spot while
 * any spot offering is available and on-demand otherwise; a spot launch that fails for capacity marks
 * those offerings unavailable, so the next try is on-demand (karpenter-provider-aws v1.14.1
 * pkg/providers/instance/instance.go `getCapacityType`: reserved, then spot, then on-demand).
 */
export function gpuNodePoolManifest(input: GpuPoolInput): Record<string, any> {
    return {
        apiVersion: "karpenter.sh/v1",
        kind: "NodePool",
        metadata: { name: gpuNodePoolName, labels: { "app.kubernetes.io/part-of": "inference-platform" } },
        spec: {
            template: {
                metadata: { labels: { [gpuNodeLabel.key]: gpuNodeLabel.value, [poolLabelKey]: gpuNodePoolName } },
                spec: {
                    nodeClassRef: nodeClassRef(input.nodeClassName),
                    // Kubernetes spells the effect NoSchedule; the managed group's EKS API spells it NO_SCHEDULE.
                    taints: [{ key: gpuTaint.key, value: gpuTaint.value, effect: "NoSchedule" }],
                    requirements: [
                        { key: karpenterLabels.instanceFamily, operator: "In", values: [...input.instanceFamilies] },
                        { key: karpenterLabels.gpuManufacturer, operator: "In", values: ["nvidia"] },
                        { key: karpenterLabels.capacityType, operator: "In", values: capacityTypes(input.spot) },
                        // The GPU images the stack runs (TF Serving -gpu, CUDA) are x86_64.
                        { key: karpenterLabels.arch, operator: "In", values: ["amd64"] },
                        { key: karpenterLabels.os, operator: "In", values: ["linux"] },
                    ],
                    expireAfter: input.expireAfter,
                    terminationGracePeriod: gpuPoolDefaults.terminationGracePeriod,
                },
            },
            // A GPU node goes once it has run no pod for `consolidateAfter`; a busy one is never
            // replaced for a cheaper one (model servers are slow to start).
            disruption: { consolidationPolicy: "WhenEmpty", consolidateAfter: input.consolidateAfter },
            // The cost and quota bound: at most this many GPUs and vCPUs at once (all nodes of the pool).
            limits: { "nvidia.com/gpu": String(input.maxGpus), cpu: String(input.maxVcpus) },
        },
    };
}

/** Inputs of `cpuBurstNodePoolManifest`, all resolved. */
export interface CpuBurstPoolInput {
    readonly nodeClassName: string;
    readonly instanceFamilies: readonly string[];
    readonly spot: boolean;
    readonly maxVcpus: number;
    readonly consolidateAfter: string;
    readonly expireAfter: string;
}

/** The optional CPU burst NodePool: no taint, so any pod the CPU managed group cannot fit may land there. */
export function cpuBurstNodePoolManifest(input: CpuBurstPoolInput): Record<string, any> {
    return {
        apiVersion: "karpenter.sh/v1",
        kind: "NodePool",
        metadata: { name: cpuBurstNodePoolName, labels: { "app.kubernetes.io/part-of": "inference-platform" } },
        spec: {
            template: {
                metadata: { labels: { [poolLabelKey]: cpuBurstNodePoolName } },
                spec: {
                    nodeClassRef: nodeClassRef(input.nodeClassName),
                    requirements: [
                        { key: karpenterLabels.instanceFamily, operator: "In", values: [...input.instanceFamilies] },
                        { key: karpenterLabels.capacityType, operator: "In", values: capacityTypes(input.spot) },
                        { key: karpenterLabels.arch, operator: "In", values: ["amd64"] },
                        { key: karpenterLabels.os, operator: "In", values: ["linux"] },
                    ],
                    expireAfter: input.expireAfter,
                    terminationGracePeriod: gpuPoolDefaults.terminationGracePeriod,
                },
            },
            disruption: { consolidationPolicy: "WhenEmptyOrUnderutilized", consolidateAfter: input.consolidateAfter },
            limits: { cpu: String(input.maxVcpus) },
        },
    };
}

export interface CpuBurstPoolArgs {
    /** Instance families (config's `cpuInstanceFamilies`, x86_64). Default: `["m6i", "m7i", "c6i"]`. */
    readonly instanceFamilies?: readonly string[];
    /** NodePool limit `cpu`. Default: 16. */
    readonly maxVcpus?: number;
    /** Root volume, GiB. Default: 50. */
    readonly rootVolumeGiB?: number;
}

export interface GpuNodePoolArgs {
    /** EKS cluster name (discovery tags; the gate's instance filter). Required. */
    readonly clusterName: pulumi.Input<string>;
    /** Name of the role nodes run as (`KarpenterController.nodeRoleName`). Required. */
    readonly nodeRoleName: pulumi.Input<string>;
    /**
     * The controller (`KarpenterController`): the pools are created after it runs and deleted while it
     * still runs. Required.
     */
    readonly controller: pulumi.Resource;
    /** What nodes need to join (`KarpenterController.nodeIdentity`); outlives every instance on destroy. Default: none. */
    readonly nodeIdentity?: pulumi.Resource[];
    /** AWS region, for the gate's EC2 calls. Required. */
    readonly region: pulumi.Input<string>;
    /** Named AWS profile of the stack's AWS provider, for the gate. Default: the default credential chain. */
    readonly awsProfile?: pulumi.Input<string>;
    /** GPU instance families (NVIDIA, x86_64). Default: `["g6", "g5", "g6e"]` (L4, A10G, L40S). */
    readonly instanceFamilies?: readonly string[];
    /** Allow spot with on-demand as fallback; false: on-demand only. Default: true. */
    readonly spot?: boolean;
    /** NodePool limit `nvidia.com/gpu`. Default: 2. */
    readonly maxGpus?: number;
    /** NodePool limit `cpu` (the G/VT vCPU quota unit). Default: 8 per GPU. */
    readonly maxVcpus?: number;
    /** How long a node stays empty before it goes. Default: `10m`. */
    readonly consolidateAfter?: string;
    /** Node lifetime before replacement. Default: `720h` (Karpenter's own default). */
    readonly expireAfter?: string;
    /** Root volume of GPU nodes, GiB (images of CUDA model servers are large). Default: 100. */
    readonly rootVolumeGiB?: number;
    /** EKS AMI release alias. Default: `karpenterPins.amiAlias`. */
    readonly amiAlias?: string;
    /** The CPU burst pool; undefined: none. Default: none. */
    readonly cpuBurst?: CpuBurstPoolArgs;
    /** Tags on everything Karpenter creates for these pools (instances, volumes, launch templates). Default: none. */
    readonly tags?: Record<string, string>;
    /** How long destroy waits for the pools' instances to go. Default: 1200 s. */
    readonly drainTimeoutSeconds?: number;
}

/** Every problem with `args`, one line each (empty when valid). */
export function gpuNodePoolProblems(args: GpuNodePoolArgs): string[] {
    const problems: string[] = [];
    const families = args.instanceFamilies ?? gpuPoolDefaults.instanceFamilies;
    const maxGpus = args.maxGpus ?? gpuPoolDefaults.maxGpus;
    const familyProblems = (key: string, list: readonly string[], known: readonly string[]) => {
        if (list.length === 0 || list.length > 10) problems.push(`${key}: name 1 to 10 instance families (got ${list.length})`);
        for (const f of list) if (!known.includes(f)) problems.push(`${key}: unknown or unsuitable instance family '${f}' (known: ${known.join(", ")})`);
        if (new Set(list).size !== list.length) problems.push(`${key}: lists a family twice`);
    };
    familyProblems("instanceFamilies", families, gpuInstanceFamilies);
    if (!Number.isInteger(maxGpus) || maxGpus < 1 || maxGpus > 512) problems.push(`maxGpus: ${maxGpus} is not an integer from 1 to 512`);
    const maxVcpus = args.maxVcpus ?? maxGpus * gpuPoolDefaults.vcpusPerGpu;
    // The smallest NVIDIA size of these families has 4 vCPUs per GPU (g4dn/g5/g6/g6e .xlarge).
    if (!Number.isInteger(maxVcpus) || maxVcpus < 4 * maxGpus || maxVcpus > 100000) {
        problems.push(`maxVcpus: ${maxVcpus} must be an integer from ${4 * maxGpus} (4 per GPU, the smallest GPU sizes) to 100000`);
    }
    const consolidateAfter = args.consolidateAfter ?? gpuPoolDefaults.consolidateAfter;
    const after = durationSeconds(consolidateAfter);
    if (after === undefined || after > 86400) problems.push(`consolidateAfter: '${consolidateAfter}' must be a duration like 30s, 10m or 1h (at most 24h)`);
    const expireAfter = args.expireAfter ?? gpuPoolDefaults.expireAfter;
    const expire = durationSeconds(expireAfter);
    if (expire === undefined || expire < 3600) problems.push(`expireAfter: '${expireAfter}' must be a duration of at least 1h`);
    const rootVolumeGiB = args.rootVolumeGiB ?? gpuPoolDefaults.rootVolumeGiB;
    if (!Number.isInteger(rootVolumeGiB) || rootVolumeGiB < 50 || rootVolumeGiB > 16384) {
        problems.push(`rootVolumeGiB: ${rootVolumeGiB} must be an integer from 50 (CUDA images) to 16384`);
    }
    const alias = amiAliasProblem(args.amiAlias ?? karpenterPins.amiAlias);
    if (alias) problems.push(`amiAlias: ${alias}`);
    for (const key of Object.keys(args.tags ?? {})) {
        if (restrictedTagPatterns.some((p) => p.test(key))) problems.push(`tags: '${key}' is a tag Karpenter sets itself`);
    }
    if (args.cpuBurst) {
        const burst = args.cpuBurst;
        familyProblems("cpuBurst.instanceFamilies", burst.instanceFamilies ?? gpuPoolDefaults.cpuBurst.instanceFamilies, x86CpuInstanceFamilies);
        const v = burst.maxVcpus ?? gpuPoolDefaults.cpuBurst.maxVcpus;
        if (!Number.isInteger(v) || v < 2 || v > 100000) problems.push(`cpuBurst.maxVcpus: ${v} is not an integer from 2 to 100000`);
        const disk = burst.rootVolumeGiB ?? gpuPoolDefaults.cpuBurst.rootVolumeGiB;
        if (!Number.isInteger(disk) || disk < 20 || disk > 16384) problems.push(`cpuBurst.rootVolumeGiB: ${disk} is not an integer from 20 to 16384`);
    }
    const timeout = args.drainTimeoutSeconds ?? 1200;
    if (!Number.isInteger(timeout) || timeout < 60 || timeout > 3600) problems.push(`drainTimeoutSeconds: ${timeout} is not an integer from 60 to 3600`);
    return problems;
}

/** The GPU NodePool, its EC2NodeClass, the optional CPU burst pool and the drain gate. */
export class GpuNodePool extends pulumi.ComponentResource {
    public readonly nodeClass: k8s.apiextensions.CustomResource;
    public readonly nodePool: k8s.apiextensions.CustomResource;
    public readonly cpuBurstNodeClass: k8s.apiextensions.CustomResource | undefined;
    public readonly cpuBurstNodePool: k8s.apiextensions.CustomResource | undefined;
    /** Deleted after the pools and before the controller: waits until no instance of the pools is left. */
    public readonly drainGate: DeletionGate;
    /** Names of the NodePools (the `karpenter.sh/nodepool` tag on their instances). */
    public readonly poolNames: readonly string[];

    constructor(name: string, args: GpuNodePoolArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = gpuNodePoolProblems(args);
        if (problems.length > 0) throw new Error(`GpuNodePool ${name}: ${problems.join("; ")}`);
        super("inference-platform:aws:GpuNodePool", name, {}, opts);
        const maxGpus = args.maxGpus ?? gpuPoolDefaults.maxGpus;
        const spot = args.spot ?? true;
        const consolidateAfter = args.consolidateAfter ?? gpuPoolDefaults.consolidateAfter;
        const expireAfter = args.expireAfter ?? gpuPoolDefaults.expireAfter;
        const amiAlias = args.amiAlias ?? karpenterPins.amiAlias;
        const tags = args.tags ?? {};
        this.poolNames = args.cpuBurst ? [gpuNodePoolName, cpuBurstNodePoolName] : [gpuNodePoolName];

        this.drainGate = new DeletionGate(
            `${name}-instances-terminated`,
            {
                region: args.region,
                profile: args.awsProfile,
                // The tags every instance Karpenter launches carries (pkg/utils/utils.go `GetTags`); its own
                // listing filters the same way (pkg/providers/instance/instance.go `DefaultProvider.List`).
                condition: pulumi.output(args.clusterName).apply((clusterName) => ({
                    kind: "instances-terminated" as const,
                    tagKey: "eks:eks-cluster-name",
                    tagValue: clusterName,
                    alsoTagged: [{ key: "karpenter.sh/nodepool", values: [...this.poolNames] }],
                })),
                timeoutSeconds: args.drainTimeoutSeconds ?? 1200,
            },
            { parent: this, dependsOn: [args.controller, ...(args.nodeIdentity ?? [])] },
        );

        // Deleting a NodeClass or NodePool waits for Karpenter's finalizers (drain, terminate, delete the
        // instance profile and launch templates): longer than the provider's default.
        const k8sOpts = (dependsOn: pulumi.Resource[]): pulumi.CustomResourceOptions => ({
            parent: this,
            dependsOn: [args.controller, this.drainGate, ...dependsOn],
            customTimeouts: { create: "10m", update: "10m", delete: "30m" },
        });
        const nodeClass = (className: string, rootVolumeGiB: number, node: Pick<NodeClassInput, "rootVolumePerformance" | "userData"> = {}) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${className}-nodeclass`,
                ec2NodeClassManifest<pulumi.Input<string>>({
                    name: className,
                    clusterName: args.clusterName,
                    nodeRoleName: args.nodeRoleName,
                    amiAlias,
                    rootVolumeGiB,
                    ...node,
                    tags,
                }) as k8s.apiextensions.CustomResourceArgs,
                k8sOpts([]),
            );

        // GPU nodes start cold for every scale-up: the same fast root volume and SOCI parallel pull as
        // the managed GPU node group's launch template (./gpuNodeBoot.ts says why).
        this.nodeClass = nodeClass(gpuNodePoolName, args.rootVolumeGiB ?? gpuPoolDefaults.rootVolumeGiB, {
            rootVolumePerformance: gpuRootVolumePerformance,
            userData: gpuNodeUserData(),
        });
        this.nodePool = new k8s.apiextensions.CustomResource(
            `${name}-gpu-nodepool`,
            gpuNodePoolManifest({
                nodeClassName: gpuNodePoolName,
                instanceFamilies: args.instanceFamilies ?? gpuPoolDefaults.instanceFamilies,
                spot,
                maxGpus,
                maxVcpus: args.maxVcpus ?? maxGpus * gpuPoolDefaults.vcpusPerGpu,
                consolidateAfter,
                expireAfter,
            }) as k8s.apiextensions.CustomResourceArgs,
            k8sOpts([this.nodeClass]),
        );

        if (args.cpuBurst) {
            const burst = args.cpuBurst;
            this.cpuBurstNodeClass = nodeClass(cpuBurstNodePoolName, burst.rootVolumeGiB ?? gpuPoolDefaults.cpuBurst.rootVolumeGiB);
            this.cpuBurstNodePool = new k8s.apiextensions.CustomResource(
                `${name}-cpu-burst-nodepool`,
                cpuBurstNodePoolManifest({
                    nodeClassName: cpuBurstNodePoolName,
                    instanceFamilies: burst.instanceFamilies ?? gpuPoolDefaults.cpuBurst.instanceFamilies,
                    spot,
                    maxVcpus: burst.maxVcpus ?? gpuPoolDefaults.cpuBurst.maxVcpus,
                    consolidateAfter,
                    expireAfter,
                }) as k8s.apiextensions.CustomResourceArgs,
                k8sOpts([this.cpuBurstNodeClass]),
            );
        }

        this.registerOutputs({ poolNames: this.poolNames });
    }
}
