/**
 * The infrastructure summary at the top of plan.md, and the facts `--diff` compares: what a reviewer
 * checks first (region, Kubernetes version, who can reach the API, network, node groups, charts,
 * models, IAM, cost).
 *
 * Everything is read from the recorded resources (resources.json rows: what the program would really
 * create), never from the stack config: a config key the program ignores, or a default the program
 * overrides, would otherwise read as a change. Two exceptions, which are not resources: the region of
 * the default AWS provider (`aws:region`), and the cost estimate (the cost model's, per config).
 *
 * Pure functions; no Pulumi runtime.
 */

/** One row of resources.json (`npm run synth`). */
export interface ResourceRow {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly custom?: boolean;
    readonly parent?: string;
    readonly inputs?: Record<string, any>;
    readonly outputs?: Record<string, any>;
    readonly options?: Record<string, unknown>;
}

export interface NodeGroupSummary {
    /** Pulumi resource name (`cluster-cpu`). */
    readonly name: string;
    /** The `inference-platform/pool` label, when set. */
    readonly pool?: string;
    readonly instanceTypes: readonly string[];
    readonly capacityType: string;
    readonly minSize?: number;
    readonly desiredSize?: number;
    readonly maxSize?: number;
    /** Root volume, e.g. `50 GiB gp3, encrypted`. */
    readonly disk?: string;
    readonly amiType?: string;
    /** `key=value:EFFECT` per taint. */
    readonly taints: readonly string[];
}

export interface ChartSummary {
    readonly release: string;
    readonly namespace: string;
    readonly chart: string;
    readonly version: string;
}

export interface ManifestSetSummary {
    readonly name: string;
    /** URL or path of the manifests. */
    readonly source: string;
    /** Release tag found in the URL (`knative-v1.21.1`), when there is one. */
    readonly version?: string;
}

export interface ModelSummary {
    /** `namespace/name` of the InferenceService. */
    readonly name: string;
    readonly format: string;
    readonly protocol: string;
    readonly runtime?: string;
    readonly storageUri?: string;
    readonly replicas: string;
    readonly gpu: boolean;
    readonly transformer: boolean;
}

export interface RoleSummary {
    readonly name: string;
    /** Who may assume it: `pods: <namespace>/<service account>`, a service principal, ... */
    readonly assumedBy: string;
    readonly inlineStatements: number;
    readonly managedPolicies: readonly string[];
}

export interface PlanSummary {
    readonly project: string;
    readonly stack: string;
    readonly platform: "eks" | "local" | "unknown";
    /** Region of the default AWS provider (`aws:region`); undefined without AWS resources. */
    readonly region?: string;
    readonly counts: { readonly resources: number; readonly components: number };
    readonly cluster?: {
        readonly name?: string;
        readonly kubernetesVersion?: string;
        readonly endpointPublicAccess?: boolean;
        readonly endpointPrivateAccess?: boolean;
        readonly publicAccessCidrs: readonly string[];
        readonly authenticationMode?: string;
        readonly controlPlaneLogs: readonly string[];
        readonly supportType?: string;
    };
    /** An existing cluster the stack deploys into (local platform): its kubeconfig context. */
    readonly existingCluster?: { readonly context?: string };
    readonly network?: {
        readonly vpcCidr?: string;
        readonly availabilityZones?: number;
        readonly natGateways?: string;
        readonly s3GatewayEndpoint: boolean;
    };
    readonly nodeGroups: readonly NodeGroupSummary[];
    readonly ingress: { readonly serviceType?: string; readonly scheme?: string; readonly elasticIps: number; readonly authPolicies: readonly string[] };
    readonly modelStore?: { readonly kind: string; readonly detail: string };
    readonly charts: readonly ChartSummary[];
    readonly manifestSets: readonly ManifestSetSummary[];
    readonly models: readonly ModelSummary[];
    /** Deployments outside Helm charts (`namespace/name` → images). */
    readonly workloads: readonly { readonly name: string; readonly images: readonly string[]; readonly replicas?: number }[];
    readonly roles: readonly RoleSummary[];
    readonly cost?: { readonly idlePerHour: number; readonly peakPerHour: number };
}

