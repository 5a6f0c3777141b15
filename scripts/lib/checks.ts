/**
 * Answer checks for the end-to-end run: is a model's answer plausible for the input the seeds send?
 * Each returns a list of problems (empty = pass), so a failure says everything that is wrong.
 */

/**
 * The ten classes of the clothing transformer's Xception model (the book's clothing dataset; the
 * gateway's default MODEL_LABELS), compared case- and punctuation-insensitively.
 */
export const clothingLabels = ["dress", "hat", "longsleeve", "outwear", "pants", "shirt", "shoes", "shorts", "skirt", "t-shirt"] as const;

export function normalizeLabel(label: string): string {
    return label.toLowerCase().replace(/[^a-z0-9]/g, "");
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * sklearn iris over the v2 protocol with examples/iris-input.json (2 rows of 4 features): one
 * output tensor whose data are `rows` class ids, each an integer 0, 1 or 2.
 */
export function checkIrisV2(body: unknown, rows = 2): string[] {
    if (!isRecord(body)) return ["answer is not a JSON object"];
    if (!Array.isArray(body.outputs) || body.outputs.length === 0) return ["answer has no `outputs` array (is the model serving the v2 protocol?)"];
    const output = body.outputs[0];
    if (!isRecord(output)) return ["outputs[0] is not an object"];
    const problems: string[] = [];
    const data = Array.isArray(output.data) ? (output.data as unknown[]).flat(Infinity) : undefined;
    if (!data) return ["outputs[0] has no `data` array"];
    if (data.length !== rows) problems.push(`outputs[0] has ${data.length} values, expected ${rows} (one class per input row)`);
    data.forEach((v, i) => {
        if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 2) problems.push(`outputs[0].data[${i}] = ${JSON.stringify(v)} is not an iris class (0, 1 or 2)`);
    });
    if (Array.isArray(output.shape)) {
        const size = (output.shape as unknown[]).reduce<number>((acc, d) => acc * (typeof d === "number" ? d : NaN), 1);
        if (size !== data.length) problems.push(`outputs[0].shape ${JSON.stringify(output.shape)} does not match its ${data.length} values`);
    } else {
        problems.push("outputs[0] has no `shape`");
    }
    return problems;
}

/** The label → score map inside a transformer answer: the body itself or `predictions[0]`. */
export function labelScores(body: unknown): Record<string, number> | string | undefined {
    const candidate = isRecord(body) && Array.isArray(body.predictions) ? body.predictions[0] : body;
    if (typeof candidate === "string") return candidate;
    if (isRecord(candidate) && Object.keys(candidate).length > 0 && Object.values(candidate).every((v) => typeof v === "number")) {
        return candidate as Record<string, number>;
    }
    return undefined;
}

/**
 * The clothing transformer with one image: a label → score map over the known labels, either all
 * ten or just the top ones, or a bare top label. Scores may be probabilities (then, with all ten
 * labels, they must sum to ~1) or raw logits (the book's Xception model has no softmax: any
 * finite numbers, some negative).
 */
export function checkClothing(body: unknown, labels: readonly string[] = clothingLabels, tolerance = 0.02): string[] {
    const scores = labelScores(body);
    const known = new Set(labels.map(normalizeLabel));
    if (scores === undefined) return ["answer is neither a label → score map nor `predictions: [ {label: score} ]` nor a label"];
    if (typeof scores === "string") return known.has(normalizeLabel(scores)) ? [] : [`'${scores}' is not a clothing label (${labels.join(", ")})`];
    const problems: string[] = [];
    const unknown = Object.keys(scores).filter((k) => !known.has(normalizeLabel(k)));
    if (unknown.length > 0) problems.push(`unknown labels: ${unknown.join(", ")} (expected ${labels.join(", ")})`);
    for (const [label, score] of Object.entries(scores)) {
        if (!Number.isFinite(score)) problems.push(`score of '${label}' is ${score}, not a finite number`);
    }
    const values = Object.values(scores);
    const probabilities = values.every((v) => v >= 0 && v <= 1);
    const present = new Set(Object.keys(scores).map(normalizeLabel));
    if (probabilities && present.size === known.size) {
        const sum = values.reduce((a, b) => a + b, 0);
        if (Math.abs(sum - 1) > tolerance) problems.push(`scores of all ${known.size} labels look like probabilities but sum to ${sum.toFixed(4)}, not ~1`);
    }
    return problems;
}

/** The best label of a label map (for the report). */
export function topLabel(scores: Record<string, number>): string | undefined {
    return Object.entries(scores).sort((a, b) => b[1] - a[1])[0]?.[0];
}

/**
 * An OpenAI chat completion (`/openai/v1/chat/completions`, not streamed) as the OpenAI API defines
 * it and vLLM returns it: `choices[0].message` with role `assistant` and non-empty string `content`,
 * a `finish_reason`, and `usage` with whole-number `prompt_tokens`, `completion_tokens` and
 * `total_tokens` (their sum).
 */
export function checkChatCompletion(body: unknown): string[] {
    if (!isRecord(body)) return ["answer is not a JSON object"];
    const problems: string[] = [];
    const choice = Array.isArray(body.choices) ? body.choices[0] : undefined;
    if (!isRecord(choice)) problems.push("answer has no `choices[0]` object");
    else {
        const message = choice.message;
        if (!isRecord(message)) problems.push("choices[0] has no `message` object");
        else {
            if (message.role !== "assistant") problems.push(`choices[0].message.role is ${JSON.stringify(message.role)}, expected "assistant"`);
            if (typeof message.content !== "string" || message.content.trim() === "") problems.push("choices[0].message.content is not a non-empty string");
        }
        if (typeof choice.finish_reason !== "string") problems.push("choices[0] has no `finish_reason`");
    }
    const usage = body.usage;
    if (!isRecord(usage)) problems.push("answer has no `usage` object");
    else {
        const counts = ["prompt_tokens", "completion_tokens", "total_tokens"].map((k) => [k, usage[k]] as const);
        for (const [k, v] of counts) if (typeof v !== "number" || !Number.isInteger(v) || v < 0) problems.push(`usage.${k} is ${JSON.stringify(v)}, not a whole number`);
        const [p, c, t] = counts.map(([, v]) => v);
        if (typeof p === "number" && typeof c === "number" && typeof t === "number" && p + c !== t) problems.push(`usage.total_tokens ${t} is not prompt_tokens + completion_tokens (${p + c})`);
        if (typeof c === "number" && c === 0) problems.push("usage.completion_tokens is 0: the model answered nothing");
    }
    return problems;
}
