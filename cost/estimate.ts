/**
 * Pure cost model: idle and peak $/hour of a stack from its validated config and the dated price
 * table in `prices.ts`. Idle means every node group at its minimum size and Karpenter's pools empty;
 * peak means node groups at their maximum and the pools at their limits.
 *
 * Modeled: EKS control plane, node groups (on-demand, or spot at an estimated discount), Karpenter's
 * GPU pool and CPU burst pool (`gpuProvisioner: karpenter`: $0 idle, the limits at on-demand price at
 * peak, spot as a range), node root volumes (gp3), NAT gateways, the ingress NLB (hourly + LCUs),
 * public IPv4 addresses (NAT EIPs and the NLB's address in each public subnet) and the KMS key the
 * stack creates for `aws:kms`.
 * Not modeled (usage-based): data transfer, NAT data processing, S3 storage and requests, ECR storage,
 * CloudWatch logs of the control plane, KMS requests.
 */
import type { NodeGroupConfig } from "../components/aws/eksCluster";
import { gpuRootVolumePerformance } from "../components/aws/gpuNodeBoot";
import { gpuPoolDefaults } from "../components/aws/gpuNodePool";
import type { StackConfig } from "../config";
import { PricedRegion, pricedRegions, prices as defaultPrices, PriceTable, RegionPrices } from "./prices";

/**
 * GPU capacity from Karpenter NodePools instead of the managed GPU group (components/aws/gpuNodePool.ts):
 * nothing runs while idle, and the pool's limits bound the peak.
 */
export interface KarpenterCostInput {
    readonly gpu: {
        readonly instanceFamilies: readonly string[];
        /** NodePool limit `nvidia.com/gpu`. */
        readonly maxGpus: number;
        /** NodePool limit `cpu`. */
        readonly maxVcpus: number;
        /** Spot allowed (with on-demand as fallback). */
        readonly spot: boolean;
        readonly rootVolumeGiB: number;
    };
    /** The CPU burst pool; undefined: none. */
    readonly cpuBurst?: { readonly instanceFamilies: readonly string[]; readonly maxVcpus: number; readonly rootVolumeGiB: number };
}

/** The Karpenter pools a config deploys (karpenter mode with GPUs on), or undefined. */
export function karpenterCostInput(config: StackConfig): KarpenterCostInput | undefined {
    if (config.platform !== "eks" || !config.gpuNodes.enabled || config.gpuProvisioner !== "karpenter") return undefined;
    const pools = config.karpenter;
    return {
        gpu: { instanceFamilies: pools.instanceFamilies, maxGpus: pools.maxGpus, maxVcpus: pools.maxVcpus, spot: pools.spot, rootVolumeGiB: config.gpuNodes.diskSizeGiB },
        cpuBurst: pools.cpuBurst ? { ...pools.cpuBurst, rootVolumeGiB: gpuPoolDefaults.cpuBurst.rootVolumeGiB } : undefined,
    };
}

export interface CostOptions {
    /** Fraction off on-demand for SPOT node groups, in [0, 1). Default: the table's `spotDiscountEstimate`. */
    readonly spotDiscount?: number;
    /**
     * Price the control plane at extended support. Default: false (the stack sets upgradePolicy
     * STANDARD and pins versions in standard support, so extended support is never billed).
     */
    readonly extendedSupport?: boolean;
    /**
     * LCUs the ingress NLB bills per hour. Default: 1 at idle and at peak: an estimate (AWS bills the
     * LCUs actually used, fractions included); raise `peak` for heavy traffic.
     */
    readonly nlbLcus?: { readonly idle: number; readonly peak: number };
    /** Price table. Default: `prices.ts`. */
    readonly prices?: PriceTable;
}

export interface CostLine {
    readonly item: string;
    /** How the line was computed, for the reader. */
    readonly detail: string;
    /** $/hour with node groups at their minimum. */
    readonly idle: number;
    /** $/hour with node groups at their maximum. */
    readonly peak: number;
}

export interface CostEstimate {
    readonly stack: string;
    readonly platform: StackConfig["platform"];
    readonly region: string | undefined;
    readonly lines: readonly CostLine[];
    readonly idlePerHour: number;
    readonly peakPerHour: number;
    readonly idlePerMonth: number;
    readonly peakPerMonth: number;
    /** Idle $/hour if the CPU group ran on spot; present only when it runs on-demand. */
    readonly idlePerHourWithSpotCpu?: number;
    /** Karpenter with spot: the GPU pool at its limit on spot, $/hour, cheapest to dearest family (estimated discount). */
    readonly gpuPoolSpotPeakRange?: { readonly low: number; readonly high: number };
    readonly assumptions: readonly string[];
    readonly pricesAsOf: string;
}

