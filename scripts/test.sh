#!/usr/bin/env bash
# Sets up the machine (system packages) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
swift build --build-tests
swift test --skip-build --parallel
