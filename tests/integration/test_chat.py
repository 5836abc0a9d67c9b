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

from accounts import admin_token, call, new_user, server_env
from nexu_server import NexuServer, eventually, free_port

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
