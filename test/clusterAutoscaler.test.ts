import * as aws from "@pulumi/aws";
import * as fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { ClusterAutoscaler, clusterAutoscalerPolicy, clusterAutoscalerValues } from "../components/aws/clusterAutoscaler";
import { clusterAutoscalerImageTag, clusterAutoscalerImageTags, KubernetesVersion, supportedKubernetesVersions } from "../versions";
import { undeclaredValuePaths } from "./chartValues";
import { itWithSharedSchemas, readUpstreamYaml } from "./shared";
import { installMocks, promiseOf, testAccountId, testOidcIssuerHost, FakeCluster } from "./kit";

type Statement = { Sid?: string; Effect: string; Action: string[]; Resource: string | string[]; Condition?: any };
const statementsOf = (doc: aws.iam.PolicyDocument) => doc.Statement as unknown as Statement[];
const base = { clusterName: "demo", region: "us-east-2", accountId: "123456789012" };

describe("clusterAutoscalerPolicy", () => {
    const statements = statementsOf(clusterAutoscalerPolicy(base));
    const withAction = (action: string) => statements.filter((s) => s.Action.includes(action));

    it("grants what the autoscaler needs on EKS managed node groups, scale from zero included", () => {
        const actions = statements.flatMap((s) => s.Action).sort();
        expect(actions).toEqual(
            [
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:SetDesiredCapacity",
                "autoscaling:TerminateInstanceInAutoScalingGroup",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
                "eks:DescribeNodegroup",
            ].sort(),
        );
    });

    it("uses Resource * only for read-only Describe/Get actions", () => {
        for (const s of statements.filter((st) => st.Resource === "*" || (Array.isArray(st.Resource) && st.Resource.includes("*")))) {
            for (const action of s.Action) expect(action).toMatch(/:(Describe|Get)[A-Za-z]+$/);
        }
    });

    it("lets the autoscaler change only ASGs tagged for this cluster", () => {
        for (const action of ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]) {
            const [s] = withAction(action);
            expect(withAction(action)).toHaveLength(1);
            expect(s.Resource).toBe("arn:aws:autoscaling:us-east-2:123456789012:autoScalingGroup:*:autoScalingGroupName/*");
            expect(s.Condition).toEqual({
                StringEquals: {
                    "aws:ResourceTag/k8s.io/cluster-autoscaler/demo": "owned",
                    "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
                },
            });
        }
    });

    it("limits eks:DescribeNodegroup to this cluster's node groups", () => {
        expect(withAction("eks:DescribeNodegroup")[0].Resource).toBe("arn:aws:eks:us-east-2:123456789012:nodegroup/demo/*/*");
    });

    it("scopes writes to whichever cluster it is given (property)", () => {
        fc.assert(
            fc.property(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$/), (clusterName) => {
                const doc = JSON.stringify(clusterAutoscalerPolicy({ ...base, clusterName }));
                expect(doc).toContain(`"aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}":"owned"`);
                expect(doc).toContain(`nodegroup/${clusterName}/*/*`);
            }),
        );
    });

    it.each([
        [{ clusterName: "demo cluster" }, /clusterName 'demo cluster'/],
        [{ clusterName: "" }, /clusterName ''/],
        [{ region: "mars-1" }, /region: 'mars-1'/],
        [{ accountId: "12345" }, /accountId '12345'/],
        [{ partition: "gcp" }, /partition 'gcp'/],
    ])("rejects %j", (override, message) => {
        expect(() => clusterAutoscalerPolicy({ ...base, ...override })).toThrow(message);
    });
});

describe("Cluster Autoscaler image per Kubernetes minor", () => {
    /**
     * The newest patch release of each minor, from the release tags of kubernetes/autoscaler
     * (`cluster-autoscaler-1.33.6`, `cluster-autoscaler-1.34.5`, `cluster-autoscaler-1.35.2`, tagged
     * 2026-07-22; cluster-autoscaler/version/version.go at each tag says the same version). Patch
     * releases carry only fixes, and the chart's own default (v1.35.0) is a first patch.
     */
    const newestUpstreamPatch = { "1.33": "v1.33.6", "1.34": "v1.34.5", "1.35": "v1.35.2" };

    it.each(Object.entries(newestUpstreamPatch))("Kubernetes %s runs the newest patch of its own minor (%s)", (minor, tag) => {
        expect(clusterAutoscalerImageTag(minor as KubernetesVersion)).toBe(tag);
        // The autoscaler supports only the cluster minor it was built for.
        expect(clusterAutoscalerImageTag(minor as KubernetesVersion)).toMatch(new RegExp(`^v${minor.replace(".", "\\.")}\\.\\d+$`));
    });

    it("has a tag for every supported minor", () => {
        expect(Object.keys(clusterAutoscalerImageTags).sort()).toEqual([...supportedKubernetesVersions].sort());
    });
});

