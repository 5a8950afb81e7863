"""The best plan: a search over decision variables under constraints, with Optuna.

An experiment's ``optimise:`` block (:class:`sim.experiment.OptimiseSpec`) names the
decision variables (dotted keys of the comparator scenario), the objective, the
constraints and the budget. Every candidate plan runs replicates ``0 .. R-1`` with the
experiment's seed, so candidates see the same random numbers wherever their plans do not
make them differ (common random numbers) and differ by their plans alone.

* A constraint on the mean holds if the mean over the replications reaches its level. A
  chance constraint (``probability: p``) holds if the Wilson lower confidence bound (at
  ``confidence``, one-sided) of the share of replications reaching the level is at least
  ``p``: a search that keeps the best of many candidates favours those whose share was
  lucky, and the bound makes up for it.
* Optuna proposes the candidates one at a time. Before each proposal its sampler is made
  afresh with a seed drawn from the experiment's seed and the number of candidates
  evaluated, so the proposals depend on the seed and the evaluations alone: not on
  ``jobs`` (the replicates of a candidate run in parallel, and are combined in order),
  nor on an interruption. The study is kept in a journal file in the output folder; a
  candidate interrupted mid-way is marked failed on ``resume`` and proposed again.
* A candidate's per-replicate values are kept with its trial, so the study alone gives
  every table. The runner-up is the best other feasible plan; the probability that it is
  in fact better is read from the paired differences of the two over the replications
  (Student's t on their mean).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from sim import config as cfgmod
from sim import metrics
from sim.config import Config, ConfigError
from sim.engines import DEFAULT, simulate
from sim.execution import mapper, progress
from sim.experiment import Constraint, Experiment, OptimiseSpec, Variable, load_experiment
from sim.outputs import OutputError

if TYPE_CHECKING:
    import optuna
    from matplotlib.figure import Figure

#: Per-replication outcomes: ``metrics.outcomes``', ``metrics.economics``' and the largest
#: fiscal year's spending in the budget table.
OUTCOMES = (*metrics.OUTCOMES, "peak_annual_cost_ksh")

#: Outcomes at a month's end, over all subcounties, from the timeseries: the share of the
#: enrolled nurses with every area at level 3 or above and the same share of every nurse in
#: post (subcounties not yet in the programme included), the mean competency of the enrolled
#: nurses and of every nurse in post, its counts, and the spending to date.
MONTHLY = ("share_proficient", "share_proficient_in_post", "mean_competency",
           "mean_competency_in_post", "active_mentees", "proficient_mentees", "newly_proficient",
           "points_above_baseline", "cost_to_date_ksh")

JOURNAL = "study.journal"
STUDY = "mentorsim"
WRITTEN = "as_written"  # the study's record of the plan as written, per replicate


@dataclass(frozen=True)
class Measure:
    """An outcome as read per replicate: per replication, or at a month's end."""

    outcome: str
    month: int | None = None

    @property
    def key(self) -> str:
        return self.outcome if self.month is None else f"{self.outcome}@{self.month}"

    def __str__(self) -> str:
        return self.outcome if self.month is None else f"{self.outcome} at month {self.month}"


@dataclass(frozen=True)
class Problem:
    """A validated search: the experiment, its optimise block and what it measures."""

    experiment: Experiment
    spec: OptimiseSpec
    objective: Measure
    minimise: bool
    constraints: tuple[Constraint, ...]  # the budget's included
    cost: Measure
    effect: Measure
    replications: int
    source: str

    @property
    def base(self) -> Config:
        return self.experiment.scenario(self.experiment.comparator).config

    def measures(self) -> list[Measure]:
        """Every measure kept per replicate, each once, the objective first."""
        found = [self.objective, self.cost, self.effect,
                 *(Measure(c.outcome, c.month) for c in self.constraints)]
        return list(dict.fromkeys(found))

    def fingerprint(self) -> str:
        """A hash of what determines the candidates' results and proposals; ``trials`` is
        left out, so a finished study can be resumed with more."""
        doc = {"experiment": self.experiment.fingerprint(),
               "optimise": self.spec.model_dump(exclude={"trials"}),
               "replications": self.replications}
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _known(where: str, name: str, names: Sequence[str], kind: str) -> None:
    if name not in names:
        import difflib

        guess = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {guess[0]}?" if guess else f" (one of {', '.join(names)})"
        raise ConfigError(f"{where}: unknown {kind} '{name}'{hint}")


