import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig, parseInputSize, predictorTarget } from "../src/config";
import { containerMemoryLimit, parseMemoryLimit } from "../src/containerLimits";
import { attachLabels, defaultClothingLabels, parseLabels } from "../src/labels";

describe("parseConfig", () => {
    it("the seeds' InferenceService transformer: KServe args + MODEL_INPUT_SIZE/KERAS_MODEL_NAME/MODEL_LABELS", () => {
        // What the KServe controller appends for a custom transformer, plus the seed's env (the
        // label list folded over two YAML lines).
        const { config, ignored } = parseConfig(["--model_name", "clothing-model", "--predictor_host", "clothing-model-predictor.default", "--http_port", "8080", "--workers", "1"], {
            MODEL_INPUT_SIZE: "299,299",
            KERAS_MODEL_NAME: "xception",
            MODEL_LABELS: "dress,hat,longsleeve,outwear,pants,\n shirt,shoes,shorts,skirt,t-shirt",
        });
        expect(config.modelName).toBe("clothing-model");
        expect(config.httpPort).toBe(8080);
        expect(config.predictor.protocol).toBe("v1");
        expect(config.predictor.target).toBe("http://clothing-model-predictor.default");
        expect(config.inputSize).toEqual({ height: 299, width: 299 });
        expect(config.mode).toBe("tf");
        expect(config.labels).toEqual([...defaultClothingLabels]);
        expect(config.defaultLabels).toBe(false);
        expect(ignored).toEqual(["--workers=1"]);
    });

    it("the seeds' plain gateway: TF_SERVING_HOST means TF Serving gRPC", () => {
        const { config } = parseConfig([], { TF_SERVING_HOST: "tf-serving-clothing-model.default.svc.cluster.local:8500" });
        expect(config.predictor.protocol).toBe("tfserving-grpc");
        expect(config.predictor.target).toBe("dns:///tf-serving-clothing-model.default.svc.cluster.local:8500");
        expect(config.predictor.inputName).toBe("input_8");
        expect(config.predictor.signatureName).toBe("serving_default");
        expect(config.labels).toEqual([...defaultClothingLabels]);
        expect(config.defaultLabels).toBe(true);
        expect(config.kerasModel).toBe("xception");
    });

    it("--name=value form, protocol v2, resnet50 caffe mode, limits", () => {
        const { config } = parseConfig(["--protocol=v2", "--predictor_host=https://p.example:8443", "--binary_data"], { KERAS_MODEL_NAME: "resnet50", GATEWAY_MAX_PIXELS: "1000", GATEWAY_DOWNLOAD_TIMEOUT_SECONDS: "2.5" });
        expect(config.predictor.protocol).toBe("v2");
        expect(config.predictor.binaryData).toBe(true);
        expect(config.predictor.target).toBe("https://p.example:8443");
        expect(config.mode).toBe("caffe");
        expect(config.limits.maxPixels).toBe(1000);
        expect(config.limits.downloadTimeoutMs).toBe(2500);
    });

    it("JPEG decoder: auto with Debian's libturbojpeg0 soname by default; a choice and a path from the environment; typos refused", () => {
        expect(parseConfig([], { TF_SERVING_HOST: "h:1" }).config.jpeg).toEqual({ decoder: "auto", library: "libturbojpeg.so.0" });
        expect(parseConfig([], { TF_SERVING_HOST: "h:1", GATEWAY_JPEG_DECODER: "libjpeg-turbo", GATEWAY_TURBOJPEG_LIBRARY: "/opt/lib/libturbojpeg.so.0" }).config.jpeg).toEqual({ decoder: "libjpeg-turbo", library: "/opt/lib/libturbojpeg.so.0" });
        expect(parseConfig(["--jpeg_decoder", "sharp"], { TF_SERVING_HOST: "h:1" }).config.jpeg.decoder).toBe("sharp");
        expect(() => parseConfig([], { TF_SERVING_HOST: "h:1", GATEWAY_JPEG_DECODER: "turbo" })).toThrow("GATEWAY_JPEG_DECODER 'turbo' is not auto, libjpeg-turbo or sharp");
        expect(() => parseConfig([], { TF_SERVING_HOST: "h:1", GATEWAY_TURBOJPEG_LIBRARY: " " })).toThrow("GATEWAY_TURBOJPEG_LIBRARY is empty");
    });

    it("GATEWAY_GC_EVERY: 1024 by default, 0 turns it off, anything else not a whole number in range is refused", () => {
        expect(parseConfig([], { TF_SERVING_HOST: "h:1" }).config.gcEvery).toBe(1024);
        expect(parseConfig([], { TF_SERVING_HOST: "h:1", GATEWAY_GC_EVERY: "0" }).config.gcEvery).toBe(0);
        for (const bad of ["abc", "-1", "2.5", "1e9"]) expect(() => parseConfig([], { TF_SERVING_HOST: "h:1", GATEWAY_GC_EVERY: bad }), bad).toThrow(/GATEWAY_GC_EVERY/);
    });

    it("arguments win over environment", () => {
        const { config } = parseConfig(["--model_name", "a", "--predictor_host", "h"], { MODEL_NAME: "b", PREDICTOR_HOST: "x" });
        expect(config.modelName).toBe("a");
        expect(config.predictor.target).toBe("http://h");
    });

    it("collects every problem into one error", () => {
        let message = "";
        try {
            parseConfig(["--bogus", "1", "--http_port", "99999", "--protocol", "grpc-v2"], { KERAS_MODEL_NAME: "alexnet", MODEL_LABELS: "a,,b", MODEL_INPUT_SIZE: "big", GATEWAY_ALLOWED_CIDRS: "10.0.0.0/99" });
        } catch (err) {
            message = (err as Error).message;
        }
        expect(message).toMatch(/unknown argument '--bogus'/);
        expect(message).toMatch(/http_port.*99999/);
        expect(message).toMatch(/grpc-v2.*not implemented/);
        expect(message).toMatch(/no predictor/);
        expect(message).toMatch(/alexnet/);
        expect(message).toMatch(/empty label/);
        expect(message).toMatch(/MODEL_INPUT_SIZE 'big'/);
        expect(message).toMatch(/not a CIDR/);
    });
});

