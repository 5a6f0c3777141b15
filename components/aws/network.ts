/**
 * The VPC: public and private subnets over several availability zones (awsx builds the wiring),
 * subnet tags for load balancer discovery, NAT, and a free S3 gateway endpoint on the private route
 * tables so model downloads from S3 do not pay NAT data-processing charges.
 */
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { parseCidr } from "../common/validation";

/** `single` NAT gateway (cheapest) or one per availability zone (survives an AZ outage). */
export type NatGatewayStrategy = "single" | "onePerAz";

export interface NetworkArgs {
    /** IPv4 CIDR of the VPC. Default: `10.0.0.0/16`. */
    readonly cidrBlock?: string;
    /** Availability zones to spread subnets over (2 to 4). Default: 2. */
    readonly availabilityZoneCount?: number;
    /** `single` NAT gateway (cheapest) or `onePerAz` (survives an AZ outage). Default: `single`. */
    readonly natGateways?: NatGatewayStrategy;
    /** AWS region, for the S3 endpoint's service name. Required. */
    readonly region: string;
    /**
     * EKS cluster name: subnets get `kubernetes.io/cluster/<name>: shared` so the load balancer
     * controller may use them. Required.
     */
    readonly clusterName: string;
    /** Tags on every resource. Default: none. */
    readonly tags?: Record<string, string>;
}

/** The tag Karpenter's EC2NodeClass selects subnets and security groups by (value: the cluster name). */
export const karpenterDiscoveryTagKey = "karpenter.sh/discovery";

/**
 * Subnet tags that let the AWS Load Balancer Controller discover subnets (public: internet-facing LBs),
 * and, on private subnets only, let Karpenter find where nodes go (`karpenter.sh/discovery`), so its
 * nodes never land in a public subnet.
 */
export function subnetTags(kind: "public" | "private", clusterName: string): Record<string, string> {
    return {
        [kind === "public" ? "kubernetes.io/role/elb" : "kubernetes.io/role/internal-elb"]: "1",
        [`kubernetes.io/cluster/${clusterName}`]: "shared",
        ...(kind === "private" ? { [karpenterDiscoveryTagKey]: clusterName } : {}),
    };
}

/**
 * The zones awsx's Vpc spreads the subnets over when given `numberOfAvailabilityZones`: the first
 * `count` names `getAvailabilityZones` returns in the provider's region (pulumi/pulumi-awsx v3.8.0
 * and main of 2026-08-20, awsx/ec2/vpc.ts `getDefaultAzs`). Its `availabilityZoneNames` input is plain
 * (`"plain": true` in provider/cmd/pulumi-resource-awsx/schema.json), so an invoke's result cannot be
 * handed to it; whoever needs the zones ahead of the VPC (preflight) reads them by the same rule.
 */
export function firstAvailabilityZones(names: readonly string[], count: number): string[] {
    if (names.length < count) throw new Error(`the region has ${names.length} availability zones (${names.join(", ")}); availabilityZones asks for ${count}`);
    return names.slice(0, count);
}

/** The zones the Network's subnets will use (see `firstAvailabilityZones`), from an invoke. */
export function vpcAvailabilityZones(count: number, opts?: pulumi.InvokeOutputOptions): pulumi.Output<string[]> {
    return aws.getAvailabilityZonesOutput({}, opts).names.apply((names) => firstAvailabilityZones(names, count));
}

/** The S3 gateway endpoint's service name in a region. */
export function s3GatewayServiceName(region: string): string {
    return `com.amazonaws.${region}.s3`;
}

/** Route tables associated with the given subnets (the private route tables, for the S3 endpoint). */
export function routeTablesOfSubnets(
    associations: readonly { subnetId?: string; routeTableId?: string }[],
    subnetIds: readonly string[],
): string[] {
    const wanted = new Set(subnetIds);
    const tables = associations
        .filter((a) => a.subnetId !== undefined && wanted.has(a.subnetId) && a.routeTableId !== undefined)
        .map((a) => a.routeTableId!);
    return [...new Set(tables)].sort();
}

export class Network extends pulumi.ComponentResource {
    public readonly vpc: awsx.ec2.Vpc;
    public readonly vpcId: pulumi.Output<string>;
    public readonly publicSubnetIds: pulumi.Output<string[]>;
    public readonly privateSubnetIds: pulumi.Output<string[]>;
    public readonly s3Endpoint: aws.ec2.VpcEndpoint;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("inference-platform:aws:Network", name, {}, opts);
        const cidrBlock = args.cidrBlock ?? "10.0.0.0/16";
        const azCount = args.availabilityZoneCount ?? 2;
        if (!parseCidr(cidrBlock)) throw new Error(`Network ${name}: cidrBlock '${cidrBlock}' is not a valid IPv4 CIDR`);
        if (!Number.isInteger(azCount) || azCount < 2 || azCount > 4) {
            throw new Error(`Network ${name}: availabilityZoneCount must be 2 to 4 (EKS needs two AZs), got ${azCount}`);
        }

        this.vpc = new awsx.ec2.Vpc(
            `${name}-vpc`,
            {
                cidrBlock,
                numberOfAvailabilityZones: azCount,
                enableDnsHostnames: true,
                enableDnsSupport: true,
                natGateways: {
                    strategy: args.natGateways === "onePerAz" ? awsx.ec2.NatGatewayStrategy.OnePerAz : awsx.ec2.NatGatewayStrategy.Single,
                },
                subnetStrategy: awsx.ec2.SubnetAllocationStrategy.Auto,
                subnetSpecs: [
                    { type: awsx.ec2.SubnetType.Public, name: "public", tags: { ...args.tags, ...subnetTags("public", args.clusterName) } },
                    { type: awsx.ec2.SubnetType.Private, name: "private", tags: { ...args.tags, ...subnetTags("private", args.clusterName) } },
                ],
                tags: { ...args.tags, Name: `${name}-vpc` },
            },
            { parent: this },
        );
        this.vpcId = this.vpc.vpcId;
        this.publicSubnetIds = this.vpc.publicSubnetIds;
        this.privateSubnetIds = this.vpc.privateSubnetIds;

        const privateRouteTableIds = pulumi
            .all([this.vpc.routeTableAssociations, this.vpc.privateSubnetIds])
            .apply(([associations, subnetIds]) =>
                pulumi
                    .all(associations.map((a) => pulumi.all([a.subnetId, a.routeTableId])))
                    .apply((pairs) =>
                        routeTablesOfSubnets(pairs.map(([subnetId, routeTableId]) => ({ subnetId, routeTableId })), subnetIds),
                    ),
            );

        this.s3Endpoint = new aws.ec2.VpcEndpoint(
            `${name}-s3`,
            {
                vpcId: this.vpcId,
                serviceName: s3GatewayServiceName(args.region),
                vpcEndpointType: "Gateway",
                routeTableIds: privateRouteTableIds,
                tags: { ...args.tags, Name: `${name}-s3` },
            },
            { parent: this },
        );

        this.registerOutputs({
            vpcId: this.vpcId,
            publicSubnetIds: this.publicSubnetIds,
            privateSubnetIds: this.privateSubnetIds,
        });
    }
}
