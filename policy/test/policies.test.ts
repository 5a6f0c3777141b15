import { describe, expect, it } from "vitest";
import { ec2NodeClassManifest, gpuNodePoolManifest } from "../../components/aws/gpuNodePool";
import { karpenterControllerPolicy } from "../../components/aws/karpenter";
import { clusterAutoscalerPolicy } from "../../components/aws/clusterAutoscaler";
import { authPolicies } from "../../components/platform/ingressAuth";
import { irsaTrustPolicy } from "../../components/aws/irsa";
import { loadBalancerControllerPolicy } from "../../components/aws/loadBalancerController";
import { ebsCsiDriverPolicy } from "../../components/aws/storageDrivers";
import {
    checkBucketCompanions,
    checkEipCount,
    iamWildcardExceptionTag,
    Inputs,
    resourcePolicies,
    ResourceView,
    runPolicies,
    stackPolicies,
} from "../policies";

const host = "oidc.eks.us-east-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const providerArn = `arn:aws:iam::123456789012:oidc-provider/${host}`;

/** A secure pod spec; tests break one field at a time. */
function pod(container: Inputs = {}): Inputs {
    return {
        securityContext: { runAsNonRoot: true, runAsUser: 1000 },
        containers: [
            {
                name: "app",
                image: "ghcr.io/example/app:1.2.3",
                resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "256Mi" } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                ...container,
            },
        ],
    };
}
const deployment = (container: Inputs = {}) => ({ metadata: { name: "d", namespace: "apps" }, spec: { template: { spec: pod(container) } } });

const isvc = (model: Inputs = {}, extra: Inputs = {}) => ({
    metadata: { name: "iris", namespace: "models" },
    spec: {
        predictor: {
            serviceAccountName: "kserve-models",
            securityContext: { runAsNonRoot: true },
            model: {
                modelFormat: { name: "sklearn" },
                storageUri: "s3://bucket/models/iris",
                resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "512Mi" } },
                securityContext: { allowPrivilegeEscalation: false },
                ...model,
            },
            ...extra,
        },
    },
});

const gpuGroup = (overrides: Inputs = {}) => ({
    amiType: "AL2023_x86_64_NVIDIA",
    instanceTypes: ["g5.xlarge", "g6.xlarge"],
    scalingConfig: { minSize: 0, desiredSize: 0, maxSize: 2 },
    taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }],
    ...overrides,
});

const tlsPolicy = {
    Version: "2012-10-17",
    Statement: [
        {
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
    ],
};

const allow = (Action: unknown, Resource: unknown, extra: Inputs = {}) =>
    JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action, Resource, ...extra }] });

interface Case {
    readonly type: string;
    readonly pass: Inputs;
    readonly fail: Inputs;
    /** Expected fragment of the failing message. */
    readonly message: RegExp;
    readonly name?: string;
}

