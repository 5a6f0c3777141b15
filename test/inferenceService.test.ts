import * as fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import {
    InferenceService,
    InferenceServiceSpec,
    inferencePath,
    inferenceServiceProblems,
    inferenceServiceUrl,
    renderInferenceService,
    storageUriProblem,
} from "../components/models/inferenceService";
import { defaultVersions } from "../versions";
import { loadCrdValidator } from "./crdSchema";
import { installMocks, promiseOf } from "./kit";
import { describeWithSharedSchemas } from "./shared";

const crd = loadCrdValidator("kserve", "serving.kserve.io_inferenceservices.yaml");

const base: InferenceServiceSpec = {
    name: "m",
    namespace: "models",
    predictor: { model: { modelFormat: { name: "sklearn" }, storageUri: "gs://bucket/model" } },
};
function withModel(model: Partial<InferenceServiceSpec["predictor"]["model"]>, predictor: Partial<InferenceServiceSpec["predictor"]> = {}): InferenceServiceSpec {
    return { ...base, predictor: { ...base.predictor, ...predictor, model: { ...base.predictor.model, ...model } } };
}
const problemsOf = (spec: InferenceServiceSpec) => inferenceServiceProblems(spec).join("\n");

describe("renderInferenceService", () => {
    it("scales to zero by default and labels the resource", () => {
        const m = renderInferenceService(base);
        expect(m.apiVersion).toBe("serving.kserve.io/v1beta1");
        expect(m.kind).toBe("InferenceService");
        expect(m.spec.predictor.minReplicas).toBe(0);
        expect(m.metadata.labels).toMatchObject({ "app.kubernetes.io/part-of": "inference-platform", "app.kubernetes.io/managed-by": "pulumi" });
    });

    it("gives every container requests and limits and a hardened security context", () => {
        const m = renderInferenceService({ ...base, transformer: { containers: [{ image: "gw:1" }] } });
        for (const c of [m.spec.predictor.model, ...m.spec.transformer!.containers]) {
            expect(Object.keys(c.resources.requests!)).toEqual(expect.arrayContaining(["cpu", "memory"]));
            expect(Object.keys(c.resources.limits!)).toEqual(expect.arrayContaining(["cpu", "memory"]));
            expect(c.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
        }
        expect(m.spec.transformer!.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsUser: 1000 });
    });

    it("pins sklearn over v2 to kserve-sklearnserver unless a runtime is given", () => {
        expect(renderInferenceService(withModel({ protocolVersion: "v2" })).spec.predictor.model.runtime).toBe("kserve-sklearnserver");
        expect(renderInferenceService(withModel({ protocolVersion: "v2", runtime: "kserve-mlserver" })).spec.predictor.model.runtime).toBe("kserve-mlserver");
        expect(renderInferenceService(withModel({ protocolVersion: "v1" })).spec.predictor.model.runtime).toBeUndefined();
    });

    it("adds the GPU toleration and node selector when the model requests nvidia.com/gpu", () => {
        const m = renderInferenceService(
            withModel({ modelFormat: { name: "pytorch" }, resources: { limits: { "nvidia.com/gpu": "1" } } }, { nodeSelector: { zone: "a" } }),
        );
        expect(m.spec.predictor.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
        expect(m.spec.predictor.nodeSelector).toEqual({ "nvidia.com/gpu.present": "true", zone: "a" });
        const cpu = renderInferenceService(base);
        expect(cpu.spec.predictor.tolerations).toBeUndefined();
        expect(cpu.spec.predictor.nodeSelector).toBeUndefined();
    });

    it("keeps a caller's own GPU toleration instead of adding a second one", () => {
        const own = { key: "nvidia.com/gpu", operator: "Equal" as const, value: "true", effect: "NoSchedule" as const };
        const m = renderInferenceService(withModel({ modelFormat: { name: "pytorch" }, resources: { limits: { "nvidia.com/gpu": "2" } } }, { tolerations: [own] }));
        expect(m.spec.predictor.tolerations).toEqual([own]);
    });

    it("builds URLs and endpoints per protocol", () => {
        expect(inferencePath("iris", "v2")).toBe("/v2/models/iris/infer");
        expect(inferencePath("mnist", "v1")).toBe("/v1/models/mnist:predict");
        expect(inferencePath("mnist")).toBe("/v1/models/mnist:predict");
        expect(inferenceServiceUrl("iris", "models", "203.0.113.7.sslip.io")).toBe("http://iris.models.203.0.113.7.sslip.io");
        expect(() => inferenceServiceUrl("iris", "models", "http://x.example.com")).toThrow(/scheme/);
    });
});

describe("validation errors", () => {
    const cases: [string, InferenceServiceSpec, RegExp][] = [
        ["plain http storage", withModel({ storageUri: "http://example.com/m" }), /plain http is not allowed/],
        ["gcs:// instead of gs://", withModel({ storageUri: "gcs://b/m" }), /use gs:\/\//],
        ["no scheme", withModel({ storageUri: "bucket/model" }), /has no scheme/],
        ["ftp", withModel({ storageUri: "ftp://host/m" }), /unsupported scheme 'ftp:\/\/'/],
        ["empty bucket", withModel({ storageUri: "s3:///m" }), /no bucket/],
        ["bad S3 bucket", withModel({ storageUri: "s3://Bad_Bucket/m" }), /not a valid S3 bucket name/],
        ["bad PVC name", withModel({ storageUri: "pvc://My_Claim/m" }), /PersistentVolumeClaim/],
        ["empty storageUri", withModel({ storageUri: "" }), /storageUri is required/],
        ["tensorflow over v2", withModel({ modelFormat: { name: "tensorflow" }, protocolVersion: "v2" }), /TensorFlow Serving speaks protocol v1 only/],
        ["mlflow without protocol", withModel({ modelFormat: { name: "mlflow" } }), /MLflow .* v2 only/],
        ["mlflow over v1", withModel({ modelFormat: { name: "mlflow" }, protocolVersion: "v1" }), /MLflow .* v2 only/],
        ["mlflow on the sklearn server", withModel({ modelFormat: { name: "mlflow" }, protocolVersion: "v2", runtime: "kserve-sklearnserver" }), /cannot serve MLflow/],
        ["unknown protocol", withModel({ protocolVersion: "v3" as never }), /protocolVersion 'v3'/],
        ["unknown format", withModel({ modelFormat: { name: "keras" as never } }), /modelFormat 'keras'/],
        ["minReplicas > maxReplicas", withModel({}, { minReplicas: 3, maxReplicas: 2 }), /minReplicas \(3\) must be <= maxReplicas \(2\)/],
        ["negative minReplicas", withModel({}, { minReplicas: -1 }), /minReplicas must be a whole number >= 0/],
        ["maxReplicas 0", withModel({}, { maxReplicas: 0 }), /maxReplicas must be a whole number >= 1/],
        ["fractional scaleTarget", withModel({}, { scaleTarget: 1.5 }), /scaleTarget/],
        ["cpu scale metric", withModel({}, { scaleMetric: "cpu" as never }), /scaleMetric 'cpu' is not supported in Serverless/],
        ["canary over 100", withModel({}, { canaryTrafficPercent: 101 }), /canaryTrafficPercent/],
        ["GPU only in requests", withModel({ modelFormat: { name: "pytorch" }, resources: { requests: { "nvidia.com/gpu": "1" } } }), /must be set in limits/],
        ["GPU request differs from limit", withModel({ modelFormat: { name: "pytorch" }, resources: { requests: { "nvidia.com/gpu": "1" }, limits: { "nvidia.com/gpu": "2" } } }), /must equal its limit/],
        ["half a GPU", withModel({ modelFormat: { name: "pytorch" }, resources: { limits: { "nvidia.com/gpu": "0.5" } } }), /positive whole number of GPUs/],
        ["TF on GPU with the CPU image", withModel({ modelFormat: { name: "tensorflow" }, resources: { limits: { "nvidia.com/gpu": "1" } } }), /'-gpu' tag/],
        ["bad quantity", withModel({ resources: { limits: { memory: "2 GB" } } }), /not a Kubernetes quantity/],
        ["fractional timeout", withModel({}, { timeout: 1.5 }), /predictor\.timeout must be a whole number of seconds/],
        ["zero timeout", withModel({}, { timeout: 0 }), /predictor\.timeout must be a whole number of seconds >= 1/],
        ["bad /dev/shm size", withModel({}, { volumes: [{ name: "devshm", emptyDir: { medium: "Memory", sizeLimit: "1 GB" } }] }), /sizeLimit '1 GB' is not a Kubernetes quantity/],
        ["bad volume name", withModel({}, { volumes: [{ name: "Dev_Shm", emptyDir: {} }] }), /predictor\.volumes: 'Dev_Shm' is not a DNS label/],
        ["relative mount path", withModel({ volumeMounts: [{ name: "devshm", mountPath: "dev/shm" }] }), /must be an absolute path/],
        ["probe path without slash", withModel({ startupProbe: { httpGet: { path: "ready", port: 8080 } } }), /startupProbe\.httpGet\.path must start with '\/'/],
        ["probe with zero failures allowed", withModel({ startupProbe: { httpGet: { path: "/", port: 8080 }, failureThreshold: 0 } }), /startupProbe\.failureThreshold must be a whole number >= 1/],
        ["Hugging Face model on the sklearn server", withModel({ modelFormat: { name: "huggingface" }, runtime: "kserve-sklearnserver" }), /cannot serve Hugging Face models/],
        ["uppercase name", { ...base, name: "Iris" }, /DNS-1035 label/],
        ["name starting with a digit", { ...base, name: "1iris" }, /DNS-1035 label/],
        ["name too long", { ...base, name: "a".repeat(46) }, /longer than 45/],
        ["bad namespace", { ...base, namespace: "Models" }, /namespace 'Models' is not a DNS label/],
        ["two transformer containers", { ...base, transformer: { containers: [{ image: "a:1" }, { image: "b:1" }] } }, /exactly one container/],
        ["GPU transformer", { ...base, transformer: { containers: [{ image: "a:1", resources: { limits: { "nvidia.com/gpu": "1" } } }] } }, /put GPUs on the predictor/],
        ["transformer min > max", { ...base, transformer: { minReplicas: 2, maxReplicas: 1, containers: [{ image: "a:1" }] } }, /transformer.minReplicas/],
    ];
    for (const [what, spec, message] of cases) {
        it(`rejects ${what}`, () => {
            expect(problemsOf(spec)).toMatch(message);
            expect(() => renderInferenceService(spec)).toThrow(message);
        });
    }

    it("accepts every supported storage scheme", () => {
        for (const uri of ["s3://bucket/m", "gs://b/m", "pvc://claim/m", "https://host/m.tar.gz", "hf://org/model", "oci://registry/repo:tag"]) {
            expect(storageUriProblem(uri)).toBeUndefined();
        }
    });

    it("rejects any scheme outside the list (property)", () => {
        fc.assert(
            fc.property(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), (scheme) => {
                fc.pre(!["s3", "gs", "pvc", "https", "hf", "oci"].includes(scheme));
                expect(storageUriProblem(`${scheme}://bucket/model`)).toMatch(/unsupported scheme/);
            }),
        );
    });

    it("accepts min <= max and rejects min > max (property)", () => {
        fc.assert(
            fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 50 }), (min, max) => {
                const problems = problemsOf(withModel({}, { minReplicas: min, maxReplicas: max }));
                if (min <= max) expect(problems).toBe("");
                else expect(problems).toMatch(/must be <= maxReplicas/);
            }),
        );
    });
});

