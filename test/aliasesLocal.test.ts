/**
 * An existing stack survives the layered structure: every resource a deployed dev or local stack
 * holds (the URNs in test/fixtures/urns-before-layers/, written from the synth of the last commit
 * before the layers, in the engine's URN form) is adopted by exactly one resource of today's
 * program, through its own aliases or its parents' (test/urnAliases.ts follows the engine's rules).
 * An orphan would be deleted and re-created by the next `pulumi up`, a duplicate claim is an error.
 * (The local stack, in a file of its own: a program registers its resources once per process.)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { installMocks } from "./kit";
import { stackConfig } from "./stackFiles";
import { adoption, engineUrn } from "./urnAliases";

const fixture = (name: string) =>
    fs.readFileSync(path.join(__dirname, "fixtures/urns-before-layers", `${name}.txt`), "utf8").trim().split("\n");

describe.each(["local"])("the %s stack adopts every resource it deployed before the layers", async (name) => {
    const rec = await installMocks({ stack: name, config: stackConfig(name) });
    await import("../index");
    await rec.settle();
    const records = rec.resources.map((r) => ({ urn: r.urn, type: r.type, name: r.name, parent: r.parent, aliases: r.aliases }));
    const before = fixture(name);
    const { adoptedBy, orphaned, contested } = adoption(before, records);

    it("has a fixture worth checking", () => {
        expect(before.length).toBeGreaterThan(name === "dev" ? 90 : 40);
    });

    it("no resource of the old stack is orphaned (it would be replaced)", () => {
        expect(orphaned).toEqual([]);
        expect(adoptedBy.size).toBe(before.length);
    });

    it("no old resource is claimed twice", () => {
        expect(contested).toEqual([]);
    });

    it("the moved resources really moved (the aliases carry the adoption, not identical URNs)", () => {
        const byUrn = new Map(records.map((r) => [r.urn, r]));
        const moved = [...adoptedBy].filter(([old, now]) => engineUrn(byUrn.get(now)!, byUrn) !== old);
        expect(moved.length).toBe(before.length);
    });
});
