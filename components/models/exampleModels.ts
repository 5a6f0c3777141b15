/**
 * The example models, each one the shape of a case in the project's background docs:
 *
 * | example                | model                                   | protocol | served from                        |
 * |------------------------|-----------------------------------------|----------|------------------------------------|
 * | `sklearn-iris`         | KServe's sklearn iris                   | v2       | gs://kfserving-examples (public)   |
 * | `tensorflow-s3`        | KServe's TF mnist (the mnist-s3 case)   | v1       | our bucket, via the reader account |
 * | `mlflow-s3`            | KServe's MLflow wine classifier         | v2       | our bucket (the MLflow/MinIO case) |
 * | `clothing-transformer` | the book's Xception clothing classifier | v1       | our bucket + our gateway as transformer |
 * | `gpu`                  | TF mnist on a GPU node (off by default) | v1       | our bucket                         |
 * | `sklearn-iris-pvc`     | the KServe notes' own iris SVC, trained by the seeding Job | v2 | the `models` claim (`pvc://`) |
 *
 * Bucket-backed models are put there by `ModelSeeding` (created here), and their InferenceServices
 * wait for it. Every example scales to zero when idle.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    InferenceService,
    InferenceServiceSpec,
    inferencePath,
    inferenceServiceProblems,
    inferenceServiceUrl,
    ProtocolVersion,
} from "./inferenceService";
import type { ModelStorage, ModelVolume } from "../common/foundation";
import { ModelSeeding, SeedModel } from "./modelSeeding";
import { images, sklearnRuntime } from "../../versions";

/** Example models the stack can deploy; `gpu` is off by default. */
export const exampleNames = ["sklearn-iris", "tensorflow-s3", "mlflow-s3", "clothing-transformer", "gpu", "sklearn-iris-pvc"] as const;
export type ExampleName = (typeof exampleNames)[number];
export const defaultExamples: readonly ExampleName[] = ["sklearn-iris", "tensorflow-s3", "mlflow-s3", "clothing-transformer", "sklearn-iris-pvc"];

/** InferenceService name of each example (also the model name in request paths). */
export const exampleServiceNames: Readonly<Record<ExampleName, string>> = {
    "sklearn-iris": "sklearn-iris",
    "tensorflow-s3": "tensorflow-s3",
    "mlflow-s3": "mlflow-s3",
    "clothing-transformer": "clothing-transformer",
    gpu: "tensorflow-gpu",
    "sklearn-iris-pvc": "sklearn-iris-pvc",
};

/** Request body for each example, in `examples/` at the repository root. */
export const exampleInputFiles: Readonly<Record<ExampleName, string>> = {
    "sklearn-iris": "examples/iris-input.json",
    "tensorflow-s3": "examples/mnist-input.json",
    "mlflow-s3": "examples/wine-input.json",
    "clothing-transformer": "examples/clothing-request.json",
    gpu: "examples/mnist-input.json",
    // The two flowers the KServe notes send to their own model.
    "sklearn-iris-pvc": "examples/iris-notes-input.json",
};

/** Protocol each example speaks at its top-level URL (the transformer's for clothing). */
export const exampleProtocols: Readonly<Record<ExampleName, ProtocolVersion>> = {
    "sklearn-iris": "v2",
    "tensorflow-s3": "v1",
    "mlflow-s3": "v2",
    "clothing-transformer": "v1",
    gpu: "v1",
    "sklearn-iris-pvc": "v2",
};

/** Public sources of the models the seeding Job puts in the bucket. */
export const seedCatalog = {
    mnist: { name: "mnist", dest: "mnist/", source: { kind: "gcs", uri: "gs://kfserving-examples/models/tensorflow/mnist" } },
    wine: { name: "mlflow-wine", dest: "mlflow-wine/", source: { kind: "gcs", uri: "gs://kfserving-examples/models/mlflow/wine" } },
    clothing: {
        name: "clothing-model",
        dest: "clothing-model/",
        // The book's model (chapter 7 release asset); no published checksum, so none is pinned.
        source: {
            kind: "keras-h5",
            url: "https://github.com/alexeygrigorev/mlbookcamp-code/releases/download/chapter7-model/xception_v4_large_08_0.894.h5",
            version: 1,
        },
    },
    /** The KServe notes' custom model, trained in the sklearn runtime's image and written into the model claim. */
    irisSvc: { name: "iris-svc", dest: "sklearn-iris-pvc/", source: { kind: "train-iris", scikitLearn: sklearnRuntime.scikitLearn }, target: "volume" },
} as const satisfies Record<string, SeedModel>;

