/**
 * The models: the example InferenceServices (with the Job that seeds their models into the store)
 * and the plain-Kubernetes inference server (TF Serving behind the gateway), on any foundation.
 *
 *   ModelSeeding (writer account) ─> example InferenceServices (reader account), after KServe
 *                                    (pvc:// examples: after the foundation's model claim too)
 *                                └─> InferenceServer (TF Serving + gateway), after Knative and the ingress
 *
 * Children are named `<name>-<child>`; each used to be registered at the top of the stack as plain
 * `<child>`, and the aliases let an existing stack adopt them here instead of replacing them.
 */
import * as pulumi from "@pulumi/pulumi";
import { movedFromStackRoot } from "../common/aliases";
import type { Foundation } from "../common/foundation";
import { ExampleInvocation, ExampleModels, ExampleName, exampleInvocations } from "./exampleModels";
import { InferenceServer } from "./inferenceServer";
import { LlmCapacity, qwen25Instruct05b } from "./llm";
import { maxRevisionTimeoutSeconds } from "../platform/knative";

/** What the models need from the serving platform (a `ServingPlatform` has all of it). */
export interface ServingEndpoints {
    /** Domain model hosts live under. */
    readonly domain: pulumi.Output<string>;
    /** What an InferenceService must wait for. */
    readonly modelsReady: readonly pulumi.Resource[];
    /** What a plain Knative-routed workload must wait for. */
    readonly routingReady: readonly pulumi.Resource[];
    /** The ingress as clients reach it. */
    readonly ingress: { readonly ingressIp: pulumi.Output<string>; readonly ingressPort: number };
}

export interface ModelWorkloadsArgs {
    /** Storage, accounts and the gateway image. Required. */
    readonly foundation: Foundation;
    /** The serving platform the models run on. Required. */
    readonly serving: ServingEndpoints;
    /** Example models to deploy. Default: none. */
    readonly examples?: readonly ExampleName[];
    /** The TF Serving + gateway inference server. Default: off. */
    readonly inferenceServer?: {
        readonly enabled: boolean;
        /** Run TF Serving's GPU build on a GPU node. */
        readonly gpu: boolean;
    };
    /** Header the printed curl lines carry (e.g. `Authorization: Bearer $TOKEN` under JWT auth). Default: none. */
    readonly authHeader?: string;
    /** The `llm` example's warm replicas, GPU capacity and hub token. Required when `examples` has `llm`. */
    readonly llm?: LlmWorkloadSettings;
}

/** The `llm` example's settings as the stack knows them (the model itself is the example's). */
export interface LlmWorkloadSettings {
    /** Replicas kept warm (config `llmMinReplicas`); 0 scales to zero. */
    readonly minReplicas: number;
    /** Secret with a Hugging Face token (key `token`) for the seeding Job. Default: none. */
    readonly hfTokenSecret?: string;
    /** The GPU capacity the model runs on. */
    readonly capacity: LlmCapacity;
}

function problemsOf(args: ModelWorkloadsArgs): string[] {
    const problems: string[] = [];
    const server = args.inferenceServer;
    const needsGateway = server?.enabled === true || (args.examples ?? []).includes("clothing-transformer");
    if (needsGateway && args.foundation.gatewayImage === undefined) {
        problems.push("the inference server and the clothing-transformer example need the foundation's gatewayImage");
    }
    const needsGpu = (server?.enabled === true && server.gpu) || (args.examples ?? []).includes("gpu") || (args.examples ?? []).includes("llm");
    if ((args.examples ?? []).includes("llm") && args.llm === undefined) problems.push("the llm example needs llm settings (GPU capacity, minReplicas)");
    if (needsGpu && !args.foundation.capacity.gpu) problems.push("a GPU workload is on, but the foundation has no GPU capacity");
    if ((args.examples ?? []).includes("sklearn-iris-pvc") && args.foundation.modelVolume === undefined) {
        problems.push("the sklearn-iris-pvc example serves from the model claim, but the foundation has none (modelVolume)");
    }
    return problems;
}

/** The example InferenceServices, their seeding Job and the inference server. */
export class ModelWorkloads extends pulumi.ComponentResource {
    public readonly examples: ExampleModels;
    public readonly inferenceServer: InferenceServer | undefined;
    /** URL of each enabled example. */
    public readonly modelUrls: Partial<Record<ExampleName, pulumi.Output<string>>>;
    /** Per example: URL, endpoint, input file and ready-to-run curl lines. */
    public readonly invocations: pulumi.Output<Partial<Record<ExampleName, ExampleInvocation>>>;

    constructor(name: string, args: ModelWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
        const problems = problemsOf(args);
        if (problems.length > 0) throw new Error(`ModelWorkloads ${name}:\n  - ${problems.join("\n  - ")}`);
        super("inference-platform:models:ModelWorkloads", name, {}, { ...opts, providers: [args.foundation.provider] });
        const storage = args.foundation.modelStorage;
        const examples = args.examples ?? [];
        const server = args.inferenceServer ?? { enabled: false, gpu: false };
        const child = (type: string, childName: string) => ({ parent: this, aliases: movedFromStackRoot(type, childName) });

        this.examples = new ExampleModels(
            `${name}-examples`,
            {
                examples,
                // The inference server serves the clothing model: seed it even when that example is off.
                alsoSeed: server.enabled ? ["clothing-transformer"] : [],
                domain: args.serving.domain,
                gatewayImage: args.foundation.gatewayImage,
                storage,
                volume: args.foundation.modelVolume,
                // The foundation's capacity too, directly: destroy removes the models before it.
                waitFor: [...args.serving.modelsReady, ...args.foundation.workloadsReady],
                llm: args.llm
                    ? { model: qwen25Instruct05b, capacity: args.llm.capacity, minReplicas: args.llm.minReplicas, maxRevisionTimeoutSeconds }
                    : undefined,
                hfTokenSecret: args.llm?.hfTokenSecret,
            },
            child("inference-platform:models:ExampleModels", "examples"),
        );
        this.inferenceServer = server.enabled
            ? new InferenceServer(
                  `${name}-clothing`,
                  {
                      // Object names and the public host stay `clothing` whatever this component is called.
                      serverName: "clothing",
                      namespace: storage.namespace,
                      serviceAccountName: storage.readerServiceAccountName,
                      storageUri: pulumi.interpolate`s3://${storage.bucket}/${storage.modelPrefix}clothing-model`,
                      modelName: "clothing-model",
                      domain: args.serving.domain,
                      gatewayImage: args.foundation.gatewayImage!,
                      gpu: server.gpu,
                      storageEnv: storage.readerEnv,
                      waitFor: [...args.serving.routingReady, ...args.foundation.workloadsReady, ...(this.examples.seeding ? [this.examples.seeding] : [])],
                  },
                  child("inference-platform:serving:InferenceServer", "clothing"),
              )
            : undefined;

        this.modelUrls = this.examples.urls;
        const ingress = args.serving.ingress;
        this.invocations = pulumi
            .all([storage.namespace, args.serving.domain, ingress.ingressIp])
            .apply(([namespace, domain, ip]) =>
                exampleInvocations({
                    examples,
                    namespace,
                    domain,
                    ingress: ingress.ingressPort === 80 ? ip : `${ip}:${ingress.ingressPort}`,
                    authHeader: args.authHeader,
                }),
            );

        this.registerOutputs({ modelUrls: this.modelUrls, inferenceServerUrl: this.inferenceServer?.predictUrl });
    }
}
