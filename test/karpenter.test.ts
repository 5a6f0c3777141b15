/**
 * Karpenter's controller: the IAM policy, queue and rules against the reference CloudFormation of
 * aws/karpenter-provider-aws v1.14.1, the chart values against its values.yaml, and the component
 * under mocks (what it creates, what waits for what).
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import {
    interruptionEventPatterns,
    interruptionQueuePolicy,
    KarpenterController,
    karpenterControllerPolicy,
    karpenterValues,
} from "../components/aws/karpenter";
import { undeclaredValuePaths } from "./chartValues";
import { catalogProblems } from "./iam/catalog";
import type { PolicyDocument } from "./iam/evaluator";
import { canonicalStatement, readReference, referenceControllerPolicies, resolve } from "./karpenterReference";
import { describeWithSharedSchemas, itWithSharedSchemas, readUpstreamYaml, sharedSchemasPresent } from "./shared";
import { FakeCluster, installMocks, promiseOf, testAccountId, testOidcIssuerHost } from "./kit";

const facts = {
    partition: "aws",
    region: "us-east-2",
    accountId: testAccountId,
    clusterName: "demo",
    nodeRoleArn: `arn:aws:iam::${testAccountId}:role/karpenter-node-role-1234567`,
    interruptionQueueArn: `arn:aws:sqs:us-east-2:${testAccountId}:karpenter-interruption-1234567`,
};
const policy = karpenterControllerPolicy(facts);
const statements = () => policy.Statement as unknown as Record<string, any>[];

describe("karpenterControllerPolicy", () => {
    describeWithSharedSchemas("against the reference CloudFormation (v1.14.1)", () => {
        const reference = sharedSchemasPresent ? referenceControllerPolicies(facts) : {};

        it("has the six controller policies of the reference", () => {
            expect(Object.keys(reference).sort()).toEqual([
                "EKSIntegrationPolicy",
                "IAMIntegrationPolicy",
                "InterruptionPolicy",
                "NodeLifecyclePolicy",
                "ResourceDiscoveryPolicy",
                "ZonalShiftPolicy",
            ]);
        });

        it("has the same statements, statement by statement (Sid, actions, resources, conditions)", () => {
            const theirs = Object.values(reference).flatMap((doc) => doc.Statement);
            const bySid = (list: Record<string, any>[]) => Object.fromEntries(list.map((s) => [s.Sid, canonicalStatement(s)]));
            expect(Object.keys(bySid(statements())).sort()).toEqual(Object.keys(bySid(theirs)).sort());
            for (const [sid, theirsCanonical] of Object.entries(bySid(theirs))) expect(bySid(statements())[sid], sid).toBe(theirsCanonical);
            expect(statements()).toHaveLength(theirs.length);
        });
    });

    it("lets the controller pass only the node role, and only to EC2", () => {
        const passRole = statements().filter((s) => [s.Action].flat().some((a: string) => a.startsWith("iam:Pass")));
        expect(passRole).toHaveLength(1);
        expect(passRole[0].Resource).toBe(facts.nodeRoleArn);
        expect(passRole[0].Condition.StringEquals["iam:PassedToService"]).toContain("ec2.amazonaws.com");
    });

    it("scopes every EC2 write to this cluster's tags", () => {
        const writes = statements().filter((s) => [s.Action].flat().some((a: string) => /^ec2:(CreateTags|TerminateInstances|DeleteLaunchTemplate|CreateLaunchTemplate)$/.test(a)));
        expect(writes.length).toBeGreaterThan(0);
        for (const s of writes) expect(JSON.stringify(s.Condition), s.Sid).toContain("aws:ResourceTag/kubernetes.io/cluster/demo".replace("ResourceTag", s.Sid.includes("Creation") || s.Sid.includes("WithTags") ? "RequestTag" : "ResourceTag"));
    });

    it("uses only actions and condition keys AWS has", async () => {
        expect(await catalogProblems(policy as unknown as PolicyDocument)).toEqual([]);
    });

    it("rejects inputs it cannot scope by", () => {
        expect(() => karpenterControllerPolicy({ ...facts, clusterName: "bad name" })).toThrow(/clusterName 'bad name'/);
        expect(() => karpenterControllerPolicy({ ...facts, interruptionQueueArn: "queue" })).toThrow(/not an SQS queue ARN/);
        expect(() => karpenterControllerPolicy({ ...facts, accountId: "12" })).toThrow(/12-digit/);
    });

    it("fits in a role's inline policy budget (10,240 characters for all inline policies)", () => {
        expect(JSON.stringify(policy).length).toBeLessThan(10240);
    });
});

describeWithSharedSchemas("interruption queue and rules against the reference CloudFormation", () => {
    const template = sharedSchemasPresent ? readReference() : { Resources: {} };
    const resources = Object.values(template.Resources) as { Type: string; Properties: Record<string, any> }[];

    it("has the reference's queue policy", () => {
        const theirs = resolve(resources.find((r) => r.Type === "AWS::SQS::QueuePolicy")!.Properties.PolicyDocument, facts);
        const ours = interruptionQueuePolicy(facts.interruptionQueueArn) as unknown as { Id: string; Statement: Record<string, any>[] };
        expect(ours.Id).toBe(theirs.Id);
        expect(ours.Statement.map(canonicalStatement).sort()).toEqual((theirs.Statement as Record<string, any>[]).map(canonicalStatement).sort());
    });

    it("has exactly the reference's EventBridge rules", () => {
        const theirs = resources.filter((r) => r.Type === "AWS::Events::Rule").map((r) => JSON.stringify(r.Properties.EventPattern));
        expect(Object.values(interruptionEventPatterns).map((p) => JSON.stringify(p)).sort()).toEqual(theirs.sort());
    });
});

describe("karpenterValues", () => {
    const values = karpenterValues({
        clusterName: "demo",
        clusterEndpoint: "https://EXAMPLE.gr7.us-east-2.eks.amazonaws.com",
        region: "us-east-2",
        roleArn: "arn:aws:iam::123456789012:role/karpenter",
        interruptionQueueName: "karpenter-interruption-1234567",
        replicas: 2,
    });

    it("sets the cluster, the queue and the IRSA annotation", () => {
        expect(values).toMatchObject({
            settings: { clusterName: "demo", interruptionQueue: "karpenter-interruption-1234567", clusterEndpoint: "https://EXAMPLE.gr7.us-east-2.eks.amazonaws.com" },
            serviceAccount: { create: true, name: "karpenter", annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/karpenter" } },
            replicas: 2,
        });
    });

    it("runs the controller on the CPU managed group and never on a Karpenter node", () => {
        // The CPU managed group's label (components/aws/eksCluster.ts) and Karpenter's node label
        // (sigs.k8s.io/karpenter pkg/apis/v1/labels.go NodePoolLabelKey, on every node it launches).
        expect((values.nodeSelector as Record<string, string>)["inference-platform/pool"]).toBe("cpu");
        const terms = (values.affinity as any).nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
        expect(terms).toHaveLength(1);
        expect(terms[0].matchExpressions).toContainEqual({ key: "karpenter.sh/nodepool", operator: "DoesNotExist" });
    });

    it("limits the container and gives the region without the metadata service", () => {
        expect((values.controller as any).resources.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
        expect((values.controller as any).env).toContainEqual({ name: "AWS_REGION", value: "us-east-2" });
    });

    itWithSharedSchemas("uses only value names the chart's values.yaml (v1.14.1) declares", () => {
        const upstream = readUpstreamYaml("karpenter", "karpenter.values.yaml");
        // nodeSelector and affinity are free-form maps with a non-empty default; podLabels is empty upstream.
        expect(undeclaredValuePaths(values, upstream, { freeForm: ["nodeSelector", "affinity"] })).toEqual([]);
        expect(undeclaredValuePaths({ ...values, settings: { clustername: "x" } }, upstream, { freeForm: ["nodeSelector", "affinity"] })).toEqual(["settings.clustername"]);
    });
});

describe("KarpenterController component", async () => {
    const rec = await installMocks();
    const cluster = new FakeCluster("cluster", "cpu");
    const controller = new KarpenterController("karpenter", {
        clusterName: pulumi.output("demo"),
        clusterEndpoint: pulumi.output("https://EXAMPLE.gr7.us-east-2.eks.amazonaws.com"),
        region: "us-east-2",
        oidcProvider: { arn: `arn:aws:iam::${testAccountId}:oidc-provider/${testOidcIssuerHost}`, issuer: testOidcIssuerHost },
        waitFor: [cluster],
        tags: { "inference-platform/stack": "ip-dev" },
    });
    await rec.settle();
    const release = rec.one("kubernetes:helm.sh/v3:Release", "karpenter-release");
    const crds = rec.one("kubernetes:helm.sh/v3:Release", "karpenter-crd");
    const queue = rec.one("aws:sqs/queue:Queue");

    it("installs the CRD chart and the controller chart 1.14.1 from public ECR into kube-system, CRDs from the CRD chart only", () => {
        expect(crds.inputs).toMatchObject({ name: "karpenter-crd", namespace: "kube-system", chart: "oci://public.ecr.aws/karpenter/karpenter-crd", version: "1.14.1" });
        expect(release.inputs).toMatchObject({ name: "karpenter", namespace: "kube-system", chart: "oci://public.ecr.aws/karpenter/karpenter", version: "1.14.1", skipCrds: true });
        expect(rec.dependsOn(release, crds)).toBe(true);
    });

    it("passes the queue's name and the role's ARN to the chart", async () => {
        expect(queue.state.name).toMatch(/^karpenter-interruption-/);
        expect(release.inputs.values.settings.interruptionQueue).toBe(queue.state.name);
        expect(release.inputs.values.serviceAccount.annotations["eks.amazonaws.com/role-arn"]).toBe(await promiseOf(controller.roleArn));
    });

    it("makes an encrypted, short-lived queue fed by the five interruption rules", () => {
        expect(queue.inputs).toMatchObject({ messageRetentionSeconds: 300, sqsManagedSseEnabled: true });
        const rules = rec.byType("aws:cloudwatch/eventRule:EventRule");
        expect(rules.map((r) => JSON.parse(r.inputs.eventPattern)["detail-type"][0]).sort()).toEqual([
            "AWS Health Event",
            "EC2 Capacity Reservation Instance Interruption Warning",
            "EC2 Instance Rebalance Recommendation",
            "EC2 Instance State-change Notification",
            "EC2 Spot Instance Interruption Warning",
        ]);
        const targets = rec.byType("aws:cloudwatch/eventTarget:EventTarget");
        expect(targets).toHaveLength(5);
        for (const t of targets) expect(rec.dependsOn(t, queue)).toBe(true);
    });

    it("gives nodes their own role with the EKS node policies and an EC2_LINUX access entry", () => {
        const entry = rec.one("aws:eks/accessEntry:AccessEntry");
        expect(entry.inputs).toMatchObject({ clusterName: "demo", type: "EC2_LINUX" });
        const nodeRole = rec.one("aws:iam/role:Role", "karpenter-node-role");
        expect(entry.inputs.principalArn).toBe(nodeRole.state.arn);
        expect(JSON.parse(nodeRole.inputs.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: "ec2.amazonaws.com" });
        expect(
            rec
                .byType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                .map((a) => a.inputs.policyArn)
                .sort(),
        ).toEqual([
            // Amazon EKS User Guide, "Amazon EKS node IAM role" (the reference adds AmazonSSMManagedInstanceCore
            // for shell access, which the stack does not grant).
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        ]);
    });

    it("trusts exactly the controller's ServiceAccount and attaches the policy for this cluster's node role and queue", async () => {
        const role = rec.one("aws:iam/role:Role", "karpenter-irsa-role");
        expect(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Condition.StringEquals).toEqual({
            [`${testOidcIssuerHost}:sub`]: "system:serviceaccount:kube-system:karpenter",
            [`${testOidcIssuerHost}:aud`]: "sts.amazonaws.com",
        });
        const doc = JSON.parse(rec.one("aws:iam/rolePolicy:RolePolicy", "karpenter-irsa-policy").inputs.policy);
        expect(doc).toEqual(
            karpenterControllerPolicy({
                ...facts,
                nodeRoleArn: rec.one("aws:iam/role:Role", "karpenter-node-role").state.arn,
                interruptionQueueArn: queue.state.arn,
            }),
        );
    });

    it("starts after the node groups, its permissions, queue policy and rules; so goes before them on destroy", () => {
        expect(rec.dependsOn(release, rec.one("aws:eks/nodeGroup:NodeGroup", "cluster-cpu"))).toBe(true);
        expect(rec.dependsOn(release, rec.one("aws:iam/rolePolicy:RolePolicy", "karpenter-irsa-policy"))).toBe(true);
        expect(rec.dependsOn(release, rec.one("aws:sqs/queuePolicy:QueuePolicy"))).toBe(true);
        for (const target of rec.byType("aws:cloudwatch/eventTarget:EventTarget")) expect(rec.dependsOn(release, target)).toBe(true);
    });

    it("tags what it creates in AWS", () => {
        for (const r of [queue, ...rec.byType("aws:cloudwatch/eventRule:EventRule"), rec.one("aws:iam/role:Role", "karpenter-node-role")]) {
            expect(r.inputs.tags?.["inference-platform/stack"], r.name).toBe("ip-dev");
        }
    });

    it("rejects bad arguments before creating anything", () => {
        const before = rec.resources.length;
        const base = { clusterName: "demo", clusterEndpoint: "https://x", oidcProvider: { arn: "arn", issuer: testOidcIssuerHost } };
        expect(() => new KarpenterController("k2", { ...base, region: "Ohio" })).toThrow(/region: 'Ohio'/);
        expect(() => new KarpenterController("k3", { ...base, region: "us-east-2", replicas: 0 })).toThrow(/replicas: 0/);
        expect(() => new KarpenterController("a-very-long-foundation-karpenter-x", { ...base, region: "us-east-2" })).toThrow(/1-31 lowercase/);
        expect(
            () => new KarpenterController("k4", { ...base, region: "us-east-2", crdChart: { repository: "oci://public.ecr.aws/karpenter", chart: "karpenter-crd", version: "1.13.0" } }),
        ).toThrow(/crdChart 1.13.0 must be the controller chart's version 1.14.1/);
        expect(rec.resources.length).toBe(before);
    });
});
