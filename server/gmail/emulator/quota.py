"""The emulator charges Gmail's quota tables (kept once, in server/gmail/quota.py)."""

from server.gmail.quota import LEGACY, MAY_2026, QUOTA_TABLES, QuotaTable

__all__ = ["LEGACY", "MAY_2026", "QUOTA_TABLES", "QuotaTable"]
