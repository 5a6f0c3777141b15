// The dev stack (the local one is test/aliasesLocal.test.ts: a program registers its resources once per process).
import { describe, expect, it } from "vitest";
import { describeAdoption } from "./aliasAdoption";
import { adoption } from "./urnAliases";

describeAdoption("dev", 90);

describe("the adoption check can fail", () => {
    it("reports an old URN no resource claims", () => {
        const records = [{ urn: "urn:pulumi:dev::p::t:m:T::a", type: "t:m:T", name: "a" }];
        const { orphaned } = adoption(["urn:pulumi:dev::p::t:m:T::gone"], records);
        expect(orphaned).toEqual(["urn:pulumi:dev::p::t:m:T::gone"]);
    });

    it("follows a renamed parent's alias into its children's names", () => {
        const records = [
            { urn: "urn:pulumi:dev::p::pulumi:pulumi:Stack$x:m:Layer::eks", type: "x:m:Layer", name: "eks" },
            {
                urn: "urn:pulumi:dev::p::x:m:Layer$x:m:Net::eks-network",
                type: "x:m:Net",
                name: "eks-network",
                parent: "urn:pulumi:dev::p::pulumi:pulumi:Stack$x:m:Layer::eks",
                aliases: ["urn:pulumi:dev::p::x:m:Net::network"],
            },
            { urn: "urn:pulumi:dev::p::x:m:Net$aws:ec2/vpc:Vpc::eks-network-vpc", type: "aws:ec2/vpc:Vpc", name: "eks-network-vpc", parent: "urn:pulumi:dev::p::x:m:Layer$x:m:Net::eks-network" },
        ];
        const { orphaned, adoptedBy } = adoption(["urn:pulumi:dev::p::x:m:Net$aws:ec2/vpc:Vpc::network-vpc", "urn:pulumi:dev::p::x:m:Net::network"], records);
        expect(orphaned).toEqual([]);
        expect(adoptedBy.get("urn:pulumi:dev::p::x:m:Net$aws:ec2/vpc:Vpc::network-vpc")).toBe(records[2].urn);
    });
});
