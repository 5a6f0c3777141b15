/**
 * Fallback image server for `npm run bench:gateway` when nginx is not installed: serves one file
 * as image/jpeg on 127.0.0.1 from its own process. Prints `{"port":…}` when listening.
 *
 * Usage: node --import tsx bench/gatewayImageServer.ts FILE
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

const bytes = fs.readFileSync(process.argv[2]);
const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "image/jpeg", "content-length": bytes.length });
    res.end(bytes);
});
server.keepAliveTimeout = 120_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`));
process.on("SIGTERM", () => process.exit(0));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
