"""nexu start-up, settings and shutdown, against the real binary."""
import os
import signal
import socket
import stat
import time

import pytest
import requests

from nexu_server import NexuServer, eventually, parse_response, run_nexu

BAD_SETTINGS = [
    ("NEXU_PORT", "http"),
    ("NEXU_PORT", "70000"),
    ("NEXU_BIND", "not-an-ip"),
    ("NEXU_IO_THREADS", "0"),
    ("NEXU_WORKER_THREADS", "many"),
    ("NEXU_MAX_BODY_BYTES", "1TB"),
    ("NEXU_MAX_HEADER_BYTES", "12"),
    ("NEXU_MAX_CONNECTIONS", "0"),
    ("NEXU_HEADER_TIMEOUT_MS", "-5"),
    ("NEXU_IDLE_TIMEOUT_MS", "soon"),
    ("NEXU_CORS_ORIGINS", "*"),
    ("NEXU_TRUSTED_PROXIES", "10.0.0.0/40"),
    ("NEXU_LOG_LEVEL", "verbose"),
    ("NEXU_LOG_CONSOLE", "2"),
    ("NEXU_LOG_FILE", "a/b.log"),
    ("NEXU_LOG_MAX_FILES", "0"),
    ("NEXU_INSTANCE_ID", "bad id!"),
    ("NEXU_REDIS_URL", "tcp://127.0.0.1"),
    ("NEXU_CREATE_KEY", "sure"),
    ("NEXU_QUERY_TIMEOUT_MS", "0"),
    ("NEXU_QUERY_MAX_NODES", "lots"),
    ("NEXU_QUERY_MAX_MATERIALIZED", "0"),
    ("NEXU_QUERY_SNAPSHOT_BYTES", "12"),
    ("NEXU_UNKNOWN_SETTING", "1"),
]


@pytest.mark.parametrize("name,value", BAD_SETTINGS)
def test_a_bad_setting_exits_2_naming_it(name, value):
    result = run_nexu(env={name: value})
    assert result.returncode == 2
    assert name in result.stderr
    assert result.stderr.count("\n") == 1  # one message, one line


def test_a_bad_config_file_exits_2(tmp_path):
    config = tmp_path / "nexu.env"
    config.write_text("NEXU_PORT=8081\nNEXU_TYPO=1\n")
    result = run_nexu(["--config", str(config)])
    assert result.returncode == 2
    assert "NEXU_TYPO" in result.stderr
    assert run_nexu(["--config", str(tmp_path / "missing.env")]).returncode == 2
    assert run_nexu(["--bogus-flag"]).returncode == 2


def test_help_version_and_print_config():
    help_text = run_nexu(["--help"])
    assert help_text.returncode == 0
    for name in ("NEXU_BIND", "NEXU_PORT", "NEXU_DATA_DIR", "NEXU_LOGS_DIR", "NEXU_KEY_FILE",
                 "NEXU_INSTANCE_ID", "NEXU_STATE_DIR", "NEXU_REDIS_URL", "NEXU_CORS_ORIGINS",
                 "NEXU_TRUSTED_PROXIES", "NEXU_LOG_LEVEL", "NEXU_ADMIN_USERNAME"):
        assert name in help_text.stdout
    version = run_nexu(["--version"])
    assert version.returncode == 0 and version.stdout.startswith("nexu ")
    printed = run_nexu(["--print-config"], env={"NEXU_ADMIN_PASSWORD": "very-secret-pass",
                                                "NEXU_PORT": "9123"})
    assert printed.returncode == 0
    assert "NEXU_PORT=9123" in printed.stdout
    assert "very-secret-pass" not in printed.stdout
    assert "NEXU_ADMIN_PASSWORD=[redacted]" in printed.stdout


