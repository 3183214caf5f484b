"""One error shape everywhere, and a lost database is a 503 to retry, never a bare 500."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError


def test_unknown_api_path_is_json_404(client: Any) -> None:
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == 404


def test_unknown_page_is_html_404(client: Any) -> None:
    resp = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert resp.status_code == 404
    assert resp.mimetype == "text/html" and b"<h1>404</h1>" in resp.data


def _refused() -> OperationalError:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("port 1 accepted a connection")


def test_database_outage_is_503_with_retry_after(app: Any) -> None:
    error = _refused()

    @app.get("/api/v1/_outage")
    def outage() -> Any:
        raise error

    resp = app.test_client().get("/api/v1/_outage")
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "5"
    assert "retry" in resp.get_json()["error"]["message"]


def test_other_errors_are_a_clean_500_without_details(app: Any) -> None:
    @app.get("/api/v1/_boom")
    def boom() -> Any:
        raise RuntimeError("secret internals")

    resp = app.test_client().get("/api/v1/_boom")
    assert resp.status_code == 500
    assert b"secret internals" not in resp.data
    assert resp.get_json()["error"]["code"] == 500
