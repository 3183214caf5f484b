"""Batches, quota accounting and the per-user rate limit of the Gmail emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from server.gmail.emulator import GmailEmulator
from tests.gmail.emulator_fixtures import (
    batch,
    error_of,
    gmail,
    many_threads,
    raw,
    small_mailbox,
)

THREAD_IDS = ["a1", "b1", "c1", "d1", "e1", "f1"]


@pytest.fixture
def emu() -> Iterator[GmailEmulator]:
    with GmailEmulator(small_mailbox()) as emulator:
        yield emulator


@pytest.fixture
def service(emu: GmailEmulator) -> Iterator[Any]:
    client = gmail(emu)
    yield client
    client.close()


def thread_get(service: Any, tid: str, fmt: str = "metadata") -> Any:
    return service.users().threads().get(userId="me", id=tid, format=fmt)


def test_batch_answers_every_part_under_its_own_id(emu: GmailEmulator, service: Any) -> None:
    results: dict[str, tuple[Any, Any]] = {}
    job = batch(emu, results)
    for tid in THREAD_IDS:
        job.add(thread_get(service, tid), request_id=tid)
    job.execute()
    assert sorted(results) == sorted(THREAD_IDS)
    for tid, (answer, error) in results.items():
        assert error is None and answer["id"] == tid
        assert all(m["threadId"] == tid for m in answer["messages"])
    assert emu.http_requests == 1
    assert emu.quota_used == 40 * len(THREAD_IDS)
    parts = [r for r in emu.requests if r.in_batch]
    assert [r.path.rsplit("/", 1)[1] for r in parts] == THREAD_IDS
    outer = [r for r in emu.requests if not r.in_batch]
    assert [(r.method, r.path) for r in outer] == [("POST", "/batch/gmail/v1")]


def test_batch_parts_fail_independently(emu: GmailEmulator, service: Any) -> None:
    results: dict[str, tuple[Any, Any]] = {}
    job = batch(emu, results)
    job.add(thread_get(service, "a1"), request_id="ok")
    job.add(thread_get(service, "missing"), request_id="unknown")
    job.add(thread_get(service, "a1", fmt="full"), request_id="full")
    job.add(service.users().messages().list(userId="me", q="is:unread"), request_id="query")
    job.execute()
    assert results["ok"][1] is None
    statuses = {k: v[1].status_code for k, v in results.items() if v[1] is not None}
    assert statuses == {"unknown": 404, "full": 403, "query": 403}
    assert error_of(results["query"][1].content)["errors"][0]["reason"] == "forbidden"
    # Both threads.get calls Google runs are charged (found or not); refused calls are free.
    assert emu.quota_used == 40 + 40


def test_batch_mixes_methods_and_sums_their_costs(emu: GmailEmulator, service: Any) -> None:
    results: dict[str, tuple[Any, Any]] = {}
    users = service.users()
    job = batch(emu, results)
    job.add(users.getProfile(userId="me"))
    job.add(users.history().list(userId="me", startHistoryId="110"))
    job.add(users.messages().list(userId="me"))
    job.add(users.threads().list(userId="me"))
    job.add(users.messages().get(userId="me", id="a1", format="minimal"))
    job.add(users.threads().get(userId="me", id="a1", format="minimal"))
    job.add(users.watch(userId="me", body={"topicName": "projects/p/topics/t"}))
    job.add(users.stop(userId="me"))
    job.execute()
    assert all(error is None for _, error in results.values())
    assert emu.quota_used == 1 + 2 + 5 + 10 + 20 + 40 + 100 + 50
    assert emu.watch_topic == "projects/p/topics/t" and emu.stop_calls == 1
    assert emu.http_requests == 1


def test_quota_costs_per_method_match_googles_table(emu: GmailEmulator, service: Any) -> None:
    users = service.users()
    calls = [
        (users.getProfile(userId="me"), 1),
        (users.history().list(userId="me", startHistoryId="110"), 2),
        (users.messages().list(userId="me"), 5),
        (users.threads().list(userId="me"), 10),
        (users.messages().get(userId="me", id="a1", format="metadata"), 20),
        (users.threads().get(userId="me", id="a1", format="metadata"), 40),
        (users.watch(userId="me", body={"topicName": "projects/p/topics/t"}), 100),
        (users.stop(userId="me"), 50),
    ]
    for request, cost in calls:
        before = emu.quota_used
        request.execute()
        assert emu.quota_used - before == cost
    assert emu.http_requests == len(calls)
    assert emu.calls["gmail.users.threads.get"] == 1
    emu.reset_counters()
    assert (emu.quota_used, emu.http_requests, emu.requests) == (0, 0, [])


def test_short_batch_path_is_accepted_too(emu: GmailEmulator, service: Any) -> None:
    results: dict[str, tuple[Any, Any]] = {}
    job = batch(emu, results)
    job._batch_uri = emu.url + "batch"  # some callers use the generic path
    job.add(thread_get(service, "b1"), request_id="b1")
    job.execute()
    assert results["b1"][0]["id"] == "b1"


def _multipart(parts: list[str], boundary: str = "XyZ") -> bytes:
    chunks = [f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <p{i}>\r\n\r\n"
              f"{part}\r\n" for i, part in enumerate(parts)]
    return ("".join(chunks) + f"--{boundary}--\r\n").encode()


def test_parts_inherit_the_outer_authorization(emu: GmailEmulator) -> None:
    body = _multipart(["GET /gmail/v1/users/me/profile HTTP/1.1\r\n\r\n"])
    ctype = {"Content-Type": "multipart/mixed; boundary=XyZ"}
    status, headers, content = raw(emu, "batch/gmail/v1", method="POST", body=body,
                                   headers=ctype)
    assert status == 200 and headers["Content-Type"].startswith("multipart/mixed")
    text = content.decode()
    assert "Content-ID: <response-p0>" in text and "HTTP/1.1 200 OK" in text
    assert '"emailAddress"' in text
    status, _, content = raw(emu, "batch/gmail/v1", method="POST", body=body, headers=ctype,
                             token=None)
    assert status == 200 and "HTTP/1.1 401 Unauthorized" in content.decode()


@pytest.mark.parametrize("body, ctype", [
    (b"not a multipart body", "text/plain"),
    (b"--XyZ--\r\n", "multipart/mixed; boundary=XyZ"),
    (_multipart(["this is not an HTTP request"]), "multipart/mixed; boundary=XyZ"),
    (_multipart(["GET /gmail/v1/users/me/profile HTTP/1.1\r\n\r\n"] * 101),
     "multipart/mixed; boundary=XyZ"),
])
def test_malformed_batches_are_400(emu: GmailEmulator, body: bytes, ctype: str) -> None:
    status, _, content = raw(emu, "batch/gmail/v1", method="POST", body=body,
                             headers={"Content-Type": ctype})
    assert status == 400 and error_of(content)["code"] == 400


def test_a_batch_inside_a_batch_is_refused_per_part(emu: GmailEmulator) -> None:
    body = _multipart(["POST /batch/gmail/v1 HTTP/1.1\r\n\r\n",
                       "GET /gmail/v1/users/me/profile HTTP/1.1\r\n\r\n"])
    status, _, content = raw(emu, "batch/gmail/v1", method="POST", body=body,
                             headers={"Content-Type": "multipart/mixed; boundary=XyZ"})
    text = content.decode()
    assert status == 200
    assert "HTTP/1.1 400 Bad Request" in text and "HTTP/1.1 200 OK" in text


def test_batch_with_get_is_405(emu: GmailEmulator) -> None:
    status, _, _ = raw(emu, "batch/gmail/v1")
    assert status == 405


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_refuses_parts_past_6000_units_a_minute() -> None:
    clock = FakeClock()
    mailbox = many_threads(200)
    ids = [t["id"] for t in mailbox["threads"]]
    with GmailEmulator(mailbox, enforce_rate_limit=True, clock=clock) as emu:
        service = gmail(emu)
        results: dict[str, tuple[Any, Any]] = {}
        for chunk in (ids[:100], ids[100:]):
            job = batch(emu, results)
            for tid in chunk:
                job.add(thread_get(service, tid, "minimal"), request_id=tid)
            job.execute()
        ok = [tid for tid in ids if results[tid][1] is None]
        refused = [results[tid][1] for tid in ids if results[tid][1] is not None]
        assert ok == ids[:150]  # 150 x 40 units = 6,000
        # Google answers usage-limit overruns with 403 userRateLimitExceeded.
        assert len(refused) == 50 and {e.status_code for e in refused} == {403}
        detail = error_of(refused[0].content)
        assert detail["errors"][0]["reason"] == "userRateLimitExceeded"
        assert detail["errors"][0]["domain"] == "usageLimits"
        assert detail["status"] == "PERMISSION_DENIED"
        assert int(refused[0].resp["retry-after"]) == 60  # all 6,000 units were spent just now
        assert emu.quota_used == 6000
        with pytest.raises(HttpError) as caught:
            service.users().getProfile(userId="me").execute()
        assert caught.value.status_code == 403
        clock.now += 61  # the rolling minute has passed
        assert service.users().getProfile(userId="me").execute()["threadsTotal"] == 200
        service.close()


def test_rate_limit_is_off_by_default() -> None:
    with GmailEmulator(many_threads(200)) as emu:
        service = gmail(emu)
        for _ in range(3):
            results: dict[str, tuple[Any, Any]] = {}
            job = batch(emu, results)
            for t in range(100):
                job.add(thread_get(service, f"{t:016x}", "minimal"))
            job.execute()
            assert all(error is None for _, error in results.values())
        service.close()
        assert emu.quota_used == 3 * 100 * 40


def test_batch_response_is_multipart_with_crlf_parts(emu: GmailEmulator) -> None:
    body = _multipart(["GET /gmail/v1/users/me/threads/a1?format=minimal HTTP/1.1\r\n"
                       "Authorization: Bearer t\r\n\r\n"])
    _, _, content = raw(emu, "batch/gmail/v1", method="POST", body=body,
                        headers={"Content-Type": "multipart/mixed; boundary=XyZ"})
    head, _, payload = content.decode().partition("\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert head.startswith("--batch_")
    headers, _, rest = payload.partition("\r\n\r\n")
    assert "Content-Type: application/json" in headers
    assert json.loads(rest.rsplit("\r\n--", 1)[0])["id"] == "a1"