def test_first_start_creates_a_private_key_and_never_logs_it(server):
    info = os.stat(server.key_file)
    assert stat.S_IMODE(info.st_mode) == 0o600
    key_text = open(server.key_file).read().strip()
    assert len(key_text) == 64
    logs = server.log_text()
    assert server.key_file in logs
    assert key_text not in logs and key_text not in server.read_output()
    assert not server.key_file.startswith(server.data_dir)


def test_a_key_file_readable_by_others_is_refused(make_server):
    first = make_server().start()
    first.stop()
    os.chmod(first.key_file, 0o644)
    second = make_server(root=first.root, port=first.port)
    second.start(wait=False)
    assert second.wait(20) == 1
    assert "NEXU_KEY_FILE" in second.read_output()


def test_a_missing_key_without_create_is_refused(make_server):
    server = make_server(env={"NEXU_CREATE_KEY": "false"})
    server.start(wait=False)
    assert server.wait(20) == 1
    assert "NEXU_KEY_FILE" in server.read_output()


def test_a_port_in_use_exits_1_with_a_message(make_server):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = make_server(port=port)
        server.start(wait=False)
        assert server.wait(20) == 1
        assert "cannot listen on 127.0.0.1:%d" % port in server.read_output()


def test_an_unusable_logs_dir_exits_1(make_server, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    server = make_server(env={"NEXU_LOGS_DIR": str(blocker)})
    server.start(wait=False)
    assert server.wait(20) == 1
    assert "NEXU_LOGS_DIR" in server.read_output()


def test_an_unusable_data_dir_exits_1(make_server, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    server = make_server(env={"NEXU_DATA_DIR": str(blocker)})
    server.start(wait=False)
    assert server.wait(20) == 1
    assert "NEXU_DATA_DIR" in server.read_output()


def test_sigterm_finishes_the_in_flight_request_and_exits_0(server):
    busy = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    idle = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    busy.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # request under way
    time.sleep(0.2)
    server.signal(signal.SIGTERM)
    time.sleep(0.3)
    busy.sendall(b"\r\n")
    raw = b""
    while b"\r\n\r\n" not in raw or not raw.endswith(b"}"):
        chunk = busy.recv(4096)
        if not chunk:
            break
        raw += chunk
    status, headers, body = parse_response(raw)
    assert status == 200
    assert headers.get("connection") == "close"
    assert idle.recv(1) == b""  # the idle keep-alive connection was closed
    assert server.wait(20) == 0
    assert "stopped" in server.log_text()
    busy.close()
    idle.close()


def test_sigint_also_stops_cleanly(server):
    server.signal(signal.SIGINT)
    assert server.wait(20) == 0


def test_several_instances_write_their_own_log_files(make_server):
    shared_logs = make_server().root + "/shared-logs"
    first = make_server(env={"NEXU_LOGS_DIR": shared_logs, "NEXU_LOG_FILE": "app-{instance}.log",
                             "NEXU_INSTANCE_ID": "alpha"}).start()
    second = make_server(env={"NEXU_LOGS_DIR": shared_logs, "NEXU_LOG_FILE": "app-{instance}.log",
                              "NEXU_INSTANCE_ID": "beta"}).start()
    first.stop()
    second.stop()
    assert sorted(os.listdir(shared_logs)) == ["app-alpha.log", "app-beta.log"]
    assert "instance=alpha" in open(shared_logs + "/app-alpha.log").read()


def test_a_wrong_key_serves_health_but_ready_names_the_key(make_server):
    first = make_server().start()
    assert requests.get(first.base + "/ready", timeout=5).status_code == 200
    first.stop()
    os.remove(first.key_file)
    second = make_server(root=first.root, port=first.port)  # creates a new, different key
    second.start()
    try:
        assert requests.get(second.base + "/health", timeout=5).status_code == 200
        ready = requests.get(second.base + "/ready", timeout=5)
        assert ready.status_code == 503
        assert ready.json()["checks"]["key"] == "key does not decrypt the data directory"
        assert ready.json()["checks"]["data_dir"] == "ok"
    finally:
        second.stop()
