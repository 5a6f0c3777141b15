/**
 * The model claim on kind: a volume of kind's default StorageClass and a small loader pod that
 * mounts it read-write, so `pvc://models/<path>` works locally as it does on EKS. Models get into
 * the claim through a mount: the seeding Job writes the example's model, and a user copies theirs
 * with `kubectl cp` into the loader.
 *
 * kind installs rancher.io/local-path as the StorageClass `standard`: ReadWriteOnce, bound on first
 * consumer, deleted with its claim (kubernetes-sigs/kind v0.31.0 pkg/build/nodeimage/const_storage.go;
 * its setup script creates each volume directory with mode 0777, so the non-root loader, Job and
 * model server can all use it). The cluster has one node, so every pod that mounts the claim runs
 * where the volume is: ReadWriteOnce allows all of them, and read-many across nodes is moot.
 *
 * Ordering: a WaitForFirstConsumer claim stays Pending until a pod that uses it is scheduled. The
 * claim is created without waiting (`pulumi.com/skipAwait`), and what proves it bound is the loader
 * pod becoming Ready (a pod starts only once its volumes are bound and mounted): models wait for
 * the loader (`ModelVolume.ready`). (The provider's own handling of such claims,
 * pulumi/pulumi-kubernetes#3130, looks the StorageClass up and would also not block; the
 * annotation keeps that from mattering.)
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ModelVolume } from "../common/foundation";
import { platformLabels } from "../common/labels";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../common/podSecurity";
import { isDnsLabel } from "../common/validation";
import { sklearnRuntime } from "../../versions";

/** kind's default StorageClass (local-path). */
export const kindDefaultStorageClass = "standard";

/** Where the loader mounts the claim (the same path KServe mounts it at in model pods). */
export const loaderMountPath = "/mnt/models";

export interface LocalModelVolumeArgs {
    /** The models namespace (must exist). Required. */
    readonly namespace: pulumi.Input<string>;
    /** Name of the claim. Default: `models`. */
    readonly claimName?: string;
    /** Size requested (local-path does not enforce it). Default: `5Gi`. */
    readonly size?: string;
    /** StorageClass of the claim. Default: kind's `standard`. */
    readonly storageClassName?: string;
}

/** The loader pod (pure, for tests): non-root, read-only root, no API token, bounded resources. */
export function loaderPodSpec(claimName: string) {
    return {
        automountServiceAccountToken: false,
        securityContext: restrictedPodSecurityContext(sklearnRuntime.uid),
        containers: [
            {
                name: "loader",
                // The sklearn runtime's own image: it has `tar` for `kubectl cp`, and the runtime's
                // scikit-learn and joblib to check that a model loads before KServe tries
                // (`kubectl exec ... -- python -c "import joblib; joblib.load('...')"`). Model pods
                // pull it anyway, so the loader costs no extra image.
                image: sklearnRuntime.image,
                command: ["sleep", "infinity"],
                env: [{ name: "HOME", value: "/tmp" }],
                volumeMounts: [
                    { name: "models", mountPath: loaderMountPath },
                    { name: "tmp", mountPath: "/tmp" },
                ],
                resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
                securityContext: restrictedContainerSecurityContext(sklearnRuntime.uid),
            },
        ],
        volumes: [
            { name: "models", persistentVolumeClaim: { claimName } },
            { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
        ],
    };
}

/** The `models` claim on kind's local-path StorageClass and its loader pod, as a `ModelVolume`. */
export class LocalModelVolume extends pulumi.ComponentResource {
    public readonly claim: k8s.core.v1.PersistentVolumeClaim;
    public readonly loader: k8s.core.v1.Pod;
    public readonly volume: ModelVolume;

    constructor(name: string, args: LocalModelVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
        const claimName = args.claimName ?? "models";
        if (!isDnsLabel(claimName)) throw new Error(`LocalModelVolume ${name}: claimName '${claimName}' is not a DNS label`);
        super("inference-platform:local:LocalModelVolume", name, {}, opts);
        const labels = { ...platformLabels, "app.kubernetes.io/name": "model-volume" };

        this.claim = new k8s.core.v1.PersistentVolumeClaim(
            `${name}-claim`,
            {
                metadata: { name: claimName, namespace: args.namespace, labels, annotations: { "pulumi.com/skipAwait": "true" } },
                spec: {
                    accessModes: ["ReadWriteOnce"],
                    storageClassName: args.storageClassName ?? kindDefaultStorageClass,
                    resources: { requests: { storage: args.size ?? "5Gi" } },
                },
            },
            { parent: this },
        );
        this.loader = new k8s.core.v1.Pod(
            `${name}-loader`,
            {
                metadata: { name: "model-volume-loader", namespace: args.namespace, labels: { ...labels, "app.kubernetes.io/component": "loader" } },
                spec: this.claim.metadata.name.apply((claim) => loaderPodSpec(claim)),
            },
            { parent: this, dependsOn: [this.claim] },
        );
        const namespace = this.claim.metadata.namespace;
        const podName = this.loader.metadata.name;
        this.volume = {
            claimName,
            namespace,
            readOnlyForModels: true,
            readManyAcrossNodes: false,
            content: { kind: "mount", loader: { podName, mountPath: loaderMountPath } },
            // The loader Ready means the claim is bound and mountable.
            ready: [this.claim, this.loader],
            uploadCommand: pulumi.interpolate`kubectl exec -n ${namespace} ${podName} -- mkdir -p ${loaderMountPath}/<model> && kubectl cp <model.joblib> ${namespace}/${podName}:${loaderMountPath}/<model>/model.joblib`,
        };
        this.registerOutputs({ claimName, loaderPod: podName });
    }
}
