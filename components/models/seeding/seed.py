"""Seeds the model store (inference-platform components/models/modelSeeding.ts).

Usage: seed.py plan|copy. Needs only s3:ListBucket on the prefix and s3:PutObject under it.

Hugging Face sources are read from $HF_ENDPOINT (default https://huggingface.co) at a pinned
commit, with $HF_TOKEN when it is set; every file is checked against its pinned size and sha256
before it is uploaded, and the token is never sent to another origin (the hub redirects large
files to a CDN).
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

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


HUB = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
CHUNK = 8 * 1024 * 1024


def _origin(url):
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc


class _TokenStaysOnHub(urllib.request.HTTPRedirectHandler):
    """Follows redirects, but a redirect away from the hub's origin loses the Authorization header."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != _origin(HUB):
            new.remove_header("Authorization")
        return new


_opener = urllib.request.build_opener(_TokenStaysOnHub)


def hub_open(model, path, what):
    request = urllib.request.Request(HUB + path, headers={"User-Agent": "inference-platform-seeding"})
    token = os.environ.get("HF_TOKEN", "").strip()
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        return _opener.open(request, timeout=60)
    except urllib.error.HTTPError as err:
        if err.code in (401, 403):
            hint = "set hfTokenSecret to a Secret holding a token with access" if not token else "the token in hfTokenSecret has no access"
            sys.exit(f"{model['name']}: the hub answered HTTP {err.code} for {what}: gated or private repository ({hint})")
        if err.code == 404:
            sys.exit(f"{model['name']}: the hub has no {what} (HTTP 404): check the repository, revision and file names")
        sys.exit(f"{model['name']}: the hub answered HTTP {err.code} for {what}")
    except urllib.error.URLError as err:
        sys.exit(f"{model['name']}: cannot reach the hub at {HUB} for {what}: {err.reason}")


def hub_check(model):
    """The pinned revision exists and the hub's own sizes and LFS sha256 agree with the pins."""
    source = model["source"]
    what = f"revision {source['revision']} of {source['repo']}"
    with hub_open(model, f"/api/models/{source['repo']}/revision/{source['revision']}?blobs=true", what) as response:
        info = json.load(response)
    if info.get("sha") != source["revision"]:
        sys.exit(f"{model['name']}: the hub resolved {what} to {info.get('sha')!r}, not the pinned commit")
    siblings = {s.get("rfilename"): s for s in info.get("siblings", [])}
    for pinned in source["files"]:
        hub = siblings.get(pinned["path"])
        if hub is None:
            sys.exit(f"{model['name']}: {pinned['path']} is not in {what}")
        if hub.get("size") is not None and hub["size"] != pinned["size"]:
            sys.exit(f"{model['name']}: {pinned['path']} is {hub['size']} bytes at {source['revision']}, pinned {pinned['size']}")
        lfs_sha256 = (hub.get("lfs") or {}).get("sha256")
        if lfs_sha256 is not None and lfs_sha256 != pinned["sha256"]:
            sys.exit(f"{model['name']}: the hub's sha256 of {pinned['path']} is {lfs_sha256}, pinned {pinned['sha256']}")


def hub_download(model, pinned, target):
    """Streams one file at the pinned commit into `target`; exits unless size and sha256 match."""
    source = model["source"]
    path = f"/{source['repo']}/resolve/{source['revision']}/{urllib.parse.quote(pinned['path'])}"
    digest = hashlib.sha256()
    size = 0
    with hub_open(model, path, f"{pinned['path']} at {source['revision']}") as response, open(target, "wb") as out:
        while True:
            chunk = response.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > pinned["size"]:
                sys.exit(f"{model['name']}: {pinned['path']} is larger than its pinned {pinned['size']} bytes")
            digest.update(chunk)
            out.write(chunk)
    if size != pinned["size"]:
        sys.exit(f"{model['name']}: {pinned['path']} has {size} bytes, pinned {pinned['size']}")
    if digest.hexdigest() != pinned["sha256"]:
        sys.exit(f"{model['name']}: sha256 of {pinned['path']} is {digest.hexdigest()}, pinned {pinned['sha256']}: not uploaded")


def copy_hub(model, dest, present):
    missing = [f for f in model["source"]["files"] if present.get(dest + f["path"]) != f["size"]]
    if not missing:
        return
    hub_check(model)
    scratch = os.path.join(out_dir, model["name"])
    os.makedirs(scratch, exist_ok=True)
    for pinned in missing:
        target = os.path.join(scratch, "download")
        hub_download(model, pinned, target)
        key = dest + pinned["path"]
        with open(target, "rb") as f:
            s3.upload_fileobj(f, bucket, key)
        os.remove(target)
        print(f"copied s3://{bucket}/{key} ({pinned['size']} bytes, sha256 verified)", flush=True)


def copy(model):
    dest = prefix + model["dest"]
    present = listing(dest)
    source = model["source"]
    if source["kind"] == "huggingface":
        copy_hub(model, dest, present)
        s3.put_object(Bucket=bucket, Key=marker(model), Body=b"")
        return
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
