/**
 * Scripts run as forks of the zygote (test/pythonZygote.ts) behave as they do under a fresh
 * `python3 -S script`: the expected values come from running the same script with a fresh
 * interpreter, side by side.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hermeticScripts, runPython, runPythonOk, runPythonSteps } from "./pythonZygote";
import { hermeticPythonFlags, noteSkippedForMissingTool, python3Interpreter } from "./shared";

const python = python3Interpreter;
if (!python) noteSkippedForMissingTool("the Python zygote tests", "python3");

describe.skipIf(!python)("Python scripts run by the zygote", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zygote-test-"));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const scripts = hermeticScripts(python!);
    const script = (name: string, text: string) => {
        fs.writeFileSync(path.join(dir, name), text);
        return name;
    };
    const fresh = (argv: string[], env: NodeJS.ProcessEnv) => {
        const r = spawnSync(python!, [...hermeticPythonFlags, ...argv], { cwd: dir, env, encoding: "utf8" });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const stubs = path.join(dir, "stubs");
    fs.mkdirSync(stubs);
    fs.writeFileSync(path.join(stubs, "stand_in.py"), "WHERE = 'stand-in'\n");

    it("sees the argv, directory, environment, module path and flags a fresh interpreter sees", async () => {
        const name = script(
            "where.py",
            [
                "import json, os, sys",
                "import stand_in",
                "print(json.dumps({'argv': sys.argv, 'cwd': os.getcwd(), 'file': __file__, 'name': __name__,",
                "    'path': sys.path[:2], 'env': dict(os.environ),",
                "    'no_site': sys.flags.no_site, 'stand_in': stand_in.WHERE, 'bytecode': sys.dont_write_bytecode}))",
            ].join("\n"),
        );
        const env = { PATH: process.env.PATH ?? "", PYTHONPATH: stubs, PYTHONDONTWRITEBYTECODE: "1", ZYGOTE_ONE: "1" };
        const ours = await runPython(scripts, [name, "a b", "--c"], { cwd: dir, env });
        const theirs = fresh([name, "a b", "--c"], env);
        expect(ours).toEqual(theirs);
        expect(JSON.parse(ours.stdout).stand_in).toBe("stand-in");
        // Nothing of this process's (or the zygote's) environment: what was asked for, and the locale
        // a fresh interpreter sets for itself when there is none (PEP 538).
        const coerced = JSON.parse(theirs.stdout).env.LC_CTYPE as string | undefined;
        expect(JSON.parse(ours.stdout).env).toEqual({ ...env, ...(coerced ? { LC_CTYPE: coerced } : {}) });
    });

    it("exits as a fresh interpreter does: sys.exit codes and messages, uncaught exceptions", async () => {
        const cases: [string, string][] = [
            ["ok.py", "print('fine')\n"],
            ["code.py", "import sys\nsys.exit(3)\n"],
            ["message.py", "import sys\nsys.exit('refused: no claim mounted')\n"],
            ["raises.py", "def f():\n    raise ValueError('bad manifest')\nf()\n"],
        ];
        for (const [name, text] of cases) {
            script(name, text);
            const ours = await runPython(scripts, [name], { cwd: dir, env: {} });
            const theirs = fresh([name], {});
            expect({ name, status: ours.status, stdout: ours.stdout }).toEqual({ name, status: theirs.status, stdout: theirs.stdout });
            // Traceback file names: the zygote runs the script by its absolute path, as `python3 script.py` names it.
            expect(ours.stderr, name).toBe(theirs.stderr);
        }
    });

    it("runs the script's atexit functions and writes out its buffered output", async () => {
        const name = script("atexit_.py", "import atexit, sys\natexit.register(lambda: print('at exit'))\nsys.stdout.write('no newline')\n");
        const ours = await runPython(scripts, [name], { cwd: dir, env: {} });
        expect(ours).toEqual(fresh([name], {}));
        expect(ours.stdout).toBe("no newlineat exit\n");
    });

    it("gives every run the zygote's modules as they were: what one run changes, the next does not see", async () => {
        const name = script("mutate.py", "import json\nprint(json.dumps([1]))\njson.dumps = None\n");
        expect(await runPythonOk(scripts, [name], { cwd: dir, env: {} })).toBe("[1]\n");
        expect(await runPythonOk(scripts, [name], { cwd: dir, env: {} })).toBe("[1]\n");
    });

    it("runs several scripts at once, each with its own output", async () => {
        // Each run marks itself and waits for the others' marks: one after the other, the first would
        // wait in vain and fail.
        const name = script(
            "together.py",
            [
                "import os, sys, time",
                "open(os.path.join('marks', sys.argv[1]), 'w').close()",
                "deadline = time.time() + 20",
                "while len(os.listdir('marks')) < 3:",
                "    if time.time() > deadline:",
                "        sys.exit('alone')",
                "    time.sleep(0.01)",
                "print(sys.argv[1])",
            ].join("\n"),
        );
        fs.mkdirSync(path.join(dir, "marks"));
        const outputs = await Promise.all(["one", "two", "three"].map((word) => runPythonOk(scripts, [name, word], { cwd: dir, env: {} })));
        expect(outputs).toEqual(["one\n", "two\n", "three\n"]);
    });

    it("kills a run that outlives its timeout, and rejects with what it was", async () => {
        const name = script("forever.py", "import time\ntime.sleep(60)\n");
        await expect(runPython(scripts, [name], { cwd: dir, env: {}, timeoutMs: 300 })).rejects.toThrow(/forever\.py timed out after 300 ms/);
    });

    it("runs a Job's steps one after the other, each its own process, and stops at the first that fails", async () => {
        const step = script("step.py", "import os, sys\nprint(sys.argv[1], os.getpid())\nopen(os.path.join('steps', sys.argv[1]), 'w').close()\nif sys.argv[1] == 'fail':\n    sys.exit('step fail failed')\n");
        fs.mkdirSync(path.join(dir, "steps"));
        const output = await runPythonSteps(scripts, [[step, "one"], [step, "two"]], { cwd: dir, env: {} });
        const lines = output.trim().split("\n").map((l) => l.split(" "));
        expect(lines.map(([word]) => word)).toEqual(["one", "two"]);
        expect(lines[0][1]).not.toBe(lines[1][1]);
        await expect(runPythonSteps(scripts, [[step, "three"], [step, "fail"], [step, "never"]], { cwd: dir, env: {} })).rejects.toThrow(/step fail failed/);
        expect(fs.readdirSync(path.join(dir, "steps")).sort()).toEqual(["fail", "one", "three", "two"]);
    });

    it("rejects with the run's stderr when a run that must succeed fails", async () => {
        const name = script("fails.py", "import sys\nsys.exit('the source has no objects')\n");
        await expect(runPythonOk(scripts, [name], { cwd: dir, env: {} })).rejects.toThrow(/exited 1:\nthe source has no objects/);
    });
});
