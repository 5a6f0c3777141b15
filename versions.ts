/**
 * Every pinned version and chart repository of the platform, and the table that says which
 * combinations are known to work together. Config may override a version, but only with a value
 * from this table (see `checkVersionSet`), so a stack never deploys an untested combination.
 *
 * Compatibility table (what each pinned component supports, from upstream release notes):
 *
 * | component                     | pinned          | Kubernetes it supports | notes                                      |
 * |-------------------------------|-----------------|------------------------|--------------------------------------------|
 * | EKS control plane             | 1.34            | -                      | 1.33 / 1.35 also allowed (standard support)|
 * | Istio (base, istiod, gateway) | 1.29.6          | 1.31 - 1.35            | 1.29.1's EnvoyFilter CRD rejects ports > 6553 |
 * | Knative Serving + net-istio   | knative-v1.21.1 | >= 1.33                | Kubeflow validates Istio 1.29 + Knative 1.21.1 |
 * | cert-manager                  | v1.19.6         | 1.31 - 1.34 (tested), works on 1.35 | CRDs installed by the chart   |
 * | KServe (crd, resources, runtime-configs) | v0.20.0 | >= 1.32            | its own CI pins cert-manager 1.17, Istio 1.27, Knative 1.21.1 |
 * | AWS Load Balancer Controller  | chart 1.17.1 (v2.17.1) | >= 1.22         | IRSA policy from docs/install/iam_policy.json |
 * | NVIDIA device plugin          | 0.18.2          | >= 1.10                | AL2023 NVIDIA AMI ships the driver + toolkit |
 * | Cluster Autoscaler            | chart 9.59.0    | image minor == cluster minor | image tag picked by `clusterAutoscalerImageTag` |
 * | metrics-server                | chart 3.13.1 (v0.8.1) | >= 1.31          | serves metrics.k8s.io, which every HPA reads |
 * | Karpenter (+ karpenter-crd)   | chart 1.14.1    | 1.26 - 1.36 (1.34 needs >= 1.6, 1.35 >= 1.9) | GPU NodePools; AMI alias pinned per release (`karpenterPins`) |
 *
 * The intersection of the Kubernetes ranges is 1.33 - 1.35, which is `supportedKubernetesVersions`.
 *
 * Sources of the rows above that are not obvious from the pins:
 * - metrics-server: kubernetes-sigs/metrics-server tag `metrics-server-helm-chart-3.13.1`, README.md
 *   "Compatibility Matrix" (0.8.x: metrics.k8s.io/v1beta1, Kubernetes 1.31+); charts/metrics-server/Chart.yaml
 *   (version 3.13.1, appVersion 0.8.1). 3.13.1 is the newest chart tag in that repository.
 * - Cluster Autoscaler image tags (`clusterAutoscalerImageTags`): the newest patch tag of each minor in
 *   kubernetes/autoscaler, `cluster-autoscaler-1.33.6`, `cluster-autoscaler-1.34.5` and
 *   `cluster-autoscaler-1.35.2` (all tagged 2026-07-22; each tag's cluster-autoscaler/version/version.go
 *   says the same version). The chart's own default (appVersion 1.35.0) is the first patch of 1.35.
 *
 * Uncertain facts (checked against upstream as far as offline reading allows; verify on upgrade):
 * - That the Cluster Autoscaler tags above were promoted to registry.k8s.io is inferred from the release
 *   tags (the promotion itself is not visible offline).
 * - Istio 1.29's upper Kubernetes bound (1.35) is taken from Istio's support matrix at release time.
 */

/** Kubernetes minor versions every pinned component supports (and EKS offers in standard support). */
export const supportedKubernetesVersions = ["1.33", "1.34", "1.35"] as const;
export type KubernetesVersion = (typeof supportedKubernetesVersions)[number];
export const defaultKubernetesVersion: KubernetesVersion = "1.34";

