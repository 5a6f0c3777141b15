#!/bin/sh
# Creates the models' account in versitygw's internal IAM (inference-platform
# components/localModelStore.ts): role `user`, which cannot create buckets or call the admin API;
# the bucket policy then grants it the model bucket only.
#
# Idempotent: when the account exists (a re-run), update-user sets the secret and role this stack
# says. `versitygw admin` reads ADMIN_ENDPOINT_URL, ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY and
# ADMIN_REGION from the environment; MODELS_ACCESS_KEY_ID and MODELS_SECRET_ACCESS_KEY name the account.
set -eu
if versitygw admin create-user --access "$MODELS_ACCESS_KEY_ID" --secret "$MODELS_SECRET_ACCESS_KEY" --role user; then
    echo "created account $MODELS_ACCESS_KEY_ID"
else
    versitygw admin update-user --access "$MODELS_ACCESS_KEY_ID" --secret "$MODELS_SECRET_ACCESS_KEY" --role user
    echo "updated account $MODELS_ACCESS_KEY_ID"
fi
