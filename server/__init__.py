"""stepback: find the prospects who went quiet and offer a trust-based next step."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from server.config import DEFAULTS

__version__ = "0.1.0"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app: defaults → instance config.py → STEPBACK_* env → test mapping."""
    instance_path = os.environ.get("STEPBACK_INSTANCE_PATH")
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    if os.environ.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    app.config.from_prefixed_env("STEPBACK")
    if test_config is not None:
        app.config.from_mapping(test_config)

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app, "secret_key")
    if not app.config.get("DATABASE_URL"):
        db_file = Path(app.instance_path) / "stepback.sqlite3"
        app.config["DATABASE_URL"] = f"sqlite:///{db_file}"

    from server import errors
    from server.auth import request_guard
    from server.store import db

    db.init_app(app)
    errors.init_app(app)
    # Before every surface: its size check must run ahead of any token check or view.
    request_guard.init_app(app)
    _register_surfaces(app)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _register_surfaces(app: Flask) -> None:
    """Register each surface's blueprint; a surface exposes init_app(app)."""
    import importlib

    for name in (
        "server.api",
        "server.addon",
        "server.admin",
        "server.gmail.push",
        "server.web",
        "server.tasks",
        "server.connect",
        "server.demo_panel",
        "server.demo_popup",
    ):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        init = getattr(module, "init_app", None)
        if init is not None:
            init(app)


def _instance_secret(app: Flask, filename: str) -> str:
    """Read a secret kept in the instance folder, creating it (mode 0600) on first use."""
    path = Path(app.instance_path) / filename
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value
