"""Black-box tests of the data API's collections and documents (API.md
"Collections and documents"): the real nexu binary over real sockets, accounts
made through the real accounts routes (accounts.py)."""
import json
import os
import tempfile
import threading
import time

import pytest

from accounts import admin_token, call, new_user, server_env
from nexu_server import NexuServer, raw_exchange, parse_response

DOCS = "/api/v1/collections/%s/documents"


@pytest.fixture(scope="module")
def data_server():
    with NexuServer(env=server_env()) as running:
        yield running


@pytest.fixture(scope="module")
def admin(data_server):
    return admin_token(data_server)


_names = iter(range(1, 1_000_000))


def make_collection(server, token, rules=None, indexes=None):
    name = "c%d-%d" % (os.getpid() % 10000, next(_names))
    body = {}
    if rules is not None:
        body["rules"] = rules
    if indexes is not None:
        body["indexes"] = indexes
    status, _, out = call(server, "PUT", "/api/v1/collections/" + name, body, token)
    assert status == 201, out
    return name


def create(server, token, name, body):
    status, headers, out = call(server, "POST", DOCS % name, body, token)
    assert status == 201, out
    return out, headers


def list_all(server, token, name, limit=1000):
    items, cursor = [], None
    while True:
        path = DOCS % name + "?limit=%d" % limit + ("&cursor=" + cursor if cursor else "")
        status, _, out = call(server, "GET", path, token=token)
        assert status == 200, out
        items += out["items"]
        cursor = out["next_cursor"]
        if cursor is None:
            return items


def assert_problem(status, headers, body, expected):
    assert status == expected, body
    assert headers["content-type"].startswith("application/problem+json")
    assert body["status"] == expected and body["type"] and body["title"]


# ---- collections ----

def test_collections_are_created_changed_listed_and_deleted_by_admins(data_server, admin):
    name = "coll-%d" % os.getpid()
    status, _, out = call(data_server, "PUT", "/api/v1/collections/" + name, {}, admin)
    assert status == 201
    assert out["rules"] == {"read": "owner", "write": "owner"}
    status, _, out = call(data_server, "PUT", "/api/v1/collections/" + name,
                          {"rules": {"read": "public", "write": "role:editor"},
                           "indexes": ["age"]}, admin)
    assert status == 200
    assert out["rules"] == {"read": "public", "write": "role:editor"} and out["indexes"] == ["age"]
    create(data_server, admin, name, {"x": 1})

    status, _, listed = call(data_server, "GET", "/api/v1/collections", token=admin)
    assert status == 200
    mine = [c for c in listed if c["name"] == name]
    assert mine == [{"name": name, "documents": 1, "indexes": ["age"],
                     "rules": {"read": "public", "write": "role:editor"}}]
    # Anonymous callers see public collections only.
    status, _, listed = call(data_server, "GET", "/api/v1/collections")
    assert status == 200 and name in [c["name"] for c in listed]

    _, user_token = new_user(data_server)
    for method, body in (("PUT", {}), ("DELETE", None)):
        status, headers, out = call(data_server, method, "/api/v1/collections/" + name, body,
                                    user_token)
        assert_problem(status, headers, out, 403)
        status, headers, out = call(data_server, method, "/api/v1/collections/" + name, body)
        assert_problem(status, headers, out, 401)

    status, _, _ = call(data_server, "DELETE", "/api/v1/collections/" + name, token=admin)
    assert status == 204
    status, headers, out = call(data_server, "DELETE", "/api/v1/collections/" + name, token=admin)
    assert_problem(status, headers, out, 404)
    status, headers, out = call(data_server, "GET", DOCS % name, token=admin)
    assert_problem(status, headers, out, 404)
    # Re-created, it starts empty.
    status, _, _ = call(data_server, "PUT", "/api/v1/collections/" + name, {}, admin)
    assert status == 201
    assert list_all(data_server, admin, name) == []


def test_collection_bodies_and_names_are_validated(data_server, admin):
    cases = [
        ("Bad-Name", {}, 400), ("_users", {}, 400), ("a" * 65, {}, 400),
        ("okname", {"rules": {"read": "everyone"}}, 422),
        ("okname", {"rules": "public"}, 422),
        ("okname", {"rules": {"delete": "public"}}, 422),
        ("okname", {"indexes": "age"}, 422),
        ("okname", {"indexes": ["_id"]}, 422),
        ("okname", {"colour": "blue"}, 422),
        ("okname", [], 422),
    ]
    for name, body, expected in cases:
        status, headers, out = call(data_server, "PUT", "/api/v1/collections/" + name, body, admin)
        assert_problem(status, headers, out, expected)
    status, headers, out = call(data_server, "PUT", "/api/v1/collections/okname", token=admin,
                                raw=b"{", headers={"Content-Type": "application/json"})
    assert_problem(status, headers, out, 400)
    status, headers, out = call(data_server, "PUT", "/api/v1/collections/okname", token=admin,
                                raw=b"{}", headers={"Content-Type": "text/plain"})
    assert_problem(status, headers, out, 415)
    status, _, listed = call(data_server, "GET", "/api/v1/collections", token=admin)
    assert "okname" not in [c["name"] for c in listed]


