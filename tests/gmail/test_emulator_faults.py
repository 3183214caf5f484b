"""Fault injection, malformed messages, concurrency and lifecycle of the Gmail emulator."""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from googleapiclient.errors import HttpError

import server.gmail.emulator.server as emulator_module
from server.gmail.emulator import GmailEmulator
from server.gmail.schemas import validate_message, validate_thread
from tests.gmail.emulator_fixtures import batch, error_of, gmail, raw, small_mailbox


@pytest.fixture
def emu() -> Iterator[GmailEmulator]:
    with GmailEmulator(small_mailbox()) as emulator:
        yield emulator


@pytest.fixture
def users(emu: GmailEmulator) -> Iterator[Any]:
    service = gmail(emu)
    yield service.users()
    service.close()


def status_of(request: Any) -> int:
    try:
        request.execute()
    except HttpError as err:
        return int(err.status_code)
    return 200


@pytest.mark.parametrize("code, reason", [(429, "rateLimitExceeded"), (500, "backendError"),
                                          (503, "backendError")])
def test_injected_errors_hit_the_next_requests_then_stop(emu: GmailEmulator, users: Any,
                                                         code: int, reason: str) -> None:
    emu.inject(code, count=2)
    profile = users.getProfile(userId="me")
    with pytest.raises(HttpError) as caught:
        profile.execute()
    assert caught.value.status_code == code
    assert error_of(caught.value.content)["errors"][0]["reason"] == reason
    assert [status_of(profile) for _ in range(2)] == [code, 200]
    assert emu.quota_used == 1  # failed calls cost nothing
    assert [r.status for r in emu.requests] == [code, code, 200]


def test_path_filter_limits_which_calls_fail(emu: GmailEmulator, users: Any) -> None:
    emu.inject(503, count=1, path_contains="/threads")
    assert status_of(users.getProfile(userId="me")) == 200
    assert status_of(users.messages().list(userId="me")) == 200
    assert status_of(users.threads().list(userId="me")) == 503
    assert status_of(users.threads().list(userId="me")) == 200


def test_client_retries_get_through_injected_errors(emu: GmailEmulator, users: Any) -> None:
    emu.inject(429, count=1)
    answer = users.threads().list(userId="me").execute(num_retries=2)
    assert answer["resultSizeEstimate"] == 5
    assert [r.status for r in emu.requests] == [429, 200]


def test_fault_without_path_filter_fails_the_whole_batch(emu: GmailEmulator, users: Any) -> None:
    emu.inject(503, count=1)
    results: dict[str, tuple[Any, Any]] = {}
    job = batch(emu, results)
    job.add(users.threads().get(userId="me", id="a1", format="minimal"))
    with pytest.raises(HttpError) as caught:
        job.execute()
    assert caught.value.status_code == 503 and results == {}


def test_fault_with_path_filter_fails_matching_batch_parts(emu: GmailEmulator,
                                                           users: Any) -> None:
    emu.inject(429, count=2, path_contains="/threads/")
    results: dict[str, tuple[Any, Any]] = {}
    job = batch(emu, results)
    for tid in ("a1", "b1", "c1"):
        job.add(users.threads().get(userId="me", id=tid, format="minimal"), request_id=tid)
    job.execute()
    assert {k: (e.status_code if e else 200) for k, (_, e) in results.items()} == {
        "a1": 429, "b1": 429, "c1": 200}


def test_injecting_an_unsupported_status_is_refused(emu: GmailEmulator) -> None:
    with pytest.raises(ValueError):
        emu.inject(418)
    with pytest.raises(ValueError):
        emu.inject_malformed("a1", field="body")


def test_timeout_makes_the_client_give_up_then_recovers(emu: GmailEmulator) -> None:
    emu.inject_timeout(30.0, count=1)
    service = gmail(emu, timeout=0.5)
    with pytest.raises((TimeoutError, socket.timeout)):
        service.users().getProfile(userId="me").execute()
    service.close()
    service = gmail(emu, timeout=5)
    assert service.users().getProfile(userId="me").execute()["threadsTotal"] == 6
    service.close()


def test_timeout_only_delays_matching_requests(emu: GmailEmulator) -> None:
    emu.inject_timeout(30.0, count=1, path_contains="/history")
    service = gmail(emu, timeout=3)
    users = service.users()
    assert users.getProfile(userId="me").execute()["threadsTotal"] == 6
    with pytest.raises((TimeoutError, socket.timeout)):
        users.history().list(userId="me", startHistoryId="110").execute()
    service.close()


