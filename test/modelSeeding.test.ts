import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as aws from "@pulumi/aws";
import * as fc from "fast-check";
import { Job } from "kubernetes-models/batch/v1/Job";
import { describe, expect, it } from "vitest";
import {
    convertScript,
    ModelSeeding,
    modelSeedingProblems,
    modelWriterPolicy,
    SeedModel,
    seedManifest,
    seedingPodSpec,
    seedScript,
} from "../components/modelSeeding";
import { modelReaderPolicy } from "../components/modelStore";
import { images } from "../components/versions";
import { decisionUnder } from "./iam/evaluator";
import { installMocks, testOidcIssuerHost } from "./kit";

// ---- IAM decisions come from a real evaluator (test/iam/evaluator.ts) ----
interface Request {
    action: string;
    resource: string;
    context?: Record<string, string>;
}
const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
/** True when IAM allows `request` to a role holding only `policy` (KMS keys with AWS's default key policy). */
const allows = async (policy: aws.iam.PolicyDocument, request: Request) => (await decisionUnder(policy as never, request)) === "Allowed";
/** S3 key characters (no `*`: in a request resource the evaluator would read it as a pattern). */
const s3Key = (constraints: { minLength?: number; maxLength: number }) =>
    fc.string({ ...constraints, unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/!-_.'()") });

const bucketName = "inference-platform-dev-models-abcd1234";
const modelPrefix = "models/";
const region = "us-east-2";
const kmsKeyArn = "arn:aws:kms:us-east-2:123456789012:key/0b5b6d3c-1111-2222-3333-444455556666";
const writer = modelWriterPolicy({ bucketName, modelPrefix, region });
const writerKms = modelWriterPolicy({ bucketName, modelPrefix, region, kmsKeyArn });
const objectArn = (key: string) => `arn:aws:s3:::${bucketName}/${key}`;
const bucketArn = `arn:aws:s3:::${bucketName}`;
const keyOutsidePrefix = s3Key({ minLength: 1, maxLength: 40 }).filter((k) => !k.startsWith(modelPrefix));

describe("modelWriterPolicy", () => {
    it("can put objects and abort uploads under the model prefix", async () => {
        await fc.assert(
            fc.asyncProperty(s3Key({ maxLength: 40 }), async (rest) => {
                expect(await allows(writer, { action: "s3:PutObject", resource: objectArn(`${modelPrefix}${rest}`) })).toBe(true);
                expect(await allows(writer, { action: "s3:AbortMultipartUpload", resource: objectArn(`${modelPrefix}${rest}`) })).toBe(true);
            }),
        );
    });

    it("cannot write outside the model prefix", async () => {
        await fc.assert(
            fc.asyncProperty(keyOutsidePrefix, async (key) => {
                expect(await allows(writer, { action: "s3:PutObject", resource: objectArn(key) })).toBe(false);
            }),
        );
    });

    it("cannot read, delete or reconfigure anything", async () => {
        const bucketActions = new Set(["s3:PutBucketPolicy"]);
        for (const action of ["s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutBucketPolicy", "s3:PutObjectAcl", "s3:GetObjectVersion"]) {
            // Each action on the resource type AWS authorizes it against (the evaluator rejects any other).
            const resource = bucketActions.has(action) ? bucketArn : objectArn(`${modelPrefix}mnist/1/saved_model.pb`);
            expect(await allows(writer, { action, resource }), action).toBe(false);
        }
        for (const action of ["s3:DeleteBucket", "s3:PutBucketPolicy", "s3:PutLifecycleConfiguration", "s3:PutEncryptionConfiguration"]) {
            expect(await allows(writer, { action, resource: bucketArn }), action).toBe(false);
        }
    });

    it("lists only under the model prefix", async () => {
        expect(await allows(writer, { action: "s3:ListBucket", resource: bucketArn, context: { "s3:prefix": `${modelPrefix}mnist/` } })).toBe(true);
        expect(await allows(writer, { action: "s3:ListBucket", resource: bucketArn, context: { "s3:prefix": "secrets/" } })).toBe(false);
        expect(await allows(writer, { action: "s3:ListBucket", resource: bucketArn })).toBe(false);
    });

    it("has no wildcard action or resource", () => {
        for (const policy of [writer, writerKms]) {
            for (const s of policy.Statement as aws.iam.PolicyStatement[]) {
                for (const a of asList(s.Action as string | string[])) expect(a).not.toContain("*");
                for (const r of asList(s.Resource as string | string[])) expect(r === "*" || r.endsWith(":*")).toBe(false);
            }
        }
    });

    it("uses the KMS key only through S3 and only when one is given", async () => {
        expect(JSON.stringify(writer)).not.toContain("kms:");
        const via = { "kms:ViaService": `s3.${region}.amazonaws.com` };
        expect(await allows(writerKms, { action: "kms:GenerateDataKey", resource: kmsKeyArn, context: via })).toBe(true);
        expect(await allows(writerKms, { action: "kms:Decrypt", resource: kmsKeyArn, context: via })).toBe(true);
        expect(await allows(writer, { action: "kms:GenerateDataKey", resource: kmsKeyArn, context: via })).toBe(false);
        expect(await allows(writerKms, { action: "kms:GenerateDataKey", resource: kmsKeyArn })).toBe(false);
        expect(await allows(writerKms, { action: "kms:GenerateDataKey", resource: kmsKeyArn, context: { "kms:ViaService": "ec2.us-east-2.amazonaws.com" } })).toBe(false);
        expect(await allows(writerKms, { action: "kms:Encrypt", resource: "arn:aws:kms:us-east-2:123456789012:key/0b5b6d3c-9999-2222-3333-444455556666", context: via })).toBe(false);
    });

    it("rejects a prefix that would widen the grant", () => {
        expect(() => modelWriterPolicy({ bucketName, modelPrefix: "", region })).toThrow(/modelPrefix/);
        expect(() => modelWriterPolicy({ bucketName, modelPrefix: "models", region })).toThrow(/ending in '\/'/);
    });
});

describe("modelReaderPolicy (the serving role) cannot write", () => {
    const reader = modelReaderPolicy({ bucketName, modelPrefix, region, kmsKeyArn });
    it("denies every write action anywhere in the bucket", async () => {
        await fc.assert(
            fc.asyncProperty(s3Key({ minLength: 1, maxLength: 40 }), fc.constantFrom("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"), async (key, action) => {
                expect(await allows(reader, { action, resource: objectArn(key) })).toBe(false);
                expect(await allows(reader, { action, resource: objectArn(`${modelPrefix}${key}`) })).toBe(false);
            }),
        );
        expect(await allows(reader, { action: "kms:GenerateDataKey", resource: kmsKeyArn, context: { "kms:ViaService": `s3.${region}.amazonaws.com` } })).toBe(false);
    });
    it("still reads models (so the test above is not vacuous)", async () => {
        expect(await allows(reader, { action: "s3:GetObject", resource: objectArn(`${modelPrefix}mnist/1/saved_model.pb`) })).toBe(true);
    });
});

const mnist: SeedModel = { name: "mnist", dest: "mnist/", source: { kind: "gcs", uri: "gs://kfserving-examples/models/tensorflow/mnist" } };
const clothing: SeedModel = { name: "clothing-model", dest: "clothing-model/", source: { kind: "keras-h5", url: "https://example.com/m.h5", version: 1 } };
const minio = { kind: "minio" as const, endpoint: "http://minio.minio.svc:9000", bucket: "models", credentialsSecretName: "minio-creds" };

describe("modelSeedingProblems", () => {
    const ok = { models: [mnist, clothing], target: minio };
    it("accepts the example set", () => {
        expect(modelSeedingProblems(ok)).toEqual([]);
    });
    const cases: [string, Parameters<typeof modelSeedingProblems>[0], RegExp][] = [
        ["no models", { ...ok, models: [] }, /nothing to seed/],
        ["duplicate names", { ...ok, models: [mnist, mnist] }, /appears twice/],
        ["nested destinations", { ...ok, models: [mnist, { ...clothing, dest: "mnist/" }] }, /inside 'mnist\/'/],
        ["a gs URI without path", { ...ok, models: [{ ...mnist, source: { kind: "gcs", uri: "gs://bucket" } }] }, /not a gs:\/\/bucket\/path/],
        ["an http model URL", { ...ok, models: [{ ...clothing, source: { kind: "keras-h5", url: "http://x/m.h5", version: 1 } }] }, /not an https URL/],
        ["version 0", { ...ok, models: [{ ...clothing, source: { kind: "keras-h5", url: "https://x/m.h5", version: 0 } }] }, /version 0/],
        ["a bad prefix", { ...ok, modelPrefix: "/models" }, /modelPrefix/],
        ["a short deadline", { ...ok, activeDeadlineSeconds: 10 }, /activeDeadlineSeconds/],
        ["unbounded retries", { ...ok, backoffLimit: 100 }, /backoffLimit/],
        ["an endpoint without scheme", { ...ok, target: { ...minio, endpoint: "minio:9000" } }, /http\(s\):\/\/host/],
        ["a bad region", { ...ok, target: { kind: "s3", bucket: "b", region: "Ohio", oidcProvider: { arn: "a", issuer: "i" } } }, /not an AWS region/],
    ];
    for (const [what, args, message] of cases) {
        it(`rejects ${what}`, () => expect(modelSeedingProblems(args).join("\n")).toMatch(message));
    }
});

describe("seeding pod", () => {
    const pod = seedingPodSpec({ models: [mnist, clothing], configMapName: "cm", serviceAccountName: "model-seeder", env: [] });
    const all = [...pod.initContainers, ...pod.containers] as any[];
    it("plans, converts, then copies", () => {
        expect(pod.initContainers.map((c) => c.name)).toEqual(["plan", "convert"]);
        expect(pod.containers.map((c) => c.name)).toEqual(["copy"]);
        expect(pod.initContainers[1].image).toBe(images.tensorflowModelConverter);
        expect(pod.containers[0].image).toBe(images.kserveStorageInitializer);
    });
    it("skips the TensorFlow converter when no Keras model is seeded", () => {
        const p = seedingPodSpec({ models: [mnist], configMapName: "cm", serviceAccountName: "s", env: [] });
        expect(p.initContainers.map((c) => c.name)).toEqual(["plan"]);
        expect(p.nodeSelector).toBeUndefined();
        expect(pod.nodeSelector).toEqual({ "kubernetes.io/arch": "amd64" });
    });
    it("runs every container non-root, read-only, with requests and limits", () => {
        for (const c of all) {
            expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
            expect(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.cpu && c.resources.limits.memory).toBeTruthy();
        }
        expect(pod.restartPolicy).toBe("Never");
        expect(pod.volumes.find((v) => v.name === "work")?.emptyDir?.sizeLimit).toBeDefined();
    });
});

describe("ModelSeeding on eks and locally", async () => {
    const rec = await installMocks();
    new ModelSeeding("eks", {
        namespace: "models",
        target: { kind: "s3", bucket: bucketName, region, oidcProvider: { arn: `arn:aws:iam::123456789012:oidc-provider/${testOidcIssuerHost}`, issuer: testOidcIssuerHost }, kmsKeyArn },
        models: [mnist, clothing],
    });
    new ModelSeeding("local", { namespace: "models", target: minio, models: [mnist], serviceAccountName: "local-seeder", backoffLimit: 1, activeDeadlineSeconds: 600 });
    await rec.settle();
    const eksJob = rec.one("kubernetes:batch/v1:Job", "eks-job");
    const localJob = rec.one("kubernetes:batch/v1:Job", "local-job");

    it("binds a writer IRSA role to exactly the seeding ServiceAccount", async () => {
        const role = rec.one("aws:iam/role:Role", "eks-writer-role");
        const trust = JSON.parse(role.inputs.assumeRolePolicy);
        expect(trust.Statement[0].Condition.StringEquals[`${testOidcIssuerHost}:sub`]).toBe("system:serviceaccount:models:model-seeder");
        const policy = JSON.parse(rec.one("aws:iam/rolePolicy:RolePolicy", "eks-writer-policy").inputs.policy);
        expect(await allows(policy, { action: "s3:PutObject", resource: objectArn("models/mnist/1/saved_model.pb") })).toBe(true);
        expect(await allows(policy, { action: "s3:PutObject", resource: objectArn("other/x") })).toBe(false);
        const sa = rec.one("kubernetes:core/v1:ServiceAccount", "eks-sa");
        expect(sa.inputs.metadata.name).toBe("model-seeder");
        expect(sa.inputs.metadata.annotations["eks.amazonaws.com/role-arn"]).toMatch(/^arn:aws:iam::\d+:role\//);
    });

    it("runs the Job as that ServiceAccount, bounded, after the role exists", () => {
        expect(eksJob.inputs.spec.template.spec.serviceAccountName).toBe("model-seeder");
        expect(eksJob.inputs.spec.backoffLimit).toBe(3);
        expect(eksJob.inputs.spec.activeDeadlineSeconds).toBe(1800);
        expect(Number(eksJob.inputs.metadata.annotations["pulumi.com/timeoutSeconds"])).toBeGreaterThan(1800);
        expect(eksJob.inputs.spec.template.metadata.annotations["sidecar.istio.io/inject"]).toBe("false");
        expect(rec.dependsOn(eksJob, rec.one("aws:iam/rolePolicy:RolePolicy", "eks-writer-policy"))).toBe(true);
        const env = eksJob.inputs.spec.template.spec.containers[0].env;
        expect(env).toEqual(expect.arrayContaining([{ name: "SEED_BUCKET", value: bucketName }, { name: "AWS_REGION", value: region }]));
        expect(JSON.stringify(env)).not.toContain("AWS_ACCESS_KEY_ID");
    });

    // kubernetes-models' Model.validate() is not visible through its type re-exports here.
    const validateJob = (job: unknown) => (new Job(job as never) as unknown as { validate(): void }).validate();
    it("renders Jobs that pass the Kubernetes batch/v1 schema", () => {
        for (const job of [eksJob, localJob]) {
            expect(() => validateJob({ ...job.inputs, metadata: { ...job.inputs.metadata, name: "seed" } })).not.toThrow();
        }
        const broken = { ...eksJob.inputs, metadata: { name: "seed" }, spec: { ...eksJob.inputs.spec, backoffLimit: "3" } };
        expect(() => validateJob(broken)).toThrow();
    });

    it("mounts the scripts and the manifest from a ConfigMap", () => {
        const cm = rec.one("kubernetes:core/v1:ConfigMap", "eks-scripts");
        expect(cm.inputs.data["seed.py"]).toBe(seedScript);
        expect(cm.inputs.data["convert.py"]).toBe(convertScript);
        expect(JSON.parse(cm.inputs.data["manifest.json"])).toEqual(seedManifest([mnist, clothing], "models/"));
        const volume = eksJob.inputs.spec.template.spec.volumes.find((v: any) => v.name === "scripts");
        expect(volume.configMap.name).toBe(cm.state.metadata.name);
    });

    it("seeds MinIO with the credentials secret and endpoint, without any IAM role", () => {
        expect(rec.resources.filter((r) => r.type === "aws:iam/role:Role" && r.name.startsWith("local")).length).toBe(0);
        const env = localJob.inputs.spec.template.spec.containers[0].env;
        expect(env).toEqual(
            expect.arrayContaining([
                { name: "AWS_ENDPOINT_URL", value: "http://minio.minio.svc:9000" },
                { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: "minio-creds", key: "AWS_ACCESS_KEY_ID" } } },
                { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: "minio-creds", key: "AWS_SECRET_ACCESS_KEY" } } },
            ]),
        );
        expect(localJob.inputs.spec.template.spec.serviceAccountName).toBe("local-seeder");
        expect(localJob.inputs.spec.backoffLimit).toBe(1);
        expect(localJob.inputs.spec.template.spec.initContainers.map((c: any) => c.name)).toEqual(["plan"]);
    });

    it("changes the pod template when what it runs changes (a Job is immutable)", () => {
        const eksHash = eksJob.inputs.spec.template.metadata.annotations["inference-platform/seed-spec"];
        const localHash = localJob.inputs.spec.template.metadata.annotations["inference-platform/seed-spec"];
        expect(eksHash).toMatch(/^[0-9a-f]{16}$/);
        expect(eksHash).not.toBe(localHash);
    });

    it("throws before registering anything on bad input", () => {
        const before = rec.resources.length;
        expect(() => new ModelSeeding("bad", { namespace: "models", target: minio, models: [] })).toThrow(/nothing to seed/);
        expect(rec.resources.length).toBe(before);
    });
});

