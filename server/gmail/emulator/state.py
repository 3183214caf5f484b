"""In-memory mailbox behind the Gmail emulator: listing, paging, rendering and history.

Not thread-safe on its own; `GmailEmulator` serialises access with a lock.
"""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from server.gmail.emulator.errors import ApiError, bad_request, not_found

SPAM_TRASH = frozenset({"SPAM", "TRASH"})
HISTORY_TYPES = ("messageAdded", "messageDeleted", "labelAdded", "labelRemoved")
# Keys of a message part kept in metadata format; bodies never leave the emulator.
PAYLOAD_KEYS = ("partId", "mimeType", "filename", "headers")
MALFORMED_FIELDS = ("internalDate", "headers", "labelIds", "id")


def _json_copy(value: Any) -> Any:
    """Deep-copy JSON data (much faster than copy.deepcopy for big mailboxes)."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as err:
        raise ValueError(f"mailbox is not JSON data: {err}") from None


def _as_int(value: Any) -> int:
    """Read a Gmail int64 string leniently (the emulator accepts unvalidated input)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@dataclass
class HistoryRecord:
    """One change to the mailbox, as history.list reports it (one or several messages)."""

    id: int
    kind: str  # one of HISTORY_TYPES
    messages: list[dict[str, Any]]  # [{"id", "threadId", "labelIds"}] after the change
    labels: list[str] = field(default_factory=list)

    @property
    def message(self) -> dict[str, Any]:
        """The first message of the record (most records carry one)."""
        return self.messages[0]

    def touches_label(self, label_id: str) -> bool:
        """Tell whether the record concerns `label_id`."""
        return label_id in self.labels or any(
            label_id in m.get("labelIds", []) for m in self.messages
        )

    def to_json(self, with_labels: bool = False) -> dict[str, Any]:
        """Render in Gmail's History resource shape.

        The discovery document describes the Message inside a history record as one that
        "typically" carries only `id` and `threadId`
        (https://developers.google.com/gmail/api/reference/rest/v1/users.history/list), so
        that is what we send unless `with_labels` asks for the richer, older emulator shape.
        """
        refs = [{"id": m["id"], "threadId": m["threadId"]} for m in self.messages]
        shown = [dict(m) for m in self.messages] if with_labels else [dict(r) for r in refs]
        out: dict[str, Any] = {"id": str(self.id), "messages": refs}
        if self.kind == "messageAdded":
            out["messagesAdded"] = [{"message": m} for m in shown]
        elif self.kind == "messageDeleted":
            out["messagesDeleted"] = [{"message": m} for m in shown]
        elif self.kind == "labelAdded":
            out["labelsAdded"] = [{"message": m, "labelIds": list(self.labels)} for m in shown]
        else:
            out["labelsRemoved"] = [{"message": m, "labelIds": list(self.labels)} for m in shown]
        return out


def encode_page_token(offset: int) -> str:
    """Make an opaque-looking numeric page token from a list offset."""
    return f"{offset:020d}"


def decode_page_token(token: str | None, total: int) -> int:
    """Return the offset a page token stands for; 400 for tokens we never issued."""
    if token is None or token == "":
        return 0
    if not token.isdigit() or len(token) != 20 or int(token) > total:
        raise bad_request("Invalid pageToken.")
    return int(token)


