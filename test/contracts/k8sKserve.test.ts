/**
 * Contract: what KServe v0.20.0 reads from what we configure (see ./upstream.ts for how contract
 * tests work).
 *
 * - inferenceservice-config: we set chart values; the kserve-resources chart templates them into
 *   JSON documents under ConfigMap keys; the controller unmarshals each key into a Go struct with
 *   encoding/json, which silently drops a field it does not know. So every value we set must land,
 *   through the chart's template, in a JSON field the controller's struct declares, with a value its
 *   validation accepts.
 * - S3 credentials: the controller finds them through the models' ServiceAccount (IRSA annotation or
 *   `secrets` list) and turns `serving.kserve.io/s3-*` annotations into the storage initializer's
 *   environment; the initializer parses those strings. Annotation names, secret keys and value
 *   spellings must be the ones that code reads.
 *
 * The local stack (MinIO) is built under mocks as index.ts builds it; eks annotations come from the
 * exported builder the ModelStore component uses.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { kserveResourcesValues } from "../../components/platform/kserve";
import { kserveIrsaServiceAccountAnnotations } from "../../components/aws/modelStore";
import { defaultVersions } from "../../versions";
import { describeWithSharedSchemas, readUpstreamText, readUpstreamYaml, sharedSchemasPresent } from "../shared";
import { synthCliFiles } from "../synthOnce";
import { plainValue } from "../../scripts/lib/synthRecorder";
import { cite, Source } from "./upstream";

const kserve = (file: string, at: string): Source => ({ repo: "kserve/kserve", tag: "v0.20.0", file, at });

/**
 * charts/kserve-resources/files/common/configmap-patch.yaml: which chart value the template writes
 * into which ConfigMap key and JSON field. Only the values we set are listed; a value we set that is
 * missing here fails the test, so a new value needs its row.
 */
const chartTemplate: { value: string; configMapKey: string; field: string }[] = [
    { value: "kserve.controller.deploymentMode", configMapKey: "deploy", field: "defaultDeploymentMode" },
    { value: "kserve.controller.gateway.domain", configMapKey: "ingress", field: "ingressDomain" },
    { value: "kserve.controller.gateway.urlScheme", configMapKey: "ingress", field: "urlScheme" },
    { value: "kserve.controller.gateway.ingressGateway.gateway", configMapKey: "ingress", field: "ingressGateway" },
    { value: "kserve.storage.s3.region", configMapKey: "credentials", field: "s3.s3Region" },
    { value: "kserve.storage.s3.endpoint", configMapKey: "credentials", field: "s3.s3Endpoint" },
    { value: "kserve.storage.s3.useHttps", configMapKey: "credentials", field: "s3.s3UseHttps" },
    { value: "kserve.storage.s3.verifySSL", configMapKey: "credentials", field: "s3.s3VerifySSL" },
];
const chartTemplateSource = kserve("charts/kserve-resources/files/common/configmap-patch.yaml", "data.deploy, data.ingress, data.credentials");

/** Values that configure the controller's Deployment, not inferenceservice-config (charts/kserve-resources/files/kserve/deployment-patch.yaml). */
const deploymentValues = ["kserve.controller.labels", "kserve.controller.imagePullPolicy", "kserve.controller.resources"];

/**
 * The ConfigMap keys the controller reads and the JSON fields of the struct each is unmarshalled
 * into (encoding/json; field names as in the `json:"..."` tags).
 */
const controllerReads: Record<string, { fields: string[]; source: Source }> = {
    ingress: {
        fields: [
            "enableGatewayApi", "kserveIngressGateway", "ingressGateway", "knativeLocalGatewayService", "localGateway", "localGatewayService",
            "ingressDomain", "ingressClassName", "additionalIngressDomains", "domainTemplate", "urlScheme", "enableLLMInferenceServiceTLS",
            "disableIstioVirtualHost", "pathTemplate", "disableIngressCreation", "disableHTTPRouteTimeout", "modelBasedRoutingHeaderName",
            "modelBasedRoutingMode",
        ],
        source: kserve("pkg/apis/serving/v1beta1/configmap.go", 'IngressConfigKeyName = "ingress"; type IngressConfig; NewIngressConfig'),
    },
    deploy: {
        fields: ["defaultDeploymentMode", "deploymentRolloutStrategy"],
        source: kserve("pkg/apis/serving/v1beta1/configmap.go", 'DeployConfigName = "deploy"; type DeployConfig; NewDeployConfig'),
    },
    credentials: {
        fields: [
            "storageSpecSecretName", "storageSecretNameAnnotation", "gcs",
            // s3: type S3Config in pkg/credentials/s3/s3_secret.go
            ...["s3AccessKeyIDName", "s3SecretAccessKeyName", "s3Endpoint", "s3UseHttps", "s3Region", "s3VerifySSL", "s3UseVirtualBucket",
                "s3UseAccelerate", "s3UseAnonymousCredential", "s3CABundleConfigMap", "s3CABundle"].map((f) => `s3.${f}`),
        ],
        source: kserve("pkg/credentials/service_account_credentials.go + pkg/credentials/s3/s3_secret.go", 'CredentialConfigKeyName = "credentials"; type CredentialConfig; type S3Config'),
    },
};

