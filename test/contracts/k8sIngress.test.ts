/**
 * Contract: the ingress gateway as its readers see it (see ./upstream.ts for how contract tests work).
 *
 * - net-istio's Gateways and its knative-local-gateway Service select the gateway pods by label, and
 *   its config-istio names the gateway Service by host name: the pods and Service the Istio `gateway`
 *   chart renders from our values must carry those labels and that name.
 * - KServe attaches its VirtualServices to the Istio Gateway its inferenceservice-config names.
 * - The AWS Load Balancer Controller turns the gateway Service into an NLB only when its annotations
 *   say so, ignores annotations it does not know, and rejects values it cannot parse: every
 *   annotation we set must be one it reads, in the format it parses.
 *
 * How our values become labels and names is the gateway chart's template logic, transcribed in
 * `renderedGateway` with its source; what the readers select is transcribed with theirs.
 */
import { describe, expect, it } from "vitest";
import { nlbServiceAnnotations } from "../../components/aws/ingressNlb";
import { gatewayReadiness, ingressGatewayName, ingressGatewayValues } from "../../components/platform/ingressGateway";
import { istioNamespace } from "../../components/platform/istio";
import { defaultIngressGatewayService, defaultLocalGatewayService, istioGatewaysConfig, knativeNamespace } from "../../components/platform/knative";
import { kserveResourcesValues } from "../../components/platform/kserve";
import { describeWithSharedSchemas, readUpstreamYaml } from "../shared";
import { cite, Source } from "./upstream";
import { parse } from "yaml";

// The AWS foundation's NLB annotations, given the gateway's readiness endpoint, as the platform renders them.
const eksValues = ingressGatewayValues({
    service: {
        type: "LoadBalancer",
        annotations: nlbServiceAnnotations({
            eipAllocationIds: ["eipalloc-0a", "eipalloc-0b", "eipalloc-0c"],
            publicSubnetIds: ["subnet-0a", "subnet-0b", "subnet-0c"],
            healthCheck: gatewayReadiness,
        }),
    },
    minReplicas: 2,
}) as any;
const localValues = ingressGatewayValues({ service: { type: "NodePort", nodePort: 31080 }, minReplicas: 1 }) as any;

/**
 * What the gateway chart (istio 1.29.6) renders from `values` for a release: the pods' and the
 * Service's selector labels and the Service's name and namespace.
 * - templates/_helpers.tpl `gateway.name`: `.Values.name | default .Release.Name`.
 * - templates/_helpers.tpl `gateway.selectorLabels`: `app: .Values.labels.app | default gateway.name`,
 *   `istio: .Values.labels.istio | default (gateway.name | trimPrefix "istio-")`.
 * - templates/deployment.yaml: the pod template's labels include `gateway.selectorLabels`.
 * - templates/service.yaml: `metadata.name: gateway.name`, `namespace: .Release.Namespace`,
 *   `spec.selector: gateway.selectorLabels` (+ `.Values.service.selectorLabels`).
 */
function renderedGateway(values: any, release: { name: string; namespace: string }) {
    const name: string = values.name || release.name;
    const selector = { app: values.labels?.app ?? name, istio: values.labels?.istio ?? name.replace(/^istio-/, "") };
    return {
        podLabels: { ...selector },
        service: { name, namespace: release.namespace, selector: { ...selector, ...(values.service?.selectorLabels ?? {}) } },
    };
}

/** How index.ts installs the chart (IngressGateway: release `istio-ingressgateway` in Istio's namespace). */
const release = { name: ingressGatewayName, namespace: istioNamespace };

/** Label selectors that pick the gateway pods, from their owners' pinned sources. */
const podSelectors: { what: string; selector: Record<string, string>; source: Source }[] = [
    {
        what: "Gateway knative-serving/knative-ingress-gateway (external traffic)",
        selector: { istio: "ingressgateway" },
        source: { repo: "knative-extensions/net-istio", tag: "knative-v1.21.1", file: "config/202-gateway.yaml", at: "spec.selector" },
    },
    {
        what: "Gateway knative-serving/knative-local-gateway (cluster-local traffic)",
        selector: { istio: "ingressgateway" },
        source: { repo: "knative-extensions/net-istio", tag: "knative-v1.21.1", file: "config/203-local-gateway.yaml", at: "Gateway spec.selector" },
    },
    {
        what: "Service istio-system/knative-local-gateway (the local gateway's address)",
        selector: { istio: "ingressgateway" },
        source: { repo: "knative-extensions/net-istio", tag: "knative-v1.21.1", file: "config/203-local-gateway.yaml", at: "Service spec.selector" },
    },
];

/** True when every key of `selector` is in `labels` with the same value (Kubernetes matchLabels semantics). */
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
    Object.entries(selector).every(([key, value]) => labels[key] === value);

