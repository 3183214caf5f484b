"""The served OpenAPI document: generated, valid OpenAPI 3.0, complete."""

from __future__ import annotations

import re
from typing import Any

from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

from server.api.openapi import build_spec

METHODS = {"get", "post", "patch", "delete", "put"}


def _doc(client: Any) -> dict[str, Any]:
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    data: dict[str, Any] = resp.get_json()
    return data


def test_served_without_auth_and_equal_to_the_generated_spec(client: Any) -> None:
    assert _doc(client) == build_spec()


def test_is_valid_openapi_3(client: Any) -> None:
    doc = _doc(client)
    assert doc["openapi"].startswith("3.0")
    errors = [e.message for e in OPENAPI_30_VALIDATOR.iter_errors(doc)]
    assert errors == []


def test_every_reference_resolves(client: Any) -> None:
    doc = _doc(client)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref is not None:
                target: Any = doc
                for part in ref.removeprefix("#/").split("/"):
                    target = target[part]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)


def test_bearer_scheme_and_documented_responses(client: Any) -> None:
    doc = _doc(client)
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A Google OAuth 2.0 access token with the email scope.",
    }
    error_ref = {"$ref": "#/components/schemas/Error"}
    for name, response in doc["components"]["responses"].items():
        assert response["content"]["application/json"]["schema"] == error_ref, name
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            label = f"{method.upper()} {path}"
            assert op["security"] == [{"bearer": []}], label
            assert op["summary"] and op["operationId"], label
            codes = set(op["responses"])
            assert {"401", "403", "429", "503"} <= codes, label
            ok = [c for c in codes if c.startswith("2")]
            assert len(ok) == 1, label
            assert "schema" in op["responses"][ok[0]]["content"]["application/json"], label
            if "requestBody" in op:
                assert {"400", "422"} <= codes, label
            if "{" in path:
                assert "404" in codes, label
    headers = doc["components"]["responses"]["TooManyRequests"]["headers"]
    assert "Retry-After" in headers
    assert "WWW-Authenticate" in doc["components"]["responses"]["Unauthorized"]["headers"]


def test_every_api_route_is_documented(app: Any, client: Any) -> None:
    doc = _doc(client)
    documented = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods & {m.upper() for m in METHODS}:
            served.add((method.lower(), path))
    assert served == documented


def test_schemas_come_from_marshmallow(client: Any) -> None:
    schemas = _doc(client)["components"]["schemas"]
    body = schemas["GuidanceIn"]
    assert body["additionalProperties"] is False
    assert body["properties"]["threadId"]["pattern"] == "^[A-Za-z0-9_-]{1,64}$"
    assert schemas["PressureIn"]["properties"]["text"]["maxLength"] == 20_000
    assert schemas["PressureIn"]["required"] == ["text"]
    assert set(schemas["GuidanceOut"]["properties"]) >= {"nag", "sentence", "plays", "getback"}
