/**
 * Which contract holds each IAM role of a rendered stack. A role is found from its consumer (the
 * ServiceAccount a workload or chart runs as, then the role that account is annotated with), so a
 * contract checks the wiring as well as the policy. A role that no contract covers, and that is not
 * listed with a reason in `managedPolicyRoles`, fails the stack test.
 */
import type { AccessContract } from "../contract";
import type { RenderedRole, RenderedStack } from "../renderedStack";
import { clusterAutoscalerContract } from "./clusterAutoscaler";
import { karpenterContract, KarpenterContractFacts } from "./karpenter";
import { loadBalancerControllerContract } from "./loadBalancerController";
import { modelReaderContract, notModels, storageInitializerUses } from "./modelReader";
import { modelWriterContract, seedingUses } from "./modelWriter";
import { parseS3Uri } from "./s3";
import { ebsCsiDriverContract, ebsCsiDriverContractVersion } from "./ebsCsiDriver";
import { mountpointContract, mountpointContractVersion, mountpointUses } from "./mountpointS3";

export interface RoleContract {
    readonly title: string;
    readonly role: RenderedRole;
    readonly contract: AccessContract;
}

/** The single Helm release of `chart`, or undefined. */
function release(stack: RenderedStack, chart: string) {
    const found = stack.byType("kubernetes:helm.sh/v3:Release").filter((r) => String(r.inputs.chart).endsWith(chart));
    if (found.length > 1) throw new Error(`more than one release of ${chart}`);
    return found[0];
}

/** The EKS cluster's name (what EKS tags node groups' Auto Scaling groups with). */
export function eksClusterName(stack: RenderedStack): string {
    const clusters = stack.byType("eks:index:Cluster");
    if (clusters.length !== 1) throw new Error(`expected one EKS cluster, found ${clusters.length}`);
    return clusters[0].inputs.name;
}

/**
 * The client versions the contracts were read from. A pin that moves away fails here, so the new
 * version's source gets read before its contract is trusted.
 */
export const contractClientPins = {
    /** kserve-resources chart: its default storage initializer image is the chart's own version. */
    kserveChart: "v0.20.0",
    storageInitializerImage: "kserve/storage-initializer:v0.20.0",
    /** aws-load-balancer-controller chart 1.17.1 = controller v2.17.1. */
    loadBalancerControllerChart: "1.17.1",
    /** karpenter chart 1.14.1 = controller 1.14.1. */
    karpenterChart: "1.14.1",
    /** EKS add-on builds package one upstream release: `v<release>-eksbuild.<n>`. */
    ebsCsiDriver: ebsCsiDriverContractVersion,
    mountpointS3CsiDriver: mountpointContractVersion,
} as const;

/** The single EKS add-on `addonName`, or undefined. */
function addon(stack: RenderedStack, addonName: string) {
    const found = stack.byType("aws:eks/addon:Addon").filter((a) => a.inputs.addonName === addonName);
    if (found.length > 1) throw new Error(`more than one ${addonName} add-on`);
    return found[0];
}

/** Problems with the pinned clients (empty when every one is the version a contract was read from). */
export function clientPinProblems(stack: RenderedStack): string[] {
    const problems: string[] = [];
    const kserve = release(stack, "kserve-resources");
    if (kserve && kserve.inputs.version !== contractClientPins.kserveChart) problems.push(`kserve-resources ${kserve.inputs.version}: contracts read at ${contractClientPins.kserveChart}`);
    const images = [...JSON.stringify(stack.resources).matchAll(/"((?:[\w.-]+\/)*storage-initializer:[^"]+)"/g)].map((m) => m[1]);
    if (images.length === 0) problems.push("no storage-initializer image in the stack (the seeding Job and inference servers run it)");
    for (const image of new Set(images)) {
        if (image !== contractClientPins.storageInitializerImage) problems.push(`${image}: contracts read at ${contractClientPins.storageInitializerImage}`);
    }
    const lbc = release(stack, "aws-load-balancer-controller");
    if (lbc && lbc.inputs.version !== contractClientPins.loadBalancerControllerChart) problems.push(`aws-load-balancer-controller chart ${lbc.inputs.version}: contract read at ${contractClientPins.loadBalancerControllerChart}`);
    const karpenter = release(stack, "/karpenter");
    if (karpenter && karpenter.inputs.version !== contractClientPins.karpenterChart) problems.push(`karpenter chart ${karpenter.inputs.version}: contract read at ${contractClientPins.karpenterChart}`);
    for (const [addonName, release] of [["aws-ebs-csi-driver", contractClientPins.ebsCsiDriver], ["aws-mountpoint-s3-csi-driver", contractClientPins.mountpointS3CsiDriver]] as const) {
        const a = addon(stack, addonName);
        if (a && !String(a.inputs.addonVersion).startsWith(`${release}-eksbuild.`)) problems.push(`${addonName} ${a.inputs.addonVersion}: contract read at ${release}`);
    }
    return problems;
}