describe("the gateway pods and Service are what net-istio and KServe select", () => {
    for (const [platform, values] of [["eks", eksValues], ["local", localValues]] as const) {
        const rendered = renderedGateway(values, release);

        it.each(podSelectors)(`${platform}: $what selects the gateway pods`, ({ selector, source }) => {
            expect(selects(selector, rendered.podLabels), cite(source)).toBe(true);
        });

        it(`${platform}: the gateway Service selects its own pods`, () => {
            expect(selects(rendered.service.selector, rendered.podLabels)).toBe(true);
        });

        it(`${platform}: config-istio's external gateway names the Service the chart renders`, () => {
            // net-istio reads `service` as the host name of the gateway's Service
            // (pkg/reconciler/ingress/config/istio.go, Gateway.ServiceURL `json:"service"`).
            const external = parse(istioGatewaysConfig(defaultIngressGatewayService, defaultLocalGatewayService)["external-gateways"]);
            expect(external).toHaveLength(1);
            expect(external[0].service).toBe(`${rendered.service.name}.${rendered.service.namespace}.svc.cluster.local`);
        });
    }

    it("config-istio's local gateway is the Service net-istio creates", () => {
        // knative-extensions/net-istio@knative-v1.21.1:config/203-local-gateway.yaml: Service knative-local-gateway in istio-system.
        const local = parse(istioGatewaysConfig(defaultIngressGatewayService, defaultLocalGatewayService)["local-gateways"]);
        expect(local).toEqual([{ name: "knative-local-gateway", namespace: "knative-serving", service: "knative-local-gateway.istio-system.svc.cluster.local" }]);
    });

    it("config-istio's gateways are the Gateways net-istio creates, in knative-serving", () => {
        // config/202-gateway.yaml and config/203-local-gateway.yaml: knative-serving/knative-ingress-gateway and
        // knative-serving/knative-local-gateway; net-istio matches `name`/`namespace` to them (istio.go QualifiedName).
        const config = istioGatewaysConfig(defaultIngressGatewayService, defaultLocalGatewayService);
        expect(knativeNamespace).toBe("knative-serving");
        expect(parse(config["external-gateways"])[0]).toMatchObject({ name: "knative-ingress-gateway", namespace: "knative-serving" });
        expect(parse(config["local-gateways"])[0]).toMatchObject({ name: "knative-local-gateway", namespace: "knative-serving" });
    });

    it("KServe's VirtualServices attach to net-istio's external Gateway", () => {
        // kserve/kserve@v0.20.0:pkg/controller/v1beta1/inferenceservice/reconcilers/ingress/ingress_reconciler.go
        // puts config.IngressGateway (inferenceservice-config `ingress.ingressGateway`, "<namespace>/<name>") in
        // each VirtualService's gateways; the Gateway is net-istio's config/202-gateway.yaml.
        const values = kserveResourcesValues({ domain: "203.0.113.5.sslip.io", s3: { region: "us-east-2" } });
        expect(values.kserve.controller.gateway.ingressGateway.gateway).toBe("knative-serving/knative-ingress-gateway");
    });

    it("the check can fail: a release under another name loses net-istio's selector", () => {
        const renamed = renderedGateway({ ...localValues, name: undefined, labels: {} }, { name: "my-gateway", namespace: "istio-system" });
        expect(selects(podSelectors[0].selector, renamed.podLabels)).toBe(false);
    });

    describeWithSharedSchemas("against upstream data files", () => {
        it("KServe's local gateway (left at the chart default) is net-istio's local Gateway and Service", () => {
            const upstream = readUpstreamYaml("kserve", "kserve-resources.values.yaml") as any;
            const ours = kserveResourcesValues({ domain: "127.0.0.1.sslip.io" }).kserve.controller.gateway as any;
            expect(ours.localGateway).toBeUndefined();
            expect(upstream.kserve.controller.gateway.localGateway).toMatchObject({
                gateway: "knative-serving/knative-local-gateway",
                gatewayService: "knative-local-gateway.istio-system.svc.cluster.local",
            });
        });

        it("net-istio's own default for the external gateway is the same Service", () => {
            const configIstio = readUpstreamYaml("netIstio", "400-config-istio.yaml") as any;
            const example = parse(parse(configIstio.data._example)["external-gateways"]);
            expect(example[0].service).toBe(defaultIngressGatewayService);
        });
    });
});

// ---------------------------------------------------------------------------------------------
// AWS Load Balancer Controller v2.17.1 (chart 1.17.1): the Service annotations it reads.
// ---------------------------------------------------------------------------------------------

const lbc = (file: string, at: string): Source => ({ repo: "kubernetes-sigs/aws-load-balancer-controller", tag: "v2.17.1", file, at });