export interface SummaryContext {
    readonly project: string;
    readonly stack: string;
    /** `aws:region` (the default AWS provider's region). */
    readonly region?: string;
    readonly cost?: { readonly idlePerHour: number; readonly peakPerHour: number };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const inputsOf = (r: ResourceRow): Record<string, any> => r.inputs ?? {};
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : undefined);

/** `<computed:TYPE:NAME.PROPERTY>` → NAME (the resource a placeholder refers to). */
export function placeholderResourceName(value: unknown): string | undefined {
    if (typeof value !== "string") return undefined;
    const m = /^<computed:.+:([^:<>]+)\.[\w[\]]+>$/.exec(value);
    return m?.[1];
}

function parsePolicy(value: unknown): { Statement?: unknown } | undefined {
    if (value && typeof value === "object") return value as { Statement?: unknown };
    if (typeof value !== "string") return undefined;
    try {
        const doc = JSON.parse(value);
        return doc && typeof doc === "object" ? doc : undefined;
    } catch {
        return undefined;
    }
}

/** Who a trust policy lets assume the role, in reviewer terms. */
function assumedBy(trust: unknown): string {
    const statements = asArray(parsePolicy(trust)?.Statement as Record<string, any>[] | undefined).filter((s) => s?.Effect === "Allow");
    const who = statements.flatMap((s) => {
        const principal = s.Principal ?? {};
        const subjects = Object.entries((s.Condition?.StringEquals ?? {}) as Record<string, unknown>)
            .filter(([k]) => k.endsWith(":sub"))
            .flatMap(([, v]) => asArray(v as string | string[]))
            .map((sub) => String(sub).replace(/^system:serviceaccount:/, "").replace(":", "/"));
        if (principal.Federated && subjects.length > 0) return subjects.map((sa) => `pods: ${sa}`);
        if (principal.Federated) return [`web identity: ${asArray(principal.Federated).join(", ")}`];
        if (principal.Service) return asArray(principal.Service).map((svc: string) => `service: ${svc}`);
        if (principal.AWS) return asArray(principal.AWS).map((p: string) => `principal: ${p}`);
        return [JSON.stringify(principal)];
    });
    return [...new Set(who)].sort(compare).join("; ") || "(nobody)";
}

/** The release tag in a GitHub release-download URL (`.../releases/download/<tag>/file.yaml`). */
function releaseTag(url: string): string | undefined {
    return /\/releases\/download\/([^/]+)\//.exec(url)?.[1];
}