def _measure(block: str, field: str, outcome: str, month: int | None, horizon: int
             ) -> Measure:
    """The measure ``block.field`` names (with ``block.month``), checked."""
    where = f"{block}.{field}"
    if month is None and outcome in MONTHLY:
        raise ConfigError(f"{where}: {outcome} is read at a month's end: give month")
    if month is not None and outcome in OUTCOMES:
        raise ConfigError(f"{where}: {outcome} is per replication: leave out month")
    if month is None:
        _known(where, outcome, OUTCOMES, "outcome")
    else:
        _known(where, outcome, MONTHLY, "monthly outcome (with month)")
        if month > horizon:
            raise ConfigError(f"{block}.month: {month} is past the scenario's {horizon} months")
    return Measure(outcome, month)


def load(path: str | Path, overrides: list[str] | None = None) -> Problem:
    """Read an experiment file with an ``optimise:`` block and check it: outcome names,
    variables that make valid scenarios one at a time, none drawn by the uncertainty."""
    exp = load_experiment(path, overrides)
    spec = exp.optimise
    if spec is None:
        raise ConfigError(f"{path}: optimise: required by `mentorsim optimise` (the decision "
                          "variables, objective and constraints)")
    at = f"{path}: optimise"
    base = exp.scenario(exp.comparator).config
    minimise = spec.objective.minimise is not None
    objective = _measure(f"{at}.objective", "minimise" if minimise else "maximise",
                         spec.objective.outcome, spec.objective.month, base.months)
    per_rep = objective.month is None
    cost = _measure(f"{at}.frontier", "cost", spec.frontier.cost or (
        objective.outcome if minimise and per_rep else "total_cost_ksh"), None, base.months)
    effect = _measure(f"{at}.frontier", "effect", spec.frontier.effect or (
        objective.outcome if not minimise and per_rep else "competency_point_years"), None,
        base.months)
    constraints = list(spec.constraints)
    for i, c in enumerate(constraints):
        _measure(f"{at}.constraints.{i}", "outcome", c.outcome, c.month, base.months)
    if spec.budget_ksh_per_year is not None:
        constraints.append(Constraint(outcome="peak_annual_cost_ksh",
                                      at_most=spec.budget_ksh_per_year))
    drawn = set(exp.psa) | {s.parameter for s in base.uncertainty.between_settings} | set(
        cfgmod.read_posterior(base.uncertainty.posterior).columns
        if base.uncertainty.posterior else ())
    data = base.to_dict()
    for key, var in spec.variables.items():
        if key in drawn:
            raise ConfigError(f"{at}.variables.{key}: drawn by the experiment's psa or the "
                              "scenario's uncertainty block; a decision cannot be uncertain")
        for value in var.choices if var.choices is not None else (var.low, var.high):
            changed = copy.deepcopy(data)
            try:
                cfgmod.set_dotted(changed, key, copy.deepcopy(value))
            except ConfigError as err:
                raise ConfigError(f"{at}.variables.{key}: {err}") from None
            cfgmod.from_dict(changed, f"{at}.variables.{key} = {_text(value)}")
    return Problem(exp, spec, objective, minimise, tuple(constraints), cost, effect,
                   spec.replications or exp.replications, str(path))


# --- evaluating a plan -------------------------------------------------------------------


def _text(value: Any) -> str:
    """A value as written in YAML's flow style, e.g. ``[Mavoko, Yatta]``."""
    import yaml

    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix(
        "\n...").removesuffix(" ...")


def plan_config(problem: Problem, plan: dict[str, Any]) -> Config:
    """The comparator scenario with the plan's values set (a :class:`ConfigError` if that is
    no valid scenario)."""
    data = problem.base.to_dict()
    for key, value in plan.items():
        cfgmod.set_dotted(data, key, copy.deepcopy(value))
    return cfgmod.from_dict(data, ", ".join(f"{k}={_text(v)}" for k, v in plan.items()))


