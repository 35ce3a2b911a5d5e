"""The client against a real daemon and real mounts: every method of the seed's API, the
context managers, progress, errors, the asyncio variant and the CLI."""
import asyncio
import os
import subprocess
import sys
import tempfile
from typing import List

import pytest

import volumed
from volumed import aio

from conftest import ROOT, Daemon


def write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def test_the_seeds_lifecycle(daemon: Daemon) -> None:
    rw = volumed.Volume.new(name=f"py-{os.urandom(3).hex()}")
    assert isinstance(rw, volumed.RWVolume) and rw.kind == "flyte.volume/v1" and rw.index is None
    path = daemon.path("train")
    status = rw.mount(path, upload_delay="1s", max_uploads=8)
    assert status.state == "mounted" and status.mode == "rw" and rw.mount_path == path
    assert rw.status().mount_path == path

    phases: List[str] = []
    versions = []
    for epoch in range(3):
        write(f"{path}/weights", f"epoch {epoch}")
        versions.append(rw.commit(message=f"epoch {epoch}", on_progress=lambda p: phases.append(p.phase)))
    assert all(isinstance(v, volumed.ROVolume) for v in versions)
    assert [v.message for v in versions] == ["epoch 0", "epoch 1", "epoch 2"]
    assert "drain" in phases and "upload_index" in phases, phases
    assert versions[2].parent_produced_by.locator == versions[1].locator

    sibling = rw.fork(name=f"{rw.name}-snap", as_="ro")
    branch = rw.fork(as_="rw")
    assert isinstance(sibling, volumed.ROVolume) and isinstance(branch, volumed.RWVolume)
    final = rw.finalize(message="done")
    assert rw.mount_path is None and final.message == "done"

    assert [v.locator for v in final.lineage()] == [final.locator] + [v.locator for v in reversed(versions)]
    listed = volumed.versions(volume=final)
    assert [v.volume.locator for v in listed] == [final.locator] + [v.locator for v in reversed(versions)]
    assert listed[0].id in final.locator and listed[0].mounted_here == []
    assert sibling.locator in [v.volume.locator for v in volumed.versions(bucket=final.bucket, name=sibling.name)]
    assert volumed.delete(sibling) == [sibling.locator]
    assert volumed.versions(bucket=final.bucket, name=sibling.name) == []
    phases: List[str] = []
    report = volumed.gc(final.bucket, dry_run=True, grace="0s", on_progress=lambda p: phases.append(p.phase))
    assert report["dry_run"] and report["deleted"] == {"objects": 0, "bytes": 0} and "sweep" in phases
    assert volumed.gc(final.bucket, grace="0s")["deleted"] == report["garbage"]
    again = volumed.Volume.from_json(final.to_json())
    assert again == final and isinstance(again, volumed.ROVolume)
    assert volumed.Volume.from_locator(versions[0].locator) == versions[0]
    assert versions[0].cat("/weights") == b"epoch 0"
    assert [entry["name"] for entry in final.ls("/")] == ["weights"]

    with versions[1].mounted(daemon.path("look")) as look:
        assert read(f"{look.path}/weights") == "epoch 1"
    with pytest.raises(volumed.NotWritable):
        volumed.Client.default().call("volume.mount", {"volume": versions[1].to_dict(), "mount_path": daemon.path("x"),
                                                       "options": {"read_only": False}})

    redis = final.migrate_metadata_store_type("redis")
    assert redis.metadata_store_type == "redis" and redis.cat("/weights") == b"epoch 2"
    branch_path = daemon.path("branch")
    branch.mount(branch_path)
    assert read(f"{branch_path}/weights") == "epoch 2"
    write(f"{branch_path}/weights", "branch")
    assert branch.finalize().cat("/weights") == b"branch"


