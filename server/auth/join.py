"""Join links: how an org adds a person whose address is outside its internal domains.

An admin creates a link for one address (audited); it proves nothing by itself. The person
opens it and signs in with Google as that very address: only then are they added (audited
again, as their own act). The link is signed with the app's secret, names the org, the
address and the admin, and lasts a week.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

SALT = "stepback-join-link"
MAX_AGE_SECONDS = 7 * 24 * 3600
PATH_PREFIX = "/auth/join/"


@dataclass(frozen=True)
class JoinLink:
    org_id: int
    email: str
    admin_id: int


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.config["SECRET_KEY"]), salt=SALT)


def make_token(link: JoinLink) -> str:
    """The signed token of a join link."""
    return str(_serializer().dumps({"o": link.org_id, "e": link.email, "a": link.admin_id}))


def read_token(token: str) -> JoinLink | None:
    """The link a token stands for, or None when forged, expired or malformed."""
    if not token or len(token) > 1000:
        return None
    try:
        data = _serializer().loads(token, max_age=MAX_AGE_SECONDS)
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict):
        return None
    org_id, email, admin_id = data.get("o"), data.get("e"), data.get("a")
    if not (isinstance(org_id, int) and isinstance(email, str) and isinstance(admin_id, int)):
        return None
    return JoinLink(org_id, email, admin_id)


def token_of_next(next_url: str) -> str | None:
    """The join token carried by a sign-in's `next` path, if it is a join link."""
    if next_url.startswith(PATH_PREFIX):
        return next_url[len(PATH_PREFIX) :].split("?")[0] or None
    return None
