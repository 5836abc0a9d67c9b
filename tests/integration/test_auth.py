"""Accounts over real sockets: the JWT rejection matrix, refresh rotation and
reuse detection (also two instances racing on one token), the password policy,
user enumeration, the access-control matrix, brute force, and no secret in
any log line."""
import base64
import concurrent.futures
import hashlib
import hmac
import json
import os
import statistics
import time

import pytest

from accounts import (ADMIN_PASSWORD, ADMIN_USERNAME, USER_PASSWORD, admin_token, call, login,
                      new_user, register, server_env)
from nexu_server import NexuServer, eventually

# Cheap Argon2 for the tests that log in hundreds of times; the defaults are
# measured in BENCHMARKS.md.
FAST_HASH = {"NEXU_PASSWORD_OPSLIMIT": "1", "NEXU_PASSWORD_MEMLIMIT_BYTES": "1MiB"}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_key(server, key_id=1):
    """The server's token subkey: libsodium crypto_kdf (BLAKE2b) from the master key file."""
    with open(server.key_file) as f:
        master = bytes.fromhex(f.read().strip())
    salt = key_id.to_bytes(8, "little") + bytes(8)
    person = b"nexutokn" + bytes(8)
    return hashlib.blake2b(b"", digest_size=32, key=master, salt=salt, person=person).digest()


def make_token(header, claims, key=None, alg="sha256", signature=None):
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    if signature is None:
        digest = getattr(hashlib, alg)
        signature = b64url(hmac.new(key, signing_input.encode(), digest).digest()) if key else ""
    return signing_input + "." + signature


def claims_of(token):
    return json.loads(b64url_decode(token.split(".")[1]))


@pytest.fixture(scope="module")
def server():
    with NexuServer(env=server_env(**FAST_HASH)) as running:
        yield running


def refused_identically(server, token, reference):
    status, _, body = call(server, "GET", "/api/v1/auth/me", token=token)
    return status == 401 and body == reference


