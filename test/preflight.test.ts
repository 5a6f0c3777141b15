/**
 * Preflight: pure evaluation, and the component with mocked invokes that return short quotas and
 * partial offerings, in preview mode (invokes run at preview; a failure must stop what depends on it).
 *
 * Facts used as expected values (not from the code under test):
 * - Quota codes and names: Service Quotas, service `ec2`: L-DB2E81BA "Running On-Demand G and VT
 *   instances", L-3819A6DF "All G and VT Spot Instance Requests" (both in vCPUs), L-0263D0A3
 *   "EC2-VPC Elastic IPs" (AWS Service Quotas console, Amazon EC2; AWS re:Post "vCPU limits").
 * - vCPUs: g5.xlarge 4, g5.12xlarge 48, g6e.2xlarge 8, p4d.24xlarge 96, p5.48xlarge 192 (AWS EC2
 *   "Accelerated computing instance specifications").
 */
import * as aws from "@pulumi/aws";
import { describe, expect, it, vi } from "vitest";
import {
    acceleratedVcpus,
    evaluatePreflight,
    Preflight,
    PreflightPlan,
    preflightFailureMessage,
    quotaNeeds,
} from "../components/aws/preflight";
import { AwsFoundation } from "../components/aws/awsFoundation";
import { createFoundation } from "../components/foundations";
import { loadConfig } from "../config";
import { installMocks } from "./kit";
import { stackConfig } from "./stackFiles";

const karpenterPlan: PreflightPlan = {
    gpu: { kind: "karpenter", instanceFamilies: ["g6", "g5", "g6e"], maxVcpus: 16, spot: true },
    natGateways: 1,
    loadBalancerAddresses: 2,
};
const zones = ["us-east-2a", "us-east-2b"];
const everywhere = (types: string[]) => ({
    instanceTypes: types.flatMap((t) => zones.map(() => t)),
    locations: types.flatMap(() => zones),
});

describe("acceleratedVcpus", () => {
    it("matches AWS's published vCPU counts", () => {
        expect(acceleratedVcpus("g5.xlarge")).toBe(4);
        expect(acceleratedVcpus("g5.12xlarge")).toBe(48);
        expect(acceleratedVcpus("g6e.2xlarge")).toBe(8);
        expect(acceleratedVcpus("p4d.24xlarge")).toBe(96);
        expect(acceleratedVcpus("p5.48xlarge")).toBe(192);
        expect(() => acceleratedVcpus("g5.metal")).toThrow(/not an <family>.<n>xlarge/);
    });
});

describe("quotaNeeds", () => {
    it("karpenter with spot: both G/VT quotas must hold the pool's vCPU limit; EIPs for NAT + NLB", () => {
        expect(quotaNeeds(karpenterPlan).map((n) => [n.quota, n.need])).toEqual([
            ["onDemandGAndVt", 16],
            ["spotGAndVt", 16],
            ["elasticIps", 3],
        ]);
    });
    it("karpenter on-demand only needs no spot quota", () => {
        const plan = { ...karpenterPlan, gpu: { ...karpenterPlan.gpu!, spot: false } } as PreflightPlan;
        expect(quotaNeeds(plan).map((n) => n.quota)).toEqual(["onDemandGAndVt", "elasticIps"]);
    });
    it("node-group: max nodes of the largest type, on the group's capacity type", () => {
        const plan: PreflightPlan = { gpu: { kind: "node-group", instanceTypes: ["g5.xlarge", "g5.12xlarge"], maxSize: 2, capacityType: "SPOT" }, natGateways: 2, loadBalancerAddresses: 2 };
        expect(quotaNeeds(plan).map((n) => [n.quota, n.need])).toEqual([
            ["spotGAndVt", 96],
            ["elasticIps", 4],
        ]);
    });
    it("no GPU: only Elastic IPs", () => {
        expect(quotaNeeds({ natGateways: 1, loadBalancerAddresses: 3 }).map((n) => [n.quota, n.need])).toEqual([["elasticIps", 4]]);
    });
});

