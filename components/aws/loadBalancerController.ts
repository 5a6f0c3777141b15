/**
 * AWS Load Balancer Controller: turns the Istio ingress gateway's `LoadBalancer` Service into an
 * internet-facing NLB (IP targets, pinned subnets and Elastic IPs). Helm chart from eks-charts in
 * kube-system, with an IRSA role carrying the controller's documented IAM policy.
 *
 * Ordering: the release waits for its IRSA role (policy attached) and for `waitFor` (the node groups),
 * so on destroy Pulumi removes it before nodes, cluster and VPC, and only after the gateway release
 * that depends on it, i.e. while it can still delete the NLB it created.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { IrsaRole, OidcProvider } from "./irsa";
import { awsRegionProblem, partitionProblem } from "./names";
import { helmChartSource } from "../common/charts";
import { chartPins, defaultVersions, VersionSet } from "../../versions";

/** Release name, ServiceAccount name and namespace (fixed: the IRSA trust policy names them). */
export const loadBalancerControllerNamespace = "kube-system";
export const loadBalancerControllerServiceAccount = "aws-load-balancer-controller";

// Condition fragments the controller's policy repeats: resources the controller itself created carry
// the tag `elbv2.k8s.aws/cluster`, so these scope writes to the controller's own load balancers,
// target groups and security groups.
const taggedByController = { "aws:ResourceTag/elbv2.k8s.aws/cluster": "false" } as const;
const requestTagsController = { "aws:RequestTag/elbv2.k8s.aws/cluster": "false" } as const;
const tagChangeOnControllerResource = {
    "aws:RequestTag/elbv2.k8s.aws/cluster": "true",
    "aws:ResourceTag/elbv2.k8s.aws/cluster": "false",
} as const;

/**
 * The controller's IAM policy as upstream documents it for v2.17.1 (`docs/install/iam_policy.json`),
 * written statement by statement. Kept faithful to upstream so upgrades are a diff against the docs.
 *
 * `Resource: "*"` appears where upstream uses it. For the Describe and Get actions, ACM/IAM
 * certificate listing, `iam:CreateServiceLinkedRole` and `ec2:CreateSecurityGroup` (the VPC is not known to
 * the policy), AWS offers no useful resource-level permission; the remaining ones (listener/rule and
 * security-group-rule changes, WAF/Shield association) act on load balancers whose ARNs are unknown
 * until the controller creates them. Where AWS supports it, upstream constrains these with Conditions
 * on the `elbv2.k8s.aws/cluster` tag, and so does this document. The stack's policy pack exempts this
 * documented policy from its no-wildcard rule.
 *
 * `partition`: `aws` (default), `aws-cn` or `aws-us-gov`; only the partition of the ARNs changes.
 */
