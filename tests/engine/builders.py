"""Build Gmail `threads.get(format="metadata")` dicts for tests, tersely."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any


def millis(at: datetime) -> str:
    """Return Gmail's internalDate for a moment: epoch milliseconds as a string."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return str(int(aware.timestamp() * 1000))


def msg(
    id: str,
    at: datetime,
    frm: str | None,
    to: Iterable[str] = (),
    cc: Iterable[str] = (),
    labels: Iterable[str] = (),
    headers: Mapping[str, str] | None = None,
    *,
    thread_id: str = "",
    subject: str | None = "Proposal",
) -> dict[str, Any]:
    """Build one metadata message; `frm=None` leaves out the From header."""
    head: list[dict[str, str]] = []
    if frm is not None:
        head.append({"name": "From", "value": frm})
    to, cc = list(to), list(cc)
    if to:
        head.append({"name": "To", "value": ", ".join(to)})
    if cc:
        head.append({"name": "Cc", "value": ", ".join(cc)})
    if subject is not None:
        head.append({"name": "Subject", "value": subject})
    for name, value in (headers or {}).items():
        head.append({"name": name, "value": value})
    return {
        "id": id,
        "threadId": thread_id,
        "labelIds": list(labels),
        "internalDate": millis(at),
        "historyId": "1",
        "payload": {"headers": head},
    }


def sent(id: str, at: datetime, to: Iterable[str] = (), cc: Iterable[str] = (), **kw: Any) -> dict:
    """Build a message the rep sent (label SENT) from rep@acme.com."""
    frm = kw.pop("frm", "Rita Rep <rep@acme.com>")
    return msg(id, at, frm, to, cc, labels=("SENT", *kw.pop("labels", ())), **kw)


def received(
    id: str, at: datetime, frm: str, to: Iterable[str] = ("rep@acme.com",), **kw: Any
) -> dict:
    """Build an inbound message (label INBOX) addressed to the rep."""
    return msg(id, at, frm, to, labels=("INBOX", *kw.pop("labels", ())), **kw)


def thread(id: str, *msgs: dict[str, Any]) -> dict[str, Any]:
    """Wrap messages into a thread resource, filling in their threadId."""
    for m in msgs:
        m["threadId"] = id
    return {"id": id, "historyId": "1", "messages": list(msgs)}


def corpus_answer(
    sample: Any, tid: str, rep: str, sent_at: datetime, labels: Iterable[str]
) -> dict:
    """A corpus sample (id, frm, headers, subject, mime) as the answer to the rep's mail."""
    message = msg(f"{tid}-b", sent_at + timedelta(hours=3), sample.frm, [rep],
                  labels=list(labels), headers=dict(sample.headers), subject=sample.subject)
    if sample.mime:
        message["payload"]["mimeType"] = sample.mime
    return message


def corpus_mailbox(
    samples: Iterable[Any], rep: str, sent_at: datetime, labels: Iterable[str]
) -> dict[str, Any]:
    """A mailbox file: per sample, one thread of the rep's proposal and the sample answering it."""
    from server.engine.headers import parse_addresses

    labels = list(labels)
    threads = []
    for sample in samples:
        tid = f"t-{sample.id}"
        usable = parse_addresses(sample.frm)
        prospect = usable[0].email if usable else "pat@buyer.com"
        ours = sent(f"{tid}-a", sent_at, to=[prospect], subject="Proposal for Q3")
        threads.append(thread(tid, ours, corpus_answer(sample, tid, rep, sent_at, labels)))
    return {"emailAddress": rep, "historyId": "1", "threads": threads}
