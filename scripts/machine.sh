#!/usr/bin/env bash
# Prints one line describing the machine a benchmark runs on: CPU model, clock, cores, and which of the vector
# extensions the scan's hot paths use it has (AVX-512 and SHA-NI for the weak-secret search, AVX2 for line
# scanning; ISA-L and OpenSSL pick theirs the same way). A ratio to `gzip -dc` depends on these as much as on the
# code (docs/performance.md, "The machine"), so bench.sh and bench-nightly.sh print this with every result.
set -euo pipefail

field() { awk -F': ' -v key="$1" '$1 ~ "^" key {print $2; exit}' /proc/cpuinfo 2>/dev/null || true; }
model=$(field "model name")
mhz=$(field "cpu MHz")
flags=" $(field flags) "
extensions=""
for flag in avx512f avx2 sha_ni; do
    [[ $flags == *" $flag "* ]] && extensions+="${extensions:+ }$flag"
done
echo "machine: ${model:-unknown CPU} at ${mhz:-?} MHz, $(nproc) cores; ${extensions:-no AVX-512, AVX2 or SHA-NI}"
