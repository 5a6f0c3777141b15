import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import type { ModelStorage } from "../components/common/foundation";
import {
    clothingTransformerEnv,
    defaultExamples,
    ExampleName,
    exampleNames,
    ExampleContext,
    exampleInputFiles,
    exampleInvocations,
    ExampleModels,
    exampleModelsProblems,
    exampleSpec,
    plainInterpolate,
    seedModelsFor,
} from "../components/models/exampleModels";
import { renderInferenceService } from "../components/models/inferenceService";
import { LlmExampleSettings, qwen25Instruct05b } from "../components/models/llm";
import { loadCrdValidator } from "./crdSchema";
import { installMocks, promiseOf } from "./kit";
import { describeWithSharedSchemas } from "./shared";
import { gatewayBudgetIn, progressive40MpCost } from "./gatewayLimits";

const crd = loadCrdValidator("kserve", "serving.kserve.io_inferenceservices.yaml");

const repoRoot = path.resolve(__dirname, "..");

/** A foundation's model storage, as the AWS store (reader IRSA account, writer account) or the local one describes it. */
function storageOf(over: { bucket: string; reader: string; writer?: string; writerEnv?: ModelStorage["writerEnv"]; namespace?: string; modelPrefix?: string }): ModelStorage {
    return {
        bucket: pulumi.output(over.bucket),
        modelPrefix: over.modelPrefix ?? "models/",
        namespace: pulumi.output(over.namespace ?? "models"),
        readerServiceAccountName: pulumi.output(over.reader),
        readerEnv: [],
        writerServiceAccountName: pulumi.output(over.writer ?? "model-seeder"),
        writerEnv: over.writerEnv ?? [{ name: "AWS_REGION", value: "us-east-2" }],
        kserveDefaults: undefined,
        ready: [],
    };
}
const localStoreEnv = [
    { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: "store-creds", key: "AWS_ACCESS_KEY_ID" } } },
    { name: "AWS_ENDPOINT_URL", value: "http://versitygw.model-store.svc.cluster.local:7070" },
];
const eksBucket = "inference-platform-dev-models-abcd1234";
/** The llm example's settings as the dev stack derives them (config validation keeps llm off kind, but the spec renders anywhere). */
const llm: LlmExampleSettings = {
    model: qwen25Instruct05b,
    capacity: { gpuInstanceTypes: ["g6.xlarge", "g5.xlarge", "g4dn.xlarge"], nodeProvisioning: "cluster-autoscaler", imagePull: "parallel" },
    minReplicas: 0,
    maxRevisionTimeoutSeconds: 1800,
};
const contexts: Record<"eks" | "local", ExampleContext<string>> = {
    eks: { namespace: "models", bucket: eksBucket, modelPrefix: "models/", serviceAccountName: "kserve-models", gatewayImage: "123456789012.dkr.ecr.us-east-2.amazonaws.com/gateway:abc", modelClaim: { name: "models", readOnly: true }, llm, interpolate: plainInterpolate },
    local: { namespace: "models", bucket: "models", modelPrefix: "models/", serviceAccountName: "kserve-minio", gatewayImage: "gateway:dev", modelClaim: { name: "models", readOnly: true }, llm, interpolate: plainInterpolate },
};
const render = (example: ExampleName, backend: "eks" | "local" = "eks") => renderInferenceService(exampleSpec(example, contexts[backend]));

describeWithSharedSchemas("every example, on both backends, matches the KServe CRD", () => {
    for (const backend of ["eks", "local"] as const) {
        for (const example of exampleNames) {
            it(`${example} (${backend})`, () => {
                expect(crd!.errors(render(example, backend))).toEqual([]);
            });
        }
    }
    it("with another model prefix", () => {
        const ctx = { ...contexts.eks, modelPrefix: "serving/" };
        for (const example of exampleNames) expect(crd!.errors(renderInferenceService(exampleSpec(example, ctx)))).toEqual([]);
    });
});

