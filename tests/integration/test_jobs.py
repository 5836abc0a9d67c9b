"""Black-box tests of the scheduler, the maintenance jobs and the system routes
(issue 9; API.md "System"): the real nexu binary, jobs run through the API and
on short schedules, several instances on one data directory, planted damage
for the integrity job, and log rotation under load."""
import glob
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

from accounts import admin_token, call, new_user, server_env
from nexu_server import NexuServer, eventually

JOBS = "/api/v1/system/jobs"
INFO = "/api/v1/system/info"
OWN_JOBS = ("integrity", "reindex", "log-rotation", "temp-cleanup")
QUIET = {"NEXU_JOB_%s_SCHEDULE" % name: "off"
         for name in ("INTEGRITY", "REINDEX", "LOG_ROTATION", "TEMP_CLEANUP", "BACKUP",
                      "KEY_ROTATION")}
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - [A-Z]+ - \[app_logger\] - ")


def quiet_env(**extra):
    """Every job off unless the test turns it on, no jitter."""
    env = server_env(NEXU_JOB_JITTER="0%", **QUIET)
    env.update(extra)
    return env


def jobs_by_name(server, token):
    status, _, body = call(server, "GET", JOBS, token=token)
    assert status == 200, body
    return {job["name"]: job for job in body["items"]}


def run_job(server, token, name):
    status, headers, body = call(server, "POST", JOBS + "/%s/run" % name, token=token)
    assert status == 202, body
    assert body == {"name": name, "status": "started"}
    return body


def wait_for_runs(server, token, name, runs, seconds=60):
    """Waits until `name` has finished `runs` runs; returns its job entry."""
    def finished():
        job = jobs_by_name(server, token)[name]
        return job if job["runs"] >= runs and not job["running"] else None
    job = eventually(seconds, finished, 0.1)
    assert job, jobs_by_name(server, token)[name]
    return job


def make_collection(server, token, name):
    status, _, out = call(server, "PUT", "/api/v1/collections/" + name, {}, token)
    assert status == 201, out


def add_documents(server, token, name, count, start=0):
    for i in range(start, start + count):
        status, _, out = call(server, "PUT", "/api/v1/collections/%s/documents/d%d" % (name, i),
                              {"n": i, "text": "x" * 200}, token)
        assert status in (200, 201), out


@pytest.fixture(scope="module")
def server():
    with NexuServer(env=quiet_env()) as running:
        yield running


@pytest.fixture(scope="module")
def admin(server):
    return admin_token(server)


def test_routes_need_an_admin(server, admin):
    _, user_token = new_user(server)
    for method, path in (("GET", JOBS), ("POST", JOBS + "/integrity/run"), ("GET", INFO)):
        status, headers, body = call(server, method, path)
        assert status == 401, (method, path, body)
        status, headers, body = call(server, method, path, token=user_token)
        assert status == 403, (method, path, body)
        assert headers["content-type"].startswith("application/problem+json")
    status, headers, body = call(server, "POST", JOBS + "/no-such-job/run", token=admin)
    assert status == 404 and body["status"] == 404, body
    assert headers["content-type"].startswith("application/problem+json")


def test_jobs_are_listed_with_their_schedules(server, admin):
    jobs = jobs_by_name(server, admin)
    assert set(OWN_JOBS) <= set(jobs)
    for name in OWN_JOBS:
        job = jobs[name]
        assert job["schedule"] == "off" and job["next_run"] is None
        for key in ("last_start", "last_duration_s", "last_result", "running"):
            assert key in job