def _page(ids: list[str], page_token: str | None, max_results: int, key: str,
          item: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """One page of a list answer: the items under `key` (left out when the page is empty),
    nextPageToken while more remain, and resultSizeEstimate."""
    start = decode_page_token(page_token, len(ids))
    page = ids[start:start + max_results]
    out: dict[str, Any] = {}
    if page:
        out[key] = [item(i) for i in page]
    if start + max_results < len(ids):
        out["nextPageToken"] = encode_page_token(start + max_results)
    out["resultSizeEstimate"] = len(ids)
    return out


class MailboxState:
    """Threads, messages and history of one emulated Gmail mailbox."""

    def __init__(self, mailbox: dict[str, Any]) -> None:
        if not isinstance(mailbox, dict) or not isinstance(mailbox.get("threads"), list):
            raise ValueError("mailbox must be a dict with a 'threads' list")
        address = mailbox.get("emailAddress")
        if not isinstance(address, str) or "@" not in address:
            raise ValueError("mailbox needs an 'emailAddress'")
        self.email_address = address
        self.messages: dict[str, dict[str, Any]] = {}
        self.threads: dict[str, list[str]] = {}  # thread id -> message ids, file order
        self.thread_extra: dict[str, dict[str, Any]] = {}
        self.thread_history: dict[str, int] = {}
        self.history: list[HistoryRecord] = []
        self.malformed: dict[str, str] = {}
        self.version = 0
        self._cache: dict[tuple[Any, ...], list[str]] = {}
        top = _as_int(mailbox.get("historyId"))
        for thread in _json_copy(mailbox["threads"]):
            top = max(top, self._load_thread(thread))
        self.history_id = top
        self.history_floor = top

    def _load_thread(self, thread: dict[str, Any]) -> int:
        if not isinstance(thread, dict) or not isinstance(thread.get("id"), str):
            raise ValueError("every thread needs a string 'id'")
        tid = thread["id"]
        if tid in self.threads:
            raise ValueError(f"duplicate thread id {tid}")
        self.threads[tid] = []
        self.thread_extra[tid] = {k: v for k, v in thread.items()
                                  if k not in ("id", "historyId", "messages")}
        top = _as_int(thread.get("historyId"))
        for msg in thread.get("messages", []):
            if not isinstance(msg, dict) or not isinstance(msg.get("id"), str):
                raise ValueError(f"thread {tid}: every message needs a string 'id'")
            stored = msg
            stored["threadId"] = tid
            if stored["id"] in self.messages:
                raise ValueError(f"duplicate message id {stored['id']}")
            self.messages[stored["id"]] = stored
            self.threads[tid].append(stored["id"])
            top = max(top, _as_int(stored.get("historyId")))
        self.thread_history[tid] = top
        return top

    # ----- reading -------------------------------------------------------------------------

    def profile(self) -> dict[str, Any]:
        """Answer users.getProfile."""
        return {
            "emailAddress": self.email_address,
            "messagesTotal": len(self.messages),
            "threadsTotal": len(self.threads),
            "historyId": str(self.history_id),
        }

    def _visible(self, msg: dict[str, Any], include_spam_trash: bool, wanted: tuple[str, ...]
                 ) -> bool:
        labels = msg.get("labelIds") or []
        if include_spam_trash:
            return True
        hidden = SPAM_TRASH.difference(wanted)
        return not any(label in hidden for label in labels)

    def _sorted_messages(self, labels: tuple[str, ...], include: bool) -> list[str]:
        key = ("m", self.version, labels, include)
        if key not in self._cache:
            chosen = [m for m in self.messages.values()
                      if self._visible(m, include, labels)
                      and set(labels).issubset(m.get("labelIds") or [])]
            chosen.sort(key=lambda m: (_as_int(m.get("internalDate")), m["id"]), reverse=True)
            self._store_cache(key, [m["id"] for m in chosen])
        return self._cache[key]

    def _sorted_threads(self, labels: tuple[str, ...], include: bool) -> list[str]:
        key = ("t", self.version, labels, include)
        if key not in self._cache:
            ranked: list[tuple[int, str]] = []
            for tid, ids in self.threads.items():
                shown = [self.messages[i] for i in ids
                         if self._visible(self.messages[i], include, labels)]
                if not shown:
                    continue
                union: set[str] = set()
                for msg in shown:
                    union.update(msg.get("labelIds") or [])
                if set(labels).issubset(union):
                    newest = max(_as_int(m.get("internalDate")) for m in shown)
                    ranked.append((newest, tid))
            ranked.sort(reverse=True)
            self._store_cache(key, [tid for _, tid in ranked])
        return self._cache[key]

    def _store_cache(self, key: tuple[Any, ...], value: list[str]) -> None:
        # Drop entries from older versions so the cache never outgrows a few listings.
        for old in [k for k in self._cache if k[1] != self.version]:
            del self._cache[old]
        self._cache[key] = value

    def list_messages(self, labels: tuple[str, ...], include: bool, max_results: int,
                      page_token: str | None) -> dict[str, Any]:
        """Answer users.messages.list."""
        ids = self._sorted_messages(labels, include)
        return _page(ids, page_token, max_results, "messages",
                     lambda i: {"id": i, "threadId": self.messages[i]["threadId"]})

    def list_threads(self, labels: tuple[str, ...], include: bool, max_results: int,
                     page_token: str | None) -> dict[str, Any]:
        """Answer users.threads.list."""
        tids = self._sorted_threads(labels, include)
        return _page(tids, page_token, max_results, "threads",
                     lambda t: self._thread_item(t, include, labels))

    def _thread_item(self, tid: str, include: bool, labels: tuple[str, ...]) -> dict[str, Any]:
        shown = [self.messages[i] for i in self.threads[tid]
                 if self._visible(self.messages[i], include, labels)]
        newest = max(shown, key=lambda m: _as_int(m.get("internalDate")))
        return {"id": tid, "snippet": newest.get("snippet", ""),
                "historyId": str(self.thread_history[tid])}

    def render_message(self, mid: str, fmt: str, headers: list[str] | None) -> dict[str, Any]:
        """Render one message in `minimal` or `metadata` format."""
        msg = self.messages[mid]
        out: dict[str, Any] = {"id": msg["id"], "threadId": msg["threadId"]}
        if msg.get("labelIds"):
            out["labelIds"] = list(msg["labelIds"])
        for key in ("snippet", "sizeEstimate", "historyId", "internalDate"):
            if key in msg:
                out[key] = msg[key]
        if fmt == "metadata":
            payload = msg.get("payload") or {}
            part = {k: copy.deepcopy(payload[k]) for k in PAYLOAD_KEYS if k in payload}
            part.setdefault("mimeType", "text/plain")
            all_headers = part.get("headers") or []
            if headers:
                wanted = {h.lower() for h in headers}
                all_headers = [h for h in all_headers if str(h.get("name", "")).lower() in wanted]
            part["headers"] = all_headers
            out["payload"] = part
        if mid in self.malformed:
            self._break(out, self.malformed[mid])
        return out

    @staticmethod
    def _break(out: dict[str, Any], what: str) -> None:
        # Each variant violates the Message schema in a way a careful client must catch.
        if what == "internalDate":
            out["internalDate"] = "not-a-timestamp"
        elif what == "headers":
            out.setdefault("payload", {})["headers"] = "From: broken"
        elif what == "labelIds":
            out["labelIds"] = "INBOX"
        else:
            out.pop("id", None)

    def get_message(self, mid: str, fmt: str, headers: list[str] | None) -> dict[str, Any]:
        """Answer users.messages.get."""
        if mid not in self.messages:
            raise not_found()
        return self.render_message(mid, fmt, headers)

    def get_thread(self, tid: str, fmt: str, headers: list[str] | None) -> dict[str, Any]:
        """Answer users.threads.get."""
        if tid not in self.threads:
            raise not_found()
        return {
            "id": tid,
            "historyId": str(self.thread_history[tid]),
            "messages": [self.render_message(m, fmt, headers) for m in self.threads[tid]],
        }

    def list_history(self, start: int, types: tuple[str, ...], label_id: str | None,
                     max_results: int, page_token: str | None,
                     with_labels: bool = False) -> dict[str, Any]:
        """Answer users.history.list."""
        if start < self.history_floor:
            raise not_found("The startHistoryId is too old; do a full sync.")
        chosen = [r for r in self.history
                  if r.id > start and (not types or r.kind in types)
                  and (label_id is None or r.touches_label(label_id))]
        offset = decode_page_token(page_token, len(chosen))
        page = chosen[offset:offset + max_results]
        out: dict[str, Any] = {}
        if page:
            out["history"] = [r.to_json(with_labels) for r in page]
        if offset + max_results < len(chosen):
            out["nextPageToken"] = encode_page_token(offset + max_results)
        out["historyId"] = str(self.history_id)
        return out

    # ----- changes -------------------------------------------------------------------------

    def _bump(self, kind: str, msgs: list[dict[str, Any]],
              labels: list[str] | None = None) -> None:
        self.history_id += 1
        self.version += 1
        snapshots = []
        for msg in msgs:
            if kind != "messageDeleted":
                msg["historyId"] = str(self.history_id)
            tid = msg["threadId"]
            if tid in self.thread_history:
                self.thread_history[tid] = self.history_id
            snapshots.append({"id": msg["id"], "threadId": tid,
                              "labelIds": list(msg.get("labelIds") or [])})
        self.history.append(HistoryRecord(self.history_id, kind, snapshots, list(labels or [])))

    def add_message(self, message: dict[str, Any], now_ms: int) -> dict[str, Any]:
        """Insert a message (new or existing thread) and record messageAdded."""
        return self.add_messages([message], now_ms)[0]

    def add_messages(self, messages: list[dict[str, Any]], now_ms: int) -> list[dict[str, Any]]:
        """Insert several messages under one history record, as Gmail may report them."""
        stored: list[dict[str, Any]] = []
        for message in messages:
            msg = copy.deepcopy(message)
            msg.setdefault("id", secrets.token_hex(8))
            if msg["id"] in self.messages or any(m["id"] == msg["id"] for m in stored):
                raise ValueError(f"message {msg['id']} already exists")
            msg.setdefault("threadId", msg["id"])
            msg.setdefault("labelIds", [])
            msg.setdefault("snippet", "")
            msg.setdefault("internalDate", str(now_ms))
            msg.setdefault("sizeEstimate", 1024)
            msg.setdefault("payload", {"mimeType": "text/plain", "headers": []})
            stored.append(msg)
        for msg in stored:
            tid = msg["threadId"]
            if tid not in self.threads:
                self.threads[tid] = []
                self.thread_extra[tid] = {}
                self.thread_history[tid] = 0
            self.messages[msg["id"]] = msg
            self.threads[tid].append(msg["id"])
        self._bump("messageAdded", stored)
        return copy.deepcopy(stored)

    def change_labels(self, mid: str, labels: list[str], add: bool) -> list[str]:
        """Add or remove labels; record only the labels that really changed."""
        if mid not in self.messages:
            raise KeyError(mid)
        msg = self.messages[mid]
        current = list(msg.get("labelIds") or [])
        if add:
            changed = [lb for lb in dict.fromkeys(labels) if lb not in current]
            msg["labelIds"] = current + changed
        else:
            changed = [lb for lb in dict.fromkeys(labels) if lb in current]
            msg["labelIds"] = [lb for lb in current if lb not in changed]
        if changed:
            self._bump("labelAdded" if add else "labelRemoved", [msg], changed)
        return changed

    def delete_message(self, mid: str) -> None:
        """Remove a message for good and record messageDeleted."""
        if mid not in self.messages:
            raise KeyError(mid)
        msg = self.messages.pop(mid)
        tid = msg["threadId"]
        self.threads[tid].remove(mid)
        if not self.threads[tid]:
            del self.threads[tid], self.thread_extra[tid], self.thread_history[tid]
        self._bump("messageDeleted", [msg])

    def expire_history(self) -> None:
        """Forget all history so any startHistoryId before now answers 404."""
        self.history_floor = self.history_id
        self.history.clear()

    def export(self) -> dict[str, Any]:
        """Return the mailbox-file shape of the current state."""
        threads = []
        for tid, ids in self.threads.items():
            thread: dict[str, Any] = {"id": tid, "historyId": str(self.thread_history[tid])}
            thread.update(self.thread_extra[tid])
            thread["messages"] = [self.messages[m] for m in ids]
            threads.append(thread)
        return {"emailAddress": self.email_address, "historyId": str(self.history_id),
                "threads": _json_copy(threads)}


def check_format(value: str | None) -> str:
    """Apply the gmail.metadata scope rule to a `format` parameter (default is full)."""
    fmt = value if value is not None else "full"
    if fmt in ("full", "raw"):
        raise ApiError(403, "forbidden",
                       f"The gmail.metadata scope does not allow format {fmt.upper()}.")
    if fmt not in ("minimal", "metadata"):
        raise bad_request(f"Invalid value for format: {fmt!r}.", "invalidParameter")
    return fmt
