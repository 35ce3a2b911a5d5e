#!/usr/bin/env bash
# Builds the benchmark PRODUCT in release mode and runs it with the test services
# (SeaweedFS S3 and friends) started for the run and stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
product=$1
bash scripts/install-deps.sh
state=$(mktemp -d "${TMPDIR:-/tmp}/volumed-bench-services.XXXXXX")
cleanup() {
  python3 scripts/test_services.py stop "$state" || true
  rm -rf "$state"
}
trap cleanup EXIT
swift build -c release --product "$product"
python3 scripts/test_services.py start "$state"
# shellcheck disable=SC1091
source "$state/env"
"$(swift build -c release --show-bin-path)/$product"