/** A Helm chart pin: where to fetch it, what it is called and which version. */
export interface ChartPin {
    /** Helm repository URL (`https://...`), or an OCI registry path prefix (`oci://...`). */
    readonly repository: string;
    /** Chart name inside the repository. */
    readonly chart: string;
    /** Exact chart version. */
    readonly version: string;
}

/** Helm repositories as the upstream READMEs give them. */
export const chartRepositories = {
    istio: "https://istio-release.storage.googleapis.com/charts",
    jetstack: "https://charts.jetstack.io",
    eks: "https://aws.github.io/eks-charts",
    nvidia: "https://nvidia.github.io/k8s-device-plugin",
    autoscaler: "https://kubernetes.github.io/autoscaler",
    kserve: "oci://ghcr.io/kserve/charts",
    metricsServer: "https://kubernetes-sigs.github.io/metrics-server/",
    karpenter: "oci://public.ecr.aws/karpenter",
} as const;

/** Versions a stack may choose per component; the first entry is the default. */
export const allowedVersions = {
    istio: ["1.29.6"],
    knative: ["knative-v1.21.1", "knative-v1.21.3"],
    certManager: ["v1.19.6"],
    kserve: ["v0.20.0"],
    awsLoadBalancerController: ["1.17.1"],
    nvidiaDevicePlugin: ["0.18.2"],
    clusterAutoscaler: ["9.59.0"],
    metricsServer: ["3.13.1"],
    /** The karpenter and karpenter-crd charts (always the same version; = the controller's). */
    karpenter: ["1.14.1"],
} as const;

export type ComponentName = keyof typeof allowedVersions;

/** One version per component: the set a stack deploys. */
export type VersionSet = { readonly [K in ComponentName]: string };

export const defaultVersions: VersionSet = Object.fromEntries(
    Object.entries(allowedVersions).map(([name, versions]) => [name, versions[0]]),
) as unknown as VersionSet;

/** App version of each AWS Load Balancer Controller chart version (the chart pins its image). */
export const awsLoadBalancerControllerAppVersions: Readonly<Record<string, string>> = {
    "1.17.1": "v2.17.1",
};

/**
 * Cluster Autoscaler image tag per Kubernetes minor: the autoscaler must match the cluster's minor, and
 * each is the newest patch of its minor (fixes only; sources in the header above).
 */
export const clusterAutoscalerImageTags: Readonly<Record<KubernetesVersion, string>> = {
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
};

export function clusterAutoscalerImageTag(kubernetesVersion: KubernetesVersion): string {
    return clusterAutoscalerImageTags[kubernetesVersion];
}

/**
 * Returns one message per version that is outside the compatibility table; empty when the set is
 * deployable. `keyOf` names the config key of a component, so messages point at what to fix.
 */
export function checkVersionSet(
    versions: Partial<Record<ComponentName, string>>,
    keyOf: (component: ComponentName) => string = (c) => c,
): string[] {
    const problems: string[] = [];
    for (const [component, version] of Object.entries(versions) as [ComponentName, string | undefined][]) {
        if (version === undefined) continue;
        const allowed: readonly string[] = allowedVersions[component];
        if (!allowed) {
            problems.push(`${keyOf(component)}: unknown component`);
        } else if (!allowed.includes(version)) {
            problems.push(
                `${keyOf(component)} (${version}) is not in the compatibility table; allowed: ${allowed.join(", ")}`,
            );
        }
    }
    return problems;
}

