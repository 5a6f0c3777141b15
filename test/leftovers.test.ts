/**
 * The e2e leftovers check: the pure judge over describe answers, the AWS SDK calls against a fake
 * EC2/ELB endpoint on loopback, and its place in the e2e run (after destroy, failing with names).
 *
 * Response shapes follow the EC2 and Elastic Load Balancing v2 API references (DescribeInstances
 * reservationSet/instancesSet, DescribeNetworkInterfaces networkInterfaceSet, DescribeAddresses
 * addressesSet, DescribeSecurityGroups securityGroupInfo, DescribeLoadBalancers, DescribeTags); an
 * NLB's interfaces are described `ELB net/<name>/<id>` and EKS's control-plane interfaces
 * `Amazon EKS <cluster>` (Amazon EKS User Guide, "View Amazon EKS networking requirements").
 */
import { EventEmitter } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2eStack, runE2e } from "../scripts/lib/e2e";
import { type QueryApiStub, startQueryApiStub } from "./awsQueryStub";
import { describeStack, findLeftovers, LeftoverSnapshot, stackIdentity, tagFilter, waitForNoLeftovers } from "../scripts/lib/leftovers";

const identity = stackIdentity({ project: "inference-platform", stackName: "e2e-20261130-abc123", clusterName: "inference-platform-e2e-20261130-abc123", expiresAt: "2026-11-30T21:00:00.000Z" });
const cluster = identity.clusterName;
const tag = (Key: string, Value: string) => ({ Key, Value });
const empty: LeftoverSnapshot = { instances: [], loadBalancers: [], networkInterfaces: [], addresses: [], securityGroups: [] };

describe("stackIdentity", () => {
    it("knows the program's and the e2e run's stack tags, and the cluster's tags", () => {
        const keys = Object.fromEntries(identity.tags.map((t) => [t.key, t.values]));
        expect(keys["inference-platform/stack"]).toEqual(["e2e-20261130-abc123", "inference-platform-e2e-20261130-abc123"]);
        expect(keys["inference-platform/expires-at"]).toEqual(["2026-11-30T21:00:00.000Z"]);
        expect(keys[`kubernetes.io/cluster/${cluster}`]).toBeUndefined(); // any value (owned or shared)
        expect(Object.keys(keys)).toEqual(expect.arrayContaining(["eks:eks-cluster-name", "aws:eks:cluster-name", "elbv2.k8s.aws/cluster", "cluster.k8s.amazonaws.com/name"]));
        expect(tagFilter({ key: `kubernetes.io/cluster/${cluster}` })).toEqual({ Name: "tag-key", Values: [`kubernetes.io/cluster/${cluster}`] });
        expect(tagFilter({ key: "eks:eks-cluster-name", values: [cluster] })).toEqual({ Name: "tag:eks:eks-cluster-name", Values: [cluster] });
    });
});

