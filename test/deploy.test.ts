/**
 * `npm run deploy` (scripts/lib/deploy*.ts) with a fake Automation API workspace: backend choice and
 * fallback, stack create-if-missing, confirmation rules, progress rendered from an engine event
 * sequence, and the outputs printed at the end. No Pulumi CLI is needed (none exists here).
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { exampleInvocations } from "../components/models/exampleModels";
import { DeployDeps, DeployOptions, DeployStack, DeployWorkspace, parseDeployArgs, runDeploy, WorkspaceSettings } from "../scripts/lib/deploy";
import { chooseBackend, localStateDir, passphraseProblem } from "../scripts/lib/deployBackend";
import { renderDeployOutputs } from "../scripts/lib/deployOutputs";
import { changingSteps, DeployProgress, describeChanges, formatElapsed, shortUrn } from "../scripts/lib/deployProgress";
import { UserError } from "../scripts/lib/http";

const root = "/repo";
const devStackFile = "config:\n  aws:region: us-east-2\n  inference-platform:platform: eks\n";
const localStackFile = "config:\n  inference-platform:platform: local\n";

// ---- an engine event sequence in the shape @pulumi/pulumi 3.270's automation/events.d.ts declares,
// ---- modeled on the start of a first `up` of the dev stack (its URNs and types).
const urn = (type: string, name: string, parents = "") => `urn:pulumi:dev::inference-platform::${parents}${type}::${name}`;
const resources = {
    stack: { type: "pulumi:pulumi:Stack", urn: urn("pulumi:pulumi:Stack", "inference-platform-dev") },
    vpc: { type: "awsx:ec2:Vpc", urn: urn("awsx:ec2:Vpc", "network-vpc", "inference-platform:aws:Network$") },
    nodeRole: { type: "aws:iam/role:Role", urn: urn("aws:iam/role:Role", "cluster-node-role", "inference-platform:aws:EksCluster$") },
    eks: { type: "eks:index:Cluster", urn: urn("eks:index:Cluster", "cluster-eks", "inference-platform:aws:EksCluster$") },
    cpu: { type: "aws:eks/nodeGroup:NodeGroup", urn: urn("aws:eks/nodeGroup:NodeGroup", "cluster-cpu", "inference-platform:aws:EksCluster$") },
    gpu: { type: "aws:eks/nodeGroup:NodeGroup", urn: urn("aws:eks/nodeGroup:NodeGroup", "cluster-gpu", "inference-platform:aws:EksCluster$") },
};
type Res = (typeof resources)[keyof typeof resources];
const metadata = (op: string, r: Res) => ({ op, urn: r.urn, type: r.type, provider: "" }) as never;
/** [seconds since start, event body] */
const upSequence: [number, Omit<EngineEvent, "sequence" | "timestamp">][] = [
    [0, { preludeEvent: { config: { "aws:region": "us-east-2" } } }],
    [1, { resourcePreEvent: { metadata: metadata("same", resources.stack) } }],
    [2, { resourcePreEvent: { metadata: metadata("create", resources.vpc) } }],
    [2, { resourcePreEvent: { metadata: metadata("create", resources.nodeRole) } }],
    [4, { resOutputsEvent: { metadata: metadata("create", resources.nodeRole) } }],
    [95, { resOutputsEvent: { metadata: metadata("create", resources.vpc) } }],
    [96, { resourcePreEvent: { metadata: metadata("create", resources.eks) } }],
    [120, { diagnosticEvent: { urn: resources.eks.urn, message: "eks.Cluster: the default node group is skipped\n", color: "never", severity: "warning" } }],
    [121, { diagnosticEvent: { message: "downloading plugin", color: "never", severity: "info", ephemeral: true } }],
    [700, { resOutputsEvent: { metadata: metadata("create", resources.eks) } }],
    [701, { resourcePreEvent: { metadata: metadata("create", resources.cpu) } }],
    [701, { resourcePreEvent: { metadata: metadata("create", resources.gpu) } }],
    [880, { resOpFailedEvent: { metadata: metadata("create", resources.gpu), status: 1, steps: 1 } }],
    [880, { diagnosticEvent: { urn: resources.gpu.urn, message: "creating EKS Node Group: InvalidRequestException: quota exceeded\n", color: "never", severity: "error" } }],
    [950, { resOutputsEvent: { metadata: metadata("create", resources.cpu) } }],
    [951, { summaryEvent: { maybeCorrupt: false, durationSeconds: 951, resourceChanges: { create: 4, same: 1 }, policyPacks: {} } }],
];
const t0 = 1_800_000_000_000;
const events = (sequence = upSequence): { at: number; event: EngineEvent }[] =>
    sequence.map(([s, body], i) => ({ at: t0 + s * 1000, event: { sequence: i, timestamp: Math.floor(t0 / 1000) + s, ...body } as EngineEvent }));