describe("example specs", () => {
    it("all scale to zero", () => {
        for (const example of exampleNames) expect(render(example).spec.predictor.minReplicas, example).toBe(0);
        expect(render("clothing-transformer").spec.transformer!.minReplicas).toBe(0);
    });

    it("sklearn-iris: public GCS model over v2 on the sklearn server", () => {
        const m = render("sklearn-iris").spec.predictor.model;
        expect(m).toMatchObject({ modelFormat: { name: "sklearn" }, protocolVersion: "v2", runtime: "kserve-sklearnserver", storageUri: "gs://kfserving-examples/models/sklearn/1.0/model" });
        expect(render("sklearn-iris").spec.predictor.serviceAccountName).toBeUndefined();
    });

    it("bucket-backed examples read our bucket through the reader ServiceAccount", () => {
        for (const [backend, sa, bucket] of [["eks", "kserve-models", eksBucket], ["local", "kserve-minio", "models"]] as const) {
            expect(render("tensorflow-s3", backend).spec.predictor).toMatchObject({ serviceAccountName: sa, model: { modelFormat: { name: "tensorflow" }, protocolVersion: "v1", storageUri: `s3://${bucket}/models/mnist` } });
            expect(render("mlflow-s3", backend).spec.predictor).toMatchObject({ serviceAccountName: sa, model: { modelFormat: { name: "mlflow" }, protocolVersion: "v2", storageUri: `s3://${bucket}/models/mlflow-wine` } });
            expect(render("clothing-transformer", backend).spec.predictor.model.storageUri).toBe(`s3://${bucket}/models/clothing-model`);
            expect(render("gpu", backend).spec.predictor.serviceAccountName).toBe(sa);
        }
    });

    it("clothing-transformer: TF predictor plus the gateway as transformer with the book's settings", () => {
        const m = render("clothing-transformer");
        const t = m.spec.transformer!.containers[0];
        expect(t.image).toBe(contexts.eks.gatewayImage);
        expect(t.args).toEqual(["--model_name", "clothing-transformer", "--predictor_host", "clothing-transformer-predictor.models", "--protocol", "v1"]);
        expect(Object.fromEntries(t.env!.map((e) => [e.name, e.value]))).toEqual({
            MODEL_INPUT_SIZE: "299,299",
            KERAS_MODEL_NAME: "xception",
            MODEL_LABELS: "dress,hat,longsleeve,outwear,pants,shirt,shoes,shorts,skirt,t-shirt",
        });
        expect(clothingTransformerEnv.MODEL_LABELS.split(",")).toHaveLength(10);
        expect(m.spec.predictor.model.modelFormat.name).toBe("tensorflow");
    });

    it("clothing-transformer: the gateway starts within the transformer's memory limit with room for a 40-MP progressive JPEG", () => {
        expect(gatewayBudgetIn(render("clothing-transformer").spec.transformer!.containers[0] as never)).toBeGreaterThanOrEqual(progressive40MpCost);
    });

    it("keeps TF Serving (amd64-only images) on amd64 nodes", () => {
        for (const example of ["tensorflow-s3", "clothing-transformer", "gpu"] as const) {
            expect(render(example).spec.predictor.nodeSelector?.["kubernetes.io/arch"], example).toBe("amd64");
        }
        expect(render("sklearn-iris").spec.predictor.nodeSelector).toBeUndefined();
    });

    it("gpu: one NVIDIA GPU, the GPU image, toleration and node selector", () => {
        const p = render("gpu").spec.predictor;
        expect(p.model.resources.limits!["nvidia.com/gpu"]).toBe("1");
        expect(p.model.runtimeVersion).toMatch(/-gpu$/);
        expect(p.tolerations).toContainEqual({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" });
        expect(p.nodeSelector).toEqual({ "nvidia.com/gpu.present": "true", "kubernetes.io/arch": "amd64" });
        expect(defaultExamples).not.toContain("gpu");
    });

    it("seeds each model once, and nothing for the GCS-only example", () => {
        expect(seedModelsFor(["tensorflow-s3", "gpu"]).map((m) => m.name)).toEqual(["mnist"]);
        expect(seedModelsFor(["sklearn-iris"])).toEqual([]);
        expect(seedModelsFor([...exampleNames]).map((m) => m.name).sort()).toEqual(["clothing-model", "iris-svc", "mlflow-wine", "mnist", "qwen25-05b-instruct"]);
        expect(seedModelsFor(["llm"])).toEqual([{ name: "qwen25-05b-instruct", dest: "qwen25-05b-instruct/", source: { kind: "huggingface", repo: qwen25Instruct05b.repo, revision: qwen25Instruct05b.revision, files: qwen25Instruct05b.files } }]);
    });

    it("rejects bad example lists", () => {
        expect(exampleModelsProblems({ examples: ["clothing-transformer"] }).join()).toMatch(/needs gatewayImage/);
        expect(exampleModelsProblems({ examples: ["nope" as ExampleName] }).join()).toMatch(/'nope' is not one of/);
        expect(exampleModelsProblems({ examples: ["gpu", "gpu"] }).join()).toMatch(/listed twice/);
        expect(exampleModelsProblems({ examples: [...defaultExamples], gatewayImage: "g:1" }).join()).toMatch(/sklearn-iris-pvc serves from the model claim/);
        expect(exampleModelsProblems({ examples: defaultExamples.filter((e) => e !== "sklearn-iris-pvc"), gatewayImage: "g:1" })).toEqual([]);
    });
});

describe("example invocations", () => {
    const eks = exampleInvocations({ examples: [...exampleNames], namespace: "models", domain: "203.0.113.7.sslip.io", ingress: "203.0.113.7" });
    const kind = exampleInvocations({ examples: ["sklearn-iris"], namespace: "models", domain: "127.0.0.1.sslip.io", ingress: "127.0.0.1:8080", authHeader: "Authorization: Bearer $TOKEN" });

    it("gives the URL, the endpoint and two curl forms", () => {
        const iris = eks["sklearn-iris"]!;
        expect(iris.url).toBe("http://sklearn-iris.models.203.0.113.7.sslip.io");
        expect(iris.endpointUrl).toBe("http://sklearn-iris.models.203.0.113.7.sslip.io/v2/models/sklearn-iris/infer");
        expect(iris.curlViaIngress).toBe(
            "curl -sS -H 'Content-Type: application/json' -d @examples/iris-input.json -H 'Host: sklearn-iris.models.203.0.113.7.sslip.io' http://203.0.113.7/v2/models/sklearn-iris/infer",
        );
        expect(iris.curlViaDns).toBe("curl -sS -H 'Content-Type: application/json' -d @examples/iris-input.json http://sklearn-iris.models.203.0.113.7.sslip.io/v2/models/sklearn-iris/infer");
        expect(eks["tensorflow-s3"]!.endpointUrl).toMatch(/\/v1\/models\/tensorflow-s3:predict$/);
        expect(eks["clothing-transformer"]!.curlViaDns).toMatch(/-d @examples\/clothing-request.json .*\/v1\/models\/clothing-transformer:predict$/);
    });

    it("keeps the ingress port in the DNS form and adds the auth header", () => {
        expect(kind["sklearn-iris"]!.curlViaDns).toContain("http://sklearn-iris.models.127.0.0.1.sslip.io:8080/v2/models/sklearn-iris/infer");
        expect(kind["sklearn-iris"]!.curlViaIngress).toContain("-H 'Authorization: Bearer $TOKEN'");
        expect(Object.keys(kind)).toEqual(["sklearn-iris"]);
    });

    it("calls the llm at KServe's OpenAI chat route with the chat request", () => {
        const llmCall = eks.llm!;
        expect(llmCall.endpointUrl).toBe("http://llm.models.203.0.113.7.sslip.io/openai/v1/chat/completions");
        expect(llmCall.curlViaDns).toBe("curl -sS -H 'Content-Type: application/json' -d @examples/chat-input.json http://llm.models.203.0.113.7.sslip.io/openai/v1/chat/completions");
    });

    it("rejects an ingress that is not host[:port]", () => {
        expect(() => exampleInvocations({ examples: ["gpu"], namespace: "models", domain: "example.com", ingress: "http://1.2.3.4" })).toThrow(/host or host:port/);
    });

    it("every input file exists and is a well-formed request", () => {
        for (const file of new Set(Object.values(exampleInputFiles))) {
            const body = JSON.parse(fs.readFileSync(path.join(repoRoot, file), "utf8"));
            if (body.inputs) {
                // Open Inference Protocol: the data must have as many elements as the shape says.
                for (const input of body.inputs) {
                    expect(typeof input.name).toBe("string");
                    expect(["FP32", "FP64", "INT64", "BYTES"]).toContain(input.datatype);
                    const size = (input.shape as number[]).reduce((a, b) => a * b, 1);
                    expect([input.data].flat(Infinity).length, `${file} ${input.name}`).toBe(size);
                }
            } else if (body.messages) {
                // OpenAI chat completion: messages of known roles with text, for the served model name.
                expect(body.model, file).toBe("llm");
                for (const m of body.messages) {
                    expect(["system", "user", "assistant"], file).toContain(m.role);
                    expect(typeof m.content, file).toBe("string");
                }
                expect(body.messages.at(-1).role, file).toBe("user");
            } else {
                expect(Array.isArray(body.instances) && body.instances.length > 0, file).toBe(true);
            }
        }
        const mnist = JSON.parse(fs.readFileSync(path.join(repoRoot, "examples/mnist-input.json"), "utf8"));
        expect(mnist.instances[0]).toHaveLength(28);
        for (const row of mnist.instances[0]) expect(row).toHaveLength(28);
    });
});

describe("ExampleModels component", async () => {
    const rec = await installMocks();
    class Dep extends pulumi.CustomResource {
        constructor(name: string) {
            super("test:index:Dep", name, {});
        }
    }
    const kserve = new Dep("kserve");
    const claim = new Dep("claim");
    const eks = new ExampleModels("eks", {
        examples: [...defaultExamples],
        domain: "203.0.113.7.sslip.io",
        gatewayImage: pulumi.output("123456789012.dkr.ecr.us-east-2.amazonaws.com/gateway:abc"),
        storage: storageOf({ bucket: eksBucket, reader: "kserve-models" }),
        // The claim as the AWS foundation describes it: a read-only view of the store's model prefix.
        volume: {
            claimName: "models",
            namespace: pulumi.output("models"),
            readOnlyForModels: true,
            readManyAcrossNodes: true,
            content: { kind: "model-store" },
            ready: [claim],
            uploadCommand: pulumi.output("aws s3 cp"),
        },
        waitFor: [kserve],
    });
    new ExampleModels("local", {
        examples: ["sklearn-iris", "mlflow-s3", "gpu"],
        domain: "127.0.0.1.sslip.io",
        storage: storageOf({ bucket: "models", reader: "kserve-local", writerEnv: localStoreEnv }),
    });
    const other = storageOf({ bucket: "b", reader: "s" });
    new ExampleModels("seedonly", { examples: [], alsoSeed: ["clothing-transformer"], domain: "example.com", storage: other });
    new ExampleModels("gcsonly", { examples: ["sklearn-iris"], domain: "example.com", storage: other });
    await rec.settle();
    const isvcs = rec.byType("kubernetes:serving.kserve.io/v1beta1:InferenceService");
    const isvc = (prefix: string, example: string) => rec.one("kubernetes:serving.kserve.io/v1beta1:InferenceService", `${prefix}-${example}-isvc`);
    const eksJob = rec.one("kubernetes:batch/v1:Job", "eks-seeding-job");

    it("seeds models for examples that are off when asked (the inference server's clothing model)", () => {
        expect(isvcs.filter((r) => r.name.startsWith("seedonly-"))).toEqual([]);
        rec.one("kubernetes:batch/v1:Job", "seedonly-seeding-job");
        const manifest = rec.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name.startsWith("seedonly-"))!;
        expect(JSON.stringify(manifest.inputs.data)).toContain("clothing-model");
    });

    it("deploys the enabled examples only", () => {
        expect(isvcs.filter((r) => r.name.startsWith("eks-")).map((r) => r.inputs.metadata.name).sort()).toEqual(["clothing-transformer", "mlflow-s3", "sklearn-iris", "sklearn-iris-pvc", "tensorflow-s3"]);
        expect(isvcs.filter((r) => r.name.startsWith("local-")).map((r) => r.inputs.metadata.name).sort()).toEqual(["mlflow-s3", "sklearn-iris", "tensorflow-gpu"]);
    });

    it("S3-backed models wait for seeding; the GCS model does not", () => {
        for (const example of ["tensorflow-s3", "mlflow-s3", "clothing-transformer"]) expect(rec.dependsOn(isvc("eks", example), eksJob), example).toBe(true);
        expect(rec.dependsOn(isvc("eks", "sklearn-iris"), eksJob)).toBe(false);
        for (const example of ["tensorflow-s3", "sklearn-iris"]) expect(rec.dependsOn(isvc("eks", example), rec.one("test:index:Dep", "kserve")), example).toBe(true);
        expect(rec.dependsOn(eksJob, rec.one("test:index:Dep", "kserve"))).toBe(true);
    });

    it("S3-backed models use the store's reader account; seeding writes with its writer account", () => {
        expect(isvc("eks", "tensorflow-s3").inputs.spec.predictor.serviceAccountName).toBe("kserve-models");
        expect(isvc("eks", "tensorflow-s3").inputs.spec.predictor.model.storageUri).toBe(`s3://${eksBucket}/models/mnist`);
        expect(eksJob.inputs.spec.template.spec.serviceAccountName).toBe("model-seeder");
        // No identity of their own: roles and accounts belong to the foundation's store.
        expect(rec.byType("aws:iam/role:Role")).toEqual([]);
        expect(rec.byType("kubernetes:core/v1:ServiceAccount")).toEqual([]);
    });

    it("resolves Outputs inside the transformer (image from the gateway build)", () => {
        const t = isvc("eks", "clothing-transformer").inputs.spec.transformer.containers[0];
        expect(t.image).toBe("123456789012.dkr.ecr.us-east-2.amazonaws.com/gateway:abc");
        expect(t.args).toEqual(["--model_name", "clothing-transformer", "--predictor_host", "clothing-transformer-predictor.models", "--protocol", "v1"]);
    });

    it("seeds only what the enabled examples need", () => {
        const manifest = JSON.parse(rec.one("kubernetes:core/v1:ConfigMap", "eks-seeding-scripts").inputs.data["manifest.json"]);
        expect(manifest.models.map((m: { name: string }) => m.name)).toEqual(["clothing-model", "iris-svc", "mlflow-wine", "mnist"]);
        const local = JSON.parse(rec.one("kubernetes:core/v1:ConfigMap", "local-seeding-scripts").inputs.data["manifest.json"]);
        expect(local.models.map((m: { name: string }) => m.name)).toEqual(["mlflow-wine", "mnist"]);
        expect(rec.resources.filter((r) => r.name.startsWith("gcsonly-seeding")).length).toBe(0);
    });

    it("seeds an S3-compatible store with its writer environment locally", () => {
        const job = rec.one("kubernetes:batch/v1:Job", "local-seeding-job");
        expect(job.inputs.spec.template.spec.containers[0].env).toEqual(expect.arrayContaining(localStoreEnv));
        expect(isvc("local", "gpu").inputs.spec.predictor.serviceAccountName).toBe("kserve-local");
        expect(rec.dependsOn(isvc("local", "gpu"), job)).toBe(true);
    });

    it("exports each example's URL", async () => {
        expect(await promiseOf(eks.urls["clothing-transformer"]!)).toBe("http://clothing-transformer.models.203.0.113.7.sslip.io");
        expect(eks.urls.gpu).toBeUndefined();
    });

    it("throws before registering anything when an example cannot be built", () => {
        const before = rec.resources.length;
        expect(() => new ExampleModels("bad", { examples: ["clothing-transformer"], domain: "example.com", storage: other })).toThrow(/needs gatewayImage/);
        expect(() => new ExampleModels("bad2", { examples: ["tensorflow-s3"], domain: "example.com", storage: storageOf({ bucket: "b", reader: "s", modelPrefix: "models" }) })).toThrow(
            /modelPrefix 'models' must be one key segment ending in '\/'/,
        );
        expect(rec.resources.length).toBe(before);
    });
});
