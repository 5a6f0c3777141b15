/**
 * `npm run deploy -- --stack dev`: deploys a stack with the Pulumi CLI's engine through the Automation
 * API, on the logged-in backend or a local one. `npm run deploy -- --help` describes the flow;
 * scripts/lib/deploy.ts implements it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline/promises";
import { deployUsage, parseDeployArgs, runDeploy } from "./lib/deploy";
import { automationWorkspace, resolveAwsCredentials } from "./lib/deployWorkspace";
import { runCommand } from "./lib/http";

const root = path.resolve(__dirname, "..");

async function main(): Promise<number> {
    const options = parseDeployArgs(process.argv.slice(2));
    if (options.help) {
        console.log(deployUsage);
        return 0;
    }
    process.once("SIGINT", () => {
        process.stderr.write("\ndeploy: interrupted; the Pulumi CLI is cancelling the operation gracefully, wait for it (a second Ctrl-C can leave the stack locked)\n");
    });
    return runDeploy(options, {
        root,
        env: process.env,
        homeDir: os.homedir(),
        readFile: (file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined),
        makeDir: (dir) => fs.mkdirSync(dir, { recursive: true }),
        workspace: (settings) => automationWorkspace(root, settings),
        checkAwsCredentials: resolveAwsCredentials,
        confirm: async (question) => {
            const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
            try {
                return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
            } finally {
                rl.close();
            }
        },
        tty: Boolean(process.stdout.isTTY) && !process.env.CI,
        columns: process.stdout.columns,
        write: (text) => process.stdout.write(text),
    });
}

runCommand("deploy", main);
