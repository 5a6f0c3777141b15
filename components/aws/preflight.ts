/**
 * Preflight: the account limits a deploy would otherwise hit half-way (GPU quotas, Elastic IPs,
 * instance types a zone does not offer), checked with Pulumi invokes, which run during `pulumi
 * preview` as well as `up`, before anything that depends on them is registered.
 *
 * - Service Quotas (`aws.servicequotas.getServiceQuotaOutput`, service `ec2`, values per region):
 *   `L-DB2E81BA` "Running On-Demand G and VT instances" and `L-3819A6DF` "All G and VT Spot Instance
 *   Requests" (both counted in vCPUs), `L-0263D0A3` "EC2-VPC Elastic IPs".
 * - Offerings (`aws.ec2.getInstanceTypeOfferingsOutput`, location type availability-zone): every
 *   configured instance type, or every type of a configured family (`<family>.*`), per zone.
 *
 * A shortfall fails with one message naming each quota, the need, the current value and how to raise
 * it (console and CLI); a type or family offered in no configured zone is an error, in only some a
 * warning (nodes go to the zones that have it). Instances already running in the account count
 * against the vCPU quotas too; the check cannot see them, so it compares the quota with the stack's
 * own bound and says so.
 *
 * Use: build `Preflight` before the network, and put `preflight.passed` in the `dependsOn` of the
 * first AWS resources: they register only after every check has passed.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The quotas the stack is bounded by (Service Quotas, service code `ec2`). */
export const ec2Quotas = {
    onDemandGAndVt: { code: "L-DB2E81BA", name: "Running On-Demand G and VT instances", unit: "vCPUs" },
    spotGAndVt: { code: "L-3819A6DF", name: "All G and VT Spot Instance Requests", unit: "vCPUs" },
    elasticIps: { code: "L-0263D0A3", name: "EC2-VPC Elastic IPs", unit: "Elastic IPs" },
} as const;
export type QuotaKey = keyof typeof ec2Quotas;

/** What the stack needs of one quota, and what to change to need less. */
export interface QuotaNeed {
    readonly quota: QuotaKey;
    readonly need: number;
    /** Where the need comes from, e.g. "the GPU pool may run 16 vCPUs on-demand (gpuMaxVcpus)". */
    readonly why: string;
    /** The config change that lowers the need. */
    readonly lower: string;
}

/** How the stack gets GPU nodes, as far as quotas and offerings care. */
export type GpuCapacityPlan =
    | {
          readonly kind: "karpenter";
          readonly instanceFamilies: readonly string[];
          /** The NodePool's `cpu` limit: the most G/VT vCPUs it may run at once. */
          readonly maxVcpus: number;
          /** Spot allowed (on-demand is always the fallback, so both quotas must hold the limit). */
          readonly spot: boolean;
      }
    | {
          readonly kind: "node-group";
          readonly instanceTypes: readonly string[];
          readonly maxSize: number;
          readonly capacityType: "ON_DEMAND" | "SPOT";
      };

/** What the stack will ask of the account. */
export interface PreflightPlan {
    /** GPU capacity; undefined: no GPU nodes. */
    readonly gpu?: GpuCapacityPlan;
    /** NAT gateways (one Elastic IP each). */
    readonly natGateways: number;
    /** Elastic IPs of the ingress NLB (one per public subnet). */
    readonly loadBalancerAddresses: number;
}

/**
 * vCPUs of a size of the NVIDIA families the stack allows (g4dn, g5, g6, g6e, p4d, p5): `xlarge` is 4
 * and `<n>xlarge` is 4n in each of them (AWS "Accelerated computing instances" specifications, e.g.
 * g5.xlarge 4, g5.12xlarge 48, g6e.2xlarge 8, p4d.24xlarge 96, p5.48xlarge 192).
 */
export function acceleratedVcpus(instanceType: string): number {
    const size = /^[a-z0-9-]+\.(\d*)xlarge$/.exec(instanceType);
    if (!size) throw new Error(`acceleratedVcpus: '${instanceType}' is not an <family>.<n>xlarge instance type`);
    return 4 * (size[1] === "" ? 1 : Number(size[1]));
}