def test_errors_carry_their_code_name_and_data(daemon: Daemon) -> None:
    named = volumed.Volume.empty(f"empty-{os.urandom(3).hex()}")
    assert isinstance(named, volumed.RWVolume) and named.name.startswith("empty-")
    rw = volumed.Volume.new()
    with pytest.raises(volumed.PermissionDenied) as refused:
        rw.mount("/tmp/outside-the-mount-root")
    assert refused.value.code == 1009 and refused.value.name == "permission_denied"
    assert refused.value.data.get("mount_path") == "/tmp/outside-the-mount-root"
    path = daemon.path("errors")
    rw.mount(path)
    write(f"{path}/f", "x")
    with pytest.raises(volumed.UncommittedChanges):
        rw.unmount()
    with pytest.raises(volumed.AlreadyMounted):
        volumed.Volume.new().mount(path)
    with pytest.raises(volumed.InvalidParams):
        volumed.Volume.new(bucket="ftp://nowhere")
    assert isinstance(refused.value, volumed.VolumedError)
    rw.unmount(abandon=True)
    with pytest.raises(volumed.DaemonUnavailable):
        volumed.Client("/nonexistent/volumed.sock").call("daemon.status")


def test_mounted_finalizes_on_success_and_keeps_the_working_copy_on_an_exception(daemon: Daemon) -> None:
    rw = volumed.Volume.new()
    with rw.mounted(daemon.path("ok"), message="clean") as mount:
        write(f"{mount.path}/f", "kept")
        checkpoint = mount.commit("midway")
    assert checkpoint.message == "midway" and mount.version is not None and mount.version.message == "clean"
    assert mount.version.cat("/f") == b"kept"

    failing = volumed.Volume.new()
    path = daemon.path("failing")
    with pytest.raises(RuntimeError):
        with failing.mounted(path):
            write(f"{path}/draft", "not committed")
            raise RuntimeError("the task failed")
    stale = [m for m in volumed.status() if m.mount_path == path]
    assert [m.state for m in stale] == ["stale"]
    assert volumed.recover(path).state == "mounted"
    assert read(f"{path}/draft") == "not committed"
    assert failing.finalize(mount_path=path).cat("/draft") == b"not committed"


def test_the_asyncio_variant(daemon: Daemon) -> None:
    async def scenario() -> None:
        rw = await aio.Volume.new()
        path = daemon.path("async")
        await rw.mount(path)
        write(f"{path}/f", "async")
        phases: List[str] = []
        version = await rw.commit("a", on_progress=lambda p: phases.append(p.phase))
        assert isinstance(version, aio.ROVolume) and "drain" in phases
        assert (await rw.status()).state == "mounted"
        fork = await rw.fork(as_="ro")
        final = await rw.finalize("b")
        assert await final.cat("/f") == b"async" and fork.access == "ro"
        assert [v.locator for v in await final.lineage()][:2] == [final.locator, version.locator]
        assert [v.volume.locator for v in await aio.versions(volume=final)][:2] == [final.locator, version.locator]
        async with (await aio.Volume.new()).mounted(daemon.path("async-ctx"), message="ctx") as mount:
            write(f"{mount.path}/g", "ctx")
            midway = await mount.commit("midway")
        assert midway.message == "midway" and isinstance(midway, aio.ROVolume)
        assert mount.version is not None and await mount.version.cat("/g") == b"ctx"
        async with mount.version.mounted(daemon.path("async-ro")) as look:
            assert read(f"{look.path}/g") == "ctx"
        assert (await aio.Volume.from_locator(final.locator)) == final
        assert (await aio.daemon_status())["transfers"]["uploads"]["in_flight"] == 0
        with pytest.raises(volumed.NotFound):
            await aio.recover(daemon.path("nothing-here"))

    asyncio.run(scenario())


