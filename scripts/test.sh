#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs what is missing, builds,
# starts the real peers (SeaweedFS S3, fake-gcs-server, the Azure and OAuth2 oracles, the
# fault proxy) on free loopback ports, runs every test, and stops the peers by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

state=$(mktemp -d "${TMPDIR:-/tmp}/volumed-test-services.XXXXXX")
# Every scratch directory of the run lives here and goes when it ends, mounts included.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/vt.XXXXXX")
chmod 755 "$scratch"  # some tests connect as another user (nobody) through it
cleanup() {
  python3 scripts/test_services.py stop "$state" || true
  awk -v root="$scratch/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n 1 umount -l || true
  rm -rf --one-file-system "$state" "$scratch"
}
trap cleanup EXIT

# The benchmark's own logic (its verdicts on the performance targets) and the layering of
# the sources (docs/ARCHITECTURE.md) first: seconds, no peers.
python3 -m unittest discover -s bench -p '*_test.py'
python3 scripts/check_layers.py
swift build --build-tests
python3 scripts/test_services.py start "$state"
# shellcheck disable=SC1091
source "$state/env"

log="$state/swift-test.log"
status=0
TMPDIR="$scratch" swift test "$@" 2>&1 | tee "$log" || status=$?
if [ "$status" -eq 0 ]; then
  # One plain summary line, read from Swift Testing's own closing line.
  count=$(sed -n 's/.*Test run with \([0-9]*\) tests\{0,1\} .* passed.*/\1/p' "$log" | tail -n 1)
  if [ -z "$count" ] || [ "$count" -eq 0 ]; then
    echo "error: swift test ran no tests" >&2
    exit 1
  fi
  echo "volumed: $count passed, 0 failed"
  TMPDIR="$scratch" python3 scripts/soak.py || status=$?
fi
if [ "$status" -eq 0 ]; then
  # The Python client against a real daemon (the debug build above) and real mounts.
  TMPDIR="$scratch" python3 -m pytest -q -p no:cacheprovider clients/python/tests || status=$?
fi
exit "$status"
