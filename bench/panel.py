"""Benchmark: latency of POST /api/v1/guidance (what the compose panel calls) under load.

Builds the demo (200-thread mailbox synced through the Gmail emulator into SQLite), serves the
real app in a threaded werkzeug server in a child process, and hits it with 50 concurrent
clients for a fixed time. The same clients then hit a bare Flask JSON endpoint served the same
way, measured in the same run as the baseline. The bearer token is verified against a local
token-info stand-in (and cached, as in production). Prints p50/p90/p99 for both and the ratios
(target: guidance p99 within 2x of the baseline's).

The per-rep rate limit is counted in process memory (the app's default,
RATELIMIT_STORAGE_URI=memory://) and, when Redis answers on 127.0.0.1:6379, a second app
server keeps it in Redis as several instances would; both are measured and reported.

    .venv/bin/python bench/panel.py [--clients 50] [--seconds 10] [--limits both|memory|redis]
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLIENT_ID = "bench-client.apps.googleusercontent.com"
TOKEN = "bench-token-alex"  # noqa: S105 - a made-up token known only to the local stand-in


# ----------------------------------------------------------------- servers (child processes)


REDIS_URI = "redis://127.0.0.1:6379"


def redis_answers() -> bool:
    """Whether a Redis server answers on 127.0.0.1:6379 (and the client library is there)."""
    import socket

    try:
        import redis  # noqa: F401

        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except (ImportError, OSError):
        return False


def serve(kind: str, db_url: str, tokeninfo_url: str, storage: str, port_file: str) -> None:
    """Child process: serve the real app or the bare baseline until killed."""
    from flask import Flask, jsonify, request
    from werkzeug.serving import make_server

    if kind == "app":
        from server import create_app

        app = create_app(
            {
                "DATABASE_URL": db_url,
                "GOOGLE_CLIENT_ID": CLIENT_ID,
                "GOOGLE_TOKENINFO_URL": tokeninfo_url,
                "API_RATE_LIMIT": "1000000 per minute",
                "RATELIMIT_STORAGE_URI": storage,
                "TOKEN_CACHE_SECONDS": 300,
            }
        )
    else:
        app = Flask("baseline")

        @app.post("/baseline")
        def baseline() -> Any:
            body = request.get_json(silent=True) or {}
            return jsonify({"ok": True, "recipients": body.get("recipients", [])})

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log lines in the output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    Path(port_file).write_text(str(server.server_port))
    server.serve_forever()


def start_child(args: list[str], port_file: Path) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", *args, str(port_file)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip():
            return proc, int(port_file.read_text())
        if proc.poll() is not None:
            raise SystemExit(f"server child exited with {proc.returncode}")
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("server child did not start within 60 s")


# ----------------------------------------------------------------- load generation


def one_call(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        status = resp.status
    finally:
        conn.close()
    return time.perf_counter() - started, status


def load(
    port: int, path: str, bodies: list[bytes], clients: int, seconds: float, headers: dict[str, str]
) -> dict[str, Any]:
    """Run `clients` threads in a closed loop for `seconds`; return latency figures."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(n: int) -> None:
        i = n
        mine: list[float] = []
        bad: list[int] = []
        while time.monotonic() < stop_at:
            took, status = one_call(port, path, bodies[i % len(bodies)], headers)
            i += 1
            if status == 200:
                mine.append(took)
            else:
                bad.append(status)
        with lock:
            latencies.extend(mine)
            failures.extend(bad)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "failures": len(failures),
        "rps": len(latencies) / elapsed,
        "p50": pct(0.50),
        "p90": pct(0.90),
        "p99": pct(0.99),
        "mean": statistics.fmean(latencies) * 1000,
    }


# ----------------------------------------------------------------- main


