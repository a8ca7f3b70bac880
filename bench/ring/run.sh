#!/usr/bin/env bash
# Ring builder benchmark: ringstack vs swift-ring-builder, side by side, medians of N runs.
#   bench/ring/run.sh [--runs N] [--part-power P] [--seed S] [--only ringstack|swift]
# Needs Debian's swift (apt-get install -y --no-install-recommends python3-swift swift) and a
# compiled tree (this script runs `npx tsc -p .` first).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
command -v /usr/bin/swift-ring-builder >/dev/null || { echo "swift-ring-builder missing: apt-get install -y swift python3-swift" >&2; exit 1; }
npx tsc -p . >/dev/null || echo "warning: tsc reported errors (dist/ was still emitted)" >&2
exec node dist/bench/ring/ringbench.js "$@"
