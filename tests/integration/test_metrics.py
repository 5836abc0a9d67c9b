"""GET /metrics against the real binary, read with a real Prometheus
text-format parser (Debian's python3-prometheus-client): traffic over HTTP,
a WebSocket chat message and a rate-limit rejection move the counters by the
expected amounts; NEXU_METRICS off/admin guard the route. Bounded in time."""
import asyncio
import json
import os
import urllib.request
import uuid

import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from accounts import admin_token, call, new_user, register, server_env
from nexu_server import NexuServer, eventually, run_nexu

WAIT = 10
FAST_HASH = {"NEXU_PASSWORD_OPSLIMIT": "1", "NEXU_PASSWORD_MEMLIMIT_BYTES": "1MiB"}
DOCS = "/api/v1/collections/%s/documents"


class Scrape:
    """One parsed scrape: types by family, samples by (name, sorted labels)."""

    def __init__(self, text):
        self.text = text
        self.types = {}
        self.samples = {}
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                assert key not in self.samples, "duplicate series %r" % (key,)
                self.samples[key] = sample.value

    def value(self, name, **labels):
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def series(self, name):
        return [(dict(labels), value) for (n, labels), value in self.samples.items() if n == name]


def scrape(server, token=None):
    request = urllib.request.Request(server.base + "/metrics")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return Scrape(response.read().decode())


def check_histogram(s, family, **labels):
    """Cumulative buckets ending in +Inf, equal to _count; returns the count."""
    buckets = []
    for sample_labels, value in s.series(family + "_bucket"):
        le = sample_labels.pop("le")
        if sample_labels == labels:
            buckets.append((float(le), value))
    assert buckets, "no buckets for %s %r" % (family, labels)
    buckets.sort()
    assert buckets[-1][0] == float("inf")
    values = [v for _, v in buckets]
    assert values == sorted(values), "buckets not cumulative: %r" % buckets
    assert buckets[-1][1] == s.value(family + "_count", **labels)
    assert s.value(family + "_sum", **labels) >= 0
    return buckets[-1][1]


@pytest.fixture(scope="module")
def server():
    env = server_env(NEXU_RATE_LOGIN_PER_ACCOUNT="2/15m", **FAST_HASH)
    with NexuServer(env=env) as running:
        yield running


def test_families_are_well_formed_before_any_traffic(server):
    s = scrape(server)
    # HELP and TYPE lines once per family (the parser merges repeats; count them in the text).
    type_lines = [line for line in s.text.splitlines() if line.startswith("# TYPE ")]
    assert len(type_lines) == len(set(type_lines))
    help_lines = [line.split(" ")[2] for line in s.text.splitlines() if line.startswith("# HELP ")]
    assert len(help_lines) == len(set(help_lines))
    expected = {
        "nexu_build_info": "gauge",
        "process_resident_memory_bytes": "gauge",
        "process_open_fds": "gauge",
        "nexu_cache_lookups": "counter",
        "nexu_store_commit_records": "histogram",
        "nexu_websocket_connections_open": "gauge",
        "nexu_websocket_frames": "counter",
        "nexu_chat_messages": "counter",
    }
    for family, kind in expected.items():
        assert s.types.get(family) == kind, (family, s.types.get(family))
    [(labels, value)] = s.series("nexu_build_info")
    assert value == 1 and labels["version"] and labels["instance"] == server.env["NEXU_INSTANCE_ID"]
    assert s.value("process_resident_memory_bytes") > 1_000_000
    assert s.value("process_open_fds") >= 3


def test_traffic_moves_the_counters_by_the_expected_amounts(server):
    admin = admin_token(server)
    name = "metrics%d" % (os.getpid() % 10000)
    assert call(server, "PUT", "/api/v1/collections/" + name, {}, admin)[0] == 201
    status, _, doc = call(server, "POST", DOCS % name, {"n": 1}, admin)
    assert status == 201, doc

    before = scrape(server)
    health_reads, doc_reads = 5, 3
    for _ in range(health_reads):
        assert call(server, "GET", "/health")[0] == 200
    for _ in range(doc_reads):
        assert call(server, "GET", DOCS % name + "/" + doc["_id"], token=admin)[0] == 200
    assert call(server, "GET", DOCS % name + "/" + uuid.uuid4().hex, token=admin)[0] == 404
    writes = 4
    for i in range(writes):
        assert call(server, "POST", DOCS % name, {"n": i}, admin)[0] == 201
    after = scrape(server)

    def delta(metric, **labels):
        return after.value(metric, **labels) - before.value(metric, **labels)

    # Requests by route pattern and status, never by raw path.
    assert delta("nexu_http_requests_total", method="GET", route="/health", status="200") == health_reads
    doc_route = "/api/v1/collections/{c}/documents/{id}"
    routes = {labels["route"] for labels, _ in after.series("nexu_http_requests_total")}
    assert any("{" in route for route in routes)
    assert not any(doc["_id"] in route or name in route for route in routes), routes
    doc_route = next(r for r in routes if r.startswith("/api/v1/collections/{") and r.count("{") == 2)
    assert delta("nexu_http_requests_total", method="GET", route=doc_route, status="200") == doc_reads
    assert delta("nexu_http_requests_total", method="GET", route=doc_route, status="404") == 1
    assert delta("nexu_http_requests_total", method="POST", route=doc_route.rsplit("/", 1)[0],
                 status="201") == writes
    # The /metrics scrape itself is counted under its own route.
    assert delta("nexu_http_requests_total", method="GET", route="/metrics", status="200") == 1
    # Latency histograms: well formed, one observation per request.
    check_histogram(before, "nexu_http_request_duration_seconds", method="GET", route="/health")
    count = check_histogram(after, "nexu_http_request_duration_seconds", method="GET", route="/health")
    assert count - before.value("nexu_http_request_duration_seconds_count", method="GET",
                                route="/health") == health_reads
    # Storage timings from the timing decorator: a fixed set of task names.
    assert delta("nexu_task_duration_seconds_count", task="store_put") >= writes
    assert delta("nexu_task_duration_seconds_count", task="store_get") >= doc_reads
    check_histogram(after, "nexu_task_duration_seconds", task="store_put")
    # Group commit: each acknowledged write is in exactly one commit file.
    commits = check_histogram(after, "nexu_store_commit_records")
    assert 1 <= commits - before.value("nexu_store_commit_records_count")
    assert delta("nexu_store_commit_records_sum") >= writes
    # The same revision read again comes from the decrypted-document cache.
    assert delta("nexu_cache_lookups_total", cache="documents", result="hit") >= doc_reads - 1
    for labels, _ in after.series("nexu_cache_lookups_total"):
        assert labels["cache"] in ("documents", "parsed_documents") and labels["result"] in ("hit", "miss")


