/**
 * One pull-request comment that a workflow updates in place (a "sticky" comment): found by a
 * marker in its body among the comments bots wrote, edited when found, created otherwise. Plain
 * GitHub REST calls (issues comments API), so CI needs no third-party action, only the job's
 * `GITHUB_TOKEN` with `pull-requests: write`.
 */

export interface StickyCommentOptions {
    /** `https://api.github.com` (or `GITHUB_API_URL` on GitHub Enterprise). */
    readonly apiUrl: string;
    /** `owner/name`. */
    readonly repository: string;
    /** The pull request's number. */
    readonly issueNumber: number;
    readonly token: string;
    /** A string only this comment contains, e.g. an HTML comment. */
    readonly marker: string;
    readonly body: string;
    /** For tests. Default: global fetch. */
    readonly fetch?: typeof fetch;
}

interface IssueComment {
    readonly id: number;
    readonly body?: string;
    readonly user?: { readonly type?: string };
}

/** Creates or updates the comment; returns which and its id. */
export async function upsertStickyComment(options: StickyCommentOptions): Promise<{ action: "created" | "updated"; id: number }> {
    const { apiUrl, repository, issueNumber, token, marker } = options;
    if (!/^[\w.-]+\/[\w.-]+$/.test(repository)) throw new Error(`repository '${repository}' is not owner/name`);
    if (!Number.isInteger(issueNumber) || issueNumber <= 0) throw new Error(`pull request number '${issueNumber}' is not a positive integer`);
    if (!marker) throw new Error("the marker must not be empty");
    const doFetch = options.fetch ?? fetch;
    const body = options.body.includes(marker) ? options.body : `${marker}\n${options.body}`;
    const base = apiUrl.replace(/\/+$/, "");
    const call = async (method: string, url: string, payload?: unknown): Promise<any> => {
        const res = await doFetch(url, {
            method,
            headers: {
                accept: "application/vnd.github+json",
                authorization: `Bearer ${token}`,
                "x-github-api-version": "2022-11-28",
                ...(payload === undefined ? {} : { "content-type": "application/json" }),
            },
            body: payload === undefined ? undefined : JSON.stringify(payload),
        });
        if (!res.ok) {
            const text = await res.text().catch(() => "");
            throw new Error(`GitHub API ${method} ${url.replace(base, "")}: HTTP ${res.status}${text ? `: ${text.slice(0, 300)}` : ""}`);
        }
        return res.json();
    };

    let existing: IssueComment | undefined;
    for (let page = 1; !existing; page++) {
        const comments = (await call("GET", `${base}/repos/${repository}/issues/${issueNumber}/comments?per_page=100&page=${page}`)) as IssueComment[];
        if (!Array.isArray(comments)) throw new Error("GitHub API: the comments list is not an array");
        // Only a bot's comment: a person quoting the marker must not have their comment overwritten.
        existing = comments.find((c) => c.user?.type === "Bot" && c.body?.includes(marker));
        if (comments.length < 100) break;
    }
    if (existing) {
        await call("PATCH", `${base}/repos/${repository}/issues/comments/${existing.id}`, { body });
        return { action: "updated", id: existing.id };
    }
    const created = (await call("POST", `${base}/repos/${repository}/issues/${issueNumber}/comments`, { body })) as IssueComment;
    return { action: "created", id: created.id };
}
