/**
 * Test helper: checks Helm values against the upstream chart's values.yaml (read from
 * ../shared/schemas through test/shared.ts).
 */
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Paths in `ours` that the chart's values.yaml does not declare. Below a key whose upstream default is
 * an empty map, null or a scalar, anything goes (free-form maps such as annotations); `freeForm` names
 * further paths whose contents are not checked (e.g. a non-empty default we replace wholesale), and
 * `extra` names keys a chart reads without declaring them in values.yaml (e.g. dependency conditions).
 */
export function undeclaredValuePaths(
    ours: Record<string, unknown>,
    upstream: Record<string, unknown>,
    options: { freeForm?: string[]; extra?: string[] } = {},
    prefix = "",
): string[] {
    const found: string[] = [];
    for (const [key, value] of Object.entries(ours)) {
        const here = prefix ? `${prefix}.${key}` : key;
        if (options.extra?.includes(here)) continue;
        if (!(key in upstream)) {
            found.push(here);
            continue;
        }
        const theirs = upstream[key];
        if (options.freeForm?.includes(here)) continue;
        if (isMap(value) && isMap(theirs) && Object.keys(theirs).length > 0) {
            found.push(...undeclaredValuePaths(value, theirs, options, here));
        }
    }
    return found;
}
