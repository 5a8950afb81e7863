"""Experiments: a base scenario, named variants and grid sweeps, as one YAML file.

```yaml
name: ratio_sweep
base: ../pilot.yaml            # relative to this file
replications: 50
seed: 2024
comparator: pilot              # the scenario differences are measured from
scenarios:                     # named overrides of the base
  pilot: {}
  no_whatsapp: {whatsapp.enabled: false}
sweep:                         # every combination becomes a scenario
  mentor.mentees_per_mentor: [2, 4, 8]
  mentor.target_interval_days: [30, 60]
```

Each scenario is validated like a scenario file, so a typo in an override is
caught before anything runs. Sweep scenarios are named by their values, e.g.
``mentees_per_mentor=4,target_interval_days=30``. An ``optimise:`` block states a search
for the best plan around the comparator (:mod:`sim.optimise`).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy import stats

from sim import config as cfgmod
from sim.config import Config, ConfigError
from sim.rng import Streams


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Uniform(_Dist):
    """Uniform between ``low`` and ``high``."""

    distribution: Literal["uniform"] = Field(description="`uniform`.")
    low: float = Field(description="Lower bound.")
    high: float = Field(description="Upper bound.")

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

    def quantile(self, q: float) -> float:
        return self.low + q * (self.high - self.low)


class Triangular(_Dist):
    """Triangular from ``low`` to ``high``, peaking at ``mode``."""

    distribution: Literal["triangular"] = Field(description="`triangular`.")
    low: float = Field(description="Lower bound.")
    mode: float = Field(description="Most likely value.")
    high: float = Field(description="Upper bound.")

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.triangular(self.low, self.mode, self.high))

    def quantile(self, q: float) -> float:
        c = (self.mode - self.low) / (self.high - self.low)
        return float(stats.triang(c, loc=self.low, scale=self.high - self.low).ppf(q))


class Normal(_Dist):
    """Normal with mean ``mean`` and standard deviation ``sd``."""

    distribution: Literal["normal"] = Field(description="`normal`.")
    mean: float = Field(description="Mean.")
    sd: float = Field(ge=0, description="Standard deviation.")

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.normal(self.mean, self.sd))

    def quantile(self, q: float) -> float:
        return float(stats.norm(self.mean, self.sd).ppf(q))


class LogNormal(_Dist):
    """Lognormal with median ``median`` and log-scale standard deviation ``sd_log``."""

    distribution: Literal["lognormal"] = Field(description="`lognormal`.")
    median: float = Field(gt=0, description="Median.")
    sd_log: float = Field(ge=0, description="Standard deviation of the log.")

    # math.exp, not numpy's vectorised exp, which differs in the last bit by processor:
    # a draw on one worker must equal the same draw on any other
    def sample(self, rng: np.random.Generator) -> float:
        return self.median * math.exp(rng.normal(0.0, self.sd_log))

    def quantile(self, q: float) -> float:
        return self.median * math.exp(self.sd_log * float(stats.norm.ppf(q)))


class Beta(_Dist):
    """Beta with shapes ``alpha`` and ``beta``."""

    distribution: Literal["beta"] = Field(description="`beta`.")
    alpha: float = Field(gt=0, description="First shape.")
    beta: float = Field(gt=0, description="Second shape.")

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.beta(self.alpha, self.beta))

    def quantile(self, q: float) -> float:
        return float(stats.beta(self.alpha, self.beta).ppf(q))


Distribution = Annotated[Uniform | Triangular | Normal | LogNormal | Beta,
                         Field(discriminator="distribution")]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Variable(_Part):
    """A decision variable: a range from `low` to `high` (in steps of `step`, if given; whole
    numbers when all three are), or a list of `choices` (any values, lists included, such as
    the phases' subcounties)."""

    low: int | float | None = Field(default=None, description="Lowest value of a range.")
    high: int | float | None = Field(default=None, description="Highest value of a range.")
    step: int | float | None = Field(default=None, gt=0,
                                     description="A range's step; null: any value between "
                                                 "(whole numbers: steps of 1).")
    choices: list[Any] | None = Field(default=None, min_length=1,
                                      description="The values to choose from, instead of a "
                                                  "range.")

    @model_validator(mode="after")
    def _check(self) -> Variable:
        ranged = (self.low, self.high, self.step)
        if self.choices is not None:
            if any(v is not None for v in ranged):
                raise ValueError("give low and high (and step), or choices, not both")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give low and high (and step), or choices")
        if any(isinstance(v, bool) for v in ranged):
            raise ValueError("low, high and step must be numbers")
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.step is not None:
            steps = (self.high - self.low) / self.step
            if abs(steps - round(steps)) > 1e-9:
                raise ValueError(f"high - low ({self.high - self.low}) must be a whole number "
                                 f"of steps ({self.step})")
        return self

    @property
    def whole(self) -> bool:
        """Whether a range is of whole numbers."""
        return all(isinstance(v, int) for v in (self.low, self.high, self.step) if v is not None)


class Objective(_Part):
    """What the best plan does best: `minimise` or `maximise` one outcome, the mean over the
    replications."""

    minimise: str | None = Field(default=None, description="An outcome to minimise (the "
                                                           "names: docs/optimise.md).")
    maximise: str | None = Field(default=None, description="An outcome to maximise.")
    month: int | None = Field(default=None, ge=0,
                              description="Read the outcome at this month's end (a monthly "
                                          "outcome); null: a per-replication outcome.")

    @model_validator(mode="after")
    def _check(self) -> Objective:
        if (self.minimise is None) == (self.maximise is None):
            raise ValueError("give one of minimise and maximise")
        return self

    @property
    def outcome(self) -> str:
        return self.minimise if self.minimise is not None else self.maximise  # type: ignore[return-value]


class Constraint(_Part):
    """A condition a plan must meet: on the mean over the replications, or, with
    `probability`, a chance constraint: the probability that the outcome reaches the level
    must be at least `probability`."""

    outcome: str = Field(description="The outcome (the names: docs/optimise.md).")
    month: int | None = Field(default=None, ge=0,
                              description="Read the outcome at this month's end (a monthly "
                                          "outcome); null: a per-replication outcome.")
    at_least: float | None = Field(default=None, description="The lowest acceptable level.")
    at_most: float | None = Field(default=None, description="The highest acceptable level.")
    probability: float | None = Field(
        default=None, gt=0, lt=1,
        description="The least probability of reaching the level, estimated conservatively "
                    "(the lower confidence bound of the share of replications that reach "
                    "it); null: the mean must reach it.")

    @model_validator(mode="after")
    def _check(self) -> Constraint:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give one of at_least and at_most")
        return self


class Frontier(_Part):
    """The cost-effect frontier's axes: per-replication outcomes."""

    cost: str | None = Field(default=None,
                             description="The outcome to keep low; null: the objective's when "
                                         "it is minimised per replication, else "
                                         "`total_cost_ksh`.")
    effect: str | None = Field(default=None,
                               description="The outcome to keep high; null: the objective's "
                                           "when it is maximised per replication, else "
                                           "`competency_point_years`.")


class OptimiseSpec(_Part):
    """A search for the best plan (`mentorsim optimise`): the comparator scenario with the
    decision variables set, compared under common random numbers."""

    variables: dict[str, Variable] = Field(
        min_length=1, description="The decision variables by dotted key (the `--set` syntax), "
                                  "each a range or choices.")
    objective: Objective = Field(description="What the best plan does best.")
    constraints: list[Constraint] = Field(default_factory=list,
                                          description="Conditions every acceptable plan meets.")
    budget_ksh_per_year: float | None = Field(
        default=None, gt=0,
        description="A constraint on the plan's spending: the mean over the replications of "
                    "its largest fiscal year's spending (`peak_annual_cost_ksh`) at most this; "
                    "null: none.")
    frontier: Frontier = Field(default_factory=Frontier,
                               description="The axes of the cost-effect frontier.")
    trials: int = Field(ge=1, le=100_000, description="Candidate plans to evaluate (a plan "
                                                      "proposed again is not simulated again).")
    replications: int | None = Field(default=None, ge=1, le=100_000,
                                     description="Replications of every candidate; null: the "
                                                 "experiment's.")
    sampler: Literal["tpe", "cmaes", "nsga2"] = Field(
        default="tpe",
        description="Optuna's sampler: `tpe` (tree-structured Parzen estimator), `cmaes` "
                    "(CMA-ES; numeric variables, infeasible plans ranked last) or `nsga2` "
                    "(NSGA-II on the two frontier axes, for the whole frontier).")
    confidence: float = Field(default=0.9, gt=0.5, lt=1,
                              description="One-sided confidence of the lower bound a chance "
                                          "constraint's probability is estimated by.")


class ExperimentSpec(BaseModel):
    """The experiment file's schema: a base scenario, named variants and grid sweeps
    (scenarios, a sweep or both), and the uncertain parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="The experiment's label.")
    base: str = Field(description="The base scenario file, relative to this file.")
    replications: int = Field(ge=1, le=100_000, description="Replications of every scenario.")
    seed: int = Field(ge=0, description="Root seed.")
    comparator: str = Field(description="The scenario differences are measured from.")
    scenarios: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Named variants: each a mapping of dotted keys to values, the `--set` "
                    "syntax (`{}`: the base as it is).")
    sweep: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="Dotted keys and their values (at least one each): every combination "
                    "becomes a scenario, named by its values (`mentees_per_mentor=4,...`).")
    psa: dict[str, Distribution] = Field(
        default_factory=dict,
        description="Uncertain parameters by dotted key, each a distribution drawn once per "
                    "replication and applied to every scenario.")
    optimise: OptimiseSpec | None = Field(
        default=None, description="A search for the best plan around the comparator "
                                  "(`mentorsim optimise`); `batch` ignores it.")

    @model_validator(mode="after")
    def _check(self) -> ExperimentSpec:
        if not self.scenarios and not self.sweep:
            raise ValueError("give scenarios, a sweep, or both")
        for key, values in self.sweep.items():
            if not values:
                raise ValueError(f"sweep.{key}: needs at least one value")
        return self


@dataclass(frozen=True)
class Scenario:
    name: str
    overrides: dict[str, Any]
    config: Config


@dataclass(frozen=True)
class Experiment:
    """A validated experiment: every scenario's config, ready to run."""

    name: str
    replications: int
    seed: int
    comparator: str
    scenarios: tuple[Scenario, ...]
    psa: dict[str, Uniform | Triangular | Normal | LogNormal | Beta]
    optimise: OptimiseSpec | None = None

    def scenario(self, name: str) -> Scenario:
        return next(s for s in self.scenarios if s.name == name)

    def draws(self, replicate: int) -> dict[str, float]:
        """The sensitivity analysis's parameter values for one replicate: one stream per
        parameter, keyed by replicate and not by scenario, so every strategy in a draw
        sees the same values."""
        streams = Streams(self.seed, replicate)
        return {key: dist.sample(streams(f"psa.{key}")) for key, dist in self.psa.items()}

    def config_for(self, name: str, replicate: int) -> Config:
        """The scenario's config, with this replicate's sensitivity-analysis draws set."""
        if not self.psa:
            return self.scenario(name).config
        return self.config_with(name, self.draws(replicate))

    def config_with(self, name: str, values: dict[str, float]) -> Config:
        """The scenario's config with the given parameter values set."""
        data = self.scenario(name).config.to_dict()
        for key, value in values.items():
            cfgmod.set_dotted(data, key, value)
        return cfgmod.from_dict(data, f"{name} with {', '.join(values)}")

    def tasks(self) -> list[tuple[str, int]]:
        """Every (scenario, replicate), scenario by scenario."""
        return [(s.name, r) for s in self.scenarios for r in range(self.replications)]

    def fingerprint(self) -> str:
        """A hash of everything that determines each task's results, to guard ``--resume``:
        not the number of replications, which a resumed batch may raise."""
        doc = {"seed": self.seed,
               "scenarios": {s.name: s.config.to_dict() for s in self.scenarios},
               "psa": {k: d.model_dump() for k, d in self.psa.items()},
               # a posterior's draws, not only its path, determine the results
               "posteriors": sorted({hashlib.sha256(cfgmod.read_posterior(p).values.tobytes()).hexdigest()
                                     for p in {s.config.uncertainty.posterior
                                               for s in self.scenarios} if p})}
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "replications": self.replications, "seed": self.seed,
                "comparator": self.comparator,
                "scenarios": {s.name: s.overrides for s in self.scenarios},
                "psa": {k: d.model_dump() for k, d in self.psa.items()}}


