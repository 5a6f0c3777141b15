/**
 * Gateway benchmark (`npm run bench:gateway`): the TypeScript gateway side by side with the Python
 * reference, printed as figures; nothing here is a test and nothing asserts a speed.
 *
 * Fairness, by construction:
 * - Every party is its own process: the gateway under test (`node gateway/dist/main.js`, built
 *   here with tsc, as the image runs it), the reference (bench/reference/gateway.py under Debian's
 *   gunicorn, 2 sync workers), the image server (nginx, or bench/gatewayImageServer.ts when nginx
 *   is missing), the TF Serving stub (bench/gatewayStub.ts) and the load generator (wrk with
 *   bench/gatewayWrk.lua, or bench/gatewayLoad.ts when wrk is missing). All on 127.0.0.1.
 * - Both servers run the whole time and get the same image URL, body, stub, concurrency levels,
 *   warm-up and duration; only one is under load at a time. Rounds alternate which goes first
 *   (TS-PY, then PY-TS, ...), and every ratio is taken within one round, so slow drifts of the
 *   shared machine cancel out. The result is the median of the per-round ratios with min–max.
 * - Noise is shown, not hidden: a fixed CPU probe before each round (its spread is the
 *   machine's), and the CPU that other processes on the machine used during each window.
 * - Correctness first: both answer HTTP 200 with the stub's scores, and the tensor each sends to
 *   the stub is compared byte for byte.
 *
 * Metrics per window: req/s, p50/p99 latency (the load generator's), CPU per request (utime +
 * stime of the server's whole process tree over the window, divided by the requests answered),
 * and memory sampled every 250 ms during the windows: the sum of PSS over the tree (pages shared
 * between processes counted once, what a pod's memory limit sees; the gateway runs from its own copy
 * of the node binary, so it shares no code pages with this process or the stub) and, at the end,
 * the sum of VmHWM (every process's own peak, shared pages counted in each).
 *
 * Knobs (environment): BENCH_ROUNDS (6), BENCH_WARMUP_S (1), BENCH_MEASURE_S (4),
 * BENCH_CONCURRENCY ("1,4,16"), BENCH_REFERENCE_WORKERS (2), BENCH_REFERENCE=0 (ours alone),
 * BENCH_GATEWAY_MAIN (another build of the gateway, e.g. an older commit's, for a before/after),
 * BENCH_GATEWAY_ENV ("K=V,K=V" added to the gateway's environment), BENCH_PERF=1 (a `perf record`
 * window per server at the highest concurrency, printed as a CPU breakdown per request),
 * BENCH_MALLOC (glibc settings for both servers, see sharedMallocEnv), BENCH_MAX_S (900: the whole
 * run stops after this), BENCH_DEBUG=1 (wrk prints the first non-2xx answer of each window).
 *
 * Only 200 answers count toward req/s and CPU per request; a window where more than 1% of the
 * requests failed is shown with its error count and left out of the medians and ratios.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import { cpuBreakdown, type Breakdown } from "./gatewayPerf";
import { defaultTurboJpegLibrary } from "../gateway/src/config";
import { testTurboJpegLibrary } from "../gateway/test/helpers";
import { stubScores } from "./gatewayStub";

const root = path.resolve(__dirname, "..");
const rounds = Number(process.env.BENCH_ROUNDS ?? 6);
const warmupS = Number(process.env.BENCH_WARMUP_S ?? 1);
const measureS = Number(process.env.BENCH_MEASURE_S ?? 4);
const levels = (process.env.BENCH_CONCURRENCY ?? "1,4,16").split(",").map(Number);
const referenceWorkers = Number(process.env.BENCH_REFERENCE_WORKERS ?? 2);
const maxSeconds = Number(process.env.BENCH_MAX_S ?? 900);
const systemPython = "/usr/bin/python3";
const referenceApp = path.join(root, "bench/reference/gateway.py");
const tsxImport = ["--import", "tsx"];
const labelNames = ["dress", "hat", "longsleeve", "outwear", "pants", "shirt", "shoes", "shorts", "skirt", "t-shirt"];
const targets = { rps16: 1.6, cpu: 0.6, p99: 1.0, memory: 0.8 };

for (const [name, v, lo, hi] of [["BENCH_ROUNDS", rounds, 1, 50], ["BENCH_WARMUP_S", warmupS, 0, 60], ["BENCH_MEASURE_S", measureS, 1, 120], ["BENCH_REFERENCE_WORKERS", referenceWorkers, 1, 16], ["BENCH_MAX_S", maxSeconds, 10, 7200]] as const) {
    if (!Number.isFinite(v) || v < lo || v > hi) throw new Error(`${name} must be a number in [${lo}, ${hi}], not ${v}`);
}
if (levels.some((c) => !Number.isInteger(c) || c < 1 || c > 256)) throw new Error(`BENCH_CONCURRENCY must be integers 1-256, not ${levels.join(",")}`);

// ------------------------------------------------------------------------------ processes

/** Every process group we start, killed on any exit path. */
const groups = new Set<number>();
function killGroups(): void {
    for (const pgid of groups) {
        try {
            process.kill(-pgid, "SIGKILL");
        } catch {
            // already gone
        }
    }
    groups.clear();
}
process.on("exit", killGroups);
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(130));