def test_jwt_rejection_matrix(server):
    user, token = new_user(server)
    key = token_key(server)
    header = {"alg": "HS256", "kid": "1", "typ": "JWT"}
    good = claims_of(token)
    now = int(time.time())
    status, _, reference = call(server, "GET", "/api/v1/auth/me", token="not-a-token")
    assert status == 401
    assert call(server, "GET", "/api/v1/auth/me", token=token)[0] == 200
    # A correctly signed token of our own making is accepted: the key derivation is right,
    # so the cases below are refused for what they change, not for a wrong key.
    assert call(server, "GET", "/api/v1/auth/me", token=make_token(header, good, key))[0] == 200

    head, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    cases = {
        "alg none": make_token({"alg": "none", "typ": "JWT"}, good),
        "alg None": make_token({"alg": "None", "kid": "1"}, good),
        "alg NONE": make_token({"alg": "NONE", "kid": "1"}, good),
        "HS384": make_token({"alg": "HS384", "kid": "1"}, good, key, "sha384"),
        "HS512": make_token({"alg": "HS512", "kid": "1"}, good, key, "sha512"),
        "RS256": make_token({"alg": "RS256", "kid": "1"}, good, signature=b64url(os.urandom(256))),
        "ES256": make_token({"alg": "ES256", "kid": "1"}, good, signature=b64url(os.urandom(64))),
        "wrong key": make_token(header, good, os.urandom(32)),
        "signature removed": head + "." + payload + ".",
        "signature missing": head + "." + payload,
        "signature altered": head + "." + payload + "." + flipped,
        "payload altered": head + "." + b64url(json.dumps(dict(good, roles=["admin"])).encode())
                           + "." + signature,
        "header altered": b64url(json.dumps({"alg": "HS256", "kid": "1", "typ": "JWS"}).encode())
                          + "." + payload + "." + signature,
        "expired": make_token(header, dict(good, iat=now - 3600, exp=now - 60), key),
        "missing exp": make_token(header, {k: v for k, v in good.items() if k != "exp"}, key),
        "nbf in the future": make_token(header, dict(good, nbf=now + 3600), key),
        "unknown kid": make_token(dict(header, kid="2"), good, token_key(server, 2)),
        "kid with path": make_token(dict(header, kid="../../etc/passwd"), good, key),
        "kid with quote": make_token(dict(header, kid='1"'), good, key),
        "kid missing": make_token({"alg": "HS256", "typ": "JWT"}, good, key),
        "unknown session": make_token(header, dict(good, sid="01a20000-0000-7000-8000-000000000000"),
                                      key),
        "no session": make_token(header, {k: v for k, v in good.items() if k != "sid"}, key),
        "oversized": make_token(header, dict(good, pad="x" * 6000), key),
        "empty bearer": " ",
    }
    for name, bad in cases.items():
        status, _, body = call(server, "GET", "/api/v1/auth/me", token=bad)
        assert (status, body) == (401, reference), name

    # A refresh token is not an access token.
    pair = login(server, user["username"], USER_PASSWORD)
    assert refused_identically(server, pair["refresh_token"], reference)

    # Tokens of a disabled, a deleted user, and of a session revoked by a password change.
    admin = admin_token(server)
    disabled_user, disabled_token = new_user(server)
    deleted_user, deleted_token = new_user(server)
    changer, first_session = new_user(server)
    second_session = login(server, changer["username"], USER_PASSWORD)["access_token"]
    assert call(server, "PATCH", "/api/v1/users/" + disabled_user["id"], {"disabled": True},
                token=admin)[0] == 200
    assert call(server, "DELETE", "/api/v1/users/" + deleted_user["id"], token=admin)[0] == 204
    assert call(server, "POST", "/api/v1/auth/password",
                {"current_password": USER_PASSWORD, "new_password": "a brand new passphrase"},
                token=second_session)[0] == 204
    for name, bad in {"disabled user": disabled_token, "deleted user": deleted_token,
                      "revoked by a password change": first_session}.items():
        assert refused_identically(server, bad, reference), name
    assert call(server, "GET", "/api/v1/auth/me", token=second_session)[0] == 200

    # No token, in any form, reached a log line.
    logs = server.log_text() + server.read_output()
    for name, bad in list(cases.items()) + [("valid", token), ("refresh", pair["refresh_token"])]:
        if len(bad) > 20:
            assert bad not in logs, name


def test_refresh_rotation_and_reuse(server):
    user, _ = new_user(server)
    first = login(server, user["username"], USER_PASSWORD)
    status, _, second = call(server, "POST", "/api/v1/auth/refresh",
                             {"refresh_token": first["refresh_token"]})
    assert status == 200 and second["refresh_token"] != first["refresh_token"]
    assert second["user"]["id"] == user["id"] and second["token_type"] == "Bearer"
    assert call(server, "GET", "/api/v1/auth/me", token=second["access_token"])[0] == 200
    status, _, third = call(server, "POST", "/api/v1/auth/refresh",
                            {"refresh_token": second["refresh_token"]})
    assert status == 200
    # The spent first token comes back: the whole family is revoked.
    assert call(server, "POST", "/api/v1/auth/refresh",
                {"refresh_token": first["refresh_token"]})[0] == 401
    assert call(server, "POST", "/api/v1/auth/refresh",
                {"refresh_token": third["refresh_token"]})[0] == 401
    assert call(server, "GET", "/api/v1/auth/me", token=third["access_token"])[0] == 401
    # Another login of the same user is a separate family and still works.
    other = login(server, user["username"], USER_PASSWORD)
    assert call(server, "GET", "/api/v1/auth/me", token=other["access_token"])[0] == 200
    for bad in ["", "x", first["refresh_token"][:-1] + "A", "0" * 80]:
        assert call(server, "POST", "/api/v1/auth/refresh", {"refresh_token": bad})[0] == 401
    assert call(server, "POST", "/api/v1/auth/refresh", {"token": "x"})[0] == 400


