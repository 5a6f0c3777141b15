import { describe, expect, it } from "vitest";
import { describeAccessContract } from "./iam/contract";
import { modelReaderContract } from "./iam/contracts/modelReader";
import { fromRecorder, RenderedStack } from "./iam/renderedStack";
import { installMocks, promiseOf, testAccountId, testOidcIssuerHost } from "./kit";
import { ModelStore, modelReaderPolicy, tlsOnlyBucketPolicy } from "../components/aws/modelStore";
import { decisionUnder } from "./iam/evaluator";

const oidcProvider = { arn: `arn:aws:iam::123456789012:oidc-provider/${testOidcIssuerHost}`, issuer: testOidcIssuerHost };

/** Every action an IAM document's Allow statements name, with their resources (its shape, not its decisions). */
function allowed(doc: any): { action: string; resource: string }[] {
    return doc.Statement.filter((s: any) => s.Effect === "Allow").flatMap((s: any) =>
        [s.Action].flat().flatMap((action: string) => [s.Resource].flat().map((resource: string) => ({ action, resource }))),
    );
}

/** IAM's decision (a real evaluator) for a role holding only `doc`. */
const decision = (doc: any, action: string, resource: string, context?: Record<string, string>) => decisionUnder(doc, { action, resource, context });

describe("ModelStore", async () => {
    const rec = await installMocks();
    const store = new ModelStore("models", {
        bucketNamePrefix: "ip-dev-models",
        region: "us-east-2",
        oidcProvider,
        namespace: "models",
        serviceAccountName: "kserve-models",
    });
    await rec.settle();

    // The storage initializer's calls (test/iam/contracts/modelReader.ts) against what this component
    // renders with SSE-S3; the whole stack with SSE-KMS is in test/iam/stack.test.ts.
    const rendered = new RenderedStack(fromRecorder(rec.resources), testAccountId, "us-east-2");
    const storeBucket = rec.one("aws:s3/bucket:Bucket").state.bucket;
    describeAccessContract(
        "the reader role, SSE-S3",
        modelReaderContract({ uris: [`s3://${storeBucket}/models/mnist`], region: "us-east-2", accountId: testAccountId, encryption: rendered.bucketEncryption(storeBucket) }),
        () => rendered.access(rendered.roleOfServiceAccount("models", "kserve-models")),
    );

    it("blocks every form of public access and enforces bucket-owner ownership", () => {
        expect(rec.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs).toMatchObject({
            blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
        });
        expect(rec.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs.rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
    });

    it("encrypts with SSE-S3 by default and keeps expiring noncurrent versions", () => {
        const sse = rec.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
        expect(sse.inputs.rules[0].applyServerSideEncryptionByDefault).toEqual({ sseAlgorithm: "AES256" });
        expect(rec.one("aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration.status).toBe("Enabled");
        const rules = rec.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules;
        expect(rules.find((r: any) => r.noncurrentVersionExpiration).noncurrentVersionExpiration.noncurrentDays).toBe(30);
    });

    it("denies non-TLS requests and is not force-destroyed unless ephemeral", () => {
        const policy = JSON.parse(rec.one("aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
        expect(policy.Statement[0]).toMatchObject({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } });
        expect(rec.one("aws:s3/bucket:Bucket").inputs.forceDestroy).toBe(false);
        expect(rec.one("aws:s3/bucket:Bucket").inputs.bucketPrefix).toBe("ip-dev-models-");
    });

    it("trusts exactly the models ServiceAccount for the reader role", () => {
        const trust = JSON.parse(rec.one("aws:iam/role:Role", "models-reader-role").inputs.assumeRolePolicy);
        expect(trust.Statement[0].Condition.StringEquals).toEqual({
            [`${testOidcIssuerHost}:sub`]: "system:serviceaccount:models:kserve-models",
            [`${testOidcIssuerHost}:aud`]: "sts.amazonaws.com",
        });
    });

    it("gives the reader role only list + get under the model prefix", async () => {
        const policy = JSON.parse(rec.one("aws:iam/rolePolicy:RolePolicy", "models-reader-policy").inputs.policy);
        const bucket = rec.one("aws:s3/bucket:Bucket").state.bucket;
        expect(allowed(policy)).toEqual([
            { action: "s3:ListBucket", resource: `arn:aws:s3:::${bucket}` },
            { action: "s3:GetObject", resource: `arn:aws:s3:::${bucket}/models/*` },
        ]);
        // KServe's storage initializer calls HeadBucket (s3:ListBucket, no s3:prefix) before it lists
        // the model's prefix (kserve/kserve v0.20.0 kserve_storage.py Storage._download_s3).
        expect(await decision(policy, "s3:ListBucket", `arn:aws:s3:::${bucket}`)).toBe("Allowed");
        expect(await decision(policy, "s3:ListBucket", `arn:aws:s3:::${bucket}`, { "s3:prefix": "models/mnist" })).toBe("Allowed");
        expect(await decision(policy, "s3:ListBucket", `arn:aws:s3:::${bucket}`, { "s3:prefix": "secrets/" })).not.toBe("Allowed");
        expect(await decision(policy, "s3:ListBucket", "arn:aws:s3:::another-bucket")).not.toBe("Allowed");
        expect(await decision(policy, "s3:GetObject", `arn:aws:s3:::${bucket}/models/mnist/1/saved_model.pb`)).toBe("Allowed");
        expect(await decision(policy, "s3:GetObject", `arn:aws:s3:::${bucket}/secrets/credentials.json`)).not.toBe("Allowed");
    });

    it("annotates the KServe ServiceAccount for IRSA without an s3-endpoint", async () => {
        const sa = rec.one("kubernetes:core/v1:ServiceAccount", "models-sa");
        const annotations = sa.inputs.metadata.annotations;
        expect(annotations["eks.amazonaws.com/role-arn"]).toMatch(/^arn:aws:iam::123456789012:role\//);
        expect(annotations["serving.kserve.io/s3-region"]).toBe("us-east-2");
        expect(annotations["serving.kserve.io/s3-usehttps"]).toBe("1");
        expect(Object.keys(annotations)).not.toContain("serving.kserve.io/s3-endpoint");
        expect(sa.inputs.metadata.namespace).toBe("models");
        expect(rec.dependsOn(sa, rec.one("aws:iam/rolePolicy:RolePolicy", "models-reader-policy"))).toBe(true);
        expect(await promiseOf(store.serviceAccountName)).toBe("kserve-models");
    });

    it("leaves sidecar injection off in the models namespace", () => {
        const ns = rec.one("kubernetes:core/v1:Namespace");
        expect(ns.inputs.metadata.labels["istio-injection"]).toBeUndefined();
    });

    it("with KMS: creates a rotating key, encrypts with it and lets the reader decrypt only via S3", async () => {
        const before = rec.resources.length;
        new ModelStore("kms", { bucketNamePrefix: "k", region: "eu-west-1", encryption: "aws:kms", ephemeral: true, oidcProvider, namespace: "m", serviceAccountName: "s" });
        await rec.settle();
        const added = rec.resources.slice(before);
        const key = added.find((r) => r.type === "aws:kms/key:Key")!;
        expect(key.inputs.enableKeyRotation).toBe(true);
        const sse = added.find((r) => r.type.endsWith("BucketServerSideEncryptionConfiguration"))!;
        expect(sse.inputs.rules[0].applyServerSideEncryptionByDefault).toEqual({ sseAlgorithm: "aws:kms", kmsMasterKeyId: key.state.arn });
        const policy = JSON.parse(added.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy")!.inputs.policy);
        expect(policy.Statement[2]).toEqual({
            Sid: "DecryptModels", Effect: "Allow", Action: "kms:Decrypt", Resource: key.state.arn,
            Condition: { StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } },
        });
        expect(await decision(policy, "kms:Decrypt", key.state.arn, { "kms:ViaService": "s3.eu-west-1.amazonaws.com" })).toBe("Allowed");
        expect(await decision(policy, "kms:Decrypt", key.state.arn)).not.toBe("Allowed");
        expect(await decision(policy, "kms:GenerateDataKey", key.state.arn, { "kms:ViaService": "s3.eu-west-1.amazonaws.com" })).not.toBe("Allowed");
        expect(added.find((r) => r.type === "aws:s3/bucket:Bucket")!.inputs.forceDestroy).toBe(true);
    });
});

describe("policy documents", () => {
    it("the reader policy never allows writes or wildcards", async () => {
        for (const kmsKeyArn of [undefined, "arn:aws:kms:us-east-2:123456789012:key/0b5b6d3c-1111-2222-3333-444455556666"]) {
            const doc = modelReaderPolicy({ bucketName: "b", modelPrefix: "models/", region: "us-east-2", kmsKeyArn });
            for (const { action, resource } of allowed(doc)) {
                expect(action).not.toMatch(/Put|Delete|\*/);
                expect(resource).not.toBe("*");
            }
            for (const action of ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"]) {
                for (const key of ["models/mnist/1/saved_model.pb", "other/x"]) expect(await decision(doc, action, `arn:aws:s3:::b/${key}`), `${action} ${key}`).not.toBe("Allowed");
            }
            expect(await decision(doc, "s3:PutBucketPolicy", "arn:aws:s3:::b")).not.toBe("Allowed");
        }
    });
    it("the TLS-only policy covers the bucket and its objects", () => {
        const doc: any = tlsOnlyBucketPolicy("b");
        expect(doc.Statement[0].Resource).toEqual(["arn:aws:s3:::b", "arn:aws:s3:::b/*"]);
    });
});
