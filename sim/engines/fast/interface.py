"""What the fast engine's own machinery (its rounds calendar, its groups) asks of its model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from sim.engines.interface import Engine

if TYPE_CHECKING:
    from sim.agents.mentor import Mentor
    from sim.engines.fast.nurses import Dynamics, Nurses


class FastModel(Engine, Protocol):
    first_weekday: int  # weekday of day 0 (0 = Monday)
    horizon: float  # the last day
    dynamics: Dynamics  # competency parameters per day
    nurses: Nurses  # every post's nurse, a row each
    post_sums: Any  # every group's posts (a groups.PostSums)

    def visit(self, mentors: list[Mentor], rows: Sequence[int]) -> None:
        """Mentors visit the nurses of these posts today, trained after the day's rounds."""
