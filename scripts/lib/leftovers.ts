/**
 * After `pulumi destroy`: does anything of the stack remain in AWS? Controllers create EC2 instances
 * (Karpenter), load balancers and security groups (the AWS Load Balancer Controller), network
 * interfaces (the VPC CNI, EKS, ELB), and Pulumi's own resources carry the stack's tags; a destroy
 * that "succeeded" while any of these lives on still costs money or blocks the next run.
 *
 * `findLeftovers` is the judge (pure, over DescribeInstances, DescribeLoadBalancers + DescribeTags,
 * DescribeNetworkInterfaces, DescribeAddresses and DescribeSecurityGroups answers); `describeStack`
 * makes those calls with the AWS SDK, one tag filter at a time.
 *
 * How a resource is recognised as the stack's (any one suffices):
 * - Pulumi's tags: `inference-platform/stack` (the program's tag, `<project>-<stack>`, or the e2e
 *   run's `aws:defaultTags` value, the stack name) and `inference-platform/expires-at` (e2e runs);
 * - the cluster's tags, set by the controllers and EKS: `kubernetes.io/cluster/<cluster>` (EKS,
 *   Karpenter, the load balancer controller), `eks:eks-cluster-name` (Karpenter, pkg/utils/utils.go
 *   `GetTags`), `aws:eks:cluster-name` (EKS's cluster security group and managed node groups),
 *   `elbv2.k8s.aws/cluster` (aws-load-balancer-controller pkg/deploy/tracking/provider.go
 *   `defaultProvider.ResourceTags`), `cluster.k8s.amazonaws.com/name` (amazon-vpc-cni-k8s ENIs),
 *   `karpenter.sh/discovery` (this stack's subnets and security group);
 * - for network interfaces without tags: EKS's control-plane interfaces (description
 *   `Amazon EKS <cluster>`), and the interfaces of a leftover load balancer (`ELB <type>/<name>/<id>`).
 */

/** A tag that marks a resource as the stack's: `key` with any of `values`, or with any value when undefined. */
export interface TagMatcher {
    readonly key: string;
    readonly values?: readonly string[];
}

export interface StackIdentity {
    readonly stackName: string;
    readonly clusterName: string;
    readonly tags: readonly TagMatcher[];
}

/** The tags that identify a stack's AWS resources (see the file comment). */
export function stackIdentity(args: { project: string; stackName: string; clusterName: string; expiresAt?: string }): StackIdentity {
    const c = args.clusterName;
    return {
        stackName: args.stackName,
        clusterName: c,
        tags: [
            { key: "inference-platform/stack", values: [args.stackName, `${args.project}-${args.stackName}`] },
            ...(args.expiresAt ? [{ key: "inference-platform/expires-at", values: [args.expiresAt] }] : []),
            { key: `kubernetes.io/cluster/${c}` },
            { key: "eks:eks-cluster-name", values: [c] },
            { key: "aws:eks:cluster-name", values: [c] },
            { key: "elbv2.k8s.aws/cluster", values: [c] },
            { key: "cluster.k8s.amazonaws.com/name", values: [c] },
            { key: "karpenter.sh/discovery", values: [c] },
        ],
    };
}

type Tags = readonly { readonly Key?: string; readonly Value?: string }[] | undefined;

/** What the describe calls returned (the subset of the SDK's shapes read here). */
export interface LeftoverSnapshot {
    readonly instances: readonly { readonly InstanceId?: string; readonly State?: { readonly Name?: string }; readonly Tags?: Tags }[];
    readonly loadBalancers: readonly { readonly LoadBalancerArn?: string; readonly LoadBalancerName?: string; readonly Type?: string; readonly Tags?: Tags }[];
    readonly networkInterfaces: readonly {
        readonly NetworkInterfaceId?: string;
        readonly Description?: string;
        readonly Status?: string;
        readonly TagSet?: Tags;
    }[];
    readonly addresses: readonly { readonly AllocationId?: string; readonly PublicIp?: string; readonly AssociationId?: string; readonly Tags?: Tags }[];
    readonly securityGroups: readonly { readonly GroupId?: string; readonly GroupName?: string; readonly Tags?: Tags }[];
}

