import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { kindPortMapping } from "../components/local/kindCluster";
import { kindNodeImage, supportedKubernetesVersions } from "../versions";
import { stackConfig } from "./stackFiles";

describe("local/kind-cluster.yaml", () => {
    const kind = YAML.parse(fs.readFileSync(path.resolve(__dirname, "../local/kind-cluster.yaml"), "utf8"));
    const local = stackConfig("local");

    it("maps the gateway's NodePort to the host port and IP the local stack's magic DNS uses", () => {
        const expected = kindPortMapping({
            localIp: local["inference-platform:localIngressIp"],
            hostPort: Number(local["inference-platform:localIngressPort"]),
        });
        const mappings = kind.nodes.find((n: any) => n.role === "control-plane").extraPortMappings;
        expect(mappings).toContainEqual(expected);
    });

    it("pins every node to one Kubernetes version the platform supports, by digest", () => {
        for (const node of kind.nodes) expect(node.image, node.role).toBe(kindNodeImage.image);
        const match = /^kindest\/node:v(\d+\.\d+)\.\d+@sha256:[0-9a-f]{64}$/.exec(kindNodeImage.image);
        expect(match, "a kindest/node tag with a digest").not.toBeNull();
        expect(match![1]).toBe(kindNodeImage.kubernetesVersion);
        // Knative Serving 1.21 needs Kubernetes >= 1.33; the pinned charts are tested up to 1.35.
        expect(supportedKubernetesVersions).toContain(match![1]);
    });

    it("is a kind v1alpha4 cluster with workers for the platform", () => {
        expect(kind.apiVersion).toBe("kind.x-k8s.io/v1alpha4");
        expect(kind.nodes.filter((n: any) => n.role === "worker").length).toBeGreaterThanOrEqual(1);
    });
});
