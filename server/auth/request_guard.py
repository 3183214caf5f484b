"""One guard for every request body: bounded size and nesting depth, checked before parsing.

Size: MAX_CONTENT_LENGTH (a declared length over it is refused before anything is read, and
Werkzeug stops a longer undeclared stream at the same limit). Depth: JSON is scanned for its
nesting depth before `json.loads` ever sees it, so a body of 100,000 brackets costs one linear
pass instead of a RecursionError. Views verify the caller's token before they ask for the
body, so an unauthenticated caller never gets us to parse anything (the add-on's body-only
token is the one exception Google's protocol forces, and it meets this same guard first).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Request, request

from server.errors import ApiError

# No body we accept nests deeper than a few levels (the add-on's event object is the deepest,
# at about six); 32 leaves room without letting a parser recurse far.
DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_BYTES = 1024 * 1024
TOO_DEEP = "The request body nests deeper than {limit} levels; nothing was read."
TOO_LARGE = "The request body is larger than {limit} bytes; nothing was read."
NOT_JSON = "The request body is not valid JSON."

_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_QUOTE = ord('"')
_BACKSLASH = ord("\\")


class BodyRefused(ValueError):
    """A JSON document refused before parsing (too deep); a ValueError like json's own."""


def nesting_depth_exceeds(raw: bytes | str, limit: int) -> bool:
    """True when the brackets of `raw` (outside strings) nest deeper than `limit`."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    depth = 0
    in_string = False
    escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif byte in _CLOSE:
            depth -= 1
    return False


def loads(raw: bytes | str, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """`json.loads` for outside data: ValueError (never RecursionError) for what it refuses.

    Python's own limit on integer digits (4,300 by default) also surfaces as ValueError.
    """
    if nesting_depth_exceeds(raw, max_depth):
        raise BodyRefused(TOO_DEEP.format(limit=max_depth))
    try:
        return json.loads(raw)
    except RecursionError:  # pragma: no cover - the depth scan above prevents it
        raise BodyRefused(TOO_DEEP.format(limit=max_depth)) from None


class GuardedRequest(Request):
    """Flask's request whose JSON parsing is depth-checked first; refusals are 400 ApiErrors."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        if (force or self.is_json) and not (cache and self._cached_json[silent] is not Ellipsis):
            limit = _max_depth()
            if nesting_depth_exceeds(self.get_data(cache=True), limit):
                # Refused even for `silent` callers: too deep is never "just not JSON".
                raise ApiError(400, TOO_DEEP.format(limit=limit), reason="body_too_deep")
        return super().get_json(force=force, silent=silent, cache=cache)

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:
            raise ApiError(415, "Send the body as JSON with 'Content-Type: application/json'.")
        raise ApiError(400, NOT_JSON, reason="bad_json")


def _max_depth() -> int:
    from flask import current_app

    return int(current_app.config.get("BODY_MAX_DEPTH") or DEFAULT_MAX_DEPTH)


def init_app(app: Flask) -> None:
    """Install the guard: the request class, and a size check before any view runs.

    PROXY_FIX_X_FOR (default 0) is how many proxies in front of us append to X-Forwarded-For;
    with it set, Werkzeug's ProxyFix makes `remote_addr` the caller's own address, which the
    per-address limits (token lookups) need: behind a load balancer every request otherwise
    comes from the balancer. Never set it higher than the real count (the header is forgeable).
    """
    hops = int(app.config.get("PROXY_FIX_X_FOR") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # type: ignore[method-assign]
    app.request_class = GuardedRequest
    app.config.setdefault("BODY_MAX_DEPTH", DEFAULT_MAX_DEPTH)
    if not app.config.get("MAX_CONTENT_LENGTH"):
        app.config["MAX_CONTENT_LENGTH"] = DEFAULT_MAX_BYTES

    @app.before_request
    def _body_size() -> None:
        limit = int(app.config["MAX_CONTENT_LENGTH"])
        if request.content_length is not None and request.content_length > limit:
            raise ApiError(413, TOO_LARGE.format(limit=limit), reason="body_too_large")
