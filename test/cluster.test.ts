import { describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, promiseOf } from "./kit";
import { mimeParts, nodeConfigs } from "./nodeadmUserData";
import { EksCluster, gpuAcceleratorLabelValue, gpuNodeTemplateTags, isCreator, nodeAmiType, principalOf } from "../components/aws/eksCluster";

const nodes = { instanceTypes: ["m6i.large"], capacityType: "ON_DEMAND", minSize: 2, desiredSize: 2, maxSize: 4, diskSizeGiB: 50 } as const;
const gpu = { enabled: true, instanceTypes: ["g5.xlarge", "g6.xlarge"], capacityType: "SPOT", minSize: 0, desiredSize: 0, maxSize: 2, diskSizeGiB: 100 } as const;

describe("EksCluster", async () => {
    const rec = await installMocks();
    const cluster = new EksCluster("eks", {
        clusterName: "ip-dev",
        kubernetesVersion: "1.34",
        vpcId: "vpc-1",
        publicSubnetIds: ["subnet-public-0", "subnet-public-1"],
        privateSubnetIds: ["subnet-private-0", "subnet-private-1"],
        publicAccessCidrs: ["203.0.113.0/24"],
        adminPrincipalArns: ["arn:aws:iam::123456789012:role/platform-admins"],
        previewPrincipalArns: ["arn:aws:iam::123456789012:role/ci/pulumi-preview"],
        cpuNodes: nodes,
        gpuNodes: gpu,
        tags: { env: "dev" },
    });
    await rec.settle();
    const control = rec.one("eks:index:Cluster");
    const cpu = rec.one("aws:eks/nodeGroup:NodeGroup", "-cpu");
    const gpuGroup = rec.one("aws:eks/nodeGroup:NodeGroup", "-gpu");

    it("pins the version, standard support, API auth, OIDC and control-plane logs", () => {
        expect(control.inputs.version).toBe("1.34");
        expect(control.inputs.upgradePolicy).toEqual({ supportType: "STANDARD" });
        expect(control.inputs.authenticationMode).toBe("API");
        expect(control.inputs.createOidcProvider).toBe(true);
        expect(control.inputs.skipDefaultNodeGroup).toBe(true);
        expect(control.inputs.enabledClusterLogTypes).toEqual(["api", "audit", "authenticator"]);
        expect(control.inputs.publicAccessCidrs).toEqual(["203.0.113.0/24"]);
        expect(control.inputs.nodeAssociatePublicIpAddress).toBe(false);
    });

    it("grants configured admins cluster-admin and preview principals read-only view through access entries", () => {
        const entries = control.inputs.accessEntries as Record<string, any>;
        expect(Object.keys(entries).sort()).toEqual(["admin-0", "preview-0"]);
        expect(entries["admin-0"].principalArn).toBe("arn:aws:iam::123456789012:role/platform-admins");
        expect(entries["admin-0"].accessPolicies).toEqual({
            admin: { policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", accessScope: { type: "cluster" } },
        });
        // EKS's access policy names (docs: "Access policy permissions", AmazonEKSViewPolicy is view-only).
        expect(entries["preview-0"].principalArn).toBe("arn:aws:iam::123456789012:role/ci/pulumi-preview");
        expect(entries["preview-0"].accessPolicies).toEqual({
            view: { policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", accessScope: { type: "cluster" } },
        });
    });

    it("runs the GPU group on the NVIDIA AMI, labelled and tainted, from zero", () => {
        expect(gpuGroup.inputs.amiType).toBe("AL2023_x86_64_NVIDIA");
        expect(gpuGroup.inputs.labels["nvidia.com/gpu.present"]).toBe("true");
        // The autoscaler's AWS GPU label: present, so a GPU node counts as unready until nvidia.com/gpu shows up.
        expect(gpuGroup.inputs.labels["k8s.amazonaws.com/accelerator"]).toBe("nvidia");
        expect(cpu.inputs.labels["k8s.amazonaws.com/accelerator"]).toBeUndefined();
        expect(gpuGroup.inputs.taints).toEqual([{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }]);
        expect(gpuGroup.inputs.scalingConfig).toEqual({ minSize: 0, desiredSize: 0, maxSize: 2 });
        expect(gpuGroup.inputs.capacityType).toBe("SPOT");
        expect(gpuGroup.options.ignoreChanges).toContain("scalingConfig.desiredSize");
    });

    it("runs the CPU group on the standard AL2023 AMI in private subnets", () => {
        expect(cpu.inputs.amiType).toBe("AL2023_x86_64_STANDARD");
        expect(cpu.inputs.taints ?? []).toEqual([]);
        expect(cpu.inputs.subnetIds).toEqual(["subnet-private-0", "subnet-private-1"]);
        expect(cpu.inputs.instanceTypes).toEqual(["m6i.large"]);
    });

    it("makes both node groups wait for every policy attachment of their role", () => {
        const attachments = rec.byType("aws:iam/rolePolicyAttachment:RolePolicyAttachment");
        expect(attachments.map((a) => a.inputs.policyArn).sort()).toEqual([
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        ]);
        for (const group of [cpu, gpuGroup]) {
            for (const attachment of attachments) expect(rec.dependsOn(group, attachment), `${group.name} -> ${attachment.name}`).toBe(true);
        }
    });

    it("encrypts root volumes and requires IMDSv2 with one hop", () => {
        for (const lt of rec.byType("aws:ec2/launchTemplate:LaunchTemplate")) {
            expect(lt.inputs.blockDeviceMappings[0].ebs).toMatchObject({ encrypted: "true", volumeType: "gp3" });
            expect(lt.inputs.metadataOptions).toMatchObject({ httpTokens: "required", httpPutResponseHopLimit: 1 });
        }
        const gpuLt = rec.one("aws:ec2/launchTemplate:LaunchTemplate", "-gpu-lt");
        expect(gpuLt.inputs.blockDeviceMappings[0].ebs.volumeSize).toBe(100);
    });

    // Upstream facts (awslabs/amazon-eks-ami, main at v20260724): nodeadm/doc/examples.md "Enabling fast image pull"
    // recommends >= 600 MiB/s root volume throughput; nodeadm/api/v1alpha1/nodeconfig_types.go enumerates the
    // feature gates {InstanceIdNodeName, FastImagePull}; user data is MIME multi-part with
    // `Content-Type: application/node.eks.aws` parts (nodeadm/doc/examples.md). gp3 limits (Amazon EBS User
    // Guide, "General Purpose SSD volumes"): throughput 125-1000 MiB/s and at most 0.25 MiB/s per provisioned IOPS.
    it("gives GPU nodes a fast root volume and SOCI parallel pull (nodeadm FastImagePull); CPU nodes keep the defaults", () => {
        const gpuLt = rec.one("aws:ec2/launchTemplate:LaunchTemplate", "-gpu-lt");
        const cpuLt = rec.one("aws:ec2/launchTemplate:LaunchTemplate", "-cpu-lt");
        const ebs = gpuLt.inputs.blockDeviceMappings[0].ebs;
        expect(ebs.throughput).toBeGreaterThanOrEqual(600);
        expect(ebs.throughput).toBeLessThanOrEqual(1000);
        expect(ebs.throughput).toBeLessThanOrEqual(ebs.iops * 0.25);
        expect(cpuLt.inputs.blockDeviceMappings[0].ebs.throughput).toBeUndefined();
        expect(cpuLt.inputs.userData).toBeUndefined();

        const mime = Buffer.from(gpuLt.inputs.userData, "base64").toString("utf8");
        expect(mimeParts(mime).map((p) => p.contentType)).toEqual(["application/node.eks.aws"]);
        expect(nodeConfigs(mime)).toEqual([{ apiVersion: "node.eks.aws/v1alpha1", kind: "NodeConfig", spec: { featureGates: { FastImagePull: true } } }]);
    });

    it("tags the GPU auto scaling group so the autoscaler can scale it up from zero", () => {
        const tags = rec.byType("aws:autoscaling/tag:Tag");
        const byKey = Object.fromEntries(tags.map((t) => [t.inputs.tag.key, t.inputs.tag.value]));
        expect(byKey["k8s.io/cluster-autoscaler/node-template/label/nvidia.com/gpu.present"]).toBe("true");
        expect(byKey["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"]).toBe("true:NoSchedule");
        expect(byKey["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"]).toBe("1");
        // At zero nodes the template stands in for a node: it must carry the GPU label too.
        expect(byKey["k8s.io/cluster-autoscaler/node-template/label/k8s.amazonaws.com/accelerator"]).toBe("nvidia");
        for (const t of tags) expect(t.inputs.autoscalingGroupName).toBe("eks-eks-gpu-asg");
    });

    it("creates the Kubernetes provider only after the node groups (and so deletes k8s objects before them)", () => {
        const provider = rec.one("pulumi:providers:kubernetes");
        expect(rec.dependsOn(provider, cpu)).toBe(true);
        expect(rec.dependsOn(provider, gpuGroup)).toBe(true);
        expect(provider.inputs.enableServerSideApply).toBe("true");
    });

    it("exposes the OIDC provider and a secret kubeconfig", async () => {
        expect(await promiseOf(cluster.oidcProvider.arn)).toMatch(/^arn:aws:iam::123456789012:oidc-provider\/oidc\.eks\./);
        expect(JSON.parse(await promiseOf(cluster.kubeconfig)).kind).toBe("Config");
        expect(await pulumi.isSecret(cluster.kubeconfig)).toBe(true);
    });

    it("tags the EKS-created cluster security group (the nodes' group) for Karpenter's securityGroupSelectorTerms", async () => {
        const tag = rec.one("aws:ec2/tag:Tag", "eks-sg-karpenter-discovery");
        // The kit's eks.Cluster mock reports eksCluster.vpcConfig.clusterSecurityGroupId = sg-0eksmanaged.
        expect(tag.inputs).toEqual({ resourceId: "sg-0eksmanaged", key: "karpenter.sh/discovery", value: "ip-dev" });
        expect(await promiseOf(cluster.clusterSecurityGroupId)).toBe("sg-0eksmanaged");
        expect(rec.dependsOn(tag, control)).toBe(true);
    });

    it("creates no GPU group, tags or template when GPU is off", async () => {
        const before = rec.resources.length;
        new EksCluster("cpuonly", {
            clusterName: "c", kubernetesVersion: "1.33", vpcId: "v", publicSubnetIds: [], privateSubnetIds: [],
            cpuNodes: nodes, gpuNodes: { ...gpu, enabled: false },
        });
        await rec.settle();
        const added = rec.resources.slice(before);
        expect(added.filter((r) => r.type === "aws:eks/nodeGroup:NodeGroup").map((r) => r.name)).toEqual(["cpuonly-cpu"]);
        expect(added.filter((r) => r.type === "aws:autoscaling/tag:Tag")).toEqual([]);
    });

    it("rejects a principal that is both admin and previewer before creating anything", () => {
        const before = rec.resources.length;
        const arn = "arn:aws:iam::123456789012:role/ci";
        expect(() => new EksCluster("both", {
            clusterName: "c", kubernetesVersion: "1.34", vpcId: "v", publicSubnetIds: [], privateSubnetIds: [],
            adminPrincipalArns: [arn], previewPrincipalArns: [arn], cpuNodes: nodes, gpuNodes: { ...gpu, enabled: false },
        })).toThrow(/arn:aws:iam::123456789012:role\/ci is both an admin and a preview principal/);
        expect(rec.resources.length).toBe(before);
    });

    it("fails the deployment, naming the creator, when an access entry would duplicate the creator's", async () => {
        // The mocked caller is arn:aws:iam::123456789012:user/test (test/kit.ts).
        const failures: string[] = [];
        const onRejection = (err: unknown) => failures.push(String(err));
        process.on("unhandledRejection", onRejection);
        try {
            new EksCluster("dup", {
                clusterName: "c", kubernetesVersion: "1.34", vpcId: "v", publicSubnetIds: [], privateSubnetIds: [],
                previewPrincipalArns: ["arn:aws:iam::123456789012:user/test"], cpuNodes: nodes, gpuNodes: { ...gpu, enabled: false },
            });
            await rec.settle().catch(onRejection);
            await new Promise((resolve) => setTimeout(resolve, 50));
        } finally {
            process.off("unhandledRejection", onRejection);
        }
        expect(failures.join("\n")).toMatch(/arn:aws:iam::123456789012:user\/test is the identity running Pulumi/);
    });
});

describe("cluster helpers", () => {
    it("picks the AMI by kind and architecture", () => {
        expect(nodeAmiType("gpu", ["g5.xlarge"])).toBe("AL2023_x86_64_NVIDIA");
        expect(nodeAmiType("cpu", ["m7g.large", "c7g.large"])).toBe("AL2023_ARM_64_STANDARD");
        expect(nodeAmiType("cpu", ["m6i.large"])).toBe("AL2023_x86_64_STANDARD");
    });
    it("describes a GPU node for the autoscaler", () => {
        expect(gpuNodeTemplateTags(["g5.12xlarge"], 4)["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"]).toBe("4");
    });
    it("names the GPU model in the autoscaler's spelling when the group has one model", () => {
        // Spellings from cluster-autoscaler/cloudprovider/aws/aws_cloud_provider.go `availableGPUTypes`.
        expect(gpuAcceleratorLabelValue(["g5.xlarge", "g5.2xlarge"])).toBe("nvidia-a10g");
        expect(gpuAcceleratorLabelValue(["g6.xlarge"])).toBe("nvidia-l4");
        expect(gpuAcceleratorLabelValue(["g4dn.xlarge"])).toBe("nvidia-tesla-t4");
        expect(gpuAcceleratorLabelValue(["g6e.xlarge"])).toBe("nvidia-l40s");
        expect(gpuAcceleratorLabelValue(["g5.xlarge", "g6.xlarge"])).toBe("nvidia");
    });
    it("recognises the creator behind an assumed-role session", () => {
        expect(principalOf("arn:aws:sts::123456789012:assumed-role/deployer/gha-42")).toEqual({ account: "123456789012", kind: "role", name: "deployer" });
        expect(isCreator("arn:aws:iam::123456789012:role/ci/deployer", "arn:aws:sts::123456789012:assumed-role/deployer/gha-42")).toBe(true);
        expect(isCreator("arn:aws:iam::123456789012:role/previewer", "arn:aws:sts::123456789012:assumed-role/deployer/gha-42")).toBe(false);
        expect(isCreator("arn:aws:iam::210987654321:role/deployer", "arn:aws:sts::123456789012:assumed-role/deployer/gha-42")).toBe(false);
        expect(isCreator("arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice")).toBe(true);
        expect(isCreator("arn:aws:iam::123456789012:user/deployer", "arn:aws:sts::123456789012:assumed-role/deployer/s")).toBe(false);
    });
});
