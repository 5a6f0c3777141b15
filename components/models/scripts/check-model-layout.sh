# Run after the model download (argument 1: the download directory). TF Serving loads
# <base>/<integer version>/saved_model.pb(txt) and otherwise waits forever, logging
# "No versions of servable ... found", so a wrong layout fails the pod here instead.
set -eu
dir="$1"
found=''
for d in "$dir"/*/; do
  v=$(basename "$d")
  case "$v" in *[!0-9]*) continue ;; esac
  if [ -f "$d/saved_model.pb" ] || [ -f "$d/saved_model.pbtxt" ]; then found="$v"; fi
done
if [ -z "$found" ]; then
  echo "model layout error: expected <storageUri>/<version>/saved_model.pb with an integer version (e.g. models/clothing-model/1/saved_model.pb); downloaded:" >&2
  ls -R "$dir" | head -n 50 >&2
  exit 1
fi
echo "model versions present; newest directory checked: $found"