/** Summarizes what the recorded resources would create. */
export function summarizePlan(resources: readonly ResourceRow[], context: SummaryContext): PlanSummary {
    const ofType = (type: string) => resources.filter((r) => r.type === type);
    const byName = (type: string, name: string | undefined) => (name === undefined ? undefined : resources.find((r) => r.type === type && r.name === name));
    const custom = resources.filter((r) => r.custom && r.type !== "pulumi:pulumi:Stack");

    const eks = ofType("eks:index:Cluster")[0];
    const vpc = ofType("awsx:ec2:Vpc")[0];
    const k8sProviders = ofType("pulumi:providers:kubernetes");
    const platform: PlanSummary["platform"] = eks ? "eks" : k8sProviders.length > 0 ? "local" : "unknown";
    const hasAws = resources.some((r) => /^(aws|awsx|eks):/.test(r.type));

    const cluster = eks
        ? (() => {
              const i = inputsOf(eks);
              return {
                  name: i.name,
                  kubernetesVersion: i.version,
                  endpointPublicAccess: i.endpointPublicAccess,
                  endpointPrivateAccess: i.endpointPrivateAccess,
                  publicAccessCidrs: i.endpointPublicAccess === false ? [] : asArray<string>(i.publicAccessCidrs ?? ["0.0.0.0/0"]),
                  authenticationMode: i.authenticationMode,
                  controlPlaneLogs: asArray<string>(i.enabledClusterLogTypes),
                  supportType: i.upgradePolicy?.supportType,
              };
          })()
        : undefined;

    const network = vpc
        ? {
              vpcCidr: inputsOf(vpc).cidrBlock,
              availabilityZones: num(inputsOf(vpc).numberOfAvailabilityZones),
              natGateways: inputsOf(vpc).natGateways?.strategy,
              s3GatewayEndpoint: ofType("aws:ec2/vpcEndpoint:VpcEndpoint").some((e) => /\.s3$/.test(String(inputsOf(e).serviceName)) && inputsOf(e).vpcEndpointType !== "Interface"),
          }
        : undefined;

    const nodeGroups: NodeGroupSummary[] = ofType("aws:eks/nodeGroup:NodeGroup")
        .map((g) => {
            const i = inputsOf(g);
            const template = byName("aws:ec2/launchTemplate:LaunchTemplate", placeholderResourceName(i.launchTemplate?.id));
            const ebs = asArray<Record<string, any>>(inputsOf(template ?? ({} as ResourceRow)).blockDeviceMappings)[0]?.ebs;
            const diskSize = num(ebs?.volumeSize) ?? num(i.diskSize);
            const disk = diskSize === undefined ? undefined : `${diskSize} GiB${ebs?.volumeType ? ` ${ebs.volumeType}` : ""}${String(ebs?.encrypted) === "true" ? ", encrypted" : ""}`;
            return {
                name: g.name,
                pool: i.labels?.["inference-platform/pool"],
                instanceTypes: asArray<string>(i.instanceTypes),
                capacityType: i.capacityType ?? "ON_DEMAND",
                minSize: num(i.scalingConfig?.minSize),
                desiredSize: num(i.scalingConfig?.desiredSize),
                maxSize: num(i.scalingConfig?.maxSize),
                disk,
                amiType: i.amiType,
                taints: asArray<Record<string, string>>(i.taints).map((t) => `${t.key}=${t.value ?? ""}:${t.effect}`),
            };
        })
        .sort((a, b) => compare(a.name, b.name));

    const releases = ofType("kubernetes:helm.sh/v3:Release");
    const gatewayRelease = releases.find((r) => String(inputsOf(r).chart).split("/").pop() === "gateway");
    const gatewayService = inputsOf(gatewayRelease ?? ({} as ResourceRow)).values?.service ?? {};
    const ingress = {
        serviceType: gatewayService.type,
        scheme: gatewayService.annotations?.["service.beta.kubernetes.io/aws-load-balancer-scheme"],
        elasticIps: ofType("aws:ec2/eip:Eip").length,
        authPolicies: [
            ...ofType("kubernetes:security.istio.io/v1:AuthorizationPolicy"),
            ...ofType("kubernetes:security.istio.io/v1:AuthorizationPolicyPatch"),
            ...ofType("kubernetes:security.istio.io/v1:RequestAuthentication"),
        ]
            .map((r) => `${inputsOf(r).kind ?? r.type.split(":").pop()} ${inputsOf(r).metadata?.namespace ?? ""}/${inputsOf(r).metadata?.name ?? r.name}${r.type.endsWith("Patch") ? " (patch)" : ""}`)
            .sort(compare),
    };

    const bucket = ofType("aws:s3/bucket:Bucket")[0];
    const modelStore = bucket
        ? (() => {
              const sse = inputsOf(ofType("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")[0] ?? ({} as ResourceRow)).rules?.[0]?.applyServerSideEncryptionByDefault?.sseAlgorithm;
              const versioning = inputsOf(ofType("aws:s3/bucketVersioning:BucketVersioning")[0] ?? ({} as ResourceRow)).versioningConfiguration?.status;
              const retained = bucket.options?.retainOnDelete === true;
              const name = inputsOf(bucket).bucket ?? `${inputsOf(bucket).bucketPrefix ?? bucket.name}…`;
              const parts = [`S3 bucket \`${name}\``, sse ? `encryption ${sse}` : "no default encryption", `versioning ${versioning ?? "off"}`, retained ? "kept on destroy" : "deleted on destroy"];
              if (inputsOf(bucket).forceDestroy === true) parts.push("force-destroy");
              return { kind: "s3", detail: parts.join(", ") };
          })()
        : (() => {
              const store = ofType("kubernetes:apps/v1:Deployment").find((d) => JSON.stringify(inputsOf(d).spec?.template?.spec?.containers ?? []).includes("versitygw"));
              if (!store) return undefined;
              const image = inputsOf(store).spec.template.spec.containers[0]?.image;
              const pvc = ofType("kubernetes:core/v1:PersistentVolumeClaim").find((p) => inputsOf(p).metadata?.namespace === inputsOf(store).metadata?.namespace);
              const size = inputsOf(pvc ?? ({} as ResourceRow)).spec?.resources?.requests?.storage;
              return { kind: "in-cluster S3", detail: `\`${image}\`${size ? `, ${size} volume` : ""}` };
          })();

    const charts: ChartSummary[] = releases
        .map((r) => {
            const i = inputsOf(r);
            return { release: i.name ?? r.name, namespace: i.namespace ?? "default", chart: String(i.chart ?? "").split("/").pop() ?? "", version: String(i.version ?? "(latest)") };
        })
        .sort((a, b) => compare(`${a.namespace}/${a.release}`, `${b.namespace}/${b.release}`));

    const manifestSets: ManifestSetSummary[] = resources
        .filter((r) => r.type.startsWith("kubernetes:yaml") || r.type.startsWith("kubernetes:kustomize"))
        .map((r) => {
            const i = inputsOf(r);
            const source = [i.file, ...asArray(i.files), i.directory].filter((x) => typeof x === "string").join(", ") || "(inline YAML)";
            return { name: r.name, source, version: releaseTag(source) };
        })
        .sort((a, b) => compare(a.name, b.name));

    const models: ModelSummary[] = ofType("kubernetes:serving.kserve.io/v1beta1:InferenceService")
        .map((r) => {
            const i = inputsOf(r);
            const predictor = i.spec?.predictor ?? {};
            const model = predictor.model ?? {};
            const limits = { ...(model.resources?.limits ?? {}), ...(model.resources?.requests ?? {}) };
            return {
                name: `${i.metadata?.namespace ?? "default"}/${i.metadata?.name ?? r.name}`,
                format: [model.modelFormat?.name, model.modelFormat?.version].filter(Boolean).join(" ") || "(custom)",
                protocol: model.protocolVersion ?? "v1",
                runtime: [model.runtime, model.runtimeVersion].filter(Boolean).join(" ") || undefined,
                storageUri: model.storageUri,
                replicas: `${predictor.minReplicas ?? 1}..${predictor.maxReplicas ?? "?"}`,
                gpu: "nvidia.com/gpu" in limits,
                transformer: i.spec?.transformer !== undefined,
            };
        })
        .sort((a, b) => compare(a.name, b.name));

    const workloads = ofType("kubernetes:apps/v1:Deployment")
        .map((d) => {
            const i = inputsOf(d);
            return {
                name: `${i.metadata?.namespace ?? "default"}/${i.metadata?.name ?? d.name}`,
                images: asArray<Record<string, any>>(i.spec?.template?.spec?.containers).map((c) => String(c.image)),
                replicas: num(i.spec?.replicas),
            };
        })
        .sort((a, b) => compare(a.name, b.name));

    const rolePolicies = ofType("aws:iam/rolePolicy:RolePolicy");
    const attachments = ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment");
    const roles: RoleSummary[] = ofType("aws:iam/role:Role")
        .map((role) => {
            const mine = (r: ResourceRow) => placeholderResourceName(inputsOf(r).role) === role.name || inputsOf(r).role === inputsOf(role).name;
            const inline = [...rolePolicies.filter(mine).map((p) => inputsOf(p).policy), ...asArray<Record<string, any>>(inputsOf(role).inlinePolicies).map((p) => p.policy)];
            return {
                name: role.name,
                assumedBy: assumedBy(inputsOf(role).assumeRolePolicy),
                inlineStatements: inline.reduce((n, doc) => n + asArray(parsePolicy(doc)?.Statement).length, 0),
                managedPolicies: [...attachments.filter(mine).map((a) => String(inputsOf(a).policyArn)), ...asArray<string>(inputsOf(role).managedPolicyArns)]
                    .map((arn) => arn.split("/").pop()!)
                    .sort(compare),
            };
        })
        .sort((a, b) => compare(a.name, b.name));

    return {
        project: context.project,
        stack: context.stack,
        platform,
        region: hasAws ? context.region : undefined,
        counts: { resources: custom.length, components: resources.filter((r) => !r.custom && r.type !== "pulumi:pulumi:Stack").length },
        cluster,
        existingCluster: !eks && k8sProviders.length > 0 ? { context: inputsOf(k8sProviders[0]).context } : undefined,
        network,
        nodeGroups,
        ingress,
        modelStore,
        charts,
        manifestSets,
        models,
        workloads,
        roles,
        cost: context.cost,
    };
}

