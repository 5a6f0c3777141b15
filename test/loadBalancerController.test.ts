import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import {
    LoadBalancerController,
    loadBalancerControllerPolicy,
    loadBalancerControllerValues,
} from "../components/aws/loadBalancerController";
import { undeclaredValuePaths } from "./chartValues";
import { describeWithSharedSchemas, itWithSharedSchemas, readUpstreamJson, readUpstreamYaml, sharedSchemasPresent, upstreamFolders } from "./shared";
import { installMocks, promiseOf, testAccountId, testOidcIssuerHost, FakeCluster } from "./kit";

type Statement = { Effect: string; Action: string | string[]; Resource: string | string[]; Condition?: Record<string, Record<string, string | string[]>> };

const asList = (v: string | string[]) => (Array.isArray(v) ? [...v] : [v]).sort();

/** A statement in a canonical form: lists sorted, Sid dropped, so upstream JSON and our document compare. */
function canonical(s: Statement): string {
    const condition = s.Condition
        ? Object.fromEntries(
              Object.keys(s.Condition)
                  .sort()
                  .map((op) => [
                      op,
                      Object.fromEntries(
                          Object.keys(s.Condition![op])
                              .sort()
                              .map((k) => [k, asList(s.Condition![op][k])]),
                      ),
                  ]),
          )
        : undefined;
    return JSON.stringify({ Effect: s.Effect, Action: asList(s.Action), Resource: asList(s.Resource), Condition: condition });
}

const statements = (doc: aws.iam.PolicyDocument) => doc.Statement as unknown as Statement[];
const actionsOf = (doc: { Statement: Statement[] }) => new Set(doc.Statement.flatMap((s) => asList(s.Action)));

describe("loadBalancerControllerPolicy", () => {
    const policy = loadBalancerControllerPolicy();

    it("has no wildcard action and allows only", () => {
        for (const s of statements(policy)) {
            expect(s.Effect).toBe("Allow");
            for (const action of asList(s.Action)) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
        }
    });

    it("scopes every tag write to resources the controller tagged", () => {
        const tagWrites = statements(policy).filter((s) =>
            asList(s.Action).some((a) => /:(CreateTags|DeleteTags|AddTags|RemoveTags)$/.test(a)),
        );
        expect(tagWrites.length).toBeGreaterThan(0);
        for (const s of tagWrites) expect(s.Resource).not.toBe("*");
    });

    it("uses the requested partition in every ARN", () => {
        const gov = JSON.stringify(loadBalancerControllerPolicy("aws-us-gov"));
        expect(gov).toContain("arn:aws-us-gov:ec2:*:*:security-group/*");
        expect(gov).not.toMatch(/arn:aws:/);
        expect(() => loadBalancerControllerPolicy("azure")).toThrow(/not an AWS partition/);
    });

    describeWithSharedSchemas(`against upstream docs/install/iam_policy.json (${upstreamFolders().awsLoadBalancerController})`, () => {
        const upstream = sharedSchemasPresent ? readUpstreamJson("awsLoadBalancerController", "iam_policy.json") : undefined;

        it("grants exactly the upstream action set", () => {
            expect([...actionsOf({ Statement: statements(policy) })].sort()).toEqual([...actionsOf(upstream)].sort());
        });

        it("has the same statements (actions, resources and conditions)", () => {
            const ours = statements(policy).map(canonical).sort();
            const theirs = (upstream.Statement as Statement[]).map(canonical).sort();
            expect(ours).toEqual(theirs);
        });
    });
});

describe("loadBalancerControllerValues", () => {
    const values = loadBalancerControllerValues({
        clusterName: "demo",
        region: "us-east-2",
        vpcId: "vpc-1",
        roleArn: "arn:aws:iam::123456789012:role/lbc",
        replicas: 2,
    });

    it("sets cluster, region, VPC and the IRSA annotation on the created ServiceAccount", () => {
        expect(values).toMatchObject({
            clusterName: "demo",
            region: "us-east-2",
            vpcId: "vpc-1",
            replicaCount: 2,
            serviceAccount: {
                create: true,
                name: "aws-load-balancer-controller",
                annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/lbc" },
            },
        });
    });

    it("turns the cluster-wide Service mutator webhook off and hardens the container", () => {
        expect(values.enableServiceMutatorWebhook).toBe(false);
        expect(values.securityContext).toMatchObject({
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        });
        expect(values.resources).toMatchObject({ requests: { cpu: expect.any(String) }, limits: { memory: expect.any(String) } });
    });

    itWithSharedSchemas("uses only value names the chart's values.yaml declares", () => {
        const upstream = readUpstreamYaml("awsLoadBalancerController", "values.yaml");
        expect(undeclaredValuePaths(values, upstream, { freeForm: ["securityContext", "resources"] })).toEqual([]);
        // The helper itself must catch a misspelt key.
        expect(undeclaredValuePaths({ ...values, clustername: "x" }, upstream)).toContain("clustername");
    });
});

