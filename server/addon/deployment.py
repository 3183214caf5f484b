"""The add-on's deployment resource (what `gcloud workspace-add-ons deployments create` reads).

One function builds it from the service's public base URL, so the committed
`addon/deployment.json` template, the `stepback addon deployment` command and the
endpoint audiences checked at request time all come from the same paths.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

ADDON_NAME = "stepback"
# The committed template uses this placeholder; the CLI swaps in the real URL.
PLACEHOLDER_BASE_URL = "https://stepback.example.com"

# Least privilege: per-message *metadata* (never the readonly scope, never bodies), the
# compose action scope so a play can go into the open draft, the add-on execution scope
# Google requires of every Gmail add-on, the user's address (user ID token) and the user's
# locale and time zone (commonEventObject.userLocale / timeZone).
OAUTH_SCOPES = (
    "https://www.googleapis.com/auth/gmail.addons.execute",
    "https://www.googleapis.com/auth/gmail.addons.current.message.metadata",
    "https://www.googleapis.com/auth/gmail.addons.current.action.compose",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/script.locale",
)

# The widgets beyond the basic set that our cards use (google.apps.script.type
# AddOnWidgetSet.WidgetType): the dateTimePicker of get-back dates (DATE_PICKER) and the
# filled Save button (STYLED_BUTTONS: "filled buttons and disabled buttons").
USED_WIDGETS = ("DATE_PICKER", "STYLED_BUTTONS")

# Granular consent: each event lists the scopes granted and an endpoint asks for a missing
# one ("Build a Google Workspace add-on using HTTP endpoints", "Migrate to the granular
# permission flow"). The published google-cloud-gsuiteaddons types do not know this field
# yet; the deployment test allows exactly this one beyond them.
GRANULAR_CONSENT = {"granularOauthPermissionSupport": "OPT_IN"}

# Paths of the trigger endpoints (relative to the public base URL).
HOMEPAGE_PATH = "/addon/homepage"
MESSAGE_PATH = "/addon/message"
COMPOSE_PATH = "/addon/compose"
LOGO_PATH = "/addon/logo.png"


class DeploymentError(ValueError):
    """The base URL cannot serve an add-on (Google calls HTTPS endpoints only)."""


def normalise_base_url(base_url: str) -> str:
    """Return `base_url` without a trailing slash; raise DeploymentError if unusable."""
    text = (base_url or "").strip()
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.netloc:
        raise DeploymentError(
            f"--base-url must be an https:// URL of the running service, got {base_url!r}"
        )
    if parts.query or parts.fragment:
        raise DeploymentError("--base-url must not carry a query string or a fragment")
    return text.rstrip("/")


def build_deployment(base_url: str) -> dict[str, Any]:
    """Return the deployment resource for a service reachable at `base_url`."""
    base = normalise_base_url(base_url)
    logo = base + LOGO_PATH
    return {
        "oauthScopes": list(OAUTH_SCOPES),
        "addOns": {
            "common": {
                "name": ADDON_NAME,
                "logoUrl": logo,
                "layoutProperties": {"primaryColor": "#2f6f5e", "secondaryColor": "#c9822b"},
                # Needed for commonEventObject.timeZone (with the script.locale scope).
                "useLocaleFromApp": True,
                "addOnWidgetSet": {"usedWidgets": list(USED_WIDGETS)},
                "homepageTrigger": {"runFunction": base + HOMEPAGE_PATH, "enabled": True},
            },
            "gmail": {
                "contextualTriggers": [
                    {"unconditional": {}, "onTriggerFunction": base + MESSAGE_PATH}
                ],
                "composeTrigger": {
                    "actions": [
                        {
                            "runFunction": base + COMPOSE_PATH,
                            "label": "stepback: a next step",
                            "logoUrl": logo,
                        }
                    ],
                    # Recipients of the open draft, nothing else.
                    "draftAccess": "METADATA",
                },
            },
            # Google's system ID token in the Authorization header (also in the body).
            "httpOptions": {"authorizationHeader": "SYSTEM_ID_TOKEN", **GRANULAR_CONSENT},
        },
    }


def deployment_json(base_url: str) -> str:
    """Return the deployment resource as the text written to deployment.json."""
    return json.dumps(build_deployment(base_url), indent=2) + "\n"