def test_logout_ends_the_session(server):
    user, _ = new_user(server)
    pair = login(server, user["username"], USER_PASSWORD)
    assert call(server, "POST", "/api/v1/auth/logout", {"refresh_token": pair["refresh_token"]},
                token=pair["access_token"])[0] == 204
    assert call(server, "GET", "/api/v1/auth/me", token=pair["access_token"])[0] == 401
    assert call(server, "POST", "/api/v1/auth/refresh",
                {"refresh_token": pair["refresh_token"]})[0] == 401
    assert call(server, "POST", "/api/v1/auth/logout", {})[0] == 401


def test_two_instances_racing_on_one_refresh_token(tmp_path):
    with NexuServer(env=server_env(**FAST_HASH)) as first:
        shared = {"NEXU_DATA_DIR": first.data_dir, "NEXU_KEY_FILE": first.key_file}
        with NexuServer(env=server_env(**FAST_HASH, **shared)) as second:
            user = register(first)
            trials = int(os.environ.get("TEST_REFRESH_RACE_TRIALS", "500"))
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
            mismatches = []
            for trial in range(trials):
                pair = login(first if trial % 2 else second, user["username"], USER_PASSWORD)
                body = {"refresh_token": pair["refresh_token"]}
                futures = [pool.submit(call, target, "POST", "/api/v1/auth/refresh", body)
                           for target in (first, second)]
                statuses = sorted(f.result()[0] for f in futures)
                if statuses != [200, 401]:
                    mismatches.append((trial, statuses))
            pool.shutdown()
            assert not mismatches, mismatches[:10]


@pytest.mark.parametrize("password,accepted", [
    ("elevenchars", False),
    ("twelve chars", True),
    ("x" * 127 + "y", True),
    ("x" * 128 + "y", False),
    ("\U0001F600" * 11, False),
    ("\U0001F600\u00e9" * 6, True),
    ("password1234", False),
    ("PASSWORD1234", False),
    ("123456789012", False),
    ("qwertyuiop[]", False),
    ("monkeymonkey", False),
    ("aaaaaaaaaaaa", False),
    ("!!iloveyou2024", False),
    ("correct horse battery", True),
])
def test_password_policy(server, password, accepted):
    status, _, body = call(server, "POST", "/api/v1/auth/register",
                           {"username": "pw%d" % (abs(hash(password)) % 10**9), "password": password})
    assert status == (201 if accepted else 422), body
    if not accepted:
        assert body["errors"][0]["field"] == "password"


def test_passwords_are_neither_truncated_nor_normalised(server):
    long_password = "a long passphrase that keeps going " * 3  # over bcrypt's 72 bytes
    user = register(server, password=long_password)
    assert call(server, "POST", "/api/v1/auth/login",
                {"username": user["username"], "password": long_password[:72]})[0] == 401
    assert login(server, user["username"], long_password)["access_token"]
    composed = "caf\u00e9 passphrase 1"
    user = register(server, password=composed)
    assert call(server, "POST", "/api/v1/auth/login",
                {"username": user["username"], "password": "cafe\u0301 passphrase 1"})[0] == 401
    assert login(server, user["username"], composed)["access_token"]


