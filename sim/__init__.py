"""mentorsim: a discrete-event simulator of peer mentoring for immunization nurses.

``sim.run``, ``sim.load``, ``sim.Config``, ``sim.ConfigError``, ``sim.Results`` and
``sim.Batch`` load their modules when first used, so that importing the package (as the
command line does before it can handle Ctrl-C) costs nothing.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mentorsim")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

_HOMES = {"Config": "sim.config", "ConfigError": "sim.config", "load": "sim.config",
          "Results": "sim.runner", "run": "sim.runner", "Batch": "sim.api"}
__all__ = [*_HOMES, "__version__"]


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
