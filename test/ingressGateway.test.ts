import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { ClusterAutoscaler } from "../components/aws/clusterAutoscaler";
import { DevicePlugin } from "../components/aws/devicePlugin";
import { IngressNlb, nlbServiceAnnotations } from "../components/aws/ingressNlb";
import { kindPortMapping } from "../components/local/kindCluster";
import { gatewayReadiness, IngressGateway, ingressGatewayValues } from "../components/platform/ingressGateway";
import { Istio } from "../components/platform/istio";
import { LoadBalancerController } from "../components/aws/loadBalancerController";
import { undeclaredValuePaths } from "./chartValues";
import { describeWithSharedSchemas, readUpstreamJson, readUpstreamYaml, sharedSchemasPresent } from "./shared";
import { defaultVersions } from "../versions";
import { runPolicies } from "../policy/policies";
import { newSchemaAjv } from "./jsonSchema";
import { descendants, FakeCluster, installMocks, promiseOf, testAccountId, testOidcIssuerHost } from "./kit";

const lb = "service.beta.kubernetes.io/aws-load-balancer";
const eksInput = {
    service: {
        type: "LoadBalancer" as const,
        annotations: nlbServiceAnnotations({ eipAllocationIds: ["eipalloc-a", "eipalloc-b"], publicSubnetIds: ["subnet-a", "subnet-b"], healthCheck: gatewayReadiness }),
    },
    minReplicas: 2,
};
const localInput = { service: { type: "NodePort" as const, nodePort: 31080 }, minReplicas: 1 };

describe("ingressGatewayValues", () => {
    it("names the gateway istio-ingressgateway with the labels net-istio, KServe and Kubeflow select", () => {
        for (const values of [ingressGatewayValues(eksInput), ingressGatewayValues(localInput)] as any[]) {
            expect(values.name).toBe("istio-ingressgateway");
            expect(values.labels).toMatchObject({ app: "istio-ingressgateway", istio: "ingressgateway" });
        }
    });

    it("makes an internet-facing, cross-zone NLB with IP targets on the given subnets and EIPs, in order", () => {
        const service = (ingressGatewayValues(eksInput) as any).service;
        expect(service.type).toBe("LoadBalancer");
        expect(service.annotations).toMatchObject({
            [`${lb}-type`]: "external",
            [`${lb}-nlb-target-type`]: "ip",
            [`${lb}-scheme`]: "internet-facing",
            [`${lb}-attributes`]: "load_balancing.cross_zone.enabled=true",
            [`${lb}-eip-allocations`]: "eipalloc-a,eipalloc-b",
            [`${lb}-subnets`]: "subnet-a,subnet-b",
        });
    });

    it("exposes only http on the NLB (the status port stays internal)", () => {
        const ports = (ingressGatewayValues(eksInput) as any).service.ports;
        expect(ports.map((p: any) => p.port)).toEqual([80]);
    });

    it("is a NodePort with the fixed http nodePort on kind", () => {
        const service = (ingressGatewayValues(localInput) as any).service;
        expect(service.type).toBe("NodePort");
        expect(service.ports).toContainEqual(expect.objectContaining({ port: 80, targetPort: 80, nodePort: 31080 }));
        expect(service.annotations).toBeUndefined();
    });

    it("refuses EIP and subnet lists of different lengths, and a health check that is no port or path", () => {
        const healthCheck = gatewayReadiness;
        expect(() => nlbServiceAnnotations({ eipAllocationIds: ["eipalloc-a"], publicSubnetIds: ["subnet-a", "subnet-b"], healthCheck })).toThrow(
            /one EIP per public subnet, got 1 EIPs for 2 subnets/,
        );
        expect(() => nlbServiceAnnotations({ eipAllocationIds: [], publicSubnetIds: [], healthCheck })).toThrow(/one EIP per public subnet/);
        const ids = { eipAllocationIds: ["eipalloc-a"], publicSubnetIds: ["subnet-a"] };
        expect(() => nlbServiceAnnotations({ ...ids, healthCheck: { port: 0, path: "/healthz/ready" } })).toThrow(/health-check port 0/);
        expect(() => nlbServiceAnnotations({ ...ids, healthCheck: { port: 15021, path: "healthz" } })).toThrow(/must start with '\/'/);
    });

    it("health-checks Istio's readiness endpoint, not the traffic port", () => {
        expect((ingressGatewayValues(eksInput) as any).service.annotations).toMatchObject({
            [`${lb}-healthcheck-port`]: "15021",
            [`${lb}-healthcheck-path`]: "/healthz/ready",
            [`${lb}-healthcheck-protocol`]: "http",
        });
    });

    it("adds a PDB only when more than one replica runs", () => {
        expect((ingressGatewayValues(eksInput) as any).podDisruptionBudget).toEqual({ minAvailable: 1 });
        expect((ingressGatewayValues(localInput) as any).podDisruptionBudget).toBeUndefined();
    });

    describeWithSharedSchemas(`against the gateway chart's values.schema.json and values.yaml (${defaultVersions.istio})`, () => {
        const schema = sharedSchemasPresent ? readUpstreamJson("istio", "gateway.values.schema.json") : {};
        // The schema names the draft with a URL Ajv does not know; the keywords are draft-07 compatible.
        const { $schema: _ignored, ...body } = schema;
        const validate = newSchemaAjv({ allErrors: true }).compile(body);

        it.each([
            ["eks", eksInput],
            ["local", localInput],
        ])("%s values validate", (_platform, input) => {
            const ok = validate(ingressGatewayValues(input));
            expect(validate.errors ?? []).toEqual([]);
            expect(ok).toBe(true);
        });

        it("the schema rejects a misspelt top-level value (so the check can fail)", () => {
            expect(validate({ ...ingressGatewayValues(localInput), serviceType: "NodePort" })).toBe(false);
        });

        it("uses only value names the chart's values.yaml declares", () => {
            const declared = readUpstreamYaml("istio", "gateway.values.yaml")._internal_defaults_do_not_set as Record<string, unknown>;
            for (const input of [eksInput, localInput]) {
                expect(undeclaredValuePaths(ingressGatewayValues(input), declared, { freeForm: ["service.ports", "labels"] })).toEqual([]);
            }
        });
    });
});

