/**
 * Test kit: Pulumi mocks that stand in for AWS and Kubernetes, a recorder of every registered
 * resource (with its parent and dependencies, which the plain mock API hides), and `promiseOf`.
 *
 * Use: `const rec = await installMocks();` at the top of a test file (before creating resources),
 * build components, then `await rec.settle()` and query `rec.byType(...)`.
 */
import * as pulumi from "@pulumi/pulumi";

export const testAccountId = "123456789012";
export const testRegion = "us-east-2";
export const testOidcIssuerHost = "oidc.eks.us-east-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

/** One registered resource as the engine would have seen it. */
export interface RecordedResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    /** URN of the parent, or "" for the stack. */
    readonly parent: string;
    /** URNs from `dependsOn` and from outputs used in inputs. */
    readonly dependencies: readonly string[];
    /** URN of the explicit provider (a `providers`/`provider` option), or "" for the default one. The engine deletes a provider after its resources. */
    readonly provider: string;
    /** Former URNs given as `aliases` (children inherit their parent's; see test/urnAliases.ts). */
    readonly aliases: readonly string[];
    /** Per-input dependencies (input name → URNs). */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    /** Inputs with secrets unwrapped and unknowns as `undefined`. */
    readonly inputs: Record<string, any>;
    /** State the mock returned (inputs plus computed outputs). */
    readonly state: Record<string, any>;
    readonly options: {
        readonly deleteBeforeReplace: boolean;
        readonly ignoreChanges: readonly string[];
        readonly protect: boolean;
        readonly retainOnDelete: boolean;
        readonly deletedWith: string;
        /** `customTimeouts` (empty strings where unset). */
        readonly customTimeouts: { readonly create: string; readonly update: string; readonly delete: string };
    };
}

export interface Recorder {
    readonly resources: RecordedResource[];
    /** Waits until no registration is in flight (Pulumi registers asynchronously). */
    settle(): Promise<void>;
    byType(type: string): RecordedResource[];
    /** The single resource of `type` whose name ends with `nameSuffix` (throws if not exactly one). */
    one(type: string, nameSuffix?: string): RecordedResource;
    byUrn(urn: string): RecordedResource | undefined;
    /** True when `from` depends on `to` directly or through dependencies and parents of dependencies. */
    dependsOn(from: RecordedResource, to: RecordedResource): boolean;
    /** Every registered call to a provider function (`aws:...:getX`) with its inputs. */
    readonly calls: { token: string; inputs: Record<string, any> }[];
}

let counter = 0;
function nextNumber(): number {
    counter += 1;
    return counter;
}

