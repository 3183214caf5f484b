"""Gmail access through google-api-python-client, metadata scope only.

Every call goes through the real client library built from its packaged discovery
document; `api_endpoint` points it at the project's emulator in tests and the demo.
"""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth.credentials import Credentials
from google.auth.exceptions import RefreshError
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from server.engine.automatic import METADATA_HEADERS as AUTOMATIC_METADATA_HEADERS
from server.gmail.pacing import QuotaGate
from server.gmail.quota import MAY_2026, QuotaTable

log = logging.getLogger(__name__)

METADATA_SCOPE = "https://www.googleapis.com/auth/gmail.metadata"
SCOPES = (METADATA_SCOPE, "openid", "https://www.googleapis.com/auth/userinfo.email")

# Only the headers the engine reads (addresses, subject and every automatic-mail marker); the
# list lives next to the signatures it serves, so a new signature is always requested.
METADATA_HEADERS = AUTOMATIC_METADATA_HEADERS

BATCH_SIZE = 50  # Google's recommended ceiling for Gmail batches
MIN_BATCH_SIZE = 5
RETRY_STATUSES = {429, 500, 502, 503, 504}
# Google answers usage-limit overruns with 403 and one of these reasons; they pass with time
# (https://developers.google.com/workspace/gmail/api/guides/handle-errors#resolve_a_403_error_user_rate_limit_exceeded).
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
GOOGLE_BATCH_PATH = "batch/gmail/v1"


