/**
 * @pulumi/pulumi loads the TypeScript compiler (typescript-shim.js) and npm's Arborist
 * (runtime/closure/codePaths.js) as soon as it is imported, for serializing JavaScript functions:
 * the compiler parses a function being serialized (a dynamic provider's, such as
 * components/aws/deletionGate.ts's, when its resource registers), and Arborist finds the packages a
 * serialized function needs (`computeCodePaths`, for callback functions such as Lambda's, which
 * nothing here has). Loading both is about half of loading @pulumi/pulumi: 0.5-0.9 s of CPU per
 * process measured natively, 0.75 s under tsx's loader, in every offline synth and every test worker.
 *
 * `deferPulumiToolchain` hands @pulumi/pulumi a stand-in for each of the two, which loads the real
 * module the first time anything reads from it: the dev stack loads the compiler when its deletion
 * gate registers, and never Arborist; the local stack loads neither, and neither do the test workers,
 * which do not serialize functions at all (test/functionSerialization.ts). The offline
 * tools install it (scripts/synth.ts, test/setup.ts); `pulumi up` never runs this code.
 */
import Module from "node:module";

type Load = (request: string, parent: NodeJS.Module | null | undefined, isMain: boolean) => unknown;
const moduleInternals = Module as unknown as { _load: Load };

export interface DeferredRequires {
    /** Module names (as passed to `require`) to defer. */
    readonly modules: readonly string[];
    /** Only requires from files whose path matches this are deferred. */
    readonly requiredFrom: RegExp;
}

/**
 * From now on, `require(name)` of one of `deferred.modules` from a file matching
 * `deferred.requiredFrom` returns a stand-in that loads the module on first use (a property read,
 * `in`, or listing its keys) and then behaves as it. It claims `__esModule`, so TypeScript's
 * `__importStar` keeps the stand-in instead of copying (and so loading) every export. The deferred
 * modules must be CommonJS. Returns a function that removes the hook; modules already handed out
 * keep working.
 */
export function deferRequires(deferred: DeferredRequires): () => void {
    const names = new Set(deferred.modules);
    const load = moduleInternals._load;
    const hook: Load = function (this: unknown, request, parent, isMain) {
        if (!names.has(request) || !parent?.filename || !deferred.requiredFrom.test(parent.filename)) return load.call(this, request, parent, isMain);
        let real: object | undefined;
        const target = () => (real ??= load.call(this, request, parent, isMain) as object);
        return new Proxy(
            {},
            {
                get: (_, key) => (key === "__esModule" ? true : Reflect.get(target(), key)),
                has: (_, key) => Reflect.has(target(), key),
                ownKeys: () => Reflect.ownKeys(target()),
                getOwnPropertyDescriptor: (_, key) => {
                    // Loaders look for this key on every module's exports (Node's require(esm) interop,
                    // tsx's CommonJS hook); a CommonJS module does not have it.
                    if (key === "module.exports") return undefined;
                    const descriptor = Reflect.getOwnPropertyDescriptor(target(), key);
                    // A proxy may not report a property as non-configurable when its own target ({}) lacks it.
                    return descriptor && { ...descriptor, configurable: true };
                },
            },
        );
    };
    moduleInternals._load = hook;
    return () => {
        if (moduleInternals._load === hook) moduleInternals._load = load;
    };
}

/** Set once the hook below is in place: test/setup.ts runs once per file, in a shared process. */
const pulumiToolchainDeferred = Symbol.for("inference-platform.deferPulumiToolchain");

/** The two @pulumi/pulumi loads described above, deferred once per process. */
export function deferPulumiToolchain(): void {
    const holder = globalThis as unknown as Record<symbol, boolean | undefined>;
    if (holder[pulumiToolchainDeferred]) return;
    holder[pulumiToolchainDeferred] = true;
    deferRequires({ modules: ["typescript", "@npmcli/arborist"], requiredFrom: /[\\/]node_modules[\\/]@pulumi[\\/]pulumi[\\/]/ });
}
