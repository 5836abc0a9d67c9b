"""The OpenAPI document at /api/openapi.json, checked three ways: by a real
OpenAPI 3.1 validator (npm's @seriousme/openapi-schema-validator, which
validates against the official schemas and resolves every $ref); against the
route tables of ../shared/API.md (every route there is documented); and against
the server's real answers (each response's status is documented for its
operation, and its body validates against the documented JSON schema)."""
import json
import os
import re
import subprocess
import tempfile

import jsonschema
import pytest

from accounts import USER_PASSWORD, admin_token, call, login, new_user, server_env
from nexu_server import NexuServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
API_MD = os.path.join(ROOT, "..", "shared", "API.md")
VALIDATOR = "@seriousme/openapi-schema-validator@2.11.0"
METHODS = ("get", "put", "post", "patch", "delete", "head")


@pytest.fixture(scope="module")
def server():
    with NexuServer(env=server_env()) as running:
        yield running


@pytest.fixture(scope="module")
def document(server):
    status, _, body = call(server, "GET", "/api/openapi.json")
    assert status == 200
    return body


def validator_modules():
    """The pinned validator, installed once into the build tree's tool folder."""
    folder = os.environ.get("TEST_TOOLS_DIR") or os.path.join(ROOT, "build", "test-tools")
    marker = os.path.join(folder, "node_modules", "@seriousme", "openapi-schema-validator",
                          "package.json")
    if not os.path.exists(marker):
        os.makedirs(folder, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", folder, "--no-audit", "--no-fund",
                        "--no-save", VALIDATOR], check=True, timeout=300,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return folder


