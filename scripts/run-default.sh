#!/usr/bin/env bash
# The main job on the embedded default (file:// bucket under the state directory, SQLite):
# builds volumed and volumectl, starts volumed unless one already answers on the socket,
# and walks a volume through its life: new, mount, write, commit, fork, browse, finalize,
# lineage. Descriptors go to $VOLUMED_STATE_DIR/demo/. Needs root (FUSE mounts).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
swift build -c release --product volumed >&2
swift build -c release --product volumectl >&2
bin="$(swift build -c release --show-bin-path)"

state_dir="${VOLUMED_STATE_DIR:-/var/lib/volumed}"
export VOLUMED_SOCKET="${VOLUMED_SOCKET:-/run/volumed/volumed.sock}"
mount_root="${VOLUMED_MOUNT_ROOT:-/mnt/volumes}"
volumectl() { "$bin/volumectl" "$@"; }

started=""
if ! volumectl status >/dev/null 2>&1; then
  config="$state_dir/run-default.json"
  mkdir -p "$state_dir"
  printf '{"socket": "%s", "socket_group": null, "state_dir": "%s", "mount_root": "%s"}\n' \
    "$VOLUMED_SOCKET" "$state_dir" "$mount_root" >"$config"
  "$bin/volumed" --config "$config" 2>"$state_dir/volumed.log" &
  started=$!
  trap 'kill -TERM "$started" 2>/dev/null; wait "$started" || true' EXIT
  for _ in $(seq 100); do volumectl status >/dev/null 2>&1 && break; sleep 0.1; done
  echo "started volumed (pid $started, log $state_dir/volumed.log)" >&2
fi

demo="$state_dir/demo"
mkdir -p "$demo"
mnt="$mount_root/demo-$(date +%s)"
step() { echo "== $*" >&2; }

step "new volume"
volumectl new >"$demo/v0.json"
step "mount at $mnt"
volumectl mount "$demo/v0.json" "$mnt"
step "write a small project and commit it"
mkdir -p "$mnt/src" "$mnt/data"
printf 'print("hello from a volume")\n' >"$mnt/src/main.py"
head -c $((32 << 20)) /dev/urandom >"$mnt/data/blob.bin"
volumectl commit "$mnt" -m "first checkpoint" >"$demo/v1.json"
step "fork the live mount as a read-only sibling, change the file, finalize"
volumectl fork "$mnt" --as ro >"$demo/sibling.json"
printf 'print("hello again")\n' >"$mnt/src/main.py"
volumectl finalize "$mnt" -m "second checkpoint" >"$demo/v2.json"
step "browse the versions without mounting"
volumectl ls "$demo/v2.json" /src
echo "v1: $(volumectl cat "$demo/v1.json" /src/main.py)"
echo "v2: $(volumectl cat "$demo/v2.json" /src/main.py)"
step "lineage"
volumectl log "$demo/v2.json"
step "versions of the bucket, and what gc would reclaim (a dry run deletes nothing)"
bucket=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["bucket"])' "$demo/v2.json")
volumectl versions "$bucket"
volumectl gc "$bucket" --dry-run
step "status"
volumectl status
echo "descriptors are in $demo (v0.json, v1.json, v2.json, sibling.json)" >&2