export function loadBalancerControllerPolicy(partition = "aws"): aws.iam.PolicyDocument {
    const problem = partitionProblem(partition);
    if (problem) throw new Error(`loadBalancerControllerPolicy: ${problem}`);
    const securityGroups = `arn:${partition}:ec2:*:*:security-group/*`;
    const elb = (resource: string) => `arn:${partition}:elasticloadbalancing:*:*:${resource}`;
    const targetGroupsAndLoadBalancers = [elb("targetgroup/*/*"), elb("loadbalancer/net/*/*"), elb("loadbalancer/app/*/*")];

    return {
        Version: "2012-10-17",
        Statement: [
            {
                // ELB's service-linked role, created once per account on the first load balancer.
                Sid: "CreateElbServiceLinkedRole",
                Effect: "Allow",
                Action: ["iam:CreateServiceLinkedRole"],
                Resource: "*",
                Condition: { StringEquals: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" } },
            },
            {
                // Read-only discovery of the network and of existing load balancers (no resource-level permissions).
                Sid: "DescribeNetworkAndLoadBalancers",
                Effect: "Allow",
                Action: [
                    ...["DescribeAccountAttributes", "DescribeAddresses", "DescribeAvailabilityZones"].map((a) => `ec2:${a}`),
                    ...["DescribeInternetGateways", "DescribeVpcs", "DescribeVpcPeeringConnections"].map((a) => `ec2:${a}`),
                    ...["DescribeSubnets", "DescribeSecurityGroups", "DescribeInstances"].map((a) => `ec2:${a}`),
                    ...["DescribeNetworkInterfaces", "DescribeTags", "GetCoipPoolUsage", "DescribeCoipPools"].map((a) => `ec2:${a}`),
                    ...["GetSecurityGroupsForVpc", "DescribeIpamPools", "DescribeRouteTables"].map((a) => `ec2:${a}`),
                    ...[
                        "DescribeLoadBalancers",
                        "DescribeLoadBalancerAttributes",
                        "DescribeListeners",
                        "DescribeListenerCertificates",
                        "DescribeSSLPolicies",
                        "DescribeRules",
                        "DescribeTargetGroups",
                        "DescribeTargetGroupAttributes",
                        "DescribeTargetHealth",
                        "DescribeTags",
                        "DescribeTrustStores",
                        "DescribeListenerAttributes",
                        "DescribeCapacityReservation",
                    ].map((a) => `elasticloadbalancing:${a}`),
                ],
                Resource: "*",
            },
            {
                // Certificates, Cognito, WAF and Shield integrations referenced from Ingress/Service annotations.
                Sid: "AnnotationIntegrations",
                Effect: "Allow",
                Action: [
                    "cognito-idp:DescribeUserPoolClient",
                    "acm:ListCertificates",
                    "acm:DescribeCertificate",
                    "iam:ListServerCertificates",
                    "iam:GetServerCertificate",
                    ...["GetWebACL", "GetWebACLForResource", "AssociateWebACL", "DisassociateWebACL"].map((a) => `waf-regional:${a}`),
                    ...["GetWebACL", "GetWebACLForResource", "AssociateWebACL", "DisassociateWebACL"].map((a) => `wafv2:${a}`),
                    "shield:GetSubscriptionState",
                    "shield:DescribeProtection",
                    "shield:CreateProtection",
                    "shield:DeleteProtection",
                ],
                Resource: "*",
            },
            {
                // Opening node/pod security groups to the load balancer (the groups belong to the cluster, not to the controller).
                Sid: "ManageSecurityGroupIngress",
                Effect: "Allow",
                Action: ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
                Resource: "*",
            },
            {
                Sid: "CreateSecurityGroup",
                Effect: "Allow",
                Action: ["ec2:CreateSecurityGroup"],
                Resource: "*",
            },
            {
                // Tagging a security group only in the call that creates it, and only with the controller's tag.
                Sid: "TagSecurityGroupOnCreate",
                Effect: "Allow",
                Action: ["ec2:CreateTags"],
                Resource: securityGroups,
                Condition: {
                    StringEquals: { "ec2:CreateAction": "CreateSecurityGroup" },
                    Null: requestTagsController,
                },
            },
            {
                Sid: "RetagControllerSecurityGroups",
                Effect: "Allow",
                Action: ["ec2:CreateTags", "ec2:DeleteTags"],
                Resource: securityGroups,
                Condition: { Null: tagChangeOnControllerResource },
            },
            {
                Sid: "ManageControllerSecurityGroups",
                Effect: "Allow",
                Action: ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"],
                Resource: "*",
                Condition: { Null: taggedByController },
            },
            {
                Sid: "CreateTaggedLoadBalancers",
                Effect: "Allow",
                Action: ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
                Resource: "*",
                Condition: { Null: requestTagsController },
            },
            {
                Sid: "ManageListenersAndRules",
                Effect: "Allow",
                Action: [
                    "elasticloadbalancing:CreateListener",
                    "elasticloadbalancing:DeleteListener",
                    "elasticloadbalancing:CreateRule",
                    "elasticloadbalancing:DeleteRule",
                ],
                Resource: "*",
            },
            {
                Sid: "RetagControllerLoadBalancers",
                Effect: "Allow",
                Action: ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
                Resource: targetGroupsAndLoadBalancers,
                Condition: { Null: tagChangeOnControllerResource },
            },
            {
                Sid: "TagListenersAndRules",
                Effect: "Allow",
                Action: ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
                Resource: [
                    elb("listener/net/*/*/*"),
                    elb("listener/app/*/*/*"),
                    elb("listener-rule/net/*/*/*"),
                    elb("listener-rule/app/*/*/*"),
                ],
            },
            {
                Sid: "ModifyControllerLoadBalancers",
                Effect: "Allow",
                Action: [
                    "ModifyLoadBalancerAttributes",
                    "SetIpAddressType",
                    "SetSecurityGroups",
                    "SetSubnets",
                    "DeleteLoadBalancer",
                    "ModifyTargetGroup",
                    "ModifyTargetGroupAttributes",
                    "DeleteTargetGroup",
                    "ModifyListenerAttributes",
                    "ModifyCapacityReservation",
                    "ModifyIpPools",
                ].map((a) => `elasticloadbalancing:${a}`),
                Resource: "*",
                Condition: { Null: taggedByController },
            },
            {
                Sid: "TagLoadBalancersOnCreate",
                Effect: "Allow",
                Action: ["elasticloadbalancing:AddTags"],
                Resource: targetGroupsAndLoadBalancers,
                Condition: {
                    StringEquals: { "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"] },
                    Null: requestTagsController,
                },
            },
            {
                Sid: "RegisterTargets",
                Effect: "Allow",
                Action: ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                Resource: elb("targetgroup/*/*"),
            },
            {
                Sid: "ModifyListenersAndRules",
                Effect: "Allow",
                Action: [
                    "elasticloadbalancing:SetWebAcl",
                    "elasticloadbalancing:ModifyListener",
                    "elasticloadbalancing:AddListenerCertificates",
                    "elasticloadbalancing:RemoveListenerCertificates",
                    "elasticloadbalancing:ModifyRule",
                    "elasticloadbalancing:SetRulePriorities",
                ],
                Resource: "*",
            },
        ],
    };
}