describe("kindPortMapping", () => {
    it("maps the gateway's nodePort to the host port on the local IP", () => {
        expect(kindPortMapping({ localIp: "127.0.0.1", hostPort: 8080 })).toEqual({
            containerPort: 31080,
            hostPort: 8080,
            listenAddress: "127.0.0.1",
            protocol: "TCP",
        });
    });

    it("rejects ports outside their ranges and unusable IPs", () => {
        expect(() => kindPortMapping({ localIp: "127.0.0.1", hostPort: 70000 })).toThrow(/hostPort 70000/);
        expect(() => kindPortMapping({ localIp: "127.0.0.1", hostPort: 8080, httpNodePort: 8080 })).toThrow(/NodePort range/);
        expect(() => kindPortMapping({ localIp: "localhost", hostPort: 8080 })).toThrow(/not an IPv4/);
    });
});


describe("the ingress wired as the foundations and the serving platform wire it", async () => {
    const rec = await installMocks();
    const cluster = new FakeCluster("cluster", "cpu");
    const oidcProvider = { arn: `arn:aws:iam::${testAccountId}:oidc-provider/${testOidcIssuerHost}`, issuer: testOidcIssuerHost };
    const publicSubnetIds = pulumi.output(["subnet-public-0", "subnet-public-1", "subnet-public-2"]);

    // eks
    const istio = new Istio("istio", { waitFor: [cluster] });
    // Named as index.ts should name them: the policy pack's IAM wildcard exceptions match these names.
    const lbc = new LoadBalancerController("aws-load-balancer-controller", {
        clusterName: pulumi.output("demo"),
        region: "us-east-2",
        vpcId: pulumi.output("vpc-0123456789"),
        oidcProvider,
        waitFor: [cluster],
    });
    const nlb = new IngressNlb("ingress-nlb", { publicSubnetIds, publicSubnetCount: 3, loadBalancerController: lbc, region: "us-east-2" });
    const gateway = new IngressGateway("ingress", { istio, exposure: nlb.exposure, minReplicas: 2 });
    new DevicePlugin("gpu", { waitFor: [cluster] });
    new ClusterAutoscaler("cluster-autoscaler", { clusterName: pulumi.output("demo"), region: "us-east-2", oidcProvider, kubernetesVersion: "1.34", waitFor: [cluster] });

    // local (kind), side by side under other names
    const localIstio = new Istio("local-istio");
    const localExposure = { kind: "node-port" as const, address: pulumi.output("127.0.0.1"), port: 8080, nodePort: 31080 };
    const localGateway = new IngressGateway("local-ingress", { istio: localIstio, exposure: localExposure });

    await rec.settle();
    /** The Helm release registered under exactly this resource name. */
    const release = (name: string) => {
        const found = rec.byType("kubernetes:helm.sh/v3:Release").filter((r) => r.name === name);
        if (found.length !== 1) throw new Error(`expected one release named ${name}, found ${found.length}`);
        return found[0];
    };
    const eksGateway = release("ingress-release");
    const localRelease = release("local-ingress-release");

    it("installs the gateway chart as release istio-ingressgateway in istio-system", () => {
        expect(eksGateway.inputs).toMatchObject({
            name: "istio-ingressgateway",
            namespace: "istio-system",
            chart: "gateway",
            version: "1.29.6",
            repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" },
            values: { name: "istio-ingressgateway", labels: { app: "istio-ingressgateway", istio: "ingressgateway" } },
        });
    });

    it("creates one EIP per public subnet and pins them, in subnet order, on the NLB", async () => {
        const eips = rec.byType("aws:ec2/eip:Eip").filter((r) => r.name.startsWith("ingress-nlb-eip-"));
        expect(eips).toHaveLength(3);
        for (const eip of eips) expect(eip.inputs.domain).toBe("vpc");
        const ids = await promiseOf(nlb.eipAllocationIds);
        expect(ids).toEqual([0, 1, 2].map((i) => eips.find((e) => e.name === `ingress-nlb-eip-${i}`)!.state.allocationId));
        expect(eksGateway.inputs.values.service.annotations).toMatchObject({
            [`${lb}-eip-allocations`]: ids.join(","),
            [`${lb}-subnets`]: "subnet-public-0,subnet-public-1,subnet-public-2",
        });
    });

    it("reports the first EIP's public IP as the ingress IP and its sslip.io domain", async () => {
        const first = rec.one("aws:ec2/eip:Eip", "ingress-nlb-eip-0");
        const ip = await promiseOf(gateway.ingressIp);
        expect(ip).toBe(first.state.publicIp);
        expect(await promiseOf(gateway.domain)).toBe(`${first.state.publicIp}.sslip.io`);
        expect(gateway.ingressPort).toBe(80);
    });

    it("creates the gateway after the Load Balancer Controller, istiod and the EIPs", () => {
        expect(rec.dependsOn(eksGateway, release("aws-load-balancer-controller-release"))).toBe(true);
        expect(rec.dependsOn(eksGateway, release("istio-istiod"))).toBe(true);
        for (const eip of rec.byType("aws:ec2/eip:Eip").filter((r) => r.name.startsWith("ingress-nlb-eip-"))) {
            expect(rec.dependsOn(eksGateway, eip)).toBe(true);
        }
    });

    it("destroy: the gateway (and so the NLB) goes first, then the gate waits for the EIPs to be disassociated, then the EIPs", async () => {
        // Pulumi deletes a resource only after everything that depends on it: gateway release -> gate -> EIPs.
        const gate = rec.one("pulumi-nodejs:dynamic/inference-platform:DeletionGate", "ingress-nlb-eips-disassociated");
        const eips = rec.byType("aws:ec2/eip:Eip").filter((r) => r.name.startsWith("ingress-nlb-eip-"));
        expect(rec.dependsOn(eksGateway, gate)).toBe(true);
        for (const eip of eips) {
            expect(rec.dependsOn(gate, eip)).toBe(true);
            expect(rec.dependsOn(eip, gate)).toBe(false);
        }
        expect(gate.inputs.region).toBe("us-east-2");
        expect(gate.inputs.condition).toEqual({ kind: "addresses-disassociated", allocationIds: await promiseOf(nlb.eipAllocationIds) });
        // The gate must not hold up the controller's removal (the controller deletes the NLB after the gateway goes).
        expect(rec.dependsOn(gate, release("aws-load-balancer-controller-release"))).toBe(false);
    });

    it("keeps istio, the controller, the device plugin and the autoscaler independent of each other", () => {
        const independent = ["istio-base", "istio-istiod", "aws-load-balancer-controller-release", "gpu-release", "cluster-autoscaler-release"].map(release);
        for (const a of independent) {
            for (const b of independent) {
                if (a === b || (a.name === "istio-istiod" && b.name === "istio-base")) continue;
                expect(rec.dependsOn(a, b), `${a.name} must not wait for ${b.name}`).toBe(false);
            }
        }
    });

    it("local: NodePort gateway, configured IP and host port, and no AWS resources", async () => {
        expect(localRelease.inputs.values.service).toMatchObject({ type: "NodePort" });
        expect(localRelease.inputs.values.service.ports[0]).toMatchObject({ nodePort: 31080 });
        expect(await promiseOf(localGateway.ingressIp)).toBe("127.0.0.1");
        expect(await promiseOf(localGateway.domain)).toBe("127.0.0.1.sslip.io");
        expect(localGateway.ingressPort).toBe(8080);
        const localTree = [
            ...descendants(rec, rec.one("inference-platform:ingress:IngressGateway", "local-ingress")),
            ...descendants(rec, rec.one("inference-platform:mesh:Istio", "local-istio")),
        ];
        expect(localTree.length).toBeGreaterThan(3);
        expect(localTree.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
        expect(rec.dependsOn(localRelease, release("local-istio-istiod"))).toBe(true);
    });

    it("rejects bad arguments before creating anything", () => {
        const before = rec.resources.length;
        expect(() => new IngressNlb("bad1", { publicSubnetIds, publicSubnetCount: 0, loadBalancerController: lbc, region: "Ohio" })).toThrow(
            /publicSubnetCount \(0\) must be an integer from 1 to 6; region 'Ohio' is not an AWS region/,
        );
        expect(() => new IngressGateway("bad3", { istio, exposure: { ...localExposure, nodePort: 8080 } })).toThrow(/NodePort range/);
        expect(() => new IngressGateway("bad4", { istio, exposure: localExposure, minReplicas: 9 })).toThrow(/minReplicas 9/);
        expect(() => new IngressGateway("bad5", { istio, exposure: localExposure, domain: "Models.Example.com" })).toThrow(/domain:/);
        expect(rec.resources.length).toBe(before);
    });

    it("passes the policy pack (IAM wildcards only under the documented exceptions, explicit releases, one LoadBalancer)", () => {
        const views = rec.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, inputs: r.inputs, dependencies: [...r.dependencies] }));
        expect(runPolicies(views)).toEqual([]);
        // The pack does look at these: the same LBC policy under an unrecognised name is flagged.
        const lbcPolicy = views.find((v) => v.name === "aws-load-balancer-controller-irsa-policy")!;
        expect(runPolicies([{ ...lbcPolicy, name: "lbc-irsa-policy" }]).map((v) => v.policy)).toContain("iam-no-wildcards");
    });

    it("uses a custom domain instead of sslip.io", async () => {
        const custom = new IngressGateway("custom", { istio: localIstio, exposure: localExposure, domain: "models.example.com" });
        expect(await promiseOf(custom.domain)).toBe("models.example.com");
    });
});
