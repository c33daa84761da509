"""The funder's report from facts: counted as of a day, money per line, milestones by outcome."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.outcomes.domain import report as r
from services.outcomes.domain.report import (
    AppliedFact,
    CallFacts,
    MilestoneCounts,
    MilestoneStep,
    ReportFact,
    end_of_day,
    funder_report,
    percent,
)

MAY = datetime(2025, 5, 5, 10, 0, tzinfo=UTC)
JUNE = datetime(2025, 6, 5, 10, 0, tzinfo=UTC)


def applied(ident: str, kind: str, district: str, code: str, eligible: bool) -> AppliedFact:
    reasons = () if eligible else ("not-sme-employees",)
    return AppliedFact(ident, "call-1", kind, district, code, eligible, reasons, MAY)


def fact(
    fact: str, cents: int, *, team: str | None = "t1", at: datetime = MAY, **kw: str
) -> ReportFact:
    return ReportFact("call-1", team, fact, kw.get("position"), cents, kw.get("code"), at)


def money_facts(*facts: ReportFact) -> CallFacts:
    """A call with money facts only: no applications, no milestones."""
    return CallFacts(
        call_id="call-1",
        title="CIMIS II",
        districts=("Leipzig",),
        applications=[],
        facts=list(facts),
        milestone_steps=[],
    )


def plan(*, at: datetime, **lines: int) -> list[ReportFact]:
    """A version of team t1's cost plan in force: every line, zero where it plans nothing."""
    return [
        fact(r.PLANNED_COST, lines.get(p, 0), at=at, position=p)
        for p in ("personnel", "material", "external_services", "travel", "other")
    ]


def step(
    milestone: str, kind: str, at: datetime, due: date | None = None, team: str = "t1"
) -> MilestoneStep:
    return MilestoneStep("call-1", team, milestone, kind, due, at)


FACTS = CallFacts(
    call_id="call-1",
    title="CIMIS II",
    districts=("Erzgebirgskreis", "Leipzig"),
    applications=[
        applied("a1", "company", "Erzgebirgskreis", "14521", True),
        applied("a2", "creative", "Erzgebirgskreis", "14521", True),
        applied("a3", "company", "Leipzig", "14713", False),
    ],
    facts=[
        fact(r.POT, 100_000_00, team=None),
        fact(r.PROPOSED, 45_000_00),
        fact(r.PROPOSED, 30_000_00, team="t2"),
        fact(r.ACCEPTED, 45_000_00, code="14521"),
        fact(r.ACCEPTED, 30_000_00, team="t2", code="14713"),
        fact(r.ALLOCATED, 45_000_00),
        fact(r.ALLOCATED, 30_000_00, team="t2"),
        fact(r.RELEASED, 18_000_00),
        *plan(personnel=30_000_00, material=15_000_00, at=MAY),
        *plan(personnel=25_000_00, travel=20_000_00, at=JUNE),  # the second version
        fact(r.APPROVED, 10_000_00, position="personnel"),
        fact(r.APPROVED, 2_000_00, position="travel"),
        fact(r.APPROVED, -500_00, position="travel"),  # a reversal
        fact(r.PAID, 9_000_00, position="personnel", at=JUNE),
        fact(r.PAID, -1_000_00, position="personnel", at=JUNE),
        fact(r.RETURNED, 1_000_00, position="personnel", at=JUNE),
        fact(r.WITHDRAWN, 0, team="t2", at=JUNE),
        fact(r.UNSPENT_RETURNED, 30_000_00, team="t2", at=JUNE),
    ],
    milestone_steps=[
        step("m1", r.PLANNED, MAY, date(2025, 5, 20)),
        step("m2", r.PLANNED, MAY, date(2025, 5, 20)),
        step("m3", r.PLANNED, MAY, date(2025, 5, 20)),
        step("m4", r.PLANNED, MAY, date(2025, 6, 30)),
        step("m5", r.PLANNED, MAY, date(2025, 5, 10), team="t2"),
        step("m6", r.PLANNED, MAY, date(2025, 5, 12), team="t2"),
        step("m6", r.REPORTED, datetime(2025, 5, 20, 8, 0, tzinfo=UTC), team="t2"),
        step("m1", r.COMPLETED, datetime(2025, 5, 20, 21, 0, tzinfo=UTC)),  # 23:00 in Berlin
        step("m2", r.COMPLETED, datetime(2025, 5, 20, 22, 30, tzinfo=UTC)),  # the next day
        step("m3", r.RESCHEDULED, MAY, date(2025, 6, 2)),
        step("m4", r.WAIVED, JUNE),
        step(r.WHOLE_PLAN, r.CANCELLED, JUNE, team="t2"),
    ],
)


