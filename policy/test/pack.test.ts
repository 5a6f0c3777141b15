/**
 * The PolicyPack entry point, with @pulumi/policy replaced by a recorder (the real PolicyPack
 * serves the Pulumi engine over gRPC): every pure policy is wired once, with its enforcement
 * level, and the wiring filters by type and reports each message.
 */
import { describe, expect, it, vi } from "vitest";

const packs: { name: string; args: any }[] = [];
vi.mock("@pulumi/policy", () => ({
    PolicyPack: class {
        constructor(name: string, args: any) {
            packs.push({ name, args });
        }
    },
}));

describe("policy/index.ts", async () => {
    await import("../index");
    const { resourcePolicies, stackPolicies } = await import("../policies");
    const pack = packs[0];
    const byName = (name: string) => pack.args.policies.find((p: any) => p.name === name);

    it("creates one pack with every policy and its enforcement level", () => {
        expect(packs).toHaveLength(1);
        expect(pack.name).toBe("inference-platform");
        const wired = pack.args.policies.map((p: any) => [p.name, p.enforcementLevel]);
        expect(wired).toEqual([...resourcePolicies, ...stackPolicies].map((p) => [p.name, p.enforcementLevel]));
    });

    it("reports the messages of a resource policy only for its types", () => {
        const reported: string[] = [];
        const validate = byName("kms-key-rotation").validateResource;
        validate({ type: "aws:kms/key:Key", props: { enableKeyRotation: false }, name: "k" }, (m: string) => reported.push(m));
        validate({ type: "aws:s3/bucket:Bucket", props: {}, name: "b" }, (m: string) => reported.push(m));
        expect(reported).toEqual(["enableKeyRotation must be true"]);
    });

    it("gives stack policies URNs and dependencies", () => {
        const reported: string[] = [];
        const bucket = { type: "aws:s3/bucket:Bucket", name: "b", urn: "urn:b", props: { bucket: "b-1" }, dependencies: [], propertyDependencies: {} };
        const companion = (type: string, props: object) => ({ type, name: type, urn: `urn:${type}`, props, dependencies: [], propertyDependencies: { bucket: [bucket] } });
        const resources = [
            bucket,
            companion("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", { bucket: "renamed" }),
            companion("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", { bucket: "renamed" }),
        ];
        byName("s3-bucket-companions").validateStack({ resources }, (m: string) => reported.push(m));
        expect(reported).toEqual(["bucket b has no BucketPolicy (TLS only)"]);
    });
});
