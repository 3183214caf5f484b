"""Template wording in force for a rep: team rows over org-wide rows over the defaults."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.plays import DEFAULT_TEMPLATES, PLAYS, check_template
from server.store.models import Template, User

log = logging.getLogger(__name__)


def _apply(variants: dict[str, dict[int, str]], rows: Iterable[Template]) -> None:
    for row in rows:
        if row.play not in PLAYS or row.variant < 0:
            continue
        body = row.body or ""
        # A stored template that no longer parses must never break rendering: skip it.
        if body.strip() and check_template(body):
            log.warning("skipping unparsable template %s/%s (id %s)", row.play, row.variant, row.id)
            continue
        variants.setdefault(row.play, {})[row.variant] = body


def templates_for(session: Session, org_id: int, team_id: int | None) -> dict[str, tuple[str, ...]]:
    """Play id -> variant texts for one org and (optionally) one team.

    A blank body hides that variant; a play whose variants are all hidden falls back to
    the defaults, so a play never renders empty by accident.
    """
    variants: dict[str, dict[int, str]] = {
        play: dict(enumerate(texts)) for play, texts in DEFAULT_TEMPLATES.items()
    }
    rows = list(
        session.scalars(
            select(Template).where(
                Template.org_id == org_id,
                or_(Template.team_id.is_(None), Template.team_id == team_id)
                if team_id is not None
                else Template.team_id.is_(None),
            )
        )
    )
    _apply(variants, [r for r in rows if r.team_id is None])
    _apply(variants, [r for r in rows if r.team_id is not None])
    out: dict[str, tuple[str, ...]] = {}
    for play, by_index in variants.items():
        texts = tuple(by_index[i] for i in sorted(by_index) if by_index[i].strip())
        out[play] = texts or tuple(DEFAULT_TEMPLATES.get(play, ()))
    return out


def effective_templates(session: Session, user: User) -> dict[str, tuple[str, ...]]:
    """Play id -> variant texts in force for `user` (team over org-wide over defaults)."""
    return templates_for(session, user.org_id, user.team_id)