/** The first of the identity's tags a resource carries, as `key=value`, or undefined. */
function stackTagOf(tags: Tags, identity: StackIdentity): string | undefined {
    for (const m of identity.tags) {
        const tag = (tags ?? []).find((t) => t.Key === m.key && (m.values === undefined || m.values.includes(t.Value ?? "")));
        if (tag) return `${tag.Key}=${tag.Value ?? ""}`;
    }
    return undefined;
}

/** One line per leftover of the stack (empty when nothing remains). Terminated instances are gone. */
export function findLeftovers(snapshot: LeftoverSnapshot, identity: StackIdentity): string[] {
    const found: string[] = [];
    for (const i of snapshot.instances) {
        const tag = stackTagOf(i.Tags, identity);
        if (tag && i.State?.Name !== "terminated") found.push(`EC2 instance ${i.InstanceId} (${i.State?.Name ?? "unknown state"}), tagged ${tag}`);
    }
    const leftoverLoadBalancers = new Set<string>();
    for (const lb of snapshot.loadBalancers) {
        const tag = stackTagOf(lb.Tags, identity);
        if (!tag) continue;
        leftoverLoadBalancers.add(lb.LoadBalancerName ?? "");
        found.push(`load balancer ${lb.LoadBalancerName} (${lb.Type ?? "elbv2"}, ${lb.LoadBalancerArn}), tagged ${tag}`);
    }
    for (const eni of snapshot.networkInterfaces) {
        const tag = stackTagOf(eni.TagSet, identity);
        const description = eni.Description ?? "";
        const ofLoadBalancer = /^ELB (?:net|app|gwy)\/([^/]+)\//.exec(description)?.[1];
        const why = tag
            ? `tagged ${tag}`
            : description === `Amazon EKS ${identity.clusterName}`
              ? `'${description}'`
              : ofLoadBalancer !== undefined && leftoverLoadBalancers.has(ofLoadBalancer)
                ? `of load balancer ${ofLoadBalancer}`
                : undefined;
        if (why) found.push(`network interface ${eni.NetworkInterfaceId} (${eni.Status ?? "unknown status"}), ${why}`);
    }
    for (const a of snapshot.addresses) {
        const tag = stackTagOf(a.Tags, identity);
        if (tag) found.push(`Elastic IP ${a.PublicIp} (${a.AllocationId}${a.AssociationId ? `, associated ${a.AssociationId}` : ""}), tagged ${tag}`);
    }
    for (const sg of snapshot.securityGroups) {
        const tag = stackTagOf(sg.Tags, identity);
        if (tag) found.push(`security group ${sg.GroupId} (${sg.GroupName}), tagged ${tag}`);
    }
    return found;
}

/** The EC2 `Filters` that find resources carrying one matcher's tag. */
export function tagFilter(m: TagMatcher): { Name: string; Values: string[] } {
    return m.values === undefined ? { Name: "tag-key", Values: [m.key] } : { Name: `tag:${m.key}`, Values: [...m.values] };
}

