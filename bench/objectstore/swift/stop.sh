#!/usr/bin/env bash
# Stops what start.sh started (by the recorded process ids and their process groups only).
set -uo pipefail
. "$(dirname "$0")/env.sh"
[ -s "$PIDFILE" ] || exit 0
while read -r name pid; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; done < "$PIDFILE"
for _ in $(seq 1 50); do
  alive=0
  while read -r name pid; do kill -0 "$pid" 2>/dev/null && alive=1; done < "$PIDFILE"
  [ $alive = 0 ] && break
  sleep 0.2
done
while read -r name pid; do kill -KILL -- "-$pid" 2>/dev/null; done < "$PIDFILE"
: > "$PIDFILE"
