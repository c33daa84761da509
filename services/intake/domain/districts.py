"""Saxony's districts and district-free cities: eligibility is decided by an applicant's seat."""

from __future__ import annotations

from cimis_chassis.text import comparison_key

SAXON_DISTRICTS: tuple[str, ...] = (
    "Chemnitz",
    "Dresden",
    "Leipzig",
    "Bautzen",
    "Erzgebirgskreis",
    "Görlitz",
    "Landkreis Leipzig",
    "Meißen",
    "Mittelsachsen",
    "Nordsachsen",
    "Sächsische Schweiz-Osterzgebirge",
    "Vogtlandkreis",
    "Zwickau",
)

_BY_KEY = {comparison_key(name): name for name in SAXON_DISTRICTS}


def canonical_district(given: str) -> str | None:
    """The official spelling of ``given`` in any case or Unicode form; None if not Saxon."""
    return _BY_KEY.get(comparison_key(given))
