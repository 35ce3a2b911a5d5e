#!/usr/bin/env bash
# Sequential write/read throughput of the chunk store alone on the file backend and on a
# SeaweedFS S3 server started for the run (stopped by PID on exit). CHUNKBENCH_MIB sets
# the file size (default 512).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
state=$(mktemp -d "${TMPDIR:-/tmp}/volumed-bench-services.XXXXXX")
cleanup() {
  python3 scripts/test_services.py stop "$state" || true
  rm -rf "$state"
}
trap cleanup EXIT
swift build -c release --product chunkbench
python3 scripts/test_services.py start "$state"
# shellcheck disable=SC1091
source "$state/env"
"$(swift build -c release --show-bin-path)/chunkbench"
