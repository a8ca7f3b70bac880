#!/usr/bin/env bash
# Stops what start.sh started under ROOT, by the pids it recorded (each is a session leader,
# so its workers go with its process group). SIGTERM, then SIGKILL after ~10 s.
#   usage: stop.sh ROOT
set -uo pipefail
ROOT=${1:?usage: stop.sh ROOT}
PIDS=$ROOT/run/pids
[ -s "$PIDS" ] || exit 0
groups=()
while read -r _ pid; do
  [ -r "/proc/$pid/cmdline" ] || continue
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qE 'swift-|memcached' || continue   # pid reused: not ours
  kill -TERM -- "-$pid" 2>/dev/null && groups+=("$pid")
done < "$PIDS"
for _ in $(seq 1 50); do
  left=0
  for g in "${groups[@]}"; do [ -n "$(ps -o pid= -g "$g" 2>/dev/null)" ] && left=1; done
  [ $left = 0 ] && break
  sleep 0.2
done
for g in "${groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
rm -f "$PIDS"
echo "stop.sh: stopped ${#groups[@]} process groups"