describe("pure helpers", () => {
    it("parseInputSize", () => {
        expect(parseInputSize("299,299")).toEqual({ height: 299, width: 299 });
        expect(parseInputSize("224x320")).toEqual({ height: 224, width: 320 });
        expect(parseInputSize("150")).toEqual({ height: 150, width: 150 });
        expect(() => parseInputSize("0,10")).toThrow();
        expect(() => parseInputSize("1,2,3")).toThrow();
    });

    it("predictorTarget", () => {
        expect(predictorTarget("tfserving-grpc", "tf:8500", false)).toBe("dns:///tf:8500");
        expect(predictorTarget("tfserving-grpc", "tf", false)).toBe("dns:///tf:8500");
        expect(predictorTarget("tfserving-grpc", "dns:///tf:9000", false)).toBe("dns:///tf:9000");
        expect(predictorTarget("tfserving-rest", "tf", false)).toBe("http://tf:8501");
        expect(predictorTarget("v1", "m-predictor.ns", true)).toBe("https://m-predictor.ns");
        expect(() => predictorTarget("v1", "a b", false)).toThrow();
    });

    it("labels", () => {
        expect(parseLabels(" a , b ,c")).toEqual(["a", "b", "c"]);
        expect(() => parseLabels("a,a")).toThrow(/twice/);
        expect(attachLabels(["x", "y"], [0.5, -1])).toEqual({ x: 0.5, y: -1 });
        expect(Object.keys(attachLabels(["z", "a"], [1, 2]))).toEqual(["z", "a"]);
        expect(() => attachLabels(["x"], [1, 2])).toThrow(/2 scores but 1 labels/);
    });
});

