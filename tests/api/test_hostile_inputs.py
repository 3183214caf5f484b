"""The attack run's payload families against every endpoint the app serves.

Every rule of the URL map is called with every method it takes, as a caller who passes that
surface's authentication (a rep's token on the API, Google-signed tokens on the add-on, push
and tasks, a signed-in admin with a CSRF token on the pages), with hostile path values, query
strings and bodies. Nothing may answer 5xx, and nothing stored may change.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from server.store.db import get_db
from server.store.models import Base, Team
from tests.addon.stand_in import (
    ADDON_CLIENT_ID,
    BASE_URL,
    KID,
    SERVICE_ACCOUNT,
    CertServer,
    Event,
    KeyPair,
    make_key,
)
from tests.addon.stand_in import Tokens as GoogleTokens
from tests.admin.helpers import ADMIN, csrf_of, demo_sign_in
from tests.api.conftest import Seeded, Tokens

PUSH_ACCOUNT = "push@stepback-test.iam.gserviceaccount.com"
SCHEDULER_ACCOUNT = "scheduler@stepback-test.iam.gserviceaccount.com"
# Rows that requests may write without changing anything a person stored.
VOLATILE_TABLES = {"web_sessions"}

NUL = "nul\x00byte"
FIELDS = (
    "threadId recipients note dueAt prospectEmail timezone proposedAt locale play variant "
    "text body limit kind surface name email team_id role internal_domains threshold_days "
    "day_mode reply_target_hours holiday_country holiday_subdiv default_threshold_days "
    "threshold_override_days enabled service_account message"
).split()
EXTREME = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")

JSON_BODIES: dict[str, bytes] = {
    "deep": ("[" * 50_000 + "]" * 50_000).encode(),
    "deep-object": ('{"a":' * 20_000 + "1" + "}" * 20_000).encode(),
    "digits": ('{"variant": ' + "9" * 5000 + ', "limit": ' + "9" * 5000 + "}").encode(),
    "nul": json.dumps({f: NUL for f in FIELDS} | {"recipients": [NUL]}).encode(),
    "dates": json.dumps(
        {"dueAt": EXTREME[0], "proposedAt": EXTREME[1], "threadId": "t1", "note": ""}
    ).encode(),
    "zones": json.dumps(
        {"timezone": "America", "recipients": ["a@b.example"], "threadId": "t1"}
    ).encode(),
    "types": json.dumps({f: [{"x": None}] for f in FIELDS}).encode(),
    "long": json.dumps({f: "x" * 70_000 for f in FIELDS[:12]}).encode(),
    "not-json": b'{"unterminated": ',
    "big": b'{"text": "' + b"x" * (1_100_000) + b'"}',
}
FORM_BODIES: dict[str, dict[str, str]] = {
    "form-nul": {f: NUL for f in FIELDS},
    "form-long": {f: "9" * 5000 for f in FIELDS},
    "form-zone": {"timezone": "America", "name": NUL, "day_mode": "business"},
}
QUERY = "?page=99999999999999999999&per_page=-1&kind=%00&due=%00&limit=1e309&next=//evil.example"
HOSTILE_IDS = ("0", "2147483648", "99999999999999999999")
HOSTILE_STRINGS = ("%00", "America", "x" * 300, "..%2f..%2fetc%2fpasswd")


@pytest.fixture(scope="module")
def google_key() -> KeyPair:
    return make_key()


@pytest.fixture
def certs(google_key: KeyPair) -> Iterator[CertServer]:
    server = CertServer({KID: google_key.cert_pem.decode()})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app_config(app_config: dict[str, Any], certs: CertServer) -> dict[str, Any]:
    return {
        **app_config,
        "API_RATE_LIMIT": "100000 per minute",
        "DEMO_LOGIN": True,
        "SESSION_COOKIE_SECURE": False,
        "ADDON_SERVICE_ACCOUNT": SERVICE_ACCOUNT,
        "ADDON_CLIENT_ID": ADDON_CLIENT_ID,
        "GOOGLE_CERTS_URL": certs.url,
        "PUBLIC_BASE_URL": BASE_URL,
        "PUBSUB_SERVICE_ACCOUNT": PUSH_ACCOUNT,
        "SCHEDULER_SERVICE_ACCOUNT": SCHEDULER_ACCOUNT,
        "PUSH_SYNC_MODE": "inline",
        "PUBSUB_TOPIC": "projects/stepback-test/topics/gmail",
    }


def snapshot(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of every table (but the volatile ones), in key order."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with get_db(app).engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in VOLATILE_TABLES:
                continue
            rows = conn.execute(select(table).order_by(*table.primary_key.columns))
            found[table.name] = [tuple(r) for r in rows]
    return found


def _service_token(google: GoogleTokens, path: str, account: str) -> str:
    now = int(time.time())
    return google.sign(
        {
            "iss": "https://accounts.google.com",
            "aud": BASE_URL + path,
            "sub": "1234567890",
            "email": account,
            "email_verified": True,
            "iat": now,
            "exp": now + 3600,
        }
    )


def _paths(rule: Any, real: dict[str, str]) -> list[str]:
    """The rule's path with hostile values (and, once, real ones) for its arguments."""
    if not rule.arguments:
        return [rule.rule]
    variants: list[dict[str, str]] = []
    for i in range(len(HOSTILE_IDS)):
        values = {}
        for arg in rule.arguments:
            kind = type(rule._converters[arg]).__name__
            pool = HOSTILE_IDS if kind == "IntegerConverter" else HOSTILE_STRINGS
            values[arg] = pool[i % len(pool)]
        variants.append(values)
    if all(arg in real for arg in rule.arguments):
        variants.append({arg: real[arg] for arg in rule.arguments})
    paths = []
    for values in variants:
        path = rule.rule
        for arg in rule.arguments:
            for token in (f"<int:{arg}>", f"<path:{arg}>", f"<{arg}>"):
                path = path.replace(token, values[arg])
        paths.append(path)
    return paths


