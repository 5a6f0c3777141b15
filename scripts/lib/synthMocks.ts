/**
 * Mocks for the offline synth: stand-ins for what AWS, Kubernetes and the random provider return at
 * deploy time. Unlike test/kit.ts (realistic-looking values), every made-up value is marked:
 *
 * - opaque values (ids, ARNs, names AWS generates, endpoints, passwords) are placeholders
 *   `<computed:TYPE:NAME.PROPERTY>` (provider functions: `<computed:TOKEN.PROPERTY>`);
 * - values the program must be able to parse are documentation values instead, recorded in
 *   `madeUp` so plan.md can list them: IPv4 addresses from 192.0.2.0/24 (RFC 5737 TEST-NET-1),
 *   random name suffixes as runs of `x` (Kubernetes and S3 names must stay valid DNS names),
 *   availability zones `<region>a/b/c`, account id 123456789012 (the one AWS documentation uses).
 *
 * Deterministic: a value depends only on the resource's type, name and inputs, never on the order
 * in which resources register.
 */
import type * as pulumi from "@pulumi/pulumi";

/** Placeholder for a value only the deployment knows. */
export function computed(type: string, name: string, property: string): string {
    return `<computed:${type}:${name}.${property}>`;
}

/** Matches any placeholder the synth emits (computed, secure config, secret, unknown). */
export const placeholderPattern = /<(computed|secure):[^<>]+>|<secret>|<unknown>/;

/** The account id AWS's own documentation uses; stands in for the deploying account. */
export const documentationAccountId = "123456789012";

/** Stand-in for a random name suffix: valid in DNS names, obviously not random. */
export const randomSuffixMarker = (length: number) => "x".repeat(length);

/** A documentation value the mocks made up, and what it stands for. */
export interface MadeUpValue {
    readonly value: string;
    readonly standsFor: string;
}

export interface SynthMocks extends pulumi.runtime.Mocks {
    /** Documentation values handed out, keyed by value (sorted when read). */
    madeUpValues(): MadeUpValue[];
    /** Provider functions the program called (token → count). */
    calls(): Record<string, number>;
}

/** Stable small hash (FNV-1a) so a name always maps to the same documentation IP. */
function hash(text: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) {
        h ^= text.charCodeAt(i);
        h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h;
}

const shortToken = (token: string) => {
    // aws:index/getCallerIdentity:getCallerIdentity → aws:getCallerIdentity
    const [pkg, , fn] = token.split(":");
    return fn ? `${pkg}:${fn}` : token;
};

function partitionOf(region: string | undefined): string {
    if (region?.startsWith("cn-")) return "aws-cn";
    if (region?.startsWith("us-gov-")) return "aws-us-gov";
    return "aws";
}

