"""Outcome measures: the Patient-Specific Functional Scale (PSFS) and its change against the MCID.

Source: SPEC §5 PSFS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

PSFS_MAX_ITEMS = 5
PSFS_MIN_RATING, PSFS_MAX_RATING = 0, 10
PSFS_MCID_MEAN = 2
PSFS_MCID_ITEM = 3


@dataclass(frozen=True)
class PsfsChange:
    """Scores before and after (rounded to 2 dp), the change, and whether it is important."""

    before: float
    after: float
    change: float
    important: bool


def psfs_score(ratings: Sequence[int]) -> float:
    """PSFS score = mean of 1–5 activity ratings, each 0 (unable) to 10 (as before), to 2 dp.

    Source: Stratford et al. 1995 (PSFS); SPEC §5 PSFS.
    """
    return _two_places(_mean(ratings))


def psfs_change(before: Sequence[int], after: Sequence[int]) -> PsfsChange:
    """Change of the PSFS mean; important when it improved by at least 2 points (the MCID).

    The change is taken from the exact means, then rounded to 2 dp. Source: SPEC §5 PSFS.
    """
    change = _mean(after) - _mean(before)
    return PsfsChange(
        before=_two_places(_mean(before)),
        after=_two_places(_mean(after)),
        change=_two_places(change),
        important=change >= PSFS_MCID_MEAN,
    )


def psfs_item_important(before: int, after: int) -> bool:
    """One activity's rating improved by at least 3 points (the single-item MCID).

    Source: SPEC §5 PSFS.
    """
    _check_rating(before)
    _check_rating(after)
    return after - before >= PSFS_MCID_ITEM


def _mean(ratings: Sequence[int]) -> Fraction:
    if not 1 <= len(ratings) <= PSFS_MAX_ITEMS:
        raise ValueError(f"PSFS needs 1 to {PSFS_MAX_ITEMS} activities, got {len(ratings)}")
    for rating in ratings:
        _check_rating(rating)
    return Fraction(sum(ratings), len(ratings))


def _check_rating(rating: int) -> None:
    if not PSFS_MIN_RATING <= rating <= PSFS_MAX_RATING:
        raise ValueError(f"PSFS ratings are {PSFS_MIN_RATING}-{PSFS_MAX_RATING}, got {rating}")


def _two_places(value: Fraction) -> float:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
