"""Granular consent: which scopes each add-on entry point needs, and how to ask for them.

Google's rules for HTTP add-ons (since 1 December 2025 every HTTP add-on must support
granular consent; Workspace Updates blog, "Granular OAuth consent in HTTP Google
Workspace add-ons", 6 May 2025; "Build a Google Workspace add-on using HTTP endpoints",
section "Migrate to the granular permission flow",
https://developers.google.com/workspace/add-ons/guides/alternate-runtimes):

- the user may grant only some of the deployment's `oauthScopes`;
- each event lists what was granted in `authorizationEventObject.authorizedScopes`;
- an endpoint that lacks a scope answers `{"requesting_google_scopes": {"scopes": [...]}}`
  (or `{"all_scopes": true}` for every scope of the deployment) and Google shows the
  consent screen for them, then calls the endpoint again;
- the deployment opts in with `addOns.httpOptions.granularOauthPermissionSupport: OPT_IN`.
The same request shape is documented for HTTP Chat apps ("Manage granular OAuth
permissions for Google Chat apps", section "HTTP endpoints").

We ask only for what the entry point at hand needs, so a rep who uses stepback only to
read is never asked for compose access.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from server.addon.deployment import OAUTH_SCOPES

EXECUTE = "https://www.googleapis.com/auth/gmail.addons.execute"
MESSAGE_METADATA = "https://www.googleapis.com/auth/gmail.addons.current.message.metadata"
COMPOSE = "https://www.googleapis.com/auth/gmail.addons.current.action.compose"
EMAIL = "https://www.googleapis.com/auth/userinfo.email"
LOCALE = "https://www.googleapis.com/auth/script.locale"

# Google names a scope by its URL; the sign-in scope also goes by its short name
# ("Sign-In scopes (email, profile, openid)", OAuth 2.0 scopes for Google APIs).
_ALIASES = {"email": EMAIL}

# Every entry point: the add-on scope Google requires of any Gmail add-on, and the
# address (the user ID token names the rep). script.locale is never required: without
# it the cards use the rep's own language and zone.
BASE = (EXECUTE, EMAIL)
NEEDS: dict[str, tuple[str, ...]] = {
    "homepage": BASE,
    # messages.get / threads.get of the open message need the per-message metadata grant.
    "message": (*BASE, MESSAGE_METADATA),
    # The compose card inserts plays (compose action scope) and reads the draft's
    # recipients (draftAccess METADATA). Google does not say which scope carries the
    # recipients, so we take the harsher reading and ask for the metadata grant too.
    "compose": (*BASE, COMPOSE, MESSAGE_METADATA),
    "insert_play": (*BASE, COMPOSE),
}


def needed(entry_point: str) -> tuple[str, ...]:
    """The scopes an entry point (a view's name) cannot work without."""
    return NEEDS.get(entry_point, BASE)


def missing(granted: Iterable[str] | None, entry_point: str) -> list[str]:
    """The needed scopes not in `granted`; none when Google sent no list at all.

    Without the list (a deployment that has not opted in) consent was all or nothing,
    so nothing is asked and a refused Gmail call still ends as a friendly card.
    """
    if granted is None:
        return []
    have = {_ALIASES.get(s, s) for s in granted}
    return [s for s in needed(entry_point) if s not in have]


def scope_request(missing_scopes: list[str], granted: Iterable[str] | None) -> dict[str, Any]:
    """The `requesting_google_scopes` answer: the missing scopes, or all of them when the
    user has granted none of the deployment's scopes (a revoked or fresh grant)."""
    have = {_ALIASES.get(s, s) for s in granted or ()}
    if not have & set(OAUTH_SCOPES):
        return {"requesting_google_scopes": {"all_scopes": True}}
    return {"requesting_google_scopes": {"scopes": list(missing_scopes)}}
