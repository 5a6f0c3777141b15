/**
 * The models: `ModelWorkloads` (the example InferenceServices, the Job that seeds their models, the
 * TF Serving + gateway inference server) and the typed `InferenceService` for models of your own.
 */
export * from "./exampleModels";
export * from "./inferenceServer";
export * from "./inferenceService";
export * from "./modelSeeding";
export * from "./modelWorkloads";