def _sweep_name(keys: list[str], values: tuple[Any, ...]) -> str:
    return ",".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in zip(keys, values, strict=True))


def load_experiment(path: str | Path, overrides: list[str] | None = None,
                    replications: int | None = None) -> Experiment:
    """Read and validate an experiment file and every scenario it defines, with
    ``replications`` in place of the file's if given."""
    path = Path(path)
    data = cfgmod.read_raw(path)
    if replications is not None:
        data = {**data, "replications": replications}
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as err:
        raise ConfigError(cfgmod.format_error(str(path), err, ExperimentSpec)) from None
    base_path = path.parent / spec.base
    if not base_path.is_file():
        raise ConfigError(f"{path}: base: {spec.base}: file not found "
                          f"(looked for {base_path.resolve()})")
    base = cfgmod.read_raw(base_path)
    for key, value in cfgmod.parse_overrides(overrides or []):
        cfgmod.set_dotted(base, key, value)
    named: dict[str, dict[str, Any]] = dict(spec.scenarios)
    keys = list(spec.sweep)
    for values in itertools.product(*spec.sweep.values()) if keys else ():
        name = _sweep_name(keys, values)
        if name in named:
            raise ConfigError(f"{path}: sweep: scenario '{name}' is also a named scenario")
        named[name] = dict(zip(keys, values, strict=True))
    scenarios = []
    for name, changes in named.items():
        data = copy.deepcopy(base)
        for key, value in changes.items():
            try:
                cfgmod.set_dotted(data, key, copy.deepcopy(value))
            except ConfigError as err:
                raise ConfigError(f"{path}: scenario {name}: {err}") from None
        cfg = cfgmod.from_dict(data, f"{path}: scenario {name}")
        scenarios.append(Scenario(name, changes, cfg))
    # after the scenarios: a misspelt sweep key also misnames its scenarios, and the
    # comparator's error would hide the real one
    if spec.comparator not in named:
        raise ConfigError(f"{path}: comparator: no scenario named '{spec.comparator}'")
    experiment = Experiment(spec.name, spec.replications, spec.seed, spec.comparator,
                            tuple(scenarios), dict(spec.psa), spec.optimise)
    for s in scenarios:
        u = s.config.uncertainty
        drawn = set(spec.psa) & ({sp.parameter for sp in u.between_settings}
                                 | set(cfgmod.read_posterior(u.posterior).columns
                                       if u.posterior else ()))
        if drawn:
            raise ConfigError(f"{path}: psa: {sorted(drawn)[0]} is drawn by scenario "
                              f"{s.name}'s uncertainty block (its posterior or "
                              "between_settings); leave it out of psa")
    if spec.psa:  # every draw must make a valid scenario: fail now, not mid-batch
        for s in scenarios:
            for rep in range(spec.replications):
                try:
                    experiment.config_for(s.name, rep)
                except ConfigError as err:
                    raise ConfigError(f"{path}: psa: {err}") from None
    return experiment
