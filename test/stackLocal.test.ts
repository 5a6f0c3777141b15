import { describe, expect, it } from "vitest";
import { recordedStack } from "./stackRecording";

describe("the local stack (kind) under mocks", async () => {
    const rec = await recordedStack("local");

    it("registers no AWS resource at all", () => {
        const awsResources = rec.resources.filter((r) => r.type.startsWith("aws:") || r.type.startsWith("awsx:") || r.type.startsWith("eks:"));
        expect(awsResources.map((r) => r.type)).toEqual([]);
    });

    it("uses the kind context and a NodePort gateway with magic DNS on the local IP", () => {
        expect(rec.one("pulumi:providers:kubernetes").inputs.context).toBe("kind-inference-platform");
        const gateway = rec.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.name === "istio-ingressgateway")!;
        expect(gateway.inputs.values.service.type).toBe("NodePort");
        const domainPatch = rec.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMapPatch" && r.inputs.metadata?.name === "config-domain")!;
        expect(Object.keys(domainPatch.inputs.data)).toEqual(["127.0.0.1.sslip.io"]);
    });

    it("runs one metrics-server that accepts kind's self-signed kubelet certificates", () => {
        const metricsServer = rec.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.name === "metrics-server")!;
        expect(metricsServer.inputs.values).toMatchObject({ replicas: 1, args: ["--kubelet-insecure-tls"], podDisruptionBudget: { enabled: false } });
    });

    it("serves models from the local S3-compatible store (versitygw) through a KServe S3 secret", () => {
        const secret = rec.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && r.inputs.metadata?.annotations?.["serving.kserve.io/s3-endpoint"])!;
        expect(secret.inputs.metadata.annotations["serving.kserve.io/s3-usehttps"]).toBe("0");
        expect(secret.inputs.metadata.namespace).toBe("models");
    });

    it("deploys the local examples against the local store and nothing that needs a host-built image", () => {
        const services = rec.byType("kubernetes:serving.kserve.io/v1beta1:InferenceService");
        expect(services.map((r) => r.inputs.metadata.name).sort()).toEqual(["mlflow-s3", "sklearn-iris", "sklearn-iris-pvc", "tensorflow-s3"]);
        expect(rec.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name.startsWith("clothing"))).toEqual([]);
        expect(rec.resources.filter((r) => r.type.startsWith("docker-build:"))).toEqual([]);
    });
});