def test_registration_rules(server):
    cases = [({"username": "ab", "password": USER_PASSWORD}, 422, "username"),
             ({"username": "Alice", "password": USER_PASSWORD}, 422, "username"),
             ({"username": "bad name", "password": USER_PASSWORD}, 422, "username"),
             ({"username": "ok-name", "password": 12}, 422, "password"),
             ({"username": "ok-name2", "password": USER_PASSWORD, "email": "no-at"}, 422, "email")]
    for payload, status, field in cases:
        got, _, body = call(server, "POST", "/api/v1/auth/register", payload)
        assert (got, body["errors"][0]["field"]) == (status, field), payload
    assert call(server, "POST", "/api/v1/auth/register", raw=b"{", headers={
        "Content-Type": "application/json"})[0] == 400
    assert call(server, "POST", "/api/v1/auth/register", [1, 2])[0] == 422
    deep = b"[" * 100000 + b"]" * 100000
    assert call(server, "POST", "/api/v1/auth/register", raw=deep,
                headers={"Content-Type": "application/json"})[0] == 400
    assert call(server, "POST", "/api/v1/auth/register", raw=b"x",
                headers={"Content-Type": "text/plain"})[0] == 415
    register(server, username="taken-name", email="Taken@Example.com")
    status, _, body = call(server, "POST", "/api/v1/auth/register",
                           {"username": "taken-name", "password": USER_PASSWORD})
    assert status == 409 and body["errors"][0]["field"] == "username"
    status, _, body = call(server, "POST", "/api/v1/auth/register",
                           {"username": "other-name", "password": USER_PASSWORD,
                            "email": "taken@example.COM"})
    assert status == 409 and body["errors"][0]["field"] == "email"
    # Login by e-mail, in any case.
    assert login(server, "TAKEN@example.com", USER_PASSWORD)["user"]["username"] == "taken-name"
    assert server.is_healthy()


def test_user_enumeration(server):
    # Three known accounts, five wrong passwords each: below the per-account lockout.
    known = [register(server)["username"] for _ in range(3)]
    timings = {"unknown": [], "known": []}
    answers = set()
    for round_number in range(15):
        for kind, name in (("unknown", "nobody-%d" % round_number),
                           ("known", known[round_number % 3])):
            started = time.monotonic()
            status, _, body = call(server, "POST", "/api/v1/auth/login",
                                   {"username": name, "password": "wrong password here"})
            timings[kind].append(time.monotonic() - started)
            answers.add((status, json.dumps(body, sort_keys=True)))
    assert len(answers) == 1 and next(iter(answers))[0] == 401
    gap_ms = abs(statistics.median(timings["unknown"]) - statistics.median(timings["known"])) * 1000
    assert gap_ms < 10, gap_ms


def test_ws_ticket(server):
    _, token = new_user(server)
    status, headers, body = call(server, "POST", "/api/v1/auth/ws-ticket", token=token)
    assert status == 200 and body["expires_in"] == 60 and len(body["ticket"]) >= 43
    assert headers["cache-control"] == "no-store"
    assert call(server, "POST", "/api/v1/auth/ws-ticket")[0] == 401
    # A ticket is not a bearer token.
    assert call(server, "GET", "/api/v1/auth/me", token=body["ticket"])[0] == 401


ROUTES = [
    # (name, method, path template, body)
    ("me", "GET", "/api/v1/auth/me", None),
    ("ws-ticket", "POST", "/api/v1/auth/ws-ticket", None),
    ("list users", "GET", "/api/v1/users", None),
    ("get user A", "GET", "/api/v1/users/{A}", None),
    ("patch user A name", "PATCH", "/api/v1/users/{A}", {"display_name": "Ann"}),
    ("patch user A roles", "PATCH", "/api/v1/users/{A}", {"roles": ["user"]}),
    ("list roles", "GET", "/api/v1/roles", None),
    ("put role", "PUT", "/api/v1/roles/matrix-role", {"permissions": ["files:read"]}),
    ("delete role", "DELETE", "/api/v1/roles/matrix-gone", None),
    ("delete user C", "DELETE", "/api/v1/users/{C}", None),
]

EXPECTED = {
    # anonymous, A, B, admin, disabled, deleted, reader (collections:notes:read only)
    "me":                 [401, 200, 200, 200, 401, 401, 200],
    "ws-ticket":          [401, 200, 200, 200, 401, 401, 200],
    "list users":         [401, 403, 403, 200, 401, 401, 403],
    "get user A":         [401, 200, 404, 200, 401, 401, 404],
    "patch user A name":  [401, 200, 404, 200, 401, 401, 404],
    "patch user A roles": [401, 403, 404, 200, 401, 401, 404],
    "list roles":         [401, 403, 403, 200, 401, 401, 403],
    "put role":           [401, 403, 403, 200, 401, 401, 403],
    "delete role":        [401, 403, 403, 204, 401, 401, 403],
    "delete user C":      [401, 403, 403, 204, 401, 401, 403],
}
PRINCIPALS = ["anonymous", "A", "B", "admin", "disabled", "deleted", "reader"]


