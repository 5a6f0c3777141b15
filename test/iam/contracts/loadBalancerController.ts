/**
 * The AWS Load Balancer Controller v2.17.1 role, as our ingress uses it: one `LoadBalancer` Service
 * (`aws-load-balancer-type: external`, `nlb-target-type: ip`, pinned public subnets and Elastic IP
 * allocations, see components/ingressGateway.ts) reconciled into an internet-facing NLB with a managed
 * frontend security group, a shared backend security group, a TCP listener and an IP target group,
 * and torn down again on delete.
 *
 * Every row cites kubernetes-sigs/aws-load-balancer-controller v2.17.1 (file, function). What the
 * controller puts in tags comes from pkg/deploy/tracking/provider.go `defaultProvider.ResourceTags`
 * (`elbv2.k8s.aws/cluster`, `service.k8s.aws/stack`, `service.k8s.aws/resource`; prefix from
 * controllers/service/service_controller.go). Creating with tags makes AWS also authorize the tagging
 * action with `ec2:CreateAction` / `elasticloadbalancing:CreateAction` (AWS EC2 and ELB user guides,
 * "Grant permission to tag resources during creation").
 */
import { AccessContract, ForbiddenCall, NeededCall } from "../contract";

const lbc = "kubernetes-sigs/aws-load-balancer-controller v2.17.1";

// ELB v1 and v2 share the `elasticloadbalancing` prefix; the packaged authorization data keeps only
// v1's resource type (`loadbalancer/<name>`) for AddTags, while the Service Authorization Reference
// for Elastic Load Balancing V2 lists target groups and listeners for it too.
const addTagsV2 = "iam-data lists only ELB v1's resource type for elasticloadbalancing:AddTags";

