/**
 * The Karpenter controller's access contract, evaluated against what the Karpenter components render
 * (under the test kit's mocks, until the composition root wires them into the dev stack; then
 * `contracts/index.ts` picks the role up from the synthesized stack as well).
 *
 * The contract's facts come from the consumer side of the rendered objects: the chart values name the
 * cluster, the queue and the ServiceAccount; the EC2NodeClass names the node role, the AMI alias and
 * the tags; the NodePool names itself.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { GpuNodePool } from "../../components/aws/gpuNodePool";
import { KarpenterController } from "../../components/aws/karpenter";
import { FakeCluster, installMocks, testAccountId, testOidcIssuerHost, testRegion } from "../kit";
import { describeAccessContract } from "./contract";
import { karpenterFacts } from "./contracts";
import { karpenterContract } from "./contracts/karpenter";
import { evaluate } from "./evaluator";
import { fromRecorder, RenderedStack } from "./renderedStack";

describe("Karpenter controller IAM (rendered under mocks)", async () => {
    const rec = await installMocks();
    const cluster = new FakeCluster("cluster", "cpu");
    const controller = new KarpenterController("karpenter", {
        clusterName: pulumi.output("demo"),
        clusterEndpoint: "https://EXAMPLE.gr7.us-east-2.eks.amazonaws.com",
        region: testRegion,
        oidcProvider: { arn: `arn:aws:iam::${testAccountId}:oidc-provider/${testOidcIssuerHost}`, issuer: testOidcIssuerHost },
        waitFor: [cluster],
        tags: { "inference-platform/stack": "inference-platform-dev", "managed-by": "pulumi" },
    });
    new GpuNodePool("gpu-pool", {
        clusterName: "demo",
        nodeRoleName: controller.nodeRoleName,
        controller,
        nodeIdentity: controller.nodeIdentity,
        region: testRegion,
        tags: { "inference-platform/stack": "inference-platform-dev", "managed-by": "pulumi" },
    });
    await rec.settle();
    const stack = new RenderedStack(fromRecorder(rec.resources), testAccountId, testRegion);
    const found = karpenterFacts(stack, "1.34");

    it("finds the role from the chart's ServiceAccount and the facts from the rendered objects", () => {
        expect(found).toBeDefined();
        expect(found!.role.resourceName).toBe("karpenter-irsa-role");
        expect(found!.facts).toMatchObject({
            clusterName: "demo",
            nodePool: "gpu",
            nodeClass: "gpu",
            amiParameter: "/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/nvidia/amazon-eks-node-al2023-x86_64-nvidia-1.34-v20260714/image_id",
        });
        expect(found!.facts.nodeRoleArn).toMatch(/:role\/karpenter-node-role/);
        expect(found!.facts.interruptionQueueArn).toMatch(/^arn:aws:sqs:us-east-2:123456789012:karpenter-interruption-/);
    });

    if (found) describeAccessContract("karpenter controller", karpenterContract(found.facts), () => stack.access(found.role));

    it("only EC2 may assume the node role", async () => {
        const nodeRole = stack.roles.find((r) => r.arn === found!.facts.nodeRoleArn)!;
        const assume = (principal: string) =>
            evaluate({ principal, action: "sts:AssumeRole", resource: nodeRole.arn, resourceAccount: testAccountId }, { identityPolicies: [], resourcePolicy: nodeRole.trustPolicy });
        expect(await assume("ec2.amazonaws.com")).toBe("Allowed");
        expect(await assume("lambda.amazonaws.com")).not.toBe("Allowed");
        expect(nodeRole.inlinePolicies).toEqual([]);
    });
});
