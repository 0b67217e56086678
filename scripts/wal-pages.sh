#!/usr/bin/env bash
# Which B-trees a command writes to the SQLite WAL (docs/performance.md, "Twentieth session"). Not part of the
# test suite.
#
#   scripts/wal-pages.sh DB -- COMMAND [ARGS...]
#
# Runs COMMAND with a small LD_PRELOAD library (built here with cc) that notes the page number of every WAL
# frame written (SQLite writes each frame's 24-byte header with one pwrite), then maps page numbers to tables and
# indexes with `dbstat` on DB as the command left it (pages freed meanwhile show as "(free or moved)"), and
# prints frames and distinct pages per B-tree. Needs cc and the sqlite3 shell.
#
# Example: a night scanned into a copy of a long history
#   cp .bench/nightly21.sqlite /tmp/n.sqlite
#   scripts/wal-pages.sh /tmp/n.sqlite -- .build/release/tokenaudit scan .bench/nightly/d21/logs \
#       --keys .bench/nightly/d0/keys --db /tmp/n.sqlite --quiet
set -euo pipefail
[[ $# -ge 3 && $2 == -- ]] || { sed -n 2,16p "$0" >&2; exit 2; }
db=$1
shift 2
command -v cc >/dev/null || { echo "wal-pages.sh: needs cc" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "wal-pages.sh: needs the sqlite3 shell" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/shim.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static FILE *out;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t offset) {
    if (!real_pwrite) real_pwrite = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
    if (n == 24) {  /* a WAL frame header: the page number first, big-endian */
        const unsigned char *b = buf;
        pthread_mutex_lock(&lock);
        if (!out) out = fopen(getenv("WAL_PAGES_OUT"), "w");
        if (out) fprintf(out, "%u\n", (unsigned)b[0] << 24 | (unsigned)b[1] << 16 | (unsigned)b[2] << 8 | b[3]);
        pthread_mutex_unlock(&lock);
    }
    return real_pwrite(fd, buf, n, offset);
}
EOF
cc -O2 -shared -fPIC -o "$work/shim.so" "$work/shim.c" -ldl
status=0
WAL_PAGES_OUT="$work/frames.txt" LD_PRELOAD="$work/shim.so" "$@" || status=$?
[[ -s $work/frames.txt ]] || { echo "wal-pages.sh: no WAL frame was written (exit $status)" >&2; exit 1; }
sqlite3 -readonly "$db" "SELECT pageno, name FROM dbstat" >"$work/pages.txt"
python3 - "$work/pages.txt" "$work/frames.txt" "$status" <<'EOF'
import collections, sys
names = {}
for line in open(sys.argv[1]):
    page, name = line.rstrip("\n").split("|", 1)
    names[int(page)] = name
frames, distinct = collections.Counter(), collections.defaultdict(set)
for line in open(sys.argv[2]):
    page = int(line)
    name = names.get(page, "(free or moved)")
    frames[name] += 1
    distinct[name].add(page)
total = sum(frames.values())
print(f"{total} WAL frames (command exit {sys.argv[3]})")
print(f"{'frames':>8} {'share':>6} {'pages':>7}  b-tree")
for name, count in frames.most_common():
    print(f"{count:8d} {count / total * 100:5.1f}% {len(distinct[name]):7d}  {name}")
EOF
