/**
 * The synth's view of a recorded program: resources in apply (topological) order, Kubernetes steps,
 * rendered manifests. Pure functions over `Registration`s; no Pulumi runtime needed.
 */
import { plainValue, Registration } from "./synthRecorder";

export const stackType = "pulumi:pulumi:Stack";

/** Kubernetes kinds in the order Helm installs them; used only to break ties between independent objects. */
export const kindInstallOrder = [
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodDisruptionBudget", "ServiceAccount", "Secret",
    "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
    "ClusterRoleBinding", "Role", "RoleBinding", "Service", "DaemonSet", "Pod", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
];

export type KubernetesStepKind = "manifest" | "patch" | "helm" | "remote-manifests";

/** A resource the engine creates (custom resource or multi-language component), with its place in the apply order. */
export interface Step {
    /** 1-based position in the apply order of all steps. */
    readonly order: number;
    readonly registration: Registration;
    /** Step URNs this one waits for (dependencies, provider, custom parent), expanded through components. */
    readonly waitsFor: readonly string[];
    /** Set for Kubernetes objects, Helm releases and remote manifest sets. */
    readonly kubernetes?: { readonly kind: KubernetesStepKind; readonly number: number };
}

export interface Model {
    readonly registrations: readonly Registration[];
    /** Steps in apply order. */
    readonly steps: readonly Step[];
    readonly byUrn: ReadonlyMap<string, Registration>;
    /** Kubernetes steps in apply order (numbered 1..n). */
    readonly kubernetesSteps: readonly Step[];
    readonly stepByUrn: ReadonlyMap<string, Step>;
}

/** True for resources the engine (or a provider plugin) creates: custom resources and remote components. */
export function isStepNode(r: Registration): boolean {
    return r.type !== stackType && (r.custom || r.remote);
}

