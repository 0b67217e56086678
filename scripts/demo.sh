#!/usr/bin/env bash
# Sets up the machine, builds tokenaudit, and runs the main job on the bundled samples:
# scan every sample log (including the deliberately damaged ones in samples/logs/bad) into a fresh SQLite
# database, print the summary, then the findings of high severity and above.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
swift build --product tokenaudit
bin="$(swift build --show-bin-path)/tokenaudit"
db="${TOKENAUDIT_DEMO_DB:-tokenaudit-demo.sqlite}"
rm -f "$db" "$db-wal" "$db-shm"

echo "== tokenaudit scan samples/logs --keys samples/keys --db $db"
set +e
"$bin" scan samples/logs --keys samples/keys --db "$db"
status=$?
set -e
echo "(exit $status: 3 means some inputs were damaged — samples/logs/bad is — and the rest was stored)"
[ "$status" -le 3 ] || exit "$status"

echo
echo "== tokenaudit findings --db $db --severity high"
"$bin" findings --db "$db" --severity high
echo
echo "Next: '$bin findings --db $db --format jsonl', '$bin decode --keys samples/keys < samples/tokens/expired.jwt',"
echo "      '$bin rules list', '$bin --help'."
