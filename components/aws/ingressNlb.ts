/**
 * How clients reach the ingress on AWS: an internet-facing NLB that the AWS Load Balancer Controller
 * builds for the gateway's `LoadBalancer` Service, on one Elastic IP per public subnet. The EIPs are
 * created here, so the address is known before the NLB exists (magic DNS works at plan time) and
 * survives the NLB's re-creation; the first one is the address clients use.
 *
 * Teardown: the gateway Service (and with it the NLB) goes first, since it depends on what this
 * component exposes. AWS frees the NLB's network interfaces, which hold the EIPs, only some time
 * after `DeleteLoadBalancer` returns, so a `DeletionGate` waits until every address is disassociated
 * before Pulumi releases them (terraform-provider-aws #13763, #33645 are the same race).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { formerUrn } from "../common/aliases";
import type { IngressExposure } from "../common/foundation";
import { platformLabels } from "../common/labels";
import { DeletionGate } from "./deletionGate";
import { awsRegionProblem } from "./names";

const awsLb = "service.beta.kubernetes.io/aws-load-balancer";

/** Inputs of `nlbServiceAnnotations`, all resolved. */
export interface NlbServiceAnnotationsInput {
    /** EIP allocation ids, one per public subnet. */
    readonly eipAllocationIds: readonly string[];
    readonly publicSubnetIds: readonly string[];
    /** The gateway pods' readiness endpoint, which the NLB health-checks. */
    readonly healthCheck: { readonly port: number; readonly path: string };
}

/** Annotations the AWS Load Balancer Controller reads from the gateway Service (v2.17.1 names and formats). */
export function nlbServiceAnnotations(input: NlbServiceAnnotationsInput): Record<string, string> {
    if (input.eipAllocationIds.length !== input.publicSubnetIds.length || input.publicSubnetIds.length === 0) {
        throw new Error(
            `ingress NLB: need one EIP per public subnet, got ${input.eipAllocationIds.length} EIPs for ${input.publicSubnetIds.length} subnets`,
        );
    }
    const { port, path } = input.healthCheck;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`ingress NLB: health-check port ${port} is not a port`);
    if (!path.startsWith("/")) throw new Error(`ingress NLB: health-check path '${path}' must start with '/'`);
    return {
        // `external` hands the Service to the Load Balancer Controller (the in-tree provider skips it).
        [`${awsLb}-type`]: "external",
        // IP targets: the NLB sends straight to gateway pods, no extra NodePort hop.
        [`${awsLb}-nlb-target-type`]: "ip",
        [`${awsLb}-scheme`]: "internet-facing",
        // Clients use one EIP (the magic DNS address); cross-zone lets it reach pods in every AZ.
        [`${awsLb}-attributes`]: "load_balancing.cross_zone.enabled=true",
        // One EIP per subnet. The controller pairs them with the subnets in the order it resolves the
        // subnets, not necessarily this one; harmless, since the EIPs are interchangeable and cross-zone is on.
        [`${awsLb}-eip-allocations`]: input.eipAllocationIds.join(","),
        [`${awsLb}-subnets`]: input.publicSubnetIds.join(","),
        // The gateway's readiness endpoint rather than a TCP check of the traffic port, so draining pods leave first.
        [`${awsLb}-healthcheck-port`]: String(port),
        [`${awsLb}-healthcheck-path`]: path,
        [`${awsLb}-healthcheck-protocol`]: "http",
    };
}

export interface IngressNlbArgs {
    /** Public subnets the NLB lives in (one EIP each). Required. */
    readonly publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** How many public subnets there are (the EIP count must be known before the subnets exist): 1 to 6. Required. */
    readonly publicSubnetCount: number;
    /** The AWS Load Balancer Controller; the gateway Service is created after it and deleted before it. Required. */
    readonly loadBalancerController: pulumi.Resource;
    /** AWS region of the EIPs (destroy checks their association there). Required. */
    readonly region: string;
    /** AWS profile the destroy-time check uses (the stack's `aws:profile`). Default: the default credential chain. */
    readonly awsProfile?: string;
    /** Tags on the EIPs. Default: none. */
    readonly tags?: Record<string, string>;
}

/** The NLB's addresses and the exposure the serving platform's gateway Service uses. */
export class IngressNlb extends pulumi.ComponentResource {
    public readonly eips: aws.ec2.Eip[];
    /** Allocation ids in subnet order. */
    public readonly eipAllocationIds: pulumi.Output<string[]>;
    /** The first EIP's address. */
    public readonly address: pulumi.Output<string>;
    /** The destroy-time wait until the NLB has let go of the EIPs. */
    public readonly releaseGate: DeletionGate;
    public readonly exposure: IngressExposure;

    constructor(name: string, args: IngressNlbArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems: string[] = [];
        const count = args.publicSubnetCount;
        if (!Number.isInteger(count) || count < 1 || count > 6) problems.push(`publicSubnetCount (${count}) must be an integer from 1 to 6`);
        const regionProblem = awsRegionProblem(args.region);
        if (regionProblem) problems.push(`region ${regionProblem}`);
        if (problems.length > 0) throw new Error(`IngressNlb ${name}: ${problems.join("; ")}`);
        super("inference-platform:aws:IngressNlb", name, {}, opts);

        // These lived under the ingress gateway component (named `ingress`) before the layers split.
        const formerGateway = [{ type: "inference-platform:ingress:IngressGateway", name: "ingress" }];
        this.eips = Array.from(
            { length: count },
            (_, i) =>
                new aws.ec2.Eip(
                    `${name}-eip-${i}`,
                    { domain: "vpc", tags: { ...args.tags, Name: `${name}-eip-${i}`, ...platformLabels } },
                    { parent: this, aliases: [formerUrn("aws:ec2/eip:Eip", `ingress-eip-${i}`, formerGateway)] },
                ),
        );
        this.eipAllocationIds = pulumi.all(this.eips.map((eip) => eip.allocationId));
        this.address = this.eips[0].publicIp;
        this.releaseGate = new DeletionGate(
            `${name}-eips-disassociated`,
            {
                region: args.region,
                profile: args.awsProfile,
                condition: this.eipAllocationIds.apply((allocationIds) => ({ kind: "addresses-disassociated" as const, allocationIds })),
            },
            {
                parent: this,
                dependsOn: this.eips,
                aliases: [formerUrn("pulumi-nodejs:dynamic/inference-platform:DeletionGate", "ingress-eips-disassociated", formerGateway)],
            },
        );

        const allocationIds = this.eipAllocationIds;
        const subnetIds = pulumi.output(args.publicSubnetIds);
        this.exposure = {
            kind: "load-balancer",
            address: this.address,
            port: 80,
            serviceAnnotations: (healthCheck) =>
                pulumi
                    .all([allocationIds, subnetIds])
                    .apply(([eipAllocationIds, publicSubnetIds]) => nlbServiceAnnotations({ eipAllocationIds, publicSubnetIds, healthCheck })),
            // The controller must be up to reconcile the Service; the gate (after the EIPs) must outlive it.
            dependsOn: [args.loadBalancerController, ...this.eips, this.releaseGate],
        };

        this.registerOutputs({ address: this.address, eipAllocationIds: this.eipAllocationIds });
    }
}
