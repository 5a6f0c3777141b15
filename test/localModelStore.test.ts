/**
 * The local model store (versitygw) checked against what its consumers and the server really do:
 * - KServe v0.20.0 reads the Secret's annotations and keys and turns them into the storage
 *   initializer's environment (kserve/kserve v0.20.0 pkg/credentials/s3/s3_secret.go BuildSecretEnvs,
 *   pkg/credentials/s3/utils.go BuildS3EnvVars, pkg/credentials/service_account_credentials.go
 *   mountSecretCredential; python/storage/kserve_storage/kserve_storage.py _download_s3);
 * - the calls KServe's storage initializer and our seeding Job make are allowed by the bucket
 *   policy under versitygw's own evaluation rules (versity/versitygw v1.7.0 auth/bucket_policy*.go,
 *   s3api/controllers/*: which policy action each S3 call is checked against), and what the models'
 *   account must not do is denied;
 * - the server reads the environment variables we set (cmd/versitygw/main.go, posix.go, admin.go);
 * - the setup scripts behave idempotently (run against stand-ins for boto3 and the versitygw CLI).
 */
import * as k8s from "@pulumi/kubernetes";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { kserveResourcesValues } from "../components/platform/kserve";
import {
    bucketNameProblems,
    kserveS3SecretAnnotations,
    localStorageEnv,
    localStoreEndpoint,
    localStoreRegion,
    LocalModelStore,
    modelsAccessKeyId,
    modelsBucketPolicy,
    setupScripts,
    versitygwPort,
} from "../components/local/localModelStore";
import { ModelSeeding } from "../components/models/modelSeeding";
import { images } from "../versions";
import { installMocks, promiseOf } from "./kit";
import { hermeticScripts, runPython } from "./pythonZygote";
import { itWithSharedSchemas, readUpstreamYaml, noteSkippedForMissingTool, python3Interpreter } from "./shared";

