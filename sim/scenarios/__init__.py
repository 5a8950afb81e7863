"""Scenarios: who is in the programme and who serves whom, from plain parameters.

A scenario YAML (``configs/``) is validated by :mod:`sim.config`; this package
lays it out as a declarative network, the facilities with their attributes
and the mentors' caseloads, which the engines (:mod:`sim.engines`) then bring to life.
"""

from sim.scenarios.layout import (Caseload, Site, caseloads, describe_plan, phase_of, ratio,
                                  short_names, sites)

__all__ = ["Caseload", "Site", "caseloads", "describe_plan", "phase_of", "ratio",
           "short_names", "sites"]
