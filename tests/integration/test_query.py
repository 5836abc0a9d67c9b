"""Black-box tests of POST /api/v1/collections/{c}/query: results checked
against `nexuctl jsonpath` over the same documents presented as one object
keyed by id (API.md "Query semantics"), paging, visibility, indexes, errors."""
import json
import os
import subprocess

import pytest

from accounts import admin_token, call, new_user, server_env
from nexu_server import NexuServer, nexuctl_binary

DOCS = "/api/v1/collections/%s/documents"
QUERY = "/api/v1/collections/%s/query"

QUERIES = [
    "$[?@.age > 90 && @.active == true]",
    "$[?@.age > 50]",
    "$[?@.age >= 10 && @.age < 20].name",
    "$[?@.email == 'p7@example.com']",
    "$.*.email",
    "$[*].tags[*]",
    "$..city",
    "$[?@.address.city == 'Lima'].score",
    "$[?search(@.name, '^p1')]",
    "$[?match(@.name, 'p[0-9]')].age",
    "$[?@.score > 3 || @.age < 5]._id",
    "$[?length(@.tags) == 2 && @.age == 0]",
    "$[?count(@.tags[*]) > 1].name",
    "$[?value(@.address.city) == 'Oslo'].name",
    "$.*[?@ == 'x']",
    "$[?!@.active].age",
]


def person(i):
    return {"name": "p%d" % i, "email": "p%d@example.com" % i, "age": (i * 37) % 100,
            "active": i % 9 == 0, "score": (i % 7) + 0.5,
            "tags": ["t%d" % (i % 3), "x"], "address": {"city": "Lima" if i % 2 else "Oslo"}}


@pytest.fixture(scope="module")
def setup():
    with NexuServer(env=server_env()) as server:
        admin = admin_token(server)
        for name, indexes in (("people", []), ("indexed", ["age", "email"])):
            status, _, out = call(server, "PUT", "/api/v1/collections/" + name,
                                  {"rules": {"read": "owner", "write": "owner"},
                                   "indexes": indexes}, admin)
            assert status == 201, out
        _, alice = new_user(server)
        _, bob = new_user(server)
        for i in range(150):
            for name in ("people", "indexed"):
                status, _, out = call(server, "POST", DOCS % name, person(i),
                                      alice if i % 3 else bob)
                assert status == 201, out
        yield server, admin, alice, bob


def documents_of(server, token, name):
    """The collection as the caller sees it, as one object keyed by id, in _id order."""
    items, cursor = [], None
    while True:
        path = DOCS % name + "?limit=1000" + ("&cursor=" + cursor if cursor else "")
        status, _, out = call(server, "GET", path, token=token)
        assert status == 200
        items += out["items"]
        cursor = out["next_cursor"]
        if cursor is None:
            break
    return {doc["_id"]: doc for doc in sorted(items, key=lambda d: d["_id"])}


