import { describe, expect, it } from "vitest";
import { installMocks, testOidcIssuerHost } from "./kit";
import { ModelStore } from "../components/aws/modelStore";

const oidcProvider = { arn: `arn:aws:iam::123456789012:oidc-provider/${testOidcIssuerHost}`, issuer: testOidcIssuerHost };

/** What holds or protects the models: kept together or deleted together, never half. */
const dataTypes = [
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:kms/key:Key",
];

describe("model store teardown", async () => {
    const rec = await installMocks();
    const kept = new ModelStore("kept", { bucketNamePrefix: "kept", region: "us-east-2", encryption: "aws:kms", oidcProvider, namespace: "m", serviceAccountName: "s" });
    const gone = new ModelStore("gone", { bucketNamePrefix: "gone", region: "us-east-2", encryption: "aws:kms", ephemeral: true, oidcProvider, namespace: "m2", serviceAccountName: "s" });
    await rec.settle();
    const of = (prefix: string) => rec.resources.filter((r) => r.name.startsWith(`${prefix}-`) && dataTypes.includes(r.type));

    it("a non-ephemeral stack's destroy completes and keeps the bucket, its protections and its KMS key", () => {
        const resources = of("kept");
        expect(resources.map((r) => r.type).sort()).toEqual([...dataTypes].sort());
        for (const r of resources) expect(r.options.retainOnDelete, r.name).toBe(true);
        // Not force-destroyed: nothing deletes the objects, even if someone drops retainOnDelete.
        expect(rec.one("aws:s3/bucket:Bucket", "kept-bucket").inputs.forceDestroy).toBe(false);
        expect(kept.retainedOnDestroy).toBe(true);
    });

    it("an ephemeral stack deletes all of it, objects included", () => {
        const resources = of("gone");
        expect(resources.map((r) => r.type).sort()).toEqual([...dataTypes].sort());
        for (const r of resources) expect(r.options.retainOnDelete, r.name).toBe(false);
        expect(rec.one("aws:s3/bucket:Bucket", "gone-bucket").inputs.forceDestroy).toBe(true);
        expect(gone.retainedOnDestroy).toBe(false);
    });

    it("roles, namespace and ServiceAccount are always deleted (they are rebuilt from code)", () => {
        const infra = rec.resources.filter((r) => r.name.startsWith("kept-") && r.custom && !dataTypes.includes(r.type));
        expect(infra.length).toBeGreaterThan(2);
        for (const r of infra) expect(r.options.retainOnDelete, r.name).toBe(false);
    });
});
