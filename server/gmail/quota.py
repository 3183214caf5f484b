"""Gmail's quota tables: what each method costs, and the per-user and per-project budgets.

Two tables exist. Projects created since May 2026 pay more per read and get a smaller per-user
budget (the project's DESIGN.md, section 3: getProfile 1, history.list 2, messages.list 5,
threads.list 10, messages.get 20, threads.get 40, watch 100, stop 50; 6,000 units a user a
minute). Older ("legacy") projects keep the table published at
https://developers.google.com/gmail/api/reference/quota (messages.get 5, threads.get 10,
15,000 units a user a minute). Both share the per-project limit of 1,200,000 units a minute
from the same page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class QuotaTable:
    """Per-method costs (keyed by discovery method id) and the per-user limit a minute."""

    name: str
    costs: Mapping[str, int]
    units_per_user_minute: int
    units_per_project_minute: int = 1_200_000
    # Before billing is set up (the project's DESIGN.md); Google resets it at midnight Pacific.
    units_per_project_day: int = 80_000_000

    def cost(self, method: str) -> int:
        """Units one call of `method` costs (a batch costs the sum of its parts)."""
        return int(self.costs.get(method, 1))


_BASE = {
    "gmail.users.getProfile": 1,
    "gmail.users.history.list": 2,
    "gmail.users.messages.list": 5,
    "gmail.users.threads.list": 10,
    "gmail.users.watch": 100,
    "gmail.users.stop": 50,
}

MAY_2026 = QuotaTable(
    "may2026",
    MappingProxyType({**_BASE, "gmail.users.messages.get": 20, "gmail.users.threads.get": 40}),
    6_000,
)
LEGACY = QuotaTable(
    "legacy",
    MappingProxyType({**_BASE, "gmail.users.messages.get": 5, "gmail.users.threads.get": 10}),
    15_000,
)
QUOTA_TABLES: Mapping[str, QuotaTable] = MappingProxyType({"may2026": MAY_2026, "legacy": LEGACY})