/** A price the table does not have (unknown region or instance type); never priced as $0. */
export class PriceLookupError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PriceLookupError";
    }
}

export function regionPrices(region: string | undefined, table: PriceTable = defaultPrices): RegionPrices {
    if (region === undefined) throw new PriceLookupError("no AWS region: set aws:region (the eks platform needs one)");
    if (!(pricedRegions as readonly string[]).includes(region) || !(region in table.regions)) {
        throw new PriceLookupError(`no prices for region '${region}' (priced: ${Object.keys(table.regions).join(", ")}); add it to cost/prices.ts`);
    }
    return table.regions[region as PricedRegion];
}

export function instancePrice(region: string, instanceType: string, table: PriceTable = defaultPrices): number {
    const price = regionPrices(region, table).instances[instanceType];
    if (price === undefined) {
        throw new PriceLookupError(`no on-demand price for instance type '${instanceType}' in ${region} (as of ${table.asOf}); add it to cost/prices.ts`);
    }
    return price;
}

function checkOptions(options: CostOptions): void {
    const { spotDiscount, nlbLcus } = options;
    if (spotDiscount !== undefined && !(spotDiscount >= 0 && spotDiscount < 1)) throw new RangeError(`spotDiscount must be in [0, 1), got ${spotDiscount}`);
    if (nlbLcus !== undefined && !(nlbLcus.idle >= 0 && nlbLcus.peak >= nlbLcus.idle)) {
        throw new RangeError(`nlbLcus must satisfy 0 <= idle <= peak, got ${JSON.stringify(nlbLcus)}`);
    }
}

const usd = (n: number) => `$${n.toFixed(4)}`;

/** Provisioned performance of a gp3 volume (what the stack sets above gp3's included baseline). */
interface VolumePerformance {
    readonly throughput: number;
    readonly iops: number;
}
/** gp3's included baseline: 125 MB/s and 3000 IOPS at any size (Amazon EBS pricing, gp3). */
const gp3Baseline: VolumePerformance = { throughput: 125, iops: 3000 };

/** $/hour of one gp3 root volume: its size, and throughput and IOPS provisioned above the baseline. */
function gp3VolumeHour(gib: number, rp: RegionPrices, table: PriceTable, performance: VolumePerformance = gp3Baseline): number {
    const extraThroughput = Math.max(0, performance.throughput - gp3Baseline.throughput);
    const extraIops = Math.max(0, performance.iops - gp3Baseline.iops);
    return (gib * rp.ebsGp3GbMonth + extraThroughput * rp.ebsGp3ThroughputMbpsMonth + extraIops * rp.ebsGp3IopsMonth) / table.hoursPerMonth;
}

/** How a volume's price is made up, for the detail column. */
function gp3Detail(gib: number, rp: RegionPrices, performance: VolumePerformance = gp3Baseline): string {
    const extra = performance.throughput > gp3Baseline.throughput ? ` + ${performance.throughput} MB/s at $${rp.ebsGp3ThroughputMbpsMonth}/MB/s-month over ${gp3Baseline.throughput}` : "";
    return `${gib} GiB gp3 at $${rp.ebsGp3GbMonth}/GB-month${extra}`;
}

function nodeGroupLines(label: string, group: NodeGroupConfig, region: string, rp: RegionPrices, table: PriceTable, spotDiscount: number, volume?: VolumePerformance): CostLine[] {
    const priced = group.instanceTypes.map((t) => ({ type: t, price: instancePrice(region, t, table) }));
    const cheapest = priced.reduce((a, b) => (b.price < a.price ? b : a));
    const dearest = priced.reduce((a, b) => (b.price > a.price ? b : a));
    const factor = group.capacityType === "SPOT" ? 1 - spotDiscount : 1;
    const market = group.capacityType === "SPOT" ? ` at spot (est. ${Math.round(spotDiscount * 100)}% off on-demand)` : " on-demand";
    const diskHour = gp3VolumeHour(group.diskSizeGiB, rp, table, volume);
    return [
        {
            item: `${label} nodes`,
            detail: `${group.minSize}x ${cheapest.type} ${usd(cheapest.price)} .. ${group.maxSize}x ${dearest.type} ${usd(dearest.price)}${market}`,
            idle: group.minSize * cheapest.price * factor,
            peak: group.maxSize * dearest.price * factor,
        },
        {
            item: `${label} root volumes`,
            detail: `${gp3Detail(group.diskSizeGiB, rp, volume)}, x ${group.minSize} .. ${group.maxSize} nodes`,
            idle: group.minSize * diskHour,
            peak: group.maxSize * diskHour,
        },
    ];
}

