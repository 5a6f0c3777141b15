/**
 * Composition root: read config, build the components, export outputs. No logic lives here.
 *
 * Install graph (independent branches run in parallel; arrows are real dependencies):
 *
 *   Network ─> EksCluster (control plane, node groups ─> Kubernetes provider)
 *                 ├─> MetricsServer ─> Istio: base ─> istiod┬─> IngressGateway (NLB + EIPs) ─┐
 *                 ├─> LoadBalancerController ───────────────┘                                │
 *                 ├─> CertManager ──────────────────────────────────────────────┐            │
 *                 ├─> Knative (CRDs ─> core ─> net-istio[after istiod]) ────────┼─> KServe ──┴─> models
 *                 ├─> DevicePlugin, ClusterAutoscaler                           │
 *                 └─> ModelStore (bucket, IRSA reader, namespace, SA) ──────────┴────────────────> models
 *
 *   models = ModelSeeding Job (writer IRSA role) ─> example InferenceServices, InferenceServer
 */
import { ClusterAutoscaler } from "./components/aws/clusterAutoscaler";
import { CertManager } from "./components/platform/certManager";
import { EksCluster } from "./components/aws/eksCluster";
import { readStackConfig } from "./config";
import { DevicePlugin } from "./components/aws/devicePlugin";
import { ExampleModels, exampleInvocations } from "./components/models/exampleModels";
import { GatewayImage } from "./components/aws/gatewayImage";
import { InferenceServer } from "./components/models/inferenceServer";
import { IngressAuth } from "./components/platform/ingressAuth";
import { IngressGateway } from "./components/platform/ingressGateway";
import { Istio } from "./components/platform/istio";
import { KnativeServing } from "./components/platform/knative";
import { Kserve } from "./components/platform/kserve";
import { LoadBalancerController } from "./components/aws/loadBalancerController";
import { LocalCluster } from "./components/local/kindCluster";
import { LocalModelStore } from "./components/local/localModelStore";
import { MetricsServer } from "./components/platform/metricsServer";
import { ModelNamespace } from "./components/common/modelNamespace";
import { ModelStore } from "./components/aws/modelStore";
import { Network } from "./components/aws/network";
import * as pulumi from "@pulumi/pulumi";

const cfg = readStackConfig();
const tags = { "inference-platform/stack": `${cfg.project}-${cfg.stack}`, "managed-by": "pulumi" };
const onEks = cfg.platform === "eks";
const region = cfg.region ?? "us-east-1";

// --- Cluster: EKS on AWS, or an existing kind cluster. ---
const network = onEks
    ? new Network("network", {
          region,
          clusterName: cfg.cluster.name,
          cidrBlock: cfg.network.vpcCidr,
          availabilityZoneCount: cfg.network.availabilityZoneCount,
          natGateways: cfg.network.natGateways,
          tags,
      })
    : undefined;
const eksCluster = network
    ? new EksCluster("cluster", {
          clusterName: cfg.cluster.name,
          kubernetesVersion: cfg.cluster.kubernetesVersion,
          vpcId: network.vpcId,
          publicSubnetIds: network.publicSubnetIds,
          privateSubnetIds: network.privateSubnetIds,
          publicAccessCidrs: cfg.cluster.publicAccessCidrs,
          adminPrincipalArns: cfg.cluster.adminPrincipalArns,
          previewPrincipalArns: cfg.cluster.previewPrincipalArns,
          cpuNodes: cfg.cpuNodes,
          gpuNodes: cfg.gpuNodes,
          tags,
      })
    : undefined;
const localCluster = onEks ? undefined : new LocalCluster("local", { kubeconfig: cfg.local.kubeconfig, context: cfg.local.context });
const k8sOpts = { providers: [eksCluster?.provider ?? localCluster!.provider] };
const clusterReady = eksCluster ? [eksCluster] : [];

