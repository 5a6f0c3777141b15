/**
 * Composition root: read config, build the components, export outputs. No logic lives here.
 */
import * as pulumi from "@pulumi/pulumi";
import { EksCluster } from "./components/cluster";
import { readStackConfig } from "./components/config";
import { ModelStore } from "./components/modelStore";
import { Network } from "./components/network";

const cfg = readStackConfig();
const tags = { "inference-platform/stack": `${cfg.project}-${cfg.stack}`, "managed-by": "pulumi" };

const network = new Network("network", {
    region: cfg.region!,
    clusterName: cfg.cluster.name,
    cidrBlock: cfg.network.vpcCidr,
    availabilityZoneCount: cfg.network.availabilityZoneCount,
    natGateways: cfg.network.natGateways,
    tags,
});

const cluster = new EksCluster("cluster", {
    clusterName: cfg.cluster.name,
    kubernetesVersion: cfg.cluster.kubernetesVersion,
    vpcId: network.vpcId,
    publicSubnetIds: network.publicSubnetIds,
    privateSubnetIds: network.privateSubnetIds,
    publicAccessCidrs: cfg.cluster.publicAccessCidrs,
    adminPrincipalArns: cfg.cluster.adminPrincipalArns,
    cpuNodes: cfg.cpuNodes,
    gpuNodes: cfg.gpuNodes,
    tags,
});

const modelStore = new ModelStore(
    "model-store",
    {
        bucketNamePrefix: cfg.modelStore.bucketNamePrefix,
        region: cfg.region!,
        encryption: cfg.modelStore.encryption,
        kmsKeyArn: cfg.modelStore.kmsKeyArn,
        versioning: cfg.modelStore.versioning,
        noncurrentVersionExpirationDays: cfg.modelStore.noncurrentVersionExpirationDays,
        modelPrefix: cfg.modelStore.modelPrefix,
        ephemeral: cfg.ephemeral,
        oidcProvider: cluster.oidcProvider,
        namespace: cfg.models.namespace,
        serviceAccountName: cfg.models.serviceAccountName,
        tags,
    },
    { providers: [cluster.provider] },
);

export const clusterName = cluster.clusterName;
export const kubeconfig = cluster.kubeconfig;
export const oidcProviderArn = cluster.oidcProvider.arn;
export const modelBucket = modelStore.bucketName;
export const modelReaderRoleArn = modelStore.readerRole.roleArn;
export const modelNamespace = modelStore.namespaceName;
export const modelServiceAccount = modelStore.serviceAccountName;
export const platform = pulumi.output(cfg.platform);