describe("LoadBalancerController component", async () => {
    const rec = await installMocks();

    const cluster = new FakeCluster("cluster", "cpu");
    const lbc = new LoadBalancerController("lbc", {
        clusterName: pulumi.output("demo"),
        region: "us-east-2",
        vpcId: pulumi.output("vpc-0123456789"),
        oidcProvider: { arn: `arn:aws:iam::${testAccountId}:oidc-provider/${testOidcIssuerHost}`, issuer: testOidcIssuerHost },
        waitFor: [cluster],
    });
    await rec.settle();
    const release = rec.one("kubernetes:helm.sh/v3:Release", "lbc-release");

    it("installs chart aws-load-balancer-controller 1.17.1 from eks-charts into kube-system", () => {
        expect(release.inputs).toMatchObject({
            name: "aws-load-balancer-controller",
            namespace: "kube-system",
            chart: "aws-load-balancer-controller",
            version: "1.17.1",
            repositoryOpts: { repo: "https://aws.github.io/eks-charts" },
        });
    });

    it("passes clusterName, region, vpcId and the role ARN", async () => {
        const roleArn = await promiseOf(lbc.roleArn);
        expect(roleArn).toMatch(/^arn:aws:iam::123456789012:role\//);
        expect(release.inputs.values).toMatchObject({
            clusterName: "demo",
            region: "us-east-2",
            vpcId: "vpc-0123456789",
            replicaCount: 2,
            serviceAccount: { annotations: { "eks.amazonaws.com/role-arn": roleArn } },
        });
    });

    it("trusts exactly the controller's ServiceAccount", () => {
        const role = rec.one("aws:iam/role:Role", "lbc-irsa-role");
        const trust = JSON.parse(role.inputs.assumeRolePolicy);
        expect(trust.Statement[0].Condition.StringEquals).toEqual({
            [`${testOidcIssuerHost}:sub`]: "system:serviceaccount:kube-system:aws-load-balancer-controller",
            [`${testOidcIssuerHost}:aud`]: "sts.amazonaws.com",
        });
    });

    it("attaches the documented policy to the role", () => {
        const policy = rec.one("aws:iam/rolePolicy:RolePolicy", "lbc-irsa-policy");
        expect(JSON.parse(policy.inputs.policy)).toEqual(loadBalancerControllerPolicy("aws"));
    });

    it("waits for the node groups and for its IRSA policy", () => {
        expect(rec.dependsOn(release, rec.one("aws:eks/nodeGroup:NodeGroup", "cluster-cpu"))).toBe(true);
        expect(rec.dependsOn(release, rec.one("aws:iam/rolePolicy:RolePolicy", "lbc-irsa-policy"))).toBe(true);
    });

    it("parents its children under the component", () => {
        const component = rec.one("inference-platform:ingress:LoadBalancerController", "lbc");
        expect(release.parent).toBe(component.urn);
        expect(rec.one("inference-platform:aws:IrsaRole", "lbc-irsa").parent).toBe(component.urn);
    });

    it("rejects a bad region or replica count before creating anything", () => {
        const before = rec.resources.length;
        const base = { clusterName: "demo", vpcId: "vpc-1", oidcProvider: { arn: "arn", issuer: testOidcIssuerHost } };
        expect(() => new LoadBalancerController("bad", { ...base, region: "Ohio" })).toThrow(/region: 'Ohio' is not an AWS region/);
        expect(() => new LoadBalancerController("bad2", { ...base, region: "us-east-2", replicas: 0 })).toThrow(/replicas: 0/);
        expect(rec.resources.length).toBe(before);
    });
});