/** Chart pins derived from a version set. */
export function chartPins(versions: VersionSet) {
    return {
        istioBase: { repository: chartRepositories.istio, chart: "base", version: versions.istio },
        istiod: { repository: chartRepositories.istio, chart: "istiod", version: versions.istio },
        istioGateway: { repository: chartRepositories.istio, chart: "gateway", version: versions.istio },
        certManager: { repository: chartRepositories.jetstack, chart: "cert-manager", version: versions.certManager },
        awsLoadBalancerController: {
            repository: chartRepositories.eks,
            chart: "aws-load-balancer-controller",
            version: versions.awsLoadBalancerController,
        },
        nvidiaDevicePlugin: {
            repository: chartRepositories.nvidia,
            chart: "nvidia-device-plugin",
            version: versions.nvidiaDevicePlugin,
        },
        clusterAutoscaler: {
            repository: chartRepositories.autoscaler,
            chart: "cluster-autoscaler",
            version: versions.clusterAutoscaler,
        },
        metricsServer: { repository: chartRepositories.metricsServer, chart: "metrics-server", version: versions.metricsServer },
        karpenter: { repository: chartRepositories.karpenter, chart: "karpenter", version: versions.karpenter },
        karpenterCrd: { repository: chartRepositories.karpenter, chart: "karpenter-crd", version: versions.karpenter },
        kserveCrd: { repository: chartRepositories.kserve, chart: "kserve-crd", version: versions.kserve },
        kserveResources: { repository: chartRepositories.kserve, chart: "kserve-resources", version: versions.kserve },
        kserveRuntimeConfigs: {
            repository: chartRepositories.kserve,
            chart: "kserve-runtime-configs",
            version: versions.kserve,
        },
    } satisfies Record<string, ChartPin>;
}

/** Knative has no Helm chart: it is installed from release YAML at these URLs. */
export function knativeReleaseManifests(knativeVersion: string) {
    const serving = `https://github.com/knative/serving/releases/download/${knativeVersion}`;
    const netIstio = `https://github.com/knative-extensions/net-istio/releases/download/${knativeVersion}`;
    return {
        servingCrds: `${serving}/serving-crds.yaml`,
        servingCore: `${serving}/serving-core.yaml`,
        netIstio: `${netIstio}/net-istio.yaml`,
    } as const;
}

/**
 * The kind node image of the local platform, pinned by digest in local/kind-cluster.yaml (a test
 * checks that file against this). Without a pin, kind creates its own default version: kind v0.29
 * makes 1.33.1, v0.32 makes 1.36.1, both outside or at the edge of `supportedKubernetesVersions`
 * (Knative 1.21 needs >= 1.33). This is the image kind v0.31.0 ships as its default
 * (kubernetes-sigs/kind tag v0.31.0, pkg/apis/config/defaults/image.go); kind supports node images
 * fully with the release that built them and best-effort with later ones, so the README asks for
 * kind >= v0.31.0.
 */
export const kindNodeImage = {
    kubernetesVersion: "1.35" as KubernetesVersion,
    image: "kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f",
    minimumKindVersion: "v0.31.0",
} as const;

/**
 * Container images the stack runs directly (charts pin their own). Tags are exact; helpers of
 * other components add their pins here, one line each, with a comment when a tag is uncertain.
 */
export const images = {
    /** TF Serving for the inference server (CPU and GPU builds). */
    tensorflowServing: "tensorflow/serving:2.18.0",
    tensorflowServingGpu: "tensorflow/serving:2.18.0-gpu",
    /** KServe's storage initializer: downloads gs://, s3://, https:// models (used by seeding too). */
    kserveStorageInitializer: "kserve/storage-initializer:v0.20.0",
    /**
     * Versity S3 Gateway, the local platform's model store (components/localModelStore.ts says why
     * not MinIO). v1.7.0 (2026-07-14) is the newest tag in the repository as read here; its release
     * workflow (.github/workflows/docker.yml) pushes ghcr.io/versity/versitygw:<tag> on each published
     * release. That this tag is on ghcr.io is inferred from the workflow and from public manifests
     * pulling `versity/versitygw:v1.7.0`, not pulled here. v1.8.0 (2026-09-04) is reported by third
     * parties; move to it after reading its changes against this component's contract tests.
     */
    versitygw: "ghcr.io/versity/versitygw:v1.7.0",
    /**
     * Model seeding: converts the book's Keras .h5 clothing model to a SavedModel. 2.15 is the last
     * TensorFlow whose bundled Keras (2.x) loads 2020-era .h5 files the way the book did; TF Serving
     * 2.x reads the resulting SavedModel. Pulled only when the clothing example is enabled.
     */
    tensorflowModelConverter: "tensorflow/tensorflow:2.15.0",
    /**
     * Base of the gateway image (gateway/Dockerfile's NODE_IMAGE build arg; glibc, so sharp's
     * linux-x64/arm64 prebuilt libvips applies). Tag follows the Node 24.21.0 used here; that this
     * exact Docker Hub tag exists is not verified offline.
     */
    gatewayNodeBase: "node:24.21.0-bookworm-slim",
} as const;

