import * as k8s from "@pulumi/kubernetes";
import { describe, expect, it } from "vitest";
import {
    minioStorageEnv,
    bucketJobScript,
    bucketNameProblems,
    kserveS3SecretAnnotations,
    minioBucketPolicy,
    MinioModelStore,
    minioEndpoint,
} from "../components/minioModelStore";
import { images } from "../components/versions";
import { installMocks, promiseOf } from "./kit";

/** The kit leaves secret-wrapped inputs as `{ <secret signature>: ..., value }`; unwrap them. */
const secretSig = "4dabf18193072939515e22adb298388d";
function plain(value: any): any {
    if (value && typeof value === "object" && secretSig in value) return plain(value.value);
    return value;
}

describe("minioStorageEnv", () => {
    it("gives a plain storage initializer what KServe derives from the secret's annotations", () => {
        const env = minioStorageEnv({ endpoint: "minio.minio.svc.cluster.local:9000", region: "us-east-1", secretName: "creds" });
        const byName = Object.fromEntries(env.map((e) => [e.name, e]));
        expect(byName.AWS_ENDPOINT_URL.value).toBe("http://minio.minio.svc.cluster.local:9000");
        expect(byName.S3_USE_HTTPS.value).toBe("0");
        expect(byName.AWS_ACCESS_KEY_ID.valueFrom).toEqual({ secretKeyRef: { name: "creds", key: "AWS_ACCESS_KEY_ID" } });
        expect(byName.AWS_SECRET_ACCESS_KEY.value).toBeUndefined();
    });
});

describe("pure helpers", () => {
    it("KServe's secret annotations for an in-cluster plain-HTTP MinIO", () => {
        expect(kserveS3SecretAnnotations({ endpoint: "minio.minio.svc.cluster.local:9000", region: "us-east-1" })).toEqual({
            "serving.kserve.io/s3-endpoint": "minio.minio.svc.cluster.local:9000",
            "serving.kserve.io/s3-usehttps": "0",
            "serving.kserve.io/s3-verifyssl": "0",
            "serving.kserve.io/s3-region": "us-east-1",
            "serving.kserve.io/s3-useanoncredential": "false",
        });
    });

    it("endpoint is host:port without a scheme", () => {
        expect(minioEndpoint("store")).toBe("minio.store.svc.cluster.local:9000");
    });

    it("the models policy covers the bucket and its objects only", () => {
        const policy = minioBucketPolicy("models");
        const resources = policy.Statement.flatMap((s) => s.Resource);
        expect(resources.sort()).toEqual(["arn:aws:s3:::models", "arn:aws:s3:::models/*"]);
        expect(policy.Statement.flatMap((s) => s.Action)).not.toContain("s3:*");
        expect(JSON.stringify(policy)).not.toMatch(/"\*"|admin:/);
    });

    it("bucket names follow S3 rules", () => {
        expect(bucketNameProblems("models")).toEqual([]);
        expect(bucketNameProblems("Models")).not.toEqual([]);
        expect(bucketNameProblems("ab")).not.toEqual([]);
        expect(bucketNameProblems("a..b")).not.toEqual([]);
        expect(bucketNameProblems("10.0.0.1")).not.toEqual([]);
    });

    it("the bucket script is idempotent (no step fails on a second run)", () => {
        const script = bucketJobScript();
        expect(script).toMatch(/mc mb --ignore-existing/);
        const attach = script.split("\n").find((l) => l.includes("policy attach"))!;
        expect(attach).toMatch(/\|\| mc admin user info .*grep -q/);
        expect(script).not.toMatch(/MINIO_DEFAULT_BUCKETS/);
    });
});

