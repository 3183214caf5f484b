"""A production-like stepback on this machine: gunicorn (deploy/gunicorn.conf.py) + PostgreSQL
+ the Gmail emulator + a loopback stand-in for Google's token, certificate and token-info
endpoints. Nothing leaves 127.0.0.1.

    python -m deploy.local_run                      # PostgreSQL from DATABASE_URL, or the default
    python -m deploy.local_run --simulate-every 20  # a prospect answers every 20 s, pushed to us

The demo rep (alex@northwind-demo.com) is connected with a refresh token issued by the
stand-in, so syncs go through the real offline-access path; pushes carry real signed OIDC
tokens. `LocalStack` is also what the end-to-end test and bench/load_fault.py drive.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet  # noqa: E402

from deploy.local_google import LocalGoogle  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/stepback_local"
CLIENT_ID = "stepback-local.apps.googleusercontent.com"
CLIENT_SECRET = "stepback-local-secret"  # noqa: S105 - the stand-in's own client
PUSH_ACCOUNT = "gmail-push@stepback-local.iam.gserviceaccount.com"
SCHEDULER_ACCOUNT = "scheduler@stepback-local.iam.gserviceaccount.com"
TOPIC = "projects/stepback-local/topics/stepback-gmail"
DEMO_REP = "alex@northwind-demo.com"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_database(url: str, *, fresh: bool) -> None:
    """Create the PostgreSQL database if it is missing (drop it first when `fresh`)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url.replace("postgresql+psycopg://", "postgresql://", 1))
    if parsed.get_backend_name() == "sqlite":
        if fresh and parsed.database:
            Path(parsed.database).unlink(missing_ok=True)
        return
    import psycopg

    name = parsed.database or "stepback_local"
    admin = parsed.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            found = None
        if not found:
            conn.execute(f'CREATE DATABASE "{name}"')


