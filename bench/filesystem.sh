#!/usr/bin/env bash
# File system workloads on a volumed mount, a juicefs mount over the same SeaweedFS S3
# server (started for the run, stopped by PID), and local disk; prints one table.
# FSBENCH_MIB (default 512) and FSBENCH_FILES (default 2000) size the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
state=$(mktemp -d "${TMPDIR:-/tmp}/volumed-bench-services.XXXXXX")
cleanup() {
  python3 scripts/test_services.py stop "$state" || true
  rm -rf "$state"
}
trap cleanup EXIT
swift build -c release --product fsbench
python3 scripts/test_services.py start "$state"
# shellcheck disable=SC1091
source "$state/env"
"$(swift build -c release --show-bin-path)/fsbench"
