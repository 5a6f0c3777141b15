/**
 * `pvc://` on the dev stack (eks), as `pulumi up` builds it: the example serves the KServe notes'
 * iris model from the `models` claim, which Mountpoint backs with the model bucket's prefix. Checks
 * what KServe will mount (test/contracts/kservePvc.ts, from KServe's source), that the file the
 * seeding Job uploads is the file the model server finds there, and the order: the model starts
 * only after the claim is bound, the driver is installed and the model is uploaded.
 */
import { describe, expect, it } from "vitest";
import { sklearnRuntime } from "../versions";
import { kservePvcMount, sklearnServerModelExtensions } from "./contracts/kservePvc";
import { loadCrdValidator } from "./crdSchema";
import { itWithSharedSchemas } from "./shared";
import { recordedStack } from "./stackRecording";

const crd = loadCrdValidator("kserve", "serving.kserve.io_inferenceservices.yaml");

describe("pvc:// on the dev stack (eks)", async () => {
    const rec = await recordedStack("dev");
    const isvc = rec.byType("kubernetes:serving.kserve.io/v1beta1:InferenceService").find((r) => r.inputs.metadata.name === "sklearn-iris-pvc")!;
    const manifest = { apiVersion: isvc.inputs.apiVersion, kind: isvc.inputs.kind, metadata: isvc.inputs.metadata, spec: isvc.inputs.spec };
    const claim = rec.one("kubernetes:core/v1:PersistentVolumeClaim");
    const pv = rec.one("kubernetes:core/v1:PersistentVolume");
    const job = rec.resources.find((r) => r.type === "kubernetes:batch/v1:Job" && r.name.includes("seeding"))!;
    const mountpointAddon = rec.byType("aws:eks/addon:Addon").find((a) => a.inputs.addonName === "aws-mountpoint-s3-csi-driver")!;

    itWithSharedSchemas("the example InferenceService matches the KServe v0.20.0 CRD", () => {
        expect(crd!.errors(manifest)).toEqual([]);
    });

    it("serves the sklearn model over v2 from the models claim, through the sklearn runtime", () => {
        const model = isvc.inputs.spec.predictor.model;
        expect(model).toMatchObject({ modelFormat: { name: "sklearn" }, protocolVersion: "v2", runtime: "kserve-sklearnserver", storageUri: "pvc://models/sklearn-iris-pvc" });
        // No storage initializer runs for pvc://: the predictor needs no cloud identity.
        expect(isvc.inputs.spec.predictor.serviceAccountName).toBeUndefined();
    });

    it("KServe mounts the claim read-only, the model's directory as subPath, without a storage initializer", () => {
        const mount = kservePvcMount(manifest)!;
        expect(mount.storageInitializer).toBe(false);
        expect(mount.volume.persistentVolumeClaim.claimName).toBe(claim.inputs.metadata.name);
        expect(mount.mount).toEqual({ name: "kserve-pvc-source", mountPath: "/mnt/models", subPath: "sklearn-iris-pvc", readOnly: true });
        // The claim lives where the InferenceService does (a pod can mount claims of its own namespace only).
        expect(claim.inputs.metadata.namespace).toBe(isvc.inputs.metadata.namespace);
        // The emulation can tell: an InferenceService that asks for a writable mount gets one.
        const writable = { ...manifest, spec: { predictor: { ...manifest.spec.predictor, annotations: { "storage.kserve.io/readonly": "false" } } } };
        expect(kservePvcMount(writable)!.mount.readOnly).toBe(false);
    });

    it("every replica on every node reads the same objects: the claim is ReadOnlyMany on a read-only Mountpoint volume", () => {
        expect(claim.inputs.spec.accessModes).toEqual(["ReadOnlyMany"]);
        expect(pv.inputs.spec.accessModes).toEqual(["ReadOnlyMany"]);
        expect(pv.inputs.spec.csi.readOnly).toBe(true);
        expect(isvc.inputs.spec.predictor.maxReplicas).toBeGreaterThan(1);
    });

    it("the file the seeding Job uploads is the file the model server finds in the claim", () => {
        const cm = rec.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.inputs.data?.["manifest.json"])!;
        const seed = JSON.parse(cm.inputs.data["manifest.json"]);
        const iris = seed.models.find((m: { source: { kind: string } }) => m.source.kind === "train-iris");
        // On a claim that shows the store, the model goes to the store, trained with the runtime's scikit-learn.
        expect(iris.target).toBe("store");
        expect(iris.source.scikitLearn).toBe(sklearnRuntime.scikitLearn);
        const modelFile = /MODEL_FILE = "([^"]+)"/.exec(cm.inputs.data["train_iris.py"])![1];
        expect(sklearnServerModelExtensions.some((ext) => modelFile.endsWith(ext))).toBe(true);
        const uploadedKey = `${seed.prefix}${iris.dest}${modelFile}`;
        // Mountpoint shows `<prefix><path>` as `<path>`; KServe mounts the URI's path as /mnt/models.
        const prefix = (pv.inputs.spec.mountOptions as string[]).find((o) => o.startsWith("prefix "))!.slice("prefix ".length);
        const servedKey = `${prefix}${kservePvcMount(manifest)!.mount.subPath}/${modelFile}`;
        expect(servedKey).toBe(uploadedKey);
        expect(pv.inputs.spec.csi.volumeAttributes.bucketName).toBe(job.inputs.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === "SEED_BUCKET").value);
    });

    it("trains in the sklearn runtime's own image, then uploads with the writer account; the Job never mounts the read-only claim", () => {
        const pod = job.inputs.spec.template.spec;
        const train = pod.initContainers.find((c: { name: string }) => c.name === "train");
        expect(train.image).toBe(sklearnRuntime.image);
        expect(pod.initContainers.map((c: { name: string }) => c.name)).toEqual(["plan", "convert", "train"]);
        expect(pod.containers.map((c: { name: string }) => c.name)).toEqual(["copy"]);
        expect(pod.serviceAccountName).toBe("model-seeder");
        expect(JSON.stringify(pod.volumes)).not.toContain("persistentVolumeClaim");
    });

    it("starts the model only after the claim is bound, the Mountpoint driver is installed and the model is uploaded", () => {
        expect(rec.dependsOn(isvc, claim)).toBe(true);
        expect(rec.dependsOn(isvc, pv)).toBe(true);
        expect(rec.dependsOn(isvc, mountpointAddon)).toBe(true);
        expect(rec.dependsOn(isvc, job)).toBe(true);
        // The claim is awaited until Bound (no skipAwait), and it is bound to the volume in advance.
        expect(claim.inputs.metadata.annotations?.["pulumi.com/skipAwait"]).toBeUndefined();
        expect(pv.inputs.spec.claimRef).toEqual({ namespace: claim.inputs.metadata.namespace, name: claim.inputs.metadata.name });
    });

    it("the S3-backed examples are unchanged: they still wait for seeding and not for the claim", () => {
        const mnist = rec.byType("kubernetes:serving.kserve.io/v1beta1:InferenceService").find((r) => r.inputs.metadata.name === "tensorflow-s3")!;
        expect(rec.dependsOn(mnist, job)).toBe(true);
        expect(rec.dependsOn(mnist, claim)).toBe(false);
    });
});
