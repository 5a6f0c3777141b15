/**
 * Pure cost model: idle and peak $/hour of a stack from its validated config and the dated price
 * table in `prices.ts`. Idle means every node group at its minimum size; peak means at its maximum.
 *
 * Modeled: EKS control plane, node groups (on-demand, or spot at an estimated discount), node root
 * volumes (gp3), NAT gateways, the ingress NLB (hourly + LCUs), public IPv4 addresses (NAT EIPs and
 * the NLB's address in each public subnet) and the KMS key the stack creates for `aws:kms`.
 * Not modeled (usage-based): data transfer, NAT data processing, S3 storage and requests, ECR storage,
 * CloudWatch logs of the control plane, KMS requests.
 */
import type { NodeGroupConfig } from "../components/aws/eksCluster";
import type { StackConfig } from "../config";
import { PricedRegion, pricedRegions, prices as defaultPrices, PriceTable, RegionPrices } from "./prices";

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
        throw new PriceLookupError(`no prices for region '${region}' (priced: ${Object.keys(table.regions).join(", ")}); add it to components/prices.ts`);
    }
    return table.regions[region as PricedRegion];
}

export function instancePrice(region: string, instanceType: string, table: PriceTable = defaultPrices): number {
    const price = regionPrices(region, table).instances[instanceType];
    if (price === undefined) {
        throw new PriceLookupError(`no on-demand price for instance type '${instanceType}' in ${region} (as of ${table.asOf}); add it to components/prices.ts`);
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

function nodeGroupLines(label: string, group: NodeGroupConfig, region: string, rp: RegionPrices, table: PriceTable, spotDiscount: number): CostLine[] {
    const priced = group.instanceTypes.map((t) => ({ type: t, price: instancePrice(region, t, table) }));
    const cheapest = priced.reduce((a, b) => (b.price < a.price ? b : a));
    const dearest = priced.reduce((a, b) => (b.price > a.price ? b : a));
    const factor = group.capacityType === "SPOT" ? 1 - spotDiscount : 1;
    const market = group.capacityType === "SPOT" ? ` at spot (est. ${Math.round(spotDiscount * 100)}% off on-demand)` : " on-demand";
    const diskHour = (group.diskSizeGiB * rp.ebsGp3GbMonth) / table.hoursPerMonth;
    return [
        {
            item: `${label} nodes`,
            detail: `${group.minSize}x ${cheapest.type} ${usd(cheapest.price)} .. ${group.maxSize}x ${dearest.type} ${usd(dearest.price)}${market}`,
            idle: group.minSize * cheapest.price * factor,
            peak: group.maxSize * dearest.price * factor,
        },
        {
            item: `${label} root volumes`,
            detail: `${group.diskSizeGiB} GiB gp3 x ${group.minSize} .. ${group.maxSize} nodes at $${rp.ebsGp3GbMonth}/GB-month`,
            idle: group.minSize * diskHour,
            peak: group.maxSize * diskHour,
        },
    ];
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
    if (config.gpuNodes.enabled) lines.push(...nodeGroupLines("GPU", config.gpuNodes, region, rp, table, spotDiscount));
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
        `Prices: AWS list prices as of ${table.asOf} (components/prices.ts), Linux on-demand, ${table.hoursPerMonth} h/month.`,
        "Idle: node groups at their minimum size; peak: at their maximum.",
        "A group with several instance types is priced at its cheapest type for the minimum and its most expensive for the maximum.",
        `Spot: an estimated ${Math.round(spotDiscount * 100)}% off on-demand; real spot prices vary by AZ and hour.`,
        `NLB: ${lcus.idle} LCU idle, ${lcus.peak} LCU at peak (estimate).`,
        "Not included: data transfer, NAT data processing, S3, ECR, CloudWatch Logs, KMS requests.",
    ];
    const idlePerHourWithSpotCpu =
        config.cpuNodes.capacityType === "ON_DEMAND"
            ? estimateCost({ ...config, cpuNodes: { ...config.cpuNodes, capacityType: "SPOT" } }, options).idlePerHour
            : undefined;
    return finish(lines, assumptions, idlePerHourWithSpotCpu === undefined ? {} : { idlePerHourWithSpotCpu });
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
