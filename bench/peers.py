"""The peers bench/compare runs beside volumed on the same SeaweedFS bucket, and the plain
parallel reader that gives the object store's own limit for a cold read.

Each mount class has `path`, `remount_cold()` (pending uploads finished, then a fresh mount
with an empty cache), `wait_for_uploads(deadline)` and `stop()`.
"""
import datetime
import hashlib
import hmac
import http.client
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ElementTree


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_mount(path, process, what):
    """Waits until `path` is a mount point, failing if the mounting `process` exits first."""
    deadline = time.time() + 60
    while True:
        with open("/proc/self/mountinfo") as f:
            if any(line.split()[4] == path for line in f):
                return
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{what} exited with status {process.returncode} before mounting {path}")
        if time.time() > deadline:
            raise SystemExit(f"{what} did not mount {path} within 60 s")
        time.sleep(0.05)


def unmount(path, process):
    subprocess.run(["umount", path], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        subprocess.run(["umount", "-l", path], check=False)
        process.kill()
        process.wait()


class S3:
    """Signed (SigV4) requests to the test S3 server, on one keep-alive connection per thread:
    what a plain client of the store does, with nothing of a file system in between."""

    def __init__(self, env):
        endpoint = urllib.parse.urlsplit(env["VOLUMED_TEST_S3_ENDPOINT"])
        self.host = endpoint.netloc
        self.bucket = env["VOLUMED_TEST_S3_BUCKET"]
        self.access = env["VOLUMED_TEST_S3_ACCESS_KEY"]
        self.secret = env["VOLUMED_TEST_S3_SECRET_KEY"]
        self.local = threading.local()

    def request(self, method, key="", query=None, body=b""):
        query = sorted((query or {}).items())
        path = "/" + urllib.parse.quote(f"{self.bucket}/{key}" if key else self.bucket, safe="/-_.~")
        canonical_query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in query)
        now = datetime.datetime.now(datetime.timezone.utc)
        stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload = hashlib.sha256(body).hexdigest()
        headers = {"host": self.host, "x-amz-content-sha256": payload, "x-amz-date": stamp}
        signed = ";".join(sorted(headers))
        canonical = "\n".join([method, path, canonical_query] + [f"{k}:{headers[k]}" for k in sorted(headers)] + ["", signed, payload])
        scope = f"{day}/us-east-1/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key_bytes = ("AWS4" + self.secret).encode()
        for part in (day, "us-east-1", "s3", "aws4_request"):
            key_bytes = hmac.new(key_bytes, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key_bytes, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = f"AWS4-HMAC-SHA256 Credential={self.access}/{scope}, SignedHeaders={signed}, Signature={signature}"
        for attempt in range(2):
            connection = getattr(self.local, "connection", None)
            reused = connection is not None
            if connection is None:
                connection = self.local.connection = http.client.HTTPConnection(self.host, timeout=60)
            try:
                connection.request(method, path + (f"?{canonical_query}" if canonical_query else ""), body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed a connection left idle between rounds: open another, once.
                connection.close()
                self.local.connection = None
                if not reused or attempt:
                    raise
        if response.status >= 300:
            raise RuntimeError(f"S3 {method} {key}: {response.status} {data[:200]!r}")
        return data

    def list(self, prefix):
        """(key, size, last-modified) of every object under `prefix`."""
        objects, token = [], None
        namespace = "{http://s3.amazonaws.com/doc/2006-03-01/}"
        while True:
            query = {"list-type": "2", "prefix": prefix, "max-keys": "1000"}
            if token:
                query["continuation-token"] = token
            root = ElementTree.fromstring(self.request("GET", query=query))
            for item in root.iter(f"{namespace}Contents"):
                objects.append((item.find(f"{namespace}Key").text, int(item.find(f"{namespace}Size").text),
                                item.find(f"{namespace}LastModified").text))
            token = root.findtext(f"{namespace}NextContinuationToken")
            if not token:
                return objects


def raw_read_limit(s3, chunk_prefix, mib, block_size=4 << 20, threads=32):
    """MiB/s of a plain parallel reader fetching `mib` MiB of a volume's full-size blocks (the
    newest ones: the file just written), one signed GET per block as volumed issues them,
    `threads` at once: the store's own limit for a cold sequential read on this machine."""
    blocks = sorted((o for o in s3.list(f"{chunk_prefix}/chunks/") if o[1] == block_size), key=lambda o: o[2], reverse=True)
    keys = [key for key, _, _ in blocks[:max(1, (mib << 20) // block_size)]]
    queue, lock, fetched = list(keys), threading.Lock(), [0]

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                key = queue.pop()
            data = s3.request("GET", key)
            with lock:
                fetched[0] += len(data)

    started = time.perf_counter()
    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for worker_thread in workers:
        worker_thread.start()
    for worker_thread in workers:
        worker_thread.join()
    return fetched[0] / (1 << 20) / (time.perf_counter() - started)


class RedisProcess:
    """A private redis-server on a free TCP port, for juicefs's Redis metadata."""

    def __init__(self, work):
        self.port = free_port()
        self.directory = os.path.join(work, "juicefs-redis-data")
        os.makedirs(self.directory, exist_ok=True)
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", self.directory],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).returncode != 0:
            if time.time() > deadline or self.process.poll() is not None:
                raise SystemExit("the redis-server for juicefs did not start")
            time.sleep(0.05)
        self.url = f"redis://127.0.0.1:{self.port}/1"

    def stop(self):
        self.process.kill()  # nothing to save; a redis-server may ignore SIGTERM while saving
        self.process.wait()


class Rclone:
    """`rclone mount` (Debian's rclone) of a prefix of the bucket: --vfs-cache-mode full with
    the same cache size, 50 transfers, 60 s directory and attribute caches; its remote control
    answers whether uploads are pending."""

    def __init__(self, work, env, cache_mib):
        self.work = work
        self.path = os.path.join(work, "rclone")
        self.cache = os.path.join(work, "rclone-cache")
        self.cache_mib = cache_mib
        self.rc = f"127.0.0.1:{free_port()}"
        os.makedirs(self.path, exist_ok=True)
        self.remote = f"bench:{env['VOLUMED_TEST_S3_BUCKET']}/rclone-{os.urandom(4).hex()}"
        # The AWS SDK inside rclone reads AWS_CA_BUNDLE whatever the remote says, and fails on it.
        ambient = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        self.env = dict(ambient, RCLONE_CONFIG_BENCH_TYPE="s3", RCLONE_CONFIG_BENCH_PROVIDER="Other",
                        RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=env["VOLUMED_TEST_S3_ACCESS_KEY"],
                        RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=env["VOLUMED_TEST_S3_SECRET_KEY"],
                        RCLONE_CONFIG_BENCH_ENDPOINT=env["VOLUMED_TEST_S3_ENDPOINT"], RCLONE_CONFIG_BENCH_REGION="us-east-1")
        self.mount()

    def mount(self):
        self.log = open(os.path.join(self.work, "rclone.log"), "a")
        self.process = subprocess.Popen(
            ["rclone", "mount", self.remote, self.path, "--vfs-cache-mode", "full", "--vfs-cache-max-size", f"{self.cache_mib}M",
             "--cache-dir", self.cache, "--transfers", "50", "--dir-cache-time", "60s", "--attr-timeout", "60s",
             "--rc", "--rc-addr", self.rc, "--rc-no-auth", "--log-level", "ERROR"],
            env=self.env, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        wait_for_mount(self.path, self.process, "rclone mount")

    def wait_for_uploads(self, deadline):
        while time.time() < deadline:
            stats = subprocess.run(["rclone", "rc", "--url", f"http://{self.rc}/", "vfs/stats"], env=self.env, capture_output=True, text=True)
            cache = json.loads(stats.stdout or "{}").get("diskCache", {}) if stats.returncode == 0 else {}
            if cache and not cache.get("uploadsInProgress") and not cache.get("uploadsQueued"):
                return
            time.sleep(0.2)

    def remount_cold(self):
        self.wait_for_uploads(time.time() + 600)
        unmount(self.path, self.process)
        shutil.rmtree(self.cache, ignore_errors=True)
        self.mount()

    def stop(self):
        unmount(self.path, self.process)


class S3fs:
    """`s3fs` (Debian's s3fs-fuse) of a prefix of the bucket, with its local cache, 50 parallel
    requests and a 60 s stat cache. It uploads a file as it is closed, so nothing is pending."""

    def __init__(self, work, env, s3):
        self.work = work
        self.path = os.path.join(work, "s3fs")
        self.cache = os.path.join(work, "s3fs-cache")
        os.makedirs(self.path, exist_ok=True)
        prefix = f"s3fs-{os.urandom(4).hex()}"
        s3.request("PUT", prefix + "/")  # the directory object s3fs expects at its root
        self.bucket = f"{env['VOLUMED_TEST_S3_BUCKET']}:/{prefix}"
        self.endpoint = env["VOLUMED_TEST_S3_ENDPOINT"]
        self.passwd = os.path.join(work, "s3fs.passwd")
        with open(self.passwd, "w") as f:
            f.write(f"{env['VOLUMED_TEST_S3_ACCESS_KEY']}:{env['VOLUMED_TEST_S3_SECRET_KEY']}\n")
        os.chmod(self.passwd, 0o600)
        self.mount()

    def mount(self):
        self.log = open(os.path.join(self.work, "s3fs.log"), "a")
        options = (f"url={self.endpoint},use_path_request_style,passwd_file={self.passwd},use_cache={self.cache},"
                   "parallel_count=50,multireq_max=50,stat_cache_expire=60,enable_noobj_cache,dbglevel=err")
        self.process = subprocess.Popen(["s3fs", self.bucket, self.path, "-f", "-o", options],
                                        stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        wait_for_mount(self.path, self.process, "s3fs")

    def wait_for_uploads(self, deadline):
        return

    def remount_cold(self):
        unmount(self.path, self.process)
        shutil.rmtree(self.cache, ignore_errors=True)
        self.mount()

    def stop(self):
        unmount(self.path, self.process)
