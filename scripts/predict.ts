/**
 * `npm run predict -- MODEL --stack dev --input examples/iris-input.json`: calls a deployed model.
 * See `npm run predict -- --help` and scripts/lib/predict.ts.
 */
import { runCommand } from "./lib/http";
import { parsePredictArgs, predictUsage, runPredict } from "./lib/predict";

async function main(): Promise<number> {
    const options = parsePredictArgs(process.argv.slice(2), process.env, process.cwd());
    if (options.help) {
        console.log(predictUsage);
        return 0;
    }
    await runPredict(options, { stdout: (l) => console.log(l), stderr: (l) => console.error(l), write: (t) => process.stdout.write(t) });
    return 0;
}

runCommand("predict", main);