/** Set when the bench stops its parties (their exits are then expected). */
let benchEnding = false;

/** Spawns `cmd` in its own process group (so its children go with it); stdin is a pipe that closes when we exit. */
function start(cmd: string, args: string[], env: NodeJS.ProcessEnv, stdout: "pipe" | "ignore" = "pipe"): ChildProcess {
    const child = spawn(cmd, args, { env, stdio: ["pipe", stdout, "pipe"], detached: true });
    groups.add(child.pid!);
    child.on("exit", () => groups.delete(child.pid!));
    return child;
}

async function stopGroup(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    try {
        process.kill(-child.pid!, signal);
    } catch {
        return;
    }
    const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 5000).unref());
    if ((await Promise.race([exited, timeout])) === "timeout") {
        try {
            process.kill(-child.pid!, "SIGKILL");
        } catch {
            // gone meanwhile
        }
        await exited;
    }
    try {
        process.kill(-child.pid!, "SIGKILL"); // stragglers in the group (gunicorn workers)
    } catch {
        // group empty
    }
}

/** First stdout line of `child`, parsed as JSON (the helpers announce their ports this way). */
function firstJsonLine<T>(child: ChildProcess, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
        let out = "";
        let err = "";
        child.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
        child.stdout!.on("data", (d: Buffer) => {
            out += d.toString();
            const nl = out.indexOf("\n");
            if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as T);
        });
        child.on("exit", (code) => reject(new Error(`${what} exited ${code}: ${err}`)));
        setTimeout(() => reject(new Error(`${what} did not start in 20 s: ${err}`)), 20_000).unref();
    });
}

function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const s = http.createServer().listen(0, "127.0.0.1", () => {
            const p = (s.address() as AddressInfo).port;
            s.close(() => resolve(p));
        });
    });
}

function which(cmd: string): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/bin"])) {
        const p = path.join(dir, cmd);
        if (fs.existsSync(p)) return p;
    }
    return undefined;
}

// ------------------------------------------------------------------------------ /proc

function statFields(pid: number | "self"): string[] {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** `pid` and every live descendant. */
function processTree(pid: number): number[] {
    const children = new Map<number, number[]>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const ppid = Number(statFields(Number(entry))[1]);
            children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
        } catch {
            // exited meanwhile
        }
    }
    const tree = [pid];
    for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
    return tree;
}

/** CPU ms of a tree: utime + stime of each live process plus cutime + cstime (reaped children). */
function treeCpuMs(pid: number): number {
    let ticks = 0;
    for (const p of processTree(pid)) {
        try {
            const f = statFields(p);
            ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
        } catch {
            // exited between listing and reading
        }
    }
    return ticks * 10; // USER_HZ = 100
}

function selfCpuMs(): number {
    const f = statFields("self");
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
}

/** Busy CPU ms of the whole machine (all cores) from /proc/stat. */
function machineBusyMs(): number {
    const cpu = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = cpu;
    return (user + nice + system + irq + softirq + (steal ?? 0)) * 10;
}

function kbField(text: string, key: string): number {
    return Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
}

/** Sum of PSS over a tree now, MB (pages shared between its processes counted once). */
function treePssMb(pid: number): number {
    let kb = 0;
    for (const p of processTree(pid)) {
        try {
            kb += kbField(fs.readFileSync(`/proc/${p}/smaps_rollup`, "utf8"), "Pss");
        } catch {
            // exited, or no smaps_rollup
        }
    }
    return kb / 1024;
}

/** Sum of VmHWM over a tree, MB (each process's own peak; shared pages counted in each). */
function treeHwmMb(pid: number): { sum: number; processes: number } {
    let kb = 0;
    const tree = processTree(pid);
    for (const p of tree) {
        try {
            kb += kbField(fs.readFileSync(`/proc/${p}/status`, "utf8"), "VmHWM");
        } catch {
            // exited
        }
    }
    return { sum: kb / 1024, processes: tree.length };
}