def matrix_principals(server):
    """The matrix's callers: (admin token, tokens by principal, user ids by principal).
    "reader" holds only a role granting collections:notes:read; "disabled" and
    "deleted" got their tokens before the admin disabled or deleted them."""
    admin = admin_token(server)
    tokens = {"anonymous": None, "admin": admin}
    ids = {}
    for name in ("A", "B", "disabled", "deleted", "reader"):
        user, tokens[name] = new_user(server)
        ids[name] = user["id"]
    assert call(server, "PUT", "/api/v1/roles/notes-reader",
                {"permissions": ["collections:notes:read"]}, token=admin)[0] in (200, 201)
    assert call(server, "PATCH", "/api/v1/users/" + ids["reader"], {"roles": ["notes-reader"]},
                token=admin)[0] == 200
    assert call(server, "PATCH", "/api/v1/users/" + ids["disabled"], {"disabled": True},
                token=admin)[0] == 200
    assert call(server, "DELETE", "/api/v1/users/" + ids["deleted"], token=admin)[0] == 204
    return admin, tokens, ids


def test_access_control_matrix(server):
    admin, tokens, ids = matrix_principals(server)
    assert call(server, "PUT", "/api/v1/roles/matrix-role", {"permissions": []},
                token=admin)[0] == 201
    mismatches = []
    for name, method, template, body in ROUTES:
        for index, principal in enumerate(PRINCIPALS):
            # Fresh targets for the destructive routes, so each call meets the same state.
            victim, _ = new_user(server)
            call(server, "PUT", "/api/v1/roles/matrix-gone", {"permissions": []}, token=admin)
            path = template.replace("{A}", ids["A"]).replace("{C}", victim["id"])
            status, _, answer = call(server, method, path, body, token=tokens[principal])
            if status != EXPECTED[name][index]:
                mismatches.append((name, principal, status, EXPECTED[name][index], answer))
    assert not mismatches, mismatches


def test_mass_assignment_is_refused(server):
    user, token = new_user(server)
    for body in ({"roles": ["admin"]}, {"disabled": False}):
        assert call(server, "PATCH", "/api/v1/users/" + user["id"], body, token=token)[0] == 403
    for body in ({"id": "x"}, {"username": "renamed"}, {"password_hash": "x"}, {"_owner": "x"}):
        assert call(server, "PATCH", "/api/v1/users/" + user["id"], body, token=token)[0] == 400
    status, _, me = call(server, "GET", "/api/v1/auth/me", token=token)
    assert me["roles"] == ["user"] and me["username"] == user["username"]
    status, _, created = call(server, "POST", "/api/v1/auth/register",
                              {"username": "sneaky-admin", "password": USER_PASSWORD,
                               "roles": ["admin"]})
    assert status == 201 and created["roles"] == ["user"]


