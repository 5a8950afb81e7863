"""Interventions: programme rules a scenario adds by name, without editing the model.

A scenario lists them under ``interventions:``, each with a ``type`` and its
parameters::

    interventions:
      - type: refresher_course          # a built-in
        month: 6
        gain: 0.3
        cost_per_nurse: 3500
      - type: my_rules.py:JobAid        # a class of your own, in a file beside the scenario
        month: 3                        # (examples/interventions/job_aid.py is one)
        area: cold_chain

An intervention is a subclass of :class:`Intervention` with a pydantic model of its
parameters (``Params``, validated when the scenario loads, like every other block)
and a SimPy process (:meth:`Intervention.run`) written against the engines' narrow
interface (:class:`sim.engines.interface.Programme`). Its costs go to the ledger
under ``interventions``. The built-ins are :mod:`sim.interventions.refresher` and
:mod:`sim.interventions.supervision`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict

from sim.config import intervention_class

if TYPE_CHECKING:
    from sim.config import InterventionSpec
    from sim.engines.interface import Programme


class Params(BaseModel):
    """Base of an intervention's parameters: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Intervention:
    """A programme rule added from YAML: its ``Params`` and its process."""

    Params: ClassVar[type[Params]] = Params

    def __init__(self, name: str, params: Params) -> None:
        self.name = name  # its ``type`` in the scenario: names its costs and streams
        self.params = params

    def run(self, programme: Programme) -> Generator:
        """The SimPy process of the rule, started when the model is built."""
        raise NotImplementedError


def build(spec: InterventionSpec) -> Intervention:
    """The intervention a scenario names, with its validated parameters."""
    cls = intervention_class(spec.type)
    return cls(spec.name, cls.Params.model_validate(spec.params))
