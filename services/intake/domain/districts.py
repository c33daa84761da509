"""Saxony's districts and district-free cities by their official key (Amtlicher
Gemeindeschlüssel, AGS): eligibility is decided by an applicant's seat.

Calls and applications name a district by its key ("14521") or its name in any case or
Unicode form ("erzgebirgskreis", a decomposed "Görlitz"); both become the key and the official
name. Keys checked against the Statistisches Landesamt Sachsen's list (DOMAIN.md).
"""

from __future__ import annotations

from cimis_chassis.text import comparison_key

DISTRICTS: dict[str, str] = {
    "14511": "Chemnitz",
    "14521": "Erzgebirgskreis",
    "14522": "Mittelsachsen",
    "14523": "Vogtlandkreis",
    "14524": "Zwickau",
    "14612": "Dresden",
    "14625": "Bautzen",
    "14626": "Görlitz",
    "14627": "Meißen",
    "14628": "Sächsische Schweiz-Osterzgebirge",
    "14713": "Leipzig",
    "14729": "Landkreis Leipzig",
    "14730": "Nordsachsen",
}
SAXON_DISTRICTS: tuple[str, ...] = tuple(DISTRICTS.values())

_BY_KEY = {comparison_key(name): name for name in SAXON_DISTRICTS} | {
    code: name for code, name in DISTRICTS.items()
}
_CODE_OF = {name: code for code, name in DISTRICTS.items()}


def canonical_district(given: str) -> str | None:
    """The official name for a key or a name in any case or Unicode form; None if not Saxon."""
    return _BY_KEY.get(comparison_key(given))


def district_code(name: str) -> str | None:
    """The official key of an official name."""
    return _CODE_OF.get(name)


def valid_values() -> str:
    """Every accepted value, for a refusal: "14511 Chemnitz, 14521 Erzgebirgskreis, …"."""
    return ", ".join(f"{code} {name}" for code, name in DISTRICTS.items())
