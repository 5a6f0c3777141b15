import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as aws from "@pulumi/aws";
import * as fc from "fast-check";
import { Job } from "kubernetes-models/batch/v1/Job";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelSeeding, modelSeedingProblems, SeedModel, seedManifest, seedingPodSpec, seedingScripts, workVolumeGiB } from "../components/models/modelSeeding";
import { ModelStore, modelReaderPolicy, modelWriterPolicy } from "../components/aws/modelStore";
import { images } from "../versions";
import { decisionUnder } from "./iam/evaluator";
import { installMocks, testOidcIssuerHost } from "./kit";
import { hermeticScripts, runPythonSteps } from "./pythonZygote";
import { compileWithPython, noteSkippedForMissingTool, python3Interpreter } from "./shared";

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
const { "seed.py": seedScript, "convert.py": convertScript } = seedingScripts();
/** The local store's writer environment: endpoint and the store's credentials (components/local/localModelStore.ts `localStorageEnv`). */
const localWriterEnv = [
    { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: "store-creds", key: "AWS_ACCESS_KEY_ID" } } },
    { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: "store-creds", key: "AWS_SECRET_ACCESS_KEY" } } },
    { name: "AWS_ENDPOINT_URL", value: "http://versitygw.model-store.svc.cluster.local:7070" },
    { name: "AWS_DEFAULT_REGION", value: "us-east-1" },
];

