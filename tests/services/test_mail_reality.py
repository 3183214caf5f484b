"""Mail as it really arrives, end to end through the stored state: broken encoded words never
make guidance, the add-on's compose card or play text fail, and a prospect's out-of-office
turns into a get-back after their return instead of a chase."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from server.services.guidance import compose_guidance, guidance_to_dict
from tests.conftest import NOW
from tests.engine.builders import msg, thread
from tests.services.conftest import Reps, at, inbound, out, store

BROKEN = "=?utf-8?b?A?="
BROKEN_PROSPECT = "broken@mangled-words.test"


def broken_threads() -> list[dict[str, Any]]:
    who = f"{BROKEN} <{BROKEN_PROSPECT}>"
    return [thread(
        "t-broken",
        out("b1", at(10, 20), who, BROKEN),
        inbound("b2", at(10, 21), who, BROKEN),
        out("b3", at(10, 26), who, f"Re: {BROKEN}"),
    )]


def test_broken_encoded_words_never_fail_guidance(db: Session, reps: Reps) -> None:
    store(db, reps.alex, broken_threads())
    g = compose_guidance(db, reps.alex, recipients=[BROKEN_PROSPECT], thread_id=None, now=NOW)
    assert g.thread_id == "t-broken" and g.state == "went_silent"
    assert g.plays and all("{{" not in p.text for p in g.plays)
    json_ready = guidance_to_dict(g)
    assert json_ready["prospect"]["email"] == BROKEN_PROSPECT


def test_out_of_office_becomes_a_fact_and_a_getback_after_return(db: Session, reps: Reps) -> None:
    pat = "Pat Lane <pat@away-corp.test>"
    away = msg("a2", at(11, 5), pat, ["alex@northwind-demo.com"], labels=("INBOX",),
               subject="Out of office until Nov 27",
               headers={"X-Auto-Response-Suppress": "All",
                        "X-MS-Exchange-Inbox-Rules-Loop": "pat@away-corp.test"})
    store(db, reps.alex, [thread("t-away", out("a1", at(11, 4), pat), away)])
    g = compose_guidance(db, reps.alex, recipients=["pat@away-corp.test"], thread_id=None,
                         now=NOW)
    # The silence clock keeps running: the auto-reply is not an answer.
    assert g.state == "no_reply_yet" and g.silent
    facts = {w.code: w.message for w in g.warnings}
    assert facts["away"].startswith("Auto-reply on Nov 5: away until Nov 27.")
    # A get-back after their return, not a chase.
    assert g.suggested[0] == "getback_date"
    assert "step_back" not in g.suggested and "apology_feedback" not in g.suggested
    assert g.proposed_at is not None
    # Nov 28 2026 is a Saturday: the first business day after the return is Monday Nov 30.
    assert g.proposed_at.date().isoformat() == "2026-11-30"