// ------------------------------------------------------------------------------ parties

/** A ~100 KB 640×480 JPEG with photo-like detail (smooth gradients plus noise); the same every run. */
async function makeJpeg(): Promise<Buffer> {
    const w = 640;
    const h = 480;
    const raw = Buffer.alloc(w * h * 3);
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
            const i = (y * w + x) * 3;
            const n = rand() * 48;
            raw[i] = Math.min(255, (x / w) * 200 + n);
            raw[i + 1] = Math.min(255, (y / h) * 180 + n);
            raw[i + 2] = Math.min(255, 128 + 100 * Math.sin(x / 23) * Math.cos(y / 31) + n / 2);
        }
    }
    let best: Buffer | undefined;
    for (const q of [70, 75, 80, 85, 90, 95]) {
        const jpg = await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: q }).toBuffer();
        if (!best || Math.abs(jpg.length - 100_000) < Math.abs(best.length - 100_000)) best = jpg;
    }
    return best!;
}

interface ImageServer {
    readonly url: string;
    readonly kind: string;
    readonly pid: number;
    stop(): Promise<void>;
}

/** nginx (one process, no master, no access log) serving the JPEG; the Node fallback without nginx. */
async function startImageServer(dir: string, jpeg: Buffer): Promise<ImageServer> {
    const www = path.join(dir, "www");
    fs.mkdirSync(www, { recursive: true });
    fs.writeFileSync(path.join(www, "pants.jpg"), jpeg);
    const nginx = which("nginx");
    if (nginx) {
        const port = await freePort();
        const conf = path.join(dir, "nginx.conf");
        const tmp = (n: string) => path.join(dir, n);
        fs.writeFileSync(
            conf,
            [
                "daemon off;",
                "master_process off;",
                "worker_processes 1;",
                `pid ${tmp("nginx.pid")};`,
                `error_log ${tmp("nginx-error.log")} warn;`,
                "events { worker_connections 1024; }",
                "http {",
                "  access_log off;",
                `  client_body_temp_path ${tmp("nginx-body")}; proxy_temp_path ${tmp("nginx-proxy")}; fastcgi_temp_path ${tmp("nginx-fcgi")}; uwsgi_temp_path ${tmp("nginx-uwsgi")}; scgi_temp_path ${tmp("nginx-scgi")};`,
                "  types { image/jpeg jpg; }",
                "  sendfile on; keepalive_requests 10000000; keepalive_timeout 300s;",
                `  server { listen 127.0.0.1:${port}; root ${www}; }`,
                "}",
            ].join("\n"),
        );
        const child = start(nginx, ["-e", tmp("nginx-error.log"), "-p", dir, "-c", conf], process.env, "ignore");
        const url = `http://127.0.0.1:${port}/pants.jpg`;
        for (let i = 0; ; i++) {
            try {
                if ((await fetch(url)).ok) break;
            } catch {
                // not yet
            }
            if (child.exitCode !== null || i > 100) throw new Error(`nginx did not start: ${fs.existsSync(tmp("nginx-error.log")) ? fs.readFileSync(tmp("nginx-error.log"), "utf8") : ""}`);
            await sleep(100);
        }
        const version = spawnSync(nginx, ["-v"], { encoding: "utf8" });
        return { url, kind: `${(version.stderr || version.stdout).trim()} (one process, no access log)`, pid: child.pid!, stop: () => stopGroup(child) };
    }
    const child = start(process.execPath, [...tsxImport, path.join(__dirname, "gatewayImageServer.ts"), path.join(www, "pants.jpg")], process.env);
    const { port } = await firstJsonLine<{ port: number }>(child, "image server");
    return { url: `http://127.0.0.1:${port}/pants.jpg`, kind: "node:http fallback (nginx not installed)", pid: child.pid!, stop: () => stopGroup(child) };
}

interface Stub {
    readonly target: string;
    readonly pid: number;
    capture(): Promise<void>;
    captured(): Promise<Buffer | undefined>;
    stop(): Promise<void>;
}

async function startStub(): Promise<Stub> {
    const child = start(process.execPath, [...tsxImport, path.join(__dirname, "gatewayStub.ts")], process.env);
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on("exit", (code, signal) => {
        if (!benchEnding) process.stderr.write(`\nTF Serving stub exited (${code ?? signal}) during the bench:\n${stderr}\n`);
    });
    const { grpcPort, controlPort } = await firstJsonLine<{ grpcPort: number; controlPort: number }>(child, "stub");
    const control = `http://127.0.0.1:${controlPort}`;
    return {
        target: `127.0.0.1:${grpcPort}`,
        pid: child.pid!,
        capture: async () => void (await fetch(`${control}/capture`, { method: "POST" })).text(),
        captured: async () => {
            const res = await fetch(`${control}/captured`);
            return res.ok ? Buffer.from(await res.arrayBuffer()) : undefined;
        },
        stop: () => stopGroup(child),
    };
}