/** One passing and one failing resource per policy (more cases per policy below). */
const cases: Record<string, Case> = {
    "s3-public-access-block": {
        type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        pass: { bucket: "b", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
        fail: { bucket: "b", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true },
        message: /restrictPublicBuckets must be true/,
    },
    "s3-bucket-encryption": {
        type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        pass: { bucket: "b", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "k" }, bucketKeyEnabled: true }] },
        fail: { bucket: "b", rules: [{ bucketKeyEnabled: true }] },
        message: /sseAlgorithm must be one of/,
    },
    "s3-tls-only": {
        type: "aws:s3/bucketPolicy:BucketPolicy",
        pass: { bucket: "b", policy: JSON.stringify(tlsPolicy) },
        fail: { bucket: "b", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ ...tlsPolicy.Statement[0], Condition: { Bool: { "aws:SecureTransport": "true" } } }] }) },
        message: /TLS only/,
    },
    "irsa-trust-exact": {
        type: "aws:iam/role:Role",
        pass: { assumeRolePolicy: JSON.stringify(irsaTrustPolicy({ oidcProviderArn: providerArn, oidcIssuer: `https://${host}`, namespace: "models", serviceAccountName: "kserve-models" })) },
        fail: {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Effect: "Allow",
                        Principal: { Federated: providerArn },
                        Action: "sts:AssumeRoleWithWebIdentity",
                        Condition: { StringLike: { [`${host}:sub`]: "system:serviceaccount:models:*" }, StringEquals: { [`${host}:aud`]: "sts.amazonaws.com" } },
                    },
                ],
            }),
        },
        message: /sub uses StringLike/,
    },
    "iam-no-wildcards": {
        type: "aws:iam/rolePolicy:RolePolicy",
        pass: { role: "r", policy: allow(["s3:GetObject"], "arn:aws:s3:::b/models/*") },
        fail: { role: "r", policy: allow("s3:*", "arn:aws:s3:::b/models/*") },
        message: /wildcard action 's3:\*'/,
    },
    "eks-version-supported": {
        type: "eks:index:Cluster",
        pass: { version: "1.34" },
        fail: { version: "1.29" },
        message: /1\.29 is not supported/,
    },
    "eks-upgrade-policy-standard": {
        type: "aws:eks/cluster:Cluster",
        pass: { upgradePolicy: { supportType: "STANDARD" } },
        fail: { upgradePolicy: { supportType: "EXTENDED" } },
        message: /must be STANDARD \(is EXTENDED\)/,
    },
    "eks-control-plane-logging": {
        type: "eks:index:Cluster",
        pass: { enabledClusterLogTypes: ["api", "audit", "authenticator", "scheduler"] },
        fail: { enabledClusterLogTypes: ["api"] },
        message: /missing audit, authenticator/,
    },
    "eks-public-endpoint-restricted": {
        type: "eks:index:Cluster",
        pass: { endpointPublicAccess: true, publicAccessCidrs: ["198.51.100.0/24"] },
        fail: { endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/0"] },
        message: /accepts 0\.0\.0\.0\/0/,
    },
    "gpu-node-group-nvidia": {
        type: "aws:eks/nodeGroup:NodeGroup",
        pass: gpuGroup(),
        fail: gpuGroup({ amiType: "AL2023_x86_64_STANDARD" }),
        message: /amiType must be AL2023_x86_64_NVIDIA/,
    },
    "gpu-node-group-scales-to-zero": {
        type: "aws:eks/nodeGroup:NodeGroup",
        pass: gpuGroup(),
        fail: gpuGroup({ scalingConfig: { minSize: 1, desiredSize: 1, maxSize: 2 } }),
        message: /minSize is 1/,
    },
    "launch-template-ebs-encrypted": {
        type: "aws:ec2/launchTemplate:LaunchTemplate",
        pass: { blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 50, volumeType: "gp3", encrypted: "true" } }] },
        fail: { blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 50, volumeType: "gp3" } }] },
        message: /\/dev\/xvda must be encrypted/,
    },
    "launch-template-imdsv2": {
        type: "aws:ec2/launchTemplate:LaunchTemplate",
        pass: { metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 } },
        fail: { metadataOptions: { httpEndpoint: "enabled", httpTokens: "optional", httpPutResponseHopLimit: 1 } },
        message: /httpTokens must be required/,
    },
    "karpenter-nodeclass-hardened": {
        type: "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
        pass: {
            spec: {
                amiSelectorTerms: [{ alias: "al2023@v20260714" }],
                metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
                blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: "100Gi", volumeType: "gp3", encrypted: true } }],
            },
        },
        fail: { spec: { amiSelectorTerms: [{ alias: "al2023@latest" }], metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 2 }, blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: "100Gi" } }] } },
        message: /\/dev\/xvda must be encrypted[\s\S]*httpTokens must be required[\s\S]*HopLimit is 2[\s\S]*'al2023@latest' is not pinned/,
    },
    "karpenter-nodepool-limited": {
        type: "kubernetes:karpenter.sh/v1:NodePool",
        pass: { spec: { template: { spec: { taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" }] } }, limits: { "nvidia.com/gpu": "2", cpu: "16" } } },
        fail: { spec: { template: { spec: { taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" }] } }, limits: { cpu: "16" } } },
        message: /must limit nvidia.com\/gpu/,
    },
    "container-resources": {
        type: "kubernetes:apps/v1:Deployment",
        pass: deployment(),
        fail: deployment({ resources: { requests: { cpu: "100m", memory: "128Mi" } } }),
        message: /containers\[0\] \(app\): missing resources limits\.cpu, limits\.memory/,
    },
    "container-security-context": {
        type: "kubernetes:apps/v1:Deployment",
        pass: deployment(),
        fail: deployment({ securityContext: { allowPrivilegeEscalation: true } }),
        message: /allowPrivilegeEscalation must be false/,
    },
    "container-image-pinned": {
        type: "kubernetes:apps/v1:Deployment",
        pass: deployment({ image: `ghcr.io/example/app@sha256:${"a".repeat(64)}` }),
        fail: deployment({ image: "ghcr.io/example/app:latest" }),
        message: /uses :latest/,
    },
    "authz-no-allow-all-paths": {
        type: "kubernetes:security.istio.io/v1:AuthorizationPolicy",
        pass: { spec: { action: "ALLOW", rules: [{ to: [{ operation: { paths: ["/v1/models/*", "/v2/models/*"] } }] }] } },
        fail: { spec: { action: "ALLOW", rules: [{ to: [{ operation: { paths: ["/*"] } }] }] } },
        message: /allows every path \('\/\*'\)/,
    },
    "isvc-storage-uri-scheme": {
        type: "kubernetes:serving.kserve.io/v1beta1:InferenceService",
        pass: isvc(),
        fail: isvc({ storageUri: "http://example.com/model.joblib" }),
        message: /storageUri 'http:\/\/example\.com\/model\.joblib': scheme must be one of/,
    },
    "loadbalancer-only-ingress-gateway": {
        type: "kubernetes:core/v1:Service",
        pass: { metadata: { name: "istio-ingressgateway", namespace: "istio-system" }, spec: { type: "LoadBalancer" } },
        fail: { metadata: { name: "gateway", namespace: "apps" }, spec: { type: "LoadBalancer" } },
        message: /apps\/gateway is a LoadBalancer/,
    },
    "helm-release-explicit": {
        type: "kubernetes:helm.sh/v3:Release",
        pass: { name: "cert-manager", namespace: "cert-manager", chart: "cert-manager", version: "v1.19.6", repositoryOpts: { repo: "https://charts.jetstack.io" } },
        fail: { name: "cert-manager", namespace: "cert-manager", chart: "cert-manager", version: "^1.19.0", repositoryOpts: { repo: "https://charts.jetstack.io" } },
        message: /version must be an exact chart version/,
    },
    "ecr-scan-on-push": {
        type: "aws:ecr/repository:Repository",
        pass: { imageScanningConfiguration: { scanOnPush: true } },
        fail: { imageScanningConfiguration: { scanOnPush: false } },
        message: /scanOnPush should be true/,
    },
    "ecr-immutable-tags": {
        type: "aws:ecr/repository:Repository",
        pass: { imageTagMutability: "IMMUTABLE" },
        fail: {},
        message: /imageTagMutability is MUTABLE/,
    },
    "kms-key-rotation": {
        type: "aws:kms/key:Key",
        pass: { enableKeyRotation: true },
        fail: { enableKeyRotation: false },
        message: /enableKeyRotation must be true/,
    },
};

const policy = (name: string) => {
    const p = resourcePolicies.find((x) => x.name === name);
    if (!p) throw new Error(`no policy ${name}`);
    return p;
};
const violations = (name: string, type: string, inputs: Inputs, resourceName = "r") => policy(name).validate(type, inputs, resourceName);

describe("policy catalogue", () => {
    it("has at least 15 policies with unique names", () => {
        const names = [...resourcePolicies, ...stackPolicies].map((p) => p.name);
        expect(names.length).toBeGreaterThanOrEqual(15);
        expect(new Set(names).size).toBe(names.length);
    });
    it("has a pass/fail case for every resource policy", () => {
        expect(Object.keys(cases).sort()).toEqual(resourcePolicies.map((p) => p.name).sort());
    });
    it("makes the security policies mandatory", () => {
        for (const name of ["s3-public-access-block", "irsa-trust-exact", "iam-no-wildcards", "container-security-context", "authz-no-allow-all-paths"]) {
            expect(policy(name).enforcementLevel).toBe("mandatory");
        }
    });
});

describe.each(Object.entries(cases))("%s", (name, c) => {
    it("applies to its resource type", () => {
        expect(policy(name).resourceTypes).toContain(c.type);
    });
    it("passes a compliant resource", () => {
        expect(violations(name, c.type, c.pass, c.name)).toEqual([]);
    });
    it("flags a non-compliant resource", () => {
        const found = violations(name, c.type, c.fail, c.name);
        expect(found.length).toBeGreaterThan(0);
        expect(found.join("\n")).toMatch(c.message);
    });
});

describe("S3 details", () => {
    it("flags every missing public access flag", () => {
        expect(violations("s3-public-access-block", cases["s3-public-access-block"].type, { bucket: "b" })).toHaveLength(4);
    });
    it("checks inline encryption on an aws v7 Bucket and leaves a bucket without it to the stack policy", () => {
        const type = "aws:s3/bucket:Bucket";
        expect(violations("s3-bucket-encryption", type, { serverSideEncryptionConfiguration: { rule: { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } } } })).toEqual([]);
        expect(violations("s3-bucket-encryption", type, { serverSideEncryptionConfiguration: { rule: { applyServerSideEncryptionByDefault: { sseAlgorithm: "none" } } } })).toHaveLength(1);
        expect(violations("s3-bucket-encryption", type, { bucketPrefix: "b-" })).toEqual([]);
    });
    it("accepts the policy as an object and rejects invalid JSON", () => {
        expect(violations("s3-tls-only", "aws:s3/bucketPolicy:BucketPolicy", { policy: tlsPolicy })).toEqual([]);
        expect(violations("s3-tls-only", "aws:s3/bucketPolicy:BucketPolicy", { policy: "{not json" })).toEqual(["policy is not valid JSON"]);
    });
    it("does not count a TLS deny limited to one principal", () => {
        const policyDoc = { Statement: [{ ...tlsPolicy.Statement[0], Principal: { AWS: "arn:aws:iam::123456789012:root" } }] };
        expect(violations("s3-tls-only", "aws:s3/bucketPolicy:BucketPolicy", { policy: policyDoc })).toHaveLength(1);
    });
});

describe("IRSA trust details", () => {
    const trust = (condition: Inputs, extra: Inputs = {}) => ({
        assumeRolePolicy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Federated: providerArn }, Action: "sts:AssumeRoleWithWebIdentity", Condition: condition, ...extra }],
        }),
    });
    const check = (inputs: Inputs) => violations("irsa-trust-exact", "aws:iam/role:Role", inputs);
    it("requires aud", () => {
        expect(check(trust({ StringEquals: { [`${host}:sub`]: "system:serviceaccount:models:kserve-models" } })).join()).toMatch(/aud must be exactly sts\.amazonaws\.com/);
    });
    it("rejects a wildcard sub even under StringEquals", () => {
        expect(check(trust({ StringEquals: { [`${host}:sub`]: "system:serviceaccount:models:*", [`${host}:aud`]: "sts.amazonaws.com" } })).join()).toMatch(/not an exact/);
    });
    it("rejects condition keys of another issuer", () => {
        expect(check(trust({ StringEquals: { "oidc.eks.us-east-1.amazonaws.com/id/OTHER:sub": "system:serviceaccount:models:a", "oidc.eks.us-east-1.amazonaws.com/id/OTHER:aud": "sts.amazonaws.com" } }))).toHaveLength(2);
    });
    it("rejects a role that trusts everyone", () => {
        const inputs = { assumeRolePolicy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }] }) };
        expect(check(inputs).join()).toMatch(/trusts every principal/);
    });
    it("ignores service trust policies (node role)", () => {
        const inputs = { assumeRolePolicy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }) };
        expect(check(inputs)).toEqual([]);
    });
});

