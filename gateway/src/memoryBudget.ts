import { unavailable } from "./errors";

/**
 * A budget of memory shared by everything in flight in this process, in units its user chooses.
 * server.ts keeps two: decoded pixels (an image holds `decodeCost` of it from just before its decode
 * until its pixels are resized and freed, so decoded images never exceed `capacity` × 3 bytes) and
 * downloaded bytes (download.ts, `createDownloadBudget`). A request larger than the whole budget runs
 * alone. Waiters are served first come, first served; when `maxWaiting` are already waiting the next
 * request is refused at once with 503 and Retry-After, and a waiter whose request is aborted
 * (deadline, client gone) leaves the queue.
 */
export class MemoryBudget {
    private inUse = 0;
    private readonly waiting: { cost: number; grant: () => void }[] = [];

    constructor(
        readonly capacity: number,
        readonly maxWaiting: number,
        /** The 503's error code and what is busy, for a budget of something else than decoded pixels. */
        private readonly exhausted: { readonly code: string; readonly busy: string } = { code: "decode_budget_exhausted", busy: "too many large images are being decoded" },
    ) {
        if (!(capacity >= 1) || !(maxWaiting >= 0)) throw new Error("budget needs capacity >= 1 and maxWaiting >= 0");
    }

    get used(): number {
        return this.inUse;
    }

    get queued(): number {
        return this.waiting.length;
    }

    /** Waits for `cost` units; resolves with the function that gives them back (call it once). */
    async acquire(cost: number, signal?: AbortSignal): Promise<() => void> {
        const take = Math.min(Math.max(0, cost), this.capacity);
        let released = false;
        const release = () => {
            if (released) return;
            released = true;
            this.inUse -= take;
            this.admit();
        };
        if (this.waiting.length === 0 && this.inUse + take <= this.capacity) {
            this.inUse += take;
            return release;
        }
        if (this.waiting.length >= this.maxWaiting) {
            throw unavailable(this.exhausted.code, `${this.exhausted.busy} (${this.waiting.length} waiting); retry shortly`, 1);
        }
        signal?.throwIfAborted();
        await new Promise<void>((resolve, reject) => {
            const entry = {
                cost: take,
                grant: () => {
                    signal?.removeEventListener("abort", onAbort);
                    resolve();
                },
            };
            const onAbort = () => {
                const i = this.waiting.indexOf(entry);
                if (i >= 0) this.waiting.splice(i, 1);
                this.admit();
                reject(signal!.reason);
            };
            signal?.addEventListener("abort", onAbort, { once: true });
            this.waiting.push(entry);
        });
        return release;
    }

    private admit(): void {
        while (this.waiting.length > 0 && this.inUse + this.waiting[0].cost <= this.capacity) {
            const next = this.waiting.shift()!;
            this.inUse += next.cost;
            next.grant();
        }
    }
}
