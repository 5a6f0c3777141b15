/**
 * How KServe v0.20.0 mounts a `pvc://` storage URI into a predictor pod, written from its source
 * (never from our code), so tests can check what our InferenceServices and claims lead to:
 *
 * - kserve/kserve v0.20.0 pkg/controller/v1beta1/inferenceservice/components/predictor.go
 *   `buildPredictorResources`: the pod's annotations are the InferenceService's annotations and the
 *   predictor's own (`spec.predictor.annotations`), both filtered by the disallowed list.
 * - pkg/webhook/admission/pod/storage_initializer_injector.go `InjectStorageInitializer` (the single
 *   storageUri path, `IsLegacyURI: true`) → `CommonStorageInitialization`: for a URI that starts with
 *   `pvc://` no init container is added (and no credentials); the claim is mounted into the model
 *   container (`kserve-container`) and the transformer, if any, at `/mnt/models`
 *   (constants.DefaultModelLocalMountPath) with the URI's path as subPath, volume name
 *   `kserve-pvc-source` (constants.PvcSourceMountName).
 * - `GetStorageInitializerReadOnlyFlag`: read-only unless the pod annotation
 *   `storage.kserve.io/readonly` (constants.StorageReadonlyAnnotationKey) is exactly "false".
 * - pkg/utils/storage.go `ParsePvcURI`: `pvc://<name>/<path...>` → name, path joined by `/`;
 *   `AddModelMount`: the volume is a `persistentVolumeClaim` source with `claimName` only.
 */

export interface KservePvcMount {
    readonly volume: { readonly name: string; readonly persistentVolumeClaim: { readonly claimName: string } };
    readonly mount: { readonly name: string; readonly mountPath: string; readonly subPath: string; readonly readOnly: boolean };
    /** Whether a storage initializer init container runs (never, for pvc://). */
    readonly storageInitializer: boolean;
}

/** The mount KServe makes for an InferenceService manifest's predictor model, or undefined when its URI is not `pvc://`. */
export function kservePvcMount(isvc: { metadata?: { annotations?: Record<string, string> }; spec: { predictor: { annotations?: Record<string, string>; model?: { storageUri?: string } } } }): KservePvcMount | undefined {
    const uri = isvc.spec.predictor.model?.storageUri;
    if (typeof uri !== "string" || !uri.startsWith("pvc://")) return undefined;
    const annotations = { ...(isvc.metadata?.annotations ?? {}), ...(isvc.spec.predictor.annotations ?? {}) };
    const parts = uri.slice("pvc://".length).split("/");
    const claimName = parts[0];
    const subPath = parts.slice(1).join("/");
    const readOnly = annotations["storage.kserve.io/readonly"] !== "false";
    return {
        volume: { name: "kserve-pvc-source", persistentVolumeClaim: { claimName } },
        mount: { name: "kserve-pvc-source", mountPath: "/mnt/models", subPath, readOnly },
        storageInitializer: false,
    };
}

/**
 * The model file KServe's sklearn server loads from the mounted directory: the one file ending in
 * `.joblib`, `.pkl` or `.pickle` (kserve/kserve v0.20.0 python/sklearnserver/sklearnserver/model.py
 * `MODEL_EXTENSIONS`, `SKLearnModel.load`: more than one is an error).
 */
export const sklearnServerModelExtensions = [".joblib", ".pkl", ".pickle"] as const;