def test_the_cli_lists_the_mounts(daemon: Daemon) -> None:
    rw = volumed.Volume.new()
    rw.mount(daemon.path("cli"))
    env = dict(os.environ, VOLUMED_SOCKET=daemon.socket, PYTHONPATH=os.path.join(ROOT, "clients", "python"))
    shown = subprocess.run([sys.executable, "-m", "volumed", "status"], env=env, capture_output=True, text=True)
    assert shown.returncode == 0 and daemon.path("cli") in shown.stdout, shown
    as_json = subprocess.run([sys.executable, "-m", "volumed", "status", "--json"], env=env, capture_output=True, text=True)
    assert '"mode": "rw"' in as_json.stdout
    rw.unmount()


def test_the_package_installs_with_its_type_marker() -> None:
    with tempfile.TemporaryDirectory() as target:
        installed = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
             "--target", target, os.path.join(ROOT, "clients", "python")], capture_output=True, text=True)
        assert installed.returncode == 0, installed.stderr
        assert os.path.exists(os.path.join(target, "volumed", "py.typed"))
        imported = subprocess.run([sys.executable, "-c", "import volumed, volumed.aio; print(volumed.__file__)"],
                                  env=dict(os.environ, PYTHONPATH=target), capture_output=True, text=True)
        assert imported.returncode == 0 and imported.stdout.startswith(target), imported


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("daemon", ["file"], indirect=True)
def test_metrics_after_a_workload_parse_as_prometheus_text(daemon: Daemon) -> None:
    """A daemon with metrics_listen serves the Prometheus text; after real FUSE work its series
    parse with the prometheus_client parser and count what happened."""
    from urllib.request import urlopen
    from prometheus_client.parser import text_string_to_metric_families

    port = free_port()
    daemon.restart({"metrics_listen": f"127.0.0.1:{port}"})
    rw = volumed.Volume.new()
    path = daemon.path("metrics")
    rw.mount(path)
    for index in range(20):
        write(f"{path}/f{index}", "x" * 5000)
    for index in range(20):
        assert read(f"{path}/f{index}") == "x" * 5000
    rw.commit("measured")
    with pytest.raises(volumed.UncommittedChanges):
        write(f"{path}/late", "y")
        rw.unmount()

    with urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}

    def samples(name: str, **labels: str) -> List[float]:
        return [s.value for family in families.values() for s in family.samples
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]

    mount = {"volume": rw.name, "mount_path": path}
    assert families["volumed_fuse_request_duration_seconds"].type == "histogram"
    assert samples("volumed_fuse_request_duration_seconds_count", op="create", **mount)[0] >= 20
    assert samples("volumed_fuse_request_duration_seconds_count", op="write", **mount)[0] >= 20
    assert samples("volumed_fuse_written_bytes_total", **mount)[0] >= 20 * 5000
    assert samples("volumed_fuse_read_bytes_total", **mount)[0] >= 20 * 5000
    assert samples("volumed_mount_uploaded_bytes_total", **mount)[0] >= 20 * 5000
    assert samples("volumed_rpc_requests_total", method="volume.commit", code="ok")[0] == 1
    assert samples("volumed_rpc_requests_total", method="volume.unmount", code="uncommitted_changes")[0] == 1
    assert samples("volumed_rpc_duration_seconds_count", method="volume.mount")[0] >= 1
    assert samples("volumed_mounts_served")[0] == 1
    assert samples("process_resident_memory_bytes")[0] > 10 << 20
    assert samples("volumed_transfers_waiting_requests", direction="upload") == [0]
    assert samples("volumed_mount_cache_hits_total", **mount)[0] + samples("volumed_mount_cache_misses_total", **mount)[0] >= 0
    stats = read(f"{path}/.stats")
    assert 'volumed_fuse_requests_total{op="create"}' in stats and "volumed_mount_uploaded_bytes_total" in stats
    assert ".stats" not in os.listdir(path)

    rw.unmount(abandon=True)
    with urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        after = response.read().decode()
    assert path not in after, "a gone mount's series go with it"
    with pytest.raises(Exception):
        urlopen(f"http://127.0.0.1:{port}/other", timeout=10)
