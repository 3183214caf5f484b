"""Benchmark: our full sync vs a naive one, and the cost of an incremental sync.

Builds an emulated mailbox (default 10,000 threads, ~20% with mail the rep sent), then measures,
in the same run and through google-api-python-client against the Gmail API emulator:

- our full sync (SENT threads + recent Primary conversations, batched, metadata only) into SQLite;
- a naive full sync: list every thread, then threads.get each one;
- an incremental sync after 100 new messages, on this mailbox and on one a fifth of its size,
  to show that its cost follows the changes, not the mailbox.

Prints quota units, HTTP requests and wall time for each, and the ratios. Usage:

    .venv/bin/python bench/sync.py [--threads 10000] [--changes 100]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from google.oauth2.credentials import Credentials  # noqa: E402

from server.gmail.client import METADATA_HEADERS, Backoff, GmailClient  # noqa: E402
from server.gmail.demo_mailbox import build_large_mailbox  # noqa: E402
from server.gmail.emulator import GmailEmulator  # noqa: E402
from server.gmail.sync import MailboxSync  # noqa: E402
from server.store.db import Database  # noqa: E402
from server.store.models import Mailbox, Org, User  # noqa: E402
from server.store.settings import rep_settings  # noqa: E402

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def client_for(emu: GmailEmulator) -> GmailClient:
    return GmailClient(Credentials(token="bench"), api_endpoint=emu.url, backoff=Backoff(base=0.05))


def measure(emu: GmailEmulator, work: Any) -> dict[str, float]:
    emu.reset_counters()
    started = time.perf_counter()
    extra = work()
    return {
        "quota": emu.quota_used,
        "requests": emu.http_requests,
        "seconds": time.perf_counter() - started,
        **(extra or {}),
    }


def naive_full_sync(emu: GmailEmulator) -> dict[str, float]:
    """List every thread, then threads.get each one (no batching, no label filter)."""
    client = client_for(emu)
    users = client.service.users()
    ids: list[str] = []
    token = None
    while True:
        page = users.threads().list(userId="me", maxResults=500, pageToken=token).execute()
        ids.extend(t["id"] for t in page.get("threads", []))
        token = page.get("nextPageToken")
        if not token:
            break
    for tid in ids:
        users.threads().get(
            userId="me", id=tid, format="metadata", metadataHeaders=list(METADATA_HEADERS)
        ).execute()
    client.close()
    return {"threads": len(ids)}


class Store:
    """A throwaway SQLite database with one org, rep and mailbox."""

    def __init__(self, folder: Path, rep: str) -> None:
        self.db = Database(f"sqlite:///{folder / 'bench.sqlite3'}")
        self.db.upgrade()
        with self.db.session() as s:
            domain = rep.rpartition("@")[2]
            org = Org(slug="bench", name="Bench", internal_domains=[domain])
            s.add(org)
            s.flush()
            user = User(org_id=org.id, email=rep, name="Bench Rep")
            s.add(user)
            s.flush()
            s.add(Mailbox(org_id=org.id, user_id=user.id, email=rep))
            self.user_id = user.id

    def sync(self, emu: GmailEmulator) -> dict[str, float]:
        client = client_for(emu)
        with self.db.session() as s:
            user = s.get(User, self.user_id)
            assert user is not None and user.mailbox is not None
            report = MailboxSync(s, user.mailbox, client, rep_settings(user).context).run()
        client.close()
        return {"threads": report.threads_stored, "mode": report.mode}  # type: ignore[dict-item]


def add_changes(emu: GmailEmulator, mailbox: dict[str, Any], count: int, seed: int) -> None:
    """Deliver `count` prospect answers into threads the rep wrote in."""
    rng = random.Random(seed)
    rep = mailbox["emailAddress"]
    sent_threads = [
        t for t in mailbox["threads"] if any("SENT" in m.get("labelIds", []) for m in t["messages"])
    ]
    for i in range(count):
        thread = rng.choice(sent_threads)
        at = NOW + timedelta(minutes=i)
        emu.add_message(
            {
                "id": f"bench{seed}{i:06x}",
                "threadId": thread["id"],
                "labelIds": ["INBOX", "UNREAD", "CATEGORY_PERSONAL"],
                "internalDate": str(int(at.timestamp() * 1000)),
                "payload": {
                    "mimeType": "text/plain",
                    "headers": [
                        {"name": "From", "value": "Prospect <someone@prospect.example>"},
                        {"name": "To", "value": rep},
                        {"name": "Subject", "value": "Re: our conversation"},
                    ],
                },
            }
        )


def run_mailbox(n_threads: int, changes: int, with_naive: bool) -> dict[str, dict[str, float]]:
    mailbox = build_large_mailbox(n_threads, sent_fraction=0.2, seed=1, now=NOW)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder, GmailEmulator(mailbox) as emu:
        store = Store(Path(folder), mailbox["emailAddress"])
        results["ours_full"] = measure(emu, lambda: store.sync(emu))
        if with_naive:
            results["naive_full"] = measure(emu, lambda: naive_full_sync(emu))
        add_changes(emu, mailbox, changes, seed=n_threads)
        results["incremental"] = measure(emu, lambda: store.sync(emu))
        store.db.dispose()
    return results


def row(name: str, r: dict[str, float]) -> str:
    return (
        f"  {name:<34} {int(r['quota']):>10,} units {int(r['requests']):>8,} requests "
        f"{r['seconds']:>8.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=100)
    args = parser.parse_args()

    print(
        f"Mailbox of {args.threads:,} threads (~20% with mail the rep sent); {args.changes} changes"
    )
    big = run_mailbox(args.threads, args.changes, with_naive=True)
    small_n = max(args.threads // 5, 200)
    small = run_mailbox(small_n, args.changes, with_naive=False)

    print("\nFull sync")
    print(row("ours (SENT + Primary, batched)", big["ours_full"]))
    print(row("naive (list all, threads.get each)", big["naive_full"]))
    ratio_units = big["naive_full"]["quota"] / max(big["ours_full"]["quota"], 1)
    ratio_reqs = big["naive_full"]["requests"] / max(big["ours_full"]["requests"], 1)
    ratio_time = big["naive_full"]["seconds"] / max(big["ours_full"]["seconds"], 1e-9)
    print(
        f"  naive / ours: {ratio_units:.1f}x quota units, {ratio_reqs:.1f}x HTTP requests, "
        f"{ratio_time:.1f}x wall time   (target: >= 5x fewer quota units: "
        f"{'met' if ratio_units >= 5 else 'NOT met'})"
    )
    print(f"\nIncremental sync after {args.changes} new messages")
    print(row(f"{args.threads:,}-thread mailbox", big["incremental"]))
    print(row(f"{small_n:,}-thread mailbox", small["incremental"]))
    growth = big["incremental"]["quota"] / max(small["incremental"]["quota"], 1)
    size = args.threads / small_n
    print(
        f"  mailbox {size:.0f}x larger -> incremental cost {growth:.2f}x "
        f"(it follows the {args.changes} changes, not the mailbox size)"
    )


if __name__ == "__main__":
    main()
