"""The emulator answers quota and concurrency overruns like Google, and the client copes."""

from __future__ import annotations

from typing import Any

from google.oauth2.credentials import Credentials

from server.gmail.client import Backoff, GmailClient, GmailError
from server.gmail.emulator import GmailEmulator
from server.gmail.pacing import VirtualClock
from tests.gmail.test_emulator_batch import many_threads


def _client(emu: GmailEmulator, clock: VirtualClock, attempts: int = 8) -> GmailClient:
    return GmailClient(Credentials(token="t"), api_endpoint=emu.url,
                       backoff=Backoff(attempts=attempts, sleep=clock.sleep))


def test_batch_parts_past_the_concurrency_limit_get_429_and_the_client_shrinks() -> None:
    clock = VirtualClock()
    mailbox = many_threads(120)
    ids = [t["id"] for t in mailbox["threads"]]
    with GmailEmulator(mailbox, concurrency_limit=20, clock=clock.time) as emu:
        client = _client(emu, clock)
        got = client.get_threads(ids)
        client.close()
        assert all(isinstance(v, dict) for v in got.values()) and len(got) == 120
        assert emu.answers[429] > 0
        assert client.batch_size <= 20  # it learned to send smaller batches


def test_usage_overruns_carry_retry_after_and_the_client_waits_it_out() -> None:
    clock = VirtualClock()
    mailbox = many_threads(60)
    ids = [t["id"] for t in mailbox["threads"]]
    with GmailEmulator(mailbox, rate_limit_units=400, clock=clock.time) as emu:
        client = _client(emu, clock)
        got = client.get_threads(ids)
        client.close()
        assert all(isinstance(v, dict) for v in got.values())
        assert emu.answers[403] > 0 and client.rate_limited > 0
        # 60 threads x 40 units at 400 a minute: the waits follow Retry-After, ~5 minutes.
        assert 5 * 60 - 61 <= clock.slept <= 6 * 60 + 61


def test_a_part_refused_after_every_attempt_is_reported_transient() -> None:
    clock = VirtualClock()
    mailbox = many_threads(3)
    ids = [t["id"] for t in mailbox["threads"]]
    with GmailEmulator(mailbox, clock=clock.time) as emu:
        emu.inject(503, count=100, path_contains=ids[1])
        client = _client(emu, clock, attempts=3)
        got = client.get_threads(ids)
        client.close()
        failed = got[ids[1]]
        assert isinstance(failed, GmailError) and failed.transient and failed.status == 503
        assert isinstance(got[ids[0]], dict) and isinstance(got[ids[2]], dict)


def test_the_fail_rate_is_seeded_and_close_to_what_was_asked() -> None:
    def run(seed: int) -> Any:
        clock = VirtualClock()
        with GmailEmulator(many_threads(200), fail_rate=0.1, seed=seed, clock=clock.time) as emu:
            client = _client(emu, clock)
            client.get_threads([f"{t:016x}" for t in range(200)])
            client.close()
            return emu.answers[503], [r.status for r in emu.requests]

    first, second = run(3), run(3)
    assert first == second  # the same seed gives the same bad day
    assert 10 <= first[0] <= 40
