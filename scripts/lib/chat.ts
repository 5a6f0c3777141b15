/**
 * Chat with an OpenAI-compatible model (the `llm` example, KServe's Hugging Face runtime on vLLM):
 * one streamed `/openai/v1/chat/completions` request, printed token by token, with time to first
 * token and tokens per second.
 *
 * A model scaled to zero answers only after its cold start (minutes on a GPU node that does not
 * exist yet). Knative's activator holds the request meanwhile, so the client sees nothing; this
 * module says so ("waking up", the elapsed time, and the pod's phase when it can read the cluster)
 * instead of timing out blindly. A 502/503/504 before the answer starts (a route or revision still
 * being set up) is retried until the same deadline.
 *
 * The wire format is OpenAI's server-sent events: `data: <chat.completion.chunk JSON>` events, ending
 * with `data: [DONE]`; with `stream_options.include_usage` the last chunk carries `usage`. An error
 * after the stream started arrives as an event with an `error` member (vLLM's serving_chat.py
 * `create_streaming_error_response`); it ends the answer with a clear message, keeping what was printed.
 */
import * as http from "node:http";
import * as https from "node:https";
import { connectionTarget, excerpt, NetworkError, UserError } from "./http";
import { sleep } from "./kube";

/** What the user asked for. */
export interface ChatRequest {
    /** Served model name (KServe's Hugging Face runtime serves the InferenceService's name). */
    readonly model: string;
    readonly prompt: string;
    readonly system?: string;
    /** Default: the server's (vLLM: up to the context length). */
    readonly maxTokens?: number;
    readonly temperature?: number;
}

/** The request body: messages, streaming with usage in the last chunk. */
export function chatBody(request: ChatRequest, stream = true): Record<string, unknown> {
    const messages = [
        ...(request.system !== undefined ? [{ role: "system", content: request.system }] : []),
        { role: "user", content: request.prompt },
    ];
    return {
        model: request.model,
        messages,
        ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    };
}

/**
 * Incremental parser of a `text/event-stream` body (WHATWG HTML, "Server-sent events"): lines end in
 * LF, CRLF or CR; `data:` lines of one event are joined with LF; a blank line ends the event;
 * lines starting with `:` are comments. Only the data of each event is returned.
 */
export class SseParser {
    private buffer = "";
    private data: string[] = [];

    /** Feeds text; returns the data of every event it completed. */
    push(text: string): string[] {
        this.buffer += text;
        const events: string[] = [];
        for (;;) {
            const match = /\r\n|\n|\r/.exec(this.buffer);
            // A lone CR at the end may be the first half of CRLF: wait for more.
            if (!match || (match[0] === "\r" && match.index === this.buffer.length - 1)) break;
            const line = this.buffer.slice(0, match.index);
            this.buffer = this.buffer.slice(match.index + match[0].length);
            if (line === "") {
                if (this.data.length > 0) events.push(this.data.join("\n"));
                this.data = [];
            } else if (!line.startsWith(":")) {
                const colon = line.indexOf(":");
                const field = colon === -1 ? line : line.slice(0, colon);
                let value = colon === -1 ? "" : line.slice(colon + 1);
                if (value.startsWith(" ")) value = value.slice(1);
                if (field === "data") this.data.push(value);
            }
        }
        return events;
    }

    /** Text left that did not end an event (a truncated stream). */
    get pending(): string {
        return this.buffer + this.data.join("\n");
    }
}

/** What one answer came to. */
export interface ChatResult {
    readonly content: string;
    readonly finishReason: string | undefined;
    readonly usage: { readonly prompt_tokens?: number; readonly completion_tokens?: number; readonly total_tokens?: number } | undefined;
    /** Request sent → first content token, ms. */
    readonly timeToFirstTokenMs: number | undefined;
    /** Completion tokens (the server's count when it sent usage, else the content chunks) per second after the first token. */
    readonly tokensPerSecond: number | undefined;
    readonly completionTokens: number;
    /** Request sent → [DONE], ms. */
    readonly totalMs: number;
    /** Time spent before the server started answering (cold start included), ms. */
    readonly waitedMs: number;
    /** Attempts that got 502/503/504 before the answer started. */
    readonly retries: number;
}

/** A streamed HTTP response: status, headers and the body as it arrives. */
export interface StreamResponse {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: AsyncIterable<Buffer>;
    /** Stops reading (closes the connection). */
    close(): void;
}