/** Deterministic, realistic-looking outputs for the resource types the stack uses. */
export function mockOutputs(type: string, name: string, inputs: Record<string, any>): { id: string; state: Record<string, any> } {
    const id = `${name}-id`;
    const arnOf = (service: string, resource: string, region = testRegion) =>
        `arn:aws:${service}:${region}:${testAccountId}:${resource}`;
    switch (type) {
        case "eks:index:Cluster": {
            const clusterName = inputs.name ?? `${name}-eksCluster-1234567`;
            const oidcProviderArn = `arn:aws:iam::${testAccountId}:oidc-provider/${testOidcIssuerHost}`;
            const kubeconfig = {
                apiVersion: "v1",
                kind: "Config",
                clusters: [{ name: clusterName, cluster: { server: "https://EXAMPLE.gr7.us-east-2.eks.amazonaws.com", "certificate-authority-data": "Q0E=" } }],
                contexts: [{ name: "aws", context: { cluster: clusterName, user: "aws" } }],
                "current-context": "aws",
                users: [{ name: "aws", user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token", "--cluster-name", clusterName] } } }],
            };
            return {
                id,
                state: {
                    ...inputs,
                    kubeconfig,
                    kubeconfigJson: JSON.stringify(kubeconfig),
                    oidcProviderArn,
                    oidcProviderUrl: `https://${testOidcIssuerHost}`,
                    oidcIssuer: testOidcIssuerHost,
                    clusterSecurityGroupId: "sg-0cluster",
                    nodeSecurityGroupId: "sg-0node",
                    eksCluster: {
                        name: clusterName,
                        arn: arnOf("eks", `cluster/${clusterName}`),
                        version: inputs.version,
                        vpcConfig: { clusterSecurityGroupId: "sg-0eksmanaged" },
                    },
                    core: {
                        cluster: { name: clusterName },
                        oidcProvider: { arn: oidcProviderArn, url: `https://${testOidcIssuerHost}` },
                        subnetIds: inputs.privateSubnetIds ?? [],
                        vpcId: inputs.vpcId,
                        clusterSecurityGroupId: "sg-0eksmanaged",
                    },
                },
            };
        }
        case "awsx:ec2:Vpc": {
            const azs = inputs.numberOfAvailabilityZones ?? 2;
            const publicSubnetIds = Array.from({ length: azs }, (_, i) => `subnet-public-${i}`);
            const privateSubnetIds = Array.from({ length: azs }, (_, i) => `subnet-private-${i}`);
            return {
                id,
                state: {
                    ...inputs,
                    vpcId: "vpc-0123456789",
                    publicSubnetIds,
                    privateSubnetIds,
                    isolatedSubnetIds: [],
                    // One route table per private subnet (NAT routes) and one shared public table.
                    routeTables: [],
                    routeTableAssociations: [
                        ...publicSubnetIds.map((subnetId) => ({ subnetId, routeTableId: "rtb-public" })),
                        ...privateSubnetIds.map((subnetId, i) => ({ subnetId, routeTableId: `rtb-private-${i}` })),
                    ],
                    vpc: { id: "vpc-0123456789", cidrBlock: inputs.cidrBlock },
                },
            };
        }
        case "aws:ec2/eip:Eip": {
            const n = nextNumber() % 250;
            return { id: `eipalloc-${n}`, state: { ...inputs, allocationId: `eipalloc-${n}`, publicIp: `203.0.113.${n + 1}` } };
        }
        case "aws:s3/bucket:Bucket":
        case "aws:s3/bucketV2:BucketV2": {
            const bucket = inputs.bucket ?? `${inputs.bucketPrefix ?? name}abcd1234`;
            return { id: bucket, state: { ...inputs, bucket, arn: `arn:aws:s3:::${bucket}`, region: testRegion } };
        }
        case "aws:iam/role:Role":
            return { id, state: { ...inputs, name: inputs.name ?? id, arn: `arn:aws:iam::${testAccountId}:role/${inputs.name ?? id}` } };
        case "aws:iam/policy:Policy":
            return { id, state: { ...inputs, name: inputs.name ?? id, arn: `arn:aws:iam::${testAccountId}:policy/${inputs.name ?? id}` } };
        case "aws:kms/key:Key":
            return { id: "0b5b6d3c-1111-2222-3333-444455556666", state: { ...inputs, keyId: "0b5b6d3c-1111-2222-3333-444455556666", arn: arnOf("kms", "key/0b5b6d3c-1111-2222-3333-444455556666") } };
        case "aws:ecr/repository:Repository":
            return { id, state: { ...inputs, name: inputs.name ?? name, repositoryUrl: `${testAccountId}.dkr.ecr.${testRegion}.amazonaws.com/${inputs.name ?? name}`, arn: arnOf("ecr", `repository/${name}`) } };
        case "aws:sqs/queue:Queue": {
            const queueName = inputs.name ?? `${name}-1234567`;
            return { id: `https://sqs.${testRegion}.amazonaws.com/${testAccountId}/${queueName}`, state: { ...inputs, name: queueName, url: `https://sqs.${testRegion}.amazonaws.com/${testAccountId}/${queueName}`, arn: arnOf("sqs", queueName) } };
        }
        case "aws:eks/nodeGroup:NodeGroup":
            return { id, state: { ...inputs, arn: arnOf("eks", `nodegroup/${name}`), resources: [{ autoscalingGroups: [{ name: `eks-${name}-asg` }] }] } };
        default: {
            const state: Record<string, any> = { ...inputs };
            if (type.startsWith("aws:")) {
                const service = type.split(":")[1].split("/")[0];
                state.arn = state.arn ?? arnOf(service, `${name}`);
            }
            if (type.startsWith("kubernetes:") && inputs.metadata) {
                state.metadata = { ...inputs.metadata, name: inputs.metadata.name ?? `${name}-abc123` };
            }
            if (type === "kubernetes:helm.sh/v3:Release") {
                state.status = { name: inputs.name ?? name, namespace: inputs.namespace ?? "default", status: "deployed", version: inputs.version, chart: inputs.chart };
            }
            return { id, state };
        }
    }
}

/** Results of provider functions the stack calls. */
export function mockCall(token: string, inputs: Record<string, any>): Record<string, any> {
    switch (token) {
        case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return { names: ["us-east-2a", "us-east-2b", "us-east-2c"], zoneIds: ["use2-az1", "use2-az2", "use2-az3"] };
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: testAccountId, arn: `arn:aws:iam::${testAccountId}:user/test`, userId: "AIDTEST" };
        case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com" };
        case "aws:index/getRegion:getRegion":
            return { name: testRegion, region: testRegion, id: testRegion };
        case "aws:ec2/getPrefixList:getPrefixList":
            return { id: "pl-7ba54012", name: inputs.name };
        case "aws:servicequotas/getServiceQuota:getServiceQuota":
            // Generous values, so only tests that want a shortfall see one (see `installMocks({ calls })`).
            return {
                serviceCode: inputs.serviceCode,
                quotaCode: inputs.quotaCode,
                value: inputs.quotaCode === "L-0263D0A3" ? 5 : 256,
                adjustable: true,
                globalQuota: false,
                region: testRegion,
                id: `${inputs.serviceCode}/${inputs.quotaCode}`,
            };
        case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": {
            // Every requested type (a family pattern `g6.*` as its xlarge and 2xlarge) in every requested zone.
            const filter = (name: string): string[] => (inputs.filters ?? []).find((f: any) => f.name === name)?.values ?? [];
            const types = filter("instance-type").flatMap((v) => (v.endsWith(".*") ? [`${v.slice(0, -2)}.xlarge`, `${v.slice(0, -2)}.2xlarge`] : [v]));
            const zones = filter("location");
            const rows = types.flatMap((t) => zones.map((z) => [t, z] as const));
            return { instanceTypes: rows.map((r) => r[0]), locations: rows.map((r) => r[1]), locationTypes: rows.map(() => "availability-zone"), id: testRegion };
        }
        default:
            return inputs;
    }
}

