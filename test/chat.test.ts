/**
 * The streaming chat client against a local server (127.0.0.1) that speaks OpenAI's streaming
 * format: `data: <chat.completion.chunk>` events ending with `data: [DONE]`, usage in the last
 * chunk when `stream_options.include_usage` is set (OpenAI API reference, "Chat Completions:
 * streaming"; vLLM's vllm/entrypoints/openai/serving_chat.py `chat_completion_stream_generator`,
 * which also reports errors after the stream started as a `data: {"error": ...}` event).
 */
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatBody, ChatEvent, formatChatStats, formatWaking, podPhaseOf, SseParser, streamChat } from "../scripts/lib/chat";
import { UserError } from "../scripts/lib/http";
import { parsePredictArgs, runPredict } from "../scripts/lib/predict";

const chunk = (content: string | undefined, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", model: "llm", choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: null }], ...extra })}\n\n`;
const finish = (reason = "stop") => `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: reason }] })}\n\n`;
const usage = (prompt: number, completion: number) => `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } })}\n\n`;
const done = "data: [DONE]\n\n";
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("SseParser", () => {
    it("splits events on blank lines, joins multi-line data, ignores comments and other fields", () => {
        const p = new SseParser();
        expect(p.push(": keep-alive\n\nevent: message\ndata: a\ndata: b\nid: 1\n\ndata:c\n\n")).toEqual(["a\nb", "c"]);
    });
    it("handles CRLF and CR line ends and events split anywhere across chunks", () => {
        const p = new SseParser();
        const text = "data: one\r\n\r\ndata: two\r\rdata: [DONE]\n\n";
        const events: string[] = [];
        for (const ch of text) events.push(...p.push(ch));
        expect(events).toEqual(["one", "two", "[DONE]"]);
        expect(p.pending).toBe("");
    });
    it("keeps an unfinished event as pending", () => {
        const p = new SseParser();
        expect(p.push('data: {"partial"')).toEqual([]);
        expect(p.pending).toBe('data: {"partial"');
    });
});

describe("chatBody", () => {
    it("asks for a stream with usage, and adds the system message and limits only when given", () => {
        expect(chatBody({ model: "llm", prompt: "hi" })).toEqual({ model: "llm", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });
        expect(chatBody({ model: "llm", prompt: "hi", system: "be brief", maxTokens: 5, temperature: 0 })).toMatchObject({
            messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }],
            max_tokens: 5,
            temperature: 0,
        });
    });
});

