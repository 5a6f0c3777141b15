/**
 * Records what a Pulumi program registers under the mock runtime: type, name, parent, provider,
 * dependencies and inputs of every resource, which the plain mock API (`newResource`) does not show.
 * It wraps the mock monitor's `registerResource` the same way test/kit.ts does, and also
 * `registerResourceOutputs`, so component outputs (model URLs) are visible.
 *
 * Values keep Pulumi's wire form decoded: secrets arrive as `{ [sigKey]: secretSig, value }`; call
 * `plainValue` to turn them into `<secret>` markers.
 */
import * as pulumi from "@pulumi/pulumi";

/** One `registerResource` request and the state the mock answered with. */
export interface Registration {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** True for custom resources (and providers), false for components. */
    readonly custom: boolean;
    /** True for multi-language components (eks.Cluster, awsx Vpc, yaml/v2 ConfigFile): their children are built by a provider plugin and are invisible here. */
    readonly remote: boolean;
    /** Parent URN, "" for none. */
    readonly parent: string;
    /** URN of the provider resource (custom resources), "" for the default provider. */
    readonly provider: string;
    /** Package → provider URN (components). */
    readonly providers: Readonly<Record<string, string>>;
    /** URNs from `dependsOn` and from outputs used in inputs. */
    readonly dependencies: readonly string[];
    /** Former URNs this resource was registered under (its own `aliases`; children inherit their parent's). */
    readonly aliases: readonly string[];
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    /** Decoded inputs (secrets still wrapped). */
    readonly inputs: Record<string, unknown>;
    /** Decoded state the mock returned. */
    readonly state: Record<string, unknown>;
    readonly options: {
        readonly protect: boolean;
        readonly retainOnDelete: boolean;
        readonly deleteBeforeReplace: boolean;
        readonly ignoreChanges: readonly string[];
        readonly replaceOnChanges: readonly string[];
        readonly deletedWith: string;
        readonly customTimeouts?: { create?: string; update?: string; delete?: string };
    };
    /** Outputs a component registered with `registerOutputs` (set later). */
    outputs?: Record<string, unknown>;
}

/** `urn::id` provider reference → `urn`. */
export function providerUrn(reference: string): string {
    if (!reference) return "";
    const at = reference.lastIndexOf("::");
    return at < 0 ? reference : reference.slice(0, at);
}

export interface RegistrationHook {
    readonly registrations: Registration[];
    /** Waits until no registration is in flight (registrations chain: children wait for parents). */
    settle(): Promise<void>;
}

/**
 * Wraps the current mock monitor (call after `pulumi.runtime.setMocks`). `onRecord` sees each
 * registration as it completes.
 */
