/** Class labels and attaching them to scores. Pure. */

/**
 * The ten clothing classes of the book's Xception model (seed 003), used when MODEL_LABELS is not
 * set, in the model's output order.
 */
export const defaultClothingLabels: readonly string[] = ["dress", "hat", "longsleeve", "outwear", "pants", "shirt", "shoes", "shorts", "skirt", "t-shirt"];

/**
 * Parses MODEL_LABELS: comma-separated, whitespace (including YAML line folding) trimmed.
 * Throws on empty or duplicate labels, since either would silently lose a score.
 */
export function parseLabels(text: string): string[] {
    const labels = text.split(",").map((l) => l.trim());
    if (labels.length === 0 || labels.some((l) => l === "")) throw new Error(`MODEL_LABELS '${text}' has an empty label (expected e.g. "dress,hat,pants")`);
    const seen = new Set<string>();
    for (const l of labels) {
        if (seen.has(l)) throw new Error(`MODEL_LABELS has '${l}' twice`);
        seen.add(l);
    }
    return labels;
}

/** `{label: score}` in label order; scores and labels must be the same length. */
export function attachLabels(labels: readonly string[], scores: ArrayLike<number>): Record<string, number> {
    if (scores.length !== labels.length) {
        throw new Error(`the model returned ${scores.length} scores but ${labels.length} labels are configured`);
    }
    const out: Record<string, number> = {};
    for (let i = 0; i < labels.length; i++) out[labels[i]] = scores[i];
    return out;
}