/**
 * Karpenter, the default GPU provisioner on eks (components/aws/karpenter.ts, gpuNodePool.ts).
 *
 * - Chart 1.14.1 = controller 1.14.1. aws/karpenter-provider-aws tag v1.14.1: the compatibility matrix
 *   (website/content/en/preview/upgrading/compatibility.md) asks Karpenter >= 1.5 for Kubernetes 1.33,
 *   >= 1.6 for 1.34 and >= 1.9 for 1.35; pkg/providers/version/version.go allows 1.26 to 1.36
 *   (`MinK8sVersion`, `MaxK8sVersion`). In git at the tag, charts/karpenter/Chart.yaml still says 1.13.0;
 *   hack/release/common.sh (`build`, `publishHelmChart`) sets the chart version, image tag and digest
 *   when it publishes to `oci://public.ecr.aws/karpenter`, so the published 1.14.1 chart pins its own
 *   image and the values here do not override it.
 * - `karpenter-crd` carries the same CRDs as the karpenter chart's crds/ folder, as templates, so Helm
 *   upgrades them with the release (Helm never upgrades a chart's crds/ folder).
 * - The AMI: `al2023@<release>` makes Karpenter read, per variant (standard, nvidia, neuron) and
 *   Kubernetes minor, the SSM parameter
 *   `/aws/service/eks/optimized-ami/<k8s>/amazon-linux-2023/<arch>/<variant>/amazon-eks-node-al2023-<arch>-<variant>-<k8s>-<release>/image_id`
 *   (pkg/providers/amifamily/al2023.go `AL2023.resolvePath`), and picks the NVIDIA variant for GPU
 *   instance types. `latest` would drift every node on each AMI release, so a release is pinned:
 *   v20260714 lists amazon-eks-node-al2023-x86_64-nvidia-{1.33,1.34,1.35}-v20260714 in awslabs/amazon-eks-ami
 *   CHANGELOG.md ("AMI Release v20260714"; read at tag v20260724, whose own entry was not yet written).
 */
export const karpenterPins = {
    /** The controller chart (default version; a stack picks one with `karpenterVersion`, see `chartPins`). */
    chart: chartPins(defaultVersions).karpenter satisfies ChartPin,
    /** The CRD chart, always the controller's version. */
    crdChart: chartPins(defaultVersions).karpenterCrd satisfies ChartPin,
    /** EKS optimized AL2023 AMI release (`amiSelectorTerms[].alias`). */
    amiAlias: "al2023@v20260714",
} as const;

/**
 * Kubernetes minors the pinned AMI release was published for (awslabs/amazon-eks-ami CHANGELOG.md,
 * "AMI Release v20260714": AL2023 x86_64 NVIDIA and standard AMIs for 1.30 to 1.36).
 */
export const karpenterAmiReleaseKubernetesVersions: readonly string[] = ["1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36"];

// ---------------------------------------------------------------------------------------------
// Storage drivers (EKS add-ons) and KServe's sklearn runtime: models on a PersistentVolumeClaim.
// ---------------------------------------------------------------------------------------------

/** One EKS add-on the stack installs, pinned per cluster minor. */
export interface EksAddonPin {
    /** `--addon-name` of the add-on. */
    readonly addonName: string;
    /** Upstream release the add-on builds package (the IAM access contract was read at this tag). */
    readonly driverVersion: string;
    /** Oldest Kubernetes minor the upstream release supports. */
    readonly minimumKubernetesVersion: string;
    /** Add-on version per cluster minor (`aws eks describe-addon-versions --kubernetes-version <minor>`). */
    readonly versions: Readonly<Record<KubernetesVersion, string>>;
}