describe("modelSeedingProblems", () => {
    const ok = { models: [mnist, clothing] };
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

describe("ModelSeeding with the model store's writer account", async () => {
    const rec = await installMocks();
    // On eks the writer account comes from the S3 model store (IRSA writer role); locally from the local store.
    const store = new ModelStore("store", {
        bucketNamePrefix: "ip-dev-models",
        region,
        encryption: "aws:kms",
        kmsKeyArn,
        oidcProvider: { arn: `arn:aws:iam::123456789012:oidc-provider/${testOidcIssuerHost}`, issuer: testOidcIssuerHost },
        namespace: "models",
        serviceAccountName: "kserve-models",
    });
    new ModelSeeding("eks", {
        namespace: store.storage.namespace,
        bucket: bucketName,
        serviceAccountName: store.storage.writerServiceAccountName,
        env: store.storage.writerEnv,
        models: [mnist, clothing],
        waitFor: [...store.storage.ready],
    });
    new ModelSeeding("local", {
        namespace: "models",
        bucket: "models",
        serviceAccountName: "local-seeder",
        env: localWriterEnv,
        models: [mnist],
        backoffLimit: 1,
        activeDeadlineSeconds: 600,
    });
    await rec.settle();
    const eksJob = rec.one("kubernetes:batch/v1:Job", "eks-job");
    const localJob = rec.one("kubernetes:batch/v1:Job", "local-job");

    it("the store binds a writer IRSA role to exactly the seeding ServiceAccount", async () => {
        const role = rec.one("aws:iam/role:Role", "store-writer-role");
        const trust = JSON.parse(role.inputs.assumeRolePolicy);
        expect(trust.Statement[0].Condition.StringEquals[`${testOidcIssuerHost}:sub`]).toBe("system:serviceaccount:models:model-seeder");
        const policy = JSON.parse(rec.one("aws:iam/rolePolicy:RolePolicy", "store-writer-policy").inputs.policy);
        const storeBucket = rec.one("aws:s3/bucket:Bucket", "store-bucket").state.bucket;
        expect(await allows(policy, { action: "s3:PutObject", resource: `arn:aws:s3:::${storeBucket}/models/mnist/1/saved_model.pb` })).toBe(true);
        expect(await allows(policy, { action: "s3:PutObject", resource: `arn:aws:s3:::${storeBucket}/other/x` })).toBe(false);
        const sa = rec.one("kubernetes:core/v1:ServiceAccount", "store-writer-sa");
        expect(sa.inputs.metadata.name).toBe("model-seeder");
        expect(sa.inputs.metadata.annotations["eks.amazonaws.com/role-arn"]).toMatch(/^arn:aws:iam::\d+:role\//);
        expect(sa.inputs.automountServiceAccountToken).toBe(false);
    });

    it("runs the Job as that ServiceAccount, bounded, after the role exists", () => {
        expect(eksJob.inputs.spec.template.spec.serviceAccountName).toBe("model-seeder");
        expect(eksJob.inputs.spec.backoffLimit).toBe(3);
        expect(eksJob.inputs.spec.activeDeadlineSeconds).toBe(1800);
        expect(Number(eksJob.inputs.metadata.annotations["pulumi.com/timeoutSeconds"])).toBeGreaterThan(1800);
        expect(eksJob.inputs.spec.template.metadata.annotations["sidecar.istio.io/inject"]).toBe("false");
        expect(rec.dependsOn(eksJob, rec.one("aws:iam/rolePolicy:RolePolicy", "store-writer-policy"))).toBe(true);
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

    it("mounts the scripts (the files in components/models/seeding/) and the manifest from a ConfigMap", () => {
        const cm = rec.one("kubernetes:core/v1:ConfigMap", "eks-scripts");
        expect(cm.inputs.data["seed.py"]).toBe(seedScript);
        expect(cm.inputs.data["convert.py"]).toBe(convertScript);
        expect(JSON.parse(cm.inputs.data["manifest.json"])).toEqual(seedManifest([mnist, clothing], "models/"));
        const volume = eksJob.inputs.spec.template.spec.volumes.find((v: any) => v.name === "scripts");
        expect(volume.configMap.name).toBe(cm.state.metadata.name);
    });

    it("seeds an S3-compatible store with the writer environment it is given, without any IAM role", () => {
        expect(rec.resources.filter((r) => r.type === "aws:iam/role:Role" && r.name.startsWith("local")).length).toBe(0);
        const env = localJob.inputs.spec.template.spec.containers[0].env;
        expect(env).toEqual(expect.arrayContaining([{ name: "SEED_BUCKET", value: "models" }, ...localWriterEnv]));
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
        expect(() => new ModelSeeding("bad", { namespace: "models", bucket: "b", serviceAccountName: "s", env: [], models: [] })).toThrow(/nothing to seed/);
        expect(rec.resources.length).toBe(before);
    });
});

// ---- the Python scripts, run against stand-ins for boto3, google-cloud-storage and tensorflow ----
const python = python3Interpreter;
if (!python) noteSkippedForMissingTool("the seeding script tests", "python3");

describe.skipIf(!python)("seeding scripts compile", () => {
    it("python3 compiles seed.py and convert.py (and rejects a broken script)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seed-compile-"));
        try {
            const scriptsDir = path.resolve(__dirname, "../components/models/seeding");
            const scripts = ["seed.py", "convert.py"].map((file) => path.join(scriptsDir, file));
            const broken = path.join(dir, "broken.py");
            fs.writeFileSync(broken, "def f(:\n");
            const results = compileWithPython(python!, [...scripts, broken]);
            for (const script of scripts) expect(results[script], script).toBeNull();
            expect(results[broken]).toMatch(/^SyntaxError/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});


describe.skipIf(!python)("seeding scripts", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seed-"));
    // Stand-ins for boto3, google-cloud-storage and tensorflow (test/fixtures/python-stubs/README.md).
    const stubs = path.join(__dirname, "fixtures", "python-stubs");
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
     * first failure (`runPythonSteps`). Returns the S3 calls made.
     */
    const runJob = async () => {
        fs.rmSync(path.join(dir, "work"), { recursive: true, force: true });
        fs.rmSync(log, { force: true });
        // stderr is captured (a failing run's error message carries it) rather than printed into the test log.
        const output = await runPythonSteps(hermeticScripts(python!), [["seed.py", "plan"], ["convert.py"], ["seed.py", "copy"]], { cwd: dir, env });
        const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Request) : [];
        return { calls, output };
    };
    const objects = () => JSON.parse(fs.readFileSync(state, "utf8"))[bucketName] as Record<string, string>;

    // In a hook: vitest runs a skipped describe's body too (to list its tests), so work done there
    // would run without python3. Hooks also count toward the file's duration, which orders the files.
    let first: Awaited<ReturnType<typeof runJob>>;
    let second: Awaited<ReturnType<typeof runJob>>;
    beforeAll(async () => {
        writeManifest(models);
        first = await runJob();
        second = await runJob();
    });

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

    it("resumes a partial copy by uploading only what is missing", async () => {
        const s = JSON.parse(fs.readFileSync(state, "utf8"));
        for (const key of Object.keys(s[bucketName])) if (key.startsWith("models/_seeded/mnist/")) delete s[bucketName][key];
        delete s[bucketName]["models/mnist/1/variables/variables.index"];
        fs.writeFileSync(state, JSON.stringify(s));
        const puts = (await runJob()).calls.filter((c) => c.action === "s3:PutObject").map((c) => c.resource.split(`${bucketName}/`)[1]);
        expect(puts[0]).toBe("models/mnist/1/variables/variables.index");
        expect(puts).toHaveLength(2);
        expect(puts[1]).toMatch(/^models\/_seeded\/mnist\//);
    });

    it("copies again when a model's source changes", async () => {
        const gcs = JSON.parse(fs.readFileSync(path.join(dir, "gcs.json"), "utf8"));
        gcs["kfserving-examples"]["models/tensorflow/mnist2/1/saved_model.pb"] = "graph v2";
        fs.writeFileSync(path.join(dir, "gcs.json"), JSON.stringify(gcs));
        writeManifest([{ ...mnist, source: { kind: "gcs", uri: "gs://kfserving-examples/models/tensorflow/mnist2" } }, models[1]]);
        await runJob();
        expect(objects()["models/mnist/1/saved_model.pb"]).toBe("graph v2");
        writeManifest(models);
    });

    it("fails clearly when a source is empty or a checksum does not match", async () => {
        writeManifest([{ ...mnist, name: "empty", dest: "empty/", source: { kind: "gcs", uri: "gs://kfserving-examples/models/none" } }]);
        await expect(runJob()).rejects.toThrow(/empty: the source has no objects/);
        writeManifest([{ ...clothing, name: "sum", dest: "sum/", source: { kind: "keras-h5", url: `file://${h5}`, version: 1, sha256: "0".repeat(64) } }]);
        await expect(runJob()).rejects.toThrow(/does not match/);
        writeManifest(models);
    });
});

// ---- Hugging Face sources: the seeding plan, and seed.py against a fake hub on 127.0.0.1 ----

const hubFileContents: Record<string, Buffer> = {
    "config.json": Buffer.from('{"architectures":["Qwen2ForCausalLM"]}'),
    "tokenizer.json": Buffer.from('{"version":"1.0"}'),
    "model.safetensors": Buffer.alloc(1024 * 1024 + 17, 7),
};
const sha256Of = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const hubRevision = "7ae557604adf67be50417f59c2c2f167def9a775";
const hubModel: SeedModel = {
    name: "tiny-llm",
    dest: "tiny-llm/",
    source: {
        kind: "huggingface",
        repo: "Org/Tiny-LLM",
        revision: hubRevision,
        files: Object.entries(hubFileContents).map(([p, b]) => ({ path: p, size: b.length, sha256: sha256Of(b) })),
    },
};

describe("Hugging Face seeding plan", () => {
    const hub = (over: Partial<Extract<SeedModel["source"], { kind: "huggingface" }>>): SeedModel => ({ ...hubModel, source: { ...(hubModel.source as any), ...over } });
    it("accepts a repo pinned to a commit with every file pinned", () => {
        expect(modelSeedingProblems({ models: [hubModel] })).toEqual([]);
        expect(modelSeedingProblems({ models: [hubModel], hfTokenSecret: "hf-token" })).toEqual([]);
    });
    it.each([
        ["a branch instead of a commit", hub({ revision: "main" }), /full 40-hex commit hash/],
        ["an abbreviated commit", hub({ revision: "7ae5576" }), /full 40-hex commit hash/],
        ["a repo without owner", hub({ repo: "Tiny-LLM" }), /not a Hugging Face repository id/],
        ["a path escaping the repo", hub({ files: [{ path: "../etc/passwd", size: 1, sha256: "a".repeat(64) }] }), /plain relative path/],
        ["an absolute path", hub({ files: [{ path: "/config.json", size: 1, sha256: "a".repeat(64) }] }), /plain relative path/],
        ["a file listed twice", hub({ files: [...(hubModel.source as any).files, (hubModel.source as any).files[0]] }), /listed twice/],
        ["a missing checksum", hub({ files: [{ path: "config.json", size: 1, sha256: "" }] }), /sha256 must be 64/],
        ["a zero size", hub({ files: [{ path: "config.json", size: 0, sha256: "a".repeat(64) }] }), /positive whole number of bytes/],
        ["no files", hub({ files: [] }), /no files to download/],
    ])("rejects %s", (_what, model, message) => {
        expect(modelSeedingProblems({ models: [model] }).join("\n")).toMatch(message);
    });
    it("rejects a token Secret name Kubernetes would reject", () => {
        expect(modelSeedingProblems({ models: [hubModel], hfTokenSecret: "HF_Token" }).join()).toMatch(/hfTokenSecret 'HF_Token'/);
    });
    it("puts the repo, commit, files and destination in the manifest the Job reads", () => {
        const manifest = seedManifest([hubModel], "models/");
        expect(manifest.prefix).toBe("models/");
        expect(manifest.models[0]).toEqual({ name: "tiny-llm", dest: "tiny-llm/", source: { kind: "huggingface", repo: "Org/Tiny-LLM", revision: hubRevision, files: (hubModel.source as any).files } });
    });
    it("gives only the copy step the token, from the Secret's `token` key, and room for the largest file", () => {
        const pod = seedingPodSpec({ models: [hubModel, { ...hubModel, name: "big", dest: "big/", source: { ...(hubModel.source as any), files: [{ path: "m", size: 6 * 2 ** 30, sha256: "a".repeat(64) }] } }], configMapName: "cm", serviceAccountName: "s", env: [], hfTokenSecret: "hf-token" });
        const copyEnv = pod.containers[0].env as any[];
        expect(copyEnv).toContainEqual({ name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "hf-token", key: "token" } } });
        expect(JSON.stringify(pod.initContainers)).not.toContain("HF_TOKEN");
        expect(pod.volumes.find((v) => v.name === "work")!.emptyDir!.sizeLimit).toBe("7Gi");
        expect(JSON.stringify(seedingPodSpec({ models: [hubModel], configMapName: "cm", serviceAccountName: "s", env: [] }))).not.toContain("HF_TOKEN");
        expect(workVolumeGiB([mnist])).toBe(4);
    });
});


describe.skipIf(!python)("seed.py against a fake Hugging Face hub (127.0.0.1)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seed-hub-"));
    const stubs = path.join(__dirname, "fixtures", "python-stubs");
    fs.writeFileSync(path.join(dir, "seed.py"), seedScript);
    const state = path.join(dir, "s3.json");
    const log = path.join(dir, "calls.log");
    /** What the hub and its CDN saw: path and Authorization header. */
    const seen: { server: "hub" | "cdn"; path: string; authorization?: string }[] = [];
    let served: Record<string, Buffer> = { ...hubFileContents };
    let apiRevision = hubRevision;
    let requireToken = false;
    let hub: http.Server;
    let cdn: http.Server;
    let hubUrl = "";

    beforeAll(async () => {
        cdn = http.createServer((req, res): void => {
            seen.push({ server: "cdn", path: String(req.url), authorization: req.headers.authorization });
            const file = decodeURIComponent(String(req.url).replace(/^\/blobs\//, ""));
            const body = served[file];
            if (!body) { res.writeHead(404).end(); return; }
            res.writeHead(200, { "content-length": String(body.length) }).end(body);
        });
        await new Promise<void>((r) => cdn.listen(0, "127.0.0.1", r));
        const cdnUrl = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;
        hub = http.createServer((req, res): void => {
            const url = String(req.url);
            seen.push({ server: "hub", path: url, authorization: req.headers.authorization });
            if (requireToken && req.headers.authorization !== "Bearer hf_secret") { res.writeHead(401).end("gated"); return; }
            if (url === `/api/models/Org/Tiny-LLM/revision/${hubRevision}?blobs=true`) {
                const siblings = Object.entries(hubFileContents).map(([name, b]) => ({
                    rfilename: name,
                    size: b.length,
                    blobId: "0".repeat(40),
                    ...(name.endsWith(".safetensors") ? { lfs: { sha256: sha256Of(b), size: b.length, pointerSize: 134 } } : {}),
                }));
                { res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: "Org/Tiny-LLM", sha: apiRevision, siblings })); return; }
            }
            const m = new RegExp(`^/Org/Tiny-LLM/resolve/${hubRevision}/(.+)$`).exec(url);
            if (m) {
                const file = decodeURIComponent(m[1]);
                // Like the hub: large (LFS) files redirect to a CDN on another origin.
                if (file.endsWith(".safetensors")) { res.writeHead(302, { location: `${cdnUrl}/blobs/${encodeURIComponent(file)}` }).end(); return; }
                const body = served[file];
                if (!body) { res.writeHead(404).end(); return; }
                { res.writeHead(200, { "content-length": String(body.length) }).end(body); return; }
            }
            res.writeHead(404).end("no such route");
        });
        await new Promise<void>((r) => hub.listen(0, "127.0.0.1", r));
        hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
        fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(seedManifest([hubModel], "models/")));
    });
    afterAll(async () => {
        await new Promise<void>((r) => hub.close(() => r()));
        await new Promise<void>((r) => cdn.close(() => r()));
        fs.rmSync(dir, { recursive: true, force: true });
    });

    const env = (token?: string) => ({
        ...process.env,
        PYTHONPATH: stubs,
        FAKE_S3_STATE: state,
        FAKE_S3_LOG: log,
        SEED_MANIFEST: path.join(dir, "manifest.json"),
        SEED_BUCKET: bucketName,
        SEED_PLAN_DIR: path.join(dir, "work", "plan"),
        SEED_OUT_DIR: path.join(dir, "work", "out"),
        HF_ENDPOINT: hubUrl,
        ...(token ? { HF_TOKEN: token } : { HF_TOKEN: "" }),
    });
    /** One Job run (plan, then copy) with a fresh emptyDir; returns the S3 calls and the output. */
    const runJob = async (token?: string) => {
        fs.rmSync(path.join(dir, "work"), { recursive: true, force: true });
        fs.rmSync(log, { force: true });
        seen.length = 0;
        const output = await runPythonSteps(hermeticScripts(python!), [["seed.py", "plan"], ["seed.py", "copy"]], { cwd: dir, env: env(token) });
        const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Request) : [];
        return { calls, output };
    };
    const objects = () => (fs.existsSync(state) ? (JSON.parse(fs.readFileSync(state, "utf8"))[bucketName] as Record<string, string>) ?? {} : {});
    const reset = () => fs.rmSync(state, { force: true });

    it("downloads each pinned file at the commit, verifies it and uploads it under the model prefix, then marks the model", async () => {
        reset();
        const { calls, output } = await runJob();
        const keys = Object.keys(objects()).sort();
        expect(keys.filter((k) => !k.startsWith("models/_seeded/"))).toEqual(["models/tiny-llm/config.json", "models/tiny-llm/model.safetensors", "models/tiny-llm/tokenizer.json"]);
        expect(keys.filter((k) => k.startsWith("models/_seeded/tiny-llm/"))).toHaveLength(1);
        expect(Buffer.from(objects()["models/tiny-llm/model.safetensors"], "latin1").equals(hubFileContents["model.safetensors"])).toBe(true);
        expect(output).toMatch(/sha256 verified/);
        // Only pinned-commit URLs, never a branch.
        for (const s of seen.filter((x) => x.server === "hub")) expect(s.path).toContain(hubRevision);
        for (const call of calls) expect(await allows(writer, call), JSON.stringify(call)).toBe(true);
    });

    it("skips the hub entirely on a second run (the marker), and resumes a partial copy without re-downloading what is there", async () => {
        const second = await runJob();
        expect(second.calls.filter((c) => c.action === "s3:PutObject")).toEqual([]);
        expect(seen).toEqual([]);
        const s = JSON.parse(fs.readFileSync(state, "utf8"));
        for (const key of Object.keys(s[bucketName])) if (key.startsWith("models/_seeded/")) delete s[bucketName][key];
        delete s[bucketName]["models/tiny-llm/tokenizer.json"];
        fs.writeFileSync(state, JSON.stringify(s));
        const third = await runJob();
        const puts = third.calls.filter((c) => c.action === "s3:PutObject").map((c) => c.resource.split(`${bucketName}/`)[1]);
        expect(puts[0]).toBe("models/tiny-llm/tokenizer.json");
        expect(puts).toHaveLength(2);
        expect(seen.filter((x) => x.path.includes("/resolve/")).map((x) => x.path.split("/").pop())).toEqual(["tokenizer.json"]);
    });

    it("refuses a file whose content does not match its pinned sha256, and uploads nothing of it", async () => {
        reset();
        served = { ...hubFileContents, "tokenizer.json": Buffer.from('{"version":"1.1"}') };
        try {
            await expect(runJob()).rejects.toThrow(/sha256 of tokenizer\.json is [0-9a-f]{64}, pinned [0-9a-f]{64}: not uploaded/);
            expect(Object.keys(objects())).not.toContain("models/tiny-llm/tokenizer.json");
            expect(Object.keys(objects()).some((k) => k.startsWith("models/_seeded/"))).toBe(false);
        } finally {
            served = { ...hubFileContents };
        }
    });

    it("refuses a file of another size before reading it all", async () => {
        reset();
        served = { ...hubFileContents, "config.json": Buffer.concat([hubFileContents["config.json"], Buffer.from(" ")]) };
        try {
            await expect(runJob()).rejects.toThrow(/config\.json is larger than its pinned \d+ bytes/);
        } finally {
            served = { ...hubFileContents };
        }
    });

    it("refuses when the hub resolves the revision to another commit", async () => {
        reset();
        apiRevision = "f".repeat(40);
        try {
            await expect(runJob()).rejects.toThrow(/resolved revision .* not the pinned commit/);
        } finally {
            apiRevision = hubRevision;
        }
    });

    it("names the token Secret when the repository is gated, sends the token to the hub only, never to the CDN", async () => {
        reset();
        requireToken = true;
        try {
            await expect(runJob()).rejects.toThrow(/HTTP 401 .*gated or private repository \(set hfTokenSecret/);
            reset();
            await runJob("hf_secret");
            expect(seen.filter((x) => x.server === "hub").every((x) => x.authorization === "Bearer hf_secret")).toBe(true);
            const cdnCalls = seen.filter((x) => x.server === "cdn");
            expect(cdnCalls).toHaveLength(1);
            expect(cdnCalls[0].authorization).toBeUndefined();
        } finally {
            requireToken = false;
        }
    });
});