/** Feeds events to a tracker on a fake clock; returns what was written. */
function replay(options: { tty: boolean; plannedSteps?: number; tickEvery?: number; heartbeatMs?: number; operation?: "preview" | "update" }) {
    let clock = t0;
    const out: string[] = [];
    const progress = new DeployProgress({ operation: options.operation ?? "update", plannedSteps: options.plannedSteps, tty: options.tty, columns: 200, write: (s) => out.push(s), now: () => clock, heartbeatMs: options.heartbeatMs });
    const statusAt = new Map<number, string>();
    for (const { at, event } of events()) {
        while (options.tickEvery && clock + options.tickEvery < at) {
            clock += options.tickEvery;
            progress.tick();
        }
        clock = at;
        progress.onEvent(event);
        statusAt.set((at - t0) / 1000, progress.statusLine());
    }
    progress.finish();
    return { out: out.join(""), progress, statusAt };
}

/** What a terminal shows after the writes: `\r\x1b[2K` clears the line in place. */
function screen(text: string): string[] {
    const lines: string[] = [""];
    for (const part of text.split(/(\r\x1b\[2K|\n)/)) {
        if (part === "\r\x1b[2K") lines[lines.length - 1] = "";
        else if (part === "\n") lines.push("");
        else lines[lines.length - 1] += part;
    }
    return lines;
}

describe("deploy progress from engine events", () => {
    it("plain lines for CI: each finished step with done/total and elapsed, warnings and failures on their own line", () => {
        const { out, progress } = replay({ tty: false, plannedSteps: 6 });
        expect(out.split("\n").filter(Boolean)).toEqual([
            "[1/6] 4s created aws:iam/role:Role cluster-node-role (2s)",
            "[2/6] 1m35s created awsx:ec2:Vpc network-vpc (1m33s)",
            "warning: eks:index:Cluster cluster-eks: eks.Cluster: the default node group is skipped",
            "[3/6] 11m40s created eks:index:Cluster cluster-eks (10m04s)",
            "failed: creating aws:eks/nodeGroup:NodeGroup cluster-gpu",
            "error: aws:eks/nodeGroup:NodeGroup cluster-gpu: creating EKS Node Group: InvalidRequestException: quota exceeded",
            "[5/6] 15m50s created aws:eks/nodeGroup:NodeGroup cluster-cpu (4m09s)",
        ]);
        expect(progress.counts).toEqual({ done: 4, failed: 1, total: 6 });
        expect(progress.errors).toEqual(["aws:eks/nodeGroup:NodeGroup cluster-gpu: creating EKS Node Group: InvalidRequestException: quota exceeded"]);
        expect(progress.resourceChanges).toEqual({ create: 4, same: 1 });
    });

    it("a heartbeat line while a long step runs (CI shows the job is alive)", () => {
        const lines = replay({ tty: false, plannedSteps: 6, tickEvery: 10_000, heartbeatMs: 180_000 }).out.split("\n");
        const heartbeats = lines.filter((l) => l.includes(" still "));
        // The last step finished at 1m35s; ticks come every 10 s after the event at 2m01s, and the first
        // one at least 3 minutes after 1m35s is at 4m41s.
        expect(heartbeats[0]).toBe("[2/6] 4m41s still creating eks:index:Cluster cluster-eks (3m05s)");
        expect(heartbeats.length).toBe(3); // every 3 minutes of the 10-minute control plane
    });

    it("one status line on a terminal: current step, what else runs, done/total; cleared at the end", () => {
        const { out, statusAt } = replay({ tty: true, plannedSteps: 6 });
        expect(statusAt.get(2)).toBe("[0/6] 2s creating awsx:ec2:Vpc network-vpc (0s) +1 more");
        expect(statusAt.get(120)).toBe("[2/6] 2m00s creating eks:index:Cluster cluster-eks (24s)");
        expect(statusAt.get(701)).toBe("[3/6] 11m41s creating aws:eks/nodeGroup:NodeGroup cluster-cpu (0s) +1 more");
        // Only warnings and failures stay on screen; the status line is gone after finish().
        expect(screen(out)).toEqual([
            "warning: eks:index:Cluster cluster-eks: eks.Cluster: the default node group is skipped",
            "failed: creating aws:eks/nodeGroup:NodeGroup cluster-gpu",
            "error: aws:eks/nodeGroup:NodeGroup cluster-gpu: creating EKS Node Group: InvalidRequestException: quota exceeded",
            "",
        ]);
        expect(out).not.toContain("downloading plugin"); // ephemeral diagnostics stay off
    });

    it("a preview prints no line per planned step (they are plans, not changes), only warnings and errors", () => {
        const { out, statusAt } = replay({ tty: false, operation: "preview" });
        expect(out.split("\n").filter(Boolean).every((l) => /^(warning|error|failed):/.test(l))).toBe(true);
        expect(replay({ tty: true, operation: "preview" }).statusAt.get(2)).toBe("[0/2] 2s planning create awsx:ec2:Vpc network-vpc (0s) +1 more");
        expect(statusAt.size).toBeGreaterThan(0);
    });

    it("without a preview, the total is the steps seen so far", () => {
        expect(replay({ tty: false }).progress.counts).toEqual({ done: 4, failed: 1, total: 5 });
    });

    it("helpers: short URNs, elapsed time, change summaries", () => {
        expect(shortUrn(resources.cpu.urn)).toBe("aws:eks/nodeGroup:NodeGroup cluster-cpu");
        expect([0, 59_999, 60_000, 3_725_000].map(formatElapsed)).toEqual(["0s", "59s", "1m00s", "1h02m05s"]);
        expect(describeChanges({ same: 40, delete: 1, create: 3 }, "planned")).toBe("3 to create, 1 to delete, 40 unchanged");
        expect(describeChanges({ create: 3, same: 2 }, "done")).toBe("3 created, 2 unchanged");
        expect(changingSteps({ create: 3, same: 40, update: 2, read: 1 })).toBe(5);
    });
});

describe("backend choice", () => {
    const probe = (over: Partial<Parameters<typeof chooseBackend>[0]> = {}) => ({
        env: {},
        homeDir: "/home/u",
        root,
        readFile: () => undefined,
        whoAmI: () => Promise.reject(new Error("error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions")),
        ...over,
    });
    const cloud = () => Promise.resolve({ user: "alice", url: "https://app.pulumi.com" });

    it("falls back to a file backend in the checkout when there is no login at all", async () => {
        expect(await chooseBackend(probe())).toMatchObject({ kind: "local", url: `file://${path.join(root, ".pulumi-state")}` });
    });

    it("uses PULUMI_BACKEND_URL, and fails (no fallback) when that backend does not answer", async () => {
        expect(await chooseBackend(probe({ env: { PULUMI_BACKEND_URL: "s3://state-bucket" }, whoAmI: () => Promise.resolve({ user: "bob" }) }))).toMatchObject({ kind: "env", url: "s3://state-bucket", user: "bob" });
        await expect(chooseBackend(probe({ env: { PULUMI_BACKEND_URL: "s3://state-bucket" } }))).rejects.toThrow(/PULUMI_BACKEND_URL is s3:\/\/state-bucket, but `pulumi whoami` fails there: error: PULUMI_ACCESS_TOKEN/);
    });

    it("uses the current account of credentials.json ($PULUMI_HOME honoured), and fails rather than splitting state when it is broken", async () => {
        const files: Record<string, string> = { "/p/home/credentials.json": JSON.stringify({ current: "https://api.pulumi.com", accounts: {} }) };
        const readFile = (f: string) => files[f];
        expect(await chooseBackend(probe({ env: { PULUMI_HOME: "/p/home" }, readFile, whoAmI: cloud }))).toMatchObject({ kind: "login", url: "https://app.pulumi.com", user: "alice" });
        await expect(chooseBackend(probe({ env: { PULUMI_HOME: "/p/home" }, readFile }))).rejects.toThrow(/logged in to https:\/\/api\.pulumi\.com .* run `pulumi login` again/);
        expect(await chooseBackend(probe({ readFile: () => JSON.stringify({ current: "" }) }))).toMatchObject({ kind: "local" });
        expect(await chooseBackend(probe({ readFile: () => "not json" }))).toMatchObject({ kind: "local" });
    });

    it("uses a login that only `pulumi whoami` knows (PULUMI_ACCESS_TOKEN)", async () => {
        expect(await chooseBackend(probe({ whoAmI: cloud }))).toMatchObject({ kind: "login", user: "alice" });
    });

    it("the local backend needs PULUMI_CONFIG_PASSPHRASE (or _FILE); an empty one is a choice", () => {
        expect(passphraseProblem({})).toMatch(/set PULUMI_CONFIG_PASSPHRASE/);
        expect(passphraseProblem({ PULUMI_CONFIG_PASSPHRASE: "" })).toBeUndefined();
        expect(passphraseProblem({ PULUMI_CONFIG_PASSPHRASE_FILE: "/run/secrets/pp" })).toBeUndefined();
    });
});

describe("the deploy flow with a fake workspace", () => {
    const exampleOutputs = exampleInvocations({ examples: ["sklearn-iris", "tensorflow-s3"], namespace: "models", domain: "203.0.113.10.sslip.io", ingress: "203.0.113.10" });
    const outputs = {
        examples: { value: exampleOutputs, secret: false },
        modelUrls: { value: Object.fromEntries(Object.entries(exampleOutputs).map(([k, v]) => [k, v!.url])), secret: false },
        inferenceServerUrl: { value: "http://clothing.models.203.0.113.10.sslip.io/v1/models/clothing-model:predict", secret: false },
        kubeconfig: { value: "[secret]", secret: true },
        authMode: { value: "open-model-paths", secret: false },
    };

    function fake(over: { stacks?: string[]; loggedIn?: boolean; env?: Record<string, string>; tty?: boolean; confirm?: boolean; failUp?: boolean; aws?: "ok" | "missing"; stackFile?: string; noCli?: boolean } = {}) {
        const calls: string[] = [];
        const settings: WorkspaceSettings[] = [];
        const written: string[] = [];
        const questions: string[] = [];
        const stacks = [...(over.stacks ?? [])];
        let clock = t0;
        const stack = (): DeployStack => ({
            preview: async ({ onEvent }) => {
                calls.push("preview");
                onEvent(events()[0].event);
                return { changeSummary: { create: 6, same: 1 } };
            },
            up: async ({ onEvent }) => {
                calls.push("up");
                for (const { at, event } of events()) {
                    clock = at;
                    onEvent(event);
                }
                if (over.failUp) throw new Error("code: 255\n stdout: \n stderr: error: update failed\n");
                return { summary: { result: "succeeded", resourceChanges: { create: 6, same: 1 } } };
            },
            destroy: async ({ onEvent }) => {
                calls.push("destroy");
                onEvent(events()[0].event);
                return { summary: { result: "succeeded", resourceChanges: { delete: 6 } } };
            },
            outputs: async () => outputs,
        });
        const workspace: DeployWorkspace = {
            whoAmI: async () => {
                calls.push("whoAmI");
                if (!over.loggedIn) throw new Error("error: no credentials; please use `pulumi login`");
                return { user: "alice", url: "https://app.pulumi.com" };
            },
            listStacks: async () => stacks.map((name) => ({ name })),
            createStack: async (name) => {
                calls.push(`create ${name}`);
                stacks.push(name);
                return stack();
            },
            selectStack: async (name) => {
                calls.push(`select ${name}`);
                return stack();
            },
        };
        const deps: DeployDeps = {
            root,
            env: over.env ?? { PULUMI_CONFIG_PASSPHRASE: "correct horse" },
            homeDir: "/home/u",
            readFile: (f) => (f === path.join(root, "Pulumi.dev.yaml") ? (over.stackFile ?? devStackFile) : undefined),
            makeDir: (d) => calls.push(`mkdir ${d}`),
            workspace: async (s) => {
                if (over.noCli) throw new Error("spawn pulumi ENOENT");
                settings.push(s);
                return workspace;
            },
            checkAwsCredentials: async () => {
                calls.push("aws");
                if (over.aws === "missing") throw new Error("Could not load credentials from any providers");
                return "access key …WXYZ";
            },
            confirm: async (q) => {
                questions.push(q);
                return over.confirm ?? true;
            },
            tty: over.tty ?? true,
            columns: 200,
            write: (s) => written.push(s),
            now: () => clock,
            every: () => () => undefined,
        };
        return { deps, calls, settings, questions, output: () => written.join("") };
    }
    const options = (over: Partial<DeployOptions> = {}): DeployOptions => ({ stack: "dev", preview: false, destroy: false, yes: false, skipPreview: false, help: false, ...over });

    it("first deploy, no login: local file backend with a passphrase, stack created from its file, preview, confirm, up, outputs", async () => {
        const f = fake();
        expect(await runDeploy(options(), f.deps)).toBe(0);
        expect(f.settings).toEqual([{}, { backendUrl: `file://${root}/.pulumi-state`, secretsProvider: "passphrase" }]);
        expect(f.calls).toEqual(["whoAmI", `mkdir ${root}/.pulumi-state`, "aws", "create dev", "preview", "up"]);
        expect(f.questions).toEqual(["Deploy these changes to stack dev?"]);
        const out = f.output();
        expect(out).toContain(`backend: file://${root}/.pulumi-state (no Pulumi login found`);
        expect(out).toContain("stack dev: created from Pulumi.dev.yaml (secrets encrypted with PULUMI_CONFIG_PASSPHRASE)");
        expect(out).toContain("preview: 6 to create, 1 unchanged");
        expect(out).toContain("deployed in 15m51s: 6 created, 1 unchanged");
        for (const ex of Object.values(exampleOutputs)) {
            expect(out).toContain(`  ${ex!.service}  ${ex!.url}\n    ${ex!.curlViaDns}\n`);
            expect(out).toContain(`    ${ex!.curlViaIngress}\n`);
        }
        expect(out).toContain(`PULUMI_BACKEND_URL=file://${root}/.pulumi-state pulumi stack output kubeconfig --show-secrets --stack dev > kubeconfig.json`);
    });

    it("the local backend's folder is git-ignored: state is never committed", () => {
        const ignored = fs.readFileSync(path.resolve(__dirname, "../.gitignore"), "utf8").split("\n").map((l) => l.trim());
        expect(ignored).toContain(`${localStateDir}/`);
    });

    it("refuses the local backend without a passphrase, before creating anything", async () => {
        const f = fake({ env: {} });
        await expect(runDeploy(options(), f.deps)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/set PULUMI_CONFIG_PASSPHRASE/) });
        expect(f.calls).toEqual(["whoAmI"]);
    });

    it("logged in and the stack exists: selects it on that backend, creates nothing", async () => {
        const f = fake({ loggedIn: true, stacks: ["alice/dev"], env: {} });
        expect(await runDeploy(options({ yes: true }), f.deps)).toBe(0);
        expect(f.settings).toEqual([{}]);
        expect(f.calls).toEqual(["whoAmI", "aws", "select dev", "preview", "up"]);
        expect(f.questions).toEqual([]);
        expect(f.output()).toContain("backend: https://app.pulumi.com as alice");
        expect(f.output()).not.toContain("PULUMI_BACKEND_URL=");
    });

    it("without a terminal, --yes is required (checked before anything runs)", async () => {
        const f = fake({ tty: false });
        await expect(runDeploy(options(), f.deps)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/no terminal to confirm on: pass --yes/) });
        expect(f.calls).toEqual([]);
        expect(f.settings).toEqual([]);
    });

    it("--preview shows the plan and changes nothing; a declined confirmation deploys nothing", async () => {
        const preview = fake({ tty: false });
        expect(await runDeploy(options({ preview: true }), preview.deps)).toBe(0);
        expect(preview.calls).not.toContain("up");
        const declined = fake({ confirm: false });
        expect(await runDeploy(options(), declined.deps)).toBe(1);
        expect(declined.calls).not.toContain("up");
        expect(declined.output()).toContain("deploy: declined, nothing changed");
    });

    it("--destroy: asks, destroys; a stack that does not exist is an error", async () => {
        const f = fake({ stacks: ["dev"] });
        expect(await runDeploy(options({ destroy: true }), f.deps)).toBe(0);
        expect(f.calls.slice(-2)).toEqual(["select dev", "destroy"]);
        expect(f.questions[0]).toMatch(/^Delete every resource of stack dev/);
        await expect(runDeploy(options({ destroy: true, yes: true }), fake().deps)).rejects.toThrow(/stack dev does not exist .* nothing to destroy/);
    });

    it("a failed update exits 1 naming the engine's errors", async () => {
        const f = fake({ failUp: true });
        const err = await runDeploy(options({ yes: true }), f.deps).catch((e) => e);
        expect(err).toBeInstanceOf(UserError);
        expect(err.exitCode).toBe(1);
        expect(err.message).toMatch(/^update failed after 15m5\ds: error: update failed\n  aws:eks\/nodeGroup:NodeGroup cluster-gpu: creating EKS Node Group: InvalidRequestException: quota exceeded$/);
    });

    it("setup problems exit 2 with what to do: no CLI, no AWS credentials, no stack file", async () => {
        await expect(runDeploy(options({ yes: true }), fake({ noCli: true }).deps)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/Pulumi CLI is not installed.*https:\/\/www\.pulumi\.com\/docs\/install/) });
        const noAws = fake({ aws: "missing" });
        await expect(runDeploy(options({ yes: true }), noAws.deps)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/no usable AWS credentials: Could not load credentials.*AWS_PROFILE/) });
        expect(noAws.calls).not.toContain("create dev");
        await expect(runDeploy(options({ stack: "prod", yes: true }), fake().deps)).rejects.toThrow(/Pulumi\.prod\.yaml does not exist/);
    });

    it("a local (kind) stack needs no AWS credentials", async () => {
        const f = fake({ stackFile: localStackFile, aws: "missing" });
        expect(await runDeploy(options({ yes: true }), f.deps)).toBe(0);
        expect(f.calls).not.toContain("aws");
    });
});

