"""Black-box tests of the scheduler, the maintenance jobs and the system routes
(issue 9; API.md "System"): the real nexu binary, jobs run through the API and
on short schedules, several instances on one data directory, planted damage
for the integrity job, and log rotation under load."""
import glob
import os
import re
import shutil
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


@pytest.mark.parametrize("instances", [2, 3])
def test_each_scheduled_run_is_executed_by_exactly_one_instance(instances):
    root = tempfile.mkdtemp(prefix="nexu-it-jobs-")
    env = quiet_env(NEXU_DATA_DIR=os.path.join(root, "db"),
                    NEXU_KEY_FILE=os.path.join(root, "master.key"),
                    NEXU_JOB_TEMP_CLEANUP_SCHEDULE="every 1s",
                    NEXU_JOB_INTEGRITY_SCHEDULE="every 2s",
                    NEXU_JOB_JITTER="20%")
    servers = [NexuServer(root=os.path.join(root, "i%d" % i), env=dict(env))
               for i in range(instances)]
    try:
        for one in servers:
            os.makedirs(one.root, exist_ok=True)
            one.start()
        time.sleep(10)
    finally:
        for one in servers:
            one.stop()
    try:
        for job, per_slot in (("temp-cleanup", 1), ("integrity", 2)):
            slots = [slot for one in servers for slot in started_slots(one, job)]
            assert slots, job
            # Never twice for one slot, cluster-wide.
            assert len(slots) == len(set(slots)), (job, sorted(slots))
            leases = {int(name[5:]) for name in os.listdir(os.path.join(root, "db", "_leases", job))
                      if name.startswith("slot-")}
            # Every lease won was run (the run lines are written after the win).
            assert set(slots) == leases, (job, sorted(slots), sorted(leases))
            assert len(slots) >= 8 // per_slot - 2, (job, slots)
    finally:
        for one in servers:
            one.cleanup()
        shutil.rmtree(root, ignore_errors=True)
