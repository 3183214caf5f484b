"""Get-backs, cold-file entries and play events: rules and tenant isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import ApiError
from server.services.getbacks import (
    cancel_getback,
    list_getbacks,
    mark_answers,
    record_play,
    schedule_getback,
    update_getback,
)
from server.services.scan import scan_user
from server.store.models import GetBack, PlayEvent
from tests.conftest import NOW
from tests.engine.builders import thread
from tests.services.conftest import Reps, at, inbound, out, store


def _schedule(db: Session, reps: Reps, **kw: object) -> GetBack:
    args: dict[str, object] = {
        "thread_id": "t-silent",
        "prospect_email": None,
        "due_at": NOW + timedelta(days=2),
    }
    args.update(kw)
    return schedule_getback(db, reps.alex, **args)  # type: ignore[arg-type]


def test_schedule_fills_prospect_from_the_thread(db: Session, reps: Reps) -> None:
    gb = _schedule(db, reps)
    assert gb.prospect_email == "bob@globex-corp.com"
    assert gb.status == "scheduled" and gb.kind == "getback"


def test_getback_suppresses_then_lists_as_due(db: Session, reps: Reps) -> None:
    silent_ids = lambda now: {v.facts.thread_id for v in scan_user(db, reps.alex, now).silent}  # noqa: E731
    assert "t-silent" in silent_ids(NOW)
    gb = _schedule(db, reps)
    assert "t-silent" not in silent_ids(NOW)
    assert list_getbacks(db, reps.alex, now=NOW, due_only=True) == []
    later = gb.due_at + timedelta(minutes=1)
    assert "t-silent" in silent_ids(later)
    assert [g.id for g in list_getbacks(db, reps.alex, now=later, due_only=True)] == [gb.id]


@pytest.mark.parametrize(
    "due, message",
    [
        (NOW - timedelta(minutes=1), "future"),
        (NOW, "future"),
        (NOW + timedelta(days=800), "two years"),
        (datetime(2026, 12, 1, 10, 0), "offset"),
    ],
)
def test_bad_due_dates_are_refused(db: Session, reps: Reps, due: datetime, message: str) -> None:
    with pytest.raises(ApiError) as err:
        _schedule(db, reps, due_at=due)
    assert err.value.status == 422
    assert message in err.value.fields["dueAt"][0]  # type: ignore[index]


def test_needs_thread_or_prospect_and_a_known_kind(db: Session, reps: Reps) -> None:
    with pytest.raises(ApiError):
        _schedule(db, reps, thread_id=None)
    with pytest.raises(ApiError) as err:
        _schedule(db, reps, kind="nag")
    assert "kind" in (err.value.fields or {})


def test_rescheduling_replaces_the_earlier_date(db: Session, reps: Reps) -> None:
    first = _schedule(db, reps)
    second = _schedule(db, reps, due_at=NOW + timedelta(days=9))
    assert first.status == "cancelled"
    assert [g.id for g in list_getbacks(db, reps.alex, now=NOW)] == [second.id]


def test_update_moves_date_and_wakes_a_due_getback(db: Session, reps: Reps) -> None:
    gb = _schedule(db, reps)
    gb.status = "due"
    moved = update_getback(db, reps.alex, gb.id, due_at=NOW + timedelta(days=5), note="call first")
    assert moved.status == "scheduled" and moved.note == "call first"
    assert moved.due_at == NOW + timedelta(days=5)
    with pytest.raises(ApiError) as err:
        update_getback(db, reps.alex, gb.id, due_at=NOW - timedelta(days=1))
    assert err.value.status == 422


def test_cancel_is_idempotent_and_final(db: Session, reps: Reps) -> None:
    gb = _schedule(db, reps)
    assert cancel_getback(db, reps.alex, gb.id).status == "cancelled"
    assert cancel_getback(db, reps.alex, gb.id).status == "cancelled"
    with pytest.raises(ApiError) as err:
        update_getback(db, reps.alex, gb.id, note="x")
    assert err.value.status == 409


def test_other_reps_cannot_touch_or_see_a_getback(db: Session, reps: Reps) -> None:
    gb = _schedule(db, reps)
    for rep in (reps.jordan, reps.casey):
        for action in (
            lambda r=rep: update_getback(db, r, gb.id, note="mine now"),
            lambda r=rep: cancel_getback(db, r, gb.id),
        ):
            with pytest.raises(ApiError) as err:
                action()
            assert err.value.status == 404 and err.value.message == "No such get-back."
        assert list_getbacks(db, rep, now=NOW + timedelta(days=30)) == []
    # A missing id answers exactly like someone else's.
    with pytest.raises(ApiError) as err:
        cancel_getback(db, reps.alex, gb.id + 1000)
    assert err.value.status == 404 and err.value.message == "No such get-back."
    assert db.get(GetBack, gb.id).status == "scheduled"  # type: ignore[union-attr]


def test_other_reps_getback_does_not_suppress_my_thread(db: Session, reps: Reps) -> None:
    schedule_getback(
        db, reps.jordan, thread_id="t-silent", prospect_email=None, due_at=NOW + timedelta(days=3)
    )
    assert "t-silent" in {v.facts.thread_id for v in scan_user(db, reps.alex, NOW).silent}


def test_record_play_validates(db: Session, reps: Reps) -> None:
    event = record_play(
        db, reps.alex, thread_id="t-silent", play="step_back", variant=1, surface="extension"
    )
    assert event.org_id == reps.alex.org_id and event.created_at == NOW
    for kw, field in (
        ({"play": "nag_harder"}, "play"),
        ({"variant": 3}, "variant"),
        ({"variant": -1}, "variant"),
        ({"surface": "fax"}, "surface"),
    ):
        args = {"thread_id": None, "play": "step_back", "variant": 0, "surface": "addon", **kw}
        with pytest.raises(ApiError) as err:
            record_play(db, reps.alex, **args)  # type: ignore[arg-type]
        assert field in (err.value.fields or {})


def test_mark_answers_stamps_only_later_answers(db: Session, reps: Reps) -> None:
    before = record_play(
        db, reps.alex, thread_id="t-silent", play="step_back", variant=0, surface="extension"
    )
    other = record_play(
        db, reps.alex, thread_id="t-fresh", play="truth_question", variant=0, surface="addon"
    )
    jordan = record_play(
        db, reps.jordan, thread_id="t-silent", play="step_back", variant=0, surface="addon"
    )
    assert reps.alex.mailbox is not None
    assert mark_answers(db, reps.alex.mailbox) == 0
    bob = "Bob Stone <bob@globex-corp.com>"
    answer_at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    store(
        db,
        reps.alex,
        [
            thread(
                "t-silent",
                out("s1", at(10, 20), bob),
                inbound("s2", at(10, 22), bob),
                out("s3", at(10, 27), bob),
                out("s4", at(10, 30), bob),
                out("s5", at(11, 4), bob),
                inbound("s6", answer_at, "Bob's assistant <pa@globex-corp.com>"),
            )
        ],
    )
    assert mark_answers(db, reps.alex.mailbox) == 1
    assert before.answered_at == answer_at
    assert other.answered_at is None and jordan.answered_at is None
    assert mark_answers(db, reps.alex.mailbox) == 0
    assert db.scalar(select(PlayEvent).where(PlayEvent.id == jordan.id)).answered_at is None  # type: ignore[union-attr]