/** controllers/service/service_controller.go: `serviceAnnotationPrefix = "service.beta.kubernetes.io"`, the suffix parser's prefix. */
const servicePrefix = "service.beta.kubernetes.io/";

/**
 * Every Service annotation suffix the controller reads: pkg/annotations/constants.go, the `SvcLBSuffix*`
 * constants (lines 84-130). An annotation outside this list is silently ignored.
 */
const knownSuffixes = new Set([
    "load-balancer-source-ranges", "aws-load-balancer-type", "aws-load-balancer-nlb-target-type", "aws-load-balancer-name",
    "aws-load-balancer-scheme", "aws-load-balancer-internal", "aws-load-balancer-proxy-protocol",
    "aws-load-balancer-proxy-protocol-per-target-group", "aws-load-balancer-ip-address-type", "aws-load-balancer-access-log-enabled",
    "aws-load-balancer-access-log-s3-bucket-name", "aws-load-balancer-access-log-s3-bucket-prefix",
    "aws-load-balancer-cross-zone-load-balancing-enabled", "aws-load-balancer-ssl-cert", "aws-load-balancer-ssl-ports",
    "aws-load-balancer-ssl-negotiation-policy", "aws-load-balancer-backend-protocol", "aws-load-balancer-additional-resource-tags",
    "aws-load-balancer-healthcheck-healthy-threshold", "aws-load-balancer-healthcheck-unhealthy-threshold",
    "aws-load-balancer-healthcheck-timeout", "aws-load-balancer-healthcheck-interval", "aws-load-balancer-healthcheck-protocol",
    "aws-load-balancer-healthcheck-port", "aws-load-balancer-healthcheck-path", "aws-load-balancer-healthcheck-success-codes",
    "aws-load-balancer-target-group-attributes", "aws-load-balancer-subnets", "aws-load-balancer-eip-allocations",
    "aws-load-balancer-private-ipv4-addresses", "aws-load-balancer-ipv6-addresses", "aws-load-balancer-alpn-policy",
    "aws-load-balancer-target-node-labels", "aws-load-balancer-attributes", "aws-load-balancer-security-groups",
    "aws-load-balancer-manage-backend-security-group-rules", "aws-load-balancer-inbound-sg-rules-on-private-link-traffic",
    "aws-load-balancer-security-group-prefix-lists", "aws-load-balancer-listener-attributes", "aws-load-balancer-multi-cluster-target-group",
    "aws-load-balancer-enable-prefix-for-ipv6-source-nat", "aws-load-balancer-source-nat-ipv6-prefixes",
    "aws-load-balancer-minimum-load-balancer-capacity", "aws-load-balancer-enable-icmp-for-path-mtu-discovery",
    "aws-load-balancer-enable-tcp-udp-listener", "aws-load-balancer-disable-nlb-sg", "aws-load-balancer-quic-enabled-ports",
]);

/** pkg/annotations/parser.go `splitCommaSeparatedString`: split on ",", trim, drop empty parts. */
const commaList = (raw: string) => raw.split(",").map((p) => p.trim()).filter((p) => p.length > 0);

/** pkg/annotations/parser.go `ParseStringMapAnnotation`: "k=v,k2=v2"; a pair without "=" or with an empty key is an error. */
function stringMap(raw: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const pair of commaList(raw)) {
        const at = pair.indexOf("=");
        if (at < 0 || pair.slice(0, at).trim() === "") throw new Error(`failed to parse stringMap annotation: ${raw}`);
        out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    }
    return out;
}

/** The annotations the chart puts on the gateway Service: service.yaml `merge (deepCopy .Values.service.annotations) .Values.annotations`. */
const serviceAnnotations = (values: any): Record<string, string> => ({ ...(values.annotations ?? {}), ...(values.service?.annotations ?? {}) });

