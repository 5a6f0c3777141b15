/**
 * What the stack renders, seen from IAM: roles with their trust and permission policies, the
 * resource policies IAM consults with them (bucket policies, KMS key policies), and the Kubernetes
 * ServiceAccounts each IRSA role is bound to. Built from a synthesized stack (`resources.json` of
 * `npm run synth`) or from the test kit's recorder, so contracts run against what would be deployed.
 */
import { createHash } from "node:crypto";
import { defaultKeyPolicy, type PolicyDocument } from "./evaluator";
import type { RoleAccess } from "./contract";
import type { RecordedResource } from "../kit";

/** One rendered resource: inputs as the program registered them, outputs where the mocks know them. */
export interface RenderedResource {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, any>;
    readonly outputs?: Record<string, any>;
}

export interface RenderedRole {
    /** Pulumi resource name of the `aws:iam/role:Role`. */
    readonly resourceName: string;
    readonly arn: string;
    readonly trustPolicy: PolicyDocument;
    readonly inlinePolicies: readonly { readonly name: string; readonly policy: PolicyDocument }[];
    readonly managedPolicyArns: readonly string[];
}

/** A Kubernetes ServiceAccount annotated with an IRSA role. */
export interface RoleBinding {
    readonly roleArn: string;
    readonly namespace: string;
    readonly serviceAccount: string;
    /** Which rendered object declares it. */
    readonly declaredBy: string;
}

/** Deterministic stand-in for a KMS key id (a UUID), as AWS would assign on create. */
export function keyIdFor(resourceName: string): string {
    const h = createHash("sha256").update(resourceName).digest("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * The synth writes values known only after deploy as `<computed:TYPE:NAME.PROPERTY>`. IAM needs real
 * ARNs, so the ones policies refer to are filled in the way AWS would form them; anything else stays
 * a placeholder (and fails loudly if it reaches a policy).
 */
export function fillComputedValues(text: string, facts: { accountId: string; region: string }): string {
    return text.replace(/<computed:(.+?):([^:<>]+)\.(\w+)>/g, (placeholder, type: string, name: string, property: string) => {
        if (type === "aws:iam/role:Role" && property === "arn") return `arn:aws:iam::${facts.accountId}:role/${name}`;
        if (type === "aws:iam/role:Role" && property === "name") return name;
        if (type === "aws:kms/key:Key" && property === "arn") return `arn:aws:kms:${facts.region}:${facts.accountId}:key/${keyIdFor(name)}`;
        if (type === "eks:index:Cluster" && property === "oidcId") return createHash("sha256").update(name).digest("hex").slice(0, 32).toUpperCase();
        return placeholder;
    });
}

/** Resources of a synthesized stack (`files["resources.json"]`), computed ARNs filled in. */
export function fromSynth(resourcesJson: string, facts: { accountId: string; region: string }): RenderedResource[] {
    const parsed = JSON.parse(fillComputedValues(resourcesJson, facts)) as { resources: RenderedResource[] };
    return parsed.resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs ?? {} }));
}

/** Resources the test kit recorded (mock outputs included). */
export function fromRecorder(resources: readonly RecordedResource[]): RenderedResource[] {
    return resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs, outputs: r.state }));
}

const parseDocument = (value: unknown): PolicyDocument | undefined => {
    const doc = typeof value === "string" ? safeJson(value) : value;
    return doc && typeof doc === "object" && "Statement" in (doc as object) ? (doc as PolicyDocument) : undefined;
};
function safeJson(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}

export class RenderedStack {
    readonly roles: RenderedRole[];
    readonly bindings: RoleBinding[];

    constructor(
        readonly resources: readonly RenderedResource[],
        readonly accountId: string,
        readonly region: string,
    ) {
        const byType = (type: string) => resources.filter((r) => r.type === type);
        this.roles = byType("aws:iam/role:Role").map((role) => {
            const roleName = role.outputs?.name ?? role.name;
            const attachedTo = (r: RenderedResource) => r.inputs.role === roleName;
            return {
                resourceName: role.name,
                arn: role.outputs?.arn ?? `arn:aws:iam::${accountId}:role/${roleName}`,
                trustPolicy: parseDocument(role.inputs.assumeRolePolicy)!,
                inlinePolicies: byType("aws:iam/rolePolicy:RolePolicy")
                    .filter(attachedTo)
                    .map((p) => ({ name: p.name, policy: parseDocument(p.inputs.policy)! })),
                managedPolicyArns: byType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                    .filter(attachedTo)
                    .map((a) => a.inputs.policyArn as string),
            };
        });
        this.bindings = [...serviceAccountBindings(resources), ...helmBindings(resources), ...addonBindings(resources)];
    }

    byType(type: string): RenderedResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The role whose Pulumi resource name is `resourceName`. */
    role(resourceName: string): RenderedRole {
        const found = this.roles.find((r) => r.resourceName === resourceName);
        if (!found) throw new Error(`no rendered role ${resourceName}; roles: ${this.roles.map((r) => r.resourceName).join(", ")}`);
        return found;
    }

    /** The role an IRSA ServiceAccount `namespace/name` is annotated with. */
    roleOfServiceAccount(namespace: string, serviceAccount: string): RenderedRole {
        const binding = this.bindings.find((b) => b.namespace === namespace && b.serviceAccount === serviceAccount);
        if (!binding) throw new Error(`no ServiceAccount ${namespace}/${serviceAccount} with eks.amazonaws.com/role-arn`);
        const role = this.roles.find((r) => r.arn === binding.roleArn);
        if (!role) throw new Error(`${namespace}/${serviceAccount} names ${binding.roleArn}, which the stack does not create`);
        return role;
    }

