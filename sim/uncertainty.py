"""Parameter uncertainty: each replicate's parameter set, drawn from a posterior sample.

A scenario that names a posterior (``uncertainty.posterior``, a sample written by
``mentorsim calibrate``) runs each replicate with one of its draws, so the spread
across replicates holds how well the parameters are known as well as chance.
The draw is chosen by the seed and the replicate alone: two scenarios that name
the same posterior run replicate ``r`` with the same parameter set and the same
random streams, so their paired differences keep common random numbers. The
replicates ``0 .. n-1`` take the ``n`` draws in an order shuffled by the seed,
each once; the next ``n`` replicates take them again in a new order, and so on.
"""

from __future__ import annotations

from typing import NamedTuple

from sim.config import Config, ConfigError, read_posterior
from sim.rng import Streams

#: What a summary says its intervals hold.
CHANCE = "chance"
CHANCE_AND_PARAMETERS = "chance and parameters"


class Draw(NamedTuple):
    """One replicate's parameter set: its row in the posterior file and the values."""

    index: int
    values: dict[str, float]


def draw(cfg: Config, seed: int, replicate: int) -> Draw | None:
    """The parameter set replicate ``replicate`` runs with, or None without a posterior."""
    if cfg.uncertainty.posterior is None:
        return None
    posterior = read_posterior(cfg.uncertainty.posterior)
    n = len(posterior)
    block, position = divmod(replicate, n)
    order = Streams(seed, block)("uncertainty.posterior").permutation(n)
    index = int(order[position])
    return Draw(index, posterior.draw(index))


def replicate_config(cfg: Config, seed: int, replicate: int) -> tuple[Config, Draw | None]:
    """The config replicate ``replicate`` runs with, and its draw (None: ``cfg`` itself)."""
    d = draw(cfg, seed, replicate)
    if d is None:
        return cfg, None
    try:
        return cfg.with_values(d.values), d
    except ConfigError as err:
        raise ConfigError(f"{cfg.uncertainty.posterior}: draw {d.index + 1}: {err}") from None


def holds(cfg: Config) -> str:
    """What the spread across replicates of ``cfg`` holds: chance, or parameters too."""
    if cfg.uncertainty.posterior is None:
        return CHANCE
    n = len(read_posterior(cfg.uncertainty.posterior))
    return f"{CHANCE_AND_PARAMETERS} ({n} posterior draws)"


def holds_all(configs: list[Config]) -> str:
    """What the spread across replicates holds for a set of scenarios (a batch's)."""
    said = {holds(c) for c in configs}
    if len(said) == 1:
        return said.pop()
    return f"{CHANCE}, and parameters for the scenarios that name a posterior"
