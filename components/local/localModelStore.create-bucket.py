"""Creates the local model store's bucket and puts its policy (inference-platform components/localModelStore.ts).

Runs as versitygw's root account with KServe's storage-initializer image (it has boto3). Every step
is idempotent, so the Job can run again at any time: a bucket this account already owns is kept,
the policy is put again and read back.

Environment: BUCKET, POLICY_JSON, AWS_ENDPOINT_URL, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY.
"""
import json
import os
import sys

import boto3
from botocore.exceptions import ClientError


def main():
    bucket = os.environ["BUCKET"]
    policy_text = os.environ["POLICY_JSON"]
    policy = json.loads(policy_text)
    s3 = boto3.client("s3")
    try:
        s3.create_bucket(Bucket=bucket)
        print(f"created bucket {bucket}", flush=True)
    except ClientError as err:
        # versitygw answers a second CreateBucket from the owner with BucketAlreadyOwnedByYou;
        # BucketAlreadyExists (someone else's bucket) is not ours to take over.
        if err.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
            raise
        print(f"bucket {bucket} exists", flush=True)
    s3.put_bucket_policy(Bucket=bucket, Policy=policy_text)
    stored = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    if stored != policy:
        sys.exit(f"bucket {bucket}: the policy read back differs from the one put")
    print(f"bucket {bucket}: policy in place", flush=True)


if __name__ == "__main__":
    main()