def test_each_job_runs_through_the_api(server, admin):
    make_collection(server, admin, "notes")
    add_documents(server, admin, "notes", 20)
    for name in OWN_JOBS:
        before = jobs_by_name(server, admin)[name]["runs"]
        run_job(server, admin, name)
        job = wait_for_runs(server, admin, name, before + 1)
        assert job["last_result"] == "ok", job
        assert job["last_trigger"] == "manual" and job["last_instance"] == "it-%d" % server.port
        assert job["last_start"].endswith("Z") and job["last_duration_s"] >= 0
        assert job["last_summary"]
    status, _, info = call(server, "GET", INFO, token=admin)
    assert status == 200, info
    assert info["instance"] == "it-%d" % server.port and info["version"] and info["uptime_s"] >= 0
    notes = [c for c in info["collections"] if c["name"] == "notes"]
    assert notes and notes[0]["documents"] == 20 and notes[0]["bytes"] > 0
    assert notes[0]["generation"] >= 20
    assert info["integrity"]["ok"] is True and info["integrity"]["findings"] == 0
    assert info["integrity"]["documents"] >= 20
    status, _, metrics = call(server, "GET", "/metrics")
    text = metrics.decode() if isinstance(metrics, bytes) else metrics
    assert 'nexu_job_runs_total{job="integrity",result="ok"}' in text
    assert 'nexu_job_duration_seconds_count{job="reindex"}' in text
    assert 'nexu_job_running{job="temp-cleanup"} 0' in text
    assert "nexu_integrity_findings 0" in text and "nexu_integrity_runs_total" in text


def test_a_job_running_elsewhere_gives_409_until_its_marker_expires(server, admin):
    # Another instance's live running marker (the lease protocol's file).
    leases = os.path.join(server.data_dir, "_leases", "reindex")
    os.makedirs(leases, exist_ok=True)
    marker = os.path.join(leases, "running.900")
    with open(marker, "w") as f:
        f.write("instance=elsewhere\nexpires=%d\n" % int((time.time() + 600) * 1000))
    status, _, body = call(server, "POST", JOBS + "/reindex/run", token=admin)
    assert status == 409 and body["status"] == 409, body
    # A crashed instance's marker stops counting at its expiry.
    with open(marker, "w") as f:
        f.write("instance=elsewhere\nexpires=%d\n" % int((time.time() - 1) * 1000))
    before = jobs_by_name(server, admin)["reindex"]["runs"]
    run_job(server, admin, "reindex")
    wait_for_runs(server, admin, "reindex", before + 1)
    assert not os.path.exists(marker)  # taken over and tidied away


def test_a_job_runs_on_its_schedule():
    with NexuServer(env=quiet_env(NEXU_JOB_TEMP_CLEANUP_SCHEDULE="every 2s",
                                  NEXU_JOB_JITTER="10%")) as running:
        token = admin_token(running)
        job = wait_for_runs(running, token, "temp-cleanup", 2, seconds=30)
        assert job["last_result"] == "ok" and job["last_trigger"] == "schedule"
        assert job["schedule"] == "every 2s" and job["next_run"].endswith("Z")
        assert len(os.listdir(os.path.join(running.data_dir, "_leases", "temp-cleanup"))) >= 2


def test_a_bad_schedule_exits_2_naming_the_setting():
    for value in ("every", "every 0s", "every 5x", "61 * * * *", "* * *", "*/0 * * * *"):
        server = NexuServer(env=quiet_env(NEXU_JOB_REINDEX_SCHEDULE=value))
        try:
            server.start(wait=False)
            assert server.wait(20) == 2
            assert "NEXU_JOB_REINDEX_SCHEDULE" in server.read_output()
        finally:
            server.cleanup()


def started_slots(server, job):
    """The slots this instance ran, from its log lines."""
    pattern = re.compile(r"scheduler: job %s started trigger=schedule slot=(\d+)" % re.escape(job))
    return [int(m) for m in pattern.findall(server.log_text())]


def bindfs_mounts(root, count):
    """`count` bindfs mounts of root/shared with short cache timeouts (like NFS
    clients, ../shared/ENVIRONMENT.md section 5); skips when FUSE is unusable."""
    if not shutil.which("bindfs"):
        pytest.skip("bindfs not installed")
    shared = os.path.join(root, "shared")
    os.makedirs(shared)
    mounts = []
    for i in range(count):
        mount = os.path.join(root, "m%d" % i)
        os.makedirs(mount)
        done = subprocess.run(["bindfs", "-oattr_timeout=0.1,entry_timeout=0.1,negative_timeout=0.1",
                               shared, mount], capture_output=True, text=True)
        if done.returncode != 0:
            unmount(mounts)
            pytest.skip("bindfs cannot mount here: " + done.stderr.strip())
        mounts.append(mount)
    return shared, mounts