def test_roles_lifecycle(server):
    admin = admin_token(server)
    status, _, role = call(server, "PUT", "/api/v1/roles/editors",
                           {"permissions": ["collections:*:write", "files:read"]}, token=admin)
    assert status == 201 and role["permissions"] == ["collections:*:write", "files:read"]
    assert call(server, "PUT", "/api/v1/roles/editors", {"permissions": ["files:read"]},
                token=admin)[0] == 200
    assert call(server, "PUT", "/api/v1/roles/editors", {"permissions": ["root"]},
                token=admin)[0] == 422
    assert call(server, "PUT", "/api/v1/roles/admin", {"permissions": []}, token=admin)[0] == 409
    assert call(server, "DELETE", "/api/v1/roles/user", token=admin)[0] == 409
    assert call(server, "DELETE", "/api/v1/roles/admin", token=admin)[0] == 409
    user, token = new_user(server)
    assert call(server, "PATCH", "/api/v1/users/" + user["id"], {"roles": ["user", "editors"]},
                token=admin)[0] == 200
    assert call(server, "DELETE", "/api/v1/roles/editors", token=admin)[0] == 409
    names = [r["name"] for r in call(server, "GET", "/api/v1/roles", token=admin)[2]]
    assert {"admin", "user", "editors"} <= set(names)
    # users:admin grants the user routes without the admin role; it applies within a second.
    assert call(server, "PUT", "/api/v1/roles/user-managers", {"permissions": ["users:admin"]},
                token=admin)[0] == 201
    assert call(server, "GET", "/api/v1/users", token=token)[0] == 403
    assert call(server, "PATCH", "/api/v1/users/" + user["id"], {"roles": ["user-managers"]},
                token=admin)[0] == 200
    assert eventually(2, lambda: call(server, "GET", "/api/v1/users", token=token)[0] == 200)


def test_users_pagination(server):
    admin = admin_token(server)
    for _ in range(3):
        register(server)
    seen, cursor = [], None
    while True:
        path = "/api/v1/users?limit=2" + ("&cursor=" + cursor if cursor else "")
        status, _, page = call(server, "GET", path, token=admin)
        assert status == 200 and len(page["items"]) <= 2
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) >= 4
    assert all("password_hash" not in json.dumps(u) for u in page["items"])
    assert call(server, "GET", "/api/v1/users?limit=1001", token=admin)[0] == 400
    assert call(server, "GET", "/api/v1/users?limit=0", token=admin)[0] == 400
    assert call(server, "GET", "/api/v1/users?cursor=%00garbage", token=admin)[0] == 400


def test_rate_limit_headers_on_api_responses(server):
    _, token = new_user(server)
    status, headers, _ = call(server, "GET", "/api/v1/auth/me", token=token)
    assert status == 200
    assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= set(headers)
    status, headers, _ = call(server, "GET", "/api/v1/nothing-here")
    assert status == 404


def test_brute_force_locks_the_account_not_the_others():
    env = server_env(NEXU_TRUSTED_PROXIES="127.0.0.1/32", **FAST_HASH)
    del env["NEXU_RATE_AUTH_PER_ADDRESS"]  # the default, 50/10m
    with NexuServer(env=env) as server:
        victim = register(server)
        bystander = register(server)

        def attempt(username, password, address):
            return call(server, "POST", "/api/v1/auth/login",
                        {"username": username, "password": password},
                        headers={"X-Forwarded-For": address})

        for i in range(10):
            assert attempt(victim["username"], "wrong guess %d" % i, "10.0.0.%d" % (i + 1))[0] == 401
        # The account is locked for everyone, even with the right password...
        status, headers, _ = attempt(victim["username"], USER_PASSWORD, "10.0.1.1")
        assert status == 429 and int(headers["retry-after"]) >= 1
        assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= set(headers)
        # ...but not other accounts.
        assert attempt(bystander["username"], USER_PASSWORD, "10.0.1.2")[0] == 200

        # One address trying many accounts meets the per-address limit first...
        accounts = [register(server) for _ in range(8)]
        statuses = [attempt(accounts[i % 8]["username"], "wrong guess", "10.9.9.9")[0]
                    for i in range(60)]
        assert 429 in statuses and statuses.count(401) <= 50
        # ...and none of those accounts is locked for its owner elsewhere.
        for account in accounts:
            assert attempt(account["username"], USER_PASSWORD, "10.0.2.1")[0] == 200


