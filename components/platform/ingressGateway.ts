/**
 * The Istio ingress gateway (chart `gateway`, release `istio-ingressgateway` in istio-system) and the
 * address clients reach it on.
 *
 * - eks: the gateway Service is an internet-facing NLB made by the AWS Load Balancer Controller, IP
 *   targets, cross-zone on, one Elastic IP per public subnet (created here, so the address is known
 *   before the NLB exists and survives NLB re-creation). `ingressIp` is the first EIP.
 * - local (kind): the Service is a NodePort with a fixed http nodePort; kind maps it to a host port
 *   (see `kindPortMapping`), and `ingressIp` is the configured local IP.
 *
 * The pods and Service carry `app=istio-ingressgateway` and `istio=ingressgateway`, the labels that
 * net-istio's `knative-ingress-gateway`, KServe and Kubeflow's AuthorizationPolicies select.
 *
 * Ordering: the release waits for istiod (it injects the gateway's proxy), the Load Balancer Controller
 * (whose pods must be up to reconcile the Service) and the EIPs. On destroy it goes first: Helm's
 * uninstall waits until the Service is gone, i.e. until the controller has called DeleteLoadBalancer
 * and dropped the Service's finalizer. AWS frees the NLB's network interfaces, which hold the EIPs,
 * only some time after that call returns, so a `DeletionGate` between the release and the EIPs waits
 * until every address is disassociated before Pulumi releases them (terraform-provider-aws #13763,
 * #33645 are the same race).
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Platform } from "../../config";
import { DeletionGate } from "../aws/deletionGate";
import { Istio } from "./istio";
import { domainProblem, magicDnsIpProblem, resolveDomain } from "./magicDns";
import { chartPins, defaultVersions, VersionSet, helmChartSource } from "../../versions";

/** Helm release name, which the chart also uses as the name of the Deployment and Service. */
export const ingressGatewayName = "istio-ingressgateway";
/** Labels on the gateway pods and Service (also its selector). */
export const ingressGatewayLabels = { app: "istio-ingressgateway", istio: "ingressgateway" } as const;
/** Default http nodePort on kind; the kind cluster config maps it to the host (see `kindPortMapping`). */
export const defaultLocalHttpNodePort = 31080;

const awsLb = "service.beta.kubernetes.io/aws-load-balancer";

/** Inputs of `ingressGatewayValues`, all resolved. */
export type IngressGatewayValuesInput =
    | {
          readonly platform: "eks";
          /** EIP allocation ids, one per subnet, in subnet order. */
          readonly eipAllocationIds: readonly string[];
          readonly publicSubnetIds: readonly string[];
          readonly minReplicas: number;
      }
    | { readonly platform: "local"; readonly httpNodePort: number; readonly minReplicas: number };

/** Helm values of Istio's `gateway` chart (value names from gateway/values.yaml and its schema at 1.29.1). */
export function ingressGatewayValues(input: IngressGatewayValuesInput): Record<string, unknown> {
    // Only plain http is served (Knative's gateway listens on 80); the status port stays internal
    // because the NLB health-checks the pods directly.
    const http = { name: "http2", port: 80, protocol: "TCP", targetPort: 80 };
    let service: Record<string, unknown>;
    if (input.platform === "eks") {
        if (input.eipAllocationIds.length !== input.publicSubnetIds.length || input.publicSubnetIds.length === 0) {
            throw new Error(
                `ingress gateway: need one EIP per public subnet, got ${input.eipAllocationIds.length} EIPs for ${input.publicSubnetIds.length} subnets`,
            );
        }
        service = {
            type: "LoadBalancer",
            ports: [http],
            annotations: {
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
                // Istio's readiness endpoint rather than a TCP check of port 80, so draining pods leave first.
                [`${awsLb}-healthcheck-port`]: "15021",
                [`${awsLb}-healthcheck-path`]: "/healthz/ready",
                [`${awsLb}-healthcheck-protocol`]: "http",
            },
        };
    } else {
        service = { type: "NodePort", ports: [{ ...http, nodePort: input.httpNodePort }] };
    }
    return {
        name: ingressGatewayName,
        // No app.kubernetes.io/* keys: the chart writes managed-by, instance, part-of ("istio") and version
        // on every object itself, and a repeat would be a duplicate YAML key.
        labels: {
            ...ingressGatewayLabels,
            // The chart's default (keeps the gateway out of ambient mode), stated so the whole set is visible here.
            "istio.io/dataplane-mode": "none",
        },
        service,
        autoscaling: { enabled: true, minReplicas: input.minReplicas, maxReplicas: 5 },
        // A PDB only makes sense (and the chart only allows it) with more than one replica.
        ...(input.minReplicas > 1 ? { podDisruptionBudget: { minAvailable: 1 } } : {}),
        topologySpreadConstraints: [
            {
                maxSkew: 1,
                topologyKey: "topology.kubernetes.io/zone",
                whenUnsatisfiable: "ScheduleAnyway",
                labelSelector: { matchLabels: { ...ingressGatewayLabels } },
            },
        ],
        // securityContext is left to the chart: it runs the proxy as uid 1337, non-root, and binds :80
        // through the `net.ipv4.ip_unprivileged_port_start` sysctl instead of a capability.
    };
}

