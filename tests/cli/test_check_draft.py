"""`stepback check-draft`: findings as a table or JSON, exit 0 either way, 2 on bad input."""

import io
import json
import sys
from pathlib import Path

import pytest

from server.cli import main
from server.engine.pressure import check_pressure

DRAFT = ("Hi Dana,\n\nJust checking in on the quote. I'll go ahead and send the paperwork "
         "unless I hear otherwise.\n\nThanks for the notes!\n")


def run(args, capsys, stdin=None, monkeypatch=None):
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(["check-draft", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_from_a_file_is_the_engine_output(tmp_path: Path, capsys):
    draft = tmp_path / "draft.txt"
    draft.write_text(DRAFT, "utf-8")
    code, out, _ = run([str(draft), "--format", "json"], capsys)
    assert code == 0
    assert json.loads(out) == {"findings": [f.as_dict() for f in check_pressure(DRAFT)]}
    ids = [f["ruleId"] for f in json.loads(out)["findings"]]
    assert "chasing.checking_in" in ids and "model.assuming_sale" in ids


def test_table_from_stdin_shows_why_and_alternative(capsys, monkeypatch):
    code, out, _ = run([], capsys, stdin=DRAFT.encode(), monkeypatch=monkeypatch)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["START", "END", "CATEGORY", "FINDING", "TEXT"]
    assert any("model.assuming_sale" in line for line in lines)
    assert sum(line.startswith("    why: ") for line in lines) == len(check_pressure(DRAFT))
    assert sum(line.startswith("    try: ") for line in lines) == len(check_pressure(DRAFT))
    assert lines[-1] == f"{len(check_pressure(DRAFT))} findings."


def test_dash_reads_stdin_and_a_calm_draft_exits_zero(capsys, monkeypatch):
    calm = b"Thanks for the notes. Where do you think we should go from here?"
    code, out, _ = run(["-", "--format", "json"], capsys, stdin=calm, monkeypatch=monkeypatch)
    assert (code, json.loads(out)) == (0, {"findings": []})
    code, out, _ = run([], capsys, stdin=calm, monkeypatch=monkeypatch)
    assert (code, out.strip()) == (0, "No pressure found in the draft.")


@pytest.mark.parametrize("content, message", [
    (b"\xff\xfe\x00bad", "not UTF-8 text"),
    (None, "cannot read"),
])
def test_unreadable_input_exits_2(tmp_path: Path, capsys, content, message):
    path = tmp_path / "draft.txt"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run([str(path)], capsys)
    assert code == 2 and out == ""
    assert message in err


def test_a_folder_or_an_oversized_input_exits_2(tmp_path: Path, capsys, monkeypatch):
    code, _, err = run([str(tmp_path)], capsys)
    assert code == 2 and "directory" in err
    code, _, err = run([], capsys, stdin=b"a" * 1_000_001, monkeypatch=monkeypatch)
    assert code == 2 and "larger than" in err
