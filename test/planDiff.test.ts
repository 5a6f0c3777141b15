/**
 * plan.md's infrastructure summary (scripts/lib/planSummary.ts) and `npm run synth -- --diff`
 * (scripts/lib/planDiff.ts): pure functions over resources.json rows, then two real synths of the dev
 * stack (the CLI's, and one here with `kubernetesVersion` and the CPU group's `maxSize` changed).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { diffBaseProblem, diffPlans, readSynthDir, renderDiff, snapshotOf, synthDiffReport } from "../scripts/lib/planDiff";
import { placeholderResourceName, renderSummary, ResourceRow, summarizePlan, summaryFacts } from "../scripts/lib/planSummary";
import { synthesize, writeSynth } from "../scripts/lib/synth";
import { runSynthCli } from "../scripts/lib/synthCli";
import { readStackConfigFile } from "../scripts/lib/synthConfig";
import { synthCliOnce } from "./synthOnce";

const urn = (type: string, name: string) => `urn:pulumi:dev::inference-platform::${type}::${name}`;
const row = (type: string, name: string, inputs: Record<string, any>, extra: Partial<ResourceRow> = {}): ResourceRow => ({ urn: urn(type, name), type, name, custom: true, inputs, ...extra });

/** A small eks stack as resources.json would record it. */
function eksRows(overrides: { version?: string; maxSize?: number; readerStatements?: unknown[]; extraEip?: boolean } = {}): ResourceRow[] {
    const readerStatements = overrides.readerStatements ?? [{ Sid: "Read", Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/models/*" }];
    return [
        row("pulumi:pulumi:Stack", "inference-platform-dev", {}, { custom: false }),
        row("awsx:ec2:Vpc", "network-vpc", { cidrBlock: "10.1.0.0/16", numberOfAvailabilityZones: 3, natGateways: { strategy: "OnePerAz" } }, { custom: false }),
        row("aws:ec2/vpcEndpoint:VpcEndpoint", "network-s3", { serviceName: "com.amazonaws.eu-west-1.s3", vpcEndpointType: "Gateway" }),
        row("eks:index:Cluster", "cluster-eks", {
            name: "c1", version: overrides.version ?? "1.34", endpointPublicAccess: true, endpointPrivateAccess: true,
            publicAccessCidrs: ["203.0.113.0/24"], authenticationMode: "API", enabledClusterLogTypes: ["api", "audit"], upgradePolicy: { supportType: "STANDARD" },
        }, { custom: false }),
        row("aws:ec2/launchTemplate:LaunchTemplate", "cluster-gpu-lt", { blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 100, volumeType: "gp3", encrypted: "true" } }] }),
        row("aws:eks/nodeGroup:NodeGroup", "cluster-gpu", {
            instanceTypes: ["g5.xlarge"], capacityType: "ON_DEMAND", amiType: "AL2023_x86_64_NVIDIA", labels: { "inference-platform/pool": "gpu" },
            scalingConfig: { minSize: 0, desiredSize: 0, maxSize: overrides.maxSize ?? 2 },
            launchTemplate: { id: "<computed:aws:ec2/launchTemplate:LaunchTemplate:cluster-gpu-lt.id>", version: "1" },
            taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" }],
        }),
        row("aws:ec2/eip:Eip", "ingress-eip-0", { domain: "vpc" }),
        ...(overrides.extraEip ? [row("aws:ec2/eip:Eip", "ingress-eip-1", { domain: "vpc" })] : []),
        row("kubernetes:helm.sh/v3:Release", "istio-istiod", { name: "istiod", namespace: "istio-system", chart: "istiod", version: "1.29.6" }),
        row("kubernetes:helm.sh/v3:Release", "kserve-crd", { name: "kserve-crd", namespace: "kserve", chart: "oci://ghcr.io/kserve/charts/kserve-crd", version: "v0.20.0" }),
        row("kubernetes:yaml/v2:ConfigFile", "knative-serving-crds", { file: "https://github.com/knative/serving/releases/download/knative-v1.21.1/serving-crds.yaml" }, { remote: true } as never),
        row("kubernetes:serving.kserve.io/v1beta1:InferenceService", "gpu-isvc", {
            kind: "InferenceService", metadata: { name: "gpu", namespace: "models" },
            spec: { predictor: { minReplicas: 0, maxReplicas: 1, model: { modelFormat: { name: "huggingface" }, protocolVersion: "v2", storageUri: "hf://m", resources: { limits: { "nvidia.com/gpu": "1" } } } } },
        }),
        row("aws:iam/role:Role", "reader-role", {
            assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Federated: "arn:aws:iam::1:oidc-provider/x" }, Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringEquals: { "x:sub": "system:serviceaccount:models:kserve-models", "x:aud": "sts.amazonaws.com" } } }] }),
        }),
        row("aws:iam/rolePolicy:RolePolicy", "reader-policy", { role: "<computed:aws:iam/role:Role:reader-role.id>", policy: JSON.stringify({ Version: "2012-10-17", Statement: readerStatements }) }),
        row("aws:iam/role:Role", "node-role", { assumeRolePolicy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }) }),
        row("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "node-worker", { role: "<computed:aws:iam/role:Role:node-role.name>", policyArn: "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy" }),
    ];
}
const context = { project: "inference-platform", stack: "dev", region: "eu-west-1", cost: { idlePerHour: 0.25, peakPerHour: 2.5 } };

describe("summarizePlan", () => {
    const summary = summarizePlan(eksRows(), context);

    it("reads the cluster, the network and who may reach the API from the recorded resources", () => {
        expect(summary.platform).toBe("eks");
        expect(summary.region).toBe("eu-west-1");
        expect(summary.cluster).toMatchObject({ name: "c1", kubernetesVersion: "1.34", publicAccessCidrs: ["203.0.113.0/24"], endpointPrivateAccess: true, controlPlaneLogs: ["api", "audit"] });
        expect(summary.network).toEqual({ vpcCidr: "10.1.0.0/16", availabilityZones: 3, natGateways: "OnePerAz", s3GatewayEndpoint: true });
        expect(summary.ingress.elasticIps).toBe(1);
    });

    it("describes each node group with its sizes and the disk of its launch template", () => {
        expect(summary.nodeGroups).toEqual([
            {
                name: "cluster-gpu", pool: "gpu", instanceTypes: ["g5.xlarge"], capacityType: "ON_DEMAND", minSize: 0, desiredSize: 0, maxSize: 2,
                disk: "100 GiB gp3, encrypted", amiType: "AL2023_x86_64_NVIDIA", taints: ["nvidia.com/gpu=true:NO_SCHEDULE"],
            },
        ]);
    });

    it("lists charts, release manifests with their tag, models and IAM roles", () => {
        expect(summary.charts.map((c) => `${c.namespace}/${c.release} ${c.chart} ${c.version}`)).toEqual(["istio-system/istiod istiod 1.29.6", "kserve/kserve-crd kserve-crd v0.20.0"]);
        expect(summary.manifestSets).toEqual([{ name: "knative-serving-crds", source: "https://github.com/knative/serving/releases/download/knative-v1.21.1/serving-crds.yaml", version: "knative-v1.21.1" }]);
        expect(summary.models).toEqual([{ name: "models/gpu", format: "huggingface", protocol: "v2", runtime: undefined, storageUri: "hf://m", replicas: "0..1", gpu: true, transformer: false }]);
        expect(summary.roles).toEqual([
            { name: "node-role", assumedBy: "service: ec2.amazonaws.com", inlineStatements: 0, managedPolicies: ["AmazonEKSWorkerNodePolicy"] },
            { name: "reader-role", assumedBy: "pods: models/kserve-models", inlineStatements: 1, managedPolicies: [] },
        ]);
    });

    it("renders the facts a reviewer checks first", () => {
        const text = renderSummary(summary).join("\n");
        expect(text).toContain("Kubernetes **1.34**");
        expect(text).toContain("public from `203.0.113.0/24`");
        expect(text).toContain("`10.1.0.0/16`, 3 AZs, NAT OnePerAz");
        expect(text).toMatch(/\| `cluster-gpu` \| g5\.xlarge \| ON_DEMAND \| 0 \/ 0 \/ 2 \| 100 GiB gp3, encrypted \|/);
        expect(text).toContain("$0.250/h idle");
        expect(summaryFacts(summary).get("node group cluster-gpu: size (min/desired/max)")).toBe("0/0/2");
    });

    it("a local stack: an existing cluster by context, no region, no node groups", () => {
        const local = summarizePlan([row("pulumi:providers:kubernetes", "local-k8s", { context: "kind-x" })], { ...context, cost: undefined });
        expect(local).toMatchObject({ platform: "local", region: undefined, existingCluster: { context: "kind-x" }, nodeGroups: [] });
        expect(renderSummary(local).join("\n")).toContain("existing cluster, kubeconfig context `kind-x`");
    });

    it("placeholderResourceName finds the resource a computed value refers to", () => {
        expect(placeholderResourceName("<computed:aws:iam/role:Role:cluster-node-role.name>")).toBe("cluster-node-role");
        expect(placeholderResourceName("<computed:awsx:ec2:Vpc:network-vpc.privateSubnetIds[0]>")).toBe("network-vpc");
        expect(placeholderResourceName("plain")).toBeUndefined();
    });
});

describe("diffPlans", () => {
    const snapshot = (rows: ResourceRow[], cost = context.cost) => ({ resources: rows, summary: summarizePlan(rows, { ...context, cost }) });

    it("finds nothing between identical synths", () => {
        const changes = diffPlans(snapshot(eksRows()), snapshot(eksRows()));
        expect(changes).toEqual([]);
        expect(renderDiff(changes, { title: "t" })).toContain("No changes");
    });

    it("reports a version and a size as summary facts and as input paths", () => {
        const changes = diffPlans(snapshot(eksRows()), snapshot(eksRows({ version: "1.35", maxSize: 4 })));
        expect(changes).toContainEqual({ kind: "fact", label: "Kubernetes version", before: "1.34", after: "1.35" });
        expect(changes).toContainEqual({ kind: "fact", label: "node group cluster-gpu: size (min/desired/max)", before: "0/0/2", after: "0/0/4" });
        expect(changes).toContainEqual({ kind: "input", resource: "eks:index:Cluster cluster-eks", path: "version", before: "1.34", after: "1.35" });
        expect(changes).toContainEqual({ kind: "input", resource: "aws:eks/nodeGroup:NodeGroup cluster-gpu", path: "scalingConfig.maxSize", before: "2", after: "4" });
        const text = renderDiff(changes, { title: "Plan diff" });
        expect(text).toContain("- Kubernetes version: `1.34` → `1.35`");
        expect(text).toContain("- aws:eks/nodeGroup:NodeGroup cluster-gpu: `scalingConfig.maxSize`: `2` → `4`");
    });

    it("reports IAM changes statement by statement, not as one changed JSON string", () => {
        const write = { Sid: "Write", Effect: "Allow", Action: "s3:PutObject", Resource: "arn:aws:s3:::b/models/*" };
        const changes = diffPlans(snapshot(eksRows()), snapshot(eksRows({ readerStatements: [write] })));
        expect(changes.filter((c) => c.kind === "statement")).toEqual([
            { kind: "statement", change: "added", resource: "aws:iam/rolePolicy:RolePolicy reader-policy", document: "policy", statement: JSON.stringify({ Action: "s3:PutObject", Effect: "Allow", Resource: "arn:aws:s3:::b/models/*", Sid: "Write" }) },
            { kind: "statement", change: "removed", resource: "aws:iam/rolePolicy:RolePolicy reader-policy", document: "policy", statement: JSON.stringify({ Action: "s3:GetObject", Effect: "Allow", Resource: "arn:aws:s3:::b/models/*", Sid: "Read" }) },
        ]);
        expect(changes.filter((c) => c.kind === "input")).toEqual([]);
        expect(renderDiff(changes, { title: "t" })).toMatch(/\*\*IAM policy statements \(2\)\*\*\n\n- added in aws:iam\/rolePolicy:RolePolicy reader-policy \(`policy`\): `\{"Action":"s3:PutObject"/);
    });

    it("reports added and removed resources, and the cost", () => {
        const changes = diffPlans(snapshot(eksRows()), snapshot(eksRows({ extraEip: true }), { idlePerHour: 0.255, peakPerHour: 2.505 }));
        expect(changes).toContainEqual({ kind: "added", type: "aws:ec2/eip:Eip", name: "ingress-eip-1" });
        expect(changes).toContainEqual({ kind: "fact", label: "Elastic IPs", before: "1", after: "2" });
        expect(changes).toContainEqual({ kind: "fact", label: "cost idle $/h", before: "0.250", after: "0.255" });
        const removed = diffPlans(snapshot(eksRows({ extraEip: true })), snapshot(eksRows()));
        expect(removed).toContainEqual({ kind: "removed", type: "aws:ec2/eip:Eip", name: "ingress-eip-1" });
        expect(renderDiff(removed, { title: "t" })).toContain("**Resources removed (1)**\n\n- `aws:ec2/eip:Eip` ingress-eip-1");
    });

    it("cuts long values around where they differ", () => {
        const image = (digest: string) => `123456789012.dkr.ecr.us-east-2.amazonaws.com/gateway-image-repo:g-0123456789abcdef@sha256:${"0".repeat(100)}${digest}`;
        const rows = (digest: string) => [...eksRows(), row("kubernetes:apps/v1:Deployment", "gw", { metadata: { name: "gw" }, spec: { template: { spec: { containers: [{ image: image(digest) }] } } } })];
        const text = renderDiff(diffPlans(snapshot(rows("aaaa")), snapshot(rows("bbbb"))), { title: "t" });
        expect(text).toContain("`spec.template.spec.containers[0].image`: `…000000000000000000000000aaaa` → `…000000000000000000000000bbbb`");
    });

    it("caps long lists but keeps the counts", () => {
        const many = Array.from({ length: 5 }, (_, i) => row("aws:ec2/eip:Eip", `extra-${i}`, {}));
        const text = renderDiff(diffPlans(snapshot(eksRows()), snapshot([...eksRows(), ...many])), { title: "t", limit: 2 });
        expect(text).toContain("**Resources added (5)**");
        expect(text).toContain("- … and 3 more");
    });

    it("reads region and cost of an out dir from plan.md when resources.json lacks them (older synths)", () => {
        const plan = "Platform `eks`, region `ap-south-1`: ...\n| total                 |   $0.269 |   $2.398 |  |\n";
        const s = snapshotOf({ project: "p", stack: "dev", resources: eksRows() }, plan).summary;
        expect(s.region).toBe("ap-south-1");
        expect(s.cost).toEqual({ idlePerHour: 0.269, peakPerHour: 2.398 });
        expect(snapshotOf({ project: "p", stack: "dev", region: "us-west-2", resources: eksRows() }, plan).summary.region).toBe("us-west-2");
    });
});

describe("npm run synth -- --diff on two real synths of the dev stack", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plan-diff-"));
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
    // Base: the dev stack as the synth CLI writes it (shared with other files). Head: dev with a newer
    // Kubernetes minor and a larger CPU group, synthesized here and written the way the CLI writes it.
    const input = readStackConfigFile({ root: path.resolve(__dirname, ".."), stack: "dev" });
    const key = (name: string) => `${input.project}:${name}`;
    const baseVersion = input.config[key("kubernetesVersion")];
    const baseMax = Number(input.config[key("cpuMaxSize")]);
    const headVersion = baseVersion === "1.35" ? "1.34" : "1.35";
    const headMax = baseMax + 2;
    const base = await synthCliOnce("dev");
    const head = await synthesize({
        config: { ...input, config: { ...input.config, [key("kubernetesVersion")]: headVersion, [key("cpuMaxSize")]: String(headMax) } },
        program: () => import("../index"),
    });
    const headDir = path.join(tmp, "head");
    writeSynth(headDir, head.files);
    // What `npm run synth -- --stack dev --out <head> --diff <base>` prints after writing <head>.
    const report = synthDiffReport(base.dir, headDir, "dev");
    const cpuGroup = readSynthDir(base.dir).summary.nodeGroups.find((g) => g.pool === "cpu")!;

    it("prints the new Kubernetes version and the new size, and what carries them", () => {
        expect(base.code, base.stderr).toBe(0);
        expect(report).toContain(`### Plan diff: dev (${base.dir} → ${headDir})`);
        expect(report).toContain(`- Kubernetes version: \`${baseVersion}\` → \`${headVersion}\``);
        expect(report).toContain(`- node group ${cpuGroup.name}: size (min/desired/max): \`${cpuGroup.minSize}/${cpuGroup.desiredSize}/${baseMax}\` → \`${cpuGroup.minSize}/${cpuGroup.desiredSize}/${headMax}\``);
        expect(report).toContain(`- eks:index:Cluster eks-cluster-eks: \`version\`: \`${baseVersion}\` → \`${headVersion}\``);
        expect(report).toContain(`- aws:eks/nodeGroup:NodeGroup ${cpuGroup.name}: \`scalingConfig.maxSize\`: \`${baseMax}\` → \`${headMax}\``);
        expect(report).not.toContain("Resources added");
        expect(report).not.toContain("Resources removed");
    });

    it("and both plans' summaries show them", () => {
        const basePlan = fs.readFileSync(path.join(base.dir, "plan.md"), "utf8");
        const headPlan = fs.readFileSync(path.join(headDir, "plan.md"), "utf8");
        const summaryOf = (plan: string) => plan.slice(plan.indexOf("## Summary"), plan.indexOf("\n## ", plan.indexOf("## Summary") + 1));
        expect(summaryOf(basePlan)).toContain(`Kubernetes **${baseVersion}**`);
        expect(summaryOf(headPlan)).toContain(`Kubernetes **${headVersion}**`);
        expect(summaryOf(basePlan)).toMatch(new RegExp(`\\| \`${cpuGroup.name}\` \\|[^\\n]*\\| ${cpuGroup.minSize} / ${cpuGroup.desiredSize} / ${baseMax} \\|`));
        expect(summaryOf(headPlan)).toMatch(new RegExp(`\\| \`${cpuGroup.name}\` \\|[^\\n]*\\| ${cpuGroup.minSize} / ${cpuGroup.desiredSize} / ${headMax} \\|`));
    });

    it("refuses a directory that is no synth output, and finds nothing between a synth and itself", async () => {
        expect(() => readSynthDir(tmp)).toThrow(/is not a synth output directory \(no resources\.json\)/);
        expect(diffBaseProblem(tmp)).toMatch(/not a synth output directory/);
        expect(diffBaseProblem(base.dir)).toBeUndefined();
        expect(diffPlans(readSynthDir(base.dir), readSynthDir(base.dir))).toEqual([]);
    });

    it("the CLI takes --diff and checks its directory before synthesizing (exit 2, nothing written)", async () => {
        const run = await runSynthCli(["--stack", "dev", "--out", path.join(tmp, "never"), "--diff", path.join(tmp, "missing")]);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/--diff .*missing: not a synth output directory \(no resources\.json\)/);
        expect(run.stderr).not.toMatch(/resources registered/);
        expect(fs.existsSync(path.join(tmp, "never"))).toBe(false);
    });
});