# Calls that change data by design whatever their body holds (a real team's delete, a
# template reset, signing out); they are driven with hostile ids only.
DESTRUCTIVE = ("/delete", "/reset", "/auth/signout")


def test_no_endpoint_answers_5xx_or_changes_stored_data(
    app: Any, client: Any, tokens: Tokens, seeded: Seeded, google_key: KeyPair
) -> None:
    google = GoogleTokens(google_key)
    assert demo_sign_in(client, ADMIN).status_code == 302
    csrf = csrf_of(client)
    with get_db(app).session() as s:
        team = s.scalar(select(Team).where(Team.org_id == seeded.org_id).order_by(Team.id))
        assert team is not None
        real = {"team_id": str(team.id), "user_id": str(seeded.alex_id), "play": "step_back"}
    rep_header = Tokens.header(tokens.alex)
    before = snapshot(app)
    failures: list[str] = []
    calls = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/assets/"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for path in _paths(rule, real):
                is_real = any(v in path for v in real.values() if v.isdigit())
                if method != "GET" and is_real and path.endswith(DESTRUCTIVE):
                    continue
                if path.startswith(DESTRUCTIVE[2]):
                    continue
                headers: dict[str, str] = {"X-CSRF-Token": csrf}
                if path.startswith(("/api/", "/demo/panel/api/")):
                    headers.update(rep_header)
                elif path.startswith("/addon/"):
                    headers["Authorization"] = f"Bearer {google.system(path)}"
                elif path.startswith("/gmail/push"):
                    token = _service_token(google, path, PUSH_ACCOUNT)
                    headers["Authorization"] = f"Bearer {token}"
                elif path.startswith("/tasks/"):
                    token = _service_token(google, path, SCHEDULER_ACCOUNT)
                    headers["Authorization"] = f"Bearer {token}"
                attempts: list[dict[str, Any]] = [{"query_string": QUERY[1:]}]
                if method != "GET":
                    attempts = [
                        {"data": body, "content_type": "application/json"}
                        for body in JSON_BODIES.values()
                    ] + [{"data": form} for form in FORM_BODIES.values()]
                    if path.startswith("/addon/"):
                        event = Event(user_token=google.user("alex@northwind-demo.com"))
                        event.timezone = "America"  # a folder of the zone database, no zone
                        event.params = {"threadId": NUL, "dueAt": EXTREME[0], "play": NUL}
                        event.form = {"due": {"dateTimeInput": {"msSinceEpoch": "9" * 5000}}}
                        attempts.append({"json": event.body()})
                for kw in attempts:
                    calls += 1
                    resp = client.open(path, method=method, headers=headers, **kw)
                    if resp.status_code >= 500:
                        failures.append(f"{method} {path[:80]} {str(kw)[:60]}: {resp.status_code}")
    assert calls > 500
    assert failures == []
    assert snapshot(app) == before


def test_nested_payloads_inside_push_and_key_uploads(
    app: Any, client: Any, seeded: Seeded, google_key: KeyPair
) -> None:
    """JSON inside JSON (Pub/Sub's base64 data) and inside an upload meets the same guard."""
    import base64
    import io

    google = GoogleTokens(google_key)
    before = snapshot(app)
    deep = b"[" * 60_000 + b"]" * 60_000
    for inner in (deep, b'{"emailAddress": "a@b.example", "historyId": ' + b"9" * 5000 + b"}"):
        envelope = {"message": {"data": base64.b64encode(inner).decode(), "messageId": "1"}}
        token = _service_token(google, "/gmail/push", PUSH_ACCOUNT)
        resp = client.post(
            "/gmail/push", json=envelope, headers={"Authorization": f"Bearer {token}"}
        )
        assert resp.status_code == 400
    assert demo_sign_in(client, ADMIN).status_code == 302
    upload = {
        "csrf_token": csrf_of(client),
        "enabled": "on",
        "dwd_key": (io.BytesIO(b"[" * 8000 + b"]" * 8000), "key.json"),
    }
    resp = client.post("/admin/delegation", data=upload, content_type="multipart/form-data")
    assert resp.status_code == 400
    assert "not JSON" in resp.get_data(as_text=True)
    assert snapshot(app) == before


def test_without_any_token_nothing_is_parsed_into_a_500(app: Any, seeded: Seeded) -> None:
    """The attack run's 500 without a token: deep JSON at every POST, no credentials at all."""
    anonymous = app.test_client()
    before = snapshot(app)
    posts = [r.rule for r in app.url_map.iter_rules() if "POST" in (r.methods or ())]
    assert any(p.startswith("/addon/") for p in posts)
    for path in posts:
        if "<" in path:
            continue
        for body in (JSON_BODIES["deep"], JSON_BODIES["deep-object"], JSON_BODIES["digits"]):
            resp = anonymous.post(path, data=body, content_type="application/json")
            assert resp.status_code < 500, path
            if resp.is_json:
                assert set(resp.get_json()["error"]) >= {"code", "message"}, path
    assert snapshot(app) == before
