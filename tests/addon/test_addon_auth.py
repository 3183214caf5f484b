"""Every add-on request is verified: Google's system ID token, then the user ID token."""

from __future__ import annotations

import time
from typing import Any

import pytest

from server.demo import DEMO_REP
from tests.addon.checks import all_text, check_trigger_answer
from tests.addon.stand_in import BASE_URL, SERVICE_ACCOUNT, KeyPair

HOME = "/addon/homepage"


@pytest.fixture
def seeded(demo_ids: Any) -> Any:
    return demo_ids


def _is_401(resp: Any) -> str:
    assert resp.status_code == 401, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"]["code"] == 401
    return str(body["error"]["message"])


def test_valid_tokens_get_a_card(app: Any, addon: Any, seeded: Any) -> None:
    resp = addon.post(HOME)
    assert resp.status_code == 200
    card = check_trigger_answer(app, resp.get_json())
    assert card["name"] == "home" and card["header"]["title"] == "stepback"


def test_missing_system_token_is_401(addon: Any, seeded: Any) -> None:
    message = _is_401(addon.post(HOME, system_token="", header=False))
    assert "missing" in message


def test_body_token_is_accepted_without_header(app: Any, addon: Any, tokens: Any,
                                               seeded: Any) -> None:
    event = addon.event(system_token=tokens.system(HOME))
    resp = addon.post(HOME, event, header=False)
    assert resp.status_code == 200
    check_trigger_answer(app, resp.get_json())


def test_non_bearer_header_is_401(client: Any, addon: Any, seeded: Any) -> None:
    resp = client.post(HOME, json=addon.event().body(), headers={"Authorization": "Basic abc"})
    _is_401(resp)


def test_forged_signature_is_401(addon: Any, tokens: Any, forger_key: KeyPair,
                                 seeded: Any) -> None:
    forged = tokens.system(HOME, key=forger_key)
    assert "could not be verified" in _is_401(addon.post(HOME, system_token=forged))


def test_garbage_token_is_401(addon: Any, seeded: Any) -> None:
    _is_401(addon.post(HOME, system_token="not.a.jwt"))


def test_expired_system_token_is_401(addon: Any, tokens: Any, seeded: Any) -> None:
    old = int(time.time()) - 7200
    expired = tokens.system(HOME, iat=old, exp=old + 3600)
    _is_401(addon.post(HOME, system_token=expired))


def test_wrong_audience_is_401(addon: Any, tokens: Any, seeded: Any) -> None:
    # A token Google minted for another endpoint of ours is not valid here.
    other = tokens.system("/addon/message")
    _is_401(addon.post(HOME, system_token=other))
    foreign = tokens.system(HOME, aud="https://evil.example/addon/homepage")
    _is_401(addon.post(HOME, system_token=foreign))


def test_audience_is_the_public_url(app: Any, addon: Any, tokens: Any, seeded: Any) -> None:
    app.config["PUBLIC_BASE_URL"] = "https://addon.stepback.test/"
    token = tokens.system(HOME, aud="https://addon.stepback.test" + HOME)
    assert addon.post(HOME, system_token=token).status_code == 200
    _is_401(addon.post(HOME, system_token=tokens.system(HOME)))  # BASE_URL no longer ours


def test_wrong_issuer_is_401(addon: Any, tokens: Any, seeded: Any) -> None:
    token = tokens.system(HOME, iss="https://issuer.example")
    assert "not issued by Google" in _is_401(addon.post(HOME, system_token=token))


def test_other_service_account_is_401(addon: Any, tokens: Any, seeded: Any) -> None:
    token = tokens.system(HOME, email="service-1@gcp-sa-gsuiteaddons.iam.gserviceaccount.com")
    assert "service account" in _is_401(addon.post(HOME, system_token=token))


def test_unverified_service_account_email_is_401(addon: Any, tokens: Any, seeded: Any) -> None:
    _is_401(addon.post(HOME, system_token=tokens.system(HOME, email_verified=False)))


def test_no_configured_service_account_refuses_everything(app: Any, addon: Any,
                                                          seeded: Any) -> None:
    app.config["ADDON_SERVICE_ACCOUNT"] = ""
    assert "not configured" in _is_401(addon.post(HOME))


def test_user_token_missing_is_401(addon: Any, seeded: Any) -> None:
    event = addon.event()
    event.user_token = ""
    assert "user ID token" in _is_401(addon.post(HOME, event))


def test_user_token_forged_is_401(addon: Any, tokens: Any, forger_key: KeyPair,
                                  seeded: Any) -> None:
    event = addon.event()
    event.user_token = tokens.user(DEMO_REP, key=forger_key)
    _is_401(addon.post(HOME, event))


def test_user_token_expired_is_401(addon: Any, tokens: Any, seeded: Any) -> None:
    old = int(time.time()) - 7200
    event = addon.event()
    event.user_token = tokens.user(DEMO_REP, iat=old, exp=old + 3600)
    _is_401(addon.post(HOME, event))


