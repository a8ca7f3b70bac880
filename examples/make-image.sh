#!/bin/sh
# Makes the examples' image on the spot and uploads it into the object store.
#
#   examples/make-image.sh [ringstack image push options, e.g. --data-dir DIR or --endpoint URL]
#
# qemu-img creates an empty 1 GiB qcow2 with every option pinned, so the same qemu-img gives
# the same bytes on every run (checked with qemu-img 7.2: two runs, one sha256). The upload's
# sha256 is compared with images/blank.yaml. Another qemu-img version may lay the header out
# differently: then the script rewrites images/blank.yaml with the sha256 it got and says so
# (commit that change before pushing).
#
# Environment: RINGSTACK (the CLI, default bin/ringstack beside this folder), RINGSTACK_IMAGE_DIR
# (where the image file is made, default $TMPDIR/ringstack-example-image).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
ringstack=${RINGSTACK:-$here/../bin/ringstack}
work=${RINGSTACK_IMAGE_DIR:-${TMPDIR:-/tmp}/ringstack-example-image}
manifest_file=$here/images/blank.yaml
image=$work/blank-1g.qcow2

command -v qemu-img >/dev/null || { echo "make-image.sh: qemu-img not found (apt-get install qemu-utils)" >&2; exit 1; }
mkdir -p "$work"
rm -f "$image"
qemu-img create -q -f qcow2 \
  -o cluster_size=65536,compat=1.1,lazy_refcounts=off,refcount_bits=16,preallocation=off \
  "$image" 1G

manifest=$("$ringstack" image push "$image" --name blank --bucket images --key blank-1g.qcow2 --min-memory-mib 128 --quiet "$@")
got=$(printf '%s\n' "$manifest" | awk '$1 == "sha256:" { print $2 }')
want=$(awk '$1 == "sha256:" { print $2 }' "$manifest_file")
if [ "$got" = "$want" ]; then
  echo "image blank uploaded to images/blank-1g.qcow2; sha256 $got matches images/blank.yaml"
else
  {
    sed -n '/^#/p' "$manifest_file" | sed '/^# *$/q'
    printf '%s\n' "$manifest"
  } > "$manifest_file.tmp"
  mv "$manifest_file.tmp" "$manifest_file"
  echo "image blank uploaded; this qemu-img made other bytes than the committed ones (sha256 $got, not $want)," >&2
  echo "so images/blank.yaml was rewritten with the new sha256: commit it before you push" >&2
fi