def unmount(mounts):
    for mount in mounts:
        subprocess.run(["fusermount", "-u", mount], capture_output=True)


@pytest.mark.parametrize("instances,on_bindfs", [(2, False), (3, False), (2, True), (3, True)])
def test_each_scheduled_run_is_executed_by_exactly_one_instance(instances, on_bindfs):
    root = tempfile.mkdtemp(prefix="nexu-it-jobs-")
    mounts = []
    if on_bindfs:
        shared, mounts = bindfs_mounts(root, instances)
        data_dirs = [os.path.join(mount, "db") for mount in mounts]
    else:
        shared = root
        data_dirs = [os.path.join(root, "db")] * instances
    env = quiet_env(NEXU_KEY_FILE=os.path.join(root, "master.key"),
                    NEXU_JOB_TEMP_CLEANUP_SCHEDULE="every 1s",
                    NEXU_JOB_INTEGRITY_SCHEDULE="every 2s",
                    NEXU_JOB_JITTER="20%")
    servers = [NexuServer(root=os.path.join(root, "i%d" % i),
                          env=dict(env, NEXU_DATA_DIR=data_dirs[i])) for i in range(instances)]
    try:
        try:
            for one in servers:
                os.makedirs(one.root, exist_ok=True)
                one.start()
            time.sleep(10)
        finally:
            for one in servers:
                one.stop()
        for job, per_slot in (("temp-cleanup", 1), ("integrity", 2)):
            slots = [slot for one in servers for slot in started_slots(one, job)]
            assert slots, job
            # Never twice for one slot, cluster-wide.
            assert len(slots) == len(set(slots)), (job, sorted(slots))
            lease_dir = os.path.join(shared, "db", "_leases", job)
            leases = {int(name[5:]) for name in os.listdir(lease_dir) if name.startswith("slot-")}
            # Every lease won was run (the run lines are written after the win).
            assert set(slots) == leases, (job, sorted(slots), sorted(leases))
            assert len(slots) >= 8 // per_slot - 2, (job, slots)
            runs = sum(len(started_slots(one, job)) for one in servers)
            assert runs == len(leases)
    finally:
        for one in servers:
            one.cleanup()
        unmount(mounts)
        shutil.rmtree(root, ignore_errors=True)


def flip_byte(path, offset=None):
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        at = len(data) // 2 if offset is None else offset
        data[at] ^= 0x10
        f.seek(0)
        f.write(data)


def commit_files(data_dir, name):
    return sorted(glob.glob(os.path.join(data_dir, name, "log", "*.nxl")))


def plant_stray_files(data_dir, name):
    for where in (os.path.join(data_dir, name, "log"), os.path.join(data_dir, name, "ckpt"),
                  data_dir):
        os.makedirs(where, exist_ok=True)
        for stray in (".tmp-other-1234-1", ".nfs0000000000001234"):
            with open(os.path.join(where, stray), "wb") as f:
                f.write(os.urandom(300))


def integrity_findings(server, token):
    before = jobs_by_name(server, token)["integrity"]["runs"]
    run_job(server, token, "integrity")
    job = wait_for_runs(server, token, "integrity", before + 1)
    status, _, info = call(server, "GET", INFO, token=token)
    assert status == 200, info
    return job, info["integrity"]


def test_a_clean_directory_with_stray_temp_and_nfs_files_has_no_findings(server, admin):
    make_collection(server, admin, "stray")
    add_documents(server, admin, "stray", 5)
    plant_stray_files(server.data_dir, "stray")
    job, integrity = integrity_findings(server, admin)
    assert job["last_result"] == "ok", job
    assert integrity["findings"] == 0 and integrity["listed"] == [], integrity


