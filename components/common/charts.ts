/** Where a Helm release takes its chart from. */
import type { ChartPin } from "../../versions";

/**
 * The chart fields of a `k8s.helm.v3.Release` for a pin: an https repository goes in
 * `repositoryOpts`; an OCI registry has no index, so the full `oci://` reference is the chart.
 */
export function helmChartSource(pin: ChartPin): { chart: string; version: string; repositoryOpts?: { repo: string } } {
    return pin.repository.startsWith("oci://")
        ? { chart: `${pin.repository}/${pin.chart}`, version: pin.version }
        : { chart: pin.chart, version: pin.version, repositoryOpts: { repo: pin.repository } };
}
