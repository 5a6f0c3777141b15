/**
 * The GitHub Actions workflows, parsed: triggers, least-privilege permissions, pinned actions,
 * the README's commands, per-stack concurrency and the ephemeral PR stack's life cycle.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

const root = path.resolve(__dirname, "..");
const dir = path.join(root, ".github/workflows");
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
const packageScripts: Record<string, string> = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).scripts ?? {};

interface Step { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; name?: string; if?: string; "continue-on-error"?: boolean; "working-directory"?: string }
interface Job { if?: string; permissions?: Record<string, string> | string; steps: Step[]; concurrency?: unknown; "runs-on": string }
interface Workflow { name: string; on: Record<string, any>; permissions?: Record<string, string> | string; concurrency?: { group: string; "cancel-in-progress": boolean }; jobs: Record<string, Job>; env?: Record<string, string> }

const workflows: Record<string, Workflow> = Object.fromEntries(files.map((f) => [f, parseYaml(readFileSync(path.join(dir, f), "utf8")) as Workflow]));
const texts: Record<string, string> = Object.fromEntries(files.map((f) => [f, readFileSync(path.join(dir, f), "utf8")]));

const allJobs = () => Object.entries(workflows).flatMap(([file, wf]) => Object.entries(wf.jobs).map(([name, job]) => ({ file, name, job })));
const usesAws = (job: Job) => job.steps.some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
/** A step that writes a PR comment: Pulumi's `comment-on-pr`, or this repo's sticky comment script. */
const commentsOnPr = (job: Job) => pulumiStep(job)?.with?.["comment-on-pr"] === true || job.steps.some((s) => /\bnpm run pr:comment\b/.test(s.run ?? ""));
const pulumiStep = (job: Job) => job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
const runs = (wf: Workflow) => Object.values(wf.jobs).flatMap((j) => j.steps.map((s) => s.run ?? "")).join("\n");
/** Effective permissions of a job (job-level replaces top-level). */
const permissionsOf = (wf: Workflow, job: Job) => (job.permissions ?? wf.permissions ?? "UNSET") as Record<string, string> | string;

/** Scripts other helpers add (`synth` renders manifests into out/); checked once they land. */

