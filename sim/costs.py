"""The cost ledger: every cost event as (day, category, who, KSh).

Processes post entries as things happen; metrics aggregate the ledger once at
the end. Keeping the raw events (not running totals) lets an economist re-cut
costs by month, payer or category without re-running the model.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

import numpy as np

from sim.rules.costs import CATEGORIES

__all__ = ["CATEGORIES", "Ledger", "append"]


def append(column: array, values: Sequence | np.ndarray) -> None:
    """Append numbers to a compact column: an array's as bytes, without a Python object
    each; a list's directly (a day's few rows cost less without an array of their own)."""
    if isinstance(values, np.ndarray):
        column.frombytes(values.astype(column.typecode, copy=False).tobytes())
    else:
        column.extend(values)


class Ledger:
    """Append-only list of cost events, column by column (numbers as compact arrays: a
    national run posts over a million entries)."""

    def __init__(self) -> None:
        self.day = array("d")
        self.category: list[str] = []
        self.who: list[str] = []
        self.subcounty = array("l")
        self.ksh = array("d")

    def post(self, day: float, category: str, who: str, subcounty: int, ksh: float) -> None:
        if ksh:
            self.day.append(day)
            self.category.append(category)
            self.who.append(who)
            self.subcounty.append(subcounty)
            self.ksh.append(ksh)

    def post_each(self, day: float, category: str, who: list[str], subcounty: int,
                  ksh: float) -> None:
        """Post the same amount for each of ``who`` (nothing if it is zero)."""
        if ksh and who:
            n = len(who)
            self.day.extend([day] * n)
            self.category.extend([category] * n)
            self.who.extend(who)
            self.subcounty.extend([subcounty] * n)
            self.ksh.extend([ksh] * n)

    def extend(self, day: Sequence[float], category: list[str], who: list[str],
               subcounty: Sequence[int], ksh: Sequence[float]) -> None:
        """Post many entries at once, column by column (none of them zero); numbers may
        come as arrays, copied as bytes."""
        for column, values in ((self.day, day), (self.subcounty, subcounty), (self.ksh, ksh)):
            append(column, values)
        self.category.extend(category)
        self.who.extend(who)