def monthly(ts: pd.DataFrame) -> pd.DataFrame:
    """The :data:`MONTHLY` outcomes by month, over all subcounties of a timeseries."""
    by = ts.assign(_level=ts["mean_score"].fillna(0.0) * ts["active_mentees"],
                   _level_in_post=ts["mean_score_in_post"].fillna(0.0) * ts["nurses_in_post"]
                   ).groupby("month")
    total = by[["active_mentees", "proficient_mentees", "newly_proficient",
                "points_above_baseline", "nurses_in_post", "proficient_in_post", "_level",
                "_level_in_post", "cost_total"]].sum()
    enrolled = total["active_mentees"].where(total["active_mentees"] > 0)
    in_post = total["nurses_in_post"].where(total["nurses_in_post"] > 0)
    return pd.DataFrame({
        "share_proficient": total["proficient_mentees"] / enrolled,
        "share_proficient_in_post": total["proficient_in_post"] / in_post,
        "mean_competency": total["_level"] / enrolled,
        "mean_competency_in_post": total["_level_in_post"] / in_post,
        "active_mentees": total["active_mentees"].astype(float),
        "proficient_mentees": total["proficient_mentees"].astype(float),
        "newly_proficient": total["newly_proficient"].astype(float),
        "points_above_baseline": total["points_above_baseline"].astype(float),
        "cost_to_date_ksh": total["cost_total"].cumsum(),
    })


def replicate_values(config: Config, seed: int, replicate: int, keys: Sequence[str],
                     engine: str = DEFAULT) -> list[float]:
    """One replicate of a plan: the value of each measure key (``outcome`` or
    ``outcome@month``), NaN where it is undefined."""
    rec = simulate(config, seed, replicate, engine)
    spells = metrics.mentees(config, [rec])
    ledger = metrics.costs(config, [rec])
    ts = metrics.timeseries(config, [rec], ledger)
    rate = config.costs.ksh_per_usd
    row = {**metrics.outcomes(spells, ledger, rate).iloc[0].to_dict(),
           **metrics.economics(ledger, ts, config.costs.discount_rate).iloc[0].to_dict(),
           "peak_annual_cost_ksh": float(metrics.budget(config, ledger)["cost_total"].max())}
    by_month = monthly(ts)
    out = []
    for key in keys:
        outcome, _, month = key.partition("@")
        value = by_month.at[int(month), outcome] if month else row[outcome]
        out.append(float(value))
    return out


def evaluate(problem: Problem, config: Config,
             run: Callable[[Callable[..., Any], Sequence[tuple]], list[Any]],
             engine: str = DEFAULT) -> dict[str, list[float]]:
    """Every measure of a plan, per replicate (``run`` maps the replicates, e.g. on the
    workers of :func:`sim.execution.mapper`)."""
    exp = problem.experiment
    keys = [m.key for m in problem.measures()]
    configs = [config if not exp.psa else config.with_values(exp.draws(r))
               for r in range(problem.replications)]
    rows = run(replicate_values, [(c, exp.seed, r, keys, engine) for r, c in enumerate(configs)])
    return {key: [row[i] for row in rows] for i, key in enumerate(keys)}


# --- judging a plan (pure) -------------------------------------------------------------


def wilson_lower(k: int, n: int, confidence: float) -> float:
    """The Wilson score lower bound, one-sided at ``confidence``, of a probability seen
    ``k`` times in ``n``."""
    z = float(stats.norm.ppf(confidence))
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - spread) / (1 + z * z / n))


@dataclass(frozen=True)
class Check:
    """How a plan fares on one constraint."""

    mean: float
    share: float | None  # of replications reaching the level (a chance constraint)
    lower: float | None  # its lower confidence bound
    met: bool
    violation: float  # > 0: by how much it is missed, relative to the level


def check(c: Constraint, values: Sequence[float], confidence: float) -> Check:
    """Judge one constraint on a plan's per-replicate values (NaN never reaches a level)."""
    x = np.asarray(values, dtype=float)
    level = c.at_least if c.at_least is not None else c.at_most
    sign = 1.0 if c.at_least is not None else -1.0  # > 0: the level is reached with room
    scale = abs(level) or 1.0
    mean = float(np.nanmean(x)) if np.isfinite(x).any() else math.nan
    if c.probability is None:
        room = sign * (mean - level) / scale if not math.isnan(mean) else -1.0
        return Check(mean, None, None, room >= 0, max(-room, 0.0))
    with np.errstate(invalid="ignore"):
        reached = np.isfinite(x) & (sign * (x - level) >= 0)
    lower = wilson_lower(int(reached.sum()), len(x), confidence)
    return Check(mean, float(reached.mean()), lower, lower >= c.probability,
                 max(c.probability - lower, 0.0))


