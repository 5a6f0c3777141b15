import { describe, expect, it } from "vitest";
import { installMocks, promiseOf } from "./kit";
import { Network, routeTablesOfSubnets, s3GatewayServiceName, subnetTags } from "../components/aws/network";

describe("Network", async () => {
    const rec = await installMocks();
    const network = new Network("net", { region: "us-east-2", clusterName: "c1", availabilityZoneCount: 3, natGateways: "single", tags: { env: "test" } });
    await rec.settle();
    const vpc = rec.one("awsx:ec2:Vpc");

    it("spans the requested AZs with one NAT gateway by default", () => {
        expect(vpc.inputs.numberOfAvailabilityZones).toBe(3);
        expect(vpc.inputs.natGateways).toEqual({ strategy: "Single" });
        expect(vpc.inputs.cidrBlock).toBe("10.0.0.0/16");
    });

    it("tags public subnets for internet-facing and private subnets for internal load balancers", () => {
        const specs = vpc.inputs.subnetSpecs as { type: string; tags: Record<string, string> }[];
        const pub = specs.find((s) => s.type === "Public")!;
        const priv = specs.find((s) => s.type === "Private")!;
        expect(pub.tags["kubernetes.io/role/elb"]).toBe("1");
        expect(pub.tags["kubernetes.io/role/internal-elb"]).toBeUndefined();
        expect(priv.tags["kubernetes.io/role/internal-elb"]).toBe("1");
        expect(priv.tags["kubernetes.io/cluster/c1"]).toBe("shared");
        expect(priv.tags.env).toBe("test");
    });

    it("lets Karpenter discover the private subnets only (EC2NodeClass subnetSelectorTerms by karpenter.sh/discovery)", () => {
        const specs = vpc.inputs.subnetSpecs as { type: string; tags: Record<string, string> }[];
        expect(specs.find((s) => s.type === "Private")!.tags["karpenter.sh/discovery"]).toBe("c1");
        expect(specs.find((s) => s.type === "Public")!.tags["karpenter.sh/discovery"]).toBeUndefined();
    });

    it("adds a free S3 gateway endpoint on the private route tables only", async () => {
        const endpoint = rec.one("aws:ec2/vpcEndpoint:VpcEndpoint");
        expect(endpoint.inputs.vpcEndpointType).toBe("Gateway");
        expect(endpoint.inputs.serviceName).toBe("com.amazonaws.us-east-2.s3");
        expect(endpoint.inputs.routeTableIds).toEqual(["rtb-private-0", "rtb-private-1", "rtb-private-2"]);
        expect(await promiseOf(network.privateSubnetIds)).toHaveLength(3);
    });

    it("can use one NAT gateway per AZ", async () => {
        const rec2 = rec.resources.length;
        new Network("ha", { region: "eu-west-1", clusterName: "c2", natGateways: "onePerAz" });
        await rec.settle();
        const ha = rec.resources.slice(rec2).find((r) => r.type === "awsx:ec2:Vpc")!;
        expect(ha.inputs.natGateways).toEqual({ strategy: "OnePerAz" });
    });

    it("rejects bad arguments before creating anything", () => {
        const before = rec.resources.length;
        expect(() => new Network("bad", { region: "us-east-2", clusterName: "c", availabilityZoneCount: 1 })).toThrow(/availabilityZoneCount must be 2 to 4/);
        expect(() => new Network("bad2", { region: "us-east-2", clusterName: "c", cidrBlock: "10.0.0.0/8x" })).toThrow(/not a valid IPv4 CIDR/);
        expect(rec.resources.length).toBe(before);
    });
});

describe("network helpers", () => {
    it("subnetTags differ by kind", () => {
        expect(subnetTags("public", "x")).toEqual({ "kubernetes.io/role/elb": "1", "kubernetes.io/cluster/x": "shared" });
        expect(subnetTags("private", "x")).toEqual({ "kubernetes.io/role/internal-elb": "1", "kubernetes.io/cluster/x": "shared", "karpenter.sh/discovery": "x" });
    });
    it("routeTablesOfSubnets keeps only the tables of the given subnets, once each", () => {
        const assoc = [
            { subnetId: "a", routeTableId: "rt-1" },
            { subnetId: "b", routeTableId: "rt-1" },
            { subnetId: "c", routeTableId: "rt-pub" },
            { subnetId: "d" },
        ];
        expect(routeTablesOfSubnets(assoc, ["a", "b", "d"])).toEqual(["rt-1"]);
        expect(routeTablesOfSubnets(assoc, [])).toEqual([]);
        expect(s3GatewayServiceName("ap-south-1")).toBe("com.amazonaws.ap-south-1.s3");
    });
});
