"""Command line: ``mentorsim run`` and ``mentorsim validate``.

Every user error (a bad config, a bad flag value, an unusable output folder)
ends with one line on stderr and exit status 2; nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sim.config import ConfigError, load
from sim.runner import OutputError, run

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        raise ConfigError(message)


def _parser() -> argparse.ArgumentParser:
    from sim import __version__

    p = _Parser(prog="mentorsim", description="Simulate peer mentoring of immunization nurses.")
    p.add_argument("--version", action="version", version=f"mentorsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run a scenario and write its outputs")
    r.add_argument("config", help="scenario YAML file")
    r.add_argument("--out", required=True, help="output directory")
    r.add_argument("--reps", type=int, default=1, help="replications (default 1)")
    r.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    r.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY=VALUE", help="override a config value, e.g. mentor.mentees_per_mentor=6")
    r.add_argument("--force", action="store_true", help="overwrite a non-empty output directory")
    r.add_argument("--plot", action="store_true", help="also write competency.png")

    v = sub.add_parser("validate", help="check a scenario file and exit")
    v.add_argument("config", help="scenario YAML file")
    v.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    return p


def _run(args: argparse.Namespace) -> None:
    from pathlib import Path

    cfg = load(args.config, args.overrides)
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not args.force)):
        # Checked before the (possibly long) run as well as at write time.
        raise OutputError(f"{out}: exists and is not an empty directory (use --force to overwrite)")
    res = run(cfg, reps=args.reps, seed=args.seed)
    res.write(out, force=args.force, plot=args.plot)
    o = res.summary["overall"]

    def fmt(key: str, spec: str) -> str:
        s = o[key]
        if s["mean"] is None:
            return "n/a"
        return f"{s['mean']:{spec}} (90% {s['p5']:{spec}}-{s['p95']:{spec}})"

    print(f"{cfg.name}: {args.reps} replication(s), seed {args.seed} -> {out}")
    print(f"  mean competency at horizon  {fmt('mean_competency_at_horizon', '.2f')}")
    print(f"  share with all areas >= 3   {fmt('share_all_areas_3_or_above', '.2f')}")
    print(f"  visits per mentee           {fmt('visits_per_mentee', '.1f')}")
    print(f"  total cost KSh              {fmt('total_cost_ksh', ',.0f')}")
    print(f"  cost per mentee KSh         {fmt('cost_per_mentee_ksh', ',.0f')}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command == "validate":
            cfg = load(args.config, args.overrides)
            n_sub = len(cfg.subcounties)
            n_fac = sum(s.facilities.total for s in cfg.subcounties)
            print(f"{args.config}: ok ({cfg.name}: {n_sub} subcount{'y' if n_sub == 1 else 'ies'}, "
                  f"{n_fac} facilities, {cfg.months} months)")
        else:
            _run(args)
    except (ConfigError, OutputError) as err:
        print(f"mentorsim: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
