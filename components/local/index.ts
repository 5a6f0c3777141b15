/** The local foundation: `KindFoundation` (an existing kind cluster), its S3-compatible model store and its model claim. */
export * from "./kindCluster";
export * from "./kindFoundation";
export * from "./localModelStore";
export * from "./localModelVolume";