def test_everything_up_to_the_day() -> None:
    report = funder_report(FACTS, as_of=date(2025, 6, 10), blueprints_published=2)

    assert (report.applications_total, report.applications_eligible) == (3, 2)
    assert report.applications_by_kind == {"company": 2, "organisation": 0, "creative": 1}
    assert [
        (d.district, d.by_kind["company"], d.eligible, d.ineligible)
        for d in report.applications_by_district
    ] == [
        ("Erzgebirgskreis", 1, 2, 0),
        ("Leipzig", 1, 0, 1),
    ]
    assert report.ineligibility_reasons == {"not-sme-employees": 1}
    assert (report.teams_formed, report.teams_accepted, report.teams_withdrawn) == (2, 2, 1)
    assert (report.erzgebirge_teams, report.erzgebirge_allocated_cents) == (1, 45_000_00)
    assert (report.erzgebirge_team_share, report.erzgebirge_money_share) == ("50.0", "60.0")
    assert (report.pot_cents, report.allocated_cents, report.released_cents) == (
        100_000_00,
        75_000_00,
        18_000_00,
    )
    assert (report.approved_cents, report.paid_cents, report.returned_cents) == (
        11_500_00,
        8_000_00,
        1_000_00,
    )
    assert report.unspent_returned_cents == 30_000_00
    # Allocated per line is the cost plan in force that day; t2 never had one.
    assert [
        (x.position, x.allocated_cents, x.approved_cents, x.paid_cents, x.returned_cents)
        for x in report.lines
    ] == [
        ("personnel", 25_000_00, 10_000_00, 8_000_00, 1_000_00),
        ("travel", 20_000_00, 1_500_00, 0, 0),
    ]
    assert report.not_yet_planned_cents == 30_000_00
    # m1 on time (23:00 Berlin on its day), m2 late, m3 rescheduled and now overdue, m4 waived,
    # m5 cancelled with its withdrawn team's plan; m6, reported but never confirmed, waits.
    assert report.milestones == MilestoneCounts(
        completed_on_time=1, completed_late=1, waived=1, overdue=2, open=0
    )
    assert report.blueprints_published == 2


def test_as_of_an_earlier_day_later_facts_do_not_count() -> None:
    report = funder_report(FACTS, as_of=date(2025, 5, 15), blueprints_published=0)

    assert (report.paid_cents, report.teams_withdrawn, report.unspent_returned_cents) == (0, 0, 0)
    # The first version of t1's plan was in force then.
    assert [(x.position, x.allocated_cents, x.approved_cents) for x in report.lines] == [
        ("personnel", 30_000_00, 10_000_00),
        ("material", 15_000_00, 0),
        ("travel", 0, 1_500_00),
    ]
    assert report.not_yet_planned_cents == 30_000_00
    # As of 15 May nothing was done yet: m5 and m6 (due the 10th, 12th) overdue, the rest open.
    assert report.milestones == MilestoneCounts(overdue=2, open=4)


def test_a_day_ends_at_midnight_in_berlin_and_shares_round_half_up() -> None:
    assert end_of_day(date(2025, 6, 10)) == datetime(2025, 6, 10, 21, 59, 59, 999999, tzinfo=UTC)
    assert end_of_day(date(2025, 1, 10)) == datetime(2025, 1, 10, 22, 59, 59, 999999, tzinfo=UTC)
    assert [percent(1, 3), percent(2, 3), percent(1, 8), percent(0, 0)] == [
        "33.3",
        "66.7",
        "12.5",
        "0.0",
    ]


def test_a_team_without_a_cost_plan_in_force_is_not_yet_planned() -> None:
    facts = money_facts(
        fact(r.ALLOCATED, 40_000_00, team="t1"),
        fact(r.ALLOCATED, 12_345_67, team="t2"),
        *plan(personnel=39_999_99, other=1, at=MAY),
    )

    report = funder_report(facts, as_of=date(2025, 6, 1), blueprints_published=0)

    assert [(x.position, x.allocated_cents) for x in report.lines] == [
        ("personnel", 39_999_99),
        ("other", 1),
    ]
    assert report.not_yet_planned_cents == 12_345_67
    assert (
        sum(x.allocated_cents for x in report.lines) + report.not_yet_planned_cents
        == report.allocated_cents
    )


def test_a_tranche_releases_the_same_share_of_every_line_of_the_cost_plan() -> None:
    facts = money_facts(
        fact(r.ALLOCATED, 45_000_01, team="t1"),
        fact(r.ALLOCATED, 10_000_00, team="t2"),
        *plan(personnel=15_000_00, material=15_000_00, travel=15_000_01, at=MAY),
        # 40 % on acceptance, for t1 and for t2 (which has no cost plan).
        fact(r.RELEASED, 18_000_00, team="t1"),
        fact(r.RELEASED, 4_000_00, team="t2"),
        # The prototype's 40 %, released and taken back after a reopen.
        fact(r.RELEASED, 18_000_00, team="t1", at=JUNE),
        fact(r.RELEASED, -18_000_00, team="t1", at=JUNE),
    )

    report = funder_report(facts, as_of=date(2025, 7, 1), blueprints_published=0)

    # 18,000.00 over 15,000.00 / 15,000.00 / 15,000.01 is 5,999.9987, 5,999.9987, 6,000.0027:
    # floors of 5,999.99, 5,999.99 and 6,000.00, and the two cents left over go to the lines
    # with the largest remainders.
    assert [(x.position, x.released_cents) for x in report.lines] == [
        ("personnel", 6_000_00),
        ("material", 6_000_00),
        ("travel", 6_000_00),
    ]
    assert report.not_yet_planned_released_cents == 4_000_00
    assert (
        sum(x.released_cents for x in report.lines) + report.not_yet_planned_released_cents
        == report.released_cents
        == 22_000_00
    )


def test_pro_rata_splits_to_the_cent_whatever_the_weights() -> None:
    for cents in (0, 1, 2, 99, 10_000_00, 12_345_67):
        for weights in (
            {"a": 1},
            {"a": 1, "b": 1, "c": 1},
            {"a": 0, "b": 3, "c": 7},
            {"a": 25_000_00, "b": 15_000_00, "c": 5_000_01},
        ):
            shares = r.pro_rata(cents, weights)
            assert sum(shares.values()) == cents
            assert set(shares) == set(weights)
            for key, weight in weights.items():
                exact = cents * weight / sum(weights.values())
                assert abs(shares[key] - exact) < 1
    assert r.pro_rata(5, {"a": 0, "b": 0}) == {"a": 0, "b": 0}