/**
 * GPUs of an instance of the NVIDIA families the stack allows (AWS "Accelerated computing instance
 * specifications": g4dn/g5/g6/g6e have 1 GPU up to 16xlarge, 4 at 12xlarge and 24xlarge, 8 at 48xlarge
 * and metal; p4d.24xlarge and p5.48xlarge have 8).
 */
export function gpusPerInstance(instanceType: string): number {
    const [family, size] = instanceType.split(".");
    if (family === "p4d" || family === "p5") return 8;
    const bySize: Record<string, number> = { xlarge: 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8, metal: 8 };
    if (bySize[size] === undefined) throw new PriceLookupError(`no GPU count for instance type '${instanceType}'`);
    return bySize[size];
}

/** vCPUs of a size (`large` 2, `xlarge` 4, `<n>xlarge` 4n: the x86 families the stack allows). */
export function vcpusPerInstance(instanceType: string): number {
    const size = instanceType.split(".")[1];
    if (size === "large") return 2;
    const m = /^(\d*)xlarge$/.exec(size ?? "");
    if (!m) throw new PriceLookupError(`no vCPU count for instance type '${instanceType}'`);
    return 4 * (m[1] === "" ? 1 : Number(m[1]));
}

/** Priced types of `families` in the region's table, with their on-demand price. */
function pricedTypesOf(families: readonly string[], region: string, rp: RegionPrices, table: PriceTable) {
    const priced = Object.entries(rp.instances).filter(([t]) => families.includes(t.split(".")[0]));
    const unpriced = families.filter((f) => !priced.some(([t]) => t.startsWith(`${f}.`)));
    if (unpriced.length > 0) {
        throw new PriceLookupError(`no on-demand price for any size of instance famil${unpriced.length === 1 ? "y" : "ies"} ${unpriced.join(", ")} in ${region} (as of ${table.asOf}); add them to cost/prices.ts`);
    }
    return priced.map(([type, price]) => ({ type, price }));
}

/**
 * The Karpenter pools' lines: $0 idle (no node until a pod is pending), and at peak the pool's limits
 * at on-demand price (the fallback when spot is short, so the bound), GPUs at the dearest per-GPU type
 * of the families that the vCPU limit allows for every GPU.
 */
function karpenterLines(input: KarpenterCostInput, region: string, rp: RegionPrices, table: PriceTable, spotDiscount: number) {
    const gpu = input.gpu;
    const vcpusPerGpu = gpu.maxVcpus / gpu.maxGpus;
    const perGpu = pricedTypesOf(gpu.instanceFamilies, region, rp, table)
        .filter(({ type }) => vcpusPerInstance(type) / gpusPerInstance(type) <= vcpusPerGpu)
        .map(({ type, price }) => ({ type, perGpu: price / gpusPerInstance(type) }));
    if (perGpu.length === 0) throw new PriceLookupError(`no priced type of ${gpu.instanceFamilies.join(", ")} fits ${vcpusPerGpu} vCPUs per GPU in ${region}`);
    const cheapest = perGpu.reduce((a, b) => (b.perGpu < a.perGpu ? b : a));
    const dearest = perGpu.reduce((a, b) => (b.perGpu > a.perGpu ? b : a));
    const lines: CostLine[] = [
        {
            item: "GPU pool (Karpenter)",
            detail: `0 nodes idle .. ${gpu.maxGpus} GPUs (limit) x ${dearest.type} ${usd(dearest.perGpu)}/GPU on-demand${gpu.spot ? "; spot first, see the range below" : ""}`,
            idle: 0,
            peak: gpu.maxGpus * dearest.perGpu,
        },
        {
            item: "GPU pool root volumes",
            detail: `${gp3Detail(gpu.rootVolumeGiB, rp, gpuRootVolumePerformance)}, x 0 .. ${gpu.maxGpus} nodes`,
            idle: 0,
            peak: gpu.maxGpus * gp3VolumeHour(gpu.rootVolumeGiB, rp, table, gpuRootVolumePerformance),
        },
    ];
    if (input.cpuBurst) {
        const burst = input.cpuBurst;
        const perVcpu = pricedTypesOf(burst.instanceFamilies, region, rp, table).map(({ type, price }) => ({ type, perVcpu: price / vcpusPerInstance(type) }));
        const dear = perVcpu.reduce((a, b) => (b.perVcpu > a.perVcpu ? b : a));
        lines.push(
            {
                item: "CPU burst pool (Karpenter)",
                detail: `0 nodes idle .. ${burst.maxVcpus} vCPUs (limit) x ${dear.type} ${usd(dear.perVcpu)}/vCPU on-demand`,
                idle: 0,
                peak: burst.maxVcpus * dear.perVcpu,
            },
            {
                item: "CPU burst pool root volumes",
                detail: `${gp3Detail(burst.rootVolumeGiB, rp)}, x 0 .. ${Math.floor(burst.maxVcpus / 2)} nodes (2 vCPUs each, the most nodes)`,
                idle: 0,
                peak: Math.floor(burst.maxVcpus / 2) * gp3VolumeHour(burst.rootVolumeGiB, rp, table),
            },
        );
    }
    const spotRange = gpu.spot
        ? { low: gpu.maxGpus * cheapest.perGpu * (1 - spotDiscount), high: gpu.maxGpus * dearest.perGpu * (1 - spotDiscount) }
        : undefined;
    return { lines, spotRange };
}

