/**
 * The container's CPU limit, from the cgroup files Kubernetes' `resources.limits.cpu` sets:
 * cgroup v2 `cpu.max` ("<quota> <period>" or "max <period>") or cgroup v1
 * `cpu.cfs_quota_us` / `cpu.cfs_period_us` (quota -1: no limit). Undefined when there is none.
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

export function containerCpuLimit(root = "/sys/fs/cgroup"): number | undefined {
    const read = (f: string) => {
        try {
            return fs.readFileSync(`${root}/${f}`, "utf8");
        } catch {
            return undefined;
        }
    };
    const v2 = read("cpu.max");
    if (v2 !== undefined) return parseCpuMax(v2);
    const quota = read("cpu/cpu.cfs_quota_us") ?? read("cpu,cpuacct/cpu.cfs_quota_us");
    const period = read("cpu/cpu.cfs_period_us") ?? read("cpu,cpuacct/cpu.cfs_period_us");
    return quota !== undefined && period !== undefined ? parseCfsQuota(quota, period) : undefined;
}
