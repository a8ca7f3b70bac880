#!/usr/bin/env bash
# Ring builder benchmark: ringstack vs swift-ring-builder, side by side, medians of N runs.
#   bench/ring/run.sh [--runs N] [--part-power P] [--seed S] [--only ringstack|swift]
# Needs Debian's swift (apt-get install -y --no-install-recommends python3-swift swift).
# Compiles the tree, then runs from a private copy of dist/ so that a rebuild of the work tree
# during the run (minutes long) cannot mix two versions of the code.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
command -v /usr/bin/swift-ring-builder >/dev/null || { echo "swift-ring-builder missing: apt-get install -y swift python3-swift" >&2; exit 1; }
npx tsc -p . >/dev/null || echo "warning: tsc reported errors (dist/ was still emitted)" >&2
SNAP=$(mktemp -d /tmp/ringbench-tree.XXXXXX)
trap 'rm -rf "$SNAP"' EXIT
cp -r dist "$SNAP/dist"
mkdir "$SNAP/bin"
cp bin/ringstack "$SNAP/bin/"
cp package.json "$SNAP/"
ln -s "$ROOT/node_modules" "$SNAP/node_modules"
node "$SNAP/dist/bench/ring/ringbench.js" "$@"