def validate_with_npm(document_text):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(document_text)
    try:
        return subprocess.run(
            ["node", os.path.join(HERE, "openapi_validate.mjs"), validator_modules(), f.name],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    finally:
        os.unlink(f.name)


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    result = validate_with_npm(json.dumps(document))
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["valid"] is True


def test_the_validator_catches_a_broken_document(document):
    # Proof that the check above can fail: a dangling $ref and an unknown field.
    broken = json.loads(json.dumps(document))
    broken["paths"]["/health"]["get"]["responses"]["200"]["descriptionX"] = "no such field"
    assert validate_with_npm(json.dumps(broken)).returncode != 0
    dangling = json.loads(json.dumps(document))
    dangling["paths"]["/health"]["get"]["responses"]["200"] = {"$ref": "#/components/responses/Nope"}
    assert validate_with_npm(json.dumps(dangling)).returncode != 0


def api_md_routes():
    """(METHOD, path) of every row of API.md's route tables."""
    row = re.compile(r"^\|\s*(GET|POST|PUT|PATCH|DELETE|HEAD)\s*\|\s*`([^`]+)`", re.M)
    with open(API_MD, encoding="utf-8") as f:
        return [(method, path.split("?")[0]) for method, path in row.findall(f.read())]


def shape(path):
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_route_of_the_contract_is_documented(document):
    routes = api_md_routes()
    assert len(routes) > 40, "API.md's tables were not found"
    documented = {(method.upper(), shape(path))
                  for path, operations in document["paths"].items()
                  for method in operations if method in METHODS}
    missing = [(m, p) for m, p in routes if (m, shape(p)) not in documented]
    assert not missing, missing


def test_every_operation_documents_its_errors(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            codes = set(operation["responses"])
            assert any(code.startswith("2") or code.startswith("3") or code == "101"
                       for code in codes), (method, path)
            if path.startswith("/api/v1/"):
                assert "429" in codes or "default" in codes, (method, path, "RateLimit")


# ---- real answers against the documented schemas ----

def find_operation(document, method, url_path):
    """The documented operation for a concrete path; literal paths win over templates."""
    candidates = []
    for template, operations in document["paths"].items():
        pattern = re.escape(template)
        pattern = pattern.replace(re.escape("{path}"), ".+")
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        if re.fullmatch(pattern, url_path) and method.lower() in operations:
            candidates.append((template.count("{"), template, operations[method.lower()]))
    assert candidates, "%s %s is not documented" % (method, url_path)
    return sorted(candidates, key=lambda c: c[0])[0][1:]


def resolve(document, node):
    while isinstance(node, dict) and "$ref" in node and len(node) == 1:
        target = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def check_answer(document, method, url_path, status, headers, body):
    template, operation = find_operation(document, method, url_path.split("?")[0])
    responses = operation["responses"]
    key = str(status) if str(status) in responses else "default"
    assert key in responses, "%s %s answered %d, not documented" % (method, template, status)
    response = resolve(document, responses[key])
    content_type = headers.get("content-type", "").split(";")[0].strip()
    if body is None or method == "HEAD":
        return
    content = response.get("content", {})
    # The most specific documented media range that covers the answer's type.
    ranges = [content_type, content_type.split("/")[0] + "/*", "*/*"]
    documented = next((r for r in ranges if r in content), None)
    assert documented, "%s %s %d: %s not documented (%s)" % (
        method, template, status, content_type, list(content))
    schema = content[documented].get("schema")
    if schema is None or not content_type.endswith("json"):
        return
    resolver = jsonschema.RefResolver(base_uri="", referrer=document)
    validator = jsonschema.Draft202012Validator(schema, resolver=resolver)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "%s %s %d: %s" % (method, template, status,
                                          "; ".join(e.message for e in errors[:5]))


def test_real_answers_match_the_documented_schemas(server, document):
    admin = admin_token(server)
    user, token = new_user(server)
    _, other_token = new_user(server)
    seen = []

    def exchange(method, path, body=None, bearer=None, headers=None, raw=None):
        status, response_headers, out = call(server, method, path, body, bearer, headers, raw)
        check_answer(document, method, path, status, response_headers, out)
        seen.append((method, path, status))
        return status, response_headers, out

    assert exchange("GET", "/health")[0] == 200
    assert exchange("GET", "/ready")[0] == 200
    assert exchange("GET", "/api/v1/auth/me", bearer=token)[0] == 200
    assert exchange("GET", "/api/v1/auth/me")[0] == 401
    assert exchange("POST", "/api/v1/auth/ws-ticket", bearer=token)[0] == 200
    assert exchange("POST", "/api/v1/auth/login",
                    {"username": user["username"], "password": "wrong password here"})[0] == 401
    assert exchange("POST", "/api/v1/auth/register", {"username": "x"})[0] == 422
    assert exchange("GET", "/api/v1/users", bearer=admin)[0] == 200
    assert exchange("GET", "/api/v1/users", bearer=token)[0] == 403
    assert exchange("GET", "/api/v1/users/" + user["id"], bearer=token)[0] == 200
    assert exchange("GET", "/api/v1/roles", bearer=admin)[0] == 200
    assert exchange("PUT", "/api/v1/roles/oa-editor", {"permissions": ["files:read"]},
                    admin)[0] == 201
    session = login(server, user["username"], USER_PASSWORD)
    status, _, renewed = exchange("POST", "/api/v1/auth/refresh",
                                  {"refresh_token": session["refresh_token"]})
    assert status == 200
    assert exchange("POST", "/api/v1/auth/logout", {"refresh_token": renewed["refresh_token"]},
                    renewed["access_token"])[0] == 204

    name = "oa%d" % (os.getpid() % 100000)
    assert exchange("PUT", "/api/v1/collections/" + name,
                    {"rules": {"read": "authenticated", "write": "authenticated"},
                     "indexes": ["age"]}, admin)[0] == 201
    assert exchange("GET", "/api/v1/collections", bearer=token)[0] == 200
    docs = "/api/v1/collections/%s/documents" % name
    status, headers, created = exchange("POST", docs, {"name": "ada", "age": 36}, token)
    assert status == 201
    one = docs + "/" + created["_id"]
    assert exchange("GET", one, bearer=token)[0] == 200
    assert exchange("GET", one, bearer=token, headers={"If-None-Match": headers["etag"]})[0] == 304
    assert exchange("PUT", one, {"name": "ada", "age": 37}, token,
                    headers={"If-Match": '"999"'})[0] == 412
    assert exchange("PATCH", one, None, token, raw=b'{"age": 38}',
                    headers={"Content-Type": "application/merge-patch+json"})[0] == 200
    assert exchange("PATCH", one, {"age": 39}, token)[0] == 415
    assert exchange("POST", docs, None, token, raw=b'{"a": ',
                    headers={"Content-Type": "application/json"})[0] == 400
    assert exchange("POST", docs, {"_id": "mine"}, token)[0] == 400
    assert exchange("GET", docs + "?limit=1", bearer=token)[0] == 200
    assert exchange("GET", docs + "?cursor=not-a-cursor", bearer=token)[0] == 400
    assert exchange("GET", docs + "/0190a0c0-0000-7000-8000-000000000000", bearer=token)[0] == 404
    assert exchange("GET", "/api/v1/collections/nope-%s/documents" % name, bearer=token)[0] == 404
    query = "/api/v1/collections/%s/query" % name
    assert exchange("POST", query, {"jsonpath": "$[?@.age > 30]"}, token)[0] == 200
    assert exchange("POST", query, {"jsonpath": "$[?@.age >"}, token)[0] == 400

    assert exchange("PUT", "/api/v1/files/oa/readme.txt", None, token, raw=b"hello",
                    headers={"Content-Type": "text/plain"})[0] in (200, 201)
    assert exchange("GET", "/api/v1/files?prefix=oa/", bearer=token)[0] == 200
    assert exchange("GET", "/api/v1/files/oa/..%2Fsecret", bearer=token)[0] == 400
    assert exchange("GET", "/api/v1/files/oa/readme.txt", bearer=token)[0] == 200
    assert exchange("GET", "/api/v1/files/oa/readme.txt", bearer=token,
                    headers={"Range": "bytes=1-2"})[0] == 206
    assert exchange("GET", "/api/v1/files/oa/readme.txt", bearer=token,
                    headers={"Range": "bytes=50-"})[0] == 416
    assert exchange("HEAD", "/api/v1/files/oa/readme.txt", bearer=token)[0] == 200
    assert exchange("DELETE", "/api/v1/files/oa/readme.txt", bearer=token)[0] == 204

    status, _, room = exchange("POST", "/api/v1/chat/rooms", {"name": "openapi room"}, token)
    assert status == 201
    assert exchange("GET", "/api/v1/chat/rooms", bearer=token)[0] == 200
    messages = "/api/v1/chat/rooms/%s/messages" % room["id"]
    assert exchange("POST", messages, {"text": "hello"}, token)[0] == 201
    assert exchange("POST", messages, {"text": ""}, token)[0] == 422
    assert exchange("GET", messages + "?after=0", bearer=token)[0] == 200
    assert exchange("DELETE", "/api/v1/collections/" + name, bearer=other_token)[0] == 403
    assert exchange("DELETE", "/api/v1/collections/" + name, bearer=admin)[0] == 204
    assert len(seen) >= 40
