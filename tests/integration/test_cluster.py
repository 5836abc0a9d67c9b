"""The three-instance cluster (deploy/cluster.sh: nginx in front of three nexu
processes on one data directory, Redis for chat fan-out) driven as a client
would: a session spread over the instances through nginx, read-your-writes,
If-Match across instances, chat across instances, then one instance killed
with SIGKILL: nginx routes around it and nothing acknowledged is lost.
Every process is started by cluster.sh and stopped by the pid it recorded.
Bounded: every request has a timeout, every loop a count."""
import asyncio
import json
import os
import signal
import subprocess
import threading
import time
import uuid

import pytest
import requests
import websockets

from accounts import ADMIN_PASSWORD, ADMIN_USERNAME, USER_PASSWORD, server_env
from nexu_server import eventually, free_port_block, nexu_binary

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SCRIPT = os.path.join(ROOT, "deploy", "cluster.sh")
INSTANCES = 3
WAIT = 15
FAST_HASH = {"NEXU_PASSWORD_OPSLIMIT": "1", "NEXU_PASSWORD_MEMLIMIT_BYTES": "1MiB"}
RETRYABLE = (502, 503, 504)


class Cluster:
    def __init__(self, root, port):
        self.root = root
        self.port = port
        self.nginx = f"http://127.0.0.1:{port}"
        self.instances = [f"http://127.0.0.1:{port + i}" for i in range(1, INSTANCES + 1)]
        self.session = requests.Session()

    def pid(self, name):
        with open(os.path.join(self.root, "pids", name + ".pid")) as f:
            return int(f.read())

    def call(self, method, path, body=None, token=None, base=None, headers=None, retries=0,
             raw=None):
        """One request (bounded retries on 502/503/504 and refused connections, as a
        client behind a load balancer would); returns (status, headers, body)."""
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = "Bearer " + token
        for attempt in range(retries + 1):
            try:
                response = self.session.request(method, (base or self.nginx) + path, json=body,
                                                data=raw, headers=all_headers, timeout=WAIT)
            except requests.ConnectionError:
                if attempt == retries:
                    raise
                time.sleep(0.2)
                continue
            if response.status_code in RETRYABLE and attempt < retries:
                time.sleep(0.2)
                continue
            try:
                payload = response.json()
            except ValueError:
                payload = response.text
            return response.status_code, response.headers, payload
        raise AssertionError("unreachable")

    def login(self, username, password, base=None):
        status, _, body = self.call("POST", "/api/v1/auth/login",
                                    {"username": username, "password": password}, base=base)
        assert status == 200, (status, body)
        return body["access_token"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("cluster"))
    port = free_port_block(10)  # nginx, three instances, redis at +9
    env = dict(os.environ)
    env = {k: v for k, v in env.items() if not k.startswith("NEXU_")}
    env.update(server_env(**FAST_HASH))
    args = ["--dir", root, "--port", str(port), "--instances", str(INSTANCES),
            "--bin", os.path.dirname(nexu_binary())]
    started = subprocess.run([SCRIPT, "start", *args], env=env, capture_output=True, text=True,
                             timeout=180)
    running = Cluster(root, port)
    pids = []
    if os.path.isdir(os.path.join(root, "pids")):
        pids = [running.pid(name[:-4]) for name in os.listdir(os.path.join(root, "pids"))]
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert len(pids) == INSTANCES + 2
        yield running
    finally:
        stopped = subprocess.run([SCRIPT, "stop", "--dir", root], capture_output=True, text=True,
                                 timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        for pid in pids:
            assert eventually(10, lambda: not os.path.exists(f"/proc/{pid}") or
                              open(f"/proc/{pid}/stat").read().split()[2] == "Z")


@pytest.fixture(scope="module")
def accounts(cluster):
    admin = cluster.login(ADMIN_USERNAME, ADMIN_PASSWORD)
    username = "clusteruser%d" % os.getpid()
    # Register through nginx, log in on each instance directly: sessions are shared.
    status, _, user = cluster.call("POST", "/api/v1/auth/register",
                                   {"username": username, "password": USER_PASSWORD})
    assert status == 201, user
    tokens = [cluster.login(username, USER_PASSWORD, base) for base in cluster.instances]
    for token in tokens:
        for base in cluster.instances:
            status, _, me = cluster.call("GET", "/api/v1/auth/me", token=token, base=base)
            assert status == 200 and me["id"] == user["id"], (status, me)
    collection = "cluster%d" % (os.getpid() % 10000)
    status, _, body = cluster.call("PUT", "/api/v1/collections/" + collection,
                                   {"rules": {"read": "authenticated", "write": "authenticated"}},
                                   token=admin)
    assert status == 201, body
    return {"admin": admin, "user": user, "token": tokens[0], "tokens": tokens,
            "collection": collection}


def docs(accounts, doc_id=""):
    path = "/api/v1/collections/%s/documents" % accounts["collection"]
    return path + ("/" + doc_id if doc_id else "")


def test_nginx_spreads_requests_over_the_three_instances(cluster):
    seen = set()
    for _ in range(30):
        status, _, body = cluster.call("GET", "/health")
        assert status == 200
        seen.add(body["instance"])
    assert seen == {"nexu-1", "nexu-2", "nexu-3"}
    # Each instance writes its own log file.
    logs = os.listdir(os.path.join(cluster.root, "logs"))
    assert {"app-nexu-1.log", "app-nexu-2.log", "app-nexu-3.log"} <= set(logs)


def test_read_your_writes_on_the_same_instance(cluster, accounts):
    token = accounts["token"]
    for i in range(15):
        base = cluster.instances[i % INSTANCES]
        status, headers, created = cluster.call("POST", docs(accounts), {"n": i}, token, base=base)
        assert status == 201, created
        status, headers, read = cluster.call("GET", docs(accounts, created["_id"]), token=token,
                                             base=base)
        assert status == 200 and read == created, read
        assert headers["ETag"] == '"%d"' % created["_rev"]
        status, _, changed = cluster.call("PATCH", docs(accounts, created["_id"]), {"m": i}, token,
                                          base=base,
                                          headers={"Content-Type": "application/merge-patch+json"})
        assert status == 200 and changed["_rev"] == created["_rev"] + 1, changed
        assert cluster.call("GET", docs(accounts, created["_id"]), token=token, base=base)[2] == changed


def test_reads_through_nginx_converge_on_every_instance(cluster, accounts):
    """nginx round-robins, so a read usually lands on another instance than the
    write. A miss catches up with the other instances before answering, so a
    document created anywhere is never 404; a changed one may be read at its
    previous revision until the reader's next catch-up (NEXU_SYNC_INTERVAL_MS,
    docs/storage.md "What readers on other instances see"). Checked here: every
    read is the acknowledged state or older, never anything else, and every
    instance converges."""
    token = accounts["token"]
    stale_first_reads = 0
    for i in range(15):
        status, _, created = cluster.call("POST", docs(accounts), {"n": i}, token)
        assert status == 201, created
        status, _, read = cluster.call("GET", docs(accounts, created["_id"]), token=token)
        assert status == 200 and read == created, (status, read)
    # Changes: written on one instance, read on each of the others.
    status, _, doc = cluster.call("POST", docs(accounts), {"v": 0}, token)
    assert status == 201
    for base in cluster.instances:  # every instance ends up caching revision 1
        assert eventually(5, lambda: cluster.call("GET", docs(accounts, doc["_id"]), token=token,
                                                  base=base)[2] == doc)
    for i in range(1, 10):
        writer = cluster.instances[i % INSTANCES]
        status, _, doc = cluster.call("PUT", docs(accounts, doc["_id"]), {"v": i}, token, base=writer,
                                      headers={"If-Match": '"%d"' % doc["_rev"]})
        assert status == 200 and doc["_rev"] == i + 1, doc
        for base in cluster.instances:
            status, _, read = cluster.call("GET", docs(accounts, doc["_id"]), token=token, base=base)
            assert status == 200 and read["_rev"] <= doc["_rev"], (base, read)
            assert read["_rev"] == doc["_rev"] or read["v"] == i - 1, (base, read)
            stale_first_reads += read["_rev"] != doc["_rev"]
            assert eventually(5, lambda: cluster.call("GET", docs(accounts, doc["_id"]), token=token,
                                                      base=base)[2] == doc), base
    print("stale first reads of a changed document on another instance: %d of 27" % stale_first_reads)


def test_a_precondition_is_checked_against_the_latest_state_on_every_instance(cluster, accounts):
    """Each change goes to the next instance at once, with the revision the
    previous instance just acknowledged: the writer must not refuse it (412)
    from a view older than that acknowledgement."""
    token = accounts["token"]
    status, _, doc = cluster.call("POST", docs(accounts), {"v": 0}, token)
    assert status == 201
    for i in range(1, 16):
        writer = cluster.instances[i % INSTANCES]
        status, _, changed = cluster.call("PUT", docs(accounts, doc["_id"]), {"v": i}, token,
                                          base=writer, headers={"If-Match": '"%d"' % doc["_rev"]})
        assert status == 200 and changed["_rev"] == doc["_rev"] + 1, (i, status, changed)
        doc = changed
        status, _, patched = cluster.call(
            "PATCH", docs(accounts, doc["_id"]), None, token,
            base=cluster.instances[(i + 1) % INSTANCES],
            headers={"If-Match": '"%d"' % doc["_rev"],
                     "Content-Type": "application/merge-patch+json"},
            raw=b'{"patched": true}')
        assert status == 200 and patched["_rev"] == doc["_rev"] + 1, (i, status, patched)
        doc = patched
    status, _, _ = cluster.call("DELETE", docs(accounts, doc["_id"]), token=token,
                                base=cluster.instances[0], headers={"If-Match": '"%d"' % doc["_rev"]})
    assert status == 204


def test_if_match_across_instances_lets_exactly_one_writer_win(cluster, accounts):
    token_a, token_b = accounts["tokens"][0], accounts["tokens"][1]
    a_base, b_base = cluster.instances[0], cluster.instances[1]

    def read_until(base, token, rev):
        """What a client does before a conditional write: read the document on its
        instance (which sees other instances' commits within NEXU_SYNC_INTERVAL_MS)."""
        return eventually(5, lambda: cluster.call("GET", docs(accounts, doc["_id"]), token=token,
                                                  base=base)[2].get("_rev") == rev)

    # Sequential: the second writer's revision is stale.
    status, _, doc = cluster.call("POST", docs(accounts), {"x": 0}, token_a)
    assert status == 201
    assert read_until(a_base, token_a, doc["_rev"]) and read_until(b_base, token_b, doc["_rev"])
    match = {"If-Match": '"%d"' % doc["_rev"]}
    first = cluster.call("PUT", docs(accounts, doc["_id"]), {"x": "a"}, token_a, a_base, match)
    second = cluster.call("PUT", docs(accounts, doc["_id"]), {"x": "b"}, token_b, b_base, match)
    assert (first[0], second[0]) == (200, 412), (first, second)
    # Concurrent: two clients on two instances with the same revision, ten rounds.
    for round_number in range(10):
        status, _, doc = cluster.call("GET", docs(accounts, doc["_id"]), token=token_a, base=a_base)
        assert status == 200
        assert read_until(b_base, token_b, doc["_rev"])
        match = {"If-Match": '"%d"' % doc["_rev"]}
        results = {}
        barrier = threading.Barrier(2)

        def put(name, token, base):
            session = requests.Session()
            barrier.wait(WAIT)
            response = session.put(base + docs(accounts, doc["_id"]), json={"x": name},
                                   headers={**match, "Authorization": "Bearer " + token},
                                   timeout=WAIT)
            results[name] = (response.status_code, response.json())

        threads = [threading.Thread(target=put, args=("a", token_a, a_base)),
                   threading.Thread(target=put, args=("b", token_b, b_base))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT * 2)
        statuses = sorted(status for status, _ in results.values())
        assert statuses == [200, 412], (round_number, results)
        winner = next(name for name, (status, _) in results.items() if status == 200)
        for base in cluster.instances:
            assert read_until(base, token_a, doc["_rev"] + 1), base
            status, _, read = cluster.call("GET", docs(accounts, doc["_id"]), token=token_a, base=base)
            assert read["x"] == winner and read["_rev"] == doc["_rev"] + 1, (base, read)


def test_chat_across_instances_arrives_in_order(cluster, accounts):
    admin = accounts["admin"]
    status, _, room = cluster.call("POST", "/api/v1/chat/rooms",
                                   {"name": "cluster", "private": False}, admin)
    assert status == 201, room
    user_token = accounts["token"]
    count = 10

    async def connect(base, token):
        url = base.replace("http://", "ws://") + "/ws"
        return await websockets.connect(url, extra_headers={"Authorization": "Bearer " + token},
                                        open_timeout=WAIT, compression=None)

    async def recv_type(ws, kind):
        for _ in range(200):
            frame = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
            assert frame["type"] != "error", frame
            if frame["type"] == kind:
                return frame
        raise AssertionError("no %s frame" % kind)

    async def scenario():
        a = await connect(cluster.instances[0], admin)        # instance 1 directly
        b = await connect(cluster.instances[1], user_token)   # instance 2 directly
        c = await connect(cluster.nginx, user_token)          # through nginx (upgrade proxied)
        for ws in (a, b, c):
            await ws.send(json.dumps({"type": "join", "room": room["id"]}))
            await recv_type(ws, "joined")
        sent = []
        for i in range(count):
            text = "from a %d" % i
            await a.send(json.dumps({"type": "send", "room": room["id"], "text": text,
                                     "client_id": uuid.uuid4().hex}))
            ack = await recv_type(a, "ack")
            sent.append((ack["seq"], text))
        for ws in (b, c):
            got = [await recv_type(ws, "message") for _ in range(count)]
            assert [(m["seq"], m["text"]) for m in got] == sent
        # And back the other way: b (instance 2) to a (instance 1).
        await b.send(json.dumps({"type": "send", "room": room["id"], "text": "from b",
                                 "client_id": uuid.uuid4().hex}))
        ack = await recv_type(b, "ack")
        message = await recv_type(a, "message")
        assert (message["seq"], message["text"]) == (ack["seq"], "from b")
        assert ack["seq"] == sent[-1][0] + 1
        for ws in (a, b, c):
            await ws.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_killing_one_instance_loses_nothing_acknowledged(cluster, accounts):
    token = accounts["token"]
    acknowledged = {}
    for i in range(20):
        status, _, doc = cluster.call("POST", docs(accounts), {"before": i}, token)
        assert status == 201
        acknowledged[doc["_id"]] = doc

    # Writes in flight while instance 2 dies.
    stop = threading.Event()
    errors = []

    def writer():
        for i in range(400):
            if stop.is_set():
                return
            try:
                status, _, doc = cluster.call("POST", docs(accounts), {"during": i}, token, retries=3)
            except requests.RequestException as error:  # not acknowledged: may or may not exist
                errors.append(repr(error))
                continue
            if status == 201:
                acknowledged[doc["_id"]] = doc
            else:
                errors.append(status)

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.5)
    os.kill(cluster.pid("nexu-2"), signal.SIGKILL)
    time.sleep(1.0)
    stop.set()
    thread.join(60)
    assert not thread.is_alive()

    # nginx routes around the dead instance: every request succeeds (bounded retries).
    survivors = set()
    for i in range(20):
        status, _, body = cluster.call("GET", "/health", retries=3)
        assert status == 200
        survivors.add(body["instance"])
    for i in range(30):
        status, _, doc = cluster.call("POST", docs(accounts), {"after": i}, token, retries=3)
        assert status == 201, doc
        acknowledged[doc["_id"]] = doc
    assert survivors == {"nexu-1", "nexu-3"}
    # At most the requests caught in the kill failed, never more than a handful.
    assert len(errors) <= 5, errors
    print("writes acknowledged: %d, failed after retries: %d" % (len(acknowledged), len(errors)))

    # Nothing acknowledged is lost: every acknowledged document, as acknowledged,
    # through nginx and on each surviving instance.
    assert len(acknowledged) >= 50
    for base in (cluster.nginx, cluster.instances[0], cluster.instances[2]):
        for doc_id, doc in acknowledged.items():
            status, _, read = cluster.call("GET", docs(accounts, doc_id), token=token, base=base,
                                           retries=3)
            assert status == 200 and read == doc, (base, doc_id, status, read)