/** Which seeded model each bucket-backed example serves (sklearn-iris reads GCS directly). */
export const exampleSeeds: Readonly<Record<ExampleName, SeedModel | undefined>> = {
    "sklearn-iris": undefined,
    "tensorflow-s3": seedCatalog.mnist,
    "mlflow-s3": seedCatalog.wine,
    "clothing-transformer": seedCatalog.clothing,
    gpu: seedCatalog.mnist,
    "sklearn-iris-pvc": seedCatalog.irisSvc,
};

/** Examples served from the model claim (`pvc://`). */
export function servesFromClaim(example: ExampleName): boolean {
    return example === "sklearn-iris-pvc";
}

/**
 * Where a seed model is written on a given model claim: a model meant for the claim goes to the store
 * when the claim is a view of the store's model prefix (same `dest`, the claim shows it at the same
 * path), and into the claim itself when the claim is written through a mount.
 */
export function seedForVolume(model: SeedModel, volume: Pick<ModelVolume, "content"> | undefined): SeedModel {
    if (model.target !== "volume" || volume === undefined) return model;
    return volume.content.kind === "model-store" ? { ...model, target: "store" } : model;
}

/** Models to seed for a set of examples, each once. */
export function seedModelsFor(examples: readonly ExampleName[]): SeedModel[] {
    const byName = new Map<string, SeedModel>();
    for (const e of examples) {
        const seed = exampleSeeds[e];
        if (seed) byName.set(seed.name, seed);
    }
    return [...byName.values()];
}

/** Docker Hub publishes tensorflow/serving for linux/amd64 only: keep TF pods off arm64 (Graviton) nodes. */
export const amd64Only: Readonly<Record<string, string>> = { "kubernetes.io/arch": "amd64" };

/** TF Serving image tag for the runtime (`runtimeVersion`), from the pinned image. */
function tagOf(image: string): string {
    return image.slice(image.lastIndexOf(":") + 1);
}

/** The book's transformer settings: Xception preprocessing at 299x299 and the ten clothing classes. */
export const clothingTransformerEnv = {
    MODEL_INPUT_SIZE: "299,299",
    KERAS_MODEL_NAME: "xception",
    MODEL_LABELS: "dress,hat,longsleeve,outwear,pants,shirt,shoes,shorts,skirt,t-shirt",
} as const;

/** What an example needs from its surroundings; `S` is `string` in tests, `pulumi.Input<string>` in the stack. */
export interface ExampleContext<S> {
    readonly namespace: S;
    readonly bucket: S;
    /** Key prefix of models in the bucket (ends with `/`). */
    readonly modelPrefix: string;
    readonly serviceAccountName: S;
    /** Required for `clothing-transformer`. */
    readonly gatewayImage?: S;
    /** The model claim `pvc://` URIs name, and whether models must mount it read-only. Required for `sklearn-iris-pvc`. */
    readonly modelClaim?: { readonly name: string; readonly readOnly: boolean };
    /** Template interpolation that works for `S` (plain join, or `pulumi.interpolate`). */
    readonly interpolate: (strings: TemplateStringsArray, ...values: (S | string)[]) => S;
}

