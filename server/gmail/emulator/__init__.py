"""A stand-in for Gmail's REST API v1, kept apart from the production sync.

Tests, benchmarks, the demo and `stepback emulator` use it; production code never imports it.
The names below are the package's public face (other modules' tests import them from here).
"""

from server.gmail.emulator.errors import ApiError, error_body, injected_error
from server.gmail.emulator.quota import QUOTA_TABLES, QuotaTable
from server.gmail.emulator.server import GmailEmulator, RecordedRequest, main

__all__ = [
    "QUOTA_TABLES",
    "ApiError",
    "GmailEmulator",
    "QuotaTable",
    "RecordedRequest",
    "error_body",
    "injected_error",
    "main",
]
