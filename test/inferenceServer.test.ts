import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { Deployment } from "kubernetes-models/apps/v1";
import { Service } from "kubernetes-models/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { VirtualService } from "@kubernetes-models/istio/networking.istio.io/v1";
import {
    cpuAutoscaler,
    disruptionBudget,
    gatewayDeployment,
    gatewayService,
    gatewayVirtualService,
    InferenceServer,
    inferenceServerProblems,
    modelLayoutCheckCommand,
    normalizeStorageUri,
    predictorGrpcTarget,
    tfServingDeployment,
    tfServingServices,
} from "../components/models/inferenceServer";
import { installMocks, promiseOf } from "./kit";
import { gatewayBudgetIn, progressive40MpCost } from "./gatewayLimits";

/** The models' `validate()` (their base class's types do not resolve under this tsconfig's module resolution). */
const validateModel = (model: unknown) => (model as { validate(): void }).validate();

const uri = "s3://models-bucket/models/clothing-model/";
const tfParams = { name: "clothing", namespace: "models", serviceAccountName: "kserve-models", storageUri: uri, modelName: "clothing-model", gpu: false };
const target = "dns:///clothing-tf-serving-grpc.models.svc.cluster.local:8500";
const gwParams = {
    name: "clothing",
    namespace: "models",
    image: "123456789012.dkr.ecr.us-east-2.amazonaws.com/gateway:1.0.0",
    modelName: "clothing-model",
    predictorTarget: target,
    inputSize: "299,299",
    kerasModelName: "xception",
    labels: ["dress", "hat", "longsleeve"],
};

const cpuDeployment = tfServingDeployment(tfParams) as any;
const gpuDeployment = tfServingDeployment({ ...tfParams, gpu: true }) as any;
const gwDeployment = gatewayDeployment(gwParams) as any;
const podOf = (d: any) => d.spec.template.spec;
const containerOf = (d: any, name: string) => podOf(d).containers.find((c: any) => c.name === name);
const allContainers = (d: any) => [...(podOf(d).initContainers ?? []), ...podOf(d).containers];

describe("TF Serving Deployment", () => {
    const tf = containerOf(cpuDeployment, "tf-serving");

    it("serves the model from /models/<model> on gRPC 8500 and REST 8501", () => {
        expect(tf.image).toMatch(/^tensorflow\/serving:[\d.]+$/);
        expect(tf.args).toEqual(expect.arrayContaining([
            "--port=8500",
            "--rest_api_port=8501",
            "--model_name=clothing-model",
            "--model_base_path=/models/clothing-model",
        ]));
        expect(tf.ports.map((p: any) => [p.name, p.containerPort])).toEqual([["grpc", 8500], ["http", 8501]]);
        expect(tf.volumeMounts).toContainEqual({ name: "model", mountPath: "/models/clothing-model", readOnly: true });
    });

    it("makes gRPC clients reconnect periodically so scaled-out pods get traffic", () => {
        expect(tf.args.some((a: string) => /^--grpc_channel_arguments=.*grpc\.max_connection_age_ms=\d+/.test(a))).toBe(true);
    });

    it("downloads the model with KServe's storage initializer (args <storageUri> <destDir>) into the same volume", () => {
        const [init, check] = podOf(cpuDeployment).initContainers;
        expect(init.image).toMatch(/^kserve\/storage-initializer:v/);
        expect(init.args).toEqual([uri, "/mnt/models"]);
        expect(init.volumeMounts).toContainEqual({ name: "model", mountPath: "/mnt/models" });
        expect(check.command.slice(0, 2)).toEqual(["/bin/sh", "-c"]);
        expect(check.volumeMounts).toContainEqual({ name: "model", mountPath: "/mnt/models", readOnly: true });
        expect(podOf(cpuDeployment).volumes).toContainEqual(expect.objectContaining({ name: "model", emptyDir: expect.anything() }));
    });

    it("uses the IRSA ServiceAccount without mounting a Kubernetes API token", () => {
        expect(podOf(cpuDeployment).serviceAccountName).toBe("kserve-models");
        expect(podOf(cpuDeployment).automountServiceAccountToken).toBe(false);
    });

    it("probes TF Serving's REST model endpoints", () => {
        expect(tf.livenessProbe.httpGet).toEqual({ path: "/v1/models/clothing-model", port: "http" });
        expect(tf.startupProbe.httpGet).toEqual({ path: "/v1/models/clothing-model", port: "http" });
        expect(tf.readinessProbe.httpGet.path).toMatch(/^\/v1\/models\/clothing-model(\/metadata)?$/);
        expect(tf.readinessProbe.httpGet.port).toBe("http");
    });

    it("leaves replicas to the autoscaler", () => {
        expect(cpuDeployment.spec.replicas).toBeUndefined();
        expect(gwDeployment.spec.replicas).toBeUndefined();
    });

    it("has no GPU request, toleration or node selector on the CPU variant", () => {
        expect(JSON.stringify(cpuDeployment)).not.toContain("nvidia.com/gpu");
    });
});