describe("the gateway Service's annotations, as the AWS Load Balancer Controller v2.17.1 reads them", () => {
    const annotations = serviceAnnotations(eksValues);
    const read = (suffix: string) => annotations[`${servicePrefix}${suffix}`];

    it("every annotation under the controller's prefix is one it reads", () => {
        const ours = Object.keys(annotations).filter((key) => key.startsWith(servicePrefix)).map((key) => key.slice(servicePrefix.length));
        expect(ours.length).toBeGreaterThan(0);
        expect(ours.filter((suffix) => !knownSuffixes.has(suffix)), cite(lbc("pkg/annotations/constants.go", "SvcLBSuffix* constants"))).toEqual([]);
    });

    it("the controller takes the Service (LoadBalancer, type external with an ip or instance target type)", () => {
        // pkg/service/service_utils.go IsServiceSupported / checkAWSLoadBalancerTypeAnnotation: supported when type is
        // "nlb-ip", or "external" with nlb-target-type "ip" or "instance" (constants in pkg/service/model_builder.go).
        expect(eksValues.service.type).toBe("LoadBalancer");
        expect(eksValues.service.loadBalancerClass).toBeUndefined();
        const type = read("aws-load-balancer-type");
        const target = read("aws-load-balancer-nlb-target-type");
        expect(type === "nlb-ip" || (type === "external" && (target === "ip" || target === "instance")), cite(lbc("pkg/service/service_utils.go", "checkAWSLoadBalancerTypeAnnotation"))).toBe(true);
        // pkg/service/model_build_target_group.go buildTargetType: "ip" gives IP targets (pods directly).
        expect(target).toBe("ip");
    });

    it("the scheme is one the controller knows, and EIPs require internet-facing", () => {
        // pkg/service/model_build_load_balancer.go buildLoadBalancerSchemeViaAnnotation: "internet-facing" | "internal", else "unknown scheme".
        expect(["internet-facing", "internal"]).toContain(read("aws-load-balancer-scheme"));
        // buildLoadBalancerSubnetMappings: "EIP allocations can only be set for internet facing load balancers".
        if (read("aws-load-balancer-eip-allocations") !== undefined) expect(read("aws-load-balancer-scheme")).toBe("internet-facing");
    });

    it("one EIP allocation per subnet (the controller refuses any other count)", () => {
        // buildLoadBalancerSubnetMappings: "count of EIP allocations (%d) and subnets (%d) must match"; both parsed with
        // ParseStringSliceAnnotation. Subnets are IDs ("subnet-" prefix) or Name tags (pkg/networking/subnet_resolver.go listSubnetsByNameOrIDs).
        const eips = commaList(read("aws-load-balancer-eip-allocations"));
        const subnets = commaList(read("aws-load-balancer-subnets"));
        expect(eips).toHaveLength(subnets.length);
        expect(eips.every((id) => /^eipalloc-[0-9a-z]+$/.test(id))).toBe(true);
        expect(subnets.every((id) => id.startsWith("subnet-"))).toBe(true);
    });

    it("load balancer attributes parse as key=value pairs, and cross-zone is the attribute the controller names", () => {
        // ParseStringMapAnnotation; pkg/service/model_build_load_balancer.go const lbAttrsLoadBalancingCrossZoneEnabled = "load_balancing.cross_zone.enabled".
        const attributes = stringMap(read("aws-load-balancer-attributes"));
        expect(attributes).toEqual({ "load_balancing.cross_zone.enabled": "true" });
        expect(() => stringMap("load_balancing.cross_zone.enabled")).toThrow(/failed to parse/);
    });

    it("the health check is HTTP on the proxy's readiness endpoint, in a form the controller parses", () => {
        // pkg/service/model_build_target_group.go: buildTargetGroupHealthCheckProtocol accepts TCP/HTTP/HTTPS (case-insensitive);
        // buildTargetGroupHealthCheckPort accepts "traffic-port" (pkg/shared_constants/healthcheck.go), a number, or a named Service port.
        expect(["TCP", "HTTP", "HTTPS"]).toContain(read("aws-load-balancer-healthcheck-protocol").toUpperCase());
        const port = read("aws-load-balancer-healthcheck-port");
        expect(port === "traffic-port" || /^\d+$/.test(port)).toBe(true);
        // The gateway proxy's readiness probe, injected by istiod: istio/istio@1.29.6
        // manifests/charts/istio-control/istio-discovery/files/gateway-injection-template.yaml lines 164-167:
        // httpGet path /healthz/ready, port 15021. With IP targets the NLB checks each pod on that port and path.
        expect(Number(port)).toBe(15021);
        expect(read("aws-load-balancer-healthcheck-path")).toBe("/healthz/ready");
    });

    it("the NLB's listener port is the port net-istio's Gateway serves", () => {
        // net-istio config/202-gateway.yaml: knative-ingress-gateway's server listens on port 80 (HTTP); Istio binds a
        // Gateway server to the Service port of that number (its targetPort on the pod).
        expect(eksValues.service.ports.map((p: any) => p.port)).toEqual([80]);
        expect(localValues.service.ports.map((p: any) => p.port)).toEqual([80]);
    });

    it("the check can fail: a misspelt annotation is not one the controller reads", () => {
        expect(knownSuffixes.has("aws-load-balancer-eip-allocation")).toBe(false);
        expect(knownSuffixes.has("aws-load-balancer-eip-allocations")).toBe(true);
    });

    it("local: no load balancer annotations at all (kind has no controller)", () => {
        expect(Object.keys(serviceAnnotations(localValues)).filter((k) => k.startsWith(servicePrefix))).toEqual([]);
    });
});
