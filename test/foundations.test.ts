/**
 * Both foundations keep the `Foundation` contract the layers above rely on: how the ingress is
 * exposed, where models live and who may read and write them, what capacity exists, and which
 * outputs the platform has. Built from the project's own stack files, as `pulumi up` builds them.
 */
import { describe, expect, it } from "vitest";
import { AwsFoundation } from "../components/aws/awsFoundation";
import type { Foundation } from "../components/common/foundation";
import { createFoundation } from "../components/foundations";
import { KindFoundation } from "../components/local/kindFoundation";
import { loadConfig } from "../config";
import { descendants, installMocks, promiseOf } from "./kit";
import { stackConfig } from "./stackFiles";

function configOf(stack: string) {
    const raw = stackConfig(stack);
    return loadConfig({ get: (key) => raw[key.startsWith("aws:") ? key : `inference-platform:${key}`] }, "inference-platform", stack);
}


describe("the foundations", async () => {
    const rec = await installMocks();
    const dev = configOf("dev");
    const local = configOf("local");
    const aws: Foundation = createFoundation("eks", dev);
    const kind: Foundation = createFoundation("local", local);
    await rec.settle();

    it("createFoundation builds the one the platform names", () => {
        expect(aws).toBeInstanceOf(AwsFoundation);
        expect(kind).toBeInstanceOf(KindFoundation);
        expect([aws.platform, kind.platform]).toEqual(["eks", "local"]);
    });

    it("AWS exposes the gateway through a load balancer on the first Elastic IP, port 80", async () => {
        const ingress = aws.ingress;
        expect(ingress.kind).toBe("load-balancer");
        if (ingress.kind !== "load-balancer") return;
        expect(ingress.port).toBe(80);
        const eip = rec.one("aws:ec2/eip:Eip", "eks-ingress-nlb-eip-0");
        expect(await promiseOf(ingress.address)).toBe(eip.state.publicIp);
        const annotations = await promiseOf(ingress.serviceAnnotations({ port: 15021, path: "/healthz/ready" }) as never);
        expect(annotations).toMatchObject({ "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port": "15021" });
        // The Service waits for the controller and outlives nothing it needs: the addresses and their gate.
        const dependsOnTypes = ingress.dependsOn.map((r) => (r as unknown as { __pulumiType: string }).__pulumiType);
        expect(dependsOnTypes).toEqual(expect.arrayContaining(["inference-platform:ingress:LoadBalancerController", "aws:ec2/eip:Eip"]));
    });

    it("kind exposes a NodePort that kind-cluster.yaml maps to the host", async () => {
        expect(kind.ingress).toMatchObject({ kind: "node-port", nodePort: 31080, port: 8080 });
        expect(await promiseOf(kind.ingress.address)).toBe("127.0.0.1");
    });

    it("AWS models read through IRSA (no credentials in the environment) and write with a region", async () => {
        const storage = aws.modelStorage;
        expect(storage.readerEnv).toEqual([]);
        expect(storage.writerEnv).toEqual([
            { name: "AWS_REGION", value: "us-east-2" },
            { name: "AWS_DEFAULT_REGION", value: "us-east-2" },
        ]);
        expect(storage.kserveDefaults).toEqual({ region: "us-east-2" });
        expect(await promiseOf(storage.readerServiceAccountName)).toBe("kserve-models");
        expect(await promiseOf(storage.writerServiceAccountName)).toBe("model-seeder");
        expect(storage.modelPrefix).toBe("models/");
    });

    it("kind models use the local store's endpoint and key, and KServe's defaults stay empty", async () => {
        const storage = kind.modelStorage;
        const names = (env: typeof storage.readerEnv) => (env as { name: string }[]).map((e) => e.name);
        for (const env of [storage.readerEnv, storage.writerEnv]) {
            expect(names(env)).toEqual(expect.arrayContaining(["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"]));
        }
        expect(storage.kserveDefaults).toBeUndefined();
        expect(await promiseOf(storage.bucket)).toBe("models");
    });

    it("capacity and kubelet certificates say what each platform can do", () => {
        expect(aws.capacity).toEqual({ highAvailability: true, nodeAutoscaling: true, gpu: dev.gpuNodes.enabled });
        expect(kind.capacity).toEqual({ highAvailability: false, nodeAutoscaling: false, gpu: false });
        expect(aws.kubeletCertificatesVerifiable).toBe(true);
        expect(kind.kubeletCertificatesVerifiable).toBe(false);
    });

    it("outputs: AWS has all of them, kind none (null, never missing)", async () => {
        for (const [key, value] of Object.entries(aws.outputs)) expect(value, key).not.toBeNull();
        expect(await promiseOf(aws.outputs.clusterName!)).toBe("inference-platform-dev");
        for (const [key, value] of Object.entries(kind.outputs)) expect(value, key).toBeNull();
    });

    it("kind creates nothing in AWS", () => {
        const tree = descendants(rec, rec.one("inference-platform:local:KindFoundation", "local"));
        expect(tree.length).toBeGreaterThan(5);
        expect(tree.filter((r) => r.type.startsWith("aws:") || r.type.startsWith("eks:") || r.type.startsWith("awsx:"))).toEqual([]);
    });

    it("every child is named after its foundation", () => {
        for (const [root, name] of [["inference-platform:aws:AwsFoundation", "eks"], ["inference-platform:local:KindFoundation", "local"]] as const) {
            const children = rec.resources.filter((r) => r.parent === rec.one(root, name).urn);
            expect(children.length).toBeGreaterThan(1);
            for (const child of children) expect(child.name.startsWith(`${name}-`), child.name).toBe(true);
        }
    });

    it("refuses bad arguments before creating anything", () => {
        const before = rec.resources.length;
        expect(() => new AwsFoundation("bad", { ...dev, region: "Ohio", gatewayImage: { image: undefined, needed: false }, tags: {} })).toThrow(/region 'Ohio' is not an AWS region/);
        expect(() => new KindFoundation("bad", { models: local.models, ingressIp: "0.0.0.0" })).toThrow(/ingressIp '0.0.0.0' is in 0.0.0.0\/8/);
        expect(() => new KindFoundation("bad", { models: local.models, gatewayImage: "Not An Image" })).toThrow(/not an image reference/);
        expect(rec.resources.length).toBe(before);
    });
});
