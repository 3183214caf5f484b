"""Effective settings of a rep: what the admins set, resolved rep → team → org."""

from __future__ import annotations

from dataclasses import dataclass

from server.engine.model import MailboxContext, Threshold, default_context
from server.store.models import User


@dataclass(frozen=True)
class RepSettings:
    """Everything the engine and the plays need to know about one rep's rules."""

    context: MailboxContext
    threshold: Threshold
    reply_target_hours: float
    timezone: str
    locale: str
    rep_name: str
    horizon_days: int = 180


def threshold_days(user: User) -> int:
    """The rep's override, else the team's threshold, else the org default."""
    if user.threshold_override_days is not None:
        return user.threshold_override_days
    if user.team is not None and user.team.threshold_days is not None:
        return user.team.threshold_days
    return user.org.default_threshold_days


def horizon_days(user: User) -> int:
    """How far back silence counts and the first sync reads: the team's, else the org's."""
    if user.team is not None and user.team.horizon_days is not None:
        return user.team.horizon_days
    return user.org.default_horizon_days or 180


def rep_settings(user: User) -> RepSettings:
    """Resolve the settings in force for `user` right now."""
    org = user.org
    tz = user.timezone or org.timezone or "UTC"
    reply_target = org.reply_target_hours
    if user.team is not None and user.team.reply_target_hours is not None:
        reply_target = user.team.reply_target_hours
    addresses = [user.email, *(user.aliases or [])]
    if user.mailbox is not None and user.mailbox.email:
        addresses.append(user.mailbox.email)
    ctx = default_context(
        user.email,
        aliases=[a for a in addresses if a != user.email],
        internal_domains=list(org.internal_domains or []),
        timezone=tz,
        holiday_country=org.holiday_country or None,
        holiday_subdiv=org.holiday_subdiv or None,
    )
    threshold = Threshold(threshold_days(user), calendar_days=org.day_mode == "calendar")
    return RepSettings(
        ctx, threshold, reply_target, tz, user.locale or "en", user.name or "", horizon_days(user)
    )