/** How a kubernetes:* registration is deployed, or undefined when it is not a Kubernetes step (providers, local components). */
export function kubernetesStepKind(r: Registration): KubernetesStepKind | undefined {
    if (!r.type.startsWith("kubernetes:") || !isStepNode(r)) return undefined;
    if (r.type.startsWith("kubernetes:helm.sh/")) return "helm";
    if (r.type.startsWith("kubernetes:yaml") || r.type.startsWith("kubernetes:kustomize")) return "remote-manifests";
    if (!r.custom) return undefined;
    return r.type.endsWith("Patch") ? "patch" : "manifest";
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Kind of a Kubernetes registration: the manifest's `kind`, or the type's last segment. */
export function kindOf(r: Registration): string {
    const kind = (r.inputs as { kind?: unknown }).kind;
    return typeof kind === "string" ? kind : r.type.split(":").pop()!.replace(/Patch$/, "");
}

function tieBreakRank(r: Registration): number {
    const k8s = kubernetesStepKind(r);
    if (k8s === undefined) return 0;
    if (k8s === "helm" || k8s === "remote-manifests") return 100 + kindInstallOrder.indexOf("CustomResourceDefinition");
    const rank = kindInstallOrder.indexOf(kindOf(r));
    return 100 + (rank < 0 ? kindInstallOrder.length : rank);
}

/**
 * Orders every step after everything it waits for (Kahn's algorithm; ties broken by Kubernetes kind
 * install order, then URN, so the result is independent of registration order). Throws on a cycle.
 */
export function buildModel(registrations: readonly Registration[]): Model {
    const byUrn = new Map<string, Registration>();
    const duplicates = new Set<string>();
    for (const r of registrations) {
        if (byUrn.has(r.urn)) duplicates.add(r.urn);
        byUrn.set(r.urn, r);
    }
    // The mock monitor accepts these; the engine rejects them ("Duplicate resource URN").
    if (duplicates.size > 0) throw new Error(`duplicate resource URN (two resources with one type and name): ${[...duplicates].sort().join(", ")}`);
    const children = new Map<string, string[]>();
    for (const r of registrations) {
        if (!r.parent) continue;
        const list = children.get(r.parent) ?? [];
        list.push(r.urn);
        children.set(r.parent, list);
    }
    // Depending on a component means depending on every resource under it (through nested components).
    const expandCache = new Map<string, string[]>();
    const expand = (urn: string): string[] => {
        const cached = expandCache.get(urn);
        if (cached) return cached;
        const r = byUrn.get(urn);
        let out: string[];
        if (!r) out = [];
        else if (isStepNode(r)) out = [urn];
        else out = (children.get(urn) ?? []).flatMap(expand);
        expandCache.set(urn, out);
        return out;
    };

    const nodes = registrations.filter(isStepNode);
    const waitsFor = new Map<string, string[]>();
    for (const r of nodes) {
        const direct = new Set<string>([...r.dependencies, ...Object.values(r.propertyDependencies).flat()]);
        if (r.provider) direct.add(r.provider);
        const parent = byUrn.get(r.parent);
        if (parent && isStepNode(parent)) direct.add(parent.urn);
        const deps = new Set<string>();
        for (const d of direct) for (const e of expand(d)) if (e !== r.urn) deps.add(e);
        waitsFor.set(r.urn, [...deps].sort(compare));
    }

    const remaining = new Map(nodes.map((r) => [r.urn, waitsFor.get(r.urn)!.length]));
    const dependents = new Map<string, string[]>();
    for (const [urn, deps] of waitsFor) {
        for (const d of deps) {
            const list = dependents.get(d);
            if (list) list.push(urn);
            else dependents.set(d, [urn]);
        }
    }
    const key = (urn: string) => [tieBreakRank(byUrn.get(urn)!), urn] as const;
    const before = (a: string, b: string) => {
        const [ra, ua] = key(a);
        const [rb, ub] = key(b);
        return ra !== rb ? ra - rb : compare(ua, ub);
    };
    const ready = new Heap<string>(before);
    for (const r of nodes) if (remaining.get(r.urn) === 0) ready.push(r.urn);
    const ordered: string[] = [];
    while (ready.size > 0) {
        const next = ready.pop()!;
        ordered.push(next);
        for (const d of dependents.get(next) ?? []) {
            const left = remaining.get(d)! - 1;
            remaining.set(d, left);
            if (left === 0) ready.push(d);
        }
    }
    if (ordered.length !== nodes.length) {
        const done = new Set(ordered);
        const stuck = nodes.filter((r) => !done.has(r.urn)).map((r) => r.urn);
        throw new Error(`dependency cycle among: ${stuck.slice(0, 5).join(", ")}${stuck.length > 5 ? ", ..." : ""}`);
    }

    let k8sNumber = 0;
    const steps: Step[] = ordered.map((urn, i) => {
        const registration = byUrn.get(urn)!;
        const kind = kubernetesStepKind(registration);
        return {
            order: i + 1,
            registration,
            waitsFor: waitsFor.get(urn)!,
            kubernetes: kind ? { kind, number: ++k8sNumber } : undefined,
        };
    });
    return { registrations, steps, byUrn, kubernetesSteps: steps.filter((s) => s.kubernetes), stepByUrn: new Map(steps.map((s) => [s.registration.urn, s])) };
}

/** Binary min-heap: Kahn's ready set stays O(log n) per step, so big stacks order in O(n log n). */
class Heap<T> {
    private readonly items: T[] = [];
    constructor(private readonly less: (a: T, b: T) => number) {}
    get size(): number {
        return this.items.length;
    }
    push(item: T): void {
        const a = this.items;
        a.push(item);
        for (let i = a.length - 1; i > 0; ) {
            const p = (i - 1) >> 1;
            if (this.less(a[i], a[p]) >= 0) break;
            [a[i], a[p]] = [a[p], a[i]];
            i = p;
        }
    }
    pop(): T | undefined {
        const a = this.items;
        if (a.length === 0) return undefined;
        const top = a[0];
        const last = a.pop()!;
        if (a.length > 0) {
            a[0] = last;
            for (let i = 0; ; ) {
                const l = 2 * i + 1;
                const r = l + 1;
                let m = i;
                if (l < a.length && this.less(a[l], a[m]) < 0) m = l;
                if (r < a.length && this.less(a[r], a[m]) < 0) m = r;
                if (m === i) break;
                [a[i], a[m]] = [a[m], a[i]];
                i = m;
            }
        }
        return top;
    }
}

/** Recursively sorted copy (object keys), for byte-stable JSON and YAML. */
export function sortKeys(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(sortKeys);
    if (value && typeof value === "object") {
        return Object.fromEntries(
            Object.keys(value as object)
                .sort(compare)
                .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
                .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
        );
    }
    return value;
}

/** JSON with sorted keys, two-space indent and a final newline. */
export function stableJson(value: unknown): string {
    return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

const base64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/**
 * The manifest a Kubernetes custom resource stands for: `apiVersion`, `kind`, `metadata`, then the
 * other inputs (keys sorted). Auto-named objects get the mock's marked name; secrets show `<secret>`
 * (base64-encoded inside a Secret's `data`, which must stay base64).
 */
export function renderManifest(r: Registration): Record<string, unknown> {
    const inputs = plainValue(r.inputs) as Record<string, unknown>;
    const state = plainValue(r.state) as Record<string, unknown>;
    const { apiVersion, kind, metadata, ...rest } = inputs;
    const meta = { ...((metadata as Record<string, unknown>) ?? {}) };
    const stateMeta = (state.metadata as Record<string, unknown>) ?? {};
    if (meta.name === undefined && meta.generateName === undefined && stateMeta.name !== undefined) meta.name = stateMeta.name;
    const body = sortKeys(rest) as Record<string, unknown>;
    if (kind === "Secret" && body.data && typeof body.data === "object") {
        body.data = Object.fromEntries(
            Object.entries(body.data as Record<string, unknown>).map(([k, v]) => [k, typeof v === "string" && /^<[^<>]+>$/.test(v) ? base64(v) : v]),
        );
    }
    return { apiVersion, kind: kind ?? kindOf(r), metadata: sortKeys(meta), ...body };
}

/** `007-deployment-models-minio.yaml` */
export function manifestFileName(step: Step, manifest: Record<string, unknown>): string {
    const meta = (manifest.metadata ?? {}) as { name?: string; namespace?: string };
    const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9.-]+/g, "-").replace(/^-+|-+$/g, "");
    const parts = [
        String(step.kubernetes!.number).padStart(3, "0"),
        clean(String(manifest.kind ?? "object")),
        meta.namespace ? clean(String(meta.namespace)) : undefined,
        clean(String(meta.name ?? step.registration.name)),
        step.kubernetes!.kind === "patch" ? "patch" : undefined,
    ].filter((p): p is string => p !== undefined && p !== "");
    return `${parts.join("-")}.yaml`;
}