/** The InferenceService spec of one example. */
export function exampleSpec<S>(example: ExampleName, ctx: ExampleContext<S>): InferenceServiceSpec<S> {
    const name = exampleServiceNames[example];
    const bucketUri = (seed: SeedModel) => ctx.interpolate`s3://${ctx.bucket}/${ctx.modelPrefix}${seed.dest.replace(/\/$/, "")}`;
    const small = { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } };
    switch (example) {
        case "sklearn-iris":
            return {
                name,
                namespace: ctx.namespace,
                predictor: {
                    minReplicas: 0,
                    maxReplicas: 3,
                    model: {
                        modelFormat: { name: "sklearn" },
                        protocolVersion: "v2",
                        storageUri: "gs://kfserving-examples/models/sklearn/1.0/model" as S,
                        resources: small,
                    },
                },
            };
        case "tensorflow-s3":
            return {
                name,
                namespace: ctx.namespace,
                predictor: {
                    minReplicas: 0,
                    maxReplicas: 3,
                    serviceAccountName: ctx.serviceAccountName,
                    nodeSelector: amd64Only,
                    model: {
                        modelFormat: { name: "tensorflow" },
                        protocolVersion: "v1",
                        // The runtime's default (2.6.2) predates the SavedModels we convert; pin ours.
                        runtimeVersion: tagOf(images.tensorflowServing),
                        storageUri: bucketUri(seedCatalog.mnist),
                        resources: small,
                    },
                },
            };
        case "mlflow-s3":
            return {
                name,
                namespace: ctx.namespace,
                predictor: {
                    minReplicas: 0,
                    maxReplicas: 3,
                    serviceAccountName: ctx.serviceAccountName,
                    model: {
                        modelFormat: { name: "mlflow" },
                        protocolVersion: "v2",
                        storageUri: bucketUri(seedCatalog.wine),
                        resources: { requests: { cpu: "100m", memory: "512Mi" }, limits: { cpu: "1", memory: "2Gi" } },
                    },
                },
            };
        case "clothing-transformer": {
            if (ctx.gatewayImage === undefined) throw new Error("example clothing-transformer needs gatewayImage (the transformer image)");
            return {
                name,
                namespace: ctx.namespace,
                predictor: {
                    minReplicas: 0,
                    maxReplicas: 2,
                    serviceAccountName: ctx.serviceAccountName,
                    nodeSelector: amd64Only,
                    model: {
                        modelFormat: { name: "tensorflow" },
                        protocolVersion: "v1",
                        runtimeVersion: tagOf(images.tensorflowServing),
                        storageUri: bucketUri(seedCatalog.clothing),
                        // Xception: ~90 MB of weights, ~1 GiB resident while serving.
                        resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } },
                    },
                },
                transformer: {
                    minReplicas: 0,
                    maxReplicas: 3,
                    containers: [
                        {
                            image: ctx.gatewayImage,
                            args: [
                                "--model_name",
                                name,
                                "--predictor_host",
                                ctx.interpolate`${name}-predictor.${ctx.namespace}`,
                                "--protocol",
                                "v1",
                            ],
                            env: Object.entries(clothingTransformerEnv).map(([k, v]) => ({ name: k, value: v as S })),
                            resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "512Mi" } },
                        },
                    ],
                },
            };
        }
        case "sklearn-iris-pvc": {
            if (ctx.modelClaim === undefined) throw new Error("example sklearn-iris-pvc needs the model claim (modelVolume)");
            return {
                name,
                namespace: ctx.namespace,
                predictor: {
                    minReplicas: 0,
                    maxReplicas: 3,
                    // KServe mounts the claim itself (no storage initializer, no credentials): no ServiceAccount.
                    // Read-only is KServe's default; said here so a changed default cannot open the shared claim.
                    annotations: ctx.modelClaim.readOnly ? { [kserveStorageReadonlyAnnotation]: "true" } : undefined,
                    model: {
                        modelFormat: { name: "sklearn" },
                        protocolVersion: "v2",
                        storageUri: `pvc://${ctx.modelClaim.name}/${seedCatalog.irisSvc.dest.replace(/\/$/, "")}` as S,
                        resources: small,
                    },
                },
            };
        }
        case "gpu":
            return {
                name,
                namespace: ctx.namespace,
                predictor: {
                    minReplicas: 0,
                    maxReplicas: 1,
                    serviceAccountName: ctx.serviceAccountName,
                    nodeSelector: amd64Only,
                    model: {
                        modelFormat: { name: "tensorflow" },
                        protocolVersion: "v1",
                        runtimeVersion: tagOf(images.tensorflowServingGpu),
                        storageUri: bucketUri(seedCatalog.mnist),
                        resources: {
                            requests: { cpu: "500m", memory: "1Gi" },
                            limits: { cpu: "2", memory: "4Gi", "nvidia.com/gpu": "1" },
                        },
                    },
                },
            };
        default: {
            const never: never = example;
            throw new Error(`unknown example '${String(never)}'`);
        }
    }
}

