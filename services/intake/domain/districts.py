"""Saxony's districts and district-free cities: eligibility is decided by an applicant's seat."""

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
