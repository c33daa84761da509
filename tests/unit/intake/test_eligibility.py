"""Eligibility explains itself: district, SME thresholds, de-minimis, deadline by server time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.intake.domain.eligibility import assess
from services.intake.domain.errors import IntakeRuleViolation
from tests.unit.intake.builders import a_call, an_application, company_facts, creative_facts


def codes(facts: object) -> list[str]:
    return [r.code for r in assess(facts, a_call()).reasons]  # type: ignore[arg-type]


class TestCompanyEligibility:
    def test_an_sme_from_an_eligible_district_is_eligible(self) -> None:
        assert codes(company_facts()) == []

    def test_seat_outside_the_calls_districts(self) -> None:
        result = assess(company_facts(district="Leipzig"), a_call())
        assert [r.code for r in result.reasons] == ["district-not-eligible"]
        assert "Leipzig" in result.reasons[0].message

    def test_250_employees_is_not_an_sme(self) -> None:
        assert codes(company_facts(employees=250)) == ["not-sme-employees"]
        assert codes(company_facts(employees=249)) == []

    def test_turnover_above_50_million_without_small_balance_sheet(self) -> None:
        assert codes(company_facts(annual_turnover_cents=50_000_000_01)) == ["not-sme-financials"]

    def test_a_small_balance_sheet_saves_a_high_turnover(self) -> None:
        facts = company_facts(
            annual_turnover_cents=60_000_000_00, balance_sheet_total_cents=43_000_000_00
        )
        assert codes(facts) == []

    def test_missing_sme_data(self) -> None:
        assert codes(company_facts(employees=None)) == ["sme-data-missing"]

    def test_missing_de_minimis_declaration(self) -> None:
        assert codes(company_facts(de_minimis_prior_aid_cents=None)) == [
            "de-minimis-declaration-missing"
        ]

    def test_de_minimis_ceiling_already_reached(self) -> None:
        assert codes(company_facts(de_minimis_prior_aid_cents=300_000_00)) == [
            "de-minimis-ceiling-reached"
        ]

    def test_all_reasons_are_reported_together(self) -> None:
        facts = company_facts(district="Görlitz", employees=500, de_minimis_prior_aid_cents=None)
        assert codes(facts) == [
            "district-not-eligible",
            "not-sme-employees",
            "de-minimis-declaration-missing",
        ]


class TestOtherApplicants:
    def test_a_creative_needs_expertise_but_no_sme_data(self) -> None:
        assert codes(creative_facts()) == []
        assert codes(creative_facts(expertise=" ")) == ["expertise-missing"]

    def test_an_organisation_needs_no_turnover(self) -> None:
        facts = company_facts(kind="organisation", annual_turnover_cents=None, employees=12)
        assert codes(facts) == []

    def test_a_large_organisation_is_not_small(self) -> None:
        assert codes(company_facts(kind="organisation", employees=900)) == [
            "not-small-organisation"
        ]


class TestSubmission:
    def test_an_ineligible_application_is_kept_with_its_reasons(self) -> None:
        app = an_application("a1", company_facts(district="Zwickau"))
        assert app.status == "ineligible"
        assert app.eligibility.reasons[0].code == "district-not-eligible"

    def test_after_the_deadline_by_server_time_is_refused(self) -> None:
        call = a_call()
        with pytest.raises(IntakeRuleViolation) as err:
            an_application("a1", company_facts(), call, at=call.closes_at + timedelta(seconds=1))
        assert err.value.code == "call-closed"
        assert "20.09.2024 23:59" in err.value.message

    def test_before_the_opening_is_refused(self) -> None:
        call = a_call()
        with pytest.raises(IntakeRuleViolation) as err:
            an_application("a1", company_facts(), call, at=call.opens_at - timedelta(seconds=1))
        assert err.value.code == "call-not-open"
