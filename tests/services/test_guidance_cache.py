"""The guidance cache: same answers as compose_guidance, entries bounded in age and number."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy.orm import Session

from server.errors import ApiError
from server.services.getbacks import schedule_getback
from server.services.guidance import compose_guidance, gather_basis, guidance_to_dict
from server.services.guidance_cache import (
    MAX_MEMO,
    GuidanceCache,
    cached_guidance,
    entry_for,
    fingerprint,
    rep_stamp,
)
from server.store.db import get_db
from tests.conftest import NOW
from tests.services.conftest import Reps

BODIES: list[dict[str, Any]] = [
    {"recipients": ["bob@globex-corp.com"]},
    {"recipients": ["Carol Diaz <carol@initech.io>"]},
    {"recipients": ["dave@umbrella.example", "bob@globex-corp.com"]},
    {"recipients": ["eve@hostile-example.com"], "locale": "fr", "timezone": "Europe/Paris"},
    {"recipients": ["jordan@northwind-demo.com"]},
    {"recipients": ["new@somewhere.example"], "locale": "de-DE"},
    {"thread_id": "t-fresh", "recipients": []},
    {"thread_id": "t-owed", "recipients": [], "proposed_at": datetime(2026, 12, 2, 9, tzinfo=UTC)},
    {"thread_id": "no-such-thread", "recipients": []},
]
MOMENTS = [NOW + timedelta(hours=h) for h in (0, 1, 9, 30, 24 * 3, 24 * 40)]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _args(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "recipients": body.get("recipients", []),
        "thread_id": body.get("thread_id"),
        "locale": body.get("locale"),
        "timezone": body.get("timezone"),
        "proposed_at": body.get("proposed_at"),
    }


def test_cached_answers_equal_composed_ones(app: Any, db: Session, reps: Reps) -> None:
    """Every body at every moment, from a cold and then a warm cache, matches exactly."""
    schedule_getback(
        db, reps.alex, thread_id="t-hostile", prospect_email=None, due_at=NOW + timedelta(days=2)
    )
    db.commit()
    cache = GuidanceCache()
    stamp = rep_stamp(get_db(app).engine, reps.alex.email)
    assert stamp is not None and stamp.user_id == reps.alex.id
    bodies = [*BODIES, {"recipients": ["eve@hostile-example.com"]}]
    for now in MOMENTS:
        for body in bodies:
            expected = guidance_to_dict(compose_guidance(db, reps.alex, now=now, **_args(body)))
            for _ in range(2):
                got, _entry = cached_guidance(
                    stamp, lambda: (db, reps.alex), now=now, cache=cache, **_args(body)
                )
                assert guidance_to_dict(got) == expected, (now, body)
    # One database read per thread and recipient list (locale and zone only change the view).
    shapes = {(b.get("thread_id"), tuple(b.get("recipients", []))) for b in bodies}
    assert cache.misses == len(shapes) < len(bodies)


def test_bad_zone_is_still_a_field_error(app: Any, db: Session, reps: Reps) -> None:
    stamp = rep_stamp(get_db(app).engine, reps.alex.email)
    assert stamp is not None
    for _ in range(2):
        with pytest.raises(ApiError) as err:
            cached_guidance(
                stamp, lambda: (db, reps.alex), recipients=[], thread_id="t-silent", now=NOW,
                timezone="Mars/Base", cache=GuidanceCache(),
            )
        assert err.value.status == 422 and "timezone" in (err.value.fields or {})


def test_unknown_email_has_no_stamp(app: Any, db: Session, reps: Reps) -> None:
    assert rep_stamp(get_db(app).engine, "nobody@elsewhere.example") is None


def _basis(db: Session, reps: Reps) -> Any:
    return gather_basis(db, reps.alex, recipients=["bob@globex-corp.com"], thread_id=None)


def test_entries_expire_and_follow_their_version(db: Session, reps: Reps) -> None:
    clock = FakeClock()
    cache = GuidanceCache(max_age=60, clock=clock)
    basis = _basis(db, reps)
    cache.put("k", ("v1",), basis, {})
    assert cache.get("k", ("v1",)) is not None
    assert cache.get("k", ("v2",)) is None  # another version: a miss
    clock.now += 59
    assert cache.get("k", ("v1",)) is not None
    clock.now += 1
    assert cache.get("k", ("v1",)) is None  # too old, whatever the version says
    assert (cache.hits, cache.misses) == (2, 2)


def test_expired_entries_are_dropped_when_others_arrive(db: Session, reps: Reps) -> None:
    clock = FakeClock()
    cache = GuidanceCache(max_age=60, clock=clock)
    basis = _basis(db, reps)
    cache.put("idle", (1,), basis, {})
    clock.now += 61
    cache.put("busy", (1,), basis, {})
    assert len(cache) == 1 and cache.get("busy", (1,)) is not None


def test_entries_are_bounded_least_recent_first(db: Session, reps: Reps) -> None:
    cache = GuidanceCache(max_entries=2)
    basis = _basis(db, reps)
    for key in ("a", "b"):
        cache.put(key, (1,), basis, {})
    assert cache.get("a", (1,)) is not None  # "b" is now the least recently used
    cache.put("c", (1,), basis, {})
    assert len(cache) == 2
    assert cache.get("b", (1,)) is None
    assert cache.get("a", (1,)) is not None and cache.get("c", (1,)) is not None


def test_zero_age_keeps_nothing(db: Session, reps: Reps) -> None:
    cache = GuidanceCache(max_age=0)
    entry = cache.put("k", (1,), _basis(db, reps), {})
    assert entry.basis.prospect is not None
    assert len(cache) == 0 and cache.get("k", (1,)) is None


def test_memo_is_bounded_and_keyed(db: Session, reps: Reps) -> None:
    entry = GuidanceCache().put("k", (1,), _basis(db, reps), {})
    built: list[int] = []

    def build(n: int) -> int:
        built.append(n)
        return n * 10

    assert [entry.memo(("x", n), partial(build, n)) for n in (1, 2, 1)] == [10, 20, 10]
    assert built == [1, 2]
    for n in range(100):
        entry.memo(("y", n), partial(int, n))
    assert len(entry._memo) <= MAX_MEMO


def test_fingerprint_tells_answers_apart(db: Session, reps: Reps) -> None:
    def at(now: datetime, **kw: Any) -> Any:
        return compose_guidance(
            db, reps.alex, recipients=["bob@globex-corp.com"], thread_id=None, now=now, **kw
        )

    assert fingerprint(at(NOW)) == fingerprint(at(NOW + timedelta(minutes=5)))
    assert fingerprint(at(NOW)) != fingerprint(at(NOW + timedelta(days=1)))
    assert fingerprint(at(NOW)) != fingerprint(at(NOW, locale="de"))


def _dump(g: Any) -> bytes:
    return json.dumps(guidance_to_dict(g), sort_keys=True).encode()


def test_answers_shared_within_a_second_stay_exact(app: Any, db: Session, reps: Reps) -> None:
    """A due date half-way through a second: each side of it gets its own answer."""
    due = NOW + timedelta(milliseconds=500)
    schedule_getback(db, reps.alex, thread_id="t-silent", prospect_email=None, due_at=due)
    db.commit()
    stamp = rep_stamp(get_db(app).engine, reps.alex.email)
    assert stamp is not None
    entry = entry_for(
        stamp, lambda: (db, reps.alex), recipients=["bob@globex-corp.com"], thread_id=None,
        cache=GuidanceCache(),
    )
    moments = [NOW + timedelta(milliseconds=ms) for ms in (0, 200, 499, 500, 700, 999, 1000)]
    for _ in range(2):  # cold, then from the memo
        for now in moments:
            got = json.loads(entry.answer(_dump, "test", now=now))
            expected = guidance_to_dict(
                compose_guidance(db, reps.alex, recipients=["bob@globex-corp.com"],
                                 thread_id=None, now=now)
            )
            assert got == json.loads(json.dumps(expected, sort_keys=True)), now
            assert got["state"] == ("scheduled" if now < due else "went_silent")
    # A second without a turning point is answered once and shared.
    calm = NOW + timedelta(seconds=5)
    first = entry.answer(_dump, "test", now=calm + timedelta(milliseconds=1))
    assert entry.answer(_dump, "test", now=calm + timedelta(milliseconds=900)) is first


def test_answers_never_return_to_an_earlier_value(db: Session, reps: Reps) -> None:
    """The invariant sharing an answer within a second relies on: as time passes, guidance
    changes only forward (counts and dates grow, due dates pass), never back to an answer it
    already left. Checked over two months at an irregular step for every request shape."""
    schedule_getback(
        db, reps.alex, thread_id="t-fresh", prospect_email=None, due_at=NOW + timedelta(days=9)
    )
    schedule_getback(
        db, reps.alex, thread_id=None, prospect_email="carol@initech.io",
        due_at=NOW + timedelta(days=20, hours=5), kind="cold_file",
    )
    db.commit()
    step = timedelta(hours=5, minutes=17, seconds=3)
    moved = 0
    for body in BODIES:
        seen: list[Any] = []
        now = NOW - timedelta(days=45)
        while now < NOW + timedelta(days=30):
            fp = fingerprint(compose_guidance(db, reps.alex, now=now, **_args(body)))
            if not seen or seen[-1] != fp:
                assert fp not in seen, (body, now)
                seen.append(fp)
            now += step
        moved += len(seen) > 1
    assert moved >= len(BODIES) // 2  # the clock does move the answers about stored threads