def test_temp_cleanup_removes_only_old_temp_files_and_old_leases(server, admin):
    make_collection(server, admin, "tidy")
    add_documents(server, admin, "tidy", 3)
    # The store collects a collection's garbage once it has a checkpoint.
    before = jobs_by_name(server, admin)["reindex"]["runs"]
    run_job(server, admin, "reindex")
    wait_for_runs(server, admin, "reindex", before + 1)
    log_dir = os.path.join(server.data_dir, "tidy", "log")
    day_ago = time.time() - 86400
    paths = {}
    for name in (".tmp-gone-1-1", ".nfs000000000000aa", ".tmp-young-1-2"):
        paths[name] = os.path.join(log_dir, name)
        with open(paths[name], "wb") as f:
            f.write(b"x" * 100)
    os.utime(paths[".tmp-gone-1-1"], (day_ago, day_ago))
    os.utime(paths[".nfs000000000000aa"], (day_ago, day_ago))
    lease_dir = os.path.join(server.data_dir, "_leases", "integrity")
    os.makedirs(lease_dir, exist_ok=True)
    old_lease, new_lease = os.path.join(lease_dir, "slot-1"), os.path.join(lease_dir, "slot-2")
    for lease in (old_lease, new_lease):
        with open(lease, "w") as f:
            f.write("instance=old\n")
    three_days_ago = time.time() - 3 * 86400
    os.utime(old_lease, (three_days_ago, three_days_ago))
    before = jobs_by_name(server, admin)["temp-cleanup"]["runs"]
    run_job(server, admin, "temp-cleanup")
    job = wait_for_runs(server, admin, "temp-cleanup", before + 1)
    assert job["last_result"] == "ok", job
    assert not os.path.exists(paths[".tmp-gone-1-1"])
    assert os.path.exists(paths[".nfs000000000000aa"])  # never an .nfs file
    assert os.path.exists(paths[".tmp-young-1-2"])      # younger than the grace
    assert not os.path.exists(old_lease) and os.path.exists(new_lease)


