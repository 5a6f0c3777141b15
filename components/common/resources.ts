/**
 * Container requests and limits: the shape every chart's `resources` value and every pod spec of
 * the platform takes, and the check that each quantity parses as Kubernetes would.
 */

/** Requests and limits of one container. */
export interface ContainerResources {
    readonly requests: { readonly cpu: string; readonly memory: string };
    readonly limits: { readonly cpu: string; readonly memory: string };
}

const quantity = /^(\d+(\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/;

/** One message per malformed quantity in `resources` (empty when all are valid). */
export function containerResourcesProblems(label: string, resources: ContainerResources): string[] {
    const problems: string[] = [];
    for (const kind of ["requests", "limits"] as const) {
        for (const key of ["cpu", "memory"] as const) {
            const value = resources?.[kind]?.[key];
            if (typeof value !== "string" || !quantity.test(value)) {
                problems.push(`${label}.${kind}.${key}: '${String(value)}' is not a Kubernetes quantity`);
            }
        }
    }
    return problems;
}