/** Describes, in `region`, everything that may be the stack's (one call per tag, deduplicated by id). */
export async function describeStack(
    identity: StackIdentity,
    options: {
        region: string;
        profile?: string;
        /** Extra SDK client configuration (tests: a loopback `endpoint` and static `credentials`). */
        clientConfig?: Record<string, unknown>;
    },
): Promise<LeftoverSnapshot> {
    const ec2 = await import("@aws-sdk/client-ec2");
    const elb = await import("@aws-sdk/client-elastic-load-balancing-v2");
    const config = { region: options.region, ...(options.profile ? { profile: options.profile } : {}), ...options.clientConfig };
    const client = new ec2.EC2Client(config);
    const elbClient = new elb.ElasticLoadBalancingV2Client(config);
    const byId = <T>(items: T[], id: (t: T) => string | undefined) => [...new Map(items.map((t) => [id(t) ?? JSON.stringify(t), t])).values()];
    const paged = async <T>(call: (token: string | undefined) => Promise<{ items: T[]; next?: string }>): Promise<T[]> => {
        const all: T[] = [];
        let token: string | undefined;
        do {
            const page = await call(token);
            all.push(...page.items);
            token = page.next;
        } while (token);
        return all;
    };
    const instances: LeftoverSnapshot["instances"][number][] = [];
    const interfaces: LeftoverSnapshot["networkInterfaces"][number][] = [];
    const addresses: LeftoverSnapshot["addresses"][number][] = [];
    const groups: LeftoverSnapshot["securityGroups"][number][] = [];
    for (const m of identity.tags) {
        const Filters = [tagFilter(m)];
        instances.push(
            ...(await paged(async (NextToken) => {
                const out = await client.send(new ec2.DescribeInstancesCommand({ Filters, NextToken }));
                return { items: (out.Reservations ?? []).flatMap((r) => r.Instances ?? []), next: out.NextToken };
            })),
        );
        interfaces.push(
            ...(await paged(async (NextToken) => {
                const out = await client.send(new ec2.DescribeNetworkInterfacesCommand({ Filters, NextToken }));
                return { items: out.NetworkInterfaces ?? [], next: out.NextToken };
            })),
        );
        addresses.push(...((await client.send(new ec2.DescribeAddressesCommand({ Filters }))).Addresses ?? []));
        groups.push(
            ...(await paged(async (NextToken) => {
                const out = await client.send(new ec2.DescribeSecurityGroupsCommand({ Filters, NextToken }));
                return { items: out.SecurityGroups ?? [], next: out.NextToken };
            })),
        );
    }
    // Untagged interfaces: EKS's control plane, and load balancers' (judged against the leftover load balancers).
    interfaces.push(
        ...(await paged(async (NextToken) => {
            const out = await client.send(
                new ec2.DescribeNetworkInterfacesCommand({
                    Filters: [{ Name: "description", Values: [`Amazon EKS ${identity.clusterName}`, "ELB net/*", "ELB app/*"] }],
                    NextToken,
                }),
            );
            return { items: out.NetworkInterfaces ?? [], next: out.NextToken };
        })),
    );
    // Load balancers have no tag filter: list them, then read their tags 20 at a time (the API's limit).
    const loadBalancers = await paged(async (Marker) => {
        const out = await elbClient.send(new elb.DescribeLoadBalancersCommand({ Marker }));
        return { items: out.LoadBalancers ?? [], next: out.NextMarker };
    });
    const tagsByArn = new Map<string, Tags>();
    for (let i = 0; i < loadBalancers.length; i += 20) {
        const ResourceArns = loadBalancers.slice(i, i + 20).map((lb) => lb.LoadBalancerArn!);
        const out = await elbClient.send(new elb.DescribeTagsCommand({ ResourceArns }));
        for (const d of out.TagDescriptions ?? []) tagsByArn.set(d.ResourceArn ?? "", d.Tags);
    }
    return {
        instances: byId(instances, (i) => i.InstanceId),
        loadBalancers: loadBalancers.map((lb) => ({ LoadBalancerArn: lb.LoadBalancerArn, LoadBalancerName: lb.LoadBalancerName, Type: lb.Type, Tags: tagsByArn.get(lb.LoadBalancerArn ?? "") })),
        networkInterfaces: byId(interfaces, (n) => n.NetworkInterfaceId),
        addresses: byId(addresses, (a) => a.AllocationId),
        securityGroups: byId(groups, (g) => g.GroupId),
    };
}

/**
 * Checks until nothing of the stack is left or `timeoutMs` passes (AWS lists some objects for a
 * while after they are deleted); returns what is still there.
 */
export async function waitForNoLeftovers(
    check: () => Promise<string[]>,
    options: { timeoutMs: number; intervalMs: number; sleep?: (ms: number) => Promise<void>; now?: () => number; log?: (line: string) => void },
): Promise<string[]> {
    const now = options.now ?? Date.now;
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const deadline = now() + options.timeoutMs;
    for (;;) {
        const left = await check();
        if (left.length === 0 || now() >= deadline) return left;
        options.log?.(`leftovers check: ${left.length} still listed; checking again in ${Math.round(options.intervalMs / 1000)} s`);
        await sleep(options.intervalMs);
    }
}
