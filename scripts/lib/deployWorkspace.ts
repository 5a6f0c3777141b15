/**
 * The real `DeployWorkspace` (scripts/lib/deploy.ts): the Automation API's LocalWorkspace in the
 * repository root, i.e. the Pulumi CLI running index.ts (Pulumi.yaml's program) exactly as
 * `pulumi up` does. Loaded only by scripts/deploy.ts, so the flow's tests need no CLI.
 */
import type { DeployStack, DeployWorkspace, WorkspaceSettings } from "./deploy";

export async function automationWorkspace(root: string, settings: WorkspaceSettings): Promise<DeployWorkspace> {
    const { LocalWorkspace, Stack } = await import("@pulumi/pulumi/automation");
    const workspace = await LocalWorkspace.create({
        workDir: root,
        // Only for the project's file backend: otherwise the CLI's own login decides.
        envVars: settings.backendUrl ? { PULUMI_BACKEND_URL: settings.backendUrl } : {},
        secretsProvider: settings.secretsProvider,
    });
    const wrap = (stack: Awaited<ReturnType<typeof Stack.select>>): DeployStack => ({
        preview: ({ onEvent }) => stack.preview({ onEvent, color: "never" }),
        up: ({ onEvent }) => stack.up({ onEvent, color: "never" }),
        destroy: ({ onEvent }) => stack.destroy({ onEvent, color: "never" }),
        outputs: () => stack.outputs(),
    });
    return {
        whoAmI: () => workspace.whoAmI(),
        listStacks: () => workspace.listStacks(),
        createStack: async (name) => wrap(await Stack.create(name, workspace)),
        selectStack: async (name) => wrap(await Stack.select(name, workspace)),
    };
}

/**
 * Resolves AWS credentials the way the AWS provider will (environment, shared config and SSO
 * profiles, web identity, container and instance metadata); returns where they came from, without
 * the secret.
 */
export async function resolveAwsCredentials(region: string | undefined): Promise<string> {
    const { EC2Client } = await import("@aws-sdk/client-ec2");
    const client = new EC2Client({ region: region ?? "us-east-1" });
    try {
        const credentials = await client.config.credentials();
        const id = credentials.accessKeyId;
        const profile = process.env.AWS_PROFILE ? `profile ${process.env.AWS_PROFILE}, ` : "";
        return `${profile}access key …${id.slice(-4)}${credentials.sessionToken ? " (temporary)" : ""}`;
    } finally {
        client.destroy();
    }
}