describe("GPU variant", () => {
    const tf = containerOf(gpuDeployment, "tf-serving");

    it("runs the GPU image with one GPU", () => {
        expect(tf.image).toMatch(/^tensorflow\/serving:[\d.]+-gpu$/);
        expect(tf.resources.limits["nvidia.com/gpu"]).toBe("1");
    });

    it("tolerates the GPU taint and selects GPU nodes", () => {
        expect(podOf(gpuDeployment).nodeSelector).toEqual({ "nvidia.com/gpu.present": "true" });
        expect(podOf(gpuDeployment).tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    });
});

describe("every container", () => {
    for (const [label, d] of [["tf-serving (cpu)", cpuDeployment], ["tf-serving (gpu)", gpuDeployment], ["gateway", gwDeployment]] as const) {
        it(`${label}: non-root, read-only, no privilege escalation, no capabilities, RuntimeDefault seccomp`, () => {
            expect(podOf(d).securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
            for (const c of allContainers(d)) {
                expect(c.securityContext, c.name).toMatchObject({
                    runAsNonRoot: true,
                    readOnlyRootFilesystem: true,
                    allowPrivilegeEscalation: false,
                    capabilities: { drop: ["ALL"] },
                    seccompProfile: { type: "RuntimeDefault" },
                });
                expect(c.securityContext.runAsUser).toBeGreaterThan(0);
            }
        });

        it(`${label}: requests and limits for cpu and memory`, () => {
            for (const c of allContainers(d)) {
                for (const kind of ["requests", "limits"]) {
                    expect(c.resources[kind].cpu, `${c.name} ${kind}.cpu`).toBeDefined();
                    expect(c.resources[kind].memory, `${c.name} ${kind}.memory`).toBeDefined();
                }
            }
        });

        it(`${label}: writable paths are emptyDirs (/tmp at least)`, () => {
            const main = podOf(d).containers[0];
            expect(main.volumeMounts).toContainEqual({ name: "tmp", mountPath: "/tmp" });
            expect(podOf(d).volumes.find((v: any) => v.name === "tmp").emptyDir).toBeDefined();
        });

        it(`${label}: the selector matches the pod template`, () => {
            expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
        });
    }
});

describe("Services", () => {
    const { grpc, rest } = tfServingServices({ name: "clothing", namespace: "models" }) as any;

    it("gRPC goes through a headless Service so the gateway sees every pod", () => {
        expect(grpc.spec.clusterIP).toBe("None");
        expect(grpc.spec.ports).toEqual([expect.objectContaining({ port: 8500, targetPort: "grpc", appProtocol: "grpc" })]);
        expect(grpc.metadata.name).toBe("clothing-tf-serving-grpc");
    });

    it("REST 8501 stays a normal ClusterIP Service", () => {
        expect(rest.spec.clusterIP).toBeUndefined();
        expect(rest.spec.ports).toEqual([expect.objectContaining({ port: 8501, targetPort: "http" })]);
    });

    it("both select TF Serving pods, and the gateway Service the gateway pods", () => {
        expect(cpuDeployment.spec.template.metadata.labels).toMatchObject(grpc.spec.selector);
        expect(cpuDeployment.spec.template.metadata.labels).toMatchObject(rest.spec.selector);
        const gw = gatewayService({ name: "clothing", namespace: "models" }) as any;
        expect(gwDeployment.spec.template.metadata.labels).toMatchObject(gw.spec.selector);
        expect(cpuDeployment.spec.template.metadata.labels).not.toMatchObject(gw.spec.selector);
    });

    it("the gateway dials the headless Service by DNS", () => {
        expect(predictorGrpcTarget(grpc.metadata.name, "models")).toBe(target);
    });
});

describe("gateway Deployment", () => {
    const c = containerOf(gwDeployment, "gateway");

    it("passes the model, predictor target, port and protocol as flags", () => {
        expect(c.image).toBe(gwParams.image);
        expect(c.args).toEqual([
            "--model_name=clothing-model",
            `--predictor_host=${target}`,
            "--http_port=8080",
            "--protocol=tfserving-grpc",
        ]);
        expect(c.ports).toEqual([{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    });

    it("sets the seeds' transformer environment", () => {
        expect(c.env).toEqual([
            { name: "MODEL_INPUT_SIZE", value: "299,299" },
            { name: "KERAS_MODEL_NAME", value: "xception" },
            { name: "MODEL_LABELS", value: "dress,hat,longsleeve" },
        ]);
    });

    it("probes the V2 health endpoints", () => {
        expect(c.readinessProbe.httpGet).toEqual({ path: "/v2/health/ready", port: "http" });
        expect(c.livenessProbe.httpGet).toEqual({ path: "/v2/health/live", port: "http" });
    });

    it("is accepted by the gateway's own argument parser", async () => {
        const { parseConfig } = await import("../gateway/src/config");
        const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
        const { config } = parseConfig(c.args, env);
        expect(config.modelName).toBe("clothing-model");
        expect(config.httpPort).toBe(8080);
        expect(config.predictor.protocol).toBe("tfserving-grpc");
        expect(config.predictor.target).toBe(target);
        expect(config.labels).toEqual(["dress", "hat", "longsleeve"]);
        expect(config.inputSize).toEqual({ height: 299, width: 299 });
    });

    it("starts within its memory limit, which leaves room to decode a 40-MP progressive JPEG", () => {
        expect(gatewayBudgetIn(c)).toBeGreaterThanOrEqual(progressive40MpCost);
    });
});

describe("autoscaling, disruption budgets, routing", () => {
    const hpa = cpuAutoscaler({ name: "clothing", namespace: "models", deployment: "clothing-tf-serving", component: "tf-serving", min: 2, max: 6, cpuUtilization: 70 }) as any;
    const pdb = disruptionBudget({ name: "clothing", namespace: "models", component: "tf-serving", objectName: "clothing-tf-serving" }) as any;
    const vs = gatewayVirtualService({ name: "clothing", namespace: "models", host: "clothing.models.example.com", ingressGateway: "knative-serving/knative-ingress-gateway" }) as any;

    it("HPA (autoscaling/v2) scales the Deployment on CPU utilization", () => {
        expect(hpa.apiVersion).toBe("autoscaling/v2");
        expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: cpuDeployment.metadata.name });
        expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([2, 6]);
        expect(hpa.spec.metrics).toEqual([{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }]);
    });

    it("PDB allows one pod down and selects the TF Serving pods", () => {
        expect(pdb.spec.maxUnavailable).toBe(1);
        expect(pdb.spec.minAvailable).toBeUndefined();
        expect(cpuDeployment.spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
    });

    it("VirtualService binds the host to Knative's ingress gateway and routes to the gateway Service", () => {
        expect(vs.spec.gateways).toEqual(["knative-serving/knative-ingress-gateway"]);
        expect(vs.spec.hosts).toEqual(["clothing.models.example.com"]);
        expect(vs.spec.http[0].route).toEqual([{ destination: { host: "clothing-gateway.models.svc.cluster.local", port: { number: 80 } } }]);
    });

    it("every object validates with kubernetes-models", () => {
        const svc = tfServingServices({ name: "clothing", namespace: "models" });
        const checks: unknown[] = [
            new Deployment(cpuDeployment),
            new Deployment(gpuDeployment),
            new Deployment(gwDeployment),
            new Service(svc.grpc as any),
            new Service(svc.rest as any),
            new Service(gatewayService({ name: "clothing", namespace: "models" }) as any),
            new HorizontalPodAutoscaler(hpa),
            new PodDisruptionBudget(pdb),
            new VirtualService(vs),
        ];
        for (const model of checks) expect(() => validateModel(model)).not.toThrow();
        // The validator does reject a broken object, so the loop above can fail.
        expect(() => validateModel(new Deployment({ ...cpuDeployment, spec: { ...cpuDeployment.spec, selector: "x" } }))).toThrow();
    });
});

describe("normalizeStorageUri", () => {
    it.each([
        ["s3://bucket-1/models/clothing-model", "s3://bucket-1/models/clothing-model/"],
        ["s3://bucket-1/models/clothing-model/", "s3://bucket-1/models/clothing-model/"],
        ["s3://my.bucket/a/b//", "s3://my.bucket/a/b/"],
    ])("%s → %s", (input, expected) => {
        expect(normalizeStorageUri(input)).toBe(expected);
    });

    it.each(["gs://bucket/models/x", "s3://bucket", "s3://bucket/", "s3://Bucket/models", "s3://bucket/models/*", "s3://bucket/a//b", "s3://bucket/../x"])(
        "rejects %s",
        (input) => {
            expect(() => normalizeStorageUri(input)).toThrow(/storageUri/);
        },
    );
});

describe("model layout check (run with /bin/sh)", () => {
    const run = (files: string[]): number => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "layout-"));
        try {
            for (const f of files) {
                fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
                fs.writeFileSync(path.join(dir, f), "x");
            }
            // Exactly what the init container runs.
            const [shell, ...args] = modelLayoutCheckCommand(dir);
            execFileSync(shell, args, { stdio: "pipe" });
            return 0;
        } catch (err) {
            return (err as { status: number }).status;
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    };

    it.each([
        [["1/saved_model.pb", "1/variables/variables.index"], 0],
        [["0001/saved_model.pb"], 0],
        [["3/saved_model.pbtxt"], 0],
        [["saved_model.pb", "variables/variables.index"], 1],
        [["v1/saved_model.pb"], 1],
        [["1/variables/variables.index"], 1],
        [[], 1],
    ])("%o → exit %i", (files, code) => {
        expect(run(files)).toBe(code);
    });
});

describe("InferenceServer argument validation", () => {
    const base = { namespace: "models", serviceAccountName: "sa", storageUri: uri, domain: "example.com", gatewayImage: "gw:1" };

    it("accepts the defaults", () => {
        expect(inferenceServerProblems("clothing", base)).toEqual([]);
    });

    it("lists every problem at once", () => {
        const problems = inferenceServerProblems("Bad_Name", {
            ...base,
            storageUri: "http://x",
            domain: "not a domain",
            tfServingReplicas: { min: 3, max: 2 },
            cpuTargetUtilization: 0,
            labels: ["a,b"],
        });
        expect(problems).toHaveLength(6);
        expect(problems.join("\n")).toMatch(/name 'Bad_Name'[\s\S]*storageUri[\s\S]*domain[\s\S]*tfServingReplicas[\s\S]*cpuTargetUtilization[\s\S]*labels/);
    });
});

describe("InferenceServer component", async () => {
    const rec = await installMocks();
    const { CustomResource } = await import("@pulumi/kubernetes/apiextensions");
    const modelUpload = new CustomResource("model-upload", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "m" } });
    const server = new InferenceServer("clothing", {
        namespace: "models",
        serviceAccountName: "kserve-models",
        storageUri: "s3://models-bucket/models/clothing-model",
        domain: "203.0.113.10.sslip.io",
        gatewayImage: "gateway:1.0.0",
        gpu: true,
        tfServingReplicas: { min: 2, max: 4 },
        waitFor: [modelUpload],
    });
    await rec.settle();
    const component = rec.one("inference-platform:serving:InferenceServer", "clothing");

    it("creates the Deployments, Services, HPAs, PDBs and VirtualService as children", () => {
        const counts = {
            "kubernetes:apps/v1:Deployment": 2,
            "kubernetes:core/v1:Service": 3,
            "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": 2,
            "kubernetes:policy/v1:PodDisruptionBudget": 2,
            "kubernetes:networking.istio.io/v1:VirtualService": 1,
        };
        for (const [type, n] of Object.entries(counts)) {
            const found = rec.byType(type);
            expect(found, type).toHaveLength(n);
            for (const r of found) expect(r.parent).toBe(component.urn);
        }
    });

    it("downloads the normalized storageUri and runs on a GPU", () => {
        const d = rec.one("kubernetes:apps/v1:Deployment", "clothing-tf-serving");
        const pod = d.inputs.spec.template.spec;
        expect(pod.initContainers[0].args).toEqual(["s3://models-bucket/models/clothing-model/", "/mnt/models"]);
        expect(pod.containers[0].resources.limits["nvidia.com/gpu"]).toBe("1");
    });

    it("points the gateway at the headless Service and exposes it on <name>.<namespace>.<domain>", async () => {
        expect(await promiseOf(server.predictorTarget)).toBe(target);
        expect(await promiseOf(server.host)).toBe("clothing.models.203.0.113.10.sslip.io");
        expect(await promiseOf(server.predictUrl)).toBe("http://clothing.models.203.0.113.10.sslip.io/v1/models/clothing-model:predict");
        const gw = rec.one("kubernetes:apps/v1:Deployment", "clothing-gateway");
        expect(gw.inputs.spec.template.spec.containers[0].args).toContain(`--predictor_host=${target}`);
        const vs = rec.one("kubernetes:networking.istio.io/v1:VirtualService");
        expect(vs.inputs.spec.hosts).toEqual(["clothing.models.203.0.113.10.sslip.io"]);
    });

    it("uses the requested HPA bounds", () => {
        const hpa = rec.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "clothing-tf-serving");
        expect([hpa.inputs.spec.minReplicas, hpa.inputs.spec.maxReplicas]).toEqual([2, 4]);
    });

    it("waits for waitFor, and the gateway waits for TF Serving", () => {
        const upload = rec.one("kubernetes:v1:ConfigMap", "model-upload");
        const tf = rec.one("kubernetes:apps/v1:Deployment", "clothing-tf-serving");
        const gw = rec.one("kubernetes:apps/v1:Deployment", "clothing-gateway");
        expect(rec.dependsOn(tf, upload)).toBe(true);
        expect(rec.dependsOn(gw, upload)).toBe(true);
        expect(rec.dependsOn(gw, tf)).toBe(true);
        expect(rec.dependsOn(tf, gw)).toBe(false);
    });

    it("throws one clear error before creating anything", () => {
        const before = rec.resources.length;
        expect(() => new InferenceServer("x", { namespace: "models", serviceAccountName: "sa", storageUri: "s3://b", domain: "example.com", gatewayImage: "g:1" })).toThrow(
            /InferenceServer x: invalid arguments[\s\S]*storageUri/,
        );
        expect(rec.resources.length).toBe(before);
    });
});
