"""Value of information from a finished batch: which parameters are worth learning about,
and whether a county's own evaluation survey is worth running, and at what size.

The batch's replicates are a probabilistic analysis: each ran with its own parameter set
(a posterior draw, setting values, a sensitivity analysis's draws: the ``parameters``
table), and each strategy's net benefit at a willingness to pay is ``wtp * effect -
cost``. :mod:`sim.voi` turns these into EVPPI per parameter and group; EVSI comes from the
same regression on what a simulated evaluation survey of ``n`` facilities would find in
each replicate's world (:func:`sim.evaluation.study_summaries`). Values are per decision
(the batch's cohort), per nurse, and over the population the decision affects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from sim import batch, calibrate, compare, evaluation, voi
from sim import config as cfgmod
from sim.config import ConfigError

#: Evidence a baseline and endline survey gives (:data:`sim.calibrate.Parameter.informed_by`).
SURVEY_EVIDENCE = {calibrate.BASELINE, calibrate.ENDLINE}
#: Replications below which a regression of the net benefits on the draws means nothing.
FEWEST_DRAWS = 20
ALL = "all parameters"
INSTRUMENT = "survey items"
MEASURED = "what the survey measures"


@dataclass
class Population:
    """Who a decision affects: ``nurses`` a year for ``years`` years, discounted at ``rate``."""

    nurses: float
    years: int
    rate: float


@dataclass
class SurveyCost:
    """An evaluation survey's cost: ``fixed`` plus ``per_facility`` for each facility at
    each of its two waves (KSh)."""

    fixed: float
    per_facility: float

    def of(self, n: int) -> float:
        return self.fixed + 2 * n * self.per_facility


@dataclass
class Information:
    """A batch's value of information at one willingness to pay."""

    name: str
    wtp: float
    effect: str
    draws: int
    cohort: int  # nurse posts the batch's decision covers
    population: Population
    evpi: float  # of the raw net benefits: parameters and chance
    evppi: pd.DataFrame  # per parameter and group
    evsi: pd.DataFrame  # per survey size (empty without one)

    def measured(self) -> pd.Series:
        """The EVPPI row of what an evaluation survey measures, the bound on its EVSI (every
        parameter, when the survey measures them all)."""
        rows = self.evppi.set_index("name")
        return rows.loc[MEASURED] if MEASURED in rows.index else rows.loc[ALL]


def groups(columns: Sequence[str]) -> dict[str, list[str]]:
    """The parameters and groups to value: each outer parameter alone, the survey's items
    together, what a baseline and endline survey measures (if not everything), and
    everything."""
    outer = [c for c in columns if not c.startswith("survey.")]
    out = {c: [c] for c in outer}
    items = [c for c in columns if c.startswith("survey.")]
    if items:
        out[INSTRUMENT] = items
    measured = [c for c in columns if c in items or any(
        p.name == c and p.informed_by & SURVEY_EVIDENCE for p in calibrate.PARAMETERS)]
    if measured and measured != list(columns):
        out[MEASURED] = measured
    out[ALL] = list(columns)
    return out


def _drawn(out: str | Path, scenario: str, replicates: pd.Index) -> pd.DataFrame:
    """The parameter values each replicate ran with, the ones that vary."""
    table = batch.read(out, "parameters")
    table = table[table["scenario"] == scenario].set_index("replicate")
    table = table.drop(columns=[c for c in ("scenario", "draw") if c in table])
    table = table.reindex(replicates)
    varied = [c for c in table if table[c].notna().all() and table[c].nunique() > 1]
    if not varied:
        raise ConfigError(f"{out}: the batch's replicates share one parameter set: value of "
                          "information needs a posterior, setting spreads or a psa: block")
    return table[varied]


def value_of_information(out: str | Path, wtp: float, effect: str = "competency_point_years",
                         rate: float | None = None, nurses: float | None = None,
                         years: int = 1, sizes: Sequence[int] = (), months: int = 12,
                         cost: SurveyCost | None = None, evaluated: str | None = None
                         ) -> Information:
    """EVPPI of each parameter and group, and EVSI (and its net benefit, given the
    survey's ``cost``) of an evaluation of each of ``sizes`` facilities over ``months`` of
    the ``evaluated`` scenario's programme (default: the experiment's first scenario).

    The population is ``nurses`` a year (default: the batch's cohort) for ``years`` years,
    discounted at ``rate`` (default: the scenarios' own)."""
    if wtp < 0:
        raise ConfigError(f"--wtp: a willingness to pay cannot be negative, got {wtp:g}")
    ce = compare.cost_effectiveness(out, effect, rate, [wtp])
    nb = (wtp * ce.effect - ce.cost)[ce.strategies].to_numpy()
    if len(nb) < FEWEST_DRAWS:
        raise ConfigError(f"{out}: {len(nb)} replications; value of information needs at "
                          f"least {FEWEST_DRAWS} (extend the batch with --resume --reps)")
    exp = batch.experiment_of(out)
    names = list(exp["scenarios"])
    evaluated = evaluated or names[0]
    if evaluated not in names:
        raise ConfigError(f"--survey-scenario: {out} has no scenario {evaluated!r} "
                          f"({', '.join(names)})")
    x = _drawn(out, evaluated, ce.cost.index)
    path = Path(out, "scenarios", f"{names.index(evaluated):03d}.yaml")
    cfg = cfgmod.from_dict(yaml.safe_load(path.read_text()), path.name)
    cohort = sum(s.counts.total for s in cfg.subcounties)
    population = Population(nurses or cohort, years, ce.rate)
    scale = voi.population(1.0 / cohort, population.nurses, population.years, population.rate)

    def row(name: str, value: voi.Value, **more: float) -> dict:
        return {"name": name, "wtp_ksh": wtp, "draws": len(nb),
                "per_decision_ksh": value.value, "se_ksh": value.se,
                "per_nurse_ksh": value.value / cohort, "population_ksh": value.value * scale,
                "population_se_ksh": value.se * scale, **more}

    rows = [row(g, voi.evppi(nb, x[cols].to_numpy()), parameters=len(cols))
            for g, cols in groups(list(x.columns)).items()]
    evppi = pd.DataFrame(rows).sort_values("per_decision_ksh", ascending=False, kind="stable")
    evsi = []
    if sizes:
        worlds = x.to_dict("records")
        for n in sizes:
            summary = evaluation.study_summaries(cfg, worlds, exp["seed"], n, months)
            r = row(f"n={n}", voi.evppi(nb, summary), facilities=n)
            if cost is not None:
                r |= {"survey_cost_ksh": cost.of(n),
                      "net_benefit_of_sampling_ksh": r["population_ksh"] - cost.of(n)}
            evsi.append(r)
    return Information(ce.name, wtp, effect, len(nb), cohort, population,
                       float(ce.decision["evpi_ksh"].iloc[0]),
                       evppi.reset_index(drop=True), pd.DataFrame(evsi))