class LocalStack:
    """Start and drive the whole production path on loopback."""

    def __init__(
        self,
        database_url: str,
        *,
        port: int = 0,
        workers: int = 2,
        threads: int = 8,
        mailbox_threads: int = 60,
        fresh: bool = True,
        env: Mapping[str, str] | None = None,
        emulator_options: Mapping[str, Any] | None = None,
        now: datetime | None = None,
        keep_logs: bool = False,
    ) -> None:
        self.database_url = database_url
        self.keep_logs = keep_logs
        self.port = port or free_port()
        self.workers = workers
        self.threads = threads
        self.mailbox_threads = mailbox_threads
        self.fresh = fresh
        self.extra_env = dict(env or {})
        self.emulator_options = dict(emulator_options or {})
        self.now = now or datetime.now(UTC)
        self.encryption_key = Fernet.generate_key().decode()
        self.google = LocalGoogle(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        self.emulator: Any = None
        self.process: subprocess.Popen[bytes] | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix="stepback-local-"))
        self.log_path = self.workdir / "gunicorn.log"
        self.rep_ids: dict[str, int] = {}

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> LocalStack:
        from server.gmail.demo_mailbox import build_demo_mailbox
        from server.gmail.emulator import GmailEmulator

        self.google.start()
        mailbox = build_demo_mailbox(self.now, threads=self.mailbox_threads)
        self.emulator = GmailEmulator(
            mailbox, token_checker=self.google.gmail_token_checker, **self.emulator_options
        ).start()
        prepare_database(self.database_url, fresh=self.fresh)
        self._seed()
        self._start_gunicorn(timeout)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        self.google.stop()
        if not self.keep_logs:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def database(self) -> Any:
        """A Database handle on the stack's database (for setup and checks)."""
        from server.store.db import Database

        return Database(self.database_url)

    def secret_box(self) -> Any:
        from server.store.crypto import SecretBox

        return SecretBox([self.encryption_key])

    def _seed(self) -> None:
        from server.demo import seed_demo
        from server.store.models import User

        db = self.database()
        try:
            db.upgrade()
            with db.session() as session:
                ids = seed_demo(session, team_mailboxes=False)
                rep = session.get(User, ids.rep_id)
                assert rep is not None and rep.mailbox is not None
                self.connect_mailbox(rep.mailbox)
                self.rep_ids = {u.email: u.id for u in session.query(User)}
        finally:
            db.dispose()

    def connect_mailbox(self, mailbox: Any) -> None:
        """Give a mailbox row an (encrypted) refresh token the stand-in will honour."""
        refresh = self.google.add_refresh_token(mailbox.email)
        mailbox.auth_kind = "oauth"
        mailbox.refresh_token_enc = self.secret_box().encrypt(refresh)

    def environment(self) -> dict[str, str]:
        """The environment gunicorn runs with (production settings, local endpoints)."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("STEPBACK_") and k != "DATABASE_URL"
        }
        google = self.google.config()
        settings = {
            "SECRET_KEY": secrets.token_urlsafe(32),
            "ENCRYPTION_KEYS": self.encryption_key,
            "PUBLIC_BASE_URL": self.base_url,
            "GMAIL_API_ENDPOINT": self.emulator.url,
            "PUBSUB_TOPIC": TOPIC,
            "PUBSUB_SERVICE_ACCOUNT": PUSH_ACCOUNT,
            "PUBSUB_AUDIENCE": self.base_url + "/gmail/push",
            "SCHEDULER_SERVICE_ACCOUNT": SCHEDULER_ACCOUNT,
            "PUSH_SYNC_MODE": "background",
            "SESSION_COOKIE_SECURE": "false",
            "DEMO_LOGIN": "true",
            "INSTANCE_PATH": str(self.workdir / "instance"),
            **{k: str(v) for k, v in google.items()},
        }
        env.update({f"STEPBACK_{k}": v for k, v in settings.items()})
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "HOST": "127.0.0.1",
                "PORT": str(self.port),
                "WEB_CONCURRENCY": str(self.workers),
                "GUNICORN_THREADS": str(self.threads),
                "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
            }
        )
        env.update(self.extra_env)
        return env

    def _start_gunicorn(self, timeout: float) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and config
            [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF)],
            cwd=ROOT,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log_tail()}")
            try:
                status, _ = self.request("GET", "/healthz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not become healthy in {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- driving it ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, Any]:
        """One HTTP call to the service; returns (status, JSON body or text)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)  # noqa: S310
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def api_token(self, email: str) -> str:
        """A Google access token for a rep, as the extension would send."""
        return self.google.add_access_token(email, lifetime=6 * 3600)

    def push(self, email: str, history_id: int | str) -> int:
        """Deliver a Gmail notification the way the Pub/Sub push subscription does."""
        import base64

        payload = json.dumps({"emailAddress": email, "historyId": int(history_id)}).encode()
        body = {
            "message": {
                "data": base64.b64encode(payload).decode(),
                "messageId": secrets.token_hex(8),
                "publishTime": datetime.now(UTC).isoformat(),
            },
            "subscription": "projects/stepback-local/subscriptions/stepback-gmail-push",
        }
        token = self.google.id_token(PUSH_ACCOUNT, self.base_url + "/gmail/push")
        status, _ = self.request("POST", "/gmail/push", token=token, body=body)
        return status

    def task(self, name: str, timeout: float = 300.0) -> tuple[int, Any]:
        """Run a scheduler endpoint the way Cloud Scheduler does."""
        path = f"/tasks/{name}"
        token = self.google.id_token(SCHEDULER_ACCOUNT, self.base_url + path)
        return self.request("POST", path, token=token, timeout=timeout)

    def prospect_answers(self, thread_id: str) -> dict[str, Any]:
        """Someone at the prospect's company answers in `thread_id` (a new Gmail message)."""
        thread = next(
            t for t in self.emulator.export_mailbox()["threads"] if t["id"] == thread_id
        )
        rep_addresses = {DEMO_REP, "alex.sales@northwind-demo.com"}
        to = ""
        for message in thread["messages"]:
            for header in message["payload"]["headers"]:
                if header["name"].lower() == "to" and not to:
                    to = header["value"]
        from email.utils import getaddresses

        prospect = next(
            (addr for _, addr in getaddresses([to]) if addr.lower() not in rep_addresses),
            "someone@prospect.example",
        )
        when = datetime.now(UTC)
        message = {
            "id": secrets.token_hex(8),
            "threadId": thread_id,
            "labelIds": ["INBOX", "UNREAD", "CATEGORY_PERSONAL"],
            "internalDate": str(int(when.timestamp() * 1000)),
            "payload": {
                "mimeType": "text/plain",
                "headers": [
                    {"name": "From", "value": prospect},
                    {"name": "To", "value": f"Alex Rivera <{DEMO_REP}>"},
                    {"name": "Subject", "value": "Re: following our call"},
                    {"name": "Date", "value": when.strftime("%a, %d %b %Y %H:%M:%S +0000")},
                ],
            },
        }
        return dict(self.emulator.add_message(message))


