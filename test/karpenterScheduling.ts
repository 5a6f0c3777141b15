/**
 * Test helper: would Karpenter launch a node of this NodePool for this pending pod? A small model of
 * what Karpenter checks before it picks a NodePool for a pod, read at the core library the pinned
 * provider builds with (kubernetes-sigs/karpenter 6e7eab7a0f48, the `sigs.k8s.io/karpenter` version in
 * aws/karpenter-provider-aws v1.14.1's go.mod):
 *
 * - taints: every taint of `spec.template.spec.taints` must be tolerated
 *   (pkg/scheduling/taints.go `Taints.ToleratesPod`, called from
 *   pkg/controllers/provisioning/scheduling/nodeclaim.go `NodeClaim.CanAdd`);
 * - labels: the pool's requirements are `spec.template.spec.requirements` plus the template labels
 *   plus `karpenter.sh/nodepool` (nodeclaimtemplate.go `NewNodeClaimTemplate`); the pod's are its
 *   nodeSelector and required node affinity (pkg/scheduling/requirements.go `NewPodRequirements`).
 *   A pod key the pool does not define fails unless it is a well-known label (Karpenter fills those
 *   from the instance type) or the pod's operator is NotIn/DoesNotExist; keys both define must
 *   intersect (requirements.go `Requirements.Compatible` with `AllowUndefinedWellKnownLabels`,
 *   `Requirements.Intersects`);
 * - limits: the pod's requests must fit the pool's `limits` (scheduler.go `remainingResources`).
 *
 * Only the operators the stack's objects use are modelled (In, NotIn, Exists, DoesNotExist).
 */
import { quantityValue } from "./quantity";

/** Well-known labels: core (pkg/apis/v1/labels.go `WellKnownLabels`) and the AWS provider's additions (pkg/apis/v1/labels.go `init`). */
export const wellKnownLabels = new Set([
    "karpenter.sh/nodepool",
    "topology.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "node.kubernetes.io/instance-type",
    "kubernetes.io/arch",
    "kubernetes.io/os",
    "karpenter.sh/capacity-type",
    "node.kubernetes.io/windows-build",
    ...[
        "capacity-reservation-id", "capacity-reservation-type", "capacity-reservation-interruptible", "instance-hypervisor",
        "instance-encryption-in-transit-supported", "instance-category", "instance-capability-flex", "instance-family",
        "instance-generation", "instance-size", "instance-local-nvme", "instance-cpu", "instance-cpu-manufacturer",
        "instance-cpu-sustained-clock-speed-mhz", "instance-memory", "instance-ebs-bandwidth", "instance-network-bandwidth",
        "instance-gpu-name", "instance-gpu-manufacturer", "instance-gpu-count", "instance-gpu-memory", "instance-accelerator-name",
        "instance-accelerator-manufacturer", "instance-accelerator-count", "instance-tenancy", "placement-group-id", "placement-group-partition",
    ].map((l) => `karpenter.k8s.aws/${l}`),
    "topology.k8s.aws/zone-id",
]);

interface Requirement {
    readonly key: string;
    readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    readonly values?: readonly string[];
}
interface Taint {
    readonly key: string;
    readonly value?: string;
    readonly effect: string;
}
interface Toleration {
    readonly key?: string;
    readonly operator?: string;
    readonly value?: string;
    readonly effect?: string;
}

/** The pod fields Karpenter schedules by. */
export interface PendingPod {
    readonly nodeSelector?: Readonly<Record<string, string>>;
    readonly affinity?: { readonly nodeAffinity?: { readonly requiredDuringSchedulingIgnoredDuringExecution?: { readonly nodeSelectorTerms: readonly { readonly matchExpressions?: readonly Requirement[] }[] } } };
    readonly tolerations?: readonly Toleration[];
    /** Summed container requests (limits where an extended resource is only in limits). */
    readonly requests?: Readonly<Record<string, string>>;
}

