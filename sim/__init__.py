"""mentorsim: a discrete-event simulator of peer mentoring for immunization nurses."""

from importlib.metadata import PackageNotFoundError, version

from sim.config import Config, ConfigError, load
from sim.runner import Results, run

try:
    __version__ = version("mentorsim")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["Config", "ConfigError", "Results", "load", "run", "__version__"]
