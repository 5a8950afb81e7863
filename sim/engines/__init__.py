"""The engines: two implementations of one model, selected by name.

``reference`` (:mod:`sim.engines.reference`) is the model written to be read: a
SimPy process per nurse post, mentor and group, each rule applied directly. ``fast``
(the default) implements the same rules with arrays, calendars, lazy settlement and
compiled kernels. Both give the same record for the same (config, seed, replicate):
integers identical, floats within 1e-9 (``tests/test_engines.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.config import ConfigError

if TYPE_CHECKING:
    from sim.config import Config
    from sim.record import Record

ENGINES = ("fast", "reference")
DEFAULT = "fast"


def check(engine: str) -> str:
    """``engine`` if it names an engine, else a :class:`ConfigError` naming the choices."""
    if engine not in ENGINES:
        raise ConfigError(f"engine: {engine!r} is not one of {', '.join(ENGINES)}")
    return engine


def simulate(config: Config, seed: int, replicate: int = 0, engine: str = DEFAULT) -> Record:
    """Run one replicate on ``engine``: a pure function of its arguments.

    A config that names a posterior runs with the replicate's draw from it
    (:mod:`sim.uncertainty`); the record keeps the draw.
    """
    from sim.uncertainty import replicate_config

    if check(engine) == "reference":
        from sim.engines.reference.model import simulate as run
    else:
        from sim.engines.fast.model import simulate as run
    cfg, draw = replicate_config(config, seed, replicate)
    record = run(cfg, seed, replicate)
    record.draw = draw
    return record
