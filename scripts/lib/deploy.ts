/**
 * `npm run deploy -- --stack dev`: a first deploy on a machine with Node, the Pulumi CLI and AWS
 * credentials, through the Automation API (scripts/lib/deployWorkspace.ts). The flow:
 *
 * 1. Read `Pulumi.<stack>.yaml` (the stack is created from it when it does not exist yet).
 * 2. Pick the backend (scripts/lib/deployBackend.ts): the logged-in one, else `.pulumi-state/` in the
 *    checkout with a passphrase secrets provider.
 * 3. Check AWS credentials (eks stacks) before anything slow.
 * 4. Select the stack, or create it.
 * 5. Preview (progress on one line), show the planned changes; ask before deploying unless --yes.
 * 6. Update with progress (resources done / total, the step in flight, elapsed), then print the model
 *    URLs and curl lines from the stack outputs.
 *
 * `--preview` stops after 5; `--destroy` deletes the stack's resources instead. Everything that
 * touches the outside world is injected (`DeployDeps`), so the flow is tested with a fake workspace.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import * as path from "node:path";
import * as YAML from "yaml";
import { UserError } from "./http";
import { automationErrorSummary } from "./stackOutputs";
import { Backend, chooseBackend, localStateDir, passphraseProblem } from "./deployBackend";
import { OutputValue, renderDeployOutputs } from "./deployOutputs";
import { changingSteps, describeChanges, DeployProgress, formatElapsed } from "./deployProgress";

export interface DeployOptions {
    readonly stack: string;
    /** Preview only. */
    readonly preview: boolean;
    /** Delete the stack's resources. */
    readonly destroy: boolean;
    /** No confirmation (required without a terminal). */
    readonly yes: boolean;
    /** Update without the preview that gives the total and the confirmation. Needs --yes. */
    readonly skipPreview: boolean;
    readonly help: boolean;
}

export const deployUsage = `usage: npm run deploy -- --stack <name> [--preview | --destroy] [--yes] [--skip-preview]

Deploys the stack Pulumi.<name>.yaml describes, with the Pulumi CLI's engine (Automation API):

  1. backend: the one you are logged in to (PULUMI_BACKEND_URL, \`pulumi login\`, or PULUMI_ACCESS_TOKEN);
     with no login at all, a file backend in this checkout (.pulumi-state/, git-ignored), whose secrets
     are encrypted with PULUMI_CONFIG_PASSPHRASE (set it; keep it)
  2. AWS credentials checked (eks stacks): environment, ~/.aws profile (AWS_PROFILE), SSO, ...
  3. the stack is selected, or created from Pulumi.<name>.yaml when it does not exist
  4. preview: what will be created, changed or deleted; on a terminal you confirm (--yes skips the question)
  5. update, with progress: resources done / total, the step in flight, elapsed time
  6. the model URLs and ready-to-run curl lines from the stack outputs

Options:
  --stack, -s <name>   stack to deploy (reads Pulumi.<name>.yaml)
  --preview            steps 1-4 only: show what would change, change nothing
  --destroy            delete every resource of the stack (asks first unless --yes; the stack itself stays)
  --yes, -y            do not ask; required when there is no terminal (CI)
  --skip-preview       with --yes: update without the preview (no total in the progress)
  --help, -h           this text

\`pulumi up --stack <name>\` keeps working on the same stack and backend (index.ts is the program);
for the local backend, export PULUMI_BACKEND_URL=file://<checkout>/.pulumi-state first.
Exit codes: 0 done; 1 the operation failed or was declined; 2 bad arguments or setup (missing CLI,
credentials, passphrase, stack file).`;

export function parseDeployArgs(argv: readonly string[]): DeployOptions {
    const options = { stack: "", preview: false, destroy: false, yes: false, skipPreview: false, help: false };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
        switch (flag) {
            case "--stack":
            case "-s": {
                const v = inline ?? argv[++i];
                if (v === undefined || v.startsWith("-")) throw new UserError(`${flag} needs a stack name`, 2);
                options.stack = v;
                break;
            }
            case "--preview":
                options.preview = true;
                break;
            case "--destroy":
                options.destroy = true;
                break;
            case "--yes":
            case "-y":
                options.yes = true;
                break;
            case "--skip-preview":
                options.skipPreview = true;
                break;
            case "--help":
            case "-h":
                options.help = true;
                break;
            default:
                throw new UserError(`unknown argument '${arg}' (npm run deploy -- --help)`, 2);
        }
    }
    if (options.help) return options;
    if (!options.stack) throw new UserError("give the stack: npm run deploy -- --stack dev (reads Pulumi.dev.yaml)", 2);
    if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/.test(options.stack)) throw new UserError(`'${options.stack}' is not a stack name`, 2);
    if (options.preview && options.destroy) throw new UserError("--preview and --destroy exclude each other", 2);
    if (options.skipPreview && !options.yes) throw new UserError("--skip-preview needs --yes (the preview is what you confirm)", 2);
    if (options.skipPreview && (options.preview || options.destroy)) throw new UserError("--skip-preview applies to an update only", 2);
    return options;
}

