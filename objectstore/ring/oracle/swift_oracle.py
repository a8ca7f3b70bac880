#!/usr/bin/python3
"""Test oracle: answers ring look-ups with OpenStack Swift's own Ring (Debian python3-swift).

usage: swift_oracle.py RING_FILE PREFIX SUFFIX HANDOFFS
stdin: one JSON list per line, [account, container, object] (container/object may be null)
stdout: one JSON object per line: {"part": N, "primaries": [dev ids], "handoffs": [dev ids]}
        with at most HANDOFFS handoff ids from get_more_nodes.
Run with /usr/bin/python3 (Debian's swift modules are only visible there).
"""
import itertools
import json
import sys

import swift.common.utils as swift_utils
from swift.common.ring import Ring


def main():
    ring_file, prefix, suffix, handoffs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    swift_utils.HASH_PATH_PREFIX = prefix.encode('utf8')
    swift_utils.HASH_PATH_SUFFIX = suffix.encode('utf8')
    ring = Ring(ring_file)
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        account, container, obj = json.loads(line)
        part, nodes = ring.get_nodes(account, container, obj)
        more = [d['id'] for d in itertools.islice(ring.get_more_nodes(part), handoffs)]
        out.write(json.dumps({'part': part, 'primaries': [d['id'] for d in nodes],
                              'handoffs': more}) + '\n')
    out.flush()


if __name__ == '__main__':
    main()
