/**
 * Storage drivers on EKS: add-on versions against the cluster's Kubernetes version, the drivers'
 * policies under a real IAM evaluator, the gp3 default StorageClass, and the Mountpoint model volume
 * (PersistentVolume and claim) as the AWS foundation builds them. The drivers' access contracts
 * against the whole synthesized stack are in test/iam/ (contracts/ebsCsiDriver.ts, mountpointS3.ts).
 */
import { describe, expect, it } from "vitest";
import { AwsFoundation } from "../components/aws/awsFoundation";
import { modelVolumeMountOptions, s3ModelVolumeSpecs } from "../components/aws/s3ModelVolume";
import { ebsCsiAddonConfiguration, ebsCsiDriverPolicy, gp3StorageClassSpec, mountpointModelReaderPolicy } from "../components/aws/storageDrivers";
import { createFoundation } from "../components/foundations";
import { loadConfig } from "../config";
import { storageDriverAddons, storageDriverAddonVersion, supportedKubernetesVersions } from "../versions";
import { decisionUnder } from "./iam/evaluator";
import { installMocks, promiseOf, testOidcIssuerHost } from "./kit";
import { stackConfig } from "./stackFiles";

const allows = async (policy: object, call: { action: string; resource: string; context?: Record<string, string | string[]> }) =>
    (await decisionUnder(policy as never, call)) === "Allowed";
const minor = (v: string) => Number(v.split(".")[1]);

describe("storage driver add-on versions", () => {
    for (const [driver, pin] of Object.entries(storageDriverAddons)) {
        for (const k8s of supportedKubernetesVersions) {
            it(`${pin.addonName} has a build for Kubernetes ${k8s} of the release the contract was read from`, () => {
                const version = storageDriverAddonVersion(driver as keyof typeof storageDriverAddons, k8s);
                // EKS add-on builds are `v<upstream release>-eksbuild.<n>`.
                expect(version).toMatch(new RegExp(`^${pin.driverVersion.replace(/\./g, "\\.")}-eksbuild\\.[1-9]\\d*$`));
                expect(minor(k8s), `${pin.addonName} supports Kubernetes >= ${pin.minimumKubernetesVersion}`).toBeGreaterThanOrEqual(minor(pin.minimumKubernetesVersion));
            });
        }
    }
    it("the upstream minimums are the ones the drivers publish", () => {
        // kubernetes-sigs/aws-ebs-csi-driver v1.64.0 charts/aws-ebs-csi-driver/Chart.yaml kubeVersion ">=1.17.0-0";
        // awslabs/mountpoint-s3-csi-driver v2.7.0 README.md "Compatibility": v1.30+ (Chart.yaml ">=1.30.0-0").
        expect(storageDriverAddons.ebsCsi.minimumKubernetesVersion).toBe("1.17");
        expect(storageDriverAddons.mountpointS3Csi.minimumKubernetesVersion).toBe("1.30");
        expect(storageDriverAddons.ebsCsi.addonName).toBe("aws-ebs-csi-driver");
        expect(storageDriverAddons.mountpointS3Csi.addonName).toBe("aws-mountpoint-s3-csi-driver");
    });
    it("refuses a Kubernetes version without a pin", () => {
        expect(() => storageDriverAddonVersion("ebsCsi", "1.32" as never)).toThrow(/no aws-ebs-csi-driver add-on version pinned for Kubernetes 1.32/);
    });
});

