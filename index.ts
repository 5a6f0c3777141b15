/**
 * Composition root: config in, one foundation (AWS or kind), the serving platform, the models,
 * outputs out. No logic lives here; the install graph of each layer is in its component's header:
 *
 *   createFoundation ── AwsFoundation (components/aws/awsFoundation.ts)    ─┐
 *                    └─ KindFoundation (components/local/kindFoundation.ts) ─┴─> ServingPlatform ─> ModelWorkloads
 *                                                       (components/platform/servingPlatform.ts)  (components/models/modelWorkloads.ts)
 */
import { readStackConfig } from "./config";
import { createFoundation } from "./components/foundations";
import { invocationAuthHeader } from "./components/inferencePlatform";
import { ModelWorkloads } from "./components/models/modelWorkloads";
import { ServingPlatform } from "./components/platform/servingPlatform";

const cfg = readStackConfig();
const foundation = createFoundation(cfg.platform, cfg);
const serving = new ServingPlatform("serving", { foundation, versions: cfg.versions, domain: cfg.ingress.domain, auth: cfg.auth });
const models = new ModelWorkloads("models", {
    foundation,
    serving,
    examples: cfg.examples,
    inferenceServer: cfg.inferenceServer,
    authHeader: invocationAuthHeader(cfg.auth.mode),
});

// --- Outputs (null where the platform has no such thing, rather than a missing output). ---
/** Per example: URL, endpoint, input file and ready-to-run curl lines (read by `npm run predict`, deploy and e2e). */
export const examples = models.invocations;
export const modelUrls = models.modelUrls;
export const inferenceServerUrl = models.inferenceServer?.predictUrl ?? null;
export const gatewayImageRef = foundation.gatewayImage ?? null;
export const platform = foundation.platform;
export const ingressIp = serving.ingress.ingressIp;
export const ingressPort = serving.ingress.ingressPort;
export const domain = serving.domain;
export const authMode = cfg.auth.mode;
export const authPolicies = serving.ingressAuth.policyNames;
export const kserveNamespace = serving.kserve.namespace;
export const modelBucket = foundation.modelStorage.bucket;
export const modelNamespace = foundation.modelStorage.namespace;
export const modelServiceAccount = foundation.modelStorage.readerServiceAccountName;
/** The claim `pvc://<claim>/<path>` URIs name, and how to put a model file into it. */
export const modelVolumeClaim = foundation.modelVolume?.claimName ?? null;
export const modelVolumeUpload = foundation.modelVolume?.uploadCommand ?? null;
export const clusterName = foundation.outputs.clusterName;
export const kubeconfig = foundation.outputs.kubeconfig;
export const oidcProviderArn = foundation.outputs.oidcProviderArn;
export const modelReaderRoleArn = foundation.outputs.modelReaderRoleArn;
export const modelWriterRoleArn = foundation.outputs.modelWriterRoleArn;
export const loadBalancerControllerRoleArn = foundation.outputs.loadBalancerControllerRoleArn;
export const clusterAutoscalerRoleArn = foundation.outputs.clusterAutoscalerRoleArn;