/**
 * Installs the mocks and returns the recorder. `preview: true` makes outputs of resources unknown
 * the way `pulumi preview` does.
 */
export async function installMocks(
    options: {
        project?: string;
        stack?: string;
        preview?: boolean;
        config?: Record<string, string>;
        /** Answers for provider functions that differ from `mockCall` (return undefined to fall back to it). */
        calls?: (token: string, inputs: Record<string, any>) => Record<string, any> | undefined;
    } = {},
): Promise<Recorder> {
    const project = options.project ?? "inference-platform";
    const stack = options.stack ?? "test";
    if (options.config) {
        pulumi.runtime.setAllConfig(
            Object.fromEntries(Object.entries(options.config).map(([k, v]) => [k.includes(":") ? k : `${project}:${k}`, v])),
        );
    }
    const resources: RecordedResource[] = [];
    const calls: { token: string; inputs: Record<string, any> }[] = [];
    const pending = new Set<Promise<unknown>>();

    await pulumi.runtime.setMocks(
        {
            newResource: (args: pulumi.runtime.MockResourceArgs) => {
                const { id, state } = mockOutputs(args.type, args.name, args.inputs);
                return { id: args.custom === false ? undefined : id, state };
            },
            call: (args: pulumi.runtime.MockCallArgs) => {
                calls.push({ token: args.token, inputs: args.inputs });
                return options.calls?.(args.token, args.inputs) ?? mockCall(args.token, args.inputs);
            },
        },
        project,
        stack,
        options.preview ?? false,
    );

    // The mock API does not pass parents or dependencies to `newResource`; read them off the
    // registration request itself.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings = require("@pulumi/pulumi/runtime/settings");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const rpc = require("@pulumi/pulumi/runtime/rpc");
    const monitor = settings.getMonitor();
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
        const done = new Promise<void>((resolve) => {
            original(req, (err: any, resp: any) => {
                if (!err && resp) {
                    const propertyDependencies: Record<string, string[]> = {};
                    req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
                        propertyDependencies[key] = deps.getUrnsList();
                    });
                    const state = rpc.deserializeProperties(resp.getObject());
                    resources.push({
                        urn: resp.getUrn(),
                        type: req.getType(),
                        name: req.getName(),
                        custom: req.getCustom(),
                        parent: req.getParent(),
                        dependencies: req.getDependenciesList(),
                        // A provider reference is `<urn>::<id>`.
                        provider: String(req.getProvider() ?? "").replace(/::[^:]*$/, ""),
                        aliases: req.getAliasesList().map((a: any) => a.getUrn()).filter((u: string) => u !== ""),
                        propertyDependencies,
                        inputs: unwrapSecrets(rpc.deserializeProperties(req.getObject())),
                        state: unwrapSecrets(state),
                        options: {
                            deleteBeforeReplace: req.getDeletebeforereplace(),
                            ignoreChanges: req.getIgnorechangesList(),
                            protect: req.getProtect(),
                            retainOnDelete: req.getRetainondelete(),
                            deletedWith: req.getDeletedwith(),
                            customTimeouts: {
                                create: req.getCustomtimeouts()?.getCreate() ?? "",
                                update: req.getCustomtimeouts()?.getUpdate() ?? "",
                                delete: req.getCustomtimeouts()?.getDelete() ?? "",
                            },
                        },
                    });
                }
                callback(err, resp);
                resolve();
            });
        });
        pending.add(done);
        void done.finally(() => pending.delete(done));
    };

    const recorder: Recorder = {
        resources,
        calls,
        async settle() {
            // Registrations chain (children wait for parents' URNs), so loop until quiet.
            for (let quietRounds = 0; quietRounds < 3; ) {
                await new Promise((r) => setTimeout(r, 5));
                if (pending.size === 0) quietRounds += 1;
                else {
                    quietRounds = 0;
                    await Promise.all([...pending]);
                }
            }
        },
        byType: (type) => resources.filter((r) => r.type === type),
        one(type, nameSuffix) {
            const found = resources.filter((r) => r.type === type && (nameSuffix === undefined || r.name.endsWith(nameSuffix)));
            if (found.length !== 1) {
                throw new Error(`expected one ${type}${nameSuffix ? ` named *${nameSuffix}` : ""}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
            }
            return found[0];
        },
        byUrn: (urn) => resources.find((r) => r.urn === urn),
        dependsOn(from, to) {
            const seen = new Set<string>();
            const stack = [...from.dependencies, ...Object.values(from.propertyDependencies).flat()];
            while (stack.length > 0) {
                const urn = stack.pop()!;
                if (urn === to.urn) return true;
                if (seen.has(urn)) continue;
                seen.add(urn);
                // A dependency on a component means a dependency on all of its descendants.
                for (const r of resources) {
                    if (r.parent === urn) stack.push(r.urn);
                }
                const dep = resources.find((r) => r.urn === urn);
                if (dep) stack.push(...dep.dependencies, ...Object.values(dep.propertyDependencies).flat());
            }
            return false;
        },
    };
    return recorder;
}

/** Pulumi's wire marker for a secret value (`{ [secretSig]: secretSigValue, value }`). */
const secretSig = "4dabf18193072939515e22adb298388d";

function unwrapSecrets(value: any): any {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value && typeof value === "object") {
        if (pulumi.Output.isInstance(value)) return undefined;
        if (secretSig in value) return unwrapSecrets(value.value);
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/** Resolves an Output (unknown → undefined). */
export function promiseOf<T>(output: pulumi.Input<T> | pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(output).apply((v) => {
        resolve(v as T);
        return v;
    }));
}

/**
 * A stand-in for the EKS cluster component: one managed node group under a component, so tests can
 * check that something waits for the node groups (depending on a component waits for its children).
 */
export class FakeCluster extends pulumi.ComponentResource {
    constructor(name: string, pool: "cpu" | "gpu" = "cpu") {
        super("test:fake:Cluster", name);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const aws = require("@pulumi/aws") as typeof import("@pulumi/aws");
        const size = pool === "gpu" ? { minSize: 0, maxSize: 2, desiredSize: 0 } : { minSize: 1, maxSize: 2, desiredSize: 1 };
        new aws.eks.NodeGroup(
            `${name}-${pool}`,
            { clusterName: "demo", nodeRoleArn: `arn:aws:iam::${testAccountId}:role/node`, subnetIds: ["subnet-1"], scalingConfig: size },
            { parent: this },
        );
        this.registerOutputs({});
    }
}

/** Every resource below `root` (children, grandchildren...). */
export function descendants(rec: Recorder, root: RecordedResource): RecordedResource[] {
    const out: RecordedResource[] = [];
    const queue = [root.urn];
    while (queue.length > 0) {
        const urn = queue.shift()!;
        for (const r of rec.resources.filter((x) => x.parent === urn)) {
            out.push(r);
            queue.push(r.urn);
        }
    }
    return out;
}
