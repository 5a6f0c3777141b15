/**
 * Labels the platform puts on Kubernetes objects. Two sets, because two tools manage objects:
 * what Pulumi creates carries both keys; what a Helm chart renders carries only `part-of`, since
 * every chart already writes `app.kubernetes.io/managed-by: Helm` itself and repeating a key its
 * template writes produces a mapping with a duplicate key, which strict YAML readers reject
 * (test/contracts/k8sChartLabels.test.ts cites the templates).
 */

/** Labels on every object Pulumi itself creates. */
export const platformLabels = {
    "app.kubernetes.io/part-of": "inference-platform",
    "app.kubernetes.io/managed-by": "pulumi",
} as const;

/** Labels for the objects a Helm chart renders (through the chart's common-labels value, where it has one). */
export const chartLabels = { "app.kubernetes.io/part-of": "inference-platform" } as const;
