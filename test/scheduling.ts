/**
 * Test helper: the scheduler's rules for taints and node selection (kubernetes/kubernetes,
 * pkg/scheduler/framework/plugins/tainttoleration and nodeaffinity; core/v1 `Toleration.ToleratesTaint`),
 * over plain objects, so a test can ask "can this pod land on that node?" of rendered manifests.
 */
export interface Taint {
    readonly key: string;
    readonly value?: string;
    /** `NoSchedule`, `PreferNoSchedule` or `NoExecute` (the EKS API's `NO_SCHEDULE` etc. are converted). */
    readonly effect: string;
}
export interface Toleration {
    readonly key?: string;
    readonly operator?: string;
    readonly value?: string;
    readonly effect?: string;
}

/** `NO_SCHEDULE` (EKS node group API) -> `NoSchedule` (what the node carries). */
export function kubernetesEffect(effect: string): string {
    return ({ NO_SCHEDULE: "NoSchedule", PREFER_NO_SCHEDULE: "PreferNoSchedule", NO_EXECUTE: "NoExecute" } as Record<string, string>)[effect] ?? effect;
}

/** `Toleration.ToleratesTaint`: empty effect matches all; Exists matches any value; empty key with Exists matches every taint. */
export function tolerates(toleration: Toleration, taint: Taint): boolean {
    if (toleration.effect && toleration.effect !== taint.effect) return false;
    if (toleration.key && toleration.key !== taint.key) return false;
    if (!toleration.key && toleration.operator !== "Exists") return false;
    return toleration.operator === "Exists" || (toleration.value ?? "") === (taint.value ?? "");
}

/** Problems that keep a pod off a node: an untolerated NoSchedule/NoExecute taint, or a selector label the node lacks. */
export function schedulingProblems(pod: { nodeSelector?: Record<string, string>; tolerations?: Toleration[] }, node: { labels: Record<string, string>; taints: Taint[] }): string[] {
    const problems: string[] = [];
    for (const taint of node.taints) {
        if (taint.effect === "PreferNoSchedule") continue;
        if (!(pod.tolerations ?? []).some((t) => tolerates(t, taint))) problems.push(`taint ${taint.key}=${taint.value ?? ""}:${taint.effect} is not tolerated`);
    }
    for (const [key, value] of Object.entries(pod.nodeSelector ?? {})) {
        if (node.labels[key] !== value) problems.push(`nodeSelector ${key}=${value} does not match the node (${key}=${node.labels[key] ?? "<unset>"})`);
    }
    return problems;
}