export interface StreamRequest {
    readonly url: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: string;
    /** `host[:port]` to connect to instead of the URL's host (the Host header stays the URL's). */
    readonly connectTo?: string;
    /** Give up when the response headers take longer than this, ms (the cold start happens here). */
    readonly headersTimeoutMs: number;
    /** Once the answer streams, give up after this long without a byte, ms. */
    readonly idleTimeoutMs: number;
    readonly signal?: AbortSignal;
}

/** Opens a POST and resolves once the response headers are in; the body is read as it streams. */
export type StreamTransport = (request: StreamRequest) => Promise<StreamResponse>;

export const nodeStreamTransport: StreamTransport = (request) => {
    const { url, secure, hostname, port } = connectionTarget(request.url, request.connectTo);
    const body = Buffer.from(request.body);
    return new Promise((resolve, reject) => {
        const req = (secure ? https : http).request({
            method: "POST",
            hostname,
            port,
            path: `${url.pathname}${url.search}`,
            headers: { host: url.host, ...request.headers, "content-length": String(body.length) },
            signal: request.signal,
            timeout: request.headersTimeoutMs,
            ...(secure ? { servername: url.hostname } : {}),
        }, (res) => {
            req.setTimeout(request.idleTimeoutMs);
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
            resolve({ status: res.statusCode ?? 0, headers, body: res, close: () => req.destroy() });
        });
        req.on("timeout", () => req.destroy(Object.assign(new Error("no data in time"), { code: "ETIMEDOUT" })));
        req.on("error", (err: Error & { code?: string }) => {
            if (err.name === "AbortError") return reject(err);
            const reason = err.code === "ECONNREFUSED" ? "connection refused" : err.code === "ETIMEDOUT" ? "no answer in time" : err.message;
            reject(new NetworkError(`POST ${request.url} via ${hostname}:${port} failed: ${reason}`));
        });
        req.end(body);
    });
};

/** What the chat loop reports while it waits. */
export type ChatEvent =
    | { readonly kind: "waking"; readonly elapsedMs: number; readonly podPhase?: string; readonly lastStatus?: number }
    | { readonly kind: "token"; readonly text: string }
    | { readonly kind: "retry"; readonly status: number; readonly elapsedMs: number };

export interface ChatOptions {
    readonly url: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly connectTo?: string;
    /** Overall deadline for the answer to start (cold start included), ms. Default 30 minutes. */
    readonly deadlineMs?: number;
    /** Longest silence within a started answer, ms. Default 120 s. */
    readonly idleTimeoutMs?: number;
    /** How often to report "waking up", ms. Default 10 s. */
    readonly wakeReportMs?: number;
    /** Pause between retries of a 502/503/504, ms. Default 5 s. */
    readonly retryDelayMs?: number;
    /** The pod's phase, when the cluster can be read (e.g. `Pending: ContainerCreating`). */
    readonly podPhase?: () => Promise<string | undefined>;
    readonly transport?: StreamTransport;
    readonly clock?: () => number;
    readonly onEvent?: (event: ChatEvent) => void;
    readonly signal?: AbortSignal;
}

const retryable = new Set([502, 503, 504]);

interface Chunk {
    choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
    usage?: ChatResult["usage"] | null;
    error?: { message?: string; type?: string; code?: number } | string;
    object?: string;
    message?: string;
}

