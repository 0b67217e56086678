#!/bin/sh
# Regenerates the compressed fixtures. Needs gzip and zstd (apt-get install gzip zstd).
# File names lie about the compression on purpose: the reader must go by magic bytes.
set -eu
cd "$(dirname "$0")"
lines() { i=$1; while [ "$i" -le "$2" ]; do echo "line $i GET /api/items?page=$i HTTP/1.1 200"; i=$((i + 1)); done; }

lines 1 20 > plain-in-disguise.zst
lines 1 20 | gzip -n -9 > gzip-in-disguise.log
lines 1 20 | zstd -q -c > zstd-in-disguise.gz

# Two gzip members, two zstd frames: readers must read past the first one.
{ lines 1 10 | gzip -n; lines 11 20 | gzip -n; } > multi-member.txt
{ lines 1 10 | zstd -q -c; lines 11 20 | zstd -q -c; } > multi-frame.log

# Two frames the tests glue together after damaging the second (or cut short).
lines 1 1000 | zstd -q -c > frame-a.zst
lines 1001 2000 | zstd -q -c > frame-b.zst
