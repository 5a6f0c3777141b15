/**
 * Runs the policy pack over a synthesized stack (the synth CLI's resources.json, shared with other
 * test files through test/synthOnce.ts).
 */
import { describe, expect, it } from "vitest";
import { runPolicies } from "../policy/policies";
import { synthCliFiles } from "./synthOnce";

export function describePolicyCheckOfSynth(stack: string): void {
    describe(`the synthesized ${stack} stack passes the policy pack`, async () => {
        const files = await synthCliFiles(stack);
        const resources = JSON.parse(files["resources.json"]).resources as { type: string; name: string; inputs: Record<string, unknown> }[];
        const violations = runPolicies(resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs })));

        it("has no mandatory violation", () => {
            const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory");
            expect(mandatory.map((v) => `${v.policy}: ${v.resource?.type} ${v.resource?.name}: ${v.message}`)).toEqual([]);
        });

        it("was actually checked (the policies saw the stack's resources)", () => {
            expect(resources.length).toBeGreaterThan(30);
            // A copy of the stack with a broken Deployment must fail, or the check above proves nothing.
            const broken = resources.map((r) =>
                r.type === "kubernetes:apps/v1:Deployment"
                    ? { ...r, inputs: { ...r.inputs, spec: { template: { spec: { containers: [{ name: "x", image: "busybox" }] } } } } }
                    : r,
            );
            const brokenViolations = runPolicies(broken.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs })));
            expect(brokenViolations.filter((v) => v.enforcementLevel === "mandatory").length).toBeGreaterThan(0);
        });
    });
}
