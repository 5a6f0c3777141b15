"""Seeds the model store (inference-platform components/models/modelSeeding.ts).

Usage: seed.py plan|copy. Needs only s3:ListBucket on the prefix and s3:PutObject under it.
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile

import boto3

manifest = json.load(open(os.environ["SEED_MANIFEST"]))
bucket = os.environ["SEED_BUCKET"]
prefix = manifest["prefix"]
plan_dir = os.environ.get("SEED_PLAN_DIR", "/work/plan")
out_dir = os.environ.get("SEED_OUT_DIR", "/work/out")
s3 = boto3.client("s3")
# Models written into the mounted model claim (target "volume") are train_iris.py's alone.
store_models = [m for m in manifest["models"] if m.get("target", "store") == "store"]


def marker(model):
    digest = hashlib.sha256(json.dumps(model["source"], sort_keys=True).encode()).hexdigest()[:16]
    return f"{prefix}_seeded/{model['name']}/{digest}"


def listing(key_prefix):
    sizes = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_prefix):
        for obj in page.get("Contents", []):
            sizes[obj["Key"]] = obj["Size"]
    return sizes


def gcs_objects(uri):
    from google.cloud import storage

    src_bucket, _, path = uri[len("gs://"):].partition("/")
    path = path.rstrip("/") + "/"
    client = storage.Client.create_anonymous_client()
    for blob in client.list_blobs(src_bucket, prefix=path):
        if not blob.name.endswith("/"):
            yield blob.name[len(path):], blob.size, blob.download_to_file


def local_objects(root):
    for dirpath, dirnames, files in os.walk(root):
        dirnames.sort()
        for name in sorted(files):
            full = os.path.join(dirpath, name)

            def fetch(out, full=full):
                with open(full, "rb") as src:
                    shutil.copyfileobj(src, out)

            yield os.path.relpath(full, root), os.path.getsize(full), fetch


def copy(model):
    dest = prefix + model["dest"]
    present = listing(dest)
    source = model["source"]
    if source["kind"] == "gcs":
        objects = gcs_objects(source["uri"])
    else:
        objects = local_objects(os.path.join(out_dir, model["name"]))
    count = 0
    for rel, size, fetch in objects:
        count += 1
        key = dest + rel
        if present.get(key) == size:
            continue
        with tempfile.TemporaryFile() as tmp:
            fetch(tmp)
            tmp.seek(0)
            s3.upload_fileobj(tmp, bucket, key)
        print(f"copied s3://{bucket}/{key} ({size} bytes)", flush=True)
    if count == 0:
        sys.exit(f"{model['name']}: the source has no objects")
    s3.put_object(Bucket=bucket, Key=marker(model), Body=b"")


def main(mode):
    os.makedirs(plan_dir, exist_ok=True)
    for model in store_models:
        done = marker(model) in listing(marker(model))
        if mode == "plan":
            if done:
                open(os.path.join(plan_dir, model["name"]), "w").close()
        elif done:
            print(f"{model['name']}: already seeded, skipped", flush=True)
        else:
            copy(model)
            print(f"{model['name']}: seeded into s3://{bucket}/{prefix}{model['dest']}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("plan", "copy"):
        sys.exit("usage: seed.py plan|copy")
    main(sys.argv[1])
