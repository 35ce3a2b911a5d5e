#!/usr/bin/env bash
# Namespace throughput of the SQLite and Redis engines (create, lookup, getattr, readdir;
# 1 and 4 threads). Starts its own private redis-server; prints one table.
# METABENCH_FILES sets the files per run (default 20000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product metabench
"$(swift build -c release --show-bin-path)/metabench"