describe("clusterAutoscalerValues", () => {
    const values = clusterAutoscalerValues({
        clusterName: "demo",
        region: "us-east-2",
        roleArn: "arn:aws:iam::123456789012:role/ca",
        kubernetesVersion: "1.34",
        expander: "least-waste",
    });

    it("auto-discovers this cluster's ASGs in its region with the matching image minor", () => {
        expect(values).toMatchObject({
            cloudProvider: "aws",
            awsRegion: "us-east-2",
            autoDiscovery: { clusterName: "demo" },
            image: { tag: "v1.34.5" },
            rbac: { serviceAccount: { create: true, name: "cluster-autoscaler", annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/ca" } } },
        });
    });

    it("sets flags for GPU scale-from-zero and scale-down", () => {
        expect(values.extraArgs).toMatchObject({
            "balance-similar-node-groups": true,
            "skip-nodes-with-system-pods": false,
            expander: "least-waste",
        });
    });

    it("runs non-root with a read-only root filesystem, requests and limits", () => {
        expect(values.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
        expect(values.containerSecurityContext).toMatchObject({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
        });
        expect(values.resources).toMatchObject({ requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { memory: expect.any(String) } });
    });

    itWithSharedSchemas("uses only value names the chart's values.yaml declares", () => {
        const upstream = readUpstreamYaml("clusterAutoscaler", "values.yaml");
        // extraArgs is a map of command-line flags, free-form by design.
        expect(undeclaredValuePaths(values, upstream, { freeForm: ["extraArgs"] })).toEqual([]);
        expect(undeclaredValuePaths({ ...values, autoDiscovery: { clustername: "x" } }, upstream, { freeForm: ["extraArgs"] })).toEqual(["autoDiscovery.clustername"]);
    });
});

describe("ClusterAutoscaler component", async () => {
    const rec = await installMocks();
    const cluster = new FakeCluster("cluster", "gpu");
    const ca = new ClusterAutoscaler("ca", {
        clusterName: pulumi.output("demo"),
        region: "us-east-2",
        kubernetesVersion: "1.35",
        oidcProvider: { arn: `arn:aws:iam::${testAccountId}:oidc-provider/${testOidcIssuerHost}`, issuer: testOidcIssuerHost },
        waitFor: [cluster],
    });
    await rec.settle();
    const release = rec.one("kubernetes:helm.sh/v3:Release", "ca-release");

    it("installs chart cluster-autoscaler 9.59.0 into kube-system with the cluster's image minor", () => {
        expect(release.inputs).toMatchObject({
            name: "cluster-autoscaler",
            namespace: "kube-system",
            chart: "cluster-autoscaler",
            version: "9.59.0",
            repositoryOpts: { repo: "https://kubernetes.github.io/autoscaler" },
            values: { autoDiscovery: { clusterName: "demo" }, awsRegion: "us-east-2", image: { tag: "v1.35.2" } },
        });
    });

    it("annotates the ServiceAccount with the IRSA role, which trusts exactly that ServiceAccount", async () => {
        expect(release.inputs.values.rbac.serviceAccount.annotations["eks.amazonaws.com/role-arn"]).toBe(await promiseOf(ca.roleArn));
        const trust = JSON.parse(rec.one("aws:iam/role:Role", "ca-irsa-role").inputs.assumeRolePolicy);
        expect(trust.Statement[0].Condition.StringEquals[`${testOidcIssuerHost}:sub`]).toBe("system:serviceaccount:kube-system:cluster-autoscaler");
    });

    it("attaches the least-privilege policy for this account and cluster", () => {
        const policy = JSON.parse(rec.one("aws:iam/rolePolicy:RolePolicy", "ca-irsa-policy").inputs.policy);
        expect(policy).toEqual(clusterAutoscalerPolicy({ clusterName: "demo", region: "us-east-2", accountId: testAccountId, partition: "aws" }));
    });

    it("waits for the node groups and its IRSA policy", () => {
        expect(rec.dependsOn(release, rec.one("aws:eks/nodeGroup:NodeGroup", "cluster-gpu"))).toBe(true);
        expect(rec.dependsOn(release, rec.one("aws:iam/rolePolicy:RolePolicy", "ca-irsa-policy"))).toBe(true);
    });

    it("rejects bad arguments before creating anything", () => {
        const before = rec.resources.length;
        const args = { clusterName: "demo", region: "us-east-2", kubernetesVersion: "1.34" as const, oidcProvider: { arn: "a", issuer: "b" } };
        expect(() => new ClusterAutoscaler("x", { ...args, kubernetesVersion: "1.29" as any })).toThrow(/kubernetesVersion '1.29'/);
        expect(() => new ClusterAutoscaler("y", { ...args, expander: "priority" as any })).toThrow(/expander 'priority'/);
        expect(() => new ClusterAutoscaler("z", { ...args, region: "" })).toThrow(/region/);
        expect(rec.resources.length).toBe(before);
    });
});