/** A stack as the Automation API's `Stack` offers it (the parts used here). */
export interface DeployStack {
    preview(opts: { onEvent: (e: EngineEvent) => void }): Promise<{ changeSummary: Record<string, number> }>;
    up(opts: { onEvent: (e: EngineEvent) => void }): Promise<{ summary: { result: string; resourceChanges?: Record<string, number> } }>;
    destroy(opts: { onEvent: (e: EngineEvent) => void }): Promise<{ summary: { result: string; resourceChanges?: Record<string, number> } }>;
    outputs(): Promise<Record<string, OutputValue>>;
}

/** A workspace as the Automation API's `LocalWorkspace` offers it (the parts used here). */
export interface DeployWorkspace {
    whoAmI(): Promise<{ user: string; url?: string }>;
    listStacks(): Promise<readonly { name: string }[]>;
    createStack(name: string): Promise<DeployStack>;
    selectStack(name: string): Promise<DeployStack>;
}

export interface WorkspaceSettings {
    /** Set for the project's file backend (passed to the CLI as PULUMI_BACKEND_URL). */
    readonly backendUrl?: string;
    /** Secrets provider for stacks created here (`passphrase` on the file backend). */
    readonly secretsProvider?: string;
}

export interface DeployDeps {
    /** The repository root: Pulumi.yaml, Pulumi.<stack>.yaml, .pulumi-state/. */
    readonly root: string;
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly homeDir: string;
    readonly readFile: (file: string) => string | undefined;
    readonly makeDir: (dir: string) => void;
    /** A workspace in `root`; rejects (e.g. no Pulumi CLI) with a message for the user. */
    readonly workspace: (settings: WorkspaceSettings) => Promise<DeployWorkspace>;
    /** Resolves when AWS credentials are found, rejects with why not. */
    readonly checkAwsCredentials: (region: string | undefined) => Promise<string>;
    /** Asks a yes/no question on the terminal. */
    readonly confirm: (question: string) => Promise<boolean>;
    readonly tty: boolean;
    readonly columns?: number;
    readonly write: (text: string) => void;
    readonly now?: () => number;
    /** Starts the terminal redraw / CI heartbeat timer; returns its stop. Default: setInterval. */
    readonly every?: (ms: number, tick: () => void) => () => void;
}

/** Platform and region the stack file sets (project defaults: eks, no region). */
export function stackFileFacts(text: string, file: string): { platform: string; region?: string } {
    let doc: unknown;
    try {
        doc = YAML.parse(text);
    } catch (err) {
        throw new UserError(`${file} is not valid YAML: ${(err as Error).message.split("\n")[0]}`, 2);
    }
    const config = (doc && typeof doc === "object" ? (doc as { config?: Record<string, unknown> }).config : undefined) ?? {};
    const platform = String(config["inference-platform:platform"] ?? config.platform ?? "eks");
    const region = config["aws:region"];
    return { platform, region: typeof region === "string" ? region : undefined };
}

