/**
 * plan.md's "LLM cold start" section (scripts/lib/synthPlan.ts `llmColdStartSection`): one row per
 * GPU the capacity may use, whose steps add up to its total, and the derived timeouts.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../config";
import { llmColdStartSection } from "../scripts/lib/synthPlan";

const config = (raw: Record<string, string>) => loadConfig({ get: (key) => (({ "aws:region": "us-east-2", ...raw }) as Record<string, string>)[key] }, "inference-platform", "dev");
const seconds = (text: string) => {
    const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
    if (!m) throw new Error(`not a duration: ${text}`);
    return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
};

describe("llmColdStartSection", () => {
    it("is empty when the llm example is off", () => {
        expect(llmColdStartSection(config({ examples: '["sklearn-iris"]' }))).toEqual([]);
    });

    it("has one row per GPU model, each the sum of node, image, weights and load; T4 slowest", () => {
        const lines = llmColdStartSection(config({ examples: '["llm"]', gpuProvisioner: "node-group", gpuInstanceTypes: '["g6.xlarge","g4dn.xlarge","g6.2xlarge"]' }));
        expect(lines).toContain("## LLM cold start");
        const rows = lines.filter((l) => /^\| NVIDIA/.test(l)).map((l) => l.split("|").slice(1, -1).map((c) => c.trim()));
        expect(rows.map((r) => r[0])).toEqual(["NVIDIA L4 (g6)", "NVIDIA T4 (g4dn)"]);
        for (const [, node, image, weights, load, total] of rows) {
            expect(seconds(node) + seconds(image) + seconds(weights) + seconds(load)).toBe(seconds(total));
        }
        expect(seconds(rows[1][5])).toBeGreaterThan(seconds(rows[0][5]));
        const derived = lines.find((l) => l.startsWith("Derived"))!;
        expect(derived).toMatch(/progress deadline \d+m, startup probe \d+ x 10s, request timeout \d+m/);
        expect(lines.join("\n")).toMatch(/sized for NVIDIA T4: --max-model-len=\d+ --gpu-memory-utilization=0\.9 --dtype=half/);
    });

    it("counts no node time when the GPU group keeps a node", () => {
        const lines = llmColdStartSection(config({ examples: '["llm"]', gpuProvisioner: "node-group", gpuInstanceTypes: '["g5.xlarge"]', gpuMinSize: "1" }));
        const row = lines.find((l) => l.startsWith("| NVIDIA A10G"))!.split("|").map((c) => c.trim());
        expect(row[2]).toBe("0s");
        expect(lines.join("\n")).toMatch(/GPU nodes come from existing-node/);
    });
});
