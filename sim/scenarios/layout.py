"""The programme's layout: its facilities and the mentors' caseloads.

Pure functions of the config, so the network a scenario describes can be
inspected and tested without running the simulation.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass

from sim.config import OWNERSHIPS, Config
from sim.rng import code


@dataclass(frozen=True)
class Site:
    """A facility in the programme, as the scenario describes it.

    ``key`` names its random streams by (subcounty name, ownership, number within
    that ownership), so adding facilities elsewhere leaves its draws unchanged.
    """

    id: int
    subcounty: int
    ownership: str
    name: str
    keph_level: str | None
    setting: str
    sessions_per_week: int
    nurses: int
    key: tuple[int, ...]


@dataclass(frozen=True)
class Caseload:
    """A mentor slot: the sites it serves, and its stream key (subcounty name, number)."""

    subcounty: int
    key: tuple[int, ...]
    sites: list[int]


def sites(config: Config) -> list[Site]:
    """Every facility, numbered subcounty by subcounty, ownership by ownership.

    Whether a subcounty's facilities are counted or listed, the same counts give
    the same sites: a facility's place in the numbering and its stream key depend
    only on its subcounty, its ownership and its rank within that ownership.
    """
    fac = config.facilities
    days = {o: int(fac.session_days_per_week[o]) for o in OWNERSHIPS}
    nurses = {o: int(fac.immunizing_nurses[o]) for o in OWNERSHIPS}
    index = {o: i for i, o in enumerate(OWNERSHIPS)}
    out: list[Site] = []
    for s, sub in enumerate(config.subcounties):
        place, rank = code(sub.name), dict.fromkeys(OWNERSHIPS, 0)
        for o, name, level in sub.roster():
            out.append(Site(len(out), s, o, name, level, sub.setting, days[o], nurses[o],
                            (place, index[o], rank[o])))
            rank[o] += 1
    return out


def ratio(config: Config, subcounty: int) -> float:
    """Mentees per mentor in a subcounty: its scale-up phase's, else the mentor block's."""
    name = config.subcounties[subcounty].name
    for phase in config.scaleup.phases if config.scaleup else []:
        if name in phase.subcounties and phase.mentees_per_mentor is not None:
            return phase.mentees_per_mentor
    return config.mentor.mentees_per_mentor


def phase_of(config: Config, subcounty: int) -> int | None:
    """Index of the scale-up phase a subcounty joins in, or None if it is in from day 0."""
    name = config.subcounties[subcounty].name
    for k, phase in enumerate(config.scaleup.phases if config.scaleup else []):
        if name in phase.subcounties:
            return k
    return None


def caseloads(config: Config, layout: list[Site]) -> list[Caseload]:
    """``ceil(n / mentees_per_mentor)`` mentor slots per subcounty of ``n`` sites.

    Sites are dealt round-robin, so caseloads differ by at most one and mix
    ownership types the way a coordinator assigning from a list would.
    """
    slots: list[Caseload] = []
    for s, sub in enumerate(config.subcounties):
        ids = [site.id for site in layout if site.subcounty == s]
        n = math.ceil(len(ids) / ratio(config, s))
        slots.extend(Caseload(s, (code(sub.name), k), ids[k::n]) for k in range(n))
    return slots


def short_names(names: list[str]) -> str:
    """Names for one line: a long list is cut to its first three and a count."""
    if len(names) <= 5:
        return ", ".join(names)
    return f"{', '.join(names[:3])} and {len(names) - 3} more"


def describe_plan(cfg: Config) -> list[str]:
    """The scale-up plan as a planner reads it, a line each: who starts when, with how many
    facilities and mentors at what ratio, the budget and the graduation rule."""
    slots = [0] * len(cfg.subcounties)
    for caseload in caseloads(cfg, sites(cfg)):
        slots[caseload.subcounty] += 1

    def group(subs: list[int]) -> str:
        names = short_names([cfg.subcounties[s].name for s in subs])
        facilities = sum(cfg.subcounties[s].counts.total for s in subs)
        ratios = sorted({ratio(cfg, s) for s in subs})
        return (f"{names} ({facilities} facilities, {sum(slots[s] for s in subs)} mentors at "
                + " / ".join(f"1:{r:g}" for r in ratios) + ")")

    plan = cfg.scaleup
    first = [s for s in range(len(cfg.subcounties)) if phase_of(cfg, s) is None]
    lines = [f"  from the start: {group(first)}" if first else "  from the start: none"]
    starts = cfg.month_starts()
    for k, phase in enumerate(plan.phases):
        subs = [s for s in range(len(cfg.subcounties)) if phase_of(cfg, s) == k]
        when = (f"month {phase.start_month} "
                + (f"({cfg.start_date + dt.timedelta(days=starts[phase.start_month - 1])})"
                   if phase.start_month <= cfg.months else "(after the horizon)"))
        mentors = "graduates first, then recruits" if phase.mentors == "graduates" else "recruits"
        lines.append(f"  phase {k + 1}, {when}: {group(subs)}; mentors: {mentors}")
    first = calendar.month_name[cfg.costs.fiscal_year_start_month]
    budget = (f"KSh {plan.annual_budget_ksh:,.0f} a fiscal year (from {first})"
              if plan.annual_budget_ksh is not None else "no cap")
    lines.append(f"  annual budget: {budget}")
    if plan.graduation is not None:
        lines.append(f"  graduation: every area at level {plan.graduation.threshold} or above "
                     f"for {plan.graduation.months} month-end readings")
    return lines
