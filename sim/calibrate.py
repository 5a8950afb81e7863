"""Calibration: fit what the paper does not give to one arm's survey results.

The objective is an explicit negative log-likelihood of the observed counts:

* each survey item at each wave: Binomial(n, p), with ``n`` the study's sample
  size, ``k = round(share * n)`` right answers and ``p`` the model's mean chance
  of a right answer among the respondents it would survey;
* the visits received by the nurses enrolled at endline: Multinomial over the
  targets' bins plus the remainder;
* the nurses still enrolled at endline: Binomial over the facilities.

Outer parameters (learning and decay rates, a shift and spread of the
baseline, the survey's typical discrimination, turnover and mentor absence) are
moved by Nelder-Mead in a transformed space. Two survey waves cannot separate
every one of them (learning and decay, for one, only show as their net gain),
so each has a weak prior at the assumed value it replaces: the objective is
the penalised likelihood, and a parameter the data do not inform stays near
its assumption instead of drifting to a bound. For each outer point every item's
difficulty and discrimination are fitted on their own (a profile likelihood),
which is cheap because they do not change the simulation. Item discriminations
are shrunk towards the survey's typical value by a log-normal prior (sd
``PRIOR_SD``, an assumption of the calibration), so an item moves away from it
only as far as its own two shares demand: an item whose share did not move
while its area's skills grew gets a small discrimination.
Every evaluation reuses the same seed and replicates (common random numbers),
so the objective is smooth enough for a simplex search, and a calibration is a
pure function of (config, targets, seed, replicates, evaluations).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from sim import config as cfgmod
from sim import metrics, survey
from sim.config import AREAS, Config
from sim.execution import progress
from sim.engines import simulate

TINY = 1e-9
PRIOR_SD = 1.0  # sd of log item discrimination around the survey's typical value


@dataclass(frozen=True)
class Parameter:
    """An outer parameter: how to read it from a config, write it back, and bound it."""

    name: str
    get: Callable[[Config], float]
    lo: float
    hi: float
    log: bool  # search on the log scale (rates); otherwise linear within [lo, hi]
    prior: float  # centre of the prior: the assumption the fit replaces
    prior_sd: float  # on the search scale (log for rates)

    def penalty(self, x: float) -> float:
        z = (math.log(x) - math.log(self.prior)) if self.log else (x - self.prior)
        return 0.5 * (z / self.prior_sd) ** 2

    def to_unit(self, x: float) -> float:
        x = min(max(x, self.lo), self.hi)
        if self.log:
            return (math.log(x) - math.log(self.lo)) / (math.log(self.hi) - math.log(self.lo))
        return (x - self.lo) / (self.hi - self.lo)

    def from_unit(self, u: float) -> float:
        u = min(max(u, 0.0), 1.0)
        if self.log:
            return math.exp(math.log(self.lo) + u * (math.log(self.hi) - math.log(self.lo)))
        return self.lo + u * (self.hi - self.lo)


def _baseline_level(cfg: Config) -> float:
    return float(np.mean(list(cfg.mentee.baseline.mean.values())))


#: The outer parameters, their search ranges and priors (docs/calibration.md's table).
PARAMETERS: tuple[Parameter, ...] = (
    Parameter("mentee.learning.rate", lambda c: c.mentee.learning.rate, 0.02, 2.5, True, 0.35, 0.7),
    Parameter("mentee.decay.rate_per_year", lambda c: c.mentee.decay.rate_per_year,
              0.02, 5.0, True, 1.0, 0.7),
    Parameter("mentee.baseline.level", _baseline_level, 0.5, 3.0, False, 1.7, 0.5),
    Parameter("mentee.baseline.sd", lambda c: c.mentee.baseline.sd, 0.05, 1.5, True, 0.6, 0.5),
    Parameter("survey.discrimination", lambda c: c.survey.discrimination,
              0.3, 6.0, True, 1.5, 0.7),
    Parameter("mentee.turnover.hazard_per_year", lambda c: c.mentee.turnover.hazard_per_year,
              0.005, 1.0, True, 0.10, 1.0),
    Parameter("mentor.absence_probability", lambda c: c.mentor.absence_probability,
              0.0, 0.5, False, 0.10, 0.1),
)


def apply(cfg: Config, values: dict[str, float]) -> Config:
    """The config with outer parameter values set (the baseline level shifts every area)."""
    data = cfg.to_dict()
    for name, value in values.items():
        if name == "mentee.baseline.level":
            shift = value - _baseline_level(cfg)
            data["mentee"]["baseline"]["mean"] = {
                a: float(np.clip(m + shift, 0.0, 4.0)) for a, m in cfg.mentee.baseline.mean.items()
            }
        else:
            cfgmod.set_dotted(data, name, float(value))
    return cfgmod.from_dict(data, cfg.name)


def _binomial_nll(k: float, n: int, p: float) -> float:
    p = min(max(p, TINY), 1 - TINY)
    return -(k * math.log(p) + (n - k) * math.log(1 - p))


@dataclass
class Evaluation:
    """The likelihood at one outer point, with its profiled item difficulties."""

    objective: float
    items: dict[str, tuple[float, float]]  # item -> (difficulty, discrimination)
    parts: dict[str, float] = field(default_factory=dict)


class Objective:
    """Negative log-likelihood of a targets file under a config, at fixed seed and replicates."""

    def __init__(self, cfg: Config, targets: survey.Targets, reps: int, seed: int) -> None:
        survey.check_items(cfg, targets)
        if [s.name for s in cfg.subcounties] != [targets.subcounty]:
            raise cfgmod.ConfigError(
                f"{cfg.name}: subcounties: calibrate one arm, the targets' {targets.subcounty}"
            )
        self.cfg, self.targets, self.reps, self.seed = cfg, targets, reps, seed
        # every inner fit starts from the config's values, so evaluations do not depend
        # on the order they are made in
        self._start = {n: (i.difficulty, math.log(i.discrimination or cfg.survey.discrimination))
                       for n, i in cfg.survey.items.items() if i.supply is None}

    def __call__(self, values: dict[str, float]) -> Evaluation:
        cfg = apply(self.cfg, values)
        records = [simulate(cfg, self.seed, r) for r in range(self.reps)]
        resp = survey.respondents(cfg, records)
        log_a = math.log(cfg.survey.discrimination)
        t = self.targets
        parts: dict[str, float] = {}
        fitted: dict[str, tuple[float, float]] = {}
        groups = resp.groupby(["item", "wave"]).indices
        levels = resp["level"].to_numpy(dtype=float)
        for item, (kind, s0, s1) in t.shares().items():
            obs = [(levels[groups.get((item, w), [])], t.n(kind, w), s)
                   for w, s in zip(survey.WAVES, (s0, s1), strict=True)]
            spec = cfg.survey.items[item]
            if spec.supply is not None:
                parts[item] = sum(_binomial_nll(round(s * n), n, float(lv.mean()) if len(lv) else 0.5)
                                  for lv, n, s in obs)
                continue

            def nll(x: np.ndarray, obs=obs) -> float:
                d, la = x
                a = math.exp(la)
                fit = sum(
                    _binomial_nll(round(s * n), n,
                                  float(survey.item_response(lv, d, a).mean()) if len(lv) else 0.5)
                    for lv, n, s in obs
                )
                return fit + 0.5 * ((la - log_a) / PRIOR_SD) ** 2

            start = self._start.get(item, (spec.difficulty, log_a))
            best = minimize(nll, np.array(start), method="L-BFGS-B",
                            bounds=[(-10.0, 14.0), (log_a - 4 * PRIOR_SD, log_a + 4 * PRIOR_SD)])
            fitted[item] = (float(best.x[0]), math.exp(float(best.x[1])))
            parts[item] = float(best.fun)
        mentees = metrics.mentees(cfg, records)
        parts["visits_received"] = self._visits_nll(mentees)
        parts["enrolled_at_endline"] = self._enrolled_nll(mentees, cfg)
        parts["priors"] = sum(p.penalty(values[p.name]) for p in PARAMETERS if p.name in values)
        return Evaluation(float(sum(parts.values())), fitted, parts)

    def _visits_nll(self, mentees: pd.DataFrame) -> float:
        labels = list(self.targets.visits_received)
        shares = survey.visits_received(mentees, labels).mean()
        n = self.targets.sample_sizes.visits_received
        observed = [round(self.targets.visits_received[b] * n) for b in labels]
        probs = [float(shares[b]) for b in labels]
        observed.append(n - sum(observed))
        probs.append(max(0.0, 1.0 - sum(probs)))
        # a little pseudo-count keeps a bin the replicates never hit from costing infinity
        smooth = 0.5 / (self.reps * n)
        probs = [(p + smooth) / (1 + smooth * len(probs)) for p in probs]
        return -sum(k * math.log(p) for k, p in zip(observed, probs, strict=True))

    def _enrolled_nll(self, mentees: pd.DataFrame, cfg: Config) -> float:
        facilities = sum(s.counts.total for s in cfg.subcounties)
        enrolled = mentees[mentees["exit_reason"].isna()].groupby("replicate").size()
        p = float(enrolled.reindex(range(self.reps), fill_value=0).mean()) / facilities
        return _binomial_nll(self.targets.dropouts.enrolled_at_endline, facilities, p)


@dataclass
class Fit:
    """A finished calibration."""

    values: dict[str, float]
    evaluation: Evaluation
    initial_objective: float
    trace: pd.DataFrame
    config: Config  # the calibrated config


def calibrate(cfg: Config, targets: survey.Targets, reps: int = 40, seed: int = 1,
              evaluations: int = 200) -> Fit:
    """Fit the outer parameters by Nelder-Mead, profiling the item difficulties."""
    objective = Objective(cfg, targets, reps, seed)
    start = {p.name: p.get(cfg) for p in PARAMETERS}
    trace: list[dict] = []
    cache: dict[tuple[float, ...], Evaluation] = {}
    bar = progress(evaluations + 1, cfg.name, "evaluation")  # + the final evaluation

    def f(u: np.ndarray) -> float:
        values = {p.name: p.from_unit(x) for p, x in zip(PARAMETERS, u, strict=True)}
        key = tuple(round(v, 12) for v in values.values())
        if key not in cache:
            cache[key] = objective(values)
            trace.append({**values, "objective": cache[key].objective})
            bar.update()
        return cache[key].objective

    u0 = np.array([p.to_unit(start[p.name]) for p in PARAMETERS])
    with bar:
        initial = f(u0)
        result = minimize(f, u0, method="Nelder-Mead",
                          options={"maxfev": max(1, evaluations - 1), "xatol": 1e-3,
                                   "fatol": 1e-3, "initial_simplex": _simplex(u0)})
        best_u = result.x if result.fun <= initial else u0
        values = {p.name: p.from_unit(x) for p, x in zip(PARAMETERS, best_u, strict=True)}
        evaluation = objective(values)
        bar.update()
    fitted = apply(cfg, values)
    data = fitted.to_dict()
    for item, (d, a) in evaluation.items.items():
        data["survey"]["items"][item]["difficulty"] = d
        data["survey"]["items"][item]["discrimination"] = a
    data["calibration"] = {
        "targets": f"{targets.subcounty} arm",
        "seed": seed,
        "date": dt.date.today().isoformat(),
        "method": "Nelder-Mead over the outer parameters; item parameters profiled (L-BFGS-B)",
        "evaluations": len(trace),
        "replicates": reps,
        "objective": round(evaluation.objective, 4),
        "parameters": [p.name for p in PARAMETERS]
        + ["survey.items.*.difficulty", "survey.items.*.discrimination"],
    }
    return Fit(values, evaluation, initial, pd.DataFrame(trace),
               cfgmod.from_dict(data, cfg.name))


def _simplex(u0: np.ndarray, step: float = 0.1) -> np.ndarray:
    """A starting simplex that steps inward from the unit cube's faces."""
    pts = [u0]
    for i in range(len(u0)):
        u = u0.copy()
        u[i] = u[i] + step if u[i] + step <= 1 else u[i] - step
        pts.append(u)
    return np.array(pts)


def parameters_document(fit: Fit) -> dict:
    """The parameter file a config can include: fitted values and where they came from."""
    cfg = fit.config
    return {
        "calibration": cfg.calibration.model_dump(),
        "mentee": {
            "baseline": {"mean": {a: round(cfg.mentee.baseline.mean[a], 4) for a in AREAS},
                         "sd": round(cfg.mentee.baseline.sd, 4)},
            "learning": {"rate": round(cfg.mentee.learning.rate, 4)},
            "decay": {"rate_per_year": round(cfg.mentee.decay.rate_per_year, 4)},
            "turnover": {"hazard_per_year": round(cfg.mentee.turnover.hazard_per_year, 4)},
        },
        "mentor": {"absence_probability": round(cfg.mentor.absence_probability, 4)},
        "survey": {
            "discrimination": round(cfg.survey.discrimination, 4),
            "items": {name: {"difficulty": round(item.difficulty, 4),
                             "discrimination": round(item.discrimination, 4)}
                      for name, item in cfg.survey.items.items() if item.supply is None},
        },
    }
