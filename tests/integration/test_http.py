"""The HTTP listener and system endpoints, over real sockets against the real binary."""
import json
import os
import re
import shutil
import socket
import threading
import time

import pytest
import requests

from nexu_server import eventually, json_body, parse_response, raw_exchange

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def assert_problem(response, status, type_suffix):
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail"}
    assert body["status"] == status
    assert body["type"].endswith(type_suffix)
    return body


def test_health_answers_with_status_version_instance_uptime(server):
    response = requests.get(server.base + "/health", timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["instance"] == server.env["NEXU_INSTANCE_ID"]
    assert isinstance(body["uptime_s"], int) and body["uptime_s"] >= 0
    assert re.fullmatch(r"\d+\.\d+\.\d+", body["version"])
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "Server" not in response.headers  # no version banner


def test_request_ids_are_echoed_when_sane_and_made_otherwise(server):
    echoed = requests.get(server.base + "/health", headers={"X-Request-Id": "abc-123"}, timeout=5)
    assert echoed.headers["X-Request-Id"] == "abc-123"
    replaced = requests.get(server.base + "/health", headers={"X-Request-Id": "a b<c>"}, timeout=5)
    assert re.fullmatch(r"[0-9a-f]{16}", replaced.headers["X-Request-Id"])
    missing = requests.get(server.base + "/nope", timeout=5)
    assert re.fullmatch(r"[0-9a-f]{16}", missing.headers["X-Request-Id"])


def test_unknown_route_404_and_wrong_method_405_with_allow(server):
    assert_problem(requests.get(server.base + "/api/v1/nothing", timeout=5), 404, "not-found")
    wrong = requests.delete(server.base + "/health", timeout=5)
    assert_problem(wrong, 405, "method-not-allowed")
    assert wrong.headers["Allow"] == "GET, HEAD, OPTIONS"
    for name, value in SECURITY_HEADERS.items():
        assert wrong.headers[name] == value


def test_head_and_options(server):
    head = requests.head(server.base + "/health", timeout=5)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) > 0
    options = requests.options(server.base + "/health", timeout=5)
    assert options.status_code == 204
    assert "GET" in options.headers["Allow"]


def test_a_17_kib_header_block_is_431(server):
    raw = raw_exchange(server.port, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " +
                       b"a" * (17 * 1024) + b"\r\n\r\n")
    status, headers, body = parse_response(raw)
    assert status == 431
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 431
    assert requests.get(server.base + "/health", timeout=5).status_code == 200


def test_an_over_limit_content_length_is_413_without_reading_the_body(server):
    raw = raw_exchange(server.port, b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Type: "
                       b"application/json\r\nContent-Length: 2097152\r\n\r\n{")
    status, headers, body = parse_response(raw)
    assert status == 413
    assert headers["connection"] == "close"
    assert json.loads(body)["type"].endswith("payload-too-large")


def test_malformed_http_is_400_and_the_server_lives_on(server):
    status, _, _ = parse_response(raw_exchange(server.port, b"GARBAGE\x01\r\n\r\n"))
    assert status == 400
    assert requests.get(server.base + "/health", timeout=5).status_code == 200


def test_keep_alive_and_pipelining_answer_in_order(server):
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: r%d\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"".join(request % i for i in range(5)))
        raw = b""
        while raw.count(b"HTTP/1.1 200") < 5 or not raw.endswith(b"}"):
            chunk = s.recv(65536)
            assert chunk, "connection closed early"
            raw += chunk
    ids = re.findall(rb"X-Request-Id: (r\d)", raw)
    assert ids == [b"r0", b"r1", b"r2", b"r3", b"r4"]


def test_a_slow_header_sender_is_disconnected_at_the_deadline(make_server):
    server = make_server(env={"NEXU_HEADER_TIMEOUT_MS": "1000"}).start()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        started = time.monotonic()
        closed = False
        for byte in b"GET /health HTTP/1.1\r\nHost: slow\r\nX-Drip: " + b"a" * 200:
            try:
                s.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            s.settimeout(0.25)
            try:
                if s.recv(1) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
            if time.monotonic() - started > 8:
                break
        assert closed, "the server kept a trickling client past its header deadline"
    assert requests.get(server.base + "/health", timeout=5).status_code == 200


def test_an_idle_keep_alive_connection_is_closed(make_server):
    server = make_server(env={"NEXU_IDLE_TIMEOUT_MS": "500"}).start()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        first = s.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        s.settimeout(10)
        assert s.recv(1) == b""


def test_500_concurrent_keep_alive_connections_are_served(server):
    sockets = []
    try:
        for _ in range(500):
            sockets.append(socket.create_connection(("127.0.0.1", server.port), timeout=30))
        for round_number in range(2):  # the second round proves keep-alive
            for s in sockets:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            for s in sockets:
                raw = b""
                while not raw.endswith(b"}"):
                    chunk = s.recv(4096)
                    assert chunk, "connection closed in round %d" % round_number
                    raw += chunk
                assert raw.startswith(b"HTTP/1.1 200")
    finally:
        for s in sockets:
            s.close()


