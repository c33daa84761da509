"""A blueprint's rules: when it may be submitted, how review moves it, who may be named."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.outcomes.domain import blueprints as rules
from services.outcomes.domain.blueprints import (
    CHANGES_REQUESTED,
    PUBLISHED,
    SUBMITTED,
    WITHDRAWN,
    Blueprint,
)
from services.outcomes.domain.errors import OutcomesRuleViolation, StateConflict
from services.outcomes.domain.teams import CANCELLED, RUNNING
from tests.unit.outcomes.builders import NOW, a_team, content

LATER = NOW + timedelta(days=1)


def submitted(**overrides: object) -> Blueprint:
    return rules.submit(
        a_team(**overrides), None, content(), blueprint_id="bp-1", by="agent-anna", now=NOW
    )


class TestSubmit:
    def test_a_completed_teams_blueprint_is_submitted_with_its_district(self) -> None:
        blueprint = submitted()

        assert (blueprint.status, blueprint.version) == (SUBMITTED, 1)
        assert (blueprint.district, blueprint.district_code) == ("Erzgebirgskreis", "14521")
        assert (blueprint.submitted_by, blueprint.submitted_at) == ("agent-anna", NOW)

    @pytest.mark.parametrize("plan_status", [RUNNING, CANCELLED])
    def test_before_the_plan_is_complete_it_is_refused(self, plan_status: str) -> None:
        with pytest.raises(StateConflict) as refused:
            submitted(plan_status=plan_status)
        assert refused.value.code == "plan-not-complete"

    def test_a_withdrawn_team_submits_nothing(self) -> None:
        with pytest.raises(StateConflict):
            submitted(withdrawn_at=NOW)

    def test_an_unknown_licence_or_an_empty_part_is_refused(self) -> None:
        for bad in (content(licence="proprietary"), content(lessons="  ")):
            with pytest.raises(OutcomesRuleViolation) as refused:
                rules.submit(a_team(), None, bad, blueprint_id="b", by="x", now=NOW)
            assert refused.value.code == "invalid-blueprint"

    def test_only_consenting_contacts_are_public(self) -> None:
        assert [c.name for c in submitted().public_contacts] == ["Anna Berger"]


class TestReview:
    def test_changes_then_resubmission_then_publication(self) -> None:
        asked = rules.request_changes(submitted(), comment=" Kosten ergänzen ", now=LATER)
        again = rules.submit(
            a_team(),
            asked,
            content(title="Neu"),
            blueprint_id="ignored",
            by="agent-anna",
            now=LATER,
        )
        published = rules.publish(again, now=LATER)

        assert (asked.status, asked.review_comment) == (CHANGES_REQUESTED, "Kosten ergänzen")
        assert (again.id, again.status, again.version, again.review_comment) == (
            "bp-1",
            SUBMITTED,
            2,
            None,
        )
        assert (published.status, published.published_at) == (PUBLISHED, LATER)
        assert rules.publish(published, now=LATER + timedelta(days=1)) is published

    def test_a_published_blueprint_is_not_resubmitted_until_withdrawn(self) -> None:
        published = rules.publish(submitted(), now=LATER)
        with pytest.raises(StateConflict) as refused:
            rules.submit(a_team(), published, content(), blueprint_id="b", by="x", now=LATER)
        assert refused.value.code == "blueprint-published"

        withdrawn = rules.withdraw(published, reason="Einwilligung widerrufen", now=LATER)
        assert (withdrawn.status, withdrawn.withdrawal_reason) == (
            WITHDRAWN,
            "Einwilligung widerrufen",
        )
        assert rules.withdraw(withdrawn, reason="again", now=LATER) is withdrawn
        back = rules.submit(a_team(), withdrawn, content(), blueprint_id="b", by="x", now=LATER)
        assert (back.status, back.version, back.withdrawn_at) == (SUBMITTED, 2, None)

    def test_only_a_submitted_blueprint_is_published_or_sent_back(self) -> None:
        asked = rules.request_changes(submitted(), comment="x", now=LATER)
        with pytest.raises(StateConflict) as refused:
            rules.publish(asked, now=LATER)
        assert refused.value.code == "blueprint-changes-requested"
        with pytest.raises(StateConflict):
            rules.request_changes(asked, comment="y", now=LATER)

    def test_a_review_needs_words(self) -> None:
        with pytest.raises(OutcomesRuleViolation):
            rules.request_changes(submitted(), comment=" ", now=LATER)
        with pytest.raises(OutcomesRuleViolation):
            rules.withdraw(submitted(), reason="", now=LATER)