/** The quota needs of a plan (pure). */
export function quotaNeeds(plan: PreflightPlan): QuotaNeed[] {
    const needs: QuotaNeed[] = [];
    const gpu = plan.gpu;
    if (gpu?.kind === "karpenter") {
        needs.push({
            quota: "onDemandGAndVt",
            need: gpu.maxVcpus,
            why: `the GPU NodePool may run ${gpu.maxVcpus} vCPUs on-demand${gpu.spot ? " (its fallback when spot is short)" : ""} (gpuMaxVcpus, the pool's cpu limit)`,
            lower: "lower gpuMaxVcpus (and gpuMaxGpus)",
        });
        if (gpu.spot) {
            needs.push({
                quota: "spotGAndVt",
                need: gpu.maxVcpus,
                why: `the GPU NodePool may run ${gpu.maxVcpus} vCPUs on spot (gpuMaxVcpus)`,
                lower: "lower gpuMaxVcpus, or set gpuSpot: false",
            });
        }
    } else if (gpu?.kind === "node-group") {
        const largest = gpu.instanceTypes.reduce((a, b) => (acceleratedVcpus(b) > acceleratedVcpus(a) ? b : a));
        const need = gpu.maxSize * acceleratedVcpus(largest);
        needs.push({
            quota: gpu.capacityType === "SPOT" ? "spotGAndVt" : "onDemandGAndVt",
            need,
            why: `the GPU node group may run ${gpu.maxSize} x ${largest} (${acceleratedVcpus(largest)} vCPUs each) = ${need} vCPUs (gpuMaxSize)`,
            lower: "lower gpuMaxSize, or use smaller gpuInstanceTypes",
        });
    }
    const eips = plan.natGateways + plan.loadBalancerAddresses;
    needs.push({
        quota: "elasticIps",
        need: eips,
        why: `${plan.natGateways} NAT gateway(s) and ${plan.loadBalancerAddresses} ingress NLB address(es), one per public subnet`,
        lower: "set natGateways: single, or lower availabilityZones",
    });
    return needs;
}

/** A requested instance type (`g6.xlarge`) or family (`g6`), for the offerings check. */
export interface RequestedCapacity {
    readonly kind: "type" | "family";
    readonly name: string;
}

/** What the plan asks of the zones (pure). */
export function requestedCapacity(plan: PreflightPlan): RequestedCapacity[] {
    if (plan.gpu?.kind === "karpenter") return plan.gpu.instanceFamilies.map((name) => ({ kind: "family", name }));
    if (plan.gpu?.kind === "node-group") return plan.gpu.instanceTypes.map((name) => ({ kind: "type", name }));
    return [];
}

/** The `instance-type` filter values that find every requested type (a family as `<family>.*`). */
export function offeringFilterValues(requested: readonly RequestedCapacity[]): string[] {
    return requested.map((r) => (r.kind === "family" ? `${r.name}.*` : r.name));
}

/** What the invokes returned. */
export interface PreflightFacts {
    readonly region: string;
    /** The zones the stack's subnets use. */
    readonly availabilityZones: readonly string[];
    /** Current value of each quota the needs name. */
    readonly quotaValues: Readonly<Partial<Record<QuotaKey, number>>>;
    /** DescribeInstanceTypeOfferings rows: `instanceTypes[i]` is offered in `locations[i]`. */
    readonly offerings: { readonly instanceTypes: readonly string[]; readonly locations: readonly string[] };
}

export interface PreflightResult {
    readonly errors: readonly string[];
    readonly warnings: readonly string[];
}

/** How to raise a quota: the console path and the CLI call. */
export function raiseQuotaHint(quota: QuotaKey, region: string, desired: number): string {
    const q = ec2Quotas[quota];
    return (
        `Service Quotas console (region ${region}) > AWS services > Amazon Elastic Compute Cloud (Amazon EC2) > "${q.name}" > Request increase at account level, ` +
        `or: aws service-quotas request-service-quota-increase --region ${region} --service-code ec2 --quota-code ${q.code} --desired-value ${desired}`
    );
}