def test_connections_over_the_limit_get_503(make_server):
    server = make_server(env={"NEXU_MAX_CONNECTIONS": "3"}).start()
    held = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(3)]
    try:
        time.sleep(0.2)
        status, headers, _ = parse_response(raw_exchange(server.port, b""))
        assert status == 503
        assert headers["content-type"] == "application/problem+json"
    finally:
        for s in held:
            s.close()
    assert eventually(5, lambda: requests.get(server.base + "/health", timeout=5).ok)


def test_cors_allow_list_and_preflight(make_server):
    server = make_server(env={"NEXU_CORS_ORIGINS": "https://app.example"}).start()
    allowed = requests.options(server.base + "/health", timeout=5, headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "If-Match" in allowed.headers["Access-Control-Allow-Headers"]
    refused = requests.options(server.base + "/health", timeout=5, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert refused.status_code == 403
    assert not any(h.lower().startswith("access-control-") for h in refused.headers)
    actual = requests.get(server.base + "/health", headers={"Origin": "https://app.example"},
                          timeout=5)
    assert actual.headers["Access-Control-Allow-Origin"] == "https://app.example"
    other = requests.get(server.base + "/health", headers={"Origin": "https://evil.example"},
                         timeout=5)
    assert "Access-Control-Allow-Origin" not in other.headers


def test_ready_turns_503_when_the_data_dir_goes_away_and_back(server):
    ready = requests.get(server.base + "/ready", timeout=5)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"data_dir": "ok", "key": "ok"}}
    moved = server.data_dir + ".away"
    os.rename(server.data_dir, moved)
    try:
        down = requests.get(server.base + "/ready", timeout=5)
        body = assert_problem(down, 503, "not-ready")
        assert body["checks"]["data_dir"] != "ok"
        assert "Retry-After" in down.headers
        assert server.root not in down.text  # no paths on disk in answers
    finally:
        os.rename(moved, server.data_dir)
    assert requests.get(server.base + "/ready", timeout=5).status_code == 200


def test_ready_turns_503_when_the_data_dir_is_read_only(server):
    if os.geteuid() == 0:
        # root ignores permission bits; an immutable directory is refused even to root.
        if shutil.which("chattr") is None or os.system(f"chattr +i {server.data_dir} 2>/dev/null"):
            pytest.skip("cannot make the data directory immutable here (chattr needs "
                        "CAP_LINUX_IMMUTABLE and an ext* file system)")
        try:
            assert requests.get(server.base + "/ready", timeout=5).status_code == 503
        finally:
            os.system(f"chattr -i {server.data_dir}")
    else:
        os.chmod(server.data_dir, 0o500)
        try:
            assert requests.get(server.base + "/ready", timeout=5).status_code == 503
        finally:
            os.chmod(server.data_dir, 0o700)
    assert requests.get(server.base + "/ready", timeout=5).status_code == 200


def test_every_request_is_logged_in_the_original_format(server):
    requests.get(server.base + "/health", headers={"X-Request-Id": "log-check-1"}, timeout=5)
    requests.get(server.base + "/missing", headers={"X-Request-Id": "log-check-2"}, timeout=5)
    line = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - INFO - \[app_logger\] - "
                      r"GET 200 in \d+\.\d{3}s route=/health request_id=log-check-1 "
                      r"client=127\.0\.0\.1$", re.M)
    assert eventually(5, lambda: line.search(server.log_text()))
    assert re.search(r"GET 404 in \d+\.\d{3}s route=unmatched request_id=log-check-2",
                     server.log_text())


def test_forwarded_for_is_believed_only_from_trusted_proxies(make_server):
    trusting = make_server(env={"NEXU_TRUSTED_PROXIES": "127.0.0.1"}).start()
    requests.get(trusting.base + "/health", timeout=5,
                 headers={"X-Forwarded-For": "198.51.100.7", "X-Request-Id": "xff-1"})
    assert eventually(5, lambda: "request_id=xff-1 client=198.51.100.7" in trusting.log_text())
    plain = make_server().start()
    requests.get(plain.base + "/health", timeout=5,
                 headers={"X-Forwarded-For": "198.51.100.7", "X-Request-Id": "xff-2"})
    assert eventually(5, lambda: "request_id=xff-2 client=127.0.0.1" in plain.log_text())


def test_metrics_count_requests_by_route_and_status(server):
    for _ in range(3):
        requests.get(server.base + "/health", timeout=5)
    text = requests.get(server.base + "/metrics", timeout=5).text
    match = re.search(r'^nexu_http_requests_total\{method="GET",route="/health",status="200"\} '
                      r'(\d+)$', text, re.M)
    assert match and int(match.group(1)) >= 3
    assert "# TYPE nexu_http_request_duration_seconds histogram" in text


def test_openapi_document_describes_the_system_routes(server):
    response = requests.get(server.base + "/api/openapi.json", timeout=5)
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    for path in ("/health", "/ready", "/metrics", "/api/openapi.json"):
        assert path in document["paths"]