def engine(query, document):
    """nexuctl jsonpath over the same documents: the engine itself."""
    done = subprocess.run([nexuctl_binary(), "jsonpath", query], input=json.dumps(document),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def query_all(server, token, name, query, limit):
    results, paths, cursor = [], [], None
    for _ in range(10_000):
        body = {"jsonpath": query, "limit": limit}
        if cursor:
            body["cursor"] = cursor
        status, headers, out = call(server, "POST", QUERY % name, body, token)
        assert status == 200, out
        assert headers["content-type"].startswith("application/json")
        assert len(out["results"]) == len(out["paths"])
        if out["next_cursor"] is not None:
            assert len(out["results"]) == limit
        results += out["results"]
        paths += out["paths"]
        cursor = out["next_cursor"]
        if cursor is None:
            return {"results": results, "paths": paths}
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("name", ["people", "indexed"])
def test_results_match_the_engine_for_every_caller_and_page_size(setup, name):
    server, admin, alice, bob = setup
    for token in (admin, alice, bob):
        document = documents_of(server, token, name)
        for query in QUERIES:
            expected = engine(query, document)
            assert query_all(server, token, name, query, 1000) == expected, query
            assert query_all(server, token, name, query, 13) == expected, query
    # Owner rule: each user's query sees their documents only.
    out = query_all(server, bob, name, "$.*._owner", 1000)["results"]
    assert len(set(out)) == 1 and len(out) == 50


def test_default_limit_is_100_and_whole_documents_have_paths_by_id(setup):
    server, admin, _, _ = setup
    status, _, out = call(server, "POST", QUERY % "people", {"jsonpath": "$.*"}, admin)
    assert status == 200
    assert len(out["results"]) == 100 and out["next_cursor"]
    first = out["results"][0]
    assert out["paths"][0] == "$['%s']" % first["_id"]
    assert set(first) >= {"_id", "_rev", "_owner", "_created_at", "_updated_at", "name"}


def test_the_index_follows_writes(setup):
    server, admin, alice, _ = setup
    query = "$[?@.age > 97]"
    before = query_all(server, admin, "indexed", query, 1000)["results"]
    status, headers, doc = call(server, "POST", DOCS % "indexed", {"age": 98, "name": "new"}, alice)
    assert status == 201
    after = query_all(server, admin, "indexed", query, 1000)["results"]
    assert [d["_id"] for d in after] == sorted([d["_id"] for d in before] + [doc["_id"]])
    status, _, _ = call(server, "PATCH", headers["location"], token=alice, raw=b'{"age": 3}',
                        headers={"Content-Type": "application/merge-patch+json"})
    assert status == 200
    assert query_all(server, admin, "indexed", query, 1000)["results"] == before
    status, _, _ = call(server, "PUT", headers["location"], {"age": 99}, alice)
    assert status == 200
    assert len(query_all(server, admin, "indexed", query, 1000)["results"]) == len(before) + 1
    status, _, _ = call(server, "DELETE", headers["location"], token=alice)
    assert status == 204
    assert query_all(server, admin, "indexed", query, 1000)["results"] == before


def test_bad_queries_are_problems_and_the_server_lives_on(setup):
    server, admin, alice, _ = setup
    status, headers, out = call(server, "POST", QUERY % "people", {"jsonpath": "$[?@.a ==]"}, admin)
    assert status == 400 and headers["content-type"].startswith("application/problem+json")
    assert "at position" in out["detail"]
    status, _, out = call(server, "POST", QUERY % "people", {"jsonpath": "$[?length(@.a)]"}, admin)
    assert status == 400 and "at position" in out["detail"]
    cases = [
        ({"jsonpath": "$.*", "limit": 1001}, 400),
        ({"jsonpath": "$.*", "limit": 0}, 400),
        ({"jsonpath": "$.*", "limit": "ten"}, 400),
        ({"jsonpath": "$.*", "cursor": "zz"}, 400),
        ({"jsonpath": "$.*", "cursor": "6f3a31"}, 400),
        ({"jsonpath": "$.*", "cursor": 5}, 400),
        ({}, 422),
        ({"jsonpath": 5}, 422),
        ({"jsonpath": "$", "extra": 1}, 422),
        ([], 422),
    ]
    for body, expected in cases:
        status, headers, out = call(server, "POST", QUERY % "people", body, admin)
        assert status == expected, (body, out)
        assert headers["content-type"].startswith("application/problem+json")
    status, _, _ = call(server, "POST", QUERY % "people", token=admin, raw=b"{bad",
                        headers={"Content-Type": "application/json"})
    assert status == 400
    status, _, _ = call(server, "POST", QUERY % "people", token=admin, raw=b'{"jsonpath":"$"}',
                        headers={"Content-Type": "text/plain"})
    assert status == 415
    status, _, _ = call(server, "POST", QUERY % "nope", {"jsonpath": "$.*"}, admin)
    assert status == 404
    status, _, _ = call(server, "POST", QUERY % "people", {"jsonpath": "$.*"})
    assert status == 401
    status, _, _ = call(server, "GET", "/health")
    assert status == 200


def test_a_query_needing_the_whole_root_still_answers(setup):
    server, _, _, bob = setup
    document = documents_of(server, bob, "people")
    for query in ("$", "$[?length($) > 3].name"):
        assert query_all(server, bob, "people", query, 1000) == engine(query, document)


def test_the_work_budget_is_a_setting_and_answers_422():
    with NexuServer(env=server_env(NEXU_QUERY_MAX_NODES="1000")) as server:
        admin = admin_token(server)
        status, _, out = call(server, "PUT", "/api/v1/collections/small", {}, admin)
        assert status == 201, out
        _, token = new_user(server)
        for i in range(40):
            assert call(server, "POST", DOCS % "small", person(i), token)[0] == 201
        # A selective query stays within 1,000 nodes; a descent through every
        # value of every document does not.
        selective = {"jsonpath": "$[?@.age == 1]"}
        status, _, out = call(server, "POST", QUERY % "small", selective, token)
        assert status == 200, out
        everything = {"jsonpath": "$..[?@ == 'never']", "limit": 1000}
        status, headers, out = call(server, "POST", QUERY % "small", everything, token)
        assert status == 422, out
        assert headers["content-type"].startswith("application/problem+json")
        assert "more work than allowed" in out["detail"]
        assert call(server, "GET", "/health")[0] == 200
