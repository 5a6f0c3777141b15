"""Trains the iris classifier of the KServe notes (inference-platform components/models/modelSeeding.ts).

The notes (seed 004) fit an SVC with gamma="scale" on scikit-learn's iris data and dump it with
joblib; their `X, y = iris_datasets, iris.target` is a typo for the features, `iris.data`. This
runs in KServe's sklearn runtime image, so the pickle is written by the scikit-learn that will load
it, and refuses to run under any version but the one the manifest pins.

Each `train-iris` model goes to <SEED_OUT_DIR>/<name>/model.joblib (target "store": seed.py uploads
it, unless the plan step found it seeded) or to <SEED_VOLUME_DIR>/<dest>model.joblib (target
"volume": the mounted model claim; a marker _seeded/<name>/<digest> there makes a rerun skip it).
The file is written under a temporary name, loaded back and checked, then renamed: a model server
never sees half a file or a model that does not load.
"""
import hashlib
import json
import os
import sys

MODEL_FILE = "model.joblib"
# KServe's sklearn server loads the one file with these endings in the model directory and refuses
# a directory with more than one (kserve/kserve v0.20.0 python/sklearnserver/sklearnserver/model.py).
MODEL_EXTENSIONS = (".joblib", ".pkl", ".pickle")
# The two flowers the notes send in iris-input.json.
NOTES_SAMPLE = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]
MIN_TRAINING_ACCURACY = 0.95


def digest(model):
    """The same digest seed.py's marker() uses: a changed source (a new scikit-learn) is trained again."""
    return hashlib.sha256(json.dumps(model["source"], sort_keys=True).encode()).hexdigest()[:16]


def fit(scikit_learn_version):
    import sklearn

    if sklearn.__version__ != scikit_learn_version:
        sys.exit(
            f"scikit-learn {sklearn.__version__} is not the pinned {scikit_learn_version}: "
            "a model it pickles may not load in the runtime (versions.ts sklearnRuntime)"
        )
    from sklearn import datasets, svm

    iris = datasets.load_iris()
    X, y = iris.data, iris.target
    clf = svm.SVC(gamma="scale")
    clf.fit(X, y)
    return clf, X, y


def write(clf, X, y, dest_dir):
    from joblib import dump, load

    os.makedirs(dest_dir, exist_ok=True)
    others = sorted(f for f in os.listdir(dest_dir) if f.endswith(MODEL_EXTENSIONS) and f != MODEL_FILE)
    if others:
        sys.exit(f"{dest_dir} already holds {', '.join(others)}: the sklearn server loads exactly one model file per directory")
    path = os.path.join(dest_dir, MODEL_FILE)
    tmp = path + ".partial"
    dump(clf, tmp)
    loaded = load(tmp)
    accuracy = float((loaded.predict(X) == y).mean())
    if accuracy < MIN_TRAINING_ACCURACY:
        os.remove(tmp)
        sys.exit(f"the reloaded model scores {accuracy:.3f} on its training data (expected >= {MIN_TRAINING_ACCURACY})")
    os.replace(tmp, path)
    sample = [int(c) for c in loaded.predict(NOTES_SAMPLE)]
    return path, accuracy, sample


def main():
    manifest = json.load(open(os.environ["SEED_MANIFEST"]))
    plan_dir = os.environ.get("SEED_PLAN_DIR", "/work/plan")
    out_dir = os.environ.get("SEED_OUT_DIR", "/work/out")
    volume_dir = os.environ.get("SEED_VOLUME_DIR")
    for model in manifest["models"]:
        source = model["source"]
        if source["kind"] != "train-iris":
            continue
        name = model["name"]
        marker = None
        if model.get("target", "store") == "volume":
            if not volume_dir:
                sys.exit(f"{name}: its target is the model claim, but SEED_VOLUME_DIR is not set")
            marker = os.path.join(volume_dir, "_seeded", name, digest(model))
            if os.path.exists(marker):
                print(f"{name}: already in the model claim, skipped", flush=True)
                continue
            dest_dir = os.path.join(volume_dir, model["dest"])
        else:
            if os.path.exists(os.path.join(plan_dir, name)):
                print(f"{name}: already seeded, not training", flush=True)
                continue
            dest_dir = os.path.join(out_dir, name)
        clf, X, y = fit(source["scikitLearn"])
        path, accuracy, sample = write(clf, X, y, dest_dir)
        if marker:
            os.makedirs(os.path.dirname(marker), exist_ok=True)
            open(marker, "w").close()
        print(f"{name}: trained with scikit-learn {source['scikitLearn']} (training accuracy {accuracy:.3f}, "
              f"the notes' sample -> {sample}), wrote {path}", flush=True)


if __name__ == "__main__":
    main()