def chance_runner_up_better(best: Sequence[float], runner_up: Sequence[float],
                            minimise: bool) -> float:
    """The probability that the runner-up's true mean beats the best's, from their paired
    per-replicate values (Student's t on the mean difference; NaN pairs left out)."""
    d = np.asarray(runner_up, dtype=float) - np.asarray(best, dtype=float)
    d = d[np.isfinite(d)] * (1.0 if minimise else -1.0)  # > 0: the best is better
    if len(d) < 2:
        return math.nan
    se = float(d.std(ddof=1)) / math.sqrt(len(d))
    if se == 0.0:  # the same difference in every replication
        return float(np.sign(-d.mean()) / 2 + 0.5)
    return float(stats.t.cdf(-d.mean() / se, df=len(d) - 1))


def non_dominated(cost: Sequence[float], effect: Sequence[float]) -> np.ndarray:
    """Whether each point is on the frontier: no other point costs no more and achieves no
    less, and one of the two strictly."""
    c, e = np.asarray(cost, dtype=float), np.asarray(effect, dtype=float)
    le, ge = c[None, :] <= c[:, None], e[None, :] >= e[:, None]
    strict = (c[None, :] < c[:, None]) | (e[None, :] > e[:, None])
    return ~(le & ge & strict).any(axis=1)


# --- the search ---------------------------------------------------------------------


def _distribution(var: Variable) -> optuna.distributions.BaseDistribution:
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)

    if var.choices is not None:
        return CategoricalDistribution([_token(c) for c in var.choices])
    if var.whole:
        return IntDistribution(var.low, var.high, step=var.step or 1)
    return FloatDistribution(float(var.low), float(var.high),
                             step=None if var.step is None else float(var.step))


def _token(choice: Any) -> Any:
    """A choice as Optuna holds it: itself if a plain value, else its JSON text."""
    if choice is None or isinstance(choice, bool | int | float | str):
        return choice
    return json.dumps(choice, default=str)


def _plan(spec: OptimiseSpec, params: dict[str, Any]) -> dict[str, Any]:
    """A trial's parameters as the plan's values."""
    out = {}
    for key, var in spec.variables.items():
        value = params[key]
        if var.choices is not None:
            value = next(c for c in var.choices if _token(c) == value)
        elif not var.whole and var.step is not None:  # k steps from low, without float dust
            value = round(value, 12)
        out[key] = value
    return out


def _finite_size(spec: OptimiseSpec) -> int | None:
    """How many plans the variables allow, if finitely many."""
    size = 1
    for var in spec.variables.values():
        if var.choices is not None:
            size *= len(var.choices)
        elif var.whole or var.step is not None:
            size *= round((var.high - var.low) / (var.step or 1)) + 1
        else:
            return None
    return size


def _sampler(problem: Problem, done: int) -> optuna.samplers.BaseSampler:
    """The sampler that proposes the candidate after ``done`` evaluated ones."""
    import optuna

    seed = int(np.random.SeedSequence([problem.experiment.seed, done]).generate_state(1)[0])
    if problem.spec.sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if problem.spec.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


#: CMA-ES has no constraints: an infeasible plan is told this plus its violation, which
#: ranks it after every feasible one (CMA-ES uses ranks alone).
_INFEASIBLE = 1e18


def _told(problem: Problem, values: dict[str, list[float]], checks: list[Check]
          ) -> list[float]:
    """The values a trial is told: the objective's mean (for CMA-ES, an infeasible plan's
    is put after every feasible one's), or the frontier's two means for NSGA-II."""
    def mean(m: Measure) -> float:
        x = np.asarray(values[m.key], dtype=float)
        return float(np.nanmean(x)) if np.isfinite(x).any() else math.nan

    if problem.spec.sampler == "nsga2":
        return [mean(problem.cost), mean(problem.effect)]
    told = mean(problem.objective)
    if problem.spec.sampler == "cmaes" and any(not c.met for c in checks):
        told = (_INFEASIBLE + sum(c.violation for c in checks)) * (1 if problem.minimise else -1)
    return [told]


