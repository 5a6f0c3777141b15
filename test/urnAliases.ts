/**
 * Test helper: the former URNs under which the engine will look a resource up, as Pulumi computes
 * them: the resource's own `aliases`, plus, for each former URN of its parent, the URN the resource
 * would have had under that parent, with the parent's name prefix swapped in its name
 * (pulumi/pulumi, pkg/resource/deploy/step_generator.go `inheritedChildAlias`: a child named
 * `<parent name>-x` under a parent formerly named `old` was `old-x`).
 */

/** A registered resource, as `npm run synth` writes it to resources.json. */
export interface UrnRecord {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly parent?: string;
    readonly aliases?: readonly string[];
}

interface ParsedUrn {
    readonly prefix: string; // urn:pulumi:<stack>::<project>::
    readonly qualifiedType: string;
    readonly name: string;
}

export function parseUrn(urn: string): ParsedUrn {
    const m = /^(urn:pulumi:[^:]+::[^:]+::)(.+?)::(.*)$/.exec(urn);
    if (!m) throw new Error(`not a URN: ${urn}`);
    return { prefix: m[1], qualifiedType: m[2], name: m[3] };
}

/**
 * The URN the engine gives `record`: its type qualified by every ancestor's type, the stack's
 * excepted (pulumi/pulumi sdk/go/common/resource/urn.go `NewURN`). Pulumi's mock runtime makes
 * simpler URNs (only the parent's type, the stack's included), so records from `npm run synth` are
 * re-derived from their parent links.
 */
export function engineUrn(record: UrnRecord, byUrn: ReadonlyMap<string, UrnRecord>): string {
    const { prefix } = parseUrn(record.urn);
    const qualified = (r: UrnRecord): string => {
        const parent = r.parent ? byUrn.get(r.parent) : undefined;
        return parent && parent.type !== "pulumi:pulumi:Stack" ? `${qualified(parent)}$${r.type}` : r.type;
    };
    return `${prefix}${qualified(record)}::${record.name}`;
}

/** Every engine URN `record` matches in an existing stack (its own URN first). */
export function formerUrns(record: UrnRecord, byUrn: ReadonlyMap<string, UrnRecord>, memo = new Map<string, string[]>()): string[] {
    const cached = memo.get(record.urn);
    if (cached) return cached;
    const own = engineUrn(record, byUrn);
    const result = new Set<string>([own, ...(record.aliases ?? [])]);
    const parent = record.parent ? byUrn.get(record.parent) : undefined;
    if (parent && parent.type !== "pulumi:pulumi:Stack") {
        const parentOwn = engineUrn(parent, byUrn);
        for (const parentUrn of formerUrns(parent, byUrn, memo)) {
            if (parentUrn === parentOwn) continue;
            const p = parseUrn(parentUrn);
            const name = record.name.startsWith(parent.name) ? p.name + record.name.slice(parent.name.length) : record.name;
            result.add(`${p.prefix}${p.qualifiedType}$${record.type}::${name}`);
        }
    }
    const list = [...result];
    memo.set(record.urn, list);
    return list;
}

/** Engine URNs of every record of a synth (for a fixture of what an older version deployed). */
export function engineUrns(records: readonly UrnRecord[]): string[] {
    const byUrn = new Map(records.map((r) => [r.urn, r]));
    return records.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => engineUrn(r, byUrn));
}

/** Maps each old engine URN to the new record that adopts it; lists old URNs nothing adopts and ones adopted twice. */
export function adoption(oldUrns: readonly string[], records: readonly UrnRecord[]) {
    const byUrn = new Map(records.map((r) => [r.urn, r]));
    const memo = new Map<string, string[]>();
    const claims = new Map<string, string[]>();
    for (const r of records) {
        for (const former of formerUrns(r, byUrn, memo)) claims.set(former, [...(claims.get(former) ?? []), r.urn]);
    }
    const adoptedBy = new Map<string, string>();
    const orphaned: string[] = [];
    const contested: string[] = [];
    for (const old of oldUrns) {
        const by = claims.get(old) ?? [];
        if (by.length === 0) orphaned.push(old);
        else if (by.length > 1) contested.push(`${old} <- ${by.join(", ")}`);
        else adoptedBy.set(old, by[0]);
    }
    return { adoptedBy, orphaned, contested };
}