/**
 * The kind `extraPortMappings` entry that exposes the gateway's NodePort on the host: put it on the
 * control-plane node of the kind cluster config, e.g.
 * `nodes: [{ role: control-plane, extraPortMappings: [{ containerPort: 31080, hostPort: 8080, listenAddress: 127.0.0.1, protocol: TCP }] }]`.
 * Listening only on `localIp` keeps the gateway off the LAN unless that IP is a LAN address.
 */
export function kindPortMapping(input: { localIp: string; hostPort: number; httpNodePort?: number }) {
    const containerPort = input.httpNodePort ?? defaultLocalHttpNodePort;
    const problem = magicDnsIpProblem(input.localIp);
    if (problem) throw new Error(`kindPortMapping: localIp ${problem}`);
    if (!Number.isInteger(input.hostPort) || input.hostPort < 1 || input.hostPort > 65535) {
        throw new Error(`kindPortMapping: hostPort ${input.hostPort} is not a port (1 to 65535)`);
    }
    if (!Number.isInteger(containerPort) || containerPort < 30000 || containerPort > 32767) {
        throw new Error(`kindPortMapping: httpNodePort ${containerPort} is outside the NodePort range 30000-32767`);
    }
    return { containerPort, hostPort: input.hostPort, listenAddress: input.localIp, protocol: "TCP" as const };
}

export interface IngressGatewayArgs {
    /** `eks` (NLB with EIPs) or `local` (kind NodePort). Required. */
    readonly platform: Platform;
    /** The Istio control plane; the gateway waits for istiod, which injects its proxy. Required. */
    readonly istio: Istio;
    /** Version set to take the chart pin from. Default: `defaultVersions`. */
    readonly versions?: VersionSet;
    /** Custom DNS domain for model hosts. Default: none, i.e. `<ingressIp>.sslip.io`. */
    readonly domain?: string;
    /** Minimum gateway replicas (HPA up to 5). Default: 2 on eks (one per AZ), 1 on local. */
    readonly minReplicas?: number;
    /** eks, required: public subnets the NLB lives in (one EIP each, same order). */
    readonly publicSubnetIds?: pulumi.Input<pulumi.Input<string>[]>;
    /** eks, required: how many public subnets there are (the EIP count must be known before the subnets exist). */
    readonly publicSubnetCount?: number;
    /** eks, required: the AWS Load Balancer Controller; the gateway Service is created after it is ready. */
    readonly loadBalancerController?: pulumi.Resource;
    /** eks, required: AWS region of the EIPs (destroy checks their association there). */
    readonly region?: string;
    /** eks: AWS profile the destroy-time check uses (the stack's `aws:profile`). Default: the default credential chain. */
    readonly awsProfile?: string;
    /** local: IP that model hosts resolve to. Default: `127.0.0.1`. */
    readonly localIp?: string;
    /** local: the fixed http nodePort of the gateway Service. Default: 31080. */
    readonly localHttpNodePort?: number;
    /** local: host port kind maps to the nodePort (only reported in `ingressPort`). Default: 8080. */
    readonly localHttpPort?: number;
}

function validate(name: string, args: IngressGatewayArgs): string[] {
    const problems: string[] = [];
    if (args.platform !== "eks" && args.platform !== "local") problems.push(`platform '${args.platform}' is not eks or local`);
    if (args.domain !== undefined && domainProblem(args.domain)) problems.push(`domain: ${domainProblem(args.domain)}`);
    if (args.minReplicas !== undefined && (!Number.isInteger(args.minReplicas) || args.minReplicas < 1 || args.minReplicas > 5)) {
        problems.push(`minReplicas ${args.minReplicas} is not an integer from 1 to 5`);
    }
    if (args.platform === "eks") {
        if (args.publicSubnetIds === undefined) problems.push("publicSubnetIds is required on eks");
        const count = args.publicSubnetCount;
        if (count === undefined || !Number.isInteger(count) || count < 1 || count > 6) {
            problems.push(`publicSubnetCount (${count}) must be an integer from 1 to 6 on eks`);
        }
        if (args.loadBalancerController === undefined) problems.push("loadBalancerController is required on eks");
        if (args.region === undefined || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(args.region)) problems.push(`region '${args.region}' must be an AWS region on eks`);
    } else if (args.platform === "local") {
        const ipProblem = magicDnsIpProblem(args.localIp ?? "127.0.0.1");
        if (ipProblem) problems.push(`localIp: ${ipProblem}`);
        const nodePort = args.localHttpNodePort ?? defaultLocalHttpNodePort;
        if (!Number.isInteger(nodePort) || nodePort < 30000 || nodePort > 32767) {
            problems.push(`localHttpNodePort ${nodePort} is outside the NodePort range 30000-32767`);
        }
        const hostPort = args.localHttpPort ?? 8080;
        if (!Number.isInteger(hostPort) || hostPort < 1 || hostPort > 65535) problems.push(`localHttpPort ${hostPort} is not a port`);
        for (const key of ["publicSubnetIds", "publicSubnetCount", "loadBalancerController", "region", "awsProfile"] as const) {
            if (args[key] !== undefined) problems.push(`${key} applies to eks only`);
        }
    }
    return problems.map((p) => `IngressGateway ${name}: ${p}`);
}