describe("workflow files", () => {
    it("exist: ci, preview, deploy, pr-stack", () => {
        expect(files).toEqual(["ci.yml", "deploy.yml", "pr-stack.yml", "preview.yml"]);
    });

    it.each(files)("%s: top-level permissions are empty or contents: read", (file) => {
        const p = workflows[file].permissions;
        expect(p === undefined ? "UNSET" : p).toSatisfy((v: unknown) =>
            (typeof v === "object" && v !== null && (Object.keys(v).length === 0 || JSON.stringify(v) === '{"contents":"read"}')));
    });

    it("no write-all / read-all, no pull_request_target, no static AWS keys anywhere", () => {
        for (const [file, text] of Object.entries(texts)) {
            expect(text, file).not.toMatch(/write-all|read-all/);
            expect(Object.keys(workflows[file].on), file).not.toContain("pull_request_target");
            expect(text, file).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY/);
        }
    });

    it("id-token: write exactly on the jobs that assume an AWS role, each by OIDC role-to-assume", () => {
        for (const { file, name, job } of allJobs()) {
            const p = permissionsOf(workflows[file], job);
            const idToken = typeof p === "object" ? p["id-token"] : undefined;
            if (usesAws(job)) {
                expect(idToken, `${file}:${name}`).toBe("write");
                const aws = job.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"))!;
                expect(Number(/@v(\d+)/.exec(aws.uses!)?.[1]), `${file}:${name}`).toBeGreaterThanOrEqual(4);
                expect(String(aws.with?.["role-to-assume"]), `${file}:${name}`).toMatch(/^\$\{\{ vars\.\w+ \}\}$/);
            } else {
                expect(idToken, `${file}:${name}`).toBeUndefined();
            }
        }
    });

    it("pull-requests: write only where a step comments on the PR; other scopes at most read", () => {
        for (const { file, name, job } of allJobs()) {
            const p = permissionsOf(workflows[file], job);
            expect(typeof p, `${file}:${name}`).toBe("object");
            const comments = commentsOnPr(job);
            for (const [scope, level] of Object.entries(p as Record<string, string>)) {
                if (scope === "id-token") continue;
                if (scope === "pull-requests" && level === "write") expect(comments, `${file}:${name} has pull-requests: write without commenting`).toBe(true);
                else expect(level, `${file}:${name} ${scope}`).toBe("read");
            }
            if (comments) expect((p as Record<string, string>)["pull-requests"], `${file}:${name}`).toBe("write");
        }
    });

    it("every action is pinned to a major version tag or a commit SHA", () => {
        for (const { file, name, job } of allJobs()) {
            for (const step of job.steps.filter((s) => s.uses)) {
                expect(step.uses, `${file}:${name}`).toMatch(/^[\w.-]+\/[\w.\/-]+@(v\d+|[0-9a-f]{40})$/);
            }
        }
        const pulumiUses = allJobs().flatMap(({ job }) => job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@")).map((s) => s.uses));
        expect(new Set(pulumiUses)).toEqual(new Set(["pulumi/actions@v6"]));
    });

    it("every job installs with npm ci on Node from .nvmrc (24)", () => {
        expect(readFileSync(path.join(root, ".nvmrc"), "utf8").trim()).toBe("24");
        for (const { file, name, job } of allJobs()) {
            const node = job.steps.find((s) => s.uses?.startsWith("actions/setup-node@"));
            expect(node?.with?.["node-version-file"] ?? String(node?.with?.["node-version"]), `${file}:${name}`).toMatch(/^(\.nvmrc|24)$/);
            expect(job.steps.some((s) => /^npm ci\b/.test(s.run ?? "")), `${file}:${name}`).toBe(true);
        }
    });

    it("every `npm run X` names a script of package.json", () => {
        const used = new Set(Object.values(texts).flatMap((t) => [...t.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1])));
        for (const script of used) {
            expect(packageScripts[script], `npm run ${script}`).toBeDefined();
        }
    });

    it("jobs that run Pulumi serialize per stack and are never cancelled mid-update", () => {
        const deploy = workflows["deploy.yml"].concurrency!;
        expect(deploy.group).toBe("pulumi-dev");
        expect(deploy["cancel-in-progress"]).toBe(false);
        const pr = workflows["pr-stack.yml"].concurrency!;
        expect(pr.group).toContain("${{ github.event.pull_request.number }}");
        expect(pr["cancel-in-progress"]).toBe(false);
        expect(workflows["preview.yml"].concurrency!.group).toContain("${{ github.event.pull_request.number }}");
    });
});

describe("ci.yml", () => {
    const wf = workflows["ci.yml"];
    it("runs on pull requests", () => {
        expect(Object.keys(wf.on)).toContain("pull_request");
    });
    it("installs, typechecks, runs the README's test command and synthesizes dev and local", () => {
        const text = runs(wf);
        expect(text).toMatch(/^npm ci\b/m);
        expect(text).toMatch(/^npm run typecheck$/m);
        expect(text).toMatch(/^npm test$/m);
        expect(text).toMatch(/^npm run synth -- --stack dev$/m);
        expect(text).toMatch(/^npm run synth -- --stack local$/m);
    });
    it("uploads out/ as an artifact after the synths", () => {
        const steps = wf.jobs.check.steps;
        const upload = steps.findIndex((s) => s.uses?.startsWith("actions/upload-artifact@"));
        const lastSynth = steps.map((s) => s.run ?? "").findLastIndex((r) => r.includes("npm run synth"));
        expect(upload).toBeGreaterThan(lastSynth);
        expect(String(steps[upload].with?.path).replace(/\/$/, "")).toBe("out");
    });
    it("uses no cloud credentials", () => {
        for (const job of Object.values(wf.jobs)) expect(usesAws(job)).toBe(false);
        expect(texts["ci.yml"]).not.toMatch(/secrets\./);
    });

    describe("plan job (pull requests)", () => {
        const job = wf.jobs.plan;
        const steps = job.steps;
        const runOf = (pattern: RegExp) => steps.findIndex((s) => pattern.test(s.run ?? ""));
        it("runs on pull requests only, with contents: read and pull-requests: write for its comment", () => {
            expect(job.if).toBe("github.event_name == 'pull_request'");
            expect(job.permissions).toEqual({ contents: "read", "pull-requests": "write" });
        });
        it("checks out the base branch's commit beside this one, neither keeping the token", () => {
            const checkouts = steps.filter((s) => s.uses?.startsWith("actions/checkout@"));
            expect(checkouts).toHaveLength(2);
            for (const c of checkouts) expect(c.with?.["persist-credentials"]).toBe(false);
            expect(checkouts[1].with).toMatchObject({ ref: "${{ github.event.pull_request.base.sha }}", path: "base" });
        });
        it("synthesizes dev and local on both sides, the base side allowed to fail", () => {
            const base = steps.find((s) => s.name?.startsWith("Synth the base branch"))!;
            expect(base["continue-on-error"]).toBe(true);
            expect(base["working-directory"]).toBe("base");
            for (const stack of ["dev", "local"]) {
                expect(base.run).toContain(`npm run synth -- --stack ${stack} --out ../plan/base/${stack}`);
                expect(runs(wf)).toContain(`npm run synth -- --stack ${stack} --out plan/head/${stack}`);
            }
        });
        it("writes the report (diff + summary per stack) to the job summary, then the sticky comment, same-repo PRs only", () => {
            const report = runOf(/npm run plan:report -- --head plan\/head --base plan\/base --stacks dev,local .*--out plan\/report\.md/);
            expect(report).toBeGreaterThan(runOf(/--out plan\/head\/local/));
            expect(steps[report].run).toMatch(/cat plan\/report\.md >> "\$GITHUB_STEP_SUMMARY"/);
            const comment = runOf(/^npm run pr:comment -- --body-file plan\/report\.md$/);
            expect(comment).toBeGreaterThan(report);
            expect(steps[comment].if).toMatch(/head\.repo\.full_name == github\.repository/);
            expect(steps[comment].env).toEqual({ GITHUB_TOKEN: "${{ github.token }}" });
        });
    });
});

