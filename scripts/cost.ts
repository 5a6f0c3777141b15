/**
 * `npm run cost -- --stack <name> [--json] [--spot-discount 0.6] [--extended-support]
 *                 [--nlb-lcu-peak N] [--set key=value ...]`
 *
 * Prints the idle and peak $/hour of a stack from Pulumi.yaml's defaults and Pulumi.<stack>.yaml,
 * without AWS or the Pulumi CLI. `--set` overrides a config key for a what-if (e.g.
 * `--set cpuCapacityType=SPOT`); list values take JSON (`--set 'cpuInstanceTypes=["t3.large"]'`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import YAML from "yaml";
import { ConfigError, loadConfig } from "../config";
import { CostEstimate, CostOptions, estimateCost, formatCostTable, PriceLookupError, rawConfigFromStackFile } from "../cost/estimate";

const root = path.resolve(__dirname, "..");

/** Project-level values of Pulumi.yaml's `config:` block (a `default`, a `value`, or a plain scalar). */
export function projectDefaults(pulumiYaml: any): Record<string, unknown> {
    const project: string = pulumiYaml?.name;
    const out: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries<any>(pulumiYaml?.config ?? {})) {
        const full = key.includes(":") ? key : `${project}:${key}`;
        if (spec !== null && typeof spec === "object" && !Array.isArray(spec)) {
            if ("value" in spec) out[full] = spec.value;
            else if ("default" in spec) out[full] = spec.default;
        } else {
            out[full] = spec;
        }
    }
    return out;
}

/** Loads and validates a stack's config from the files in `dir`; throws with a clear message. */
export function stackCostInput(dir: string, stack: string, overrides: Record<string, string> = {}) {
    const pulumiYamlPath = path.join(dir, "Pulumi.yaml");
    const stackPath = path.join(dir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(stackPath)) throw new Error(`${path.relative(process.cwd(), stackPath) || stackPath} does not exist (create the stack, or pass another --stack)`);
    const pulumiYaml = YAML.parse(fs.readFileSync(pulumiYamlPath, "utf8"));
    const project: string = pulumiYaml.name;
    const stackYaml = YAML.parse(fs.readFileSync(stackPath, "utf8")) ?? {};
    const raw = {
        ...rawConfigFromStackFile(projectDefaults(pulumiYaml), project),
        ...rawConfigFromStackFile(stackYaml.config, project),
        ...overrides,
    };
    return loadConfig({ get: (key) => raw[key] }, project, stack);
}

function main(argv: string[]): number {
    const { values } = parseArgs({
        args: argv,
        options: {
            stack: { type: "string", short: "s" },
            json: { type: "boolean", default: false },
            "spot-discount": { type: "string" },
            "extended-support": { type: "boolean", default: false },
            "nlb-lcu-peak": { type: "string" },
            set: { type: "string", multiple: true },
            help: { type: "boolean", short: "h", default: false },
        },
    });
    if (values.help || !values.stack) {
        console.error("usage: npm run cost -- --stack <name> [--json] [--spot-discount 0.6] [--extended-support] [--nlb-lcu-peak N] [--set key=value ...]");
        return values.help ? 0 : 2;
    }
    const overrides: Record<string, string> = {};
    for (const pair of values.set ?? []) {
        const eq = pair.indexOf("=");
        if (eq <= 0) throw new Error(`--set expects key=value, got '${pair}'`);
        overrides[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    const number = (flag: string, value: string | undefined) => {
        if (value === undefined) return undefined;
        const n = Number(value);
        if (!Number.isFinite(n)) throw new Error(`--${flag} expects a number, got '${value}'`);
        return n;
    };
    const peakLcu = number("nlb-lcu-peak", values["nlb-lcu-peak"]);
    const options: CostOptions = {
        spotDiscount: number("spot-discount", values["spot-discount"]),
        extendedSupport: values["extended-support"],
        nlbLcus: peakLcu === undefined ? undefined : { idle: 1, peak: peakLcu },
    };
    const config = stackCostInput(root, values.stack, overrides);
    const estimate: CostEstimate = estimateCost(config, options);
    console.log(values.json ? JSON.stringify(estimate, null, 2) : formatCostTable(estimate));
    return 0;
}

if (require.main === module) {
    try {
        process.exitCode = main(process.argv.slice(2));
    } catch (e) {
        // Bad config, unpriced items and bad flags get one clear line; programming errors a stack trace.
        const expected = e instanceof ConfigError || e instanceof PriceLookupError || (e instanceof Error && !(e instanceof TypeError || e instanceof ReferenceError));
        console.error(expected ? `cost: ${(e as Error).message}` : e);
        process.exitCode = 1;
    }
}