describe("IAM wildcard details", () => {
    const type = "aws:iam/rolePolicy:RolePolicy";
    const check = (inputs: Inputs, name = "r") => violations("iam-no-wildcards", type, inputs, name);
    const describeAll = allow(["elasticloadbalancing:DescribeLoadBalancers", "ec2:DescribeSubnets"], "*");
    it("rejects Resource * for an ordinary policy", () => {
        expect(check({ policy: describeAll }).join()).toMatch(/wildcard resource '\*'/);
    });
    it("rejects whole-service ARNs", () => {
        expect(check({ policy: allow("s3:GetObject", "arn:aws:s3:::*/*") }).join()).toMatch(/wildcard resource/);
    });
    it("allows Resource * for the documented upstream policies, identified by name or tag", () => {
        expect(check({ policy: describeAll }, "aws-load-balancer-controller-policy")).toEqual([]);
        expect(check({ policy: describeAll }, "prod-cluster-autoscaler-irsa-policy")).toEqual([]);
        expect(violations("iam-no-wildcards", "aws:iam/policy:Policy", { policy: describeAll, tags: { [iamWildcardExceptionTag]: "cluster-autoscaler" } }, "ca")).toEqual([]);
        expect(violations("iam-no-wildcards", "aws:iam/policy:Policy", { policy: describeAll, tags: { [iamWildcardExceptionTag]: "something-else" } }, "ca")).toHaveLength(1);
    });
    it("identifies an exception by the document's Id", () => {
        const doc = (id: string) => JSON.stringify({ ...JSON.parse(describeAll), Id: id });
        expect(check({ policy: doc(`${iamWildcardExceptionTag}/aws-load-balancer-controller`) })).toEqual([]);
        expect(check({ policy: doc(`${iamWildcardExceptionTag}/my-controller`) })).toHaveLength(1);
        expect(check({ policy: doc("aws-load-balancer-controller") })).toHaveLength(1);
    });
    it("accepts the stack's own upstream policies only as exceptions", () => {
        const lbc = JSON.stringify(loadBalancerControllerPolicy());
        const ca = JSON.stringify(clusterAutoscalerPolicy({ clusterName: "c", region: "us-east-2", accountId: "123456789012" }));
        expect(check({ policy: lbc }, "aws-load-balancer-controller-irsa-policy")).toEqual([]);
        expect(check({ policy: ca }, "cluster-autoscaler-irsa-policy")).toEqual([]);
        expect(check({ policy: lbc }, "lbc-irsa-policy").length).toBeGreaterThan(0);
        expect(check({ policy: ca }, "ca-irsa-policy").length).toBeGreaterThan(0);
        // The EBS CSI driver's Describe calls have no resource-level permissions; the rest of its policy names ARNs.
        const ebs = JSON.stringify(ebsCsiDriverPolicy({ clusterName: "c", region: "us-east-2" }));
        expect(check({ policy: ebs }, "eks-ebs-csi-ebs-csi-driver-policy")).toEqual([]);
        expect(check({ policy: ebs }, "ebs-irsa-policy").length).toBeGreaterThan(0);
    });
    it("accepts Karpenter's reference policy only under the karpenter component's name", () => {
        const karpenter = JSON.stringify(
            karpenterControllerPolicy({
                partition: "aws",
                region: "us-east-2",
                accountId: "123456789012",
                clusterName: "c",
                nodeRoleArn: "arn:aws:iam::123456789012:role/node",
                interruptionQueueArn: "arn:aws:sqs:us-east-2:123456789012:q",
            }),
        );
        expect(check({ policy: karpenter }, "karpenter-irsa-policy")).toEqual([]);
        expect(check({ policy: karpenter }, "gpu-irsa-policy").join()).toMatch(/wildcard resource '\*'/);
    });
    it("passes the stack's own Karpenter objects", () => {
        const nodeClass = ec2NodeClassManifest({ name: "gpu", clusterName: "c", nodeRoleName: "r", amiAlias: "al2023@v20260714", rootVolumeGiB: 100, tags: {} });
        expect(violations("karpenter-nodeclass-hardened", "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", nodeClass)).toEqual([]);
        const pool = gpuNodePoolManifest({ nodeClassName: "gpu", instanceFamilies: ["g6"], spot: true, maxGpus: 2, maxVcpus: 16, consolidateAfter: "10m", expireAfter: "720h" });
        expect(violations("karpenter-nodepool-limited", "kubernetes:karpenter.sh/v1:NodePool", pool)).toEqual([]);
    });
    it("keeps wildcard actions forbidden for the exceptions", () => {
        expect(check({ policy: allow("*", "*") }, "aws-load-balancer-controller-policy").join()).toMatch(/wildcard action '\*'/);
        expect(check({ policy: allow("ec2:Describe*", "*") }, "cluster-autoscaler-policy").join()).toMatch(/wildcard action/);
    });
    it("allows Resource * for actions without resource-level permissions", () => {
        expect(check({ policy: allow("ecr:GetAuthorizationToken", "*") })).toEqual([]);
        expect(check({ policy: allow(["ecr:GetAuthorizationToken", "ecr:BatchGetImage"], "*") })).toHaveLength(1);
    });
    it("ignores Deny statements and rejects NotAction", () => {
        expect(check({ policy: JSON.stringify({ Statement: [{ Effect: "Deny", Action: "*", Resource: "*" }] }) })).toEqual([]);
        expect(check({ policy: JSON.stringify({ Statement: [{ Effect: "Allow", NotAction: "iam:*", Resource: "arn:aws:s3:::b" }] }) }).join()).toMatch(/NotAction/);
    });
    it("checks inline policies of a Role", () => {
        expect(violations("iam-no-wildcards", "aws:iam/role:Role", { inlinePolicies: [{ name: "x", policy: allow("s3:GetObject", "*") }] }).join()).toMatch(/inlinePolicies\[0\]/);
    });
});

