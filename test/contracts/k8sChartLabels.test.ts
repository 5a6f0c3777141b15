/**
 * Contract: the labels our chart values add never repeat a label key the chart's own template writes
 * on the same object (see ./upstream.ts for how contract tests work).
 *
 * Why: a chart template that writes `app.kubernetes.io/managed-by: Helm` and then appends our
 * `app.kubernetes.io/managed-by: pulumi` renders a mapping with the same key twice. Rendered with the
 * pinned charts, the old values produced 65 such objects (52 in cert-manager, 7 in the eks gateway,
 * 6 in the local one); strict YAML readers reject them, and which value wins is up to the parser.
 * Helm, not Pulumi, manages what a chart renders, so `managed-by` is never ours to set there.
 *
 * The charts cannot be rendered in CI, so each chart's facts are the label keys its templates write,
 * read at the pinned tag and cited below (template define or file, the line that writes the keys).
 */
import { describe, expect, it } from "vitest";
import { certManagerValues } from "../../components/platform/certManager";
import { ingressGatewayValues } from "../../components/platform/ingressGateway";
import { kserveResourcesValues } from "../../components/platform/kserve";
import { loadBalancerControllerValues } from "../../components/aws/loadBalancerController";
import { metricsServerValues } from "../../components/platform/metricsServer";
import { chartPins, defaultVersions } from "../../versions";
import { cite, Source } from "./upstream";

/** Label keys a chart's template writes on an object, next to the label value we pass. */
interface TemplateLabels {
    /** Which chart value the labels come from, and which objects get them. */
    readonly value: string;
    /** Keys the template writes itself on those objects. */
    readonly writes: readonly string[];
    /**
     * Keys of our value the template drops or moves elsewhere instead of appending (so setting
     * them is not a repeat). Default: none.
     */
    readonly consumedByTemplate?: readonly string[];
    readonly sources: readonly Source[];
}

/** Helm's own label convention, which every chart below follows: `managed-by: {{ .Release.Service }}` ("Helm"). */
const helmManagedBy = "app.kubernetes.io/managed-by";

const pins = chartPins(defaultVersions);

/** Upstream facts, per chart, at the pinned version. */
const charts: Record<string, { readonly version: string; readonly labels: TemplateLabels }> = {
    "cert-manager": {
        version: pins.certManager.version,
        labels: {
            value: "global.commonLabels (every object)",
            writes: [
                // define "labels": version, then managed-by and helm.sh/chart when creator == "helm" (the default).
                "app.kubernetes.io/version",
                helmManagedBy,
                "helm.sh/chart",
                // Written beside `include "labels"` in each template, e.g. the controller Deployment.
                "app",
                "app.kubernetes.io/name",
                "app.kubernetes.io/instance",
                "app.kubernetes.io/component",
            ],
            sources: [
                { repo: "cert-manager/cert-manager", tag: "v1.19.6", file: "deploy/charts/cert-manager/templates/_helpers.tpl", at: 'define "labels" (line 153); values.yaml creator: "helm"' },
                { repo: "cert-manager/cert-manager", tag: "v1.19.6", file: "deploy/charts/cert-manager/templates/deployment.yaml", at: "metadata.labels, lines 6-11" },
            ],
        },
    },
    "istio gateway": {
        version: pins.istioGateway.version,
        labels: {
            value: "labels (Deployment, pods, Service, ServiceAccount, Role, RoleBinding, HPA, PDB)",
            writes: [
                // define "istio.labels"
                helmManagedBy,
                "app.kubernetes.io/instance",
                "app.kubernetes.io/part-of",
                "app.kubernetes.io/version",
                "helm.sh/chart",
                // written before both includes in every template
                "app.kubernetes.io/name",
                // pod template: define "gateway.sidecarInjectionLabels" (+ istio.io/rev with .Values.revision),
                // and topology.istio.io/network with .Values.networkGateway
                "sidecar.istio.io/inject",
                "istio.io/rev",
                "topology.istio.io/network",
            ],
            // define "gateway.labels" skips `app` and `istio`; define "gateway.selectorLabels" writes them
            // once, from .Values.labels.app / .Values.labels.istio.
            consumedByTemplate: ["app", "istio"],
            sources: [
                { repo: "istio/istio", tag: "1.29.6", file: "manifests/charts/gateway/templates/zzz_profile.yaml", at: 'define "istio.labels" (line 61)' },
                { repo: "istio/istio", tag: "1.29.6", file: "manifests/charts/gateway/templates/_helpers.tpl", at: 'define "gateway.labels", "gateway.selectorLabels", "gateway.sidecarInjectionLabels"' },
                { repo: "istio/istio", tag: "1.29.6", file: "manifests/charts/gateway/templates/deployment.yaml", at: "metadata.labels (lines 6-9) and spec.template.metadata.labels (lines 34-46)" },
            ],
        },
    },
    "kserve-resources": {
        version: pins.kserveResources.version,
        labels: {
            value: "kserve.controller.labels (Deployment kserve-controller-manager)",
            writes: [
                // the patch template writes name, then appends controller.labels
                "app.kubernetes.io/name",
                // the base Deployment the patch is deep-merged into (a key of ours would silently replace
                // these; control-plane and controller-tools.k8s.io are also the Deployment's selector)
                "app.kubernetes.io/component",
                "control-plane",
                "controller-tools.k8s.io",
                // the chart's common labels define gives managed-by to Helm
                helmManagedBy,
            ],
            sources: [
                { repo: "kserve/kserve", tag: "v0.20.0", file: "charts/kserve-resources/files/kserve/deployment-patch.yaml", at: "metadata.labels, lines 6-10" },
                { repo: "kserve/kserve", tag: "v0.20.0", file: "charts/kserve-resources/files/kserve/resources.yaml", at: "Deployment kserve-controller-manager metadata.labels" },
                { repo: "kserve/kserve", tag: "v0.20.0", file: "charts/kserve-resources/templates/_helpers.tpl", at: 'define "kserve-resources.labels" (managed-by: .Release.Service)' },
            ],
        },
    },
    "metrics-server": {
        version: pins.metricsServer.version,
        labels: {
            value: "commonLabels (every object)",
            writes: ["helm.sh/chart", "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", helmManagedBy],
            sources: [
                { repo: "kubernetes-sigs/metrics-server", tag: "metrics-server-helm-chart-3.13.1", file: "charts/metrics-server/templates/_helpers.tpl", at: 'define "metrics-server.labels" (lines 36-46) and "metrics-server.selectorLabels"' },
            ],
        },
    },
    "aws-load-balancer-controller": {
        version: pins.awsLoadBalancerController.version,
        labels: {
            value: "podLabels (controller pods)",
            writes: ["app.kubernetes.io/name", "app.kubernetes.io/instance"],
            sources: [
                { repo: "kubernetes-sigs/aws-load-balancer-controller", tag: "v2.17.1", file: "helm/aws-load-balancer-controller/templates/deployment.yaml", at: "spec.template.metadata.labels (selectorLabels, then podLabels), lines 26-30" },
            ],
        },
    },
};

