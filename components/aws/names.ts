/** Checks of AWS names the AWS components share. Each returns a reason, or undefined when the name is fine. */

const awsRegion = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const eksClusterName = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

/** Why `region` is not an AWS region name, or undefined. */
export function awsRegionProblem(region: string): string | undefined {
    return awsRegion.test(region) ? undefined : `'${region}' is not an AWS region (e.g. us-east-2)`;
}

/** Why `partition` is not an AWS partition, or undefined. */
export function partitionProblem(partition: string): string | undefined {
    return /^aws(-[a-z]+)*$/.test(partition) ? undefined : `'${partition}' is not an AWS partition (aws, aws-cn, aws-us-gov)`;
}

/** Why `name` is not an EKS cluster name (1-100 letters, digits, '-' and '_', starting with a letter or digit), or undefined. */
export function eksClusterNameProblem(name: string): string | undefined {
    return eksClusterName.test(name) ? undefined : `'${name}' is not an EKS cluster name`;
}

/**
 * Known EC2 instance families per use (the node groups' instance types and Karpenter's pools); anything
 * else is a typo or an unsuitable family. GPU families are NVIDIA and x86_64 (the stack's GPU images
 * are); Graviton (arm64) families are marked by a `g` after the generation digit.
 */
export const cpuInstanceFamilies = [
    "t3", "t3a", "m5", "m5a", "m5n", "m6i", "m6a", "m7i", "m7a", "m8i",
    "c5", "c5a", "c6i", "c6a", "c7i", "c7a", "c8i", "r5", "r6i", "r6a", "r7i",
    "m6g", "m7g", "m8g", "c6g", "c7g", "c8g", "r6g", "r7g", "t4g",
] as const;
export const gpuInstanceFamilies = ["g4dn", "g5", "g6", "g6e", "p4d", "p5"] as const;

/** Whether an instance family is Graviton (arm64): m6g, c7g, t4g, ... */
export function isGravitonFamily(family: string): boolean {
    return /^[a-z]+\d+g[a-z]*$/.test(family);
}

/** The x86_64 CPU families (a Karpenter CPU pool with one AMI architecture). */
export const x86CpuInstanceFamilies: readonly string[] = cpuInstanceFamilies.filter((f) => !isGravitonFamily(f));
