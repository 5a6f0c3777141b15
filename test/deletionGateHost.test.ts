/**
 * The deletion gate's provider as Pulumi really runs it: serialized by Pulumi from the running
 * program (in a process of its own, test/fixtures/deletion-gate-host/program.ts; test workers skip
 * serialization, test/functionSerialization.ts), loaded back the way Pulumi's dynamic-provider host
 * loads it, and driven through create, diff, update and delete, the delete against an EC2 endpoint on
 * loopback. A provider that captures something serialization cannot carry, or that needs a module the
 * project does not install, fails here rather than in a user's `pulumi destroy`.
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type QueryApiStub, startQueryApiStub } from "./awsQueryStub";

const repo = path.resolve(__dirname, "..");

interface HostRun {
    textBytes: number;
    requires: string[];
    methods: string[];
    created: { id: unknown; outs: Record<string, unknown> };
    diff: { changes?: boolean; replaces?: string[] };
    updatedOuts: Record<string, unknown>;
    deleteMs: number;
}

describe("the deletion gate's provider, serialized by Pulumi and run as its dynamic-provider host runs it", () => {
    // EC2's query API (DescribeAddresses, API version 2016-11-15): the address is still associated on
    // the first call and free on the second, as when the load balancer's interface goes away.
    let ec2: QueryApiStub;
    let run: HostRun;
    const describeCalls = () => ec2.requests.filter((r) => r.params.Action === "DescribeAddresses");

    beforeAll(async () => {
        ec2 = await startQueryApiStub(({ params }) => {
            if (params.Action !== "DescribeAddresses") throw new Error(`unexpected action ${params.Action}`);
            const association = describeCalls().length === 1 ? "<associationId>eipassoc-1</associationId><networkInterfaceId>eni-nlb</networkInterfaceId>" : "";
            return `<DescribeAddressesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-${describeCalls().length}</requestId><addressesSet><item><publicIp>203.0.113.10</publicIp><allocationId>eipalloc-0a</allocationId><domain>vpc</domain>${association}</item></addressesSet></DescribeAddressesResponse>`;
        });
        const env: NodeJS.ProcessEnv = {
            ...process.env,
            // The AWS SDK's service-specific endpoint variable (AWS SDK for JavaScript v3,
            // @smithy/core getEndpointUrlConfig: AWS_ENDPOINT_URL_<SERVICE ID>), and credentials
            // that come from nowhere but here.
            AWS_ENDPOINT_URL_EC2: ec2.endpoint,
            AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
            AWS_SECRET_ACCESS_KEY: "example",
            AWS_CONFIG_FILE: path.join(repo, "no-such-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE: path.join(repo, "no-such-aws-credentials"),
            AWS_EC2_METADATA_DISABLED: "true",
        };
        delete env.AWS_PROFILE;
        delete env.AWS_SESSION_TOKEN;
        const tsx = createRequire(__filename).resolve("tsx");
        // The host resolves the provider's requires from its working directory: the project's.
        const { stdout } = await promisify(execFile)(process.execPath, ["--import", tsx, path.join(__dirname, "fixtures", "deletion-gate-host", "program.ts")], { cwd: repo, env, encoding: "utf8", timeout: 60_000 });
        run = JSON.parse(stdout.trim().split("\n").pop()!) as HostRun;
    }, 90_000);
    afterAll(() => ec2.close());

    it("is a module with the provider's methods, needing only packages this project installs", () => {
        expect(run.textBytes).toBeGreaterThan(0);
        expect(run.methods).toEqual(expect.arrayContaining(["create", "delete", "diff", "update"]));
        expect(run.requires).toContain("@aws-sdk/client-ec2");
        for (const name of run.requires) {
            // As the host would: from the project's directory.
            expect(() => createRequire(path.join(repo, "package.json")).resolve(name), name).not.toThrow();
        }
    });

    it("create stores the gate's inputs as its state; diff never replaces it; update keeps the newest inputs", () => {
        expect(typeof run.created.id === "string" && run.created.id.length > 0).toBe(true);
        expect(run.created.outs).toMatchObject({ region: "us-east-2", condition: { kind: "addresses-disassociated", allocationIds: ["eipalloc-0a"] }, timeoutSeconds: 30, intervalSeconds: 1 });
        expect(run.diff.changes).toBe(false);
        expect(run.diff.replaces ?? []).toEqual([]);
        expect(run.updatedOuts).toMatchObject({ timeoutSeconds: 60 });
    });

    it("delete asks EC2 about exactly the gate's addresses, in the stack's region, until none is associated", () => {
        expect(ec2.requests).toHaveLength(2);
        for (const call of describeCalls()) {
            expect(call.params).toMatchObject({ Action: "DescribeAddresses", "AllocationId.1": "eipalloc-0a" });
            expect(call.params["AllocationId.2"]).toBeUndefined();
            // SigV4's credential scope names the region and service the request was signed for.
            expect(call.headers.authorization).toMatch(/Credential=AKIDEXAMPLE\/\d{8}\/us-east-2\/ec2\/aws4_request/);
        }
        // It waited one interval (1 s) between the two answers.
        expect(run.deleteMs).toBeGreaterThanOrEqual(900);
    });
});