@pytest.mark.parametrize("field, problem", [
    ("internalDate", "internalDate: Not a valid integer."),
    ("labelIds", "labelIds: Not a valid list."),
    ("headers", "payload.headers: Not a valid list."),
    ("id", "id: Missing data for required field."),
])
def test_malformed_messages_fail_schema_validation(emu: GmailEmulator, users: Any, field: str,
                                                   problem: str) -> None:
    emu.inject_malformed("a2", field=field)
    msg = users.messages().get(userId="me", id="a2", format="metadata").execute()
    assert validate_message(msg) == (None, problem)
    thread = users.threads().get(userId="me", id="a1", format="metadata").execute()
    assert validate_message(thread["messages"][0])[1] is None
    assert validate_message(thread["messages"][1]) == (None, problem)
    assert validate_thread(thread)[0] is None
    emu.clear_faults()
    fixed = users.messages().get(userId="me", id="a2", format="metadata").execute()
    assert validate_message(fixed)[1] is None


def test_an_emulator_bug_answers_json_500_not_a_dead_socket(
        emu: GmailEmulator, users: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")
    monkeypatch.setattr(emulator_module, "dispatch", explode)
    with pytest.raises(HttpError) as caught:
        users.getProfile(userId="me").execute()
    assert caught.value.status_code == 500 and error_of(caught.value.content)["code"] == 500


def test_parallel_clients_are_all_counted(emu: GmailEmulator) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        service = gmail(emu)
        try:
            for _ in range(10):
                service.users().threads().get(userId="me", id="a1", format="minimal").execute()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            service.close()

    workers = [threading.Thread(target=worker) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert emu.http_requests == 60 and emu.quota_used == 60 * 40
    assert len(emu.requests) == 60


def test_chunked_request_bodies_are_refused_cleanly(emu: GmailEmulator) -> None:
    host, port = emu.url[len("http://"):-1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /gmail/v1/users/me/watch HTTP/1.1\r\nHost: x\r\n"
                     b"Authorization: Bearer t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        reply = sock.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 411")


def test_stop_closes_the_port_and_wakes_sleeping_handlers() -> None:
    emu = GmailEmulator(small_mailbox()).start()
    url = emu.url
    emu.inject_timeout(30, count=1)
    outcome: list[object] = []

    def sleepy_call() -> None:
        try:
            outcome.append(raw(emu, "gmail/v1/users/me/profile")[0])
        # The connection may be closed under it, before the status line (RemoteDisconnected,
        # an OSError) or in the middle of the body (IncompleteRead, an HTTPException): fine.
        except (OSError, http.client.HTTPException) as exc:
            outcome.append(exc)

    sleeper = threading.Thread(target=sleepy_call)
    sleeper.start()
    time.sleep(0.2)
    emu.stop()
    sleeper.join(timeout=15)
    # Woken long before its 30 s sleep ends, the client got an answer or a closed
    # connection, not its own 10 s timeout.
    assert not sleeper.is_alive() and len(outcome) == 1
    result = outcome[0]
    reason = getattr(result, "reason", result)
    assert not isinstance(result, TimeoutError) and not isinstance(reason, TimeoutError)
    host, port = url[len("http://"):-1].split(":")
    with pytest.raises(OSError), socket.create_connection((host, int(port)), timeout=1):
        pass


def test_a_stopped_emulator_refuses_connections() -> None:
    with GmailEmulator(small_mailbox()) as emu:
        url = emu.url
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "gmail/v1/users/me/profile", timeout=2)  # noqa: S310


def test_serve_forever_runs_in_the_caller_until_stop() -> None:
    emu = GmailEmulator(small_mailbox())
    runner = threading.Thread(target=emu.serve_forever)
    runner.start()
    status, _, _ = raw(emu, "gmail/v1/users/me/profile")
    emu.stop()
    runner.join(timeout=5)
    assert status == 200 and not runner.is_alive()


def test_cli_reports_a_bad_mailbox_file_in_one_line(tmp_path: Any,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.json"
    path.write_text("[]", encoding="utf-8")
    assert emulator_module.main(["--mailbox", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"error: {path}: the top level must be a JSON object, not a list.\n")


def test_cli_reports_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with GmailEmulator(small_mailbox()) as emu:
        port = emu.url.rstrip("/").rsplit(":", 1)[1]
        code = emulator_module.main(["--demo", "--now", "2026-11-20T15:00:00+00:00",
                                     "--port", port])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}") and err.count("\n") == 1