def wait_for(check: Callable[[], bool], timeout: float, every: float = 0.25) -> bool:
    """Poll `check` until it is true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local_run",
        description="Run stepback like production (gunicorn + PostgreSQL + Gmail emulator).",
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    )
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=60, help="threads in the demo mailbox")
    parser.add_argument("--keep", action="store_true", help="keep the database's data")
    parser.add_argument(
        "--simulate-every", type=float, default=0, metavar="SECONDS",
        help="a silent prospect answers every SECONDS, and Gmail pushes the change",
    )
    args = parser.parse_args(argv)
    stack = LocalStack(
        args.database_url,
        port=args.port,
        workers=args.workers,
        mailbox_threads=args.threads,
        fresh=not args.keep,
        keep_logs=True,
    )
    try:
        stack.start()
    except (OSError, RuntimeError) as exc:
        print(f"local_run: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        stack.stop()
        return 1
    try:
        status, body = stack.task("poll-quiet-mailboxes")
        print(f"first sync through the scheduler endpoint: {status} {body}")
        status, body = stack.task("renew-watches")
        print(f"Gmail watch: {status} {body}")
        token = stack.api_token(DEMO_REP)
        print(
            f"\nstepback is serving {stack.base_url} (gunicorn log: {stack.log_path})\n"
            f"  Gmail emulator:  {stack.emulator.url}\n"
            f"  Google stand-in: {stack.google.url}\n"
            f"  try: curl -H 'Authorization: Bearer {token}' "
            f"{stack.base_url}/api/v1/prospects\n"
            f"  admin pages: {stack.base_url}/admin/ "
            "(demo sign-in: morgan@northwind-demo.com / demo)\n"
            "Press Ctrl-C to stop."
        )
        last = time.monotonic()
        while True:
            time.sleep(0.5)
            if args.simulate_every and time.monotonic() - last >= args.simulate_every:
                last = time.monotonic()
                _simulate(stack, token)
    except KeyboardInterrupt:
        print("\nstopping")
    finally:
        stack.stop()
    return 0


def _simulate(stack: LocalStack, token: str) -> None:
    status, page = stack.request("GET", "/api/v1/prospects?kind=silent", token=token)
    items = page.get("items") if status == 200 and isinstance(page, dict) else None
    if not items:
        print("no silent prospects left to answer")
        return
    thread_id = items[0]["threadId"]
    stack.prospect_answers(thread_id)
    pushed = stack.push(DEMO_REP, stack.emulator.history_id)
    print(f"{datetime.now(UTC):%H:%M:%S} prospect answered in {thread_id}; push -> {pushed}")


if __name__ == "__main__":
    raise SystemExit(main())
