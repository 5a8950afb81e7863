"""Parameter uncertainty: each replicate's parameter set, drawn from a posterior sample and
from the spread between settings.

A scenario that names a posterior (``uncertainty.posterior``, a sample written by
``mentorsim calibrate``) runs each replicate with one of its draws, so the spread
across replicates holds how well the parameters are known as well as chance (the
survey items' parameters only where the scenario has a survey).
The draw is chosen by the seed and the replicate alone: replicates ``0 .. n-1``
take the ``n`` draws in an order shuffled by the seed, each once; the next ``n``
replicates take them again in a new order, and so on.

A scenario for a county with no data of its own may also declare how much some
parameters differ between settings (``uncertainty.between_settings``): each
replicate then draws the county's own value of each around the fitted (or drawn)
one, moved by the spread's ``shift`` where the county is known to differ, on the
parameter's scale, from a stream of its own.

Both are keyed by (seed, replicate) and never by scenario: two scenarios that name
the same uncertainty run replicate ``r`` with the same parameter set and the same
random streams, so their paired differences keep common random numbers.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from scipy.special import expit, logit

from sim.config import Config, ConfigError, SettingSpread, read_posterior
from sim.rng import Streams

CHANCE = "chance"
EDGE = 1e-9  # a logit's or log's argument is kept this far inside its domain


class Draw(NamedTuple):
    """One replicate's parameter set: its row in the posterior file (None without one) and
    the values it sets, by dotted key."""

    index: int | None
    values: dict[str, float]


def draw(cfg: Config, seed: int, replicate: int) -> Draw | None:
    """The parameter set replicate ``replicate`` runs with, or None if the scenario declares
    no uncertainty."""
    u = cfg.uncertainty
    if u.posterior is None and not u.between_settings:
        return None
    index, values = None, {}
    if u.posterior is not None:
        posterior = read_posterior(u.posterior)
        n = len(posterior)
        block, position = divmod(replicate, n)
        order = Streams(seed, block)("uncertainty.posterior").permutation(n)
        index = int(order[position])
        values = {k: v for k, v in posterior.draw(index).items()
                  if cfg.survey is not None or not k.startswith("survey.")}
    streams = Streams(seed, replicate)
    for spread in u.between_settings:
        fitted = values.get(spread.parameter, cfg.value(spread.parameter))
        z = float(streams(f"uncertainty.setting.{spread.parameter}").standard_normal())
        values[spread.parameter] = shifted(spread, fitted, z)
    return Draw(index, values)


def shifted(spread: SettingSpread, value: float, z: float) -> float:
    """``value`` moved by the spread's shift and ``z`` standard deviations, on its scale."""
    step = spread.shift + spread.sd * z
    if spread.scale == "log":
        return math.exp(math.log(max(value, EDGE)) + step)
    if spread.scale == "logit":
        return float(expit(logit(min(max(value, EDGE), 1 - EDGE)) + step))
    return value + step


def replicate_config(cfg: Config, seed: int, replicate: int) -> tuple[Config, Draw | None]:
    """The config replicate ``replicate`` runs with, and its draw (None: ``cfg`` itself)."""
    d = draw(cfg, seed, replicate)
    if d is None:
        return cfg, None
    try:
        return cfg.with_values(d.values), d
    except ConfigError as err:
        where = (f"{cfg.uncertainty.posterior}: draw {d.index + 1}" if d.index is not None
                 else "uncertainty.between_settings")
        raise ConfigError(f"{where}: {err}") from None


def holds(cfg: Config) -> str:
    """What the spread across replicates of ``cfg`` holds: chance, and what else varies."""
    u = cfg.uncertainty
    parts = [CHANCE]
    if u.posterior is not None:
        parts.append(f"parameters ({len(read_posterior(u.posterior))} posterior draws)")
    if u.between_settings:
        parts.append("between-setting variation ("
                     + ", ".join(s.parameter.split(".", 1)[-1] for s in u.between_settings)
                     + ")")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def holds_all(configs: list[Config]) -> str:
    """What the spread across replicates holds for a set of scenarios (a batch's)."""
    said = {holds(c) for c in configs}
    if len(said) == 1:
        return said.pop()
    return f"{CHANCE}, and more for the scenarios that declare uncertainty"
