"""/connect/ pages refuse to be framed; database errors never carry SQL parameters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from server.store.db import get_db
from server.store.models import GetBack

NOW = datetime.now(UTC)


@pytest.mark.parametrize("path", ["/connect/", "/connect/start", "/connect/callback?state=x"])
def test_connect_pages_cannot_be_framed(client: Any, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code < 500
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_database_errors_hide_their_parameters(app: Any, demo_ids: Any) -> None:
    secret_note = "the prospect's private reason 7f3a"
    secret_address = "prospect-7f3a@fabrikam.example"
    with pytest.raises(IntegrityError) as caught, get_db(app).engine.begin() as conn:
        conn.execute(
            insert(GetBack),
            {
                "org_id": demo_ids.org_id,
                "user_id": 2**31 - 1,  # no such user: the foreign key refuses the row
                "prospect_email": secret_address,
                "note": secret_note,
                "kind": "getback",
                "status": "scheduled",
                "due_at": NOW,
                "created_at": NOW,
                "updated_at": NOW,
            },
        )
    text = str(caught.value)
    assert "INSERT INTO getbacks" in text
    assert secret_note not in text and secret_address not in text