def test_list_counts_only_what_the_caller_can_read(data_server, admin):
    name = make_collection(data_server, admin)  # owner rules
    alice, alice_token = new_user(data_server)
    _, bob_token = new_user(data_server)
    for _ in range(3):
        create(data_server, alice_token, name, {"v": 1})
    create(data_server, bob_token, name, {"v": 2})
    counts = {}
    for who, token in (("alice", alice_token), ("bob", bob_token), ("admin", admin)):
        _, _, listed = call(data_server, "GET", "/api/v1/collections", token=token)
        counts[who] = [c["documents"] for c in listed if c["name"] == name]
    assert counts == {"alice": [3], "bob": [1], "admin": [4]}


# ---- documents ----

def test_document_lifecycle_with_etags_and_location(data_server, admin):
    name = make_collection(data_server, admin)
    _, token = new_user(data_server)
    doc, headers = create(data_server, token, name, {"title": "hello", "n": 1})
    assert headers["etag"] == '"1"'
    assert headers["location"] == "/api/v1/collections/%s/documents/%s" % (name, doc["_id"])
    assert doc["_rev"] == 1 and doc["title"] == "hello"
    assert doc["_created_at"].endswith("Z") and len(doc["_created_at"]) == 24
    assert len(doc["_id"]) == 36 and doc["_id"][14] == "7"
    path = headers["location"]

    status, headers, got = call(data_server, "GET", path, token=token)
    assert status == 200 and got == doc and headers["etag"] == '"1"'
    status, headers, body = call(data_server, "GET", path, token=token,
                                 headers={"If-None-Match": '"1"'})
    assert status == 304 and headers["etag"] == '"1"' and body is None
    status, _, _ = call(data_server, "GET", path, token=token, headers={"If-None-Match": '"7"'})
    assert status == 200

    status, headers, out = call(data_server, "PUT", path, {"title": "v2"}, token,
                                headers={"If-Match": '"9"'})
    assert_problem(status, headers, out, 412)
    status, headers, out = call(data_server, "PUT", path, {"title": "v2"}, token,
                                headers={"If-Match": '"1"'})
    assert status == 200 and headers["etag"] == '"2"'
    assert out["title"] == "v2" and "n" not in out and out["_owner"] == doc["_owner"]
    assert out["_created_at"] == doc["_created_at"]
    status, headers, out = call(data_server, "PUT", path, {"x": 1}, token,
                                headers={"If-None-Match": "*"})
    assert_problem(status, headers, out, 412)

    status, headers, out = call(data_server, "DELETE", path, token=token,
                                headers={"If-Match": '"1"'})
    assert_problem(status, headers, out, 412)
    status, _, _ = call(data_server, "DELETE", path, token=token, headers={"If-Match": '"2"'})
    assert status == 204
    for method in ("GET", "DELETE"):
        status, headers, out = call(data_server, method, path, token=token)
        assert_problem(status, headers, out, 404)


def test_put_creates_with_a_client_id(data_server, admin):
    name = make_collection(data_server, admin)
    _, token = new_user(data_server)
    path = DOCS % name + "/my-doc.1"
    status, headers, out = call(data_server, "PUT", path, {"a": 1}, token,
                                headers={"If-None-Match": "*"})
    assert status == 201 and headers["location"] == path and out["_id"] == "my-doc.1"
    status, _, out = call(data_server, "PUT", path, {"a": 2}, token)
    assert status == 200 and out["_rev"] == 2
    status, headers, out = call(data_server, "PUT", DOCS % name + "/other", {"a": 1}, token,
                                headers={"If-Match": '"1"'})
    assert_problem(status, headers, out, 412)


RFC7396_APPENDIX_A = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


