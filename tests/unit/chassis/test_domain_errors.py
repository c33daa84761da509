"""The HTTP layer, not the domain, decides how each kind of rule violation is answered."""

from __future__ import annotations

import pytest

from cimis_chassis.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from cimis_chassis.problems import domain_status


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (DomainError("over-budget", "refused"), 422),
        (ConflictError("expense-approved", "too late"), 409),
        (ForbiddenError("forbidden", "not yours"), 403),
        (NotFoundError("team", "t-1"), 404),
    ],
)
def test_each_kind_of_violation_has_its_status(error: DomainError, status: int) -> None:
    assert domain_status(error) == status


def test_a_subclass_is_answered_as_its_kind() -> None:
    class FourEyes(ForbiddenError):
        pass

    assert domain_status(FourEyes("four-eyes", "not twice")) == 403


def test_the_domain_errors_carry_no_http_status() -> None:
    for kind in (DomainError, ConflictError, ForbiddenError, NotFoundError):
        assert not hasattr(kind, "status")
