"""The funder's report of a call as of a day, from the facts the platform's events left.

Every figure is a sum or a count over facts dated up to the end of that day (Europe/Berlin),
so the same facts give the same report, whenever and however often it is drawn up.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.outcomes.domain.costs import line_order

BERLIN = ZoneInfo("Europe/Berlin")
# The programme's focus region: its share of teams and money is reported on its own.
ERZGEBIRGE_CODE = "14521"

PROPOSED, ACCEPTED, WITHDRAWN = "proposed", "accepted", "withdrawn"
POT, ALLOCATED, RELEASED, APPROVED, PAID, RETURNED, UNSPENT_RETURNED = (
    "pot",
    "allocated",
    "released",
    "approved",
    "paid",
    "returned",
    "unspent_returned",
)
PLANNED, RESCHEDULED, REPORTED, COMPLETED, WAIVED, REOPENED, CANCELLED = (
    "planned",
    "rescheduled",
    "reported",
    "completed",
    "waived",
    "reopened",
    "cancelled",
)
# A cancelled plan cancels every milestone of its team still open: one step for all of them.
WHOLE_PLAN = "*"
KINDS = ("company", "organisation", "creative")
# A line of a team's cost plan as it came into force: each version in force is recorded as one
# fact per budget line (zero for a line it leaves out), so the latest fact of each line up to a
# day is the plan in force that day.
PLANNED_COST = "planned_cost"
# The report's row for allocated money whose team had no cost plan in force yet.
NOT_YET_PLANNED = "not_yet_planned"


@dataclass(frozen=True)
class AppliedFact:
    application_id: str
    call_id: str
    kind: str
    district: str
    district_code: str | None
    eligible: bool
    reason_codes: tuple[str, ...]
    received_at: datetime


@dataclass(frozen=True)
class ReportFact:
    call_id: str
    team_id: str | None
    fact: str
    position: str | None
    cents: int
    district_code: str | None
    at: datetime


@dataclass(frozen=True)
class MilestoneStep:
    call_id: str
    team_id: str
    milestone_id: str
    step: str
    due_date: date | None
    at: datetime


@dataclass(frozen=True)
class CallFacts:
    call_id: str
    title: str
    districts: tuple[str, ...]
    applications: list[AppliedFact]
    facts: list[ReportFact]
    milestone_steps: list[MilestoneStep]


@dataclass(frozen=True)
class DistrictRow:
    district: str
    district_code: str | None
    by_kind: dict[str, int]
    eligible: int
    ineligible: int


@dataclass(frozen=True)
class LineRow:
    """A budget line: allocated (the cost plans in force), released, approved, paid, returned
    by the bank.

    A tranche releases its share of a team's whole budget, so it releases that share of every
    line of the team's cost plan: a team's released money is split over its lines in
    proportion to what each plans, to the cent (the largest remainders take the odd cents).
    """

    position: str
    allocated_cents: int
    released_cents: int
    approved_cents: int
    paid_cents: int
    returned_cents: int


@dataclass(frozen=True)
class MilestoneCounts:
    completed_on_time: int = 0
    completed_late: int = 0
    waived: int = 0
    overdue: int = 0
    open: int = 0


@dataclass(frozen=True)
class FunderReport:
    call_id: str
    title: str
    as_of: date
    applications_total: int
    applications_eligible: int
    applications_by_kind: dict[str, int]
    applications_by_district: list[DistrictRow]
    ineligibility_reasons: dict[str, int]
    teams_formed: int
    teams_accepted: int
    teams_withdrawn: int
    erzgebirge_teams: int
    erzgebirge_allocated_cents: int
    pot_cents: int
    allocated_cents: int
    released_cents: int
    approved_cents: int
    paid_cents: int
    returned_cents: int
    unspent_returned_cents: int
    lines: list[LineRow]
    not_yet_planned_cents: int
    # What was released to the teams without a cost plan in force: no line to split it over.
    not_yet_planned_released_cents: int
    milestones: MilestoneCounts
    blueprints_published: int

    @property
    def erzgebirge_team_share(self) -> str:
        return percent(self.erzgebirge_teams, self.teams_accepted)

    @property
    def erzgebirge_money_share(self) -> str:
        return percent(self.erzgebirge_allocated_cents, self.allocated_cents)


def end_of_day(day: date) -> datetime:
    """The last instant of ``day`` in Berlin, in UTC: what "as of" a day includes."""
    start_next = datetime.combine(day + timedelta(days=1), time(0), tzinfo=BERLIN)
    return (start_next - timedelta(microseconds=1)).astimezone(UTC)


def percent(part: int, whole: int) -> str:
    """A share with one decimal, rounded half up, exactly (no float): "33.3"."""
    if whole == 0:
        return "0.0"
    tenths = (part * 1000 + whole // 2) // whole
    return f"{tenths // 10}.{tenths % 10}"


def funder_report(facts: CallFacts, *, as_of: date, blueprints_published: int) -> FunderReport:
    until = end_of_day(as_of)
    applications = [a for a in facts.applications if a.received_at <= until]
    money = [f for f in facts.facts if f.at <= until]
    steps = [s for s in facts.milestone_steps if s.at <= until]

    district_of = {f.team_id: f.district_code for f in money if f.fact == ACCEPTED}
    totals: Counter[str] = Counter()
    for f in money:
        totals[f.fact] += f.cents if f.fact not in (PROPOSED, ACCEPTED, WITHDRAWN) else 1
    erzgebirge = {t for t, code in district_of.items() if code == ERZGEBIRGE_CODE}
    lines, not_yet_planned, not_yet_planned_released = _lines(money)
    # The books of the report balance: its lines add up to its totals, to the cent.
    assert sum(x.allocated_cents for x in lines) + not_yet_planned == totals[ALLOCATED]
    assert sum(x.released_cents for x in lines) + not_yet_planned_released == totals[RELEASED]
    assert sum(x.approved_cents for x in lines) == totals[APPROVED]
    assert sum(x.paid_cents for x in lines) == totals[PAID]
    assert sum(x.returned_cents for x in lines) == totals[RETURNED]
    return FunderReport(
        call_id=facts.call_id,
        title=facts.title,
        as_of=as_of,
        applications_total=len(applications),
        applications_eligible=sum(a.eligible for a in applications),
        applications_by_kind={k: sum(a.kind == k for a in applications) for k in KINDS},
        applications_by_district=_by_district(applications),
        ineligibility_reasons=dict(
            sorted(Counter(c for a in applications for c in a.reason_codes).items())
        ),
        teams_formed=totals[PROPOSED],
        teams_accepted=totals[ACCEPTED],
        teams_withdrawn=totals[WITHDRAWN],
        erzgebirge_teams=len(erzgebirge),
        erzgebirge_allocated_cents=sum(
            f.cents for f in money if f.fact == ALLOCATED and f.team_id in erzgebirge
        ),
        pot_cents=totals[POT],
        allocated_cents=totals[ALLOCATED],
        released_cents=totals[RELEASED],
        approved_cents=totals[APPROVED],
        paid_cents=totals[PAID],
        returned_cents=totals[RETURNED],
        unspent_returned_cents=totals[UNSPENT_RETURNED],
        lines=lines,
        not_yet_planned_cents=not_yet_planned,
        not_yet_planned_released_cents=not_yet_planned_released,
        milestones=_milestones(steps, as_of),
        blueprints_published=blueprints_published,
    )


def _by_district(applications: Iterable[AppliedFact]) -> list[DistrictRow]:
    grouped: dict[tuple[str, str | None], list[AppliedFact]] = defaultdict(list)
    for a in applications:
        grouped[(a.district, a.district_code)].append(a)
    return [
        DistrictRow(
            district=district,
            district_code=code,
            by_kind={k: sum(a.kind == k for a in rows) for k in KINDS},
            eligible=sum(a.eligible for a in rows),
            ineligible=sum(not a.eligible for a in rows),
        )
        for (district, code), rows in sorted(grouped.items(), key=lambda g: g[0][0])
    ]


def _lines(money: Iterable[ReportFact]) -> tuple[list[LineRow], int, int]:
    """The budget lines with money on them, in cost-plan order, and the allocated and the
    released money of teams that had no cost plan in force yet (a plan splits its team's whole
    allocation)."""
    sums: dict[tuple[str, str], int] = Counter()
    allocated: Counter[str] = Counter()
    released: Counter[str] = Counter()
    plans: dict[str, dict[str, int]] = defaultdict(dict)
    for f in money:
        if f.fact == ALLOCATED and f.team_id is not None:
            allocated[f.team_id] += f.cents
        elif f.fact == RELEASED and f.team_id is not None:
            released[f.team_id] += f.cents
        elif f.fact == PLANNED_COST and f.team_id is not None and f.position is not None:
            plans[f.team_id][f.position] = f.cents  # in time order: the latest version wins
        elif f.position is not None and f.fact in (APPROVED, PAID, RETURNED):
            sums[(f.position, f.fact)] += f.cents
    not_yet_planned = not_yet_planned_released = 0
    for team in allocated.keys() | released.keys():
        cents = allocated[team]
        plan = plans.get(team)
        if plan is None or not cents or sum(plan.values()) != cents:
            # No plan in force (budget refuses one that does not split the allocation).
            not_yet_planned += cents
            not_yet_planned_released += released[team]
            continue
        for position, planned in plan.items():
            sums[(position, ALLOCATED)] += planned
        for position, share in pro_rata(released[team], plan).items():
            sums[(position, RELEASED)] += share
    positions = sorted({p for (p, _), c in sums.items() if c}, key=line_order)
    rows = [
        LineRow(
            p,
            sums[(p, ALLOCATED)],
            sums[(p, RELEASED)],
            sums[(p, APPROVED)],
            sums[(p, PAID)],
            sums[(p, RETURNED)],
        )
        for p in positions
    ]
    return rows, not_yet_planned, not_yet_planned_released


def pro_rata(cents: int, weights: dict[str, int]) -> dict[str, int]:
    """``cents`` split in proportion to ``weights``, in whole cents that add up to ``cents``:
    each key gets the floor of its share, and the cents left over go one each to the keys with
    the largest remainders (ties in the keys' order)."""
    whole = sum(weights.values())
    if not whole:
        return dict.fromkeys(weights, 0)
    shares = {key: cents * weight // whole for key, weight in weights.items()}
    # A stable sort: equal remainders stay in the keys' order.
    remainders = sorted(weights, key=lambda key: -(cents * weights[key] % whole))
    for key in remainders[: cents - sum(shares.values())]:
        shares[key] += 1
    return shares


def _milestones(steps: Iterable[MilestoneStep], as_of: date) -> MilestoneCounts:
    due: dict[str, date] = {}
    state: dict[str, str] = {}
    late: dict[str, bool] = {}
    team_of: dict[str, str] = {}
    for s in steps:
        if s.milestone_id == WHOLE_PLAN:
            for m, team in team_of.items():
                if team == s.team_id and state[m] == "open":
                    state[m] = CANCELLED
            continue
        if s.step in (PLANNED, RESCHEDULED):
            assert s.due_date is not None
            due[s.milestone_id] = s.due_date
            team_of[s.milestone_id] = s.team_id
            state.setdefault(s.milestone_id, "open")
        elif s.milestone_id not in due:
            continue  # a step of a milestone whose plan this call never announced
        elif s.step == COMPLETED:
            state[s.milestone_id] = COMPLETED
            late[s.milestone_id] = s.at.astimezone(BERLIN).date() > due[s.milestone_id]
        elif s.step == WAIVED:
            state[s.milestone_id] = WAIVED
        elif s.step == REOPENED:
            state[s.milestone_id] = "open"
        elif s.step == REPORTED:
            # Not done until confirmed; and a plan closing leaves it waiting, not cancelled.
            state[s.milestone_id] = REPORTED
    counts: Counter[str] = Counter()
    for m, st in state.items():
        if st == COMPLETED:
            counts["completed_late" if late[m] else "completed_on_time"] += 1
        elif st == WAIVED:
            counts["waived"] += 1
        elif st in ("open", REPORTED):
            counts["overdue" if due[m] < as_of else "open"] += 1
    return MilestoneCounts(**counts)