describe("EKS and node group details", () => {
    it("requires a pinned version and STANDARD support when unset", () => {
        expect(violations("eks-version-supported", "aws:eks/cluster:Cluster", {}).join()).toMatch(/not pinned/);
        expect(violations("eks-upgrade-policy-standard", "eks:index:Cluster", {}).join()).toMatch(/EXTENDED/);
    });
    it("reads the public CIDRs of aws:eks/cluster:Cluster from vpcConfig", () => {
        expect(violations("eks-public-endpoint-restricted", "aws:eks/cluster:Cluster", { vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/0"] } })).toHaveLength(1);
        expect(violations("eks-public-endpoint-restricted", "aws:eks/cluster:Cluster", { vpcConfig: { endpointPublicAccess: false } })).toEqual([]);
    });
    it("requires the GPU taint and only GPU instance types", () => {
        const found = violations("gpu-node-group-nvidia", "aws:eks/nodeGroup:NodeGroup", gpuGroup({ taints: [], instanceTypes: ["g5.xlarge", "m6i.large"] }));
        expect(found.join("\n")).toMatch(/non-GPU instance types: m6i\.large/);
        expect(found.join("\n")).toMatch(/nvidia\.com\/gpu=true:NoSchedule/);
    });
    it("leaves CPU groups alone", () => {
        const cpu = { amiType: "AL2023_x86_64_STANDARD", instanceTypes: ["m6i.large"], scalingConfig: { minSize: 2, maxSize: 4 }, taints: [] };
        expect(violations("gpu-node-group-nvidia", "aws:eks/nodeGroup:NodeGroup", cpu)).toEqual([]);
        expect(violations("gpu-node-group-scales-to-zero", "aws:eks/nodeGroup:NodeGroup", cpu)).toEqual([]);
    });
    it("accepts pulumi-eks's gpu shortcut on AL2023", () => {
        const mng = { gpu: true, instanceTypes: ["g5.xlarge"], taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }] };
        expect(violations("gpu-node-group-nvidia", "eks:index:ManagedNodeGroup", mng)).toEqual([]);
        expect(violations("gpu-node-group-nvidia", "eks:index:ManagedNodeGroup", { ...mng, operatingSystem: "Bottlerocket" })).toHaveLength(1);
    });
    it("flags a hop limit above 1", () => {
        expect(violations("launch-template-imdsv2", "aws:ec2/launchTemplate:LaunchTemplate", { metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 2 } }).join()).toMatch(/hop/i);
    });
});

