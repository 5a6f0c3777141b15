import { describe, expect, it } from "vitest";
import { runPolicies } from "../policy/policies";
import { synthesize } from "../scripts/lib/synth";

describe("the synthesized dev stack passes the policy pack", async () => {
    const result = await synthesize({ stack: "dev", program: () => import("../index") });
    const resources = JSON.parse(result.files["resources.json"]).resources as { type: string; name: string; inputs: Record<string, unknown> }[];
    const violations = runPolicies(resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs })));

    it("has no mandatory violation", () => {
        const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory");
        expect(mandatory.map((v) => `${v.policy}: ${v.resource?.type} ${v.resource?.name}: ${v.message}`)).toEqual([]);
    });

    it("was actually checked (the policies saw the stack's resources)", () => {
        expect(resources.length).toBeGreaterThan(30);
        // A copy of the stack with a broken resource must fail, or the check above proves nothing.
        const broken = resources.map((r) =>
            r.type === "kubernetes:apps/v1:Deployment" ? { ...r, inputs: { ...r.inputs, spec: { template: { spec: { containers: [{ name: "x", image: "busybox" }] } } } } } : r,
        );
        const brokenViolations = runPolicies(broken.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs }))).filter((v) => v.enforcementLevel === "mandatory");
        expect(brokenViolations.length).toBeGreaterThan(0);
    });
});