/**
 * The summary as labelled facts (label → value), the unit `--diff` compares: a changed fact reads as
 * "Kubernetes version: 1.34 → 1.35", an added one as a new line.
 */
export function summaryFacts(s: PlanSummary): Map<string, string> {
    const facts = new Map<string, string>();
    const set = (label: string, value: unknown) => {
        if (value === undefined || value === null || value === "") return;
        facts.set(label, Array.isArray(value) ? value.join(", ") || "(none)" : String(value));
    };
    set("platform", s.platform);
    set("region", s.region);
    if (s.cluster) {
        set("EKS cluster name", s.cluster.name);
        set("Kubernetes version", s.cluster.kubernetesVersion);
        set("EKS support", s.cluster.supportType);
        set("API endpoint: public access", s.cluster.endpointPublicAccess === false ? "off" : "on");
        set("API endpoint: private access", s.cluster.endpointPrivateAccess ? "on" : "off");
        set("API endpoint: public access CIDRs", s.cluster.publicAccessCidrs);
        set("API authentication mode", s.cluster.authenticationMode);
        set("control-plane logs", s.cluster.controlPlaneLogs);
    }
    if (s.existingCluster) set("cluster", `existing, kubeconfig context ${s.existingCluster.context ?? "(current)"}`);
    if (s.network) {
        set("VPC CIDR", s.network.vpcCidr);
        set("availability zones", s.network.availabilityZones);
        set("NAT gateways", s.network.natGateways);
        set("S3 gateway endpoint", s.network.s3GatewayEndpoint ? "yes" : "no");
    }
    for (const g of s.nodeGroups) {
        const at = `node group ${g.name}`;
        set(`${at}: instance types`, g.instanceTypes);
        set(`${at}: capacity type`, g.capacityType);
        set(`${at}: size (min/desired/max)`, `${g.minSize ?? "?"}/${g.desiredSize ?? "?"}/${g.maxSize ?? "?"}`);
        set(`${at}: disk`, g.disk);
        set(`${at}: AMI type`, g.amiType);
        set(`${at}: taints`, g.taints);
    }
    set("ingress Service type", s.ingress.serviceType);
    set("ingress load balancer scheme", s.ingress.scheme);
    if (s.platform === "eks") set("Elastic IPs", s.ingress.elasticIps);
    set("ingress auth policies", s.ingress.authPolicies);
    if (s.modelStore) set(`model store (${s.modelStore.kind})`, s.modelStore.detail);
    for (const c of s.charts) set(`chart ${c.namespace}/${c.release} (${c.chart})`, c.version);
    for (const m of s.manifestSets) set(`manifests ${m.name}`, m.version ?? m.source);
    for (const m of s.models) {
        set(`model ${m.name}`, [m.format, `protocol ${m.protocol}`, m.runtime, m.gpu ? "GPU" : undefined, m.transformer ? "with transformer" : undefined, `replicas ${m.replicas}`].filter(Boolean).join(", "));
        set(`model ${m.name}: storage`, m.storageUri);
    }
    for (const w of s.workloads) set(`workload ${w.name}`, `${w.images.join(", ")}${w.replicas !== undefined ? ` x${w.replicas}` : ""}`);
    for (const r of s.roles) {
        set(`IAM role ${r.name}: assumed by`, r.assumedBy);
        set(`IAM role ${r.name}: inline statements`, r.inlineStatements);
        set(`IAM role ${r.name}: managed policies`, r.managedPolicies);
    }
    if (s.cost) {
        set("cost idle $/h", s.cost.idlePerHour.toFixed(3));
        set("cost peak $/h", s.cost.peakPerHour.toFixed(3));
    }
    return facts;
}