/** Inputs of `loadBalancerControllerValues`, all resolved. */
export interface LoadBalancerControllerValuesInput {
    readonly clusterName: string;
    readonly region: string;
    readonly vpcId: string;
    readonly roleArn: string;
    readonly replicas: number;
}

/** Helm values of the aws-load-balancer-controller chart (value names from the chart's values.yaml at v2.17.1). */
export function loadBalancerControllerValues(input: LoadBalancerControllerValuesInput): Record<string, unknown> {
    return {
        clusterName: input.clusterName,
        // Region and VPC given explicitly, so the controller never needs the instance metadata service.
        region: input.region,
        vpcId: input.vpcId,
        replicaCount: input.replicas,
        serviceAccount: {
            create: true,
            name: loadBalancerControllerServiceAccount,
            annotations: { "eks.amazonaws.com/role-arn": input.roleArn },
        },
        // The Service mutator webhook (failurePolicy Fail, every Service CREATE in the cluster) would make
        // Services of charts installing in parallel (istiod, cert-manager, Knative) fail while the
        // controller's pods start. The gateway Service opts in explicitly with
        // `aws-load-balancer-type: external`, which the controller reconciles without the webhook.
        enableServiceMutatorWebhook: false,
        // Only the gateway's NLB is needed; no IngressClass `alb` is installed to invite ALBs by accident.
        createIngressClassResource: false,
        resources: {
            requests: { cpu: "50m", memory: "128Mi" },
            limits: { cpu: "500m", memory: "512Mi" },
        },
        // The chart's default container securityContext without capabilities/seccomp; this completes it.
        securityContext: {
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        },
        // Helm, not Pulumi, manages the pods, so only `part-of` is added (the chart sets its own managed-by).
        podLabels: { "app.kubernetes.io/part-of": "inference-platform" },
    };
}

export interface LoadBalancerControllerArgs {
    /** EKS cluster name (the controller tags what it creates with it). Required. */
    readonly clusterName: pulumi.Input<string>;
    /** AWS region of the cluster, e.g. `us-east-2`. Required. */
    readonly region: string;
    /** VPC of the cluster. Required. */
    readonly vpcId: pulumi.Input<string>;
    /** The cluster's OIDC provider, for the controller's IRSA role. Required. */
    readonly oidcProvider: OidcProvider;
    /** What the release waits for (the node groups, or the cluster component that owns them). Default: none. */
    readonly waitFor?: pulumi.Resource[];
    /** Version set to take the chart pin from. Default: `defaultVersions`. */
    readonly versions?: VersionSet;
    /** Controller replicas (leader-elected; 2 survive a node loss). Default: 2. */
    readonly replicas?: number;
}

/** The AWS Load Balancer Controller with its IRSA role. Depend on this component to wait until it (and its webhook) is ready. */
export class LoadBalancerController extends pulumi.ComponentResource {
    public readonly role: IrsaRole;
    public readonly release: k8s.helm.v3.Release;
    public readonly roleArn: pulumi.Output<string>;

    constructor(name: string, args: LoadBalancerControllerArgs, opts?: pulumi.ComponentResourceOptions) {
        const regionProblem = awsRegionProblem(args.region);
        const replicas = args.replicas ?? 2;
        const problems = [
            ...(regionProblem ? [`region: ${regionProblem}`] : []),
            ...(!Number.isInteger(replicas) || replicas < 1 || replicas > 10 ? [`replicas: ${replicas} is not an integer from 1 to 10`] : []),
        ];
        if (problems.length > 0) throw new Error(`LoadBalancerController ${name}: ${problems.join("; ")}`);
        super("inference-platform:ingress:LoadBalancerController", name, {}, opts);

        const pin = chartPins(args.versions ?? defaultVersions).awsLoadBalancerController;
        const partition = aws.getPartitionOutput({}, { parent: this }).partition;

        this.role = new IrsaRole(
            `${name}-irsa`,
            {
                oidcProvider: args.oidcProvider,
                namespace: loadBalancerControllerNamespace,
                serviceAccountName: loadBalancerControllerServiceAccount,
                policy: partition.apply((p) => loadBalancerControllerPolicy(p)),
                description: "AWS Load Balancer Controller (IRSA)",
                tags: { "app.kubernetes.io/part-of": "inference-platform", "app.kubernetes.io/managed-by": "pulumi" },
            },
            { parent: this },
        );
        this.roleArn = this.role.roleArn;

        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: "aws-load-balancer-controller",
                namespace: loadBalancerControllerNamespace,
                ...helmChartSource(pin),
                values: pulumi
                    .all([args.clusterName, args.vpcId, this.role.roleArn])
                    .apply(([clusterName, vpcId, roleArn]) =>
                        loadBalancerControllerValues({ clusterName, region: args.region, vpcId, roleArn, replicas }),
                    ),
            },
            // The role's policy must exist before the pods call AWS; the nodes before the pods can run.
            { parent: this, dependsOn: [this.role, ...(args.waitFor ?? [])] },
        );

        this.registerOutputs({ roleArn: this.roleArn, releaseStatus: this.release.status });
    }
}
