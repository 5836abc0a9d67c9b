"""Accounts for black-box tests: the first admin from configuration, users
registered and logged in over the real HTTP API.

Start a server with `server_env()` in its environment to get the first admin
and rate limits loose enough for a test that registers many users from one
address (tests of the limits themselves set their own).
Passwords used here are collected in TEST_PASSWORDS so the log scan at the end
of a suite can prove none of them reached a log line.
"""
import itertools
import json
import os
import urllib.error
import urllib.request

ADMIN_USERNAME = "root-admin"
ADMIN_PASSWORD = "Adm1n passphrase for tests only"
USER_PASSWORD = "user passphrase 4 tests"
# Every password the suites type, right or wrong; NexuServer.cleanup checks
# that none reached a log line.
TEST_PASSWORDS = {ADMIN_PASSWORD, USER_PASSWORD, "a brand new passphrase",
                  "a strong admin passphrase", "wrong password here", "correct horse battery"}

_counter = itertools.count(1)


def server_env(**extra):
    env = {
        "NEXU_ADMIN_USERNAME": ADMIN_USERNAME,
        "NEXU_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "NEXU_RATE_AUTH_PER_ADDRESS": "100000/1s",
        "NEXU_RATE_API_PER_ADDRESS": "100000/1s",
    }
    env.update(extra)
    return env


def call(server, method, path, body=None, token=None, headers=None, raw=None):
    """One request; returns (status, headers dict with lower-case names, parsed JSON or bytes)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(server.base + path, data=data, method=method)
    if body is not None and raw is None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, _headers(response), _decode(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _headers(error), _decode(error.read())


def _headers(response):
    return {name.lower(): value for name, value in response.headers.items()}


def _decode(payload):
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return payload


def login(server, username, password):
    status, _, body = call(server, "POST", "/api/v1/auth/login",
                           {"username": username, "password": password})
    assert status == 200, (status, body)
    return body


def admin_token(server):
    return login(server, ADMIN_USERNAME, ADMIN_PASSWORD)["access_token"]


def register(server, username=None, password=USER_PASSWORD, email=None):
    username = username or "user%d-%d" % (os.getpid(), next(_counter))
    payload = {"username": username, "password": password}
    if email:
        payload["email"] = email
    status, _, body = call(server, "POST", "/api/v1/auth/register", payload)
    assert status == 201, (status, body)
    return body


def new_user(server, password=USER_PASSWORD):
    """Registers a fresh user and logs in: (user, access_token)."""
    user = register(server, password=password)
    return user, login(server, user["username"], password)["access_token"]
