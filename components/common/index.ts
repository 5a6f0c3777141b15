/**
 * What several layers share and that knows nothing of AWS or kind: the `Foundation` contract, labels,
 * container resources, pod security, GPU scheduling, chart sources, validation helpers, aliases for
 * moved resources, and the models namespace.
 */
export * from "./aliases";
export * from "./charts";
export * from "./foundation";
export * from "./gpuScheduling";
export * from "./labels";
export * from "./modelNamespace";
export * from "./podSecurity";
export * from "./resources";
export * from "./validation";
