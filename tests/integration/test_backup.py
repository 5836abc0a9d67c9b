"""Backups, restore and key rotation with the real binaries (docs/storage.md
"Backups" and "Key rotation"): nexuctl backup while a writer loads the server,
restore into a new directory served by a new server, restore refusals, a
killed backup resumed, rotate-key while a server runs. The last tests drive
the backup and key-rotation jobs through the jobs API and are skipped while
POST /api/v1/system/jobs/backup/run answers 404 (before the scheduler is wired)."""
import json
import os
import signal
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from accounts import admin_token, call, server_env
from nexu_server import NexuServer, eventually, nexuctl_binary

DOCS = "/api/v1/collections/%s/documents"


def nexuctl(*args, timeout=120):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run([nexuctl_binary(), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def store_args(data_dir, key_file, state_dir):
    return ["--data-dir", data_dir, "--key-file", key_file, "--state-dir", state_dir]


def make_collection(server, token, name):
    status, _, out = call(server, "PUT", "/api/v1/collections/" + name, {}, token)
    assert status == 201, out


def post(server, token, name, body):
    status, _, out = call(server, "POST", DOCS % name, body, token)
    assert status == 201, out
    return out["_id"]


def exported_ids(data_dir, key_file, state_dir, collection):
    """The API ids of a collection's documents, read with nexuctl export."""
    done = nexuctl("export", collection, *store_args(data_dir, key_file, state_dir))
    assert done.returncode == 0, done.stderr
    ids = set()
    for line in done.stdout.splitlines():
        if line.startswith("{"):  # slow-task log lines may share stdout
            stored_id = json.loads(line)["_id"]
            ids.add(stored_id.split(".", 1)[1] if "." in stored_id else stored_id)
    return ids


def key_id_of(path):
    with open(path, "rb") as f:
        head = f.read(8)
    return struct.unpack("<I", head[4:8])[0]


def newest_commit_file(data_dir, collection):
    log = os.path.join(data_dir, collection, "log")
    names = sorted(n for n in os.listdir(log) if n.endswith(".nxl"))
    return os.path.join(log, names[-1])


def complete_backups(root):
    if not os.path.isdir(root):
        return []
    return sorted(n for n in os.listdir(root)
                  if os.path.exists(os.path.join(root, n, "MANIFEST.nxm")))


@pytest.fixture()
def workdir():
    path = tempfile.mkdtemp(prefix="nexu-backup-it-")
    yield path
    subprocess.run(["rm", "-rf", path], check=False)


def test_backup_under_write_load_restores_every_acknowledged_write(workdir):
    with NexuServer(env=server_env()) as server:
        token = admin_token(server)
        make_collection(server, token, "load")
        acked = []  # (id, monotonic time of the acknowledgement)
        stop = threading.Event()
        errors = []

        def writer():
            n = 0
            while not stop.is_set() and n < 20000:
                n += 1
                try:
                    doc_id = post(server, token, "load", {"n": n, "pad": "x" * 200})
                    acked.append((doc_id, time.monotonic()))
                except Exception as error:  # noqa: BLE001 - reported below
                    errors.append(error)
                    return

        threads = [threading.Thread(target=writer) for _ in range(3)]
        for t in threads:
            t.start()
        assert eventually(10, lambda: len(acked) >= 200)
        began = time.monotonic()
        backups = os.path.join(workdir, "backups")
        done = nexuctl("backup", backups,
                       *store_args(server.data_dir, server.key_file, os.path.join(workdir, "st")))
        stop.set()
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert done.returncode == 0, done.stderr
        assert "backup=" in done.stdout
        before_backup = {doc_id for doc_id, at in acked if at < began}
        assert len(before_backup) >= 200

        restored = os.path.join(workdir, "restored")
        out = nexuctl("restore", backups, *store_args(restored, server.key_file,
                                                      os.path.join(workdir, "st-restored")))
        assert out.returncode == 0, out.stderr
        assert "NEXU_STATE_DIR" in out.stdout
        ids = exported_ids(restored, server.key_file, os.path.join(workdir, "st-x"), "load")
        missing = before_backup - ids
        assert not missing, "%d acknowledged writes missing, e.g. %s" % (len(missing),
                                                                      sorted(missing)[:3])
        verify = nexuctl("verify", *store_args(restored, server.key_file,
                                               os.path.join(workdir, "st-y")))
        assert verify.returncode == 0, verify.stdout + verify.stderr

        # A new server opens the restored copy and serves the documents.
        second = NexuServer(env=server_env(NEXU_DATA_DIR=restored,
                                           NEXU_KEY_FILE=server.key_file))
        with second:
            token2 = admin_token(second)
            sample = sorted(before_backup)[:20]
            for doc_id in sample:
                status, _, body = call(second, "GET", (DOCS % "load") + "/" + doc_id, token=token2)
                assert status == 200, body


def test_restore_refuses_a_non_empty_directory(workdir):
    with NexuServer(env=server_env()) as server:
        token = admin_token(server)
        make_collection(server, token, "few")
        post(server, token, "few", {"a": 1})
        backups = os.path.join(workdir, "backups")
        state = os.path.join(workdir, "st")
        assert nexuctl("backup", backups, *store_args(server.data_dir, server.key_file,
                                                      state)).returncode == 0
        occupied = os.path.join(workdir, "occupied")
        os.makedirs(occupied)
        with open(os.path.join(occupied, "keep-me"), "w") as f:
            f.write("x")
        out = nexuctl("restore", backups, *store_args(occupied, server.key_file, state))
        assert out.returncode != 0
        assert "not empty" in out.stderr
        assert os.listdir(occupied) == ["keep-me"]
        # The live data directory is not empty either.
        out = nexuctl("restore", backups, *store_args(server.data_dir, server.key_file, state))
        assert out.returncode != 0
        # A tampered copy is refused, and leaves the target empty.
        backup = os.path.join(backups, complete_backups(backups)[0])
        commit = next(os.path.join(root, n) for root, _, names in
                      os.walk(os.path.join(backup, "data")) for n in names if n.endswith(".nxl"))
        with open(commit, "r+b") as f:
            f.seek(20)
            byte = f.read(1)
            f.seek(20)
            f.write(bytes([byte[0] ^ 1]))
        target = os.path.join(workdir, "target")
        out = nexuctl("restore", backup, *store_args(target, server.key_file, state))
        assert out.returncode != 0
        assert "SHA-256" in out.stderr
        assert not os.listdir(target)


def test_a_killed_backup_is_resumed_by_the_next_run(workdir):
    with NexuServer(env=server_env()) as server:
        token = admin_token(server)
        make_collection(server, token, "many")
        for n in range(700):  # one commit file each: a backup of many small files
            post(server, token, "many", {"n": n})
        ids = exported_ids(server.data_dir, server.key_file, os.path.join(workdir, "s0"), "many")
        backups = os.path.join(workdir, "backups")
        args = [nexuctl_binary(), "backup", backups,
                *store_args(server.data_dir, server.key_file, os.path.join(workdir, "st"))]
        killed_mid_way = False
        for _ in range(5):
            process = subprocess.Popen(args, env={"PATH": os.environ.get("PATH", "")},
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

            def copied_some():
                for root, _, names in os.walk(backups):
                    if sum(1 for n in names if n.endswith(".nxl")) >= 30:
                        return True
                return False

            eventually(30, lambda: copied_some() or process.poll() is not None, 0.002)
            process.send_signal(signal.SIGKILL)
            process.wait()
            if not complete_backups(backups):
                killed_mid_way = True
                break
            subprocess.run(["rm", "-rf", backups], check=False)
        assert killed_mid_way, "every backup finished before the kill"
        again = nexuctl("backup", backups, *store_args(server.data_dir, server.key_file,
                                                       os.path.join(workdir, "st")))
        assert again.returncode == 0, again.stderr
        assert "resumed=yes" in again.stdout
        reused = int(again.stdout.split("reused=")[1].split()[0])
        assert reused >= 30
        assert len(complete_backups(backups)) == 1
        restored = os.path.join(workdir, "restored")
        out = nexuctl("restore", backups, *store_args(restored, server.key_file,
                                                      os.path.join(workdir, "st2")))
        assert out.returncode == 0, out.stderr
        assert exported_ids(restored, server.key_file, os.path.join(workdir, "st3"), "many") == ids


def test_rotate_key_while_a_server_runs(workdir):
    with NexuServer(env=server_env()) as server:
        token = admin_token(server)
        make_collection(server, token, "rot")
        old = [post(server, token, "rot", {"old": n}) for n in range(20)]
        assert key_id_of(newest_commit_file(server.data_dir, "rot")) == 1
        out = nexuctl("rotate-key", *store_args(server.data_dir, server.key_file,
                                                os.path.join(workdir, "st")))
        assert out.returncode == 0, out.stderr
        assert "key version 2 is current" in out.stdout
        assert os.path.exists(os.path.join(server.data_dir, "keys", "version-00000002"))

        # The server picks the new version up without a restart.
        def new_write_has_new_key():
            post(server, token, "rot", {"new": True})
            return key_id_of(newest_commit_file(server.data_dir, "rot")) == 2
        assert eventually(10, new_write_has_new_key, 0.2)
        fresh = post(server, token, "rot", {"fresh": 1})
        for doc_id in old + [fresh]:
            status, _, body = call(server, "GET", (DOCS % "rot") + "/" + doc_id, token=token)
            assert status == 200, body
        verify = nexuctl("verify", *store_args(server.data_dir, server.key_file,
                                               os.path.join(workdir, "st")))
        assert verify.returncode == 0, verify.stdout + verify.stderr

        # The offline re-encryption pass: a checkpoint under version 2 everywhere.
        out = nexuctl("rotate-key", "--reencrypt",
                      *store_args(server.data_dir, server.key_file, os.path.join(workdir, "st")))
        assert out.returncode == 0, out.stderr
        assert "key version 3 is current" in out.stdout
        current = open(os.path.join(server.data_dir, "rot", "CURRENT")).read().strip()
        index = os.path.join(server.data_dir, "rot", "ckpt", "%020d.nxi" % int(current))
        assert key_id_of(index) == 3
        status, _, body = call(server, "GET", (DOCS % "rot") + "/" + old[0], token=token)
        assert status == 200, body


# ---- through the jobs API (needs the lead's wiring of the scheduler) ----

def jobs_wired(server, token):
    status, _, _ = call(server, "POST", "/api/v1/system/jobs/backup/run", {}, token)
    return status != 404


def job_state(server, token, name):
    status, _, body = call(server, "GET", "/api/v1/system/jobs", token=token)
    assert status == 200, body
    return next((job for job in body["items"] if job["name"] == name), None)


def test_backup_job_through_the_api_survives_kill_9(workdir):
    backups = os.path.join(workdir, "backups")
    root = os.path.join(workdir, "server")
    os.makedirs(root)
    env = server_env(NEXU_BACKUP_DIR=backups, NEXU_BACKUP_KEEP="3")
    server = NexuServer(root=root, env=env).start()
    try:
        token = admin_token(server)
        if not jobs_wired(server, token):
            pytest.skip("POST /api/v1/system/jobs/backup/run answers 404: jobs not wired yet")
        make_collection(server, token, "jobs")
        for n in range(500):
            post(server, token, "jobs", {"n": n})
        eventually(60, lambda: complete_backups(backups), 0.1)
        assert complete_backups(backups)
        before = (job_state(server, token, "backup") or {}).get("last_start")
        status, _, _ = call(server, "POST", "/api/v1/system/jobs/backup/run", {}, token)
        assert status == 202
        time.sleep(0.05)
        server.signal(signal.SIGKILL)
        server.wait()
        server.output.close()
        server = NexuServer(root=root, env=env, port=server.port).start()
        token = admin_token(server)
        # The job resumes on its own (has_unfinished_work) or on request.
        call(server, "POST", "/api/v1/system/jobs/backup/run", {}, token)
        # The killed run's marker holds the job for up to a minute (the
        # marker lease); then the resume runs it to the end.
        def resumed_and_done():
            job = job_state(server, token, "backup") or {}
            return job.get("last_start") not in (None, before) and not job.get("running")
        assert eventually(150, resumed_and_done, 0.5)
        assert (job_state(server, token, "backup") or {}).get("last_result") == "ok"
        assert eventually(10, lambda: not any(
            not os.path.exists(os.path.join(backups, n, "MANIFEST.nxm"))
            for n in os.listdir(backups)), 0.2)
        verify = nexuctl("verify", *store_args(server.data_dir, server.key_file,
                                               os.path.join(workdir, "st")))
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        server.cleanup()


def test_key_rotation_job_through_the_api_survives_kill_9(workdir):
    root = os.path.join(workdir, "server")
    os.makedirs(root)
    env = server_env(NEXU_RETENTION_GRACE_MS="1000")
    server = NexuServer(root=root, env=env).start()
    try:
        token = admin_token(server)
        if not jobs_wired(server, token):
            pytest.skip("POST /api/v1/system/jobs/backup/run answers 404: jobs not wired yet")
        make_collection(server, token, "krot")
        ids = [post(server, token, "krot", {"n": n}) for n in range(300)]
        out = nexuctl("rotate-key", *store_args(server.data_dir, server.key_file,
                                                os.path.join(workdir, "st")))
        assert out.returncode == 0, out.stderr
        status, _, _ = call(server, "POST", "/api/v1/system/jobs/key-rotation/run", {}, token)
        assert status == 202
        time.sleep(0.05)
        server.signal(signal.SIGKILL)
        server.wait()
        server.output.close()
        server = NexuServer(root=root, env=env, port=server.port).start()
        token = admin_token(server)
        retired = os.path.join(server.data_dir, "keys", "retired-00000001")

        def finished():
            if not os.path.exists(retired):
                call(server, "POST", "/api/v1/system/jobs/key-rotation/run", {}, token)
            return os.path.exists(retired)
        # Worst case by design: the killed run's marker holds the job for a
        # minute, and a checkpoint its writer left half-made is only removed
        # once older than 2 x grace + 60 s, so the old version is retired
        # about two minutes after the kill, plus the rotation itself, slow
        # under ASan on a loaded machine (180 s was passed once there).
        if not eventually(300, finished, 2.0):
            _, _, jobs = call(server, "GET", "/api/v1/system/jobs", token=token)
            pytest.fail("key version 1 not retired within 300 s; jobs: %s" % jobs)
        for doc_id in ids[:50]:
            status, _, body = call(server, "GET", (DOCS % "krot") + "/" + doc_id, token=token)
            assert status == 200, body
        verify = nexuctl("verify", *store_args(server.data_dir, server.key_file,
                                               os.path.join(workdir, "st")))
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        server.cleanup()