export function createSynthMocks(options: { region?: string } = {}): SynthMocks {
    const region = options.region;
    const madeUp = new Map<string, string>();
    const calls = new Map<string, number>();

    const record = (value: string, standsFor: string) => {
        const previous = madeUp.get(value);
        madeUp.set(value, previous && previous !== standsFor ? [previous, standsFor].sort().join("; ") : standsFor);
        return value;
    };
    /**
     * A TEST-NET-1 address per (type, name, property), from a hash of that key alone, so it does not
     * depend on registration order; two keys may share an address (plan.md then lists both).
     */
    const docIp = (key: string) => record(`192.0.2.${(hash(key) % 254) + 1}`, key);
    /** `<base>-xxxxxxx`: what an auto-named resource is called, minus the random part. */
    const autoName = (type: string, name: string, base: string, separator = "-", length = 7) =>
        record(`${base}${separator}${randomSuffixMarker(length)}`, `${type}:${name} auto-name (random suffix)`);

    const newResource = (args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, any> } => {
        const { type, name } = args;
        const inputs = args.inputs as Record<string, any>;
        const c = (property: string) => computed(type, name, property);
        const id = args.custom === false ? undefined : c("id");
        const state: Record<string, any> = { ...inputs };

        switch (type) {
            case "eks:index:Cluster": {
                const clusterName = inputs.name ?? autoName(type, name, `${name}-eksCluster`);
                const issuer = `oidc.eks.${region ?? "<region>"}.amazonaws.com/id/${c("oidcId")}`;
                const kubeconfig = {
                    apiVersion: "v1",
                    kind: "Config",
                    clusters: [{ name: clusterName, cluster: { server: c("endpoint"), "certificate-authority-data": c("certificateAuthority") } }],
                    contexts: [{ name: "aws", context: { cluster: clusterName, user: "aws" } }],
                    "current-context": "aws",
                    users: [{ name: "aws", user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token", "--cluster-name", clusterName] } } }],
                };
                // The provider's ARN is derived from the issuer (that is how IAM names it), so policies
                // that check its shape see a real-looking ARN around the computed id.
                const oidcProviderArn = `arn:aws:iam::${documentationAccountId}:oidc-provider/${issuer}`;
                Object.assign(state, {
                    kubeconfig,
                    kubeconfigJson: JSON.stringify(kubeconfig),
                    oidcProviderArn,
                    oidcProviderUrl: `https://${issuer}`,
                    oidcIssuer: issuer,
                    clusterSecurityGroupId: c("clusterSecurityGroupId"),
                    nodeSecurityGroupId: c("nodeSecurityGroupId"),
                    eksCluster: {
                        name: clusterName,
                        arn: c("eksCluster.arn"),
                        endpoint: c("endpoint"),
                        version: inputs.version,
                        vpcConfig: { clusterSecurityGroupId: c("clusterSecurityGroupId") },
                        certificateAuthority: { data: c("certificateAuthority") },
                    },
                    core: {
                        cluster: { name: clusterName, arn: c("eksCluster.arn") },
                        oidcProvider: { arn: oidcProviderArn, url: `https://${issuer}` },
                        subnetIds: inputs.privateSubnetIds ?? [],
                        vpcId: inputs.vpcId,
                        clusterSecurityGroupId: c("clusterSecurityGroupId"),
                    },
                });
                break;
            }
            case "awsx:ec2:Vpc": {
                const azs = Number(inputs.numberOfAvailabilityZones ?? inputs.availabilityZoneNames?.length ?? 3);
                const subnets = (kind: string) => Array.from({ length: azs }, (_, i) => c(`${kind}SubnetIds[${i}]`));
                const publicSubnetIds = subnets("public");
                const privateSubnetIds = subnets("private");
                Object.assign(state, {
                    vpcId: c("vpcId"),
                    publicSubnetIds,
                    privateSubnetIds,
                    isolatedSubnetIds: [],
                    routeTables: [],
                    routeTableAssociations: [
                        ...publicSubnetIds.map((subnetId) => ({ subnetId, routeTableId: c("publicRouteTableId") })),
                        ...privateSubnetIds.map((subnetId, i) => ({ subnetId, routeTableId: c(`privateRouteTableIds[${i}]`) })),
                    ],
                    natGateways: [],
                    eips: [],
                    vpc: { id: c("vpcId"), cidrBlock: inputs.cidrBlock, arn: c("vpc.arn") },
                });
                break;
            }
            case "aws:ec2/eip:Eip":
                Object.assign(state, { allocationId: c("allocationId"), publicIp: docIp(`${type}:${name}.publicIp`), publicDns: c("publicDns") });
                break;
            case "aws:s3/bucket:Bucket":
            case "aws:s3/bucketV2:BucketV2": {
                // Bucket names end up in s3:// URIs that the program validates: keep them valid.
                const bucket = inputs.bucket ?? (inputs.bucketPrefix ? record(`${inputs.bucketPrefix}${randomSuffixMarker(8)}`, `${type}:${name} bucket name (AWS-generated suffix)`) : autoName(type, name, name, "-", 7));
                Object.assign(state, { bucket, arn: `arn:${partitionOf(region)}:s3:::${bucket}`, region, bucketDomainName: `${bucket}.s3.amazonaws.com` });
                return { id: bucket, state };
            }
            case "aws:eks/nodeGroup:NodeGroup":
                Object.assign(state, { arn: c("arn"), status: "ACTIVE", resources: [{ autoscalingGroups: [{ name: c("resources[0].autoscalingGroups[0].name") }], remoteAccessSecurityGroupId: "" }] });
                break;
            case "aws:ecr/repository:Repository": {
                // The URL becomes an image reference that must parse: documentation account, marked name.
                const repoName = inputs.name ?? autoName(type, name, name.toLowerCase());
                const registry = record(`${documentationAccountId}.dkr.ecr.${region ?? "<region>"}.amazonaws.com`, `${type}:${name} registry (the deploying account's)`);
                Object.assign(state, { name: repoName, repositoryUrl: `${registry}/${repoName}`, registryId: documentationAccountId });
                break;
            }
            case "docker-build:index:Image": {
                // After a push `ref` is tag@digest; the digest is only known once the image is built.
                const tag = Array.isArray(inputs.tags) && typeof inputs.tags[0] === "string" ? inputs.tags[0] : undefined;
                const digest = record(`sha256:${"0".repeat(64)}`, "docker-build:index:Image digest (known after the build)");
                Object.assign(state, { digest, ref: tag ? `${tag}@${digest}` : c("ref") });
                break;
            }
            case "aws:ec2/launchTemplate:LaunchTemplate":
                Object.assign(state, { latestVersion: 1, defaultVersion: 1 });
                break;
            case "aws:sqs/queue:Queue": {
                // Karpenter's settings name the queue and its policy validates the queue's ARN: keep both
                // valid (an auto-name's random suffix as x's, the documentation account).
                const queueName = inputs.name ?? autoName(type, name, name);
                Object.assign(state, { name: queueName, arn: `arn:${partitionOf(region)}:sqs:${region ?? "<region>"}:${documentationAccountId}:${queueName}`, url: c("url") });
                break;
            }
            case "aws:iam/role:Role":
                // Policies that name a role (iam:PassRole) validate its ARN: a real-looking ARN around the
                // computed name, like the OIDC provider's.
                Object.assign(state, { name: inputs.name ?? c("name"), arn: `arn:${partitionOf(region)}:iam::${documentationAccountId}:role/${inputs.name ?? c("name")}` });
                break;
            case "kubernetes:helm.sh/v3:Release": {
                const releaseName = inputs.name ?? autoName(type, name, name, "-", 8);
                state.name = releaseName;
                state.status = { name: releaseName, namespace: inputs.namespace ?? "default", status: "deployed", version: inputs.version, chart: inputs.chart, revision: 1 };
                break;
            }
            case "random:index/randomPassword:RandomPassword":
                Object.assign(state, { result: c("result"), bcryptHash: c("bcryptHash") });
                break;
            case "random:index/randomString:RandomString":
                state.result = record(randomSuffixMarker(Number(inputs.length ?? 8)), `${type}:${name}.result`);
                break;
            case "random:index/randomId:RandomId":
                Object.assign(state, { hex: c("hex"), b64Url: c("b64Url"), b64Std: c("b64Std"), dec: c("dec") });
                break;
            case "random:index/randomPet:RandomPet":
                state.id = record(`${inputs.prefix ? `${inputs.prefix}-` : ""}xxxx-xxxx`, `${type}:${name} (random words)`);
                break;
            default:
                break;
        }

        if (type.startsWith("aws:")) {
            if (state.arn === undefined) state.arn = c("arn");
            // Auto-named AWS resources: name = logical name + 7 random characters.
            if (state.name === undefined && inputs.namePrefix === undefined) state.name = c("name");
            if (state.name === undefined && inputs.namePrefix !== undefined) state.name = `${inputs.namePrefix}${c("nameSuffix")}`;
            if (state.id === undefined && id) state.id = id;
        }
        if (type.startsWith("kubernetes:") && !type.startsWith("kubernetes:helm.sh") && inputs.metadata !== undefined) {
            const meta = { ...inputs.metadata };
            // The Kubernetes provider auto-names objects `<name>-<8 random characters>`.
            if (meta.name === undefined && meta.generateName === undefined) meta.name = autoName(type, name, name.toLowerCase(), "-", 8);
            meta.uid = meta.uid ?? c("metadata.uid");
            state.metadata = meta;
            if (type === "kubernetes:core/v1:Service" && inputs.spec?.type === "LoadBalancer") {
                state.status = { loadBalancer: { ingress: [{ ip: docIp(`${type}:${name}.status.loadBalancer.ingress[0].ip`), hostname: c("status.loadBalancer.ingress[0].hostname") }] } };
            }
            if (type === "kubernetes:core/v1:Service" && inputs.spec?.clusterIP === undefined) {
                state.spec = { ...inputs.spec, clusterIP: c("spec.clusterIP") };
            }
        }
        return { id, state };
    };

    const call = (args: pulumi.runtime.MockCallArgs): Record<string, any> => {
        const token = args.token;
        calls.set(token, (calls.get(token) ?? 0) + 1);
        const c = (property: string) => `<computed:${shortToken(token)}.${property}>`;
        switch (token) {
            case "aws:index/getCallerIdentity:getCallerIdentity":
                // Policies embed the account id and validate it (12 digits): use AWS's documentation account.
                return { accountId: record(documentationAccountId, `${shortToken(token)}.accountId (the deploying account)`), arn: c("arn"), userId: c("userId"), id: c("id") };
            case "aws:index/getPartition:getPartition":
                return { partition: partitionOf(region), dnsSuffix: partitionOf(region) === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com", id: partitionOf(region) };
            case "aws:index/getRegion:getRegion":
                return { name: region ?? c("name"), region: region ?? c("region"), id: region ?? c("id"), endpoint: `ec2.${region}.amazonaws.com` };
            case "aws:index/getAvailabilityZones:getAvailabilityZones": {
                const names = ["a", "b", "c"].map((s) => record(`${region}${s}`, `${shortToken(token)}: zones of ${region} (assumed; the account decides)`));
                return { names, zoneIds: names.map((_, i) => c(`zoneIds[${i}]`)), id: region };
            }
            case "aws:servicequotas/getServiceQuota:getServiceQuota": {
                // Preflight reads these; the account decides them. AWS's default for Elastic IPs is 5;
                // G/VT vCPU quotas start low on new accounts, so a value the dev stack fits is assumed.
                const code = String(args.inputs.quotaCode);
                const value = code === "L-0263D0A3" ? 5 : 64;
                record(`quota ${code} = ${value}`, `${shortToken(token)}: ec2 ${code} (assumed; the account decides, preflight reads it at preview)`);
                return { serviceCode: args.inputs.serviceCode, quotaCode: code, value, adjustable: true, globalQuota: false, quotaName: c("quotaName"), id: `${args.inputs.serviceCode}/${code}` };
            }
            case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": {
                // Every requested type (a family pattern `g6.*` as its xlarge size) in every requested zone.
                const filter = (name: string): string[] => (args.inputs.filters ?? []).find((f: { name: string }) => f.name === name)?.values ?? [];
                const types = filter("instance-type").map((v) => (v.endsWith(".*") ? `${v.slice(0, -2)}.xlarge` : v));
                const rows = types.flatMap((t) => filter("location").map((z) => [t, z] as const));
                for (const t of types) record(`offering ${t}`, `${shortToken(token)}: ${t} assumed offered in every zone of the stack (preflight reads the real offerings)`);
                return { instanceTypes: rows.map((r) => r[0]), locations: rows.map((r) => r[1]), locationTypes: rows.map(() => "availability-zone"), id: c("id") };
            }
            case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
                return { userName: "AWS", password: c("password"), authorizationToken: c("authorizationToken"), proxyEndpoint: c("proxyEndpoint"), id: c("id") };
            case "aws:ec2/getPrefixList:getPrefixList":
                return { id: c("id"), name: args.inputs.name, cidrBlocks: [] };
            default:
                return { ...args.inputs };
        }
    };

    return {
        newResource,
        call,
        madeUpValues: () =>
            [...madeUp.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([value, standsFor]) => ({ value, standsFor })),
        calls: () => Object.fromEntries([...calls.entries()].sort(([a], [b]) => (a < b ? -1 : 1))),
    };
}
