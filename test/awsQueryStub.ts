/**
 * An AWS query-protocol endpoint on loopback, for tests that point the AWS SDK at it (EC2 and
 * Elastic Load Balancing speak this protocol: a form-encoded POST naming an `Action`, an XML answer).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface QueryRequest {
    /** The POSTed form's fields (`Action`, `Version`, the call's parameters). */
    readonly params: Record<string, string>;
    readonly headers: http.IncomingHttpHeaders;
}

export interface QueryApiStub {
    /** `http://127.0.0.1:<port>`, for the SDK's `endpoint` or `AWS_ENDPOINT_URL_<SERVICE>`. */
    readonly endpoint: string;
    /** Every request so far, in arrival order. */
    readonly requests: QueryRequest[];
    close(): Promise<void>;
}

/**
 * Starts the endpoint. `answer` gets each request (already in `requests`) and returns the XML body
 * of a 200; if it throws, the answer is a 400 with an AWS error document carrying its message.
 */
export async function startQueryApiStub(answer: (request: QueryRequest) => string): Promise<QueryApiStub> {
    const requests: QueryRequest[] = [];
    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (chunk) => (body += chunk));
        req.on("end", () => {
            const request = { params: Object.fromEntries(new URLSearchParams(body)), headers: req.headers };
            requests.push(request);
            try {
                res.writeHead(200, { "content-type": "text/xml" }).end(answer(request));
            } catch (err) {
                res.writeHead(400, { "content-type": "text/xml" }).end(`<Response><Errors><Error><Code>StubRefused</Code><Message>${(err as Error).message}</Message></Error></Errors></Response>`);
            }
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        requests,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}
