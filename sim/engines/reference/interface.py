"""What the reference engine's own processes (rounds, group posts) ask of its model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sim.engines.interface import Engine

if TYPE_CHECKING:
    from sim.agents.mentor import Mentor
    from sim.engines.reference.mentee import Mentee, Rates


class ReferenceEngine(Engine, Protocol):
    first_weekday: int  # weekday of day 0 (0 = Monday)
    horizon: float  # the last day
    rates: Rates  # decay per day and its protections
    reinforcement: float  # the share of a gap a post closes

    def visit(self, mentor: Mentor, mentee: Mentee) -> None:
        """A mentoring visit now: training on her agenda, its record and its costs."""