/** Streams one chat completion; throws UserError with what went wrong (and keeps what was printed). */
export async function streamChat(request: ChatRequest, options: ChatOptions): Promise<ChatResult> {
    const clock = options.clock ?? Date.now;
    const transport = options.transport ?? nodeStreamTransport;
    const deadlineMs = options.deadlineMs ?? 30 * 60_000;
    const idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
    const wakeReportMs = options.wakeReportMs ?? 10_000;
    const emit = options.onEvent ?? (() => undefined);
    const body = JSON.stringify(chatBody(request));
    const headers = { "content-type": "application/json", accept: "text/event-stream", ...(options.headers ?? {}) };
    const started = clock();
    let retries = 0;
    let lastStatus: number | undefined;

    // Reports "waking up" while nothing has come back yet.
    let answered = false;
    const stopReporting = new AbortController();
    const reporter = (async () => {
        while (!answered) {
            await sleep(wakeReportMs, stopReporting.signal).catch(() => undefined);
            if (answered) break;
            const podPhase = options.podPhase ? await options.podPhase().catch(() => undefined) : undefined;
            if (!answered) emit({ kind: "waking", elapsedMs: clock() - started, podPhase, lastStatus });
        }
    })();

    const tooLate = () =>
        new UserError(`${request.model} did not start answering within ${Math.round(deadlineMs / 1000)} s` +
            `${lastStatus ? ` (last answer: HTTP ${lastStatus})` : " (still waking up?)"}; a cold GPU start can take longer: raise --timeout or keep it warm (llmMinReplicas: 1)`);
    let response: StreamResponse;
    try {
        for (;;) {
            const remaining = deadlineMs - (clock() - started);
            if (remaining <= 0) throw tooLate();
            try {
                response = await transport({ url: options.url, headers, body, connectTo: options.connectTo, headersTimeoutMs: remaining, idleTimeoutMs, signal: options.signal });
            } catch (err) {
                if (err instanceof NetworkError && /no answer in time/.test(err.message)) throw tooLate();
                throw err;
            }
            if (retryable.has(response.status)) {
                lastStatus = response.status;
                retries++;
                response.close();
                emit({ kind: "retry", status: response.status, elapsedMs: clock() - started });
                await sleep(Math.min(options.retryDelayMs ?? 5_000, Math.max(0, deadlineMs - (clock() - started))), options.signal);
                continue;
            }
            break;
        }
    } finally {
        answered = true;
        stopReporting.abort();
    }
    await reporter;

    if (response.status < 200 || response.status >= 300) {
        let text = "";
        for await (const chunk of response.body) {
            text += chunk.toString("utf8");
            if (text.length > 4096) break;
        }
        response.close();
        const hints: Record<number, string> = {
            401: " (missing or rejected credentials: --token)",
            403: " (the ingress's authorization policy refused the request)",
            404: " (wrong model name or path? the OpenAI routes are /openai/v1/...)",
            400: " (the server rejected the request: check --max-tokens against the model's context length)",
        };
        throw new UserError(`POST ${options.url} answered HTTP ${response.status}${hints[response.status] ?? ""}: ${excerpt(text)}`);
    }
    const contentType = response.headers["content-type"] ?? "";
    const sent = started;
    const answerStarted = clock();
    const parser = new SseParser();
    let content = "";
    let finishReason: string | undefined;
    let usage: ChatResult["usage"];
    let firstTokenAt: number | undefined;
    let lastTokenAt: number | undefined;
    let chunks = 0;
    let done = false;

    const handle = (data: string) => {
        if (data === "[DONE]") {
            done = true;
            return;
        }
        let chunk: Chunk;
        try {
            chunk = JSON.parse(data) as Chunk;
        } catch {
            throw new UserError(`the server sent an event that is not JSON: ${excerpt(data, 120)}`);
        }
        if (chunk.error !== undefined || chunk.object === "error") {
            const e = chunk.error;
            const message = typeof e === "string" ? e : e?.message ?? chunk.message ?? "unknown error";
            throw new UserError(`${request.model} failed mid-answer after ${chunks} token chunk(s): ${message}`);
        }
        if (chunk.usage) usage = chunk.usage;
        for (const choice of chunk.choices ?? []) {
            const text = choice.delta?.content;
            if (typeof text === "string" && text.length > 0) {
                const now = clock();
                firstTokenAt ??= now;
                lastTokenAt = now;
                chunks++;
                content += text;
                emit({ kind: "token", text });
            }
            if (choice.finish_reason) finishReason = choice.finish_reason;
        }
    };

    if (!contentType.includes("text/event-stream")) {
        // A server that ignored `stream: true` answers one JSON completion.
        let text = "";
        for await (const chunk of response.body) text += chunk.toString("utf8");
        let parsed: any;
        try {
            parsed = JSON.parse(text);
        } catch {
            throw new UserError(`expected an event stream or JSON, got ${contentType || "no content type"}: ${excerpt(text)}`);
        }
        const message = parsed?.choices?.[0]?.message?.content;
        if (typeof message !== "string") throw new UserError(`the answer has no choices[0].message.content: ${excerpt(text)}`);
        const now = clock();
        emit({ kind: "token", text: message });
        content = message;
        firstTokenAt = now;
        lastTokenAt = now;
        finishReason = parsed.choices[0].finish_reason ?? undefined;
        usage = parsed.usage;
        chunks = 1;
        done = true;
    } else {
        try {
            for await (const chunk of response.body) {
                for (const data of parser.push(chunk.toString("utf8"))) {
                    handle(data);
                    if (done) break;
                }
                if (done) break;
            }
        } catch (err) {
            response.close();
            if (err instanceof UserError) throw err;
            throw new UserError(`the answer stream broke after ${chunks} token chunk(s): ${(err as Error).message}`);
        }
        response.close();
        if (!done) {
            throw new UserError(`the answer stream ended before [DONE] after ${chunks} token chunk(s)${parser.pending ? ` (left: ${excerpt(parser.pending, 80)})` : ""}`);
        }
    }
    const end = clock();
    const completionTokens = usage?.completion_tokens ?? chunks;
    const generationMs = firstTokenAt !== undefined && lastTokenAt !== undefined ? lastTokenAt - firstTokenAt : 0;
    return {
        content,
        finishReason,
        usage,
        timeToFirstTokenMs: firstTokenAt !== undefined ? firstTokenAt - sent : undefined,
        // The first token opens the interval: n tokens span n-1 gaps.
        tokensPerSecond: generationMs > 0 && completionTokens > 1 ? ((completionTokens - 1) * 1000) / generationMs : undefined,
        completionTokens,
        totalMs: end - sent,
        waitedMs: answerStarted - sent,
        retries,
    };
}

