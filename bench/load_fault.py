"""Load and fault test: 200 concurrent reps against gunicorn + PostgreSQL while Gmail misbehaves.

    python bench/load_fault.py                      # 60 s, 200 reps
    python bench/load_fault.py --seconds 20 --reps 50
    python bench/load_fault.py --restart-postgres   # as root: restart PostgreSQL once, mid-run

Everything runs on loopback (deploy/local_run.py's LocalStack: gunicorn with
deploy/gunicorn.conf.py, PostgreSQL, the Gmail emulator, a Google stand-in). During the run:

- every rep (a thread with its own keep-alive connection) lists prospects, asks for compose
  guidance, reads /me, schedules get-backs and moves them, with a short think time;
- an admin changes reps' own silence thresholds through the admin pages (session + CSRF);
- prospects answer in Gmail and Pub/Sub-style pushes arrive for the reps' mailboxes;
- the emulator answers bursts of 429 and 503, then forgets its history (an expired historyId);
- with --restart-postgres, PostgreSQL is restarted once.

It prints requests served, p50/p99 latency (and /healthz in the same run as a baseline),
errors by kind, and then proves from the database that no acknowledged get-back date or
settings change was lost, that every pushed mailbox caught up, and that no 5xx happened
outside the restart window. Exit status 0 only when all of that holds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy.local_run import DEMO_REP, LocalStack  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/stepback_bench"
ADMIN = "morgan@northwind-demo.com"
REQUEST_TIMEOUT = 15.0
# 5xx answers this long after PostgreSQL is back still count as part of the restart.
RESTART_GRACE_SECONDS = 5.0


# -- bookkeeping -------------------------------------------------------------------------------


@dataclass
class Sample:
    at: float
    what: str
    status: int  # 0 = no HTTP answer (connection refused/reset, timeout)
    seconds: float
    error: str = ""


@dataclass
class Write:
    """One attempt to set a value; `acked` is None when we never learnt the outcome."""

    value: Any
    acked: bool | None


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    getbacks: dict[int, list[Write]] = field(default_factory=dict)
    unconfirmed_creates: int = 0
    thresholds: dict[int, list[Write]] = field(default_factory=dict)
    # mailbox id -> the newest historyId a push for it was acknowledged with
    pushed: dict[int, int] = field(default_factory=dict)

    def note(self, table: dict[int, list[Write]], key: int, write: Write) -> None:
        with self.lock:
            table.setdefault(key, []).append(write)


@dataclass
class Recorder:
    lock: threading.Lock = field(default_factory=threading.Lock)
    samples: list[Sample] = field(default_factory=list)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


@dataclass
class Window:
    start: float | None = None
    end: float | None = None

    def covers(self, sample: Sample) -> bool:
        """Whether the request was in flight at any moment of the restart (plus grace)."""
        if self.start is None:
            return False
        end = (self.end if self.end is not None else time.monotonic()) + RESTART_GRACE_SECONDS
        return sample.at <= end and sample.at + sample.seconds >= self.start


# -- HTTP --------------------------------------------------------------------------------------


class Client:
    """A keep-alive HTTP/1.1 connection to the service, reopened after any failure."""

    def __init__(self, port: int, recorder: Recorder) -> None:
        self.port = port
        self.recorder = recorder
        self.conn: http.client.HTTPConnection | None = None

    def call(
        self, method: str, path: str, what: str, *, token: str = "", body: Any = None
    ) -> tuple[int, Any]:
        headers = {"Connection": "keep-alive"}
        data = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT
                )
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
            status = resp.status
            if resp.getheader("Connection", "").lower() == "close":
                self.close()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            kind = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            self.recorder.add(Sample(started, what, 0, time.monotonic() - started, kind))
            return 0, None
        self.recorder.add(Sample(started, what, status, time.monotonic() - started))
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# -- the actors --------------------------------------------------------------------------------


def rep_loop(
    stack: LocalStack, email: str, token: str, stop: threading.Event, recorder: Recorder,
    ledger: Ledger, seed: int,
) -> None:
    rng = random.Random(seed)
    client = Client(stack.port, recorder)
    mine: list[int] = []
    threads: list[str] = []
    try:
        while not stop.is_set():
            roll = rng.random()
            if roll < 0.05:
                client.call("GET", "/healthz", "healthz")
            elif roll < 0.40 or not threads:
                status, page = client.call(
                    "GET", "/api/v1/prospects?per_page=25", "prospects", token=token
                )
                if status == 200 and isinstance(page, dict):
                    threads = [i["threadId"] for i in page.get("items", []) if i.get("threadId")]
            elif roll < 0.55:
                client.call("POST", "/api/v1/guidance", "guidance", token=token,
                            body={"threadId": rng.choice(threads), "recipients": []})
            elif roll < 0.62:
                client.call("GET", "/api/v1/me", "me", token=token)
            elif roll < 0.80 or not mine:
                due = _future(rng)
                status, body = client.call(
                    "POST", "/api/v1/getbacks", "getback.create", token=token,
                    body={"threadId": rng.choice(threads), "dueAt": due, "kind": "getback",
                          "note": "bench"},
                )
                if status == 201 and isinstance(body, dict):
                    mine.append(int(body["id"]))
                    ledger.note(ledger.getbacks, int(body["id"]), Write(due, True))
                elif status == 0 or status >= 500:
                    with ledger.lock:
                        ledger.unconfirmed_creates += 1
            else:
                getback_id = rng.choice(mine)
                due = _future(rng)
                status, _ = client.call(
                    "PATCH", f"/api/v1/getbacks/{getback_id}", "getback.move", token=token,
                    body={"dueAt": due},
                )
                if status == 409:
                    # Replaced by a newer get-back for the same thread: no longer ours to move.
                    mine.remove(getback_id)
                else:
                    acked = True if status == 200 else (None if status == 0 or status >= 500
                                                         else False)
                    ledger.note(ledger.getbacks, getback_id, Write(due, acked))
            stop.wait(rng.uniform(0.4, 1.2))
    finally:
        client.close()


def _future(rng: random.Random) -> str:
    at = datetime.now(UTC) + timedelta(days=rng.randint(2, 300), minutes=rng.randint(0, 1439))
    return at.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def admin_loop(
    stack: LocalStack, people: list[tuple[int, str]], team_id: int, stop: threading.Event,
    recorder: Recorder, ledger: Ledger,
) -> None:
    """Sign in to the admin pages and keep changing reps' own thresholds."""
    rng = random.Random(99)
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = stack.base_url
    csrf = ""

    def fetch(
        method: str, path: str, what: str, form: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310
        started = time.monotonic()
        try:
            with opener.open(req, timeout=REQUEST_TIMEOUT) as resp:
                status, text = resp.status, resp.read().decode("utf-8", "replace")
                final = resp.geturl()
        except urllib.error.HTTPError as err:
            status, text, final = err.code, err.read().decode("utf-8", "replace"), ""
        except (OSError, http.client.HTTPException) as exc:
            recorder.add(Sample(started, what, 0, time.monotonic() - started, type(exc).__name__))
            return 0, "", ""
        recorder.add(Sample(started, what, status, time.monotonic() - started))
        return status, text, final

    def token_from(text: str) -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', text)
        return found.group(1) if found else ""

    while not stop.is_set() and not csrf:
        status, page, _ = fetch("GET", "/auth/demo", "admin.signin")
        form_token = token_from(page)
        if status == 200 and form_token:
            status, page, _ = fetch("POST", "/auth/demo", "admin.signin",
                                    {"email": ADMIN, "password": "demo", "csrf_token": form_token})
            csrf = token_from(page) if status == 200 else ""
            if not csrf:
                status, page, _ = fetch("GET", "/admin/people", "admin.page")
                csrf = token_from(page)
        if not csrf:
            stop.wait(1)
    while not stop.is_set():
        user_id, name = rng.choice(people)
        value = rng.randint(1, 365)
        status, page, final = fetch("POST", f"/admin/people/{user_id}", "admin.threshold", {
            "csrf_token": csrf, "name": name, "team_id": str(team_id), "role": "rep",
            "threshold_override_days": str(value),
        })
        # Success redirects (303/302) to the person's page.
        acked: bool | None = status == 200 and final.endswith(f"/admin/people/{user_id}")
        if status == 0 or status >= 500:
            acked = None
        ledger.note(ledger.thresholds, user_id, Write(value, acked))
        fresh = token_from(page)
        csrf = fresh or csrf
        stop.wait(rng.uniform(0.2, 0.6))


def gmail_loop(
    stack: LocalStack, mailboxes: list[tuple[int, str]], stop: threading.Event,
    recorder: Recorder, ledger: Ledger,
) -> None:
    """Prospects answer; Gmail pushes the change for one of the reps' mailboxes."""
    rng = random.Random(7)
    thread_ids = [t["id"] for t in stack.emulator.export_mailbox()["threads"]]
    while not stop.is_set():
        stack.prospect_answers(rng.choice(thread_ids))
        mailbox_id, email = rng.choice(mailboxes)
        started = time.monotonic()
        history = int(stack.emulator.history_id)
        try:
            status = stack.push(email, history)
        except OSError as exc:
            recorder.add(Sample(started, "push", 0, time.monotonic() - started, type(exc).__name__))
        else:
            recorder.add(Sample(started, "push", status, time.monotonic() - started))
            if status == 204:
                with ledger.lock:
                    ledger.pushed[mailbox_id] = max(history, ledger.pushed.get(mailbox_id, 0))
        stop.wait(rng.uniform(0.2, 0.5))


# -- setup -------------------------------------------------------------------------------------


def add_reps(stack: LocalStack, count: int) -> tuple[list[tuple[int, str, str]], int]:
    """Create `count` reps with connected mailboxes holding a copy of Alex's synced threads."""
    from sqlalchemy import select, text

    from server.store.models import Mailbox, Org, Team, User

    db = stack.database()
    made: list[tuple[int, str, str]] = []
    try:
        with db.session() as s:
            org = s.scalar(select(Org).where(Org.slug == "northwind-demo"))
            team = s.scalar(select(Team).where(Team.org_id == org.id, Team.name == "Mid-market"))
            alex = s.scalar(select(Mailbox).where(Mailbox.email == DEMO_REP))
            users = [
                User(org_id=org.id, team_id=team.id, email=f"rep{i:03d}@northwind-demo.com",
                     name=f"Bench Rep {i:03d}", role="rep")
                for i in range(count)
            ]
            s.add_all(users)
            s.flush()
            boxes = []
            for user in users:
                box = Mailbox(org_id=org.id, user_id=user.id, email=user.email, status="ok",
                              history_id=alex.history_id, last_sync_at=alex.last_sync_at,
                              threads_synced=alex.threads_synced)
                stack.connect_mailbox(box)
                boxes.append(box)
            s.add_all(boxes)
            s.flush()
            columns = (
                "org_id, gmail_thread_id, history_id, subject, messages, participants, kind, "
                "silent_since, unanswered_count, prospect_email, prospect_name, "
                "reply_owed_since, last_message_at, last_answer_at, warnings, updated_at"
            )
            # One statement copies Alex's synced threads into every new mailbox.
            s.execute(
                text(
                    f"INSERT INTO thread_states (mailbox_id, {columns}) "  # noqa: S608
                    f"SELECT m.id, {', '.join('t.' + c.strip() for c in columns.split(','))} "
                    "FROM thread_states t CROSS JOIN mailboxes m "
                    "WHERE t.mailbox_id = :alex AND m.id = ANY(:ids)"
                ),
                {"alex": alex.id, "ids": [b.id for b in boxes]},
            )
            made = [(u.id, u.email, b.id) for u, b in zip(users, boxes, strict=True)]
            team_id = team.id
    finally:
        db.dispose()
    return made, team_id


def others_connected(stack: LocalStack) -> list[str]:
    """Databases other than ours with open connections (a restart would cut them off)."""
    from sqlalchemy import text

    db = stack.database()
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT DISTINCT datname FROM pg_stat_activity WHERE datname IS NOT NULL "
                    "AND datname NOT IN (current_database(), 'postgres')"
                )
            ).scalars()
            return sorted(rows)
    finally:
        db.dispose()


