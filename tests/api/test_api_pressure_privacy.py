"""The pressure check never stores or logs the draft it was given."""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from server.store.db import get_db
from server.store.models import Base
from tests.api.conftest import Tokens


def _every_stored_value(app: Any) -> str:
    with get_db(app).session() as s:
        dumped = []
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)):
                dumped.append(repr(tuple(row)))
    return "\n".join(dumped)


def _drafts(marker: str) -> list[tuple[Any, str]]:
    """Bodies that reach the check, fail validation, or fail to parse; all carry the marker."""
    return [
        ({"text": f"Just checking in about {marker}, any update?"}, "ok"),
        ({"text": f"{marker} " + "x" * 20_000}, "too long"),
        ({"text": f"{marker}", "extra": marker}, "unknown field"),
        (f'{{"text": "{marker}', "broken json"),
    ]


@pytest.fixture
def marker() -> str:
    return f"SECRET-DRAFT-{uuid.uuid4().hex}"


def test_no_trace_in_database_logs_or_errors(
    api: Any, app: Any, caplog: pytest.LogCaptureFixture, marker: str
) -> None:
    caplog.set_level(logging.DEBUG)
    for body, _label in _drafts(marker):
        if isinstance(body, str):
            resp = api(
                "post", "/pressure-check", data=body, headers={"Content-Type": "application/json"}
            )
        else:
            resp = api("post", "/pressure-check", json=body)
        text = resp.get_data(as_text=True)
        if resp.status_code == 200:
            # The findings quote the flagged phrases, never the rest of the draft.
            assert marker not in text and json.loads(text)["findings"]
        else:
            assert resp.status_code in (400, 422) and marker not in text
    assert marker not in caplog.text
    assert marker not in _every_stored_value(app)


def test_no_trace_in_a_real_servers_access_log(
    app: Any, seeded: Any, tokens: Tokens, caplog: pytest.LogCaptureFixture, marker: str
) -> None:
    caplog.set_level(logging.DEBUG)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/api/v1/pressure-check"
        for body, _label in _drafts(marker):
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            req = urllib.request.Request(
                url,
                data=data,
                method="POST",
                headers={"Content-Type": "application/json", **Tokens.header(tokens.alex)},
            )
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    assert marker not in resp.read().decode()
            except urllib.error.HTTPError as err:
                assert err.code in (400, 422) and marker not in err.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    # The access log was written (so we looked at the right place) and holds no draft.
    assert "/api/v1/pressure-check" in caplog.text
    assert marker not in caplog.text
    assert marker not in _every_stored_value(app)
