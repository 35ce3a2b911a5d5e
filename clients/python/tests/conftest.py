"""A real volumed for the client's tests: the repository's debug build, on a private socket,
state and mount root, with the test services' S3 server (scripts/test_services.py)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Dict, Iterator

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))

import volumed  # noqa: E402
import volumed.aio  # noqa: E402


def service(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: start the test services (python3 scripts/test_services.py start DIR; "
                    f"source DIR/env) or run scripts/test.sh")
    return value


class Daemon:
    def __init__(self, work: str, settings: Dict[str, object]) -> None:
        binaries = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True, capture_output=True,
                                  text=True).stdout.strip()
        self.executable = os.path.join(binaries, "volumed")
        if not os.access(self.executable, os.X_OK):
            pytest.fail(f"{self.executable} is missing: build it first (swift build)")
        self.work = work
        self.socket = os.path.join(work, "volumed.sock")
        self.mount_root = os.path.join(work, "mnt")
        self.settings = settings
        self.start()

    def start(self) -> None:
        config = {"socket": self.socket, "socket_group": None, "state_dir": os.path.join(self.work, "state"),
                  "mount_root": self.mount_root, "cache_size_mb": 1024, "log_level": "info", **self.settings}
        path = os.path.join(self.work, "config.json")
        with open(path, "w") as f:
            json.dump(config, f)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=service("VOLUMED_TEST_S3_ACCESS_KEY"),
                   AWS_SECRET_ACCESS_KEY=service("VOLUMED_TEST_S3_SECRET_KEY"), AWS_REGION="us-east-1",
                   AWS_ENDPOINT_URL=service("VOLUMED_TEST_S3_ENDPOINT"))
        self.log = open(os.path.join(self.work, "volumed.log"), "a")
        self.process = subprocess.Popen([self.executable, "--config", path], env=env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while not os.path.exists(self.socket):
            if self.process.poll() is not None or time.time() > deadline:
                pytest.fail(f"volumed did not start; see {self.log.name}")
            time.sleep(0.05)

    def restart(self, settings: Dict[str, object]) -> None:
        """Stops the daemon (nothing mounted) and starts it again with `settings` added."""
        self.stop()
        self.settings = {**self.settings, **settings}
        self.start()

    def path(self, name: str) -> str:
        return os.path.join(self.mount_root, name)

    def stop(self) -> None:
        try:
            for mount in volumed.status():
                if mount.state != "stale":
                    volumed.Client.default().call("volume.unmount", {"mount_path": mount.mount_path, "abandon": True})
        finally:
            self.process.terminate()
            self.process.wait(timeout=120)
            self.log.close()


@pytest.fixture(params=["file", "s3"])
def daemon(request: pytest.FixtureRequest) -> Iterator[Daemon]:
    """A daemon whose default bucket is local (`file`) or the test S3 server's (`s3`)."""
    work = tempfile.mkdtemp(prefix="volumed-py.")
    os.chmod(work, 0o755)
    settings: Dict[str, object] = {}
    if request.param == "s3":
        settings["default_bucket"] = f"s3://{service('VOLUMED_TEST_S3_BUCKET')}"
    running = Daemon(work, settings)
    volumed.use(running.socket)
    volumed.aio.use(running.socket)
    try:
        yield running
    finally:
        running.stop()
        subprocess.run(["umount", "-l", running.mount_root], stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(work, ignore_errors=True)