describe("workload details", () => {
    const kinds: [string, (spec: Inputs) => Inputs][] = [
        ["kubernetes:core/v1:Pod", (spec) => ({ spec })],
        ["kubernetes:apps/v1:StatefulSet", (spec) => ({ spec: { template: { spec } } })],
        ["kubernetes:apps/v1:DaemonSet", (spec) => ({ spec: { template: { spec } } })],
        ["kubernetes:batch/v1:Job", (spec) => ({ spec: { template: { spec } } })],
        ["kubernetes:batch/v1:CronJob", (spec) => ({ spec: { jobTemplate: { spec: { template: { spec } } } } })],
    ];
    it.each(kinds)("finds the containers of %s", (type, wrap) => {
        expect(violations("container-resources", type, wrap(pod()))).toEqual([]);
        expect(violations("container-resources", type, wrap(pod({ resources: undefined })))).toHaveLength(1);
        expect(violations("container-security-context", type, wrap({ ...pod(), securityContext: {} })).join()).toMatch(/runAsNonRoot/);
    });
    it("checks init containers too", () => {
        const spec = { ...pod(), initContainers: [{ name: "init", image: "busybox:1.37" }] };
        expect(violations("container-resources", "kubernetes:core/v1:Pod", { spec }).join()).toMatch(/initContainers\[0\] \(init\)/);
    });
    it("accepts runAsNonRoot on the container instead of the pod", () => {
        const spec = { ...pod({ securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false } }), securityContext: undefined };
        expect(violations("container-security-context", "kubernetes:core/v1:Pod", { spec })).toEqual([]);
    });
    it("flags privileged containers and untagged images", () => {
        expect(violations("container-security-context", "kubernetes:core/v1:Pod", { spec: pod({ securityContext: { allowPrivilegeEscalation: false, privileged: true } }) }).join()).toMatch(/privileged/);
        expect(violations("container-image-pinned", "kubernetes:core/v1:Pod", { spec: pod({ image: "localhost:5000/app" }) }).join()).toMatch(/has no tag/);
    });
    it("checks InferenceService predictor models and transformer containers", () => {
        const type = "kubernetes:serving.kserve.io/v1beta1:InferenceService";
        expect(violations("container-resources", type, isvc())).toEqual([]);
        expect(violations("container-security-context", type, isvc())).toEqual([]);
        expect(violations("container-resources", type, isvc({ resources: undefined })).join()).toMatch(/spec\.predictor\.model: missing/);
        const withTransformer = isvc();
        withTransformer.spec = { ...withTransformer.spec, transformer: { containers: [{ name: "kserve-container", image: "example/t:1.0" }] } } as any;
        const found = violations("container-security-context", type, withTransformer).join("\n");
        expect(found).toMatch(/spec\.transformer\.containers\[0\] \(kserve-container\): runAsNonRoot/);
    });
    it("accepts every allowed storage scheme and checks framework keys", () => {
        const type = "kubernetes:serving.kserve.io/v1beta1:InferenceService";
        for (const uri of ["s3://b/m", "gs://kfserving-examples/models/sklearn/1.0/model", "pvc://claim/m", "https://example.com/m", "hf://org/model", "oci://registry/m:1"]) {
            expect(violations("isvc-storage-uri-scheme", type, isvc({ storageUri: uri }))).toEqual([]);
        }
        expect(violations("isvc-storage-uri-scheme", type, { spec: { predictor: { sklearn: { storageUri: "ftp://x/m" } } } })).toHaveLength(1);
    });
});

