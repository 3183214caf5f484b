"""Mailbox file loading, validation messages and atomic saving."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import server.gmail.mailbox_file as mailbox_file
from server.gmail.mailbox_file import (
    MailboxFileError,
    load_mailbox_file,
    parse_mailbox,
    save_mailbox_file,
)
from server.gmail.schemas import address_problem, validate_message, validate_thread
from tests.gmail.emulator_fixtures import small_mailbox


def write(tmp_path: Path, data: Any, name: str = "mailbox.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def load_error(tmp_path: Path, data: Any) -> str:
    path = write(tmp_path, data)
    with pytest.raises(MailboxFileError) as caught:
        load_mailbox_file(path)
    text = str(caught.value)
    assert "\n" not in text
    prefix = f"{path}: "
    assert text.startswith(prefix)
    return text[len(prefix):]


def broken(change: str, value: Any, thread: int = 0, msg: int = 1) -> dict[str, Any]:
    """The small mailbox with one field of one message replaced (dotted path)."""
    mailbox = small_mailbox()
    target = mailbox["threads"][thread]["messages"][msg]
    *parents, last = change.split(".")
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is KeyError:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return mailbox


def test_a_valid_file_loads_normalised(tmp_path: Path) -> None:
    mailbox = small_mailbox()
    mailbox["threads"][0]["messages"][0]["internalDate"] = 1700000001000  # JSON number
    mailbox["threads"][0]["messages"][0]["raw"] = "Ym9keQ=="  # a body: must be dropped
    del mailbox["threads"][1]["messages"][0]["labelIds"]  # Gmail omits empty lists
    loaded = load_mailbox_file(write(tmp_path, mailbox))
    first = loaded["threads"][0]["messages"][0]
    assert first["internalDate"] == "1700000001000" and "raw" not in first
    assert loaded["threads"][1]["messages"][0]["labelIds"] == []
    assert len(loaded["threads"]) == 6 and loaded["emailAddress"] == "alex@northwind-demo.com"


@pytest.mark.parametrize("mailbox, expected", [
    (broken("internalDate", "soon"),
     "thread a1: message a2: internalDate: Not a valid integer."),
    (broken("historyId", -4), "thread a1: message a2: historyId: Not a valid integer."),
    (broken("id", KeyError), "thread a1: message #2: id: Missing data for required field."),
    (broken("labelIds", "INBOX"), "thread a1: message a2: labelIds: Not a valid list."),
    (broken("payload", "From: x"), "thread a1: message a2: payload: Invalid input type."),
    (broken("payload.headers.0.name", 7),
     "thread a1: message a2: payload.headers[0].name: Not a valid string."),
    (broken("threadId", "b1"),
     "thread a1: message a2: threadId: Does not match the thread id a1."),
])
def test_field_errors_name_thread_message_and_field(tmp_path: Path, mailbox: dict[str, Any],
                                                    expected: str) -> None:
    assert load_error(tmp_path, mailbox) == expected


@pytest.mark.parametrize("name, value", [
    ("From", "pat at acme"),
    ("To", "Alex <alex@>"),
    ("From", " "),
    ("From", "MAILER-DAEMON <>"),
    ("From", "<>"),
    ("From", "Mail Delivery System <>"),
    ("CC", "ok@x.test, broken@@x.test"),
    ("To", "undisclosed-recipients:;"),
    ("From", "x" * 400 + "@example.com"),
    ("From", "=?utf-8?b?A?= <pat@x.test>"),
    ("Subject", "=?utf-8?b?A?="),
])
def test_real_world_address_headers_never_refuse_a_file(tmp_path: Path, name: str,
                                                        value: str) -> None:
    # Gmail's answers are facts: a null sender, a group, an over-long or unparseable
    # address is "no usable address" for the engine, never a refused file or skipped message.
    mailbox = small_mailbox()
    headers = mailbox["threads"][0]["messages"][1]["payload"]["headers"]
    headers[:] = [h for h in headers if h["name"].lower() != name.lower()]
    headers.append({"name": name, "value": value})
    loaded = load_mailbox_file(write(tmp_path, mailbox))
    kept = loaded["threads"][0]["messages"][1]["payload"]["headers"]
    assert {"name": name, "value": value} in kept
    assert validate_message(mailbox["threads"][0]["messages"][1])[1] is None


def test_several_problems_are_counted(tmp_path: Path) -> None:
    mailbox = broken("internalDate", "x")
    mailbox["threads"][3]["messages"][0]["historyId"] = "y"
    mailbox["emailAddress"] = "nobody"
    assert load_error(tmp_path, mailbox) == "emailAddress: Not a valid email address. " \
                                            "(and 2 more problems)"


@pytest.mark.parametrize("change, expected", [
    (lambda m: m.pop("emailAddress"), "emailAddress: Missing data for required field."),
    (lambda m: m.pop("threads"), "threads: Missing data for required field."),
    (lambda m: m.update(threads={}), "threads: Not a valid list."),
    (lambda m: m.update(historyId="12a"), "historyId: Not a valid integer."),
    (lambda m: m["threads"][1].pop("id"), "thread #2: id: Missing data for required field."),
    (lambda m: m["threads"][1].update(messages=[]),
     "thread b1: messages: Shorter than minimum length 1."),
    (lambda m: m["threads"].append({"id": "a1", "historyId": "1", "messages": [
        dict(m["threads"][0]["messages"][0], id="x1")]}), "thread a1: id: Duplicate thread id."),
    (lambda m: m["threads"].__setitem__(2, "c1"), "thread #3: Invalid input type."),
])
def test_structure_errors(tmp_path: Path, change: Any, expected: str) -> None:
    mailbox = small_mailbox()
    change(mailbox)
    assert load_error(tmp_path, mailbox) == expected


def test_duplicate_message_ids_are_refused(tmp_path: Path) -> None:
    mailbox = small_mailbox()
    copied = copy.deepcopy(mailbox["threads"][0]["messages"][0])
    copied["threadId"] = "b1"
    mailbox["threads"][1]["messages"].append(copied)
    assert load_error(tmp_path, mailbox) == "thread b1: message a1: id: Duplicate message id."


@pytest.mark.parametrize("text, expected", [
    ("", "not valid JSON: Expecting value at line 1 column 1."),
    ('{"emailAddress": "a@b.test",', "not valid JSON: Expecting property name enclosed in "
                                     "double quotes at line 1 column 29."),
    ("[1, 2]", "the top level must be a JSON object, not a list."),
    ('"mailbox"', "the top level must be a JSON object, not a string."),
    ("42", "the top level must be a JSON object, not int."),
    ("[" * 100_000, "not valid JSON: nested too deeply."),
])
def test_not_a_json_object(tmp_path: Path, text: str, expected: str) -> None:
    assert load_error(tmp_path, text) == expected


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "mailbox.json"
    path.write_bytes(b'{"emailAddress": "\xff"}')
    with pytest.raises(MailboxFileError, match=r"not UTF-8 text \(bad byte at offset 18\)\.$"):
        load_mailbox_file(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(MailboxFileError, match=r"nope\.json: file not found\.$"):
        load_mailbox_file(tmp_path / "nope.json")
    with pytest.raises(MailboxFileError, match=r": is a directory, not a mailbox file\.$"):
        load_mailbox_file(tmp_path)


def test_too_large_files_are_refused_before_reading(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as handle:
        handle.truncate(150_000_000)  # sparse: costs no disk space

    def no_reading(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the file was opened")
    monkeypatch.setattr(mailbox_file, "open", no_reading, raising=False)
    with pytest.raises(MailboxFileError) as caught:
        load_mailbox_file(path)
    assert str(caught.value) == f"{path}: file is 150.0 MB, over the limit of 100.0 MB."


def test_size_limit_is_configurable(tmp_path: Path) -> None:
    path = write(tmp_path, small_mailbox())
    size = os.path.getsize(path)
    with pytest.raises(MailboxFileError, match=r"over the limit of 0\.0 MB\.$"):
        load_mailbox_file(path, max_bytes=size - 1)
    assert load_mailbox_file(path, max_bytes=size)["threads"]


@pytest.mark.parametrize("value", [
    '"<img src=x onerror=alert(1)> {{rep_name}}" <eve@evil.example>',
    "undisclosed-recipients:;",
    '"Núñez, José" <jose@ibanez.test>, Zoë <zoe@x.test>',
    "=?utf-8?b?55Sw5Lit?= <misaki@x.test>",
    "MAILER-DAEMON",
    "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
    "Pat.Doe@ACME.Test",
])
def test_unusual_but_valid_addresses_pass(value: str) -> None:
    assert address_problem(value) is None


@pytest.mark.parametrize("value", ["pat at acme", "a@b@c", "@acme.test", "pat@", "<>",
                                   "x <a b@c.test>"])
def test_broken_addresses_fail(value: str) -> None:
    assert address_problem(value) is not None


def test_validate_thread_and_message_report_relative_paths() -> None:
    thread = small_mailbox()["threads"][0]
    clean, error = validate_thread(thread)
    assert error is None and clean is not None and clean["id"] == "a1"
    thread["messages"][1]["internalDate"] = "later"
    assert validate_thread(thread) == (None, "message a2: internalDate: Not a valid integer.")
    assert validate_message(thread["messages"][1]) == (None, "internalDate: Not a valid integer.")
    assert validate_message("nope") == (None, "Expected a JSON object, got str.")
    assert validate_thread(None) == (None, "Expected a JSON object, got NoneType.")


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    mailbox = small_mailbox()
    mailbox["threads"][0]["messages"][0]["payload"]["headers"][0]["value"] = "Zoë <zoe@x.test>"
    save_mailbox_file(path, mailbox)
    assert load_mailbox_file(path) == parse_mailbox(mailbox)
    assert "Zoë" in path.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_save_refuses_invalid_data_and_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    save_mailbox_file(path, small_mailbox())
    before = path.read_bytes()
    with pytest.raises(MailboxFileError, match="internalDate: Not a valid integer"):
        save_mailbox_file(path, broken("internalDate", "x"))
    assert path.read_bytes() == before


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.json"
    save_mailbox_file(path, small_mailbox())
    before = path.read_bytes()

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(mailbox_file.json, "dump", disk_full)
    with pytest.raises(MailboxFileError, match=r"cannot write the file \(No space left"):
        save_mailbox_file(path, small_mailbox())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_save_into_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MailboxFileError, match=r"cannot write the file \(No such file"):
        save_mailbox_file(tmp_path / "no" / "out.json", small_mailbox())


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=12,
)
FIELDS = ["emailAddress", "historyId", "threads", "threads.0", "threads.0.id",
          "threads.0.messages", "threads.0.messages.0", "threads.0.messages.0.internalDate",
          "threads.0.messages.0.payload", "threads.0.messages.0.payload.headers",
          "threads.0.messages.0.payload.headers.0", "threads.0.messages.0.labelIds"]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(where=st.sampled_from(FIELDS), value=JSON)
def test_any_corruption_gives_one_line_or_loads(where: str, value: Any) -> None:
    mailbox: Any = small_mailbox()
    target = mailbox
    *parents, last = where.split(".")
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    target[int(last) if last.isdigit() else last] = value
    try:
        loaded = parse_mailbox(mailbox, "m.json")
    except MailboxFileError as err:
        text = str(err)
        assert text.startswith("m.json: ") and "\n" not in text and len(text) < 400
    else:
        assert isinstance(loaded["threads"], list)


@settings(max_examples=100, deadline=None)
@given(document=JSON)
def test_any_json_document_gives_one_line_or_loads(document: Any) -> None:
    try:
        parse_mailbox(document, "m.json")
    except MailboxFileError as err:
        assert "\n" not in str(err)