// --- Serving platform. ---
// The metrics API every HPA reads; istiod (and after it the gateway and the inference server, the other
// HPAs) waits for it, so no HPA exists before its metrics do. It needs nothing from Istio.
const metricsServer = new MetricsServer("metrics-server", { platform: cfg.platform, versions: cfg.versions, waitFor: clusterReady }, k8sOpts);
const istio = new Istio(
    "istio",
    { versions: cfg.versions, waitFor: [...clusterReady, metricsServer], istiodMinReplicas: onEks ? 2 : 1 },
    k8sOpts,
);
// The component names below are what the policy pack's documented-wildcard exception matches.
const loadBalancerController =
    eksCluster && network
        ? new LoadBalancerController(
              "aws-load-balancer-controller",
              {
                  clusterName: eksCluster.clusterName,
                  region,
                  vpcId: network.vpcId,
                  oidcProvider: eksCluster.oidcProvider,
                  versions: cfg.versions,
                  waitFor: clusterReady,
              },
              k8sOpts,
          )
        : undefined;
const ingress = new IngressGateway(
    "ingress",
    onEks
        ? {
              platform: "eks",
              istio,
              versions: cfg.versions,
              domain: cfg.ingress.domain,
              publicSubnetIds: network!.publicSubnetIds,
              publicSubnetCount: cfg.network.availabilityZoneCount,
              loadBalancerController,
              region,
              awsProfile: cfg.awsProfile,
          }
        : {
              platform: "local",
              istio,
              versions: cfg.versions,
              domain: cfg.ingress.domain,
              localIp: cfg.ingress.localIp,
              localHttpPort: cfg.ingress.localHttpPort,
          },
    k8sOpts,
);
if (eksCluster && cfg.gpuNodes.enabled) {
    new DevicePlugin("nvidia-device-plugin", { versions: cfg.versions, waitFor: clusterReady }, k8sOpts);
}
const clusterAutoscaler = eksCluster
    ? new ClusterAutoscaler(
        "cluster-autoscaler",
        {
            clusterName: eksCluster.clusterName,
            region,
            oidcProvider: eksCluster.oidcProvider,
            kubernetesVersion: cfg.cluster.kubernetesVersion,
            versions: cfg.versions,
            waitFor: clusterReady,
        },
        k8sOpts,
    )
    : undefined;
const certManager = new CertManager("cert-manager", { version: cfg.versions.certManager }, k8sOpts);
const knative = new KnativeServing(
    "knative",
    { version: cfg.versions.knative, domain: ingress.domain, istio, clusterAutoscaler: onEks },
    k8sOpts,
);
const kserve = new Kserve(
    "kserve",
    {
        version: cfg.versions.kserve,
        domain: ingress.domain,
        certManager,
        knative: knative.ready,
        istio: [istio, ingress],
        s3: onEks ? { region } : undefined,
    },
    k8sOpts,
);
const ingressAuth = new IngressAuth(
    "ingress-auth",
    { mode: cfg.auth.mode, jwtIssuer: cfg.auth.jwtIssuer, jwksUri: cfg.auth.jwksUri, waitFor: [istio, ingress] },
    k8sOpts,
);

// --- Model store: S3 with IRSA on AWS, an in-cluster S3-compatible server (versitygw) with a KServe S3 secret locally. ---
const s3ModelStore = eksCluster
    ? new ModelStore(
          "model-store",
          {
              bucketNamePrefix: cfg.modelStore.bucketNamePrefix,
              region,
              encryption: cfg.modelStore.encryption,
              kmsKeyArn: cfg.modelStore.kmsKeyArn,
              versioning: cfg.modelStore.versioning,
              noncurrentVersionExpirationDays: cfg.modelStore.noncurrentVersionExpirationDays,
              modelPrefix: cfg.modelStore.modelPrefix,
              ephemeral: cfg.ephemeral,
              oidcProvider: eksCluster.oidcProvider,
              namespace: cfg.models.namespace,
              serviceAccountName: cfg.models.serviceAccountName,
              tags,
          },
          k8sOpts,
      )
    : undefined;
const localModelsNamespace = onEks ? undefined : new ModelNamespace("models", { name: cfg.models.namespace }, k8sOpts);
const localModelStore = localModelsNamespace
    ? new LocalModelStore("model-store", { namespace: localModelsNamespace.name, serviceAccountName: cfg.models.serviceAccountName }, k8sOpts)
    : undefined;

// --- Models: the gateway image, example InferenceServices (seeded into the store), the inference server. ---
const needsGateway = cfg.inferenceServer.enabled || cfg.examples.includes("clothing-transformer");
const gatewayImage = needsGateway
    ? new GatewayImage("gateway-image", { image: cfg.gateway.image, platform: cfg.platform, tags })
    : undefined;
