/**
 * The read-many model claim on EKS: a statically provisioned PersistentVolume of the Mountpoint for
 * S3 CSI driver on the model bucket's model prefix, read-only, and the claim `pvc://` URIs name.
 * storageDrivers.ts says why Mountpoint and not EFS. A file at `<path>` in the claim is the object
 * `s3://<bucket>/<modelPrefix><path>`: there is nothing to copy, and a model is put in the claim by
 * uploading it to the bucket (the seeding Job with the writer account, or `aws s3 cp` by a user).
 *
 * Ordering: the volume is bound to the claim in advance (the PV's `claimRef`, the claim's
 * `volumeName`), so the claim binds as soon as both exist, without waiting for a pod. Pulumi's
 * Kubernetes provider waits for a claim to be Bound unless its StorageClass binds on first consumer
 * (pulumi/pulumi-kubernetes#3130, `untilCoreV1PersistentVolumeClaimReady`); here there is no
 * StorageClass, so the claim is created only once it is Bound, and models that wait for
 * `ModelVolume.ready` start after the claim is bound and the driver is installed.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ModelVolume } from "../common/foundation";
import { platformLabels } from "../common/labels";
import { isDnsLabel } from "../common/validation";
import { csiDriverNames } from "./storageDrivers";

/** Default name of the model claim (what `pvc://models/<path>` names). */
export const defaultModelClaimName = "models";

/**
 * Mountpoint options of the model volume (awslabs/mountpoint-s3 mountpoint-s3-1.22.3
 * doc/CONFIGURATION.md; the CSI driver passes PV `mountOptions` to mount-s3 as flags):
 * - `read-only`: no write, delete or upload can be attempted (the access mode already asks the
 *   driver for it; stating it keeps the volume read-only if the access mode is ever changed);
 * - `allow-other`: the Mountpoint process is not the model server's user (KServe's runtimes run as
 *   uid 1000), and FUSE lets only the mounting user in without it (without it the driver adds
 *   `--allow-root` only: pkg/driver/node/node.go `NodePublishVolume`);
 * - `prefix`: only the model prefix is visible, `<prefix><path>` appears as `<path>`;
 * - `region`: the bucket's region, so Mountpoint does not probe for it (the nodes' instance metadata
 *   has a hop limit of 1, out of a pod's reach).
 */
export function modelVolumeMountOptions(args: { prefix: string; region: string }): string[] {
    return ["read-only", "allow-other", `prefix ${args.prefix}`, `region ${args.region}`];
}

/** The PersistentVolume and claim (pure, for tests). Capacity is ignored by the driver and required by Kubernetes. */
export function s3ModelVolumeSpecs(args: { bucketName: string; prefix: string; region: string; namespace: string; claimName: string }) {
    const pvName = `${args.namespace}-${args.claimName}-s3`;
    const labels = { ...platformLabels, "app.kubernetes.io/name": "model-volume" };
    const capacity = { storage: "1Ti" };
    const persistentVolume = {
        metadata: { name: pvName, labels },
        spec: {
            capacity,
            accessModes: ["ReadOnlyMany"],
            // Empty: statically provisioned, no StorageClass may bind another claim to it.
            storageClassName: "",
            // The bucket holds the models; deleting the claim must never touch it.
            persistentVolumeReclaimPolicy: "Retain",
            claimRef: { namespace: args.namespace, name: args.claimName },
            mountOptions: modelVolumeMountOptions(args),
            csi: {
                driver: csiDriverNames.mountpointS3,
                // Unique per cluster: Kubernetes processes a volume handle once per node.
                volumeHandle: `${args.bucketName}-${args.prefix.replace(/\/$/, "")}`,
                readOnly: true,
                volumeAttributes: { bucketName: args.bucketName },
            },
        },
    };
    const claim = {
        metadata: { name: args.claimName, namespace: args.namespace, labels },
        spec: {
            accessModes: ["ReadOnlyMany"],
            storageClassName: "",
            volumeName: pvName,
            resources: { requests: capacity },
        },
    };
    return { persistentVolume, claim };
}

export interface S3ModelVolumeArgs {
    /** The model bucket. Required. */
    readonly bucketName: pulumi.Input<string>;
    /** Key prefix the claim exposes (the model prefix, ends with `/`). Required. */
    readonly prefix: string;
    /** AWS region of the bucket. Required. */
    readonly region: string;
    /** The models namespace (must exist: the claim lives there). Required. */
    readonly namespace: pulumi.Input<string>;
    /** Name of the claim. Default: `models`. */
    readonly claimName?: string;
    /** The Mountpoint driver and anything else a pod mounting the claim needs first. Required. */
    readonly driver: readonly pulumi.Resource[];
}

/** The Mountpoint volume on the model prefix and the `models` claim, as a `ModelVolume`. */
export class S3ModelVolume extends pulumi.ComponentResource {
    public readonly persistentVolume: k8s.core.v1.PersistentVolume;
    public readonly claim: k8s.core.v1.PersistentVolumeClaim;
    public readonly volume: ModelVolume;

    constructor(name: string, args: S3ModelVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
        const claimName = args.claimName ?? defaultModelClaimName;
        if (!isDnsLabel(claimName)) throw new Error(`S3ModelVolume ${name}: claimName '${claimName}' is not a DNS label`);
        if (!/^[a-z0-9][a-z0-9._-]*\/$/.test(args.prefix)) throw new Error(`S3ModelVolume ${name}: prefix '${args.prefix}' must be one key segment ending in '/'`);
        super("inference-platform:aws:S3ModelVolume", name, {}, opts);
        const specs = pulumi
            .all([args.bucketName, args.namespace])
            .apply(([bucketName, namespace]) => s3ModelVolumeSpecs({ bucketName, prefix: args.prefix, region: args.region, namespace, claimName }));

        this.persistentVolume = new k8s.core.v1.PersistentVolume(
            `${name}-pv`,
            { metadata: specs.persistentVolume.metadata, spec: specs.persistentVolume.spec },
            { parent: this, dependsOn: [...args.driver] },
        );
        this.claim = new k8s.core.v1.PersistentVolumeClaim(
            `${name}-claim`,
            { metadata: specs.claim.metadata, spec: specs.claim.spec },
            { parent: this, dependsOn: [this.persistentVolume] },
        );
        this.volume = {
            claimName,
            namespace: this.claim.metadata.namespace,
            readOnlyForModels: true,
            readManyAcrossNodes: true,
            content: { kind: "model-store" },
            ready: [this.claim, ...args.driver],
            uploadCommand: pulumi.interpolate`aws s3 cp <model.joblib> s3://${args.bucketName}/${args.prefix}<model>/model.joblib`,
        };
        this.registerOutputs({ claimName, persistentVolumeName: this.persistentVolume.metadata.name });
    }
}