def _storage(path: Path) -> optuna.storages.BaseStorage:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    class Journal(JournalFileBackend):
        """Optuna's journal file, whose appends finish before a Ctrl-C is raised: its file
        lock, cut short, turns the interrupt into an error of its own."""

        def append_logs(self, logs: list[dict[str, Any]]) -> None:
            caught: list[int] = []
            previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
            try:
                super().append_logs(logs)
            finally:
                signal.signal(signal.SIGINT, previous)
            if caught:
                raise KeyboardInterrupt

    return JournalStorage(Journal(str(path)))


def open_study(problem: Problem, journal: Path, resume: bool) -> optuna.Study:
    """The study in ``journal``: a new one, or with ``resume`` the one there (which must be
    of the same problem), with any candidate cut short marked failed."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not a line per trial
    if resume:
        if not journal.is_file():
            raise OutputError(f"--resume: {journal.parent} holds no study to resume")
        try:
            study = optuna.load_study(study_name=STUDY, storage=_storage(journal))
        except (KeyError, ValueError) as exc:
            raise OutputError(f"{journal}: not a mentorsim study ({exc})") from None
        if study.user_attrs.get("fingerprint") != problem.fingerprint():
            raise OutputError(f"{journal.parent}: was started with a different experiment or "
                              "optimise block (only trials may change); resume needs the same")
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study.tell(t.number, state=optuna.trial.TrialState.FAIL)
        return study
    directions = (["minimize", "maximize"] if problem.spec.sampler == "nsga2" else
                  ["minimize" if problem.minimise else "maximize"])
    study = optuna.create_study(study_name=STUDY, storage=_storage(journal),
                                directions=directions)
    study.set_user_attr("fingerprint", problem.fingerprint())
    return study


def _plain(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan as JSON holds it (a trial's attribute); dates become text."""
    return json.loads(json.dumps(plan, default=str))


def search(problem: Problem, journal: Path, jobs: int = 1, resume: bool = False,
           engine: str = DEFAULT) -> optuna.Study:
    """Propose and evaluate candidates until the study in ``journal`` holds ``trials`` of
    them, or every plan of a finite space; a plan proposed again is not simulated again."""
    try:
        return _search(problem, journal, jobs, resume, engine)
    except OSError as exc:  # the journal cannot be written (a full disk, say)
        raise OutputError(f"{journal}: cannot write: {exc.strerror or exc}") from None


def as_written(problem: Problem) -> dict[str, Any]:
    """The plan as written: the comparator scenario's own value of each decision variable."""
    data = problem.base.to_dict()
    plan = {key: cfgmod.get_dotted(data, key) for key in problem.spec.variables}
    return _plain({key: int(v) if problem.spec.variables[key].whole and isinstance(v, float)
                   and v.is_integer() else v for key, v in plan.items()})


def _search(problem: Problem, journal: Path, jobs: int, resume: bool,
            engine: str) -> optuna.Study:
    import optuna

    state = optuna.trial.TrialState
    spec = problem.spec
    study = open_study(problem, journal, resume)
    distributions = {key: _distribution(var) for key, var in spec.variables.items()}
    size = _finite_size(spec)
    keys = [(c, Measure(c.outcome, c.month).key) for c in problem.constraints]
    with mapper(jobs) as run, progress(spec.trials, problem.experiment.name,
                                       "candidate") as bar:
        if WRITTEN not in study.user_attrs:  # once, under the candidates' common random numbers
            study.set_user_attr(WRITTEN, evaluate(problem, problem.base, run, engine))
        while True:
            trials = study.get_trials(deepcopy=False, states=(state.COMPLETE, state.PRUNED))
            bar.n = min(len(trials), spec.trials)
            bar.refresh()
            seen = {json.dumps(t.user_attrs["plan"], sort_keys=True): t
                    for t in trials if "same_as" not in t.user_attrs}
            if len(trials) >= spec.trials or size is not None and len(seen) >= size:
                return study
            study.sampler = _sampler(problem, len(trials))
            trial = study.ask(distributions)
            plan = _plain(_plan(spec, trial.params))
            trial.set_user_attr("plan", plan)
            earlier = seen.get(json.dumps(plan, sort_keys=True))
            if earlier is not None:
                trial.set_user_attr("same_as", earlier.number)
                if "problem" in earlier.user_attrs:
                    trial.set_user_attr("problem", earlier.user_attrs["problem"])
                    study.tell(trial, state=state.PRUNED)
                    continue
                values = earlier.user_attrs["values"]
            else:
                try:
                    config = plan_config(problem, _plan(spec, trial.params))
                except ConfigError as err:
                    trial.set_user_attr("problem", f"not a valid scenario: {err}")
                    study.tell(trial, state=state.PRUNED)
                    continue
                values = evaluate(problem, config, run, engine)
            checks = [check(c, values[key], spec.confidence) for c, key in keys]
            told = _told(problem, values, checks)
            if any(math.isnan(v) for v in told):
                trial.set_user_attr("problem", "undefined in every replication: "
                                    + ", ".join(str(m) for m in problem.measures()[:1]))
                study.tell(trial, state=state.PRUNED)
                continue
            trial.set_user_attr("values", values)
            if spec.sampler != "cmaes":  # which ranks infeasible plans by its told value
                for i, c in enumerate(checks):
                    trial.set_constraint(str(i), c.violation)
            study.tell(trial, told)