export function loadBalancerControllerContract(args: { readonly clusterName: string; readonly region: string; readonly accountId: string }): AccessContract {
    const { region, accountId } = args;
    const elb = (resource: string) => `arn:aws:elasticloadbalancing:${region}:${accountId}:${resource}`;
    const ec2 = (resource: string) => `arn:aws:ec2:${region}:${accountId}:${resource}`;
    const loadBalancer = elb("loadbalancer/net/k8s-istiosys-istioing-0a1b2c3d4e/0123456789abcdef");
    const targetGroup = elb("targetgroup/k8s-istiosys-istioing-5f6a7b8c9d/0123456789abcdef");
    const listener = elb("listener/net/k8s-istiosys-istioing-0a1b2c3d4e/0123456789abcdef/fedcba9876543210");
    const managedSecurityGroup = ec2("security-group/sg-0a1b2c3d4e5f60718");
    const backendSecurityGroup = ec2("security-group/sg-0b1b2c3d4e5f60718");
    // The security group of the nodes and pods (EKS's cluster security group): the controller opens it
    // to the NLB but never created or tagged it.
    const clusterSecurityGroup = ec2("security-group/sg-0c1b2c3d4e5f60718");
    const vpc = ec2("vpc/vpc-0123456789abcdef0");

    const controllerTags = {
        "elbv2.k8s.aws/cluster": args.clusterName,
        "service.k8s.aws/stack": "istio-system/istio-ingressgateway",
        "service.k8s.aws/resource": "LoadBalancer",
    };
    const requestTags = (tags: Record<string, string>) => ({
        ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])),
        "aws:TagKeys": Object.keys(tags),
    });
    const resourceTags = (tags: Record<string, string>) => Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
    const tagged = resourceTags(controllerTags);

    const describe = (action: string, source: string): NeededCall => ({ call: action.split(":")[1], action, resource: "*", source: `${lbc} ${source}` });
    const needed: NeededCall[] = [
        describe("ec2:DescribeSubnets", "pkg/networking/subnet_resolver.go defaultSubnetsResolver.listSubnetsByIDs"),
        describe("ec2:DescribeVpcs", "pkg/networking/vpc_info_provider.go defaultVPCInfoProvider.fetchVPCInfoFromAWS"),
        describe("ec2:DescribeAvailabilityZones", "pkg/networking/az_info_provider.go defaultAZInfoProvider.fetchAZInfosFromAWS"),
        describe("ec2:DescribeSecurityGroups", "pkg/networking/security_group_manager.go defaultSecurityGroupManager.fetchSGInfosFromAWS"),
        describe("ec2:DescribeNetworkInterfaces", "pkg/networking/pod_eni_info_resolver.go defaultPodENIInfoResolver.getENIMappingViaDescribe"),
        describe("ec2:DescribeInstances", "pkg/networking/node_info_provider.go defaultNodeInfoProvider.FetchNodeInstances"),
        describe("elasticloadbalancing:DescribeLoadBalancers", "pkg/deploy/elbv2/tagging_manager.go defaultTaggingManager.listLoadBalancersNative"),
        describe("elasticloadbalancing:DescribeTargetGroups", "pkg/deploy/elbv2/tagging_manager.go defaultTaggingManager.listTargetGroupsNative"),
        describe("elasticloadbalancing:DescribeTags", "pkg/deploy/elbv2/tagging_manager.go defaultTaggingManager.describeResourceTagsFromAWS"),
        describe("elasticloadbalancing:DescribeListeners", "pkg/deploy/elbv2/tagging_manager.go defaultTaggingManager.ListListeners"),
        describe("elasticloadbalancing:DescribeLoadBalancerAttributes", "pkg/deploy/elbv2/load_balancer_attributes_reconciler.go getCurrentLoadBalancerAttributes"),
        describe("elasticloadbalancing:DescribeTargetGroupAttributes", "pkg/deploy/elbv2/target_group_attributes_reconciler.go getCurrentTargetGroupAttributes"),
        describe("elasticloadbalancing:DescribeTargetHealth", "pkg/targetgroupbinding/targets_manager.go cachedTargetsManager.listTargetsFromAWS"),
        {
            call: "CreateLoadBalancer, first in the account (ELB creates its service-linked role as the caller)",
            action: "iam:CreateServiceLinkedRole",
            resource: `arn:aws:iam::${accountId}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing`,
            context: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" },
            source: `${lbc} pkg/deploy/elbv2/load_balancer_manager.go defaultLoadBalancerManager.Create; AWS ELB User Guide elb-service-linked-roles (iam:CreateServiceLinkedRole)`,
        },
        ...[managedSecurityGroup, vpc].map((resource) => ({
            call: `CreateSecurityGroup (frontend, TagSpecifications) on ${resource.split(":").pop()}`,
            action: "ec2:CreateSecurityGroup",
            resource,
            context: requestTags(controllerTags),
            source: `${lbc} pkg/deploy/ec2/security_group_manager.go defaultSecurityGroupManager.Create`,
        })),
        {
            call: "CreateSecurityGroup tags the new group",
            action: "ec2:CreateTags",
            resource: managedSecurityGroup,
            context: { "ec2:CreateAction": "CreateSecurityGroup", ...requestTags(controllerTags) },
            source: `${lbc} pkg/deploy/ec2/security_group_manager.go defaultSecurityGroupManager.Create`,
        },
        {
            call: "CreateSecurityGroup (shared backend group) tags the new group",
            action: "ec2:CreateTags",
            resource: backendSecurityGroup,
            context: { "ec2:CreateAction": "CreateSecurityGroup", ...requestTags({ "elbv2.k8s.aws/cluster": args.clusterName, "elbv2.k8s.aws/resource": "backend-sg" }) },
            source: `${lbc} pkg/networking/backend_sg_provider.go defaultBackendSGProvider.allocateBackendSG`,
        },
        {
            call: "AuthorizeSecurityGroupIngress on the controller's group",
            action: "ec2:AuthorizeSecurityGroupIngress",
            resource: managedSecurityGroup,
            context: tagged,
            source: `${lbc} pkg/networking/security_group_manager.go defaultSecurityGroupManager.AuthorizeSGIngress`,
        },
        ...(["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"] as const).map((action) => ({
            call: `${action.split(":")[1]} on the pods' security group (IP targets)`,
            action,
            resource: clusterSecurityGroup,
            source: `${lbc} pkg/networking/networking_manager.go defaultNetworkingManager.reconcileWithIngressPermissionsPerSG`,
        })),
        {
            call: "CreateLoadBalancer (network, internet-facing, SubnetMappings with EIP allocations, Tags)",
            action: "elasticloadbalancing:CreateLoadBalancer",
            resource: loadBalancer,
            context: requestTags(controllerTags),
            source: `${lbc} pkg/deploy/elbv2/load_balancer_manager.go defaultLoadBalancerManager.Create`,
        },
        {
            call: "CreateLoadBalancer tags the new load balancer",
            action: "elasticloadbalancing:AddTags",
            resource: loadBalancer,
            context: { "elasticloadbalancing:CreateAction": "CreateLoadBalancer", ...requestTags(controllerTags) },
            source: `${lbc} pkg/deploy/elbv2/load_balancer_manager.go defaultLoadBalancerManager.Create`,
        },
        {
            call: "ModifyLoadBalancerAttributes (cross-zone)",
            action: "elasticloadbalancing:ModifyLoadBalancerAttributes",
            resource: loadBalancer,
            context: tagged,
            source: `${lbc} pkg/deploy/elbv2/load_balancer_attributes_reconciler.go defaultLoadBalancerAttributeReconciler.Reconcile`,
        },
        {
            call: "CreateTargetGroup (ip, health check on 15021)",
            action: "elasticloadbalancing:CreateTargetGroup",
            resource: targetGroup,
            context: requestTags(controllerTags),
            source: `${lbc} pkg/deploy/elbv2/target_group_manager.go defaultTargetGroupManager.Create`,
        },
        {
            call: "CreateTargetGroup tags the new target group",
            action: "elasticloadbalancing:AddTags",
            resource: targetGroup,
            context: { "elasticloadbalancing:CreateAction": "CreateTargetGroup", ...requestTags(controllerTags) },
            unvalidatedResource: addTagsV2,
            source: `${lbc} pkg/deploy/elbv2/target_group_manager.go defaultTargetGroupManager.Create`,
        },
        ...(["elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes"] as const).map((action) => ({
            call: action.split(":")[1],
            action,
            resource: targetGroup,
            context: tagged,
            source: `${lbc} pkg/deploy/elbv2/${action.endsWith("Attributes") ? "target_group_attributes_reconciler.go defaultTargetGroupAttributeReconciler.Reconcile" : "target_group_manager.go defaultTargetGroupManager.updateSDKTargetGroupWithHealthCheck"}`,
        })),
        {
            call: "CreateListener (TCP 80)",
            action: "elasticloadbalancing:CreateListener",
            resource: loadBalancer,
            context: requestTags(controllerTags),
            source: `${lbc} pkg/deploy/elbv2/listener_manager.go defaultListenerManager.Create`,
        },
        {
            call: "CreateListener tags the new listener",
            action: "elasticloadbalancing:AddTags",
            resource: listener,
            context: { "elasticloadbalancing:CreateAction": "CreateListener", ...requestTags(controllerTags) },
            unvalidatedResource: addTagsV2,
            source: `${lbc} pkg/deploy/elbv2/listener_manager.go defaultListenerManager.Create`,
        },
        ...(["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"] as const).map((action) => ({
            call: `${action.split(":")[1]} (gateway pod IPs)`,
            action,
            resource: targetGroup,
            context: tagged,
            source: `${lbc} pkg/targetgroupbinding/targets_manager.go cachedTargetsManager.${action.split(":")[1]}`,
        })),
        { call: "DeleteLoadBalancer (Service deleted)", action: "elasticloadbalancing:DeleteLoadBalancer", resource: loadBalancer, context: tagged, source: `${lbc} pkg/deploy/elbv2/load_balancer_manager.go defaultLoadBalancerManager.Delete` },
        { call: "DeleteTargetGroup", action: "elasticloadbalancing:DeleteTargetGroup", resource: targetGroup, context: tagged, source: `${lbc} pkg/deploy/elbv2/target_group_manager.go defaultTargetGroupManager.Delete` },
        { call: "DeleteSecurityGroup (frontend)", action: "ec2:DeleteSecurityGroup", resource: managedSecurityGroup, context: tagged, source: `${lbc} pkg/deploy/ec2/security_group_manager.go defaultSecurityGroupManager.Delete` },
        {
            call: "DeleteSecurityGroup (backend, last user gone)",
            action: "ec2:DeleteSecurityGroup",
            resource: backendSecurityGroup,
            context: resourceTags({ "elbv2.k8s.aws/cluster": args.clusterName, "elbv2.k8s.aws/resource": "backend-sg" }),
            source: `${lbc} pkg/networking/backend_sg_provider.go defaultBackendSGProvider.releaseSG`,
        },
    ];

    const otherLoadBalancer = elb("loadbalancer/net/someone-elses-nlb/0123456789abcdef");
    const forbidden: ForbiddenCall[] = [
        { call: "DeleteLoadBalancer of a load balancer it did not create", action: "elasticloadbalancing:DeleteLoadBalancer", resource: otherLoadBalancer, why: "untagged: not the controller's" },
        { call: "ModifyLoadBalancerAttributes of a load balancer it did not create", action: "elasticloadbalancing:ModifyLoadBalancerAttributes", resource: otherLoadBalancer, why: "untagged: not the controller's" },
        { call: "AddTags to a load balancer it did not create", action: "elasticloadbalancing:AddTags", resource: otherLoadBalancer, context: requestTags(controllerTags), why: "adopting foreign load balancers by tagging" },
        { call: "CreateLoadBalancer without the cluster tag", action: "elasticloadbalancing:CreateLoadBalancer", resource: loadBalancer, context: requestTags({ Name: "untracked" }), why: "everything it creates must be tracked" },
        { call: "DeleteSecurityGroup of the cluster's security group", action: "ec2:DeleteSecurityGroup", resource: clusterSecurityGroup, why: "untagged: not the controller's" },
        { call: "CreateTags on an existing untagged security group", action: "ec2:CreateTags", resource: clusterSecurityGroup, context: requestTags(controllerTags), why: "adopting foreign security groups by tagging" },
        {
            call: "CreateServiceLinkedRole for another service",
            action: "iam:CreateServiceLinkedRole",
            resource: `arn:aws:iam::${accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
            context: { "iam:AWSServiceName": "autoscaling.amazonaws.com" },
            why: "only ELB's service-linked role",
        },
        { call: "iam:PassRole", action: "iam:PassRole", resource: `arn:aws:iam::${accountId}:role/any-role`, why: "no role hand-off" },
        ...(["ec2:ReleaseAddress", "ec2:DisassociateAddress", "ec2:AssociateAddress"] as const).map((action) => ({
            call: `${action.split(":")[1]} of the stack's Elastic IPs`,
            action,
            resource: ec2("elastic-ip/eipalloc-0123456789abcdef0"),
            why: "the stack owns the EIPs; ELB attaches them itself",
        })),
        { call: "DeleteSubnet", action: "ec2:DeleteSubnet", resource: ec2("subnet/subnet-0123456789abcdef0"), why: "the network is the stack's" },
        { call: "RunInstances", action: "ec2:RunInstances", resource: ec2("instance/*"), why: "no compute" },
    ];
    return { client: "AWS Load Balancer Controller v2.17.1", needed, forbidden };
}
