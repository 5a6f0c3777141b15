/**
 * The package entry (`import { InferencePlatform } from "inference-platform"`): the whole platform as
 * one component, and each layer for programs that compose their own.
 *
 *   common/    what every layer shares: the Foundation contract, labels, resources, pod security,
 *              GPU scheduling, chart sources, validation, aliases
 *   aws/       AwsFoundation: preflight, network, EKS and node groups, Karpenter GPU pools, S3 model
 *              store with IRSA, load balancer controller and NLB addresses, cluster autoscaler, device
 *              plugin, ECR gateway image
 *   local/     KindFoundation: a kind cluster and an S3-compatible model store
 *   platform/  ServingPlatform: Istio, ingress gateway, cert-manager, Knative, KServe, ingress auth,
 *              metrics-server
 *   models/    ModelWorkloads: InferenceServices, the examples and their seeding Job, the inference server
 */
export { InferencePlatform, invocationAuthHeader } from "./inferencePlatform";
export type { InferencePlatformArgs, Platform } from "./inferencePlatform";
export { createFoundation, needsGatewayImage } from "./foundations";
export type { Capacity, Foundation, FoundationOutputs, IngressExposure, ModelStorage, S3StorageDefaults } from "./common/foundation";
export { AwsFoundation } from "./aws/awsFoundation";
export type { AwsFoundationArgs } from "./aws/awsFoundation";
export { KindFoundation } from "./local/kindFoundation";
export type { KindFoundationArgs } from "./local/kindFoundation";
export { ServingPlatform } from "./platform/servingPlatform";
export type { ServingPlatformArgs } from "./platform/servingPlatform";
export { ModelWorkloads } from "./models/modelWorkloads";
export type { ModelWorkloadsArgs, ServingEndpoints } from "./models/modelWorkloads";
export { InferenceService } from "./models/inferenceService";
export type { InferenceServiceArgs, InferenceServiceSpec } from "./models/inferenceService";
export { defaultExamples, exampleNames } from "./models/exampleModels";
export type { ExampleName } from "./models/exampleModels";
export { defaultVersions, allowedVersions, supportedKubernetesVersions } from "../versions";
export type { VersionSet, KubernetesVersion } from "../versions";