/** Kubernetes toleration semantics (k8s.io/api core/v1 `Toleration.ToleratesTaint`). */
function tolerates(t: Toleration, taint: Taint): boolean {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.key === undefined || t.key === "") return t.operator === "Exists";
    if (t.key !== taint.key) return false;
    return t.operator === "Exists" || (t.value ?? "") === (taint.value ?? "");
}

/** `true`/values a requirement allows, as a predicate over a label value (undefined: label absent). */
function allows(r: Requirement, value: string | undefined): boolean {
    switch (r.operator) {
        case "In":
            return value !== undefined && (r.values ?? []).includes(value);
        case "NotIn":
            return value === undefined || !(r.values ?? []).includes(value);
        case "Exists":
            return value !== undefined;
        case "DoesNotExist":
            return value === undefined;
    }
}

function intersects(a: Requirement, b: Requirement): boolean {
    // Candidate label values: every value either side names, a value neither names, and absence.
    const candidates: (string | undefined)[] = [...(a.values ?? []), ...(b.values ?? []), "\u0000other", undefined];
    return candidates.some((v) => allows(a, v) && allows(b, v));
}

/** Why Karpenter would not launch a node of `nodePool` for `pod`; empty when it would. */
export function whyNotSchedulable(pod: PendingPod, nodePool: Record<string, any>): string[] {
    const reasons: string[] = [];
    const template = nodePool.spec.template;
    for (const taint of (template.spec.taints ?? []) as Taint[]) {
        if (!(pod.tolerations ?? []).some((t) => tolerates(t, taint))) reasons.push(`does not tolerate taint ${taint.key}=${taint.value ?? ""}:${taint.effect}`);
    }
    const poolRequirements: Requirement[] = [
        ...(template.spec.requirements as Requirement[]),
        ...Object.entries((template.metadata?.labels ?? {}) as Record<string, string>).map(([key, value]) => ({ key, operator: "In" as const, values: [value] })),
        { key: "karpenter.sh/nodepool", operator: "In", values: [nodePool.metadata.name] },
    ];
    const podRequirements: Requirement[] = [
        ...Object.entries(pod.nodeSelector ?? {}).map(([key, value]) => ({ key, operator: "In" as const, values: [value] })),
        ...(pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]?.matchExpressions ?? []),
    ];
    for (const r of podRequirements) {
        const defined = poolRequirements.filter((p) => p.key === r.key);
        if (defined.length === 0) {
            if (!wellKnownLabels.has(r.key) && r.operator !== "NotIn" && r.operator !== "DoesNotExist") reasons.push(`label "${r.key}" does not have known values`);
            continue;
        }
        for (const p of defined) if (!intersects(p, r)) reasons.push(`key ${r.key}: ${r.operator} ${JSON.stringify(r.values ?? [])} not in ${p.operator} ${JSON.stringify(p.values ?? [])}`);
    }
    for (const [resource, limit] of Object.entries((nodePool.spec.limits ?? {}) as Record<string, string>)) {
        const requested = pod.requests?.[resource];
        if (requested !== undefined && quantityValue(requested) > quantityValue(limit)) reasons.push(`requests ${resource} ${requested} above the pool's limit ${limit}`);
    }
    return reasons;
}

/** A pod spec's scheduling fields, with extended resources taken from limits as Kubernetes defaults requests to limits. */
export function pendingPodOf(spec: Record<string, any>): PendingPod {
    const requests: Record<string, number> = {};
    for (const c of (spec.containers ?? []) as Record<string, any>[]) {
        const limits = c.resources?.limits ?? {};
        const reqs = { ...Object.fromEntries(Object.entries(limits).filter(([k]) => k.includes("/"))), ...(c.resources?.requests ?? {}) };
        for (const [k, v] of Object.entries(reqs)) requests[k] = (requests[k] ?? 0) + quantityValue(String(v));
    }
    return {
        nodeSelector: spec.nodeSelector,
        affinity: spec.affinity,
        tolerations: spec.tolerations,
        requests: Object.fromEntries(Object.entries(requests).map(([k, v]) => [k, String(v)])),
    };
}
