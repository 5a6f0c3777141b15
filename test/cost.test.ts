import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { ConfigError, loadConfig, StackConfig } from "../config";
import { estimateCost, formatCostTable, instancePrice, PriceLookupError, rawConfigFromStackFile } from "../cost/estimate";
import { pricedRegions, prices } from "../cost/prices";
import { stackCostInput } from "../scripts/cost";

function config(raw: Record<string, string>, stack = "test"): StackConfig {
    return loadConfig({ get: (key) => raw[key] }, "inference-platform", stack);
}
const line = (estimate: ReturnType<typeof estimateCost>, item: string) => {
    const found = estimate.lines.find((l) => l.item === item);
    if (!found) throw new Error(`no line ${item}`);
    return found;
};

describe("price table", () => {
    it("is dated and names its sources", () => {
        expect(prices.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect(Object.values(prices.sources).every((u) => u.startsWith("https://aws.amazon.com/"))).toBe(true);
    });
    it("prices the default instance types in every US region, and the CPU defaults everywhere", () => {
        for (const region of pricedRegions) {
            for (const t of ["m6i.large", "m5.large", "t3.large", "g5.xlarge", "g4dn.xlarge"]) {
                expect(prices.regions[region].instances[t], `${t} in ${region}`).toBeGreaterThan(0);
            }
        }
        for (const region of ["us-east-1", "us-east-2", "us-west-2"] as const) expect(prices.regions[region].instances["g6.xlarge"]).toBeGreaterThan(0);
    });
    it("keeps GPU instances dearer than CPU instances (a sanity check on typos)", () => {
        for (const region of pricedRegions) {
            const p = prices.regions[region].instances;
            expect(p["g4dn.xlarge"]).toBeGreaterThan(p["m6i.large"] * 3);
        }
    });
});

describe("hand-computed totals", () => {
    it("node-group mode in us-east-2: on-demand CPU at 2..4, GPU group at 0..2, one NAT", () => {
        const p = prices.regions["us-east-2"];
        const h = prices.hoursPerMonth;
        const estimate = estimateCost(config({ "aws:region": "us-east-2", gpuProvisioner: "node-group" }));
        // CPU: m6i.large and m5.large; GPU: g5.xlarge (dearest of g5/g6/g4dn) at peak.
        const cpuMin = Math.min(p.instances["m6i.large"], p.instances["m5.large"]);
        const cpuMax = Math.max(p.instances["m6i.large"], p.instances["m5.large"]);
        const gpuMax = Math.max(p.instances["g5.xlarge"], p.instances["g6.xlarge"], p.instances["g4dn.xlarge"]);
        const shared = p.eksStandardHour + p.natGatewayHour + p.nlbHour + 1 * p.nlbLcuHour + (1 + 2) * p.publicIpv4Hour;
        const idle = shared + 2 * cpuMin + (2 * 50 * p.ebsGp3GbMonth) / h;
        // GPU root volumes at 600 MB/s (nodeadm's minimum for parallel pull) pay for 475 MB/s above gp3's 125.
        const gpuVolume = (100 * p.ebsGp3GbMonth + 475 * p.ebsGp3ThroughputMbpsMonth) / h;
        const peak = shared + 4 * cpuMax + (4 * 50 * p.ebsGp3GbMonth) / h + 2 * gpuMax + 2 * gpuVolume;
        expect(estimate.idlePerHour).toBeCloseTo(idle, 10);
        expect(estimate.peakPerHour).toBeCloseTo(peak, 10);
        expect(estimate.idlePerMonth).toBeCloseTo(idle * 730, 6);
        // Literal sanity check of the arithmetic above with today's table: 0.1+0.045+0.0225+0.006+0.015+0.192+0.010959 ≈ 0.3915
        expect(estimate.idlePerHour).toBeCloseTo(0.3915, 3);
    });

    it("eu-west-1, three AZs with onePerAz NAT, spot t3.large CPU, no GPU, a stack-created KMS key", () => {
        const p = prices.regions["eu-west-1"];
        const h = prices.hoursPerMonth;
        const estimate = estimateCost(
            config({
                "aws:region": "eu-west-1",
                availabilityZones: "3",
                natGateways: "onePerAz",
                elasticIpQuota: "6",
                cpuInstanceTypes: '["t3.large"]',
                cpuCapacityType: "SPOT",
                cpuMinSize: "1",
                cpuDesiredSize: "1",
                cpuMaxSize: "3",
                gpuEnabled: "false",
                modelBucketEncryption: "aws:kms",
            }),
            { spotDiscount: 0.7 },
        );
        const shared = p.eksStandardHour + 3 * p.natGatewayHour + p.nlbHour + p.nlbLcuHour + (3 + 3) * p.publicIpv4Hour + p.kmsKeyMonth / h;
        const spot = p.instances["t3.large"] * (1 - 0.7);
        expect(estimate.idlePerHour).toBeCloseTo(shared + 1 * spot + (50 * p.ebsGp3GbMonth) / h, 10);
        expect(estimate.peakPerHour).toBeCloseTo(shared + 3 * spot + (3 * 50 * p.ebsGp3GbMonth) / h, 10);
        expect(estimate.lines.map((l) => l.item)).not.toContain("GPU nodes");
        expect(estimate.idlePerHourWithSpotCpu).toBeUndefined();
    });
});

describe("Karpenter GPU capacity", () => {
    const p = prices.regions["us-east-2"];
    const h = prices.hoursPerMonth;
    // The default eks config: Karpenter, g6/g5/g6e, 2 GPUs, 16 vCPUs, spot with fallback, 100 GiB disks.
    const pool = { "aws:region": "us-east-2" };
    const base = estimateCost(config({ ...pool, gpuEnabled: "false" }));
    const withPool = estimateCost(config(pool));

    it("is the default on eks, derived from config", () => {
        expect(withPool.lines.map((l) => l.item)).toEqual(expect.arrayContaining(["GPU pool (Karpenter)", "GPU pool root volumes"]));
        expect(withPool.lines.map((l) => l.item)).not.toContain("GPU nodes");
    });

    it("costs nothing idle", () => {
        expect(line(withPool, "GPU pool (Karpenter)").idle).toBe(0);
        expect(line(withPool, "GPU pool root volumes").idle).toBe(0);
        expect(withPool.idlePerHour).toBeCloseTo(base.idlePerHour, 10);
    });

    it("peaks at the pool's GPU limit at the dearest on-demand $/GPU its vCPU limit allows (8 vCPUs per GPU: up to 2xlarge)", () => {
        // g6e.2xlarge (1 GPU, 8 vCPUs) is the dearest per GPU among g6/g5/g6e .xlarge and .2xlarge in the table.
        expect(line(withPool, "GPU pool (Karpenter)").peak).toBeCloseTo(2 * 2.24208, 10);
        // 100 GiB at 600 MB/s: 475 MB/s above gp3's included 125, and the included 3000 IOPS.
        const gpuVolume = (100 * p.ebsGp3GbMonth + 475 * p.ebsGp3ThroughputMbpsMonth) / h;
        expect(line(withPool, "GPU pool root volumes").peak).toBeCloseTo(2 * gpuVolume, 10);
        expect(line(withPool, "GPU pool root volumes").detail).toMatch(/100 GiB gp3 .* \+ 600 MB\/s/);
        expect(withPool.peakPerHour - base.peakPerHour).toBeCloseTo(2 * 2.24208 + 2 * gpuVolume, 10);
        // With 4 vCPUs per GPU only the xlarge sizes fit: g6e.xlarge.
        const tight = estimateCost(config({ ...pool, gpuMaxVcpus: "8" }));
        expect(line(tight, "GPU pool (Karpenter)").peak).toBeCloseTo(2 * 1.861, 10);
    });

    it("shows spot as a range, cheapest to dearest $/GPU at the estimated discount", () => {
        expect(withPool.gpuPoolSpotPeakRange!.low).toBeCloseTo(2 * 0.8048 * (1 - prices.spotDiscountEstimate), 10);
        expect(withPool.gpuPoolSpotPeakRange!.high).toBeCloseTo(2 * 2.24208 * (1 - prices.spotDiscountEstimate), 10);
        expect(formatCostTable(withPool)).toMatch(/GPU pool at its limit on spot: about \$0\.644 \.\. \$1\.794\/h/);
        const onDemandOnly = estimateCost(config({ ...pool, gpuSpot: "false" }));
        expect(onDemandOnly.gpuPoolSpotPeakRange).toBeUndefined();
    });

    it("prices the CPU burst pool by its vCPU limit", () => {
        const both = estimateCost(config({ ...pool, cpuBurstPool: "true", cpuBurstInstanceFamilies: '["m6i","m5"]', cpuBurstMaxVcpus: "16" }));
        expect(both.idlePerHour).toBeCloseTo(withPool.idlePerHour, 10);
        // m6i.large and m5.large: $0.096 for 2 vCPUs.
        expect(line(both, "CPU burst pool (Karpenter)").peak).toBeCloseTo(16 * (0.096 / 2), 10);
        expect(line(both, "CPU burst pool (Karpenter)").idle).toBe(0);
        expect(line(both, "CPU burst pool root volumes").peak).toBeCloseTo((8 * 50 * p.ebsGp3GbMonth) / h, 10);
    });

    it("refuses families the region's table does not price", () => {
        expect(() => estimateCost(config({ "aws:region": "eu-west-1" }))).toThrow(/no on-demand price for any size of instance families g6, g6e in eu-west-1/);
    });
});

describe("cost properties", () => {
    const base = { "aws:region": "us-east-1" };
    it("idle < peak", () => {
        const e = estimateCost(config(base));
        expect(e.idlePerHour).toBeLessThan(e.peakPerHour);
    });
    it("an enabled GPU group at zero costs nothing idle", () => {
        const withGpu = estimateCost(config({ ...base, gpuEnabled: "true", gpuProvisioner: "node-group" }));
        const withoutGpu = estimateCost(config({ ...base, gpuEnabled: "false" }));
        expect(line(withGpu, "GPU nodes").idle).toBe(0);
        expect(line(withGpu, "GPU root volumes").idle).toBe(0);
        expect(withGpu.idlePerHour).toBeCloseTo(withoutGpu.idlePerHour, 12);
        expect(withGpu.peakPerHour).toBeGreaterThan(withoutGpu.peakPerHour);
    });
    it("a GPU minimum of one costs a GPU instance idle", () => {
        const e = estimateCost(config({ ...base, gpuProvisioner: "node-group", gpuInstanceTypes: '["g4dn.xlarge"]', gpuMinSize: "1", gpuDesiredSize: "1" }));
        expect(line(e, "GPU nodes").idle).toBe(prices.regions["us-east-1"].instances["g4dn.xlarge"]);
    });
    it("onePerAz costs more NAT than single", () => {
        const single = estimateCost(config({ ...base, availabilityZones: "3", natGateways: "single" }));
        const perAz = estimateCost(config({ ...base, availabilityZones: "3", natGateways: "onePerAz", elasticIpQuota: "6" }));
        expect(line(perAz, "NAT gateways").idle).toBeCloseTo(3 * line(single, "NAT gateways").idle, 12);
        expect(line(perAz, "Public IPv4 addresses").idle).toBeGreaterThan(line(single, "Public IPv4 addresses").idle);
        expect(perAz.idlePerHour).toBeGreaterThan(single.idlePerHour);
    });
    it("spot CPU is cheaper, and the on-demand estimate says by how much", () => {
        const onDemand = estimateCost(config(base));
        const spot = estimateCost(config({ ...base, cpuCapacityType: "SPOT" }));
        expect(spot.idlePerHour).toBeLessThan(onDemand.idlePerHour);
        expect(onDemand.idlePerHourWithSpotCpu).toBeCloseTo(spot.idlePerHour, 12);
    });
    it("extended support adds the difference in control-plane price", () => {
        const p = prices.regions["us-east-1"];
        const standard = estimateCost(config(base));
        const extended = estimateCost(config(base), { extendedSupport: true });
        expect(extended.idlePerHour - standard.idlePerHour).toBeCloseTo(p.eksExtendedHour - p.eksStandardHour, 12);
    });
    it("the local platform costs $0", () => {
        const e = estimateCost(config({ platform: "local", inferenceServer: "false", examples: '["sklearn-iris"]' }));
        expect(e.idlePerHour).toBe(0);
        expect(e.peakPerHour).toBe(0);
    });
});

describe("errors", () => {
    it("rejects an unpriced region", () => {
        expect(() => estimateCost(config({ "aws:region": "ap-south-1" }))).toThrow(PriceLookupError);
        expect(() => estimateCost(config({ "aws:region": "ap-south-1" }))).toThrow(/region 'ap-south-1'/);
    });
    it("rejects an unpriced instance type instead of pricing it at $0", () => {
        expect(() => estimateCost(config({ "aws:region": "us-east-1", cpuInstanceTypes: '["m5a.large"]' }))).toThrow(/instance type 'm5a\.large' in us-east-1/);
        expect(() => instancePrice("us-east-1", "x9.huge")).toThrow(PriceLookupError);
    });
    it("rejects GPU types the region's table lacks only when GPUs are on", () => {
        expect(() => estimateCost(config({ "aws:region": "eu-west-1", gpuProvisioner: "node-group" }))).toThrow(/g6\.xlarge/);
        expect(() => estimateCost(config({ "aws:region": "eu-west-1" }))).toThrow(/instance families g6, g6e/);
        expect(() => estimateCost(config({ "aws:region": "eu-west-1", gpuEnabled: "false" }))).not.toThrow();
    });
    it("rejects bad options", () => {
        expect(() => estimateCost(config({ "aws:region": "us-east-1" }), { spotDiscount: 1.5 })).toThrow(RangeError);
        expect(() => estimateCost(config({ "aws:region": "us-east-1" }), { nlbLcus: { idle: 2, peak: 1 } })).toThrow(RangeError);
    });
});

describe("output", () => {
    it("prints every line and the totals", () => {
        const e = estimateCost(config({ "aws:region": "us-east-2" }, "dev"));
        const text = formatCostTable(e);
        for (const l of e.lines) expect(text).toContain(l.item);
        expect(text).toContain(`$${e.idlePerHour.toFixed(3)}`);
        expect(text).toContain(`$${e.peakPerHour.toFixed(3)}`);
        expect(text).toMatch(/stack 'dev'/);
        expect(text).toMatch(/cpuCapacityType: SPOT/);
    });
    it("is JSON-serialisable", () => {
        const e = estimateCost(config({ "aws:region": "us-east-2" }));
        expect(JSON.parse(JSON.stringify(e)).idlePerHour).toBeCloseTo(e.idlePerHour, 12);
    });
});

describe("stack files", () => {
    const stackYaml = `
config:
  aws:region: us-west-2
  inference-platform:natGateways: onePerAz
  inference-platform:cpuInstanceTypes:
    - t3.large
  inference-platform:cpuMinSize: 1
  inference-platform:cpuDesiredSize: 1
  inference-platform:gpuEnabled: false
  inference-platform:jwksUri:
    secure: v1:abc
  kubernetes:context: other
`;
    it("turns a Pulumi.<stack>.yaml into loadConfig's raw strings", () => {
        const raw = rawConfigFromStackFile(YAML.parse(stackYaml).config, "inference-platform");
        expect(raw).toEqual({
            "aws:region": "us-west-2",
            natGateways: "onePerAz",
            cpuInstanceTypes: '["t3.large"]',
            cpuMinSize: "1",
            cpuDesiredSize: "1",
            gpuEnabled: "false",
        });
    });
    it("reads Pulumi.yaml defaults and the stack file from a directory, with overrides", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cost-"));
        try {
            fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: inference-platform\nruntime: nodejs\nconfig:\n  cpuMaxSize:\n    type: integer\n    default: 4\n");
            fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), stackYaml);
            const cfg = stackCostInput(dir, "dev", { cpuCapacityType: "SPOT" });
            expect(cfg.region).toBe("us-west-2");
            expect(cfg.cpuNodes).toMatchObject({ instanceTypes: ["t3.large"], minSize: 1, maxSize: 4, capacityType: "SPOT" });
            expect(cfg.network.natGateways).toBe("onePerAz");
            expect(() => stackCostInput(dir, "prod")).toThrow(/Pulumi\.prod\.yaml does not exist/);
            expect(() => stackCostInput(dir, "dev", { cpuMinSize: "lots" })).toThrow(ConfigError);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
