"""Helpers for the emulator tests: a small known mailbox and real Google API client objects."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

import google_auth_httplib2
import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.http import BatchHttpRequest

from server.gmail.emulator import GmailEmulator

REP = "alex@northwind-demo.com"
BASE_MS = 1_700_000_000_000


def message(mid: str, tid: str, labels: Sequence[str], offset_ms: int, *,
            sender: str = "Pat Doe <pat@acme.test>", to: str = f"Alex Rivera <{REP}>",
            subject: str = "Pilot", extra: Sequence[tuple[str, str]] = (),
            history: int = 100) -> dict[str, Any]:
    """A metadata-format message."""
    headers = [("From", sender), ("To", to), ("Subject", subject),
               ("Date", "Tue, 14 Nov 2023 22:13:20 +0000"), *extra]
    return {
        "id": mid, "threadId": tid, "labelIds": list(labels), "snippet": "",
        "historyId": str(history), "internalDate": str(BASE_MS + offset_ms),
        "sizeEstimate": 1234,
        "payload": {"mimeType": "multipart/alternative",
                    "headers": [{"name": n, "value": v} for n, v in headers]},
    }


def small_mailbox() -> dict[str, Any]:
    """Six threads with known order, labels and headers.

    Newest visible message per thread: f 8000 (draft), a 5000, c 4000, b 3000, e 500
    (its newer message is in TRASH); d 6000 is SPAM.
    """
    rep_from = f"Alex Rivera <{REP}>"
    prospect = "Pat Doe <pat@acme.test>"
    news = [("List-Id", "Weekly <weekly.news.test>"), ("List-Unsubscribe", "<https://x.test/u>")]
    threads = [
        ("a1", [message("a1", "a1", ["SENT"], 1000, sender=rep_from, to=prospect, history=101),
                message("a2", "a1", ["INBOX", "UNREAD"], 5000, history=105)]),
        ("b1", [message("b1", "b1", ["SENT"], 2000, sender=rep_from, to=prospect, history=102),
                message("b2", "b1", ["SENT", "IMPORTANT"], 3000, sender=rep_from, to=prospect,
                        history=103)]),
        ("c1", [message("c1", "c1", ["INBOX", "CATEGORY_PROMOTIONS"], 4000,
                        sender="News <news@news.test>", extra=news, history=104)]),
        ("d1", [message("d1", "d1", ["SPAM"], 6000, sender="Crook <x@crook.test>",
                        history=106)]),
        ("e1", [message("e1", "e1", ["SENT"], 500, sender=rep_from, to=prospect, history=100),
                message("e2", "e1", ["INBOX", "TRASH"], 7000, history=107)]),
        ("f1", [message("f1", "f1", ["DRAFT"], 8000, sender=rep_from, to=prospect,
                        history=108)]),
    ]
    return {"emailAddress": REP, "historyId": "110",
            "threads": [{"id": tid, "historyId": msgs[-1]["historyId"], "messages": msgs}
                        for tid, msgs in threads]}


def many_threads(count: int) -> dict[str, Any]:
    """`count` single-message inbox threads, thread i at offset i seconds."""
    threads = []
    for i in range(count):
        mid = f"{i:016x}"
        threads.append({"id": mid, "historyId": str(10 + i),
                        "messages": [message(mid, mid, ["INBOX"], i * 1000, history=10 + i)]})
    return {"emailAddress": REP, "historyId": str(10 + count), "threads": threads}


def gmail(emu: GmailEmulator, token: str = "test-token", timeout: float | None = None) -> Any:
    """The real client, built from the packaged discovery document, pointed at the emulator."""
    creds = Credentials(token)
    if timeout is None:
        return build("gmail", "v1", credentials=creds, static_discovery=True,
                     client_options={"api_endpoint": emu.url})
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=timeout))
    return build("gmail", "v1", http=http, static_discovery=True,
                 client_options={"api_endpoint": emu.url})


def batch(emu: GmailEmulator, results: dict[str, tuple[Any, Any]]) -> BatchHttpRequest:
    """A batch aimed at the emulator (the library would otherwise use Google's batch URI)."""
    def collect(request_id: str, response: Any, exception: Any) -> None:
        results[request_id] = (response, exception)
    return BatchHttpRequest(callback=collect, batch_uri=emu.url + "batch/gmail/v1")


def raw(emu: GmailEmulator, path: str, *, method: str = "GET", token: str | None = "test-token",
        body: bytes | None = None, headers: dict[str, str] | None = None
        ) -> tuple[int, dict[str, str], bytes]:
    """Send one HTTP request with urllib (no client library) and return status, headers, body."""
    req = urllib.request.Request(emu.url + path.lstrip("/"), data=body, method=method)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback only
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers.items()), err.read()


def error_of(content: bytes) -> dict[str, Any]:
    """The `error` object of a Google-style error body."""
    data: dict[str, Any] = json.loads(content)
    return data["error"]


def run_and_close(service: Any, fn: Callable[[Any], Any]) -> Any:
    """Run fn(service) and close the client's connections afterwards."""
    try:
        return fn(service)
    finally:
        service.close()