describe("the EBS CSI driver's policy (one cluster's volumes only)", () => {
    const clusterName = "inference-platform-dev";
    const policy = ebsCsiDriverPolicy({ clusterName, region: "us-east-2" });
    const volume = "arn:aws:ec2:us-east-2:123456789012:volume/vol-0123456789abcdef0";
    const newVolume = "arn:aws:ec2:us-east-2:123456789012:volume/*";
    const node = "arn:aws:ec2:us-east-2:123456789012:instance/i-0123456789abcdef0";
    // The tag the add-on makes the driver put on every volume (the add-on's configuration, not the policy).
    const [[tagKey, tagValue]] = Object.entries(JSON.parse(ebsCsiAddonConfiguration(clusterName)).controller.extraVolumeTags as Record<string, string>);

    it("the add-on's volume tag is this cluster's name", () => {
        expect(tagValue).toBe(clusterName);
        expect(tagKey.startsWith("kubernetes.io/")).toBe(false);
    });
    it("creates volumes only with the tag the add-on adds, and tags them only in the create request", async () => {
        expect(await allows(policy, { action: "ec2:CreateVolume", resource: newVolume, context: { [`aws:RequestTag/${tagKey}`]: tagValue } })).toBe(true);
        expect(await allows(policy, { action: "ec2:CreateVolume", resource: newVolume, context: { [`aws:RequestTag/${tagKey}`]: "another-cluster" } })).toBe(false);
        expect(await allows(policy, { action: "ec2:CreateVolume", resource: newVolume })).toBe(false);
        expect(await allows(policy, { action: "ec2:CreateTags", resource: newVolume, context: { "ec2:CreateAction": "CreateVolume" } })).toBe(true);
        expect(await allows(policy, { action: "ec2:CreateTags", resource: volume })).toBe(false);
        expect(await allows(policy, { action: "ec2:CreateTags", resource: volume, context: { "ec2:CreateAction": "CreateSnapshot" } })).toBe(false);
    });
    it("attaches, resizes and deletes only this cluster's volumes", async () => {
        for (const action of ["ec2:AttachVolume", "ec2:DetachVolume", "ec2:ModifyVolume", "ec2:DeleteVolume"]) {
            expect(await allows(policy, { action, resource: volume, context: { [`aws:ResourceTag/${tagKey}`]: clusterName } }), action).toBe(true);
            expect(await allows(policy, { action, resource: volume, context: { [`aws:ResourceTag/${tagKey}`]: "another-cluster" } }), action).toBe(false);
            expect(await allows(policy, { action, resource: volume }), action).toBe(false);
        }
    });
    it("attaches only to this cluster's nodes (managed node groups and Karpenter)", async () => {
        expect(await allows(policy, { action: "ec2:AttachVolume", resource: node, context: { "aws:ResourceTag/eks:cluster-name": clusterName } })).toBe(true);
        expect(await allows(policy, { action: "ec2:AttachVolume", resource: node, context: { [`aws:ResourceTag/kubernetes.io/cluster/${clusterName}`]: "owned" } })).toBe(true);
        expect(await allows(policy, { action: "ec2:AttachVolume", resource: node, context: { "aws:ResourceTag/eks:cluster-name": "other" } })).toBe(false);
        expect(await allows(policy, { action: "ec2:AttachVolume", resource: node, context: { "aws:ResourceTag/kubernetes.io/cluster/other": "owned" } })).toBe(false);
        expect(await allows(policy, { action: "ec2:AttachVolume", resource: node })).toBe(false);
    });
    it("has no other region, no snapshots, no KMS and no wildcard action", async () => {
        expect(await allows(policy, { action: "ec2:DeleteVolume", resource: "arn:aws:ec2:eu-west-1:123456789012:volume/vol-1", context: { [`aws:ResourceTag/${tagKey}`]: clusterName } })).toBe(false);
        expect(await allows(policy, { action: "ec2:CreateSnapshot", resource: volume, context: { [`aws:ResourceTag/${tagKey}`]: clusterName } })).toBe(false);
        expect(JSON.stringify(policy)).not.toContain("kms:");
        for (const s of policy.Statement as { Action: string | string[] }[]) for (const a of [s.Action].flat()) expect(a).not.toContain("*");
    });
});

