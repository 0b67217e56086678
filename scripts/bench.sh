#!/usr/bin/env bash
# The scan benchmark (docs/performance.md). Not part of the test suite.
#
#   scripts/bench.sh [--runs N] [--jobs N] [--no-build] [--skip-jobs1] [--stages] [--bin PATH] CORPUS_DIR
#
# CORPUS_DIR is made by scripts/make-bench-corpus.py (logs/*.gz, keys/, manifest.json, alg/*.log).
# On the same files, in one run, N times each (default 3), it measures:
#   floor    `gzip -dc` of every file, one process per core in parallel (xargs -P $(nproc)), output discarded
#   jobs=1   `tokenaudit scan --jobs 1` on a fresh database
#   jobs=N   `tokenaudit scan --jobs $(nproc)` on a fresh database
#   re-run   the same scan again on the database jobs=N left (every file already ingested)
#   stages   the jobs=N scan's own CPU split (`scan --json`: readers, workers, token analysis, writer, committer, main)
#   per-alg  `tokenaudit scan --jobs 1` of alg/<ALG>.log (one line per distinct token): distinct tokens per second
#   --stages the three stages every scan runs, each alone and once, single-threaded (tokenaudit-bench inflate,
#            extract, analyse of the corpus's tokens-*.txt), and what they leave of the target's CPU budget
# and prints medians: wall time, lines/s, compressed and uncompressed MB/s, peak RSS (/usr/bin/time -v), database
# bytes per input line, the ratio to the floor, and the re-run's share of the first run.
set -euo pipefail

runs=3
jobs=$(nproc)
build=1
jobs1=1
stages=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        --bin) bin="$2"; build=0; shift 2 ;;
        --skip-jobs1) jobs1=0; shift ;;
        --stages) stages=1; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        -*) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
        *) corpus="$1"; shift ;;
    esac
done
: "${corpus:?usage: scripts/bench.sh [--runs N] [--jobs N] [--no-build] CORPUS_DIR}"
corpus=$(cd "$corpus" && pwd)
cd "$(dirname "$0")/.."

if [[ ! -x /usr/bin/time ]]; then
    echo "installing GNU time (/usr/bin/time)" >&2
    apt-get install -y time >/dev/null
fi
if [[ $build == 1 ]]; then
    swift build -c release --product tokenaudit >&2
    if [[ $stages == 1 ]]; then swift build -c release --product tokenaudit-bench >&2; fi
fi
bin=${bin:-$(swift build -c release --show-bin-path)/tokenaudit}
[[ -x $bin ]] || { echo "bench.sh: $bin not built" >&2; exit 2; }
stage_bin=$(dirname "$bin")/tokenaudit-bench
if [[ $stages == 1 && ! -x $stage_bin ]]; then
    echo "bench.sh: --stages needs $stage_bin (swift build -c release --product tokenaudit-bench)" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tokenaudit-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
