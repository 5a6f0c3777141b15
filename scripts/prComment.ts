/**
 * `npm run pr:comment -- --body-file plan/report.md [--marker '<!-- ... -->'] [--pr N]`
 *
 * Creates or updates (in place) this workflow's comment on the pull request: the one a bot wrote
 * whose body contains the marker (default: the plan report's). Reads GITHUB_TOKEN, GITHUB_REPOSITORY,
 * GITHUB_API_URL and, without --pr, the pull request number from GITHUB_EVENT_PATH (the
 * `pull_request` event payload), as GitHub Actions sets them.
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { planCommentMarker } from "./lib/planReport";
import { upsertStickyComment } from "./lib/stickyComment";

async function main(): Promise<number> {
    const { values } = parseArgs({ options: { "body-file": { type: "string" }, marker: { type: "string" }, pr: { type: "string" } } });
    const env = process.env;
    const missing = ["GITHUB_TOKEN", "GITHUB_REPOSITORY"].filter((k) => !env[k]);
    if (!values["body-file"]) missing.unshift("--body-file");
    let pr = values.pr ? Number(values.pr) : undefined;
    if (pr === undefined && env.GITHUB_EVENT_PATH) pr = JSON.parse(fs.readFileSync(env.GITHUB_EVENT_PATH, "utf8")).pull_request?.number;
    if (pr === undefined) missing.push("--pr (or a pull_request event in GITHUB_EVENT_PATH)");
    if (missing.length > 0) {
        console.error(`pr:comment: missing ${missing.join(", ")}`);
        return 2;
    }
    const result = await upsertStickyComment({
        apiUrl: env.GITHUB_API_URL ?? "https://api.github.com",
        repository: env.GITHUB_REPOSITORY!,
        issueNumber: pr!,
        token: env.GITHUB_TOKEN!,
        marker: values.marker ?? planCommentMarker,
        body: fs.readFileSync(values["body-file"]!, "utf8"),
    });
    console.log(`pr:comment: ${result.action} comment ${result.id} on #${pr}`);
    return 0;
}

main().then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
        console.error(`pr:comment: ${(err as Error).message}`);
        process.exitCode = 1;
    },
);
