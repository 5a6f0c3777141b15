/**
 * Progress of a Pulumi operation, rendered from the engine's events (Automation API `onEvent`):
 * resources done / total, the step in flight, elapsed time. On a terminal one status line updates in
 * place; elsewhere (CI logs) each finished step is one plain line, with a heartbeat line while a
 * long step (an EKS control plane takes ~10 minutes) runs. Warnings and errors always get their own
 * lines. Pure apart from the injected writer and clock.
 */
import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";

export interface ProgressOptions {
    /** What runs: shown in messages. */
    readonly operation: "preview" | "update" | "destroy";
    /** Changing steps the preview planned (the total); more steps than that raise the total. */
    readonly plannedSteps?: number;
    /** True on a terminal: one line updated in place. */
    readonly tty: boolean;
    /** Terminal width for the status line. Default 100. */
    readonly columns?: number;
    readonly write: (text: string) => void;
    /** Milliseconds; default Date.now. */
    readonly now?: () => number;
    /** Plain mode: print a "still running" line after this long without a finished step. Default 60 s. */
    readonly heartbeatMs?: number;
}

/** Steps that change nothing; they count neither towards done nor the total. */
const unchanged = new Set<OpType>(["same", "read", "refresh"]);

/** Present participle and past tense of each operation, for messages. */
const verbs: Partial<Record<OpType, [string, string]>> = {
    create: ["creating", "created"],
    update: ["updating", "updated"],
    delete: ["deleting", "deleted"],
    replace: ["replacing", "replaced"],
    "create-replacement": ["creating replacement", "created replacement"],
    "delete-replaced": ["deleting replaced", "deleted replaced"],
    import: ["importing", "imported"],
    "import-replacement": ["importing replacement", "imported replacement"],
    discard: ["discarding", "discarded"],
    "discard-replaced": ["discarding replaced", "discarded replaced"],
    "remove-pending-replace": ["removing pending replace", "removed pending replace"],
};
const verb = (op: OpType, tense: 0 | 1) => verbs[op]?.[tense] ?? op;

/** `urn:pulumi:dev::proj::parent$aws:eks/nodeGroup:NodeGroup::cluster-cpu` → `aws:eks/nodeGroup:NodeGroup cluster-cpu`. */
export function shortUrn(urn: string): string {
    const parts = urn.split("::");
    if (parts.length < 4) return urn;
    const type = parts[2].split("$").pop()!;
    return `${type} ${parts.slice(3).join("::")}`;
}

/** `125000` → `2m05s`. */
export function formatElapsed(ms: number): string {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = String(s % 60).padStart(2, "0");
    return h > 0 ? `${h}h${String(m).padStart(2, "0")}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${s % 60}s`;
}

interface InFlight {
    readonly op: OpType;
    readonly startedAt: number;
}

export class DeployProgress {
    private readonly now: () => number;
    private readonly started: number;
    private readonly inFlight = new Map<string, InFlight>();
    private readonly seen = new Set<string>();
    private done = 0;
    private failed = 0;
    private lastProgressAt: number;
    private statusShown = false;
    private readonly printedDiagnostics = new Set<string>();
    /** Error messages the engine reported, for the final report. */
    readonly errors: string[] = [];
    /** The engine's summary (op → count), once it arrives. */
    resourceChanges?: Record<string, number>;

    constructor(private readonly options: ProgressOptions) {
        this.now = options.now ?? Date.now;
        this.started = this.now();
        this.lastProgressAt = this.started;
    }

    /** Resources done, and the total as far as known. */
    get counts(): { done: number; failed: number; total: number } {
        return { done: this.done, failed: this.failed, total: Math.max(this.options.plannedSteps ?? 0, this.seen.size) };
    }

