"""Connected mailboxes and the Workspace domain-wide delegation option."""

from __future__ import annotations

import json
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from flask import Response, flash, redirect, request, url_for
from sqlalchemy import select

from server.admin.common import audit, bp, db, org, page, scoped
from server.admin.forms import Form
from server.auth.request_guard import loads as guarded_loads
from server.store.crypto import SecretBoxError, secret_box
from server.store.models import Mailbox, Org, User

METADATA_SCOPE = "https://www.googleapis.com/auth/gmail.metadata"
MAX_KEY_BYTES = 16 * 1024
SERVICE_ACCOUNT_SUFFIX = ".gserviceaccount.com"


def key_facts(o: Org) -> dict[str, str] | None:
    """The non-secret facts of the stored key (its id and OAuth client id), never the key."""
    if not o.dwd_key_enc:
        return None
    try:
        info = json.loads(secret_box().decrypt(o.dwd_key_enc))
    except (SecretBoxError, ValueError):
        return {
            "error": "The stored key cannot be read with the current encryption keys; "
            "upload it again."
        }
    return {
        "key_id": str(info.get("private_key_id", "")),
        "client_id": str(info.get("client_id", "")),
        "client_email": str(info.get("client_email", "")),
    }


def delegation_values(o: Org) -> dict[str, Any]:
    facts = key_facts(o) or {}
    return {
        "enabled": o.dwd_enabled,
        "service_account": o.dwd_service_account or "",
        "key_id": facts.get("key_id", ""),
    }


def parse_key(data: bytes) -> tuple[dict[str, Any] | None, str]:
    """Check an uploaded service-account JSON key; return (key, "") or (None, problem)."""
    if len(data) > MAX_KEY_BYTES:
        return None, "That file is too large to be a service-account key."
    try:
        info = guarded_loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, "That file is not JSON. Upload the key file Google Cloud gave you."
    if not isinstance(info, dict) or info.get("type") != "service_account":
        return None, "That JSON is not a service-account key (its type is not service_account)."
    for name in ("client_email", "private_key", "private_key_id", "client_id"):
        if not isinstance(info.get(name), str) or not info[name].strip():
            return None, f"The key file lacks '{name}'."
    try:
        serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None, "The private key inside the file cannot be read."
    return info, ""


def _page(values: dict[str, str], errors: dict[str, str], status: int) -> tuple[str, int]:
    rows = (
        db()
        .execute(
            select(Mailbox, User)
            .join(User, User.id == Mailbox.user_id)
            .where(Mailbox.org_id == org().id, User.org_id == org().id)
            .order_by(User.email)
        )
        .all()
    )
    return page(
        "admin/mailboxes.html",
        status,
        mailboxes=rows,
        quota=quota_summary([m for m, _ in rows]),
        values=values,
        errors=errors,
        key=key_facts(org()),
        scope=METADATA_SCOPE,
    )


def _typed(o: Org) -> dict[str, str]:
    return {
        "dwd_enabled": "on" if o.dwd_enabled else "",
        "dwd_service_account": o.dwd_service_account or "",
    }


def quota_summary(mailboxes: list[Mailbox]) -> dict[str, Any] | None:
    """The deployment's Gmail quota use and what it means for first syncs under way."""
    from flask import current_app

    from server.gmail.jobs import quota_gate

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    gate, table = quota_gate(app)
    if gate.governor is None or gate.pacer is None:  # pragma: no cover - always configured
        return None
    minute, day = gate.governor.used()
    first = sum(1 for m in mailboxes if m.full_sync_state or m.status in ("new", "waiting_quota"))
    per_user = gate.pacer.units_per_minute
    # A typical rep's first sync (2,000 threads written in within the horizon) costs about
    # 65,000 units at the May 2026 prices and 18,000 at the legacy ones (README, "Sync at
    # Google's limits").
    each = 65_000 if table.name == "may2026" else 18_000
    minutes_each = max(1, round(each / per_user))
    spread_hours = first * each / max(1, gate.governor.units_per_day) * 24
    spread = (
        f"about {spread_hours / 24:.1f} days" if spread_hours >= 24 else "the same hour or so"
    )
    return {
        "minute": minute,
        "day": day,
        "per_minute": gate.governor.units_per_minute,
        "per_day": gate.governor.units_per_day,
        "per_user": per_user,
        "first_syncs": first,
        "minutes_each": minutes_each,
        "spread": spread,
    }


@bp.post("/mailboxes/<int:mailbox_id>/disconnect")
def mailbox_disconnect(mailbox_id: int) -> Response:
    """Stop Gmail push for a mailbox (users.stop), forget its grant, keep nothing pending."""
    from flask import current_app

    from server.gmail.jobs import disconnect_mailbox

    mailbox = scoped(Mailbox, mailbox_id)  # 404 for another org's row or an absurd id
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    db().commit()
    outcome = disconnect_mailbox(app, mailbox_id)
    audit("mailbox.disconnect", mailbox.email, None, {"result": outcome.result})
    db().commit()
    flash(f"{mailbox.email} is disconnected; Gmail push notifications were stopped."
          if outcome.result == "disconnected" else
          f"{mailbox.email} is disconnected ({outcome.detail}).")
    return redirect(url_for("admin.mailboxes"))  # type: ignore[return-value]


@bp.get("/mailboxes")
def mailboxes() -> tuple[str, int]:
    """Each rep's mailbox: status, last sync, errors, reconnect needed, skipped messages."""
    return _page(_typed(org()), {}, 200)


@bp.post("/delegation")
def delegation_save() -> Response | tuple[str, int]:
    """Turn domain-wide delegation on or off, and store its key encrypted."""
    o = org()
    form = Form(request.form)
    enabled = form.raw("dwd_enabled") == "on"
    remove_key = form.raw("dwd_remove_key") == "on"
    account = form.raw("dwd_service_account").strip().lower()
    upload = request.files.get("dwd_key")
    key: dict[str, Any] | None = None
    if upload is not None and upload.filename:
        key, problem = parse_key(upload.read(MAX_KEY_BYTES + 1))
        if problem:
            form.fail("dwd_key", problem)
        elif key is not None:
            owner = str(key["client_email"]).lower()
            if account and account != owner:
                form.fail("dwd_key", f"This key belongs to {owner}, not {account}.")
            account = account or owner
    if account:
        checked = Form({"a": account}).email("a")
        if checked is None or not account.endswith(SERVICE_ACCOUNT_SUFFIX):
            form.fail(
                "dwd_service_account",
                f"Give the service account's address (it ends in {SERVICE_ACCOUNT_SUFFIX}).",
            )
    has_key = key is not None or (bool(o.dwd_key_enc) and not remove_key)
    if enabled and not account:
        form.fail("dwd_service_account", "Delegation needs the service account's address.")
    if enabled and not has_key and "dwd_key" not in form.errors:
        form.fail("dwd_key", "Delegation needs the service account's JSON key.")
    if not form.ok:
        typed = {
            "dwd_enabled": "on" if enabled else "",
            "dwd_service_account": form.raw("dwd_service_account"),
        }
        return _page(typed, form.errors, 400)
    before = delegation_values(o)
    o.dwd_service_account = account or None
    if key is not None:
        o.dwd_key_enc = secret_box().encrypt(json.dumps(key))
    elif remove_key:
        o.dwd_key_enc = None
    o.dwd_enabled = enabled
    after = delegation_values(o)
    if before != after:
        audit("delegation.update", f"org {o.slug}", before, after)
    db().commit()
    flash("Delegation settings saved." if before != after else "Nothing changed.")
    return redirect(url_for("admin.mailboxes"))  # type: ignore[return-value]
