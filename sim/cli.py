"""The command line, ``mentorsim`` (and ``python -m sim``).

Every user error (a bad config, a bad flag value, an unusable output folder, a Dask
scheduler that does not answer) ends with one line on stderr and exit status 2; Ctrl-C
ends with one line and status 130. Either way nothing is half-written. The commands
(:mod:`sim.commands`) are imported inside :func:`main`, so Ctrl-C while the scientific
libraries load, the first second or two, is handled like Ctrl-C at any other time.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # the shell's status for a process ended by SIGINT


def _interrupted() -> int:
    print("mentorsim: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mentorsim`` with ``argv`` (default: the command line); returns the exit status."""
    try:
        from sim.commands import dispatch
        from sim.config import ConfigError
        from sim.outputs import OutputError
    except KeyboardInterrupt:
        return _interrupted()
    try:
        dispatch(argv)
    except (ConfigError, OutputError) as err:
        print(f"mentorsim: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # whatever was being written has been removed
        return _interrupted()
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr.close()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