/** Leaf paths of a values object (lists and empty maps count as leaves). */
function leafPaths(value: unknown, prefix = ""): string[] {
    if (value === null || typeof value !== "object" || Array.isArray(value) || Object.keys(value).length === 0) return prefix ? [prefix] : [];
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

const get = (value: any, dotted: string) => dotted.split(".").reduce((v, k) => v?.[k], value);

const awsValues = kserveResourcesValues({ domain: "203.0.113.5.sslip.io", s3: { region: "us-east-2" } });
const localValues = kserveResourcesValues({ domain: "127.0.0.1.sslip.io" });

describe("inferenceservice-config: every value we set reaches a field the KServe controller reads", () => {
    it("every value we set is templated into the ConfigMap (or configures the Deployment)", () => {
        for (const values of [awsValues, localValues]) {
            const unmapped = leafPaths(values).filter(
                (p) => !chartTemplate.some((row) => row.value === p) && !deploymentValues.some((d) => p === d || p.startsWith(`${d}.`)),
            );
            // local sets `kserve.storage.s3: {}` (nothing: the chart's defaults stay).
            expect(unmapped.filter((p) => p !== "kserve.storage.s3"), cite(chartTemplateSource)).toEqual([]);
        }
    });

    it.each(chartTemplate)("$value -> $configMapKey.$field is a field of the controller's struct", ({ configMapKey, field }) => {
        const reader = controllerReads[configMapKey];
        expect(reader, `ConfigMap key ${configMapKey}`).toBeDefined();
        expect(reader.fields, cite(reader.source)).toContain(field);
    });

    it("the deployment mode is one NewDeployConfig accepts, and not the deprecated alias", () => {
        // configmap.go NewDeployConfig: Knative | Standard | ModelMesh ("Serverless"/"RawDeployment" are converted legacy names);
        // pkg/constants/constants.go DeploymentModeType.
        expect(["Knative", "Standard", "ModelMesh"]).toContain(awsValues.kserve.controller.deploymentMode);
        expect(awsValues.kserve.controller.deploymentMode).toBe("Knative");
    });

    it("ingressGateway is the <namespace>/<name> of an Istio Gateway (NewIngressConfig requires it)", () => {
        // NewIngressConfig: "invalid ingress config - ingressGateway is required"; ingress_reconciler.go uses it as a VirtualService gateway.
        expect(awsValues.kserve.controller.gateway.ingressGateway.gateway).toMatch(/^[a-z0-9-]+\/[a-z0-9-]+$/);
    });

    it("the storage initializer talks HTTPS to AWS S3 and verifies it; no endpoint on AWS", () => {
        // pkg/credentials/s3/utils.go BuildS3EnvVars: an empty s3Endpoint sets no endpoint (boto3 then resolves the
        // regional AWS endpoint, which IRSA's AssumeRoleWithWebIdentity needs, kserve/kserve#3482).
        // python/storage/kserve_storage/kserve_storage.py _get_s3_client_kwargs: S3_VERIFY_SSL "0"/"false" turns verification off.
        const s3 = awsValues.kserve.storage.s3 as Record<string, string>;
        expect(s3.endpoint).toBe("");
        expect(["0", "false"]).not.toContain(s3.verifySSL.toLowerCase());
        expect(s3.useHttps).not.toBe("0");
        expect(s3.region).toBe("us-east-2");
    });

    it("the check can fail: a value the template does not write is reported", () => {
        const stray = leafPaths({ kserve: { controller: { gateway: { domainSuffix: "x" } } } }).filter((p) => !chartTemplate.some((row) => row.value === p));
        expect(stray).toEqual(["kserve.controller.gateway.domainSuffix"]);
        expect(controllerReads.ingress.fields).not.toContain("ingressDomainSuffix");
    });

    describeWithSharedSchemas(`against the ConfigMap and values files of ${defaultVersions.kserve}`, () => {
        const configMap = () =>
            parse(readUpstreamText("kserve", "inferenceservice-config.configmap.yaml")) as { data: Record<string, string> };

        it("upstream's own ConfigMap carries every field we write, under the same key", () => {
            const data = configMap().data;
            for (const { configMapKey, field } of chartTemplate) {
                const document = JSON.parse(data[configMapKey]);
                expect(get(document, field), `${configMapKey}.${field}`).not.toBeUndefined();
            }
        });

        it("every chart value we set exists in the chart's values.yaml", () => {
            const upstream = readUpstreamYaml("kserve", "kserve-resources.values.yaml");
            for (const { value } of chartTemplate) expect(get(upstream, value), value).not.toBeUndefined();
        });
    });
});

// ---------------------------------------------------------------------------------------------
// S3 credentials: annotations and secret keys.
// ---------------------------------------------------------------------------------------------

/**
 * Annotations the credential builder reads from a ServiceAccount or Secret: pkg/credentials/s3/s3_secret.go,
 * the `InferenceServiceS3*Annotation` variables (`serving.kserve.io/` + suffix), read in
 * pkg/credentials/s3/utils.go BuildS3EnvVars.
 */
const s3Annotations = new Set(
    ["s3-endpoint", "s3-region", "s3-verifyssl", "s3-usehttps", "s3-usevirtualbucket", "s3-useaccelerate", "s3-useanoncredential", "s3-cabundle-configmap", "s3-cabundle"].map(
        (s) => `serving.kserve.io/${s}`,
    ),
);
const s3Source = kserve("pkg/credentials/s3/s3_secret.go", "InferenceServiceS3*Annotation");

/** pkg/credentials/service_account_credentials.go: `AwsIrsaAnnotationKey = "eks.amazonaws.com/role-arn"` turns on the ServiceAccount's S3 envs. */
const irsaAnnotation = "eks.amazonaws.com/role-arn";

/** Every `serving.kserve.io/s3-*` annotation in `annotations` that KServe does not read. */
const unknownS3Annotations = (annotations: Record<string, string>) =>
    Object.keys(annotations).filter((k) => k.startsWith("serving.kserve.io/s3") && !s3Annotations.has(k));

/**
 * How the storage initializer ends up reading the values (the reader's rules, not ours):
 * - s3-usehttps: utils.go getEndpointConfiguration: "0" means http, anything else https.
 * - s3-verifyssl: kserve_storage.py _get_s3_client_kwargs: "0"/"false" (any case) means no verification.
 * - s3-useanoncredential: kserve_storage.py get_S3_config: anonymous only when lowercased == "true".
 */
const readsHttps = (value: string | undefined) => value !== "0";
const readsVerify = (value: string | undefined) => value === undefined || !["0", "false"].includes(value.toLowerCase());
const readsAnonymous = (value: string | undefined) => (value ?? "false").toLowerCase() === "true";

describe("eks: the models ServiceAccount's annotations (IRSA)", () => {
    const annotations = kserveIrsaServiceAccountAnnotations("arn:aws:iam::123456789012:role/reader", "us-east-2");

    it("carries the IRSA annotation KServe looks for before it applies the S3 annotations", () => {
        expect(annotations[irsaAnnotation], cite(kserve("pkg/credentials/service_account_credentials.go", "CreateSecretVolumeAndEnvFromServiceAccount"))).toMatch(
            /^arn:aws:iam::\d{12}:role\//,
        );
    });

    it("uses only S3 annotations KServe reads, spelled so they mean HTTPS, verified, signed, no endpoint", () => {
        expect(unknownS3Annotations(annotations), cite(s3Source)).toEqual([]);
        expect(readsHttps(annotations["serving.kserve.io/s3-usehttps"])).toBe(true);
        expect(readsVerify(annotations["serving.kserve.io/s3-verifyssl"])).toBe(true);
        expect(readsAnonymous(annotations["serving.kserve.io/s3-useanoncredential"])).toBe(false);
        expect(annotations["serving.kserve.io/s3-endpoint"]).toBeUndefined();
    });

    it("the check can fail: a misspelt annotation is reported", () => {
        expect(unknownS3Annotations({ "serving.kserve.io/s3-use-https": "1" })).toEqual(["serving.kserve.io/s3-use-https"]);
    });
});

describe("local: the MinIO credentials Secret and the models ServiceAccount, as index.ts builds them", async () => {
    // The offline synth (the CLI's output, shared with other test files) runs index.ts under mocks that
    // give generated values (passwords) a placeholder, so every key of the Secret is visible.
    const resources = JSON.parse((await synthCliFiles("local"))["resources.json"]).resources as { type: string; inputs: any }[];
    const byType = (type: string) => resources.filter((r) => r.type === type);
    const secrets = byType("kubernetes:core/v1:Secret").filter((s) => Object.keys(s.inputs.metadata?.annotations ?? {}).some((k) => k.startsWith("serving.kserve.io/s3")));
    const serviceAccounts = byType("kubernetes:core/v1:ServiceAccount");

    it("one KServe S3 Secret, attached to the models ServiceAccount's `secrets` (where KServe looks)", () => {
        // service_account_credentials.go CreateSecretVolumeAndEnvFromServiceAccount: ranges over serviceAccount.Secrets.
        expect(secrets).toHaveLength(1);
        const secretName = secrets[0].inputs.metadata.name;
        const holders = serviceAccounts.filter((sa) => (sa.inputs.secrets ?? []).some((s: any) => s.name === secretName));
        expect(holders).toHaveLength(1);
        expect(holders[0].inputs.metadata.namespace).toBe(secrets[0].inputs.metadata.namespace);
        // ...and that ServiceAccount is the one every S3-backed InferenceService runs as.
        const s3Models = byType("kubernetes:serving.kserve.io/v1beta1:InferenceService").filter((isvc) =>
            String(isvc.inputs.spec.predictor.model?.storageUri ?? "").startsWith("s3://"),
        );
        expect(s3Models.length).toBeGreaterThan(0);
        for (const isvc of s3Models) {
            expect(isvc.inputs.spec.predictor.serviceAccountName, isvc.inputs.metadata.name).toBe(holders[0].inputs.metadata.name);
            expect(isvc.inputs.metadata.namespace).toBe(holders[0].inputs.metadata.namespace);
        }
    });

    it("uses only S3 annotations KServe reads, spelled so MinIO is reached over plain HTTP at an endpoint", () => {
        const annotations = secrets[0].inputs.metadata.annotations;
        expect(unknownS3Annotations(annotations), cite(s3Source)).toEqual([]);
        const endpoint: string = annotations["serving.kserve.io/s3-endpoint"];
        // getEndpointConfiguration: without a scheme, s3-usehttps decides; MinIO here serves plain HTTP.
        expect(endpoint).toMatch(/^[a-z0-9.-]+:\d+$/);
        expect(readsHttps(annotations["serving.kserve.io/s3-usehttps"])).toBe(false);
        expect(readsAnonymous(annotations["serving.kserve.io/s3-useanoncredential"])).toBe(false);
        expect(annotations["serving.kserve.io/s3-region"]).toBeTruthy();
    });

    it("the Secret's keys are the ones KServe's credential builder reads (the chart's default key names)", () => {
        // service_account_credentials.go mountSecretCredential: the Secret counts as S3 only when it has the key
        // config.S3.S3SecretAccessKeyName; s3_secret.go BuildSecretEnvs reads the access key id from S3AccessKeyIDName.
        // Both come from credentials.s3 in inferenceservice-config, i.e. the chart values
        // kserve.storage.s3.secretAccessKeyName / accessKeyIdName, which we leave at the chart's defaults.
        const release = byType("kubernetes:helm.sh/v3:Release").find((r) => String(r.inputs.chart).endsWith("kserve-resources"))!;
        expect(release.inputs.values.kserve.storage.s3.accessKeyIdName).toBeUndefined();
        expect(release.inputs.values.kserve.storage.s3.secretAccessKeyName).toBeUndefined();
        // plainValue masks secret values but keeps the keys.
        const keys = Object.keys((plainValue(secrets[0].inputs.stringData ?? secrets[0].inputs.data) ?? {}) as object);
        if (sharedSchemasPresent) {
            const defaults = (readUpstreamYaml("kserve", "kserve-resources.values.yaml") as any).kserve.storage.s3;
            expect(keys).toContain(defaults.accessKeyIdName);
            expect(keys).toContain(defaults.secretAccessKeyName);
        }
        // The same names are KServe's own ConfigMap defaults (charts/kserve-resources/files/common/configmap.yaml credentials.s3).
        expect(keys.sort()).toEqual(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
    });
});
