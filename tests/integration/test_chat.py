"""Chat over REST and WebSocket against the real binary (API.md), with
Debian's python3-websockets 10.4. Every wait has a deadline; every loop is
bounded."""
import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import uuid

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatusCode

from accounts import call, new_user, server_env
from nexu_server import NexuServer, eventually, measuring_asan_options
from redis_server import RedisServer

# AddressSanitizer's redzones, shadow memory and quarantine inflate resident
# memory about twofold; `make test` runs the sanitized binary, so the bounds
# scale with it there (the 20 KiB per connection target is measured on the
# Release build, BENCHMARKS.md).
MEMORY_FACTOR = 2.5 if os.environ.get("TEST_SANITIZED") == "ON" else 1

WAIT = 10  # seconds any single expected frame may take


def ws_url(server, query=""):
    return f"ws://127.0.0.1:{server.port}/ws{query}"


async def connect(server, token, **kwargs):
    return await websockets.connect(ws_url(server), extra_headers={"Authorization": "Bearer " + token},
                                    max_size=None, compression=None, open_timeout=WAIT, **kwargs)


async def recv(ws, timeout=WAIT):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws, predicate, timeout=WAIT, limit=5000):
    """Frames until one matches (returned last); all of them."""
    seen = []
    deadline = time.monotonic() + timeout
    for _ in range(limit):
        frame = await recv(ws, max(0.01, deadline - time.monotonic()))
        seen.append(frame)
        if predicate(frame):
            return seen
    raise AssertionError("no matching frame in %d frames" % limit)


async def join(ws, room, since=None):
    frame = {"type": "join", "room": room}
    if since is not None:
        frame["since"] = since
    await ws.send(json.dumps(frame))
    frames = await recv_until(ws, lambda f: f["type"] in ("joined", "error") and f.get("room", f.get("ref")) == room)
    assert frames[-1]["type"] == "joined", frames
    return frames[-1]


async def send(ws, room, text, client_id=None):
    client_id = client_id or uuid.uuid4().hex
    await ws.send(json.dumps({"type": "send", "room": room, "text": text, "client_id": client_id}))
    return client_id


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 120))


def make_room(server, token, name="room", private=False, members=None):
    body = {"name": name, "private": private}
    if members:
        body["members"] = members
    status, _, room = call(server, "POST", "/api/v1/chat/rooms", body, token)
    assert status == 201, (status, room)
    return room


@pytest.fixture(scope="module")
def server():
    with NexuServer(env=server_env(NEXU_CORS_ORIGINS="https://app.example.com")) as s:
        yield s


def test_upgrade_needs_credentials_and_an_allowed_origin(server):
    _, token = new_user(server)

    async def scenario():
        with pytest.raises(InvalidStatusCode) as refused:
            await websockets.connect(ws_url(server), open_timeout=WAIT)
        assert refused.value.status_code == 401
        with pytest.raises(InvalidStatusCode) as refused:
            await websockets.connect(ws_url(server), open_timeout=WAIT,
                                     extra_headers={"Authorization": "Bearer not-a-token"})
        assert refused.value.status_code == 401
        with pytest.raises(InvalidStatusCode) as refused:
            await websockets.connect(ws_url(server), open_timeout=WAIT, origin="https://evil.example",
                                     extra_headers={"Authorization": "Bearer " + token})
        assert refused.value.status_code == 403
        ws = await websockets.connect(ws_url(server), open_timeout=WAIT, origin="https://app.example.com",
                                      extra_headers={"Authorization": "Bearer " + token})
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv(ws))["type"] == "pong"
        await ws.close()
        # A single-use ticket.
        status, _, body = call(server, "POST", "/api/v1/auth/ws-ticket", None, token)
        assert status == 200, body
        ws = await websockets.connect(ws_url(server, "?ticket=" + body["ticket"]), open_timeout=WAIT)
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv(ws))["type"] == "pong"
        await ws.close()
        with pytest.raises(InvalidStatusCode) as refused:
            await websockets.connect(ws_url(server, "?ticket=" + body["ticket"]), open_timeout=WAIT)
        assert refused.value.status_code == 401

    run(scenario())