files=("$corpus"/logs/*.gz)

# Sizes and line counts: from the manifest when there is one, else counted once.
if [[ -f $corpus/manifest.json ]]; then
    read -r lines raw gz < <(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["lines"], m["uncompressed_bytes"], m["compressed_bytes"])' "$corpus/manifest.json")
else
    gz=$(cat "${files[@]}" | wc -c)
    read -r lines raw < <(gzip -dc "${files[@]}" | wc -lc)
fi

now() { date +%s.%N; }

# measure NAME CMD...: runs CMD under /usr/bin/time -v, appends "wall rss_kb cpu_s" to $work/NAME.
measure() {
    local name=$1; shift
    local start end status=0
    start=$(now)
    /usr/bin/time -v -o "$work/time.txt" "$@" >"$work/out.txt" 2>&1 || status=$?
    end=$(now)
    # tokenaudit scan exits 1 when it found findings at or above --fail-on: a normal outcome here.
    if [[ $status -gt 1 ]]; then
        echo "bench.sh: '$*' failed with status $status:" >&2
        tail -20 "$work/out.txt" >&2
        exit 1
    fi
    local rss cpu
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$work/time.txt")
    echo "$(echo "$end - $start" | bc -l) $rss $cpu" >>"$work/$name"
}

printf '%s\0' "${files[@]}" >"$work/files0"

for ((run = 1; run <= runs; run++)); do
    echo "run $run/$runs" >&2
    measure floor xargs -0 -a "$work/files0" -P "$(nproc)" -n 1 sh -c 'gzip -dc "$1" >/dev/null' sh
    if [[ $jobs1 == 1 ]]; then
        rm -f "$work"/db1.sqlite*
        measure jobs1 "$bin" scan "${files[@]}" --keys "$corpus/keys" --db "$work/db1.sqlite" --jobs 1
    fi
    rm -f "$work"/dbN.sqlite*
    measure jobsN "$bin" scan "${files[@]}" --keys "$corpus/keys" --db "$work/dbN.sqlite" --jobs "$jobs" --json
    grep '^{"run_id"' "$work/out.txt" >"$work/jobsN-$run.json" || true
    wal=$(stat -c %s "$work/dbN.sqlite-wal" 2>/dev/null || echo 0)
    echo "$(stat -c %s "$work/dbN.sqlite") $wal" >>"$work/dbsize"
    measure rerun "$bin" scan "${files[@]}" --keys "$corpus/keys" --db "$work/dbN.sqlite" --jobs "$jobs"
done

# Distinct tokens per second, per algorithm: one line per distinct token, so every line is a new token.
if [[ -d $corpus/alg ]]; then
    for file in "$corpus"/alg/*.log; do
        name=$(basename "$file" .log)
        for ((run = 1; run <= runs; run++)); do
            rm -f "$work"/alg.sqlite*
            measure "alg-$name" "$bin" scan "$file" --keys "$corpus/keys" --db "$work/alg.sqlite" --jobs 1
        done
        wc -l <"$file" >"$work/alg-$name.count"
    done
fi

# The stages every scan runs, each alone (one run each: they are single-threaded and steadier than the scan).
if [[ $stages == 1 ]]; then
    tokens_file=$(ls "$corpus"/tokens-*.txt 2>/dev/null | head -1)
    [[ -n $tokens_file ]] || { echo "bench.sh: --stages needs the corpus's tokens-*.txt" >&2; exit 2; }
    echo "stages: inflate, extract, analyse (each alone)" >&2
    "$stage_bin" inflate "${files[@]}" 2>/dev/null | grep '"file":"TOTAL"' >"$work/stage-inflate.json"
    "$stage_bin" extract "${files[@]}" 2>/dev/null >"$work/stage-extract.json"
    "$stage_bin" analyse "$tokens_file" "$corpus/keys" 2>/dev/null >"$work/stage-analyse.json"
fi

scripts/machine.sh
python3 - "$work" "$lines" "$raw" "$gz" "$jobs" "$runs" "$(nproc)" <<'EOF'
import json, math, os, statistics, sys, sqlite3
work, lines, raw, gz, jobs, runs, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6]), sys.argv[7]

def load(name):
    path = os.path.join(work, name)
    if not os.path.exists(path):
        return None
    rows = [line.split() for line in open(path)]
    cpu = statistics.median(float(r[2]) for r in rows) if all(len(r) > 2 for r in rows) else float("nan")
    return statistics.median(float(r[0]) for r in rows), statistics.median(int(r[1]) for r in rows), cpu

floor = load("floor")
print(f"corpus: {lines:,} lines, {gz / 1e6:,.1f} MB gzip, {raw / 1e6:,.1f} MB uncompressed; {cores} cores; medians of {runs} runs")
print()
print("| step | wall s | CPU s (user+sys) | lines/s | gz MB/s | raw MB/s | peak RSS MB | wall / floor |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
first = None
for name, label in (("floor", f"floor: gzip -dc x{cores} parallel"), ("jobs1", "scan --jobs 1"),
                    ("jobsN", f"scan --jobs {jobs}"), ("rerun", f"re-run --jobs {jobs} (all ingested)")):
    m = load(name)
    if m is None:
        continue
    wall, rss, cpu = m
    if name == "jobsN":
        first = wall
    print(f"| {label} | {wall:.2f} | {cpu:.2f} | {lines / wall:,.0f} | {gz / wall / 1e6:.1f} | {raw / wall / 1e6:.1f} | "
          f"{rss / 1024:.0f} | {wall / floor[0]:.2f} |")
print()
sizes = [tuple(map(int, l.split())) for l in open(os.path.join(work, "dbsize"))]
db = statistics.median(s[0] + s[1] for s in sizes)
print(f"database: {db / 1e6:.1f} MB = {db / lines:.1f} bytes per input line")
rerun = load("rerun")
if rerun and first:
    print(f"re-run: {rerun[0]:.3f} s = {100 * rerun[0] / first:.2f} % of the first run")
connection = sqlite3.connect(os.path.join(work, "dbN.sqlite"))
tables = {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
          for t in ("tokens", "usage_groups", "request_buckets", "findings")}
print("rows: " + ", ".join(f"{t} {n:,}" for t, n in tables.items()))
try:
    parts = connection.execute(
        "SELECT coalesce(i.tbl_name, d.name), sum(d.pgsize) FROM dbstat d LEFT JOIN sqlite_schema i ON i.name = d.name "
        "GROUP BY 1 ORDER BY 2 DESC").fetchall()
    print("bytes by table (with its indexes): " + ", ".join(f"{n} {b / 1e6:.1f} MB" for n, b in parts if b > 100000))
except sqlite3.Error:
    pass
stage_runs = []
for name in sorted(os.listdir(work)):
    if name.startswith("jobsN-") and name.endswith(".json"):
        try:
            stage_runs.append(json.load(open(os.path.join(work, name)))["cpu_seconds"])
        except (ValueError, KeyError):
            pass
if stage_runs:
    keys = ("total", "readers", "workers", "token_analysis", "writer", "committer", "main")
    medians = {k: statistics.median(r.get(k, 0) for r in stage_runs) for k in keys}
    print(f"cpu by stage (scan --jobs {jobs}, its --json, medians of {len(stage_runs)}): total {medians['total']:.1f} s; "
          + ", ".join(f"{k.replace('_', ' ')} {medians[k]:.1f}" for k in keys[1:]))
stage_files = [os.path.join(work, f"stage-{n}.json") for n in ("inflate", "extract", "analyse")]
if all(os.path.exists(f) and os.path.getsize(f) > 0 for f in stage_files):
    inflate, extract, analyse = (json.loads(open(f).read().strip().splitlines()[-1]) for f in stage_files)
    # Each stage's CPU for this corpus: inflate and extraction measured on every line; the analysis of the
    # tokens file (the corpus's distinct tokens), whose count the scan analyses at least once each.
    inflate_cpu = float(inflate["cpu_s"])
    extract_cpu = float(extract["us_per_line"]) * lines / 1e6
    analyse_cpu = float(analyse["analyse_cpu_s"])
    verify_cpu = float(analyse["verify_us_per_token"]) * int(analyse["tokens"]) / 1e6
    fixed = inflate_cpu + extract_cpu + analyse_cpu
    print()
    print(f"stages every scan runs, each alone (single-threaded, once): inflate and line splitting {inflate_cpu:.1f} CPU-s, "
          f"extraction {extract_cpu:.1f} ({float(extract['us_per_line']):.2f} µs a line), analysis of {int(analyse['tokens']):,} "
          f"distinct tokens {analyse_cpu:.1f} ({float(analyse['analyse_us_per_token']):.1f} µs each; verification {verify_cpu:.1f}) "
          f"= {fixed:.1f} CPU-s")
    budget = 1.6 * floor[0] * int(cores)
    scan = load("jobsN")
    line = (f"target budget: 1.6 × the {floor[0]:.2f} s floor × {cores} cores = {budget:.1f} CPU-s at most; "
            f"the stages above leave {budget - fixed:.1f} for everything else (token lookups, request rules, rows, fold, SQLite)")
    if scan and not math.isnan(scan[2]):  # nan: /usr/bin/time gave no CPU times
        line += f"; this scan spent {scan[2] - fixed:.1f} on it ({scan[2]:.1f} − {fixed:.1f})"
    print(line)
algs = sorted(f[4:] for f in os.listdir(work) if f.startswith("alg-") and not f.endswith(".count"))
if algs:
    print()
    print("| algorithm | distinct tokens | wall s | distinct tokens/s (whole scan, --jobs 1) |")
    print("|---|---:|---:|---:|")
    for alg in algs:
        wall, _, _ = load(f"alg-{alg}")
        count = int(open(os.path.join(work, f"alg-{alg}.count")).read())
        print(f"| {alg} | {count:,} | {wall:.2f} | {count / wall:,.0f} |")
EOF
