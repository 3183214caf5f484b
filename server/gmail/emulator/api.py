"""Routes, parameter checks and method dispatch of the Gmail emulator (no HTTP, no locking)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from server.gmail.emulator.errors import ApiError, bad_request
from server.gmail.emulator.state import HISTORY_TYPES, MailboxState, check_format

# Query parameters every Google API accepts (from the discovery document's top level).
STANDARD_PARAMS = frozenset({
    "$.xgafv", "access_token", "alt", "callback", "fields", "key", "oauth_token",
    "prettyPrint", "quotaUser", "uploadType", "upload_protocol",
})
LIST_PARAMS = {"includeSpamTrash": "bool", "labelIds": "str*", "maxResults": "int",
               "pageToken": "str", "q": "str"}
GET_PARAMS = {"format": "str", "metadataHeaders": "str*"}
HISTORY_PARAMS = {"historyTypes": "str*", "labelId": "str", "maxResults": "int",
                  "pageToken": "str", "startHistoryId": "str"}
WATCH_EXPIRY_MS = 7 * 24 * 3600 * 1000
API_MAX_RESULTS = 500


@dataclass(frozen=True)
class Route:
    """One Gmail method: its id, HTTP verb, quota cost and query parameters."""

    name: str
    verb: str
    cost: int
    params: Mapping[str, str]


ROUTES: dict[str, Route] = {
    "profile": Route("gmail.users.getProfile", "GET", 1, {}),
    "watch": Route("gmail.users.watch", "POST", 100, {}),
    "stop": Route("gmail.users.stop", "POST", 50, {}),
    "threads": Route("gmail.users.threads.list", "GET", 10, LIST_PARAMS),
    "threads/": Route("gmail.users.threads.get", "GET", 40, GET_PARAMS),
    "messages": Route("gmail.users.messages.list", "GET", 5, LIST_PARAMS),
    "messages/": Route("gmail.users.messages.get", "GET", 20, GET_PARAMS),
    "history": Route("gmail.users.history.list", "GET", 2, HISTORY_PARAMS),
}
_PATH = re.compile(r"^/gmail/v1/users/(?P<user>[^/]+)/(?P<kind>[a-z]+)(?:/(?P<id>[^/]+))?$")


@dataclass(frozen=True)
class Call:
    """A routed API call ready for dispatch."""

    route: Route
    user: str
    resource_id: str | None
    params: dict[str, Any]
    body: bytes


def resolve(verb: str, path: str) -> tuple[Route, str, str | None]:
    """Map an HTTP verb and path to a route; 404/405 like an API front end."""
    match = _PATH.match(path)
    route = None
    if match:
        key = match["kind"] + ("/" if match["id"] is not None else "")
        route = ROUTES.get(key)
    if match is None or route is None:
        raise ApiError(404, "notFound", f"No Gmail method is served at {path}.")
    if verb != route.verb:
        raise ApiError(405, "httpMethodNotAllowed", f"{route.name} expects HTTP {route.verb}.")
    rid = unquote(match["id"]) if match["id"] is not None else None
    return route, unquote(match["user"]), rid


def _convert(name: str, kind: str, raw: str) -> Any:
    if kind == "int":
        if not re.fullmatch(r"-?\d{1,18}", raw):
            raise bad_request(f"Invalid value for {name}: {raw!r} is not an integer.",
                              "invalidParameter")
        return int(raw)
    if kind == "bool":
        if raw.lower() not in ("true", "false"):
            raise bad_request(f"Invalid value for {name}: {raw!r} is not a boolean.",
                              "invalidParameter")
        return raw.lower() == "true"
    return raw


def parse_params(route: Route, query: Mapping[str, list[str]]) -> dict[str, Any]:
    """Check and convert query parameters; unknown or doubled ones are a 400."""
    out: dict[str, Any] = {}
    for name, values in query.items():
        if name in STANDARD_PARAMS:
            if len(values) > 1:
                raise bad_request(f"Parameter {name} was given more than once.")
            value = values[0]
            if name == "alt" and value != "json":
                raise bad_request("Only alt=json is supported.", "invalidParameter")
            if name == "prettyPrint":
                _convert(name, "bool", value)
            out[name] = value
            continue
        kind = route.params.get(name)
        if kind is None:
            raise bad_request(f"Unknown parameter {name!r} for {route.name}.",
                              "invalidParameter")
        if kind.endswith("*"):
            out[name] = [_convert(name, kind[:-1], v) for v in values]
        elif len(values) > 1:
            raise bad_request(f"Parameter {name} was given more than once.")
        else:
            out[name] = _convert(name, kind, values[0])
    if "q" in out:
        # Google refuses any q, even an empty one, for tokens with the metadata scope.
        raise ApiError(403, "forbidden", "The gmail.metadata scope does not allow the 'q' "
                       "parameter.")
    return out


def page_size(params: Mapping[str, Any], cap: int) -> int:
    """Return the effective page size: default 100, at most 500 (and the emulator's cap)."""
    size = params.get("maxResults", 100)
    if size < 1:
        raise bad_request("maxResults must be at least 1.", "invalidParameter")
    return min(size, API_MAX_RESULTS, cap)


def parse_watch_body(body: bytes) -> dict[str, Any]:
    """Validate a users.watch request body."""
    try:
        data = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        raise bad_request("The request body is not valid JSON.", "parseError") from None
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    topic = data.get("topicName")
    if not isinstance(topic, str) or not topic:
        raise bad_request("topicName is required.", "required")
    if not re.fullmatch(r"projects/[^/]+/topics/[^/]+", topic):
        raise bad_request(f"Invalid topicName {topic!r}; expected projects/P/topics/T.",
                          "invalidParameter")
    labels = data.get("labelIds", [])
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise bad_request("labelIds must be a list of strings.", "invalidParameter")
    return data


def dispatch(state: MailboxState, call: Call, now_ms: int, cap: int,
             history_labels: bool = False) -> dict[str, Any] | None:
    """Run a call against the mailbox and return the JSON answer (None for empty 204)."""
    p = call.params
    name = call.route.name
    if name.endswith("getProfile"):
        return state.profile()
    if name.endswith("threads.list") or name.endswith("messages.list"):
        labels = tuple(dict.fromkeys(p.get("labelIds", [])))
        include = bool(p.get("includeSpamTrash", False))
        size = page_size(p, cap)
        if name.endswith("threads.list"):
            return state.list_threads(labels, include, size, p.get("pageToken"))
        return state.list_messages(labels, include, size, p.get("pageToken"))
    if name.endswith(".get"):
        fmt = check_format(p.get("format"))
        headers = p.get("metadataHeaders")
        rid = call.resource_id or ""
        if name.endswith("threads.get"):
            return state.get_thread(rid, fmt, headers)
        return state.get_message(rid, fmt, headers)
    if name.endswith("history.list"):
        return _history(state, p, cap, history_labels)
    if name.endswith("watch"):
        parse_watch_body(call.body)
        return {"historyId": str(state.history_id), "expiration": str(now_ms + WATCH_EXPIRY_MS)}
    return None  # users.stop


def _history(state: MailboxState, p: Mapping[str, Any], cap: int,
             history_labels: bool) -> dict[str, Any]:
    raw = p.get("startHistoryId")
    if raw is None:
        raise bad_request("startHistoryId is required.", "required")
    if not raw.isdigit():
        raise bad_request(f"Invalid value for startHistoryId: {raw!r}.", "invalidParameter")
    types = tuple(p.get("historyTypes", []))
    for kind in types:
        if kind not in HISTORY_TYPES:
            raise bad_request(f"Invalid value for historyTypes: {kind!r}.", "invalidParameter")
    return state.list_history(int(raw), types, p.get("labelId"), page_size(p, cap),
                              p.get("pageToken"), history_labels)
