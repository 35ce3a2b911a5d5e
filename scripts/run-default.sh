#!/usr/bin/env bash
# The main job on the embedded default: builds volumectl and checks the file:// bucket
# volumed uses when no other bucket is configured (under $VOLUMED_STATE_DIR, default
# /var/lib/volumed), exercising every object-store call volumes depend on.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
swift build --product volumectl
state_dir="${VOLUMED_STATE_DIR:-/var/lib/volumed}"
exec "$(swift build --show-bin-path)/volumectl" storage check "file://$state_dir/bucket"
