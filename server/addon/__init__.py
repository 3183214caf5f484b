"""The Gmail add-on on the Workspace HTTP runtime: verified endpoints answering with cards."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


class AddonConfigError(RuntimeError):
    """The add-on is switched on but cannot work; the message is one line saying why."""


def check_config(config: Mapping[str, Any]) -> None:
    """Refuse a configuration under which every add-on user would get 401.

    The add-on is on once ADDON_SERVICE_ACCOUNT is set. User ID tokens are minted for the
    deployment's own OAuth client, so ADDON_CLIENT_ID must be set too; there is no
    fallback to the product's client id.
    """
    if str(config.get("ADDON_SERVICE_ACCOUNT") or "").strip() and not str(
        config.get("ADDON_CLIENT_ID") or ""
    ).strip():
        raise AddonConfigError(
            "ADDON_SERVICE_ACCOUNT is set but ADDON_CLIENT_ID is empty: set "
            "STEPBACK_ADDON_CLIENT_ID to the oauthClientId from `gcloud workspace-add-ons "
            "get-authorization` (see addon/INSTALL.md)"
        )


def init_app(app: Flask) -> None:
    """Register the add-on endpoints (/addon/...) and the demo page (/demo/addon)."""
    from server.addon import demo, views

    check_config(app.config)
    app.register_blueprint(views.bp)
    app.register_blueprint(demo.bp)