describeWithSharedSchemas(`rendered manifests match the KServe ${defaultVersions.kserve} CRD`, () => {
    const edgeCases: [string, InferenceServiceSpec][] = [
        ["minimal", base],
        ["sklearn v2", withModel({ protocolVersion: "v2" })],
        ["every predictor field", withModel(
            { modelFormat: { name: "tensorflow", version: "2" }, runtimeVersion: "2.18.0-gpu", protocolVersion: "v1", args: ["--x"], env: [{ name: "A", value: "1" }], resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi", "nvidia.com/gpu": "1" } } },
            { minReplicas: 1, maxReplicas: 4, scaleTarget: 10, scaleMetric: "rps", canaryTrafficPercent: 20, serviceAccountName: "sa", nodeSelector: { a: "b" }, tolerations: [{ key: "k", operator: "Exists" }], annotations: { "autoscaling.knative.dev/window": "60s" } },
        )],
        ["metadata annotations and labels", { ...base, labels: { team: "ml" }, annotations: { "serving.kserve.io/deploymentMode": "Serverless" } }],
        ["transformer", { ...base, transformer: { minReplicas: 1, maxReplicas: 2, scaleMetric: "concurrency", scaleTarget: 5, serviceAccountName: "t", containers: [{ image: "gw:1", args: ["--protocol", "v1"], env: [{ name: "E", value: "v" }] }] } }],
    ];
    for (const [what, spec] of edgeCases) {
        it(`${what} validates`, () => {
            expect(crd!.errors(renderInferenceService(spec))).toEqual([]);
        });
    }

    it("the validator itself catches a misspelled field and a wrong type", () => {
        const m = renderInferenceService(base) as any;
        m.spec.predictor.model.storageURI = m.spec.predictor.model.storageUri;
        m.spec.predictor.minReplicas = "0";
        const errors = crd!.errors(m).join("\n");
        expect(errors).toMatch(/unknown field 'storageURI'/);
        expect(errors).toMatch(/minReplicas: must be integer/);
    });
});

describe("InferenceService component", async () => {
    const rec = await installMocks();
    const bucket = pulumi.output("models-bucket-abc");
    class Dep extends pulumi.CustomResource {
        constructor(name: string) {
            super("test:index:Dep", name, {});
        }
    }
    const dependency = new Dep("kserve-installed");
    const svc = new InferenceService("iris", {
        spec: {
            name: "iris",
            namespace: pulumi.output("models"),
            predictor: {
                serviceAccountName: "kserve-models",
                model: { modelFormat: { name: "sklearn" }, protocolVersion: "v2", storageUri: pulumi.interpolate`s3://${bucket}/models/iris` },
            },
        },
        domain: "203.0.113.7.sslip.io",
        waitFor: [dependency],
        awaitReady: true,
    });
    await rec.settle();
    const cr = rec.one("kubernetes:serving.kserve.io/v1beta1:InferenceService");

    it("registers the rendered InferenceService with resolved Outputs", () => {
        expect(cr.inputs.spec.predictor.model.storageUri).toBe("s3://models-bucket-abc/models/iris");
        expect(cr.inputs.spec.predictor.model.runtime).toBe("kserve-sklearnserver");
        expect(cr.inputs.spec.predictor.minReplicas).toBe(0);
        expect(cr.inputs.metadata).toMatchObject({ name: "iris", namespace: "models" });
        expect(cr.inputs.metadata.annotations["pulumi.com/waitFor"]).toBe("condition=Ready");
    });

    it("waits for what it is given", () => {
        expect(rec.dependsOn(cr, rec.one("test:index:Dep"))).toBe(true);
    });

    it("exports the URL and the v2 endpoint", async () => {
        expect(await promiseOf(svc.url)).toBe("http://iris.models.203.0.113.7.sslip.io");
        expect(svc.endpointPath).toBe("/v2/models/iris/infer");
        expect(await promiseOf(svc.endpointUrl)).toBe("http://iris.models.203.0.113.7.sslip.io/v2/models/iris/infer");
    });

    it("throws before registering anything when the spec is invalid", async () => {
        const before = rec.resources.length;
        expect(() => new InferenceService("bad", { spec: { ...base, name: "bad", predictor: { model: { ...base.predictor.model, modelFormat: { name: "tensorflow" }, protocolVersion: "v2" } } }, domain: "example.com" })).toThrow(
            /TensorFlow Serving speaks protocol v1 only/,
        );
        await rec.settle();
        expect(rec.resources.filter((r) => r.name.startsWith("bad")).length).toBe(0);
        expect(rec.resources.length).toBe(before);
    });
});
