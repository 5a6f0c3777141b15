import { describe, expect, it } from "vitest";
import { recordedStack } from "./stackRecording";

describe("the dev stack (eks) under mocks", async () => {
    const rec = await recordedStack("dev");
    const release = (name: string) => rec.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.name === name)!;

    it("builds the AWS layer and the serving platform", () => {
        for (const type of ["awsx:ec2:Vpc", "eks:index:Cluster", "aws:s3/bucket:Bucket", "aws:ec2/eip:Eip"]) {
            expect(rec.byType(type).length, type).toBeGreaterThan(0);
        }
        for (const name of ["metrics-server", "istio-base", "istiod", "istio-ingressgateway", "aws-load-balancer-controller", "cert-manager", "nvidia-device-plugin", "cluster-autoscaler"]) {
            expect(release(name), name).toBeDefined();
        }
    });

    it("waits only on true dependencies", () => {
        const gateway = release("istio-ingressgateway");
        const controller = release("aws-load-balancer-controller");
        const istiod = release("istiod");
        const certManager = release("cert-manager");
        expect(rec.dependsOn(gateway, controller)).toBe(true);
        expect(rec.dependsOn(gateway, istiod)).toBe(true);
        // Independent branches stay parallel.
        expect(rec.dependsOn(certManager, istiod)).toBe(false);
        expect(rec.dependsOn(istiod, certManager)).toBe(false);
        expect(rec.dependsOn(controller, istiod)).toBe(false);
        expect(rec.dependsOn(release("nvidia-device-plugin"), istiod)).toBe(false);
        expect(rec.dependsOn(release("cluster-autoscaler"), certManager)).toBe(false);
    });

    it("installs metrics-server after the nodes only, and every HPA owner (istiod first) after it", () => {
        const metricsServer = release("metrics-server");
        expect(metricsServer.inputs.values.replicas).toBe(2);
        for (const group of rec.byType("aws:eks/nodeGroup:NodeGroup")) expect(rec.dependsOn(metricsServer, group), group.name).toBe(true);
        for (const name of ["istio-base", "istiod", "istio-ingressgateway", "cert-manager", "aws-load-balancer-controller"]) {
            expect(rec.dependsOn(metricsServer, release(name)), `metrics-server must not wait for ${name}`).toBe(false);
        }
        // istiod, the gateway and the inference server carry HPAs; the gateway and the server come after istiod.
        expect(rec.dependsOn(release("istiod"), metricsServer)).toBe(true);
        expect(rec.dependsOn(release("istio-ingressgateway"), metricsServer)).toBe(true);
        const hpas = rec.byType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
        expect(hpas.length).toBeGreaterThan(0);
        for (const hpa of hpas) expect(rec.dependsOn(hpa, metricsServer), hpa.name).toBe(true);
    });

    it("installs KServe after cert-manager, Knative and Istio", () => {
        const kserveResources = rec.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && String(r.inputs.chart).endsWith("kserve-resources"))!;
        expect(rec.dependsOn(kserveResources, release("cert-manager"))).toBe(true);
        expect(rec.dependsOn(kserveResources, release("istiod"))).toBe(true);
        const knativeCore = rec.resources.find((r) => r.type === "kubernetes:yaml/v2:ConfigFile" && JSON.stringify(r.inputs).includes("serving-core.yaml"))!;
        expect(rec.dependsOn(kserveResources, knativeCore)).toBe(true);
    });

    it("tears the NLB down before the controller, the nodes and the EIPs", () => {
        // Destroy runs in reverse dependency order: whatever the gateway depends on outlives it.
        const gateway = release("istio-ingressgateway");
        for (const eip of rec.byType("aws:ec2/eip:Eip")) expect(rec.dependsOn(gateway, eip)).toBe(true);
        expect(rec.dependsOn(gateway, release("aws-load-balancer-controller"))).toBe(true);
        for (const group of rec.byType("aws:eks/nodeGroup:NodeGroup")) {
            expect(rec.dependsOn(gateway, group), group.name).toBe(true);
            expect(rec.dependsOn(release("aws-load-balancer-controller"), group), group.name).toBe(true);
        }
    });

    it("points Knative's domain at the first EIP through sslip.io", () => {
        const domainPatch = rec.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMapPatch" && r.inputs.metadata?.name === "config-domain")!;
        const firstEip = rec.byType("aws:ec2/eip:Eip").find((e) => e.name.endsWith("-0"))!;
        expect(Object.keys(domainPatch.inputs.data)).toEqual([`${firstEip.state.publicIp}.sslip.io`]);
    });

    it("deploys every configured example, S3- and claim-backed ones after the seeding Job", () => {
        const services = rec.byType("kubernetes:serving.kserve.io/v1beta1:InferenceService");
        expect(services.map((r) => r.inputs.metadata.name).sort()).toEqual(["clothing-transformer", "llm", "mlflow-s3", "sklearn-iris", "sklearn-iris-pvc", "tensorflow-s3"]);
        const seedJob = rec.resources.find((r) => r.type === "kubernetes:batch/v1:Job" && r.name.includes("seeding"))!;
        for (const isvc of services) {
            const storageUri: string = isvc.inputs.spec.predictor.model.storageUri;
            // The seeding Job fills the bucket, which the models claim (pvc://) shows as well.
            expect(rec.dependsOn(isvc, seedJob), isvc.inputs.metadata.name).toBe(/^(s3|pvc):\/\//.test(storageUri));
            if (storageUri.startsWith("s3://")) expect(isvc.inputs.spec.predictor.serviceAccountName).toBe("kserve-models");
        }
    });

    it("serves the llm on a GPU from the seeded snapshot, starting at zero replicas (Pulumi.dev.yaml turns it on)", () => {
        const llm = rec.byType("kubernetes:serving.kserve.io/v1beta1:InferenceService").find((r) => r.inputs.metadata.name === "llm")!;
        const p = llm.inputs.spec.predictor;
        expect(p.model.resources.limits["nvidia.com/gpu"]).toBe("1");
        expect(p.minReplicas).toBe(0);
        expect(p.annotations["autoscaling.knative.dev/initial-scale"]).toBe("0");
        const manifest = rec.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.inputs.data?.["manifest.json"])!;
        const seeded = JSON.parse(manifest.inputs.data["manifest.json"]).models.find((m: { source: { kind: string } }) => m.source.kind === "huggingface");
        expect(p.model.storageUri).toMatch(new RegExp(`/models/${seeded.dest.replace(/\/$/, "")}$`));
        // The cap the llm's request timeout needs is raised in config-defaults.
        const defaults = rec.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMapPatch" && r.inputs.metadata?.name === "config-defaults")!;
        expect(Number(defaults.inputs.data["max-revision-timeout-seconds"])).toBeGreaterThanOrEqual(p.timeout);
    });

    it("runs the inference server from the seeded clothing model behind the gateway image from ECR", () => {
        const tf = rec.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.inputs.metadata?.name === "clothing-tf-serving")!;
        const seedJob = rec.resources.find((r) => r.type === "kubernetes:batch/v1:Job" && r.name.includes("seeding"))!;
        expect(rec.dependsOn(tf, seedJob)).toBe(true);
        expect(rec.byType("aws:ecr/repository:Repository")).toHaveLength(1);
    });
});