/** The kit leaves secret-wrapped inputs as `{ <secret signature>: ..., value }`; unwrap them. */
const secretSig = "4dabf18193072939515e22adb298388d";
function plain(value: any): any {
    if (value && typeof value === "object" && secretSig in value) return plain(value.value);
    return value;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "local-model-store-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// Upstream facts (each from the named repository, tag, file and function).
// ---------------------------------------------------------------------------------------------

/** kserve/kserve v0.20.0 pkg/credentials/s3/s3_secret.go: the InferenceServiceS3* annotation names. */
const kserveAnnotation = {
    endpoint: "serving.kserve.io/s3-endpoint",
    region: "serving.kserve.io/s3-region",
    verifySsl: "serving.kserve.io/s3-verifyssl",
    useHttps: "serving.kserve.io/s3-usehttps",
    useVirtualBucket: "serving.kserve.io/s3-usevirtualbucket",
    useAnonymousCredential: "serving.kserve.io/s3-useanoncredential",
} as const;

/**
 * What KServe v0.20.0 puts into the storage initializer for an S3 Secret (BuildSecretEnvs: the two
 * keys by secretKeyRef; BuildS3EnvVars and getEndpointConfiguration: the rest, from annotations).
 * Re-stated here from the Go source, only for the annotations this store sets.
 */
function kserveDerivedEnv(annotations: Record<string, string>, keyNames: { accessKeyId: string; secretAccessKey: string }) {
    const env: Record<string, { value?: string; secretKey?: string }> = {
        AWS_ACCESS_KEY_ID: { secretKey: keyNames.accessKeyId },
        AWS_SECRET_ACCESS_KEY: { secretKey: keyNames.secretAccessKey },
    };
    const endpoint = annotations[kserveAnnotation.endpoint]?.trim();
    if (endpoint) {
        let useHttps: string | undefined;
        let host = endpoint;
        let url: string;
        if (endpoint.toLowerCase().startsWith("https://")) [useHttps, host, url] = ["1", endpoint.slice(8), endpoint];
        else if (endpoint.toLowerCase().startsWith("http://")) [useHttps, host, url] = ["0", endpoint.slice(7), endpoint];
        else {
            useHttps = annotations[kserveAnnotation.useHttps];
            url = useHttps === "0" ? `http://${endpoint}` : `https://${endpoint}`;
        }
        if (useHttps) env.S3_USE_HTTPS = { value: useHttps };
        env.S3_ENDPOINT = { value: host };
        env.AWS_ENDPOINT_URL = { value: url };
    }
    if (annotations[kserveAnnotation.verifySsl]) env.S3_VERIFY_SSL = { value: annotations[kserveAnnotation.verifySsl] };
    if (annotations[kserveAnnotation.useAnonymousCredential]) env.awsAnonymousCredential = { value: annotations[kserveAnnotation.useAnonymousCredential] };
    if (annotations[kserveAnnotation.region]) env.AWS_DEFAULT_REGION = { value: annotations[kserveAnnotation.region] };
    if (annotations[kserveAnnotation.useVirtualBucket]) env.S3_USER_VIRTUAL_BUCKET = { value: annotations[kserveAnnotation.useVirtualBucket] };
    return env;
}

/**
 * Environment variables versitygw v1.7.0 reads (cmd/versitygw/main.go global flags, posix.go
 * posixCommand flags; the image's docker-entrypoint.sh adds VGW_BACKEND*). A misspelt one is
 * silently ignored, so every variable we set must be one of these.
 */
const versitygwServerEnv = new Set([
    "ROOT_ACCESS_KEY_ID",
    "ROOT_ACCESS_KEY",
    "ROOT_SECRET_ACCESS_KEY",
    "ROOT_SECRET_KEY",
    "VGW_PORT",
    "VGW_REGION",
    "VGW_HEALTH",
    "VGW_IAM_DIR",
    "VGW_IAM_CACHE_DISABLE",
    "VGW_IAM_CACHE_TTL",
    "VGW_QUIET",
    "VGW_DEBUG",
    "VGW_READ_ONLY",
    "VGW_META_SIDECAR",
    "VGW_META_NONE",
    "VGW_VERSIONING_DIR",
    "VGW_BACKEND",
    "VGW_BACKEND_ARGS",
]);
/** cmd/versitygw/admin.go: the `admin` command's flags read these (endpoint-url is required). */
const versitygwAdminEnv = ["ADMIN_ENDPOINT_URL", "ADMIN_ACCESS_KEY_ID", "ADMIN_SECRET_ACCESS_KEY", "ADMIN_REGION"];

/**
 * The S3 calls each client of the store makes, and the policy action versitygw v1.7.0 checks each
 * against for a non-admin account (s3api/controllers: bucket-head.go HeadBucket, bucket-get.go
 * ListObjects/ListObjectsV2 → s3:ListBucket; object-head.go HeadObject, object-get.go GetObject →
 * s3:GetObject; object-put.go PutObject/UploadPart, object-post.go CreateMultipartUpload/
 * CompleteMultipartUpload → s3:PutObject; object-delete.go AbortMultipartUpload → s3:AbortMultipartUpload).
 */
interface Call {
    client: string;
    call: string;
    source: string;
    action: string;
    /** Object key, or undefined for a bucket-level call. */
    key?: string;
}
const neededCalls: Call[] = [
    // kserve/kserve v0.20.0 python/storage/kserve_storage/kserve_storage.py, Storage._download_s3.
    { client: "storage initializer", call: "HeadBucket", source: "_download_s3: s3.meta.client.head_bucket", action: "s3:ListBucket" },
    { client: "storage initializer", call: "ListObjects", source: "_download_s3: bucket.objects.filter(Prefix=...)", action: "s3:ListBucket" },
    { client: "storage initializer", call: "HeadObject", source: "_download_s3_object: bucket.download_file", action: "s3:GetObject", key: "models/sklearn/model.joblib" },
    { client: "storage initializer", call: "GetObject", source: "_download_s3_object: bucket.download_file", action: "s3:GetObject", key: "models/sklearn/model.joblib" },
    // components/modelSeeding.ts seed.py (boto3 client calls).
    { client: "seeding Job", call: "ListObjectsV2", source: "seed.py listing: list_objects_v2 paginator", action: "s3:ListBucket" },
    { client: "seeding Job", call: "PutObject", source: "seed.py copy: put_object (marker) and upload_fileobj (small files)", action: "s3:PutObject", key: "models/_seeded/mnist/0123" },
    { client: "seeding Job", call: "CreateMultipartUpload", source: "seed.py copy: upload_fileobj (files over 8 MiB)", action: "s3:PutObject", key: "models/mnist/1/variables.data" },
    { client: "seeding Job", call: "UploadPart", source: "seed.py copy: upload_fileobj", action: "s3:PutObject", key: "models/mnist/1/variables.data" },
    { client: "seeding Job", call: "CompleteMultipartUpload", source: "seed.py copy: upload_fileobj", action: "s3:PutObject", key: "models/mnist/1/variables.data" },
    { client: "seeding Job", call: "AbortMultipartUpload", source: "s3transfer on a failed upload_fileobj", action: "s3:AbortMultipartUpload", key: "models/mnist/1/variables.data" },
];
/** What the models' account must not be able to do (same controllers: DeleteObject → s3:DeleteObject, etc.). */
const forbiddenCalls: (Call & { bucket?: string })[] = [
    { client: "models", call: "DeleteObject", source: "object-delete.go", action: "s3:DeleteObject", key: "models/mnist/1/saved_model.pb" },
    { client: "models", call: "PutBucketPolicy", source: "bucket-put.go", action: "s3:PutBucketPolicy" },
    { client: "models", call: "DeleteBucketPolicy", source: "bucket-delete.go", action: "s3:DeleteBucketPolicy" },
    { client: "models", call: "PutBucketAcl", source: "bucket-put.go", action: "s3:PutBucketAcl" },
    { client: "models", call: "DeleteBucket", source: "bucket-delete.go", action: "s3:DeleteBucket" },
    { client: "models", call: "PutObjectTagging", source: "object-put.go", action: "s3:PutObjectTagging", key: "models/x" },
    { client: "models", call: "ListObjectsV2 of another bucket", source: "bucket-get.go", action: "s3:ListBucket", bucket: "other" },
    { client: "models", call: "GetObject of another bucket", source: "object-get.go", action: "s3:GetObject", key: "x", bucket: "other" },
    { client: "models", call: "GetObject via a look-alike bucket", source: "object-get.go", action: "s3:GetObject", key: "x", bucket: "models-private" },
];

/** versitygw's wildcard match: `*` any run of characters, `?` exactly one (auth/bucket_policy.go, matchPattern). */
function wildcardMatch(pattern: string, input: string): boolean {
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "s");
    return re.test(input);
}
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const principalsOf = (p: any): string[] => (typeof p === "string" ? [p] : Array.isArray(p) ? p : asList(p.AWS));

