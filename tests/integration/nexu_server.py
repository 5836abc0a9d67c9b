"""Starts the real nexu binary on a free 127.0.0.1 port, for integration tests.

Each server gets its own data, logs, state and key folders under a temporary
directory; it is stopped by its pid, never by name.
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request


def nexu_binary():
    path = os.environ.get("TEST_NEXU_BIN")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("set TEST_NEXU_BIN to the nexu binary (ctest does)")
    return path


def nexuctl_binary():
    path = os.environ.get("TEST_NEXUCTL_BIN")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("set TEST_NEXUCTL_BIN to the nexuctl binary (ctest does)")
    return path


# Test servers listen below the kernel's ephemeral range (32768 and up by
# default), so an outgoing connection of a parallel test cannot take a port
# between the moment it is chosen and the moment the server binds it.
TEST_PORTS = (20000, 32000)


def free_port_block(count):
    """A base port such that base .. base+count-1 can all be bound now."""
    for _ in range(200):
        base = random.randrange(TEST_PORTS[0], TEST_PORTS[1] - count)
        held = []
        try:
            for port in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                held.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError("no block of %d free ports" % count)


def free_port():
    return free_port_block(1)


def eventually(seconds, predicate, interval=0.02):
    """Polls predicate until it is truthy or the deadline passes; returns its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# ASan keeps up to 1 MiB of freed memory per thread in a quarantine of its
# own; with the server's ~100 threads (64 workers, the chat store pool) that
# alone passed the memory bounds the tests check, so each thread keeps 64 KiB.
DEFAULT_ASAN_OPTIONS = "detect_leaks=1:abort_on_error=0:thread_local_quarantine_size_kb=64"


def measuring_asan_options():
    """ASAN_OPTIONS for a test that bounds the server's resident memory: ASan's
    global quarantine of freed memory (256 MiB by default) has nothing to do
    with the server's own buffers, so a small one lets the test measure them."""
    return os.environ.get("ASAN_OPTIONS", DEFAULT_ASAN_OPTIONS) + ":quarantine_size_mb=4"


class NexuServer:
    def __init__(self, root=None, env=None, port=None):
        self.owns_root = root is None
        self.root = root or tempfile.mkdtemp(prefix="nexu-it-")
        self.port = port or free_port()
        self.data_dir = os.path.join(self.root, "db")
        self.logs_dir = os.path.join(self.root, "logs")
        self.key_file = os.path.join(self.root, "secrets", "master.key")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "NEXU_PORT": str(self.port),
            "NEXU_DATA_DIR": self.data_dir,
            "NEXU_LOGS_DIR": self.logs_dir,
            "NEXU_STATE_DIR": os.path.join(self.root, "state"),
            "NEXU_KEY_FILE": self.key_file,
            "NEXU_CREATE_KEY": "true",
            "NEXU_LOG_CONSOLE": "false",
            "NEXU_INSTANCE_ID": "it-" + str(self.port),
            # Sanitizer runtimes: report and fail on any error, leaks included.
            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", DEFAULT_ASAN_OPTIONS),
            "UBSAN_OPTIONS": os.environ.get("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1"),
        }
        self.env.update(env or {})
        self.process = None
        self.output_path = os.path.join(self.root, "server-output.log")

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait=True):
        self.output = open(self.output_path, "ab")
        self.process = subprocess.Popen([nexu_binary()], env=self.env, stdout=self.output,
                                        stderr=subprocess.STDOUT, cwd=self.root)
        if wait and not eventually(20, self.is_healthy, 0.05):
            self.stop()
            raise RuntimeError("nexu did not become healthy:\n" + self.read_output())
        return self

    def is_healthy(self):
        if self.process.poll() is not None:
            raise RuntimeError("nexu exited with %s:\n%s" % (self.process.returncode,
                                                             self.read_output()))
        try:
            with urllib.request.urlopen(self.base + "/health", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def read_output(self):
        with open(self.output_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_text(self):
        text = ""
        if os.path.isdir(self.logs_dir):
            for name in sorted(os.listdir(self.logs_dir)):
                with open(os.path.join(self.logs_dir, name), "rb") as f:
                    text += f.read().decode("utf-8", "replace")
        return text

    def signal(self, number):
        self.process.send_signal(number)

    def wait(self, timeout=30):
        return self.process.wait(timeout=timeout)

    def stop(self, timeout=30):
        """SIGTERM by pid, then SIGKILL if it does not exit; returns the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()
        return self.process.returncode

    def secrets_in_logs(self):
        """Secrets found in this server's log files and console output: the test
        passwords, any JWT, an Argon2 hash string, the master key."""
        from accounts import TEST_PASSWORDS  # noqa: E402 (accounts imports this module)
        text = self.log_text() + self.read_output()
        found = [p for p in TEST_PASSWORDS if p in text]
        found += [marker for marker in ("eyJhbGciOi", "$argon2id$") if marker in text]
        try:
            with open(self.key_file) as f:
                key = f.read().strip()
            if key and key in text:
                found.append("the master key")
        except OSError:
            pass
        return found

    def cleanup(self):
        self.stop()
        leaked = self.secrets_in_logs() if os.path.exists(self.output_path) else []
        if self.owns_root:
            shutil.rmtree(self.root, ignore_errors=True)
        # Every server of the suite is checked as it goes, whatever the test did.
        assert not leaked, "secrets in the server's logs: %s" % leaked

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


def run_nexu(args=(), env=None, timeout=20):
    """Runs nexu to completion (for --help, bad settings); returns CompletedProcess."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    full_env.update(env or {})
    return subprocess.run([nexu_binary(), *args], env=full_env, capture_output=True, text=True,
                          timeout=timeout)


def raw_exchange(port, data, read_timeout=5):
    """Sends raw bytes on a new connection and returns everything read until close or timeout."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except socket.timeout:
            pass
        return b"".join(chunks)


def parse_response(raw):
    """Splits one raw HTTP response into (status, headers dict lower-cased, body bytes)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def json_body(raw):
    return json.loads(parse_response(raw)[2])
