import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { defaultExamples, ExampleName, exampleNames } from "../components/config";
import {
    clothingTransformerEnv,
    ExampleContext,
    exampleInputFiles,
    exampleInvocations,
    ExampleModels,
    exampleModelsProblems,
    exampleSpec,
    plainInterpolate,
    seedModelsFor,
} from "../components/exampleModels";
import { renderInferenceService } from "../components/inferenceService";
import { loadCrdValidator } from "./crdSchema";
import { installMocks, promiseOf, testOidcIssuerHost } from "./kit";
import { describeWithSharedSchemas } from "./shared";

const crd = loadCrdValidator("kserve", "serving.kserve.io_inferenceservices.yaml");

const repoRoot = path.resolve(__dirname, "..");
const eksBucket = "inference-platform-dev-models-abcd1234";
const contexts: Record<"eks" | "local", ExampleContext<string>> = {
    eks: { namespace: "models", bucket: eksBucket, modelPrefix: "models/", serviceAccountName: "kserve-models", gatewayImage: "123456789012.dkr.ecr.us-east-2.amazonaws.com/gateway:abc", interpolate: plainInterpolate },
    local: { namespace: "models", bucket: "models", modelPrefix: "models/", serviceAccountName: "kserve-minio", gatewayImage: "gateway:dev", interpolate: plainInterpolate },
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
        expect(seedModelsFor([...exampleNames]).map((m) => m.name).sort()).toEqual(["clothing-model", "mlflow-wine", "mnist"]);
    });

    it("rejects bad example lists", () => {
        expect(exampleModelsProblems({ examples: ["clothing-transformer"] }).join()).toMatch(/needs gatewayImage/);
        expect(exampleModelsProblems({ examples: ["nope" as ExampleName] }).join()).toMatch(/'nope' is not one of/);
        expect(exampleModelsProblems({ examples: ["gpu", "gpu"] }).join()).toMatch(/listed twice/);
        expect(exampleModelsProblems({ examples: [...defaultExamples], gatewayImage: "g:1" })).toEqual([]);
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
    const eks = new ExampleModels("eks", {
        examples: [...defaultExamples],
        namespace: "models",
        domain: "203.0.113.7.sslip.io",
        gatewayImage: pulumi.output("123456789012.dkr.ecr.us-east-2.amazonaws.com/gateway:abc"),
        storage: {
            kind: "s3",
            bucket: pulumi.output(eksBucket),
            region: "us-east-2",
            readerServiceAccountName: "kserve-models",
            oidcProvider: { arn: `arn:aws:iam::123456789012:oidc-provider/${testOidcIssuerHost}`, issuer: testOidcIssuerHost },
        },
        waitFor: [kserve],
    });
    new ExampleModels("local", {
        examples: ["sklearn-iris", "mlflow-s3", "gpu"],
        namespace: "models",
        domain: "127.0.0.1.sslip.io",
        storage: { kind: "minio", endpoint: "http://minio.minio.svc:9000", bucket: "models", readerServiceAccountName: "kserve-minio", credentialsSecretName: "minio-creds" },
    });
    new ExampleModels("seedonly", { examples: [], alsoSeed: ["clothing-transformer"], namespace: "models", domain: "example.com", storage: { kind: "minio", endpoint: "http://m:9000", bucket: "b", readerServiceAccountName: "s", credentialsSecretName: "c" } });
    new ExampleModels("gcsonly", { examples: ["sklearn-iris"], namespace: "models", domain: "example.com", storage: { kind: "minio", endpoint: "http://m:9000", bucket: "b", readerServiceAccountName: "s", credentialsSecretName: "c" } });
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
        expect(isvcs.filter((r) => r.name.startsWith("eks-")).map((r) => r.inputs.metadata.name).sort()).toEqual(["clothing-transformer", "mlflow-s3", "sklearn-iris", "tensorflow-s3"]);
        expect(isvcs.filter((r) => r.name.startsWith("local-")).map((r) => r.inputs.metadata.name).sort()).toEqual(["mlflow-s3", "sklearn-iris", "tensorflow-gpu"]);
    });

    it("S3-backed models wait for seeding; the GCS model does not", () => {
        for (const example of ["tensorflow-s3", "mlflow-s3", "clothing-transformer"]) expect(rec.dependsOn(isvc("eks", example), eksJob), example).toBe(true);
        expect(rec.dependsOn(isvc("eks", "sklearn-iris"), eksJob)).toBe(false);
        for (const example of ["tensorflow-s3", "sklearn-iris"]) expect(rec.dependsOn(isvc("eks", example), rec.one("test:index:Dep")), example).toBe(true);
        expect(rec.dependsOn(eksJob, rec.one("test:index:Dep"))).toBe(true);
    });

    it("S3-backed models use the reader IRSA ServiceAccount; seeding writes with its own role", () => {
        expect(isvc("eks", "tensorflow-s3").inputs.spec.predictor.serviceAccountName).toBe("kserve-models");
        expect(isvc("eks", "tensorflow-s3").inputs.spec.predictor.model.storageUri).toBe(`s3://${eksBucket}/models/mnist`);
        expect(eksJob.inputs.spec.template.spec.serviceAccountName).toBe("model-seeder");
        expect(rec.one("aws:iam/role:Role", "eks-seeding-writer-role")).toBeDefined();
    });

    it("resolves Outputs inside the transformer (image from the gateway build)", () => {
        const t = isvc("eks", "clothing-transformer").inputs.spec.transformer.containers[0];
        expect(t.image).toBe("123456789012.dkr.ecr.us-east-2.amazonaws.com/gateway:abc");
        expect(t.args).toEqual(["--model_name", "clothing-transformer", "--predictor_host", "clothing-transformer-predictor.models", "--protocol", "v1"]);
    });

    it("seeds only what the enabled examples need", () => {
        const manifest = JSON.parse(rec.one("kubernetes:core/v1:ConfigMap", "eks-seeding-scripts").inputs.data["manifest.json"]);
        expect(manifest.models.map((m: { name: string }) => m.name)).toEqual(["clothing-model", "mlflow-wine", "mnist"]);
        const local = JSON.parse(rec.one("kubernetes:core/v1:ConfigMap", "local-seeding-scripts").inputs.data["manifest.json"]);
        expect(local.models.map((m: { name: string }) => m.name)).toEqual(["mlflow-wine", "mnist"]);
        expect(rec.resources.filter((r) => r.name.startsWith("gcsonly-seeding")).length).toBe(0);
    });

    it("seeds MinIO with its credentials secret locally", () => {
        const job = rec.one("kubernetes:batch/v1:Job", "local-seeding-job");
        expect(JSON.stringify(job.inputs.spec.template.spec.containers[0].env)).toContain("minio-creds");
        expect(isvc("local", "gpu").inputs.spec.predictor.serviceAccountName).toBe("kserve-minio");
        expect(rec.dependsOn(isvc("local", "gpu"), job)).toBe(true);
    });

    it("exports each example's URL", async () => {
        expect(await promiseOf(eks.urls["clothing-transformer"]!)).toBe("http://clothing-transformer.models.203.0.113.7.sslip.io");
        expect(eks.urls.gpu).toBeUndefined();
    });

    it("throws before registering anything when an example cannot be built", () => {
        const before = rec.resources.length;
        expect(() => new ExampleModels("bad", { examples: ["clothing-transformer"], namespace: "models", domain: "example.com", storage: { kind: "minio", endpoint: "http://m:9000", bucket: "b", readerServiceAccountName: "s", credentialsSecretName: "c" } })).toThrow(
            /needs gatewayImage/,
        );
        expect(() => new ExampleModels("bad2", { examples: ["tensorflow-s3"], namespace: "Models", domain: "example.com", storage: { kind: "minio", endpoint: "http://m:9000", bucket: "b", readerServiceAccountName: "s", credentialsSecretName: "c" } })).toThrow(
            /namespace 'Models' is not a DNS label/,
        );
        expect(rec.resources.length).toBe(before);
    });
});
