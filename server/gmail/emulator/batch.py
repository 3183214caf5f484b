"""multipart/mixed batch parsing and answering, in the format googleapiclient speaks."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from email import message_from_bytes
from email.parser import Parser
from email.policy import compat32
from http import HTTPStatus

from server.gmail.emulator.errors import bad_request

MAX_BATCH_PARTS = 100


@dataclass
class BatchPart:
    """One application/http request inside a batch."""

    content_id: str
    verb: str
    target: str  # path with query string
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class PartAnswer:
    """The answer to one batch part."""

    content_id: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def parse_batch(content_type: str, body: bytes) -> list[BatchPart]:
    """Split a multipart/mixed batch body into its HTTP requests (400 when malformed)."""
    if not content_type.lower().startswith("multipart/mixed") or "boundary" not in content_type:
        raise bad_request("A batch must be multipart/mixed with a boundary.")
    envelope = message_from_bytes(b"Content-Type: " + content_type.encode("latin-1")
                                  + b"\r\n\r\n" + body, policy=compat32)
    if not envelope.is_multipart():
        raise bad_request("The batch body holds no parts.")
    raw_parts = envelope.get_payload()
    if not isinstance(raw_parts, list) or not raw_parts:
        raise bad_request("The batch body holds no parts.")
    if len(raw_parts) > MAX_BATCH_PARTS:
        raise bad_request(f"A batch may hold at most {MAX_BATCH_PARTS} calls, "
                          f"not {len(raw_parts)}.")
    parts = []
    for index, raw in enumerate(raw_parts, start=1):
        if raw.get_content_type() != "application/http":
            raise bad_request(f"Batch part {index} is not application/http.")
        content_id = str(raw.get("Content-ID", "")).strip()
        text = raw.get_payload(decode=False)
        if not isinstance(text, str):
            raise bad_request(f"Batch part {index} is not a single HTTP request.")
        parts.append(_parse_part(index, content_id, text))
    return parts


def _parse_part(index: int, content_id: str, text: str) -> BatchPart:
    text = text.lstrip("\r\n")
    line, _, rest = text.partition("\n")
    words = line.strip().split(" ")
    if len(words) != 3 or not words[2].startswith("HTTP/") or not words[1].startswith("/"):
        raise bad_request(f"Batch part {index} does not start with an HTTP request line.")
    inner = Parser(policy=compat32).parsestr(rest)
    headers = {k.lower(): str(v) for k, v in inner.items()}
    payload = inner.get_payload()
    body = payload.encode("utf-8") if isinstance(payload, str) else b""
    return BatchPart(content_id, words[0].upper(), words[1], headers, body.strip())


def answer_content_id(request_id: str) -> str:
    """Derive the response Content-ID Google sends back for a request Content-ID."""
    inner = request_id[1:-1] if request_id.startswith("<") and request_id.endswith(">") \
        else request_id
    return f"<response-{inner}>"


def build_batch_response(answers: list[PartAnswer]) -> tuple[str, bytes]:
    """Compose the multipart/mixed answer; CRLF line ends as the client's parser expects."""
    boundary = "batch_" + secrets.token_hex(12)
    chunks: list[str] = []
    for answer in answers:
        phrase = HTTPStatus(answer.status).phrase
        inner = [f"HTTP/1.1 {answer.status} {phrase}"]
        inner += [f"{name}: {value}" for name, value in answer.headers]
        # Always at least one header: the client needs a blank line after headers even on 204.
        inner.append(f"Content-Length: {len(answer.body)}")
        chunks.append(
            f"--{boundary}\r\n"
            "Content-Type: application/http\r\n"
            f"Content-ID: {answer_content_id(answer.content_id)}\r\n"
            "\r\n" + "\r\n".join(inner) + "\r\n\r\n" + answer.body.decode("utf-8") + "\r\n"
        )
    chunks.append(f"--{boundary}--\r\n")
    return f"multipart/mixed; boundary={boundary}", "".join(chunks).encode("utf-8")
