"""Black-box tests of the file routes (API.md "Files"): streamed uploads and
downloads on the real binary, ranges, the owner/admin/other/anonymous matrix,
path traversal, resident memory during a 64 MiB upload, the size limit and an
upload cut off mid-body."""
import hashlib
import http.client
import json
import os
import socket
import threading
import time

import pytest

from accounts import admin_token, call, new_user, server_env
from nexu_server import NexuServer, eventually, measuring_asan_options

MiB = 1024 * 1024
LIMIT = 64 * MiB  # NEXU_MAX_FILE_BYTES default


@pytest.fixture(scope="module")
def srv():
    server = NexuServer(env=server_env())
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(scope="module")
def tokens(srv):
    _, alice = new_user(srv)
    _, bob = new_user(srv)
    return {"admin": admin_token(srv), "alice": alice, "bob": bob}


def request(server, method, path, body=None, token=None, headers=None):
    """One request on a fresh connection with the raw path as given (no
    normalisation); returns (status, headers lower-cased, body bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = "Bearer " + token
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in all_headers.items():
            connection.putheader(name, value)
        if body is not None and not callable(body) and "Content-Length" not in all_headers:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders()
        if callable(body):
            for piece in body():
                connection.send(piece)
        elif body is not None:
            connection.send(body)
        response = connection.getresponse()
        payload = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload
    finally:
        connection.close()


def put(server, path, data, token, headers=None):
    status, response_headers, payload = request(server, "PUT", "/api/v1/files/" + path, data,
                                                token, headers)
    return status, response_headers, (json.loads(payload) if payload else None)


def get(server, path, token, headers=None, method="GET"):
    return request(server, method, "/api/v1/files/" + path, None, token, headers)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def vm_kib(pid, field):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field + " missing")


def tree(root, skip=()):
    """Every file under root (but not under the `skip` folders) with size and mtime."""
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in skip]
        for name in files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            found[path] = (info.st_size, info.st_mtime_ns)
    return found


def blob_temp_files(server):
    blobs = os.path.join(server.data_dir, "_blobs")
    return [name for _, _, files in os.walk(blobs) for name in files if name.startswith(".tmp-")]


# ---------------------------------------------------------------- round trips

def test_empty_file_round_trip(srv, tokens):
    status, headers, meta = put(srv, "empty/zero.bin", b"", tokens["alice"])
    assert status == 201, meta
    assert meta["size"] == 0 and meta["_rev"] == 1
    assert meta["sha256"] == sha256(b"")
    assert meta["content_type"] == "application/octet-stream"
    assert headers["etag"] == '"1"'
    assert headers["location"] == "/api/v1/files/empty/zero.bin"
    status, headers, body = get(srv, "empty/zero.bin", tokens["alice"])
    assert status == 200 and body == b""
    assert headers["content-length"] == "0"
    assert headers["content-type"] == "application/octet-stream"
    assert headers["etag"] == '"1"'


def test_20_mib_round_trip_with_sha256_and_head(srv, tokens):
    data = os.urandom(20 * MiB)
    status, headers, meta = put(srv, "big/twenty.bin", data, tokens["alice"],
                                {"Content-Type": "application/x-test"})
    assert status == 201, meta
    assert meta["size"] == len(data) and meta["sha256"] == sha256(data)
    status, headers, body = get(srv, "big/twenty.bin", tokens["alice"])
    assert status == 200
    assert len(body) == len(data) and sha256(body) == sha256(data)
    assert headers["content-type"] == "application/x-test"
    assert headers["accept-ranges"] == "bytes"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-request-id"]
    status, headers, body = get(srv, "big/twenty.bin", tokens["alice"], method="HEAD")
    assert status == 200 and body == b""
    assert headers["content-length"] == str(len(data)) and headers["etag"] == '"1"'
    # Nothing of the plaintext reaches the data directory.
    marker = data[1000:1032]
    for path in tree(srv.data_dir):
        with open(path, "rb") as stored:
            assert marker not in stored.read()


def test_chunked_upload_and_replacement_revisions(srv, tokens):
    pieces = [os.urandom(100_000) for _ in range(7)]

    def chunked():
        for piece in pieces:
            yield b"%x\r\n" % len(piece) + piece + b"\r\n"
        yield b"0\r\n\r\n"

    status, _, payload = request(srv, "PUT", "/api/v1/files/chunked/c.bin", chunked,
                                 tokens["alice"], {"Transfer-Encoding": "chunked"})
    assert status == 201, payload
    whole = b"".join(pieces)
    assert json.loads(payload)["sha256"] == sha256(whole)
    assert get(srv, "chunked/c.bin", tokens["alice"])[2] == whole

    status, headers, meta = put(srv, "chunked/c.bin", b"v2", tokens["alice"])
    assert (status, meta["_rev"], headers["etag"]) == (200, 2, '"2"')
    status, _, _ = get(srv, "chunked/c.bin", tokens["alice"], {"If-None-Match": '"2"'})
    assert status == 304
    assert get(srv, "chunked/c.bin", tokens["alice"], {"If-None-Match": '"1"'})[0] == 200
    assert put(srv, "chunked/c.bin", b"v3", tokens["alice"], {"If-Match": '"1"'})[0] == 412
    assert put(srv, "chunked/c.bin", b"v3", tokens["alice"], {"If-None-Match": "*"})[0] == 412
    status, _, meta = put(srv, "chunked/c.bin", b"v3", tokens["alice"], {"If-Match": '"2"'})
    assert (status, meta["_rev"]) == (200, 3)
    assert get(srv, "chunked/c.bin", tokens["alice"])[2] == b"v3"


def test_concurrent_first_uploads_get_distinct_revisions(srv, tokens):
    results = []

    def upload(data):
        results.append(put(srv, "race/r.bin", data, tokens["alice"]))

    threads = [threading.Thread(target=upload, args=(bytes([i]) * 300_000,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200, 200, 200, 201]
    assert sorted(meta["_rev"] for _, _, meta in results) == [1, 2, 3, 4]
    last = max(results, key=lambda r: r[2]["_rev"])[2]
    status, headers, body = get(srv, "race/r.bin", tokens["alice"])
    assert headers["etag"] == '"4"' and sha256(body) == last["sha256"]


# ---------------------------------------------------------------- ranges

def test_range_requests(srv, tokens):
    # 3 MiB + 5 crosses the store's 64 KiB chunks and 1 MiB segments.
    data = os.urandom(3 * MiB + 5)
    size = len(data)
    assert put(srv, "ranges/r.bin", data, tokens["alice"])[0] == 201

    def ranged(spec):
        return get(srv, "ranges/r.bin", tokens["alice"], {"Range": spec})

    cases = {
        "bytes=0-0": (0, 0),                       # first byte
        "bytes=%d-%d" % (size - 1, size - 1): (size - 1, size - 1),  # last byte
        "bytes=-1": (size - 1, size - 1),
        "bytes=-500": (size - 500, size - 1),      # suffix
        "bytes=%d-" % (MiB - 3): (MiB - 3, size - 1),
        "bytes=65535-65537": (65535, 65537),        # across a chunk boundary
        "bytes=1048575-1048576": (MiB - 1, MiB),    # across a segment boundary
        "bytes=100-%d" % (size * 2): (100, size - 1),  # end clamped
        "bytes=0-%d" % (size - 1): (0, size - 1),  # the whole file as a range
    }
    for spec, (first, last) in cases.items():
        status, headers, body = ranged(spec)
        assert status == 206, spec
        assert headers["content-range"] == "bytes %d-%d/%d" % (first, last, size), spec
        assert headers["content-length"] == str(last - first + 1), spec
        assert body == data[first:last + 1], spec
        assert headers["etag"] == '"1"'

    for spec in ("bytes=%d-" % size, "bytes=%d-%d" % (size + 10, size + 20), "bytes=-0"):
        status, headers, body = ranged(spec)
        assert status == 416, spec
        assert headers["content-range"] == "bytes */%d" % size
        assert json.loads(body)["status"] == 416

    # Several ranges, another unit or bad syntax: the whole file (documented in openapi).
    for spec in ("bytes=0-1,5-6", "items=0-5", "bytes=9-3", "bytes=x-"):
        status, headers, body = ranged(spec)
        assert status == 200 and body == data, spec
    # If-Range with a stale ETag gets everything.
    status, _, body = get(srv, "ranges/r.bin", tokens["alice"],
                          {"Range": "bytes=0-9", "If-Range": '"7"'})
    assert status == 200 and body == data
    # Any range of an empty file is unsatisfiable.
    assert put(srv, "ranges/empty", b"", tokens["alice"])[0] == 201
    status, headers, _ = get(srv, "ranges/empty", tokens["alice"], {"Range": "bytes=0-"})
    assert status == 416 and headers["content-range"] == "bytes */0"


# ---------------------------------------------------------------- access

def test_owner_admin_other_anonymous_matrix(srv, tokens):
    alice, bob, admin = tokens["alice"], tokens["bob"], tokens["admin"]
    assert put(srv, "acl/alice.txt", b"alice v1", alice)[0] == 201

    # Anonymous: 401 everywhere.
    for method in ("GET", "HEAD", "DELETE"):
        status, headers, _ = get(srv, "acl/alice.txt", None, method=method)
        assert status == 401, method
    assert put(srv, "acl/alice.txt", b"x", None)[0] == 401
    assert request(srv, "GET", "/api/v1/files?prefix=acl/")[0] == 401

    # Another user: cannot see it (404), cannot replace it (403), cannot delete it (404).
    assert get(srv, "acl/alice.txt", bob)[0] == 404
    assert get(srv, "acl/alice.txt", bob, method="HEAD")[0] == 404
    assert put(srv, "acl/alice.txt", b"bob was here", bob)[0] == 403
    assert get(srv, "acl/alice.txt", bob, method="DELETE")[0] == 404
    status, _, body = request(srv, "GET", "/api/v1/files?prefix=acl/", token=bob)
    assert status == 200 and json.loads(body)["items"] == []
    assert get(srv, "acl/alice.txt", alice)[2] == b"alice v1"

    # The owner and an admin: everything; an admin's replacement keeps the owner.
    assert put(srv, "acl/bob.txt", b"bob's", bob)[0] == 201
    status, _, body = request(srv, "GET", "/api/v1/files?prefix=acl/", token=alice)
    assert [item["path"] for item in json.loads(body)["items"]] == ["acl/alice.txt"]
    status, _, body = request(srv, "GET", "/api/v1/files?prefix=acl/", token=admin)
    assert [item["path"] for item in json.loads(body)["items"]] == ["acl/alice.txt",
                                                                   "acl/bob.txt"]
    assert get(srv, "acl/bob.txt", admin)[2] == b"bob's"
    status, _, meta = put(srv, "acl/alice.txt", b"admin v2", admin)
    assert status == 200 and meta["_rev"] == 2
    owner = meta["owner"]
    status, _, meta = put(srv, "acl/alice.txt", b"alice v3", alice)
    assert status == 200 and meta["owner"] == owner and meta["_rev"] == 3
    assert get(srv, "acl/bob.txt", admin, method="DELETE")[0] == 204
    assert get(srv, "acl/bob.txt", bob)[0] == 404
    assert get(srv, "acl/alice.txt", alice, method="DELETE")[0] == 204
    assert get(srv, "acl/alice.txt", alice)[0] == 404
    assert get(srv, "acl/alice.txt", alice, method="DELETE")[0] == 404
    # The path is free again: a new upload by bob makes him the owner.
    status, _, meta = put(srv, "acl/alice.txt", b"bob now", bob)
    assert status == 201


def test_user_without_file_permissions_is_forbidden(srv, tokens):
    user, token = new_user(srv)
    status, _, body = call(srv, "PATCH", "/api/v1/users/" + user["id"], {"roles": []},
                           tokens["admin"])
    assert status == 200, body

    def refused():
        return put(srv, "noperm/x", b"x", token)[0] == 403
    assert eventually(3, refused)  # role changes apply within 1 s
    assert get(srv, "noperm/x", token)[0] == 403
    assert request(srv, "GET", "/api/v1/files", token=token)[0] == 403


# ---------------------------------------------------------------- paths

TRAVERSALS = [
    "..", "../x", "../../sentinel.txt", "a/../../sentinel.txt", "a/./b", ".", "a/..",
    "%2e%2e/sentinel.txt", "%2E%2E/%2e%2e/sentinel.txt", "a%2f..%2f..%2fsentinel.txt",
    "a%2fb", "..%2fsentinel.txt", "%2fetc%2fpasswd", "/etc/passwd", "//etc/passwd",
    "a//b", "a/", "a%00b", "a%5c..%5csentinel.txt", "a\\b", "a%20b", "caf%C3%A9",
    "a%zz", "a%4", "x" * 1025, "d/" * 512 + "x",
]


def test_traversal_attempts_are_400_and_touch_nothing(srv, tokens):
    root = srv.root
    sentinel = os.path.join(root, "sentinel.txt")
    with open(sentinel, "wb") as f:
        f.write(b"untouched")
    outside = os.path.dirname(root)
    state_dir = os.path.join(root, "state")  # the store rewrites its high-water marks there
    own = {srv.data_dir, srv.logs_dir, state_dir}
    before_root = tree(root, skip=own)
    before_state = set(tree(state_dir))
    before_parent = set(os.listdir(outside))
    for raw in TRAVERSALS:
        target = "/api/v1/files/" + raw
        for method, body in (("PUT", b"owned"), ("GET", None), ("DELETE", None)):
            status, headers, payload = request(srv, method, target, body, tokens["admin"])
            assert status == 400, (method, raw, status, payload)
            assert headers["content-type"] == "application/problem+json"
    for prefix in ("../", "/etc", "a/../", "%2e%2e"):
        status, _, _ = request(srv, "GET", "/api/v1/files?prefix=" + prefix,
                               token=tokens["admin"])
        assert status == 400, prefix
    assert tree(root, skip=own) == before_root
    assert set(tree(state_dir)) == before_state
    # Other suites running in parallel make and remove their own nexu-* roots here.
    def foreign(names):
        return {name for name in names if not name.startswith("nexu-")}
    assert foreign(os.listdir(outside)) == foreign(before_parent)
    with open(sentinel, "rb") as f:
        assert f.read() == b"untouched"
    assert not os.path.exists("/etc/passwd.nxb")
    # Inside the data directory the file store only ever names blobs itself.
    for path in tree(os.path.join(srv.data_dir, "_blobs")):
        name = os.path.basename(path)
        assert name.endswith(".nxb") or "-" in name, path  # blob or retired marker
        assert "sentinel" not in path and "passwd" not in path


# ---------------------------------------------------------------- limits

def test_64_mib_upload_keeps_resident_memory_flat(make_server):
    server = make_server(env=server_env(ASAN_OPTIONS=measuring_asan_options()))
    server.start()
    _, token = new_user(server)
    pid = server.process.pid
    assert put(server, "warm/up", os.urandom(MiB), token)[0] == 201  # first-use allocations
    rss_before = vm_kib(pid, "VmRSS")
    peak = [rss_before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], vm_kib(pid, "VmRSS"))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    block = os.urandom(MiB)
    digest = hashlib.sha256()

    def body():
        for i in range(64):
            piece = block[i:] + block[:i]
            digest.update(piece)
            yield piece

    try:
        status, _, payload = request(server, "PUT", "/api/v1/files/mem/big.bin", body, token,
                                     {"Content-Length": str(LIMIT)})
    finally:
        done.set()
        sampler.join()
    assert status == 201, payload
    assert json.loads(payload)["sha256"] == digest.hexdigest()
    # Sampled, not VmHWM: registering the user hashed a password with Argon2
    # (19 MiB), which set the high-water mark before the upload began.
    grown_kib = peak[0] - rss_before
    print("64 MiB upload: VmRSS before %d KiB, peak growth %d KiB" % (rss_before, grown_kib))
    assert grown_kib < 16 * 1024
    # The download streams too.
    rss_before = vm_kib(pid, "VmRSS")
    status, headers, received = get(server, "mem/big.bin", token)
    assert status == 200 and hashlib.sha256(received).hexdigest() == digest.hexdigest()
    assert vm_kib(pid, "VmRSS") - rss_before < 16 * 1024


def test_over_the_limit_is_413(srv, tokens):
    token = tokens["alice"]
    # From Content-Length alone, before any of the body is sent.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"PUT /api/v1/files/limit/big HTTP/1.1\r\nHost: x\r\n"
                  b"Authorization: Bearer " + token.encode() + b"\r\n"
                  b"Content-Length: %d\r\n\r\n" % (LIMIT + 1))
        head = s.recv(65536)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]

    # A chunked body is cut off as soon as it passes the limit.
    block = os.urandom(MiB)

    def chunked():
        for _ in range(64):
            yield b"%x\r\n" % len(block) + block + b"\r\n"
        yield b"1\r\nx\r\n0\r\n\r\n"

    try:
        status, _, payload = request(srv, "PUT", "/api/v1/files/limit/big", chunked, token,
                                     {"Transfer-Encoding": "chunked"})
        assert status == 413, payload
    except (ConnectionError, BrokenPipeError):
        pass  # the server may close before the client finished sending
    assert get(srv, "limit/big", token)[0] == 404
    # Exactly at the limit is fine.
    status, _, meta = put(srv, "limit/exact", bytes(LIMIT), token)
    assert status == 201 and meta["size"] == LIMIT
    assert eventually(5, lambda: blob_temp_files(srv) == [])


def test_upload_killed_mid_body_leaves_the_old_version(srv, tokens):
    token = tokens["alice"]
    old = os.urandom(2 * MiB + 3)
    status, _, meta = put(srv, "killed/f.bin", old, token)
    assert status == 201
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"PUT /api/v1/files/killed/f.bin HTTP/1.1\r\nHost: x\r\n"
                  b"Authorization: Bearer " + token.encode() + b"\r\n"
                  b"Content-Length: %d\r\n\r\n" % (10 * MiB))
        s.sendall(os.urandom(5 * MiB + 17))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    status, headers, body = get(srv, "killed/f.bin", token)
    assert status == 200 and body == old and headers["etag"] == '"1"'
    assert eventually(5, lambda: blob_temp_files(srv) == [])
    assert srv.is_healthy()
