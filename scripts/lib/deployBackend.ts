/**
 * Which Pulumi backend `npm run deploy` uses: the one the user is logged in to, or, on a machine
 * that has never logged in, a file backend inside the project (`.pulumi-state/`, git-ignored), so a
 * first deploy needs no account. Signs of a login, in order: `PULUMI_BACKEND_URL`, the current
 * account in `~/.pulumi/credentials.json` (`$PULUMI_HOME`), a working `pulumi whoami` (e.g. with
 * `PULUMI_ACCESS_TOKEN`). A login that exists but fails is an error, never a silent fallback: the
 * stack's state would otherwise split between two backends.
 */
import * as path from "node:path";

export interface Backend {
    /** `env`: PULUMI_BACKEND_URL; `login`: credentials.json or whoami; `local`: the project's file backend. */
    readonly kind: "env" | "login" | "local";
    /** Backend URL when known (`https://api.pulumi.com`, `s3://...`, `file://...`). */
    readonly url?: string;
    /** The identity `pulumi whoami` reports. */
    readonly user?: string;
    /** One line for the user: which backend and why. */
    readonly description: string;
}

export interface BackendProbe {
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly homeDir: string;
    /** The repository root (where `.pulumi-state/` goes). */
    readonly root: string;
    /** Reads a file, or undefined when it does not exist. */
    readonly readFile: (file: string) => string | undefined;
    /** `pulumi whoami` with the environment as is; rejects when not logged in. */
    readonly whoAmI: () => Promise<{ user: string; url?: string }>;
}

/** The directory of the project's file backend. */
export const localStateDir = ".pulumi-state";

/** The current account of `credentials.json`, if any (`{ "current": "https://api.pulumi.com", ... }`). */
export function currentLogin(probe: Pick<BackendProbe, "env" | "homeDir" | "readFile">): string | undefined {
    const home = probe.env.PULUMI_HOME || path.join(probe.homeDir, ".pulumi");
    const text = probe.readFile(path.join(home, "credentials.json"));
    if (!text) return undefined;
    try {
        const current = (JSON.parse(text) as { current?: unknown }).current;
        return typeof current === "string" && current !== "" ? current : undefined;
    } catch {
        return undefined;
    }
}

const firstLine = (err: unknown) => String((err as Error)?.message ?? err).trim().split("\n").find((l) => l.trim() !== "") ?? "unknown error";

export async function chooseBackend(probe: BackendProbe): Promise<Backend> {
    const explicit = probe.env.PULUMI_BACKEND_URL;
    if (explicit) {
        const who = await probe.whoAmI().catch((err) => {
            throw new Error(`PULUMI_BACKEND_URL is ${explicit}, but \`pulumi whoami\` fails there: ${firstLine(err)}`);
        });
        return { kind: "env", url: explicit, user: who.user, description: `${explicit} (from PULUMI_BACKEND_URL) as ${who.user}` };
    }
    const login = currentLogin(probe);
    if (login) {
        const who = await probe.whoAmI().catch((err) => {
            throw new Error(`you are logged in to ${login} (~/.pulumi/credentials.json), but \`pulumi whoami\` fails: ${firstLine(err)}; run \`pulumi login\` again, or \`pulumi logout\` to deploy with the project's local state`);
        });
        return { kind: "login", url: who.url ?? login, user: who.user, description: `${who.url ?? login} (logged in) as ${who.user}` };
    }
    const who = await probe.whoAmI().then(
        (w) => w,
        () => undefined,
    );
    if (who) return { kind: "login", url: who.url, user: who.user, description: `${who.url ?? "the Pulumi backend"} as ${who.user} (\`pulumi whoami\`)` };
    const url = `file://${path.join(probe.root, localStateDir)}`;
    return {
        kind: "local",
        url,
        description: `${url} (no Pulumi login found: local state in this checkout, git-ignored; \`pulumi login\` first to keep state in Pulumi Cloud or a bucket instead)`,
    };
}

/**
 * The local backend encrypts the stack's secrets with a passphrase, which the Pulumi CLI reads from
 * PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (it cannot prompt under the Automation
 * API). Returns the problem, or undefined when one is set (an empty passphrase is a valid choice).
 */
export function passphraseProblem(env: Readonly<Record<string, string | undefined>>): string | undefined {
    if (env.PULUMI_CONFIG_PASSPHRASE !== undefined || env.PULUMI_CONFIG_PASSPHRASE_FILE) return undefined;
    return [
        "the local backend encrypts this stack's secrets (e.g. the kubeconfig output) with a passphrase: set PULUMI_CONFIG_PASSPHRASE",
        "(or PULUMI_CONFIG_PASSPHRASE_FILE) and keep it: every later deploy, preview and destroy of this stack needs the same one.",
        "Example: export PULUMI_CONFIG_PASSPHRASE=\"$(openssl rand -base64 24)\" and store it in your password manager;",
        "PULUMI_CONFIG_PASSPHRASE= (empty) is allowed for a throwaway stack.",
    ].join("\n  ");
}
