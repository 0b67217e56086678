#!/usr/bin/env bash
# Fuzzes the stages that read attacker-chosen bytes (docs/fuzzing.md). Not part of the test suite (the suite runs
# a fixed mutation run of its own: Tests/TokenAuditFuzzingTests).
#
#   scripts/fuzz.sh [--seconds N] [--jobs J] [--no-build] [-- LIBFUZZER FLAGS...]
#
# Builds tokenaudit-fuzz with libFuzzer and AddressSanitizer (in .build-fuzz, apart from the normal build), seeds
# a corpus in .fuzz/corpus from samples/ and rules/ (a first byte picks the target: line, token, log, keys, store,
# template, policy), and runs libFuzzer for N seconds (default 600) on J processes (default 1). A crash, a
# sanitizer report or a broken invariant stops it and leaves the input in .fuzz/ as crash-* / leak-* /
# timeout-*; replay one with
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

# The seed corpus: every target's seeds (FuzzSeeds: the samples' lines, tokens, log files and key documents, the
# store's edit lists, the samples' log formats with their lines, the repository's policies), each prefixed with
# its target's byte.
mkdir -p .fuzz/corpus
TOKENAUDIT_FUZZ_SAMPLES="$PWD/samples" "$bin" seeds .fuzz/corpus
echo "corpus: $(ls .fuzz/corpus | wc -l) inputs; fuzzing for ${seconds} s on ${jobs} process(es)" >&2

export TOKENAUDIT_FUZZ_SAMPLES="$PWD/samples"
# ASan: leaks are reported at exit (the harness is built once and kept: not a leak per input).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
# Swift's own crash backtracer would run before libFuzzer's handler (and trips AddressSanitizer).
export SWIFT_BACKTRACE=enable=no
cd .fuzz
exec "../$bin" -max_total_time="$seconds" $( ((jobs > 1)) && echo "-jobs=$jobs -workers=$jobs") -max_len=65536 \
    -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 "${extra[@]}" corpus
