"""Budget's settings: the chassis settings with budget's defaults."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from cimis_chassis.settings import ServiceSettings


class BudgetSettings(ServiceSettings):
    service_name: str = "budget"
    http_port: int = 8002
    # How often the books are reconciled and the money gauges refreshed.
    reconcile_seconds: float = Field(default=30.0, gt=0)
    # The programme's bank account that payouts leave from (the SEPA file's debtor). Unset,
    # payment runs are refused: a file naming a made-up account must never reach a bank.
    programme_account_name: str = Field(
        default="Cross Innovation made in Saxony II", min_length=1, max_length=70
    )
    programme_iban: str | None = None
    programme_bic: str | None = None

    @field_validator("programme_iban", "programme_bic")
    @classmethod
    def _checked(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        try:
            if info.field_name == "programme_iban":
                return IBAN(value).compact
            return str(BIC(value))
        except SchwiftyException as exc:
            raise ValueError(f"is not a valid {info.field_name}: {exc}") from exc
