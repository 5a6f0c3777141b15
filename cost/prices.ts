/**
 * AWS list prices the cost report uses (USD, Linux on-demand, no Savings Plans or free tier).
 *
 * As of the date below, from the public AWS pricing pages listed in `sources`. They were compiled
 * without live access to AWS and were not re-read at that date: check them against the sources before
 * you rely on a figure, and update `asOf` when you do. Prices not listed here are not guessed: the
 * cost model throws for an unknown region or instance type.
 *
 * Uncertain: g6 availability and price in eu-west-1 (left out, so the default GPU types error there
 * until someone adds it or drops g6 from `gpuInstanceTypes`); m7i.large in eu-west-1; g6e (L40S)
 * prices, added for Karpenter's default families from the us-east-1 on-demand page as remembered
 * (g6e.xlarge $1.861, g6e.2xlarge $2.24208) and not re-read; g6e is left out of eu-west-1. gp3
 * provisioned throughput and IOPS (us $0.04 per MB/s-month over 125, $0.005 per IOPS-month over 3000;
 * eu-west-1 10% more, as its storage price) as remembered from the EBS pricing page, not re-read.
 */

export const pricedRegions = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1"] as const;
export type PricedRegion = (typeof pricedRegions)[number];

export interface RegionPrices {
    /** EKS control plane per cluster-hour, standard support. */
    readonly eksStandardHour: number;
    /** EKS control plane per cluster-hour, extended support. */
    readonly eksExtendedHour: number;
    /** NAT gateway per hour (data processing per GB is extra and not modeled). */
    readonly natGatewayHour: number;
    /** Network Load Balancer per hour. */
    readonly nlbHour: number;
    /** Network Load Balancer per LCU-hour. */
    readonly nlbLcuHour: number;
    /** Public IPv4 address per hour (in use or idle, Elastic or AWS-assigned). */
    readonly publicIpv4Hour: number;
    /** EBS gp3 storage per GB-month (baseline 3000 IOPS / 125 MB/s included). */
    readonly ebsGp3GbMonth: number;
    /** EBS gp3 throughput provisioned above the included 125 MB/s, per MB/s-month. */
    readonly ebsGp3ThroughputMbpsMonth: number;
    /** EBS gp3 IOPS provisioned above the included 3000, per IOPS-month. */
    readonly ebsGp3IopsMonth: number;
    /** KMS customer managed key per month (requests extra). */
    readonly kmsKeyMonth: number;
    /** EC2 Linux on-demand per instance-hour. */
    readonly instances: Readonly<Record<string, number>>;
}

export interface PriceTable {
    readonly asOf: string;
    readonly currency: "USD";
    readonly sources: Readonly<Record<string, string>>;
    /** AWS bills monthly prices over 730 hours. */
    readonly hoursPerMonth: number;
    /**
     * Estimated spot discount off on-demand (fraction). Not a price AWS publishes: spot prices move
     * per AZ and hour; AWS's Spot Instance Advisor shows typical savings of 60-70% or more for the
     * m5/m6i/t3 families. 0.6 keeps the estimate conservative.
     */
    readonly spotDiscountEstimate: number;
    readonly regions: Readonly<Record<PricedRegion, RegionPrices>>;
}

/** Instance prices shared by us-east-1, us-east-2 and us-west-2 (AWS prices them identically). */
const usInstances = {
    "t3.large": 0.0832,
    "t3.xlarge": 0.1664,
    "m5.large": 0.096,
    "m5.xlarge": 0.192,
    "m6i.large": 0.096,
    "m6i.xlarge": 0.192,
    "m6a.large": 0.0864,
    "m7i.large": 0.1008,
    "c6i.large": 0.085,
    "m6g.large": 0.077,
    "g4dn.xlarge": 0.526,
    "g4dn.2xlarge": 0.752,
    "g5.xlarge": 1.006,
    "g5.2xlarge": 1.212,
    "g6.xlarge": 0.8048,
    "g6.2xlarge": 0.9776,
    "g6e.xlarge": 1.861,
    "g6e.2xlarge": 2.24208,
} as const;

const usServices = {
    eksStandardHour: 0.1,
    eksExtendedHour: 0.6,
    natGatewayHour: 0.045,
    nlbHour: 0.0225,
    nlbLcuHour: 0.006,
    publicIpv4Hour: 0.005,
    ebsGp3GbMonth: 0.08,
    ebsGp3ThroughputMbpsMonth: 0.04,
    ebsGp3IopsMonth: 0.005,
    kmsKeyMonth: 1,
} as const;

export const prices: PriceTable = {
    asOf: "2026-11-22",
    currency: "USD",
    sources: {
        ec2: "https://aws.amazon.com/ec2/pricing/on-demand/",
        spot: "https://aws.amazon.com/ec2/spot/instance-advisor/",
        eks: "https://aws.amazon.com/eks/pricing/",
        natGateway: "https://aws.amazon.com/vpc/pricing/",
        publicIpv4: "https://aws.amazon.com/vpc/pricing/ (Public IPv4 Address tab)",
        nlb: "https://aws.amazon.com/elasticloadbalancing/pricing/",
        ebs: "https://aws.amazon.com/ebs/pricing/",
        kms: "https://aws.amazon.com/kms/pricing/",
    },
    hoursPerMonth: 730,
    spotDiscountEstimate: 0.6,
    regions: {
        "us-east-1": { ...usServices, instances: { ...usInstances } },
        "us-east-2": { ...usServices, instances: { ...usInstances } },
        "us-west-2": { ...usServices, instances: { ...usInstances } },
        "eu-west-1": {
            eksStandardHour: 0.1,
            eksExtendedHour: 0.6,
            natGatewayHour: 0.048,
            nlbHour: 0.0252,
            nlbLcuHour: 0.006,
            publicIpv4Hour: 0.005,
            ebsGp3GbMonth: 0.088,
            ebsGp3ThroughputMbpsMonth: 0.044,
            ebsGp3IopsMonth: 0.0055,
            kmsKeyMonth: 1,
            instances: {
                "t3.large": 0.0912,
                "t3.xlarge": 0.1824,
                "m5.large": 0.107,
                "m5.xlarge": 0.214,
                "m6i.large": 0.107,
                "m6i.xlarge": 0.214,
                "m6a.large": 0.0963,
                "m7i.large": 0.1124,
                "c6i.large": 0.096,
                "m6g.large": 0.086,
                "g4dn.xlarge": 0.587,
                "g4dn.2xlarge": 0.835,
                "g5.xlarge": 1.123,
                "g5.2xlarge": 1.353,
            },
        },
    },
};
