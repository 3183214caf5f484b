"""history.list, mailbox changes and export of the Gmail emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from server.gmail.emulator import GmailEmulator
from server.gmail.mailbox_file import parse_mailbox
from tests.gmail.emulator_fixtures import REP, error_of, gmail, message, raw, small_mailbox


@pytest.fixture
def emu() -> Iterator[GmailEmulator]:
    with GmailEmulator(small_mailbox()) as emulator:
        yield emulator


@pytest.fixture
def users(emu: GmailEmulator) -> Iterator[Any]:
    service = gmail(emu)
    yield service.users()
    service.close()


def history(users: Any, start: str, **kwargs: Any) -> dict[str, Any]:
    answer: dict[str, Any] = users.history().list(userId="me", startHistoryId=start,
                                                  **kwargs).execute()
    return answer


def test_no_changes_means_no_history_records(users: Any) -> None:
    assert history(users, "110") == {"historyId": "110"}


def test_add_message_to_a_thread_is_reported_as_message_added(emu: GmailEmulator,
                                                              users: Any) -> None:
    reply = message("b3", "b1", ["INBOX", "UNREAD"], 9000, subject="Re: Pilot")
    stored = emu.add_message(reply)
    assert emu.history_id == "111" and stored["historyId"] == "111"
    answer = history(users, "110")
    assert answer == {
        "history": [{
            "id": "111",
            "messages": [{"id": "b3", "threadId": "b1"}],
            # Google's records "typically" carry only the ids (the discovery document).
            "messagesAdded": [{"message": {"id": "b3", "threadId": "b1"}}],
        }],
        "historyId": "111",
    }
    thread = users.threads().get(userId="me", id="b1", format="minimal").execute()
    assert thread["historyId"] == "111" and [m["id"] for m in thread["messages"]][-1] == "b3"
    listed = users.threads().list(userId="me").execute()
    assert listed["threads"][0] == {"id": "b1", "snippet": "", "historyId": "111"}
    assert users.getProfile(userId="me").execute()["messagesTotal"] == 10


def test_add_message_fills_in_defaults_and_opens_a_new_thread(emu: GmailEmulator,
                                                              users: Any) -> None:
    stored = emu.add_message({"labelIds": ["INBOX"],
                              "payload": {"mimeType": "text/plain",
                                          "headers": [{"name": "From", "value": "a@b.test"}]}})
    assert len(stored["id"]) == 16 and stored["threadId"] == stored["id"]
    got = users.messages().get(userId="me", id=stored["id"], format="metadata").execute()
    assert got["internalDate"].isdigit() and got["historyId"] == "111"
    with pytest.raises(ValueError):
        emu.add_message({"id": "a1"})


def test_label_changes_are_recorded_only_when_something_changes(emu: GmailEmulator,
                                                                users: Any) -> None:
    assert emu.add_labels("a2", ["STARRED", "UNREAD"]) == ["STARRED"]
    assert emu.remove_labels("a2", ["UNREAD", "NOT_THERE"]) == ["UNREAD"]
    assert emu.remove_labels("a2", ["UNREAD"]) == []
    records = history(users, "110")["history"]
    assert [r["id"] for r in records] == ["111", "112"]
    assert records[0]["labelsAdded"] == [{"message": {"id": "a2", "threadId": "a1"},
                                          "labelIds": ["STARRED"]}]
    assert records[1]["labelsRemoved"][0]["labelIds"] == ["UNREAD"]
    msg = users.messages().get(userId="me", id="a2", format="minimal").execute()
    assert msg["labelIds"] == ["INBOX", "STARRED"] and msg["historyId"] == "112"
    with pytest.raises(KeyError):
        emu.add_labels("nope", ["X"])


def test_history_types_label_id_and_start_filter(emu: GmailEmulator, users: Any) -> None:
    emu.add_message(message("g1", "g1", ["INBOX"], 9000))        # 111
    emu.add_labels("b2", ["STARRED"])                            # 112
    emu.add_message(message("h1", "h1", ["SENT"], 9500))         # 113
    added = history(users, "110", historyTypes=["messageAdded"])["history"]
    assert [r["id"] for r in added] == ["111", "113"]
    labelled = history(users, "110", historyTypes=["labelAdded"])["history"]
    assert [r["messages"][0]["id"] for r in labelled] == ["b2"]
    sent = history(users, "110", labelId="SENT")["history"]
    assert [r["id"] for r in sent] == ["112", "113"]
    assert [r["id"] for r in history(users, "112")["history"]] == ["113"]


def test_history_pages(emu: GmailEmulator, users: Any) -> None:
    for i in range(5):
        emu.add_message(message(f"n{i}", f"n{i}", ["INBOX"], 9000 + i))
    request = users.history().list(userId="me", startHistoryId="110", maxResults=2)
    ids: list[str] = []
    while request is not None:
        answer = request.execute()
        ids += [r["id"] for r in answer.get("history", [])]
        assert answer["historyId"] == "115"
        request = users.history().list_next(request, answer)
    assert ids == ["111", "112", "113", "114", "115"]


def test_delete_message_is_reported_and_empties_the_thread(emu: GmailEmulator,
                                                           users: Any) -> None:
    emu.delete_message("c1")
    records = history(users, "110", historyTypes=["messageDeleted"])["history"]
    assert records[0]["messagesDeleted"][0]["message"]["id"] == "c1"
    with pytest.raises(HttpError) as caught:
        users.threads().get(userId="me", id="c1", format="minimal").execute()
    assert caught.value.status_code == 404


@pytest.mark.parametrize("start", ["109", "1"])
def test_history_before_what_the_emulator_holds_is_404(users: Any, start: str) -> None:
    with pytest.raises(HttpError) as caught:
        history(users, start)
    assert caught.value.status_code == 404


def test_expire_history_makes_older_start_ids_404(emu: GmailEmulator, users: Any) -> None:
    emu.add_message(message("g1", "g1", ["INBOX"], 9000))
    emu.expire_history()
    with pytest.raises(HttpError) as caught:
        history(users, "110")
    assert caught.value.status_code == 404
    assert history(users, emu.history_id) == {"historyId": "111"}
    emu.add_message(message("g2", "g1", ["INBOX"], 9100))
    assert [r["id"] for r in history(users, "111")["history"]] == ["112"]


@pytest.mark.parametrize("kwargs", [{}, {"startHistoryId": "abc"}])
def test_history_parameter_errors_are_400(users: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises(HttpError) as caught:
        users.history().list(userId="me", **kwargs).execute()
    assert caught.value.status_code == 400


def test_unknown_history_type_is_400(emu: GmailEmulator) -> None:
    # The client library refuses this itself, so send it by hand.
    status, _, body = raw(emu, "gmail/v1/users/me/history?startHistoryId=110&historyTypes=eaten")
    assert status == 400 and "historyTypes" in error_of(body)["message"]


def test_export_reflects_changes_and_is_a_valid_mailbox_file(emu: GmailEmulator) -> None:
    emu.add_message(message("b3", "b1", ["INBOX"], 9000))
    emu.add_labels("a2", ["STARRED"])
    exported = emu.export_mailbox()
    parse_mailbox(exported)
    assert exported["emailAddress"] == REP and exported["historyId"] == "112"
    threads = {t["id"]: t for t in exported["threads"]}
    assert [m["id"] for m in threads["b1"]["messages"]] == ["b1", "b2", "b3"]
    assert threads["a1"]["historyId"] == "112"
    assert "STARRED" in threads["a1"]["messages"][1]["labelIds"]
    with GmailEmulator(exported) as again:
        assert again.export_mailbox() == exported


def test_emulator_does_not_alias_the_callers_mailbox() -> None:
    mailbox = small_mailbox()
    with GmailEmulator(mailbox) as emu:
        emu.add_labels("a1", ["STARRED"])
    assert mailbox["threads"][0]["messages"][0]["labelIds"] == ["SENT"]


@pytest.mark.parametrize("bad", [
    {"threads": []},
    {"emailAddress": REP, "threads": [{"messages": []}]},
    {"emailAddress": REP, "threads": [{"id": "t", "messages": [{"threadId": "t"}]}]},
    {"emailAddress": REP, "threads": [{"id": "t", "messages": []}, {"id": "t", "messages": []}]},
])
def test_unusable_mailbox_dicts_raise_value_error(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        GmailEmulator(bad)