describe("Istio AuthorizationPolicy details", () => {
    const type = "kubernetes:security.istio.io/v1:AuthorizationPolicy";
    const check = (spec: Inputs) => violations("authz-no-allow-all-paths", type, { spec });
    it("flags a rule with no 'to' (e.g. rules: [{}], Istio's allow-all)", () => {
        expect(check({ rules: [{}] }).join()).toMatch(/no 'to'/);
        expect(check({ rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] }).join()).toMatch(/no 'to'/);
    });
    it("flags '*' paths and operations without paths", () => {
        expect(check({ rules: [{ to: [{ operation: { paths: ["*"] } }] }] })).toHaveLength(1);
        expect(check({ rules: [{ to: [{ operation: { methods: ["GET"] } }] }] }).join()).toMatch(/lists no paths/);
    });
    it("passes the stack's own ingress auth policies", () => {
        for (const mode of ["open-model-paths", "jwt"] as const) {
            const set = authPolicies(mode, { jwtIssuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/jwks" });
            const policies = set.objects.filter((o: any) => o.kind === "AuthorizationPolicy");
            expect(policies.length).toBeGreaterThan(0);
            for (const p of policies) expect(violations("authz-no-allow-all-paths", type, p as Inputs)).toEqual([]);
        }
    });
    it("does not flag an ALLOW policy with no rules (Istio: allow nothing) or DENY policies", () => {
        expect(check({})).toEqual([]);
        expect(check({ action: "DENY", rules: [{}] })).toEqual([]);
    });
});

describe("LoadBalancer and Helm details", () => {
    const release = (overrides: Inputs) => ({
        name: "istio-ingressgateway",
        namespace: "istio-system",
        chart: "gateway",
        version: "1.29.6",
        repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" },
        ...overrides,
    });
    it("allows the ingress gateway release and flags a gateway release under another name", () => {
        expect(violations("loadbalancer-only-ingress-gateway", "kubernetes:helm.sh/v3:Release", release({}))).toEqual([]);
        expect(violations("loadbalancer-only-ingress-gateway", "kubernetes:helm.sh/v3:Release", release({ name: "second-gateway" })).join()).toMatch(/second-gateway/);
        expect(violations("loadbalancer-only-ingress-gateway", "kubernetes:helm.sh/v3:Release", release({ name: "second-gateway", values: { service: { type: "ClusterIP" } } }))).toEqual([]);
    });
    it("flags other charts that ask for a LoadBalancer", () => {
        expect(violations("loadbalancer-only-ingress-gateway", "kubernetes:helm.sh/v3:Release", release({ name: "x", chart: "minio", values: { service: { type: "LoadBalancer" } } }))).toHaveLength(1);
    });
    it("ignores ClusterIP services", () => {
        expect(violations("loadbalancer-only-ingress-gateway", "kubernetes:core/v1:Service", { metadata: { name: "x" }, spec: { type: "ClusterIP" } })).toEqual([]);
    });
    it("requires a release name and an https or oci source", () => {
        const found = violations("helm-release-explicit", "kubernetes:helm.sh/v3:Release", release({ name: undefined, repositoryOpts: { repo: "http://charts.example.com" } }));
        expect(found.join("\n")).toMatch(/name \(the Helm release name\)/);
        expect(found.join("\n")).toMatch(/https:\/\/ repository or an oci:\/\/ chart/);
        expect(violations("helm-release-explicit", "kubernetes:helm.sh/v3:Release", { name: "kserve-crd", namespace: "kserve", chart: "oci://ghcr.io/kserve/charts/kserve-crd", version: "v0.20.0" })).toEqual([]);
    });
});

describe("stack policies", () => {
    const bucket: ResourceView = { type: "aws:s3/bucket:Bucket", name: "store-bucket", inputs: { bucketPrefix: "ip-dev-models-" } };
    const pab: ResourceView = { type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name: "store-pab", inputs: { ...cases["s3-public-access-block"].pass, bucket: "ip-dev-models-abcd1234" } };
    const sse: ResourceView = { type: cases["s3-bucket-encryption"].type, name: "store-sse", inputs: { ...cases["s3-bucket-encryption"].pass, bucket: "ip-dev-models-abcd1234" } };
    const pol: ResourceView = { type: "aws:s3/bucketPolicy:BucketPolicy", name: "store-tls", inputs: { ...cases["s3-tls-only"].pass, bucket: "ip-dev-models-abcd1234" } };
    it("accepts a bucket with all three companions", () => {
        expect(checkBucketCompanions([bucket, pab, sse, pol])).toEqual([]);
    });
    it("names each missing companion", () => {
        expect(checkBucketCompanions([bucket, sse])).toEqual(["bucket store-bucket has no BucketPublicAccessBlock", "bucket store-bucket has no BucketPolicy (TLS only)"]);
    });
    it("does not credit another bucket's companions", () => {
        const other: ResourceView = { type: "aws:s3/bucket:Bucket", name: "logs", inputs: { bucket: "logs-bucket" } };
        expect(checkBucketCompanions([bucket, other, pab, sse, pol])).toHaveLength(3);
    });
    it("matches companions by dependency URN when the engine gives them", () => {
        const b = { ...bucket, urn: "urn:b" };
        const deps = (r: ResourceView) => ({ ...r, inputs: { ...r.inputs, bucket: "unrelated" }, dependencies: ["urn:b"] });
        expect(checkBucketCompanions([b, deps(pab), deps(sse), deps(pol)])).toEqual([]);
    });
    it("bounds the number of Elastic IPs", () => {
        const eips = (n: number) => Array.from({ length: n }, (_, i): ResourceView => ({ type: "aws:ec2/eip:Eip", name: `eip-${i}`, inputs: {} }));
        expect(checkEipCount(eips(4))).toEqual([]);
        expect(checkEipCount(eips(5))).toHaveLength(1);
    });
});

describe("runPolicies", () => {
    it("returns violations with policy name, level and resource, and skips unrelated types", () => {
        const found = runPolicies([
            { type: "aws:ecr/repository:Repository", name: "gateway", inputs: {} },
            { type: "kubernetes:core/v1:ConfigMap", name: "cm", inputs: { data: { a: "b" } } },
        ]);
        expect(found).toEqual([
            { policy: "ecr-scan-on-push", enforcementLevel: "advisory", resource: { type: "aws:ecr/repository:Repository", name: "gateway" }, message: "imageScanningConfiguration.scanOnPush should be true" },
            { policy: "ecr-immutable-tags", enforcementLevel: "advisory", resource: { type: "aws:ecr/repository:Repository", name: "gateway" }, message: "imageTagMutability is MUTABLE; IMMUTABLE keeps a tag pointing at one image" },
        ]);
    });
    it("reports stack findings without a resource", () => {
        const found = runPolicies([{ type: "aws:s3/bucket:Bucket", name: "b", inputs: { bucket: "b" } }]);
        expect(found.map((v) => [v.policy, v.resource])).toEqual([
            ["s3-bucket-companions", undefined],
            ["s3-bucket-companions", undefined],
            ["s3-bucket-companions", undefined],
        ]);
    });
});
