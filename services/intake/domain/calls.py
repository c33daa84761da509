"""A call (Aufruf): its window, districts, pot, per-team maximum, tranche and phase plans."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cimis_chassis.text import clip
from services.intake.domain.districts import canonical_district, valid_values
from services.intake.domain.errors import IntakeRuleViolation

BERLIN = ZoneInfo("Europe/Berlin")
MILESTONE_KEYS = ("kickoff", "workshop", "prototype", "test", "final")
# A call's window lies in these years: a typo such as 9999 or 0001 is refused here rather
# than overflowing later, when the times are shown in Berlin or due dates are counted on.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


@dataclass(frozen=True)
class TrancheRule:
    milestone: str | None  # None: released on acceptance
    percent: int


@dataclass(frozen=True)
class PhaseStep:
    key: str
    title: str
    days_after_acceptance: int


DEFAULT_TRANCHES: tuple[TrancheRule, ...] = (
    TrancheRule(None, 40),
    TrancheRule("prototype", 40),
    TrancheRule("final", 20),
)

# After the plan's end, costs still count for this long (the settlement period, a call setting).
DEFAULT_SETTLEMENT_DAYS = 90
MAX_SETTLEMENT_DAYS = 730
# A cost plan line may move by this share of its planned amount without a second approval.
DEFAULT_COST_PLAN_TOLERANCE_PERCENT = 20
# An overdue milestone still open this many days later goes to the programme office too.
DEFAULT_ESCALATION_DAYS = 14
DEFAULT_BURN_RATE_TOLERANCE_PERCENT = 25

DEFAULT_PHASE_PLAN: tuple[PhaseStep, ...] = (
    PhaseStep("kickoff", "Kick-off", 14),
    PhaseStep("workshop", "Co-Creation-Workshop", 42),
    PhaseStep("prototype", "Prototyp", 120),
    PhaseStep("test", "Test mit Nutzerinnen und Nutzern", 150),
    PhaseStep("final", "Abschlusspräsentation und Blaupause", 180),
)


@dataclass(frozen=True)
class Call:
    id: str
    title: str
    districts: tuple[str, ...]
    opens_at: datetime
    closes_at: datetime
    total_budget_cents: int
    max_team_budget_cents: int
    tranches: tuple[TrancheRule, ...] = DEFAULT_TRANCHES
    phase_plan: tuple[PhaseStep, ...] = DEFAULT_PHASE_PLAN
    settlement_days: int = DEFAULT_SETTLEMENT_DAYS
    cost_plan_tolerance_percent: int = DEFAULT_COST_PLAN_TOLERANCE_PERCENT
    escalation_days: int = DEFAULT_ESCALATION_DAYS
    # How far a team's spending may stray from its plan's curve before the office hears.
    burn_rate_tolerance_percent: int = DEFAULT_BURN_RATE_TOLERANCE_PERCENT
    # What one undertaking may hold in the call; None: the per-team maximum.
    max_undertaking_budget_cents: int | None = None
    created_at: datetime | None = field(default=None, compare=False)

    @property
    def undertaking_cap_cents(self) -> int:
        return self.max_undertaking_budget_cents or self.max_team_budget_cents

    def window_state(self, now: datetime) -> str:
        """``not-open``, ``open`` or ``closed`` at the server's ``now``."""
        if now < self.opens_at:
            return "not-open"
        if now > self.closes_at:
            return "closed"
        return "open"