/**
 * The Karpenter controller's role and contract facts, from the consumer side: the chart's values (cluster,
 * queue, ServiceAccount), the GPU EC2NodeClass (node role, AMI alias, tags) and its NodePool. Undefined
 * when the stack runs no Karpenter.
 */
export function karpenterFacts(stack: RenderedStack, kubernetesVersion?: string): { role: RenderedRole; facts: KarpenterContractFacts } | undefined {
    const chart = release(stack, "/karpenter");
    if (!chart) return undefined;
    const values = chart.inputs.values;
    const role = stack.roleOfServiceAccount(chart.inputs.namespace, values.serviceAccount.name);
    const nodeClass = stack.byType("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass").find((c) => c.inputs.metadata.name === "gpu");
    const nodePool = stack.byType("kubernetes:karpenter.sh/v1:NodePool").find((p) => p.inputs.spec.template.spec.nodeClassRef.name === nodeClass?.inputs.metadata.name);
    if (!nodeClass || !nodePool) throw new Error("the karpenter chart is installed without the GPU EC2NodeClass and NodePool");
    const nodeRole = stack.roles.find((r) => r.arn.endsWith(`:role/${nodeClass.inputs.spec.role}`));
    if (!nodeRole) throw new Error(`EC2NodeClass gpu names role ${nodeClass.inputs.spec.role}, which the stack does not create`);
    // The queue is auto-named `<resource name>-<random>`; a rendered stack without outputs knows only that.
    const queueName: string = values.settings.interruptionQueue;
    const queue = stack
        .byType("aws:sqs/queue:Queue")
        .find((q) => (q.outputs?.name ?? q.inputs.name) === queueName || (q.outputs === undefined && q.inputs.name === undefined && queueName.startsWith(`${q.name}-`)));
    if (!queue) throw new Error(`settings.interruptionQueue ${values.settings.interruptionQueue} is not a queue of the stack`);
    const k8s = kubernetesVersion ?? stack.byType("eks:index:Cluster")[0]?.inputs.version;
    const release_ = /^al2023@(v\d{8})$/.exec(nodeClass.inputs.spec.amiSelectorTerms[0].alias)?.[1];
    if (!k8s || !release_) throw new Error("cannot tell the AMI parameter Karpenter reads (Kubernetes version or AL2023 alias missing)");
    return {
        role,
        facts: {
            clusterName: values.settings.clusterName,
            region: stack.region,
            accountId: stack.accountId,
            nodeRoleArn: nodeRole.arn,
            interruptionQueueArn: queue.outputs?.arn ?? `arn:aws:sqs:${stack.region}:${stack.accountId}:${values.settings.interruptionQueue}`,
            nodePool: nodePool.inputs.metadata.name,
            nodeClass: nodeClass.inputs.metadata.name,
            nodeClassTags: nodeClass.inputs.spec.tags ?? {},
            // karpenter-provider-aws v1.14.1 pkg/providers/amifamily/al2023.go `AL2023.resolvePath` (x86_64, nvidia).
            amiParameter: `/aws/service/eks/optimized-ami/${k8s}/amazon-linux-2023/x86_64/nvidia/amazon-eks-node-al2023-x86_64-nvidia-${k8s}-${release_}/image_id`,
        },
    };
}