    onEvent(event: EngineEvent): void {
        const at = this.now();
        const pre = event.resourcePreEvent;
        if (pre && !unchanged.has(pre.metadata.op)) {
            this.seen.add(pre.metadata.urn);
            this.inFlight.set(pre.metadata.urn, { op: pre.metadata.op, startedAt: at });
        }
        const finished = event.resOutputsEvent?.metadata ?? event.resOpFailedEvent?.metadata;
        if (finished && !unchanged.has(finished.op)) {
            const step = this.inFlight.get(finished.urn);
            this.inFlight.delete(finished.urn);
            this.seen.add(finished.urn);
            this.lastProgressAt = at;
            if (event.resOpFailedEvent) {
                this.failed += 1;
                this.line(`failed: ${verb(finished.op, 0)} ${shortUrn(finished.urn)}`);
            } else {
                this.done += 1;
                // A preview's steps are plans, not changes: no line each (the summary follows).
                if (!this.options.tty && this.options.operation !== "preview") {
                    const took = step ? ` (${formatElapsed(at - step.startedAt)})` : "";
                    this.line(`${this.prefix(at)} ${verb(finished.op, 1)} ${shortUrn(finished.urn)}${took}`);
                }
            }
        }
        const diag = event.diagnosticEvent;
        if (diag && !diag.ephemeral && (diag.severity === "error" || diag.severity === "warning")) {
            const text = diag.message.replace(/\s+$/, "");
            const key = `${diag.severity}:${diag.urn ?? ""}:${text}`;
            if (!this.printedDiagnostics.has(key)) {
                this.printedDiagnostics.add(key);
                const where = diag.urn ? ` ${shortUrn(diag.urn)}` : "";
                if (diag.severity === "error") this.errors.push(`${where.trim() ? `${where.trim()}: ` : ""}${text}`);
                this.line(`${diag.severity}:${where}: ${text}`);
            }
        }
        const policy = event.policyEvent;
        if (policy) this.line(`policy ${policy.enforcementLevel}: ${policy.policyPackName}/${policy.policyName}${policy.resourceUrn ? ` on ${shortUrn(policy.resourceUrn)}` : ""}: ${policy.message.trim()}`);
        if (event.summaryEvent) this.resourceChanges = event.summaryEvent.resourceChanges as Record<string, number>;
        if (event.cancelEvent) this.line(`${this.options.operation} cancelled`);
        this.render();
    }

    /** Redraws the status line (terminal) or prints a heartbeat if a step has run long (plain). */
    tick(): void {
        const at = this.now();
        if (this.options.tty) {
            this.render();
            return;
        }
        if (this.inFlight.size > 0 && at - this.lastProgressAt >= (this.options.heartbeatMs ?? 60_000)) {
            this.lastProgressAt = at;
            this.line(`${this.prefix(at)} still ${this.current(at)}`);
        }
    }

    /** Clears the status line; call before printing anything else after the operation. */
    finish(): void {
        if (this.options.tty && this.statusShown) this.options.write("\r\x1b[2K");
        this.statusShown = false;
    }

    /** `[ 12/57] 3m12s` */
    private prefix(at: number): string {
        const { done, failed, total } = this.counts;
        const width = String(total).length;
        return `[${String(done + failed).padStart(width)}/${total}] ${formatElapsed(at - this.started)}`;
    }

    /** The longest-running step in flight, and how many others run with it. */
    private current(at: number): string {
        if (this.inFlight.size === 0) return "waiting for the program";
        const [urn, step] = [...this.inFlight.entries()].reduce((a, b) => (b[1].startedAt < a[1].startedAt ? b : a));
        const others = this.inFlight.size - 1;
        const doing = this.options.operation === "preview" ? `planning ${step.op}` : verb(step.op, 0);
        return `${doing} ${shortUrn(urn)} (${formatElapsed(at - step.startedAt)})${others > 0 ? ` +${others} more` : ""}`;
    }

    /** The status line: `[12/57] 3m12s creating aws:eks/... cluster-gpu (1m05s) +3 more`. */
    statusLine(): string {
        const at = this.now();
        return `${this.prefix(at)} ${this.current(at)}`;
    }

    private render(): void {
        if (!this.options.tty) return;
        const columns = this.options.columns ?? 100;
        const text = this.statusLine();
        this.options.write(`\r\x1b[2K${text.length > columns - 1 ? `${text.slice(0, columns - 2)}…` : text}`);
        this.statusShown = true;
    }

    private line(text: string): void {
        if (this.options.tty && this.statusShown) this.options.write("\r\x1b[2K");
        this.statusShown = false;
        this.options.write(`${text}\n`);
    }
}

/** `{ create: 3, same: 40 }` → `3 to create, 40 unchanged` (preview) or `3 created, 40 unchanged`. */
export function describeChanges(changes: Record<string, number> | undefined, tense: "planned" | "done"): string {
    if (!changes) return "no summary";
    const order: OpType[] = ["create", "update", "replace", "delete", "create-replacement", "delete-replaced", "import", "same"];
    const entries = Object.entries(changes).filter(([, n]) => n > 0);
    const rank = (op: string) => (order.includes(op as OpType) ? order.indexOf(op as OpType) : order.length);
    entries.sort(([a], [b]) => rank(a) - rank(b));
    if (entries.length === 0) return "no resources";
    return entries
        .map(([op, n]) => (op === "same" ? `${n} unchanged` : tense === "planned" ? `${n} to ${op.replace(/-/g, " ")}` : `${n} ${verb(op as OpType, 1)}`))
        .join(", ");
}

/** Steps that change something, from an op → count map. */
export function changingSteps(changes: Record<string, number> | undefined): number {
    return Object.entries(changes ?? {})
        .filter(([op]) => !unchanged.has(op as OpType))
        .reduce((n, [, c]) => n + c, 0);
}