/**
 * The annotation KServe reads to decide whether a model's storage is mounted read-only (default
 * true): kserve/kserve v0.20.0 pkg/constants/constants.go `StorageReadonlyAnnotationKey`, read by
 * pkg/webhook/admission/pod/storage_initializer_injector.go `GetStorageInitializerReadOnlyFlag`
 * from the pod's annotations, which KServe fills from the InferenceService's and the predictor's.
 */
export const kserveStorageReadonlyAnnotation = "storage.kserve.io/readonly";

/** Plain-string interpolation for `ExampleContext<string>`. */
export function plainInterpolate(strings: TemplateStringsArray, ...values: string[]): string {
    return strings.reduce((out, s, i) => out + s + (i < values.length ? values[i] : ""), "");
}

/** How to call one example. */
export interface ExampleInvocation {
    readonly service: string;
    /** `http://<service>.<namespace>.<domain>`. */
    readonly url: string;
    /** Full endpoint URL (predict or infer). */
    readonly endpointUrl: string;
    readonly inputFile: string;
    /** curl through the ingress address with a Host header (works before DNS does). */
    readonly curlViaIngress: string;
    /** curl by name (magic DNS `<ip>.sslip.io` or your domain's wildcard record). */
    readonly curlViaDns: string;
}

/**
 * curl lines for the enabled examples. `ingress` is the gateway's address as clients reach it
 * (`203.0.113.10`, an NLB hostname, or `127.0.0.1:8080` on kind); its port, if any, is used for
 * the DNS form too. `authHeader` (e.g. `Authorization: Bearer $TOKEN`) is added when given.
 */
