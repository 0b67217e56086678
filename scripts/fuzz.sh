#!/usr/bin/env bash
# Fuzzes the stages that read attacker-chosen bytes (docs/fuzzing.md). Not part of the test suite (the suite runs
# a fixed mutation run of its own: Tests/TokenAuditFuzzingTests).
#
#   scripts/fuzz.sh [--seconds N] [--jobs J] [--no-build] [-- LIBFUZZER FLAGS...]
#
# Builds tokenaudit-fuzz with libFuzzer and AddressSanitizer (in .build-fuzz, apart from the normal build), seeds
# a corpus in .fuzz/corpus from samples/ (a first byte picks the target: line, token, log, keys, store), and runs
# libFuzzer for N seconds (default 600) on J processes (default 1). A crash, a sanitizer report or a broken
# invariant stops it and leaves the input in .fuzz/ as crash-* / leak-* / timeout-*; replay one with
#   .build-fuzz/release/tokenaudit-fuzz replay .fuzz/crash-…
# (or, without libFuzzer, `swift run -c release tokenaudit-fuzz replay FILE`).
set -euo pipefail

seconds=600
jobs=1
build=1
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."

if [[ $build == 1 ]]; then
    ./scripts/setup.sh >&2
    # gold fails on AddressSanitizer's DWARF here ("internal error in format_file_lineno"): link with lld.
    swift build -c release --product tokenaudit-fuzz --build-path .build-fuzz \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -DTOKENAUDIT_LIBFUZZER -Xswiftc -use-ld=lld \
        -Xcc -fsanitize=fuzzer-no-link,address >&2
fi
bin=.build-fuzz/release/tokenaudit-fuzz

# The seed corpus: every sample line, token, log file and key document, prefixed with its target's byte.
mkdir -p .fuzz/corpus
python3 - <<'EOF'
import gzip, hashlib, os, pathlib
targets = {"line": 0, "token": 1, "log": 2, "keys": 3, "store": 4}   # FuzzTarget.allCases order
out = pathlib.Path(".fuzz/corpus")
def put(target, data):
    data = bytes([targets[target]]) + data
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)
for path in sorted(pathlib.Path("samples/logs").rglob("*")):
    if not path.is_file():
        continue
    raw = path.read_bytes()
    if len(raw) <= 65536:
        put("log", raw)
    try:
        text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except Exception:
        continue
    for line in text.split(b"\n")[:200]:
        if line:
            put("line", line)
for path in sorted(pathlib.Path("samples/tokens").glob("*")):
    put("token", path.read_bytes().strip())
for path in sorted(pathlib.Path("samples/keys").rglob("*")):
    if path.is_file():
        put("keys", path.read_bytes())
# store: edit lists (StoreEdits) for the database one scan of samples/ makes: none, then for each (table, column)
# slot its first four rows set to Int64.max, -1, 1e308 and "{" (StoreEdits.interesting indices 0, 2, 5, 13);
# StoreTemplate.seeds makes the same from the real schema.
put("store", b"")
for table in range(16):
    for column in range(24):
        put("store", bytes(b for row, pick in enumerate([0, 2, 5, 13]) for b in (0, table, column, 128 + row, 5, pick)))
EOF
echo "corpus: $(ls .fuzz/corpus | wc -l) inputs; fuzzing for ${seconds} s on ${jobs} process(es)" >&2

export TOKENAUDIT_FUZZ_SAMPLES="$PWD/samples"
# ASan: leaks are reported at exit (the harness is built once and kept: not a leak per input).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
# Swift's own crash backtracer would run before libFuzzer's handler (and trips AddressSanitizer).
export SWIFT_BACKTRACE=enable=no
cd .fuzz
exec "../$bin" -max_total_time="$seconds" $( ((jobs > 1)) && echo "-jobs=$jobs -workers=$jobs") -max_len=65536 \
    -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 "${extra[@]}" corpus