def test_user_token_for_another_client_is_401(addon: Any, tokens: Any, seeded: Any) -> None:
    event = addon.event()
    event.user_token = tokens.user(DEMO_REP, aud="some-other-client.apps.googleusercontent.com")
    _is_401(addon.post(HOME, event))


def test_user_token_with_unverified_email_is_401(addon: Any, tokens: Any, seeded: Any) -> None:
    event = addon.event()
    event.user_token = tokens.user(DEMO_REP, email_verified=False)
    _is_401(addon.post(HOME, event))


def test_system_token_cannot_stand_in_for_the_user(addon: Any, tokens: Any, seeded: Any) -> None:
    event = addon.event()
    event.user_token = tokens.system(HOME)  # audience is a URL, not the add-on's client
    _is_401(addon.post(HOME, event))


def test_no_fallback_to_the_product_client(app: Any, addon: Any, tokens: Any,
                                           seeded: Any) -> None:
    # Cleared at run time: every user is refused, even with the product client's token.
    app.config["ADDON_CLIENT_ID"] = ""
    event = addon.event()
    event.user_token = tokens.user(DEMO_REP, aud=app.config["GOOGLE_CLIENT_ID"])
    assert "ADDON_CLIENT_ID" in _is_401(addon.post(HOME, event))


def test_the_app_refuses_to_start_without_the_addon_client_id(
    app_config: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    from server import create_app
    from server.addon import AddonConfigError
    from server.store.db import get_db

    monkeypatch.setenv("STEPBACK_INSTANCE_PATH", str(tmp_path / "instance"))
    with pytest.raises(AddonConfigError) as refused:
        create_app({**app_config, "ADDON_CLIENT_ID": "  "})
    reason = str(refused.value)
    assert "\n" not in reason and "ADDON_CLIENT_ID" in reason and "get-authorization" in reason
    # With the add-on off (no service account) there is nothing to refuse.
    off = create_app({**app_config, "ADDON_SERVICE_ACCOUNT": "", "ADDON_CLIENT_ID": ""})
    get_db(off).dispose()


def test_the_cli_names_the_reason_in_one_line(app_config: Any, monkeypatch: Any,
                                              capsys: Any, tmp_path: Any) -> None:
    from server.cli import main

    monkeypatch.setenv("STEPBACK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("STEPBACK_ADDON_SERVICE_ACCOUNT", SERVICE_ACCOUNT)
    monkeypatch.setenv("STEPBACK_ADDON_CLIENT_ID", "")
    monkeypatch.setenv("STEPBACK_DATABASE_URL", app_config["DATABASE_URL"])
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("stepback: error: ADDON_SERVICE_ACCOUNT")


def test_unknown_user_gets_a_friendly_card(app: Any, addon: Any, seeded: Any) -> None:
    resp = addon.post(HOME, addon.event("stranger@unknown-co.example"))
    assert resp.status_code == 200
    card = check_trigger_answer(app, resp.get_json())
    assert "stranger@unknown-co.example is not set up" in all_text(card)


def test_certificates_are_fetched_once_and_cached(addon: Any, certs: Any, seeded: Any) -> None:
    for _ in range(3):
        assert addon.post(HOME).status_code == 200
    assert certs.hits == 1


def test_unreachable_certificates_give_503_not_500(addon: Any, certs: Any, seeded: Any) -> None:
    certs.fail_with = 500
    resp = addon.post(HOME)
    assert resp.status_code == 503
    assert "signing keys" in resp.get_json()["error"]["message"]


def test_tokens_are_checked_before_the_event_is_used(client: Any, seeded: Any) -> None:
    # A well-formed event without any token reveals nothing and changes nothing.
    resp = client.post("/addon/actions/getback-cancel",
                       json={"commonEventObject": {"parameters": {"getback": "1"}}})
    assert resp.status_code == 401


def test_malformed_bodies_from_strangers_get_401_not_400(client: Any, seeded: Any) -> None:
    # The parser is not reachable without Google's token: no probing of its messages.
    for body in (b"\x00not json", b"[1, 2]", b'{"commonEventObject": "x"}'):
        resp = client.post(HOME, data=body, headers={"Content-Type": "application/json"})
        assert resp.status_code == 401


def test_a_bad_header_token_is_not_rescued_by_the_body(addon: Any, tokens: Any,
                                                       seeded: Any) -> None:
    event = addon.event(system_token=tokens.system(HOME))
    _is_401(addon.post(HOME, event, system_token="forged.header.token"))


def test_audience_url_in_a_token_must_match_exactly(addon: Any, tokens: Any, seeded: Any) -> None:
    token = tokens.system(HOME, aud=BASE_URL + HOME + "/")
    _is_401(addon.post(HOME, system_token=token))