const cell = (v: unknown) => String(v ?? "").replace(/\|/g, "\\|").replace(/\n/g, " ");
const code = (v: unknown) => (v === undefined || v === "" ? "" : `\`${String(v).replace(/`/g, "'")}\``);
const table = (header: string[], rows: unknown[][]) => [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)];

/** Markdown of the summary (plan.md's first section; also the CI job summary). */
export function renderSummary(s: PlanSummary): string[] {
    const out: string[] = [];
    const push = (...lines: string[]) => out.push(...lines);
    const rows: [string, string][] = [["platform", `${s.platform}${s.region ? `, region \`${s.region}\`` : ""}`]];
    if (s.cluster) {
        const c = s.cluster;
        rows.push(
            ["EKS cluster", `${code(c.name)}, Kubernetes **${c.kubernetesVersion ?? "?"}**${c.supportType ? ` (${c.supportType.toLowerCase()} support)` : ""}`],
            [
                "API endpoint",
                `${c.endpointPublicAccess === false ? "private only" : `public from ${c.publicAccessCidrs.map(code).join(", ") || "(no CIDR)"}`}${c.endpointPrivateAccess ? ", private in the VPC" : ""}${c.authenticationMode ? `; auth ${c.authenticationMode}` : ""}`,
            ],
            ["control-plane logs", c.controlPlaneLogs.join(", ") || "off"],
        );
    }
    if (s.existingCluster) rows.push(["cluster", `existing cluster, kubeconfig context ${code(s.existingCluster.context ?? "(current)")}; its nodes are not managed here`]);
    if (s.network) {
        const n = s.network;
        rows.push(["VPC", `${code(n.vpcCidr)}, ${n.availabilityZones ?? "?"} AZs, NAT ${n.natGateways ?? "?"}${n.s3GatewayEndpoint ? ", S3 gateway endpoint" : ""}`]);
    }
    const ing = s.ingress;
    rows.push(["ingress", [ing.serviceType ? `gateway Service ${ing.serviceType}${ing.scheme ? ` (${ing.scheme})` : ""}` : undefined, s.platform === "eks" ? `${ing.elasticIps} Elastic IPs` : undefined, ing.authPolicies.length ? `auth: ${ing.authPolicies.join(", ")}` : "no auth policy"].filter(Boolean).join("; ")]);
    if (s.modelStore) rows.push(["model store", s.modelStore.detail]);
    if (s.cost) rows.push(["cost", `**$${s.cost.idlePerHour.toFixed(3)}/h idle**, $${s.cost.peakPerHour.toFixed(3)}/h at peak (estimate: [Cost estimate](#cost-estimate))`]);
    rows.push(["size", `${s.counts.resources} resources, ${s.counts.components} components`]);
    push(...table(["infrastructure", ""], rows));

    if (s.nodeGroups.length > 0) {
        push("", "Node groups:", "");
        push(...table(["group", "instance types", "capacity", "min / desired / max", "disk", "AMI", "taints"], s.nodeGroups.map((g) => [
            code(g.name), g.instanceTypes.join(", "), g.capacityType, `${g.minSize ?? "?"} / ${g.desiredSize ?? "?"} / ${g.maxSize ?? "?"}`, g.disk ?? "", g.amiType ?? "", g.taints.join(", "),
        ])));
    }
    if (s.charts.length > 0 || s.manifestSets.length > 0) {
        push("", "Charts and manifests:", "");
        push(...table(["release", "chart", "version"], [
            ...s.charts.map((c) => [`${c.namespace}/${c.release}`, code(c.chart), code(c.version)]),
            ...s.manifestSets.map((m) => [m.name, "release manifests", m.version ? code(m.version) : m.source]),
        ]));
    }
    if (s.models.length > 0) {
        push("", "Models (InferenceServices):", "");
        push(...table(["model", "format", "protocol", "runtime", "replicas", "GPU", "storage"], s.models.map((m) => [
            code(m.name), `${m.format}${m.transformer ? " + transformer" : ""}`, m.protocol, m.runtime ?? "(KServe default)", m.replicas, m.gpu ? "yes" : "", code(m.storageUri),
        ])));
    }
    if (s.workloads.length > 0) {
        push("", "Other workloads (Deployments outside charts):", "");
        push(...table(["deployment", "images", "replicas"], s.workloads.map((w) => [code(w.name), w.images.map(code).join(", "), w.replicas ?? "unset"])));
    }
    if (s.roles.length > 0) {
        push("", "IAM roles (documents under [IAM policy documents](#iam-policy-documents)):", "");
        push(...table(["role", "assumed by", "inline statements", "managed policies"], s.roles.map((r) => [code(r.name), r.assumedBy, r.inlineStatements, r.managedPolicies.join(", ")])));
    }
    return out;
}
