#!/usr/bin/env bash
# Makes the BERT golden fixtures (see bert_golden.py). Uses $PYTHON if set, else /root/venv-golden if present,
# else creates .cache/venv-golden with torch (CPU wheel), transformers, tokenizers and safetensors from PyPI.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${PYTHON:-}" ]; then
  if [ -x /root/venv-golden/bin/python ]; then
    PYTHON=/root/venv-golden/bin/python
  else
    python3 -m venv .cache/venv-golden
    .cache/venv-golden/bin/pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu \
      || .cache/venv-golden/bin/pip install --quiet torch
    .cache/venv-golden/bin/pip install --quiet "transformers>=5" tokenizers safetensors
    PYTHON=.cache/venv-golden/bin/python
  fi
fi
exec "$PYTHON" scripts/golden/bert_golden.py
