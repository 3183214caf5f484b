"""The same hostile messages through the real sync (emulator + client) on SQLite and PostgreSQL.

No message's content may fail a sync: the mailbox keeps syncing, its historyId advances and a
later answer is still seen. Stored values stay within their columns on both databases.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server import create_app
from server.gmail.emulator import GmailEmulator
from server.gmail.sync import MailboxSync
from server.store.db import Database, get_db
from server.store.limits import column_length
from server.store.models import Mailbox, Org, ThreadState, User
from server.store.settings import rep_settings
from tests.conftest import NOW, PG_URL, TEST_KEY, _truncate, gmail_client, need
from tests.engine.builders import msg

REP = "rep@acme.com"
LONG_ADDRESS = "x" * 400 + "@globex.com"
INBOX = ["INBOX", "CATEGORY_PERSONAL"]

# Each entry: (From, extra headers) of an inbound message a stranger could send.
HOSTILE: list[tuple[str, dict[str, str]]] = [
    (f"Long <{LONG_ADDRESS}>", {}),
    (LONG_ADDRESS, {}),
    ("MAILER-DAEMON <>", {"Subject": "Undelivered Mail Returned to Sender"}),
    ("<>", {}),
    ("Mail Delivery System <>", {"Content-Type": "multipart/report; report-type=delivery-status"}),
    ("Eve\x00\x07\x1b[31m <eve@globex.com>", {}),
    ("=?utf-8?b?A?= <broken@globex.com>", {"Subject": "=?utf-8?b?A?="}),
    ("Sub <sub@globex.com>", {"Subject": "S" * 20_000}),
    ("Nul <nul@globex.com>", {"Subject": "before\x00after", "X-Autoreply": "\x00"}),
    ("pat at acme", {}),
    ("N" * 50_000 + " <name@globex.com>", {}),
    ("undisclosed-recipients:;", {}),
    ("Rtl \u202egnp.exe\U0001f600 <rtl@globex.com>", {}),
    ("Many <many@globex.com>", {"Cc": ", ".join(f"p{i}@globex.com" for i in range(1500))}),
    ("Quote \"\\\" <q@globex.com>", {}),
    ("", {}),
]


def _thread(tid: str, *messages: dict[str, Any]) -> dict[str, Any]:
    for m in messages:
        m["threadId"] = tid
    return {"id": tid, "historyId": "100", "messages": list(messages)}


def hostile_mailbox() -> dict[str, Any]:
    """One silent thread per hostile answer (in a thread the rep wrote in) and a copy of each
    as a lone Primary-inbox message, plus a quiet thread a later answer arrives in."""
    threads = []
    for i, (frm, extra) in enumerate(HOSTILE):
        at = NOW - timedelta(days=12, hours=i)
        ours = msg(f"h{i}a", at, f"Rita <{REP}>", [f"bob{i}@globex.com"], labels=["SENT"])
        theirs = msg(f"h{i}b", at + timedelta(hours=2), frm, [REP], labels=INBOX,
                     headers=extra, subject=None if "Subject" in extra else "Re: Proposal")
        threads.append(_thread(f"h{i:03d}", ours, theirs))
        lone = msg(f"l{i}a", at, frm, [REP], labels=INBOX, headers=extra,
                   subject=None if "Subject" in extra else "Hello")
        threads.append(_thread(f"l{i:03d}", lone))
    quiet = msg("qa", NOW - timedelta(days=9), f"Rita <{REP}>", ["Bob <bob@globex.com>"],
                labels=["SENT"])
    threads.append(_thread("quiet", quiet))
    return {"emailAddress": REP, "historyId": "100", "threads": threads}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hostile_app(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """An app on SQLite, then on PostgreSQL (a failure under CI when it is not configured)."""
    if request.param == "postgres":
        if not PG_URL:
            need("STEPBACK_TEST_DATABASE_URL is not set")
        pg: Database | None = request.getfixturevalue("pg_database")
        assert pg is not None
        _truncate(pg)
        url = PG_URL
    else:
        path = tmp_path / "hostile.sqlite3"
        shutil.copyfile(sqlite_template, path)
        url = f"sqlite:///{path}"
    monkeypatch.setenv("STEPBACK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret-key",
        "ENCRYPTION_KEYS": TEST_KEY,
        "FIXED_NOW": NOW.isoformat(),
    })
    yield app
    get_db(app).dispose()


def _rep(app: Any) -> int:
    with get_db(app).session() as s:
        org = Org(slug="acme", name="Acme", internal_domains=["acme.com"])
        s.add(org)
        s.flush()
        user = User(org_id=org.id, email=REP, name="Rita Rep")
        s.add(user)
        s.flush()
        s.add(Mailbox(org_id=org.id, user_id=user.id, email=REP))
        s.commit()
        return user.id


def _sync(app: Any, user_id: int, emu: GmailEmulator) -> Any:
    with get_db(app).session() as s:
        user = s.get(User, user_id)
        assert user is not None and user.mailbox is not None
        return MailboxSync(s, user.mailbox, gmail_client(emu), rep_settings(user).context).run()


def test_hostile_messages_never_fail_a_sync_and_later_answers_are_seen(hostile_app: Any) -> None:
    user_id = _rep(hostile_app)
    with GmailEmulator(hostile_mailbox()) as emu:
        report = _sync(hostile_app, user_id, emu)
        assert report.mode == "full"
        assert report.messages_skipped == 0, report.errors
        with get_db(hostile_app).session() as s:
            mailbox = s.scalar(select(Mailbox))
            assert mailbox is not None
            assert mailbox.status == "ok" and mailbox.history_id == emu.history_id
            rows = {r.gmail_thread_id: r for r in s.scalars(select(ThreadState))}
        assert {f"h{i:03d}" for i in range(len(HOSTILE))} <= set(rows)
        for row in rows.values():
            if row.prospect_email is not None:
                assert len(row.prospect_email) <= column_length(ThreadState.prospect_email)
                assert "\x00" not in row.prospect_email
            assert len(row.subject) <= column_length(ThreadState.subject)
            assert "\x00" not in (row.prospect_name or "") + row.subject
            for stored in row.messages:
                for header in stored["payload"]["headers"]:
                    assert "\x00" not in header["value"]
        # The over-long address is no usable address: the thread stays a silent candidate.
        assert rows["h000"].kind == "no_reply_yet"
        # A null sender is a bounce, not an answer.
        assert rows["h002"].kind == "no_reply_yet" and rows["h002"].reply_owed_since is None

        start = emu.history_id
        answer = msg("late", NOW - timedelta(hours=1), "Bob <bob@globex.com>", [REP],
                     labels=INBOX, thread_id="quiet", subject="Re: Proposal")
        emu.add_message(answer)
        again = msg("late2", NOW - timedelta(minutes=30), f"Odd <{LONG_ADDRESS}>", [REP],
                    labels=INBOX, thread_id="h001", subject="=?utf-8?b?A?=")
        emu.add_message(again)
        report = _sync(hostile_app, user_id, emu)
        assert report.mode == "incremental" and not report.errors
        with get_db(hostile_app).session() as s:
            mailbox = s.scalar(select(Mailbox))
            assert mailbox is not None and mailbox.status == "ok"
            assert int(mailbox.history_id or 0) > int(start)
            assert mailbox.history_id == emu.history_id
            quiet = s.scalar(select(ThreadState).where(ThreadState.gmail_thread_id == "quiet"))
            assert quiet is not None
            assert quiet.kind is None and quiet.reply_owed_since is not None


def test_the_hostile_set_as_a_mailbox_file_scans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`stepback scan --mailbox` accepts every file Gmail's API could have produced."""
    import json

    from server.cli import main

    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(hostile_mailbox()), encoding="utf-8")
    capsys.readouterr()
    code = main(["scan", "--mailbox", str(path), "--now", NOW.isoformat(), "--threshold", "3",
                 "--format", "json"])
    captured = capsys.readouterr()
    assert code in (0, None), captured.err
    out = json.loads(captured.out)
    silent = {row["threadId"] for row in out["silent"]}
    owed = {row["threadId"] for row in out["replyOwed"]}
    # No usable address, a null sender, a bounce: the rep's message is still unanswered.
    unanswered = {"h000", "h001", "h002", "h003", "h004", "h008", "h009", "h011", "h014", "h015"}
    assert unanswered <= silent
    # People with odd but usable addresses did answer.
    assert {"h005", "h006", "h007", "h010", "h012", "h013"} <= owed
    for row in out["silent"] + out["replyOwed"]:
        assert len(row["prospect"]["email"]) <= 320