def test_rest_rooms_members_and_messages(server):
    alice, alice_token = new_user(server)
    bob, bob_token = new_user(server)
    carol, carol_token = new_user(server)
    public = make_room(server, alice_token, "lobby")
    assert public["private"] is False and public["members"] == [{"id": alice["id"], "username": alice["username"]}]
    secret = make_room(server, alice_token, "secret", True, [bob["id"]])
    assert {m["id"] for m in secret["members"]} == {alice["id"], bob["id"]}

    status, _, listed = call(server, "GET", "/api/v1/chat/rooms", None, carol_token)
    assert status == 200
    ids = {room["id"] for room in listed["items"]}
    assert public["id"] in ids and secret["id"] not in ids
    assert call(server, "GET", f"/api/v1/chat/rooms/{secret['id']}/messages", None, carol_token)[0] == 404
    assert call(server, "POST", f"/api/v1/chat/rooms/{secret['id']}/members", {"user_id": carol["id"]}, carol_token)[0] == 404
    assert call(server, "POST", f"/api/v1/chat/rooms/{public['id']}/messages", {"text": "hi"}, carol_token)[0] == 403
    assert call(server, "POST", f"/api/v1/chat/rooms/{public['id']}/members", {"user_id": carol["id"]}, carol_token)[0] == 204
    assert call(server, "POST", "/api/v1/chat/rooms", {"name": ""}, carol_token)[0] == 422
    assert call(server, "GET", "/api/v1/chat/rooms")[0] == 401

    for i in range(1, 6):
        status, _, message = call(server, "POST", f"/api/v1/chat/rooms/{public['id']}/messages", {"text": f"m{i}"}, carol_token)
        assert status == 201, message
        assert message["seq"] == i and message["from"]["username"] == carol["username"]
        assert message["ts"].endswith("Z")
    assert call(server, "POST", f"/api/v1/chat/rooms/{public['id']}/messages", {"text": "x" * 4001}, carol_token)[0] == 422
    assert call(server, "POST", f"/api/v1/chat/rooms/{public['id']}/messages", {"text": ""}, carol_token)[0] == 422
    status, _, page = call(server, "GET", f"/api/v1/chat/rooms/{public['id']}/messages?before=5&limit=2", None, alice_token)
    assert status == 200 and [m["seq"] for m in page["messages"]] == [3, 4]
    status, _, page = call(server, "GET", f"/api/v1/chat/rooms/{public['id']}/messages?after=3", None, alice_token)
    assert [m["seq"] for m in page["messages"]] == [4, 5]
    assert call(server, "GET", f"/api/v1/chat/rooms/{public['id']}/messages?after=x", None, alice_token)[0] == 400
    assert call(server, "GET", f"/api/v1/chat/rooms/{public['id']}/messages?limit=1001", None, alice_token)[0] == 400

    # Removing: self yes, others only by the creator or an admin.
    assert call(server, "DELETE", f"/api/v1/chat/rooms/{public['id']}/members/{alice['id']}", None, carol_token)[0] == 403
    assert call(server, "DELETE", f"/api/v1/chat/rooms/{public['id']}/members/{carol['id']}", None, carol_token)[0] == 204
    assert call(server, "DELETE", f"/api/v1/chat/rooms/{secret['id']}/members/{bob['id']}", None, alice_token)[0] == 204
    assert call(server, "GET", f"/api/v1/chat/rooms/{secret['id']}/messages", None, bob_token)[0] == 404