interface Server {
    readonly name: "TS" | "PY";
    readonly label: string;
    readonly url: string;
    readonly pid: number;
    stop(): Promise<void>;
}

async function waitFor(url: string, ok: (status: number) => boolean, child: ChildProcess, what: string, log: () => string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
        if (child.exitCode !== null) throw new Error(`${what} exited ${child.exitCode}: ${log()}`);
        try {
            if (ok((await fetch(url, { signal: AbortSignal.timeout(2000) })).status)) return;
        } catch {
            // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`${what} not ready after 30 s: ${log()}`);
        await sleep(100);
    }
}

function extraGatewayEnv(): Record<string, string> {
    const text = process.env.BENCH_GATEWAY_ENV ?? "";
    return Object.fromEntries(
        text
            .split(",")
            .filter((kv) => kv.includes("="))
            .map((kv) => [kv.slice(0, kv.indexOf("=")).trim(), kv.slice(kv.indexOf("=") + 1).trim()]),
    );
}

/**
 * A copy of this node binary for the gateway alone. Page-cache pages are shared per file, so a
 * gateway run from `process.execPath` would share node's code pages (about 45 MB of them touched)
 * with this benchmark's own process and the stub, and PSS would charge it only a share of them; a pod
 * runs no other node process, so it pays for all of them. The Python reference's interpreter is not
 * shared this way (no other python3 runs during the windows). The copy keeps the name `node`, which
 * the perf breakdown's categories match on.
 */
function privateNodeBinary(dir: string): string {
    const copy = path.join(dir, "gateway-node", "node");
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.copyFileSync(process.execPath, copy);
    fs.chmodSync(copy, 0o755);
    return copy;
}

/** The TypeScript gateway as the image runs it (node --expose-gc dist/main.js, the Dockerfile's environment), from `privateNodeBinary`. */
async function startOurs(stub: Stub, dir: string): Promise<Server> {
    const port = await freePort();
    const mainJs = process.env.BENCH_GATEWAY_MAIN || path.join(root, "gateway/dist/main.js");
    const env = {
        ...process.env,
        TF_SERVING_HOST: stub.target,
        MODEL_INPUT_SIZE: "299,299",
        KERAS_MODEL_NAME: "xception",
        GATEWAY_ALLOWED_CIDRS: "127.0.0.0/8",
        LOG_LEVEL: "info",
        NODE_ENV: "production",
        ...dockerfileEnv(),
        // The image's TurboJPEG is Debian's libturbojpeg0; here, the one the tests use unless this
        // machine has the soname (BENCH_GATEWAY_ENV can still set either variable).
        ...(hasSystemTurboJpeg() ? {} : { GATEWAY_TURBOJPEG_LIBRARY: testTurboJpegLibrary() ?? defaultTurboJpegLibrary }),
        ...sharedMallocEnv(),
        ...extraGatewayEnv(),
    };
    const child = start(privateNodeBinary(dir), ["--expose-gc", mainJs, "--http_port", String(port)], env, "ignore");
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    await waitFor(`http://127.0.0.1:${port}/v2/health/ready`, (s) => s === 200, child, "gateway", () => err);
    const library = (env as NodeJS.ProcessEnv).GATEWAY_TURBOJPEG_LIBRARY ?? "";
    const jpeg = (env as NodeJS.ProcessEnv).GATEWAY_JPEG_DECODER === "sharp" ? "sharp" : `libjpeg-turbo (${path.isAbsolute(library) ? path.relative(root, library) : library})`;
    const workers = ` GATEWAY_WORKERS=${(env as NodeJS.ProcessEnv).GATEWAY_WORKERS ?? "default"}; JPEG decoder ${jpeg}; ${Object.entries(sharedMallocEnv()).map(([k, v]) => `${k}=${v}`).join(" ")}`;
    return { name: "TS", label: `node ${process.version} ${path.relative(root, mainJs)}${workers}`, url: `http://127.0.0.1:${port}/predict`, pid: child.pid!, stop: () => stopGroup(child) };
}