describe("the README's first deploy", () => {
    const readme = fs.readFileSync(path.resolve(__dirname, "../README.md"), "utf8");
    const scripts = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../package.json"), "utf8")).scripts as Record<string, string>;

    it("opens with the deploy command, then the test command", () => {
        const first = /```sh\n([\s\S]*?)```/.exec(readme)![1].split("\n").filter(Boolean).map((l) => l.replace(/\s+#.*$/, ""));
        expect(first).toEqual(["npm run deploy -- --stack dev", "npm ci && npm test"]);
        expect(scripts.deploy).toMatch(/scripts\/deploy\.ts$/);
    });

    it("documents every option the command has", () => {
        const section = readme.slice(readme.indexOf("## First deploy"), readme.indexOf("\n## ", readme.indexOf("## First deploy") + 1));
        for (const flag of ["--preview", "--destroy", "--yes", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_BACKEND_URL", ".pulumi-state", "pulumi up", "allowScripts"]) {
            expect(section, flag).toContain(flag);
        }
    });
});

describe("arguments and outputs", () => {
    it("parses flags and rejects bad combinations with exit code 2", () => {
        expect(parseDeployArgs(["--stack", "dev", "--yes"])).toMatchObject({ stack: "dev", yes: true, preview: false });
        expect(parseDeployArgs(["--stack=dev", "--preview"])).toMatchObject({ stack: "dev", preview: true });
        expect(parseDeployArgs(["--help"]).help).toBe(true);
        for (const [args, message] of [
            [[], /give the stack/],
            [["--stack"], /needs a stack name/],
            [["--stack", "dev", "--preview", "--destroy"], /exclude each other/],
            [["--stack", "dev", "--skip-preview"], /needs --yes/],
            [["--stack", "a b"], /not a stack name/],
            [["--stack", "dev", "--force"], /unknown argument '--force'/],
        ] as const) {
            expect(() => parseDeployArgs(args), String(args)).toThrow(message);
            try {
                parseDeployArgs(args);
            } catch (err) {
                expect((err as UserError).exitCode).toBe(2);
            }
        }
    });

    it("prints each model's URL and curl lines; jwt stacks get the token note; no kubeconfig line on local", () => {
        const examples = exampleInvocations({ examples: ["sklearn-iris"], namespace: "models", domain: "127.0.0.1.sslip.io", ingress: "127.0.0.1:8080", authHeader: "Authorization: Bearer $TOKEN" });
        const lines = renderDeployOutputs(
            { examples: { value: examples, secret: false }, modelUrls: { value: { "sklearn-iris": examples["sklearn-iris"]!.url }, secret: false }, authMode: { value: "jwt", secret: false }, kubeconfig: { value: null, secret: false } },
            { stack: "local" },
        );
        expect(lines).toContain(`    ${examples["sklearn-iris"]!.curlViaDns}`);
        expect(lines.join("\n")).toContain("authMode is jwt: set TOKEN");
        expect(lines.join("\n")).not.toContain("kubeconfig");
        expect(renderDeployOutputs({}, { stack: "x" })[0]).toMatch(/No example models/);
    });
});
