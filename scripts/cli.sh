#!/usr/bin/env bash
# Runs the native CLI (build/native/quantmix), building it first if needed: npm run cli -- ARGS
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ -x "$root/build/native/quantmix" ] || bash "$root/scripts/build.sh" native >&2
exec "$root/build/native/quantmix" "$@"
