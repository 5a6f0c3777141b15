/**
 * Where the upstream data files of `../shared/schemas` are and how to read them (no vitest here, so
 * test/globalSetup.ts can use it too). Tests import test/shared.ts, which adds the skip helpers.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { awsLoadBalancerControllerAppVersions, defaultVersions, VersionSet } from "../versions";

/** `../shared/schemas` next to the checkout (a worktree under /work/wt/X finds it through /work/wt/shared). */
export const sharedSchemasDir = path.resolve(__dirname, "../../shared/schemas");
export const sharedSchemasPresent = fs.existsSync(sharedSchemasDir);

/** The one message for every test skipped because the upstream files are absent. */
export const sharedSchemasSkipMessage =
    `skipped: tests against upstream charts, CRDs and values need ../shared/schemas (${sharedSchemasDir}), which is absent`;

/**
 * The folder of each component's upstream files for a version set. Folder names follow
 * ../shared/schemas/README.md: the upstream git tag the files were taken from.
 */
export function upstreamFolders(versions: VersionSet = defaultVersions) {
    const lbcAppVersion = awsLoadBalancerControllerAppVersions[versions.awsLoadBalancerController];
    if (!lbcAppVersion) throw new Error(`no app version for AWS Load Balancer Controller chart ${versions.awsLoadBalancerController}`);
    // Knative's release tags are `knative-vX.Y.Z`; the folders are named `<repo>-vX.Y.Z`.
    const knativeTag = versions.knative.replace(/^knative-/, "");
    return {
        istio: `istio-${versions.istio}`,
        certManager: `cert-manager-${versions.certManager}`,
        awsLoadBalancerController: `aws-load-balancer-controller-${lbcAppVersion}`,
        nvidiaDevicePlugin: `nvidia-device-plugin-v${versions.nvidiaDevicePlugin}`,
        clusterAutoscaler: `cluster-autoscaler-chart-${versions.clusterAutoscaler}`,
        metricsServer: `metrics-server-chart-${versions.metricsServer}`,
        kserve: `kserve-${versions.kserve}`,
        knativeServing: `knative-serving-${knativeTag}`,
        netIstio: `net-istio-${knativeTag}`,
        karpenter: `karpenter-v${versions.karpenter}`,
    } as const;
}

export type UpstreamComponent = keyof ReturnType<typeof upstreamFolders>;

/** `<folder of the pinned version>/<file>`, relative to `sharedSchemasDir`. */
export function upstreamRelative(component: UpstreamComponent, file: string): string {
    return `${upstreamFolders()[component]}/${file}`;
}

/** Absolute path of an upstream file of the pinned version. */
export function upstreamPath(component: UpstreamComponent, file: string): string {
    return path.join(sharedSchemasDir, upstreamRelative(component, file));
}

/** Reads an upstream file of the pinned version; a missing file is an error naming it. */
export function readUpstreamText(component: UpstreamComponent, file: string): string {
    const at = upstreamPath(component, file);
    if (!fs.existsSync(at)) {
        throw new Error(`${at} is missing: ../shared/schemas has no ${file} for the pinned ${component} version (versions.ts)`);
    }
    return fs.readFileSync(at, "utf8");
}

export function readUpstreamYaml(component: UpstreamComponent, file: string): Record<string, unknown> {
    return parseYaml(readUpstreamText(component, file)) as Record<string, unknown>;
}

export function readUpstreamJson(component: UpstreamComponent, file: string): any {
    return JSON.parse(readUpstreamText(component, file));
}
