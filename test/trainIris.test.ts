/**
 * The seeding Job's training step (components/models/seeding/train_iris.py), run as Python:
 * - always (with python3): compiled, and run against stand-ins for scikit-learn and joblib (where
 *   it writes, markers and reruns, the version guard, the one-model-file rule, seed.py leaving the
 *   claim's models alone);
 * - when a Python with scikit-learn is installed (Debian's python3-sklearn will do): run for real,
 *   and the file it writes loads with joblib and classifies the notes' flowers. Skipped otherwise.
 * No network: scikit-learn bundles the iris data.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { seedCatalog } from "../components/models/exampleModels";
import { modelSeedingProblems, seedingPodSpec, seedingScripts, seedManifest } from "../components/models/modelSeeding";
import { defaultVersions, sklearnRuntime } from "../versions";
import { hermeticScripts, runPython, runPythonOk, runPythonSteps, type PythonScripts } from "./pythonZygote";
import { compileWithPython, noteSkippedForMissingTool, python3Interpreter } from "./shared";

const { "train_iris.py": trainScript, "seed.py": seedScript } = seedingScripts();
const python = python3Interpreter;
if (!python) noteSkippedForMissingTool("the train_iris.py tests", "python3");
/** A Python that can import scikit-learn and joblib (the PATH one, or Debian's), if any. */
// Found without importing them (an import of scikit-learn costs about a second of CPU).
const hasSklearn = "import importlib.util as u, sys; sys.exit(0 if u.find_spec('sklearn') and u.find_spec('joblib') else 1)";
const sklearnPython = [python, "/usr/bin/python3"].find((p) => p !== undefined && spawnSync(p, ["-c", hasSklearn]).status === 0);
if (!sklearnPython) noteSkippedForMissingTool("the real training run", "python3 with scikit-learn (apt-get install python3-sklearn)");
/** The real training run and the load check fork from one interpreter that has imported scikit-learn (a second of CPU) once. */
const sklearnScripts: PythonScripts = { python: sklearnPython ?? "", flags: [], preload: ["sklearn.datasets", "sklearn.svm", "joblib"] };

describe("the pinned runtime", () => {
    it("is KServe's sklearn server image of the pinned KServe", () => {
        // kserve-runtime-configs values.yaml: sklearnserver image kserve/sklearnserver, tag "" = the chart's version.
        expect(sklearnRuntime.image).toBe(`kserve/sklearnserver:${defaultVersions.kserve}`);
        expect(seedCatalog.irisSvc.source.scikitLearn).toBe(sklearnRuntime.scikitLearn);
        expect(sklearnRuntime.scikitLearn).toMatch(/^\d+\.\d+\.\d+$/);
    });
    it("trains in that image, as its user", () => {
        const pod = seedingPodSpec({ models: [seedCatalog.irisSvc], configMapName: "cm", serviceAccountName: "s", env: [], volumeClaimName: "models" });
        const train = pod.containers.find((c) => c.name === "train")!;
        expect(train.image).toBe(sklearnRuntime.image);
        expect(train.command).toEqual(["python", "/scripts/train_iris.py"]);
        expect((train.securityContext as { runAsUser: number }).runAsUser).toBe(sklearnRuntime.uid);
        // Only the claim is written: no S3 plan or upload step for a model that goes into the claim.
        expect(pod.initContainers).toEqual([]);
        expect(() => seedingPodSpec({ models: [seedCatalog.irisSvc], configMapName: "cm", serviceAccountName: "s", env: [] })).toThrow(/no claim/);
    });
});

describe("trained models in the seeding arguments", () => {
    const iris = seedCatalog.irisSvc;
    it("accept the example with its claim", () => {
        expect(modelSeedingProblems({ models: [iris], volume: { claimName: "models" } })).toEqual([]);
    });
    it("reject a claim model without a claim, a claim model that is not trained, and an inexact version", () => {
        expect(modelSeedingProblems({ models: [iris] }).join()).toMatch(/target volume needs the model claim/);
        const keras = { name: "k", dest: "k/", target: "volume" as const, source: { kind: "keras-h5" as const, url: "https://x/m.h5", version: 1 } };
        expect(modelSeedingProblems({ models: [keras], volume: { claimName: "models" } }).join()).toMatch(/only trained models can be written into the model claim/);
        expect(modelSeedingProblems({ models: [{ ...iris, source: { kind: "train-iris", scikitLearn: "1.5" } }], volume: { claimName: "models" } }).join()).toMatch(/must be an exact version/);
    });
});