def strip_server_fields(doc):
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def test_merge_patch_rfc7396_appendix_cases(data_server, admin):
    name = make_collection(data_server, admin)
    _, token = new_user(data_server)
    merge = {"Content-Type": "application/merge-patch+json"}
    for original, patch, result in RFC7396_APPENDIX_A:
        doc, _ = create(data_server, token, name, original)
        path = DOCS % name + "/" + doc["_id"]
        status, headers, out = call(data_server, "PATCH", path, token=token,
                                    raw=json.dumps(patch).encode(), headers=merge)
        assert status == 200, (original, patch, out)
        assert strip_server_fields(out) == result
        assert out["_rev"] == 2 and headers["etag"] == '"2"' and out["_owner"] == doc["_owner"]
    # Non-object patches replace the whole document: not an object any more.
    for patch in (["c"], "text", None, 1):
        doc, _ = create(data_server, token, name, {"a": "b"})
        status, headers, out = call(data_server, "PATCH", DOCS % name + "/" + doc["_id"],
                                    token=token, raw=json.dumps(patch).encode(), headers=merge)
        assert_problem(status, headers, out, 422)
    doc, _ = create(data_server, token, name, {"a": 1})
    path = DOCS % name + "/" + doc["_id"]
    status, headers, out = call(data_server, "PATCH", path, {"a": 2}, token)  # application/json
    assert_problem(status, headers, out, 415)
    status, headers, out = call(data_server, "PATCH", path, token=token, raw=b'{"_owner":"x"}',
                                headers=merge)
    assert_problem(status, headers, out, 400)
    status, headers, out = call(data_server, "PATCH", path, token=token, raw=b'{"a":3}',
                                headers=dict(merge, **{"If-Match": '"5"'}))
    assert_problem(status, headers, out, 412)
    status, headers, out = call(data_server, "PATCH", DOCS % name + "/missing", token=token,
                                raw=b'{"a":3}', headers=merge)
    assert_problem(status, headers, out, 404)


def test_access_rules_on_every_route(data_server, admin):
    owner_coll = make_collection(data_server, admin)
    _, alice = new_user(data_server)
    _, bob = new_user(data_server)
    doc, headers = create(data_server, alice, owner_coll, {"secret": 1})
    path = headers["location"]
    merge = {"Content-Type": "application/merge-patch+json"}
    # Bob cannot see Alice's document: 404 everywhere, nothing leaks.
    for method, body, extra in (("GET", None, None), ("PUT", {"x": 1}, None),
                                ("DELETE", None, None)):
        status, hdrs, out = call(data_server, method, path, body, bob, headers=extra)
        assert_problem(status, hdrs, out, 404)
    status, hdrs, out = call(data_server, "PATCH", path, token=bob, raw=b"{}", headers=merge)
    assert_problem(status, hdrs, out, 404)
    assert list_all(data_server, bob, owner_coll) == []
    assert [d["_id"] for d in list_all(data_server, alice, owner_coll)] == [doc["_id"]]
    assert [d["_id"] for d in list_all(data_server, admin, owner_coll)] == [doc["_id"]]
    # Anonymous: 401.
    status, hdrs, out = call(data_server, "GET", path)
    assert_problem(status, hdrs, out, 401)
    status, hdrs, out = call(data_server, "POST", DOCS % owner_coll, {"a": 1})
    assert_problem(status, hdrs, out, 401)

    # Public read, authenticated write: anyone reads, users write, anonymous writes are 401.
    open_coll = make_collection(data_server, admin,
                                rules={"read": "public", "write": "authenticated"})
    doc, headers = create(data_server, alice, open_coll, {"a": 1})
    status, _, out = call(data_server, "GET", headers["location"])
    assert status == 200 and out["a"] == 1
    status, _, out = call(data_server, "PUT", headers["location"], {"a": 2}, bob)
    assert status == 200
    status, hdrs, out = call(data_server, "PUT", headers["location"], {"a": 3})
    assert_problem(status, hdrs, out, 401)

    # Readable but not writable: 403.
    ro = make_collection(data_server, admin, rules={"read": "authenticated", "write": "role:editor"})
    doc, headers = create(data_server, admin, ro, {"a": 1})
    status, _, _ = call(data_server, "GET", headers["location"], token=bob)
    assert status == 200
    for method, body in (("PUT", {"a": 2}), ("DELETE", None)):
        status, hdrs, out = call(data_server, method, headers["location"], body, bob)
        assert_problem(status, hdrs, out, 403)
    status, hdrs, out = call(data_server, "POST", DOCS % ro, {"a": 1}, bob)
    assert_problem(status, hdrs, out, 403)

    # Unknown collection: 404 for everyone.
    for token in (admin, bob):
        status, hdrs, out = call(data_server, "GET", DOCS % "no-such-coll", token=token)
        assert_problem(status, hdrs, out, 404)
        status, hdrs, out = call(data_server, "POST", DOCS % "no-such-coll", {"a": 1}, token)
        assert_problem(status, hdrs, out, 404)