def restart_postgres(stack: LocalStack, window: Window) -> str:
    """Restart the local PostgreSQL cluster once, unless others use it; fill in the window."""
    busy = others_connected(stack)
    if busy:
        return f"skipped: other databases are in use ({', '.join(busy)})"
    clusters = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True,
                              check=True).stdout.split()
    version, name = clusters[0], clusters[1]
    window.start = time.monotonic()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart"],
                   check=True, capture_output=True)
    window.end = time.monotonic()
    return f"restarted cluster {version}/{name} in {window.end - window.start:.1f}s"


# -- verification ------------------------------------------------------------------------------


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def check_writes(stack: LocalStack, ledger: Ledger) -> list[str]:
    """Every acknowledged write is in the database, unless a later, unconfirmed one replaced it."""
    from sqlalchemy import select

    from server.store.models import GetBack, User

    problems: list[str] = []
    db = stack.database()
    try:
        with db.session() as s:
            rows = {g.id: g for g in s.scalars(select(GetBack).where(GetBack.note == "bench"))}
            users = {u.id: u for u in s.scalars(select(User))}
    finally:
        db.dispose()
    for getback_id, writes in ledger.getbacks.items():
        row = rows.get(getback_id)
        if row is None:
            problems.append(f"get-back {getback_id}: acknowledged but missing")
            continue
        allowed = _allowed(writes, initial=None)
        if not any(abs((row.due_at - _parse(v)).total_seconds()) < 1 for v in allowed if v):
            problems.append(f"get-back {getback_id}: date {row.due_at.isoformat()} not one of "
                            f"{sorted(allowed)}")
    for user_id, writes in ledger.thresholds.items():
        # The reps start without an override of their own.
        allowed = _allowed(writes, initial=None)
        got = users[user_id].threshold_override_days
        if got not in allowed:
            problems.append(f"user {user_id}: threshold {got} not one of {sorted(allowed)}")
    return problems