/** Stand-ins for scikit-learn, joblib and boto3 (test/fixtures/python-stubs/README.md). */
const stubs = path.join(__dirname, "fixtures", "python-stubs");

describe.skipIf(!python)("train_iris.py", () => {
    it("compiles (and a broken script would not)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "train-compile-"));
        try {
            const script = path.join(dir, "train_iris.py");
            const broken = path.join(dir, "broken_train_iris.py");
            fs.writeFileSync(script, trainScript);
            fs.writeFileSync(broken, `${trainScript}\ndef broken(:\n`);
            const results = compileWithPython(python!, [script, broken]);
            expect(results[script]).toBeNull();
            expect(results[broken]).toMatch(/^SyntaxError/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "train-"));
    fs.writeFileSync(path.join(dir, "train_iris.py"), trainScript);
    const volumeModel = { ...seedCatalog.irisSvc, source: { kind: "train-iris" as const, scikitLearn: "1.5.2" } };
    const storeModel = { ...volumeModel, name: "iris-store", dest: "iris-store/", target: "store" as const };
    const run = (models: object[], env: Record<string, string> = {}) => {
        fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(seedManifest(models as never, "models/")));
        return runPython(hermeticScripts(python!), ["train_iris.py"], {
            cwd: dir,
            env: {
                ...process.env,
                PYTHONPATH: stubs,
                SEED_MANIFEST: path.join(dir, "manifest.json"),
                SEED_PLAN_DIR: path.join(dir, "plan"),
                SEED_OUT_DIR: path.join(dir, "out"),
                SEED_VOLUME_DIR: path.join(dir, "volume"),
                ...env,
            },
        });
    };
    const reset = () => ["plan", "out", "volume"].forEach((d) => fs.rmSync(path.join(dir, d), { recursive: true, force: true }));

    it("writes the model into the claim at <dest>model.joblib, with a marker, and skips it on a rerun", async () => {
        reset();
        const first = await run([volumeModel]);
        expect(first.status, first.stderr).toBe(0);
        const file = path.join(dir, "volume", "sklearn-iris-pvc", "model.joblib");
        expect(fs.existsSync(file)).toBe(true);
        expect(fs.readdirSync(path.dirname(file))).toEqual(["model.joblib"]);
        expect(fs.readdirSync(path.join(dir, "volume", "_seeded", "iris-svc"))).toHaveLength(1);
        expect(first.stdout).toMatch(/iris-svc: trained with scikit-learn 1\.5\.2 .*the notes' sample -> \[1, \d\]/);
        const before = fs.statSync(file).mtimeMs;
        const second = await run([volumeModel]);
        expect(second.stdout).toMatch(/already in the model claim, skipped/);
        expect(fs.statSync(file).mtimeMs).toBe(before);
    });

    it("trains again when the pinned scikit-learn changes (a new marker digest)", async () => {
        reset();
        expect((await run([volumeModel])).status).toBe(0);
        const moved = await run([{ ...volumeModel, source: { kind: "train-iris", scikitLearn: "1.6.1" } }], { FAKE_SKLEARN_VERSION: "1.6.1" });
        expect(moved.status, moved.stderr).toBe(0);
        expect(moved.stdout).toMatch(/trained with scikit-learn 1\.6\.1/);
        expect(fs.readdirSync(path.join(dir, "volume", "_seeded", "iris-svc"))).toHaveLength(2);
    });

    it("refuses to train under another scikit-learn than the pinned one, and writes nothing", async () => {
        reset();
        const r = await run([volumeModel], { FAKE_SKLEARN_VERSION: "1.7.0" });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/scikit-learn 1\.7\.0 is not the pinned 1\.5\.2/);
        expect(fs.existsSync(path.join(dir, "volume", "sklearn-iris-pvc", "model.joblib"))).toBe(false);
    });

    it("never publishes a model that does not classify its training data", async () => {
        reset();
        const r = await run([volumeModel], { FAKE_SVC_WRONG: "1" });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/scores 0\.000 on its training data/);
        expect(fs.readdirSync(path.join(dir, "volume", "sklearn-iris-pvc"))).toEqual([]);
    });

    it("refuses a directory that already holds another model file (the sklearn server loads exactly one)", async () => {
        reset();
        fs.mkdirSync(path.join(dir, "volume", "sklearn-iris-pvc"), { recursive: true });
        fs.writeFileSync(path.join(dir, "volume", "sklearn-iris-pvc", "mine.pkl"), "x");
        const r = await run([volumeModel]);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/already holds mine\.pkl/);
    });

    it("for the store: writes to the upload directory unless the plan step found it seeded", async () => {
        reset();
        expect((await run([storeModel])).status).toBe(0);
        expect(fs.existsSync(path.join(dir, "out", "iris-store", "model.joblib"))).toBe(true);
        expect(fs.existsSync(path.join(dir, "volume"))).toBe(false);
        reset();
        fs.mkdirSync(path.join(dir, "plan"), { recursive: true });
        fs.writeFileSync(path.join(dir, "plan", "iris-store"), "");
        const skipped = await run([storeModel]);
        expect(skipped.stdout).toMatch(/iris-store: already seeded, not training/);
        expect(fs.existsSync(path.join(dir, "out"))).toBe(false);
    });

    it("fails clearly when a claim model has no claim mounted", async () => {
        reset();
        const r = await run([volumeModel], { SEED_VOLUME_DIR: "" });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/its target is the model claim, but SEED_VOLUME_DIR is not set/);
    });

    it("seed.py leaves models of the claim alone (no S3 call for them)", async () => {
        fs.writeFileSync(path.join(dir, "seed.py"), seedScript);
        reset();
        fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(seedManifest([volumeModel, storeModel] as never, "models/")));
        const log = path.join(dir, "s3.log");
        fs.rmSync(log, { force: true });
        const env = { ...process.env, PYTHONPATH: stubs, FAKE_S3_LOG: log, FAKE_S3_STATE: path.join(dir, "s3.json"), SEED_MANIFEST: path.join(dir, "manifest.json"), SEED_BUCKET: "b", SEED_PLAN_DIR: path.join(dir, "plan"), SEED_OUT_DIR: path.join(dir, "out"), SEED_VOLUME_DIR: path.join(dir, "volume") };
        await runPythonSteps(hermeticScripts(python!), [["seed.py", "plan"], ["train_iris.py"], ["seed.py", "copy"]], { cwd: dir, env });
        const calls = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { action: string; resource: string; context: Record<string, string> });
        const touched = calls.map((c) => `${c.resource} ${c.context["s3:prefix"] ?? ""}`);
        expect(touched.some((t) => t.includes("sklearn-iris-pvc") || t.includes("iris-svc"))).toBe(false);
        expect(calls).toContainEqual(expect.objectContaining({ action: "s3:PutObject", resource: "arn:aws:s3:::b/models/iris-store/model.joblib" }));
        expect(fs.existsSync(path.join(dir, "volume", "sklearn-iris-pvc", "model.joblib"))).toBe(true);
    });
});