describe("findLeftovers", () => {
    it("nothing left: no lines", () => expect(findLeftovers(empty, identity)).toEqual([]));

    it("names every kind of leftover with why it is the stack's", () => {
        const found = findLeftovers(
            {
                instances: [{ InstanceId: "i-0karpenter", State: { Name: "running" }, Tags: [tag("eks:eks-cluster-name", cluster), tag("karpenter.sh/nodepool", "gpu")] }],
                loadBalancers: [
                    {
                        LoadBalancerArn: "arn:aws:elasticloadbalancing:us-east-2:123456789012:loadbalancer/net/k8s-istiosys-istioing-0a1b2c3d4e/0123456789abcdef",
                        LoadBalancerName: "k8s-istiosys-istioing-0a1b2c3d4e",
                        Type: "network",
                        Tags: [tag("elbv2.k8s.aws/cluster", cluster), tag("service.k8s.aws/stack", "istio-system/istio-ingressgateway")],
                    },
                ],
                networkInterfaces: [
                    { NetworkInterfaceId: "eni-nlb", Description: "ELB net/k8s-istiosys-istioing-0a1b2c3d4e/0123456789abcdef", Status: "in-use", TagSet: [] },
                    { NetworkInterfaceId: "eni-eks", Description: `Amazon EKS ${cluster}`, Status: "available", TagSet: [] },
                    { NetworkInterfaceId: "eni-cni", Description: "aws-K8S-i-0karpenter", Status: "available", TagSet: [tag("cluster.k8s.amazonaws.com/name", cluster)] },
                ],
                addresses: [{ AllocationId: "eipalloc-1", PublicIp: "203.0.113.10", Tags: [tag("inference-platform/expires-at", "2026-11-30T21:00:00.000Z")] }],
                securityGroups: [{ GroupId: "sg-lbc", GroupName: "k8s-traffic-demo-0a1b2c", Tags: [tag("elbv2.k8s.aws/cluster", cluster)] }],
            },
            identity,
        );
        expect(found).toEqual([
            `EC2 instance i-0karpenter (running), tagged eks:eks-cluster-name=${cluster}`,
            `load balancer k8s-istiosys-istioing-0a1b2c3d4e (network, arn:aws:elasticloadbalancing:us-east-2:123456789012:loadbalancer/net/k8s-istiosys-istioing-0a1b2c3d4e/0123456789abcdef), tagged elbv2.k8s.aws/cluster=${cluster}`,
            "network interface eni-nlb (in-use), of load balancer k8s-istiosys-istioing-0a1b2c3d4e",
            `network interface eni-eks (available), 'Amazon EKS ${cluster}'`,
            `network interface eni-cni (available), tagged cluster.k8s.amazonaws.com/name=${cluster}`,
            "Elastic IP 203.0.113.10 (eipalloc-1), tagged inference-platform/expires-at=2026-11-30T21:00:00.000Z",
            `security group sg-lbc (k8s-traffic-demo-0a1b2c), tagged elbv2.k8s.aws/cluster=${cluster}`,
        ]);
    });

    it("ignores terminated instances, other stacks' resources, and other load balancers' interfaces", () => {
        expect(
            findLeftovers(
                {
                    instances: [
                        { InstanceId: "i-gone", State: { Name: "terminated" }, Tags: [tag("eks:eks-cluster-name", cluster)] },
                        { InstanceId: "i-other", State: { Name: "running" }, Tags: [tag("eks:eks-cluster-name", "someone-else"), tag("inference-platform/stack", "inference-platform-dev")] },
                    ],
                    loadBalancers: [{ LoadBalancerArn: "arn:other", LoadBalancerName: "k8s-other-nlb", Type: "network", Tags: [tag("elbv2.k8s.aws/cluster", "someone-else")] }],
                    networkInterfaces: [
                        { NetworkInterfaceId: "eni-other-nlb", Description: "ELB net/k8s-other-nlb/0123", Status: "in-use" },
                        { NetworkInterfaceId: "eni-other-eks", Description: "Amazon EKS someone-else", Status: "in-use" },
                    ],
                    addresses: [{ AllocationId: "eipalloc-2", PublicIp: "203.0.113.11", Tags: [tag("inference-platform/stack", "e2e-20261129-zzzzzz")] }],
                    securityGroups: [{ GroupId: "sg-default", GroupName: "default", Tags: [] }],
                },
                identity,
            ),
        ).toEqual([]);
    });
});

describe("waitForNoLeftovers", () => {
    const clock = () => {
        let t = 0;
        return { now: () => t, sleep: async (ms: number) => void (t += ms), elapsed: () => t };
    };
    it("returns as soon as the listing is empty (AWS lists deleted things for a while)", async () => {
        const c = clock();
        const answers = [["EC2 instance i-1 (shutting-down)"], []];
        expect(await waitForNoLeftovers(async () => answers.shift()!, { timeoutMs: 300_000, intervalMs: 30_000, now: c.now, sleep: c.sleep })).toEqual([]);
        expect(c.elapsed()).toBe(30_000);
    });
    it("returns what is still there at the timeout", async () => {
        const c = clock();
        expect(await waitForNoLeftovers(async () => ["Elastic IP x"], { timeoutMs: 60_000, intervalMs: 30_000, now: c.now, sleep: c.sleep })).toEqual(["Elastic IP x"]);
        expect(c.elapsed()).toBe(60_000);
    });
});