def test_websocket_protocol(server):
    alice, alice_token = new_user(server)
    bob, bob_token = new_user(server)
    room = make_room(server, alice_token, "protocol")["id"]

    async def scenario():
        a = await connect(server, alice_token)
        b = await connect(server, bob_token)
        joined = await join(a, room)
        assert [u["id"] for u in joined["online"]] == [alice["id"]]
        joined = await join(b, room)  # a public room: joining makes bob a member
        assert {u["id"] for u in joined["online"]} == {alice["id"], bob["id"]}
        presence = await recv(a)
        assert presence == {"type": "presence", "room": room, "status": "online",
                            "user": {"id": bob["id"], "username": bob["username"]}}

        client_id = await send(a, room, "hello")
        ack = await recv(a)
        assert ack["type"] == "ack" and ack["client_id"] == client_id and ack["seq"] == 1
        message = await recv(b)
        assert message == {"type": "message", "id": ack["id"], "room": room, "seq": 1, "ts": ack["ts"],
                           "text": "hello", "from": {"id": alice["id"], "username": alice["username"]}}
        # The same client_id again: acked with the first message, not stored twice.
        await send(a, room, "hello again", client_id)
        again = await recv(a)
        assert (again["id"], again["seq"]) == (ack["id"], 1)

        await b.send(json.dumps({"type": "typing", "room": room}))
        typing = await recv(a)
        assert typing == {"type": "typing", "room": room, "user": {"id": bob["id"], "username": bob["username"]}}

        # A REST post reaches socket members.
        status, _, posted = call(server, "POST", f"/api/v1/chat/rooms/{room}/messages", {"text": "via rest"}, bob_token)
        assert status == 201 and posted["seq"] == 2
        assert (await recv(a))["seq"] == 2
        assert (await recv(b))["seq"] == 2

        await a.send(json.dumps({"type": "history", "room": room, "limit": 1}))
        history = await recv(a)
        assert history["type"] == "history" and [m["seq"] for m in history["messages"]] == [2]
        await a.send(json.dumps({"type": "history", "room": room, "before": 2}))
        assert [m["text"] for m in (await recv(a))["messages"]] == ["hello"]

        # Bad frames: an error naming the problem, connection kept, nothing stored.
        bad = [("not json", "bad_json"),
               (json.dumps({"type": "dance"}), "unknown_type"),
               (json.dumps({"room": room}), "missing_field"),
               (json.dumps({"type": "send", "room": room, "client_id": "c"}), "missing_field"),
               (json.dumps({"type": "send", "room": room, "text": 5, "client_id": "c"}), "invalid_field"),
               (json.dumps({"type": "send", "room": room, "text": "x" * 4001, "client_id": "c"}), "text_too_long"),
               (json.dumps({"type": "send", "room": room, "text": "", "client_id": "c"}), "invalid_field"),
               (json.dumps({"type": "send", "room": str(uuid.uuid4()), "text": "x", "client_id": "c"}), "not_joined"),
               (json.dumps({"type": "join", "room": "0190b0a0-0000-7000-8000-0000000000ff"}), "not_found"),
               (json.dumps({"type": "join", "room": room, "since": -1}), "invalid_field"),
               (b"\x00binary", "bad_json")]
        for payload, code in bad:
            await a.send(payload)
            error = await recv(a)
            assert error["type"] == "error" and error["code"] == code, (payload, error)
            assert error["message"]
        await a.send(json.dumps({"type": "ping"}))
        assert (await recv(a))["type"] == "pong"

        await b.send(json.dumps({"type": "leave", "room": room}))
        assert await recv(b) == {"type": "left", "room": room}
        offline = await recv(a)
        assert offline["type"] == "presence" and offline["status"] == "offline"
        await b.close()
        await a.close()
        status, _, page = call(server, "GET", f"/api/v1/chat/rooms/{room}/messages", None, alice_token)
        assert [m["seq"] for m in page["messages"]] == [1, 2]

    run(scenario())


def test_private_rooms_are_not_found_for_non_members(server):
    _, alice_token = new_user(server)
    _, carol_token = new_user(server)
    room = make_room(server, alice_token, "private", True)["id"]

    async def scenario():
        c = await connect(server, carol_token)
        await c.send(json.dumps({"type": "join", "room": room}))
        error = await recv(c)
        assert error["code"] == "not_found"
        await c.send(json.dumps({"type": "history", "room": room}))
        assert (await recv(c))["code"] == "not_found"
        await c.close()

    run(scenario())


async def collect_room(ws, expected_total, own_acks, timeout=60):
    """Reads until the seqs of messages plus own acks cover expected_total; returns message seqs."""
    seqs = []
    deadline = time.monotonic() + timeout
    while len(seqs) + len(own_acks) < expected_total:
        frame = await recv(ws, max(0.01, deadline - time.monotonic()))
        if frame["type"] == "message":
            seqs.append(frame["seq"])
        elif frame["type"] == "ack":
            own_acks.append(frame["seq"])
        else:
            assert frame["type"] in ("presence", "typing"), frame
    return seqs


def test_rapid_sends_from_two_clients_arrive_gap_free_and_in_order(server):
    _, alice_token = new_user(server)
    _, bob_token = new_user(server)
    _, watcher_token = new_user(server)
    room = make_room(server, alice_token, "rapid")["id"]
    per_client = 200

    async def scenario():
        a = await connect(server, alice_token)
        b = await connect(server, bob_token)
        w = await connect(server, watcher_token)
        for ws in (a, b, w):
            await join(ws, room)

        async def blast(ws, tag):
            for i in range(per_client):
                await send(ws, room, f"{tag}{i}", f"{tag}-{i}")

        a_acks, b_acks, w_acks = [], [], []
        results = await asyncio.gather(blast(a, "a"), blast(b, "b"),
                                       collect_room(a, 2 * per_client, a_acks),
                                       collect_room(b, 2 * per_client, b_acks),
                                       collect_room(w, 2 * per_client, w_acks))
        a_seen, b_seen, w_seen = results[2:]
        total = list(range(1, 2 * per_client + 1))
        assert w_seen == total  # every message, once, in seq order
        assert a_seen == sorted(a_seen) and b_seen == sorted(b_seen)
        assert sorted(a_seen + a_acks) == total
        assert sorted(b_seen + b_acks) == total
        assert len(a_acks) == len(b_acks) == per_client
        for ws in (a, b, w):
            await ws.close()

    run(scenario())
    # Each sender's messages are stored in the order it sent them.
    status, _, page = call(server, "GET", f"/api/v1/chat/rooms/{room}/messages?after=0&limit=1000", None, alice_token)
    texts = [m["text"] for m in page["messages"]]
    for tag in ("a", "b"):
        assert [t for t in texts if t.startswith(tag)] == [f"{tag}{i}" for i in range(per_client)]


