"""Events the budget service publishes on ``cimis.budget.v1`` (keyed by team id)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cimis_contracts import topics
from cimis_contracts.base import EventData, Identifier, Reason, Title, contract

Position = Literal["personnel", "material", "external_services", "travel", "other"]
TrancheTrigger = Literal["acceptance", "kickoff", "workshop", "prototype", "test", "final"]


class _TeamEvent(EventData):
    TOPIC: ClassVar[str] = topics.BUDGET

    team_id: Identifier
    call_id: Identifier

    def subject(self) -> str:
        return self.team_id


@contract
class BudgetAllocatedV1(_TeamEvent):
    """The team's budget was reserved from the call's pot."""

    TYPE: ClassVar[str] = "de.cimis.budget.allocated.v1"

    allocated_cents: int = Field(gt=0)
    pot_available_cents: int = Field(ge=0)
    allocated_at: AwareDatetime
    # Funded from the call's waiting list, after an allocation_refused (the team waited).
    from_waiting_list: bool = False


@contract
class AllocationRefusedV1(_TeamEvent):
    """The pot could not cover the team's budget (a business outcome, not an error)."""

    TYPE: ClassVar[str] = "de.cimis.budget.allocation_refused.v1"

    requested_cents: int = Field(gt=0)
    pot_available_cents: int = Field(ge=0)
    # What a reader renders the refusal from, in its own language: the code and the figures
    # above and here. ``reason`` is budget's English explanation, for logs and operators.
    reason_code: Identifier
    max_team_budget_cents: int | None = Field(default=None, ge=0)
    reason: Reason
    refused_at: AwareDatetime

    # Refusals after which budget keeps the team on the call's waiting list.
    WAITING_LIST_CODES: ClassVar[frozenset[str]] = frozenset({"pot-exhausted", "waiting-list"})

    @property
    def team_waits(self) -> bool:
        return self.reason_code in self.WAITING_LIST_CODES


@contract
class TrancheReleasedV1(_TeamEvent):
    TYPE: ClassVar[str] = "de.cimis.budget.tranche_released.v1"

    trigger: TrancheTrigger
    percent: int = Field(gt=0, le=100)
    amount_cents: int = Field(ge=0)
    released_total_cents: int = Field(ge=0)
    released_at: AwareDatetime


@contract
class TrancheWithdrawnV1(_TeamEvent):
    """A milestone was reopened: a tranche that waited for it went back to the reserve (its
    money was still unspent). It is released again when the milestone is confirmed again."""

    TYPE: ClassVar[str] = "de.cimis.budget.tranche_withdrawn.v1"

    trigger: TrancheTrigger
    amount_cents: int = Field(gt=0)
    released_total_cents: int = Field(ge=0)
    withdrawn_at: AwareDatetime


@contract
class TrancheKeptV1(_TeamEvent):
    """A milestone was reopened, but a tranche that waited for it could not go back to the
    reserve: the team has spent that money already (approved expenses, not yet paid out). The
    money stays with the team; the programme office decides what follows."""

    TYPE: ClassVar[str] = "de.cimis.budget.tranche_kept.v1"

    trigger: TrancheTrigger
    # The reopened milestone (the tranche may be a later one that waited for it).
    milestone_key: TrancheTrigger
    amount_cents: int = Field(gt=0)
    # What the team had left unspent of its released money: less than the tranche.
    unspent_cents: int = Field(ge=0)
    reason_code: Literal["money-spent"]
    reason: Reason  # budget's English explanation, for logs and operators
    kept_at: AwareDatetime


@contract
class ExpenseSubmittedV1(_TeamEvent):
    TYPE: ClassVar[str] = "de.cimis.budget.expense_submitted.v1"

    expense_id: Identifier
    position: Position
    receipt_number: Title
    net_cents: int = Field(ge=0)
    vat_cents: int = Field(ge=0)
    gross_cents: int = Field(ge=0)
    fundable_cents: int = Field(gt=0)
    submitted_by: Identifier
    submitted_at: AwareDatetime


@contract
class ExpenseApprovedV1(_TeamEvent):
    TYPE: ClassVar[str] = "de.cimis.budget.expense_approved.v1"

    expense_id: Identifier
    position: Position
    fundable_cents: int = Field(gt=0)
    approved_total_cents: int = Field(ge=0)
    approved_by: Identifier
    approved_at: AwareDatetime


@contract
class ExpenseRejectedV1(_TeamEvent):
    TYPE: ClassVar[str] = "de.cimis.budget.expense_rejected.v1"

    expense_id: Identifier
    position: Position
    receipt_number: Title
    fundable_cents: int = Field(gt=0)
    reason: Reason
    rejected_by: Identifier
    rejected_at: AwareDatetime


@contract
class ExpenseReversedV1(_TeamEvent):
    """An approved expense was found wrong: a reversing transfer gave its money back."""

    TYPE: ClassVar[str] = "de.cimis.budget.expense_reversed.v1"

    expense_id: Identifier
    position: Position
    receipt_number: Title
    fundable_cents: int = Field(gt=0)
    approved_total_cents: int = Field(ge=0)
    reason: Reason
    reversed_by: Identifier
    reversed_at: AwareDatetime


@contract
class ThresholdCrossedV1(_TeamEvent):
    """Approved spending reached 50, 80 or 100 % of the allocation (once per threshold)."""

    TYPE: ClassVar[str] = "de.cimis.budget.threshold_crossed.v1"

    threshold_percent: Literal[50, 80, 100]
    approved_cents: int = Field(ge=0)
    allocated_cents: int = Field(gt=0)
    crossed_at: AwareDatetime


@contract
class BudgetClosedV1(_TeamEvent):
    """The team withdrew: what was neither approved nor pending went back to the pot."""

    TYPE: ClassVar[str] = "de.cimis.budget.closed.v1"

    returned_cents: int = Field(ge=0)
    approved_cents: int = Field(ge=0)
    closed_at: AwareDatetime


class CostPlanLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    position: Position
    planned_cents: int = Field(ge=0)


@contract
class CostPlanChangedV1(_TeamEvent):
    """A version of the team's cost plan was proposed, or came into force.

    Within the call's tolerance a version is in force as it is set; above it, it is first
    published ``pending_approval`` and again ``in_force`` once a second person approved it.
    """

    TYPE: ClassVar[str] = "de.cimis.budget.cost_plan_changed.v1"

    version: int = Field(ge=1)
    status: Literal["in_force", "pending_approval"]
    lines: list[CostPlanLine] = Field(max_length=10)
    reason: Reason
    proposed_by: Identifier
    decided_by: Identifier | None = None
    changed_at: AwareDatetime


class PaidPosition(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    position: Position
    amount_cents: int = Field(ge=0)


@contract
class PaymentRequestChangedV1(_TeamEvent):
    """A payment request (Mittelabruf) of the team's approved expenses changed state:
    requested, approved (four eyes), exported in a SEPA run, paid with the bank's value date,
    cancelled before export, or returned by the bank (the money is approved and unpaid again).
    """

    TYPE: ClassVar[str] = "de.cimis.budget.payment_request_changed.v1"

    request_id: Identifier
    status: Literal["requested", "approved", "exported", "paid", "cancelled", "returned"]
    amount_cents: int = Field(gt=0)
    positions: list[PaidPosition] = Field(max_length=10)
    expense_count: int = Field(ge=1)
    run_id: Identifier | None = None
    value_date: date | None = None
    reason: Reason | None = None
    paid_total_cents: int = Field(ge=0)
    changed_by: Identifier
    changed_at: AwareDatetime
