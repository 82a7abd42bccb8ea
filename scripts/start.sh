#!/usr/bin/env bash
# The main job: builds the browser app if needed and serves it on 127.0.0.1.
# Usage: scripts/start.sh [PORT]   (default 8080; 0 picks a free port)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh wasm
exec node tools/serve.mjs build/wasm/web "${1:-8080}"
