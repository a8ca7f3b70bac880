#!/usr/bin/env bash
# Prints the process ids of the Swift started under ROOT and of every member of their process
# groups (proxy and server workers), space-separated: the bench sums their CPU time.
#   usage: pids.sh ROOT
set -uo pipefail
ROOT=${1:?usage: pids.sh ROOT}
PIDS=$ROOT/run/pids
[ -s "$PIDS" ] || { echo "pids.sh: nothing started under $ROOT" >&2; exit 1; }
all=""
while read -r _ pid; do all="$all $pid $(ps -o pid= -g "$pid" 2>/dev/null | tr '\n' ' ')"; done < "$PIDS"
echo $all | tr ' ' '\n' | sort -un | tr '\n' ' '
echo