describe("evaluatePreflight", () => {
    const facts = {
        region: "us-east-2",
        availabilityZones: zones,
        quotaValues: { onDemandGAndVt: 0, spotGAndVt: 8, elasticIps: 5 },
        offerings: everywhere(["g6.xlarge", "g5.xlarge", "g6e.xlarge"]),
    };

    it("names each short quota with the need, the current value and the console and CLI steps", () => {
        const result = evaluatePreflight(karpenterPlan, facts);
        expect(result.errors).toHaveLength(2);
        const [onDemand, spot] = result.errors;
        expect(onDemand).toContain('"Running On-Demand G and VT instances" (ec2 L-DB2E81BA) is 0 vCPUs in us-east-2');
        expect(onDemand).toContain("needs 16");
        expect(onDemand).toContain("Service Quotas console (region us-east-2) > AWS services > Amazon Elastic Compute Cloud (Amazon EC2)");
        expect(onDemand).toContain("aws service-quotas request-service-quota-increase --region us-east-2 --service-code ec2 --quota-code L-DB2E81BA --desired-value 16");
        expect(onDemand).toContain("lower gpuMaxVcpus");
        expect(spot).toContain('"All G and VT Spot Instance Requests" (ec2 L-3819A6DF) is 8 vCPUs');
        expect(spot).toContain("--quota-code L-3819A6DF --desired-value 16");
        expect(result.warnings).toEqual([]);
    });

    it("passes when every quota holds the need exactly", () => {
        expect(evaluatePreflight(karpenterPlan, { ...facts, quotaValues: { onDemandGAndVt: 16, spotGAndVt: 16, elasticIps: 3 } })).toEqual({ errors: [], warnings: [] });
    });

    it("fails for too few Elastic IPs, suggesting the config that needs fewer", () => {
        const result = evaluatePreflight(karpenterPlan, { ...facts, quotaValues: { onDemandGAndVt: 64, spotGAndVt: 64, elasticIps: 2 } });
        expect(result.errors).toEqual([expect.stringMatching(/"EC2-VPC Elastic IPs" \(ec2 L-0263D0A3\) is 2 Elastic IPs in us-east-2, but 1 NAT gateway\(s\) and 2 ingress NLB address\(es\).* needs 3\. Raise it .*natGateways: single/)]);
    });

    it("a family offered in no zone of the stack is an error; in some zones a warning", () => {
        const offerings = {
            instanceTypes: ["g6.xlarge", "g6.xlarge", "g5.xlarge", "g6e.xlarge"],
            locations: ["us-east-2a", "us-east-2b", "us-east-2a", "us-east-2c"],
        };
        const result = evaluatePreflight(karpenterPlan, { ...facts, quotaValues: { onDemandGAndVt: 64, spotGAndVt: 64, elasticIps: 5 }, offerings });
        expect(result.errors).toEqual([expect.stringMatching(/^instance family g6e is offered in none of the stack's availability zones in us-east-2 \(us-east-2a, us-east-2b\): remove it from gpuInstanceFamilies/)]);
        expect(result.warnings).toEqual([expect.stringMatching(/^instance family g5 is not offered in us-east-2b \(only in us-east-2a\)/)]);
    });

    it("a family does not match another family that shares its prefix (g6 vs g6e)", () => {
        const plan: PreflightPlan = { ...karpenterPlan, gpu: { kind: "karpenter", instanceFamilies: ["g6"], maxVcpus: 16, spot: true } };
        const result = evaluatePreflight(plan, { ...facts, quotaValues: { onDemandGAndVt: 64, spotGAndVt: 64, elasticIps: 5 }, offerings: everywhere(["g6e.xlarge"]) });
        expect(result.errors).toEqual([expect.stringMatching(/^instance family g6 is offered in none/)]);
    });

    it("formats one message with every problem", () => {
        const message = preflightFailureMessage("us-east-2", evaluatePreflight(karpenterPlan, facts));
        expect(message.split("\n")[0]).toBe("Preflight failed in us-east-2 (2 problems; preflight: false skips these checks):");
        expect(message.split("\n").filter((l) => l.startsWith("  - "))).toHaveLength(2);
    });
});

describe("Preflight component (preview, mocked invokes)", async () => {
    /** The quota values and offerings the mocked AWS answers with; each test sets its own. */
    let quotas: Record<string, number> = {};
    let offeredZones: Record<string, string[]> = {};
    /** When set, Service Quotas answers as it does to a caller without servicequotas:GetServiceQuota. */
    let denyQuotas = false;
    const rec = await installMocks({
        preview: true,
        calls: (token, inputs) => {
            if (token === "aws:servicequotas/getServiceQuota:getServiceQuota") {
                if (denyQuotas) throw new Error("AccessDeniedException: User is not authorized to perform: servicequotas:GetServiceQuota");
                return { serviceCode: inputs.serviceCode, quotaCode: inputs.quotaCode, value: quotas[inputs.quotaCode], id: inputs.quotaCode };
            }
            if (token === "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings") {
                const rows = Object.entries(offeredZones).flatMap(([type, zs]) => zs.map((z) => [type, z]));
                return { instanceTypes: rows.map((r) => r[0]), locations: rows.map((r) => r[1]), locationTypes: rows.map(() => "availability-zone"), id: "x" };
            }
            return undefined;
        },
    });

    /** Runs a preflight and a VPC that depends on it; returns what failed and whether the VPC registered. */
    async function run(name: string) {
        const failures: string[] = [];
        const onRejection = (err: unknown) => failures.push(String(err));
        process.on("unhandledRejection", onRejection);
        let result: unknown;
        try {
            const preflight = new Preflight(name, { region: "us-east-2", availabilityZones: zones, plan: karpenterPlan });
            new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: "10.0.0.0/16" }, { dependsOn: preflight.passed });
            // Output.promise() rejects with the apply's error (promiseOf would wait forever).
            result = await (preflight.result as unknown as { promise(): Promise<unknown> }).promise().catch((err) => (failures.push(String(err)), undefined));
            await rec.settle().catch(onRejection);
            await new Promise((resolve) => setTimeout(resolve, 50));
        } finally {
            process.off("unhandledRejection", onRejection);
        }
        return { failures: failures.join("\n"), result, vpcRegistered: rec.resources.some((r) => r.name === `${name}-vpc`) };
    }

    it("asks for the three quotas and for the families' offerings in the stack's zones", async () => {
        quotas = { "L-DB2E81BA": 64, "L-3819A6DF": 64, "L-0263D0A3": 5 };
        offeredZones = { "g6.xlarge": zones, "g5.xlarge": zones, "g6e.xlarge": zones };
        const before = rec.calls.length;
        const { failures, vpcRegistered } = await run("ok");
        expect(failures).toBe("");
        expect(vpcRegistered).toBe(true);
        const calls = rec.calls.slice(before);
        expect(calls.filter((c) => c.token.startsWith("aws:servicequotas")).map((c) => `${c.inputs.serviceCode}/${c.inputs.quotaCode}`).sort()).toEqual([
            "ec2/L-0263D0A3",
            "ec2/L-3819A6DF",
            "ec2/L-DB2E81BA",
        ]);
        const offerings = calls.find((c) => c.token === "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings")!;
        expect(offerings.inputs.locationType).toBe("availability-zone");
        expect(offerings.inputs.filters).toEqual([
            { name: "instance-type", values: ["g6.*", "g5.*", "g6e.*"] },
            { name: "location", values: zones },
        ]);
    });

    it("short GPU quotas fail the preview with one message, and nothing that depends on it registers", async () => {
        quotas = { "L-DB2E81BA": 0, "L-3819A6DF": 4, "L-0263D0A3": 5 };
        offeredZones = { "g6.xlarge": zones, "g5.xlarge": zones, "g6e.xlarge": zones };
        const { failures, vpcRegistered } = await run("short");
        expect(failures).toMatch(/Preflight failed in us-east-2 \(2 problems/);
        expect(failures).toMatch(/L-DB2E81BA\) is 0 vCPUs in us-east-2, but the GPU NodePool may run 16 vCPUs on-demand/);
        expect(failures).toMatch(/L-3819A6DF\) is 4 vCPUs/);
        expect(vpcRegistered).toBe(false);
    });

    it("a family offered nowhere fails; offered in one zone only passes with a warning", async () => {
        quotas = { "L-DB2E81BA": 64, "L-3819A6DF": 64, "L-0263D0A3": 5 };
        offeredZones = { "g6.xlarge": zones, "g5.xlarge": ["us-east-2a"] };
        const failed = await run("nog6e");
        expect(failed.failures).toMatch(/instance family g6e is offered in none of the stack's availability zones/);
        expect(failed.vpcRegistered).toBe(false);

        offeredZones = { "g6.xlarge": zones, "g5.xlarge": ["us-east-2a"], "g6e.2xlarge": zones };
        const warned = await run("partial");
        expect(warned.failures).toBe("");
        expect(warned.vpcRegistered).toBe(true);
        expect((warned.result as { warnings: string[] }).warnings).toEqual([expect.stringMatching(/^instance family g5 is not offered in us-east-2b/)]);
    });

    it("an invoke the caller may not make fails with the permission to grant and how to skip", async () => {
        quotas = { "L-DB2E81BA": 64, "L-3819A6DF": 64, "L-0263D0A3": 5 };
        offeredZones = { "g6.xlarge": zones, "g5.xlarge": zones, "g6e.xlarge": zones };
        denyQuotas = true;
        try {
            const { failures, vpcRegistered } = await run("denied");
            expect(failures).toMatch(/could not read the service quota "Running On-Demand G and VT instances" \(ec2 L-DB2E81BA\) in us-east-2 \(needs servicequotas:GetServiceQuota; preflight: false skips these checks\)/);
            expect(vpcRegistered).toBe(false);
        } finally {
            denyQuotas = false;
        }
    });

    it("in the AWS foundation, a shortfall stops every other child from registering", async () => {
        quotas = { "L-DB2E81BA": 64, "L-3819A6DF": 64, "L-0263D0A3": 2 };
        offeredZones = { "g6.xlarge": zones, "g5.xlarge": zones, "g6e.xlarge": zones };
        const raw = stackConfig("dev");
        const dev = loadConfig({ get: (key) => raw[key.startsWith("aws:") ? key : `inference-platform:${key}`] }, "inference-platform", "dev");
        const failures: string[] = [];
        const onRejection = (err: unknown) => failures.push(String(err));
        process.on("unhandledRejection", onRejection);
        // What `pulumi up` would print: Pulumi's runtime logs the failed invoke with the preflight message.
        const logged: string[] = [];
        const consoleError = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void logged.push(args.join(" ")));
        try {
            const foundation = createFoundation("pf", dev) as AwsFoundation;
            await (foundation.preflight!.result as unknown as { promise(): Promise<unknown> }).promise().catch((err) => failures.push(String(err)));
            await rec.settle().catch(onRejection);
            await new Promise((resolve) => setTimeout(resolve, 50));
        } finally {
            process.off("unhandledRejection", onRejection);
            consoleError.mockRestore();
        }
        expect(failures.join("\n")).toMatch(/service quota "EC2-VPC Elastic IPs" \(ec2 L-0263D0A3\) is 2 Elastic IPs in us-east-2, but 1 NAT gateway\(s\) and 2 ingress NLB address\(es\)/);
        expect(logged.join("\n")).toMatch(/^error: \[runtime\] .*Preflight failed in us-east-2 \(1 problem; preflight: false skips these checks\)/m);
        const tree = rec.resources.filter((r) => r.name.startsWith("pf-")).map((r) => r.type);
        expect(tree).toContain("inference-platform:aws:Preflight");
        expect(tree.filter((t) => t !== "inference-platform:aws:Preflight")).toEqual([]);
    });

    it("rejects an unusable plan before registering anything", () => {
        const before = rec.resources.length;
        expect(() => new Preflight("bad", { region: "Ohio", availabilityZones: zones, plan: karpenterPlan })).toThrow(/region 'Ohio' is not an AWS region/);
        expect(
            () =>
                new Preflight("bad2", {
                    region: "us-east-2",
                    availabilityZones: zones,
                    plan: { gpu: { kind: "node-group", instanceTypes: ["g5.metal"], maxSize: 1, capacityType: "ON_DEMAND" }, natGateways: 1, loadBalancerAddresses: 2 },
                }),
        ).toThrow(/'g5.metal' has no known vCPU count/);
        expect(rec.resources.length).toBe(before);
    });
});
