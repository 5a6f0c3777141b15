import { describe, expect, it } from "vitest";
import { defaultMetricsServerResources, MetricsServer, metricsServerReleaseName, metricsServerValues } from "../components/platform/metricsServer";
import { defaultVersions } from "../versions";
import { runPolicies } from "../policy/policies";
import { undeclaredValuePaths } from "./chartValues";
import { describeWithSharedSchemas, readUpstreamYaml } from "./shared";
import { FakeCluster, installMocks } from "./kit";
import { quantityValue } from "./quantity";

// As the serving platform sets them: EKS (CA-signed kubelet certificates, HA), kind (self-signed, one node).
const eks = () => metricsServerValues({ kubeletCertificatesVerifiable: true, replicas: 2 }) as any;
const local = () => metricsServerValues({ kubeletCertificatesVerifiable: false, replicas: 1 }) as any;

describe("metricsServerValues", () => {
    it("eks: two replicas spread over nodes and zones, with a PDB that keeps one up", () => {
        const values = eks();
        expect(values.replicas).toBe(2);
        expect(values.podDisruptionBudget).toEqual({ enabled: true, minAvailable: 1 });
        expect(values.topologySpreadConstraints.map((c: any) => c.topologyKey).sort()).toEqual(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]);
    });

    it("local: one replica and no PDB (a PDB on a single replica would block every drain)", () => {
        const values = local();
        expect(values.replicas).toBe(1);
        expect(values.podDisruptionBudget).toEqual({ enabled: false });
        expect(values.topologySpreadConstraints).toBeUndefined();
    });

    it("skips kubelet certificate verification on kind only", () => {
        expect(local().args).toEqual(["--kubelet-insecure-tls"]);
        expect(eks().args).not.toContain("--kubelet-insecure-tls");
    });

    it("sets requests and limits", () => {
        for (const values of [eks(), local()]) {
            for (const kind of ["requests", "limits"]) {
                for (const key of ["cpu", "memory"]) expect(quantityValue(values.resources[kind][key]), `${kind}.${key}`).toBeGreaterThan(0);
            }
            expect(quantityValue(values.resources.limits.memory)).toBeGreaterThanOrEqual(quantityValue(values.resources.requests.memory));
        }
    });

    it("the spread constraints select the pods the chart labels (its selectorLabels: chart name + release name)", () => {
        // charts/metrics-server/templates/_helpers.tpl at metrics-server-helm-chart-3.13.1, `metrics-server.selectorLabels`:
        // app.kubernetes.io/name = the chart name (no nameOverride set), app.kubernetes.io/instance = the release name.
        const podLabels = { "app.kubernetes.io/name": "metrics-server", "app.kubernetes.io/instance": metricsServerReleaseName };
        expect(eks().nameOverride).toBeUndefined();
        for (const constraint of eks().topologySpreadConstraints) expect(constraint.labelSelector.matchLabels).toEqual(podLabels);
    });

    it("rejects bad input with a clear message", () => {
        expect(() => metricsServerValues({ kubeletCertificatesVerifiable: true, replicas: 0 })).toThrow(/replicas 0 is not an integer from 1 to 5/);
        expect(() =>
            metricsServerValues({ kubeletCertificatesVerifiable: true, replicas: 2, resources: { requests: { cpu: "lots", memory: "1Mi" }, limits: { cpu: "1", memory: "1Mi" } } }),
        ).toThrow(/resources.requests.cpu: 'lots'/);
    });

    describeWithSharedSchemas(`against the chart's values.yaml (chart ${defaultVersions.metricsServer})`, () => {
        const upstream = () => readUpstreamYaml("metricsServer", "values.yaml") as any;

        it("uses only value names the chart declares", () => {
            // `resources` is passed through whole (templates/deployment.yaml: `toYaml .Values.resources`); the
            // values file only shows `limits` commented out.
            const options = { freeForm: ["resources"] };
            for (const values of [eks(), local()]) expect(undeclaredValuePaths(values, upstream(), options)).toEqual([]);
            expect(undeclaredValuePaths({ ...eks(), podDisruptionBudget: { enable: true } }, upstream(), options)).toEqual(["podDisruptionBudget.enable"]);
        });

        it("the chart's defaults run non-root with nothing to escalate, and we keep them", () => {
            const securityContext = upstream().securityContext;
            expect(securityContext).toMatchObject({
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
            });
            expect(eks().securityContext).toBeUndefined();
            expect(local().securityContext).toBeUndefined();
        });

        it("kind's flag is not among the chart's defaultArgs, and `args` is where extra flags go", () => {
            expect(upstream().defaultArgs).not.toContain("--kubelet-insecure-tls");
            expect(upstream().args).toEqual([]);
        });

        it("requests at least what upstream recommends for up to 100 nodes (the chart's default request)", () => {
            const recommended = upstream().resources.requests;
            expect(quantityValue(defaultMetricsServerResources.requests.cpu)).toBeGreaterThanOrEqual(quantityValue(recommended.cpu));
            expect(quantityValue(defaultMetricsServerResources.requests.memory)).toBeGreaterThanOrEqual(quantityValue(recommended.memory));
            // Upstream sets no limit; ours must leave room above the request.
            expect(upstream().resources.limits).toBeUndefined();
        });

        it("the PDB is off by default upstream and replicas default to 1 (so eks's settings matter)", () => {
            expect(upstream().podDisruptionBudget.enabled).toBe(false);
            expect(upstream().replicas).toBe(1);
        });
    });
});

