/** The local foundation: `KindFoundation` (an existing kind cluster) and its S3-compatible model store. */
export * from "./kindCluster";
export * from "./kindFoundation";
export * from "./localModelStore";