export function roleContracts(stack: RenderedStack): RoleContract[] {
    const { accountId, region } = stack;
    const contracts: RoleContract[] = [];

    const downloads = storageInitializerUses(stack);
    const readers = new Map<RenderedRole, { uri: string; modelFormat?: string }[]>();
    for (const use of downloads) {
        if (use.uri.includes(`/${notModels.prefix}`)) throw new Error(`${use.declaredBy} downloads from ${use.uri}, which the contract treats as not a model`);
        const role = stack.roleOfServiceAccount(use.namespace, use.serviceAccount);
        readers.set(role, [...(readers.get(role) ?? []), { uri: use.uri, modelFormat: use.modelFormat }]);
    }
    for (const [role, uris] of readers) {
        const buckets = [...new Set(uris.map((u) => parseS3Uri(u.uri).bucket))];
        if (buckets.length !== 1) throw new Error(`${role.resourceName} reads from ${buckets.length} buckets`);
        contracts.push({ title: `model reader ${role.resourceName}`, role, contract: modelReaderContract({ uris, region, accountId, encryption: stack.bucketEncryption(buckets[0]) }) });
    }

    for (const use of seedingUses(stack)) {
        const role = stack.roleOfServiceAccount(use.namespace, use.serviceAccount);
        contracts.push({ title: `seeding writer ${role.resourceName}`, role, contract: modelWriterContract({ use, region, accountId, encryption: stack.bucketEncryption(use.bucket) }) });
    }

    const lbc = release(stack, "aws-load-balancer-controller");
    if (lbc) {
        const role = stack.roleOfServiceAccount(lbc.inputs.namespace, lbc.inputs.values.serviceAccount.name);
        contracts.push({ title: `load balancer controller ${role.resourceName}`, role, contract: loadBalancerControllerContract({ clusterName: lbc.inputs.values.clusterName, region, accountId }) });
    }

    const karpenter = karpenterFacts(stack);
    if (karpenter) contracts.push({ title: `karpenter controller ${karpenter.role.resourceName}`, role: karpenter.role, contract: karpenterContract(karpenter.facts) });

    const ebs = addon(stack, "aws-ebs-csi-driver");
    if (ebs) {
        const role = stack.roleOfServiceAccount("kube-system", "ebs-csi-controller-sa");
        const config = JSON.parse(ebs.inputs.configurationValues ?? "{}");
        contracts.push({
            title: `ebs csi driver ${role.resourceName}`,
            role,
            contract: ebsCsiDriverContract({ clusterName: eksClusterName(stack), region, accountId, extraVolumeTags: config.controller?.extraVolumeTags ?? {} }),
        });
    }

    if (addon(stack, "aws-mountpoint-s3-csi-driver")) {
        const role = stack.roleOfServiceAccount("kube-system", "s3-csi-driver-sa");
        for (const use of mountpointUses(stack)) {
            contracts.push({
                title: `mountpoint s3 csi driver ${role.resourceName}`,
                role,
                contract: mountpointContract({ use, region, accountId, encryption: stack.bucketEncryption(use.bucket) }),
            });
        }
    }

    const ca = release(stack, "cluster-autoscaler");
    if (ca) {
        const role = stack.roleOfServiceAccount(ca.inputs.namespace, ca.inputs.values.rbac.serviceAccount.name);
        contracts.push({
            title: `cluster autoscaler ${role.resourceName}`,
            role,
            contract: clusterAutoscalerContract({ clusterName: eksClusterName(stack), region, accountId, imageTag: ca.inputs.values.image.tag }),
        });
    }
    return contracts;
}

/**
 * Roles that carry only AWS-managed policies (no inline policy the stack renders), with why no
 * contract evaluates them: the EKS node role gets exactly the policies the Amazon EKS User Guide
 * prescribes for nodes ("Amazon EKS node IAM role"); their content is AWS's, not rendered here, so
 * only its trust policy is simulated and its attachments are pinned.
 */
export function managedPolicyRoles(stack: RenderedStack): { role: RenderedRole; why: string; expectedManagedPolicies: string[] }[] {
    return stack.roles
        .filter((r) => r.inlinePolicies.length === 0 && JSON.stringify(r.trustPolicy).includes('"ec2.amazonaws.com"'))
        .map((role) => ({
            role,
            why: "EKS node role: AWS-managed policies only",
            expectedManagedPolicies: [
                "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
                "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
            ],
        }));
}