describe("MetricsServer component", async () => {
    const rec = await installMocks();
    const cluster = new FakeCluster("cluster", "cpu");
    new MetricsServer("ms", { kubeletCertificatesVerifiable: true, replicas: 2, waitFor: [cluster] });
    new MetricsServer("ms-local", { kubeletCertificatesVerifiable: false });
    await rec.settle();
    const release = rec.one("kubernetes:helm.sh/v3:Release", "ms-release");
    const localRelease = rec.one("kubernetes:helm.sh/v3:Release", "ms-local-release");

    it("installs chart metrics-server 3.13.1 from its Helm repository into kube-system", () => {
        expect(release.inputs).toMatchObject({
            name: "metrics-server",
            namespace: "kube-system",
            chart: "metrics-server",
            version: "3.13.1",
            repositoryOpts: { repo: "https://kubernetes-sigs.github.io/metrics-server/" },
            values: { replicas: 2 },
        });
        expect(defaultVersions.metricsServer).toBe("3.13.1");
        expect(localRelease.inputs.values.args).toEqual(["--kubelet-insecure-tls"]);
    });

    it("is a child of its component and waits for the nodes only", () => {
        expect(release.parent).toBe(rec.one("inference-platform:cluster:MetricsServer", "ms").urn);
        expect(rec.dependsOn(release, rec.one("aws:eks/nodeGroup:NodeGroup", "cluster-cpu"))).toBe(true);
        expect(rec.dependsOn(localRelease, rec.one("aws:eks/nodeGroup:NodeGroup", "cluster-cpu"))).toBe(false);
    });

    it("passes the policy pack", () => {
        const views = rec.resources
            .filter((r) => r.type === "kubernetes:helm.sh/v3:Release")
            .map((r) => ({ type: r.type, name: r.name, urn: r.urn, inputs: r.inputs, dependencies: [...r.dependencies] }));
        expect(views).toHaveLength(2);
        expect(runPolicies(views)).toEqual([]);
    });

    it("validates before creating anything", () => {
        const before = rec.resources.length;
        expect(() => new MetricsServer("bad1", { kubeletCertificatesVerifiable: true, replicas: 9 })).toThrow(/replicas 9/);
        expect(() => new MetricsServer("bad2", { kubeletCertificatesVerifiable: true, namespace: "Kube_System" })).toThrow(/not a DNS label/);
        expect(() => new MetricsServer("bad3", { kubeletCertificatesVerifiable: true, versions: { ...defaultVersions, metricsServer: "3.8.0" } })).toThrow(
            /version '3.8.0' is not in the compatibility table/,
        );
        expect(rec.resources.length).toBe(before);
    });
});
