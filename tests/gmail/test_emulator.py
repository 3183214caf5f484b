"""The Gmail emulator's REST methods, driven through the real google-api-python-client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from server.gmail.emulator import GmailEmulator
from server.gmail.emulator.errors import ApiError
from server.gmail.emulator.fields import apply_fields, parse_fields
from tests.gmail.emulator_fixtures import (
    REP,
    error_of,
    gmail,
    many_threads,
    raw,
    small_mailbox,
)


@pytest.fixture
def emu() -> Iterator[GmailEmulator]:
    with GmailEmulator(small_mailbox()) as emulator:
        yield emulator


@pytest.fixture
def users(emu: GmailEmulator) -> Iterator[Any]:
    service = gmail(emu)
    yield service.users()
    service.close()


def reason(err: HttpError) -> str:
    return str(error_of(err.content)["errors"][0]["reason"])


def test_url_is_a_loopback_base_url(emu: GmailEmulator) -> None:
    assert emu.url.startswith("http://127.0.0.1:") and emu.url.endswith("/")
    assert emu.batch_url == emu.url + "batch/gmail/v1"


def test_get_profile(users: Any) -> None:
    profile = users.getProfile(userId="me").execute()
    assert profile == {"emailAddress": REP, "messagesTotal": 9, "threadsTotal": 6,
                       "historyId": "110"}


def test_user_id_may_be_the_address_in_any_case_but_not_someone_else(users: Any) -> None:
    assert users.getProfile(userId=REP.upper()).execute()["emailAddress"] == REP
    with pytest.raises(HttpError) as caught:
        users.getProfile(userId="someone@else.test").execute()
    assert caught.value.status_code == 403 and reason(caught.value) == "forbidden"


def test_threads_list_newest_first_excluding_spam_and_trash(users: Any) -> None:
    answer = users.threads().list(userId="me").execute()
    assert [t["id"] for t in answer["threads"]] == ["f1", "a1", "c1", "b1", "e1"]
    assert answer["resultSizeEstimate"] == 5 and "nextPageToken" not in answer
    assert answer["threads"][1] == {"id": "a1", "snippet": "", "historyId": "105"}


def test_include_spam_trash_shows_everything(users: Any) -> None:
    answer = users.threads().list(userId="me", includeSpamTrash=True).execute()
    assert [t["id"] for t in answer["threads"]] == ["f1", "e1", "d1", "a1", "c1", "b1"]
    messages = users.messages().list(userId="me", includeSpamTrash=True).execute()
    assert messages["resultSizeEstimate"] == 9


def test_asking_for_the_spam_label_lists_spam(users: Any) -> None:
    answer = users.threads().list(userId="me", labelIds=["SPAM"]).execute()
    assert [t["id"] for t in answer["threads"]] == ["d1"]


def test_label_ids_are_anded(users: Any) -> None:
    sent = users.messages().list(userId="me", labelIds=["SENT"]).execute()
    assert [m["id"] for m in sent["messages"]] == ["b2", "b1", "a1", "e1"]
    assert sent["messages"][0] == {"id": "b2", "threadId": "b1"}
    both = users.messages().list(userId="me", labelIds=["SENT", "IMPORTANT"]).execute()
    assert [m["id"] for m in both["messages"]] == ["b2"]
    # A thread matches when its messages together carry all the labels.
    threads = users.threads().list(userId="me", labelIds=["SENT", "INBOX"]).execute()
    assert [t["id"] for t in threads["threads"]] == ["a1"]


def test_empty_listing_omits_the_list_like_gmail(users: Any) -> None:
    answer = users.threads().list(userId="me", labelIds=["STARRED"]).execute()
    assert answer == {"resultSizeEstimate": 0}


def test_paging_with_list_next_walks_every_item_once(users: Any) -> None:
    seen: list[str] = []
    pages = 0
    request = users.messages().list(userId="me", maxResults=3)
    while request is not None:
        answer = request.execute()
        pages += 1
        seen += [m["id"] for m in answer.get("messages", [])]
        request = users.messages().list_next(request, answer)
    assert pages == 3
    assert seen == ["f1", "a2", "c1", "b2", "b1", "a1", "e1"]


def test_max_results_is_capped_at_500() -> None:
    with GmailEmulator(many_threads(520)) as emu:
        service = gmail(emu)
        first = service.users().threads().list(userId="me", maxResults=1000).execute()
        default = service.users().threads().list(userId="me").execute()
        service.close()
    assert len(first["threads"]) == 500 and first["resultSizeEstimate"] == 520
    assert len(default["threads"]) == 100


def test_page_size_cap_forces_small_pages() -> None:
    with GmailEmulator(small_mailbox(), page_size_cap=2) as emu:
        service = gmail(emu)
        answer = service.users().messages().list(userId="me", maxResults=10).execute()
        service.close()
    assert len(answer["messages"]) == 2 and "nextPageToken" in answer


@pytest.mark.parametrize("params", [{"maxResults": 0}, {"pageToken": "bogus"},
                                    {"pageToken": "99999999999999999999"}])
def test_bad_paging_parameters_are_400(users: Any, params: dict[str, Any]) -> None:
    with pytest.raises(HttpError) as caught:
        users.threads().list(userId="me", **params).execute()
    assert caught.value.status_code == 400


def test_threads_get_metadata_shape_and_no_bodies(users: Any) -> None:
    thread = users.threads().get(userId="me", id="a1", format="metadata").execute()
    assert set(thread) == {"id", "historyId", "messages"}
    assert thread["historyId"] == "105"
    first = thread["messages"][0]
    assert set(first) == {"id", "threadId", "labelIds", "snippet", "historyId", "internalDate",
                          "sizeEstimate", "payload"}
    assert first["internalDate"] == "1700000001000" and first["historyId"] == "101"
    assert set(first["payload"]) == {"mimeType", "headers"}
    assert [h["name"] for h in first["payload"]["headers"]] == ["From", "To", "Subject", "Date"]


def test_metadata_headers_filter_case_insensitively(users: Any) -> None:
    msg = users.messages().get(userId="me", id="c1", format="metadata",
                               metadataHeaders=["from", "LIST-ID", "X-Missing"]).execute()
    assert msg["payload"]["headers"] == [
        {"name": "From", "value": "News <news@news.test>"},
        {"name": "List-Id", "value": "Weekly <weekly.news.test>"},
    ]


def test_minimal_format_has_no_payload(users: Any) -> None:
    msg = users.messages().get(userId="me", id="b2", format="minimal").execute()
    assert "payload" not in msg
    assert msg["labelIds"] == ["SENT", "IMPORTANT"] and msg["threadId"] == "b1"
    thread = users.threads().get(userId="me", id="b1", format="minimal").execute()
    assert all("payload" not in m for m in thread["messages"])


def test_thread_get_lists_trashed_messages_too(users: Any) -> None:
    thread = users.threads().get(userId="me", id="e1", format="minimal").execute()
    assert [m["id"] for m in thread["messages"]] == ["e1", "e2"]


@pytest.mark.parametrize("kind", ["threads", "messages"])
def test_unknown_ids_are_404(users: Any, kind: str) -> None:
    resource = users.threads() if kind == "threads" else users.messages()
    with pytest.raises(HttpError) as caught:
        resource.get(userId="me", id="nope", format="metadata").execute()
    assert caught.value.status_code == 404 and reason(caught.value) == "notFound"


@pytest.mark.parametrize("q", ["from:pat@acme.test", ""])
@pytest.mark.parametrize("kind", ["threads", "messages"])
def test_q_is_forbidden_by_the_metadata_scope(users: Any, kind: str, q: str) -> None:
    resource = users.threads() if kind == "threads" else users.messages()
    with pytest.raises(HttpError) as caught:
        resource.list(userId="me", q=q).execute()
    assert caught.value.status_code == 403 and reason(caught.value) == "forbidden"
    assert "'q'" in error_of(caught.value.content)["message"]


@pytest.mark.parametrize("fmt", ["full", "raw", None])
def test_full_raw_and_default_format_are_forbidden(users: Any, fmt: str | None) -> None:
    kwargs = {} if fmt is None else {"format": fmt}
    with pytest.raises(HttpError) as caught:
        users.messages().get(userId="me", id="a1", **kwargs).execute()
    assert caught.value.status_code == 403
    if fmt != "raw":
        with pytest.raises(HttpError) as thread_caught:
            users.threads().get(userId="me", id="a1", **kwargs).execute()
        assert thread_caught.value.status_code == 403


def test_error_bodies_have_googles_shape(emu: GmailEmulator) -> None:
    status, headers, body = raw(emu, "gmail/v1/users/me/threads?q=x")
    assert status == 403 and headers["Content-Type"].startswith("application/json")
    error = error_of(body)
    assert set(error) == {"code", "message", "errors", "status"}
    assert error["code"] == 403 and error["status"] == "PERMISSION_DENIED"
    assert error["errors"] == [{"message": error["message"], "domain": "global",
                                "reason": "forbidden"}]


@pytest.mark.parametrize("path, code", [
    ("gmail/v1/users/me/threads?colour=red", 400),
    ("gmail/v1/users/me/threads?maxResults=ten", 400),
    ("gmail/v1/users/me/threads?includeSpamTrash=maybe", 400),
    ("gmail/v1/users/me/threads?pageToken=a&pageToken=b", 400),
    ("gmail/v1/users/me/threads?alt=proto", 400),
    ("gmail/v1/users/me/messages/a1?format=fancy", 400),
    ("gmail/v1/users/me/labels", 404),
    ("nothing/here", 404),
])
def test_bad_requests_get_clear_json_errors(emu: GmailEmulator, path: str, code: int) -> None:
    status, _, body = raw(emu, path)
    assert status == code
    assert error_of(body)["message"]


def test_wrong_http_method_is_405(emu: GmailEmulator) -> None:
    status, _, body = raw(emu, "gmail/v1/users/me/threads", method="POST", body=b"{}")
    assert status == 405 and error_of(body)["code"] == 405


def test_missing_token_is_401_with_www_authenticate(emu: GmailEmulator) -> None:
    status, headers, body = raw(emu, "gmail/v1/users/me/profile", token=None)
    assert status == 401 and "Bearer" in headers["WWW-Authenticate"]
    error = error_of(body)
    assert error["status"] == "UNAUTHENTICATED" and error["errors"][0]["reason"] == "required"
    assert emu.quota_used == 0


def test_non_bearer_authorization_is_401(emu: GmailEmulator) -> None:
    status, _, _ = raw(emu, "gmail/v1/users/me/profile", token=None,
                       headers={"Authorization": "Basic YTpi"})
    assert status == 401


def test_access_token_query_parameter_also_authenticates(emu: GmailEmulator) -> None:
    status, _, body = raw(emu, "gmail/v1/users/me/profile?access_token=abc", token=None)
    assert status == 200 and json.loads(body)["emailAddress"] == REP


def test_token_checker_refuses_unknown_tokens() -> None:
    with GmailEmulator(small_mailbox(), token_checker=lambda t: t == "good") as emu:
        refused, _, body = raw(emu, "gmail/v1/users/me/profile", token="stolen")
        accepted, _, _ = raw(emu, "gmail/v1/users/me/profile", token="good")
    assert refused == 401 and error_of(body)["errors"][0]["reason"] == "authError"
    assert accepted == 200


def test_fields_selects_a_partial_response(users: Any) -> None:
    answer = users.threads().list(userId="me", maxResults=2,
                                  fields="threads(id),nextPageToken").execute()
    assert answer == {"threads": [{"id": "f1"}, {"id": "a1"}],
                      "nextPageToken": "00000000000000000002"}
    msg = users.messages().get(userId="me", id="a1", format="metadata",
                               fields="id,payload/headers/name").execute()
    assert msg == {"id": "a1", "payload": {"headers": [{"name": "From"}, {"name": "To"},
                                                       {"name": "Subject"}, {"name": "Date"}]}}


def test_bad_fields_syntax_is_400(emu: GmailEmulator) -> None:
    status, _, _ = raw(emu, "gmail/v1/users/me/threads?fields=threads(id")
    assert status == 400


def test_watch_and_stop(users: Any) -> None:
    clock_ms = 1_750_000_000_000
    with GmailEmulator(small_mailbox(), clock=lambda: clock_ms / 1000) as emu:
        service = gmail(emu)
        topic = "projects/stepback-demo/topics/gmail"
        answer = service.users().watch(userId="me", body={"topicName": topic,
                                                          "labelIds": ["INBOX"]}).execute()
        stopped = service.users().stop(userId="me").execute()
        service.close()
        assert answer == {"historyId": "110",
                          "expiration": str(clock_ms + 7 * 24 * 3600 * 1000)}
        assert stopped == ""
        assert emu.watch_topic == topic and emu.stop_calls == 1
        assert emu.watch_requests[0]["labelIds"] == ["INBOX"]
        assert [r.status for r in emu.requests] == [200, 204]


@pytest.mark.parametrize("body", [{}, {"topicName": "gmail-topic"}, {"topicName": 5}])
def test_watch_needs_a_full_topic_name(users: Any, body: dict[str, Any]) -> None:
    with pytest.raises(HttpError) as caught:
        users.watch(userId="me", body=body).execute()
    assert caught.value.status_code == 400


def test_every_request_is_recorded_with_its_parameters(emu: GmailEmulator, users: Any) -> None:
    users.threads().list(userId="me", labelIds=["SENT", "INBOX"], maxResults=7).execute()
    users.messages().get(userId="me", id="a1", format="metadata",
                         metadataHeaders=["From", "To"]).execute()
    first, second = emu.requests
    assert (first.method, first.path, first.status) == ("GET", "/gmail/v1/users/me/threads", 200)
    assert first.params["labelIds"] == ["SENT", "INBOX"] and first.params["maxResults"] == ["7"]
    assert first.api_method == "gmail.users.threads.list" and not first.in_batch
    assert second.path == "/gmail/v1/users/me/messages/a1"
    assert second.params["metadataHeaders"] == ["From", "To"]
    assert emu.http_requests == 2


@pytest.mark.parametrize("selector, expected", [
    ("a", {"a": {"x": 1, "y": [1, 2]}}),
    ("a/x,c", {"a": {"x": 1}, "c": 3}),
    ("a(x),a(y)", {"a": {"x": 1, "y": [1, 2]}}),
    ("a(x),a", {"a": {"x": 1, "y": [1, 2]}}),
    ("l(id)", {"l": [{"id": 1}, {"id": 2}]}),
    ("*", {"a": {"x": 1, "y": [1, 2]}, "c": 3, "l": [{"id": 1, "z": 0}, {"id": 2}]}),
    ("l/*", {"l": [{"id": 1, "z": 0}, {"id": 2}]}),
    ("missing", {}),
])
def test_fields_selector_rules(selector: str, expected: dict[str, Any]) -> None:
    value = {"a": {"x": 1, "y": [1, 2]}, "c": 3, "l": [{"id": 1, "z": 0}, {"id": 2}]}
    assert apply_fields(value, parse_fields(selector)) == expected


@pytest.mark.parametrize("selector", ["", "a,", "a(", "a()", "a/", "a)b", "a b"])
def test_fields_selector_syntax_errors(selector: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_fields(selector)
    assert caught.value.code == 400


def test_thread_listing_uses_the_newest_visible_message(users: Any) -> None:
    # e1's newest message is in the trash, so e1 sorts by its older sent message
    # unless spam and trash are included.
    plain = users.threads().list(userId="me").execute()["threads"]
    assert plain[-1]["id"] == "e1"
    both = users.threads().list(userId="me", includeSpamTrash=True).execute()["threads"]
    assert both[1]["id"] == "e1"
