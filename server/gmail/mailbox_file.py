"""Read and write mailbox files: `{"emailAddress", "historyId", "threads": [...]}` (DESIGN §3)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from server.gmail.schemas import MailboxFileSchema, summarise

DEFAULT_MAX_BYTES = 100_000_000  # 100 MB
PathLike = str | os.PathLike[str]


class MailboxFileError(Exception):
    """A mailbox file cannot be used; str() is one line naming the file and the problem."""


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _read_text(name: str, path: PathLike, max_bytes: int) -> str:
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            raise MailboxFileError(f"{name}: file is {_megabytes(size)}, over the limit of "
                                   f"{_megabytes(max_bytes)}.")
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)  # the file may have grown since stat()
    except FileNotFoundError:
        raise MailboxFileError(f"{name}: file not found.") from None
    except IsADirectoryError:
        raise MailboxFileError(f"{name}: is a directory, not a mailbox file.") from None
    except PermissionError:
        raise MailboxFileError(f"{name}: permission denied.") from None
    except OSError as err:
        raise MailboxFileError(f"{name}: cannot read the file ({err.strerror}).") from None
    if len(data) > max_bytes:
        raise MailboxFileError(f"{name}: file is over the limit of {_megabytes(max_bytes)}.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise MailboxFileError(f"{name}: not UTF-8 text (bad byte at offset {err.start}).") \
            from None


def parse_mailbox(data: Any, name: str = "mailbox") -> dict[str, Any]:
    """Validate an already-parsed mailbox document; MailboxFileError names the problem."""
    if not isinstance(data, dict):
        kind = ("a list" if isinstance(data, list) else "a string" if isinstance(data, str)
                else type(data).__name__)
        raise MailboxFileError(f"{name}: the top level must be a JSON object, not {kind}.")
    try:
        loaded: dict[str, Any] = MailboxFileSchema().load(data)
    except ValidationError as err:
        raise MailboxFileError(f"{name}: {summarise(err.messages, data)}") from None
    return loaded


def load_mailbox_file(path: PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Read, parse and validate a mailbox file (refusing files over `max_bytes` unread)."""
    name = os.fspath(path)
    text = _read_text(name, path, max_bytes)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise MailboxFileError(f"{name}: not valid JSON: {err.msg} at line {err.lineno} "
                               f"column {err.colno}.") from None
    except RecursionError:
        raise MailboxFileError(f"{name}: not valid JSON: nested too deeply.") from None
    return parse_mailbox(data, name)


def save_mailbox_file(path: PathLike, mailbox: dict[str, Any], *, validate: bool = True) -> None:
    """Write a mailbox file atomically (temporary file + rename); validates first by default."""
    target = Path(path)
    if validate:
        parse_mailbox(mailbox, os.fspath(path))
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                    dir=target.parent)
    except OSError as err:
        raise MailboxFileError(f"{os.fspath(path)}: cannot write the file ({err.strerror}).") \
            from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(mailbox, handle, ensure_ascii=False, indent=1)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException as err:
        Path(temp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise MailboxFileError(f"{os.fspath(path)}: cannot write the file "
                                   f"({err.strerror}).") from None
        raise
