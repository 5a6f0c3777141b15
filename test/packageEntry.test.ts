/**
 * The platform as another program uses it: a project of its own with this package in its
 * node_modules (a link to this checkout, as `npm install <path>` makes), importing it by name
 * (package.json `exports` -> lib.ts), building `InferencePlatform` from a few settings under Pulumi's
 * mocks in a separate process.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

const repo = path.resolve(__dirname, "..");

interface UserProgramResult {
    registered: { type: string; name: string }[];
    urls: Record<string, string>;
    rejected: string;
}

describe("InferencePlatform from the package entry", () => {
    let result: UserProgramResult;
    let types: string[];
    // In a hook rather than while collecting: vitest then counts the program's seconds as this file's
    // duration, and starts the file early in a run instead of last (it sorts files by that duration).
    beforeAll(async () => {
        const project = fs.mkdtempSync(path.join(os.tmpdir(), "user-project-"));
        try {
            fs.mkdirSync(path.join(project, "node_modules"));
            fs.symlinkSync(repo, path.join(project, "node_modules", "inference-platform"), "dir");
            // The user's own @pulumi/pulumi: the same copy the package resolves (one Pulumi runtime per process).
            fs.symlinkSync(path.join(repo, "node_modules", "@pulumi"), path.join(project, "node_modules", "@pulumi"), "dir");
            fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "someone-elses-project", private: true }));
            fs.copyFileSync(path.join(__dirname, "fixtures/user-program/index.ts"), path.join(project, "index.ts"));
            // tsx's loader in node itself, as `tsx index.ts` runs the program minus the CLI's own parent
            // process (0.3 s of CPU).
            const tsxLoader = pathToFileURL(require.resolve("tsx", { paths: [repo] })).href;
            const { stdout } = await promisify(execFile)(process.execPath, ["--import", tsxLoader, "index.ts"], { cwd: project, encoding: "utf8", timeout: 60_000 });
            result = JSON.parse(stdout.trim().split("\n").pop()!) as UserProgramResult;
            types = result.registered.map((r) => r.type);
        } finally {
            fs.rmSync(project, { recursive: true, force: true });
        }
    }, 90_000);

    it("builds the whole platform under one component, named by the user", () => {
        expect(result.registered[0]).toEqual({ type: "inference-platform:index:InferencePlatform", name: "ml" });
        for (const layer of ["inference-platform:local:KindFoundation", "inference-platform:platform:ServingPlatform", "inference-platform:models:ModelWorkloads"]) {
            expect(types, layer).toContain(layer);
        }
        expect(types.filter((t) => t === "kubernetes:helm.sh/v3:Release").length).toBeGreaterThan(5);
        expect(types.filter((t) => t.startsWith("aws:"))).toEqual([]);
    });

    it("derives every name from the user's component name", () => {
        const layers = result.registered.filter((r) => /Foundation|ServingPlatform|ModelWorkloads/.test(r.type));
        expect(layers.map((r) => r.name).sort()).toEqual(["ml-foundation", "ml-serving", "ml-workloads"]);
    });

    it("gives the user the model URLs", () => {
        expect(result.urls["sklearn-iris"]).toBe("http://sklearn-iris.models.127.0.0.1.sslip.io");
    });

    it("validates the settings the way the stack config is validated", () => {
        expect(result.rejected).toMatch(/exmaples: unknown key; did you mean examples\?/);
    });
});
