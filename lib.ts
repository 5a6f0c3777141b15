/**
 * The package entry: what another Pulumi TypeScript program imports to add a model-serving platform
 * to its own stack.
 *
 *     import { InferencePlatform, platformArgs } from "inference-platform";
 *     const ml = new InferencePlatform("ml", platformArgs({ platform: "eks", "aws:region": "us-east-2", examples: ["sklearn-iris"] }));
 *     export const modelUrls = ml.workloads.modelUrls;
 *
 * `platformArgs` takes the keys of this project's stack config (README, "Configuration reference"),
 * applies the same defaults and checks, and throws one error naming every problem.
 */
export * from "./components";
export { ConfigError, configKeys, platformArgs } from "./config";
export type { PlatformSettings, StackConfig } from "./config";