def new_call(
    *,
    call_id: str,
    title: str,
    districts: list[str],
    opens_at: datetime,
    closes_at: datetime,
    total_budget_cents: int,
    max_team_budget_cents: int,
    tranches: list[TrancheRule] | None,
    phase_plan: list[PhaseStep] | None,
    now: datetime,
    settlement_days: int | None = None,
    cost_plan_tolerance_percent: int | None = None,
    escalation_days: int | None = None,
    burn_rate_tolerance_percent: int | None = None,
    max_undertaking_budget_cents: int | None = None,
) -> Call:
    """Validate a call's terms and fill in the programme's default plans."""
    if not title.strip():
        raise IntakeRuleViolation("invalid-call", "A call needs a title.")
    eligible = _canonical_districts(districts)
    _check_window_in_range(opens_at, closes_at)
    if closes_at <= opens_at:
        raise IntakeRuleViolation("invalid-call", "The deadline must be after the opening time.")
    if total_budget_cents <= 0 or max_team_budget_cents <= 0:
        raise IntakeRuleViolation(
            "invalid-call", "The pot and the per-team maximum must be positive."
        )
    if max_team_budget_cents > total_budget_cents:
        raise IntakeRuleViolation(
            "invalid-call", "The per-team maximum cannot exceed the call's total budget."
        )
    plan = tuple(phase_plan) if phase_plan else DEFAULT_PHASE_PLAN
    _check_phase_plan(plan)
    rules = tuple(tranches) if tranches else DEFAULT_TRANCHES
    _check_tranches(rules, plan)
    settlement = DEFAULT_SETTLEMENT_DAYS if settlement_days is None else settlement_days
    if not 0 <= settlement <= MAX_SETTLEMENT_DAYS:
        raise IntakeRuleViolation(
            "invalid-call",
            f"The settlement period is between 0 and {MAX_SETTLEMENT_DAYS} days.",
        )
    tolerance = (
        DEFAULT_COST_PLAN_TOLERANCE_PERCENT
        if cost_plan_tolerance_percent is None
        else cost_plan_tolerance_percent
    )
    if not 0 <= tolerance <= 100:
        raise IntakeRuleViolation(
            "invalid-call", "The cost plan tolerance is between 0 and 100 percent."
        )
    escalation = DEFAULT_ESCALATION_DAYS if escalation_days is None else escalation_days
    if not 1 <= escalation <= 365:
        raise IntakeRuleViolation("invalid-call", "The escalation period is 1 to 365 days.")
    burn_rate = (
        DEFAULT_BURN_RATE_TOLERANCE_PERCENT
        if burn_rate_tolerance_percent is None
        else burn_rate_tolerance_percent
    )
    if not 1 <= burn_rate <= 100:
        raise IntakeRuleViolation("invalid-call", "The burn-rate tolerance is 1 to 100 percent.")
    if max_undertaking_budget_cents is not None and not (
        max_team_budget_cents <= max_undertaking_budget_cents <= total_budget_cents
    ):
        raise IntakeRuleViolation(
            "invalid-call",
            "The per-undertaking maximum lies between the per-team maximum and the call's "
            "total budget.",
        )
    return Call(
        id=call_id,
        title=title.strip(),
        districts=eligible,
        opens_at=opens_at.astimezone(UTC),
        closes_at=closes_at.astimezone(UTC),
        total_budget_cents=total_budget_cents,
        max_team_budget_cents=max_team_budget_cents,
        tranches=rules,
        phase_plan=plan,
        settlement_days=settlement,
        cost_plan_tolerance_percent=tolerance,
        escalation_days=escalation,
        burn_rate_tolerance_percent=burn_rate,
        max_undertaking_budget_cents=max_undertaking_budget_cents,
        created_at=now,
    )


def _canonical_districts(districts: list[str]) -> tuple[str, ...]:
    """The official names, each once, in the order given; any unknown one is refused."""
    canonical = [canonical_district(d) for d in districts]
    unknown = [clip(d) for d, c in zip(districts, canonical, strict=True) if c is None]
    if unknown:
        raise IntakeRuleViolation(
            "unknown-district",
            f"Not a Saxon district or district-free city: {', '.join(unknown)}. "
            f"Valid keys and names: {valid_values()}.",
        )
    if not canonical:
        raise IntakeRuleViolation("invalid-call", "A call needs at least one eligible district.")
    return tuple(dict.fromkeys(c for c in canonical if c is not None))


def _check_window_in_range(opens_at: datetime, closes_at: datetime) -> None:
    # Comparing aware datetimes never converts them, so this cannot overflow itself.
    for name, moment in (("opens_at", opens_at), ("closes_at", closes_at)):
        if not EARLIEST <= moment <= LATEST:
            raise IntakeRuleViolation(
                "invalid-call",
                f"{name} must lie between {EARLIEST.date()} and {LATEST.date()} (UTC).",
            )


def _check_phase_plan(plan: tuple[PhaseStep, ...]) -> None:
    keys = [step.key for step in plan]
    if len(set(keys)) != len(keys):
        raise IntakeRuleViolation(
            "invalid-phase-plan", "Each milestone may appear once in the plan."
        )
    if "final" not in keys:
        raise IntakeRuleViolation("invalid-phase-plan", "The phase plan must end with 'final'.")
    days = [step.days_after_acceptance for step in plan]
    if days != sorted(days) or len(set(days)) != len(days):
        raise IntakeRuleViolation(
            "invalid-phase-plan", "Milestones must be due on strictly increasing days."
        )
    if plan[-1].key != "final":
        raise IntakeRuleViolation("invalid-phase-plan", "The phase plan must end with 'final'.")


def _check_tranches(rules: tuple[TrancheRule, ...], plan: tuple[PhaseStep, ...]) -> None:
    if sum(rule.percent for rule in rules) != 100:
        raise IntakeRuleViolation("invalid-tranches", "Tranche percentages must add up to 100.")
    triggers = [rule.milestone for rule in rules]
    if len(set(triggers)) != len(triggers):
        raise IntakeRuleViolation(
            "invalid-tranches", "Each tranche needs its own trigger (acceptance or a milestone)."
        )
    if None not in triggers:
        raise IntakeRuleViolation(
            "invalid-tranches", "One tranche must be released on acceptance (milestone null)."
        )
    plan_keys = {step.key for step in plan}
    missing = sorted(t for t in triggers if t is not None and t not in plan_keys)
    if missing:
        raise IntakeRuleViolation(
            "invalid-tranches",
            f"Tranches name milestones not in the phase plan: {', '.join(missing)}.",
        )


def increase_budget(call: Call, added_cents: int, reason: str) -> Call:
    """More money for the call's pot; a budget is never reduced here (teams hold it)."""
    if added_cents <= 0:
        raise IntakeRuleViolation("invalid-amount", "The increase must be more than 0.00 EUR.")
    if not reason.strip():
        raise IntakeRuleViolation("reason-missing", "Give a reason for the increase.")
    return replace(call, total_budget_cents=call.total_budget_cents + added_cents)