def test_bad_input_is_refused_and_nothing_is_stored(data_server, admin):
    name = make_collection(data_server, admin, rules={"read": "authenticated",
                                                       "write": "authenticated"})
    _, token = new_user(data_server)
    json_type = {"Content-Type": "application/json"}
    deep = ("[" * 70 + "]" * 70).encode()
    deep_object = (b'{"a":' * 70) + b"1" + (b"}" * 70)
    cases = [
        (b"{not json", json_type, 400),
        (b'{"a":1', json_type, 400),
        (b"[1,2]", json_type, 422),
        (b'"text"', json_type, 422),
        (b"42", json_type, 422),
        (b"null", json_type, 422),
        (b'{"_id":"mine"}', json_type, 400),
        (b'{"_rev":3}', json_type, 400),
        (b'{"a":1}', {"Content-Type": "text/plain"}, 415),
        (b'{"a":1}', {}, 415),
        (deep, json_type, 400),
        (deep_object, json_type, 400),
    ]
    for raw, headers, expected in cases:
        status, hdrs, out = call(data_server, "POST", DOCS % name, token=token, raw=raw,
                                 headers=headers)
        assert_problem(status, hdrs, out, expected)
        status, hdrs, out = call(data_server, "PUT", DOCS % name + "/fixed-id", token=token,
                                 raw=raw, headers=headers)
        assert_problem(status, hdrs, out, expected)
    # Over the 1 MiB body limit: 413 from the Content-Length, before the body is read.
    huge = b'{"a":"' + b"x" * (2 * 1024 * 1024) + b'"}'
    request = ("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
               % (DOCS % name, token, len(huge))).encode()
    status, _, _ = parse_response(raw_exchange(data_server.port, request + huge[:65536],
                                               read_timeout=3))
    assert status == 413
    for path, expected in ((DOCS % name + "?limit=1001", 400), (DOCS % name + "?limit=0", 400),
                           (DOCS % name + "?limit=abc", 400), (DOCS % name + "?cursor=zz", 400),
                           (DOCS % name + "?cursor=00", 400),
                           (DOCS % name + "/bad%2Fid", 400), (DOCS % name + "/-bad", 400),
                           (DOCS % name + "/" + "a" * 129, 400),
                           (DOCS % "BadName", 400), (DOCS % "unknown-coll", 404)):
        status, hdrs, out = call(data_server, "GET", path, token=token)
        assert_problem(status, hdrs, out, expected)
    assert list_all(data_server, admin, name) == []
    status, _, _ = call(data_server, "GET", "/health")
    assert status == 200


def test_pages_cover_every_document_once_while_documents_are_added(data_server, admin):
    name = make_collection(data_server, admin, rules={"read": "authenticated",
                                                       "write": "authenticated"})
    _, token = new_user(data_server)
    before = [create(data_server, token, name, {"i": i})[0]["_id"] for i in range(120)]
    stop = threading.Event()
    added = []

    def writer():
        while not stop.is_set():
            status, _, out = call(data_server, "POST", DOCS % name, {"late": True}, token)
            if status == 201:
                added.append(out["_id"])

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen, cursor, pages = [], None, 0
        while True:
            path = DOCS % name + "?limit=7" + ("&cursor=" + cursor if cursor else "")
            status, _, out = call(data_server, "GET", path, token=token)
            assert status == 200
            if out["next_cursor"] is not None:
                assert len(out["items"]) == 7
            seen += [d["_id"] for d in out["items"]]
            cursor = out["next_cursor"]
            pages += 1
            if cursor is None or pages > 200:
                break
    finally:
        stop.set()
        thread.join()
    assert len(seen) == len(set(seen)), "a document was listed twice"
    assert seen == sorted(seen)
    assert set(before) <= set(seen), "a document that existed all along was skipped"
    assert set(seen) <= set(before) | set(added)
    assert len(added) > 0


