/**
 * IAM behaviour of the whole stack as `npm run synth` renders it (the dev stack, Karpenter mode, with
 * SSE-KMS on so the KMS statements are rendered too): every role's access contract, every IRSA trust policy, and
 * every action and condition key of every policy document against AWS's authorization data.
 */
import { describe, expect, it } from "vitest";
import { synthesize } from "../../scripts/lib/synth";
import { readStackConfigFile } from "../../scripts/lib/synthConfig";
import { computed, documentationAccountId } from "../../scripts/lib/synthMocks";
import { catalogProblems, policyDocumentsIn } from "./catalog";
import { describeAccessContract } from "./contract";
import { clientPinProblems, managedPolicyRoles, roleContracts } from "./contracts";
import { evaluate, evaluateWebIdentity } from "./evaluator";
import { fillComputedValues, fromSynth, RenderedStack } from "./renderedStack";

describe("the dev stack's IAM (synthesized with SSE-KMS)", async () => {
    const input = readStackConfigFile({ root: `${__dirname}/../..`, stack: "dev" });
    const config = { ...input.config, "inference-platform:modelBucketEncryption": "aws:kms" };
    const result = await synthesize({ config: { ...input, config }, program: () => import("../../index") });
    if (!result.config.region) throw new Error("the dev stack sets no aws:region");
    const facts = { accountId: documentationAccountId, region: result.config.region };
    const stack = new RenderedStack(fromSynth(result.files["resources.json"], facts), facts.accountId, facts.region);
    const contracts = roleContracts(stack);
    const managedOnly = managedPolicyRoles(stack);

    it("runs the client versions the contracts were read from", () => {
        expect(clientPinProblems(stack)).toEqual([]);
    });

    it("holds every role to a contract or names why not", () => {
        const covered = new Set([...contracts.map((c) => c.role), ...managedOnly.map((m) => m.role)]);
        expect(stack.roles.filter((r) => !covered.has(r)).map((r) => r.resourceName)).toEqual([]);
        expect(contracts.map((c) => c.title.split(" ").slice(0, -1).join(" ")).sort()).toEqual(
            // Karpenter's contract is picked up from the rendered stack (its chart, ServiceAccount, NodeClass and queue).
            ["cluster autoscaler", "ebs csi driver", "karpenter controller", "load balancer controller", "model reader", "mountpoint s3 csi driver", "seeding writer"],
        );
    });

    for (const { title, role, contract } of contracts) describeAccessContract(title, contract, () => stack.access(role));

    describe("roles with AWS-managed policies only", () => {
        it("the node roles (managed groups', Karpenter's nodes') have exactly the EKS-documented managed policies and no inline policy", () => {
            expect(managedOnly.map((m) => m.role.resourceName).sort()).toEqual(["eks-cluster-node-role", "eks-karpenter-node-role"]);
            for (const { role, expectedManagedPolicies } of managedOnly) {
                expect([...role.managedPolicyArns].sort()).toEqual([...expectedManagedPolicies].sort());
                expect(role.inlinePolicies).toEqual([]);
            }
        });
        it("only EC2 may assume the node role", async () => {
            for (const { role } of managedOnly) {
                const assume = (principal: string) =>
                    evaluate(
                        { principal, action: "sts:AssumeRole", resource: role.arn, resourceAccount: stack.accountId },
                        { identityPolicies: [], resourcePolicy: role.trustPolicy },
                    );
                expect(await assume("ec2.amazonaws.com")).toBe("Allowed");
                for (const other of ["lambda.amazonaws.com", "eks.amazonaws.com", `arn:aws:iam::${stack.accountId}:role/someone`]) {
                    expect(await assume(other), other).not.toBe("Allowed");
                }
            }
        });
    });

    describe("IRSA trust policies (sts:AssumeRoleWithWebIdentity)", () => {
        const clusters = stack.byType("eks:index:Cluster");
        // EKS issuers are `oidc.eks.<region>.amazonaws.com/id/<id>` (Amazon EKS User Guide, "Create an IAM OIDC provider").
        const issuer = `oidc.eks.${stack.region}.amazonaws.com/id/${fillComputedValues(computed("eks:index:Cluster", clusters[0].name, "oidcId"), facts)}`;
        const provider = `arn:aws:iam::${stack.accountId}:oidc-provider/${issuer}`;
        const irsaRoles = stack.roles.filter((r) => JSON.stringify(r.trustPolicy).includes("AssumeRoleWithWebIdentity"));

        it("binds every IRSA role to a ServiceAccount of the stack", () => {
            expect(clusters.length).toBe(1);
            // Load balancer controller, cluster autoscaler, Karpenter, EBS CSI driver, Mountpoint S3 driver, model reader, model writer.
            expect(irsaRoles.length).toBe(7);
            for (const role of irsaRoles) expect(stack.bindings.filter((b) => b.roleArn === role.arn).length, role.resourceName).toBeGreaterThan(0);
        });

        for (const role of irsaRoles) {
            it(`${role.resourceName}: only its ServiceAccount's token for STS from the cluster's provider`, async () => {
                const assume = (sub: string, aud = "sts.amazonaws.com", host = issuer, providerArn = provider) =>
                    evaluateWebIdentity({
                        trustPolicy: role.trustPolicy,
                        roleArn: role.arn,
                        accountId: stack.accountId,
                        providerArn,
                        claims: { [`${host}:sub`]: sub, [`${host}:aud`]: aud },
                    });
                for (const b of stack.bindings.filter((x) => x.roleArn === role.arn)) {
                    const sub = `system:serviceaccount:${b.namespace}:${b.serviceAccount}`;
                    expect(await assume(sub), `${sub} (${b.declaredBy})`).toBe("Allowed");
                    expect(await assume(`system:serviceaccount:${b.namespace}:default`)).not.toBe("Allowed");
                    expect(await assume(`system:serviceaccount:default:${b.serviceAccount}`)).not.toBe("Allowed");
                    expect(await assume(`system:serviceaccount:${b.namespace}:${b.serviceAccount}-x`)).not.toBe("Allowed");
                    expect(await assume(sub, "https://kubernetes.default.svc")).not.toBe("Allowed");
                    const otherIssuer = `oidc.eks.${stack.region}.amazonaws.com/id/0000OTHERCLUSTER0000000000000000`;
                    expect(await assume(sub, "sts.amazonaws.com", otherIssuer, `arn:aws:iam::${stack.accountId}:oidc-provider/${otherIssuer}`)).not.toBe("Allowed");
                }
            });
        }
    });

    describe("every policy document uses only actions and condition keys AWS has", async () => {
        const documents = policyDocumentsIn(stack.resources);
        it("finds the stack's policy documents (roles, trust, bucket)", () => {
            const kinds = new Set(documents.map((d) => d.where.split(" ")[0]));
            expect([...kinds].sort()).toEqual(["aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:s3/bucketPolicy:BucketPolicy", "aws:sqs/queuePolicy:QueuePolicy"]);
            expect(documents.length).toBeGreaterThanOrEqual(10);
        });
        for (const { where, document } of documents) {
            it(where, async () => expect(await catalogProblems(document)).toEqual([]));
        }
        it("would catch a typo'd action, an unknown key, a key that never applies, a bad operator", async () => {
            const problems = await catalogProblems({
                Statement: [
                    { Effect: "Allow", Action: ["s3:GetObjects", "s3:Get*"], Resource: "*", Condition: { StringLike: { "s3:prefx": "a" } } },
                    { Effect: "Allow", Action: "s3:GetObject", Resource: "*", Condition: { StringLikes: { "kms:ViaService": "s3" } } },
                ],
            });
            expect(problems.join("\n")).toMatch(/'s3:GetObjects' does not exist/);
            expect(problems.join("\n")).toMatch(/'s3:prefx' does not exist/);
            expect(problems.join("\n")).toMatch(/operator 'StringLikes' does not exist/);
            expect(problems.join("\n")).toMatch(/'kms:ViaService' applies to none of s3:GetObject/);
            expect(problems).toHaveLength(4);
        });
    });
});
