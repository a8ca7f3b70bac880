#!/usr/bin/env bash
# Prints the process ids of the running Swift bench cluster and all their children (workers).
. "$(dirname "$0")/env.sh"
all=""
while read -r name pid; do all="$all $pid $(pgrep -g "$pid" 2>/dev/null | tr '\n' ' ')"; done < "$PIDFILE"
echo $all | tr ' ' '\n' | sort -un | tr '\n' ' '
