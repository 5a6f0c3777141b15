"""Converts Keras .h5 models to SavedModels (inference-platform components/models/modelSeeding.ts)."""
import hashlib
import json
import os
import sys
import urllib.request

manifest = json.load(open(os.environ["SEED_MANIFEST"]))
plan_dir = os.environ.get("SEED_PLAN_DIR", "/work/plan")
out_dir = os.environ.get("SEED_OUT_DIR", "/work/out")

for model in manifest["models"]:
    source = model["source"]
    if source["kind"] != "keras-h5":
        continue
    if os.path.exists(os.path.join(plan_dir, model["name"])):
        print(f"{model['name']}: already seeded, not converting", flush=True)
        continue
    os.makedirs(out_dir, exist_ok=True)
    h5 = os.path.join(out_dir, model["name"] + ".h5")
    urllib.request.urlretrieve(source["url"], h5)
    if source.get("sha256"):
        with open(h5, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if digest != source["sha256"]:
            sys.exit(f"{model['name']}: sha256 {digest} does not match {source['sha256']}")
    import tensorflow as tf

    keras_model = tf.keras.models.load_model(h5, compile=False)
    tf.saved_model.save(keras_model, os.path.join(out_dir, model["name"], str(source["version"])))
    os.remove(h5)
    print(f"{model['name']}: converted to SavedModel version {source['version']}", flush=True)