describe("describeStack against a fake EC2 and ELB endpoint on loopback", () => {
    let ec2AndElb: QueryApiStub;
    const ec2Ns = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';
    const tagSet = (tags: [string, string][]) => `<tagSet>${tags.map(([k, v]) => `<item><key>${k}</key><value>${v}</value></item>`).join("")}</tagSet>`;
    const lbArn = (n: number) => `arn:aws:elasticloadbalancing:us-east-2:123456789012:loadbalancer/net/lb-${n}/0123456789abcd${String(n).padStart(2, "0")}`;

    function answer(params: Record<string, string>): string {
        const filterName = params["Filter.1.Name"];
        const filterValue = params["Filter.1.Value.1"];
        const ours = filterName === "tag:eks:eks-cluster-name" && filterValue === cluster;
        switch (params.Action) {
            case "DescribeInstances":
                // Two pages for the Karpenter tag, to exercise NextToken.
                if (ours && !params.NextToken) {
                    return `<DescribeInstancesResponse ${ec2Ns}><requestId>1</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet><item><instanceId>i-page1</instanceId><instanceState><code>16</code><name>running</name></instanceState>${tagSet([["eks:eks-cluster-name", cluster]])}</item></instancesSet></item></reservationSet><nextToken>page2</nextToken></DescribeInstancesResponse>`;
                }
                if (ours && params.NextToken === "page2") {
                    return `<DescribeInstancesResponse ${ec2Ns}><requestId>2</requestId><reservationSet><item><reservationId>r-2</reservationId><instancesSet><item><instanceId>i-page2</instanceId><instanceState><code>32</code><name>shutting-down</name></instanceState>${tagSet([["eks:eks-cluster-name", cluster]])}</item></instancesSet></item></reservationSet></DescribeInstancesResponse>`;
                }
                return `<DescribeInstancesResponse ${ec2Ns}><requestId>3</requestId><reservationSet/></DescribeInstancesResponse>`;
            case "DescribeNetworkInterfaces":
                if (filterName === "description") {
                    return `<DescribeNetworkInterfacesResponse ${ec2Ns}><requestId>4</requestId><networkInterfaceSet><item><networkInterfaceId>eni-lb7</networkInterfaceId><description>ELB net/lb-7/0123456789abcd07</description><status>in-use</status></item></networkInterfaceSet></DescribeNetworkInterfacesResponse>`;
                }
                return `<DescribeNetworkInterfacesResponse ${ec2Ns}><requestId>5</requestId><networkInterfaceSet/></DescribeNetworkInterfacesResponse>`;
            case "DescribeAddresses":
                if (filterName === "tag:inference-platform/stack") {
                    return `<DescribeAddressesResponse ${ec2Ns}><requestId>6</requestId><addressesSet><item><publicIp>203.0.113.10</publicIp><allocationId>eipalloc-1</allocationId><domain>vpc</domain>${tagSet([["inference-platform/stack", "inference-platform-e2e-20261130-abc123"]])}</item></addressesSet></DescribeAddressesResponse>`;
                }
                return `<DescribeAddressesResponse ${ec2Ns}><requestId>7</requestId><addressesSet/></DescribeAddressesResponse>`;
            case "DescribeSecurityGroups":
                return `<DescribeSecurityGroupsResponse ${ec2Ns}><requestId>8</requestId><securityGroupInfo/></DescribeSecurityGroupsResponse>`;
            case "DescribeLoadBalancers": {
                // 25 load balancers in two pages; lb-7 is the stack's.
                const page = params.Marker === "m2" ? [21, 22, 23, 24, 25] : Array.from({ length: 20 }, (_, i) => i + 1);
                const members = page.map((n) => `<member><LoadBalancerArn>${lbArn(n)}</LoadBalancerArn><LoadBalancerName>lb-${n}</LoadBalancerName><Type>network</Type></member>`).join("");
                return `<DescribeLoadBalancersResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeLoadBalancersResult><LoadBalancers>${members}</LoadBalancers>${params.Marker ? "" : "<NextMarker>m2</NextMarker>"}</DescribeLoadBalancersResult><ResponseMetadata><RequestId>9</RequestId></ResponseMetadata></DescribeLoadBalancersResponse>`;
            }
            case "DescribeTags": {
                const arns = Object.entries(params).filter(([k]) => k.startsWith("ResourceArns.member.")).map(([, v]) => v);
                const members = arns
                    .map((arn) => `<member><ResourceArn>${arn}</ResourceArn><Tags>${arn === lbArn(7) ? `<member><Key>elbv2.k8s.aws/cluster</Key><Value>${cluster}</Value></member>` : ""}</Tags></member>`)
                    .join("");
                return `<DescribeTagsResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeTagsResult><TagDescriptions>${members}</TagDescriptions></DescribeTagsResult><ResponseMetadata><RequestId>10</RequestId></ResponseMetadata></DescribeTagsResponse>`;
            }
            default:
                throw new Error(`unexpected action ${params.Action}`);
        }
    }

    beforeAll(async () => {
        ec2AndElb = await startQueryApiStub(({ params }) => answer(params));
    });
    afterAll(() => ec2AndElb.close());

    it("queries by each of the stack's tags, follows pages, reads load balancer tags 20 at a time, and finds the leftovers", async () => {
        const snapshot = await describeStack(identity, {
            region: "us-east-2",
            clientConfig: { endpoint: ec2AndElb.endpoint, credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "example" }, maxAttempts: 1 },
        });
        const byAction = (action: string) => ec2AndElb.requests.map((r) => r.params).filter((r) => r.Action === action);
        expect(byAction("DescribeInstances").filter((r) => !r.NextToken)).toHaveLength(identity.tags.length);
        expect(byAction("DescribeInstances").some((r) => r["Filter.1.Name"] === `tag-key` && r["Filter.1.Value.1"] === `kubernetes.io/cluster/${cluster}`)).toBe(true);
        expect(byAction("DescribeTags").map((r) => Object.keys(r).filter((k) => k.startsWith("ResourceArns.member.")).length)).toEqual([20, 5]);
        expect(findLeftovers(snapshot, identity)).toEqual([
            `EC2 instance i-page1 (running), tagged eks:eks-cluster-name=${cluster}`,
            `EC2 instance i-page2 (shutting-down), tagged eks:eks-cluster-name=${cluster}`,
            `load balancer lb-7 (network, ${lbArn(7)}), tagged elbv2.k8s.aws/cluster=${cluster}`,
            "network interface eni-lb7 (in-use), of load balancer lb-7",
            "Elastic IP 203.0.113.10 (eipalloc-1), tagged inference-platform/stack=inference-platform-e2e-20261130-abc123",
        ]);
    });
});

