/**
 * `pvc://` on the local stack (kind), as `pulumi up` builds it: the `models` claim on kind's default
 * local-path StorageClass, the loader pod users `kubectl cp` into, and the example served from the
 * claim after the seeding Job wrote the model into it. kind's StorageClass binds on first consumer
 * (kubernetes-sigs/kind v0.31.0 pkg/build/nodeimage/const_storage.go: `standard`, rancher.io/local-path,
 * WaitForFirstConsumer), so what proves the claim bound is a pod that mounts it being Ready.
 */
import { Pod } from "kubernetes-models/v1/Pod";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { describe, expect, it } from "vitest";
import { sklearnRuntime } from "../versions";
import { kservePvcMount } from "./contracts/kservePvc";
import { loadCrdValidator } from "./crdSchema";
import { itWithSharedSchemas } from "./shared";
import { recordedStack } from "./stackRecording";

const crd = loadCrdValidator("kserve", "serving.kserve.io_inferenceservices.yaml");

// kubernetes-models' Model.validate() is not visible through its type re-exports here.
const validate = (Model: new (o: never) => unknown, obj: unknown) => (new Model(obj as never) as { validate(): void }).validate();

describe("pvc:// on the local stack (kind)", async () => {
    const rec = await recordedStack("local");
    const isvc = rec.byType("kubernetes:serving.kserve.io/v1beta1:InferenceService").find((r) => r.inputs.metadata.name === "sklearn-iris-pvc")!;
    const manifest = { apiVersion: isvc.inputs.apiVersion, kind: isvc.inputs.kind, metadata: isvc.inputs.metadata, spec: isvc.inputs.spec };
    const claim = rec.byType("kubernetes:core/v1:PersistentVolumeClaim").find((c) => c.inputs.metadata.name === "models")!;
    const loader = rec.one("kubernetes:core/v1:Pod", "model-volume-loader");
    const job = rec.resources.find((r) => r.type === "kubernetes:batch/v1:Job" && r.name.includes("seeding"))!;

    itWithSharedSchemas("the example InferenceService matches the KServe v0.20.0 CRD", () => {
        expect(crd!.errors(manifest)).toEqual([]);
    });

    it("the claim uses kind's default StorageClass by name, ReadWriteOnce (local-path's only mode)", () => {
        expect(claim.inputs.spec.storageClassName).toBe("standard");
        expect(claim.inputs.spec.accessModes).toEqual(["ReadWriteOnce"]);
        expect(claim.inputs.metadata.namespace).toBe(isvc.inputs.metadata.namespace);
        expect(() => validate(PersistentVolumeClaim as never, { apiVersion: "v1", kind: "PersistentVolumeClaim", ...claim.inputs })).not.toThrow();
    });

    it("KServe mounts the same claim read-only into the model container", () => {
        const mount = kservePvcMount(manifest)!;
        expect(mount.volume.persistentVolumeClaim.claimName).toBe("models");
        expect(mount.mount.readOnly).toBe(true);
        expect(mount.mount.subPath).toBe("sklearn-iris-pvc");
    });

    it("the loader is a restricted, non-root pod with limits that mounts the claim read-write", () => {
        const spec = loader.inputs.spec;
        expect(() => validate(Pod as never, { apiVersion: "v1", kind: "Pod", metadata: { name: "l" }, spec })).not.toThrow();
        expect(spec.automountServiceAccountToken).toBe(false);
        expect(spec.securityContext).toMatchObject({ runAsNonRoot: true });
        const [c] = spec.containers;
        expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
        expect(c.resources.limits.cpu && c.resources.limits.memory && c.resources.requests.cpu && c.resources.requests.memory).toBeTruthy();
        const models = spec.volumes.find((v: { persistentVolumeClaim?: { claimName: string } }) => v.persistentVolumeClaim?.claimName === "models");
        const mount = c.volumeMounts.find((m: { name: string }) => m.name === models.name);
        expect(mount.readOnly).not.toBe(true);
        // `kubectl cp` runs tar in the container; the runtime image (python:3.11-slim-bookworm base) has it.
        expect(c.image).toBe(sklearnRuntime.image);
    });

    it("the Job trains straight into the claim, mounted read-write, as the runtime's user", () => {
        const pod = job.inputs.spec.template.spec;
        const train = [...pod.initContainers, ...pod.containers].find((c: { name: string }) => c.name === "train");
        expect(train.image).toBe(sklearnRuntime.image);
        const volume = pod.volumes.find((v: { persistentVolumeClaim?: { claimName: string } }) => v.persistentVolumeClaim?.claimName === "models");
        const mount = train.volumeMounts.find((m: { name: string }) => m.name === volume.name);
        expect(mount.readOnly).not.toBe(true);
        expect(train.env).toEqual(expect.arrayContaining([{ name: "SEED_VOLUME_DIR", value: mount.mountPath }]));
        expect(train.securityContext.runAsUser).toBe(sklearnRuntime.uid);
        const cm = rec.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.inputs.data?.["manifest.json"])!;
        const iris = JSON.parse(cm.inputs.data["manifest.json"]).models.find((m: { source: { kind: string } }) => m.source.kind === "train-iris");
        // Where it writes (`<claim>/<dest>`) is where KServe mounts from (subPath).
        expect(iris).toMatchObject({ target: "volume", dest: `${kservePvcMount(manifest)!.mount.subPath}/` });
        // Only the claim's volume is written by this step; the S3 store's examples go through the copy step.
        expect(pod.containers.map((c: { name: string }) => c.name)).toEqual(["copy"]);
    });

    it("creates the first-consumer claim without waiting, and lets pods that mount it prove it bound", () => {
        // A WaitForFirstConsumer claim stays Pending until a pod uses it: waiting for Bound before
        // creating that pod would deadlock (pulumi/pulumi-kubernetes#895).
        expect(claim.inputs.metadata.annotations["pulumi.com/skipAwait"]).toBe("true");
        expect(rec.dependsOn(loader, claim)).toBe(true);
        expect(rec.dependsOn(job, loader)).toBe(true);
        expect(rec.dependsOn(isvc, loader)).toBe(true);
        expect(rec.dependsOn(isvc, job)).toBe(true);
        // The loader itself is awaited (no skipAwait): Pulumi waits for it to be Ready.
        expect(loader.inputs.metadata.annotations?.["pulumi.com/skipAwait"]).toBeUndefined();
    });

    it("builds no AWS resource and no storage driver", () => {
        expect(rec.resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
        expect(rec.byType("kubernetes:core/v1:PersistentVolume")).toEqual([]);
    });
});