def test_reconnect_with_since_replays_what_was_missed_then_truncates():
    with NexuServer(env=server_env(NEXU_WS_REPLAY_MAX="5")) as server:
        _, alice_token = new_user(server)
        _, bob_token = new_user(server)
        room = make_room(server, alice_token, "since")["id"]

        async def scenario():
            b = await connect(server, bob_token)
            await join(b, room)
            a = await connect(server, alice_token)
            await join(a, room)
            await send(a, room, "m1")
            assert (await recv_until(b, lambda f: f["type"] == "message"))[-1]["seq"] == 1
            await b.close()
            for i in range(2, 5):
                await send(a, room, f"m{i}")
            await recv_until(a, lambda f: f.get("seq") == 4)
            b = await connect(server, bob_token)
            frames = [await join(b, room, since=1)]
            for _ in range(3):
                frames.append(await recv(b))
            assert [f.get("seq") for f in frames[1:]] == [2, 3, 4]
            # Live messages follow the replay without a gap.
            await send(a, room, "m5")
            assert (await recv_until(b, lambda f: f["type"] == "message"))[-1]["seq"] == 5
            await b.close()
            # Missing more than the replay maximum (5): the oldest 5, then history_truncated.
            for i in range(6, 14):
                await send(a, room, f"m{i}")
            await recv_until(a, lambda f: f.get("seq") == 13)
            b = await connect(server, bob_token)
            await join(b, room, since=5)
            replay = [await recv(b) for _ in range(6)]
            assert [f.get("seq") for f in replay[:5]] == [6, 7, 8, 9, 10]
            assert replay[5]["type"] == "error" and replay[5]["code"] == "history_truncated"
            await join(b, room, since=10)
            assert [(await recv(b))["seq"] for _ in range(3)] == [11, 12, 13]
            await send(a, room, "m14")
            assert (await recv_until(b, lambda f: f["type"] == "message"))[-1]["seq"] == 14
            await a.close()
            await b.close()

        run(scenario())


def test_limits_frame_size_rate_and_idle():
    env = server_env(NEXU_WS_SENDS_PER_SECOND="5", NEXU_WS_SEND_BURST="10", NEXU_WS_IDLE_TIMEOUT_MS="1000")
    with NexuServer(env=env) as server:
        _, token = new_user(server)
        room = make_room(server, token, "limits")["id"]

        async def scenario():
            ws = await connect(server, token)
            await join(ws, room)
            for _ in range(30):
                await ws.send(json.dumps({"type": "typing", "room": room}))
            errors = [await recv(ws) for _ in range(20)]
            assert {e["code"] for e in errors} == {"rate_limited"}
            # A frame over 64 KiB: closed with 1009.
            await ws.send(json.dumps({"type": "ping", "pad": "x" * 70000}))
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(100):
                    await recv(ws)
            assert closed.value.code == 1009

        run(scenario())

        # A client that never answers pings is closed after the idle timeout.
        _, token = new_user(server)
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                      "Authorization: Bearer " + token + "\r\n\r\n").encode())
        started = time.monotonic()
        received = b""
        while time.monotonic() - started < 5:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        sock.close()
        assert received.startswith(b"HTTP/1.1 101")
        assert b"\x89" in received  # a ping
        assert time.monotonic() - started < 4.5  # closed, not just idle until our deadline