/** Judges the facts against the plan (pure): every shortfall an error, partial offerings warnings. */
export function evaluatePreflight(plan: PreflightPlan, facts: PreflightFacts): PreflightResult {
    const errors: string[] = [];
    const warnings: string[] = [];
    for (const need of quotaNeeds(plan)) {
        const q = ec2Quotas[need.quota];
        const value = facts.quotaValues[need.quota];
        if (value === undefined) {
            errors.push(`service quota "${q.name}" (ec2 ${q.code}) could not be read in ${facts.region}`);
            continue;
        }
        if (value < need.need) {
            const vcpuNote = q.unit === "vCPUs" ? " vCPUs of instances already running in the account count against it too." : "";
            errors.push(
                `service quota "${q.name}" (ec2 ${q.code}) is ${value} ${q.unit} in ${facts.region}, but ${need.why} needs ${need.need}.${vcpuNote} ` +
                    `Raise it to at least ${need.need}: ${raiseQuotaHint(need.quota, facts.region, need.need)}; or ${need.lower}.`,
            );
        }
    }
    const zones = [...facts.availabilityZones];
    for (const r of requestedCapacity(plan)) {
        const matches = (type: string) => (r.kind === "family" ? type.startsWith(`${r.name}.`) : type === r.name);
        const offeredIn = new Set(
            facts.offerings.instanceTypes.flatMap((type, i) => (matches(type) && zones.includes(facts.offerings.locations[i]) ? [facts.offerings.locations[i]] : [])),
        );
        const what = r.kind === "family" ? `instance family ${r.name}` : `instance type ${r.name}`;
        const key = r.kind === "family" ? "gpuInstanceFamilies" : "gpuInstanceTypes";
        if (offeredIn.size === 0) {
            errors.push(
                `${what} is offered in none of the stack's availability zones in ${facts.region} (${zones.join(", ")}): remove it from ${key} ` +
                    `(see: aws ec2 describe-instance-type-offerings --region ${facts.region} --location-type availability-zone --filters Name=instance-type,Values=${r.kind === "family" ? `${r.name}.*` : r.name}).`,
            );
        } else if (offeredIn.size < zones.length) {
            const missing = zones.filter((z) => !offeredIn.has(z));
            warnings.push(`${what} is not offered in ${missing.join(", ")} (only in ${[...offeredIn].sort().join(", ")}): those nodes can only start in the zones that have it.`);
        }
    }
    return { errors, warnings };
}

/** The one message a failed preflight throws. */
export function preflightFailureMessage(region: string, result: PreflightResult): string {
    const lines = [`Preflight failed in ${region} (${result.errors.length} problem${result.errors.length === 1 ? "" : "s"}; preflight: false skips these checks):`];
    lines.push(...result.errors.map((e) => `  - ${e}`));
    if (result.warnings.length > 0) lines.push("Warnings:", ...result.warnings.map((w) => `  - ${w}`));
    return lines.join("\n");
}

const awsRegion = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

export interface PreflightArgs {
    /** Region of the stack's AWS provider (the invokes use the provider's). Required. */
    readonly region: string;
    /** The zones the stack's subnets will use (components/aws/network.ts `vpcAvailabilityZones`). Required. */
    readonly availabilityZones: pulumi.Input<pulumi.Input<string>[]>;
    /** What the stack will ask of the account. Required. */
    readonly plan: PreflightPlan;
}

/** Quotas and offerings checked at preview; `passed` resolves only when every check holds. */
export class Preflight extends pulumi.ComponentResource {
    /** Errors (empty) and warnings; rejects with `preflightFailureMessage` when a check fails. */
    public readonly result: pulumi.Output<PreflightResult>;
    /**
     * Empty once every check passed: put it in `dependsOn` of the first AWS resources, which then
     * register only after the checks (and not at all when they fail).
     */
    public readonly passed: pulumi.Output<pulumi.Resource[]>;

