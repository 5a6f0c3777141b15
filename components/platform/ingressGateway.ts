/**
 * The Istio ingress gateway (chart `gateway`, release `istio-ingressgateway` in istio-system) and the
 * address clients reach it on. How the gateway's Service is exposed comes from the foundation
 * (`IngressExposure`): a `LoadBalancer` Service with the annotations the foundation's load balancer
 * controller reads (AWS: an NLB on Elastic IPs), or a fixed NodePort that the host maps to a local
 * port (kind, see `kindPortMapping`).
 *
 * The pods and Service carry `app=istio-ingressgateway` and `istio=ingressgateway`, the labels that
 * net-istio's `knative-ingress-gateway`, KServe and Kubeflow's AuthorizationPolicies select.
 *
 * Ordering: the release waits for istiod (it injects the gateway's proxy) and for what the exposure
 * names (the load balancer controller, the addresses). On destroy it goes first: Helm's uninstall
 * waits until the Service is gone, i.e. until the controller has deleted the load balancer.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { helmChartSource } from "../common/charts";
import type { IngressExposure } from "../common/foundation";
import { domainProblem } from "../common/validation";
import { chartPins, defaultVersions, VersionSet } from "../../versions";
import { Istio } from "./istio";
import { resolveDomain } from "./magicDns";

/** Helm release name, which the chart also uses as the name of the Deployment and Service. */
export const ingressGatewayName = "istio-ingressgateway";
/** Labels on the gateway pods and Service (also its selector). */
export const ingressGatewayLabels = { app: "istio-ingressgateway", istio: "ingressgateway" } as const;

/**
 * The gateway pods' readiness endpoint: Istio's status port, which a load balancer should
 * health-check rather than the traffic port, so draining pods leave the rotation first.
 */
export const gatewayReadiness = { port: 15021, path: "/healthz/ready" } as const;

/** Inputs of `ingressGatewayValues`, all resolved. */
export interface IngressGatewayValuesInput {
    /** How the Service is exposed. */
    readonly service:
        | { readonly type: "LoadBalancer"; readonly annotations: Readonly<Record<string, string>> }
        | { readonly type: "NodePort"; readonly nodePort: number };
    readonly minReplicas: number;
}

/** Helm values of Istio's `gateway` chart (value names from gateway/values.yaml and its schema at 1.29.6). */
export function ingressGatewayValues(input: IngressGatewayValuesInput): Record<string, unknown> {
    // Only plain http is served (Knative's gateway listens on 80); the status port stays internal
    // because the load balancer health-checks the pods directly.
    const http = { name: "http2", port: 80, protocol: "TCP", targetPort: 80 };
    const service =
        input.service.type === "LoadBalancer"
            ? { type: "LoadBalancer", ports: [http], annotations: { ...input.service.annotations } }
            : { type: "NodePort", ports: [{ ...http, nodePort: input.service.nodePort }] };
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

export interface IngressGatewayArgs {
    /** The Istio control plane; the gateway waits for istiod, which injects its proxy. Required. */
    readonly istio: Istio;
    /** How clients reach the gateway (the foundation's `ingress`). Required. */
    readonly exposure: IngressExposure;
    /** Version set to take the chart pin from. Default: `defaultVersions`. */
    readonly versions?: VersionSet;
    /** Custom DNS domain for model hosts. Default: none, i.e. `<address>.sslip.io`. */
    readonly domain?: string;
    /** Minimum gateway replicas (HPA up to 5): 1 to 5. Default: 1. */
    readonly minReplicas?: number;
}

function validate(name: string, args: IngressGatewayArgs): string[] {
    const problems: string[] = [];
    if (args.domain !== undefined && domainProblem(args.domain)) problems.push(`domain: ${domainProblem(args.domain)}`);
    if (args.minReplicas !== undefined && (!Number.isInteger(args.minReplicas) || args.minReplicas < 1 || args.minReplicas > 5)) {
        problems.push(`minReplicas ${args.minReplicas} is not an integer from 1 to 5`);
    }
    const exposure = args.exposure;
    if (exposure.kind === "node-port" && (!Number.isInteger(exposure.nodePort) || exposure.nodePort < 30000 || exposure.nodePort > 32767)) {
        problems.push(`exposure.nodePort ${exposure.nodePort} is outside the NodePort range 30000-32767`);
    }
    if (!Number.isInteger(exposure.port) || exposure.port < 1 || exposure.port > 65535) problems.push(`exposure.port ${exposure.port} is not a port`);
    return problems.map((p) => `IngressGateway ${name}: ${p}`);
}

/** The ingress gateway and the address clients reach it on. */
export class IngressGateway extends pulumi.ComponentResource {
    public readonly release: k8s.helm.v3.Release;
    /** Address clients reach (the foundation's). */
    public readonly ingressIp: pulumi.Output<string>;
    /** Port clients reach. */
    public readonly ingressPort: number;
    /** Domain model hosts live under: the custom domain, or `<ingressIp>.sslip.io`. */
    public readonly domain: pulumi.Output<string>;

    constructor(name: string, args: IngressGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = validate(name, args);
        if (problems.length > 0) throw new Error(problems.join("\n"));
        super("inference-platform:ingress:IngressGateway", name, {}, opts);

        const pin = chartPins(args.versions ?? defaultVersions).istioGateway;
        const minReplicas = args.minReplicas ?? 1;
        const exposure = args.exposure;
        const values: pulumi.Input<Record<string, unknown>> =
            exposure.kind === "load-balancer"
                ? pulumi
                      .output(exposure.serviceAnnotations(gatewayReadiness))
                      .apply((annotations) => ingressGatewayValues({ service: { type: "LoadBalancer", annotations }, minReplicas }))
                : ingressGatewayValues({ service: { type: "NodePort", nodePort: exposure.nodePort }, minReplicas });
        const dependsOn: pulumi.Resource[] = [args.istio.istiod, ...(exposure.kind === "load-balancer" ? exposure.dependsOn : [])];

        this.ingressIp = exposure.address;
        this.ingressPort = exposure.port;
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

        this.registerOutputs({ ingressIp: this.ingressIp, ingressPort: this.ingressPort, domain: this.domain });
    }
}