def _allowed(writes: list[Write], initial: Any) -> set[Any]:
    """The last acknowledged value (or the initial one), or any value written after it
    without confirmation: a request cut off by the restart may or may not have landed."""
    last = max((i for i, w in enumerate(writes) if w.acked), default=None)
    start = initial if last is None else writes[last].value
    after = writes if last is None else writes[last + 1 :]
    return {start} | {w.value for w in after if w.acked is None}


def check_mailboxes(stack: LocalStack, pushed: dict[int, int]) -> list[str]:
    """Every acknowledged push was synced: the mailbox is at least at the pushed historyId."""
    from sqlalchemy import select

    from server.store.models import Mailbox

    db = stack.database()
    try:
        with db.session() as s:
            boxes = list(s.scalars(select(Mailbox).where(Mailbox.id.in_(list(pushed)))))
    finally:
        db.dispose()
    return [f"mailbox {b.id} ({b.email}): at history {b.history_id}, pushed {pushed[b.id]}"
            for b in boxes if int(b.history_id or 0) < pushed[b.id]]


def settle(stack: LocalStack, pushed: dict[int, int], timeout: float = 120.0) -> tuple[int, Any]:
    """Run the scheduler's poll until every pushed mailbox has caught up (or time runs out)."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = stack.task("poll-quiet-mailboxes", timeout=600)
        if not check_mailboxes(stack, pushed) or time.monotonic() > deadline:
            return status, body
        time.sleep(1.0)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


# -- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--restart-postgres", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL")
                        or DEFAULT_DATABASE_URL)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    if not 1 <= args.seconds <= 600 or not 1 <= args.reps <= 1000:
        parser.error("--seconds must be 1..600 and --reps 1..1000")
    host = urllib.parse.urlsplit(args.database_url.replace("+psycopg", "")).hostname
    if host not in ("127.0.0.1", "localhost", "::1", None):
        parser.error("the benchmark only talks to a database on this machine")
    restart = args.restart_postgres
    if restart and (os.geteuid() != 0 or not host):
        print("--restart-postgres needs root and a local PostgreSQL; not restarting")
        restart = False

    env = {
        # Fault bursts are handled by the client's retries; keep their waits short here.
        "STEPBACK_GMAIL_BACKOFF_BASE": "0.05",
        "STEPBACK_GMAIL_BACKOFF_CAP": "1.0",
        "STEPBACK_PUSH_SYNC_WORKERS": "2",
        "STEPBACK_API_RATE_LIMIT": "100000 per minute",
        "GUNICORN_ACCESS_LOG": "",
    }
    print(f"setting up: gunicorn ({args.workers} workers x {args.threads} threads), "
          f"PostgreSQL {args.database_url.rsplit('/', 1)[-1]}, Gmail emulator, {args.reps} reps")
    stack = LocalStack(args.database_url, workers=args.workers, threads=args.threads,
                       mailbox_threads=60, env=env)
    try:
        stack.start()
        status, body = stack.task("poll-quiet-mailboxes")
        if status != 200 or body.get("results") != {"synced": 1}:
            print(f"first sync failed: {status} {body}")
            return 1
        reps, team_id = add_reps(stack, args.reps)
        return run(stack, reps, team_id, args.seconds, restart)
    finally:
        stack.stop()


def run(stack: LocalStack, reps: list[tuple[int, str, str]], team_id: int, seconds: float,
        restart: bool) -> int:
    recorder, ledger, window = Recorder(), Ledger(), Window()
    stop = threading.Event()
    actors = [
        threading.Thread(
            target=rep_loop,
            args=(stack, email, stack.api_token(email), stop, recorder, ledger, n),
            daemon=True,
        )
        for n, (_uid, email, _mid) in enumerate(reps)
    ]
    people = [(uid, f"Bench Rep {n:03d}") for n, (uid, _e, _m) in enumerate(reps)]
    actors.append(threading.Thread(
        target=admin_loop, args=(stack, people, team_id, stop, recorder, ledger), daemon=True))
    mailboxes = [(mid, email) for _uid, email, mid in reps]
    actors.append(threading.Thread(
        target=gmail_loop, args=(stack, mailboxes, stop, recorder, ledger), daemon=True))
    began = time.monotonic()
    for actor in actors:
        actor.start()
    emu = stack.emulator
    faults = [
        (0.15, "429 burst", lambda: emu.inject(429, count=40)),
        (0.30, "503 burst", lambda: emu.inject(503, count=40)),
        (0.45, "expired historyId", emu.expire_history),
    ]
    if restart:
        faults.append(
            (0.60, "PostgreSQL restart", lambda: print(f"  {restart_postgres(stack, window)}"))
        )
    for share, label, act in faults:
        wait = began + seconds * share - time.monotonic()
        if wait > 0:
            stop.wait(wait)
        print(f"  t={time.monotonic() - began:5.1f}s  inject: {label}")
        act()
    stop.wait(max(0.0, began + seconds - time.monotonic()))
    stop.set()
    for actor in actors:
        actor.join(timeout=REQUEST_TIMEOUT + 5)
    elapsed = time.monotonic() - began
    emu.clear_faults()
    # What the scheduler's poll does in production: catch up anything a push left owing.
    settle_status, settled = settle(stack, ledger.pushed)
    return report(stack, recorder, ledger, window, elapsed, settle_status, settled)


def report(stack: LocalStack, recorder: Recorder, ledger: Ledger, window: Window,
           elapsed: float, settle_status: int, settle: Any) -> int:
    samples = recorder.samples
    answered = [s for s in samples if s.status]
    kinds: Counter[str] = Counter()
    for s in samples:
        if s.status == 0:
            kinds[f"no answer ({s.error})"] += 1
        elif s.status >= 500:
            kinds[f"{s.status} {'(restart window)' if window.covers(s) else ''}".strip()] += 1
        elif s.status >= 400 and not (s.what == "getback.move" and s.status == 409):
            kinds[f"{s.status} {s.what}"] += 1
    outside = [s for s in samples if (s.status >= 500 or s.status == 0)
               and not window.covers(s)]
    api = sorted(s.seconds * 1000 for s in answered if s.what not in ("healthz", "push"))
    base = sorted(s.seconds * 1000 for s in answered if s.what == "healthz")
    p50, p99 = percentile(api, 50), percentile(api, 99)
    b50, b99 = percentile(base, 50), percentile(base, 99)
    print(f"\nrequests served: {len(answered)} in {elapsed:.0f}s ({len(answered) / elapsed:.0f}/s)")
    by_what = Counter(s.what for s in answered)
    print("  by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(by_what.items())))
    print(f"latency, API and admin: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"latency, /healthz (baseline, same run): p50 {b50:.1f} ms, p99 {b99:.1f} ms"
          f"  -> ratio p50 {p50 / b50:.1f}x, p99 {p99 / b99:.1f}x")
    print("errors by kind: " + (", ".join(f"{k}: {v}" for k, v in sorted(kinds.items()))
                                or "none"))
    print(f"Gmail emulator: {stack.emulator.quota_used} quota units, "
          f"{stack.emulator.http_requests} HTTP requests")
    print(f"final poll (as the scheduler would run it): {settle_status} "
          f"{settle.get('results') if isinstance(settle, dict) else settle}")
    problems = check_writes(stack, ledger)
    problems += check_mailboxes(stack, ledger.pushed)
    acked_gb = sum(1 for w in ledger.getbacks.values() if any(x.acked for x in w))
    acked_th = sum(1 for w in ledger.thresholds.values() if any(x.acked for x in w))
    print(f"checked: {acked_gb} get-backs ({sum(len(w) for w in ledger.getbacks.values())} "
          f"writes), {acked_th} reps' thresholds "
          f"({sum(len(w) for w in ledger.thresholds.values())} writes), "
          f"{len(ledger.pushed)} pushed mailboxes")
    if outside:
        problems.append(f"{len(outside)} 5xx/unanswered requests outside the restart window "
                        f"(first: {outside[0].what} {outside[0].status} {outside[0].error})")
    if settle_status != 200:
        problems.append(f"the final poll answered {settle_status}")
    if problems:
        print("FAILED:")
        for line in problems[:20]:
            print(f"  - {line}")
        return 1
    print("OK: no acknowledged get-back date or settings change was lost, every pushed mailbox "
          "caught up, and no 5xx happened outside the restart window")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