    constructor(name: string, args: PreflightArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = [
            ...(awsRegion.test(args.region) ? [] : [`region '${args.region}' is not an AWS region`]),
            ...(Number.isInteger(args.plan.natGateways) && args.plan.natGateways >= 0 ? [] : [`natGateways ${args.plan.natGateways} is not a count`]),
            ...(Number.isInteger(args.plan.loadBalancerAddresses) && args.plan.loadBalancerAddresses >= 0 ? [] : [`loadBalancerAddresses ${args.plan.loadBalancerAddresses} is not a count`]),
        ];
        if (args.plan.gpu?.kind === "node-group") {
            for (const t of args.plan.gpu.instanceTypes) {
                if (!/^[a-z0-9-]+\.(\d*)xlarge$/.test(t)) problems.push(`GPU instance type '${t}' has no known vCPU count (<family>.<n>xlarge)`);
            }
            if (args.plan.gpu.instanceTypes.length === 0) problems.push("the GPU node group names no instance type");
        }
        if (problems.length > 0) throw new Error(`Preflight ${name}: ${problems.join("; ")}`);
        super("inference-platform:aws:Preflight", name, {}, opts);

        const invokeOpts = { parent: this };
        // An invoke that fails (most often: the deployer or the CI preview role lacks the permission)
        // is reported with what it needed and how to skip, not as a bare SDK error.
        const checked = <T>(what: string, permission: string, call: () => Promise<T>): pulumi.Output<pulumi.Unwrap<T>> =>
            pulumi.output(
                call().catch((err: unknown) => {
                    throw new pulumi.RunError(
                        `Preflight ${name}: could not read ${what} in ${args.region} (needs ${permission}; preflight: false skips these checks): ${err instanceof Error ? err.message : String(err)}`,
                    );
                }),
            );
        const needs = quotaNeeds(args.plan);
        const quotaKeys = [...new Set(needs.map((n) => n.quota))];
        const quotaValues = pulumi
            .all(
                quotaKeys.map((key) =>
                    checked(`the service quota "${ec2Quotas[key].name}" (ec2 ${ec2Quotas[key].code})`, "servicequotas:GetServiceQuota", () =>
                        aws.servicequotas.getServiceQuota({ serviceCode: "ec2", quotaCode: ec2Quotas[key].code }, invokeOpts).then((q) => q.value),
                    ),
                ),
            )
            .apply((values) => Object.fromEntries(quotaKeys.map((key, i) => [key, values[i]])) as Partial<Record<QuotaKey, number>>);
        const requested = requestedCapacity(args.plan);
        const zones = pulumi.output(args.availabilityZones);
        const offerings =
            requested.length === 0
                ? pulumi.output({ instanceTypes: [] as string[], locations: [] as string[] })
                : zones.apply((locations) =>
                      checked("the instance type offerings", "ec2:DescribeInstanceTypeOfferings", () =>
                          aws.ec2
                              .getInstanceTypeOfferings(
                                  {
                                      locationType: "availability-zone",
                                      filters: [
                                          { name: "instance-type", values: offeringFilterValues(requested) },
                                          { name: "location", values: locations },
                                      ],
                                  },
                                  invokeOpts,
                              )
                              .then((o) => ({ instanceTypes: o.instanceTypes, locations: o.locations })),
                      ),
                  );

        this.result = pulumi.all([quotaValues, zones, offerings]).apply(([values, availabilityZones, offered]) => {
            const result = evaluatePreflight(args.plan, { region: args.region, availabilityZones, quotaValues: values, offerings: offered });
            // A RunError: Pulumi prints the message without a stack trace.
            if (result.errors.length > 0) throw new pulumi.RunError(preflightFailureMessage(args.region, result));
            for (const warning of result.warnings) void pulumi.log.warn(`preflight: ${warning}`, this);
            return result;
        });
        this.passed = this.result.apply(() => [] as pulumi.Resource[]);
        this.registerOutputs({ warnings: this.result.apply((r) => r.warnings) });
    }
}
