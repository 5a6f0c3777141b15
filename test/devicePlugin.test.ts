import { describe, expect, it } from "vitest";
import { DevicePlugin, devicePluginValues } from "../components/aws/devicePlugin";
import { undeclaredValuePaths } from "./chartValues";
import { itWithSharedSchemas, readUpstreamYaml } from "./shared";
import { installMocks, FakeCluster } from "./kit";

type Toleration = { key?: string; operator?: string; value?: string; effect?: string };
type Taint = { key: string; value: string; effect: string };

/** Kubernetes' toleration matching rule (core/v1 Toleration.ToleratesTaint), written from the API docs. */
function tolerates(tolerations: Toleration[], taint: Taint): boolean {
    return tolerations.some((t) => {
        if (t.effect && t.effect !== taint.effect) return false;
        if (t.key === undefined || t.key === "") return t.operator === "Exists";
        if (t.key !== taint.key) return false;
        return t.operator === "Exists" || ((t.operator ?? "Equal") === "Equal" && t.value === taint.value);
    });
}

/** Whether a pod with these values schedules onto a node with these labels (nodeSelector AND affinity terms). */
function schedulesOn(values: any, labels: Record<string, string>): boolean {
    const selectorOk = Object.entries(values.nodeSelector ?? {}).every(([k, v]) => labels[k] === v);
    const terms = values.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [{ matchExpressions: [] }];
    const affinityOk = terms.some((term: any) =>
        term.matchExpressions.every((e: any) => e.operator === "In" && e.values.includes(labels[e.key])),
    );
    return selectorOk && affinityOk;
}

describe("devicePluginValues", () => {
    const values = devicePluginValues() as any;
    const gpuTaint = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" };

    it("tolerates the GPU node group's taint nvidia.com/gpu=true:NoSchedule", () => {
        expect(tolerates(values.tolerations, gpuTaint)).toBe(true);
        // ...but not arbitrary other taints, which keep it off nodes it has no business on.
        expect(tolerates(values.tolerations, { key: "dedicated", value: "infra", effect: "NoSchedule" })).toBe(false);
        expect(tolerates(values.tolerations, { ...gpuTaint, effect: "NoExecute" })).toBe(false);
    });

    it("runs only on nodes labelled nvidia.com/gpu.present=true", () => {
        expect(schedulesOn(values, { "nvidia.com/gpu.present": "true", "kubernetes.io/os": "linux" })).toBe(true);
        expect(schedulesOn(values, { "kubernetes.io/os": "linux" })).toBe(false);
        // The chart's default affinity also matches NFD's PCI label; without NFD that label must not be enough.
        expect(schedulesOn(values, { "feature.node.kubernetes.io/pci-10de.present": "true" })).toBe(false);
    });

    it("leaves node-feature-discovery and gpu-feature-discovery out (the AMI ships driver and toolkit)", () => {
        expect(values.nfd).toEqual({ enabled: false });
        expect(values.gfd).toEqual({ enabled: false });
    });

    it("sets requests, limits and a restricted container security context", () => {
        expect(values.resources.requests).toBeDefined();
        expect(values.resources.limits).toBeDefined();
        expect(values.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    });

    itWithSharedSchemas("uses only value names the chart's values.yaml declares", () => {
        const upstream = readUpstreamYaml("nvidiaDevicePlugin", "values.yaml");
        // `nfd.enabled` is read by the chart's dependency condition (Chart.yaml), not declared in values.yaml;
        // the default affinity is replaced wholesale.
        expect(undeclaredValuePaths(values, upstream, { extra: ["nfd.enabled"], freeForm: ["affinity"] })).toEqual([]);
        // The upstream default affinity is the one this overrides: it really does admit NFD-labelled nodes.
        expect(schedulesOn({ affinity: upstream.affinity }, { "feature.node.kubernetes.io/pci-10de.present": "true" })).toBe(true);
    });
});

describe("DevicePlugin component", async () => {
    const rec = await installMocks();
    const cluster = new FakeCluster("cluster", "gpu");
    new DevicePlugin("gpu", { waitFor: [cluster] });
    await rec.settle();
    const release = rec.one("kubernetes:helm.sh/v3:Release", "gpu-release");

    it("installs nvidia-device-plugin 0.18.2 from NVIDIA's repository into kube-system", () => {
        expect(release.inputs).toMatchObject({
            name: "nvidia-device-plugin",
            namespace: "kube-system",
            chart: "nvidia-device-plugin",
            version: "0.18.2",
            repositoryOpts: { repo: "https://nvidia.github.io/k8s-device-plugin" },
            values: { nodeSelector: { "nvidia.com/gpu.present": "true" }, gfd: { enabled: false } },
        });
    });

    it("waits for the node groups and creates no AWS resources", () => {
        expect(rec.dependsOn(release, rec.one("aws:eks/nodeGroup:NodeGroup", "cluster-gpu"))).toBe(true);
        const parent = rec.one("inference-platform:gpu:DevicePlugin", "gpu");
        expect(rec.resources.filter((r) => r.parent === parent.urn).map((r) => r.type)).toEqual(["kubernetes:helm.sh/v3:Release"]);
    });

    it("refuses the default namespace, which the chart rejects", () => {
        expect(() => new DevicePlugin("bad", { namespace: "default" })).toThrow(/other than 'default'/);
        expect(() => new DevicePlugin("bad2", { namespace: "GPU" })).toThrow(/DNS label/);
    });
});
