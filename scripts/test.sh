#!/usr/bin/env bash
# The test command: installs and builds whatever is missing, then runs every suite:
# doctest (native and under node), CLI tests, node tests of the wasm module, the Chromium
# end-to-end test, and a short run of each libFuzzer target (tests/fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export NODE_PATH=/usr/share/nodejs
if [ "${CI:-}" = true ]; then
  # CI must fail, not skip, when something is missing.
  [ -x /usr/bin/chromium ] || { echo "error: /usr/bin/chromium is missing" >&2; exit 1; }
fi
status=0
for preset in native wasm fuzz; do
  echo "== $preset =="
  cmake --workflow --preset "$preset" || status=1
done
# A CI log is long and often shown by its ends: repeat, last, which tests failed and their FAIL lines.
if [ $status -ne 0 ]; then
  echo "== failures =="
  for preset in native wasm fuzz; do
    dir="build/$preset/Testing/Temporary"
    [ -s "$dir/LastTestsFailed.log" ] || continue
    echo "$preset: failed tests: $(cut -d: -f2 "$dir/LastTestsFailed.log" | tr '\n' ' ')"
    grep -E '^\s*FAIL|^FAILED:|Assertion|ERROR:|error:' "$dir/LastTest.log" | head -40 || true
  done
fi
exit $status