describe("the decode budget from the container's memory limit", () => {
    const MiB = 1024 * 1024;
    const base = { TF_SERVING_HOST: "h:1" };
    const budgetOf = (env: Record<string, string>, machine: { memoryLimit?: number; cpus: number }) => parseConfig([], { ...base, ...env }, machine).config.limits.decodeBudgetPixels;

    it("cgroup v2 memory.max and v1 memory.limit_in_bytes give the limit; none gives undefined", () => {
        expect(parseMemoryLimit("536870912\n")).toBe(512 * MiB);
        expect(parseMemoryLimit("max\n")).toBeUndefined();
        // cgroup v1's "unlimited" (PAGE_COUNTER_MAX pages of 4 KiB), as read on this CI machine.
        expect(parseMemoryLimit("9223372036854771712")).toBeUndefined();
        expect(parseMemoryLimit("lots")).toBeUndefined();
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "cgroup-"));
        try {
            expect(containerMemoryLimit(root)).toBeUndefined();
            fs.mkdirSync(path.join(root, "memory"));
            fs.writeFileSync(path.join(root, "memory/memory.limit_in_bytes"), String(256 * MiB));
            expect(containerMemoryLimit(root)).toBe(256 * MiB);
            fs.writeFileSync(path.join(root, "memory.max"), "max\n");
            expect(containerMemoryLimit(root)).toBeUndefined();
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });

    it("leaves each worker its share less an idle worker (112 MiB), its download budget and 32 MiB per decode slot, in units of 3 bytes", () => {
        // The transformer's container (components/models/exampleModels.ts): 512 MiB, 1 CPU, so one
        // worker; downloads 4 × 10 MiB; node sees 8 CPUs, so 4 decode slots. (512 - 112 - 40 - 4 × 32) MiB / 3:
        // 81.09 M, room for a 40-MP progressive JPEG (40 M of pixels + 40.06 M of coefficients).
        expect(budgetOf({ GATEWAY_WORKERS: "1" }, { memoryLimit: 512 * MiB, cpus: 8 })).toBe(Math.floor((232 * MiB) / 3));
        // One decode slot leaves 3 × 32 MiB more.
        expect(budgetOf({ GATEWAY_WORKERS: "1", GATEWAY_DECODE_CONCURRENCY: "1" }, { memoryLimit: 512 * MiB, cpus: 8 })).toBe(Math.floor((328 * MiB) / 3));
        // Two workers in 1 GiB: the primary (56 MiB) first, then halves: (1024 - 56) / 2 - 112 - 40 - 2 × 32 = 268 MiB.
        expect(budgetOf({ GATEWAY_WORKERS: "2" }, { memoryLimit: 1024 * MiB, cpus: 2 })).toBe(Math.floor((268 * MiB) / 3));
        // GATEWAY_MEMORY_LIMIT_BYTES stands in for the cgroup's; a smaller download budget leaves more:
        // 200 - 112 - 10 - 32 = 46 MiB.
        expect(budgetOf({ GATEWAY_WORKERS: "1", GATEWAY_MEMORY_LIMIT_BYTES: String(200 * MiB), GATEWAY_DOWNLOAD_BUDGET_BYTES: String(10 * MiB) }, { cpus: 1 })).toBe(Math.floor((46 * MiB) / 3));
        // No limit known: the per-image limit, as before; an explicit budget always wins.
        expect(budgetOf({}, { cpus: 1 })).toBe(40_000_000);
        expect(budgetOf({ GATEWAY_DECODE_BUDGET_PIXELS: "1234567" }, { memoryLimit: 512 * MiB, cpus: 1 })).toBe(1234567);
        expect(parseConfig([], base, { memoryLimit: 300 * MiB, cpus: 1 }).config.limits.memoryLimitBytes).toBe(300 * MiB);
    });

    it("refuses a limit that leaves no room to decode, once, with the numbers and what to change", () => {
        expect(() => parseConfig([], { ...base, GATEWAY_WORKERS: "2" }, { memoryLimit: 256 * MiB, cpus: 2 })).toThrow(
            /memory limit 256 MiB \(GATEWAY_MEMORY_LIMIT_BYTES, else the container's\) leaves 2 worker\(s\) 0 MiB each for decoded pixels after an idle worker \(112 MiB\), its download budget \(40 MiB\) and 2 decode slot\(s\) \(32 MiB each\); at least 12 MiB is needed/,
        );
        let message = "";
        try {
            parseConfig([], { ...base, GATEWAY_MEMORY_LIMIT_BYTES: "lots" }, { cpus: 1 });
        } catch (err) {
            message = (err as Error).message;
        }
        expect(message.split("\n  - ").slice(1)).toEqual(["--memory_limit_bytes/GATEWAY_MEMORY_LIMIT_BYTES: 'lots' is not an integer in [16777216, 1125899906842624]"]);
        expect(() => parseConfig([], { ...base, GATEWAY_DECODE_CONCURRENCY: "0" }, { cpus: 1 })).toThrow("GATEWAY_DECODE_CONCURRENCY must be an integer from 1 to 64, not '0'");
    });
});