/** The label map each chart gets from our values (both platforms where they differ). */
const ours: Record<keyof typeof charts, Record<string, string>[]> = {
    "cert-manager": [certManagerValues().global.commonLabels],
    "istio gateway": [
        ingressGatewayValues({ service: { type: "LoadBalancer", annotations: {} }, minReplicas: 2 }).labels as Record<string, string>,
        ingressGatewayValues({ service: { type: "NodePort", nodePort: 31080 }, minReplicas: 1 }).labels as Record<string, string>,
    ],
    "kserve-resources": [
        kserveResourcesValues({ domain: "203.0.113.5.sslip.io", s3: { region: "us-east-2" } }).kserve.controller.labels,
        kserveResourcesValues({ domain: "127.0.0.1.sslip.io" }).kserve.controller.labels,
    ],
    "metrics-server": [
        metricsServerValues({ kubeletCertificatesVerifiable: true, replicas: 2 }).commonLabels as Record<string, string>,
        metricsServerValues({ kubeletCertificatesVerifiable: false, replicas: 1 }).commonLabels as Record<string, string>,
    ],
    "aws-load-balancer-controller": [
        loadBalancerControllerValues({ clusterName: "demo", region: "us-east-2", vpcId: "vpc-1", roleArn: "arn:aws:iam::123456789012:role/x", replicas: 2 })
            .podLabels as Record<string, string>,
    ],
};

/** Keys of `labels` that the template would write a second time. */
function repeatedKeys(labels: Record<string, string>, template: TemplateLabels): string[] {
    const consumed = new Set(template.consumedByTemplate ?? []);
    return Object.keys(labels).filter((key) => !consumed.has(key) && template.writes.includes(key));
}

describe("chart label values repeat no key the chart's template writes", () => {
    it("the facts are for the chart versions we pin", () => {
        expect(Object.fromEntries(Object.entries(charts).map(([chart, facts]) => [chart, facts.version]))).toEqual({
            "cert-manager": "v1.19.6",
            "istio gateway": "1.29.6",
            "kserve-resources": "v0.20.0",
            "metrics-server": "3.13.1",
            "aws-load-balancer-controller": "1.17.1",
        });
    });

    for (const [chart, facts] of Object.entries(charts)) {
        it(`${chart}: ${facts.labels.value}`, () => {
            const labelMaps = ours[chart];
            expect(labelMaps.length).toBeGreaterThan(0);
            for (const labels of labelMaps) {
                expect(labels, chart).toBeTypeOf("object");
                expect(repeatedKeys(labels, facts.labels), facts.labels.sources.map(cite).join("; ")).toEqual([]);
            }
        });
    }

    it("no chart value claims Pulumi manages what Helm renders", () => {
        for (const [chart, labelMaps] of Object.entries(ours)) {
            for (const labels of labelMaps) expect(labels[helmManagedBy], chart).toBeUndefined();
        }
    });

    it("the check catches the labels the charts used to get (so it can fail)", () => {
        const old = { "app.kubernetes.io/part-of": "inference-platform", "app.kubernetes.io/managed-by": "pulumi" };
        expect(repeatedKeys(old, charts["cert-manager"].labels)).toEqual([helmManagedBy]);
        expect(repeatedKeys({ app: "istio-ingressgateway", istio: "ingressgateway", ...old }, charts["istio gateway"].labels)).toEqual([
            "app.kubernetes.io/part-of",
            helmManagedBy,
        ]);
        expect(repeatedKeys(old, charts["kserve-resources"].labels)).toEqual([helmManagedBy]);
    });
});
