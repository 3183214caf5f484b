"""Template wording in force: team rows over org rows over the defaults."""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.plays import DEFAULT_TEMPLATES
from server.services.guidance import compose_guidance
from server.services.templates import effective_templates, templates_for
from server.store.models import Template
from tests.conftest import NOW
from tests.services.conftest import Reps


def _row(
    reps: Reps, body: str, *, team: bool, variant: int = 0, org_id: int | None = None
) -> Template:
    return Template(
        org_id=org_id or reps.alex.org_id,
        team_id=reps.alex.team_id if team else None,
        play="step_back",
        variant=variant,
        body=body,
    )


def test_defaults_without_rows(db: Session, reps: Reps) -> None:
    assert effective_templates(db, reps.alex) == {k: tuple(v) for k, v in DEFAULT_TEMPLATES.items()}


def test_team_over_org_over_default(db: Session, reps: Reps) -> None:
    db.add_all(
        [
            _row(reps, "Org wording for {{first_name}}.", team=False, variant=0),
            _row(reps, "Org second for {{first_name}}.", team=False, variant=1),
            _row(reps, "Team wording for {{first_name}}.", team=True, variant=0),
        ]
    )
    db.flush()
    texts = effective_templates(db, reps.alex)["step_back"]
    assert texts[0] == "Team wording for {{first_name}}."
    assert texts[1] == "Org second for {{first_name}}."
    assert texts[2] == DEFAULT_TEMPLATES["step_back"][2]
    # Jordan is on another team: only the org-wide rows apply.
    assert effective_templates(db, reps.jordan)["step_back"][0] == "Org wording for {{first_name}}."
    assert templates_for(db, reps.alex.org_id, None)["step_back"][0].startswith("Org wording")


def test_other_orgs_rows_never_apply(db: Session, reps: Reps) -> None:
    db.add(_row(reps, "Contoso only.", team=False, org_id=reps.casey.org_id))
    db.flush()
    assert effective_templates(db, reps.alex)["step_back"] == DEFAULT_TEMPLATES["step_back"]
    assert effective_templates(db, reps.casey)["step_back"][0] == "Contoso only."


def test_blank_hides_a_variant_and_broken_rows_are_skipped(db: Session, reps: Reps) -> None:
    db.add_all(
        [
            _row(reps, "  ", team=True, variant=1),
            _row(reps, "Hello {{favourite_colour}}", team=True, variant=2),
        ]
    )
    db.flush()
    texts = effective_templates(db, reps.alex)["step_back"]
    assert texts == (DEFAULT_TEMPLATES["step_back"][0], DEFAULT_TEMPLATES["step_back"][2])


def test_guidance_renders_the_team_wording(db: Session, reps: Reps) -> None:
    db.add(_row(reps, "Team wording for {{first_name}} from {{rep_name}}.", team=True))
    db.flush()
    g = compose_guidance(db, reps.alex, recipients=["bob@globex-corp.com"], thread_id=None, now=NOW)
    step = [p for p in g.plays if p.play == "step_back"]
    assert step[0].text == "Team wording for Bob from Alex Rivera."
