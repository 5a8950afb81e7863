"""Calibration: the joint posterior of what the paper does not give, fitted to one arm's results.

The likelihood is explicit, of the observed counts:

* each survey item at each wave surveyed: Binomial(n, p), with ``n`` the study's
  sample size, ``k = round(share * n)`` right answers and ``p`` the model's mean
  chance of a right answer among the respondents it would survey;
* the visits received by the nurses enrolled at endline: Multinomial over the
  targets' bins plus the remainder;
* the nurses still enrolled at endline, and those who left their posts:
  Binomial over the facilities;
* mentors' checklist scores at programme months: Normal, the observed mean
  around the model's with the standard error of ``n`` mentees.

The outer parameters (:data:`PARAMETERS`: learning and decay rates, a shift and
spread of the baseline, the survey's typical discrimination, turnover and mentor
absence) have weak priors at the assumed values they replace; a parameter is
fitted only when the targets hold something that informs it (a baseline survey
alone says nothing of learning), and the others keep the config's values. Item
difficulties and discriminations are profiled at every point (fitted on their
own, cheaply, since they do not change the simulation), with each log
discrimination shrunk to the survey's typical value by a Normal prior of sd
:data:`PRIOR_SD`; they are fitted only from a survey of both waves, since one
wave cannot tell an item's difficulty from the nurses' level.

Calibration runs in two stages, both on common random numbers (every evaluation
reuses the same seed and replicates, so the objective is a smooth, deterministic
function of the parameters):

1. the mode, by Nelder-Mead (SciPy) on the penalised likelihood: the point
   estimate, written as an includable parameter file;
2. the posterior around it, by emcee's affine-invariant ensemble sampler: it
   needs no gradients (a simulated likelihood has none), copes with correlated
   parameters (learning and decay show together as a net gain) without tuning,
   evaluates its walkers in parallel batches, and reports autocorrelation
   times, from which the effective sample size follows.

Each posterior draw carries its profiled item parameters, so a draw is a whole
parameter set. A calibration is a pure function of (config, targets, seed,
replicates, evaluations, walkers, steps), whatever the number of worker
processes, and the sampler's state is kept after every step so that an
interrupted calibration resumes to the same result.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import emcee
import numpy as np
import pandas as pd
from scipy.optimize import minimize

from sim import metrics, survey
from sim.config import BASELINE_LEVEL, Config, ConfigError, set_dotted
from sim.engines import simulate
from sim.execution import mapper, progress
from sim.rng import code

TINY = 1e-9
PRIOR_SD = 1.0  # sd of log item discrimination around the survey's typical value
LOW, HIGH = 0.05, 0.95  # the credible interval reported
MIN_STEPS = 20  # kept steps below which no autocorrelation time is estimated

# What a targets file can hold, as the evidence a parameter needs (Parameter.informed_by).
BASELINE, ENDLINE, VISITS, DROPOUTS = "baseline", "endline", "visits", "dropouts"


@dataclass(frozen=True)
class Parameter:
    """An outer parameter: its dotted key, bounds, prior and the evidence that informs it.

    It is searched and sampled on ``z``, the log of its value for a rate (``log``)
    and the value itself otherwise; its prior is Normal on ``z``, truncated to the bounds.
    """

    name: str
    lo: float
    hi: float
    log: bool
    prior: float  # centre of the prior: the assumption the fit replaces
    prior_sd: float  # on z
    informed_by: frozenset[str]

    def get(self, cfg: Config) -> float:
        return cfg.value(self.name)

    def to_z(self, x: float) -> float:
        return math.log(x) if self.log else x

    def from_z(self, z: float) -> float:
        return math.exp(z) if self.log else z

    @property
    def bounds(self) -> tuple[float, float]:
        return self.to_z(self.lo), self.to_z(self.hi)

    def penalty(self, x: float) -> float:
        """Minus the log prior density (up to a constant)."""
        return 0.5 * ((self.to_z(x) - self.to_z(self.prior)) / self.prior_sd) ** 2

    def to_unit(self, x: float) -> float:
        lo, hi = self.bounds
        return (self.to_z(min(max(x, self.lo), self.hi)) - lo) / (hi - lo)

    def from_unit(self, u: float) -> float:
        lo, hi = self.bounds
        return self.from_z(lo + min(max(u, 0.0), 1.0) * (hi - lo))


def _p(name: str, lo: float, hi: float, log: bool, prior: float, sd: float,
       *informed_by: str) -> Parameter:
    return Parameter(name, lo, hi, log, prior, sd, frozenset(informed_by))


#: The outer parameters, their ranges, priors and evidence (docs/calibration.md's table).
PARAMETERS: tuple[Parameter, ...] = (
    _p("mentee.learning.rate", 0.02, 2.5, True, 0.35, 0.7, ENDLINE),
    _p("mentee.decay.rate_per_year", 0.02, 5.0, True, 1.0, 0.7, ENDLINE),
    _p(BASELINE_LEVEL, 0.5, 3.0, False, 1.7, 0.5, BASELINE, ENDLINE),
    _p("mentee.baseline.sd", 0.05, 1.5, True, 0.6, 0.5, BASELINE, ENDLINE),
    _p("survey.discrimination", 0.3, 6.0, True, 1.5, 0.7),  # only with the items fitted
    _p("mentee.turnover.hazard_per_year", 0.005, 1.0, True, 0.10, 1.0, VISITS, DROPOUTS),
    _p("mentor.absence_probability", 0.0, 0.5, False, 0.10, 0.1, VISITS),
)


def evidence(targets: survey.Targets) -> set[str]:
    """What the targets inform: survey waves (checklist scores count as a wave: month 0 as
    the baseline, later months as the endline), visits received, drop-outs."""
    out = set(targets.waves())
    if targets.checklist is not None:
        out |= {BASELINE if m == 0 else ENDLINE for m in targets.checklist.by_month}
    if targets.visits_received:
        out.add(VISITS)
    if any(v is not None for v in targets.dropouts.model_dump().values()):
        out.add(DROPOUTS)
    return out


def fits_items(targets: survey.Targets, items: str) -> bool:
    """Whether the item parameters are fitted: ``"fit"``, ``"keep"``, or ``"auto"`` (fitted
    when every item has both waves)."""
    if items not in ("auto", "fit", "keep"):
        raise ConfigError(f"--items: {items!r} is not one of auto, fit, keep")
    if items == "auto":
        shares = targets.shares().values()
        return bool(shares) and all(s0 is not None and s1 is not None for _, s0, s1 in shares)
    return items == "fit" and bool(targets.shares())


def fitted_parameters(targets: survey.Targets, with_items: bool,
                      only: Sequence[str] | None = None) -> tuple[Parameter, ...]:
    """The outer parameters the targets inform (of ``only``, if given), in
    :data:`PARAMETERS` order."""
    known = [p.name for p in PARAMETERS]
    for name in only or ():
        if name not in known:
            raise ConfigError(f"--fit: {name} is not a calibrated parameter ({', '.join(known)})")
    have = evidence(targets)
    return tuple(p for p in PARAMETERS
                 if (p.informed_by & have or (with_items and p.name == "survey.discrimination"))
                 and (only is None or p.name in only))


def _binomial_nll(k: float, n: int, p: float) -> float:
    p = min(max(p, TINY), 1 - TINY)
    return -(k * math.log(p) + (n - k) * math.log(1 - p))


@dataclass
class Evaluation:
    """The objective at one point: minus the log posterior (up to a constant), its parts,
    and the profiled item parameters (empty when the items keep the config's)."""

    objective: float
    items: dict[str, tuple[float, float]]  # item -> (difficulty, discrimination)
    parts: dict[str, float] = field(default_factory=dict)


class Objective:
    """Minus the log posterior of the parameters given a targets file, at fixed seed and
    replicates (common random numbers)."""

    def __init__(self, cfg: Config, targets: survey.Targets, reps: int, seed: int,
                 parameters: Sequence[Parameter] = PARAMETERS, fit_items: bool = True) -> None:
        if targets.shares():
            survey.check_items(cfg, targets)
        if [s.name for s in cfg.subcounties] != [targets.subcounty]:
            raise ConfigError(
                f"{cfg.name}: subcounties: calibrate one arm, the targets' {targets.subcounty}"
            )
        self.cfg, self.targets, self.reps, self.seed = cfg, targets, reps, seed
        self.parameters, self.fit_items = tuple(parameters), fit_items
        # every inner fit starts from the config's values, so evaluations do not depend
        # on the order they are made in
        disc = cfg.survey.discrimination if cfg.survey else 1.0
        self._start = {n: (i.difficulty, math.log(i.discrimination or disc))
                       for n, i in (cfg.survey.items.items() if cfg.survey else ())
                       if i.supply is None}

    def __call__(self, values: dict[str, float]) -> Evaluation:
        cfg = self.cfg.with_values(values)
        records = [simulate(cfg, self.seed, r) for r in range(self.reps)]
        parts: dict[str, float] = {}
        fitted: dict[str, tuple[float, float]] = {}
        if self.targets.shares():
            fitted = self._items(cfg, records, parts)
        mentees = metrics.mentees(cfg, records) if self._needs_spells() else None
        if self.targets.visits_received:
            parts["visits_received"] = self._visits_nll(mentees)
        facilities = cfg.subcounties[0].counts.total
        counts = survey.dropouts(mentees, self.reps) if mentees is not None else {}
        for name, per_replicate in counts.items():
            observed = getattr(self.targets.dropouts, name)
            if observed is not None:
                parts[name] = _binomial_nll(observed, facilities,
                                            float(per_replicate.mean()) / facilities)
        if self.targets.checklist is not None:
            parts["checklist"] = self._checklist_nll(records)
        parts["priors"] = sum(p.penalty(values[p.name]) for p in self.parameters
                              if p.name in values)
        return Evaluation(float(sum(parts.values())), fitted, parts)

    def _needs_spells(self) -> bool:
        drop = self.targets.dropouts
        return bool(self.targets.visits_received) or any(
            v is not None for v in (drop.enrolled_at_endline, drop.left_by_turnover,
                                    drop.facilities_dropped))

    def _items(self, cfg: Config, records: list, parts: dict[str, float]
               ) -> dict[str, tuple[float, float]]:
        """Each item's part of the objective; its parameters profiled if they are fitted."""
        resp = survey.respondents(cfg, records)
        p_all = survey.probabilities(resp)
        log_a = math.log(cfg.survey.discrimination)
        groups = resp.groupby(["item", "wave"]).indices
        levels = resp["level"].to_numpy(dtype=float)
        able = resp["able"].to_numpy(dtype=float)  # 0 where the facility lacks what it needs
        t, fitted = self.targets, {}
        for item, (kind, s0, s1) in t.shares().items():
            waves = [(w, s) for w, s in zip(survey.WAVES, (s0, s1), strict=True) if s is not None]
            idx = [groups.get((item, w), np.empty(0, dtype=int)) for w, _ in waves]
            counts = [(round(s * t.n(kind, w)), t.n(kind, w)) for w, s in waves]
            spec = cfg.survey.items[item]
            if spec.supply is not None or not self.fit_items:
                parts[item] = sum(_binomial_nll(k, n, float(p_all[i].mean()) if len(i) else 0.5)
                                  for i, (k, n) in zip(idx, counts, strict=True))
                continue
            obs = [(levels[i], able[i], k, n) for i, (k, n) in zip(idx, counts, strict=True)]

            start = self._start.get(item, (spec.difficulty, log_a))
            best = minimize(_item_nll, np.array(start), args=(obs, log_a), jac=True,
                            method="L-BFGS-B",
                            bounds=[(-10.0, 14.0), (log_a - 4 * PRIOR_SD, log_a + 4 * PRIOR_SD)])
            fitted[item] = (float(best.x[0]), math.exp(float(best.x[1])))
            parts[item] = float(best.fun)
        return fitted

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

    def _checklist_nll(self, records: list) -> float:
        """Normal: the observed mean score around the model's, with the standard error of
        ``n`` mentees (the model's mean is over replicates: its own noise is small)."""
        c = self.targets.checklist
        se = c.sd / math.sqrt(c.n)
        total = 0.0
        for month, observed in c.by_month.items():
            scores = survey.checklist_scores(records, month)
            scores = scores[~np.isnan(scores)]
            # a month no replicate reached, or had no nurse enrolled at, cannot be matched
            total += 0.5 * ((observed - scores.mean()) / se) ** 2 if len(scores) else 1e6
        return total


def _item_nll(x: np.ndarray, obs: list[tuple[np.ndarray, np.ndarray, int, int]],
              log_a: float) -> tuple[float, np.ndarray]:
    """An item's objective at (difficulty, log discrimination) and its gradient: for each
    wave, Binomial(n, p) of k right answers, p the respondents' mean chance (0 for one not
    able to do the practice), plus the Normal prior on the log discrimination."""
    d, la = x
    a = math.exp(la)
    value = 0.5 * ((la - log_a) / PRIOR_SD) ** 2
    grad = np.array([0.0, (la - log_a) / PRIOR_SD**2])
    for lv, ab, k, n in obs:
        if not len(lv):
            value += _binomial_nll(k, n, 0.5)
            continue
        s = survey.item_response(lv, d, a)
        p = float((ab * s).mean())
        value += _binomial_nll(k, n, p)
        if TINY < p < 1 - TINY:  # the clipped likelihood is flat outside
            slope = ab * s * (1 - s) * a  # dp/dc for each respondent
            dnll_dp = -(k / p - (n - k) / (1 - p))
            grad += dnll_dp * np.array([-slope.mean(), (slope * (lv - d)).mean()])
    return value, grad


def _evaluate(objective: Objective, values: dict[str, float]) -> Evaluation:
    return objective(values)


# --- stage 1: the mode -------------------------------------------------------------------


@dataclass
class Mode:
    """The penalised-likelihood optimum found by Nelder-Mead."""

    values: dict[str, float]
    evaluation: Evaluation
    initial_objective: float
    trace: pd.DataFrame


def find_mode(objective: Objective, evaluations: int, bar: Callable[[], None]) -> Mode:
    """Nelder-Mead from the config's values over the fitted parameters (none: no search)."""
    params = objective.parameters
    start = {p.name: p.get(objective.cfg) for p in params}
    trace: list[dict] = []
    cache: dict[tuple[float, ...], Evaluation] = {}

    def f(u: np.ndarray) -> float:
        values = {p.name: p.from_unit(float(x)) for p, x in zip(params, u, strict=True)}
        key = tuple(round(v, 12) for v in values.values())
        if key not in cache:
            cache[key] = objective(values)
            trace.append({**values, "objective": cache[key].objective})
            bar()
        return cache[key].objective

    u0 = np.array([p.to_unit(start[p.name]) for p in params])
    initial = f(u0)
    best_u = u0
    if evaluations > 1 and params:
        result = minimize(f, u0, method="Nelder-Mead",
                          options={"maxfev": evaluations - 1, "xatol": 1e-3, "fatol": 1e-3,
                                   "initial_simplex": _simplex(u0)})
        best_u = result.x if result.fun <= initial else u0
    values = {p.name: p.from_unit(float(x)) for p, x in zip(params, best_u, strict=True)}
    key = tuple(round(v, 12) for v in values.values())
    return Mode(values, cache[key] if key in cache else objective(values), initial,
                pd.DataFrame(trace))


def _simplex(u0: np.ndarray, step: float = 0.1) -> np.ndarray:
    """A starting simplex that steps inward from the unit cube's faces."""
    pts = [u0]
    for i in range(len(u0)):
        u = u0.copy()
        u[i] = u[i] + step if u[i] + step <= 1 else u[i] - step
        pts.append(u)
    return np.array(pts)


# --- stage 2: the posterior --------------------------------------------------------------


@dataclass
class Chain:
    """The sampler's walkers, step by step: positions on z, log posterior and each
    position's item parameters (difficulty, discrimination per fitted item)."""

    z: np.ndarray  # (steps, walkers, parameters)
    log_posterior: np.ndarray  # (steps, walkers)
    items: np.ndarray  # (steps, walkers, 2 * items)
    random_state: tuple | None  # the sampler's, after the last step

    @property
    def steps(self) -> int:
        return len(self.z)


class Sampler:
    """emcee's ensemble sampler over the fitted parameters' z, from a ball around the mode."""

    def __init__(self, objective: Objective, mode: Mode, walkers: int, seed: int,
                 run: Callable, bar: Callable[[], None]) -> None:
        self.objective, self.params = objective, objective.parameters
        self.names = list(mode.evaluation.items)  # the fitted items
        self.walkers, self.seed, self._run, self._bar = walkers, seed, run, bar
        self.interrupted = False
        self.mode = mode

    def start(self) -> Chain:
        """Step 0: the walkers in a ball around the mode (a tenth of each prior sd)."""
        gen = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(
            code("calibrate.walkers"),)))
        centre = np.array([p.to_z(self.mode.values[p.name]) for p in self.params])
        spread = np.array([0.1 * p.prior_sd for p in self.params])
        lo, hi = (np.array(b) for b in zip(*(p.bounds for p in self.params), strict=True))
        z = centre + spread * gen.standard_normal((self.walkers, len(self.params)))
        z = np.clip(z, lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo))
        logp, items = self.log_posterior(z)
        state = np.random.RandomState(
            np.random.SeedSequence(self.seed, spawn_key=(code("calibrate.sampler"),))
            .generate_state(1)[0]).get_state()
        return Chain(z[None], logp[None], items[None], state)

    def log_posterior(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log posterior (up to a constant) and item parameters at each row of ``z``."""
        z = np.atleast_2d(z)
        inside = np.ones(len(z), dtype=bool)
        for j, p in enumerate(self.params):
            lo, hi = p.bounds
            inside &= (z[:, j] >= lo) & (z[:, j] <= hi)
        logp = np.full(len(z), -np.inf)
        items = np.full((len(z), 2 * len(self.names)), np.nan)
        todo = np.flatnonzero(inside)
        tasks = [(self.objective, {p.name: p.from_z(float(z[i, j]))
                                   for j, p in enumerate(self.params)}) for i in todo]
        for i, ev in zip(todo, self._run(_evaluate, tasks), strict=True):
            logp[i] = -ev.objective
            items[i] = [x for n in self.names for x in ev.items[n]]
            self._bar()
        for _ in range(len(z) - len(todo)):
            self._bar()
        return logp, items

    def extend(self, chain: Chain, steps: int, save: Callable[[Chain], None]) -> Chain:
        """Run the walkers on to ``steps`` steps, saving the chain after each one."""
        sampler = emcee.EnsembleSampler(self.walkers, len(self.params), self._emcee_log_prob,
                                        vectorize=True)
        start = emcee.State(chain.z[-1], log_prob=chain.log_posterior[-1],
                            blobs=chain.items[-1] if self.names else None,
                            random_state=chain.random_state)
        for state in sampler.sample(start, iterations=steps - chain.steps, store=False):
            if self.interrupted:
                raise KeyboardInterrupt
            chain = Chain(np.concatenate([chain.z, state.coords[None]]),
                          np.concatenate([chain.log_posterior, state.log_prob[None]]),
                          np.concatenate([chain.items, np.asarray(
                              state.blobs if self.names else chain.items[-1]).reshape(
                              1, self.walkers, -1)]),
                          state.random_state)
            save(chain)
        return chain

    def _emcee_log_prob(self, z: np.ndarray) -> list:
        """What emcee asks: a log posterior per row, with its item parameters as a blob.

        emcee reports any exception from here with a traceback of its own, so Ctrl-C is
        held: the step is finished with nothing accepted and :meth:`extend` raises it.
        """
        z = np.atleast_2d(z)
        logp, items = np.full(len(z), -np.inf), np.full((len(z), 2 * len(self.names)), np.nan)
        if not self.interrupted:
            try:
                logp, items = self.log_posterior(z)
            except KeyboardInterrupt:
                self.interrupted = True
        if not self.names:
            return list(logp)
        return [(lp, it) for lp, it in zip(logp, items, strict=True)]


# --- the whole calibration ---------------------------------------------------------------


@dataclass
class Fit:
    """A finished calibration: the mode, and the posterior when it was sampled."""

    mode: Mode
    parameters: tuple[Parameter, ...]
    config: Config  # the config at the mode (items as profiled there)
    chain: Chain | None
    item_names: list[str]
    burn: int = 0

    @property
    def values(self) -> dict[str, float]:
        return self.mode.values

    def kept(self, thin: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The chain after burn-in, every ``thin``-th step, flattened over walkers: z, log
        posterior, items."""
        c, k = self.chain, slice(self.burn, None, thin)
        z = c.z[k].reshape(-1, c.z.shape[2])
        return z, c.log_posterior[k].reshape(-1), c.items[k].reshape(len(z), c.items.shape[2])

    def autocorrelation(self) -> np.ndarray:
        """Each parameter's integrated autocorrelation time, in steps, after burn-in (a
        rough estimate when the chain is shorter than 50 of them)."""
        kept = self.chain.z[self.burn:]
        if len(kept) < MIN_STEPS:
            return np.full(kept.shape[2], math.nan)
        log = logging.getLogger("emcee.autocorr")
        level, log.level = log.level, logging.ERROR  # its caution is in the docs and table
        try:
            tau = emcee.autocorr.integrated_time(kept, quiet=True)
        finally:
            log.level = level
        return np.maximum(tau, 1.0)

    def acceptance(self) -> float:
        """The share of proposals accepted, over every walker and step."""
        z = self.chain.z
        if len(z) < 2:
            return math.nan
        return float(np.any(z[1:] != z[:-1], axis=2).mean())

    def draws(self, most: int = 1000) -> pd.DataFrame:
        """The posterior sample: the kept chain thinned by half the longest autocorrelation
        time, at most ``most`` rows evenly spread; a column per parameter."""
        tau = self.autocorrelation()
        z, logp, items = self.kept(max(1, int(np.nanmax(tau) / 2)) if np.isfinite(tau).any()
                                   else 1)
        pick = np.unique(np.linspace(0, len(z) - 1, min(most, len(z))).round().astype(int))
        table = {"draw": np.arange(1, len(pick) + 1), "log_posterior": logp[pick]}
        for j, p in enumerate(self.parameters):
            table[p.name] = [p.from_z(float(x)) for x in z[pick, j]]
        for k, name in enumerate(self.item_names):
            table[f"survey.items.{name}.difficulty"] = items[pick, 2 * k]
            table[f"survey.items.{name}.discrimination"] = items[pick, 2 * k + 1]
        return pd.DataFrame(table)

    def summary(self) -> pd.DataFrame:
        """Each fitted parameter: prior, mode, posterior median and 90 % credible interval,
        autocorrelation time and effective sample size."""
        rows = []
        tau = self.autocorrelation() if self.chain is not None else None
        z = self.kept()[0] if self.chain is not None else None
        for j, p in enumerate(self.parameters):
            row = {"parameter": p.name, "prior": p.prior, "mode": self.mode.values[p.name]}
            if z is not None:
                x = np.array([p.from_z(float(v)) for v in z[:, j]])
                row |= {"median": float(np.median(x)), "p5": float(np.quantile(x, LOW)),
                        "p95": float(np.quantile(x, HIGH)), "autocorrelation_steps": tau[j],
                        "effective_draws": len(x) / tau[j] if tau[j] > 0 else math.nan}
            rows.append(row)
        return pd.DataFrame(rows)


def _settings(cfg: Config, targets: survey.Targets, reps: int, seed: int, evaluations: int,
              walkers: int, parameters: Sequence[Parameter], fit_items: bool) -> str:
    """What a resumed calibration must share with the one it resumes."""
    return json.dumps({"config": cfg.to_dict(), "targets": targets.model_dump(mode="json"),
                       "reps": reps, "seed": seed, "evaluations": evaluations,
                       "walkers": walkers, "parameters": [p.name for p in parameters],
                       "items": fit_items}, sort_keys=True, default=str)


class Checkpoint:
    """The calibration's state in a file, replaced whole after every sampler step: the
    mode and the chain so far, with the settings they belong to."""

    def __init__(self, path: Path | None, settings: str) -> None:
        self.path, self.settings = path, settings

    def load(self) -> tuple[Mode, Chain] | None:
        if self.path is None or not self.path.exists():
            return None
        with np.load(self.path, allow_pickle=False) as f:
            if str(f["settings"]) != self.settings:
                raise ConfigError(f"{self.path}: a calibration with other settings (config, "
                                  "targets, --reps, --seed, --evaluations, --walkers, --items); "
                                  "use --force to start again")
            mode_doc = json.loads(str(f["mode"]))
            state = ("MT19937", f["rs_key"], int(f["rs_pos"]), int(f["rs_gauss"]),
                     float(f["rs_cached"]))
            chain = Chain(f["z"], f["log_posterior"], f["items"], state)
        mode = Mode(mode_doc["values"], Evaluation(**mode_doc["evaluation"]),
                    mode_doc["initial"], pd.DataFrame(mode_doc["trace"]))
        mode.evaluation.items = {k: tuple(v) for k, v in mode.evaluation.items.items()}
        return mode, chain

    def save(self, mode: Mode, chain: Chain) -> None:
        if self.path is None:
            return
        mode_doc = json.dumps({"values": mode.values, "initial": mode.initial_objective,
                               "evaluation": {"objective": mode.evaluation.objective,
                                              "items": mode.evaluation.items,
                                              "parts": mode.evaluation.parts},
                               "trace": mode.trace.to_dict(orient="list")})
        _, key, pos, gauss, cached = chain.random_state
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, settings=self.settings, mode=mode_doc, z=chain.z,
                     log_posterior=chain.log_posterior, items=chain.items, rs_key=key,
                     rs_pos=pos, rs_gauss=gauss, rs_cached=cached)
        os.replace(tmp, self.path)


