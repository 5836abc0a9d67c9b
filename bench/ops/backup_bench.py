"""Driver of bench/ops/backup.sh: prints one JSON line of figures."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "integration"))
os.environ.setdefault("TEST_NEXU_BIN", os.environ["BENCH_NEXU_BIN"])
os.environ.setdefault("TEST_NEXUCTL_BIN", os.environ["BENCH_NEXUCTL_BIN"])
from accounts import admin_token, call, server_env  # noqa: E402
from nexu_server import NexuServer  # noqa: E402

DOCS = int(os.environ.get("BENCH_DOCS", "20000"))
FILES = int(os.environ.get("BENCH_FILES", "18"))
FILE_MIB = int(os.environ.get("BENCH_FILE_MIB", "10"))
CTL = os.environ["BENCH_NEXUCTL_BIN"]


def ctl(*args):
    started = time.monotonic()
    done = subprocess.run([CTL, *args], env={"PATH": os.environ.get("PATH", "")},
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError("nexuctl %s failed: %s" % (args[0], done.stderr))
    return done, time.monotonic() - started


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(r, n)) for r, _, names in os.walk(path) for n in names)


def main():
    work = tempfile.mkdtemp(prefix="nexu-bench-backup-")
    os.makedirs(os.path.join(work, "server"))
    server = NexuServer(root=os.path.join(work, "server"), env=server_env()).start()
    try:
        token = admin_token(server)
        status, _, _ = call(server, "PUT", "/api/v1/collections/bench", {}, token)
        assert status == 201
        pad = "x" * 1000

        def load(first, count):
            for n in range(first, first + count):
                status, _, out = call(server, "POST", "/api/v1/collections/bench/documents",
                                      {"n": n, "pad": pad}, token)
                assert status == 201, out
        threads = [threading.Thread(target=load, args=(i * (DOCS // 8), DOCS // 8)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        blob = os.urandom(FILE_MIB * 1024 * 1024)
        for i in range(FILES):
            status, _, out = call(server, "PUT", "/api/v1/files/bench/f%d.bin" % i, token=token,
                                  raw=blob, headers={"Content-Type": "application/octet-stream"})
            assert status in (200, 201), out
        data_bytes = dir_bytes(server.data_dir)
        common = ["--key-file", server.key_file, "--state-dir", os.path.join(work, "st")]

        backups = os.path.join(work, "backups")
        out, backup_s = ctl("backup", backups, "--data-dir", server.data_dir, *common)
        backed = int(out.stdout.split("bytes=")[1].split()[0])
        restored = os.path.join(work, "restored")
        out, restore_s = ctl("restore", backups, "--data-dir", restored, *common)

        # Key rotation under a light write load (about 20 writes/s).
        stop = threading.Event()
        writes = [0]

        def light_writer():
            while not stop.is_set():
                call(server, "POST", "/api/v1/collections/bench/documents", {"light": 1}, token)
                writes[0] += 1
                time.sleep(0.05)
        writer = threading.Thread(target=light_writer)
        writer.start()
        started = time.monotonic()
        process = subprocess.Popen([CTL, "rotate-key", "--reencrypt", "--data-dir", server.data_dir,
                                    *common], env={"PATH": os.environ.get("PATH", "")},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        docs_done_at = None
        for line in process.stderr:
            if line.startswith("collections:"):
                docs_done_at = time.monotonic()
        summary = process.stdout.read()
        process.wait()
        total_s = time.monotonic() - started
        stop.set()
        writer.join()
        if process.returncode != 0:
            raise RuntimeError("rotate-key --reencrypt failed: " + summary)
        documents_rekeyed = DOCS  # in the bench collection; the light writes come on top
        docs_s = (docs_done_at or time.monotonic()) - started
        print(json.dumps({
            "data_dir_mb": round(data_bytes / 1e6, 1),
            "backup_mb": round(backed / 1e6, 1),
            "backup_s": round(backup_s, 2),
            "backup_mb_per_s": round(backed / 1e6 / backup_s, 1),
            "restore_s": round(restore_s, 2),
            "restore_mb_per_s": round(backed / 1e6 / restore_s, 1),
            "rotation_documents": documents_rekeyed,
            "rotation_documents_s": round(docs_s, 2),
            "rotation_documents_per_s": round(documents_rekeyed / docs_s),
            "rotation_total_s_with_blobs": round(total_s, 2),
            "light_writes_during_rotation": writes[0],
            "rotation_summary": summary.strip(),
            "binary": os.environ["BENCH_NEXU_BIN"],
        }))
    finally:
        server.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
