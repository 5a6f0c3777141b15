/**
 * A Kubernetes quantity as a number, for comparisons in tests: cores for CPU (`500m` → 0.5), bytes
 * for memory (`512Mi` → 536870912). Throws on a form these tests do not model (exponents, `Pi`, `E`).
 */
export function quantityValue(value: string): number {
    const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(value);
    if (!match) throw new Error(`quantity '${value}' is not modelled`);
    const scale: Record<string, number> = { "": 1, m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
    return Number(match[1]) * scale[match[2] ?? ""];
}
