/**
 * The container's CPU and memory limits, from the cgroup files Kubernetes' `resources.limits` sets.
 * CPU: cgroup v2 `cpu.max` ("<quota> <period>" or "max <period>") or cgroup v1
 * `cpu.cfs_quota_us` / `cpu.cfs_period_us` (quota -1: no limit). Memory: cgroup v2 `memory.max`
 * (bytes or "max") or cgroup v1 `memory.limit_in_bytes` (no limit reads as a number near 2^63).
 * Undefined when there is none.
 */
import * as fs from "node:fs";

/** Parses cgroup v2 `cpu.max`. */
export function parseCpuMax(text: string): number | undefined {
    const [quota, period] = text.trim().split(/\s+/);
    if (quota === undefined || quota === "max") return undefined;
    const q = Number(quota);
    const p = Number(period ?? 100000);
    return q > 0 && p > 0 ? q / p : undefined;
}

/** Parses cgroup v1 CFS quota and period. */
export function parseCfsQuota(quotaText: string, periodText: string): number | undefined {
    const q = Number(quotaText.trim());
    const p = Number(periodText.trim());
    return q > 0 && p > 0 ? q / p : undefined;
}

/** Parses cgroup v2 `memory.max` or v1 `memory.limit_in_bytes`: bytes, or undefined for no limit. */
export function parseMemoryLimit(text: string): number | undefined {
    const value = text.trim();
    if (value === "max") return undefined;
    const bytes = Number(value);
    // cgroup v1 writes its "unlimited" as the largest page-aligned 64-bit value.
    return Number.isFinite(bytes) && bytes > 0 && bytes < 2 ** 60 ? bytes : undefined;
}

const reader = (root: string) => (f: string) => {
    try {
        return fs.readFileSync(`${root}/${f}`, "utf8");
    } catch {
        return undefined;
    }
};

export function containerMemoryLimit(root = "/sys/fs/cgroup"): number | undefined {
    const read = reader(root);
    const text = read("memory.max") ?? read("memory/memory.limit_in_bytes");
    return text === undefined ? undefined : parseMemoryLimit(text);
}

export function containerCpuLimit(root = "/sys/fs/cgroup"): number | undefined {
    const read = reader(root);
    const v2 = read("cpu.max");
    if (v2 !== undefined) return parseCpuMax(v2);
    const quota = read("cpu/cpu.cfs_quota_us") ?? read("cpu,cpuacct/cpu.cfs_quota_us");
    const period = read("cpu/cpu.cfs_period_us") ?? read("cpu,cpuacct/cpu.cfs_period_us");
    return quota !== undefined && period !== undefined ? parseCfsQuota(quota, period) : undefined;
}
