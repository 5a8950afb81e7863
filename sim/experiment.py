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
``mentees_per_mentor=4,target_interval_days=30``.
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
                            tuple(scenarios), dict(spec.psa))
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