# --- the results ---------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """A finished search: every candidate, the frontier, the best plan and how sure it is,
    and the plan as written (the comparator scenario) to set it against."""

    candidates: pd.DataFrame  # a row per candidate, in the order proposed
    frontier: pd.DataFrame  # the feasible plans no other feasible plan dominates
    best: int | None  # candidate numbers
    runner_up: int | None
    chance_runner_up_better: float
    plans: dict[int, dict[str, Any]]
    values: dict[int, dict[str, list[float]]]
    written: dict[str, Any]  # the plan as written
    written_values: dict[str, list[float]]


def _shown(value: Any) -> Any:
    return value if isinstance(value, bool | int | float | str) or value is None else _text(value)


def _name(c: Constraint) -> str:
    level = c.at_least if c.at_least is not None else c.at_most
    return f"{Measure(c.outcome, c.month).key}{'>=' if c.at_least is not None else '<='}{level:g}"


def results(problem: Problem, study: optuna.Study) -> Result:
    """The tables and the choice, from the study's trials."""
    import optuna

    state = optuna.trial.TrialState
    trials = sorted(study.get_trials(deepcopy=False, states=(state.COMPLETE, state.PRUNED)),
                    key=lambda t: t.number)
    # candidates are numbered in order, leaving out trials failed by an interruption
    number = {t.number: i for i, t in enumerate(trials)}
    obj = problem.objective.key
    rows, plans, values = [], {}, {}
    for i, t in enumerate(trials):
        plan = t.user_attrs["plan"]
        plans[i] = plan
        same = t.user_attrs.get("same_as")
        row: dict[str, Any] = {"candidate": i, "same_as": None if same is None else number[same]}
        row.update({key: _shown(v) for key, v in plan.items()})
        vals = t.user_attrs.get("values")
        if vals is not None:
            values[i] = vals
            x = np.asarray(vals[obj], dtype=float)
            row.update({f"{obj}_mean": np.nanmean(x), f"{obj}_p5": np.nanpercentile(x, 5),
                        f"{obj}_p95": np.nanpercentile(x, 95)})
            for m in (problem.cost, problem.effect):
                if m.key != obj:
                    row[f"{m.key}_mean"] = float(np.nanmean(vals[m.key]))
            feasible = True
            for c in problem.constraints:
                name, got = _name(c), check(c, vals[Measure(c.outcome, c.month).key],
                                            problem.spec.confidence)
                row[f"{name}_mean"] = got.mean
                if c.probability is not None:
                    row[f"{name}_share"] = got.share
                    row[f"{name}_lower"] = got.lower
                row[f"{name}_met"] = got.met
                feasible &= got.met
            row["feasible"] = feasible
        else:
            row["feasible"] = False
        row["problem"] = t.user_attrs.get("problem")
        rows.append(row)
    table = pd.DataFrame(rows)
    table["same_as"] = table["same_as"].astype("Int64")
    distinct = table[table["same_as"].isna() & table["feasible"]]
    ranked = distinct.sort_values([f"{obj}_mean", "candidate"],
                                  ascending=[problem.minimise, True]) if len(distinct) else distinct
    best = int(ranked["candidate"].iloc[0]) if len(ranked) else None
    runner = int(ranked["candidate"].iloc[1]) if len(ranked) > 1 else None
    sure = (chance_runner_up_better(values[best][obj], values[runner][obj], problem.minimise)
            if runner is not None else math.nan)
    cost, effect = (f"{m.key}_mean" for m in (problem.cost, problem.effect))
    on = non_dominated(distinct[cost], distinct[effect]) if len(distinct) else []
    front = distinct[on][["candidate", *problem.spec.variables, cost, effect]].sort_values(
        [cost, "candidate"]) if len(distinct) else distinct
    return Result(table, front.reset_index(drop=True), best, runner, sure, plans, values,
                  as_written(problem), study.user_attrs[WRITTEN])