/**
 * versitygw's decision for a non-admin account on a bucket with a policy (auth/access-control.go
 * VerifyAccess → auth/bucket_policy.go VerifyBucketPolicy/isAllowed): the resource is `bucket` or
 * `bucket/key`; a statement matches when its principals contain the access key (or `*`), an action
 * pattern matches and a resource pattern (ARN prefix removed) matches; any matching Deny denies;
 * otherwise a matching Allow allows.
 */
function versitygwAllows(policy: ReturnType<typeof modelsBucketPolicy>, access: string, bucket: string, key: string | undefined, action: string): boolean {
    const resource = key ? `${bucket}/${key}` : bucket;
    let allowed = false;
    for (const s of policy.Statement as any[]) {
        const principals = principalsOf(s.Principal);
        if (!principals.includes("*") && !principals.includes(access)) continue;
        if (!asList(s.Action).some((a: string) => a === "s3:*" || wildcardMatch(a, action))) continue;
        if (!asList(s.Resource).some((r: string) => wildcardMatch(r.replace(/^arn:aws:s3:::/, ""), resource))) continue;
        if (s.Effect === "Deny") return false;
        if (s.Effect === "Allow") allowed = true;
    }
    return allowed;
}

/** versitygw v1.7.0 auth/bucket_policy_actions.go: actions that need an object resource (supportedObjectActionList, the ones used here). */
const objectActions = new Set(["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:PutObjectTagging"]);

/**
 * Why versitygw's PutBucketPolicy would reject the document (auth/bucket_policy.go Validate and the
 * Principals/Resources/Actions validators): version 2008-10-17 or 2012-10-17; Effect Allow/Deny;
 * principals that exist as accounts; resources with the ARN prefix that start with the bucket name;
 * object actions only with an object resource, bucket actions only with a bucket resource.
 */
function versitygwPolicyProblems(policy: any, bucket: string, accounts: string[]): string[] {
    const problems: string[] = [];
    if (!["2008-10-17", "2012-10-17"].includes(policy.Version)) problems.push(`version ${policy.Version}`);
    for (const [i, s] of (policy.Statement as any[]).entries()) {
        if (!["Allow", "Deny"].includes(s.Effect)) problems.push(`statement ${i}: effect ${s.Effect}`);
        for (const p of principalsOf(s.Principal)) if (p !== "*" && !accounts.includes(p)) problems.push(`statement ${i}: principal ${p} is not an account`);
        const resources = asList(s.Resource) as string[];
        for (const r of resources) {
            if (!r.startsWith("arn:aws:s3:::") || !r.slice("arn:aws:s3:::".length).startsWith(bucket)) problems.push(`statement ${i}: resource ${r}`);
        }
        const hasObject = resources.some((r) => r.includes("/"));
        const hasBucket = resources.some((r) => !r.includes("/"));
        for (const a of asList(s.Action) as string[]) {
            if (!a.startsWith("s3:")) problems.push(`statement ${i}: action ${a}`);
            // `s3:*` is neither kind: versitygw stops checking the statement's actions there.
            if (a === "s3:*") break;
            if (objectActions.has(a) && !hasObject) problems.push(`statement ${i}: ${a} needs an object resource`);
            if (!objectActions.has(a) && !hasBucket) problems.push(`statement ${i}: ${a} needs a bucket resource`);
        }
    }
    return problems;
}

// ---------------------------------------------------------------------------------------------

describe("pure helpers", () => {
    it("the endpoint is host:port without a scheme, on versitygw's port", () => {
        expect(localStoreEndpoint("store")).toBe("versitygw.store.svc.cluster.local:7070");
    });

    it("bucket names follow S3 rules", () => {
        expect(bucketNameProblems("models")).toEqual([]);
        expect(bucketNameProblems("Models")).not.toEqual([]);
        expect(bucketNameProblems("ab")).not.toEqual([]);
        expect(bucketNameProblems("a..b")).not.toEqual([]);
        expect(bucketNameProblems("10.0.0.1")).not.toEqual([]);
    });
});