describe("podPhaseOf", () => {
    it("says what the newest predictor pod is waiting for", () => {
        expect(podPhaseOf({ items: [] })).toBe("no pod yet");
        const pending = { metadata: { creationTimestamp: "2026-01-01T00:00:02Z" }, status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable" }] } };
        const old = { metadata: { creationTimestamp: "2026-01-01T00:00:01Z" }, status: { phase: "Failed" } };
        expect(podPhaseOf({ items: [old, pending] })).toBe("Pending: Unschedulable (waiting for a GPU node)");
        const pulling = { status: { phase: "Pending", initContainerStatuses: [{ name: "storage-initializer", state: { waiting: { reason: "PodInitializing" } } }], containerStatuses: [{ name: "kserve-container", state: { waiting: { reason: "ContainerCreating" } } }] } };
        expect(podPhaseOf({ items: [pulling] })).toBe("Pending: storage-initializer PodInitializing");
        const downloading = { status: { phase: "Pending", initContainerStatuses: [{ name: "storage-initializer", state: { running: {} } }] } };
        expect(podPhaseOf({ items: [downloading] })).toBe("Pending: storage-initializer running");
        const loading = { status: { phase: "Running", containerStatuses: [{ name: "kserve-container", ready: false, state: { running: {} } }] } };
        expect(podPhaseOf({ items: [loading] })).toBe("Running: kserve-container starting");
    });
});

describe("streamChat against a local OpenAI-style server", () => {
    let server: http.Server;
    let base = "";
    /** What the next request gets: a script of steps. */
    let script: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => Promise<void>;
    const bodies: unknown[] = [];
    const hosts: string[] = [];

    beforeAll(async () => {
        server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (c) => (body += c));
            req.on("end", () => {
                bodies.push(JSON.parse(body || "null"));
                hosts.push(String(req.headers.host));
                script(req, res, body).catch(() => res.destroy());
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
    });

    const sse = (res: http.ServerResponse) => res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const url = () => `${base}/openai/v1/chat/completions`;

    it("prints tokens as they arrive and measures time to first token and tokens/s from the server's usage", async () => {
        script = async (_req, res) => {
            sse(res);
            res.write(chunk(undefined, { choices: [{ index: 0, delta: { role: "assistant" }, finish_reason: null }] }));
            for (const t of ["2", " +", " 2", " is", " 4."]) {
                res.write(chunk(t));
                await wait(20);
            }
            res.write(finish());
            res.write(usage(12, 5));
            res.end(done);
        };
        const tokens: string[] = [];
        const result = await streamChat({ model: "llm", prompt: "2+2?" }, { url: url(), onEvent: (e) => e.kind === "token" && tokens.push(e.text) });
        expect(tokens).toEqual(["2", " +", " 2", " is", " 4."]);
        expect(result.content).toBe("2 + 2 is 4.");
        expect(result.finishReason).toBe("stop");
        expect(result.usage).toEqual({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
        expect(result.completionTokens).toBe(5);
        expect(result.tokensPerSecond).toBeGreaterThan(0);
        expect(formatChatStats(result)).toMatch(/time to first token \d+\.\d\d s, 5 tokens, \d+\.\d tokens\/s/);

        // With a clock that advances 100 ms per reading (start, deadline check, answer started, 5 tokens, end):
        // first token at 300 ms, last at 700 ms, so 4 tokens after the first in 0.4 s = 10 tokens/s.
        let now = 0;
        const stepped = await streamChat({ model: "llm", prompt: "2+2?" }, { url: url(), clock: () => (now += 100) - 100 });
        expect(stepped.timeToFirstTokenMs).toBe(300);
        expect(stepped.tokensPerSecond).toBe(10);
        expect(stepped.totalMs).toBe(800);
        expect(bodies.at(-1)).toMatchObject({ model: "llm", stream: true, stream_options: { include_usage: true } });
    });

    it("measures a slow first token from the request, not from the response headers", async () => {
        script = async (_req, res) => {
            sse(res);
            await wait(250);
            res.write(chunk("Hello"));
            res.write(chunk("!"));
            res.end(done);
        };
        const result = await streamChat({ model: "llm", prompt: "hi" }, { url: url() });
        expect(result.timeToFirstTokenMs!).toBeGreaterThanOrEqual(240);
        // No usage chunk: tokens counted from content chunks.
        expect(result.completionTokens).toBe(2);
    });

    it("says it is waking up (with the pod's phase) while a model at zero has not answered, then streams", async () => {
        script = async (_req, res) => {
            await wait(300);
            sse(res);
            res.write(chunk("awake"));
            res.end(done);
        };
        const events: ChatEvent[] = [];
        const result = await streamChat({ model: "llm", prompt: "hi" }, { url: url(), wakeReportMs: 60, podPhase: async () => "Pending: kserve-container ContainerCreating", onEvent: (e) => events.push(e) });
        const waking = events.filter((e) => e.kind === "waking");
        expect(waking.length).toBeGreaterThanOrEqual(2);
        expect(waking[0]).toMatchObject({ podPhase: "Pending: kserve-container ContainerCreating" });
        expect(formatWaking("llm", waking[0] as Extract<ChatEvent, { kind: "waking" }>)).toMatch(/^waking up llm: \d+s elapsed \(pod Pending: kserve-container ContainerCreating\)$/);
        expect(result.content).toBe("awake");
        expect(result.waitedMs).toBeGreaterThanOrEqual(290);
        // Reports stop once the answer started: the first token comes after the last report.
        expect(events.findIndex((e) => e.kind === "token")).toBeGreaterThan(events.findLastIndex((e) => e.kind === "waking"));
    });

    it("retries 503s while the model wakes up, then streams", async () => {
        let calls = 0;
        script = async (_req, res) => {
            calls++;
            if (calls <= 2) {
                res.writeHead(503, { "content-type": "text/plain" }).end("no healthy upstream");
                return;
            }
            sse(res);
            res.write(chunk("ok"));
            res.end(done);
        };
        const events: ChatEvent[] = [];
        const result = await streamChat({ model: "llm", prompt: "hi" }, { url: url(), retryDelayMs: 10, onEvent: (e) => events.push(e) });
        expect(result.retries).toBe(2);
        expect(events.filter((e) => e.kind === "retry").map((e) => (e as { status: number }).status)).toEqual([503, 503]);
        expect(result.content).toBe("ok");
    });

    it("gives up with a clear message when the model does not wake up before the deadline", async () => {
        script = async (_req, res) => {
            res.writeHead(503).end("no healthy upstream");
        };
        await expect(streamChat({ model: "llm", prompt: "hi" }, { url: url(), deadlineMs: 150, retryDelayMs: 20 })).rejects.toThrow(
            /llm did not start answering within 0 s \(last answer: HTTP 503\); a cold GPU start can take longer: raise --timeout/,
        );
        script = async () => {
            await wait(400);
        };
        await expect(streamChat({ model: "llm", prompt: "hi" }, { url: url(), deadlineMs: 150 })).rejects.toThrow(/did not start answering within/);
    });

    it("reports an error sent mid-stream, after the tokens already printed", async () => {
        script = async (_req, res) => {
            sse(res);
            res.write(chunk("The answer"));
            res.write(chunk(" is"));
            res.end(`data: ${JSON.stringify({ error: { object: "error", message: "CUDA out of memory", type: "InternalServerError", code: 500 } })}\n\n`);
        };
        const tokens: string[] = [];
        await expect(streamChat({ model: "llm", prompt: "hi" }, { url: url(), onEvent: (e) => e.kind === "token" && tokens.push(e.text) })).rejects.toThrow(
            /llm failed mid-answer after 2 token chunk\(s\): CUDA out of memory/,
        );
        expect(tokens).toEqual(["The answer", " is"]);
    });

    it("reports a stream cut before [DONE] and an event that is not JSON", async () => {
        script = async (_req, res) => {
            sse(res);
            res.write(chunk("half"));
            res.end('data: {"choi');
        };
        await expect(streamChat({ model: "llm", prompt: "hi" }, { url: url() })).rejects.toThrow(/ended before \[DONE\] after 1 token chunk\(s\) \(left: data: \{"choi\)/);
        script = async (_req, res) => {
            sse(res);
            res.end("data: not json\n\n");
        };
        await expect(streamChat({ model: "llm", prompt: "hi" }, { url: url() })).rejects.toThrow(/not JSON: not json/);
    });

    it("turns HTTP errors into messages with a hint", async () => {
        script = async (_req, res) => {
            res.writeHead(404, { "content-type": "application/json" }).end('{"detail":"Not Found"}');
        };
        await expect(streamChat({ model: "llm", prompt: "hi" }, { url: url() })).rejects.toThrow(/HTTP 404 \(wrong model name or path\? the OpenAI routes are \/openai\/v1\/\.\.\.\): \{"detail":"Not Found"\}/);
        script = async (_req, res) => {
            res.writeHead(400, { "content-type": "application/json" }).end('{"error":{"message":"max_tokens is too large"}}');
        };
        await expect(streamChat({ model: "llm", prompt: "hi", maxTokens: 99999 }, { url: url() })).rejects.toBeInstanceOf(UserError);
    });

    it("accepts a server that ignores stream: true and answers one JSON completion", async () => {
        script = async (_req, res) => {
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: "four" }, finish_reason: "stop" }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
        };
        const result = await streamChat({ model: "llm", prompt: "hi" }, { url: url() });
        expect(result).toMatchObject({ content: "four", finishReason: "stop", completionTokens: 1 });
    });

    describe("npm run predict -- llm --chat", () => {
        const host = "llm.models.203.0.113.7.sslip.io";
        const run = async (argv: string[]) => {
            const out: string[] = [];
            const err: string[] = [];
            const written: string[] = [];
            const options = parsePredictArgs(["llm", "--url", `http://${host}`, "--ingress-ip", base.replace("http://", ""), ...argv], {});
            const phases: string[] = [];
            await runPredict(options, {
                stdout: (l) => out.push(l),
                stderr: (l) => err.push(l),
                write: (t) => written.push(t),
                wakeReportMs: 50,
                podPhase: async (namespace, name) => {
                    phases.push(`${namespace}/${name}`);
                    return "Pending: Unschedulable (waiting for a GPU node)";
                },
            });
            return { out, err, written, phases };
        };

        it("streams the answer to stdout and the statistics (and the wake-up) to stderr, through the ingress with the model's Host", async () => {
            script = async (_req, res) => {
                await wait(160);
                sse(res);
                for (const t of ["Paris", "."]) res.write(chunk(t));
                res.write(usage(20, 2));
                res.end(done);
            };
            hosts.length = 0;
            const { written, err, phases } = await run(["--chat", "Capital of France?", "--system", "Answer in one word.", "--max-tokens", "8", "--temperature", "0"]);
            expect(written.join("")).toBe("Paris.\n");
            expect(err.some((l) => /^waking up llm: \d+s elapsed \(pod Pending: Unschedulable \(waiting for a GPU node\)\)$/.test(l))).toBe(true);
            expect(err.at(-1)).toMatch(/time to first token .* 2 tokens/);
            expect(phases[0]).toBe("models/llm");
            expect(hosts.at(-1)).toBe(host);
            expect(bodies.at(-1)).toMatchObject({ model: "llm", max_tokens: 8, temperature: 0, messages: [{ role: "system" }, { role: "user", content: "Capital of France?" }] });
        });

        it("--json prints one object with the answer, usage and timings, and nothing streamed", async () => {
            script = async (_req, res) => {
                sse(res);
                res.write(chunk("4"));
                res.write(usage(10, 1));
                res.end(done);
            };
            const { out, written } = await run(["--chat", "2+2?", "--json"]);
            expect(written).toEqual([]);
            const parsed = JSON.parse(out.join(""));
            expect(parsed).toMatchObject({ model: "llm", content: "4", usage: { total_tokens: 11 } });
            expect(typeof parsed.time_to_first_token_ms).toBe("number");
        });

        it("keeps what was printed on its own line when the answer breaks", async () => {
            script = async (_req, res) => {
                sse(res);
                res.write(chunk("partial"));
                res.end(`data: ${JSON.stringify({ error: { message: "engine died" } })}\n\n`);
            };
            const written: string[] = [];
            const options = parsePredictArgs(["llm", "--url", `http://${host}`, "--ingress-ip", base.replace("http://", ""), "--chat", "hi"], {});
            await expect(runPredict(options, { stdout: () => undefined, stderr: () => undefined, write: (t) => written.push(t) })).rejects.toThrow(/engine died/);
            expect(written.join("")).toBe("partial\n");
        });
    });
});

describe("predict --chat arguments", () => {
    const bad = (argv: string[]) => {
        try {
            parsePredictArgs(argv, {});
        } catch (err) {
            return (err as Error).message;
        }
        return "";
    };
    it("parses the chat settings and gives --chat a cold-start timeout", () => {
        const o = parsePredictArgs(["llm", "--url", "http://llm.models.example.com", "--chat", "hi", "--max-tokens", "64", "--temperature", "0.7", "--system", "s"], {});
        expect(o.chat).toEqual({ prompt: "hi", system: "s", maxTokens: 64, temperature: 0.7 });
        expect(o.timeoutMs).toBe(1_800_000);
        expect(parsePredictArgs(["llm", "--url", "http://x.y.z", "--input", "f.json"], {}).timeoutMs).toBe(60_000);
    });
    it.each([
        [["--url", "http://a.b.c", "--chat", "hi", "--input", "x"], /exactly one of --input FILE, --image-url URL or --chat TEXT/],
        [["--url", "http://a.b.c", "--chat", "hi", "--temperature", "3"], /--temperature must be a number from 0 to 2/],
        [["--url", "http://a.b.c", "--chat", "hi", "--temperature", "warm"], /--temperature must be a number from 0 to 2/],
        [["--url", "http://a.b.c", "--chat", "hi", "--max-tokens", "0"], /--max-tokens must be a whole number/],
        [["--url", "http://a.b.c", "--input", "x", "--json"], /--json only applies to --chat/],
        [["--url", "http://a.b.c", "--chat", " "], /--chat needs a question/],
        [["--url", "http://a.b.c", "--chat", "hi", "--protocol", "v2"], /--chat speaks the OpenAI API/],
    ])("rejects %j", (argv, message) => {
        expect(bad(argv)).toMatch(message);
    });
});