def frontier_figure(problem: Problem, result: Result) -> Figure:
    """Every candidate's mean cost against its mean effect: feasible ones as dots, the
    frontier joined, infeasible ones as grey crosses, the best plan starred."""
    from sim.plots import _Figure, _money

    table = result.candidates[result.candidates["same_as"].isna()]
    cost, effect = (f"{m.key}_mean" for m in (problem.cost, problem.effect))
    table = table.dropna(subset=[cost, effect])
    fig = _Figure(figsize=(7.5, 5), dpi=110, layout="constrained")
    ax = fig.subplots()
    bad, good = table[~table["feasible"].astype(bool)], table[table["feasible"].astype(bool)]
    ax.scatter(bad[effect], bad[cost], marker="x", s=22, color="0.6",
               label=f"misses a constraint ({len(bad)})")
    ax.scatter(good[effect], good[cost], s=22, color="tab:blue", alpha=0.6,
               label=f"meets the constraints ({len(good)})")
    front = result.frontier
    if len(front):
        ax.plot(front[effect], front[cost], "-o", color="tab:orange", ms=6, lw=1.5,
                label=f"frontier ({len(front)}): none cheaper and better; candidate numbers")
        for row in front.itertuples(index=False):
            ax.annotate(str(row.candidate), (getattr(row, effect), getattr(row, cost)),
                        textcoords="offset points", xytext=(6, -10), fontsize=7)
    written = {m.key: float(np.nanmean(result.written_values[m.key]))
               for m in (problem.cost, problem.effect)}
    met = all(check(c, result.written_values[Measure(c.outcome, c.month).key],
                    problem.spec.confidence).met for c in problem.constraints)
    ax.scatter([written[problem.effect.key]], [written[problem.cost.key]], marker="D", s=70,
               color="black", zorder=5, label="the plan as written ("
               + ("meets the constraints)" if met else "misses a constraint)"))
    if result.best is not None:
        row = table[table["candidate"] == result.best].iloc[0]
        ax.scatter([row[effect]], [row[cost]], marker="*", s=260, color="tab:red",
                   edgecolor="black", zorder=5, label=f"best plan (candidate {result.best})")
    largest = max(float(table[cost].abs().max()) if len(table) else 0.0,
                  abs(written[problem.cost.key]))
    unit = _money(ax, largest) if problem.cost.outcome.endswith("_ksh") else None
    ax.set_xlabel(problem.effect.outcome.replace("_", " ") + " (mean)")
    ax.set_ylabel(problem.cost.outcome.replace("_", " ").removesuffix(" ksh")
                  + (f" ({unit}, mean)" if unit else " (mean)"))
    sense = "minimise" if problem.minimise else "maximise"
    ax.set_title(f"{problem.experiment.name}: {len(table)} candidate plans, "
                 f"{problem.replications} replications each\nobjective: {sense} "
                 f"{problem.objective}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return fig


def best_document(problem: Problem, result: Result) -> str:
    """The best plan as a runnable scenario file: the comparator's resolved config with the
    plan's values, and a header saying where it came from."""
    import yaml

    assert result.best is not None
    plan = result.plans[result.best]
    cfg = plan_config(problem, plan)
    header = "".join(f"# {line}\n" for line in (
        f"The best plan found by `mentorsim optimise {problem.source}` (candidate "
        f"{result.best}): "
        f"the comparator scenario '{problem.experiment.comparator}' with",
        *(f"  {k}: {_text(v)}" for k, v in plan.items()),
        "Every other key is the comparator's, resolved; `mentorsim run` runs it as it is."))
    return header + yaml.safe_dump({**cfg.to_dict(), "name": f"{problem.experiment.name}_best"},
                                   sort_keys=False)


def _number(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _describe(c: Constraint, got: Check, n: int) -> str:
    level = c.at_least if c.at_least is not None else c.at_most
    sign = ">=" if c.at_least is not None else "<="
    what = f"{Measure(c.outcome, c.month)} {sign} {_number(level)}"
    if c.probability is None:
        return f"{what} on the mean: {_number(got.mean)}"
    return (f"{what} with probability {c.probability:g}: {round(got.share * n)} of {n} "
            f"replications (lower bound {got.lower:.2f})")


def report_lines(problem: Problem, result: Result) -> list[str]:
    """What ``mentorsim optimise`` prints: the search, the best plan and its constraints,
    the runner-up and how sure the choice is."""
    spec, table, n = problem.spec, result.candidates, problem.replications
    obj = problem.objective
    distinct = table[table["same_as"].isna()]
    lines = [f"{problem.experiment.name}: {len(table)} candidates ({len(distinct)} distinct "
             f"plans, {int(distinct['feasible'].sum())} meeting the constraints), {n} "
             f"replications each, seed {problem.experiment.seed}, sampler {spec.sampler}",
             f"  objective: {'minimise' if problem.minimise else 'maximise'} {obj} (mean)"]
    invalid = int(distinct["problem"].notna().sum())
    if invalid:
        lines.append(f"  {invalid} plans could not be judged (candidates.csv, column problem)")

    def plan(trial: int) -> str:
        return ", ".join(f"{k}={_text(v)}" for k, v in result.plans[trial].items())

    def mean(trial: int | None) -> str:
        x = np.asarray((result.written_values if trial is None else
                        result.values[trial])[obj.key], dtype=float)
        return (f"{obj} {_number(float(np.nanmean(x)))} (90% {_number(np.nanpercentile(x, 5))}"
                f"-{_number(np.nanpercentile(x, 95))})")

    def checks(values: dict[str, list[float]]) -> list[str]:
        return [f"    {_describe(c, check(c, values[Measure(c.outcome, c.month).key], spec.confidence), n)}"
                for c in problem.constraints]

    written = [f"  the plan as written (scenario {problem.experiment.comparator}): "
               + ", ".join(f"{k}={_text(v)}" for k, v in result.written.items()),
               f"    {mean(None)}", *checks(result.written_values)]

    if result.best is None:
        judged = [t for t in distinct["candidate"] if t in result.values]
        if not judged:
            return [*lines, "  no plan could be judged"]
        missed = {t: sum(check(c, result.values[t][Measure(c.outcome, c.month).key],
                               spec.confidence).violation for c in problem.constraints)
                  for t in judged}
        closest = min(missed, key=lambda t: (missed[t], t))
        return [*lines, "  no candidate meets the constraints; the closest (candidate "
                f"{closest}): {plan(closest)}", *checks(result.values[closest]), *written]
    best = result.best
    lines += [f"  best plan (candidate {best}): {plan(best)}", f"    {mean(best)}",
              *checks(result.values[best])]
    if result.runner_up is None:
        lines.append("  no other plan meets the constraints: no runner-up to compare")
    else:
        lines += [f"  runner-up (candidate {result.runner_up}): {plan(result.runner_up)}",
                  f"    {mean(result.runner_up)}",
                  f"  probability that the runner-up is in fact better: "
                  f"{result.chance_runner_up_better:.2f} (paired over the {n} replications)"]
    gain = (np.asarray(result.values[best][obj.key], dtype=float)
            - np.asarray(result.written_values[obj.key], dtype=float))
    lines += [*written, f"    the best plan less the plan as written: {obj} "
              f"{_number(float(np.nanmean(gain)))} on the mean (90% "
              f"{_number(np.nanpercentile(gain, 5))} to {_number(np.nanpercentile(gain, 95))}"
              f", paired over the {n} replications)"]
    lines.append(f"  frontier of {problem.cost} against {problem.effect}: {len(result.frontier)} "
                 "plans (frontier.csv, frontier.png); best.yaml is the best plan, to run")
    return lines
