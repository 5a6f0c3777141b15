import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseCidr } from "../components/common/validation";
import { ConfigError, ConfigKeyName, configKeys, configKeySpecs, defaultBucketPrefix, loadConfig, bucketPrefixProblems } from "../config";

type Raw = Partial<Record<ConfigKeyName | "aws:region" | "aws:profile", string>>;

function load(raw: Raw, stack = "dev") {
    return loadConfig({ get: (key) => raw[key] }, "inference-platform", stack);
}

/** The problems reported for `raw`, or [] when it loads. */
function problemsOf(raw: Raw): readonly string[] {
    try {
        load(raw);
        return [];
    } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
    }
}

const eks: Raw = { "aws:region": "us-east-2" };

describe("loadConfig defaults", () => {
    it("loads a minimal eks config with the documented defaults", () => {
        const cfg = load(eks);
        expect(cfg.platform).toBe("eks");
        expect(cfg.cluster.name).toBe("inference-platform-dev");
        expect(cfg.cluster.kubernetesVersion).toBe("1.34");
        expect(cfg.gpuNodes).toMatchObject({ enabled: true, minSize: 0, desiredSize: 0, instanceTypes: ["g5.xlarge", "g6.xlarge", "g4dn.xlarge"] });
        expect(cfg.cpuNodes.minSize).toBeGreaterThanOrEqual(1);
        expect(cfg.network).toEqual({ vpcCidr: "10.0.0.0/16", availabilityZoneCount: 2, natGateways: "single", elasticIpQuota: 5 });
        expect(cfg.cluster.previewPrincipalArns).toEqual([]);
        expect(cfg.modelStore.encryption).toBe("AES256");
        expect(cfg.modelStore.modelPrefix).toBe("models/");
        expect(cfg.auth.mode).toBe("open-model-paths");
        expect(cfg.examples).not.toContain("gpu");
        expect(cfg.versions.istio).toBe("1.29.6");
    });

    it("every key with a fixed default in the schema loads to that default", () => {
        const cfg = load(eks);
        expect(cfg.cpuNodes.maxSize).toBe(configKeys.cpuMaxSize.default);
        expect(cfg.gpuNodes.diskSizeGiB).toBe(configKeys.gpuDiskSizeGiB.default);
        expect(cfg.models.namespace).toBe(configKeys.modelNamespace.default);
        expect(cfg.modelStore.noncurrentVersionExpirationDays).toBe(configKeys.modelBucketNoncurrentDays.default);
        expect(cfg.ingress.localHttpPort).toBe(configKeys.localIngressPort.default);
    });

    it("reads structured values as Pulumi stores them (JSON strings)", () => {
        const cfg = load({ ...eks, cpuInstanceTypes: JSON.stringify(["c6i.xlarge"]), cpuCapacityType: "SPOT", gpuEnabled: "false" });
        expect(cfg.cpuNodes.instanceTypes).toEqual(["c6i.xlarge"]);
        expect(cfg.cpuNodes.capacityType).toBe("SPOT");
        expect(cfg.gpuNodes.enabled).toBe(false);
    });

    it("treats empty strings (Pulumi.yaml's default for optional keys) as unset", () => {
        const cfg = load({ ...eks, clusterName: "", domain: "", jwtIssuer: "", gatewayImage: "" });
        expect(cfg.cluster.name).toBe("inference-platform-dev");
        expect(cfg.ingress.domain).toBeUndefined();
        expect(cfg.gateway.image).toBeUndefined();
    });

    it("defaults authMode to jwt when an issuer is configured", () => {
        const cfg = load({ ...eks, jwtIssuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/jwks" });
        expect(cfg.auth.mode).toBe("jwt");
    });

    it("needs no region on the local platform", () => {
        const cfg = load({ platform: "local", inferenceServer: "false", examples: '["sklearn-iris"]' });
        expect(cfg.region).toBeUndefined();
        expect(cfg.ingress.localIp).toBe("127.0.0.1");
    });
});

describe("loadConfig rejects bad config, naming the key", () => {
    const cases: [string, Raw, RegExp][] = [
        ["GPU max below min", { gpuProvisioner: "node-group", gpuMinSize: "2", gpuMaxSize: "1", gpuDesiredSize: "2" }, /gpuMaxSize \(1\) < gpuMinSize \(2\)/],
        ["desired outside min..max", { cpuMinSize: "2", cpuDesiredSize: "5", cpuMaxSize: "4" }, /cpuDesiredSize \(5\) must be between cpuMinSize \(2\) and cpuMaxSize \(4\)/],
        ["unknown CPU instance family", { cpuInstanceTypes: '["zz9.large"]' }, /cpuInstanceTypes: 'zz9.large': unknown or unsuitable instance family 'zz9'/],
        ["CPU family in the GPU group", { gpuProvisioner: "node-group", gpuInstanceTypes: '["m5.large"]' }, /gpuInstanceTypes: 'm5.large': unknown or unsuitable instance family 'm5'/],
        ["malformed instance type", { cpuInstanceTypes: '["m5large"]' }, /cpuInstanceTypes: 'm5large' is not an instance type/],
        ["mixed architectures", { cpuInstanceTypes: '["m6g.large","m6i.large"]' }, /cpuInstanceTypes: mixes arm64/],
        ["malformed VPC CIDR", { vpcCidr: "10.0.0.0/33" }, /vpcCidr: '10.0.0.0\/33' is not a valid IPv4 CIDR/],
        ["VPC CIDR with host bits", { vpcCidr: "10.0.0.1/16" }, /vpcCidr: '10.0.0.1\/16' is not a valid IPv4 CIDR/],
        ["VPC too small", { vpcCidr: "10.0.0.0/24" }, /vpcCidr: prefix \/24 must be \/16 to \/22/],
        ["malformed endpoint CIDR", { endpointPublicAccessCidrs: '["1.2.3.4"]' }, /endpointPublicAccessCidrs: '1.2.3.4' is not a valid IPv4 CIDR/],
        ["bad bucket prefix", { modelBucketPrefix: "My_Bucket" }, /modelBucketPrefix: 'My_Bucket' must use lowercase letters/],
        ["bucket prefix too long", { modelBucketPrefix: "a".repeat(40) }, /modelBucketPrefix: 'a{40}' must be 1 to 37 characters/],
        ["unsupported Kubernetes version", { kubernetesVersion: "1.30" }, /kubernetesVersion: '1.30' is not supported; use one of 1.33, 1.34, 1.35/],
        ["bad capacity type", { cpuCapacityType: "spot" }, /cpuCapacityType: 'spot' is not supported; use one of ON_DEMAND, SPOT/],
        ["bad admin ARN", { adminPrincipalArns: '["arn:aws:iam::123:role/x"]' }, /adminPrincipalArns: 'arn:aws:iam::123:role\/x' is not an IAM role or user ARN/],
        ["version outside the table", { knativeVersion: "knative-v1.19.0" }, /knativeVersion \(knative-v1.19.0\) is not in the compatibility table; allowed: knative-v1.21.1/],
        ["jwt without issuer", { authMode: "jwt" }, /jwtIssuer: required when authMode is jwt/],
        ["non-https issuer", { jwtIssuer: "http://issuer", jwksUri: "https://x/jwks" }, /jwtIssuer: 'http:\/\/issuer' must be an https:\/\/ URL/],
        ["unknown example", { examples: '["sklearn-iris","bert"]' }, /examples: unknown example 'bert'/],
        ["gpu example without GPU nodes", { gpuEnabled: "false", examples: '["gpu"]' }, /examples: 'gpu' needs gpuEnabled: true/],
        ["pvc example without the model claim", { modelVolume: "false", examples: '["sklearn-iris-pvc"]' }, /examples: 'sklearn-iris-pvc' serves from the models claim; it needs modelVolume: true/],
        ["storage switch that is not a boolean", { ebsCsiDriver: "on" }, /ebsCsiDriver: 'on' is not true or false/],
        ["llm example on the local platform", { platform: "local", examples: '["llm"]' }, /examples: 'llm' serves on a GPU \(vLLM\), and the local platform has no GPU nodes/],
        ["llm example without GPU nodes", { gpuEnabled: "false", examples: '["llm"]' }, /examples: 'llm' needs GPU nodes: set gpuEnabled: true/],
        ["negative warm replicas", { llmMinReplicas: "-1" }, /llmMinReplicas: -1 is outside 0..4/],
        ["a token Secret name Kubernetes rejects", { hfTokenSecret: "HF_TOKEN" }, /hfTokenSecret: 'HF_TOKEN' is not a valid Secret name/],
        ["kms key with AES256", { modelBucketKmsKeyArn: "arn:aws:kms:us-east-2:123456789012:key/0b5b6d3c-1111-2222-3333-444455556666" }, /modelBucketKmsKeyArn: set, but modelBucketEncryption is not aws:kms/],
        ["not an integer", { cpuMaxSize: "four" }, /cpuMaxSize: 'four' is not an integer/],
        ["not a boolean", { ephemeral: "yes" }, /ephemeral: 'yes' is not true or false/],
        ["not a list", { examples: "sklearn-iris" }, /examples: not a list/],
        ["bad namespace", { modelNamespace: "Models" }, /modelNamespace: 'Models' is not a valid Kubernetes namespace/],
        ["platform namespace", { modelNamespace: "istio-system" }, /modelNamespace: 'istio-system' belongs to the platform/],
        ["bad domain", { domain: "not a domain" }, /domain: 'not a domain' is not a DNS domain/],
        ["bad gateway image", { gatewayImage: "UPPER/case:tag" }, /gatewayImage: 'UPPER\/case:tag' is not an image reference/],
        ["too few AZs", { availabilityZones: "1" }, /availabilityZones: 1 is outside 2..4/],
        ["local gateway without an image", { platform: "local", inferenceServer: "true" }, /gatewayImage: required on the local platform while inferenceServer or the clothing-transformer example is on/],
        ["bad cluster name", { clusterName: "-bad" }, /clusterName: '-bad' must be 1-100 characters/],
        ["bad preview principal", { previewPrincipalArns: '["arn:aws:iam::123:role/x"]' }, /previewPrincipalArns: 'arn:aws:iam::123:role\/x' is not an IAM role or user ARN/],
        [
            "preview principal that is also an admin",
            { adminPrincipalArns: '["arn:aws:iam::123456789012:role/ci"]', previewPrincipalArns: '["arn:aws:iam::123456789012:role/ci"]' },
            /previewPrincipalArns: 'arn:aws:iam::123456789012:role\/ci' is also in adminPrincipalArns/,
        ],
        // 3 NAT gateways + 3 NLB addresses = 6 > AWS's default regional quota of 5.
        [
            "more Elastic IPs than the quota",
            { availabilityZones: "3", natGateways: "onePerAz", preflight: "false" },
            /elasticIpQuota: the stack needs 6 Elastic IPs \(3 for NAT, 3 for the NLB\) but the quota is 5; lower availabilityZones or set natGateways: single/,
        ],
    ];
    for (const [what, raw, message] of cases) {
        it(what, () => {
            const problems = problemsOf({ ...eks, ...raw });
            expect(problems.some((p) => message.test(p)), `problems were:\n${problems.join("\n")}`).toBe(true);
        });
    }

    it("llm: on eks with GPU nodes it loads, with the warm replicas and token Secret given; defaults to scale to zero", () => {
        const cfg = load({ ...eks, examples: '["llm"]', llmMinReplicas: "1", hfTokenSecret: "hf-token" });
        expect(cfg.examples).toEqual(["llm"]);
        expect(cfg.llm).toEqual({ minReplicas: 1, hfTokenSecret: "hf-token" });
        expect(load({ ...eks, examples: '["llm"]' }).llm).toEqual({ minReplicas: 0, hfTokenSecret: undefined });
        // The local stack file keeps it off (no GPU), and the dev stack turns it on.
        expect(problemsOf({ platform: "local", examples: '["sklearn-iris"]', inferenceServer: "false" })).toEqual([]);
    });

    it("without preflight, fits the configured Elastic IP quota: default layout needs 3, a raised quota admits more, local needs none", () => {
        const offline: Raw = { ...eks, preflight: "false" };
        expect(problemsOf({ ...offline, availabilityZones: "4" })).toEqual([]); // 1 NAT + 4 NLB
        expect(problemsOf({ ...offline, availabilityZones: "3", natGateways: "onePerAz", elasticIpQuota: "6" })).toEqual([]);
        expect(problemsOf({ ...offline, availabilityZones: "4", natGateways: "onePerAz", elasticIpQuota: "7" })).toContainEqual(
            expect.stringMatching(/^elasticIpQuota: the stack needs 8 Elastic IPs/),
        );
        expect(problemsOf({ platform: "local", availabilityZones: "4", natGateways: "onePerAz", gatewayImage: "gw:dev", preflight: "false" })).toEqual([]);
    });

    it("with preflight on (the default) the real quota is read at preview: the configured one is not checked", () => {
        expect(load(eks).preflight).toBe(true);
        expect(problemsOf({ ...eks, availabilityZones: "4", natGateways: "onePerAz" })).toEqual([]); // 8 > 5, left to preflight
    });

    it("requires aws:region on eks", () => {
        expect(problemsOf({})).toContainEqual(expect.stringMatching(/^aws:region: required on the eks platform/));
        expect(problemsOf({ "aws:region": "Ohio" })).toContainEqual("aws:region: 'Ohio' is not an AWS region");
    });

    it("reports every problem at once, in one error", () => {
        let error: unknown;
        try {
            load({ ...eks, gpuMinSize: "3", gpuMaxSize: "1", gpuDesiredSize: "3", vpcCidr: "nope", kubernetesVersion: "1.29", modelBucketPrefix: "UP" });
        } catch (err) {
            error = err;
        }
        expect(error).toBeInstanceOf(ConfigError);
        const problems = (error as ConfigError).problems;
        for (const key of ["gpuMaxSize", "vpcCidr", "kubernetesVersion", "modelBucketPrefix"]) {
            expect(problems.some((p) => p.startsWith(key)), key).toBe(true);
        }
        expect((error as ConfigError).message).toMatch(/^Invalid configuration \(\d+ problems\):\n  - /);
    });
});

describe("pure helpers", () => {
    it("parseCidr accepts exactly the aligned IPv4 CIDRs", () => {
        fc.assert(
            fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (ip, prefix) => {
                const value = ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
                const aligned = prefix === 32 || value % 2 ** (32 - prefix) === 0;
                expect(parseCidr(`${ip}/${prefix}`) !== undefined).toBe(aligned);
            }),
        );
        expect(parseCidr("256.0.0.0/8")).toBeUndefined();
        expect(parseCidr("10.0.0.0")).toBeUndefined();
    });

    it("the default bucket prefix is always a valid prefix", () => {
        fc.assert(
            fc.property(fc.string({ minLength: 1, maxLength: 80 }), fc.string({ minLength: 1, maxLength: 80 }), (project, stack) => {
                const prefix = defaultBucketPrefix(`a${project}`, `b${stack}`);
                expect(bucketPrefixProblems(prefix)).toEqual([]);
            }),
        );
    });
});

describe("GPU capacity: gpuProvisioner and the Karpenter keys", () => {
    it("defaults to Karpenter on eks: g6/g5/g6e, spot with fallback, 2 GPUs at 8 vCPUs each, no CPU burst pool, preflight on", () => {
        const cfg = load(eks);
        expect(cfg.gpuProvisioner).toBe("karpenter");
        expect(cfg.karpenter).toEqual({ instanceFamilies: ["g6", "g5", "g6e"], spot: true, maxGpus: 2, maxVcpus: 16, consolidateAfter: "10m", cpuBurst: undefined });
        expect(cfg.preflight).toBe(true);
        expect(cfg.versions.karpenter).toBe("1.14.1");
    });

    it("derives the vCPU limit from the GPU limit unless set, and takes an explicit one", () => {
        expect(load({ ...eks, gpuMaxGpus: "4" }).karpenter.maxVcpus).toBe(32);
        expect(load({ ...eks, gpuMaxGpus: "4", gpuMaxVcpus: "48" }).karpenter.maxVcpus).toBe(48);
        expect(load({ ...eks, gpuMaxGpus: "3", gpuMaxVcpus: "0" }).karpenter.maxVcpus).toBe(24);
    });

    it("keys of the other mode at their declared default are fine: Pulumi hands the program Pulumi.yaml's defaults as values", () => {
        const declaredDefaults = Object.fromEntries(
            Object.entries(configKeySpecs)
                .filter(([, spec]) => spec.default !== undefined)
                .map(([key, spec]) => [key, Array.isArray(spec.default) ? JSON.stringify(spec.default) : String(spec.default)]),
        ) as Raw;
        expect(problemsOf({ ...declaredDefaults, ...eks })).toEqual([]);
        expect(problemsOf({ ...declaredDefaults, ...eks, gpuProvisioner: "node-group" })).toEqual([]);
        // ...while a changed value of the other mode is still reported.
        expect(problemsOf({ ...declaredDefaults, ...eks, gpuInstanceTypes: '["g6.xlarge"]' })).toEqual([
            expect.stringMatching(/^gpuInstanceTypes: applies to gpuProvisioner: node-group only/),
        ]);
    });

    it("reads the CPU burst pool only when it is on", () => {
        expect(load({ ...eks, cpuBurstPool: "true", cpuBurstMaxVcpus: "32", cpuBurstInstanceFamilies: '["c7i"]' }).karpenter.cpuBurst).toEqual({ instanceFamilies: ["c7i"], maxVcpus: 32 });
    });

    const cases: [string, Raw, RegExp][] = [
        ["unknown provisioner", { gpuProvisioner: "autoscaler" }, /^gpuProvisioner: 'autoscaler' is not supported; use one of karpenter, node-group$/],
        ["node-group key in karpenter mode", { gpuMaxSize: "4" }, /^gpuMaxSize: applies to gpuProvisioner: node-group only \(Karpenter picks sizes from gpuInstanceFamilies/],
        ["karpenter key in node-group mode", { gpuProvisioner: "node-group", gpuSpot: "false" }, /^gpuSpot: applies to gpuProvisioner: karpenter only/],
        ["karpenter limit in node-group mode", { gpuProvisioner: "node-group", gpuMaxGpus: "4" }, /^gpuMaxGpus: applies to gpuProvisioner: karpenter only/],
        ["unknown GPU family", { gpuInstanceFamilies: '["g6","m5"]' }, /^gpuInstanceFamilies: unknown or unsuitable instance family 'm5'/],
        ["no GPU family", { gpuInstanceFamilies: "[]" }, /^gpuInstanceFamilies: name 1 to 10 instance families \(got 0\)$/],
        ["repeated GPU family", { gpuInstanceFamilies: '["g6","g6"]' }, /^gpuInstanceFamilies: lists a family twice$/],
        ["vCPU limit below 4 per GPU", { gpuMaxGpus: "4", gpuMaxVcpus: "12" }, /^gpuMaxVcpus \(12\) must be at least 4 per GPU of gpuMaxGpus \(16\)/],
        ["family larger than the limits", { gpuInstanceFamilies: '["g6","p4d"]' }, /^gpuInstanceFamilies: p4d's smallest instance \(p4d.24xlarge: 8 GPUs, 96 vCPUs\) exceeds gpuMaxGpus \(2\)/],
        ["consolidation delay not a duration", { gpuConsolidateAfter: "ten minutes" }, /^gpuConsolidateAfter: 'ten minutes' must be a duration/],
        ["consolidation delay over a day", { gpuConsolidateAfter: "25h" }, /^gpuConsolidateAfter: '25h' must be a duration .* \(at most 24h\)$/],
        ["burst pool without GPUs", { gpuEnabled: "false", cpuBurstPool: "true" }, /^cpuBurstPool: needs gpuEnabled: true/],
        ["Graviton family in the burst pool", { cpuBurstPool: "true", cpuBurstInstanceFamilies: '["m7g"]' }, /^cpuBurstInstanceFamilies: unknown or unsuitable \(non-x86_64\) instance family 'm7g'/],
        ["small GPU disk with Karpenter", { gpuDiskSizeGiB: "30" }, /^gpuDiskSizeGiB: 30 is too small for Karpenter's GPU nodes/],
        ["karpenter version outside the table", { karpenterVersion: "1.13.0" }, /^karpenterVersion \(1.13.0\) is not in the compatibility table; allowed: 1.14.1$/],
        [
            "node-group size preflight cannot count",
            { gpuProvisioner: "node-group", gpuInstanceTypes: '["g4dn.metal"]' },
            /^gpuInstanceTypes: 'g4dn.metal' has no vCPU count preflight knows/,
        ],
    ];
    for (const [what, raw, message] of cases) {
        it(what, () => {
            const problems = problemsOf({ ...eks, ...raw });
            expect(problems.some((p) => message.test(p)), `problems were:\n${problems.join("\n")}`).toBe(true);
        });
    }

    it("the same values are fine where they mean something", () => {
        expect(problemsOf({ ...eks, gpuProvisioner: "node-group", gpuMaxSize: "4", gpuInstanceTypes: '["g5.2xlarge"]' })).toEqual([]);
        expect(problemsOf({ ...eks, gpuProvisioner: "node-group", gpuInstanceTypes: '["g4dn.metal"]', preflight: "false" })).toEqual([]);
        expect(problemsOf({ ...eks, gpuInstanceFamilies: '["g6","p4d"]', gpuMaxGpus: "8", gpuMaxVcpus: "96" })).toEqual([]);
        expect(problemsOf({ ...eks, gpuConsolidateAfter: "1h30m", gpuDiskSizeGiB: "50" })).toEqual([]);
        // The local platform has no Karpenter; eks-only keys are not judged there.
        expect(problemsOf({ platform: "local", gatewayImage: "gw:dev", gpuMaxSize: "4" })).toEqual([]);
    });
});

describe("misspelt and unknown keys", () => {
    /** Loads `raw` with its keys visible, as a stack file presents them. */
    const problemsWithKeys = (raw: Raw): readonly string[] => {
        try {
            loadConfig({ get: (key) => raw[key], keys: () => Object.keys(raw).filter((k) => !k.startsWith("aws:")) }, "inference-platform", "dev");
            return [];
        } catch (err) {
            if (err instanceof ConfigError) return err.problems;
            throw err;
        }
    };
    // Each: what a user typed, what they meant.
    const misspellings: [string, string][] = [
        ["gpuMaxSze", "gpuMaxSize"],
        ["authMod", "authMode"],
        ["exmaples", "examples"],
        ["cpuinstancetypes", "cpuInstanceTypes"],
        ["kubernetesVerison", "kubernetesVersion"],
        ["availabilityZone", "availabilityZones"],
        ["natGateway", "natGateways"],
        ["gpuEnable", "gpuEnabled"],
        ["modelBucketEncription", "modelBucketEncryption"],
        ["inferenceSever", "inferenceServer"],
        ["jwtIsuer", "jwtIssuer"],
        ["cpuMinsize", "cpuMinSize"],
        ["kubeContxt", "kubeContext"],
    ];
    for (const [typed, meant] of misspellings) {
        it(`${typed}: names the key and suggests ${meant}`, () => {
            expect(problemsWithKeys({ ...(eks as Record<string, string>), [typed]: "1" } as Raw)).toEqual([`${typed}: unknown key; did you mean ${meant}?`]);
        });
    }

    it("a key nothing resembles is still an error, pointing at the reference", () => {
        expect(problemsWithKeys({ ...(eks as Record<string, string>), replicaCountForEverything: "3" } as Raw)).toEqual([
            "replicaCountForEverything: unknown key (see the configuration reference in README.md)",
        ]);
    });

    it("five misspelt keys give five problems, each with its suggestion, in one error", () => {
        const typed = { gpuMaxSze: "3", authMod: "jwt", exmaples: '["gpu"]', cpuMaxSiz: "5", domian: "models.example.com" };
        const problems = problemsWithKeys({ ...(eks as Record<string, string>), ...typed } as Raw);
        expect(problems).toHaveLength(5);
        expect(problems).toEqual([
            "gpuMaxSze: unknown key; did you mean gpuMaxSize?",
            "authMod: unknown key; did you mean authMode?",
            "exmaples: unknown key; did you mean examples?",
            "cpuMaxSiz: unknown key; did you mean cpuMaxSize?",
            "domian: unknown key; did you mean domain?",
        ]);
    });

    it("reports a bad value once, even when other checks involve the key", () => {
        const problems = problemsOf({ ...eks, cpuMinSize: "-2" });
        expect(problems).toEqual(["cpuMinSize: -2 is outside 1..100 (the platform's controllers run on CPU nodes)"]);
        expect(problemsOf({ ...eks, gpuProvisioner: "node-group", gpuMinSize: "x", gpuMaxSize: "1" })).toEqual(["gpuMinSize: 'x' is not an integer"]);
        expect(problemsOf({ ...eks, gpuMaxGpus: "0", gpuMaxVcpus: "4" })).toEqual(["gpuMaxGpus: 0 is outside 1..512"]);
    });

    it("is a pulumi.RunError, so `pulumi up` shows the message without a stack trace", async () => {
        const pulumi = await import("@pulumi/pulumi");
        let error: unknown;
        try {
            load({ ...eks, availabilityZones: "9" });
        } catch (err) {
            error = err;
        }
        expect(error).toBeInstanceOf(pulumi.RunError);
        expect(pulumi.RunError.isInstance(error)).toBe(true);
        expect((error as Error).message).toBe("Invalid configuration (1 problem):\n  - availabilityZones: 9 is outside 2..4");
    });

    it("defaults come from the declarations only: every declared default is what an empty stack loads", () => {
        const cfg = load(eks);
        const loaded: Record<string, unknown> = {
            platform: cfg.platform, ephemeral: cfg.ephemeral, vpcCidr: cfg.network.vpcCidr, availabilityZones: cfg.network.availabilityZoneCount,
            natGateways: cfg.network.natGateways, kubernetesVersion: cfg.cluster.kubernetesVersion, endpointPublicAccessCidrs: cfg.cluster.publicAccessCidrs,
            adminPrincipalArns: cfg.cluster.adminPrincipalArns, previewPrincipalArns: cfg.cluster.previewPrincipalArns, elasticIpQuota: cfg.network.elasticIpQuota,
            cpuInstanceTypes: cfg.cpuNodes.instanceTypes, cpuCapacityType: cfg.cpuNodes.capacityType, cpuMinSize: cfg.cpuNodes.minSize,
            cpuDesiredSize: cfg.cpuNodes.desiredSize, cpuMaxSize: cfg.cpuNodes.maxSize, cpuDiskSizeGiB: cfg.cpuNodes.diskSizeGiB,
            gpuEnabled: cfg.gpuNodes.enabled, gpuInstanceTypes: cfg.gpuNodes.instanceTypes, gpuCapacityType: cfg.gpuNodes.capacityType,
            gpuMinSize: cfg.gpuNodes.minSize, gpuDesiredSize: cfg.gpuNodes.desiredSize, gpuMaxSize: cfg.gpuNodes.maxSize, gpuDiskSizeGiB: cfg.gpuNodes.diskSizeGiB,
            modelBucketEncryption: cfg.modelStore.encryption, modelBucketVersioning: cfg.modelStore.versioning,
            modelBucketNoncurrentDays: cfg.modelStore.noncurrentVersionExpirationDays, modelNamespace: cfg.models.namespace,
            modelServiceAccount: cfg.models.serviceAccountName, istioVersion: cfg.versions.istio, knativeVersion: cfg.versions.knative,
            certManagerVersion: cfg.versions.certManager, kserveVersion: cfg.versions.kserve, awsLoadBalancerControllerVersion: cfg.versions.awsLoadBalancerController,
            nvidiaDevicePluginVersion: cfg.versions.nvidiaDevicePlugin, clusterAutoscalerVersion: cfg.versions.clusterAutoscaler,
            metricsServerVersion: cfg.versions.metricsServer, karpenterVersion: cfg.versions.karpenter, preflight: cfg.preflight,
            gpuProvisioner: cfg.gpuProvisioner, gpuInstanceFamilies: cfg.karpenter.instanceFamilies, gpuSpot: cfg.karpenter.spot,
            // 0 stands for "8 per GPU" (Pulumi.yaml needs an integer default); the derived value is checked in the GPU capacity tests.
            gpuMaxGpus: cfg.karpenter.maxGpus, gpuMaxVcpus: 0, gpuConsolidateAfter: cfg.karpenter.consolidateAfter, cpuBurstPool: cfg.karpenter.cpuBurst !== undefined,
            cpuBurstInstanceFamilies: load({ ...eks, cpuBurstPool: "true" }).karpenter.cpuBurst?.instanceFamilies,
            cpuBurstMaxVcpus: load({ ...eks, cpuBurstPool: "true" }).karpenter.cpuBurst?.maxVcpus, localIngressIp: cfg.ingress.localIp, localIngressPort: cfg.ingress.localHttpPort,
            examples: cfg.examples, llmMinReplicas: cfg.llm.minReplicas, inferenceServer: cfg.inferenceServer.enabled, inferenceServerGpu: cfg.inferenceServer.gpu, kubeContext: cfg.local.context,
            ebsCsiDriver: cfg.storage.ebsCsiDriver, modelVolume: cfg.storage.modelVolume,
        };
        for (const [key, spec] of Object.entries(configKeys)) {
            if (!("default" in spec)) continue;
            expect(key in loaded, `${key} has a declared default: compare it here`).toBe(true);
            expect(loaded[key], key).toEqual(spec.default);
        }
    });
});
