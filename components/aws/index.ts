/**
 * The AWS foundation and its parts: `AwsFoundation` (preflight, network, EKS cluster and node groups,
 * Karpenter and its GPU NodePool, S3 model store with reader and writer IRSA roles, AWS Load Balancer
 * Controller and the NLB's Elastic IPs, Cluster Autoscaler, NVIDIA device plugin, ECR gateway image,
 * the EBS CSI and Mountpoint for S3 add-ons and the Mountpoint model claim) and the delete-time
 * `DeletionGate`.
 */
export * from "./awsFoundation";
export * from "./clusterAutoscaler";
export * from "./deletionGate";
export * from "./devicePlugin";
export * from "./eksCluster";
export * from "./gatewayImage";
export * from "./gpuNodeBoot";
export * from "./gpuNodePool";
export * from "./ingressNlb";
export * from "./irsa";
export * from "./karpenter";
export * from "./loadBalancerController";
export * from "./modelStore";
export * from "./names";
export * from "./network";
export * from "./preflight";
export * from "./s3ModelVolume";
export * from "./storageDrivers";
