"""Pure silence rules over Gmail thread metadata: no Flask, no I/O, no database."""

from .calendar import business_days_between, days_between
from .headers import header, is_automatic, parse_addresses
from .model import (
    CHASING,
    NO_REPLY_YET,
    QUIET_AFTER_OURS,
    SINGLE_CONTACT,
    WENT_SILENT,
    MailboxContext,
    Person,
    ReplyOwedVerdict,
    ScanResult,
    SilentVerdict,
    ThreadFacts,
    Threshold,
    Warning,
    default_context,
)
from .silence import (
    analyze_thread,
    domain_sender_index,
    reply_owed_verdict,
    scan,
    scan_to_json,
    scan_to_table,
    silence_verdict,
)

__all__ = [
    "CHASING",
    "NO_REPLY_YET",
    "QUIET_AFTER_OURS",
    "SINGLE_CONTACT",
    "WENT_SILENT",
    "MailboxContext",
    "Person",
    "ReplyOwedVerdict",
    "ScanResult",
    "SilentVerdict",
    "ThreadFacts",
    "Threshold",
    "Warning",
    "analyze_thread",
    "business_days_between",
    "days_between",
    "default_context",
    "domain_sender_index",
    "header",
    "is_automatic",
    "parse_addresses",
    "reply_owed_verdict",
    "scan",
    "scan_to_json",
    "scan_to_table",
    "silence_verdict",
]
