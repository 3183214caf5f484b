"""Read the opened message (and its thread) with the add-on's per-message access.

Google's recipe: the user's OAuth token as the bearer credential plus the event's
gmail.accessToken in the `X-Goog-Gmail-Access-Token` header, metadata format only.
One attempt per call: a person is waiting in Gmail, so failures become a friendly card.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import google_auth_httplib2
import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from server.gmail.client import METADATA_HEADERS

log = logging.getLogger(__name__)

ACCESS_TOKEN_HEADER = "X-Goog-Gmail-Access-Token"  # noqa: S105 - a header name
TIMEOUT_SECONDS = 10.0


class AddonGmailError(Exception):
    """Gmail could not be read for this event; `status` is Gmail's HTTP status if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class OpenedMessage:
    """What metadata format says about the opened message."""

    id: str
    thread_id: str
    headers: dict[str, str]
    # The messages.get(format=metadata) resource itself, to merge into the stored thread.
    resource: dict[str, Any] = field(default_factory=dict)


class MessageReader:
    """Gmail calls for one add-on event (one user token, one per-message token)."""

    def __init__(self, user_token: str, message_token: str, api_endpoint: str | None) -> None:
        credentials = Credentials(token=user_token)
        http = google_auth_httplib2.AuthorizedHttp(
            credentials, http=httplib2.Http(timeout=TIMEOUT_SECONDS)
        )
        options = {"api_endpoint": api_endpoint} if api_endpoint else None
        self._service = build(
            "gmail",
            "v1",
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options=options,
        )
        self._message_token = message_token

    def close(self) -> None:
        """Close the HTTP connections (one reader serves one request)."""
        self._service.close()

    def __enter__(self) -> MessageReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, request: Any, what: str) -> dict[str, Any]:
        request.headers[ACCESS_TOKEN_HEADER] = self._message_token
        try:
            result = request.execute(num_retries=0)
        except HttpError as exc:
            status = int(exc.resp.status)
            log.info("add-on: %s failed with %s", what, status)
            raise AddonGmailError(f"{what} failed ({status})", status) from exc
        except Exception as exc:  # noqa: BLE001 - transport errors come in many types
            log.info("add-on: %s failed: %s", what, type(exc).__name__)
            raise AddonGmailError(f"{what} failed ({type(exc).__name__})") from exc
        if not isinstance(result, dict):
            raise AddonGmailError(f"{what} returned something other than an object")
        return result

    def message(self, message_id: str) -> OpenedMessage:
        """messages.get(format=metadata) of the opened message."""
        request = (
            self._service.users()
            .messages()
            .get(userId="me", id=message_id, format="metadata",
                 metadataHeaders=list(METADATA_HEADERS))
        )
        found = self._run(request, "messages.get")
        thread_id = found.get("threadId")
        if not isinstance(thread_id, str) or not thread_id:
            raise AddonGmailError("messages.get returned no threadId")
        headers: dict[str, str] = {}
        for item in (found.get("payload") or {}).get("headers") or []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                headers.setdefault(item["name"].lower(), str(item.get("value", "")))
        return OpenedMessage(str(found.get("id") or message_id), thread_id, headers, found)

    def thread(self, thread_id: str) -> dict[str, Any]:
        """threads.get(format=metadata) of the opened message's thread."""
        request = (
            self._service.users()
            .threads()
            .get(userId="me", id=thread_id, format="metadata",
                 metadataHeaders=list(METADATA_HEADERS))
        )
        return self._run(request, "threads.get")