def test_websocket_chat_counts_connections_frames_and_messages(server):
    alice, alice_token = new_user(server)
    bob, bob_token = new_user(server)
    status, _, room = call(server, "POST", "/api/v1/chat/rooms", {"name": "metrics", "private": False,
                                                                   "members": [bob["id"]]}, alice_token)
    assert status == 201, room
    before = scrape(server)

    async def scenario():
        url = "ws://127.0.0.1:%d/ws" % server.port
        a = await websockets.connect(url, extra_headers={"Authorization": "Bearer " + alice_token},
                                     open_timeout=WAIT)
        b = await websockets.connect(url, extra_headers={"Authorization": "Bearer " + bob_token},
                                     open_timeout=WAIT)
        during = scrape(server)
        assert during.value("nexu_websocket_connections_open") - \
            before.value("nexu_websocket_connections_open") == 2
        received = 0
        for ws in (a, b):
            await ws.send(json.dumps({"type": "join", "room": room["id"]}))
            await recv_type(ws, "joined")
        await a.send(json.dumps({"type": "send", "room": room["id"], "text": "hi",
                                 "client_id": uuid.uuid4().hex}))
        await recv_type(a, "ack")
        message = await recv_type(b, "message")
        assert message["text"] == "hi"
        received += 1
        await a.close()
        await b.close()
        return received

    received = asyncio.run(asyncio.wait_for(scenario(), 60))

    def settled():
        s = scrape(server)
        closed = s.value("nexu_websocket_connections_open") == before.value("nexu_websocket_connections_open")
        return s if closed else None

    after = eventually(WAIT, settled, 0.05)
    assert after, "the WebSocket gauge did not come back down"

    def delta(metric, **labels):
        return after.value(metric, **labels) - before.value(metric, **labels)

    # Frames in: exactly the two joins and one send the clients wrote.
    assert delta("nexu_websocket_frames_total", direction="in") == 3
    # Frames out: at least joined x2, ack, the message (and presence frames).
    assert delta("nexu_websocket_frames_total", direction="out") >= 4
    assert delta("nexu_chat_messages_total", event="stored") == 1
    assert received <= delta("nexu_chat_messages_total", event="delivered") <= 2


async def recv_type(ws, kind):
    for _ in range(50):
        frame = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if frame["type"] == kind:
            return frame
        assert frame["type"] != "error", frame
    raise AssertionError("no %s frame" % kind)


def test_rate_limit_rejections_are_counted(server):
    victim = register(server)
    before = scrape(server)
    rejected = 0
    for i in range(6):
        status = call(server, "POST", "/api/v1/auth/login",
                      {"username": victim["username"], "password": "wrong password here"})[0]
        assert status in (401, 429)
        rejected += status == 429
    assert rejected >= 3  # two failures allowed per 15 minutes
    after = scrape(server)
    moved = sum(value for _, value in after.series("nexu_rate_limit_rejections_total")) - \
        sum(value for _, value in before.series("nexu_rate_limit_rejections_total"))
    assert moved == rejected
    assert after.value("nexu_http_requests_total", method="POST", route="/api/v1/auth/login", status="429") - \
        before.value("nexu_http_requests_total", method="POST", route="/api/v1/auth/login", status="429") == rejected


def test_metrics_access_off_and_admin():
    with NexuServer(env=server_env(NEXU_METRICS="off")) as off:
        status, headers, _ = call(off, "GET", "/metrics")
        assert status == 404 and headers["content-type"].startswith("application/problem+json")
    with NexuServer(env=server_env(NEXU_METRICS="admin", **FAST_HASH)) as guarded:
        assert call(guarded, "GET", "/metrics")[0] == 401
        _, user_token = new_user(guarded)
        assert call(guarded, "GET", "/metrics", token=user_token)[0] == 403
        s = scrape(guarded, admin_token(guarded))
        assert s.types["nexu_build_info"] == "gauge"


def test_an_unknown_metrics_mode_is_refused():
    result = run_nexu(env={"NEXU_METRICS": "everyone"})
    assert result.returncode == 2
    assert "NEXU_METRICS" in (result.stderr + result.stdout)
