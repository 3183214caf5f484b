"""Benchmark: our full sync vs a naive one, and the cost of an incremental sync.

Builds an emulated mailbox (default 10,000 threads, ~20% with mail the rep sent), then measures,
in the same run and through google-api-python-client against the Gmail API emulator:

- our full sync (SENT threads + recent Primary conversations, batched, metadata only) into SQLite;
- a naive full sync: list every thread, then threads.get each one;
- an incremental sync after 100 new messages, on this mailbox and on one a fifth of its size,
  to show that its cost follows the changes, not the mailbox.

Prints quota units, HTTP requests and wall time for each, and the ratios. Then, on a virtual
clock (the emulator's quota window and every wait of the client run on it, so an hour of quota
passes in the minutes the work takes):

- a first sync of a 50,000-thread mailbox under Google's 6,000 units a minute per user (May 2026
  table), paced by our per-user pacer and the project governor: threads lost (must be 0), time
  against the quota floor (units needed / the per-minute limit; target <= 1.15x), the share of
  calls answered 403/429 (target <= 1%), and the time to the first 100 verdicts;
- a 3-year mailbox read with the 180-day horizon against a naive full read (list everything,
  threads.get each; its cost is counted from Google's table, not run): units and requests
  (target >= 15x fewer units).

Usage:

    .venv/bin/python bench/sync.py [--threads 10000] [--changes 100]
                                   [--paced-threads 50000] [--years-threads 30000] [--skip-basic]
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
from sqlalchemy import func, select  # noqa: E402

from server.gmail.client import METADATA_HEADERS, Backoff, GmailClient  # noqa: E402
from server.gmail.demo_mailbox import build_large_mailbox  # noqa: E402
from server.gmail.emulator import GmailEmulator  # noqa: E402
from server.gmail.pacing import ProjectGovernor, QuotaGate, UserPacer, VirtualClock  # noqa: E402
from server.gmail.quota import MAY_2026  # noqa: E402
from server.gmail.sync import MailboxSync  # noqa: E402
from server.store.db import Database  # noqa: E402
from server.store.models import Mailbox, Org, ThreadState, User  # noqa: E402
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


def sent_ids(mailbox: dict[str, Any], since: datetime | None = None) -> set[str]:
    """Threads holding mail the rep sent (newer than `since`, by their newest message)."""
    floor = int(since.timestamp() * 1000) if since else 0
    out = set()
    for t in mailbox["threads"]:
        if any("SENT" in m.get("labelIds", []) for m in t["messages"]):
            if max(int(m["internalDate"]) for m in t["messages"]) >= floor:
                out.add(t["id"])
    return out


def paced_first_sync(n_threads: int, since: datetime | None = None,
                     mailbox: dict[str, Any] | None = None) -> dict[str, Any]:
    """A first sync through the pacer and the governor, on a virtual clock."""
    mailbox = mailbox or build_large_mailbox(n_threads, sent_fraction=0.2, seed=5, now=NOW)
    clock = VirtualClock()
    start = clock.time()
    first_verdicts: list[float] = []
    with tempfile.TemporaryDirectory() as folder, GmailEmulator(
        mailbox, rate_limit_units=MAY_2026.units_per_user_minute, clock=clock.time
    ) as emu:
        store = Store(Path(folder), mailbox["emailAddress"])
        gate = QuotaGate(
            UserPacer(MAY_2026.units_per_user_minute, clock=clock),
            ProjectGovernor(store.db.engine, clock=clock),
        )
        client = GmailClient(Credentials(token="bench"), api_endpoint=emu.url,
                             backoff=Backoff(sleep=clock.sleep), gate=gate)

        def progress(_phase: str, _done: int, _total: int | None) -> None:
            if first_verdicts:
                return
            with store.db.session() as s:
                silent = s.scalar(select(func.count()).select_from(ThreadState).where(
                    ThreadState.kind.is_not(None)))
            if (silent or 0) >= 100:
                first_verdicts.append(clock.time() - start)

        wall = time.perf_counter()
        rounds = 0
        with store.db.session() as s:
            user = s.get(User, store.user_id)
            assert user is not None and user.mailbox is not None
            while True:
                rounds += 1
                report = MailboxSync(s, user.mailbox, client, rep_settings(user).context,
                                     progress=progress, since=since).run()
                if report.done or rounds >= 5:
                    break
            stored_ids = set(s.scalars(select(ThreadState.gmail_thread_id)))
        client.close()
        answers = sum(emu.answers.values())
        refused = emu.answers[403] + emu.answers[429]
        result = {
            "threads": len(mailbox["threads"]),
            "lost": len(sent_ids(mailbox, since) - stored_ids),
            "units": emu.quota_used,
            "requests": emu.http_requests,
            "virtual_seconds": clock.time() - start,
            "floor_seconds": emu.quota_used / MAY_2026.units_per_user_minute * 60,
            "refused_share": refused / max(answers, 1),
            "first_100": first_verdicts[0] if first_verdicts else None,
            "wall": time.perf_counter() - wall,
            "rounds": rounds,
            "status": report.status,
        }
        store.db.dispose()
    return result


def three_year_mailbox(n_threads: int) -> dict[str, Any]:
    """A large mailbox whose threads are spread evenly over the last three years."""
    import copy

    mailbox = copy.deepcopy(build_large_mailbox(n_threads, sent_fraction=0.2, seed=9, now=NOW))
    rng = random.Random(9)
    for thread in mailbox["threads"]:
        shift = int(rng.uniform(0, 3 * 365 - 60) * 86_400_000)
        for m in thread["messages"]:
            m["internalDate"] = str(int(m["internalDate"]) - shift)
    return mailbox


def naive_cost(n_threads: int) -> tuple[int, int]:
    """Units and requests of listing every thread and threads.get each (Google's table)."""
    pages = -(-n_threads // 500)
    return pages * MAY_2026.cost("gmail.users.threads.list") + n_threads * MAY_2026.cost(
        "gmail.users.threads.get"), pages + n_threads


def paced_report(paced: dict[str, Any]) -> None:
    ratio = paced["virtual_seconds"] / max(paced["floor_seconds"], 1e-9)
    first = paced["first_100"]
    print(f"\nFirst sync of a {paced['threads']:,}-thread mailbox at 6,000 units/minute "
          "(May 2026 table; virtual clock)")
    print(f"  threads lost                 {paced['lost']:>10}   (must be 0)")
    print(f"  quota units / requests       {paced['units']:>10,} / {paced['requests']:,}")
    print(f"  time                         {paced['virtual_seconds'] / 60:>10.1f} min against a "
          f"floor of {paced['floor_seconds'] / 60:.1f} min: {ratio:.2f}x   (target <= 1.15x: "
          f"{'met' if ratio <= 1.15 else 'NOT met'})")
    print(f"  calls answered 403/429       {paced['refused_share']:>10.2%}   (target <= 1%: "
          f"{'met' if paced['refused_share'] <= 0.01 else 'NOT met'})")
    minutes = first / 60 if first is not None else float("nan")
    print(f"  first 100 verdicts after     {minutes:>10.1f} min (virtual)")
    print(f"  passes / final status        {paced['rounds']:>10} / {paced['status']}   "
          f"(wall time {paced['wall']:.0f} s)")


def years_report(n_threads: int) -> None:
    mailbox = three_year_mailbox(n_threads)
    since = NOW - timedelta(days=180 + 14)
    ours = paced_first_sync(n_threads, since=since, mailbox=mailbox)
    units, requests = naive_cost(len(mailbox["threads"]))
    ratio = units / max(ours["units"], 1)
    print(f"\n3-year mailbox of {n_threads:,} threads, 180-day horizon (+14 days slack)")
    print(f"  ours (horizon)      {ours['units']:>12,} units {ours['requests']:>9,} requests   "
          f"lost {ours['lost']}")
    print(f"  naive (everything)  {units:>12,} units {requests:>9,} requests   (from the table)")
    print(f"  naive / ours: {ratio:.1f}x quota units, {requests / max(ours['requests'], 1):.1f}x "
          f"requests   (target >= 15x fewer units: {'met' if ratio >= 15 else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--paced-threads", type=int, default=50_000)
    parser.add_argument("--years-threads", type=int, default=30_000)
    parser.add_argument("--skip-basic", action="store_true", help="only the paced runs")
    args = parser.parse_args()
    if not args.skip_basic:
        basic(args)
    paced_report(paced_first_sync(args.paced_threads))
    years_report(args.years_threads)


def basic(args: Any) -> None:
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