/** Whether the dynamic linker finds the image's TurboJPEG soname (Debian: apt-get install libturbojpeg0). */
function hasSystemTurboJpeg(): boolean {
    return spawnSync("/sbin/ldconfig", ["-p"], { encoding: "utf8" }).stdout?.includes(`${defaultTurboJpegLibrary} `) ?? false;
}

/** The ENV lines of gateway/Dockerfile's runtime stage, so the bench runs what the image runs. */
function dockerfileEnv(): Record<string, string> {
    const text = fs.readFileSync(path.join(root, "gateway/Dockerfile"), "utf8");
    const runtime = text.slice(text.lastIndexOf("\nFROM "));
    const env: Record<string, string> = {};
    for (const m of runtime.matchAll(/^ENV\s+((?:.*\\\n)*.*)$/gm)) {
        for (const kv of m[1].replace(/\\\n/g, " ").matchAll(/([A-Z_][A-Z0-9_]*)=("[^"]*"|\S+)/g)) env[kv[1]] = kv[2].replace(/^"|"$/g, "");
    }
    return env;
}

/**
 * glibc malloc settings given to BOTH servers: the gateway image's MALLOC_* plus BENCH_MALLOC
 * (default: mmap threshold 8 MiB, trim threshold 32 MiB). With glibc's defaults the reference
 * returns its ~1 MB per-request buffers to the kernel and faults them back in on every request,
 * which on this VM costs more than its whole pipeline (measured: ~20 ms instead of ~4 ms CPU per
 * request); the comparison would then measure an allocator setting, not the code. BENCH_MALLOC=""
 * runs both with glibc's defaults (plus the image's MALLOC_ARENA_MAX).
 */
const benchMalloc = process.env.BENCH_MALLOC ?? "MALLOC_MMAP_THRESHOLD_=8388608,MALLOC_TRIM_THRESHOLD_=33554432";
function sharedMallocEnv(): Record<string, string> {
    const extra = Object.fromEntries(benchMalloc.split(",").filter((kv) => kv.includes("=")).map((kv) => [kv.slice(0, kv.indexOf("=")).trim(), kv.slice(kv.indexOf("=") + 1).trim()]));
    return Object.fromEntries(Object.entries({ ...dockerfileEnv(), ...extra, ...extraGatewayEnv() }).filter(([k]) => k.startsWith("MALLOC_")));
}

function referenceUnavailable(): string | undefined {
    if (process.env.BENCH_REFERENCE === "0") return "BENCH_REFERENCE=0";
    if (!fs.existsSync(systemPython)) return `${systemPython} missing`;
    try {
        execFileSync(systemPython, ["-c", "import flask, gunicorn, grpc, numpy, PIL"], { stdio: ["ignore", "ignore", "pipe"], timeout: 20_000 });
    } catch (err) {
        const msg = String((err as { stderr?: Buffer }).stderr ?? err).trim().split("\n").pop();
        return `${systemPython} cannot import the reference's modules (${msg}); install with: apt-get install -y python3-flask gunicorn python3-grpcio python3-numpy python3-pil`;
    }
    return undefined;
}

async function startReference(stub: Stub): Promise<Server> {
    const port = await freePort();
    const child = start(
        systemPython,
        ["-m", "gunicorn", "--bind", `127.0.0.1:${port}`, "--workers", String(referenceWorkers), "--worker-class", "sync", "--chdir", path.dirname(referenceApp), "gateway:app"],
        { ...process.env, TF_SERVING_HOST: stub.target, PYTHONUNBUFFERED: "TRUE", PYTHONDONTWRITEBYTECODE: "1", ...sharedMallocEnv() },
        "ignore",
    );
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    // The seeds' app has no health route: a GET on /predict (405) means a worker answers.
    await waitFor(`http://127.0.0.1:${port}/predict`, (s) => s === 405, child, "gunicorn", () => err);
    const versions = execFileSync(systemPython, ["-c", "import sys, flask, gunicorn, grpc, numpy, PIL; print(f'Python {sys.version.split()[0]}, Flask {flask.__version__}, gunicorn {gunicorn.__version__}, grpcio {grpc.__version__}, numpy {numpy.__version__}, Pillow {PIL.__version__}')"], { encoding: "utf8" }).trim();
    const malloc = Object.entries(sharedMallocEnv()).map(([k, v]) => `${k}=${v}`).join(" ");
    return { name: "PY", label: `gunicorn ${referenceWorkers} sync workers; ${versions}; ${malloc ? `same malloc settings as TS: ${malloc}` : "glibc malloc defaults"}`, url: `http://127.0.0.1:${port}/predict`, pid: child.pid!, stop: () => stopGroup(child, "SIGINT") };
}

// ------------------------------------------------------------------------------ load

interface LoadResult {
    requests: number;
    durationUs: number;
    non2xx: number;
    socketErrors: number;
    p50Us: number;
    p99Us: number;
    maxUs: number;
}

const wrk = which("wrk");

async function runLoad(url: string, body: string, concurrency: number, seconds: number): Promise<LoadResult> {
    const env = { ...process.env, BENCH_BODY: body };
    const child = wrk
        ? start(wrk, ["-t1", `-c${concurrency}`, `-d${seconds}s`, "--timeout", "10s", "-s", path.join(__dirname, "gatewayWrk.lua"), url], env)
        : start(process.execPath, [...tsxImport, path.join(__dirname, "gatewayLoad.ts"), url, String(concurrency), String(seconds)], env);
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    const line = out.split("\n").find((l) => l.startsWith("{"));
    if (process.env.BENCH_DEBUG && err) process.stderr.write(err.slice(0, 400));
    if (code !== 0 || !line) throw new Error(`load generator failed (${code}): ${out} ${err}`);
    return JSON.parse(line) as LoadResult;
}

interface Window {
    rps: number;
    p50: number;
    p99: number;
    cpuPerReq: number;
    errors: number;
    /** At most 1% of the requests failed (non-2xx or socket errors); other windows are left out of the medians and ratios. */
    valid: boolean;
    /** Cores used by processes that are not part of the bench, on average over the window. */
    otherCores: number;
    peakPssMb: number;
}

async function measure(server: Server, everyone: () => number, body: string, c: number): Promise<Window> {
    if (warmupS > 0) await runLoad(server.url, body, c, warmupS);
    let peakPss = treePssMb(server.pid);
    const sampler = setInterval(() => (peakPss = Math.max(peakPss, treePssMb(server.pid))), 250);
    const t0 = performance.now();
    const cpu0 = treeCpuMs(server.pid);
    const busy0 = machineBusyMs();
    const ours0 = everyone();
    const r = await runLoad(server.url, body, c, measureS);
    const cpu1 = treeCpuMs(server.pid);
    const busy1 = machineBusyMs();
    const ours1 = everyone();
    const wallMs = performance.now() - t0;
    clearInterval(sampler);
    peakPss = Math.max(peakPss, treePssMb(server.pid));
    // Only 200s count: a failed request costs neither party the work a prediction does.
    const answered = r.requests - r.non2xx;
    return {
        rps: answered / (r.durationUs / 1e6),
        p50: r.p50Us / 1000,
        p99: r.p99Us / 1000,
        cpuPerReq: (cpu1 - cpu0) / Math.max(1, answered),
        errors: r.non2xx + r.socketErrors,
        valid: answered > 0 && r.non2xx + r.socketErrors <= 0.01 * Math.max(1, r.requests),
        otherCores: Math.max(0, busy1 - busy0 - (ours1 - ours0)) / wallMs,
        peakPssMb: peakPss,
    };
}

/** Wall ms of a fixed CPU-bound job (SHA-256 over 16 MiB) in this process: the machine's speed now. */
const probeData = Buffer.alloc(1 << 20, 7);
function probe(): number {
    const t0 = performance.now();
    for (let i = 0; i < 16; i++) createHash("sha256").update(probeData).digest();
    return performance.now() - t0;
}

// ------------------------------------------------------------------------------ output

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function printTable(rows: string[][]): void {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) console.log(r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  "));
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const ratioText = (xs: number[]) => `${fmt(median(xs))} [${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}]`;

function printBreakdown(name: string, b: Breakdown): void {
    console.log(`\n${name}: ${fmt(b.cpuMsPerRequest)} ms CPU per request over ${b.requests} requests (perf samples: ${b.samples})`);
    printTable([["where", "ms/request", "share"], ...b.rows.map((r) => [r.category, fmt(r.msPerRequest), `${fmt(r.share * 100, 0)}%`])]);
}

// ------------------------------------------------------------------------------ main

async function main(): Promise<void> {
    const began = Date.now();
    const hardStop = setTimeout(() => {
        console.error(`bench: stopped after BENCH_MAX_S=${maxSeconds} s`);
        process.exit(3);
    }, maxSeconds * 1000);
    hardStop.unref();

    process.stdout.write("building gateway (tsc -p gateway/tsconfig.json)… ");
    execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(root, "gateway/tsconfig.json")], { stdio: "inherit" });
    console.log("done");

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-gateway-"));
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    const jpeg = await makeJpeg();
    const images = await startImageServer(dir, jpeg);
    const stub = await startStub();
    const body = JSON.stringify({ url: images.url });

    const servers: Server[] = [await startOurs(stub, dir)];
    const unavailable = referenceUnavailable();
    if (unavailable) console.log(`Python reference skipped: ${unavailable}`);
    else servers.push(await startReference(stub));
    const bench0 = () => selfCpuMs() + treeCpuMs(images.pid) + treeCpuMs(stub.pid) + servers.reduce((s, x) => s + treeCpuMs(x.pid), 0);

    console.log(`\nimage: 640x480 JPEG, ${(jpeg.length / 1024).toFixed(1)} KiB, served by ${images.kind}`);
    console.log(`load: ${wrk ? "wrk -t1 (bench/gatewayWrk.lua)" : "bench/gatewayLoad.ts (wrk not installed)"}; predictor: TF Serving gRPC stub (bench/gatewayStub.ts); all on 127.0.0.1`);
    console.log(`machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
    for (const s of servers) console.log(`${s.name}: ${s.label}`);

    // Correctness: both answer the stub's scores and send the same tensor.
    const tensors: Buffer[] = [];
    for (const s of servers) {
        await stub.capture();
        const res = await fetch(s.url, { method: "POST", headers: { "content-type": "application/json" }, body });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`${s.name} answered HTTP ${res.status}: ${text.slice(0, 300)}`);
        const json = JSON.parse(text) as Record<string, number>;
        const ok = Object.keys(json).length === labelNames.length && labelNames.every((l, i) => Math.abs(json[l] - stubScores[i]) < 1e-3);
        if (!ok) throw new Error(`${s.name} answered wrong labels/scores: ${text.slice(0, 300)}`);
        const sent = await stub.captured();
        if (!sent) throw new Error(`the stub saw no request from ${s.name}`);
        tensors.push(sent.subarray(sent.length - 299 * 299 * 3 * 4));
    }
    console.log(`answers: ${servers.map((s) => s.name).join(" and ")} answer HTTP 200 with the stub's 10 scores`);
    if (tensors.length === 2) console.log(`tensor sent to TF Serving: ${tensors[0].equals(tensors[1]) ? "bit-identical between TS and PY (1x299x299x3 float32)" : "DIFFERENT between TS and PY"}`);
    console.log(`rounds: ${rounds} × levels ${levels.join(",")} × ${servers.length} servers, ${warmupS} s warm-up + ${measureS} s measured each, order alternating per round\n`);

    const results = new Map<string, Window[]>(); // key `${name}@${c}`
    const probes: number[] = [];
    for (let round = 0; round < rounds; round++) {
        probes.push(median([probe(), probe(), probe()]));
        const order = round % 2 === 0 ? servers : [...servers].reverse();
        for (const c of levels) {
            for (const s of order) {
                const w = await measure(s, bench0, body, c);
                const key = `${s.name}@${c}`;
                results.set(key, [...(results.get(key) ?? []), w]);
            }
        }
        const windowText = (name: string, c: number) => {
            const w = results.get(`${name}@${c}`)!.at(-1)!;
            return `${name}@${c} ${fmt(w.rps, 0)}/s p99 ${fmt(w.p99, 1)}${w.errors > 0 ? ` (${w.errors} errors${w.valid ? "" : ": left out"})` : ""}`;
        };
        const line = levels.map((c) => servers.map((s) => windowText(s.name, c)).join(", ")).join(" | ");
        console.log(`round ${round + 1}/${rounds} (${order.map((s) => s.name).join("→")}, probe ${fmt(probes.at(-1)!, 1)} ms): ${line}`);
    }

    // Side-by-side table: medians over rounds, ratios per round.
    console.log("");
    const header = ["concurrency", ...servers.flatMap((s) => [`${s.name} req/s`, `${s.name} CPU ms/req`, `${s.name} p50 ms`, `${s.name} p99 ms`, `${s.name} errors`]), "other procs (cores)"];
    const rows = [header];
    for (const c of levels) {
        const cols: string[] = [String(c)];
        const others: number[] = [];
        for (const s of servers) {
            const all = results.get(`${s.name}@${c}`)!;
            const valid = all.filter((w) => w.valid);
            const ws = valid.length > 0 ? valid : all;
            cols.push(fmt(median(ws.map((w) => w.rps)), 0), fmt(median(ws.map((w) => w.cpuPerReq))), fmt(median(ws.map((w) => w.p50))), fmt(median(ws.map((w) => w.p99))), String(all.reduce((n, w) => n + w.errors, 0)));
            others.push(...ws.map((w) => w.otherCores));
        }
        cols.push(`${fmt(median(others))} [${fmt(Math.min(...others))}–${fmt(Math.max(...others))}]`);
        rows.push(cols);
    }
    console.log("medians over rounds:");
    printTable(rows);

    const ts = servers[0];
    const tsHwm = treeHwmMb(ts.pid);
    const tsPss = Math.max(...[...results.entries()].filter(([k]) => k.startsWith("TS@")).flatMap(([, ws]) => ws.map((w) => w.peakPssMb)));
    console.log(`\nTS memory: peak PSS sum ${fmt(tsPss, 0)} MB; VmHWM sum ${fmt(tsHwm.sum, 0)} MB over ${tsHwm.processes} process(es)`);
    if (servers.length === 2) {
        const py = servers[1];
        const pyHwm = treeHwmMb(py.pid);
        const pyPss = Math.max(...[...results.entries()].filter(([k]) => k.startsWith("PY@")).flatMap(([, ws]) => ws.map((w) => w.peakPssMb)));
        console.log(`PY memory: peak PSS sum ${fmt(pyPss, 0)} MB; VmHWM sum ${fmt(pyHwm.sum, 0)} MB over ${pyHwm.processes} process(es)`);
        const leftOut = [...results.values()].flat().filter((w) => !w.valid).length;
        console.log(`\nTS/PY, median of per-round ratios [min–max]${leftOut > 0 ? ` over rounds where neither window had errors (${leftOut} window(s) left out)` : ""}; targets from issue 15:`);
        const ratioRows = [["concurrency", "req/s", "CPU/req", "p99", "p50"]];
        const verdicts: string[] = [];
        for (const c of levels) {
            // Rounds where both windows are valid (see Window.valid).
            const both = results.get(`TS@${c}`)!.map((w, i) => [w, results.get(`PY@${c}`)![i]] as const).filter(([a, b]) => a.valid && b.valid);
            if (both.length === 0) {
                ratioRows.push([String(c), "no round without errors", "", "", ""]);
                continue;
            }
            const t = both.map(([a]) => a);
            const p = both.map(([, b]) => b);
            const r = (f: (w: Window) => number) => t.map((w, i) => f(w) / f(p[i]));
            const rps = r((w) => w.rps);
            const cpu = r((w) => w.cpuPerReq);
            const p99 = r((w) => w.p99);
            ratioRows.push([String(c), ratioText(rps), ratioText(cpu), ratioText(p99), ratioText(r((w) => w.p50))]);
            if (c === 16) verdicts.push(`req/s at 16 ≥ ${targets.rps16}: ${median(rps) >= targets.rps16 ? "met" : "NOT met"} (${fmt(median(rps))})`);
            verdicts.push(`p99 at ${c} ≤ ${targets.p99}: ${median(p99) <= targets.p99 ? "met" : "NOT met"} (${fmt(median(p99))})`);
            verdicts.push(`CPU/req at ${c} ≤ ${targets.cpu}: ${median(cpu) <= targets.cpu ? "met" : "NOT met"} (${fmt(median(cpu))})`);
        }
        printTable(ratioRows);
        const memRatio = tsPss / pyPss;
        console.log(`peak memory TS/PY: PSS sum ${fmt(memRatio)} (target ≤ ${targets.memory}: ${memRatio <= targets.memory ? "met" : "NOT met"}); VmHWM sum ${fmt(tsHwm.sum / pyHwm.sum)}`);
        console.log(verdicts.join("; "));
    }
    const pm = median(probes);
    console.log(`\ncalibration probe (SHA-256 of 16 MiB, before each round): median ${fmt(pm, 1)} ms, min–max ${fmt(Math.min(...probes), 1)}–${fmt(Math.max(...probes), 1)} ms (spread ${fmt(((Math.max(...probes) - Math.min(...probes)) / pm) * 100, 0)}%)`);

    if (process.env.BENCH_PERF === "1") {
        const c = Math.max(...levels);
        for (const s of servers) {
            const b = await cpuBreakdown(s.pid, () => runLoad(s.url, body, c, measureS).then((r) => r.requests), processTree);
            if (typeof b === "string") console.log(`\nCPU breakdown of ${s.name} skipped: ${b}`);
            else printBreakdown(`CPU breakdown of ${s.name} at ${c} concurrent (perf)`, b);
        }
    }

    benchEnding = true;
    for (const s of servers) await s.stop();
    await stub.stop();
    await images.stop();
    console.log(`\ntotal bench time ${((Date.now() - began) / 1000).toFixed(0)} s`);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