class GmailError(Exception):
    """A Gmail call failed for good (after retries, or with a non-retryable status).

    `transient` says Gmail may well answer the same call later (rate limits, 5xx, timeouts):
    the sync keeps such threads pending instead of dropping them.
    """

    def __init__(
        self, message: str, status: int | None = None, reason: str = "", transient: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.transient = transient


class HistoryExpired(GmailError):
    """The stored historyId is too old for history.list (404): a full sync is needed."""


class AuthRevoked(GmailError):
    """The grant was revoked or expired (401/invalid_grant): the rep must reconnect."""


@dataclass
class Backoff:
    """Exponential backoff with half jitter that honours Retry-After; `sleep` is swappable.

    The delays before the last attempt add up to more than a minute (0.5 + 1 + ... + 32 s at
    the least with the defaults), so a caller outlasts Google's one-minute quota window.
    """

    attempts: int = 8
    base: float = 1.0
    cap: float = 64.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    retries: int = 0
    slept: float = 0.0

    def delay(self, attempt: int, hint: float | None = None) -> float:
        ceiling = min(self.cap, self.base * (2**attempt))
        return max(hint or 0.0, ceiling / 2 + self.rng.uniform(0, ceiling / 2))

    def wait(self, attempt: int, hint: float | None = None) -> None:
        self.retries += 1
        seconds = self.delay(attempt, hint)
        self.slept += seconds
        self.sleep(seconds)


def http_status(exc: BaseException) -> int | None:
    """Return the HTTP status of a client error, None for transport errors."""
    if isinstance(exc, HttpError):
        return int(exc.resp.status)
    return None


def error_reason(exc: HttpError) -> str:
    """Return Google's `reason` from an error answer, if any."""
    try:
        details = exc.error_details
        if isinstance(details, list) and details and isinstance(details[0], dict):
            return str(details[0].get("reason", ""))
    except Exception:  # noqa: BLE001 - a malformed error body must not hide the status
        return ""
    return ""


def is_transient(exc: BaseException) -> bool:
    """429, 403 usage limits, 5xx and timeouts are worth retrying; everything else is final."""
    status = http_status(exc)
    if status is not None:
        if status == 403 and isinstance(exc, HttpError):
            return error_reason(exc) in RATE_LIMIT_REASONS
        return status in RETRY_STATUSES
    return isinstance(exc, socket.timeout | TimeoutError | ConnectionError | httplib2.HttpLib2Error)


def is_rate_limited(exc: BaseException) -> bool:
    """A 429 or a 403 usage-limit answer (as opposed to a server fault)."""
    status = http_status(exc)
    return status == 429 or (
        status == 403 and isinstance(exc, HttpError) and error_reason(exc) in RATE_LIMIT_REASONS
    )


def retry_after(exc: BaseException) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if any.

    Retry-After is defined by RFC 9110 section 10.2.3; batch parts carry their own headers.
    """
    if not isinstance(exc, HttpError):
        return None
    value = exc.resp.get("retry-after") if hasattr(exc.resp, "get") else None
    if not value:
        return None
    text = str(value).strip()
    if text.isdigit():
        return min(float(text), 3600.0)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(3600.0, when.timestamp() - time.time()))


def _final_error(exc: BaseException, what: str) -> GmailError:
    status = http_status(exc)
    reason = error_reason(exc) if isinstance(exc, HttpError) else ""
    if status == 401:
        return AuthRevoked(f"{what}: Google refused the credentials (401)", 401, reason)
    if isinstance(exc, RefreshError):
        # Google refused the token and it could not be refreshed: revoked, expired or
        # never refreshable. The rep has to reconnect.
        return AuthRevoked(f"{what}: Google refused the credentials (401; {exc})", 401, "auth")
    label = status or type(exc).__name__
    return GmailError(
        f"{what} failed: {label} {reason}".strip(), status, reason, transient=is_transient(exc)
    )


class GmailClient:
    """The calls stepback makes, with retries; never `q`, never `format=full` or `raw`.

    `gate` (a QuotaGate) is asked before every request so the calls stay inside the per-user
    and per-project budgets; `quota` is the cost table the gate is charged by.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        api_endpoint: str | None = None,
        timeout: float = 30.0,
        backoff: Backoff | None = None,
        gate: QuotaGate | None = None,
        quota: QuotaTable = MAY_2026,
    ) -> None:
        http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=timeout))
        options = {"api_endpoint": api_endpoint} if api_endpoint else None
        self.service = build(
            "gmail",
            "v1",
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options=options,
        )
        root = (api_endpoint or "https://gmail.googleapis.com/").rstrip("/") + "/"
        # The library derives the batch URI from the discovery rootUrl, ignoring
        # api_endpoint, so it is set explicitly.
        self.batch_uri = root + GOOGLE_BATCH_PATH
        self.backoff = backoff or Backoff()
        self.gate = gate
        self.quota = quota
        self.batch_size = BATCH_SIZE
        self.calls = 0
        self.rate_limited = 0  # answers (calls or batch parts) that were 403/429 usage limits

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        self.service.close()

    def __enter__(self) -> GmailClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _spend(self, method: str, count: int = 1) -> None:
        if self.gate is not None:
            self.gate.spend(self.quota.cost(method) * count)

    def _execute(self, request: Any, what: str, method: str = "") -> Any:
        for attempt in range(self.backoff.attempts):
            hint: float | None = None
            self._spend(method)  # may wait, or end the sync with QuotaDeferred
            try:
                self.calls += 1
                return request.execute()
            except HttpError as exc:
                if http_status(exc) == 404 and what.startswith("history.list"):
                    raise HistoryExpired(f"{what}: the start historyId has expired", 404) from exc
                if is_rate_limited(exc):
                    self.rate_limited += 1
                if not is_transient(exc) or attempt == self.backoff.attempts - 1:
                    raise _final_error(exc, what) from exc
                hint = retry_after(exc)
            except Exception as exc:  # noqa: BLE001 - transport errors come in many types
                if isinstance(exc, GmailError):
                    raise
                if not is_transient(exc) or attempt == self.backoff.attempts - 1:
                    raise _final_error(exc, what) from exc
            log.info("%s: transient failure, retrying (attempt %d)", what, attempt + 1)
            self.backoff.wait(attempt, hint)
        raise GmailError(f"{what}: retries exhausted")  # pragma: no cover - loop always returns

    def profile(self) -> dict[str, Any]:
        """users.getProfile: the address and the current historyId."""
        users = self.service.users()
        result: dict[str, Any] = self._execute(
            users.getProfile(userId="me"), "getProfile", "gmail.users.getProfile"
        )
        return result

    def list_threads(
        self, label_ids: Sequence[str], page_token: str | None = None, max_results: int = 500
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of threads.list filtered by labels (label filters, never `q`)."""
        req = (
            self.service.users()
            .threads()
            .list(
                userId="me", labelIds=list(label_ids), maxResults=max_results, pageToken=page_token
            )
        )
        page = self._execute(req, "threads.list", "gmail.users.threads.list")
        return list(page.get("threads") or []), page.get("nextPageToken")

    def list_messages(
        self, label_ids: Sequence[str], page_token: str | None = None, max_results: int = 500
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of messages.list filtered by labels."""
        req = (
            self.service.users()
            .messages()
            .list(
                userId="me", labelIds=list(label_ids), maxResults=max_results, pageToken=page_token
            )
        )
        page = self._execute(req, "messages.list", "gmail.users.messages.list")
        return list(page.get("messages") or []), page.get("nextPageToken")

    def list_history(
        self, start_history_id: str, page_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None, str | None]:
        """One page of history.list: (records, next page token, mailbox historyId)."""
        req = (
            self.service.users()
            .history()
            .list(
                userId="me",
                startHistoryId=start_history_id,
                pageToken=page_token,
                maxResults=500,
                historyTypes=["messageAdded", "messageDeleted", "labelAdded", "labelRemoved"],
            )
        )
        page = self._execute(req, "history.list", "gmail.users.history.list")
        return list(page.get("history") or []), page.get("nextPageToken"), page.get("historyId")

    def get_threads(self, thread_ids: Iterable[str]) -> dict[str, dict[str, Any] | GmailError]:
        """threads.get(format=metadata) for many threads, in batches, retrying failed parts."""
        return self._batched(
            list(thread_ids),
            lambda tid: (
                self.service.users()
                .threads()
                .get(userId="me", id=tid, format="metadata", metadataHeaders=list(METADATA_HEADERS))
            ),
            "threads.get",
            "gmail.users.threads.get",
        )

    def get_messages(self, message_ids: Iterable[str]) -> dict[str, dict[str, Any] | GmailError]:
        """messages.get(format=metadata) for many messages, in batches."""
        return self._batched(
            list(message_ids),
            lambda mid: (
                self.service.users()
                .messages()
                .get(userId="me", id=mid, format="metadata", metadataHeaders=list(METADATA_HEADERS))
            ),
            "messages.get",
            "gmail.users.messages.get",
        )

    def watch(self, topic_name: str) -> dict[str, Any]:
        """users.watch on a Pub/Sub topic for all mailbox changes."""
        body = {
            "topicName": topic_name,
            "labelFilterBehavior": "INCLUDE",
            "labelIds": ["INBOX", "SENT"],
        }
        req = self.service.users().watch(userId="me", body=body)
        result: dict[str, Any] = self._execute(req, "watch", "gmail.users.watch")
        return result

    def stop(self) -> None:
        """users.stop: end push notifications for this mailbox."""
        self._execute(self.service.users().stop(userId="me"), "stop", "gmail.users.stop")

    def _batched(
        self, ids: list[str], make: Callable[[str], Any], what: str, method: str
    ) -> dict[str, dict[str, Any] | GmailError]:
        """Run the calls in batches; retry transient failures, shrinking after 429s.

        Each id gets `backoff.attempts` tries; one still failing then is returned as a
        transient GmailError for the caller to keep pending (never silently dropped).
        """
        done: dict[str, dict[str, Any] | GmailError] = {}
        tries: dict[str, int] = {}
        queue = list(dict.fromkeys(ids))
        size = self.batch_size
        if self.gate is not None and self.gate.burst():
            # A batch is charged as a whole: it must fit the per-user and project budgets.
            fits = self.gate.burst() // max(1, self.quota.cost(method))
            size = max(1, min(size, fits))
        while queue:
            size = min(size, self.batch_size)
            chunk, queue = queue[:size], queue[size:]
            retry: list[tuple[str, BaseException]] = []
            collector = _Collector(done, retry, what)
            batch = BatchHttpRequest(callback=collector, batch_uri=self.batch_uri)
            for item_id in chunk:
                batch.add(make(item_id), request_id=item_id)
            self._spend(method, len(chunk))
            try:
                self.calls += 1
                batch.execute()
            except Exception as exc:  # noqa: BLE001 - the whole batch failed in transit
                if not is_transient(exc):
                    err = _final_error(exc, what)
                    for item_id in chunk:
                        done.setdefault(item_id, err)
                    continue
                retry = [(i, exc) for i in chunk if i not in done]
            if not retry:
                continue
            self.rate_limited += sum(1 for _, err in retry if is_rate_limited(err))
            if any(http_status(err) == 429 for _, err in retry):
                # Too many concurrent requests: batch parts run in parallel at Google.
                self.batch_size = max(MIN_BATCH_SIZE, self.batch_size // 2)
            again: list[str] = []
            hint: float | None = None
            attempt = 0
            for item_id, failure in retry:
                tries[item_id] = tries.get(item_id, 0) + 1
                attempt = max(attempt, tries[item_id] - 1)
                if tries[item_id] >= self.backoff.attempts:
                    done[item_id] = _final_error(failure, f"{what} {item_id}")
                else:
                    again.append(item_id)
                    after = retry_after(failure)
                    if after is not None:
                        hint = max(hint or 0.0, after)
            if again:
                log.info("%s: %d parts to retry (attempt %d)", what, len(again), attempt + 1)
                self.backoff.wait(attempt, hint)
                queue = again + queue
        return done


@dataclass
class _Collector:
    """Batch callback: keep answers and final errors, queue transient failures."""

    done: dict[str, dict[str, Any] | GmailError]
    retry: list[tuple[str, BaseException]]
    what: str

    def __call__(self, request_id: str, response: Any, exception: Exception | None) -> None:
        if exception is None:
            self.done[request_id] = response
        elif is_transient(exception):
            self.retry.append((request_id, exception))
        else:
            self.done[request_id] = _final_error(exception, f"{self.what} {request_id}")
