/**
 * The offline synth (scripts/synth.ts): the dev stack is synthesized in this process; the CLI runs in
 * child processes for a second dev run (determinism across processes) and the local stack (both shared
 * with other test files through test/synthOnce.ts). The command runs in this process for a bad config:
 * it stops at the config check, before any program runs, and a child process would spend seconds
 * loading @pulumi/* for that (the exit code of a real process is test/planDiff.test.ts's).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import * as YAML from "yaml";
import { readTree } from "../scripts/lib/synthCli";
import { synthesize } from "../scripts/lib/synth";
import { runSynthCommand } from "../scripts/lib/synthCommand";
import { flattenStackConfig } from "../scripts/lib/synthConfig";
import { buildModel, renderManifest } from "../scripts/lib/synthModel";
import { orderingWarnings } from "../scripts/lib/synthPlan";
import type { Registration } from "../scripts/lib/synthRecorder";
import { synthCliOnce } from "./synthOnce";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "synth-test-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface ResourceRow {
    order?: number;
    kubernetesStep?: number;
    manifest?: string;
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    remote?: boolean;
    parent?: string;
    provider?: string;
    dependencies: string[];
    inputs: Record<string, any>;
}

/** Every string in a JSON value, with its path. */
function strings(value: unknown, at = ""): [string, string][] {
    if (typeof value === "string") return [[at, value]];
    if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${at}[${i}]`));
    if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => strings(v, `${at}.${k}`));
    return [];
}

/** The synth command run in this process: its exit code and what it printed. */
async function runCommand(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const out = { code: -1, stdout: "", stderr: "" };
    out.code = await runSynthCommand(argv, { stdout: (text) => (out.stdout += text), stderr: (text) => (out.stderr += text) });
    return out;
}

describe("offline synth", async () => {
    // Start the child processes first: they run while this process synthesizes dev.
    const badStack = path.join(tmp, "Pulumi.broken.yaml");
    fs.writeFileSync(
        badStack,
        ["config:", "  aws:region: us-east-2", "  inference-platform:vpcCidr: 10.0.0.1/16", "  inference-platform:cpuMinSize: 0", "  inference-platform:examples: [sklearn-iris, nope]", ""].join("\n"),
    );
    const devCli = synthCliOnce("dev");
    const localCli = synthCliOnce("local");

    const progress: string[] = [];
    const dev = await synthesize({ stack: "dev", program: () => import("../index"), log: (l) => progress.push(l) });
    const resources = JSON.parse(dev.files["resources.json"]).resources as ResourceRow[];
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const plan = dev.files["plan.md"];
    const [devRun, localRun] = await Promise.all([devCli, localCli]);
    const badRun = await runCommand(["--stack-file", badStack, "--out", path.join(tmp, "broken")]);

    it("reports progress", () => {
        expect(progress.some((l) => /resources registered/.test(l))).toBe(true);
        expect(progress[0]).toMatch(/Pulumi\.dev\.yaml/);
    });

    it("is deterministic: a run in another process writes byte-identical files", () => {
        expect(devRun.code, devRun.stderr).toBe(0);
        const written = readTree(devRun.dir);
        expect(Object.keys(written).sort()).toEqual(Object.keys(dev.files).sort());
        // The gateway image tag hashes gateway/ sources: an edit between the two runs changes it
        // legitimately (an input change, not non-determinism), so it is compared as a pattern only.
        const contentTag = /\bg-[0-9a-f]{16}\b/g;
        for (const [file, content] of Object.entries(dev.files)) {
            expect(written[file].replace(contentTag, "g-<tag>"), file).toBe(content.replace(contentTag, "g-<tag>"));
        }
    });

    it("records type, name, parent, inputs and dependencies of every resource", () => {
        expect(resources.length).toBe(dev.model.registrations.length);
        const stack = resources.filter((r) => r.type === "pulumi:pulumi:Stack");
        expect(stack).toHaveLength(1);
        for (const r of resources) {
            if (r.type === "pulumi:pulumi:Stack") continue;
            expect(r.parent && byUrn.has(r.parent), `${r.urn} has a recorded parent`).toBe(true);
        }
        const nodeGroup = resources.find((r) => r.type === "aws:eks/nodeGroup:NodeGroup")!;
        const nodeRole = resources.find((r) => r.type === "aws:iam/role:Role" && r.inputs.description?.startsWith("EKS nodes"))!;
        expect(nodeGroup.dependencies).toContain(nodeRole.urn);
    });

    it("orders every step after everything it depends on (through components and providers)", () => {
        const children = new Map<string, ResourceRow[]>();
        for (const r of resources) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
        // Independent of the synth's own expansion: walk components down to the resources they hold.
        const leaves = (urn: string): ResourceRow[] => {
            const r = byUrn.get(urn);
            if (!r) return [];
            if (r.order !== undefined) return [r];
            return (children.get(urn) ?? []).flatMap((c) => leaves(c.urn));
        };
        let checked = 0;
        for (const r of resources.filter((x) => x.order !== undefined)) {
            for (const dep of [...r.dependencies, ...(r.provider ? [r.provider] : [])]) {
                for (const leaf of leaves(dep)) {
                    expect(leaf.order!, `${r.name} (${r.order}) after ${leaf.name} (${leaf.order})`).toBeLessThan(r.order!);
                    checked++;
                }
            }
        }
        expect(checked).toBeGreaterThan(20);
        const orders = resources.filter((r) => r.order !== undefined).map((r) => r.order);
        expect(orders).toEqual(orders.map((_, i) => i + 1));
    });

    it("writes one manifest per Kubernetes object, numbered in apply order", () => {
        const manifests = Object.keys(dev.files).filter((f) => f.startsWith("k8s/")).sort();
        const objects = resources.filter((r) => r.manifest);
        expect(manifests.length).toBe(objects.length);
        expect(manifests.length).toBeGreaterThan(0);
        const numbers = manifests.map((f) => Number(/^k8s\/(\d{3})-/.exec(f)![1]));
        expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
        for (const r of objects) {
            const doc = YAML.parse(dev.files[r.manifest!]);
            expect(doc.apiVersion, r.manifest).toBe(r.inputs.apiVersion);
            expect(doc.kind, r.manifest).toBe(r.inputs.kind);
            expect(typeof doc.metadata.name, r.manifest).toBe("string");
            expect(Number(/(\d{3})-/.exec(r.manifest!)![1])).toBe(r.kubernetesStep);
        }
        // The namespace of the models comes before the ServiceAccount in it.
        const ns = objects.find((r) => r.inputs.kind === "Namespace" && r.inputs.metadata.name === dev.config.models.namespace)!;
        const sa = objects.find((r) => r.inputs.kind === "ServiceAccount" && r.inputs.metadata.namespace === dev.config.models.namespace)!;
        expect(ns.kubernetesStep!).toBeLessThan(sa.kubernetesStep!);
    });

    it("marks values known only after deploy, and lists the documentation values it made up", () => {
        const all = [...strings(resources.map((r) => r.inputs)), ...strings(dev.outputs)];
        // No realistic-looking AWS ids or account ARNs: those would read as real.
        const realistic = all.filter(([, v]) => /\b(vpc|subnet|sg|eipalloc|rtb|igw|nat|lt|eni)-[0-9a-f]{8,17}\b/.test(v) || /arn:aws[\w-]*:[\w-]+:[\w-]*:(?!123456789012)\d{12}:/.test(v));
        expect(realistic).toEqual([]);
        const placeholders = all.filter(([, v]) => v.includes("<computed:"));
        expect(placeholders.length).toBeGreaterThan(5);
        for (const [at, v] of placeholders) expect(v, at).toMatch(/<computed:[^<>:]+(:[^<>]+)*\.[^<>]+>/);
        // The OIDC provider's id comes from the cluster: only the deployment knows it (the ARN
        // around it has IAM's shape, so the policy pack can check trust policies offline).
        expect(dev.outputs.oidcProviderArn).toMatch(/^arn:aws:iam::123456789012:oidc-provider\/oidc\.eks\.us-east-2\.amazonaws\.com\/id\/<computed:eks:index:Cluster:[^>]+>$/);
        // Every 192.0.2.x address and x-run name that appears is listed in plan.md.
        const madeUp = new Set(dev.madeUpValues.map((m) => m.value));
        for (const [at, v] of all) {
            for (const ip of v.match(/\b192\.0\.2\.\d{1,3}\b/g) ?? []) expect(madeUp.has(ip), `${at}: ${ip}`).toBe(true);
        }
        for (const value of madeUp) expect(plan).toContain(`\`${value}\``);
        expect(strings(dev.outputs).some(([, v]) => v === "<secret>")).toBe(true);
    });

    it("writes plan.md with counts, Helm releases, IAM documents, outputs and the cost estimate", () => {
        const counts = new Map<string, number>();
        for (const r of resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
        for (const [type, n] of counts) expect(plan).toContain(`| \`${type}\` | ${n} |`);
        for (const r of resources.filter((x) => x.type === "kubernetes:helm.sh/v3:Release")) {
            expect(plan).toContain(`\`${r.inputs.chart}\``);
            expect(plan).toContain(`\`${r.inputs.version}\``);
            if (r.inputs.repositoryOpts?.repo) expect(plan).toContain(`\`${r.inputs.repositoryOpts.repo}\``);
        }
        const roles = resources.filter((r) => r.type === "aws:iam/role:Role");
        expect(roles.length).toBeGreaterThan(0);
        for (const role of roles) {
            // Folded: <details><summary>name (type key, n statements)</summary> ... the document ... </details>
            const summaryLine = `<summary><code>${role.name}</code> (<code>aws:iam/role:Role</code> assumeRolePolicy, `;
            expect(plan).toContain(summaryLine);
            const folded = plan.slice(plan.lastIndexOf("<details>", plan.indexOf(summaryLine)), plan.indexOf("</details>", plan.indexOf(summaryLine)));
            expect(folded).toContain(JSON.stringify(JSON.parse(role.inputs.assumeRolePolicy), null, 2));
        }
        for (const key of Object.keys(dev.outputs)) expect(plan).toContain(`| \`${key}\` |`);
        expect(plan).toMatch(/## Cost estimate\n\n```text\nCost estimate for stack 'dev'/);
        expect(plan).toMatch(/\| total +\| +\$\d+\.\d{3} \| +\$\d+\.\d{3} \|/);
    });

    it("opens plan.md with a summary of what the resources create: region, Kubernetes version, network, node groups, charts, models", () => {
        const sections = [...plan.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
        expect(sections[0]).toBe("Summary");
        const summary = plan.slice(plan.indexOf("## Summary"), plan.indexOf(`## ${sections[1]}`));
        const cluster = resources.find((r) => r.type === "eks:index:Cluster")!;
        const vpc = resources.find((r) => r.type === "awsx:ec2:Vpc")!;
        expect(summary).toContain(`region \`${dev.config.region}\``);
        expect(summary).toContain(`Kubernetes **${cluster.inputs.version}**`);
        for (const cidr of cluster.inputs.publicAccessCidrs) expect(summary).toContain(`\`${cidr}\``);
        expect(summary).toContain(`\`${vpc.inputs.cidrBlock}\`, ${vpc.inputs.numberOfAvailabilityZones} AZs, NAT ${vpc.inputs.natGateways.strategy}`);
        for (const group of resources.filter((r) => r.type === "aws:eks/nodeGroup:NodeGroup")) {
            const { minSize, desiredSize, maxSize } = group.inputs.scalingConfig;
            expect(summary).toMatch(new RegExp(`\\| \`${group.name}\` \\| ${group.inputs.instanceTypes.join(", ")} \\| ${group.inputs.capacityType} \\| ${minSize} / ${desiredSize} / ${maxSize} \\| \\d+ GiB`));
        }
        for (const r of resources.filter((x) => x.type === "kubernetes:helm.sh/v3:Release")) expect(summary).toContain(`| \`${r.inputs.version}\` |`);
        for (const r of resources.filter((x) => x.type === "kubernetes:serving.kserve.io/v1beta1:InferenceService")) {
            expect(summary).toContain(`\`${r.inputs.metadata.namespace}/${r.inputs.metadata.name}\``);
        }
        expect(summary).toMatch(/\*\*\$\d+\.\d{3}\/h idle\*\*, \$\d+\.\d{3}\/h at peak/);
        expect(dev.summary.cluster?.kubernetesVersion).toBe(cluster.inputs.version);
    });

    it("pretty-prints long outputs instead of one long table cell", () => {
        expect(Math.max(...plan.split("\n").map((l) => l.length))).toBeLessThan(400);
        expect(plan).toContain("| `examples` | (below: ");
        expect(plan).toContain(JSON.stringify(dev.outputs.examples, null, 2).split("\n")[1]);
    });

    it("captures the program's exports as outputs.json", async () => {
        const program = await import("../index");
        const exported = Object.keys(program).filter((k) => k !== "default" && k !== "__esModule").sort();
        const outputs = JSON.parse(dev.files["outputs.json"]);
        // Exports that resolve to undefined are dropped (Pulumi drops them too).
        for (const key of Object.keys(outputs)) expect(exported).toContain(key);
        expect(Object.keys(outputs).length).toBeGreaterThan(0);
        expect(outputs.clusterName).toBe(dev.config.cluster.name);
    });

    it("synthesizes the local stack without a single AWS resource", () => {
        expect(localRun.code, localRun.stderr).toBe(0);
        const local = JSON.parse(fs.readFileSync(path.join(localRun.dir, "resources.json"), "utf8")).resources as ResourceRow[];
        expect(local.length).toBeGreaterThan(0);
        expect(local.filter((r) => /^(aws|awsx|eks):/.test(r.type)).map((r) => r.type)).toEqual([]);
        expect(localRun.stderr).toMatch(/synth: wrote .*local/);
    });

    it("exits 2 and lists every bad key on invalid config, without a stack trace", () => {
        expect(badRun.code).toBe(2);
        expect(badRun.stderr).toMatch(/invalid configuration \(3 problems\)/);
        for (const key of ["vpcCidr", "cpuMinSize", "examples"]) expect(badRun.stderr).toMatch(new RegExp(`^  - ${key}\\b`, "m"));
        expect(badRun.stderr).not.toMatch(/^\s+at /m);
        expect(badRun.stdout).toBe("");
        expect(fs.existsSync(path.join(tmp, "broken"))).toBe(false);
    });
});

describe("the synth command's arguments", () => {
    it("--help prints the usage and exits 0, whatever else is on the line", async () => {
        for (const argv of [["--help"], ["-h"], ["--stack", "dev", "--help", "--bogus"]]) {
            const result = await runCommand(argv);
            expect(result.code, argv.join(" ")).toBe(0);
            expect(result.stdout).toMatch(/^usage: npm run synth -- --stack <name>/);
            expect(result.stderr).toBe("");
        }
    });

    it("exits 2 naming the problem for an unknown argument, a flag without its value, or no stack", async () => {
        expect(await runCommand(["--stack", "dev", "--bogus"])).toEqual({ code: 2, stdout: "", stderr: "synth: unknown argument '--bogus'\n" });
        expect(await runCommand(["--stack", "dev", "--out"])).toEqual({ code: 2, stdout: "", stderr: "synth: --out needs a value\n" });
        expect(await runCommand(["--out", "--stack"])).toEqual({ code: 2, stdout: "", stderr: "synth: --out needs a value\n" });
        expect((await runCommand(["--quiet"])).stderr).toMatch(/^synth: give --stack <name>/);
    });
});

describe("synth building blocks", () => {
    const reg = (urn: string, type: string, extra: Partial<Registration> = {}): Registration => ({
        urn,
        type,
        name: urn,
        custom: true,
        remote: false,
        parent: "",
        provider: "",
        providers: {},
        dependencies: [],
        aliases: [],
        propertyDependencies: {},
        inputs: {},
        state: {},
        options: { protect: false, retainOnDelete: false, deleteBeforeReplace: false, ignoreChanges: [], replaceOnChanges: [], deletedWith: "" },
        ...extra,
    });
    const ns = (name: string, extra: Partial<Registration> = {}) =>
        reg(`ns-${name}`, "kubernetes:core/v1:Namespace", { inputs: { apiVersion: "v1", kind: "Namespace", metadata: { name } }, ...extra });
    const sa = (name: string, namespace: string, extra: Partial<Registration> = {}) =>
        reg(`sa-${name}`, "kubernetes:core/v1:ServiceAccount", { inputs: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } }, ...extra });

    it("reads stack files the way the CLI hands config to a program", () => {
        const { config, secretKeys } = flattenStackConfig(
            { "aws:region": "eu-west-1", cpuMinSize: 3, examples: ["a", "b"], "inference-platform:jwksUri": { secure: "AAABBB" }, gpuEnabled: null },
            "inference-platform",
            { cpuMinSize: 2, gpuEnabled: true, kubeContext: "kind-x" },
        );
        expect(config).toEqual({
            "aws:region": "eu-west-1",
            "inference-platform:cpuMinSize": "3",
            "inference-platform:examples": '["a","b"]',
            "inference-platform:jwksUri": "<secure:inference-platform:jwksUri>",
            "inference-platform:kubeContext": "kind-x",
        });
        expect(secretKeys).toEqual(["inference-platform:jwksUri"]);
        expect(Object.keys(config)).toEqual([...Object.keys(config)].sort());
    });

    it("orders steps by dependencies, through components, independent of registration order", () => {
        const component = reg("comp", "test:index:Comp", { custom: false });
        const inside = ns("inside", { parent: "comp" });
        const regs = [
            sa("a", "inside", { dependencies: ["comp"] }),
            inside,
            component,
            ns("other"),
            reg("cm", "kubernetes:core/v1:ConfigMap", { inputs: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm", namespace: "other" } } }),
        ];
        const forward = buildModel(regs).steps.map((s) => s.registration.urn);
        const backward = buildModel([...regs].reverse()).steps.map((s) => s.registration.urn);
        expect(forward).toEqual(backward);
        expect(forward.indexOf("ns-inside")).toBeLessThan(forward.indexOf("sa-a"));
        // Independent objects: Namespaces before ConfigMaps before ServiceAccounts only by kind rank.
        expect(forward.indexOf("ns-other")).toBeLessThan(forward.indexOf("cm"));
        expect(forward).not.toContain("comp");
    });

    it("rejects cycles and duplicate URNs instead of writing a wrong order", () => {
        expect(() => buildModel([ns("a", { dependencies: ["ns-b"] }), ns("b", { dependencies: ["ns-a"] })])).toThrow(/dependency cycle among: ns-a, ns-b/);
        expect(() => buildModel([ns("a"), ns("a")])).toThrow(/duplicate resource URN.*ns-a/);
    });

    it("warns about objects that do not wait for the Namespace they live in", () => {
        const model = buildModel([ns("models"), sa("ok", "models", { dependencies: ["ns-models"] }), sa("racy", "models")]);
        const warnings = orderingWarnings(model);
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatch(/ServiceAccount sa-racy .* namespace 'models'/);
    });

    it("renders secrets as markers but keeps their keys, base64 inside a Secret's data", () => {
        const sig = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };
        const secret = reg("s", "kubernetes:core/v1:Secret", {
            inputs: { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { ...sig, value: { password: "aHVudGVyMg==" } }, stringData: { ...sig, value: { user: "admin" } } },
        });
        const manifest = renderManifest(secret);
        expect(manifest.stringData).toEqual({ user: "<secret>" });
        expect(manifest.data).toEqual({ password: Buffer.from("<secret>").toString("base64") });
        expect(JSON.stringify(manifest)).not.toMatch(/admin|aHVudGVyMg/);
    });
});