describe("Mountpoint's policy (read-only, the model prefix only)", () => {
    const bucket = "inference-platform-dev-models-abcd1234";
    const kmsKeyArn = "arn:aws:kms:us-east-2:123456789012:key/0b5b6d3c-1111-2222-3333-444455556666";
    const policy = mountpointModelReaderPolicy({ bucketName: bucket, prefix: "models/", region: "us-east-2" });
    const policyKms = mountpointModelReaderPolicy({ bucketName: bucket, prefix: "models/", region: "us-east-2", kmsKeyArn });
    const object = (key: string) => `arn:aws:s3:::${bucket}/${key}`;

    it("lists and reads under the prefix", async () => {
        expect(await allows(policy, { action: "s3:ListBucket", resource: `arn:aws:s3:::${bucket}`, context: { "s3:prefix": "models/" } })).toBe(true);
        expect(await allows(policy, { action: "s3:ListBucket", resource: `arn:aws:s3:::${bucket}`, context: { "s3:prefix": "models/sklearn-iris-pvc/" } })).toBe(true);
        expect(await allows(policy, { action: "s3:GetObject", resource: object("models/sklearn-iris-pvc/model.joblib") })).toBe(true);
    });
    it("lists nothing else and reads nothing else", async () => {
        expect(await allows(policy, { action: "s3:ListBucket", resource: `arn:aws:s3:::${bucket}` })).toBe(false);
        expect(await allows(policy, { action: "s3:ListBucket", resource: `arn:aws:s3:::${bucket}`, context: { "s3:prefix": "secrets/" } })).toBe(false);
        expect(await allows(policy, { action: "s3:GetObject", resource: object("secrets/key") })).toBe(false);
        expect(await allows(policy, { action: "s3:GetObject", resource: "arn:aws:s3:::other-bucket/models/x" })).toBe(false);
    });
    it("writes nothing", async () => {
        for (const action of ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]) {
            expect(await allows(policyKms, { action, resource: object("models/sklearn-iris-pvc/model.joblib") }), action).toBe(false);
        }
        expect(await allows(policyKms, { action: "kms:GenerateDataKey", resource: kmsKeyArn, context: { "kms:ViaService": "s3.us-east-2.amazonaws.com" } })).toBe(false);
    });
    it("decrypts through S3 only, and only when the bucket has a key", async () => {
        expect(JSON.stringify(policy)).not.toContain("kms:");
        expect(await allows(policyKms, { action: "kms:Decrypt", resource: kmsKeyArn, context: { "kms:ViaService": "s3.us-east-2.amazonaws.com" } })).toBe(true);
        expect(await allows(policyKms, { action: "kms:Decrypt", resource: kmsKeyArn })).toBe(false);
    });
    it("refuses a prefix that would widen the grant", () => {
        expect(() => mountpointModelReaderPolicy({ bucketName: bucket, prefix: "", region: "us-east-2" })).toThrow(/prefix/);
        expect(() => mountpointModelReaderPolicy({ bucketName: bucket, prefix: "models", region: "us-east-2" })).toThrow(/ending in '\/'/);
    });
});