describe.skipIf(!sklearnPython)("train_iris.py with a real scikit-learn", () => {
    it("trains the notes' SVC, and the file loads with joblib and classifies the notes' flowers as versicolor", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "train-real-"));
        try {
            const version = execFileSync(sklearnPython!, ["-c", "import importlib.metadata as m; print(m.version('scikit-learn'))"], { encoding: "utf8" }).trim();
            fs.writeFileSync(path.join(dir, "train_iris.py"), trainScript);
            // The version guard is the script's: here it is satisfied with the installed version (the Job uses the runtime's).
            const model = { ...seedCatalog.irisSvc, source: { kind: "train-iris", scikitLearn: version } };
            fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(seedManifest([model as never], "models/")));
            const env = { ...process.env, SEED_MANIFEST: path.join(dir, "manifest.json"), SEED_VOLUME_DIR: path.join(dir, "volume") };
            const out = await runPythonOk(sklearnScripts, ["train_iris.py"], { cwd: dir, env });
            expect(out).toMatch(/training accuracy 0\.9[5-9]\d|training accuracy 1\.000/);
            // The notes' iris-input.json rows (seed 004); iris class 1 is versicolor (sklearn.datasets.load_iris target_names).
            // A fork of its own: nothing of the training run's process is there when the file loads.
            const loaded = (await runPythonOk(sklearnScripts, [path.join(__dirname, "fixtures", "check_iris_model.py"), path.join(dir, "volume", "sklearn-iris-pvc", "model.joblib")])).trim();
            expect(loaded).toBe("SVC scale [1, 1]");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
