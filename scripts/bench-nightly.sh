#!/usr/bin/env bash
# The nightly benchmark (docs/performance.md, "Nightly scans into one database"). Not part of the test suite.
#
#   scripts/bench-nightly.sh [--nights N] [--lines L] [--tokens T] [--keep-days K] [--bin PATH] [--no-build] [--db FILE] DIR
#
# A nightly cron job scans each night's logs into the same database. This makes N nights (default 6) with
# scripts/make-bench-corpus.py --day 0..N-1 under DIR/d<night> (L lines, default 2 000 000, and T distinct tokens,
# default 40 000, a night: the 10 M-line benchmark's 50 lines per token; made once, reused), scans them night after
# night into one fresh database (default DIR/nightly.sqlite, removed first), then scans the last night alone into
# an empty database, and prints per scan: wall time, CPU seconds (user + sys), peak RSS, bytes written by the
# process (/proc/PID/io wchar: the WAL and the checkpoints), the database's size, and the wall time of that
# night's compliance report (`report --since <night> --until <night's end>`, JSON). A scan or a report whose cost
# grows with the nights before it shows here; the last line is what the same night costs with no history. With
# --keep-days K, each night ends with `prune --keep-days K` (a nightly job with retention) and its wall time.
set -euo pipefail

nights=6
lines=2000000
tokens=40000
build=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --nights) nights="$2"; shift 2 ;;
        --lines) lines="$2"; shift 2 ;;
        --tokens) tokens="$2"; shift 2 ;;
        --bin) bin="$2"; build=0; shift 2 ;;
        --no-build) build=0; shift ;;
        --db) db="$2"; shift 2 ;;
        --keep-days) keep="$2"; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        -*) echo "bench-nightly.sh: unknown option $1" >&2; exit 2 ;;
        *) dir="$1"; shift ;;
    esac
done
: "${dir:?usage: scripts/bench-nightly.sh [--nights N] [--lines L] [--tokens T] DIR}"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cd "$(dirname "$0")/.."

if [[ $build == 1 ]]; then
    swift build -c release --product tokenaudit >&2
fi
bin=${bin:-$(swift build -c release --show-bin-path)/tokenaudit}
[[ -x $bin ]] || { echo "bench-nightly.sh: $bin not built" >&2; exit 2; }
db=${db:-$dir/nightly.sqlite}

for ((night = 0; night < nights; night++)); do
    out="$dir/d$night"
    if [[ -f $out/manifest.json ]] && python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); sys.exit(0 if (m["lines"], m["distinct_tokens"], m.get("day", 0)) == (int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])) else 1)' "$out/manifest.json" "$lines" "$tokens" "$night"; then
        continue
    fi
    python3 scripts/make-bench-corpus.py --lines "$lines" --tokens "$tokens" --day "$night" --out "$out" >&2
done

# One scan: prints "wall cpu rss_mb wchar_mb db_mb".
measure() {
    local target=$1 logs=$2 times
    times=$(mktemp)
    /usr/bin/time -f "%e %U %S %M" -o "$times" "$bin" scan "$logs" --keys "$dir/d0/keys" --db "$target" --jobs "$(nproc)" \
        --quiet >/dev/null 2>&1 &
    local pid=$! wchar=0 w child
    sleep 0.05
    child=$(pgrep -P "$pid" | head -1 || true)
    while kill -0 "$pid" 2>/dev/null; do
        if [[ -n $child ]]; then
            w=$(awk '/^wchar/ {print $2}' "/proc/$child/io" 2>/dev/null || true)
            [[ -n $w ]] && wchar=$w
        fi
        sleep 0.2
    done
    wait "$pid" || true
    read -r wall user sys rss < <(tail -1 "$times")
    rm -f "$times"
    printf "%6.2f %7.2f %6d %8d %7d\n" "$wall" "$(echo "$user + $sys" | bc)" $((rss / 1024)) $((wchar / 1048576)) \
        $(($(stat -c %s "$target") / 1048576))
}

# The night's report: prints its wall time. make-bench-corpus.py's day 0 is 2026-11-28 UTC (epoch 1795824000).
report() {
    local target=$1 night=$2 times since
    times=$(mktemp)
    since=$((1795824000 + night * 86400))
    /usr/bin/time -f "%e" -o "$times" "$bin" report --db "$target" --since "$since" --until "$((since + 86399))" \
        --format json >/dev/null 2>&1 || true
    printf "%8.2f\n" "$(tail -1 "$times")"
    rm -f "$times"
}

# With --keep-days: the prune after the night's report; prints its wall time and the database's size after it.
prune() {
    local target=$1 times
    [[ -n ${keep:-} ]] || return 0
    times=$(mktemp)
    /usr/bin/time -f "%e" -o "$times" "$bin" prune --db "$target" --keep-days "$keep" >/dev/null 2>&1 || true
    printf "%8.2f %7d\n" "$(tail -1 "$times")" $(($(stat -c %s "$target") / 1048576))
    rm -f "$times"
}

rm -f "$db" "$db-wal" "$db-shm"
scripts/machine.sh
printf "%-22s %6s %7s %6s %8s %7s %8s%s\n" scan wall_s cpu_s rss_mb wchar_mb db_mb report_s \
    "${keep:+  prune_s   db_mb}"
for ((night = 0; night < nights; night++)); do
    printf "%-22s %s %s %s\n" "night $night" "$(measure "$db" "$dir/d$night/logs")" "$(report "$db" "$night")" \
        "$(prune "$db")"
done
alone="$dir/alone.sqlite"
rm -f "$alone" "$alone-wal" "$alone-shm"
printf "%-22s %s %s\n" "night $((nights - 1)), empty db" "$(measure "$alone" "$dir/d$((nights - 1))/logs")" \
    "$(report "$alone" "$((nights - 1))")"
rm -f "$alone" "$alone-wal" "$alone-shm"