def test_kill_9_mid_stream_keeps_every_acked_message():
    root = None
    with NexuServer(env=server_env()) as first:
        root = first.root
        port = first.port
        _, token = new_user(first)
        room = make_room(first, token, "crash")["id"]
        acked = {}

        async def stream_until_killed():
            ws = await connect(first, token)
            await join(ws, room)
            for i in range(2000):
                try:
                    await send(ws, room, f"m{i}", f"c{i}")
                    while True:
                        frame = await recv(ws, 5)
                        if frame["type"] == "ack":
                            acked[frame["client_id"]] = (frame["id"], frame["seq"])
                            break
                except (ConnectionClosed, OSError, asyncio.TimeoutError):
                    return i
                if i == 30:
                    first.process.send_signal(signal.SIGKILL)
            return 2000

        last = run(stream_until_killed())
        assert first.process.wait(timeout=10) == -signal.SIGKILL
        assert 30 <= last < 2000 and len(acked) >= 30
        first.owns_root = False
        first.output.close()
        first.process = None

    second = NexuServer(root=root, env=server_env(), port=port)
    second.owns_root = True
    with second:
        status, _, page = call(second, "GET", f"/api/v1/chat/rooms/{room}/messages?after=0&limit=1000", None, token)
        assert status == 200
        stored = {m["id"]: m["seq"] for m in page["messages"]}
        seqs = sorted(stored.values())
        assert seqs == list(range(1, len(seqs) + 1))
        for client_id, (message_id, seq) in acked.items():
            assert stored.get(message_id) == seq, client_id

        async def recover():
            ws = await connect(second, token)
            await join(ws, room, since=len(acked) - 5)
            frames = [await recv(ws) for _ in range(len(seqs) - (len(acked) - 5))]
            assert [f["seq"] for f in frames] == list(range(len(acked) - 4, len(seqs) + 1))
            # Resending the last acked client_id after the crash: acked again, not stored.
            last_client = "c%d" % (len(acked) - 1)
            await send(ws, room, "again", last_client)
            ack = await recv(ws)
            assert (ack["id"], ack["seq"]) == acked[last_client]
            await ws.close()

        run(recover())


def two_instances(extra_env=None, data_dirs=None):
    """Two servers on one data directory (or two mounts of it), each with its own state directory."""
    extra_env = dict(extra_env or {})
    first_env = dict(extra_env)
    if data_dirs:
        first_env["NEXU_DATA_DIR"] = data_dirs[0]
        extra_env["NEXU_DATA_DIR"] = data_dirs[1]
    first = NexuServer(env=server_env(**first_env))
    first.start()
    env = server_env(NEXU_STATE_DIR=os.path.join(first.root, "state-b"),
                     NEXU_LOGS_DIR=os.path.join(first.root, "logs-b"), **extra_env)
    second = NexuServer(root=first.root, env=env)
    second.owns_root = False
    second.output_path = os.path.join(first.root, "server-b-output.log")
    second.start()
    return first, second


def test_two_instances_deliver_each_others_messages_in_order_without_duplicates():
    first, second = two_instances()
    try:
        _, alice_token = new_user(first)
        _, bob_token = new_user(second)
        room = make_room(first, alice_token, "cluster")["id"]
        per_client = 60

        async def scenario():
            a = await connect(first, alice_token)
            b = await connect(second, bob_token)
            wa = await connect(first, alice_token)
            wb = await connect(second, bob_token)
            for ws in (a, b, wa, wb):
                await join(ws, room)

            async def blast(ws, tag):
                for i in range(per_client):
                    await send(ws, room, f"{tag}{i}", f"{tag}-{i}")

            a_acks, b_acks, wa_acks, wb_acks = [], [], [], []
            results = await asyncio.gather(blast(a, "a"), blast(b, "b"),
                                           collect_room(a, 2 * per_client, a_acks),
                                           collect_room(b, 2 * per_client, b_acks),
                                           collect_room(wa, 2 * per_client, wa_acks),
                                           collect_room(wb, 2 * per_client, wb_acks))
            total = list(range(1, 2 * per_client + 1))
            assert results[4] == total and results[5] == total
            assert sorted(results[2] + a_acks) == total and sorted(results[3] + b_acks) == total
            # An idempotent resend to the other instance.
            await send(b, room, "again", "a-7")
            await send(a, room, "again", "a-7")
            ack_b = await recv_until(b, lambda f: f["type"] == "ack")
            ack_a = await recv_until(a, lambda f: f["type"] == "ack")
            assert ack_a[-1]["seq"] != ack_b[-1]["seq"] or ack_a[-1]["id"] == ack_b[-1]["id"]
            for ws in (a, b, wa, wb):
                await ws.close()

        run(scenario())
        status, _, page = call(second, "GET", f"/api/v1/chat/rooms/{room}/messages?after=0&limit=1000", None, bob_token)
        assert [m["seq"] for m in page["messages"]] == list(range(1, 2 * per_client + 2))
    finally:
        second.stop()
        first.cleanup()


