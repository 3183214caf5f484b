"""Helpers for the admin tests: sign in through the real forms, post with the CSRF token,
and a small mailbox for the demo rep whose silences we know."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

REP = "alex@northwind-demo.com"
ADMIN = "morgan@northwind-demo.com"
OTHER_REP = "jordan@northwind-demo.com"
OTHER_ORG_ADMIN = "casey@contoso-demo.com"
PASSWORD = "demo"

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_of(client: FlaskClient) -> str:
    """The CSRF token of the client's session, read from a page like a browser would."""
    page = client.get("/auth/signin")
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, "every page carries the CSRF token in a meta tag"
    return match.group(1)


def demo_sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    """Sign in through the demo's local form."""
    return client.post(
        "/auth/demo",
        data={"email": email, "password": password, "csrf_token": csrf_of(client)},
    )


def post(
    client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kw: Any
) -> TestResponse:
    """POST a form with the session's CSRF token added."""
    return client.post(url, data={**(data or {}), "csrf_token": csrf_of(client)}, **kw)


def field_error(html: str, name: str) -> str:
    """The message shown next to a field (empty when there is none)."""
    match = re.search(
        rf'<p class="field-error" id="{re.escape(name)}-error"[^>]*>([^<]*)</p>', html
    )
    return match.group(1) if match else ""


def input_value(html: str, name: str) -> str:
    """The value an <input> or <textarea> shows."""
    match = re.search(
        rf'<input id="{re.escape(name)}" name="{re.escape(name)}"[^>]*value="([^"]*)"', html
    )
    if match:
        return match.group(1)
    match = re.search(
        rf'<textarea id="{re.escape(name)}" name="{re.escape(name)}"[^>]*>([^<]*)</textarea>', html
    )
    return match.group(1) if match else ""


def _millis(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


def _message(
    mid: str, tid: str, at: datetime, frm: str, to: str, subject: str, sent: bool
) -> dict[str, Any]:
    return {
        "id": mid,
        "threadId": tid,
        "labelIds": ["SENT"] if sent else ["INBOX"],
        "internalDate": _millis(at),
        "historyId": "10",
        "payload": {
            "headers": [
                {"name": "From", "value": frm},
                {"name": "To", "value": to},
                {"name": "Subject", "value": subject},
            ]
        },
    }


ALEX = "Alex Rivera <alex@northwind-demo.com>"


def small_mailbox(now: datetime) -> dict[str, Any]:
    """Four threads of the demo rep with known shapes, relative to `now`."""
    day = timedelta(days=1)
    n = now.astimezone(UTC)
    threads = []

    def add(tid: str, subject: str, *msgs: tuple[datetime, str, str, bool]) -> None:
        messages = [
            _message(f"{tid}-m{i}", tid, at, frm, to, subject, sent)
            for i, (at, frm, to, sent) in enumerate(msgs)
        ]
        threads.append({"id": tid, "historyId": "10", "messages": messages})

    bob = "Bob Stone <bob@globex-corp.com>"
    # Answered once, then two follow-ups without an answer: went silent 10 days ago.
    add(
        "t-globex",
        "Pilot for the support team",
        (n - 23 * day, ALEX, bob, True),
        (n - 22 * day, bob, ALEX, False),
        (n - 10 * day, ALEX, bob, True),
        (n - 7 * day, ALEX, bob, True),
    )
    peter = "Peter Gibbons <peter@initech.io>"
    add(
        "t-initech",
        "Licence renewal",
        (n - 80 * day, ALEX, peter, True),
        (n - 75 * day, peter, ALEX, False),
        (n - 61 * day, ALEX, peter, True),
    )
    # Never answered at all: cold, 17 days.
    add(
        "t-umbrella",
        "Intro: faster onboarding",
        (n - 17 * day, ALEX, "Alice Moore <alice@umbrella-labs.com>", True),
    )
    gavin = "Gavin Belson <gavin@hooli.xyz>"
    # The prospect wrote last: a reply is owed.
    add(
        "t-hooli",
        "Security questions",
        (n - 4 * day, ALEX, gavin, True),
        (n - 3 * day, gavin, ALEX, False),
    )
    return {"emailAddress": "alex@northwind-demo.com", "historyId": "10", "threads": threads}
