/**
 * Synth benchmark: `npm run bench:synth` times the offline synth of the dev stack as is and with
 * 10, 100 and 500 extra InferenceServices, each size in a fresh child process (peak RSS is per
 * process), and prints wall time, its phases, peak memory and the marginal cost per service.
 *
 * The extra services are `InferenceService` components (components/models/inferenceService.ts).
 * They use the default Kubernetes provider (the program does not export its provider), which the
 * mocks treat like any other.
 *
 *   npm run bench:synth                 # sizes 0 10 100 500
 *   npm run bench:synth -- 0 50         # other sizes
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";


interface ChildResult {
    services: number;
    resources: number;
    manifests: number;
    loadMs: number;
    programMs: number;
    renderMs: number;
    writeMs: number;
    totalMs: number;
    /** CPU (user + system) spent from the synth call to the files written: the part that grows with services. */
    workCpuMs: number;
    maxRssMiB: number;
}

async function child(services: number): Promise<void> {
    const t0 = performance.now();
    // As the synth CLI does before loading @pulumi/* (scripts/synth.ts).
    (await import("../scripts/lib/deferRequires")).deferPulumiToolchain();
    const { synthesize, writeSynth } = await import("../scripts/lib/synth");
    await import("@pulumi/kubernetes");
    const loadMs = performance.now() - t0;
    const cpu0 = process.cpuUsage();
    const result = await synthesize({
        stack: "dev",
        extend: async (config) => {
            if (services === 0) return;
            const namespace = config.models.namespace;
            const { InferenceService } = (await import("../components/models/inferenceService")) as typeof import("../components/models/inferenceService");
            for (let i = 0; i < services; i++) {
                new InferenceService(`bench-${i}`, {
                    spec: {
                        name: `bench-${i}`,
                        namespace,
                        predictor: { model: { modelFormat: { name: "sklearn" }, storageUri: `s3://bench-models/models/bench-${i}` } },
                    },
                    domain: "192.0.2.1.sslip.io",
                });
            }
        },
    });
    const w0 = performance.now();
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "bench-synth-"));
    writeSynth(out, result.files);
    const writeMs = performance.now() - w0;
    const cpu = process.cpuUsage(cpu0);
    fs.rmSync(out, { recursive: true, force: true });
    const report: ChildResult = {
        services,
        resources: result.model.registrations.length,
        manifests: Object.keys(result.files).filter((f) => f.startsWith("k8s/")).length,
        loadMs,
        programMs: result.timings.programMs,
        renderMs: result.timings.renderMs,
        writeMs,
        totalMs: performance.now() - t0,
        workCpuMs: (cpu.user + cpu.system) / 1000,
        maxRssMiB: process.resourceUsage().maxRSS / 1024,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
}

async function parent(sizes: number[]): Promise<void> {
    const { runTsx } = await import("../scripts/lib/synthCli");
    const rows: ChildResult[] = [];
    process.stdout.write(`synth benchmark, dev stack, node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}\n`);
    for (const n of sizes) {
        const run = await runTsx("bench/synth.ts", ["--child", String(n)], { timeoutMs: 600_000 });
        if (run.code !== 0) throw new Error(`child with ${n} services failed (${run.code}):\n${run.stderr}`);
        const result = JSON.parse(run.stdout.trim().split("\n").pop()!) as ChildResult;
        rows.push(result);
        process.stderr.write(`  ${n} services: ${(result.totalMs / 1000).toFixed(2)} s\n`);
    }
    process.stdout.write("extra services: InferenceService components (components/models/inferenceService.ts)\n");
    process.stdout.write("(wall times are in-process, from the first import of the synth to the files written; node start-up (~0.1 s) not included;\n load = importing @pulumi/* and the synth, program = index.ts + extra services under mocks, synth CPU = CPU from program start to files written)\n\n");
    const base = rows.find((r) => r.services === 0);
    const header = ["services", "resources", "manifests", "load s", "program s", "render s", "write s", "total s", "synth CPU s", "peak RSS MiB", "CPU ms/service"];
    const lines = rows.map((r) => [
        String(r.services),
        String(r.resources),
        String(r.manifests),
        (r.loadMs / 1000).toFixed(2),
        (r.programMs / 1000).toFixed(2),
        (r.renderMs / 1000).toFixed(2),
        (r.writeMs / 1000).toFixed(2),
        (r.totalMs / 1000).toFixed(2),
        (r.workCpuMs / 1000).toFixed(2),
        r.maxRssMiB.toFixed(0),
        base && r.services > 0 ? ((r.workCpuMs - base.workCpuMs) / r.services).toFixed(2) : "",
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const fmt = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join("  ");
    process.stdout.write(`${fmt(header)}\n${lines.map(fmt).join("\n")}\n`);
    // Linear or better: the marginal cost per service must not grow with the number of services.
    // CPU time, not wall time: on a shared machine wall time mostly measures the neighbours.
    const marginal = rows.filter((r) => base && r.services > 0).map((r) => ({ n: r.services, perService: (r.workCpuMs - base!.workCpuMs) / r.services }));
    if (marginal.length >= 2) {
        const small = marginal[0];
        const large = marginal[marginal.length - 1];
        const ratio = large.perService / small.perService;
        process.stdout.write(
            `\nmarginal synth CPU per service: ${small.perService.toFixed(2)} ms at ${small.n}, ${large.perService.toFixed(2)} ms at ${large.n} ` +
                `(x${ratio.toFixed(2)}; ${ratio <= 1.5 ? "linear or better" : "GROWS FASTER THAN LINEAR"})\n`,
        );
    }
}

const args = process.argv.slice(2);
const main = args[0] === "--child" ? child(Number(args[1])) : parent(args.length > 0 ? args.map(Number) : [0, 10, 100, 500]);
main.then(
    () => process.exit(0),
    (err) => {
        process.stderr.write(`bench:synth: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
        process.exit(1);
    },
);
