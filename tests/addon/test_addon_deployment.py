"""The deployment descriptor: Google's own types accept it, scopes are least-privilege,
every trigger URL is an endpoint of the app, and the CLI writes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from google.cloud.gsuiteaddons_v1.types import AddOns, Deployment
from google.protobuf.json_format import ParseError

from server.addon.deployment import (
    PLACEHOLDER_BASE_URL,
    DeploymentError,
    build_deployment,
    deployment_json,
)
from server.cli import main

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "addon" / "deployment.json"


# The one field Google documents for HTTP add-ons ("Migrate to the granular permission
# flow") that the published google-cloud-gsuiteaddons types do not know yet. Everything
# else must pass Google's types strictly.
BEYOND_THE_PROTO = ("granularOauthPermissionSupport", "OPT_IN")


def _without_opt_in(data: dict[str, Any]) -> dict[str, Any]:
    """The deployment minus exactly the granular-consent opt-in (which must be there)."""
    http = dict(data["addOns"]["httpOptions"])
    key, value = BEYOND_THE_PROTO
    assert http.pop(key) == value, "the deployment must opt in to granular consent"
    return {**data, "addOns": {**data["addOns"], "httpOptions": http}}


def _parsed(text: str) -> Deployment:
    stripped = _without_opt_in(json.loads(text))
    return Deployment.from_json(json.dumps(stripped), ignore_unknown_fields=False)


def test_committed_template_is_what_the_command_writes() -> None:
    # If this fails: stepback addon deployment --base-url https://stepback.example.com \
    #   --out addon/deployment.json
    assert TEMPLATE.read_text(encoding="utf-8") == deployment_json(PLACEHOLDER_BASE_URL)


def test_google_types_accept_the_deployment() -> None:
    deployment = _parsed(TEMPLATE.read_text(encoding="utf-8"))
    add_ons = deployment.add_ons
    AddOns.from_json(json.dumps(_without_opt_in(build_deployment(PLACEHOLDER_BASE_URL))["addOns"]),
                     ignore_unknown_fields=False)
    assert add_ons.common.use_locale_from_app is True
    assert add_ons.common.homepage_trigger.run_function.endswith("/addon/homepage")
    assert add_ons.common.homepage_trigger.enabled is True
    [trigger] = add_ons.gmail.contextual_triggers
    assert "unconditional" in trigger and trigger.on_trigger_function.endswith("/addon/message")
    compose = add_ons.gmail.compose_trigger
    assert compose.draft_access.name == "METADATA"
    assert compose.actions[0].run_function.endswith("/addon/compose")
    assert add_ons.http_options.authorization_header.name == "SYSTEM_ID_TOKEN"
    widgets = {w.name for w in add_ons.common.add_on_widget_set.used_widgets}
    assert widgets == {"DATE_PICKER", "STYLED_BUTTONS"}


def test_the_opt_in_is_the_only_field_beyond_googles_types() -> None:
    data = build_deployment(PLACEHOLDER_BASE_URL)
    assert data["addOns"]["httpOptions"]["granularOauthPermissionSupport"] == "OPT_IN"
    # Any other unknown field still fails the strict check.
    for where in ("httpOptions", "common"):
        bad = json.loads(json.dumps(data))
        bad["addOns"][where]["granularOauthPermisionSupport"] = "OPT_IN"  # misspelt
        with pytest.raises(ParseError):
            _parsed(json.dumps(bad))
    # And a deployment without the opt-in is refused.
    missing = json.loads(json.dumps(data))
    del missing["addOns"]["httpOptions"]["granularOauthPermissionSupport"]
    with pytest.raises(KeyError):
        _parsed(json.dumps(missing))


def test_declared_widgets_cover_what_the_cards_use(app: Any) -> None:
    from server.addon import cards as c

    picker = c.datetime_picker("d", "Day", datetime(2026, 12, 1, tzinfo=UTC), 0)
    filled = c.button("Save", "https://x.example/addon/actions/schedule", filled=True)
    used = {"DATE_PICKER": "dateTimePicker" in picker, "STYLED_BUTTONS": "type" in filled}
    declared = set(build_deployment(PLACEHOLDER_BASE_URL)["addOns"]["common"]
                   ["addOnWidgetSet"]["usedWidgets"])
    assert {name for name, is_used in used.items() if is_used} <= declared


def test_scopes_are_least_privilege() -> None:
    scopes = set(_parsed(deployment_json("https://x.example")).oauth_scopes)
    assert scopes == {
        "https://www.googleapis.com/auth/gmail.addons.execute",
        "https://www.googleapis.com/auth/gmail.addons.current.message.metadata",
        "https://www.googleapis.com/auth/gmail.addons.current.action.compose",
        "https://www.googleapis.com/auth/userinfo.email",
        "https://www.googleapis.com/auth/script.locale",
    }
    assert not any("readonly" in s or s.endswith("mail.google.com/") for s in scopes)


def test_every_trigger_url_is_a_route(app: Any) -> None:
    base = "https://stepback.test"
    text = json.dumps(build_deployment(base))
    urls = [u.split('"')[0] for u in text.split(f'"{base}')[1:]]
    adapter = app.url_map.bind("stepback.test", url_scheme="https")
    for path in urls:
        method = "GET" if path.endswith(".png") else "POST"
        adapter.match(path, method=method)
    assert {"/addon/homepage", "/addon/message", "/addon/compose", "/addon/logo.png"} <= set(urls)


def test_logo_is_a_png(client: Any) -> None:
    resp = client.get("/addon/logo.png")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert resp.data.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("url", ["http://stepback.example.com", "stepback.example.com", "",
                                 "https://x.example/?a=1", "https://"])
def test_bad_base_urls_are_refused(url: str) -> None:
    with pytest.raises(DeploymentError):
        build_deployment(url)


def test_cli_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "deployment.json"
    code = main(["addon", "deployment", "--base-url", "https://run.example.org/", "--out",
                 str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["addOns"]["gmail"]["contextualTriggers"][0]["onTriggerFunction"] == (
        "https://run.example.org/addon/message"
    )
    _parsed(out.read_text())


def test_cli_prints_without_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["addon", "deployment", "--base-url", "https://run.example.org"]) == 0
    _parsed(capsys.readouterr().out)


def test_cli_refuses_plain_http_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["addon", "deployment", "--base-url", "http://run.example.org"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "https://" in err


def test_cli_refuses_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["addon", "deployment", "--base-url", "https://run.example.org", "--out",
                 str(tmp_path / "nope" / "deployment.json")])
    assert code == 2
    assert "folder does not exist" in capsys.readouterr().err