/** The ingress gateway and its public address. */
export class IngressGateway extends pulumi.ComponentResource {
    public readonly release: k8s.helm.v3.Release;
    /** eks: one EIP per public subnet; local: empty. */
    public readonly eips: aws.ec2.Eip[];
    /** eks: allocation ids in subnet order; local: empty. */
    public readonly eipAllocationIds: pulumi.Output<string[]>;
    /** eks: the destroy-time wait until the NLB has let go of the EIPs; local: undefined. */
    public readonly eipReleaseGate: DeletionGate | undefined;
    /** Address clients reach: the first EIP on eks, `localIp` on local. */
    public readonly ingressIp: pulumi.Output<string>;
    /** Port clients reach: 80 on eks, `localHttpPort` on local. */
    public readonly ingressPort: number;
    /** Domain model hosts live under: the custom domain, or `<ingressIp>.sslip.io`. */
    public readonly domain: pulumi.Output<string>;

    constructor(name: string, args: IngressGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = validate(name, args);
        if (problems.length > 0) throw new Error(problems.join("\n"));
        super("inference-platform:ingress:IngressGateway", name, {}, opts);

        const pin = chartPins(args.versions ?? defaultVersions).istioGateway;
        const minReplicas = args.minReplicas ?? (args.platform === "eks" ? 2 : 1);
        let values: pulumi.Input<Record<string, unknown>>;
        const dependsOn: pulumi.Resource[] = [args.istio.istiod];

        if (args.platform === "eks") {
            const count = args.publicSubnetCount!;
            this.eips = Array.from(
                { length: count },
                (_, i) =>
                    new aws.ec2.Eip(
                        `${name}-eip-${i}`,
                        {
                            domain: "vpc",
                            tags: {
                                Name: `${name}-eip-${i}`,
                                "app.kubernetes.io/part-of": "inference-platform",
                                "app.kubernetes.io/managed-by": "pulumi",
                            },
                        },
                        { parent: this },
                    ),
            );
            this.eipAllocationIds = pulumi.all(this.eips.map((eip) => eip.allocationId));
            this.ingressIp = this.eips[0].publicIp;
            this.ingressPort = 80;
            values = pulumi
                .all([this.eipAllocationIds, pulumi.output(args.publicSubnetIds!)])
                .apply(([eipAllocationIds, publicSubnetIds]) =>
                    ingressGatewayValues({ platform: "eks", eipAllocationIds, publicSubnetIds, minReplicas }),
                );
            this.eipReleaseGate = new DeletionGate(
                `${name}-eips-disassociated`,
                {
                    region: args.region!,
                    profile: args.awsProfile,
                    condition: this.eipAllocationIds.apply((allocationIds) => ({ kind: "addresses-disassociated" as const, allocationIds })),
                },
                { parent: this, dependsOn: this.eips },
            );
            dependsOn.push(args.loadBalancerController!, ...this.eips, this.eipReleaseGate);
        } else {
            this.eipReleaseGate = undefined;
            this.eips = [];
            this.eipAllocationIds = pulumi.output([]);
            this.ingressIp = pulumi.output(args.localIp ?? "127.0.0.1");
            this.ingressPort = args.localHttpPort ?? 8080;
            values = ingressGatewayValues({
                platform: "local",
                httpNodePort: args.localHttpNodePort ?? defaultLocalHttpNodePort,
                minReplicas,
            });
        }
        this.domain = this.ingressIp.apply((ip) => resolveDomain(args.domain, ip));

        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: ingressGatewayName,
                namespace: args.istio.namespaceName,
                ...helmChartSource(pin),
                values,
            },
            { parent: this, dependsOn },
        );

        this.registerOutputs({
            ingressIp: this.ingressIp,
            ingressPort: this.ingressPort,
            eipAllocationIds: this.eipAllocationIds,
            domain: this.domain,
        });
    }
}
