"""What can be checked of deploy/ without Google Cloud: syntax, required keys, safe defaults."""

from __future__ import annotations

import os
import runpy
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="module")
def service() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "cloudrun" / "service.yaml").read_text())


def test_service_yaml_is_a_knative_service(service: dict[str, Any]) -> None:
    assert service["apiVersion"] == "serving.knative.dev/v1"
    assert service["kind"] == "Service"
    assert service["metadata"]["name"] == "stepback"


def test_service_yaml_sets_scaling_concurrency_and_cloud_sql(service: dict[str, Any]) -> None:
    template = service["spec"]["template"]
    notes = template["metadata"]["annotations"]
    low = int(notes["autoscaling.knative.dev/minScale"])
    high = int(notes["autoscaling.knative.dev/maxScale"])
    assert 1 <= low <= high
    # Background push syncs need CPU after the response is sent.
    assert notes["run.googleapis.com/cpu-throttling"] == "false"
    assert notes["run.googleapis.com/cloudsql-instances"].count(":") == 2
    spec = template["spec"]
    env = {e["name"]: e for e in spec["containers"][0]["env"]}
    workers = int(env["WEB_CONCURRENCY"]["value"]) * int(env["GUNICORN_THREADS"]["value"])
    # Cloud Run may send this many requests at once; gunicorn must be able to take them.
    assert 1 <= spec["containerConcurrency"] <= workers
    assert 0 < spec["timeoutSeconds"] <= 3600
    assert spec["serviceAccountName"].endswith(".iam.gserviceaccount.com")


def test_service_yaml_takes_secrets_from_secret_manager(service: dict[str, Any]) -> None:
    container = service["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    for name in (
        "DATABASE_URL",
        "STEPBACK_SECRET_KEY",
        "STEPBACK_ENCRYPTION_KEYS",
        "STEPBACK_GOOGLE_CLIENT_SECRET",
    ):
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] and ref["key"], name
        assert "value" not in env[name]
    # Every setting the push and scheduler endpoints need is present.
    for name in (
        "STEPBACK_PUBSUB_TOPIC",
        "STEPBACK_PUBSUB_SERVICE_ACCOUNT",
        "STEPBACK_PUBSUB_AUDIENCE",
        "STEPBACK_SCHEDULER_SERVICE_ACCOUNT",
        "STEPBACK_PUBLIC_BASE_URL",
        "STEPBACK_GOOGLE_CLIENT_ID",
    ):
        assert env[name]["value"], name
    assert env["STEPBACK_PUBSUB_AUDIENCE"]["value"].endswith("/gmail/push")
    assert container["ports"][0]["containerPort"] == 8080
    for probe in ("startupProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"


def test_service_yaml_uses_only_settings_the_app_knows(service: dict[str, Any]) -> None:
    from flask import Flask

    from server.config import DEFAULTS

    known = set(DEFAULTS) | set(Flask.default_config)
    container = service["spec"]["template"]["spec"]["containers"][0]
    for entry in container["env"]:
        name = entry["name"]
        if name.startswith("STEPBACK_"):
            assert name.removeprefix("STEPBACK_") in known, name


def test_setup_script_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(DEPLOY / "setup_pubsub.sh")], check=True)


def test_setup_script_dry_run_wires_pubsub_and_the_scheduler() -> None:
    env = {
        **os.environ,
        "DRY_RUN": "1",
        "PROJECT_ID": "acme-prod",
        "REGION": "europe-west1",
        "SERVICE_URL": "https://stepback-abc.a.run.app/",
    }
    out = subprocess.run(
        ["bash", str(DEPLOY / "setup_pubsub.sh")],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    commands = [line for line in out.splitlines() if line.startswith("+ gcloud")]
    joined = "\n".join(commands)
    assert "pubsub topics create stepback-gmail" in joined
    assert (
        "--member serviceAccount:gmail-api-push@system.gserviceaccount.com "
        "--role roles/pubsub.publisher" in joined
    )
    push = next(c for c in commands if "subscriptions create" in c)
    assert "--push-endpoint https://stepback-abc.a.run.app/gmail/push" in push
    assert "--push-auth-service-account stepback-pubsub-push@acme-prod" in push
    assert "--push-auth-token-audience https://stepback-abc.a.run.app/gmail/push" in push
    jobs = [c for c in commands if "scheduler jobs create http" in c]
    assert len(jobs) == 3
    for path in ("renew-watches", "poll-quiet-mailboxes", "due-getbacks"):
        job = next(c for c in jobs if f"/tasks/{path} " in c)
        assert "--http-method POST" in job
        assert "--oidc-service-account-email stepback-scheduler@acme-prod" in job
        assert f"--oidc-token-audience https://stepback-abc.a.run.app/tasks/{path}" in job


def test_setup_script_refuses_missing_or_plain_http_settings() -> None:
    base = {**os.environ, "DRY_RUN": "1", "PROJECT_ID": "p", "REGION": "r"}
    missing = subprocess.run(
        ["bash", str(DEPLOY / "setup_pubsub.sh")], env=base, capture_output=True, text=True
    )
    assert missing.returncode != 0 and "SERVICE_URL" in missing.stderr
    plain = subprocess.run(
        ["bash", str(DEPLOY / "setup_pubsub.sh")],
        env={**base, "SERVICE_URL": "http://x.test"},
        capture_output=True,
        text=True,
    )
    assert plain.returncode == 2 and "https://" in plain.stderr


def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
    assert stages == ["python:3.11-slim", "python:3.11-slim"]
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    cmd = [line for line in text.splitlines() if line.startswith("CMD ")][-1]
    assert "gunicorn" in cmd and "gunicorn.conf.py" in cmd
    assert "COPY --from=build" in text


def test_gunicorn_config_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9191")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "4")
    conf = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert conf["bind"] == "0.0.0.0:9191"
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (3, 4, "gthread")
    assert conf["wsgi_app"] == "server:create_app()"
    assert conf["preload_app"] is False
    # The access log shows the path without its query string (one-time codes live there).
    assert "%(U)s" in conf["access_log_format"] and "%(r)s" not in conf["access_log_format"]
    assert conf["graceful_timeout"] < 10  # Cloud Run kills 10 s after SIGTERM