def test_hashing_queue_full_is_503():
    env = server_env(NEXU_PASSWORD_THREADS="1", NEXU_PASSWORD_QUEUE="1",
                     NEXU_PASSWORD_OPSLIMIT="3", NEXU_PASSWORD_MEMLIMIT_BYTES="64MiB")
    with NexuServer(env=env) as server:
        body = {"username": ADMIN_USERNAME, "password": "wrong password here"}
        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(lambda _: call(server, "POST", "/api/v1/auth/login", body),
                                    range(12)))
        statuses = [status for status, _, _ in results]
        assert 503 in statuses and set(statuses) <= {401, 503}, statuses
        busy = next(headers for status, headers, _ in results if status == 503)
        assert busy["retry-after"] == "1"
        assert server.is_healthy()


def test_registration_can_be_closed():
    with NexuServer(env=server_env(NEXU_REGISTRATION="closed")) as server:
        status, _, _ = call(server, "POST", "/api/v1/auth/register",
                            {"username": "newcomer", "password": USER_PASSWORD})
        assert status == 403
        assert login(server, ADMIN_USERNAME, ADMIN_PASSWORD)["user"]["roles"] == ["admin"]


def test_bad_admin_settings_exit_2(tmp_path):
    from nexu_server import run_nexu
    base = {"NEXU_DATA_DIR": str(tmp_path / "db"), "NEXU_STATE_DIR": str(tmp_path / "state"),
            "NEXU_LOGS_DIR": str(tmp_path / "logs"), "NEXU_KEY_FILE": str(tmp_path / "key"),
            "NEXU_CREATE_KEY": "true"}
    weak = run_nexu(env=dict(base, NEXU_ADMIN_USERNAME="boss", NEXU_ADMIN_PASSWORD="password1234"))
    assert weak.returncode == 2 and "NEXU_ADMIN_PASSWORD" in weak.stderr
    assert "password1234" not in weak.stderr
    bad_rate = run_nexu(env=dict(base, NEXU_RATE_LOGIN_PER_ACCOUNT="ten per minute"))
    assert bad_rate.returncode == 2 and "NEXU_RATE_LOGIN_PER_ACCOUNT" in bad_rate.stderr


def test_no_secret_in_any_log(server):
    """Runs last in this module: every log line the server wrote so far."""
    logs = server.log_text() + server.read_output()
    with open(server.key_file) as f:
        master_hex = f.read().strip()
    for secret in (ADMIN_PASSWORD, USER_PASSWORD, master_hex, "$argon2id$", "refresh_token\":"):
        assert secret not in logs, secret
    assert "eyJ" not in logs  # no JWT, whole or in part