describe("preview.yml", () => {
    const wf = workflows["preview.yml"];
    const job = Object.values(wf.jobs)[0];
    it("previews dev on pull requests and comments the result", () => {
        expect(Object.keys(wf.on)).toEqual(["pull_request"]);
        expect(pulumiStep(job)?.with).toMatchObject({ command: "preview", "stack-name": "dev", "comment-on-pr": true });
    });
    it("skips fork PRs (no OIDC token or secrets there)", () => {
        expect(job.if).toMatch(/head\.repo\.full_name == github\.repository/);
    });
});

describe("deploy.yml", () => {
    const wf = workflows["deploy.yml"];
    it("runs pulumi up on dev for pushes to main only", () => {
        expect(wf.on.push).toEqual({ branches: ["main"] });
        expect(Object.keys(wf.on)).not.toContain("pull_request");
        expect(pulumiStep(wf.jobs.up)?.with).toMatchObject({ command: "up", "stack-name": "dev" });
    });
});

describe("pr-stack.yml", () => {
    const wf = workflows["pr-stack.yml"];
    const types: string[] = wf.on.pull_request.types;
    it("reacts to the label and to closing", () => {
        expect(Object.keys(wf.on)).toEqual(["pull_request"]);
        expect(types).toEqual(expect.arrayContaining(["labeled", "unlabeled", "synchronize", "closed"]));
    });

    it("deploys pr-<number> with ephemeral: true when labelled deploy-preview, never on close", () => {
        const job = wf.jobs.deploy;
        expect(job.if).toContain("'deploy-preview'");
        expect(job.if).not.toMatch(/'closed'/);
        const step = pulumiStep(job)!;
        expect(step.with).toMatchObject({ command: "up", "stack-name": "pr-${{ github.event.pull_request.number }}", upsert: true });
        const configMap = parseYaml(String(step.with!["config-map"]));
        expect(configMap["inference-platform:ephemeral"]).toMatchObject({ value: "true" });
        expect(wf.env!.STACK).toBe("pr-${{ github.event.pull_request.number }}");
        expect(runs(wf)).toMatch(/npm run e2e -- --write-config-only --stack-name "\$STACK"/);
    });

    it("destroys and removes the stack when the PR closes or the label comes off", () => {
        const job = wf.jobs.destroy;
        expect(job.if).toMatch(/github\.event\.action == 'closed'/);
        expect(job.if).toMatch(/github\.event\.action == 'unlabeled' && github\.event\.label\.name == 'deploy-preview'/);
        expect(pulumiStep(job)?.with).toMatchObject({ command: "destroy", "stack-name": "pr-${{ github.event.pull_request.number }}", remove: true });
    });

    it("never runs for fork PRs", () => {
        for (const job of Object.values(wf.jobs)) expect(job.if).toMatch(/head\.repo\.full_name == github\.repository/);
    });
});
