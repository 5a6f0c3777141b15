/**
 * The serving platform, the same on every foundation: `ServingPlatform` (metrics-server, Istio and
 * its ingress gateway, cert-manager, Knative Serving with net-istio, KServe, ingress auth) and magic DNS.
 */
export * from "./certManager";
export * from "./ingressAuth";
export * from "./ingressGateway";
export * from "./istio";
export * from "./knative";
export * from "./kserve";
export * from "./magicDns";
export * from "./metricsServer";
export * from "./servingPlatform";