def test_nexuctl_admin_create(tmp_path):
    import subprocess
    from nexu_server import nexuctl_binary
    with NexuServer(env=FAST_HASH) as server:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NEXU_DATA_DIR": server.data_dir,
               "NEXU_KEY_FILE": server.key_file, "NEXU_STATE_DIR": str(tmp_path / "ctl-state")}
        ctl = [nexuctl_binary(), "admin", "create"]
        weak = subprocess.run(ctl + ["boss"], input="password1234\n", env=env,
                              capture_output=True, text=True, timeout=60)
        assert weak.returncode == 2 and "too common" in weak.stderr
        made = subprocess.run(ctl + ["boss"], input="a strong admin passphrase\n", env=env,
                              capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        assert "passphrase" not in made.stdout + made.stderr
        again = subprocess.run(ctl + ["boss"], input="a strong admin passphrase\n", env=env,
                               capture_output=True, text=True, timeout=60)
        assert again.returncode == 1 and "taken" in again.stderr
        # The running server sees the new admin at once.
        pair = login(server, "boss", "a strong admin passphrase")
        assert pair["user"]["roles"] == ["admin"]
        assert call(server, "GET", "/api/v1/users", token=pair["access_token"])[0] == 200


def test_login_limits_are_shared_through_redis():
    from redis_server import RedisServer
    redis = RedisServer()
    try:
        with NexuServer(env=server_env(NEXU_REDIS_URL=redis.url, **FAST_HASH)) as first:
            shared = {"NEXU_DATA_DIR": first.data_dir, "NEXU_KEY_FILE": first.key_file,
                      "NEXU_REDIS_URL": redis.url}
            with NexuServer(env=server_env(**FAST_HASH, **shared)) as second:
                victim = register(first)
                # Ten failures spread over two instances lock the account on both.
                for i in range(10):
                    target = (first, second)[i % 2]
                    assert call(target, "POST", "/api/v1/auth/login",
                                {"username": victim["username"], "password": "wrong %d" % i})[0] == 401
                for target in (first, second):
                    assert call(target, "POST", "/api/v1/auth/login",
                                {"username": victim["username"], "password": USER_PASSWORD})[0] == 429
                # Redis holds hashed bucket names: no username, no address.
                keys = redis.keys()
                assert keys and all(victim["username"] not in k and "127.0.0.1" not in k for k in keys)
                # Redis down: the instances fall back to their own buckets and keep serving.
                redis.stop()
                other = register(first)
                assert login(first, other["username"], USER_PASSWORD)["access_token"]
    finally:
        redis.stop()


DATA_ROUTES = [
    ("list collections", "GET", "/api/v1/collections", None),
    ("create collection", "PUT", "/api/v1/collections/matrix-new", {}),
    ("delete collection", "DELETE", "/api/v1/collections/{scratch}", None),
    ("create document", "POST", "/api/v1/collections/notes/documents", {"text": "x"}),
    ("list documents", "GET", "/api/v1/collections/notes/documents", None),
    ("query", "POST", "/api/v1/collections/notes/query", {"jsonpath": "$[?@.text]"}),
    ("get A's document", "GET", "/api/v1/collections/notes/documents/{doc}", None),
    ("replace A's document", "PUT", "/api/v1/collections/notes/documents/{doc}", {"text": "y"}),
    ("delete A's document", "DELETE", "/api/v1/collections/notes/documents/{doc}", None),
]

DATA_EXPECTED = {
    # anonymous, A, B, admin, disabled, deleted, reader (collections:notes:read only)
    "list collections":     [200, 200, 200, 200, 401, 401, 200],
    "create collection":    [401, 403, 403, 201, 401, 401, 403],
    "delete collection":    [401, 403, 403, 204, 401, 401, 403],
    "create document":      [401, 201, 201, 201, 401, 401, 201],
    "list documents":       [401, 200, 200, 200, 401, 401, 200],
    "query":                [401, 200, 200, 200, 401, 401, 200],
    "get A's document":     [401, 200, 404, 200, 401, 401, 200],
    "replace A's document": [401, 200, 404, 200, 401, 401, 403],
    "delete A's document":  [401, 204, 404, 204, 401, 401, 403],
}


def test_access_control_matrix_of_the_data_routes(server):
    """The same principals against the collection and document routes (owner rules)."""
    admin, tokens, ids = matrix_principals(server)
    assert call(server, "PUT", "/api/v1/collections/notes", {}, token=admin)[0] in (200, 201)
    mismatches = []
    for name, method, template, body in DATA_ROUTES:
        for index, principal in enumerate(PRINCIPALS):
            status, _, doc = call(server, "POST", "/api/v1/collections/notes/documents",
                                  {"text": "owned by A"}, token=tokens["A"])
            assert status == 201
            scratch = "scratch-%d" % index
            call(server, "PUT", "/api/v1/collections/" + scratch, {}, token=admin)
            call(server, "DELETE", "/api/v1/collections/matrix-new", token=admin)
            path = template.replace("{doc}", doc["_id"]).replace("{scratch}", scratch)
            status, _, answer = call(server, method, path, body, token=tokens[principal])
            if status != DATA_EXPECTED[name][index]:
                mismatches.append((name, principal, status, DATA_EXPECTED[name][index], answer))
    assert not mismatches, mismatches
    # Mass assignment through documents: server fields are not the client's to set.
    for field in ("_id", "_owner", "_rev", "_created_at"):
        status, _, _ = call(server, "POST", "/api/v1/collections/notes/documents",
                            {"text": "x", field: "forged"}, token=tokens["A"])
        assert status == 400, field