/** One line of statistics for stderr. */
export function formatChatStats(result: ChatResult): string {
    const parts = [
        result.timeToFirstTokenMs !== undefined ? `time to first token ${(result.timeToFirstTokenMs / 1000).toFixed(2)} s` : "no tokens",
        `${result.completionTokens} tokens`,
        result.tokensPerSecond !== undefined ? `${result.tokensPerSecond.toFixed(1)} tokens/s` : undefined,
        `total ${(result.totalMs / 1000).toFixed(2)} s`,
        result.waitedMs >= 10_000 ? `woke up in ${Math.round(result.waitedMs / 1000)} s` : undefined,
        result.finishReason ? `finish: ${result.finishReason}` : undefined,
    ];
    return parts.filter((p) => p !== undefined).join(", ");
}

/** "waking up llm: 1m05s (pod Pending: ContainerCreating)". */
export function formatWaking(model: string, event: Extract<ChatEvent, { kind: "waking" }>): string {
    const s = Math.round(event.elapsedMs / 1000);
    const elapsed = s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
    const detail = [event.podPhase ? `pod ${event.podPhase}` : undefined, event.lastStatus ? `last HTTP ${event.lastStatus}` : undefined].filter(Boolean).join("; ");
    return `waking up ${model}: ${elapsed} elapsed${detail ? ` (${detail})` : " (scaled to zero: a GPU node, the image and the model are on their way)"}`;
}

/**
 * The phase of an InferenceService's newest predictor pod from a PodList
 * (`/api/v1/namespaces/<ns>/pods?labelSelector=serving.kserve.io/inferenceservice=<name>`): the
 * phase, then the first waiting reason of an init or serving container (`PodInitializing`,
 * `ContainerCreating`, `ImagePullBackOff`...), or `Unschedulable` while no node fits yet.
 */
export function podPhaseOf(list: unknown): string | undefined {
    const items: any[] = Array.isArray((list as any)?.items) ? (list as any).items : [];
    if (items.length === 0) return "no pod yet";
    const pod = [...items].sort((a, b) => String(b?.metadata?.creationTimestamp ?? "").localeCompare(String(a?.metadata?.creationTimestamp ?? "")))[0];
    const phase = String(pod?.status?.phase ?? "Unknown");
    const unschedulable = (pod?.status?.conditions ?? []).find((c: any) => c?.type === "PodScheduled" && c?.status === "False");
    if (unschedulable) return `${phase}: ${unschedulable.reason ?? "Unschedulable"} (waiting for a GPU node)`;
    const statuses = [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? [])];
    const waiting = statuses.find((c: any) => c?.state?.waiting?.reason);
    if (waiting) return `${phase}: ${waiting.name} ${waiting.state.waiting.reason}`;
    const running = (pod?.status?.initContainerStatuses ?? []).find((c: any) => c?.state?.running);
    if (running) return `${phase}: ${running.name} running`;
    const notReady = (pod?.status?.containerStatuses ?? []).find((c: any) => c?.ready === false && c?.state?.running);
    if (notReady) return `${phase}: ${notReady.name} starting`;
    return phase;
}