    /** The bucket policy or KMS key policy IAM evaluates with a request on `resourceArn`. */
    resourcePolicyFor(resourceArn: string): PolicyDocument | undefined {
        const s3 = /^arn:aws[\w-]*:s3:::([^/]+)/.exec(resourceArn);
        if (s3) {
            const policy = this.byType("aws:s3/bucketPolicy:BucketPolicy").find((p) => p.inputs.bucket === s3[1]);
            return policy ? parseDocument(policy.inputs.policy) : undefined;
        }
        if (/^arn:aws[\w-]*:kms:/.test(resourceArn)) {
            const key = this.kmsKeys().find((k) => k.arn === resourceArn);
            if (key) return key.policy;
        }
        return undefined;
    }

    /** KMS keys the stack creates, with the key policy AWS will hold (the default one when none is rendered). */
    kmsKeys(): { arn: string; policy: PolicyDocument }[] {
        return this.byType("aws:kms/key:Key").map((k) => ({
            arn: k.outputs?.arn ?? `arn:aws:kms:${this.region}:${this.accountId}:key/${keyIdFor(k.name)}`,
            policy: parseDocument(k.inputs.policy) ?? defaultKeyPolicy(this.accountId),
        }));
    }

    /** Default encryption of `bucket` as S3 applies it to new objects. */
    bucketEncryption(bucket: string): { algorithm: string; kmsKeyArn?: string; bucketKey: boolean } {
        const config = this.byType("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").find(
            (c) => c.inputs.bucket === bucket,
        );
        if (!config) throw new Error(`bucket ${bucket} has no encryption configuration`);
        const rule = config.inputs.rules[0];
        return {
            algorithm: rule.applyServerSideEncryptionByDefault.sseAlgorithm,
            kmsKeyArn: rule.applyServerSideEncryptionByDefault.kmsMasterKeyId,
            bucketKey: rule.bucketKeyEnabled === true,
        };
    }

    /** What IAM consults for `role`'s requests. */
    access(role: RenderedRole): RoleAccess {
        return {
            roleArn: role.arn,
            accountId: this.accountId,
            identityPolicies: role.inlinePolicies,
            resourcePolicyFor: (arn) => this.resourcePolicyFor(arn),
            accountOf: (arn) => /^arn:[^:]+:[^:]+:[^:]*:(\d{12}):/.exec(arn)?.[1] ?? this.accountId,
        };
    }
}

const roleArnAnnotation = "eks.amazonaws.com/role-arn";

function serviceAccountBindings(resources: readonly RenderedResource[]): RoleBinding[] {
    return resources
        .filter((r) => r.type === "kubernetes:core/v1:ServiceAccount" && r.inputs.metadata?.annotations?.[roleArnAnnotation])
        .map((r) => ({
            roleArn: r.inputs.metadata.annotations[roleArnAnnotation],
            namespace: r.inputs.metadata.namespace,
            serviceAccount: r.outputs?.metadata?.name ?? r.inputs.metadata.name,
            declaredBy: `${r.type} ${r.name}`,
        }));
}

/**
 * ServiceAccounts a Helm chart creates in its release namespace: any values map holding `name` and
 * annotations with a role ARN (the load balancer controller's `serviceAccount`, the autoscaler's
 * `rbac.serviceAccount`: both charts name the account `.name` in `.Release.Namespace`).
 */
function helmBindings(resources: readonly RenderedResource[]): RoleBinding[] {
    const found: RoleBinding[] = [];
    for (const release of resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release")) {
        const visit = (value: unknown, path: string) => {
            if (!value || typeof value !== "object") return;
            const map = value as Record<string, any>;
            const arn = map.annotations?.[roleArnAnnotation];
            if (typeof arn === "string" && typeof map.name === "string") {
                found.push({ roleArn: arn, namespace: release.inputs.namespace, serviceAccount: map.name, declaredBy: `Helm release ${release.inputs.name} values${path}` });
            }
            for (const [k, v] of Object.entries(map)) visit(v, `${path}.${k}`);
        };
        visit(release.inputs.values, "");
    }
    return found;
}

/**
 * The ServiceAccount an EKS add-on annotates with its `serviceAccountRoleArn`, per add-on, as the
 * upstream charts the add-ons package name them: kubernetes-sigs/aws-ebs-csi-driver v1.64.0
 * charts/aws-ebs-csi-driver/values.yaml `controller.serviceAccount.name`; awslabs/mountpoint-s3-csi-driver
 * v2.7.0 charts/aws-mountpoint-s3-csi-driver/values.yaml `node.serviceAccount.name` (both in kube-system,
 * the add-ons' namespace).
 */
export const addonServiceAccounts: Readonly<Record<string, { readonly namespace: string; readonly name: string }>> = {
    "aws-ebs-csi-driver": { namespace: "kube-system", name: "ebs-csi-controller-sa" },
    "aws-mountpoint-s3-csi-driver": { namespace: "kube-system", name: "s3-csi-driver-sa" },
};

function addonBindings(resources: readonly RenderedResource[]): RoleBinding[] {
    return resources
        .filter((r) => r.type === "aws:eks/addon:Addon" && r.inputs.serviceAccountRoleArn)
        .map((r) => {
            const sa = addonServiceAccounts[r.inputs.addonName];
            if (!sa) throw new Error(`EKS add-on ${r.inputs.addonName} has a role but no known ServiceAccount: add it to addonServiceAccounts`);
            return { roleArn: r.inputs.serviceAccountRoleArn, namespace: sa.namespace, serviceAccount: sa.name, declaredBy: `EKS add-on ${r.inputs.addonName}` };
        });
}