/**
 * The storage drivers' EKS add-ons. Each add-on version packages exactly one upstream release, and
 * the add-on must list the cluster's minor as compatible; test/storageDrivers.test.ts checks every
 * minor of `supportedKubernetesVersions` has a pin at or above the driver's minimum.
 *
 * Sources:
 * - EBS CSI driver: kubernetes-sigs/aws-ebs-csi-driver tag v1.64.0 (2026-08-17). README.md
 *   "Compatibility": compatible with every Kubernetes version the Kubernetes project or Amazon EKS
 *   supports (charts/aws-ebs-csi-driver/Chart.yaml: kubeVersion ">=1.17.0-0"). The add-on build
 *   `v1.64.0-eksbuild.1` is the one EKS offers for 1.33 to 1.36 as of 2026-08 (pinned that way in
 *   public EKS 1.35 and 1.36 configurations; `describe-addon-versions` itself is not reachable offline).
 * - Mountpoint for Amazon S3 CSI driver: awslabs/mountpoint-s3-csi-driver tag v2.7.0 (2026-06-11),
 *   the newest release. README.md "Compatibility": Kubernetes v1.30+ (Chart.yaml kubeVersion
 *   ">=1.30.0-0"); Dockerfile `MOUNTPOINT_VERSION=1.22.3` (awslabs/mountpoint-s3 tag
 *   mountpoint-s3-1.22.3 is the client whose S3 calls the IAM contract lists). Add-on build
 *   `v2.7.0-eksbuild.1` (the newest build of v2.7.0 as of 2026-08, same caveat).
 */
export const storageDriverAddons = {
    ebsCsi: {
        addonName: "aws-ebs-csi-driver",
        driverVersion: "v1.64.0",
        minimumKubernetesVersion: "1.17",
        versions: { "1.33": "v1.64.0-eksbuild.1", "1.34": "v1.64.0-eksbuild.1", "1.35": "v1.64.0-eksbuild.1" },
    },
    mountpointS3Csi: {
        addonName: "aws-mountpoint-s3-csi-driver",
        driverVersion: "v2.7.0",
        minimumKubernetesVersion: "1.30",
        versions: { "1.33": "v2.7.0-eksbuild.1", "1.34": "v2.7.0-eksbuild.1", "1.35": "v2.7.0-eksbuild.1" },
    },
} as const satisfies Record<string, EksAddonPin>;

export type StorageDriver = keyof typeof storageDriverAddons;

/** The add-on version of `driver` for a cluster of `kubernetesVersion`. */
export function storageDriverAddonVersion(driver: StorageDriver, kubernetesVersion: KubernetesVersion): string {
    const version = (storageDriverAddons[driver].versions as Readonly<Record<string, string>>)[kubernetesVersion];
    if (version === undefined) throw new Error(`no ${storageDriverAddons[driver].addonName} add-on version pinned for Kubernetes ${kubernetesVersion}`);
    return version;
}

/**
 * KServe's sklearn runtime (ClusterServingRuntime `kserve-sklearnserver`) at the pinned KServe: the
 * image the kserve-runtime-configs chart v0.20.0 runs (values.yaml `sklearnserver.image`
 * `kserve/sklearnserver`, tag empty = the chart's own version) and the libraries inside it, from
 * kserve/kserve v0.20.0 python/sklearnserver/uv.lock (scikit-learn 1.5.2, joblib 1.5.3, numpy 2.4.4
 * for Python 3.11, the image's `PYTHON_VERSION` in python/sklearn.Dockerfile). A joblib pickle
 * loads reliably only into the scikit-learn that wrote it, so the seeding Job trains the example
 * model inside this same image and checks the version before it writes anything.
 */
export const sklearnRuntime = {
    image: "kserve/sklearnserver:v0.20.0",
    python: "3.11",
    scikitLearn: "1.5.2",
    joblib: "1.5.3",
    numpy: "2.4.4",
    /** The image's user (python/sklearn.Dockerfile `USER 1000`). */
    uid: 1000,
} as const;
