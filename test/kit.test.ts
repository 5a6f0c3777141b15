import { describe, expect, it } from "vitest";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, promiseOf } from "./kit";

describe("test kit", async () => {
    const rec = await installMocks();
    class Parent extends pulumi.ComponentResource {
        constructor(name: string) {
            super("test:index:Parent", name);
            const role = new aws.iam.Role(`${name}-role`, { assumeRolePolicy: "{}" }, { parent: this });
            new aws.iam.RolePolicy(`${name}-policy`, { role: role.name, policy: "{}" }, { parent: this, dependsOn: [role] });
            this.registerOutputs({});
        }
    }
    const parent = new Parent("p");
    await rec.settle();

    it("records parents and dependencies of every resource", () => {
        const role = rec.one("aws:iam/role:Role");
        const policy = rec.one("aws:iam/rolePolicy:RolePolicy");
        expect(role.parent).toBe(rec.one("test:index:Parent").urn);
        expect(rec.dependsOn(policy, role)).toBe(true);
        expect(rec.dependsOn(role, policy)).toBe(false);
        expect(policy.propertyDependencies.role).toEqual([role.urn]);
    });

    it("returns realistic outputs", async () => {
        expect(await promiseOf(parent.urn)).toContain("Parent");
        expect(rec.one("aws:iam/role:Role").state.arn).toMatch(/^arn:aws:iam::123456789012:role\//);
    });
});
