/**
 * `npm run e2e`: ephemeral end-to-end test of the whole platform through the Pulumi Automation API.
 * What it does, how leftovers are found (tags), and the flags: scripts/lib/e2e.ts and `--help`.
 * Needs the Pulumi CLI (logged in), AWS credentials for the eks platform, and the AWS CLI for
 * `aws eks get-token` (the stack's kubeconfig runs it).
 */
import { readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { UserError } from "./lib/http";
import { automationErrorSummary } from "./lib/stackOutputs";
import { e2eStackName, e2eStackSettings, exitCodeOf, e2eUsage, E2eStack, parseE2eArgs, runE2e, StackSettingsLike, verifyPlatform } from "./lib/e2e";
import { describeStack, findLeftovers, stackIdentity, waitForNoLeftovers } from "./lib/leftovers";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";

async function projectName(workDir: string): Promise<string> {
    const text = await readFile(path.join(workDir, "Pulumi.yaml"), "utf8").catch(() => {
        throw new UserError(`no Pulumi.yaml in ${workDir} (run from the project directory or pass --work-dir)`);
    });
    const name = (parseYaml(text) as { name?: unknown })?.name;
    if (typeof name !== "string") throw new UserError("Pulumi.yaml has no project name");
    return name;
}

async function readSettingsFile(workDir: string, stack: string): Promise<StackSettingsLike> {
    const file = path.join(workDir, `Pulumi.${stack}.yaml`);
    const text = await readFile(file, "utf8").catch(() => {
        throw new UserError(`base stack config ${file} does not exist (pass --base-stack)`);
    });
    return (parseYaml(text) ?? {}) as StackSettingsLike;
}

async function main(): Promise<number> {
    const options = parseE2eArgs(process.argv.slice(2), process.cwd());
    if (options.help) {
        console.log(e2eUsage);
        return 0;
    }
    const workDir = path.resolve(options.workDir);
    const project = await projectName(workDir);
    const base = await readSettingsFile(workDir, options.baseStack);
    const stackName = options.stackName ?? e2eStackName(new Date());
    const expiresAt = new Date(Date.now() + options.ttlHours * 3_600_000);
    const log = (line: string) => console.error(`e2e: ${line}`);

    if (options.writeConfigOnly) {
        // For CI (the per-PR stack): the file exists before `pulumi stack init`, which keeps it.
        const { settings, secureKeys } = e2eStackSettings(base, {}, { project, stackName, expiresAt });
        if (secureKeys.length > 0) {
            throw new UserError(`base stack ${options.baseStack} has secrets (${secureKeys.join(", ")}), which cannot be copied as ciphertext: run the full e2e (Automation API) or set them on ${stackName} yourself`);
        }
        await writeFile(path.join(workDir, `Pulumi.${stackName}.yaml`), stringifyYaml(settings));
        log(`wrote Pulumi.${stackName}.yaml (from ${options.baseStack}, ephemeral, expires ${expiresAt.toISOString()})`);
        return 0;
    }

    const kubeconfigText = options.kubeconfig ? await readFile(options.kubeconfig, "utf8").catch(() => {
        throw new UserError(`--kubeconfig ${options.kubeconfig} cannot be read`);
    }) : undefined;
    const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
    const dexUser = process.env.DEX_USER;
    const dexPassword = process.env.DEX_PASSWORD;

    // The leftovers check needs what the stack's AWS resources are tagged with (./lib/leftovers.ts).
    const baseConfig = (base.config ?? {}) as Record<string, unknown>;
    const onEks = (baseConfig[`${project}:platform`] ?? "eks") === "eks";
    const region = typeof baseConfig["aws:region"] === "string" ? (baseConfig["aws:region"] as string) : undefined;
    const profile = typeof baseConfig["aws:profile"] === "string" ? (baseConfig["aws:profile"] as string) : undefined;
    const clusterName = typeof baseConfig[`${project}:clusterName`] === "string" && baseConfig[`${project}:clusterName`] !== "" ? (baseConfig[`${project}:clusterName`] as string) : `${project}-${stackName}`;
    const identity = stackIdentity({ project, stackName, clusterName, expiresAt: expiresAt.toISOString() });

    const result = await runE2e({ stackName, keep: options.keep }, {
        findLeftovers:
            onEks && region
                ? () =>
                      waitForNoLeftovers(async () => findLeftovers(await describeStack(identity, { region, profile }), identity), {
                          timeoutMs: 300_000,
                          intervalMs: 30_000,
                          log,
                      })
                : undefined,
        signals: process,
        log,
        output: (text) => process.stderr.write(text),
        createStack: async (name) => {
            try {
                return (await LocalWorkspace.createStack({ stackName: name, workDir })) as unknown as E2eStack;
            } catch (err) {
                throw new UserError(`could not create stack ${name}: ${automationErrorSummary(err)}`);
            }
        },
        configure: async (s) => {
            const stack = s as unknown as import("@pulumi/pulumi/automation").Stack;
            const ws = stack.workspace;
            const created = (await ws.stackSettings(stack.name).catch(() => ({}))) as StackSettingsLike;
            const { settings, secureKeys } = e2eStackSettings(base, created, { project, stackName: stack.name, expiresAt });
            await ws.saveStackSettings(stack.name, settings as never);
            for (const key of secureKeys) {
                // Secrets are encrypted per stack: decrypt from the base stack, re-encrypt for this one.
                const value = await ws.getConfig(options.baseStack, key);
                await stack.setConfig(key, { value: value.value, secret: true });
            }
            const tags: Record<string, string> = { purpose: "e2e", "expires-at": expiresAt.toISOString(), "ttl-hours": String(options.ttlHours) };
            for (const [key, value] of Object.entries(tags)) {
                await stack.setTag(key, value).catch((err: Error) => log(`warning: stack tag ${key} not set (${err.message.split("\n")[0]}); the AWS resource tags still mark it`));
            }
            log(`config from ${options.baseStack} + ephemeral: true; expires ${expiresAt.toISOString()}`);
        },
        verify: (outputs, signal) =>
            verifyPlatform(outputs, {
                workDir,
                imageUrl: options.imageUrl,
                readyTimeoutMs: options.readyTimeoutMs,
                kubeconfigText,
                token: process.env.INFERENCE_TOKEN,
                dex: dexUser && dexPassword ? { user: dexUser, password: dexPassword } : undefined,
                log,
            }, signal),
    });
    for (const line of result.report) console.log(line);
    console.log(`e2e passed on stack ${result.stackName}${result.kept ? " (kept)" : " (destroyed and removed)"}`);
    return 0;
}

main().then(
    (code) => {
        process.exitCode = code;
    },
    (err: unknown) => {
        // UserErrors and Automation API CommandErrors (pulumi up failed; the message carries the CLI
        // output) are printed without a stack trace; anything else is a bug and keeps its stack.
        const text = err instanceof UserError ? err.message
            : err instanceof Error && "commandResult" in err ? automationErrorSummary(err)
            : err instanceof Error ? err.stack : String(err);
        console.error(`e2e: FAILED: ${text}`);
        process.exitCode = exitCodeOf(err);
    },
);
