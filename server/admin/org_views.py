"""Organisation settings: domains, time zone, day counting, holidays, defaults."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, request, url_for

from server.admin.common import audit, bp, changes, db, org, page
from server.admin.forms import Form, country_name, holiday_countries, time_zones
from server.store.models import Org

DAY_MODES = {
    "business": "Business days (Monday to Friday, minus holidays)",
    "calendar": "Calendar days (every day counts)",
}
MAX_REPLY_TARGET_HOURS = 720


def org_values(o: Org) -> dict[str, Any]:
    """The editable settings of an org, as the form and the audit log show them."""
    return {
        "name": o.name,
        "internal_domains": list(o.internal_domains or []),
        "timezone": o.timezone,
        "day_mode": o.day_mode,
        "holiday_country": o.holiday_country or "",
        "holiday_subdiv": o.holiday_subdiv or "",
        "default_threshold_days": o.default_threshold_days,
        "reply_target_hours": o.reply_target_hours,
        "default_horizon_days": o.default_horizon_days,
    }


def _form_values(o: Org) -> dict[str, str]:
    values = org_values(o)
    values["internal_domains"] = "\n".join(values["internal_domains"])
    values["reply_target_hours"] = f"{o.reply_target_hours:g}"
    return {k: str(v) for k, v in values.items()}


def _org_page(values: dict[str, str], errors: dict[str, str], status: int) -> tuple[str, int]:
    countries = [(code, country_name(code)) for code in holiday_countries()]
    countries.sort(key=lambda item: item[1])
    return page(
        "admin/org.html",
        status,
        values=values,
        errors=errors,
        day_modes=DAY_MODES,
        countries=countries,
        zones=sorted(time_zones()),
    )


@bp.get("/org")
def org_settings() -> tuple[str, int]:
    """Show the organisation's settings."""
    return _org_page(_form_values(org()), {}, 200)


@bp.post("/org")
def org_save() -> Response | tuple[str, int]:
    """Validate everything first; save nothing unless every field is valid."""
    form = Form(request.form)
    name = form.text("name", label="Organisation name", max_len=200, required=True)
    domains = form.domains("internal_domains")
    tz = form.timezone("timezone")
    day_mode = form.choice("day_mode", label="day counting", options=DAY_MODES)
    country, subdiv = form.holiday("holiday_country", "holiday_subdiv")
    threshold = form.whole(
        "default_threshold_days", label="Default threshold", low=1, high=365, unit="days"
    )
    reply_hours = form.whole(
        "reply_target_hours", label="Reply target", low=1, high=MAX_REPLY_TARGET_HOURS, unit="hours"
    )
    # Silence older than the horizon is not a follow-up; the first sync reads no further.
    horizon = form.whole(
        "default_horizon_days", label="Age horizon", low=7, high=3650, unit="days",
        required=False,
    )
    if not form.ok:
        typed = {key: form.raw(key) for key in _form_values(org())}
        return _org_page(typed, form.errors, 400)
    o = org()
    before = org_values(o)
    o.name = name
    o.internal_domains = domains
    o.timezone = str(tz)
    o.day_mode = str(day_mode)
    o.holiday_country = country
    o.holiday_subdiv = subdiv
    o.default_threshold_days = int(threshold or o.default_threshold_days)
    o.reply_target_hours = float(reply_hours or o.reply_target_hours)
    o.default_horizon_days = int(horizon or o.default_horizon_days or 180)
    old, new = changes(before, org_values(o))
    if new:
        audit("org.update", f"org {o.slug}", old, new)
    db().commit()
    flash("Organisation settings saved." if new else "Nothing changed.")
    return redirect(url_for("admin.org_settings"))  # type: ignore[return-value]
