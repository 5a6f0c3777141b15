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