/** Runs the flow; resolves to the exit code. User-facing failures are UserErrors (exit code on them). */
export async function runDeploy(options: DeployOptions, deps: DeployDeps): Promise<number> {
    const say = (line = "") => deps.write(`${line}\n`);
    const now = deps.now ?? Date.now;
    const stackFile = path.join(deps.root, `Pulumi.${options.stack.split("/").pop()}.yaml`);
    const stackText = deps.readFile(stackFile);
    if (stackText === undefined) {
        throw new UserError(`${path.basename(stackFile)} does not exist: a stack is created from its file (copy Pulumi.dev.yaml to start one)`, 2);
    }
    const facts = stackFileFacts(stackText, path.basename(stackFile));
    const action = options.destroy ? "destroy" : options.preview ? "preview" : "deploy";
    if (!options.yes && !options.preview && !deps.tty) {
        throw new UserError(`no terminal to confirm on: pass --yes to ${action} (or --preview to only look)`, 2);
    }
    say(`${action}: stack ${options.stack} from ${path.basename(stackFile)} (platform ${facts.platform}${facts.region ? `, region ${facts.region}` : ""})`);

    const probe = await deps.workspace({}).catch((err) => {
        throw new UserError(setupMessage(err), 2);
    });
    const backend: Backend = await chooseBackend({
        env: deps.env,
        homeDir: deps.homeDir,
        root: deps.root,
        readFile: deps.readFile,
        whoAmI: () => probe.whoAmI(),
    }).catch((err) => {
        throw new UserError((err as Error).message, 2);
    });
    say(`backend: ${backend.description}`);
    if (backend.kind === "local") {
        const problem = passphraseProblem(deps.env);
        if (problem) throw new UserError(problem, 2);
        deps.makeDir(path.join(deps.root, localStateDir));
    }
    if (facts.platform === "eks") {
        const source = await deps.checkAwsCredentials(facts.region).catch((err) => {
            throw new UserError(`no usable AWS credentials: ${(err as Error).message} (set AWS_PROFILE, run \`aws configure\` or \`aws sso login\`, or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)`, 2);
        });
        say(`AWS credentials: ${source}`);
    }

    const workspace = backend.kind === "local" ? await deps.workspace({ backendUrl: backend.url, secretsProvider: "passphrase" }) : probe;
    const stackNames = (await workspace.listStacks()).map((s) => s.name);
    const exists = stackNames.some((n) => n === options.stack || n.split("/").pop() === options.stack);
    let stack: DeployStack;
    if (exists) {
        stack = await workspace.selectStack(options.stack);
        say(`stack ${options.stack}: selected`);
    } else if (options.destroy) {
        throw new UserError(`stack ${options.stack} does not exist on ${backend.url ?? "this backend"}: nothing to destroy`, 2);
    } else {
        stack = await workspace.createStack(options.stack);
        say(`stack ${options.stack}: created from ${path.basename(stackFile)}${backend.kind === "local" ? " (secrets encrypted with PULUMI_CONFIG_PASSPHRASE)" : ""}`);
    }

    const run = async <T>(operation: "preview" | "update" | "destroy", plannedSteps: number | undefined, go: (onEvent: (e: EngineEvent) => void) => Promise<T>) => {
        const progress = new DeployProgress({ operation, plannedSteps, tty: deps.tty, columns: deps.columns, write: deps.write, now });
        const stop = (deps.every ?? defaultEvery)(deps.tty ? 250 : 10_000, () => progress.tick());
        const started = now();
        try {
            const result = await go((e) => progress.onEvent(e));
            return { result, progress, elapsed: now() - started };
        } catch (err) {
            progress.finish();
            const reported = progress.errors.length > 0 ? `\n  ${progress.errors.join("\n  ")}` : "";
            throw new UserError(`${operation} failed after ${formatElapsed(now() - started)}: ${automationErrorSummary(err)}${reported}`, 1);
        } finally {
            stop();
            progress.finish();
        }
    };

    if (options.destroy) {
        if (!options.yes && !(await deps.confirm(`Delete every resource of stack ${options.stack} (${backend.url ?? "backend"})? The model bucket is kept unless the stack is ephemeral.`))) {
            say("destroy: declined, nothing changed");
            return 1;
        }
        const { result, elapsed } = await run("destroy", undefined, (onEvent) => stack.destroy({ onEvent }));
        say(`destroyed in ${formatElapsed(elapsed)}: ${describeChanges(result.summary.resourceChanges, "done")}`);
        say(`The stack itself stays (empty); remove it with ${backend.kind === "local" ? `PULUMI_BACKEND_URL=${backend.url} ` : ""}pulumi stack rm ${options.stack}.`);
        return 0;
    }

    let planned: number | undefined;
    if (!options.skipPreview) {
        const { result } = await run("preview", undefined, (onEvent) => stack.preview({ onEvent }));
        planned = changingSteps(result.changeSummary);
        say(`preview: ${describeChanges(result.changeSummary, "planned")}`);
        if (options.preview) return 0;
        if (planned === 0) {
            say("nothing to change");
        } else if (!options.yes && !(await deps.confirm(`Deploy these changes to stack ${options.stack}?`))) {
            say("deploy: declined, nothing changed");
            return 1;
        }
    }
    const { result, elapsed } = await run("update", planned, (onEvent) => stack.up({ onEvent }));
    say(`deployed in ${formatElapsed(elapsed)}: ${describeChanges(result.summary.resourceChanges, "done")}`);
    say();
    for (const line of renderDeployOutputs(await stack.outputs(), { stack: options.stack, localBackendUrl: backend.kind === "local" ? backend.url : undefined })) say(line);
    return 0;
}

function defaultEvery(ms: number, tick: () => void): () => void {
    const timer = setInterval(tick, ms);
    timer.unref();
    return () => clearInterval(timer);
}

/** Why the Automation API could not start, for the user. */
export function setupMessage(err: unknown): string {
    const summary = automationErrorSummary(err);
    if (/not installed|ENOENT|Failed to run|could not find pulumi/i.test(summary)) {
        return "the Pulumi CLI is not installed or not on PATH: install it (https://www.pulumi.com/docs/install/), then run this again";
    }
    return `the Pulumi CLI could not start: ${summary}`;
}
