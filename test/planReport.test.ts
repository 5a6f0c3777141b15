/**
 * The pull request's plan report (scripts/lib/planReport.ts) and the sticky comment it is posted in
 * (scripts/lib/stickyComment.ts, against a GitHub API stand-in on loopback).
 */
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { snapshotOf } from "../scripts/lib/planDiff";
import { maxReportLength, planCommentMarker, renderPlanReport, summarySection } from "../scripts/lib/planReport";
import { ResourceRow } from "../scripts/lib/planSummary";
import { upsertStickyComment } from "../scripts/lib/stickyComment";

const cluster = (version: string): ResourceRow => ({
    urn: "urn:pulumi:dev::p::eks:index:Cluster::cluster-eks",
    type: "eks:index:Cluster",
    name: "cluster-eks",
    inputs: { name: "c", version, publicAccessCidrs: ["0.0.0.0/0"] },
});
const snapshot = (version: string, extra: ResourceRow[] = []) => snapshotOf({ project: "p", stack: "dev", region: "us-east-2", resources: [cluster(version), ...extra] }, "");
const planMd = "# Plan\n\nintro\n\n## Summary\n\n| infrastructure | |\n| EKS cluster | Kubernetes **1.35** |\n\n## Stack outputs\n\n| a | b |\n";

describe("plan report", () => {
    it("takes plan.md's summary section", () => {
        expect(summarySection(planMd)).toBe("| infrastructure | |\n| EKS cluster | Kubernetes **1.35** |");
        expect(summarySection("# no summary")).toBeUndefined();
    });

    it("per stack: the diff against the base branch, then this branch's summary, under the marker", () => {
        const report = renderPlanReport(
            [
                { stack: "dev", head: { snapshot: snapshot("1.35"), planMd }, base: snapshot("1.34") },
                { stack: "local", head: { snapshot: snapshot("1.35"), planMd }, base: { error: "no resources.json" } },
            ],
            { baseRef: "abc1234", runUrl: "https://example.com/run/1" },
        );
        expect(report.startsWith(`${planCommentMarker}\n`)).toBe(true);
        expect(report).toContain("compared with the base branch (`abc1234`)");
        expect(report).toContain("[CI run](https://example.com/run/1)");
        const dev = report.slice(report.indexOf("### dev"), report.indexOf("### local"));
        expect(dev).toContain("#### Changes against the base branch");
        expect(dev).toContain("- Kubernetes version: `1.34` → `1.35`");
        expect(dev).toContain("<summary>Infrastructure summary (this branch)</summary>\n\n| infrastructure | |");
        expect(report.slice(report.indexOf("### local"))).toContain("No diff: the base branch's synth is not available (no resources.json).");
    });

    it("says when this branch's synth failed", () => {
        expect(renderPlanReport([{ stack: "dev", head: { error: "boom" }, base: snapshot("1.34") }])).toContain("This branch's synth failed: boom");
    });

    it("stays under GitHub's comment limit, however large the change", () => {
        const many: ResourceRow[] = Array.from({ length: 3000 }, (_, i) => ({ urn: `urn:pulumi:dev::p::aws:ec2/eip:Eip::eip-with-a-long-name-${i}`, type: "aws:ec2/eip:Eip", name: `eip-with-a-long-name-${i}`, inputs: {} }));
        const report = renderPlanReport([{ stack: "dev", head: { snapshot: snapshot("1.35", many), planMd }, base: snapshot("1.34") }]);
        expect(report.length).toBeLessThanOrEqual(maxReportLength);
        expect(report).toContain("**Resources added (3000)**");
    });
});

describe("sticky comment (GitHub REST API stand-in on loopback)", () => {
    interface Comment { id: number; body: string; user: { type: string } }
    let comments: Comment[] = [];
    const requests: { method: string; url: string; body?: any; auth?: string }[] = [];
    let failWith: number | undefined;
    const server = http.createServer((req, res) => {
        let data = "";
        req.on("data", (d) => (data += d));
        req.on("end", () => {
            const body = data ? JSON.parse(data) : undefined;
            requests.push({ method: req.method!, url: req.url!, body, auth: req.headers.authorization });
            const send = (status: number, payload: unknown) => {
                res.writeHead(status, { "content-type": "application/json" });
                res.end(JSON.stringify(payload));
            };
            if (failWith) return send(failWith, { message: "Resource not accessible by integration" });
            const url = new URL(req.url!, "http://x");
            let m: RegExpExecArray | null;
            if (req.method === "GET" && (m = /^\/repos\/o\/r\/issues\/7\/comments$/.exec(url.pathname))) {
                const page = Number(url.searchParams.get("page"));
                const per = Number(url.searchParams.get("per_page"));
                return send(200, comments.slice((page - 1) * per, page * per));
            }
            if (req.method === "POST" && /^\/repos\/o\/r\/issues\/7\/comments$/.test(url.pathname)) {
                const c = { id: 1000 + comments.length, body: body.body, user: { type: "Bot" } };
                comments.push(c);
                return send(201, c);
            }
            if (req.method === "PATCH" && (m = /^\/repos\/o\/r\/issues\/comments\/(\d+)$/.exec(url.pathname))) {
                const c = comments.find((x) => x.id === Number(m![1]));
                if (!c) return send(404, {});
                c.body = body.body;
                return send(200, c);
            }
            send(404, { message: "not found" });
        });
    });
    let apiUrl = "";
    beforeAll(async () => {
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));
    const upsert = (body: string) => upsertStickyComment({ apiUrl, repository: "o/r", issueNumber: 7, token: "t0k", marker: planCommentMarker, body });

    it("creates the comment once, then edits it in place", async () => {
        comments = [{ id: 1, body: `a person quoting ${planCommentMarker}`, user: { type: "User" } }];
        expect(await upsert(`${planCommentMarker}\nfirst`)).toEqual({ action: "created", id: 1001 });
        expect(await upsert(`${planCommentMarker}\nsecond`)).toEqual({ action: "updated", id: 1001 });
        expect(comments.map((c) => c.body)).toEqual([`a person quoting ${planCommentMarker}`, `${planCommentMarker}\nsecond`]);
        expect(requests.every((r) => r.auth === "Bearer t0k")).toBe(true);
    });

    it("finds its comment past the first page, and adds the marker when the body lacks it", async () => {
        comments = Array.from({ length: 150 }, (_, i) => ({ id: i + 1, body: `comment ${i}`, user: { type: "User" } }));
        comments[120] = { id: 121, body: `${planCommentMarker}\nold`, user: { type: "Bot" } };
        expect(await upsert("no marker here")).toEqual({ action: "updated", id: 121 });
        expect(comments[120].body).toBe(`${planCommentMarker}\nno marker here`);
        expect(comments).toHaveLength(150);
    });

    it("fails with GitHub's status and message (e.g. a fork's read-only token)", async () => {
        failWith = 403;
        try {
            await expect(upsert("x")).rejects.toThrow(/GitHub API GET \/repos\/o\/r\/issues\/7\/comments\?per_page=100&page=1: HTTP 403: .*Resource not accessible by integration/);
        } finally {
            failWith = undefined;
        }
    });

    it("rejects bad arguments before calling anything", async () => {
        const before = requests.length;
        await expect(upsertStickyComment({ apiUrl, repository: "not a repo", issueNumber: 7, token: "t", marker: "m", body: "b" })).rejects.toThrow(/not owner\/name/);
        await expect(upsertStickyComment({ apiUrl, repository: "o/r", issueNumber: 0, token: "t", marker: "m", body: "b" })).rejects.toThrow(/positive integer/);
        expect(requests.length).toBe(before);
    });
});
