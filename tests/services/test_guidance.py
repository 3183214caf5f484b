"""Guidance composed from stored thread states."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from server.services.getbacks import schedule_getback
from server.services.guidance import compose_guidance, guidance_to_dict
from tests.conftest import NOW
from tests.services.conftest import Reps

CHASING_PLAYS = {"step_back", "apology_feedback", "apology_call", "getback_date", "cold_file"}


def test_silent_prospect_gets_facts_warnings_and_plays(db: Session, reps: Reps) -> None:
    g = compose_guidance(db, reps.alex, recipients=["bob@globex-corp.com"], thread_id=None, now=NOW)
    assert g.thread_id == "t-silent"
    assert g.state == "went_silent" and g.silent and g.nag
    assert g.prospect is not None and g.prospect.email == "bob@globex-corp.com"
    assert g.company == "Globex Corp"
    # Silent since Oct 27 (first unanswered message): Oct 28 .. Nov 20 holds 18 weekdays,
    # minus Veterans Day (Nov 11, a US holiday for the demo org) = 17.
    assert g.business_days_silent == 17
    assert g.days_silent == 24
    assert g.unanswered_count == 3
    assert g.threshold_days == 5  # Alex's team, Mid-market
    assert g.sentence == (
        "Bob at Globex Corp hasn't answered in 17 business days; you've followed up 2 times."
    )
    assert "chasing" in {w.code for w in g.warnings}
    # After a chase the apology comes first, and every play is rendered for Bob.
    assert g.plays[0].play == "apology_feedback"
    assert all("{{" not in p.text for p in g.plays)
    assert any("Bob" in p.text for p in g.plays if p.play == "step_back")
    assert {"getback_date", "cold_file"} <= {p.play for p in g.plays}
    assert g.proposed_at is not None and g.proposed_at > NOW


def test_thread_id_wins_over_recipients_who_are_on_it(db: Session, reps: Reps) -> None:
    # Dave's thread by id, the draft to Dave and to a colleague of Bob's: the id decides.
    g = compose_guidance(
        db,
        reps.alex,
        recipients=["ann@globex-corp.com", "dave@umbrella.example"],
        thread_id="t-fresh",
        now=NOW,
    )
    assert g.thread_id == "t-fresh"


def test_thread_id_none_of_the_recipients_is_on_gives_way(db: Session, reps: Reps) -> None:
    # A page can hand over the wrong id (a list row): Bob's own thread answers, not Dave's.
    g = compose_guidance(
        db, reps.alex, recipients=["bob@globex-corp.com"], thread_id="t-fresh", now=NOW
    )
    assert g.thread_id == "t-silent"
    assert g.prospect is not None and g.prospect.email == "bob@globex-corp.com"


def test_not_yet_silent_prospect_gets_no_nag_and_no_chasing_plays(db: Session, reps: Reps) -> None:
    g = compose_guidance(
        db, reps.alex, recipients=["dave@umbrella.example"], thread_id=None, now=NOW
    )
    assert g.thread_id == "t-fresh"
    assert g.state == "live" and not g.silent and not g.nag
    assert not {p.play for p in g.plays} & CHASING_PLAYS
    assert g.warnings == []


def test_reply_owed_suggests_answering_not_chasing(db: Session, reps: Reps) -> None:
    g = compose_guidance(db, reps.alex, recipients=["carol@initech.io"], thread_id=None, now=NOW)
    assert g.state == "reply_owed" and not g.nag
    assert "waiting for your reply" in g.sentence
    assert {p.play for p in g.plays} == {"truth_question"}


def test_unknown_recipient_is_unknown_and_quiet(db: Session, reps: Reps) -> None:
    g = compose_guidance(
        db, reps.alex, recipients=["new@somewhere.example"], thread_id=None, now=NOW
    )
    assert g.state == "unknown" and not g.nag and g.plays == []
    assert g.prospect is not None and g.prospect.email == "new@somewhere.example"


def test_internal_recipients_are_not_prospects(db: Session, reps: Reps) -> None:
    g = compose_guidance(
        db, reps.alex, recipients=["jordan@northwind-demo.com"], thread_id=None, now=NOW
    )
    assert g.prospect is None and g.state == "unknown"


def test_other_reps_threads_are_invisible(db: Session, reps: Reps) -> None:
    # Jordan and Casey both wrote to Bob too, but each only sees their own thread.
    for rep, own in ((reps.jordan, "j-1"), (reps.casey, "c-1")):
        g = compose_guidance(db, rep, recipients=["bob@globex-corp.com"], thread_id=None, now=NOW)
        assert g.thread_id == own
        g = compose_guidance(db, rep, recipients=[], thread_id="t-silent", now=NOW)
        assert g.thread_id == "t-silent" and g.state == "unknown" and g.subject == ""


def test_scheduled_getback_silences_the_thread_until_due(db: Session, reps: Reps) -> None:
    due = NOW + timedelta(days=3)
    schedule_getback(db, reps.alex, thread_id="t-silent", prospect_email=None, due_at=due)
    g = compose_guidance(db, reps.alex, recipients=["bob@globex-corp.com"], thread_id=None, now=NOW)
    assert g.state == "scheduled" and not g.nag and g.plays == []
    assert g.getback is not None and g.getback.due_at == due
    later = compose_guidance(
        db,
        reps.alex,
        recipients=["bob@globex-corp.com"],
        thread_id=None,
        now=due + timedelta(hours=1),
    )
    assert later.state == "went_silent" and later.nag
    assert later.getback is not None  # still shown: its date has come


def test_cold_file_entry_reads_as_cold(db: Session, reps: Reps) -> None:
    due = NOW + timedelta(days=120)
    schedule_getback(
        db,
        reps.alex,
        thread_id=None,
        prospect_email="bob@globex-corp.com",
        due_at=due,
        kind="cold_file",
    )
    g = compose_guidance(db, reps.alex, recipients=["bob@globex-corp.com"], thread_id=None, now=NOW)
    assert g.state == "cold" and not g.nag and "cold file" in g.sentence


def test_hostile_display_name_stays_inert_data(db: Session, reps: Reps) -> None:
    g = compose_guidance(
        db, reps.alex, recipients=["eve@hostile-example.com"], thread_id=None, now=NOW
    )
    assert g.silent
    assert g.prospect is not None
    assert g.prospect.name == "{{rep_name}} <img src=x onerror=alert(1)> {first_name}"
    data = json.loads(json.dumps(guidance_to_dict(g)))
    assert data["prospect"]["name"] == g.prospect.name
    # The greeting uses the name's first word literally; it is never expanded as template code.
    greetings = [p.text for p in g.plays if p.play == "step_back"]
    assert greetings and all(t.startswith("Hi {{rep_name}},") for t in greetings)
    assert not any("Alex Rivera" in t for t in greetings)


def test_proposed_slot_is_rendered_in_locale_and_zone(db: Session, reps: Reps) -> None:
    slot = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    g = compose_guidance(
        db,
        reps.alex,
        recipients=["bob@globex-corp.com"],
        thread_id=None,
        now=NOW,
        locale="de-DE",
        timezone="Europe/Berlin",
        proposed_at=slot,
    )
    texts = [p.text for p in g.plays if p.play == "getback_date"]
    assert texts and any("Dienstag, 1. Dezember" in t for t in texts)
    assert g.proposed_at == slot


def test_bad_timezone_is_a_field_error(db: Session, reps: Reps) -> None:
    import pytest

    from server.errors import ApiError

    with pytest.raises(ApiError) as err:
        compose_guidance(
            db, reps.alex, recipients=[], thread_id=None, now=NOW, timezone="Mars/Base"
        )
    assert err.value.status == 422 and "timezone" in (err.value.fields or {})


def test_guidance_dict_shape(db: Session, reps: Reps) -> None:
    g = compose_guidance(db, reps.alex, recipients=["bob@globex-corp.com"], thread_id=None, now=NOW)
    data = guidance_to_dict(g)
    assert data["threadId"] == "t-silent" and data["nag"] is True
    assert data["prospect"] == {"email": "bob@globex-corp.com", "name": "Bob Stone"}
    assert data["dayMode"] == "business"
    assert data["proposedAt"].endswith("Z")
    assert {"play", "variant", "title", "text", "insertable", "channel"} == set(data["plays"][0])


def test_single_contact_index_notices_a_new_colleague(db: Session, reps: Reps) -> None:
    """The per-domain sender index is cached, but a changed thread invalidates it."""
    from tests.engine.builders import thread
    from tests.services.mailboxes import at, inbound, out, store

    def codes() -> set[str]:
        g = compose_guidance(db, reps.alex, recipients=[], thread_id="t-silent", now=NOW)
        return {w.code for w in g.warnings}

    assert "single_contact" in codes()
    assert "single_contact" in codes()  # served from the cache
    store(
        db,
        reps.alex,
        [
            thread(
                "t-other",
                out("x1", at(9, 1), "Ann Lee <ann@globex-corp.com>", "Other"),
                inbound("x2", at(9, 2), "Ann Lee <ann@globex-corp.com>", "Other"),
            )
        ],
    )
    assert "single_contact" not in codes()
