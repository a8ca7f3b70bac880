#!/usr/bin/env bash
# Prints the Swift bench proxy's base URL.
. "$(dirname "$0")/env.sh"
echo "http://127.0.0.1:$SWIFT_BENCH_PROXY_PORT"