const modelsNamespace = s3ModelStore?.namespaceName ?? localModelStore!.namespace;
const modelStorage = s3ModelStore
    ? {
          kind: "s3" as const,
          bucket: s3ModelStore.bucketName,
          region,
          readerServiceAccountName: s3ModelStore.serviceAccountName,
          oidcProvider: eksCluster!.oidcProvider,
          kmsKeyArn: s3ModelStore.kmsKeyArn,
      }
    : {
          // ExampleModels' and ModelSeeding's name for any S3-compatible endpoint with a credentials Secret.
          kind: "minio" as const,
          endpoint: localModelStore!.endpointUrl,
          bucket: localModelStore!.bucketName,
          readerServiceAccountName: localModelStore!.serviceAccountName,
          credentialsSecretName: localModelStore!.credentialsSecretName,
      };
const exampleModels = new ExampleModels(
    "examples",
    {
        examples: cfg.examples,
        alsoSeed: cfg.inferenceServer.enabled ? ["clothing-transformer"] : [],
        namespace: modelsNamespace,
        domain: ingress.domain,
        gatewayImage: gatewayImage?.imageRef,
        modelPrefix: cfg.modelStore.modelPrefix,
        storage: modelStorage,
        waitFor: [...kserve.ready, ingress, ...(s3ModelStore ? [s3ModelStore] : localModelStore!.ready)],
    },
    k8sOpts,
);
const inferenceServer = cfg.inferenceServer.enabled
    ? new InferenceServer(
          "clothing",
          {
              namespace: modelsNamespace,
              serviceAccountName: modelStorage.readerServiceAccountName,
              storageUri: pulumi.interpolate`s3://${modelStorage.bucket}/${cfg.modelStore.modelPrefix}clothing-model`,
              modelName: "clothing-model",
              domain: ingress.domain,
              gatewayImage: gatewayImage!.imageRef,
              gpu: cfg.inferenceServer.gpu,
              storageEnv: localModelStore?.storageEnv,
              waitFor: [...knative.ready, ingress, ingressAuth, ...(exampleModels.seeding ? [exampleModels.seeding] : [])],
          },
          k8sOpts,
      )
    : undefined;

// --- Outputs (null where the platform has no such thing, rather than a missing output). ---
/** Per example: URL, endpoint, input file and ready-to-run curl lines (read by `npm run predict` and e2e). */
export const examples = pulumi
    .all([modelsNamespace, ingress.domain, ingress.ingressIp])
    .apply(([namespace, domainName, ip]) =>
        exampleInvocations({
            examples: cfg.examples,
            namespace,
            domain: domainName,
            ingress: ingress.ingressPort === 80 ? ip : `${ip}:${ingress.ingressPort}`,
            authHeader: cfg.auth.mode === "jwt" ? "Authorization: Bearer $TOKEN" : undefined,
        }),
    );
export const modelUrls = exampleModels.urls;
export const inferenceServerUrl = inferenceServer?.predictUrl ?? null;
export const gatewayImageRef = gatewayImage?.imageRef ?? null;
export const platform = cfg.platform;
export const ingressIp = ingress.ingressIp;
export const ingressPort = ingress.ingressPort;
export const domain = ingress.domain;
export const authMode = cfg.auth.mode;
export const authPolicies = ingressAuth.policyNames;
export const kserveNamespace = kserve.namespace;
export const clusterName = eksCluster?.clusterName ?? null;
export const kubeconfig = eksCluster?.kubeconfig ?? null;
export const oidcProviderArn = eksCluster?.oidcProvider.arn ?? null;
export const modelBucket = s3ModelStore?.bucketName ?? localModelStore?.bucketName ?? null;
export const modelReaderRoleArn = s3ModelStore?.readerRole.roleArn ?? null;
export const modelNamespace = s3ModelStore?.namespaceName ?? localModelStore?.namespace ?? null;
export const modelServiceAccount = s3ModelStore?.serviceAccountName ?? localModelStore?.serviceAccountName ?? null;
export const modelWriterRoleArn = exampleModels.seeding?.writerRole?.roleArn ?? null;
export const loadBalancerControllerRoleArn = loadBalancerController?.roleArn ?? null;
export const clusterAutoscalerRoleArn = clusterAutoscaler?.roleArn ?? null;
