"""gunicorn settings for stepback (Cloud Run and the production-like local run).

Every value can be overridden from the environment, so one file serves a laptop, CI and
Cloud Run. Cloud Run sends at most `containerConcurrency` requests to one instance at a
time; keep WEB_CONCURRENCY x GUNICORN_THREADS at or above it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

wsgi_app = "server:create_app()"
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8080')}"  # noqa: S104

# Threads, not extra processes: requests mostly wait on PostgreSQL and Google, and each
# process holds its own database pool and push-sync pool.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))

# Cloud Run's request timeout (service.yaml) is the real limit; this only catches a stuck
# worker. On SIGTERM Cloud Run allows 10 seconds before it kills the instance.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "8"))
keepalive = 65  # longer than Google's front end keeps idle connections open

# Recycle workers now and then so a slow leak can never take an instance down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10

# Each worker builds its own app (database engine, thread pools) after the fork.
preload_app = False

# Cloud Run terminates TLS in front of us and sets X-Forwarded-*.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")

# Log the path without its query string (it can carry one-time sign-in codes) and never
# bodies; %(M)s is the request time in milliseconds.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


def on_starting(server: Any) -> None:
    """Bring the schema up to date once, before any worker starts (STEPBACK_MIGRATE=1)."""
    if os.environ.get("STEPBACK_MIGRATE", "") not in ("1", "true", "yes"):
        return
    from server import create_app
    from server.store.db import get_db

    app = create_app()
    database = get_db(app)
    database.upgrade()
    database.dispose()
    logging.getLogger("gunicorn.error").info("database migrations are up to date")


def worker_exit(server: Any, worker: Any) -> None:
    """Let push syncs already under way finish before the worker goes."""
    app = getattr(worker, "wsgi", None)
    extensions = getattr(app, "extensions", None) or {}
    pool = extensions.get("stepback_sync_pool")
    if pool is not None:
        pool.wait_idle(timeout=max(1, graceful_timeout - 2))
