"""Gmail-style API errors for the emulator, in Google's JSON error shape."""

from __future__ import annotations

import json
from typing import Any

# Google's canonical status name for each HTTP code we answer with.
STATUS_NAMES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    411: "LENGTH_REQUIRED",
    413: "PAYLOAD_TOO_LARGE",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "BAD_GATEWAY",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class ApiError(Exception):
    """Raise to answer an API call with a Google-shaped error."""

    def __init__(self, code: int, reason: str, message: str, domain: str = "global") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.domain = domain
        self.retry_after: int | None = None  # seconds, sent as a Retry-After header

    def body(self) -> dict[str, Any]:
        """Return the JSON error document Google sends for this error."""
        return error_body(self.code, self.reason, self.message, self.domain)


def error_body(code: int, reason: str, message: str, domain: str = "global") -> dict[str, Any]:
    """Build `{"error": {"code", "message", "errors": [...], "status"}}`."""
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": STATUS_NAMES.get(code, "UNKNOWN"),
        }
    }


def error_json(code: int, reason: str, message: str, domain: str = "global") -> bytes:
    """Serialise an error document to UTF-8 bytes."""
    return json.dumps(error_body(code, reason, message, domain)).encode("utf-8")


def bad_request(message: str, reason: str = "invalidArgument") -> ApiError:
    """Return a 400 error for a malformed parameter."""
    return ApiError(400, reason, message)


def not_found(message: str = "The requested resource does not exist.") -> ApiError:
    """Return a 404 error like Gmail's for unknown ids."""
    return ApiError(404, "notFound", message)


def injected_error(code: int) -> ApiError:
    """Return the error Google typically sends for a given status, for fault injection."""
    if code == 429:
        return ApiError(429, "rateLimitExceeded", "Too many requests; try again later.",
                        "usageLimits")
    if code == 403:
        # Google's usage-limit answer (403 rateLimitExceeded), never a permission error here.
        return ApiError(403, "rateLimitExceeded", "Rate limit exceeded; slow down.", "usageLimits")
    if code == 401:
        return ApiError(401, "authError", "The access token is not valid.")
    if code == 404:
        return not_found()
    if code == 400:
        return bad_request("The request was rejected as invalid.")
    if code in (500, 502):
        return ApiError(code, "backendError", "The backend hit an internal error.")
    if code in (503, 504):
        return ApiError(code, "backendError", "The service is unavailable; try again later.")
    raise ValueError(f"cannot inject HTTP status {code}")


INJECTABLE_STATUSES = frozenset({400, 401, 403, 404, 429, 500, 502, 503, 504})
