"""Run the unpacked extension in Chromium against the real app: shared by tests and the benchmark.

- `serve(app)` serves a Flask app on 127.0.0.1 (werkzeug, threaded) and returns its URL.
- `launch(...)` starts Chromium with the extension (a copy without node_modules) in a
  persistent profile and serves the Gmail fixture page as https://mail.google.com/.
- `configure(...)` sets the backend URL and developer token through the options page.
"""

from __future__ import annotations

import io
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

ROOT = Path(__file__).resolve().parents[2]
EXTENSION_SRC = ROOT / "extension"
FIXTURE_PAGE = Path(__file__).resolve().parent / "fixtures" / "gmail.html"
GMAIL_URL = "https://mail.google.com/mail/u/0/#inbox"
PANEL = "[data-stepback-panel]"
# What the extension itself needs; lint and package files stay behind.
_SKIP = shutil.ignore_patterns(
    "node_modules", "package.json", "package-lock.json", "eslint.config.js"
)


@dataclass
class Served:
    """A Flask app served in a background thread."""

    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class Recorder:
    """WSGI middleware that remembers each request's method, path and body (for assertions)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls: list[tuple[str, str, bytes]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        with self._lock:
            self.calls.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), body))
        return self.app(environ, start_response)

    def paths(self, method: str | None = None) -> list[str]:
        with self._lock:
            return [p for m, p, _ in self.calls if method is None or m == method]

    def bodies(self, path: str) -> list[bytes]:
        with self._lock:
            return [b for _, p, b in self.calls if p == path]


def serve(app: Any) -> Served:
    """Serve `app` on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return Served(server, thread)


def copy_extension(dest: Path) -> Path:
    """A clean copy of the unpacked extension (Chromium loads it from there)."""
    target = dest / "extension"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(EXTENSION_SRC, target, ignore=_SKIP)
    return target


def gmail_route(route: Any) -> None:
    """Answer every mail.google.com request with the fixture page (no network)."""
    route.fulfill(
        status=200,
        content_type="text/html; charset=utf-8",
        body=FIXTURE_PAGE.read_text(encoding="utf-8"),
    )


@dataclass
class Browser:
    context: Any
    extension_id: str

    def options_url(self) -> str:
        return f"chrome-extension://{self.extension_id}/options/options.html"


def launch(
    playwright: Any,
    chromium_path: str,
    extension_dir: Path,
    profile_dir: Path,
    args: list[str],
    **context_options: Any,
) -> Browser:
    """Start Chromium with the extension loaded and Gmail routed to the fixture page."""
    context = playwright.chromium.launch_persistent_context(
        str(profile_dir),
        executable_path=chromium_path,
        headless=True,
        args=[
            f"--disable-extensions-except={extension_dir}",
            f"--load-extension={extension_dir}",
            *args,
        ],
        **context_options,
    )
    context.route("https://mail.google.com/**", gmail_route)
    workers = context.service_workers or [context.wait_for_event("serviceworker", timeout=15_000)]
    extension_id = workers[0].url.split("/")[2]
    return Browser(context, extension_id)


def configure(browser: Browser, backend: str, token: str | None) -> str:
    """Fill in the options page like a rep would; return the account line it then shows."""
    from playwright.sync_api import expect

    page = browser.context.new_page()
    page.goto(browser.options_url())
    # Extension pages forbid eval, so wait with locators rather than wait_for_function.
    expect(page.locator("#account-state")).not_to_have_text("Checking…")
    page.fill("#backend", backend)
    page.click("#backend-form button[type=submit]")
    expect(page.locator("#backend-result")).to_contain_text("Saved")
    if token is not None:
        page.fill("#dev-token", token)
        page.click("#dev-form button[type=submit]")
        expect(page.locator("#dev-result")).to_contain_text("saved")
    expect(page.locator("#account-state")).not_to_have_text("Checking…")
    state = page.inner_text("#account-state")
    page.close()
    return state


def open_gmail(browser: Browser) -> Any:
    page = browser.context.new_page()
    page.goto(GMAIL_URL)
    page.wait_for_function("window.fixture !== undefined")
    return page


def wait_panel(page: Any, root_id: str, states: str = "ready", timeout: float = 10_000) -> Any:
    """Wait until the panel inside compose `root_id` reaches one of `states` (space-separated)."""
    page.wait_for_function(
        """([rootId, states]) => {
            const host = document.getElementById(rootId)?.querySelector('[data-stepback-panel]');
            return Boolean(host) && states.split(' ').includes(host.dataset.stepbackState);
        }""",
        arg=[root_id, states],
        timeout=timeout,
    )
    return page.locator(f"#{root_id} {PANEL}")
