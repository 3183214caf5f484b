"""A local HTTP server speaking the Gmail REST v1 wire format, for tests, benchmarks and the demo.

Start it with a mailbox-file dict and point google-api-python-client at `emulator.url`:

    with GmailEmulator(mailbox) as emu:
        service = build("gmail", "v1", credentials=Credentials("t"), static_discovery=True,
                        client_options={"api_endpoint": emu.url})
        batch = BatchHttpRequest(batch_uri=emu.url + "batch/gmail/v1")
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import socket
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from server.gmail.emulator.api import Call, dispatch, parse_params, resolve
from server.gmail.emulator.batch import PartAnswer, build_batch_response, parse_batch
from server.gmail.emulator.errors import (
    INJECTABLE_STATUSES,
    ApiError,
    bad_request,
    injected_error,
)
from server.gmail.emulator.fields import apply_fields, parse_fields
from server.gmail.emulator.quota import MAY_2026, QUOTA_TABLES, QuotaTable
from server.gmail.emulator.state import MALFORMED_FIELDS, MailboxState

log = logging.getLogger(__name__)

BATCH_PATHS = ("/batch/gmail/v1", "/batch")
MAX_BODY_BYTES = 10 * 1024 * 1024
JSON_TYPE = "application/json; charset=UTF-8"
Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class RecordedRequest:
    """What the client sent: one entry per HTTP request and one per batch part."""

    method: str
    path: str
    params: dict[str, list[str]]
    status: int
    in_batch: bool = False
    api_method: str | None = None


@dataclass
class _Fault:
    remaining: int
    path_contains: str | None
    status: int = 0
    seconds: float = 0.0

    def matches(self, target: str) -> bool:
        return self.remaining > 0 and (self.path_contains is None or self.path_contains in target)


@dataclass
class _Window:
    """Quota units spent in the rolling rate-limit window."""

    spent: deque[tuple[float, int]] = field(default_factory=deque)
    total: int = 0

    def trim(self, now: float, width: float) -> None:
        while self.spent and self.spent[0][0] <= now - width:
            self.total -= self.spent.popleft()[1]


class GmailEmulator:
    """Serve one mailbox over Gmail's REST API on a loopback port; thread-safe."""

    def __init__(
        self,
        mailbox: dict[str, Any],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        enforce_rate_limit: bool = False,
        page_size_cap: int = 500,
        token_checker: Callable[[str], bool] | None = None,
        rate_limit_units: int | None = None,
        rate_window_seconds: float = 60.0,
        latency: float = 0.0,
        clock: Callable[[], float] = time.time,
        quota_table: str | QuotaTable = MAY_2026,
        quota_status: int = 403,
        fail_rate: float = 0.0,
        seed: int = 0,
        concurrency_limit: int | None = None,
        history_labels: bool = False,
    ) -> None:
        self._state = MailboxState(mailbox)
        self._host, self._port = host, port
        self.quota_table = QUOTA_TABLES[quota_table] if isinstance(quota_table, str) \
            else quota_table
        # Giving a budget turns the limit on (the CLI's --units-per-minute).
        self.enforce_rate_limit = enforce_rate_limit or rate_limit_units is not None
        self.page_size_cap = page_size_cap
        self.token_checker = token_checker
        self.rate_limit_units = rate_limit_units or self.quota_table.units_per_user_minute
        self.rate_window_seconds = rate_window_seconds
        if quota_status not in (403, 429):
            raise ValueError("quota_status must be 403 or 429")
        if not 0.0 <= fail_rate < 1.0:
            raise ValueError("fail_rate must be at least 0 and below 1")
        self.quota_status = quota_status
        self.fail_rate = fail_rate
        self._rng = random.Random(seed)
        self.concurrency_limit = concurrency_limit
        self.history_labels = history_labels
        self.latency = latency
        self._clock = clock
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._serving = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._faults: list[_Fault] = []
        self._timeouts: list[_Fault] = []
        self._window = _Window()
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self.quota_used = 0
        self.http_requests = 0
        self.calls: Counter[str] = Counter()
        self.answers: Counter[int] = Counter()  # HTTP status of every call and batch part
        self.watch_requests: list[dict[str, Any]] = []
        self.stop_calls = 0

    # ----- lifecycle -----------------------------------------------------------------------

    def _bind(self) -> _Server:
        with self._lock:  # url, start() and serve_forever() may race to bind
            if self._server is None:
                self._server = _Server((self._host, self._port), _Handler)
                self._server.emulator = self
            return self._server

    @property
    def url(self) -> str:
        """Base URL ending in '/', e.g. http://127.0.0.1:54321/ (binds the port if needed)."""
        host, port = self._bind().server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}/"

    @property
    def batch_url(self) -> str:
        """The batch endpoint to give BatchHttpRequest(batch_uri=...)."""
        return self.url + "batch/gmail/v1"

    def start(self) -> GmailEmulator:
        """Serve in a background thread; returns self."""
        server = self._bind()
        if self._thread is None:
            self._stopping.clear()
            self._serving.set()
            self._thread = threading.Thread(target=server.serve_forever, name="gmail-emulator",
                                            kwargs={"poll_interval": 0.05}, daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until stop() or Ctrl-C."""
        server = self._bind()
        self._serving.set()
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            self._close()

    def stop(self) -> None:
        """Stop serving, wake sleeping handlers and close every connection."""
        self._stopping.set()
        server = self._server
        if server is not None and self._serving.is_set():
            server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close()

    def _close(self) -> None:
        with self._lock:
            server, self._server, self._thread = self._server, None, None
            self._serving.clear()
        if server is not None:
            server.close_connections()
            server.server_close()

    def __enter__(self) -> GmailEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- mailbox changes (for history) -----------------------------------------------------

    def add_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """Deliver a message (metadata shape); bumps historyId and records messageAdded."""
        with self._lock:
            return self._state.add_message(message, self._now_ms())

    def add_messages(self, messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Deliver several messages under one history record (Gmail may group them)."""
        with self._lock:
            return self._state.add_messages(list(messages), self._now_ms())

    def add_labels(self, message_id: str, labels: Sequence[str]) -> list[str]:
        """Add labels to a message; returns the labels that were really added."""
        with self._lock:
            return self._state.change_labels(message_id, list(labels), add=True)

    def remove_labels(self, message_id: str, labels: Sequence[str]) -> list[str]:
        """Remove labels from a message; returns the labels that were really removed."""
        with self._lock:
            return self._state.change_labels(message_id, list(labels), add=False)

    def delete_message(self, message_id: str) -> None:
        """Delete a message permanently; records messageDeleted."""
        with self._lock:
            self._state.delete_message(message_id)

    def expire_history(self) -> None:
        """Make every startHistoryId before the current historyId answer 404."""
        with self._lock:
            self._state.expire_history()

    @property
    def history_id(self) -> str:
        """The mailbox's current historyId."""
        with self._lock:
            return str(self._state.history_id)

    def export_mailbox(self) -> dict[str, Any]:
        """Return the current state as a mailbox-file dict."""
        with self._lock:
            return self._state.export()

    # ----- fault injection and counters ---------------------------------------------------

    def inject(self, status: int, count: int = 1, path_contains: str | None = None) -> None:
        """Answer the next `count` matching requests with `status` (429, 5xx, ...)."""
        if status not in INJECTABLE_STATUSES:
            raise ValueError(f"cannot inject HTTP status {status}")
        with self._lock:
            self._faults.append(_Fault(count, path_contains, status=status))

    def inject_timeout(self, seconds: float, count: int = 1,
                       path_contains: str | None = None) -> None:
        """Sleep `seconds` before answering the next `count` matching HTTP requests."""
        with self._lock:
            self._timeouts.append(_Fault(count, path_contains, seconds=seconds))

    def inject_malformed(self, message_id: str, field: str = "internalDate") -> None:
        """Serve that message with a broken `field` (internalDate, headers, labelIds or id)."""
        if field not in MALFORMED_FIELDS:
            raise ValueError(f"field must be one of {', '.join(MALFORMED_FIELDS)}")
        with self._lock:
            self._state.malformed[message_id] = field

    def clear_faults(self) -> None:
        """Drop pending injected errors, timeouts and malformed messages."""
        with self._lock:
            self._faults.clear()
            self._timeouts.clear()
            self._state.malformed.clear()

    def reset_counters(self) -> None:
        """Zero quota, request counts, the request log and the rate-limit window."""
        with self._lock:
            self.quota_used = 0
            self.http_requests = 0
            self.calls.clear()
            self.answers.clear()
            self._requests.clear()
            self._window = _Window()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the request log."""
        with self._lock:
            return list(self._requests)

    @property
    def watch_topic(self) -> str | None:
        """The topic of the latest successful users.watch call."""
        with self._lock:
            return self.watch_requests[-1]["topicName"] if self.watch_requests else None

    # ----- request handling ----------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _take(self, faults: list[_Fault], target: str) -> _Fault | None:
        with self._lock:
            for fault in faults:
                if fault.matches(target):
                    fault.remaining -= 1
                    return fault
        return None

    def _record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(entry)

    def handle_http(self, verb: str, target: str, headers: dict[str, str], body: bytes
                    ) -> tuple[int, Headers, bytes]:
        """Answer one HTTP request (headers with lower-case names)."""
        with self._lock:
            self.http_requests += 1
            self._in_flight += 1
        try:
            timeout = self._take(self._timeouts, target)
            delay = self.latency + (timeout.seconds if timeout else 0.0)
            if delay > 0:
                self._stopping.wait(delay)
            if urlsplit(target).path in BATCH_PATHS:
                return self._handle_batch(verb, target, headers, body)
            return self._handle_call(verb, target, headers, body, in_batch=False)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _handle_batch(self, verb: str, target: str, headers: dict[str, str], body: bytes
                      ) -> tuple[int, Headers, bytes]:
        split = urlsplit(target)
        params = parse_qs(split.query, keep_blank_values=True)
        try:
            fault = self._take(self._faults, target)
            if fault is not None:
                raise injected_error(fault.status)
            if verb != "POST":
                raise ApiError(405, "httpMethodNotAllowed", "Batches must be sent with POST.")
            parts = parse_batch(headers.get("content-type", ""), body)
        except ApiError as err:
            self._record(RecordedRequest(verb, split.path, params, err.code))
            return _error_response(err)
        # Outer headers apply to every part unless the part sets its own (Google's rule).
        shared = {k: v for k, v in headers.items()
                  if not k.startswith("content-") and k not in ("host", "connection")}
        answers = []
        for index, part in enumerate(parts):
            merged = {**shared, **part.headers}
            if urlsplit(part.target).path in BATCH_PATHS:
                nested = bad_request("A batch cannot contain another batch.")
                status, hdrs, data = _error_response(nested)
            else:
                # Google runs a batch's parts in parallel, so part N counts as N requests
                # running beside the others in flight for this user.
                status, hdrs, data = self._handle_call(part.verb, part.target, merged, part.body,
                                                       in_batch=True, parallel=index)
            answers.append(PartAnswer(part.content_id, status, hdrs, data))
        content_type, data = build_batch_response(answers)
        self._record(RecordedRequest(verb, split.path, params, 200))
        return 200, [("Content-Type", content_type)], data

    def _handle_call(self, verb: str, target: str, headers: dict[str, str], body: bytes,
                     in_batch: bool, parallel: int = 0) -> tuple[int, Headers, bytes]:
        split = urlsplit(target)
        query = parse_qs(split.query, keep_blank_values=True)
        api_method = None
        try:
            fault = self._take(self._faults, target)
            if fault is not None:
                raise injected_error(fault.status)
            self._check_concurrency(parallel)
            if self.fail_rate and self._draw() < self.fail_rate:
                raise injected_error(503)
            route, user, rid = resolve(verb, split.path)
            api_method = route.name
            self._authenticate(headers, query)
            if user != "me" and user.lower() != self._state.email_address.lower():
                raise ApiError(403, "forbidden", f"Not allowed to read the mailbox of {user}.")
            params = parse_params(route, query)
            selection = parse_fields(params["fields"]) if "fields" in params else None
            result = self._run(Call(route, user, rid, params, body))
            if result is None:
                status, hdrs, data = 204, [], b""
            else:
                payload = json.dumps(apply_fields(result, selection)).encode("utf-8")
                status, hdrs, data = 200, [("Content-Type", JSON_TYPE)], payload
        except ApiError as err:
            status, hdrs, data = _error_response(err)
        self._record(RecordedRequest(verb, split.path, query, status, in_batch, api_method))
        with self._lock:
            self.answers[status] += 1
        return status, hdrs, data

    def _draw(self) -> float:
        with self._lock:
            return self._rng.random()

    def _check_concurrency(self, parallel: int) -> None:
        """429 past the per-user concurrency limit.

        Google answers "Too many concurrent requests for user" with 429 and publishes no
        number (https://developers.google.com/workspace/gmail/api/guides/handle-errors#resolve_a_429_error_too_many_requests),
        and warns that batches are run in parallel
        (https://developers.google.com/workspace/gmail/api/guides/batch), so the limit is ours
        to set; it is off unless `concurrency_limit` is given.
        """
        if self.concurrency_limit is None:
            return
        with self._lock:
            running = self._in_flight + parallel
        if running > self.concurrency_limit:
            raise ApiError(429, "rateLimitExceeded", "Too many concurrent requests for user.",
                           "usageLimits")

    def _authenticate(self, headers: dict[str, str], query: dict[str, list[str]]) -> None:
        auth = headers.get("authorization", "").strip()
        token = ""
        if auth:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(401, "authError", "The Authorization header is not a Bearer token.")
        elif query.get("access_token"):
            token = query["access_token"][0]
        if not token.strip():
            raise ApiError(401, "required", "Login required: send an OAuth 2.0 access token.")
        if self.token_checker is not None and not self.token_checker(token.strip()):
            raise ApiError(401, "authError", "Invalid credentials: the access token was refused.")

    def _run(self, call: Call) -> dict[str, Any] | None:
        """Check the rate limit, dispatch and charge quota, atomically."""
        cost = self.quota_table.cost(call.route.name)
        with self._lock:
            now = self._clock()
            if self.enforce_rate_limit:
                self._window.trim(now, self.rate_window_seconds)
                if self._window.total + cost > self.rate_limit_units:
                    raise self._over_quota(now, cost)
            try:
                result = dispatch(self._state, call, int(now * 1000), self.page_size_cap,
                                  self.history_labels)
            except ApiError as err:
                # Calls Google actually runs cost quota even when the id is unknown.
                if err.code == 404:
                    self._charge(now, call.route.name, cost)
                raise
            self._charge(now, call.route.name, cost)
            if call.route.name.endswith(".watch"):
                self.watch_requests.append(json.loads(call.body.decode("utf-8")))
            elif call.route.name.endswith(".stop"):
                self.stop_calls += 1
            return result

    def _over_quota(self, now: float, cost: int) -> ApiError:
        """The answer to a call past the per-user budget, as Google gives it.

        Google reports usage-limit overruns as 403 with reason userRateLimitExceeded (per
        user) or rateLimitExceeded (per project), domain usageLimits
        (https://developers.google.com/workspace/gmail/api/guides/handle-errors#resolve_a_403_error_user_rate_limit_exceeded
        and https://developers.google.com/gmail/api/reference/quota); `quota_status=429`
        rehearses the other answer clients meet. Retry-After says when enough units have
        left the rolling window.
        """
        freed, wait = 0, 1.0
        need = self._window.total + cost - self.rate_limit_units
        for at, units in self._window.spent:
            freed += units
            if freed >= need:
                wait = max(1.0, at + self.rate_window_seconds - now)
                break
        err = ApiError(self.quota_status, "userRateLimitExceeded",
                       f"User-rate limit exceeded: more than {self.rate_limit_units} quota units "
                       "a minute. Retry after the time given.", "usageLimits")
        err.retry_after = math.ceil(wait)
        return err

    def _charge(self, now: float, name: str, cost: int) -> None:
        self.quota_used += cost
        self.calls[name] += 1
        self._window.spent.append((now, cost))
        self._window.total += cost


def _error_response(err: ApiError) -> tuple[int, Headers, bytes]:
    headers: Headers = [("Content-Type", JSON_TYPE)]
    if err.code == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"'))
    if err.retry_after is not None:
        headers.append(("Retry-After", str(err.retry_after)))
    return err.code, headers, json.dumps(err.body()).encode("utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    emulator: GmailEmulator

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Close kept-alive client connections so their handler threads end."""
        with self._open_lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the peer

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._reply(411, [("Content-Type", JSON_TYPE)], _plain_error(411, "Send a "
                        "Content-Length; chunked bodies are not supported."), close=True)
            return
        length_text = self.headers.get("Content-Length", "0") or "0"
        if not length_text.isdigit() or int(length_text) > MAX_BODY_BYTES:
            self._reply(413, [("Content-Type", JSON_TYPE)], _plain_error(413, "The request "
                        "body is missing a valid Content-Length or is too large."), close=True)
            return
        body = self.rfile.read(int(length_text))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, hdrs, data = self.server.emulator.handle_http(self.command, self.path,
                                                                  headers, body)
        except Exception:  # a bug must still give the client a JSON 500, not a dead socket
            log.exception("emulator failed on %s %s", self.command, self.path)
            status, hdrs, data = 500, [("Content-Type", JSON_TYPE)], _plain_error(
                500, "The emulator hit an internal error.")
        self._reply(status, hdrs, data)

    def _reply(self, status: int, headers: Headers, data: bytes, close: bool = False) -> None:
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its own timeout)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


def _plain_error(code: int, message: str) -> bytes:
    return json.dumps(ApiError(code, "badRequest", message).body()).encode("utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator from the command line: `python -m server.gmail.emulator --demo`."""
    parser = argparse.ArgumentParser(prog="python -m server.gmail.emulator",
                                     description="Serve a mailbox over the Gmail REST API.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--mailbox", help="mailbox JSON file to serve")
    source.add_argument("--demo", action="store_true", help="serve the built-in demo mailbox")
    parser.add_argument("--now", help="ISO 8601 time the demo mailbox is built around")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--rate-limit", action="store_true",
                        help="refuse calls past the quota table's per-user budget a minute")
    parser.add_argument("--units-per-minute", type=int, help="per-user budget (turns the limit on)")
    parser.add_argument("--quota-status", type=int, choices=(403, 429), default=403)
    parser.add_argument("--quota-table", choices=sorted(QUOTA_TABLES), default="may2026")
    parser.add_argument("--fail-rate", type=float, default=0.0,
                        help="share of calls answered 503 (seeded)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--concurrency", type=int, help="per-user concurrent calls before 429")
    args = parser.parse_args(argv)
    from server.gmail.demo_mailbox import build_demo_mailbox
    from server.gmail.mailbox_file import MailboxFileError, load_mailbox_file

    try:
        if args.mailbox:
            mailbox = load_mailbox_file(args.mailbox)
        else:
            now = datetime.fromisoformat(args.now) if args.now else datetime.now().astimezone()
            mailbox = build_demo_mailbox(now)
    except (MailboxFileError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        emulator = GmailEmulator(mailbox, host=args.host, port=args.port,
                                 enforce_rate_limit=args.rate_limit,
                                 rate_limit_units=args.units_per_minute,
                                 quota_status=args.quota_status, quota_table=args.quota_table,
                                 fail_rate=args.fail_rate, seed=args.seed,
                                 concurrency_limit=args.concurrency)
        url = emulator.url
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: cannot listen on {args.host}:{args.port}: {err.strerror}", file=sys.stderr)
        return 2
    print(f"Gmail emulator for {mailbox['emailAddress']} at {url}", flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