def test_resend_after_reconnecting_to_another_instance_is_not_stored_twice():
    first, second = two_instances()
    try:
        _, token = new_user(first)
        room = make_room(first, token, "resend")["id"]

        async def scenario():
            a = await connect(first, token)
            await join(a, room)
            await send(a, room, "once", "only-once")
            ack = await recv_until(a, lambda f: f["type"] == "ack")
            await a.close()
            b = await connect(second, token)
            await join(b, room)
            await send(b, room, "once", "only-once")
            again = await recv_until(b, lambda f: f["type"] == "ack")
            assert (again[-1]["id"], again[-1]["seq"]) == (ack[-1]["id"], ack[-1]["seq"])
            await b.close()

        run(scenario())
        status, _, page = call(second, "GET", f"/api/v1/chat/rooms/{room}/messages", None, token)
        assert len(page["messages"]) == 1
    finally:
        second.stop()
        first.cleanup()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_a_client_that_stops_reading_is_disconnected_and_memory_stays_bounded():
    env = server_env(NEXU_WS_MAX_QUEUED_FRAMES="64", NEXU_WS_SENDS_PER_SECOND="100000",
                     NEXU_WS_SEND_BURST="100000")
    env["ASAN_OPTIONS"] = measuring_asan_options()  # a flood of short-lived frames
    with NexuServer(env=env) as server:
        _, token = new_user(server)
        _, reader_token = new_user(server)
        room = make_room(server, token, "flood")["id"]

        async def scenario():
            # The slow reader: a raw socket with a tiny receive buffer that never reads.
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", server.port))
            sock.sendall(("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                          "Authorization: Bearer " + reader_token + "\r\n\r\n").encode())
            sock.settimeout(5)
            assert sock.recv(4096).startswith(b"HTTP/1.1 101")
            join_frame = json.dumps({"type": "join", "room": room}).encode()
            mask = b"\x00\x00\x00\x00"
            sock.sendall(bytes([0x81, 0x80 | len(join_frame)]) + mask + join_frame)
            flooder = await connect(server, token)
            await join(flooder, room)
            before = rss_kib(server.process.pid)
            text = "x" * 4000
            # Typing events are not stored, so the flood is fast; 4000-character messages too.
            for i in range(400):
                await send(flooder, room, text, f"f{i}")
                for _ in range(50):
                    await flooder.send(json.dumps({"type": "typing", "room": room}))
                if i % 20 == 0 and "slow reader" in server.log_text():
                    break
            assert eventually(10, lambda: "slow reader" in server.log_text())
            assert rss_kib(server.process.pid) - before < 64 * 1024 * MEMORY_FACTOR
            await flooder.send(json.dumps({"type": "ping"}))
            await recv_until(flooder, lambda f: f["type"] == "pong", timeout=30, limit=100000)
            await flooder.close()
            sock.close()

        run(scenario())


def test_redis_carries_notifications_and_tailing_takes_over_when_it_stops():
    redis = RedisServer()
    # A slow poll, so that only a Redis notification explains fast delivery.
    extra = {"NEXU_REDIS_URL": f"redis://127.0.0.1:{redis.port}", "NEXU_SYNC_INTERVAL_MS": "3000"}
    first, second = two_instances(extra)
    try:
        _, alice_token = new_user(first)
        _, bob_token = new_user(second)
        room = make_room(first, alice_token, "redis")["id"]

        async def scenario():
            a = await connect(first, alice_token)
            b = await connect(second, bob_token)
            await join(a, room)
            await join(b, room)
            latencies = []
            for i in range(20):
                started = time.monotonic()
                await send(a, room, f"fast{i}")
                frame = (await recv_until(b, lambda f: f["type"] == "message"))[-1]
                latencies.append(time.monotonic() - started)
                assert frame["seq"] == i + 1
            assert sorted(latencies)[len(latencies) // 2] < 1.0, latencies  # poll is 3 s
            redis.stop()
            # Redis gone: delivery continues through tailing, in order, no gap.
            for i in range(20, 30):
                await send(a, room, f"slow{i}")
            seqs = []
            while len(seqs) < 10:
                frame = await recv(b, 20)
                if frame["type"] == "message":
                    seqs.append(frame["seq"])
            assert seqs == list(range(21, 31))
            await a.close()
            await b.close()

        run(scenario())
    finally:
        redis.stop()
        second.stop()
        first.cleanup()


def test_presence_is_per_user_across_instances_with_redis():
    redis = RedisServer()
    # A slow poll: presence must travel through Redis, not through the logs.
    extra = {"NEXU_REDIS_URL": f"redis://127.0.0.1:{redis.port}", "NEXU_SYNC_INTERVAL_MS": "3000"}
    first, second = two_instances(extra)
    try:
        alice, alice_token = new_user(first)
        bob, bob_token = new_user(second)
        room = make_room(first, alice_token, "presence")["id"]

        def is_presence(status, user):
            return lambda f: (f["type"] == "presence" and f["status"] == status
                              and f["user"]["id"] == user["id"])

        async def no_presence(ws, seconds):
            """Frames received within `seconds`: none may be a presence event."""
            try:
                while True:
                    frame = await recv(ws, seconds)
                    assert frame["type"] != "presence", frame
            except asyncio.TimeoutError:
                pass

        async def scenario():
            a = await connect(first, alice_token)
            joined = await join(a, room)
            assert [u["id"] for u in joined["online"]] == [alice["id"]]
            # bob on the other instance sees alice online, and alice sees bob come online.
            b = await connect(second, bob_token)
            joined = await join(b, room)
            assert {u["id"]: u["username"] for u in joined["online"]} == {
                alice["id"]: alice["username"], bob["id"]: bob["username"]}
            online = (await recv_until(a, lambda f: f["type"] == "presence"))[-1]
            assert online == {"type": "presence", "room": room, "status": "online",
                              "user": {"id": bob["id"], "username": bob["username"]}}
            # bob's second connection (instance A this time) is not news; nor is
            # its close while his first is still there.
            b2 = await connect(first, bob_token)
            joined = await join(b2, room)
            assert {u["id"] for u in joined["online"]} == {alice["id"], bob["id"]}
            await b2.close()
            await no_presence(a, 1.5)
            # bob's last connection goes: alice (on the other instance) hears it.
            await b.close()
            offline = (await recv_until(a, lambda f: f["type"] == "presence"))[-1]
            assert offline == {"type": "presence", "room": room, "status": "offline",
                               "user": {"id": bob["id"], "username": bob["username"]}}

            # alice on both instances closes one: no offline for bob to see.
            b = await connect(second, bob_token)
            await join(b, room)
            a2 = await connect(second, alice_token)
            joined = await join(a2, room)
            assert {u["id"] for u in joined["online"]} == {alice["id"], bob["id"]}
            await a.close()
            await no_presence(b, 1.5)
            # and a join on A meanwhile lists both, from Redis.
            c = await connect(first, bob_token)
            joined = await join(c, room)
            assert {u["id"] for u in joined["online"]} == {alice["id"], bob["id"]}
            await a2.close()
            frames = await recv_until(b, is_presence("offline", alice))
            assert not [f for f in frames if f["type"] == "presence" and f["status"] == "online"]
            await c.close()
            await b.close()

        run(scenario())
        assert any(key.startswith("presence:alive:") for key in redis.keys())
    finally:
        redis.stop()
        second.stop()
        first.cleanup()


def test_shutdown_closes_websockets_with_1001():
    server = NexuServer(env=server_env())
    server.start()
    try:
        _, token = new_user(server)

        async def scenario():
            ws = await connect(server, token)
            await ws.send(json.dumps({"type": "ping"}))
            assert (await recv(ws))["type"] == "pong"
            server.signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(10):
                    await recv(ws)
            assert closed.value.code == 1001

        run(scenario())
        assert server.wait(timeout=20) == 0
    finally:
        server.cleanup()


def test_idle_authenticated_connections_cost_little_memory():
    import resource
    # Issue 8 asks for 10,000: 34 s in the Debug build on this machine. The
    # sanitized build (make test) keeps 2,000 until it is measured there
    # (BENCHMARKS.md, chat); TEST_CHAT_IDLE_CONNECTIONS overrides both.
    default = "2000" if os.environ.get("TEST_SANITIZED") == "ON" else "10000"
    count = int(os.environ.get("TEST_CHAT_IDLE_CONNECTIONS", default))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < count + 200:
        pytest.skip("the open-file limit is below %d" % (count + 200))
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the server inherits it
    try:
        with NexuServer(env=server_env(NEXU_MAX_CONNECTIONS=str(count + 100))) as server:
            _, token = new_user(server)

            async def scenario():
                before = rss_kib(server.process.pid)
                connections = []
                for _ in range(count):
                    connections.append(await websockets.connect(
                        ws_url(server), extra_headers={"Authorization": "Bearer " + token},
                        compression=None, ping_interval=None, open_timeout=WAIT))
                await connections[-1].send(json.dumps({"type": "ping"}))
                assert (await recv(connections[-1]))["type"] == "pong"
                per_connection = (rss_kib(server.process.pid) - before) / count
                print(f"{count} idle connections: {per_connection:.1f} KiB each")
                assert per_connection < 20 * MEMORY_FACTOR
                for ws in connections:
                    await ws.close()

            run(scenario())
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def contiguous(known):
    n = 0
    while n + 1 in known:
        n += 1
    return n


class BindfsMounts:
    """Two bindfs mounts of one directory with short caches: two NFS clients, as far as
    names, attributes and O_EXCL go (ENVIRONMENT.md §5). Unmounted at the end."""

    def __init__(self):
        import tempfile
        self.root = tempfile.mkdtemp(prefix="nexu-bindfs-")
        self.shared = os.path.join(self.root, "shared")
        self.mounts = []
        os.makedirs(self.shared)
        options = "-oattr_timeout=0.1,entry_timeout=0.1,negative_timeout=0.1"
        for name in ("mA", "mB"):
            point = os.path.join(self.root, name)
            os.makedirs(point)
            result = subprocess.run(["bindfs", options, self.shared, point], capture_output=True, timeout=20)
            if result.returncode != 0:
                self.close()
                pytest.skip("bindfs cannot mount here: " + result.stderr.decode(errors="replace"))
            self.mounts.append(point)

    def close(self):
        for point in self.mounts:
            subprocess.run(["fusermount", "-u", point], capture_output=True, timeout=20)
        self.mounts = []
        import shutil
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.mark.parametrize("layout", ["same-dir", "bindfs"])
def test_twenty_clients_on_two_instances_survive_one_instance_killed(layout):
    mounts = None
    if layout == "bindfs":
        if subprocess.run(["which", "bindfs"], capture_output=True).returncode != 0:
            pytest.skip("bindfs is not installed")
        mounts = BindfsMounts()
        first, second = two_instances(data_dirs=[os.path.join(m, "db") for m in mounts.mounts])
    else:
        first, second = two_instances()
    try:
        tokens = [new_user(first)[1] for _ in range(4)]
        # Another instance sees new accounts within its sync interval.
        for token in tokens:
            assert eventually(10, lambda: call(second, "GET", "/api/v1/auth/me", None, token)[0] == 200)
        room = make_room(first, tokens[0], "failover")["id"]
        senders, per_sender = (0, 1, 10, 11), 40
        total = len(senders) * per_sender
        acked = set()

        async def client(index):
            token = tokens[index % len(tokens)]
            server = first if index < 10 else second
            known, stored_texts = set(), {}
            unacked = [(f"k{index}-{i}", f"t{index}-{i}") for i in range(per_sender)] if index in senders else []
            deadline = time.monotonic() + 90
            retries = 0
            for attempt in range(4):
                try:
                    ws = await connect(server, token)
                    await join(ws, room, since=contiguous(known))
                    last_in_session = 0
                    for client_id, text in list(unacked):
                        await send(ws, room, text, client_id)
                    while len(known) < total or unacked:
                        frame = await recv(ws, max(0.1, deadline - time.monotonic()))
                        if frame["type"] == "message":
                            assert frame["seq"] > last_in_session, (index, frame["seq"], last_in_session)
                            last_in_session = frame["seq"]
                            known.add(frame["seq"])
                            stored_texts[frame["seq"]] = frame["text"]
                        elif frame["type"] == "ack":
                            known.add(frame["seq"])
                            acked.add(frame["client_id"])
                            unacked = [u for u in unacked if u[0] != frame["client_id"]]
                            if index in senders and len(acked) >= total // 2 and first.process.poll() is None:
                                first.process.send_signal(signal.SIGKILL)
                        elif frame["type"] == "error" and frame["code"] == "unavailable" and retries < 20:
                            # Not stored (e.g. the store lost too many races on the shared
                            # directory): the client sends it again with the same client_id.
                            retries += 1
                            await asyncio.sleep(0.05)
                            for client_id, text in unacked:
                                if client_id == frame.get("ref"):
                                    await send(ws, room, text, client_id)
                        elif frame["type"] == "error":
                            assert frame["code"] == "history_truncated", frame
                    await ws.close()
                    return known
                except (ConnectionClosed, OSError, asyncio.TimeoutError, InvalidStatusCode):
                    server = second  # the survivor; resend what was not acked, recover with since
            raise AssertionError(f"client {index} did not recover")

        async def everyone():
            return await asyncio.gather(*[client(i) for i in range(20)])

        results = run(everyone())
        assert first.process.wait(timeout=10) == -signal.SIGKILL
        for known in results:
            assert known == set(range(1, total + 1))
        status, _, page = call(second, "GET", f"/api/v1/chat/rooms/{room}/messages?after=0&limit=1000", None, tokens[0])
        texts = [m["text"] for m in page["messages"]]
        assert [m["seq"] for m in page["messages"]] == list(range(1, total + 1))
        assert len(texts) == len(set(texts)) == total  # every message once, none lost, none doubled
    finally:
        second.stop()
        first.cleanup()
        if mounts:
            mounts.close()