// ---- the Python scripts, run against stand-ins for boto3, google-cloud-storage and tensorflow ----
const python = spawnSync("python3", ["--version"]).status === 0 ? "python3" : undefined;
if (!python) console.warn("skipping seeding script tests: python3 is not installed");

const fakeBoto3 = `import json, os
STATE = os.environ["FAKE_S3_STATE"]
LOG = os.environ["FAKE_S3_LOG"]
def _load():
    return json.load(open(STATE)) if os.path.exists(STATE) else {}
def _save(s):
    json.dump(s, open(STATE, "w"))
def _log(action, resource, **context):
    with open(LOG, "a") as f:
        f.write(json.dumps({"action": action, "resource": resource, "context": context}) + "\\n")
class _Paginator:
    def paginate(self, Bucket, Prefix):
        _log("s3:ListBucket", "arn:aws:s3:::" + Bucket, **{"s3:prefix": Prefix})
        objs = _load().get(Bucket, {})
        yield {"Contents": [{"Key": k, "Size": len(v)} for k, v in sorted(objs.items()) if k.startswith(Prefix)]}
class _Client:
    def get_paginator(self, name):
        assert name == "list_objects_v2"
        return _Paginator()
    def upload_fileobj(self, f, Bucket, Key):
        self.put_object(Bucket=Bucket, Key=Key, Body=f.read())
    def put_object(self, Bucket, Key, Body):
        _log("s3:PutObject", "arn:aws:s3:::" + Bucket + "/" + Key)
        s = _load()
        s.setdefault(Bucket, {})[Key] = Body.decode("latin-1")
        _save(s)
def client(name):
    assert name == "s3"
    return _Client()
`;
const fakeGcs = `import json, os
class _Blob:
    def __init__(self, name, data):
        self.name, self._data, self.size = name, data, len(data)
    def download_to_file(self, f):
        f.write(self._data)
class Client:
    @staticmethod
    def create_anonymous_client():
        return Client()
    def list_blobs(self, bucket, prefix):
        objs = json.load(open(os.environ["FAKE_GCS"])).get(bucket, {})
        return [_Blob(k, v.encode()) for k, v in sorted(objs.items()) if k.startswith(prefix)]
`;
const fakeTensorflow = `import os
class _Models:
    @staticmethod
    def load_model(path, compile=True):
        return open(path, "rb").read()
class keras:
    models = _Models
class saved_model:
    @staticmethod
    def save(model, path):
        os.makedirs(os.path.join(path, "variables"), exist_ok=True)
        open(os.path.join(path, "saved_model.pb"), "wb").write(b"pb:" + model)
        open(os.path.join(path, "variables", "variables.index"), "wb").write(b"idx")
`;

