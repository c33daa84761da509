"""Valid German VAT ids for test data and workloads: one per seed, never the same two."""

from __future__ import annotations

from stdnum.iso7064 import mod_11_10


def vat_id(seed: int) -> str:
    """``DE`` and nine digits with the right check digit (ISO 7064 MOD 11,10), distinct per
    seed below 90 million."""
    base = f"{10_000_000 + seed % 90_000_000:08d}"
    return f"DE{base}{mod_11_10.calc_check_digit(base)}"
