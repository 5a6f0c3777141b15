/**
 * The one place that knows which foundations exist: it builds the one `args.platform` names from
 * the platform settings. A new foundation (another cloud, another kind of local cluster) is a new
 * `Foundation` implementation and one more case here.
 */
import * as pulumi from "@pulumi/pulumi";
import { AwsFoundation } from "./aws/awsFoundation";
import type { Foundation } from "./common/foundation";
import type { InferencePlatformArgs } from "./inferencePlatform";
import { KindFoundation } from "./local/kindFoundation";

/** Whether the platform's models or inference server run the gateway image. */
export function needsGatewayImage(args: Pick<InferencePlatformArgs, "examples" | "inferenceServer">): boolean {
    return args.inferenceServer.enabled || args.examples.includes("clothing-transformer");
}

/** Builds the foundation `args.platform` names, named `name` (`eks` and `local` in this project's stack). */
export function createFoundation(name: string, args: InferencePlatformArgs, opts?: pulumi.ComponentResourceOptions): Foundation {
    switch (args.platform) {
        case "eks":
            if (args.region === undefined) throw new Error(`createFoundation ${name}: the eks platform needs a region`);
            return new AwsFoundation(
                name,
                {
                    region: args.region,
                    awsProfile: args.awsProfile,
                    tags: { ...args.tags },
                    ephemeral: args.ephemeral,
                    versions: args.versions,
                    network: args.network,
                    cluster: args.cluster,
                    cpuNodes: args.cpuNodes,
                    gpuNodes: args.gpuNodes,
                    gpuProvisioner: args.gpuProvisioner,
                    karpenter: args.karpenter,
                    preflight: args.preflight,
                    modelStore: args.modelStore,
                    models: args.models,
                    gatewayImage: { image: args.gateway.image, needed: needsGatewayImage(args) },
                    storage: { ebsCsiDriver: args.storage.ebsCsiDriver, modelVolume: args.storage.modelVolume },
                },
                opts,
            );
        case "local":
            return new KindFoundation(
                name,
                {
                    kubeconfig: args.local.kubeconfig,
                    context: args.local.context,
                    ingressIp: args.ingress.localIp,
                    ingressPort: args.ingress.localHttpPort,
                    models: args.models,
                    modelPrefix: args.modelStore.modelPrefix,
                    gatewayImage: args.gateway.image,
                    modelVolume: args.storage.modelVolume,
                },
                opts,
            );
        default: {
            const never: never = args.platform;
            throw new Error(`createFoundation ${name}: unknown platform '${String(never)}'`);
        }
    }
}
