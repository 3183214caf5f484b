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
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth.credentials import Credentials
from google.auth.exceptions import RefreshError
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from server.engine.automatic import METADATA_HEADERS as AUTOMATIC_METADATA_HEADERS

log = logging.getLogger(__name__)

METADATA_SCOPE = "https://www.googleapis.com/auth/gmail.metadata"
SCOPES = (METADATA_SCOPE, "openid", "https://www.googleapis.com/auth/userinfo.email")

# Only the headers the engine reads (addresses, subject and every automatic-mail marker); the
# list lives next to the signatures it serves, so a new signature is always requested.
METADATA_HEADERS = AUTOMATIC_METADATA_HEADERS

BATCH_SIZE = 50  # Google's recommended ceiling for Gmail batches
RETRY_STATUSES = {429, 500, 502, 503, 504}
GOOGLE_BATCH_PATH = "batch/gmail/v1"


class GmailError(Exception):
    """A Gmail call failed for good (after retries, or with a non-retryable status)."""

    def __init__(self, message: str, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class HistoryExpired(GmailError):
    """The stored historyId is too old for history.list (404): a full sync is needed."""


class AuthRevoked(GmailError):
    """The grant was revoked or expired (401/invalid_grant): the rep must reconnect."""


@dataclass
class Backoff:
    """Exponential backoff with full jitter; `sleep` is swappable for tests and benchmarks."""

    attempts: int = 6
    base: float = 0.5
    cap: float = 32.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    retries: int = 0

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0, min(self.cap, self.base * (2**attempt)))

    def wait(self, attempt: int) -> None:
        self.retries += 1
        self.sleep(self.delay(attempt))


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
    """429, 5xx and timeouts are worth retrying; everything else is final."""
    status = http_status(exc)
    if status is not None:
        return status in RETRY_STATUSES
    return isinstance(exc, socket.timeout | TimeoutError | ConnectionError | httplib2.HttpLib2Error)


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
    return GmailError(f"{what} failed: {label} {reason}".strip(), status, reason)


class GmailClient:
    """The calls stepback makes, with retries; never `q`, never `format=full` or `raw`."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        api_endpoint: str | None = None,
        timeout: float = 30.0,
        backoff: Backoff | None = None,
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
        self.calls = 0

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        self.service.close()

    def __enter__(self) -> GmailClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _execute(self, request: Any, what: str) -> Any:
        for attempt in range(self.backoff.attempts):
            try:
                self.calls += 1
                return request.execute()
            except HttpError as exc:
                if http_status(exc) == 404 and what.startswith("history.list"):
                    raise HistoryExpired(f"{what}: the start historyId has expired", 404) from exc
                if not is_transient(exc) or attempt == self.backoff.attempts - 1:
                    raise _final_error(exc, what) from exc
            except Exception as exc:  # noqa: BLE001 - transport errors come in many types
                if isinstance(exc, GmailError):
                    raise
                if not is_transient(exc) or attempt == self.backoff.attempts - 1:
                    raise _final_error(exc, what) from exc
            log.info("%s: transient failure, retrying (attempt %d)", what, attempt + 1)
            self.backoff.wait(attempt)
        raise GmailError(f"{what}: retries exhausted")  # pragma: no cover - loop always returns

    def profile(self) -> dict[str, Any]:
        """users.getProfile: the address and the current historyId."""
        users = self.service.users()
        result: dict[str, Any] = self._execute(users.getProfile(userId="me"), "getProfile")
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
        page = self._execute(req, "threads.list")
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
        page = self._execute(req, "messages.list")
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
        page = self._execute(req, "history.list")
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
        )

    def watch(self, topic_name: str) -> dict[str, Any]:
        """users.watch on a Pub/Sub topic for all mailbox changes."""
        body = {
            "topicName": topic_name,
            "labelFilterBehavior": "INCLUDE",
            "labelIds": ["INBOX", "SENT"],
        }
        req = self.service.users().watch(userId="me", body=body)
        result: dict[str, Any] = self._execute(req, "watch")
        return result

    def stop(self) -> None:
        """users.stop: end push notifications for this mailbox."""
        self._execute(self.service.users().stop(userId="me"), "stop")

    def _batched(
        self, ids: list[str], make: Callable[[str], Any], what: str
    ) -> dict[str, dict[str, Any] | GmailError]:
        results: dict[str, dict[str, Any] | GmailError] = {}
        for start in range(0, len(ids), BATCH_SIZE):
            chunk = ids[start : start + BATCH_SIZE]
            results.update(self._run_batch(chunk, make, what))
        return results

    def _run_batch(
        self, ids: list[str], make: Callable[[str], Any], what: str
    ) -> dict[str, dict[str, Any] | GmailError]:
        done: dict[str, dict[str, Any] | GmailError] = {}
        pending = list(dict.fromkeys(ids))
        for attempt in range(self.backoff.attempts):
            retry: list[str] = []
            last = attempt == self.backoff.attempts - 1
            batch = BatchHttpRequest(
                callback=_Collector(done, retry, last, what), batch_uri=self.batch_uri
            )
            for item_id in pending:
                batch.add(make(item_id), request_id=item_id)
            try:
                self.calls += 1
                batch.execute()
            except Exception as exc:  # noqa: BLE001 - the whole batch failed in transit
                if not is_transient(exc) or attempt == self.backoff.attempts - 1:
                    err = _final_error(exc, what)
                    for item_id in pending:
                        done.setdefault(item_id, err)
                    return done
                retry = [i for i in pending if i not in done]
            if not retry:
                return done
            log.info("%s: %d parts to retry (attempt %d)", what, len(retry), attempt + 1)
            self.backoff.wait(attempt)
            pending = retry
        return done


@dataclass
class _Collector:
    """Batch callback: keep answers, queue transient failures for another round."""

    done: dict[str, dict[str, Any] | GmailError]
    retry: list[str]
    last_attempt: bool
    what: str

    def __call__(self, request_id: str, response: Any, exception: Exception | None) -> None:
        if exception is None:
            self.done[request_id] = response
        elif is_transient(exception) and not self.last_attempt:
            self.retry.append(request_id)
        else:
            self.done[request_id] = _final_error(exception, f"{self.what} {request_id}")