def guidance_bodies(app: Any, rep_id: int) -> list[bytes]:
    """Requests like the panel sends: the silent prospects' threads and addresses."""
    from server.services.scan import scan_user
    from server.store.db import get_db
    from server.store.models import User

    with app.app_context(), get_db(app).session() as session:
        rep = session.get(User, rep_id)
        assert rep is not None
        result = scan_user(session, rep, datetime.now(UTC))
    bodies = []
    for verdict in result.silent[:20]:
        facts = verdict.facts
        recipients = [facts.prospect.email] if facts.prospect else []
        bodies.append(json.dumps({"threadId": facts.thread_id, "recipients": recipients}).encode())
    return bodies or [json.dumps({"recipients": ["nobody@example.com"]}).encode()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--limits",
        choices=("both", "memory", "redis"),
        default="both",
        help="where the app counts the rate limit (both: memory, and Redis if it answers)",
    )
    args = parser.parse_args()

    from server.cli.demo import build_demo
    from tests.api.tokeninfo_standin import TokenInfoStandIn

    stores = {"memory": "memory://", "redis": REDIS_URI}
    wanted = ["memory", "redis"] if args.limits == "both" else [args.limits]
    if "redis" in wanted and not redis_answers():
        if args.limits == "redis":
            raise SystemExit("Redis does not answer on 127.0.0.1:6379")
        print("Redis does not answer on 127.0.0.1:6379: measuring in-memory limits only")
        wanted.remove("redis")

    tmp = Path(tempfile.mkdtemp(prefix="stepback-bench-"))
    print("building the demo mailbox and syncing it through the Gmail emulator…")
    built = build_demo(tmp, 200, datetime.now(UTC), quiet=True)
    built["emulator"].stop()
    app = built["app"]
    bodies = guidance_bodies(app, built["rep_id"])
    db_url = app.config["DATABASE_URL"]

    standin = TokenInfoStandIn(CLIENT_ID).start()
    standin.register(TOKEN, "alex@northwind-demo.com", expires_in=3600)
    children = []
    results: dict[str, dict[str, Any]] = {}
    try:
        ports: dict[str, int] = {}
        for name in wanted:
            proc, ports[name] = start_child(
                ["app", db_url, standin.url, stores[name]], tmp / f"app-{name}.port"
            )
            children.append(proc)
        base_proc, base_port = start_child(["bare", "", "", ""], tmp / "bare.port")
        children.append(base_proc)
        auth = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
        plain = {"Content-Type": "application/json"}
        path = "/api/v1/guidance"

        # Warm everything up (imports, first queries, token verification) before measuring.
        load(base_port, "/baseline", bodies, 4, 1.0, plain)
        for port in ports.values():
            load(port, path, bodies, 4, 1.0, auth)
        print(
            f"{args.clients} concurrent clients, {args.seconds:.0f} s per target, "
            f"{len(bodies)} different guidance requests\n"
        )
        n, secs = args.clients, args.seconds
        results[f"bare Flask JSON x{n}"] = load(base_port, "/baseline", bodies, n, secs, plain)
        for name, port in ports.items():
            results[f"guidance x{n}, {name}"] = load(port, path, bodies, n, secs, auth)
        # One client alone shows the service time without queueing.
        results["bare Flask JSON x1"] = load(base_port, "/baseline", bodies, 1, 3.0, plain)
        for name, port in ports.items():
            results[f"guidance x1, {name}"] = load(port, path, bodies, 1, 3.0, auth)
    finally:
        for proc in children:
            proc.terminate()
            proc.wait(timeout=10)
        standin.stop()

    print(
        f"{'target (limits counted in)':<28}{'requests':>9}{'fail':>6}{'req/s':>8}"
        f"{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
    )
    for name, r in results.items():
        print(
            f"{name:<28}{r['requests']:>9}{r['failures']:>6}{r['rps']:>8.0f}"
            f"{r['p50']:>9.1f}{r['p90']:>9.1f}{r['p99']:>9.1f}"
        )
    base, base1 = results[f"bare Flask JSON x{n}"], results["bare Flask JSON x1"]
    print()
    for name in wanted:
        guide, guide1 = results[f"guidance x{n}, {name}"], results[f"guidance x1, {name}"]
        ratio50, ratio99 = guide["p50"] / base["p50"], guide["p99"] / base["p99"]
        print(
            f"limits in {name}: guidance / baseline at {n} clients p50 {ratio50:.2f}x, "
            f"p99 {ratio99:.2f}x (target p99 <= 2x: {'met' if ratio99 <= 2 else 'not met'}); "
            f"one client p50 {guide1['p50'] / base1['p50']:.2f}x"
        )
    print(f"token-info lookups in the whole run: {standin.hits} (then served from the cache)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(*sys.argv[2:7])
    else:
        main()