describe("KServe v0.20.0 reads the Secret the way we write it", () => {
    const endpoint = localStoreEndpoint("model-store");
    const annotations = kserveS3SecretAnnotations({ endpoint, region: localStoreRegion });

    it("uses only annotation names KServe defines, and the ones it needs for plain HTTP", () => {
        for (const name of Object.keys(annotations)) expect(Object.values(kserveAnnotation)).toContain(name);
        // Without s3-usehttps "0" KServe builds an https:// URL for a scheme-less endpoint.
        expect(kserveDerivedEnv(annotations, { accessKeyId: "a", secretAccessKey: "b" }).AWS_ENDPOINT_URL.value).toBe(`http://${endpoint}`);
        const { [kserveAnnotation.useHttps]: _dropped, ...withoutHttps } = annotations;
        expect(kserveDerivedEnv(withoutHttps, { accessKeyId: "a", secretAccessKey: "b" }).AWS_ENDPOINT_URL.value).toBe(`https://${endpoint}`);
        // Virtual-host addressing would send requests to models.versitygw...; path style is what versitygw serves by default.
        expect(annotations[kserveAnnotation.useVirtualBucket]).toBeUndefined();
    });

    it("storageEnv equals what KServe derives from the Secret (for containers KServe does not manage)", () => {
        const derived = kserveDerivedEnv(annotations, { accessKeyId: "AWS_ACCESS_KEY_ID", secretAccessKey: "AWS_SECRET_ACCESS_KEY" });
        const ours = Object.fromEntries(
            localStorageEnv({ endpoint, region: localStoreRegion, secretName: "creds" }).map((e) => [
                e.name,
                e.valueFrom ? { secretKey: (e.valueFrom as any).secretKeyRef.key } : { value: e.value as string },
            ]),
        );
        expect(ours).toEqual(derived);
        for (const e of localStorageEnv({ endpoint, region: localStoreRegion, secretName: "creds" }).filter((e) => e.valueFrom)) {
            expect((e.valueFrom as any).secretKeyRef.name).toBe("creds");
        }
    });

    it("storageEnv carries every variable the storage initializer reads for an S3 download (kserve_storage.py)", () => {
        const names = localStorageEnv({ endpoint, region: localStoreRegion, secretName: "creds" }).map((e) => e.name);
        // _get_s3_client_kwargs / get_S3_config read these; boto3 reads the two keys.
        for (const read of ["AWS_ENDPOINT_URL", "S3_VERIFY_SSL", "AWS_DEFAULT_REGION", "awsAnonymousCredential", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
            expect(names).toContain(read);
        }
    });

    itWithSharedSchemas(
        "the Secret's data keys are the ones KServe's chart configures, and our KServe values keep them",
        () => {
            // charts/kserve-resources values.yaml (v0.20.0): kserve.storage.s3.accessKeyIdName / secretAccessKeyName
            // feed inferenceservice-config's credentials.s3.s3AccessKeyIDName / s3SecretAccessKeyName;
            // mountSecretCredential treats a Secret as S3 when it has the secret-key key.
            const chart = readUpstreamYaml("kserve", "kserve-resources.values.yaml") as any;
            const keys = { accessKeyId: chart.kserve.storage.s3.accessKeyIdName, secretAccessKey: chart.kserve.storage.s3.secretAccessKeyName };
            const localValues = kserveResourcesValues({ domain: "127.0.0.1.sslip.io" }) as any;
            expect(localValues.kserve.storage.s3.accessKeyIdName).toBeUndefined();
            expect(localValues.kserve.storage.s3.secretAccessKeyName).toBeUndefined();
            const storeEnv = localStorageEnv({ endpoint, region: localStoreRegion, secretName: "creds" });
            expect(storeEnv.find((e) => e.name === "AWS_ACCESS_KEY_ID")!.valueFrom).toEqual({ secretKeyRef: { name: "creds", key: keys.accessKeyId } });
            expect(storeEnv.find((e) => e.name === "AWS_SECRET_ACCESS_KEY")!.valueFrom).toEqual({ secretKeyRef: { name: "creds", key: keys.secretAccessKey } });
        },
    );
});

describe("bucket policy under versitygw v1.7.0's evaluation", () => {
    const policy = modelsBucketPolicy("models");

    it("is a document versitygw's PutBucketPolicy accepts (once the models' account exists)", () => {
        expect(versitygwPolicyProblems(policy, "models", [modelsAccessKeyId])).toEqual([]);
        // ...and the check can fail: before the account exists, or with a mis-scoped action.
        expect(versitygwPolicyProblems(policy, "models", [])).not.toEqual([]);
        const misScoped = { ...policy, Statement: [{ ...policy.Statement[0], Action: ["s3:GetObject"] }] };
        expect(versitygwPolicyProblems(misScoped, "models", [modelsAccessKeyId])).not.toEqual([]);
    });

    it.each(neededCalls.map((c) => [`${c.client}: ${c.call} (${c.source})`, c] as const))("allows %s", (_label, c) => {
        expect(versitygwAllows(policy, modelsAccessKeyId, "models", c.key, c.action)).toBe(true);
    });

    it.each(forbiddenCalls.map((c) => [`${c.call} (${c.source})`, c] as const))("denies %s", (_label, c) => {
        expect(versitygwAllows(policy, modelsAccessKeyId, c.bucket ?? "models", c.key, c.action)).toBe(false);
    });

    it("grants nothing to any other account", () => {
        for (const c of neededCalls) expect(versitygwAllows(policy, "someone-else", "models", c.key, c.action)).toBe(false);
    });

    it("the contract table can fail: without s3:ListBucket, KServe's HeadBucket is denied", () => {
        const withoutList = { ...policy, Statement: policy.Statement.filter((s) => !s.Action.includes("s3:ListBucket")) };
        const headBucket = neededCalls.find((c) => c.call === "HeadBucket")!;
        expect(versitygwAllows(withoutList, modelsAccessKeyId, "models", headBucket.key, headBucket.action)).toBe(false);
    });
});

describe("setup scripts (run against stand-ins for boto3 and the versitygw CLI)", () => {
    const fixtures = path.resolve(__dirname, "fixtures");
    const python = python3Interpreter;
    const shell = spawnSync("sh", ["-c", "exit 0"]).status === 0;
    if (!python) noteSkippedForMissingTool("the create-bucket.py runs", "python3");
    if (!shell) noteSkippedForMissingTool("the create-user.sh runs", "sh");
    const scripts = setupScripts();
    const policy = JSON.stringify(modelsBucketPolicy("models"));

    async function runBucketScript(extraEnv: Record<string, string>) {
        const dir = fs.mkdtempSync(path.join(tmp, "bucket-"));
        const script = path.join(dir, "create-bucket.py");
        fs.writeFileSync(script, scripts["create-bucket.py"]);
        const log = path.join(dir, "calls.jsonl");
        const result = await runPython(hermeticScripts(python!), [script], {
            env: {
                PATH: process.env.PATH ?? "",
                PYTHONPATH: path.join(fixtures, "s3stub"),
                // No __pycache__ next to the stand-ins in the work tree.
                PYTHONDONTWRITEBYTECODE: "1",
                S3STUB_LOG: log,
                BUCKET: "models",
                POLICY_JSON: policy,
                AWS_ENDPOINT_URL: "http://versitygw.model-store.svc.cluster.local:7070",
                ...extraEnv,
            },
        });
        const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l)) : [];
        return { status: result.status, stderr: result.stderr, calls };
    }

    it.skipIf(!python)("create-bucket.py creates the bucket, puts the policy and reads it back", async () => {
        const run = await runBucketScript({});
        expect(run.status, run.stderr).toBe(0);
        expect(run.calls.map((c) => c.operation)).toEqual(["client", "CreateBucket", "PutBucketPolicy", "GetBucketPolicy"]);
        expect(run.calls[1].Bucket).toBe("models");
        expect(JSON.parse(run.calls[2].Policy)).toEqual(modelsBucketPolicy("models"));
    });

    it.skipIf(!python)("create-bucket.py on a second run keeps the bucket it owns and puts the policy again", async () => {
        const run = await runBucketScript({ S3STUB_CREATE_BUCKET_ERROR: "BucketAlreadyOwnedByYou" });
        expect(run.status, run.stderr).toBe(0);
        expect(run.calls.map((c) => c.operation)).toContain("PutBucketPolicy");
    });

    it.skipIf(!python)("create-bucket.py fails on someone else's bucket, and when the policy does not stick", async () => {
        const taken = await runBucketScript({ S3STUB_CREATE_BUCKET_ERROR: "BucketAlreadyExists" });
        expect(taken.status).not.toBe(0);
        expect(taken.calls.map((c) => c.operation)).not.toContain("PutBucketPolicy");
        const drifted = await runBucketScript({ S3STUB_POLICY_READBACK: JSON.stringify({ Version: "2012-10-17", Statement: [] }) });
        expect(drifted.status).not.toBe(0);
        expect(drifted.stderr).toMatch(/policy read back differs/);
    });

    function runUserScript(fail: string) {
        const dir = fs.mkdtempSync(path.join(tmp, "user-"));
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.copyFileSync(path.join(fixtures, "versitygw-stub.sh"), path.join(bin, "versitygw"));
        fs.chmodSync(path.join(bin, "versitygw"), 0o755);
        const script = path.join(dir, "create-user.sh");
        fs.writeFileSync(script, scripts["create-user.sh"]);
        const log = path.join(dir, "calls.log");
        const result = spawnSync("sh", [script], {
            encoding: "utf8",
            env: { PATH: `${bin}:${process.env.PATH ?? ""}`, VGWSTUB_LOG: log, VGWSTUB_FAIL: fail, MODELS_ACCESS_KEY_ID: "kserve-models", MODELS_SECRET_ACCESS_KEY: "s3cr3t" },
        });
        const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
        return { status: result.status, stderr: result.stderr, calls };
    }

    it.skipIf(!shell)("create-user.sh creates a non-admin account (role user: no bucket creation, no admin API)", () => {
        const run = runUserScript("");
        expect(run.status, run.stderr).toBe(0);
        expect(run.calls).toEqual(["admin create-user --access kserve-models --secret s3cr3t --role user"]);
    });

    it.skipIf(!shell)("create-user.sh on a second run updates the existing account's secret and role", () => {
        const run = runUserScript("create-user");
        expect(run.status, run.stderr).toBe(0);
        expect(run.calls).toEqual(["admin create-user --access kserve-models --secret s3cr3t --role user", "admin update-user --access kserve-models --secret s3cr3t --role user"]);
    });

    it.skipIf(!shell)("create-user.sh fails when the server answers neither call", () => {
        expect(runUserScript("create-user update-user").status).not.toBe(0);
    });
});

