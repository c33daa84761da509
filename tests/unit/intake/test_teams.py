"""Team rules: composition, budget limits, one accepted team per application, accept/withdraw."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.intake.domain import teams
from services.intake.domain.errors import IntakeRuleViolation, StateConflict
from tests.unit.intake.builders import NOW, a_call, an_application, company_facts, creative_facts

CALL = a_call()
COMPANY = an_application("co", company_facts())
CREATIVE = an_application("cr", creative_facts())


def propose(**overrides: Any) -> teams.Team:
    args: dict[str, Any] = {
        "team_id": "t1",
        "call": CALL,
        "title": "Digitale Werkstatt",
        "challenge": "Auftragsannahme",
        "company": COMPANY,
        "creatives": [CREATIVE],
        "agent_id": "agent-anna",
        "budget_cents": 40_000_00,
        "input_vat_deductible": False,
        "already_in_accepted_team": set(),
        "now": NOW,
    }
    args.update(overrides)
    return teams.propose_team(**args)


class TestProposeTeam:
    def test_a_company_and_a_creative_form_a_proposed_team(self) -> None:
        team = propose()
        assert team.status == "proposed"
        assert team.application_ids == ("co", "cr")

    def test_needs_at_least_one_creative(self) -> None:
        with pytest.raises(IntakeRuleViolation, match="at least one creative"):
            propose(creatives=[])

    def test_the_lead_must_be_a_company_or_organisation(self) -> None:
        with pytest.raises(IntakeRuleViolation, match="not a company"):
            propose(company=CREATIVE, creatives=[an_application("cr2", creative_facts())])

    def test_creatives_must_be_creatives(self) -> None:
        with pytest.raises(IntakeRuleViolation, match="not from a creative"):
            propose(creatives=[an_application("co2", company_facts())])

    def test_ineligible_applications_cannot_join(self) -> None:
        outsider = an_application("cr3", creative_facts(district="Zwickau"))
        with pytest.raises(IntakeRuleViolation) as err:
            propose(creatives=[outsider])
        assert err.value.code == "application-ineligible"

    def test_applications_must_belong_to_the_call(self) -> None:
        other = an_application("cr4", creative_facts(), a_call(call_id="call-2"))
        with pytest.raises(IntakeRuleViolation, match="another call"):
            propose(creatives=[other])

    def test_budget_cannot_exceed_the_calls_maximum(self) -> None:
        with pytest.raises(IntakeRuleViolation) as err:
            propose(budget_cents=CALL.max_team_budget_cents + 1)
        assert err.value.code == "team-budget-above-maximum"
        assert propose(budget_cents=CALL.max_team_budget_cents).budget_cents == 50_000_00

    def test_budget_must_fit_the_companys_de_minimis_room(self) -> None:
        company = an_application("co5", company_facts(de_minimis_prior_aid_cents=280_000_00))
        with pytest.raises(IntakeRuleViolation) as err:
            propose(company=company, budget_cents=20_000_01)
        assert err.value.code == "de-minimis-ceiling-exceeded"

    def test_an_application_in_an_accepted_team_is_taken(self) -> None:
        with pytest.raises(StateConflict) as err:
            propose(already_in_accepted_team={"cr"})
        assert err.value.code == "application-taken"


class TestAcceptAndWithdraw:
    def test_accepting_sets_status_and_time(self) -> None:
        later = NOW + timedelta(days=1)
        team = teams.accept(propose(), already_in_accepted_team=set(), now=later)
        assert (team.status, team.accepted_at) == ("accepted", later)

    def test_accepting_twice_changes_nothing(self) -> None:
        team = teams.accept(propose(), already_in_accepted_team=set(), now=NOW)
        again = teams.accept(team, already_in_accepted_team=set(), now=NOW + timedelta(days=3))
        assert again is team

    def test_cannot_accept_when_a_member_joined_another_accepted_team(self) -> None:
        with pytest.raises(StateConflict):
            teams.accept(propose(), already_in_accepted_team={"co"}, now=NOW)

    def test_a_withdrawn_team_cannot_be_accepted(self) -> None:
        withdrawn = teams.withdraw(propose(), reason="Firma zieht zurück", now=NOW)
        with pytest.raises(StateConflict) as err:
            teams.accept(withdrawn, already_in_accepted_team=set(), now=NOW)
        assert err.value.code == "team-withdrawn"

    def test_withdrawing_needs_a_reason_and_is_idempotent(self) -> None:
        with pytest.raises(IntakeRuleViolation):
            teams.withdraw(propose(), reason="  ", now=NOW)
        once = teams.withdraw(propose(), reason="Insolvenz", now=NOW)
        assert once.status == "withdrawn"
        assert once.withdrawal_reason == "Insolvenz"
        assert teams.withdraw(once, reason="again", now=NOW) is once
