/**
 * Per-request CPU breakdown for `npm run bench:gateway` (BENCH_PERF=1): samples a server's whole
 * process tree with Linux `perf record` while load runs, then splits the measured CPU per request
 * by where the samples fell (shared object and symbol), in categories that mean something for both
 * the Node gateway and the Python reference. Needs the `perf` tool (Debian: linux-perf) and
 * permission to profile (root or kernel.perf_event_paranoid <= 1).
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface Breakdown {
    readonly requests: number;
    readonly samples: number;
    readonly cpuMsPerRequest: number;
    readonly rows: { category: string; msPerRequest: number; share: number }[];
}

/** Category of one sample from its shared object and symbol (first match wins). */
const categories: [string, (dso: string, sym: string) => boolean][] = [
    ["image decode: libjpeg-turbo (TurboJPEG)", (d) => /libturbojpeg/.test(d)],
    ["koffi (FFI calls)", (d) => /koffi/.test(d)],
    ["image decode: libvips/libjpeg (sharp)", (d) => /libvips|sharp-.*\.node/.test(d)],
    ["image decode: libjpeg (PIL)", (d) => /libjpeg|_imaging|PIL/.test(d)],
    ["numpy", (d) => /numpy|_multiarray|libopenblas/.test(d)],
    ["grpcio", (d) => /cygrpc|grpc/.test(d)],
    ["Python interpreter", (d) => /python3|libpython/.test(d)],
    ["V8 garbage collection", (d, s) => d === "node" && /Heap|Scaveng|MarkCompact|Marking|Sweep|Evacuat|GC|Compactor|Remembered|Concurrent/.test(s)],
    ["Node/V8 runtime (builtins, IC, parsing)", (d) => d === "node"],
    ["JavaScript (JIT code)", (d) => /JIT|perf-\d+\.map|\[unknown\]/.test(d)],
    ["libc memcpy/memset", (d, s) => /libc/.test(d) && /mem(move|cpy|set)/.test(s)],
    ["libc malloc/free", (d, s) => /libc/.test(d) && /malloc|free|_int_|arena|chunk|consolidate|tcache/.test(s)],
    ["libc other (syscalls, threads)", (d) => /libc|libpthread|ld-linux/.test(d)],
    ["kernel (network, page faults, scheduling)", (d) => /kernel|vmlinux/.test(d)],
    ["zlib", (d) => /libz/.test(d)],
    ["C++ runtime", (d) => /libstdc\+\+|libgcc/.test(d)],
];

/**
 * Profiles `pid`'s tree while `load()` runs; returns the breakdown, or why it could not be made.
 * CPU per request is the tree's utime+stime over the window divided by the requests answered.
 */
export async function cpuBreakdown(pid: number, load: () => Promise<number>, tree: (pid: number) => number[]): Promise<Breakdown | string> {
    try {
        execFileSync("perf", ["--version"], { stdio: "ignore" });
    } catch {
        return "perf not installed (apt-get install linux-perf)";
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-perf-"));
    try {
        const data = path.join(dir, "perf.data");
        const pids = tree(pid);
        const cpu = () => pids.reduce((s, p) => s + procCpuMs(p), 0);
        const rec = spawn("perf", ["record", "-F", "997", "-o", data, "-p", pids.join(",")], { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        rec.stderr.on("data", (d: Buffer) => (err += d.toString()));
        await new Promise((r) => setTimeout(r, 500));
        if (rec.exitCode !== null) return `perf record failed: ${err.trim().split("\n").slice(-2).join(" ")}`;
        const cpu0 = cpu();
        const requests = await load();
        const cpu1 = cpu();
        const exited = new Promise<void>((r) => rec.on("exit", () => r()));
        rec.kill("SIGINT");
        await exited;
        const report = execFileSync("perf", ["report", "-i", data, "--stdio", "--no-children", "--sort", "dso,sym", "-g", "none", "--percent-limit", "0"], { encoding: "utf8", maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "ignore"] });
        const sm = /# Samples: (\d+)([KM]?)/.exec(report);
        const samples = sm ? Number(sm[1]) * (sm[2] === "K" ? 1e3 : sm[2] === "M" ? 1e6 : 1) : 0;
        const shares = reportShares(report);
        const cpuMsPerRequest = (cpu1 - cpu0) / Math.max(1, requests);
        const total = [...shares.values()].reduce((a, b) => a + b, 0) || 1;
        const rows = [...shares.entries()]
            .map(([category, share]) => ({ category, share: share / total, msPerRequest: (cpuMsPerRequest * share) / total }))
            .sort((a, b) => b.share - a.share);
        return { requests, samples, cpuMsPerRequest, rows };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** A sample line of `perf report --stdio --sort dso,sym`: share, shared object, `[.]`/`[k]`, symbol. */
const reportLine = /^\s*([\d.]+)%\s+(.+?)\s+\[[.k]\]\s+(.*)$/;

/**
 * Share of the samples (0-1) per category, from `perf report --stdio --no-children --sort dso,sym`.
 * A shared object's name may hold spaces: V8's generated code is `[JIT] tid <n>`. A percentage line
 * this cannot read is counted as "unparsed perf lines", never dropped, since the shares are
 * normalized afterwards and a dropped line would be spread over the others unseen.
 */
export function reportShares(report: string): Map<string, number> {
    const shares = new Map<string, number>();
    const add = (category: string, pct: string) => shares.set(category, (shares.get(category) ?? 0) + Number(pct) / 100);
    for (const line of report.split("\n")) {
        const m = reportLine.exec(line);
        if (m) {
            const [, pct, dso, sym] = m;
            add(categories.find(([, match]) => match(dso, sym))?.[0] ?? "other", pct);
            continue;
        }
        const unread = /^\s*([\d.]+)%/.exec(line);
        if (unread) add("unparsed perf lines", unread[1]);
    }
    return shares;
}

function procCpuMs(pid: number): number {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return (Number(f[11]) + Number(f[12])) * 10;
    } catch {
        return 0;
    }
}