describe("MinioModelStore component", async () => {
    const rec = await installMocks();
    const modelsNs = new k8s.core.v1.Namespace("models", { metadata: { name: "models" } });
    const store = new MinioModelStore("store", { namespace: modelsNs.metadata.name, serviceAccountName: "kserve-models" });
    await rec.settle();
    const secret = () => rec.one("kubernetes:core/v1:Secret", "-kserve-s3");
    const deployment = () => rec.one("kubernetes:apps/v1:Deployment", "-minio");
    const job = () => rec.one("kubernetes:batch/v1:Job", "-create-bucket");

    it("creates no AWS resources", () => {
        expect(rec.resources.filter((r) => r.type.startsWith("aws:") || r.type.startsWith("eks:") || r.type.startsWith("awsx:"))).toEqual([]);
    });

    it("KServe S3 secret in the models namespace carries the annotations and keys", () => {
        const s = secret();
        expect(s.inputs.metadata.namespace).toBe("models");
        expect(s.inputs.metadata.annotations).toMatchObject({
            "serving.kserve.io/s3-endpoint": "minio.minio.svc.cluster.local:9000",
            "serving.kserve.io/s3-usehttps": "0",
            "serving.kserve.io/s3-region": "us-east-1",
            "serving.kserve.io/s3-verifyssl": "0",
        });
        expect(plain(s.inputs.stringData).AWS_ACCESS_KEY_ID).toBe("kserve-models");
        // The secret key comes from a RandomPassword (its value is unknown under mocks).
        const passwords = rec.byType("random:index/randomPassword:RandomPassword");
        expect(passwords.map((p) => p.urn)).toEqual(expect.arrayContaining([...s.propertyDependencies.stringData]));
        expect(s.propertyDependencies.stringData.length).toBe(1);
    });

    it("the models ServiceAccount lists the secret", () => {
        const sa = rec.one("kubernetes:core/v1:ServiceAccount");
        expect(sa.inputs.metadata).toMatchObject({ name: "kserve-models", namespace: "models" });
        expect(sa.inputs.secrets).toEqual([{ name: "minio-s3-credentials" }]);
        expect(rec.dependsOn(sa, secret())).toBe(true);
    });

    it("waits for the models namespace", () => {
        expect(rec.dependsOn(secret(), rec.one("kubernetes:core/v1:Namespace", "models"))).toBe(true);
    });

    it("root credentials are generated and stay in the minio namespace", () => {
        const root = rec.one("kubernetes:core/v1:Secret", "-credentials");
        expect(root.inputs.metadata.namespace).toBe("minio");
        // Generated values are unknown under mocks (the mock returns no `result`), so only the fixed keys show.
        expect(plain(root.inputs.stringData)).toEqual({ MINIO_ROOT_USER: "minio-root", MODELS_ACCESS_KEY_ID: "kserve-models" });
        const passwords = rec.byType("random:index/randomPassword:RandomPassword");
        expect(passwords).toHaveLength(2);
        expect([...root.propertyDependencies.stringData].sort()).toEqual(passwords.map((p) => p.urn).sort());
        for (const p of passwords) expect(p.inputs.length).toBeGreaterThanOrEqual(32);
        expect(JSON.stringify(secret().inputs)).not.toContain("MINIO_ROOT");
    });

    it("MinIO runs the pinned image, non-root, with limits, on a PVC", () => {
        const spec = deployment().inputs.spec.template.spec;
        expect(deployment().inputs.metadata.namespace).toBe("minio");
        expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
        const [c] = spec.containers;
        expect(c.image).toBe(images.minio);
        expect(c.securityContext).toMatchObject({
            runAsNonRoot: true,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
        });
        expect(c.securityContext.runAsUser).toBeGreaterThan(0);
        expect(c.resources.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
        expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
        expect(spec.volumes.find((v: any) => v.name === "data").persistentVolumeClaim.claimName).toBe("minio-data");
        expect(deployment().inputs.spec.strategy.type).toBe("Recreate");
    });

    it("Service minio:9000 selects the MinIO pods", () => {
        const svc = rec.one("kubernetes:core/v1:Service");
        expect(svc.inputs.metadata).toMatchObject({ name: "minio", namespace: "minio" });
        expect(svc.inputs.spec.ports[0].port).toBe(9000);
        expect(deployment().inputs.spec.template.metadata.labels).toMatchObject(svc.inputs.spec.selector);
    });

    it("bucket Job: pinned mc image, non-root, limits, after MinIO is up", () => {
        const j = job();
        const c = j.inputs.spec.template.spec.containers[0];
        expect(c.image).toBe(images.minioClient);
        expect(images.minioClient).toMatch(/^quay\.io\/minio\/mc:RELEASE\./);
        expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
        expect(c.resources.limits.memory).toBeDefined();
        expect(c.env.find((e: any) => e.name === "BUCKET").value).toBe("models");
        expect(c.env.find((e: any) => e.name === "MINIO_URL").value).toBe("http://minio.minio.svc.cluster.local:9000");
        expect(rec.dependsOn(j, deployment())).toBe(true);
    });

    it("enforces restricted Pod Security in its namespace", () => {
        const ns = rec.one("kubernetes:core/v1:Namespace", "store-ns");
        expect(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    });

    it("outputs", async () => {
        expect(await promiseOf(store.endpoint)).toBe("minio.minio.svc.cluster.local:9000");
        expect(await promiseOf(store.bucketName)).toBe("models");
        expect(await promiseOf(store.serviceAccountName)).toBe("kserve-models");
        expect(await promiseOf(store.credentialsSecretName)).toBe("minio-s3-credentials");
        expect(await promiseOf(store.namespace)).toBe("models");
        expect(store.ready.length).toBeGreaterThan(0);
    });

    it("labels what it creates", () => {
        for (const r of rec.resources.filter((r) => r.type.startsWith("kubernetes:") && r.name.startsWith("store-"))) {
            expect(r.inputs.metadata.labels, r.name).toMatchObject({ "app.kubernetes.io/part-of": "inference-platform", "app.kubernetes.io/managed-by": "pulumi" });
        }
    });

    it("validates before creating anything", () => {
        const before = rec.resources.length;
        expect(() => new MinioModelStore("b1", { namespace: "models", serviceAccountName: "Bad_Name" })).toThrow(/serviceAccountName/);
        expect(() => new MinioModelStore("b2", { namespace: "models", serviceAccountName: "sa", bucketName: "No" })).toThrow(/bucketName/);
        expect(() => new MinioModelStore("b3", { namespace: "", serviceAccountName: "sa" })).toThrow(/namespace is required/);
        expect(() => new MinioModelStore("b4", { namespace: "m", serviceAccountName: "sa", storageSize: "lots" })).toThrow(/storageSize/);
        expect(rec.resources.length).toBe(before);
    });
});