describe("LocalModelStore component", async () => {
    const rec = await installMocks();
    const modelsNs = new k8s.core.v1.Namespace("models", { metadata: { name: "models" } });
    const store = new LocalModelStore("store", { namespace: modelsNs.metadata.name, serviceAccountName: "kserve-models" });
    // The seeding Job as the models layer wires it to the store (it signs for the region the store checks).
    new ModelSeeding("seed", {
        namespace: store.storage.namespace,
        bucket: store.storage.bucket,
        serviceAccountName: store.storage.writerServiceAccountName,
        env: store.storage.writerEnv,
        models: [{ name: "mnist", dest: "mnist/", source: { kind: "gcs", uri: "gs://kfserving-examples/models/tensorflow/mnist" } }],
        waitFor: [...store.storage.ready],
    });
    await rec.settle();
    const secret = () => rec.one("kubernetes:core/v1:Secret", "-kserve-s3");
    const rootSecret = () => rec.one("kubernetes:core/v1:Secret", "store-credentials");
    const deployment = () => rec.one("kubernetes:apps/v1:Deployment", "-versitygw");
    const server = () => deployment().inputs.spec.template.spec.containers[0];
    const serverEnv = () => Object.fromEntries(server().env.map((e: any) => [e.name, e]));
    const job = () => rec.one("kubernetes:batch/v1:Job", "store-setup");
    const seedingJob = () => rec.one("kubernetes:batch/v1:Job", "seed-job");

    it("creates no AWS resources", () => {
        expect(rec.resources.filter((r) => r.type.startsWith("aws:") || r.type.startsWith("eks:") || r.type.startsWith("awsx:"))).toEqual([]);
    });

    it("KServe S3 secret in the models namespace carries the annotations and keys", () => {
        const s = secret();
        expect(s.inputs.metadata.namespace).toBe("models");
        expect(s.inputs.metadata.annotations).toEqual(kserveS3SecretAnnotations({ endpoint: "versitygw.model-store.svc.cluster.local:7070", region: "us-east-1" }));
        expect(plain(s.inputs.stringData).AWS_ACCESS_KEY_ID).toBe("kserve-models");
        // The secret key comes from a RandomPassword (its value is unknown under mocks).
        const passwords = rec.byType("random:index/randomPassword:RandomPassword");
        expect(passwords.map((p) => p.urn)).toEqual(expect.arrayContaining([...s.propertyDependencies.stringData]));
        expect(s.propertyDependencies.stringData.length).toBe(1);
    });

    it("the models ServiceAccount lists the secret (KServe's lookup path)", () => {
        const sa = rec.one("kubernetes:core/v1:ServiceAccount", "store-models-sa");
        expect(sa.inputs.metadata).toMatchObject({ name: "kserve-models", namespace: "models" });
        expect(sa.inputs.secrets).toEqual([{ name: "model-store-s3-credentials" }]);
        expect(rec.dependsOn(sa, secret())).toBe(true);
    });

    it("waits for the models namespace", () => {
        expect(rec.dependsOn(secret(), rec.one("kubernetes:core/v1:Namespace", "models"))).toBe(true);
    });

    it("root credentials are generated and stay in the store's namespace", () => {
        const root = rootSecret();
        expect(root.inputs.metadata.namespace).toBe("model-store");
        // Generated values are unknown under mocks (the mock returns no `result`), so only the fixed keys show.
        expect(plain(root.inputs.stringData)).toEqual({ ROOT_ACCESS_KEY_ID: "model-store-root", MODELS_ACCESS_KEY_ID: "kserve-models" });
        const passwords = rec.byType("random:index/randomPassword:RandomPassword");
        expect(passwords).toHaveLength(2);
        expect([...root.propertyDependencies.stringData].sort()).toEqual(passwords.map((p) => p.urn).sort());
        for (const p of passwords) expect(p.inputs.length).toBeGreaterThanOrEqual(32);
        expect(JSON.stringify(secret().inputs)).not.toContain("ROOT_");
    });

    it("the server runs the pinned versitygw image, non-root, read-only root, with limits", () => {
        const spec = deployment().inputs.spec.template.spec;
        expect(deployment().inputs.metadata.namespace).toBe("model-store");
        expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
        expect(spec.automountServiceAccountToken).toBe(false);
        const c = server();
        expect(c.image).toBe(images.versitygw);
        expect(images.versitygw).toMatch(/^ghcr\.io\/versity\/versitygw:v\d+\.\d+\.\d+$/);
        expect(c.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
        expect(c.securityContext.runAsUser).toBeGreaterThan(0);
        expect(c.resources.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
        expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
        expect(deployment().inputs.spec.strategy.type).toBe("Recreate");
    });

    it("the server is started the way versitygw's entrypoint and flags expect", () => {
        const c = server();
        // docker-entrypoint.sh: with arguments it runs `versitygw <args>`; `posix <dir>` serves <dir>'s sub-directories as buckets.
        expect(c.command).toBeUndefined();
        expect(c.args[0]).toBe("posix");
        for (const name of Object.keys(serverEnv())) expect(versitygwServerEnv.has(name), `${name} is not read by versitygw`).toBe(true);
        expect(serverEnv().VGW_PORT.value).toBe(`:${versitygwPort}`);
        expect(serverEnv().ROOT_ACCESS_KEY_ID.valueFrom.secretKeyRef.key).toBe("ROOT_ACCESS_KEY_ID");
        expect(serverEnv().ROOT_SECRET_ACCESS_KEY.valueFrom.secretKeyRef.key).toBe("ROOT_SECRET_ACCESS_KEY");
    });

    it("buckets, their metadata and the IAM accounts all live on the PVC, in separate directories", () => {
        const spec = deployment().inputs.spec.template.spec;
        const data = spec.volumes.find((v: any) => v.persistentVolumeClaim);
        expect(data.persistentVolumeClaim.claimName).toBe("model-store-data");
        const onPvc = (dir: string) => server().volumeMounts.find((m: any) => m.mountPath === dir && m.name === data.name);
        const dirs = [server().args[1], serverEnv().VGW_META_SIDECAR.value, serverEnv().VGW_IAM_DIR.value];
        for (const dir of dirs) expect(onPvc(dir), `${dir} is not on the PVC`).toBeDefined();
        expect(new Set(dirs.map((d) => onPvc(d).subPath)).size).toBe(3);
        expect(rec.one("kubernetes:core/v1:PersistentVolumeClaim").inputs.spec.resources.requests.storage).toBe("10Gi");
    });

    it("probes use the health path the server is told to serve", () => {
        const c = server();
        expect(c.readinessProbe.httpGet).toEqual({ path: serverEnv().VGW_HEALTH.value, port: versitygwPort });
        expect(c.livenessProbe.httpGet.path).toBe(serverEnv().VGW_HEALTH.value);
    });

    it("one region everywhere: the server checks the one KServe, the setup Job and the seeding Job sign with", () => {
        const serverRegion = serverEnv().VGW_REGION.value;
        expect(secret().inputs.metadata.annotations["serving.kserve.io/s3-region"]).toBe(serverRegion);
        const setupEnv = [...job().inputs.spec.template.spec.initContainers, ...job().inputs.spec.template.spec.containers].flatMap((c: any) => c.env);
        expect(setupEnv.find((e: any) => e.name === "ADMIN_REGION").value).toBe(serverRegion);
        expect(setupEnv.find((e: any) => e.name === "AWS_DEFAULT_REGION").value).toBe(serverRegion);
        // botocore signs with AWS_DEFAULT_REGION, else (for S3 with a custom endpoint) us-east-1.
        const seedEnv = seedingJob().inputs.spec.template.spec.containers[0].env;
        const seedRegion = seedEnv.find((e: any) => e.name === "AWS_DEFAULT_REGION")?.value ?? seedEnv.find((e: any) => e.name === "AWS_REGION")?.value ?? "us-east-1";
        expect(seedRegion).toBe(serverRegion);
    });

    it("the seeding Job writes to this store with the models' credentials and waits for it", () => {
        const env = Object.fromEntries(seedingJob().inputs.spec.template.spec.containers[0].env.map((e: any) => [e.name, e]));
        expect(env.AWS_ENDPOINT_URL.value).toBe("http://versitygw.model-store.svc.cluster.local:7070");
        expect(env.AWS_SECRET_ACCESS_KEY.valueFrom.secretKeyRef.name).toBe("model-store-s3-credentials");
        expect(rec.dependsOn(seedingJob(), job())).toBe(true);
    });

    it("Service versitygw:7070 selects the server pods", () => {
        const svc = rec.one("kubernetes:core/v1:Service");
        expect(svc.inputs.metadata).toMatchObject({ name: "versitygw", namespace: "model-store" });
        expect(svc.inputs.spec.ports[0].port).toBe(versitygwPort);
        expect(svc.inputs.spec.ports[0].targetPort).toBe(server().ports[0].containerPort);
        expect(deployment().inputs.spec.template.metadata.labels).toMatchObject(svc.inputs.spec.selector);
    });

    it("setup Job: the account first (admin CLI), then bucket and policy (boto3 as root), after the server is up", () => {
        const spec = job().inputs.spec.template.spec;
        const [user] = spec.initContainers;
        const [bucket] = spec.containers;
        expect(user.image).toBe(images.versitygw);
        expect(user.command).toEqual(["/bin/sh", "/scripts/create-user.sh"]);
        const userEnv = Object.fromEntries(user.env.map((e: any) => [e.name, e]));
        for (const name of versitygwAdminEnv) expect(userEnv[name], name).toBeDefined();
        expect(userEnv.ADMIN_ENDPOINT_URL.value).toBe(`http://${localStoreEndpoint("model-store")}`);
        expect(userEnv.ADMIN_ACCESS_KEY_ID.valueFrom.secretKeyRef.key).toBe("ROOT_ACCESS_KEY_ID");
        expect(bucket.image).toBe(images.kserveStorageInitializer);
        expect(bucket.command).toEqual(["python", "/scripts/create-bucket.py"]);
        const bucketEnv = Object.fromEntries(bucket.env.map((e: any) => [e.name, e]));
        expect(bucketEnv.BUCKET.value).toBe("models");
        expect(JSON.parse(bucketEnv.POLICY_JSON.value)).toEqual(modelsBucketPolicy("models"));
        expect(bucketEnv.AWS_SECRET_ACCESS_KEY.valueFrom.secretKeyRef.key).toBe("ROOT_SECRET_ACCESS_KEY");
        for (const c of [user, bucket]) {
            expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
            expect(c.resources.limits.memory).toBeDefined();
        }
        expect(rec.dependsOn(job(), deployment())).toBe(true);
    });

    it("setup Job mounts the scripts from this repository's files", () => {
        const cm = rec.one("kubernetes:core/v1:ConfigMap", "store-setup-scripts");
        expect(cm.inputs.data["create-user.sh"]).toBe(fs.readFileSync(path.resolve(__dirname, "../components/local/localModelStore.create-user.sh"), "utf8"));
        expect(cm.inputs.data["create-bucket.py"]).toBe(fs.readFileSync(path.resolve(__dirname, "../components/local/localModelStore.create-bucket.py"), "utf8"));
        expect(job().inputs.spec.template.spec.volumes.find((v: any) => v.name === "scripts").configMap.name).toBe(cm.state.metadata?.name ?? cm.inputs.metadata?.name);
    });

    it("models and seeding wait for the server, the setup Job, the Secret and both ServiceAccounts", async () => {
        const urns = await Promise.all(store.ready.map((r) => promiseOf(r.urn)));
        const readyTypes = urns.map((urn) => rec.byUrn(urn)?.type);
        expect(store.ready).toHaveLength(6);
        expect(readyTypes.filter((t) => t === "kubernetes:core/v1:ServiceAccount")).toHaveLength(2);
        expect(readyTypes).toEqual(
            expect.arrayContaining(["kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job", "kubernetes:core/v1:Secret", "kubernetes:core/v1:ServiceAccount"]),
        );
    });

    it("enforces restricted Pod Security in its namespace", () => {
        const ns = rec.one("kubernetes:core/v1:Namespace", "store-ns");
        expect(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    });

    it("outputs", async () => {
        expect(await promiseOf(store.endpoint)).toBe("versitygw.model-store.svc.cluster.local:7070");
        expect(await promiseOf(store.endpointUrl)).toBe("http://versitygw.model-store.svc.cluster.local:7070");
        expect(await promiseOf(store.bucketName)).toBe("models");
        expect(await promiseOf(store.serviceAccountName)).toBe("kserve-models");
        expect(await promiseOf(store.credentialsSecretName)).toBe("model-store-s3-credentials");
        expect(await promiseOf(store.namespace)).toBe("models");
        expect(store.storageEnv.map((e) => e.name)).toContain("AWS_ENDPOINT_URL");
    });

    it("labels what it creates", () => {
        for (const r of rec.resources.filter((r) => r.type.startsWith("kubernetes:") && r.name.startsWith("store-"))) {
            expect(r.inputs.metadata.labels, r.name).toMatchObject({ "app.kubernetes.io/part-of": "inference-platform", "app.kubernetes.io/managed-by": "pulumi" });
        }
    });

    it("its objects validate against the Kubernetes schemas (kubernetes-models)", async () => {
        const models: Record<string, () => Promise<any>> = {
            "kubernetes:apps/v1:Deployment": async () => (await import("kubernetes-models/apps/v1")).Deployment,
            "kubernetes:batch/v1:Job": async () => (await import("kubernetes-models/batch/v1")).Job,
            "kubernetes:core/v1:Service": async () => (await import("kubernetes-models/v1")).Service,
            "kubernetes:core/v1:Secret": async () => (await import("kubernetes-models/v1")).Secret,
            "kubernetes:core/v1:ConfigMap": async () => (await import("kubernetes-models/v1")).ConfigMap,
            "kubernetes:core/v1:ServiceAccount": async () => (await import("kubernetes-models/v1")).ServiceAccount,
            "kubernetes:core/v1:PersistentVolumeClaim": async () => (await import("kubernetes-models/v1")).PersistentVolumeClaim,
            "kubernetes:core/v1:Namespace": async () => (await import("kubernetes-models/v1")).Namespace,
        };
        const ours = rec.resources.filter((r) => r.type.startsWith("kubernetes:") && r.name.startsWith("store-"));
        expect(ours.length).toBeGreaterThanOrEqual(9);
        for (const r of ours) {
            const Model = await models[r.type]?.();
            expect(Model, `no schema for ${r.type}`).toBeDefined();
            const { apiVersion, kind, ...rest } = r.inputs;
            // Auto-named objects get their name from the provider; secret-wrapped values are plain here.
            const obj = JSON.parse(JSON.stringify({ ...rest, metadata: { ...r.inputs.metadata, name: r.inputs.metadata?.name ?? "x" } }, (_k, v) => plain(v)));
            expect(() => new Model(obj).validate(), r.name).not.toThrow();
        }
    });

    it("validates before creating anything", () => {
        const before = rec.resources.length;
        expect(() => new LocalModelStore("b1", { namespace: "models", serviceAccountName: "Bad_Name" })).toThrow(/serviceAccountName/);
        expect(() => new LocalModelStore("b2", { namespace: "models", serviceAccountName: "sa", bucketName: "No" })).toThrow(/bucketName/);
        expect(() => new LocalModelStore("b3", { namespace: "", serviceAccountName: "sa" })).toThrow(/namespace is required/);
        expect(() => new LocalModelStore("b4", { namespace: "m", serviceAccountName: "sa", storageSize: "lots" })).toThrow(/storageSize/);
        expect(() => new LocalModelStore("b5", { namespace: "m", serviceAccountName: "sa", storeNamespace: "Store_NS", storageClassName: "Bad Class" })).toThrow(
            /storeNamespace.*storageClassName/,
        );
        expect(rec.resources.length).toBe(before);
    });
});