export function exampleInvocations(args: {
    examples: readonly ExampleName[];
    namespace: string;
    domain: string;
    ingress: string;
    authHeader?: string;
}): Partial<Record<ExampleName, ExampleInvocation>> {
    const m = /^([A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(args.ingress);
    if (!m) throw new Error(`ingress '${args.ingress}' must be host or host:port`);
    const port = m[2] ? `:${m[2]}` : "";
    const auth = args.authHeader ? ` -H '${args.authHeader.replace(/'/g, "")}'` : "";
    const out: Partial<Record<ExampleName, ExampleInvocation>> = {};
    for (const example of args.examples) {
        const service = exampleServiceNames[example];
        const url = inferenceServiceUrl(service, args.namespace, args.domain);
        const host = url.replace(/^http:\/\//, "");
        const path = inferencePath(service, exampleProtocols[example]);
        const inputFile = exampleInputFiles[example];
        const common = `-sS -H 'Content-Type: application/json'${auth} -d @${inputFile}`;
        out[example] = {
            service,
            url,
            endpointUrl: `${url}${path}`,
            inputFile,
            curlViaIngress: `curl ${common} -H 'Host: ${host}' http://${args.ingress}${path}`,
            curlViaDns: `curl ${common} http://${host}${port}${path}`,
        };
    }
    return out;
}

/** Every problem with the examples' arguments (empty when valid). */
export function exampleModelsProblems(args: Pick<ExampleModelsArgs, "examples" | "gatewayImage" | "volume"> & { readonly modelPrefix?: string }): string[] {
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const e of args.examples) {
        if (!(exampleNames as readonly string[]).includes(e)) problems.push(`examples: '${e}' is not one of ${exampleNames.join(", ")}`);
        if (seen.has(e)) problems.push(`examples: '${e}' is listed twice`);
        seen.add(e);
    }
    if (args.examples.includes("clothing-transformer") && args.gatewayImage === undefined) {
        problems.push("examples: clothing-transformer needs gatewayImage (the gateway image is its transformer)");
    }
    if (args.examples.includes("sklearn-iris-pvc") && args.volume === undefined) {
        problems.push("examples: sklearn-iris-pvc serves from the model claim, and the foundation has none (modelVolume: true)");
    }
    const prefix = args.modelPrefix ?? "models/";
    if (!/^[a-z0-9][a-z0-9._-]*\/$/.test(prefix)) problems.push(`modelPrefix '${prefix}' must be one key segment ending in '/'`);
    return problems;
}

export interface ExampleModelsArgs {
    /** Examples to deploy (config `examples`; values from `exampleNames`). An empty list deploys nothing. Required. */
    readonly examples: readonly ExampleName[];
    /** Domain model hosts live under (`<ip>.sslip.io` or the custom domain). Required. */
    readonly domain: pulumi.Input<string>;
    /** Where the models live and the accounts that read and write them (the foundation's). Required. */
    readonly storage: ModelStorage;
    /** The model claim (the foundation's); required by `sklearn-iris-pvc`. Default: none. */
    readonly volume?: ModelVolume;
    /** Transformer image of `clothing-transformer` (the gateway). Required when that example is enabled. */
    readonly gatewayImage?: pulumi.Input<string>;
    /** What everything waits for besides the storage: KServe (CRDs, runtimes) and the ingress. Default: none. */
    readonly waitFor?: pulumi.Input<pulumi.Resource>[];
    /** Wait until each InferenceService is Ready (see `InferenceServiceArgs.awaitReady`). Default: false. */
    readonly awaitReady?: boolean;
    /**
     * Examples whose models are seeded even when the example itself is not deployed (the inference
     * server serves the clothing model). Default: none.
     */
    readonly alsoSeed?: readonly ExampleName[];
}

/** The enabled example InferenceServices and the Job that seeds their models. */
export class ExampleModels extends pulumi.ComponentResource {
    public readonly services: Partial<Record<ExampleName, InferenceService>>;
    public readonly seeding: ModelSeeding | undefined;
    /** URL of each enabled example. */
    public readonly urls: Partial<Record<ExampleName, pulumi.Output<string>>>;

    constructor(name: string, args: ExampleModelsArgs, opts?: pulumi.ComponentResourceOptions) {
        const storage = args.storage;
        const modelPrefix = storage.modelPrefix;
        const problems = exampleModelsProblems({ ...args, modelPrefix });
        const ctx: ExampleContext<pulumi.Input<string>> = {
            namespace: storage.namespace,
            bucket: storage.bucket,
            modelPrefix,
            serviceAccountName: storage.readerServiceAccountName,
            gatewayImage: args.gatewayImage,
            modelClaim: args.volume ? { name: args.volume.claimName, readOnly: args.volume.readOnlyForModels } : undefined,
            interpolate: (strings, ...values) => pulumi.interpolate(strings, ...values),
        };
        // Build and validate every spec before anything (this component included) is registered.
        const specs = problems.length > 0 ? [] : args.examples.map((e) => [e, exampleSpec(e, ctx)] as const);
        for (const [, spec] of specs) problems.push(...inferenceServiceProblems(spec));
        if (problems.length > 0) throw new Error(`ExampleModels ${name}:\n  - ${problems.join("\n  - ")}`);
        super("inference-platform:models:ExampleModels", name, {}, opts);
        this.services = {};
        this.urls = {};

        // A model meant for the claim is uploaded to the store when the claim shows the store's prefix.
        const seeds = seedModelsFor([...args.examples, ...(args.alsoSeed ?? [])]).map((m) => seedForVolume(m, args.volume));
        const writesVolume = seeds.some((m) => m.target === "volume");
        const waitFor = [...(args.waitFor ?? []), ...storage.ready];
        this.seeding =
            seeds.length > 0
                ? new ModelSeeding(
                      `${name}-seeding`,
                      {
                          namespace: storage.namespace,
                          bucket: storage.bucket,
                          serviceAccountName: storage.writerServiceAccountName,
                          env: storage.writerEnv,
                          models: seeds,
                          modelPrefix,
                          waitFor: writesVolume ? [...waitFor, ...args.volume!.ready] : waitFor,
                          volume: writesVolume ? { claimName: args.volume!.claimName } : undefined,
                      },
                      { parent: this },
                  )
                : undefined;

        for (const [example, spec] of specs) {
            const serviceWaitFor = [
                ...waitFor,
                ...(exampleSeeds[example] && this.seeding ? [this.seeding.job] : []),
                // pvc:// models: the claim bound (or bindable) and its driver installed before the pod mounts it.
                ...(servesFromClaim(example) && args.volume ? args.volume.ready : []),
            ];
            const service = new InferenceService(
                `${name}-${example}`,
                { spec, domain: args.domain, waitFor: serviceWaitFor, awaitReady: args.awaitReady },
                { parent: this },
            );
            this.services[example] = service;
            this.urls[example] = service.url;
        }
        this.registerOutputs({ urls: this.urls, seedingJob: this.seeding?.job.metadata.name });
    }
}
