/**
 * The serving platform: what turns a cluster into a place that serves models, the same on every
 * foundation.
 *
 *   MetricsServer ─> Istio (base ─> istiod) ─> IngressGateway (exposed as the foundation says) ─┐
 *   CertManager ───────────────────────────────────────────────────────────────────────────┐   │
 *   Knative (CRDs ─> core ─> net-istio, after istiod; config patches) ─────────────────────┴───┴─> KServe
 *   IngressAuth (after the gateway)
 *
 * Everything here waits for the foundation's `workloadsReady` (metrics-server, Istio and cert-manager
 * directly, the rest through them), so destroy removes the platform before the foundation's capacity.
 *
 * It takes a `Foundation` and never asks which one. Children are named `<name>-<child>`; each used to
 * be registered at the top of the stack as plain `<child>`, and the aliases let an existing stack
 * adopt them here instead of replacing them.
 */
import * as pulumi from "@pulumi/pulumi";
import { movedFromStackRoot } from "../common/aliases";
import type { Foundation } from "../common/foundation";
import { defaultVersions, VersionSet } from "../../versions";
import { CertManager } from "./certManager";
import { AuthMode, IngressAuth } from "./ingressAuth";
import { IngressGateway } from "./ingressGateway";
import { Istio } from "./istio";
import { KnativeServing } from "./knative";
import { Kserve } from "./kserve";
import { MetricsServer } from "./metricsServer";

export interface ServingPlatformArgs {
    /** What the platform runs on. Required. */
    readonly foundation: Foundation;
    /** Chart and release versions (from the compatibility table). Default: `defaultVersions`. */
    readonly versions?: VersionSet;
    /** Custom DNS domain of model hosts (you point `*.<domain>` at the ingress). Default: `<ingress address>.sslip.io`. */
    readonly domain?: string;
    /** What the ingress gateway enforces. Default: `{ mode: "open-model-paths" }`. */
    readonly auth?: {
        readonly mode: AuthMode;
        /** JWT issuer (https URL); required with `jwt`. */
        readonly jwtIssuer?: string;
        /** JWKS URI (https URL); required with `jwt`. */
        readonly jwksUri?: string;
    };
}

/** Istio, the ingress gateway, cert-manager, Knative, KServe, ingress auth and metrics-server. */
export class ServingPlatform extends pulumi.ComponentResource {
    public readonly metricsServer: MetricsServer;
    public readonly istio: Istio;
    public readonly ingress: IngressGateway;
    public readonly certManager: CertManager;
    public readonly knative: KnativeServing;
    public readonly kserve: Kserve;
    public readonly ingressAuth: IngressAuth;
    /** Domain model hosts live under. */
    public readonly domain: pulumi.Output<string>;
    /** What an InferenceService must wait for: KServe (CRDs, controller, runtimes) and the ingress gateway. */
    public readonly modelsReady: readonly pulumi.Resource[];
    /** What a plain Knative-routed workload must wait for: Knative and the ingress gateway, with its auth policies. */
    public readonly routingReady: readonly pulumi.Resource[];

    constructor(name: string, args: ServingPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super("inference-platform:platform:ServingPlatform", name, {}, { ...opts, providers: [args.foundation.provider] });
        const foundation = args.foundation;
        const versions = args.versions ?? defaultVersions;
        const replicas = foundation.capacity.highAvailability ? 2 : 1;
        const child = (type: string, childName: string) => ({ parent: this, aliases: movedFromStackRoot(type, childName) });

        // The metrics API every HPA reads; istiod (and after it the gateway and the inference server, the
        // other HPAs) waits for it, so no HPA exists before its metrics do. It needs nothing from Istio.
        this.metricsServer = new MetricsServer(
            `${name}-metrics-server`,
            { kubeletCertificatesVerifiable: foundation.kubeletCertificatesVerifiable, replicas, versions, waitFor: [...foundation.workloadsReady] },
            child("inference-platform:cluster:MetricsServer", "metrics-server"),
        );
        this.istio = new Istio(
            `${name}-istio`,
            { versions, waitFor: [...foundation.workloadsReady, this.metricsServer], istiodMinReplicas: replicas },
            child("inference-platform:mesh:Istio", "istio"),
        );
        this.ingress = new IngressGateway(
            `${name}-ingress`,
            { istio: this.istio, exposure: foundation.ingress, versions, domain: args.domain, minReplicas: replicas },
            child("inference-platform:ingress:IngressGateway", "ingress"),
        );
        this.domain = this.ingress.domain;
        this.certManager = new CertManager(`${name}-cert-manager`, { version: versions.certManager, waitFor: [...foundation.workloadsReady] }, child("inference-platform:certManager:CertManager", "cert-manager"));
        this.knative = new KnativeServing(
            `${name}-knative`,
            { version: versions.knative, domain: this.domain, istio: this.istio, clusterAutoscaler: foundation.capacity.nodeAutoscaling },
            child("inference-platform:knative:KnativeServing", "knative"),
        );
        this.kserve = new Kserve(
            `${name}-kserve`,
            {
                version: versions.kserve,
                domain: this.domain,
                certManager: this.certManager,
                knative: this.knative.ready,
                istio: [this.istio, this.ingress],
                s3: foundation.modelStorage.kserveDefaults,
            },
            child("inference-platform:kserve:Kserve", "kserve"),
        );
        const auth = args.auth ?? { mode: "open-model-paths" as const };
        this.ingressAuth = new IngressAuth(
            `${name}-ingress-auth`,
            // The policies keep their object names (`ingress-auth-...`) whatever this component is called.
            { mode: auth.mode, jwtIssuer: auth.jwtIssuer, jwksUri: auth.jwksUri, namePrefix: "ingress-auth", waitFor: [this.istio, this.ingress] },
            child("inference-platform:ingress:IngressAuth", "ingress-auth"),
        );

        this.modelsReady = [...this.kserve.ready, this.ingress];
        this.routingReady = [...this.knative.ready, this.ingress, this.ingressAuth];

        this.registerOutputs({ domain: this.domain, ingressAddress: this.ingress.ingressIp, kserveNamespace: this.kserve.namespace });
    }
}