/** Idle and peak $/hour of the stack described by `config`. Throws PriceLookupError for unpriced items. */
export function estimateCost(config: StackConfig, options: CostOptions = {}): CostEstimate {
    checkOptions(options);
    const table = options.prices ?? defaultPrices;
    const finish = (lines: CostLine[], assumptions: string[], extra: Partial<CostEstimate> = {}): CostEstimate => {
        const idlePerHour = lines.reduce((s, l) => s + l.idle, 0);
        const peakPerHour = lines.reduce((s, l) => s + l.peak, 0);
        return {
            stack: config.stack,
            platform: config.platform,
            region: config.region,
            lines,
            idlePerHour,
            peakPerHour,
            idlePerMonth: idlePerHour * table.hoursPerMonth,
            peakPerMonth: peakPerHour * table.hoursPerMonth,
            assumptions,
            pricesAsOf: table.asOf,
            ...extra,
        };
    };

    if (config.platform === "local") {
        return finish([{ item: "local platform", detail: "kind cluster on your machine: no cloud resources", idle: 0, peak: 0 }], []);
    }

    const region = config.region!;
    const rp = regionPrices(config.region, table);
    const spotDiscount = options.spotDiscount ?? table.spotDiscountEstimate;
    const lcus = options.nlbLcus ?? { idle: 1, peak: 1 };
    const azs = config.network.availabilityZoneCount;
    const natCount = config.network.natGateways === "onePerAz" ? azs : 1;
    const eksHour = options.extendedSupport ? rp.eksExtendedHour : rp.eksStandardHour;

    const lines: CostLine[] = [
        { item: "EKS control plane", detail: `${options.extendedSupport ? "extended" : "standard"} support, ${usd(eksHour)}/h`, idle: eksHour, peak: eksHour },
        ...nodeGroupLines("CPU", config.cpuNodes, region, rp, table, spotDiscount),
    ];
    // GPU capacity from the config's mode: Karpenter's pools, or the managed GPU group.
    const pools = karpenterCostInput(config);
    const karpenter = pools ? karpenterLines(pools, region, rp, table, spotDiscount) : undefined;
    if (karpenter) lines.push(...karpenter.lines);
    else if (config.gpuNodes.enabled) lines.push(...nodeGroupLines("GPU", config.gpuNodes, region, rp, table, spotDiscount, gpuRootVolumePerformance));
    lines.push(
        {
            item: "NAT gateways",
            detail: `${natCount} (${config.network.natGateways}) x ${usd(rp.natGatewayHour)}/h; data processing extra`,
            idle: natCount * rp.natGatewayHour,
            peak: natCount * rp.natGatewayHour,
        },
        {
            item: "Ingress NLB",
            detail: `${usd(rp.nlbHour)}/h + ${lcus.idle} .. ${lcus.peak} LCU x ${usd(rp.nlbLcuHour)}`,
            idle: rp.nlbHour + lcus.idle * rp.nlbLcuHour,
            peak: rp.nlbHour + lcus.peak * rp.nlbLcuHour,
        },
        {
            item: "Public IPv4 addresses",
            detail: `${natCount} NAT EIP(s) + ${azs} NLB address(es), one per public subnet, x ${usd(rp.publicIpv4Hour)}/h`,
            idle: (natCount + azs) * rp.publicIpv4Hour,
            peak: (natCount + azs) * rp.publicIpv4Hour,
        },
    );
    if (config.modelStore.encryption === "aws:kms" && config.modelStore.kmsKeyArn === undefined) {
        const kmsHour = rp.kmsKeyMonth / table.hoursPerMonth;
        lines.push({ item: "KMS key", detail: `model store key, $${rp.kmsKeyMonth}/month`, idle: kmsHour, peak: kmsHour });
    }

    const assumptions = [
        `Prices: AWS list prices as of ${table.asOf} (cost/prices.ts), Linux on-demand, ${table.hoursPerMonth} h/month.`,
        karpenter ? "Idle: node groups at their minimum size, Karpenter's pools empty; peak: node groups at their maximum, pools at their limits." : "Idle: node groups at their minimum size; peak: at their maximum.",
        "A group with several instance types is priced at its cheapest type for the minimum and its most expensive for the maximum.",
        `Spot: an estimated ${Math.round(spotDiscount * 100)}% off on-demand; real spot prices vary by AZ and hour.`,
        `NLB: ${lcus.idle} LCU idle, ${lcus.peak} LCU at peak (estimate).`,
        "Not included: data transfer, NAT data processing, S3, ECR, CloudWatch Logs, KMS requests.",
        ...(karpenter
            ? [
                  "Karpenter pools: no node while no pod needs one; peak is the NodePool limits at on-demand price (the fallback when spot is short). Its SQS queue and EventBridge rules cost cents.",
              ]
            : []),
    ];
    const idlePerHourWithSpotCpu =
        config.cpuNodes.capacityType === "ON_DEMAND"
            ? estimateCost({ ...config, cpuNodes: { ...config.cpuNodes, capacityType: "SPOT" } }, options).idlePerHour
            : undefined;
    return finish(lines, assumptions, {
        ...(idlePerHourWithSpotCpu === undefined ? {} : { idlePerHourWithSpotCpu }),
        ...(karpenter?.spotRange ? { gpuPoolSpotPeakRange: karpenter.spotRange } : {}),
    });
}