describe.skipIf(!python)("seeding scripts", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seed-"));
    const stubs = path.join(dir, "stubs");
    fs.mkdirSync(path.join(stubs, "google", "cloud"), { recursive: true });
    fs.mkdirSync(path.join(stubs, "tensorflow"), { recursive: true });
    fs.writeFileSync(path.join(stubs, "boto3.py"), fakeBoto3);
    fs.writeFileSync(path.join(stubs, "google", "cloud", "storage.py"), fakeGcs);
    fs.writeFileSync(path.join(stubs, "tensorflow", "__init__.py"), fakeTensorflow);
    fs.writeFileSync(path.join(dir, "seed.py"), seedScript);
    fs.writeFileSync(path.join(dir, "convert.py"), convertScript);
    const h5 = path.join(dir, "clothing.h5");
    fs.writeFileSync(h5, "weights");
    fs.writeFileSync(
        path.join(dir, "gcs.json"),
        JSON.stringify({
            "kfserving-examples": {
                "models/tensorflow/mnist/1/saved_model.pb": "graph",
                "models/tensorflow/mnist/1/variables/variables.index": "index",
                "models/tensorflow/mnist-other/1/saved_model.pb": "not ours",
            },
        }),
    );
    const models: SeedModel[] = [mnist, { ...clothing, source: { kind: "keras-h5", url: `file://${h5}`, version: 1 } }];
    const writeManifest = (ms: SeedModel[]) => fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(seedManifest(ms, "models/")));
    const state = path.join(dir, "s3.json");
    const log = path.join(dir, "calls.log");
    const env = {
        ...process.env,
        PYTHONPATH: stubs,
        FAKE_S3_STATE: state,
        FAKE_S3_LOG: log,
        FAKE_GCS: path.join(dir, "gcs.json"),
        SEED_MANIFEST: path.join(dir, "manifest.json"),
        SEED_BUCKET: bucketName,
        SEED_PLAN_DIR: path.join(dir, "work", "plan"),
        SEED_OUT_DIR: path.join(dir, "work", "out"),
    };
    /**
     * One Job run: a fresh emptyDir, then plan, convert, copy, each in its own process, stopping at the
     * first failure (test/fixtures/run_steps.py). Returns the S3 calls made.
     */
    const runJob = () => {
        fs.rmSync(path.join(dir, "work"), { recursive: true, force: true });
        fs.rmSync(log, { force: true });
        const steps = [["seed.py", "plan"], ["convert.py"], ["seed.py", "copy"]].flatMap((step) => ["--", ...step]);
        // stderr is captured (a failing run's error message carries it) rather than printed into the test log.
        const output = execFileSync(python!, [path.join(__dirname, "fixtures", "run_steps.py"), ...steps], { cwd: dir, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Request) : [];
        return { calls, output };
    };
    const objects = () => JSON.parse(fs.readFileSync(state, "utf8"))[bucketName] as Record<string, string>;

    writeManifest(models);
    const first = runJob();
    const second = runJob();

    it("copies the public model and the converted model into the prefix, with markers", () => {
        const keys = Object.keys(objects()).sort();
        expect(keys.filter((k) => !k.startsWith("models/_seeded/"))).toEqual([
            "models/clothing-model/1/saved_model.pb",
            "models/clothing-model/1/variables/variables.index",
            "models/mnist/1/saved_model.pb",
            "models/mnist/1/variables/variables.index",
        ]);
        expect(keys.filter((k) => k.startsWith("models/_seeded/")).map((k) => k.split("/")[2]).sort()).toEqual(["clothing-model", "mnist"]);
        expect(objects()["models/clothing-model/1/saved_model.pb"]).toBe("pb:weights");
    });

    it("makes only requests the writer policy allows", async () => {
        expect(first.calls.length).toBeGreaterThan(0);
        for (const call of first.calls) expect(await allows(writer, call), JSON.stringify(call)).toBe(true);
    });

    it("skips everything on a second run, including the conversion", () => {
        expect(second.calls.filter((c) => c.action === "s3:PutObject")).toEqual([]);
        expect(second.output).toMatch(/clothing-model: already seeded, not converting/);
        expect(fs.existsSync(path.join(dir, "work", "out", "clothing-model"))).toBe(false);
    });

    it("resumes a partial copy by uploading only what is missing", () => {
        const s = JSON.parse(fs.readFileSync(state, "utf8"));
        for (const key of Object.keys(s[bucketName])) if (key.startsWith("models/_seeded/mnist/")) delete s[bucketName][key];
        delete s[bucketName]["models/mnist/1/variables/variables.index"];
        fs.writeFileSync(state, JSON.stringify(s));
        const puts = runJob().calls.filter((c) => c.action === "s3:PutObject").map((c) => c.resource.split(`${bucketName}/`)[1]);
        expect(puts[0]).toBe("models/mnist/1/variables/variables.index");
        expect(puts).toHaveLength(2);
        expect(puts[1]).toMatch(/^models\/_seeded\/mnist\//);
    });

    it("copies again when a model's source changes", () => {
        const gcs = JSON.parse(fs.readFileSync(path.join(dir, "gcs.json"), "utf8"));
        gcs["kfserving-examples"]["models/tensorflow/mnist2/1/saved_model.pb"] = "graph v2";
        fs.writeFileSync(path.join(dir, "gcs.json"), JSON.stringify(gcs));
        writeManifest([{ ...mnist, source: { kind: "gcs", uri: "gs://kfserving-examples/models/tensorflow/mnist2" } }, models[1]]);
        runJob();
        expect(objects()["models/mnist/1/saved_model.pb"]).toBe("graph v2");
        writeManifest(models);
    });

    it("fails clearly when a source is empty or a checksum does not match", () => {
        writeManifest([{ ...mnist, name: "empty", dest: "empty/", source: { kind: "gcs", uri: "gs://kfserving-examples/models/none" } }]);
        expect(() => runJob()).toThrow(/empty: the source has no objects/);
        writeManifest([{ ...clothing, name: "sum", dest: "sum/", source: { kind: "keras-h5", url: `file://${h5}`, version: 1, sha256: "0".repeat(64) } }]);
        expect(() => runJob()).toThrow(/does not match/);
        writeManifest(models);
    });
});