describe("the gp3 default StorageClass", () => {
    const sc = gp3StorageClassSpec();
    it("is encrypted gp3 from the EBS CSI driver, bound on first consumer, the cluster default", () => {
        // kubernetes-sigs/aws-ebs-csi-driver v1.64.0 docs/parameters.md: `type`, `encrypted` ("true"/"false"),
        // `csi.storage.k8s.io/fstype` (case-sensitive); the driver's name is ebs.csi.aws.com.
        expect(sc.provisioner).toBe("ebs.csi.aws.com");
        expect(sc.parameters).toEqual({ type: "gp3", encrypted: "true", "csi.storage.k8s.io/fstype": "ext4" });
        expect(sc.volumeBindingMode).toBe("WaitForFirstConsumer");
        // Kubernetes reads this annotation to pick the default class (storage.k8s.io docs, "Default StorageClass").
        expect(sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"]).toBe("true");
        expect(sc.allowVolumeExpansion).toBe(true);
        expect(sc.reclaimPolicy).toBe("Delete");
    });
});

describe("the Mountpoint model volume", () => {
    const specs = s3ModelVolumeSpecs({ bucketName: "b-models-abcd", prefix: "models/", region: "us-east-2", namespace: "models", claimName: "models" });
    const pv = specs.persistentVolume;
    const claim = specs.claim;
    it("is bound to the models claim in advance and to nothing else", () => {
        expect(pv.spec.claimRef).toEqual({ namespace: claim.metadata.namespace, name: claim.metadata.name });
        expect(claim.spec.volumeName).toBe(pv.metadata.name);
        // Static provisioning: both name the empty StorageClass (awslabs/mountpoint-s3-csi-driver v2.7.0 docs/CONFIGURATION.md).
        expect(pv.spec.storageClassName).toBe("");
        expect(claim.spec.storageClassName).toBe("");
        expect(claim.spec.resources.requests.storage).toBe(pv.spec.capacity.storage);
    });
    it("is read-only and read-many: ReadOnlyMany makes the driver mount with --read-only", () => {
        // awslabs/mountpoint-s3-csi-driver v2.7.0 pkg/driver/node/node.go NodePublishVolume: MULTI_NODE_READER_ONLY or a
        // read-only publish adds --read-only; PV mountOptions become mount-s3 flags.
        expect(pv.spec.accessModes).toEqual(["ReadOnlyMany"]);
        expect(claim.spec.accessModes).toEqual(["ReadOnlyMany"]);
        expect(pv.spec.csi.readOnly).toBe(true);
        expect(pv.spec.mountOptions).toContain("read-only");
        expect(pv.spec.persistentVolumeReclaimPolicy).toBe("Retain");
    });
    it("shows exactly the model prefix of the model bucket, in the bucket's region, to non-root model servers", () => {
        expect(pv.spec.csi.driver).toBe("s3.csi.aws.com");
        expect(pv.spec.csi.volumeAttributes).toEqual({ bucketName: "b-models-abcd" });
        expect(pv.spec.mountOptions).toEqual(expect.arrayContaining(["prefix models/", "region us-east-2", "allow-other"]));
        expect(modelVolumeMountOptions({ prefix: "serving/", region: "eu-west-1" })).toEqual(expect.arrayContaining(["prefix serving/", "region eu-west-1"]));
    });
});

function configOf(stack: string, overrides: Record<string, string> = {}) {
    const raw = stackConfig(stack, overrides);
    return loadConfig({ get: (key) => raw[key.startsWith("aws:") ? key : `inference-platform:${key}`] }, "inference-platform", stack);
}

describe("the AWS foundation's storage", async () => {
    const rec = await installMocks();
    const dev = configOf("dev");
    const foundation = createFoundation("eks", dev) as AwsFoundation;
    createFoundation("bare", { ...configOf("dev", { ebsCsiDriver: "false", modelVolume: "false", examples: '["sklearn-iris"]' }), cluster: { ...dev.cluster, name: "bare" } });
    await rec.settle();
    const addon = (name: string) => rec.byType("aws:eks/addon:Addon").find((a) => a.name.startsWith("eks-") && a.inputs.addonName === name)!;
    const role = (nameSuffix: string) => rec.one("aws:iam/role:Role", nameSuffix);
    const trustSub = (r: { inputs: Record<string, any> }) => JSON.parse(r.inputs.assumeRolePolicy).Statement[0].Condition.StringEquals[`${testOidcIssuerHost}:sub`];

    it("installs both drivers as add-ons at the versions pinned for the cluster's minor", () => {
        expect(dev.cluster.kubernetesVersion).toBe("1.34");
        expect(addon("aws-ebs-csi-driver").inputs.addonVersion).toBe(storageDriverAddons.ebsCsi.versions["1.34"]);
        expect(addon("aws-mountpoint-s3-csi-driver").inputs.addonVersion).toBe(storageDriverAddons.mountpointS3Csi.versions["1.34"]);
        for (const a of rec.byType("aws:eks/addon:Addon").filter((x) => x.name.startsWith("eks-"))) expect(a.inputs.clusterName).toBe("inference-platform-dev");
    });

    it("gives each add-on its own role, assumable only by the account the add-on's driver runs as", async () => {
        const ebsRole = role("eks-ebs-csi-ebs-csi-driver-role");
        const mpRole = role("eks-mountpoint-s3-mountpoint-s3-role");
        expect(addon("aws-ebs-csi-driver").inputs.serviceAccountRoleArn).toBe(ebsRole.state.arn);
        expect(addon("aws-mountpoint-s3-csi-driver").inputs.serviceAccountRoleArn).toBe(mpRole.state.arn);
        // The charts the add-ons package: aws-ebs-csi-driver v1.64.0 values.yaml controller.serviceAccount.name;
        // mountpoint-s3-csi-driver v2.7.0 values.yaml node.serviceAccount.name; both in kube-system.
        expect(trustSub(ebsRole)).toBe("system:serviceaccount:kube-system:ebs-csi-controller-sa");
        expect(trustSub(mpRole)).toBe("system:serviceaccount:kube-system:s3-csi-driver-sa");
        // The role's policy exists before the add-on starts calling AWS; the add-on waits for nodes.
        expect(rec.dependsOn(addon("aws-ebs-csi-driver"), rec.one("aws:iam/rolePolicy:RolePolicy", "eks-ebs-csi-ebs-csi-driver-policy"))).toBe(true);
        expect(rec.dependsOn(addon("aws-mountpoint-s3-csi-driver"), rec.one("aws:iam/rolePolicy:RolePolicy", "eks-mountpoint-s3-mountpoint-s3-policy"))).toBe(true);
        for (const group of rec.byType("aws:eks/nodeGroup:NodeGroup").filter((g) => g.name.startsWith("eks-"))) {
            expect(rec.dependsOn(addon("aws-ebs-csi-driver"), group), group.name).toBe(true);
        }
    });

    it("the Mountpoint role reads exactly the model prefix of the model bucket", async () => {
        const policy = JSON.parse(rec.one("aws:iam/rolePolicy:RolePolicy", "eks-mountpoint-s3-mountpoint-s3-policy").inputs.policy);
        const bucket = rec.one("aws:s3/bucket:Bucket", "eks-model-store-bucket").state.bucket;
        expect(await allows(policy, { action: "s3:GetObject", resource: `arn:aws:s3:::${bucket}/models/sklearn-iris-pvc/model.joblib` })).toBe(true);
        expect(await allows(policy, { action: "s3:GetObject", resource: `arn:aws:s3:::${bucket}/other/x` })).toBe(false);
    });

    it("makes the gp3 class the default after the driver exists", () => {
        const sc = rec.byType("kubernetes:storage.k8s.io/v1:StorageClass").find((s) => s.name.startsWith("eks-"))!;
        expect(sc.inputs.metadata.annotations["storageclass.kubernetes.io/is-default-class"]).toBe("true");
        expect(sc.inputs.parameters.encrypted).toBe("true");
        expect(rec.dependsOn(sc, addon("aws-ebs-csi-driver"))).toBe(true);
    });

    it("puts the claim in the models namespace, on the model bucket's prefix, after the Mountpoint driver", async () => {
        const pv = rec.byType("kubernetes:core/v1:PersistentVolume").find((p) => p.name.startsWith("eks-"))!;
        const claim = rec.byType("kubernetes:core/v1:PersistentVolumeClaim").find((p) => p.name.startsWith("eks-"))!;
        const bucket = rec.one("aws:s3/bucket:Bucket", "eks-model-store-bucket").state.bucket;
        expect(pv.inputs.spec.csi.volumeAttributes.bucketName).toBe(bucket);
        expect(pv.inputs.spec.mountOptions).toContain(`prefix ${dev.modelStore.modelPrefix}`);
        expect(claim.inputs.metadata).toMatchObject({ name: "models", namespace: dev.models.namespace });
        expect(rec.dependsOn(pv, addon("aws-mountpoint-s3-csi-driver"))).toBe(true);
        expect(rec.dependsOn(claim, pv)).toBe(true);
        expect(rec.dependsOn(claim, rec.one("kubernetes:core/v1:Namespace", "eks-model-store-models-namespace"))).toBe(true);
    });

    it("lets Pulumi wait for the claim to be Bound: no skipAwait on a claim bound in advance", () => {
        // A pre-bound claim binds without a pod, and pulumi-kubernetes awaits a claim until Bound
        // unless its StorageClass binds on first consumer (pulumi/pulumi-kubernetes#3130).
        const claim = rec.byType("kubernetes:core/v1:PersistentVolumeClaim").find((p) => p.name.startsWith("eks-"))!;
        expect(claim.inputs.metadata.annotations?.["pulumi.com/skipAwait"]).toBeUndefined();
        expect(claim.inputs.spec.volumeName).toBeTruthy();
    });

    it("describes the claim to the layers above as read-only, read-many and filled from the store", async () => {
        const volume = foundation.modelVolume!;
        expect(volume).toMatchObject({ claimName: "models", readOnlyForModels: true, readManyAcrossNodes: true, content: { kind: "model-store" } });
        expect(await promiseOf(volume.namespace)).toBe("models");
        const bucket = await promiseOf(foundation.modelStorage.bucket);
        expect(await promiseOf(volume.uploadCommand)).toBe(`aws s3 cp <model.joblib> s3://${bucket}/models/<model>/model.joblib`);
    });

    it("builds neither driver nor claim when both are switched off", () => {
        expect(rec.byType("aws:eks/addon:Addon").filter((a) => a.name.startsWith("bare-"))).toEqual([]);
        expect(rec.resources.filter((r) => r.name.startsWith("bare-") && /PersistentVolume|StorageClass/.test(r.type))).toEqual([]);
    });
});