/** A plain-text table of the estimate, for the terminal and plan.md. */
export function formatCostTable(estimate: CostEstimate): string {
    const money = (n: number) => `$${n.toFixed(3)}`;
    const rows = estimate.lines.map((l) => [l.item, money(l.idle), money(l.peak), l.detail]);
    const header = ["item", "idle $/h", "peak $/h", "how"];
    const total = ["total", money(estimate.idlePerHour), money(estimate.peakPerHour), ""];
    const month = ["per month (730 h)", `$${estimate.idlePerMonth.toFixed(0)}`, `$${estimate.peakPerMonth.toFixed(0)}`, ""];
    const all = [header, ...rows, total, month];
    const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
    const line = (r: string[]) => `| ${r.map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(" | ")} |`;
    const rule = `|${widths.map((w, i) => (i === 1 || i === 2 ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`;
    const out = [
        `Cost estimate for stack '${estimate.stack}' (${estimate.platform}${estimate.region ? `, ${estimate.region}` : ""}), prices as of ${estimate.pricesAsOf}`,
        "",
        line(header),
        rule,
        ...rows.map(line),
        line(total),
        line(month),
    ];
    if (estimate.gpuPoolSpotPeakRange !== undefined) {
        const r = estimate.gpuPoolSpotPeakRange;
        out.push("", `GPU pool at its limit on spot: about ${money(r.low)} .. ${money(r.high)}/h (estimated discount; spot prices move, and on-demand is the ceiling).`);
    }
    if (estimate.idlePerHourWithSpotCpu !== undefined) {
        out.push("", `With cpuCapacityType: SPOT the idle cost would be about ${money(estimate.idlePerHourWithSpotCpu)}/h.`);
    }
    if (estimate.assumptions.length > 0) out.push("", ...estimate.assumptions.map((a) => `- ${a}`));
    return out.join("\n");
}

/**
 * Turns the `config:` map of a `Pulumi.<stack>.yaml` into the raw string map `loadConfig` reads:
 * `<project>:` keys lose their prefix, `aws:region` is kept, structured values become JSON, scalars
 * strings. Secure (encrypted) values cannot be read offline and are left out; other namespaces are
 * ignored.
 */
export function rawConfigFromStackFile(config: Record<string, unknown> | undefined, project: string): Record<string, string> {
    const raw: Record<string, string> = {};
    for (const [key, value] of Object.entries(config ?? {})) {
        let name: string;
        if (key === "aws:region") name = key;
        else if (key.startsWith(`${project}:`)) name = key.slice(project.length + 1);
        else continue;
        if (value === null || value === undefined) continue;
        if (typeof value === "object" && !Array.isArray(value) && "secure" in value) continue;
        raw[name] = typeof value === "object" ? JSON.stringify(value) : String(value);
    }
    return raw;
}
