/**
 * Test workers do not serialize JavaScript functions; a process of its own does
 * (test/deletionGateHost.test.ts), as does every offline synth of the AWS stacks.
 *
 * Why: Pulumi serializes a dynamic resource's provider (components/aws/deletionGate.ts) when the
 * resource is constructed, and it reads functions through V8's inspector. The first serialization in
 * a process loads the TypeScript compiler and turns on the inspector's Debugger domain, which from
 * then on hashes and keeps track of every script the process compiles (compiling one 9 MB script six
 * times took 1.4 s of CPU with the domain on, 1.0 s without; in a profile of the suite, the hashing
 * showed as V8DebuggerScript::Create and GetSha256Hash under each compile). A worker compiles this
 * repository's modules again for each of its test files (test/isolation.ts), so that cost grows with
 * every file after the first AWS stack. Measured over `npm test` in three alternating pairs: 63.3,
 * 60.8 and 63.6 s of CPU with serialization in the workers, 54.8, 54.6 and 59.9 s without; over
 * twelve AWS stack test files in one worker, 8.6-9.6 s against 7.0-8.8 s (six pairs). The process
 * of its own costs 2.5-5 s of CPU back.
 *
 * What tests see is unchanged: the offline plan keeps a marker in place of a provider's text
 * (scripts/lib/synthRecorder.ts), whoever serialized it.
 */
import { createRequire } from "node:module";

/** What a dynamic resource's `__provider` input holds in a test worker. */
export const unserializedFunctionText = "<function not serialized in test workers: test/functionSerialization.ts>";

const installed = Symbol.for("inference-platform.skipFunctionSerialization");

/**
 * Replaces @pulumi/pulumi's `serializeFunction` (runtime/closure/serializeClosure.js, which
 * `pulumi.dynamic.Resource` calls for its provider) with one that returns `unserializedFunctionText`.
 * Once per process; test/setup.ts installs it before any file's resources are built.
 */
export function skipFunctionSerialization(): void {
    const holder = globalThis as unknown as Record<symbol, boolean | undefined>;
    if (holder[installed]) return;
    holder[installed] = true;
    const closure = createRequire(__filename)("@pulumi/pulumi/runtime/closure/serializeClosure") as {
        serializeFunction: (func: unknown, args?: { exportName?: string }) => Promise<{ text: string; exportName: string; containsSecrets: boolean }>;
    };
    closure.serializeFunction = async (_func, args) => ({ text: unserializedFunctionText, exportName: args?.exportName ?? "handler", containsSecrets: false });
}