def calibrate(cfg: Config, targets: survey.Targets, reps: int = 20, seed: int = 1,
              evaluations: int = 200, walkers: int = 16, steps: int = 0, jobs: int = 1,
              items: str = "auto", only: Sequence[str] | None = None,
              checkpoint: Path | None = None) -> Fit:
    """Find the mode, then (``steps > 0``) sample the posterior with ``walkers`` walkers.

    The outer parameters fitted are those the targets inform, of ``only`` if given;
    ``items`` says whether the item parameters are fitted (:func:`fits_items`).
    ``checkpoint`` names a file that keeps the state after each sampler step; a
    calibration with the same settings resumes from it.
    """
    fit_items = fits_items(targets, items)
    params = fitted_parameters(targets, fit_items, only)
    if not params and not fit_items:
        raise ConfigError(f"{targets.subcounty}: the targets inform no parameter")
    if steps and walkers < 2 * max(1, len(params)):
        raise ConfigError(f"--walkers: at least {2 * len(params)} for {len(params)} "
                          "parameters (twice as many)")
    objective = Objective(cfg, targets, reps, seed, params, fit_items)
    store = Checkpoint(checkpoint, _settings(cfg, targets, reps, seed, evaluations, walkers,
                                             params, fit_items))
    saved = store.load()
    sample = bool(steps and params)
    total = evaluations + (walkers * (steps + 1) if sample else 0)
    with progress(total, cfg.name, "evaluation") as bar, mapper(jobs) as run:
        if saved is None:
            mode, chain = find_mode(objective, evaluations, bar.update), None
            bar.update(max(0, evaluations - len(mode.trace)))  # it converged early
        else:
            mode, chain = saved
            bar.update(evaluations + walkers * min(chain.steps, steps + 1))
        if sample:
            sampler = Sampler(objective, mode, walkers, seed, run, bar.update)
            if chain is None:
                chain = sampler.start()
                store.save(mode, chain)
            if chain.steps < steps + 1:
                chain = sampler.extend(chain, steps + 1, lambda c: store.save(mode, c))
            chain = Chain(chain.z[:steps + 1], chain.log_posterior[:steps + 1],
                          chain.items[:steps + 1], chain.random_state)
    fitted = cfg.with_values({**mode.values, **{
        f"survey.items.{item}.{key}": x for item, pair in mode.evaluation.items.items()
        for key, x in zip(("difficulty", "discrimination"), pair, strict=True)}})
    return Fit(mode, params, fitted, chain if sample else None, list(mode.evaluation.items),
               burn=(steps + 1) // 2 if sample else 0)


def parameters_document(fit: Fit, targets: survey.Targets, seed: int, reps: int,
                        posterior: str | None) -> dict:
    """The parameter file a config can include: the mode's values of the fitted parameters
    (the items' too, if fitted) and where they came from."""
    cfg = fit.config
    method = "Nelder-Mead over the outer parameters"
    if fit.mode.evaluation.items:
        method += "; item parameters profiled (L-BFGS-B)"
    if fit.chain is not None:
        method += (f"; posterior by emcee, {fit.chain.z.shape[1]} walkers x "
                   f"{fit.chain.steps - 1} steps, the first {fit.burn} discarded")
    doc: dict = {"calibration": {
        "targets": f"{targets.subcounty} arm",
        "seed": seed,
        "date": dt.date.today().isoformat(),
        "method": method,
        "evaluations": len(fit.mode.trace),
        "replicates": reps,
        "objective": round(fit.mode.evaluation.objective, 4),
        "parameters": [p.name for p in fit.parameters]
        + (["survey.items.*.difficulty", "survey.items.*.discrimination"]
           if fit.mode.evaluation.items else []),
        "posterior": posterior,
    }}
    for p in fit.parameters:
        if p.name == BASELINE_LEVEL:
            set_dotted(doc, "mentee.baseline.mean", {
                a: round(m, 4) for a, m in cfg.mentee.baseline.mean.items()})
        else:
            set_dotted(doc, p.name, round(cfg.value(p.name), 4))
    for name, (d, a) in fit.mode.evaluation.items.items():
        set_dotted(doc, f"survey.items.{name}", {"difficulty": round(d, 4),
                                                  "discrimination": round(a, 4)})
    return doc