export function hookRegistrations(onRecord?: (r: Registration) => void): RegistrationHook {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings = require("@pulumi/pulumi/runtime/settings");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const rpc = require("@pulumi/pulumi/runtime/rpc");
    const monitor = settings.getMonitor();
    const registrations: Registration[] = [];
    const byUrn = new Map<string, Registration>();
    const pending = new Set<Promise<void>>();

    const track = (p: Promise<void>) => {
        pending.add(p);
        void p.finally(() => pending.delete(p));
    };

    const originalRegister = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: unknown, resp: any) => void) => {
        track(
            new Promise<void>((resolve) => {
                originalRegister(req, (err: unknown, resp: any) => {
                    try {
                        if (!err && resp) {
                            const propertyDependencies: Record<string, string[]> = {};
                            req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
                                propertyDependencies[key] = deps.getUrnsList();
                            });
                            const providers: Record<string, string> = {};
                            req.getProvidersMap().forEach((ref: string, pkg: string) => {
                                providers[pkg] = providerUrn(ref);
                            });
                            const timeouts = req.getCustomtimeouts?.();
                            const record: Registration = {
                                urn: resp.getUrn(),
                                type: req.getType(),
                                name: req.getName(),
                                custom: req.getCustom(),
                                remote: req.getRemote(),
                                parent: req.getParent(),
                                provider: providerUrn(req.getProvider()),
                                providers,
                                dependencies: req.getDependenciesList(),
                                aliases: req.getAliasesList().map((a: any) => a.getUrn()).filter((u: string) => u !== ""),
                                propertyDependencies,
                                inputs: withoutSerializedProvider(rpc.deserializeProperties(req.getObject(), true)),
                                state: withoutSerializedProvider(rpc.deserializeProperties(resp.getObject(), true)),
                                options: {
                                    protect: req.getProtect(),
                                    retainOnDelete: req.getRetainondelete(),
                                    deleteBeforeReplace: req.getDeletebeforereplace(),
                                    ignoreChanges: req.getIgnorechangesList(),
                                    replaceOnChanges: req.getReplaceonchangesList(),
                                    deletedWith: req.getDeletedwith(),
                                    customTimeouts:
                                        timeouts && (timeouts.getCreate() || timeouts.getUpdate() || timeouts.getDelete())
                                            ? { create: timeouts.getCreate() || undefined, update: timeouts.getUpdate() || undefined, delete: timeouts.getDelete() || undefined }
                                            : undefined,
                                },
                            };
                            registrations.push(record);
                            byUrn.set(record.urn, record);
                            onRecord?.(record);
                        }
                    } finally {
                        callback(err, resp);
                        resolve();
                    }
                });
            }),
        );
    };

    const originalOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req: any, callback: (err: unknown, resp: any) => void) => {
        const record = byUrn.get(req.getUrn());
        if (record && req.getOutputs()) record.outputs = rpc.deserializeProperties(req.getOutputs(), true);
        return originalOutputs(req, callback);
    };

    return {
        registrations,
        async settle() {
            for (let quietRounds = 0; quietRounds < 3; ) {
                await settings.waitForRPCs();
                await new Promise((r) => setImmediate(r));
                if (pending.size === 0) quietRounds += 1;
                else {
                    quietRounds = 0;
                    await Promise.all([...pending]);
                }
            }
        },
    };
}

/** Pulumi's wire markers, decoded. */
const sigKey = "4dabf18193072939515e22adb298388d";
const secretSig = "1b47061264138c4ac30d75fd1eb44270";

/** Marker shown instead of a secret value. */
export const secretMarker = "<secret>";
/** Marker for a value unknown even to the mocks (should not occur outside preview). */
export const unknownMarker = "<unknown>";

/**
 * A secret's shape with every scalar replaced by `<secret>`: Pulumi marks a whole input secret when
 * one field in it is (a Secret's `stringData`), and the keys are worth reviewing.
 */
function maskLeaves(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(maskLeaves);
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskLeaves(v)]));
    return value === undefined || value === null ? value : secretMarker;
}

/**
 * Decoded wire value → plain JSON: secret scalars become `<secret>` (or their value with `revealSecrets`),
 * resource references their URN, assets their path/text, unknowns `<unknown>`.
 */
export function plainValue(value: unknown, options: { revealSecrets?: boolean } = {}): unknown {
    if (value === null || value === undefined) return value;
    if (Array.isArray(value)) return value.map((v) => plainValue(v, options));
    if (typeof value !== "object") return value;
    if (pulumi.Output.isInstance(value) || pulumi.isUnknown(value)) return unknownMarker;
    if (pulumi.Resource.isInstance(value)) return `<resource-ref>`;
    if (pulumi.asset.Asset.isInstance(value) || pulumi.asset.Archive.isInstance(value)) {
        const a = value as unknown as Record<string, unknown>;
        return `<asset:${String(a.path ?? a.uri ?? (a.text !== undefined ? "text" : "archive"))}>`;
    }
    const obj = value as Record<string, unknown>;
    if (obj[sigKey] === secretSig) {
        const revealed = plainValue(obj.value, { ...options, revealSecrets: true });
        return options.revealSecrets ? revealed : maskLeaves(revealed);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
        if (v === undefined) continue;
        out[k] = plainValue(v, options);
    }
    return out;
}

/**
 * A dynamic resource's `__provider` input is its provider's code, serialized by Pulumi from the
 * running JavaScript: it differs between a tsx run and a vitest run of the same source, and says
 * nothing a reviewer can read. The plan keeps a marker instead, so output stays byte-identical.
 */
function withoutSerializedProvider(props: Record<string, unknown>): Record<string, unknown> {
    return "__provider" in props ? { ...props, __provider: "<serialized dynamic provider>" } : props;
}
