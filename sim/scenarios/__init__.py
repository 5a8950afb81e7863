"""Scenarios: who is in the programme and who serves whom, from plain parameters.

A scenario YAML (``configs/``) is validated by :mod:`sim.config`; this package
lays it out as a declarative network, the facilities with their attributes
and the mentors' caseloads, which :mod:`sim.model` then brings to life.
"""

from sim.scenarios.layout import Caseload, Site, caseloads, phase_of, ratio, sites

__all__ = ["Caseload", "Site", "caseloads", "phase_of", "ratio", "sites"]
