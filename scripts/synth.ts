/**
 * Offline synth: `npm run synth -- --stack dev` runs index.ts under Pulumi's mock runtime with the
 * config of Pulumi.dev.yaml and writes out/dev/{resources.json,outputs.json,plan.md,k8s/*.yaml}.
 * No credentials, no Pulumi CLI. Deterministic output: diff it in pull requests.
 *
 * Options:
 *   --stack <name>        stack whose Pulumi.<name>.yaml to read (required unless --stack-file)
 *   --stack-file <path>   read config from this file instead (stack name from Pulumi.<name>.yaml or --stack)
 *   --out <dir>           output directory (default: out/<stack>)
 *   --diff <dir>          afterwards, print (stdout, Markdown) what changed against another synth's
 *                         out dir: summary facts (versions, sizes, CIDRs, cost), resources added or
 *                         removed, IAM statements added or removed, changed inputs by path
 *   --quiet               no progress lines
 *
 * Pulumi's per-promise stack traces are not captured (scripts/lib/promiseStacks.ts says why) unless
 * PULUMI_DEBUG_PROMISE_LEAKS is set, the variable that makes Pulumi print them; nor are the source
 * positions of resources, which only a real engine reads.
 *
 * Exit codes: 0 written; 2 invalid config (each problem on stderr) or bad arguments; 1 other failure.
 */
import { deferPulumiToolchain } from "./lib/deferRequires";
import { runSynthCommand } from "./lib/synthCommand";

// Before @pulumi/pulumi loads (the command imports it when it runs): scripts/lib/deferRequires.ts.
deferPulumiToolchain();
runSynthCommand(process.argv.slice(2), { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) }).then(
    (code) => process.exit(code),
    (err) => {
        process.stderr.write(`synth: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
    },
);
