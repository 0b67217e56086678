#!/usr/bin/env bash
# Sets up the machine, builds tokenaudit, and runs the main job on the bundled samples.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
swift build --product tokenaudit
bin="$(swift build --show-bin-path)/tokenaudit"
echo "== tokenaudit decode: the sample tokens, verified against samples/keys"
for token in samples/tokens/*.jwt; do
    echo "-- $token"
    "$bin" decode --keys samples/keys < "$token" || true
done
