/**
 * The gateway benchmark's CPU breakdown reads `perf report --stdio --no-children --sort dso,sym`.
 * The lines below are that output's shape as Debian's linux-perf prints it on this project's machines
 * (share, shared object, `[.]` for user space or `[k]` for the kernel, symbol): V8's generated code
 * has no file, and perf names it `[JIT] tid <thread>`, with spaces.
 */
import { describe, expect, it } from "vitest";
import { reportShares } from "../bench/gatewayPerf";

const report = [
    "# Total Lost Samples: 0",
    "#",
    "# Samples: 3K of event 'cpu-clock:ppp'",
    "# Overhead  Shared Object          Symbol",
    "# ........  .....................  ..............................",
    "#",
    "    40.00%  [JIT] tid 27664        [.] 0x00007f57b80064ad",
    "    30.00%  libturbojpeg.so.0.2.0  [.] decode_mcu_fast",
    "    12.00%  node                   [.] v8::internal::ScavengerCollector::CollectGarbage",
    "     8.00%  node                   [.] Builtins_InterpreterEntryTrampoline",
    "     5.00%  [kernel.kallsyms]      [k] tcp_sendmsg_locked",
    "     4.00%  libc.so.6              [.] __memmove_avx_unaligned_erms",
    "     1.00%  a line perf never prints",
    "",
].join("\n");

describe("the benchmark's perf breakdown", () => {
    const shares = reportShares(report);
    const share = (category: string) => shares.get(category) ?? 0;

    it("counts V8's generated code, whose shared object's name has spaces, as JavaScript", () => {
        expect(share("JavaScript (JIT code)")).toBeCloseTo(0.4, 10);
    });

    it("puts every other sample line in its category", () => {
        expect(share("image decode: libjpeg-turbo (TurboJPEG)")).toBeCloseTo(0.3, 10);
        expect(share("V8 garbage collection")).toBeCloseTo(0.12, 10);
        expect(share("Node/V8 runtime (builtins, IC, parsing)")).toBeCloseTo(0.08, 10);
        expect(share("kernel (network, page faults, scheduling)")).toBeCloseTo(0.05, 10);
        expect(share("libc memcpy/memset")).toBeCloseTo(0.04, 10);
    });

    it("shows a percentage line it cannot read instead of dropping it, and reads nothing from the header", () => {
        expect(share("unparsed perf lines")).toBeCloseTo(0.01, 10);
        const total = [...shares.values()].reduce((a, b) => a + b, 0);
        expect(total).toBeCloseTo(1, 10);
    });
});
