"""Properties of the silence rules over randomly built threads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from server.engine import Threshold, analyze_thread, default_context, silence_verdict
from tests.engine.builders import received, sent, thread

CTX = default_context("rep@acme.com", aliases=["rita@acme-sales.io"])
START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
SPAN_MINUTES = 60 * 24 * 40  # threads spread over 40 days
NOW = START + timedelta(minutes=SPAN_MINUTES) + timedelta(days=30)
THRESHOLD = Threshold(3)
FAST = settings(max_examples=200, deadline=None)

PROSPECTS = ["Pat <pat@buyer.com>", "alex@buyer.com", "Dana <DANA@Buyer.com>", "ola@client.org"]
COLLEAGUES = ["sam@acme.com", "rita@acme-sales.io"]
AUTOMATIC = [
    ("pat@buyer.com", {"Auto-Submitted": "auto-replied"}),
    ("pat@buyer.com", {"X-Autoreply": "yes"}),
    ("pat@buyer.com", {"X-Autorespond": "yes"}),
    ("pat@buyer.com", {"X-Autoresponse": "yes"}),
    ("news@buyer.com", {"Precedence": "bulk"}),
    ("news@buyer.com", {"Precedence": "list"}),
    ("news@buyer.com", {"List-Id": "<n.buyer.com>"}),
    ("news@buyer.com", {"List-Unsubscribe": "<mailto:u@buyer.com>"}),
    ("MAILER-DAEMON@buyer.com", {}),
    ("postmaster@client.org", {}),
    ("pat@buyer.com", {"Content-Type": "multipart/report; report-type=delivery-status"}),
    ("pat@buyer.com", {"X-Failed-Recipients": "pat@buyer.com"}),
]
IGNORED = ["DRAFT"]  # Trash and prospect-side Spam count: see test_engine_rules


@st.composite
def messages(draw, prefix: str = "m", min_size: int = 1, max_size: int = 9):
    """Draw a list of messages of every kind the engine distinguishes."""
    count = draw(st.integers(min_size, max_size))
    out = []
    for i in range(count):
        mid = f"{prefix}{i:02d}"
        at = START + timedelta(minutes=draw(st.integers(0, SPAN_MINUTES)))
        role = draw(st.sampled_from(["ours", "ours", "answer", "auto", "colleague", "internal"]))
        if role == "ours":
            to = draw(st.lists(st.sampled_from(PROSPECTS + COLLEAGUES), max_size=2))
            cc = draw(st.lists(st.sampled_from(PROSPECTS + COLLEAGUES), max_size=2))
            out.append(sent(mid, at, to=to, cc=cc))
        elif role == "answer":
            out.append(received(mid, at, draw(st.sampled_from(PROSPECTS))))
        elif role == "auto":
            frm, headers = draw(st.sampled_from(AUTOMATIC))
            out.append(received(mid, at, frm, headers=headers))
        elif role == "colleague":
            out.append(received(mid, at, draw(st.sampled_from(COLLEAGUES))))
        else:
            out.append(sent(mid, at, to=draw(st.lists(st.sampled_from(COLLEAGUES), max_size=2))))
    return out


def judged(msgs, now=NOW):
    facts = analyze_thread(thread("t", *msgs), CTX)
    return facts, silence_verdict(facts, now, THRESHOLD, CTX)


@FAST
@given(data=st.data(), msgs=messages(), minutes=st.integers(0, SPAN_MINUTES + 60 * 24 * 10))
def test_listing_order_never_changes_a_verdict(data, msgs, minutes):
    shuffled = data.draw(st.permutations(msgs))
    now = START + timedelta(minutes=minutes)
    assert judged(list(msgs), now) == judged(list(shuffled), now)


@FAST
@given(
    msgs=messages(),
    auto=st.sampled_from(AUTOMATIC),
    offset=st.integers(0, SPAN_MINUTES + 60 * 24 * 20),
)
def test_an_automatic_reply_never_ends_a_silence(msgs, auto, offset):
    facts, verdict = judged(msgs)
    frm, headers = auto
    extra = received("auto", START + timedelta(minutes=offset), frm, headers=headers)
    after_facts, after = judged([*msgs, extra])
    if verdict is not None and verdict.silent:
        assert after is not None and after.silent
    assert after_facts.kind == facts.kind
    assert after_facts.silent_since == facts.silent_since
    assert after_facts.unanswered_count == facts.unanswered_count
    assert after_facts.reply_owed_since == facts.reply_owed_since


@FAST
@given(msgs=messages(), who=st.sampled_from(["boss", "PAT", "assistant"]), gap=st.integers(0, 600))
def test_a_real_answer_from_the_prospects_domain_ends_the_run(msgs, who, gap):
    facts, _ = judged(msgs)
    if not facts.candidate:
        return
    domain = facts.prospect_domain
    newest = max(int(m["internalDate"]) for m in msgs)
    at = datetime.fromtimestamp(newest / 1000, UTC) + timedelta(minutes=gap)
    # "zz" sorts after every generated id, so an equal timestamp still lands last.
    answer = received("zz", at, f"{who} <{who}@{domain.upper()}>")
    after_facts, after = judged([*msgs, answer])
    assert not after_facts.candidate
    assert after is None
    assert after_facts.reply_owed_since == at
    assert after_facts.last_answer_at == at


@FAST
@given(msgs=messages(), extra=messages(prefix="d", max_size=5), label=st.sampled_from(IGNORED))
def test_drafts_never_count(msgs, extra, label):
    hidden = []
    for m in extra:
        m = dict(m, labelIds=[*m["labelIds"], label])
        hidden.append(m)
    assert judged(msgs) == judged([*msgs, *hidden])


@FAST
@given(msgs=messages())
def test_a_thread_is_never_both_silent_candidate_and_reply_owed(msgs):
    facts, _ = judged(msgs)
    assert not (facts.candidate and facts.reply_owed_since is not None)
    assert facts.unanswered_count == 0 or facts.prospect is not None
    assert facts.message_count == len(msgs)


@FAST
@given(msgs=messages(), ms=st.integers(0, 10**6))
def test_the_date_header_never_matters(msgs, ms):
    with_dates = []
    for m in msgs:
        misleading = {"name": "Date", "value": f"Thu, 1 Jan 1970 00:00:{ms % 60:02d} +0000"}
        with_dates.append(dict(m, payload={"headers": [*m["payload"]["headers"], misleading]}))
    assert judged(msgs) == judged(with_dates)