def test_integrity_finds_every_planted_damage():
    root = tempfile.mkdtemp(prefix="nexu-it-damage-")
    damaged = ["flip-commit", "flip-segment", "truncated", "swapped", "deleted-newest",
               "rolled-back"]
    first = NexuServer(root=root, env=quiet_env())
    try:
        first.start()
        token = admin_token(first)
        for name in damaged + ["clean"]:
            make_collection(first, token, name)
            add_documents(first, token, name, 6)
        run_job(first, token, "reindex")  # checkpoints: segments to damage
        wait_for_runs(first, token, "reindex", 1)
        for name in damaged + ["clean"]:
            add_documents(first, token, name, 4, start=6)
        assert first.stop() == 0
        snapshot = os.path.join(root, "rolled-back-copy")
        shutil.copytree(os.path.join(first.data_dir, "rolled-back"), snapshot)
        first.start()
        token = admin_token(first)
        add_documents(first, token, "rolled-back", 4, start=10)
        job, integrity = integrity_findings(first, token)
        assert integrity["findings"] == 0, integrity  # clean before the damage
        assert first.stop() == 0

        data = first.data_dir
        flip_byte(commit_files(data, "flip-commit")[-1])
        segments = sorted(glob.glob(os.path.join(data, "flip-segment", "ckpt", "*.nxs")))
        assert segments
        flip_byte(segments[0])
        newest = commit_files(data, "truncated")[-1]
        os.truncate(newest, os.path.getsize(newest) // 2)
        a, b = commit_files(data, "swapped")[-2:]
        os.rename(a, a + ".swap")
        os.rename(b, a)
        os.rename(a + ".swap", b)
        os.remove(commit_files(data, "deleted-newest")[-1])
        shutil.rmtree(os.path.join(data, "rolled-back"))
        shutil.copytree(snapshot, os.path.join(data, "rolled-back"))
        plant_stray_files(data, "clean")

        first.start()  # the same state directory: its high-water marks
        token = admin_token(first)
        job, integrity = integrity_findings(first, token)
        assert job["last_result"] == "failed", job
        found = {finding["collection"] for finding in integrity["listed"]}
        assert found == set(damaged), integrity
        assert integrity["findings"] >= len(damaged)
        lines = [line for line in first.log_text().splitlines() if "integrity: finding" in line]
        assert {re.search(r"collection=(\S+)", line).group(1) for line in lines} == set(damaged)
        status, _, metrics = call(first, "GET", "/metrics")
        value = re.search(rb"nexu_integrity_findings (\d+)", metrics)
        assert value and int(value.group(1)) == integrity["findings"]
    finally:
        first.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def log_files(server):
    return sorted(os.listdir(server.logs_dir))


def test_log_rotation_keeps_the_configured_number_of_files_under_load():
    env = quiet_env(NEXU_LOG_MAX_BYTES="4096", NEXU_LOG_MAX_FILES="3", NEXU_LOG_MAX_AGE_S="1",
                    NEXU_LOG_LEVEL="debug", NEXU_JOB_LOG_ROTATION_SCHEDULE="every 1s")
    with NexuServer(env=env) as running:
        token = admin_token(running)
        stop = threading.Event()
        sent = [0]

        def load():
            while not stop.is_set():
                status, _, _ = call(running, "GET", JOBS, token=token)
                assert status == 200
                sent[0] += 1

        clients = [threading.Thread(target=load) for _ in range(2)]
        for client in clients:
            client.start()
        try:
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                status, _, body = call(running, "POST", JOBS + "/log-rotation/run", token=token)
                assert status in (202, 409), body
                assert len(log_files(running)) <= 4, log_files(running)  # app.log + 3 rotated
                time.sleep(0.2)
        finally:
            stop.set()
            for client in clients:
                client.join()
        assert sent[0] > 50
        job = jobs_by_name(running, token)["log-rotation"]
        assert job["last_result"] == "ok" and job["runs"] >= 3, job
        assert running.stop() == 0
        files = log_files(running)
        assert files == ["app.1.log", "app.2.log", "app.3.log", "app.log"], files
        # Whole lines only, in every file: no line torn by a rotation.
        for name in files:
            with open(os.path.join(running.logs_dir, name), "rb") as f:
                text = f.read().decode()
            assert text.endswith("\n"), name
            for line in text.splitlines():
                assert LINE.match(line), (name, line)


def test_log_rotation_by_age_and_retention():
    env = quiet_env(NEXU_LOG_MAX_AGE_S="1", NEXU_LOG_RETENTION_S="3600", NEXU_LOG_MAX_FILES="5")
    with NexuServer(env=env) as running:
        token = admin_token(running)
        time.sleep(1.1)
        run_job(running, token, "log-rotation")
        job = wait_for_runs(running, token, "log-rotation", 1)
        assert job["last_summary"].startswith("log file rotated"), job
        assert "app.1.log" in log_files(running)
        # A rotated file older than the retention goes; so does one past the count.
        old = os.path.join(running.logs_dir, "app.1.log")
        os.utime(old, (time.time() - 7200, time.time() - 7200))
        with open(os.path.join(running.logs_dir, "app.9.log"), "w") as f:
            f.write("2020-01-01 00:00:00 - INFO - [app_logger] - left by a larger NEXU_LOG_MAX_FILES\n")
        run_job(running, token, "log-rotation")
        job = wait_for_runs(running, token, "log-rotation", 2)
        assert "2 old log files removed" in job["last_summary"], job
        assert "app.9.log" not in log_files(running)


def test_openapi_document_describes_the_job_routes(server):
    status, _, document = call(server, "GET", "/api/openapi.json")
    assert status == 200
    expected = {("/api/v1/system/jobs", "get"): {"200", "401", "403"},
                ("/api/v1/system/jobs/{name}/run", "post"): {"202", "401", "403", "404", "409"},
                ("/api/v1/system/info", "get"): {"200", "401", "403"}}
    for (path, method), codes in expected.items():
        responses = document["paths"][path][method]["responses"]
        assert codes <= set(responses), (path, method)
    for schema in ("Job", "JobList", "SystemInfo", "IntegrityResult"):
        assert schema in document["components"]["schemas"]
