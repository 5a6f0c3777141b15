/**
 * test/functionSerialization.ts, which test/setup.ts installs before this file. The consumer is
 * @pulumi/pulumi's dynamic/index.js (version pinned in package-lock.json): `serializeProvider` →
 * `serializeFunctionMaybeSecret` requires runtime/closure/serializeClosure.js when a dynamic resource
 * is constructed and calls that module's `serializeFunction`, whose result's `text` becomes the
 * `__provider` input; serializeClosure.js's `serializeFunction` is the one that reaches V8's inspector
 * (runtime/closure/v8.js → v8Hooks.js posts `Debugger.enable`).
 */
import * as fs from "node:fs";
import * as inspector from "node:inspector";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { unserializedFunctionText } from "./functionSerialization";
import { installMocks } from "./kit";

const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const source = (file: string) => fs.readFileSync(path.join(pulumiDir, file), "utf8");

describe("the installed @pulumi/pulumi (the contract the stand-in relies on)", () => {
    it("dynamic/index.js looks serializeFunction up on serializeClosure.js's exports at each provider it serializes", () => {
        const dynamic = source("dynamic/index.js");
        expect(dynamic).toMatch(/const sc = require\("\.\.\/runtime\/closure\/serializeClosure"\);\s*const sfPromise = sc\.serializeFunction\(\(\) => provider, \{ allowSecrets: true \}\);/);
        expect(dynamic).toMatch(/props\[providerKey\] = serializeProvider\(provider\);/);
        // An exports property, so replacing it reaches the call above.
        expect(source("runtime/closure/serializeClosure.js")).toMatch(/^exports\.serializeFunction = serializeFunction;$/m);
    });

    it("serializeClosure.js is where the inspector comes in: createClosure → v8.js → v8Hooks.js enables the debugger", () => {
        expect(source("runtime/closure/serializeClosure.js")).toMatch(/require\("\.\/createClosure"\)/);
        expect(source("runtime/closure/createClosure.js")).toMatch(/require\("\.\/v8"\)/);
        expect(source("runtime/closure/v8.js")).toMatch(/require\("\.\/v8Hooks"\)/);
        expect(source("runtime/closure/v8Hooks.js")).toMatch(/inspectorSession\.post\("Debugger\.enable"/);
    });
});

/** A dynamic resource of the smallest kind (`pulumi.dynamic.Resource` is abstract). */
class Probe extends pulumi.dynamic.Resource {
    constructor(provider: pulumi.dynamic.ResourceProvider) {
        super(provider, "probe", { answer: 42 }, {});
    }
}

describe("in a test worker", () => {
    it("a dynamic resource registers with the stand-in's text as its provider, its other inputs as given, and nothing asks the inspector for the debugger", async () => {
        const posted: string[] = [];
        const post = inspector.Session.prototype.post;
        inspector.Session.prototype.post = function (this: inspector.Session, method: string, ...rest: unknown[]) {
            posted.push(method);
            return (post as (...args: unknown[]) => unknown).call(this, method, ...rest);
        } as typeof post;
        try {
            const rec = await installMocks();
            const provider: pulumi.dynamic.ResourceProvider = { create: async (inputs) => ({ id: "x", outs: inputs }) };
            new Probe(provider);
            await rec.settle();
            const probe = rec.one("pulumi-nodejs:dynamic:Resource", "probe");
            expect(probe.inputs.__provider).toBe(unserializedFunctionText);
            expect(probe.inputs.answer).toBe(42);
            expect(posted.filter((method) => method.startsWith("Debugger."))).toEqual([]);
        } finally {
            inspector.Session.prototype.post = post;
        }
    });
});