def race_rounds(server_a, server_b, token, path, rounds=15):
    """Each round, two clients PUT with the same If-Match at once: exactly one wins."""
    for round_number in range(rounds):
        status, headers, _ = call(server_a, "GET", path, token=token)
        assert status == 200
        etag = headers["etag"]
        barrier = threading.Barrier(2)
        results = []

        def put(server, who):
            barrier.wait()
            status, _, _ = call(server, "PUT", path, {"winner": who, "round": round_number},
                                token, headers={"If-Match": etag})
            results.append(status)

        threads = [threading.Thread(target=put, args=(s, w))
                   for s, w in ((server_a, "a"), (server_b, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [200, 412], results
        status, headers, _ = call(server_b, "GET", path, token=token)
        assert headers["etag"] == '"%d"' % (int(etag.strip('"')) + 1)


def test_if_match_race_between_two_clients(data_server, admin):
    name = make_collection(data_server, admin, rules={"read": "authenticated",
                                                       "write": "authenticated"})
    _, token = new_user(data_server)
    _, headers = create(data_server, token, name, {"winner": None})
    race_rounds(data_server, data_server, token, headers["location"])


def test_if_match_race_between_two_instances_on_one_data_dir():
    root = tempfile.mkdtemp(prefix="nexu-it-pair-")
    first = NexuServer(root=root, env=server_env(NEXU_STATE_DIR=os.path.join(root, "state-a")))
    second = NexuServer(root=root, env=server_env(NEXU_STATE_DIR=os.path.join(root, "state-b"),
                                                  NEXU_LOGS_DIR=os.path.join(root, "logs-b")))
    second.output_path = os.path.join(root, "server-output-b.log")
    try:
        first.start()
        second.start()
        admin = admin_token(first)
        name = make_collection(first, admin, rules={"read": "authenticated",
                                                    "write": "authenticated"})
        _, token = new_user(first)
        _, headers = create(first, token, name, {"winner": None})
        # The second instance sees the collection and the document within its sync interval.
        deadline = time.monotonic() + 5
        while call(second, "GET", headers["location"], token=token)[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        race_rounds(first, second, token, headers["location"])
    finally:
        second.stop()
        first.cleanup()
        import shutil
        shutil.rmtree(root, ignore_errors=True)


def test_http_level_garbage_leaves_the_server_alive(data_server, admin):
    raw = raw_exchange(data_server.port,
                       b"POST /api/v1/collections/x/documents HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Type: application/json\r\nContent-Length: 4\r\n\r\n{\x00\xff}",
                       read_timeout=2)
    status, _, _ = parse_response(raw)
    assert status in (400, 401, 404)
    status, _, _ = call(data_server, "GET", "/health")
    assert status == 200


def test_openapi_document_describes_the_data_routes(data_server):
    status, _, document = call(data_server, "GET", "/api/openapi.json")
    assert status == 200
    expected = {
        "/api/v1/collections": {"get"},
        "/api/v1/collections/{c}": {"put", "delete"},
        "/api/v1/collections/{c}/documents": {"get", "post"},
        "/api/v1/collections/{c}/documents/{id}": {"get", "put", "patch", "delete"},
        "/api/v1/collections/{c}/query": {"post"},
    }
    for path, methods in expected.items():
        operations = document["paths"][path]
        assert methods <= set(operations), path
        for method in methods:
            responses = operations[method]["responses"]
            assert any(code.startswith("2") for code in responses), (path, method)
            assert "401" in responses and "503" in responses, (path, method)
            if "{c}/" in path:
                assert "404" in responses, (path, method)


def test_nexuctl_import_and_export_speak_the_data_api_s_ids(data_server, admin, tmp_path):
    """An operator's `nexuctl import` into a collection made over REST lands
    where the REST routes look (the collection's generation), and `export`
    prints the ids clients use."""
    import subprocess
    from nexu_server import nexuctl_binary
    name = make_collection(data_server, admin, rules={"read": "authenticated",
                                                      "write": "authenticated"})
    _, token = new_user(data_server)
    _, headers = create(data_server, token, name, {"made": "over rest"})
    made_id = headers["location"].rsplit("/", 1)[1]
    imported_id = "0190a0c0-0000-7000-8000-00000000abcd"
    lines = tmp_path / "in.jsonl"
    lines.write_text(json.dumps({"_id": imported_id, "made": "by nexuctl"}) + "\n")
    ctl = dict(os.environ, NEXU_DATA_DIR=data_server.data_dir, NEXU_KEY_FILE=data_server.key_file,
               NEXU_STATE_DIR=str(tmp_path / "ctl-state"))
    done = subprocess.run([nexuctl_binary(), "import", name, str(lines)], env=ctl,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    status, _, doc = call(data_server, "GET", DOCS % name + "/" + imported_id, token=token)
    assert status == 200 and doc["made"] == "by nexuctl", (status, doc)
    done = subprocess.run([nexuctl_binary(), "export", name], env=ctl,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    exported = {d["_id"]: d for d in map(json.loads, done.stdout.splitlines())}
    assert set(exported) == {made_id, imported_id}
    assert exported[made_id]["made"] == "over rest"