describe("runE2e: the leftovers check after destroy", () => {
    const fakeStack = (destroy: () => Promise<unknown> = async () => undefined) => {
        const calls: string[] = [];
        const stack: E2eStack = {
            name: "e2e-test",
            up: async () => void calls.push("up"),
            outputs: async () => ({ examples: {}, platform: "eks", ingressIp: "203.0.113.10", ingressPort: 80, domain: "x", authMode: "open-model-paths" }),
            destroy: async () => (calls.push("destroy"), destroy()),
            workspace: { removeStack: async (n: string) => void calls.push(`remove ${n}`) },
        };
        return { stack, calls };
    };
    const deps = (stack: E2eStack, findLeftoversImpl?: () => Promise<string[]>) => ({
        createStack: async () => stack,
        configure: async () => undefined,
        verify: async () => ["ok"],
        signals: new EventEmitter() as unknown as Parameters<typeof runE2e>[1]["signals"],
        log: () => undefined,
        findLeftovers: findLeftoversImpl,
    });

    it("fails after a clean-looking destroy when something remains, naming each leftover (and still removes the empty stack)", async () => {
        const { stack, calls } = fakeStack();
        const err = await runE2e({ stackName: "e2e-test", keep: false }, deps(stack, async () => ["EC2 instance i-1 (running), tagged eks:eks-cluster-name=c", "Elastic IP 203.0.113.10 (eipalloc-1), tagged x=y"])).catch((e) => e);
        expect(String(err)).toMatch(/destroy of stack e2e-test left 2 resource\(s\) behind/);
        expect(String(err)).toMatch(/- EC2 instance i-1 \(running\)/);
        expect(String(err)).toMatch(/- Elastic IP 203\.0\.113\.10/);
        expect(calls).toEqual(["up", "destroy", "remove e2e-test"]);
    });

    it("passes when nothing remains; a failing check is a failure too", async () => {
        const ok = fakeStack();
        expect((await runE2e({ stackName: "e2e-test", keep: false }, deps(ok.stack, async () => []))).report).toEqual(["ok"]);
        const broken = fakeStack();
        const err = await runE2e({ stackName: "e2e-test", keep: false }, deps(broken.stack, async () => Promise.reject(new Error("UnauthorizedOperation")))).catch((e) => e);
        expect(String(err)).toMatch(/the leftovers check itself failed: UnauthorizedOperation/);
    });

    it("does not look for leftovers when destroy failed (the stack still owns them)", async () => {
        let checked = false;
        const { stack } = fakeStack(async () => Promise.reject(new Error("DependencyViolation")));
        const err = await runE2e({ stackName: "e2e-test", keep: false }, deps(stack, async () => ((checked = true), []))).catch((e) => e);
        expect(String(err)).toMatch(/destroy of stack e2e-test failed/);
        expect(checked).toBe(false);
    });
});
