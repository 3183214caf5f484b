"""Defence in depth: a threadId the draft is not about is never used (guidance, plays,
get-backs). The extension reads the id from Gmail's page, and a page can mislead: a list row,
or the conversation behind a new message. Alex's mailbox: t-silent is Bob's (globex-corp.com),
t-owed Carol's (initech.io), t-fresh Dave's (umbrella.example)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.engine.model import MailboxContext
from server.services.guidance import thread_fits
from server.store.db import get_db
from server.store.models import GetBack, PlayEvent, ThreadState

FUTURE = "2026-12-01T10:00:00-05:00"
CAROL = "Carol Diaz <carol@initech.io>"


def guidance(api: Any, **body: Any) -> dict[str, Any]:
    resp = api("post", "/guidance", json=body)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_a_thread_of_someone_else_gives_way_to_the_recipients(api: Any) -> None:
    data = guidance(api, threadId="t-silent", recipients=[CAROL])
    # Carol's own thread speaks, not Bob's: her name, her state, her id to record against.
    assert data["threadId"] == "t-owed"
    assert data["state"] == "reply_owed"
    assert data["sentence"].startswith("Carol at Initech")
    assert "Bob" not in data["sentence"]
    assert data["prospect"]["email"] == "carol@initech.io"


def test_the_right_thread_and_a_colleague_of_the_prospect_keep_it(api: Any) -> None:
    same = guidance(api, threadId="t-silent", recipients=["bob@globex-corp.com"])
    assert same["threadId"] == "t-silent" and same["state"] == "went_silent"
    # Someone else at the prospect's company (no stored thread of their own) is about it too.
    colleague = guidance(api, threadId="t-silent", recipients=["ann@globex-corp.com"])
    assert colleague["threadId"] == "t-silent"
    assert colleague["sentence"].startswith("Bob at Globex Corp")


def test_only_colleagues_of_the_rep_never_prove_a_thread(api: Any) -> None:
    data = guidance(api, threadId="t-silent", recipients=["jordan@northwind-demo.com"])
    assert data["threadId"] is None
    assert data["state"] == "unknown" and data["nag"] is False
    assert "Bob" not in data["sentence"]


def test_without_recipients_or_for_an_unstored_thread_the_id_stands(api: Any) -> None:
    # The add-on sends the id Gmail gave it and no recipients: nothing to compare.
    assert guidance(api, threadId="t-fresh")["threadId"] == "t-fresh"
    # A thread not synced yet cannot be checked; the recipients' own thread answers.
    data = guidance(api, threadId="18c0ffee00000001", recipients=[CAROL])
    assert data["threadId"] == "t-owed"


def test_cached_answers_keep_threads_apart(api: Any) -> None:
    wrong = guidance(api, threadId="t-silent", recipients=[CAROL])
    right = guidance(api, threadId="t-silent", recipients=["bob@globex-corp.com"])
    again = guidance(api, threadId="t-silent", recipients=[CAROL])
    assert (wrong["threadId"], right["threadId"], again["threadId"]) == (
        "t-owed", "t-silent", "t-owed"
    )


def _events(app: Any) -> list[tuple[str | None, str]]:
    with app.app_context(), get_db(app).session() as s:
        rows = s.scalars(select(PlayEvent).order_by(PlayEvent.id))
        return [(e.gmail_thread_id, e.play) for e in rows]


def test_a_play_is_never_counted_on_a_thread_the_draft_is_not_about(api: Any, app: Any) -> None:
    def insert(**extra: Any) -> Any:
        body = {"threadId": "t-silent", "play": "step_back", "variant": 0, **extra}
        resp = api("post", "/plays/inserted", json=body)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    assert insert(recipients=[CAROL])["threadId"] is None
    assert insert(recipients=["Bob Stone <bob@globex-corp.com>"])["threadId"] == "t-silent"
    assert insert()["threadId"] == "t-silent"  # older clients send no recipients
    assert _events(app) == [
        (None, "step_back"),
        ("t-silent", "step_back"),
        ("t-silent", "step_back"),
    ]


def test_a_getback_is_never_scheduled_on_a_thread_the_draft_is_not_about(
    api: Any, app: Any
) -> None:
    made = api(
        "post",
        "/getbacks",
        json={"threadId": "t-silent", "dueAt": FUTURE, "recipients": [CAROL],
              "prospectEmail": "carol@initech.io"},
    )
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["threadId"] is None
    assert made.get_json()["prospectEmail"] == "carol@initech.io"
    # Bob's thread is not quieted by a get-back meant for Carol.
    assert guidance(api, recipients=["bob@globex-corp.com"])["state"] == "went_silent"
    # With nothing else to go by, the wrong thread is refused outright.
    refused = api(
        "post", "/getbacks", json={"threadId": "t-silent", "dueAt": FUTURE, "recipients": [CAROL]}
    )
    assert refused.status_code == 422
    assert "threadId" in refused.get_json()["error"]["fields"]
    right = api(
        "post",
        "/getbacks",
        json={"threadId": "t-silent", "dueAt": FUTURE, "recipients": ["bob@globex-corp.com"]},
    )
    assert right.status_code == 201 and right.get_json()["threadId"] == "t-silent"
    with app.app_context(), get_db(app).session() as s:
        rows = s.scalars(select(GetBack).order_by(GetBack.id)).all()
        assert [(g.gmail_thread_id, g.prospect_email) for g in rows] == [
            (None, "carol@initech.io"),
            ("t-silent", "bob@globex-corp.com"),
        ]
    assert guidance(api, recipients=["bob@globex-corp.com"])["state"] == "scheduled"


def test_recipients_are_validated(api: Any) -> None:
    resp = api(
        "post",
        "/plays/inserted",
        json={"play": "step_back", "variant": 0, "recipients": ["x" * 321]},
    )
    assert resp.status_code == 422 and "recipients" in resp.get_json()["error"]["fields"]


def test_thread_fits_by_address_or_company_domain_never_free_mail() -> None:
    ctx = MailboxContext(
        rep_addresses=frozenset({"alex@northwind-demo.com"}),
        internal_domains=frozenset({"northwind-demo.com"}),
    )
    company = ThreadState(
        prospect_email="bob@globex-corp.com",
        participants=["alex@northwind-demo.com", "bob@globex-corp.com", "ann@initech.io"],
    )
    assert thread_fits(company, ["Ann <ANN@initech.io>"], ctx)  # a participant
    assert thread_fits(company, ["zoe@globex-corp.com"], ctx)  # the prospect's colleague
    assert not thread_fits(company, ["zoe@umbrella.example"], ctx)
    assert not thread_fits(company, ["alex@northwind-demo.com", "sam@northwind-demo.com"], ctx)
    assert thread_fits(company, [], ctx)  # nothing to compare
    free = ThreadState(prospect_email="noah.k@gmail.com", participants=["noah.k@gmail.com"])
    assert thread_fits(free, ["noah.k@gmail.com"], ctx)
    # Two people at gmail.com are not colleagues.
    assert not thread_fits(free, ["someone.else@gmail.com"], ctx)
