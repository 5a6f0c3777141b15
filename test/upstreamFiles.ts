/**
 * Where the upstream data files of `../shared/schemas` are and how to read them (no vitest here, so
 * test/globalSetup.ts can use it too). Tests import test/shared.ts, which adds the skip helpers.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { awsLoadBalancerControllerAppVersions, defaultVersions, VersionSet } from "../versions";
import { cachedText, packageVersion, testCacheDir } from "./diskCache";

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

/**
 * Every YAML document of an upstream file of the pinned version, as plain data, parsed once per
 * process (read-only: every caller in the process gets the same objects) and kept across runs
 * (`parseYamlDocumentsCached`).
 */
export function readUpstreamYamlDocuments(component: UpstreamComponent, file: string): unknown[] {
    const at = upstreamPath(component, file);
    const memo = processYamlMemo();
    let docs = memo.get(at);
    if (!docs) {
        docs = parseYamlDocumentsCached(readUpstreamText(component, file), at);
        memo.set(at, docs);
    }
    return docs;
}

/**
 * `text`'s YAML documents as plain data; `label` names the text in a parse error.
 *
 * Parsing a large file with the `yaml` package costs most of a second (KServe's InferenceService
 * CRD is 2 MB, Istio's crd-all.gen.yaml 1 MB), in every worker of every run. So the documents are
 * also kept as JSON, which parses about ten times faster, in `cacheDir` (test/diskCache.ts), named
 * by the hash of the text and of the parser's version: an edited file or another `yaml` gets an
 * entry of its own, never a stale one. The result is what a JSON round trip gives on every run, the
 * first included.
 */
export function parseYamlDocumentsCached(text: string, label: string, cacheDir = testCacheDir("upstream-yaml")): unknown[] {
    const key = createHash("sha256").update(`yaml ${packageVersion("yaml")}\0`).update(text).digest("hex").slice(0, 32);
    const json = cachedText(cacheDir, `${key}.json`, () =>
        JSON.stringify(
            parseAllDocuments(text).map((d) => {
                if (d.errors.length > 0) throw new Error(`${label}: ${d.errors[0].message}`);
                return d.toJS() as unknown;
            }),
        ),
    );
    return JSON.parse(json) as unknown[];
}

/** Parsed files kept for the whole worker process (test files share workers, and reset modules). */
function processYamlMemo(): Map<string, unknown[]> {
    const slot = Symbol.for("inference-platform.test.upstreamYaml");
    const holder = globalThis as unknown as Record<symbol, Map<string, unknown[]> | undefined>;
    return (holder[slot] ??= new Map());
}

export function readUpstreamJson(component: UpstreamComponent, file: string): any {
    return JSON.parse(readUpstreamText(component, file));
}
