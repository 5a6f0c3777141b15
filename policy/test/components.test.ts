/**
 * The policies against what the stack's own components register (under the Pulumi mocks): the
 * components must pass every mandatory policy, and the policies must actually see their resources.
 */
import { describe, expect, it } from "vitest";
import { EksCluster } from "../../components/aws/eksCluster";
import { loadConfig } from "../../config";
import { ModelStore } from "../../components/aws/modelStore";
import { installMocks, RecordedResource, testOidcIssuerHost } from "../../test/kit";
import { ResourceView, runPolicies } from "../policies";

function viewOf(r: RecordedResource): ResourceView {
    return { type: r.type, name: r.name, urn: r.urn, inputs: r.inputs, dependencies: [...r.dependencies, ...Object.values(r.propertyDependencies).flat()] };
}

describe("stack components under the policies", async () => {
    const rec = await installMocks();
    const config = loadConfig({ get: (key) => ({ "aws:region": "us-east-2", gpuEnabled: "true" } as Record<string, string>)[key] }, "inference-platform", "test");
    const cluster = new EksCluster("eks", {
        clusterName: config.cluster.name,
        kubernetesVersion: config.cluster.kubernetesVersion,
        vpcId: "vpc-0123456789",
        publicSubnetIds: ["subnet-public-0", "subnet-public-1"],
        privateSubnetIds: ["subnet-private-0", "subnet-private-1"],
        publicAccessCidrs: ["198.51.100.0/24"],
        cpuNodes: config.cpuNodes,
        gpuNodes: config.gpuNodes,
    });
    for (const encryption of ["AES256", "aws:kms"] as const) {
        new ModelStore(`store-${encryption === "AES256" ? "sse" : "kms"}`, {
            bucketNamePrefix: `ip-test-${encryption === "AES256" ? "sse" : "kms"}-models`,
            region: "us-east-2",
            encryption,
            oidcProvider: { arn: `arn:aws:iam::123456789012:oidc-provider/${testOidcIssuerHost}`, issuer: testOidcIssuerHost },
            namespace: "models",
            serviceAccountName: "kserve-models",
        });
    }
    await rec.settle();
    const resources = rec.resources.map(viewOf);
    const violations = runPolicies(resources);

    it("registers the resource types the policies check", () => {
        const types = new Set(resources.map((r) => r.type));
        for (const t of [
            "eks:index:Cluster",
            "aws:eks/nodeGroup:NodeGroup",
            "aws:ec2/launchTemplate:LaunchTemplate",
            "aws:s3/bucket:Bucket",
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "aws:s3/bucketPolicy:BucketPolicy",
            "aws:iam/role:Role",
            "aws:iam/rolePolicy:RolePolicy",
            "aws:kms/key:Key",
        ]) {
            expect(types, t).toContain(t);
        }
        expect(cluster.gpuNodeGroup).toBeDefined();
    });

    it("passes every policy", () => {
        expect(violations).toEqual([]);
    });

    it("would catch a broken copy of a registered resource", () => {
        const gpu = resources.find((r) => r.type === "aws:eks/nodeGroup:NodeGroup" && r.name.endsWith("-gpu"))!;
        const broken = { ...gpu, inputs: { ...gpu.inputs, taints: [] } };
        expect(runPolicies([broken]).map((v) => v.policy)).toEqual(["gpu-node-group-nvidia"]);
    });
});
