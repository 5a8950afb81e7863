"""The commands of ``mentorsim``: ``run``, ``validate``, ``init``, ``schema``, ``batch``,
``compare``, ``plot``, ``cea``, ``voi``, ``tornado``, ``report``, ``optimise``, ``calibrate``,
``report-validation`` and ``power``.

Each reports a user's error (a bad config, a bad flag value, an unusable output folder, a
Dask scheduler that does not answer) by raising :class:`ConfigError` or
:class:`OutputError` with its one line; :func:`sim.cli.main` prints it.
"""

from __future__ import annotations

import argparse
import math
import os
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import yaml

from sim import metrics, uncertainty
from sim.config import ConfigError, load
from sim.engines import DEFAULT, ENGINES
from sim.outputs import check_file, check_folder, write_folder
from sim.runner import run
from sim.scenarios import describe_plan, short_names



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
    _common(r, reps=1, seed=0)
    _jobs(r, "local worker processes for the replications (default: all cores)")
    r.add_argument("--plot", action="store_true", help="also write competency.png")
    _engine(r)

    v = sub.add_parser("validate", help="check a scenario file and exit")
    v.add_argument("config", help="scenario YAML file")
    _overrides(v)

    i = sub.add_parser("init", help="write a starter county scenario and experiment")
    i.add_argument("dir", help="directory to write county.yaml and experiment.yaml into")
    i.add_argument("--force", action="store_true", help="write into a non-empty directory")

    s = sub.add_parser("schema", help="write the JSON schema of scenario files (for editors)")
    kind = s.add_mutually_exclusive_group()
    kind.add_argument("--experiment", action="store_true", help="of experiment files instead")
    kind.add_argument("--reference", action="store_true",
                      help="the configuration reference in Markdown instead")
    s.add_argument("-o", "--out", help="write to this file (default: standard output)")

    c = sub.add_parser("calibrate", help="fit unreported parameters' posterior to one arm's "
                                         "results")
    c.add_argument("config", help="scenario YAML file of the arm (one subcounty)")
    c.add_argument("--targets", required=True, help="targets YAML (e.g. configs/targets/lari.yaml)")
    c.add_argument("--evaluations", type=_at_least(1), default=100,
                   help="evaluations for the mode search (default 100)")
    c.add_argument("--walkers", type=_at_least(2), default=16,
                   help="the posterior sampler's walkers (default 16)")
    c.add_argument("--steps", type=_at_least(0), default=220,
                   help="the sampler's steps, the first half discarded (default 220; 0: the mode "
                        "only)")
    c.add_argument("--items", choices=["auto", "fit", "keep"], default="auto",
                   help="fit the survey items' parameters, or keep the config's (default auto: "
                        "fit from a survey of both waves)")
    c.add_argument("--fit", help="the outer parameters to fit, comma separated (default: every "
                                 "one the targets inform)")
    c.add_argument("--check-reps", type=_at_least(1), default=200,
                   help="replications of the posterior predictive check (default 200)")
    c.add_argument("--resume", action="store_true",
                   help="continue an interrupted calibration in --out")
    _common(c, reps=10, seed=1, what="replications per evaluation")
    _jobs(c, "local worker processes for the evaluations (default: all cores)")

    r = sub.add_parser("report-validation", help="observed vs simulated for every target")
    r.add_argument("config", help="scenario YAML file")
    r.add_argument("--targets", required=True, help="targets YAML (e.g. configs/targets/lari.yaml)")
    r.add_argument("--fitted-to", metavar="TARGETS",
                   help="the targets YAML the scenario's posterior was fitted to: the targets "
                        "it lacks are marked held out and counted apart")
    _common(r, reps=200, seed=0, out="validation")

    w = sub.add_parser("power", help="chance an endline survey of n mentees finds each gain")
    w.add_argument("config", help="scenario YAML file")
    w.add_argument("--n", required=True, help="survey sizes, comma separated, e.g. 20,40,80")
    _common(w, reps=200, seed=0, out="power", what="replications per size")

    b = sub.add_parser("batch", help="run every scenario and replicate of an experiment")
    b.add_argument("experiment", help="experiment YAML file (configs/experiments/...)")
    b.add_argument("--out", required=True, help="output directory")
    _jobs(b, "local worker processes (default: all cores)")
    b.add_argument("--scheduler", help="a Dask scheduler address, to run on a cluster instead")
    b.add_argument("--resume", action="store_true",
                   help="finish a batch that was interrupted, or extend it with more --reps")
    b.add_argument("--reps", type=_at_least(1),
                   help="replications of every scenario (default: the experiment's)")
    b.add_argument("--save-every", type=_seconds, metavar="SECONDS",
                   help="save finished tasks at least this often; a kill loses at most this "
                        "much work (default 60)")
    b.add_argument("--until-decided", metavar="A,B",
                   help="run rounds of --step replications until B's paired difference from A "
                        "in --outcome has a 95 %% interval that excludes zero (or is within "
                        "--precision), at most --reps")
    b.add_argument("--outcome", default="mean_competency_at_horizon",
                   help="the outcome --until-decided compares (default "
                        "mean_competency_at_horizon)")
    b.add_argument("--precision", type=float, default=None,
                   help="with --until-decided, also stop once the interval is this narrow "
                        "either side of its mean")
    b.add_argument("--step", type=_at_least(2), default=10,
                   help="replications a round of --until-decided adds (default 10)")
    _engine(b)
    _overrides(b, "override a base-config value for every scenario")

    k = sub.add_parser("compare", help="compare the scenarios of a finished batch")
    k.add_argument("out", help="a batch output directory")
    k.add_argument("--format", choices=["table", "csv", "markdown"], default="table")

    g = sub.add_parser("plot", help="figures of a finished batch, as PNG and SVG")
    g.add_argument("out", help="a batch output directory")

    e = sub.add_parser("cea", help="cost-effectiveness of a finished batch's strategies")
    e.add_argument("out", help="a batch output directory (one scenario per strategy)")
    _cea_options(e)

    v = sub.add_parser("voi", help="value of information: which parameters and what "
                                   "evaluation survey are worth learning, from a finished batch")
    v.add_argument("out", help="a batch output directory whose replicates draw parameters")
    v.add_argument("--wtp", type=float, required=True,
                   help="willingness to pay per effect unit, in --currency")
    _currency(v)
    v.add_argument("--effect", default="competency_point_years", choices=metrics.EFFECTS)
    v.add_argument("--discount", type=float, default=None,
                   help="discount rate a year (default: the scenarios' costs.discount_rate)")
    v.add_argument("--nurses", type=float, default=None,
                   help="nurses a year the decision affects (default: the batch's cohort)")
    v.add_argument("--years", type=_at_least(1), default=1,
                   help="years the decision affects (default 1)")
    v.add_argument("--survey", default=None,
                   help="evaluation survey sizes in facilities, comma separated (e.g. 10,20,40)")
    v.add_argument("--survey-scenario", default=None,
                   help="the programme the survey evaluates (default: the experiment's first "
                        "scenario)")
    v.add_argument("--survey-months", type=_at_least(1), default=12,
                   help="months of mentoring between the survey's waves (default 12)")
    v.add_argument("--survey-cost", default=None, metavar="FIXED,PER_FACILITY",
                   help="the survey's cost in KSh: a fixed part, and per facility per wave")

    t = sub.add_parser("tornado", help="one-way sensitivity of a strategy's net benefit")
    t.add_argument("experiment", help="experiment YAML file with a psa: block")
    t.add_argument("--strategy", required=True, help="the scenario to compare with the comparator")
    t.add_argument("--wtp", type=float, required=True,
                   help="willingness to pay per effect unit, in --currency")
    _currency(t)
    t.add_argument("--effect", default="competency_point_years", choices=metrics.EFFECTS)
    t.add_argument("--discount", type=float, default=0.03, help="discount rate a year (default 0.03)")
    _common(t, reps=20, seed=0, out="tornado", what="replications per run")

    o = sub.add_parser("optimise", help="search for the best plan of an experiment's "
                                        "optimise: block")
    o.add_argument("experiment", help="experiment YAML file with an optimise: block")
    o.add_argument("--out", required=True, help="output directory (it keeps the study)")
    _jobs(o, "local worker processes for each candidate's replications (default: all cores)")
    o.add_argument("--resume", action="store_true",
                   help="continue an interrupted study in --out (or one given more trials)")
    o.add_argument("--force", action="store_true", help="start afresh in a non-empty directory")
    _engine(o)
    _overrides(o, "override a base-config value")

    h = sub.add_parser("report", help="the planner's report of a batch: HTML and Excel")
    h.add_argument("out", help="a batch output directory")
    h.add_argument("--html", help="write a self-contained HTML page here")
    h.add_argument("--xlsx", help="write an Excel workbook (one sheet per table) here")
    _cea_options(h)
    return p


def _cea_options(p: argparse.ArgumentParser) -> None:
    """The cost-effectiveness options ``cea`` and ``report`` share."""
    p.add_argument("--effect", default="competency_point_years", choices=metrics.EFFECTS)
    p.add_argument("--discount", type=float, default=None,
                   help="discount rate a year (default: the scenarios' costs.discount_rate)")
    p.add_argument("--wtp", default=None,
                   help="willingness to pay per effect unit, in --currency: start:stop:step or a "
                        "comma list (default 0 to 100,000 KSh in steps of 2,000)")
    p.add_argument("--threshold", type=float, default=None,
                   help="the willingness to pay of the CE plane's line and the summary, in "
                        "--currency (default: the middle of the --wtp range)")
    _currency(p)


def _currency(p: argparse.ArgumentParser) -> None:
    p.add_argument("--currency", type=str.lower, choices=("ksh", "usd"), default="ksh",
                   help="the currency of the willingness to pay: ksh or usd (default ksh; "
                        "US$ at the scenarios' costs.ksh_per_usd)")


def _common(p: argparse.ArgumentParser, reps: int, seed: int, out: str | None = None,
            what: str = "replications") -> None:
    """The options every command that simulates and writes a folder shares."""
    if out is None:
        p.add_argument("--out", required=True, help="output directory")
    else:
        p.add_argument("--out", default=out, help=f"output directory (default ./{out})")
    p.add_argument("--reps", type=_at_least(1), default=reps, help=f"{what} (default {reps})")
    p.add_argument("--seed", type=_at_least(0), default=seed, help=f"root seed (default {seed})")
    p.add_argument("--force", action="store_true", help="write into a non-empty output directory")
    _overrides(p)


def _overrides(p: argparse.ArgumentParser, help: str = "override a config value") -> None:
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help=help)


def _engine(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=ENGINES, default=DEFAULT,
                   help=f"the engine that simulates (default {DEFAULT}; both give the same results)")


def _jobs(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--jobs", type=_at_least(1), default=os.cpu_count() or 1, help=help)


def _at_least(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number, at least ``least``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    return parse


def _seconds(text: str) -> float:
    """An argparse type: a number of seconds, at least 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got '{text}'") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {text}")
    return value


def _run(args: argparse.Namespace) -> None:
    cfg = load(args.config, args.overrides)
    out = check_folder(args.out, args.force)  # before the run as well as at write time
    res = run(cfg, reps=args.reps, seed=args.seed, jobs=args.jobs, engine=args.engine)
    res.write(out, force=args.force, plot=args.plot)
    o = res.summary["overall"]

    def fmt(key: str, spec: str) -> str:
        s = o[key]
        if s["mean"] is None:
            return "n/a"
        return f"{s['mean']:{spec}} (90% {s['p5']:{spec}}-{s['p95']:{spec}})"

    print(f"{cfg.name}: {args.reps} replication(s), seed {args.seed} -> {args.out}")
    print(f"  (90% intervals: across replications, holding {uncertainty.holds(cfg)})")
    print(f"  mean competency at horizon  {fmt('mean_competency_at_horizon', '.2f')}")
    print(f"  share with all areas >= 3   {fmt('share_all_areas_3_or_above', '.2f')}")
    print(f"  visits per mentee           {fmt('visits_per_mentee', '.1f')}")
    print(f"  total cost KSh              {fmt('total_cost_ksh', ',.0f')}")
    print(f"  cost per mentee KSh         {fmt('cost_per_mentee_ksh', ',.0f')}")
    for line in _phase_lines(res.phases):
        print(line)


def _phase_lines(phases: pd.DataFrame) -> list[str]:
    """A line per scale-up phase: its planned month, when it started and why."""
    lines = []
    for row in metrics.timeline(phases).itertuples():
        lo, hi = row.start_month_min, row.start_month_max
        if pd.isna(lo):
            when = "never started"
        elif lo == hi:
            when = f"started month {lo:.0f}"
        else:
            when = f"started month {row.start_month_mean:.1f} on average (range {lo:.0f}-{hi:.0f})"
        if row.not_started and not pd.isna(lo):
            when += f", and not within the horizon in {row.not_started} replicates"
        lines.append(f"  phase {row.phase} ({short_names(row.subcounties.split(', '))}): "
                     f"planned month {row.planned_month}, {when}; {row.reasons}")
    return lines


def _calibrate(args: argparse.Namespace) -> None:
    import tempfile

    from sim import calibrate, evaluation, survey
    from sim.config import Uncertainty
    from sim.plots import chain_figure, pairs_figure, validation_figure

    cfg = load(args.config, args.overrides)
    targets = survey.load_targets(args.targets)
    checkpoint = Path(args.out).resolve() / "chain.npz"
    if args.resume:
        if not checkpoint.is_file():
            raise ConfigError(f"--resume: {checkpoint.parent} holds no calibration to resume")
        out = check_folder(args.out, True)
    else:
        out = check_folder(args.out, args.force)
        checkpoint.unlink(missing_ok=True)  # --force: start again
    if args.steps:  # the sampler keeps its state there after every step
        out.mkdir(parents=True, exist_ok=True)
    fit = calibrate.calibrate(cfg, targets, reps=args.reps, seed=args.seed,
                              evaluations=args.evaluations, walkers=args.walkers,
                              steps=args.steps, jobs=args.jobs, items=args.items,
                              only=[n.strip() for n in args.fit.split(",")] if args.fit else None,
                              checkpoint=checkpoint if args.steps else None)
    posterior = "posterior.csv" if fit.chain is not None else None
    doc = calibrate.parameters_document(fit, targets, args.seed, args.reps, posterior)
    summary = fit.summary()
    header = (f"# Fitted by `mentorsim calibrate` to {targets.subcounty} ({args.targets}).\n"
              "# Include this file from a scenario to run it with the calibrated values.\n")
    writers: dict[str, Callable[[Path], object]] = {
        "calibrated.yaml": lambda p: p.write_text(header + yaml.safe_dump(doc, sort_keys=False)),
        "trace.csv": lambda p: fit.mode.trace.to_csv(p, index=False),
        "parts.csv": lambda p: pd.Series(fit.mode.evaluation.parts, name="nll").to_csv(p),
        "posterior_summary.csv": lambda p: summary.to_csv(p, index=False),
    }
    print(f"{cfg.name}: {len(fit.mode.trace)} evaluations to the mode, {args.reps} replications "
          f"each, seed {args.seed}")
    print(f"  objective (minus the log posterior): {fit.mode.initial_objective:.2f} -> "
          f"{fit.mode.evaluation.objective:.2f}")
    if fit.chain is not None:
        draws = fit.draws()
        comment = "".join(f"# {line}\n" for line in (
            f"Posterior sample fitted by `mentorsim calibrate` to {targets.subcounty} "
            f"({args.targets}), seed {args.seed}.",
            doc["calibration"]["method"] + f"; {len(draws)} draws.",
            "Name it from a scenario as uncertainty.posterior to draw each replicate's "
            "parameters from it."))
        with tempfile.TemporaryDirectory() as tmp:  # the check reads the sample from a file
            sample = Path(tmp) / "posterior.csv"
            sample.write_text(comment + draws.to_csv(index=False, float_format="%.6g"))
            checked = fit.config.model_copy(update={"uncertainty": Uncertainty(
                posterior=str(sample))})
            check = evaluation.validate(checked, targets, reps=args.check_reps, seed=args.seed)
            text = sample.read_text()
        inside = int(check["inside"].sum())
        title = (f"{cfg.name}: posterior predictive check, {inside} of {len(check)} inside the "
                 "90 % interval")
        names = [p.name for p in fit.parameters]
        writers |= {
            "posterior.csv": lambda p: p.write_text(text),
            "predictive.csv": lambda p: check.to_csv(p, index=False),
            "predictive.png": lambda p: validation_figure(check, title).savefig(p),
            "pairs.png": lambda p: pairs_figure(draws, fit.values,
                                                {q.name: q.prior for q in fit.parameters},
                                                f"{cfg.name}: posterior").savefig(p),
            "chain.png": lambda p: chain_figure(fit.chain.z, names, fit.burn,
                                                f"{cfg.name}: walkers").savefig(p),
        }
        print(f"  posterior: {fit.chain.z.shape[1]} walkers x {fit.chain.steps - 1} steps, the "
              f"first {fit.burn} discarded; acceptance {fit.acceptance():.2f}; {len(draws)} "
              "draws kept")
    write_folder(out, writers, True)
    for row in summary.itertuples(index=False):
        line = f"  {row.parameter:<34}mode {row.mode:8.4f}"
        if fit.chain is not None:
            line += (f"   median {row.median:8.4f} (90% {row.p5:.4f}-{row.p95:.4f})   "
                     f"ESS {row.effective_draws:,.0f}")
        print(line)
    if fit.chain is not None:
        print(f"  posterior predictive check: {inside} of {len(check)} targets inside the "
              "90 % interval (predictive.csv)")
    print(f"  wrote {out}")


def _report_validation(args: argparse.Namespace) -> None:
    from sim import evaluation, survey
    from sim.plots import validation_figure

    cfg = load(args.config, args.overrides)
    targets = survey.load_targets(args.targets)
    fitted = survey.load_targets(args.fitted_to) if args.fitted_to else None
    out = check_folder(args.out, args.force)
    table = evaluation.validate(cfg, targets, reps=args.reps, seed=args.seed)
    if fitted is not None:
        table["held_out"] = evaluation.held_out(table, fitted)
    study = evaluation.study_tables(cfg, reps=args.reps, seed=args.seed)
    counts = _inside_counts(table)
    title = f"{cfg.name} vs {targets.subcounty}\n{counts} inside the 90 % interval"
    write_folder(out, {
        "validation.csv": lambda p: table.to_csv(p, index=False),
        "study_table.csv": lambda p: study.to_csv(p, index=False),
        "validation.png": lambda p: validation_figure(table, title).savefig(p),
    }, args.force)
    show = table.assign(interval=[f"{lo:.2f}-{hi:.2f}" for lo, hi in
                                  zip(table["simulated_p5"], table["simulated_p95"], strict=True)])
    show["inside"] = show["inside"].map({True: "", False: "OUTSIDE"})
    cols = ["target", "wave", "observed", "simulated_mean", "interval", "inside"]
    if fitted is not None:
        show["held_out"] = show["held_out"].map({True: "held out", False: ""})
        cols.append("held_out")
    print(show[cols].to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    print(f"{counts} inside the simulated 90 % prediction interval (holding the survey's "
          f"sampling, {uncertainty.holds(cfg)}); wrote {out}")


def _inside_counts(table: pd.DataFrame) -> str:
    """``k of n targets (p %)``, and apart for the fitted and held-out ones if marked."""
    def count(rows: pd.DataFrame) -> str:
        k, n = int(rows["inside"].sum()), len(rows)
        return f"{k} of {n} ({k / n:.0%})" if n else "none"

    if "held_out" not in table:
        return f"{count(table)} targets"
    return (f"held out: {count(table[table['held_out']])}, fitted: "
            f"{count(table[~table['held_out']])}")


def _power(args: argparse.Namespace) -> None:
    from sim import evaluation

    cfg = load(args.config, args.overrides)
    try:
        sizes = [int(x) for x in args.n.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--n: expected whole numbers separated by commas, got '{args.n}'") from None
    if not sizes:
        raise ConfigError("--n: give at least one survey size")
    out = check_folder(args.out, args.force)
    table = evaluation.power(cfg, sizes, reps=args.reps, seed=args.seed)
    write_folder(out, {"power.csv": lambda p: table.to_csv(p, index=False)}, args.force)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    print(f"share of {args.reps} replications in which McNemar's test (p < 0.05) finds the gain; "
          f"wrote {out}")


def _batch(args: argparse.Namespace) -> None:
    from sim import batch
    from sim.experiment import load_experiment

    exp = load_experiment(args.experiment, args.overrides, args.reps)
    run = {"jobs": args.jobs, "scheduler": args.scheduler, "engine": args.engine,
           "save_every": batch.SAVE_EVERY if args.save_every is None else args.save_every}
    if args.until_decided is None:
        batch.run_batch(exp, args.out, resume=args.resume, **run)
        print(f"{exp.name}: {len(exp.scenarios)} scenarios x {exp.replications} replications, "
              f"seed {exp.seed} -> {args.out}")
        return
    pair = [name.strip() for name in args.until_decided.split(",")]
    if len(pair) != 2:
        raise ConfigError(f"--until-decided: expected two scenarios A,B, got "
                          f"'{args.until_decided}'")
    if args.precision is not None and not args.precision > 0:
        raise ConfigError(f"--precision: must be above 0, got {args.precision:g}")
    res = batch.run_until_decided(exp, args.out, *pair, args.outcome, args.step, args.precision,
                                  resume=args.resume, **run)
    why = {"excludes zero": "its interval excludes zero",
           "precision": f"its interval is within {args.precision or 0:g} either side",
           "cap": f"the cap of {exp.replications} replications, undecided"}[res.reason]
    print(f"{exp.name}: {len(exp.scenarios)} scenarios x {res.replications} replications, "
          f"seed {exp.seed} -> {args.out}")
    fmt = ",.0f" if abs(res.mean) >= 1000 else ".4g"
    print(f"{pair[1]} - {pair[0]}, {args.outcome}: {res.mean:{fmt}} (95 % interval "
          f"{res.low:{fmt}} to {res.high:{fmt}}), paired by replication; stopped at {why}")


def _compare(args: argparse.Namespace) -> None:
    from sim import batch, compare

    table = compare.compare(args.out)
    if args.format == "csv":
        print(table.to_csv(index=False), end="")
        return
    comparator = batch.experiment_of(args.out)["comparator"]
    reps = int(table["replicates"].min())
    holds = batch.intervals_hold(args.out)
    blocks = [(f"Outcomes: mean (90 % interval) over {reps} replications; the intervals hold "
               f"{holds}", compare.wide(table)),
              (f"Difference from {comparator}, paired by replication",
               compare.wide(table, difference=True))]
    for i, (title, shown) in enumerate(blocks):
        if args.format == "markdown":
            print(f"{'' if i == 0 else chr(10)}**{title}**\n\n{compare.markdown(shown)}")
        else:
            print(f"{'' if i == 0 else chr(10)}{title}\n{shown.to_string(index=False)}")


def _plot(args: argparse.Namespace) -> None:
    from sim import batch
    from sim.plots import batch_figures

    exp = batch.experiment_of(args.out)
    figs = batch_figures(batch.read(args.out, "timeseries"), batch.read(args.out, "outcomes"),
                         list(exp["scenarios"]))
    writers = {f"{name}.{ext}": (lambda p, fig=fig: fig.savefig(p))
               for name, fig in figs.items() for ext in ("png", "svg")}
    folder = write_folder(Path(args.out) / "plots", writers, whole=True)
    print(f"wrote {', '.join(sorted(writers))} to {folder}")


#: The most willingness-to-pay values ``--wtp`` may give.
MAX_WTPS = 1001


def _wtp_grid(text: str) -> list[float]:
    """``start:stop:step`` or a comma list of willingness-to-pay values, none negative."""
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if not step > 0 or not stop >= start:
                raise ValueError
            count = int(min((stop - start) / step + 1e-9, MAX_WTPS)) + 1
            values = [start + k * step for k in range(count)]
        else:
            values = [float(x) for x in text.split(",") if x.strip()]
    except (ValueError, OverflowError):
        raise ConfigError(f"--wtp: expected start:stop:step or a comma list, got '{text}'") from None
    if not values:
        raise ConfigError("--wtp: give at least one value")
    if len(values) > MAX_WTPS:
        raise ConfigError(f"--wtp: at most {MAX_WTPS:,} values, got more")
    for value in values:
        _not_negative("--wtp", value)
    return sorted(set(values))


def _not_negative(option: str, value: float) -> None:
    if not math.isfinite(value):
        raise ConfigError(f"{option}: a willingness to pay must be a finite number, got {value:g}")
    if value < 0:
        raise ConfigError(f"{option}: a willingness to pay cannot be negative, got {value:g}")


def _cost_effectiveness(args: argparse.Namespace):
    """The batch's cost-effectiveness for the shared options, and the threshold in KSh; every
    option is checked before anything is read or written."""
    from sim import compare

    if args.discount is not None and not 0 <= args.discount <= 0.5:
        raise ConfigError(f"--discount: must be between 0 and 0.5, got {args.discount}")
    wtps = _wtp_grid(args.wtp) if args.wtp is not None else None
    if args.threshold is not None:
        _not_negative("--threshold", args.threshold)
    usd = compare.exchange_rate(args.out) if args.currency == "usd" else 1.0
    wtps = [w * usd for w in wtps] if wtps is not None else list(range(0, 100_001, 2000))
    threshold = (args.threshold * usd if args.threshold is not None
                 else (wtps[0] + wtps[-1]) / 2)
    return compare.cost_effectiveness(args.out, args.effect, args.discount, wtps), threshold


def _cea(args: argparse.Namespace) -> None:
    from sim import batch, compare
    from sim.plots import ce_plane_figure, ceac_figure, expected_loss_figure

    res, threshold = _cost_effectiveness(args)
    unit = metrics.EFFECT_UNITS[args.effect]
    write_folder(Path(args.out) / "cea", {
        "icer.csv": lambda p: res.icer.to_csv(p, index=False),
        "curves.csv": lambda p: res.curves.to_csv(p, index=False),
        "decision.csv": lambda p: res.decision.to_csv(p, index=False),
        "ce_plane.png": lambda p: ce_plane_figure(res.d_cost, res.d_effect, res.reference, unit,
                                                  threshold, res.ksh_per_usd).savefig(p),
        "ceac.png": lambda p: ceac_figure(res.curves, res.decision, unit,
                                          res.ksh_per_usd).savefig(p),
        "expected_loss.png": lambda p: expected_loss_figure(res.curves, res.decision, unit,
                                                            res.ksh_per_usd).savefig(p),
    }, whole=True)
    prices = f", {res.price_year} prices" if res.price_year else ""
    print(f"{res.name}: {len(res.cost)} draws (replications, holding "
          f"{batch.intervals_hold(args.out)}), effect {args.effect}, "
          f"discount {res.rate:.0%} a year{prices}, US$ 1 = {res.ksh_per_usd:,.2f} KSh")
    print(textwrap.fill(metrics.EFFECT_DEFINITION, 100))
    print("\nIncremental analysis, by cost: each strategy against the frontier strategy before "
          "it; effects for all the nurses and per nurse")
    print(compare.icer_shown(res).to_string(index=False))
    print("\n" + textwrap.fill(compare.decision_line(res, threshold), 100, break_on_hyphens=False))
    print("\nThe decision by willingness to pay: the optimal strategy (highest expected net "
          "benefit), its probability of being cost-effective (the acceptability frontier), and "
          "the EVPI per decision")
    print(compare.decision_shown(res).to_string(index=False))
    print(f"wrote {Path(args.out) / 'cea'}")


def _numbers(option: str, text: str, count: int | None = None) -> list[float]:
    """A comma list of numbers (``count`` of them, if given), or one line naming the option."""
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        values = []
    if not values or (count is not None and len(values) != count) or min(values) < 0:
        what = f"{count} numbers" if count else "numbers"
        raise ConfigError(f"{option}: expected {what} at least 0, comma separated, got '{text}'")
    return values


def _voi(args: argparse.Namespace) -> None:
    from sim import batch, compare, information
    from sim.plots import information_figure, sampling_figure

    if args.discount is not None and not 0 <= args.discount <= 0.5:
        raise ConfigError(f"--discount: must be between 0 and 0.5, got {args.discount}")
    if args.nurses is not None and args.nurses <= 0:
        raise ConfigError(f"--nurses: must be above 0, got {args.nurses:g}")
    sizes = [int(n) for n in _numbers("--survey", args.survey)] if args.survey else []
    cost = (information.SurveyCost(*_numbers("--survey-cost", args.survey_cost, 2))
            if args.survey_cost else None)
    _not_negative("--wtp", args.wtp)
    wtp = args.wtp * compare.exchange_rate(args.out) if args.currency == "usd" else args.wtp
    res = information.value_of_information(args.out, wtp, args.effect, args.discount,
                                           args.nurses, args.years, sizes, args.survey_months,
                                           cost, args.survey_scenario)
    population = res.population
    title = (f"{res.name}: at {res.wtp:,.0f} KSh per {metrics.EFFECT_UNITS[res.effect][0]}, "
             f"{res.draws} draws")
    writers = {
        "evppi.csv": lambda p: res.evppi.to_csv(p, index=False),
        "information.png": lambda p: information_figure(res.evppi, title).savefig(p),
    }
    if len(res.evsi):
        measured = float(res.measured()["population_ksh"])
        writers |= {"evsi.csv": lambda p: res.evsi.to_csv(p, index=False),
                    "sampling.png": lambda p: sampling_figure(res.evsi, measured, title).savefig(p)}
    write_folder(Path(args.out) / "voi", writers, whole=True)
    print(f"{title} (replications, holding {batch.intervals_hold(args.out)})")
    print(f"population: {population.nurses:,.0f} nurses a year for {population.years} year(s), "
          f"discounted at {population.rate:.0%}; the batch's cohort is {res.cohort} nurses")
    print(f"EVPI of the raw net benefits, chance included: {res.evpi:,.0f} KSh per decision")
    money = {"float_format": lambda x: f"{x:,.0f}"}
    print(res.evppi.to_string(index=False, **money))
    if len(res.evsi):
        print("\nexpected value of sample information of an evaluation survey")
        print(res.evsi.to_string(index=False, **money))
    print(f"wrote {Path(args.out) / 'voi'}")


def _tornado(args: argparse.Namespace) -> None:
    from sim import sensitivity
    from sim.experiment import load_experiment
    from sim.plots import tornado_figure

    _not_negative("--wtp", args.wtp)
    exp = load_experiment(args.experiment, args.overrides)
    out = check_folder(args.out, args.force)
    usd = exp.scenario(exp.comparator).config.costs.ksh_per_usd
    wtp = args.wtp * usd if args.currency == "usd" else args.wtp
    table = sensitivity.tornado(exp, args.strategy, wtp, reps=args.reps,
                                effect=args.effect, rate=args.discount)
    write_folder(out, {
        "tornado.csv": lambda p: table.to_csv(p, index=False),
        "tornado.png": lambda p: tornado_figure(table, args.strategy, exp.comparator,
                                                wtp, usd).savefig(p),
    }, args.force)
    print(table.to_string(index=False, float_format=lambda x: f"{x:,.2f}"))
    print(f"wrote {args.out}")


def _optimise(args: argparse.Namespace) -> None:
    from sim import optimise

    problem = optimise.load(args.experiment, args.overrides)
    journal = Path(args.out).resolve() / optimise.JOURNAL
    out = check_folder(args.out, args.force or args.resume)
    if not args.resume:  # on resume, the study says whether the folder holds one
        journal.unlink(missing_ok=True)  # --force: start again
        out.mkdir(parents=True, exist_ok=True)
    study = optimise.search(problem, journal, jobs=args.jobs, resume=args.resume,
                            engine=args.engine)
    res = optimise.results(problem, study)
    writers: dict[str, Callable[[Path], object]] = {
        "candidates.csv": lambda p: res.candidates.to_csv(p, index=False),
        "frontier.csv": lambda p: res.frontier.to_csv(p, index=False),
        "frontier.png": lambda p: optimise.frontier_figure(problem, res).savefig(p),
    }
    if res.best is not None:
        writers["best.yaml"] = lambda p: p.write_text(optimise.best_document(problem, res))
    write_folder(out, writers, True)
    for line in optimise.report_lines(problem, res):
        print(line)
    print(f"  wrote {args.out}")


def _report(args: argparse.Namespace) -> None:
    from sim import report
    from sim.outputs import write_file

    if not args.html and not args.xlsx:
        raise ConfigError("report: give --html FILE, --xlsx FILE or both")
    for path in filter(None, (args.html, args.xlsx)):
        check_file(path)
    ce, threshold = _cost_effectiveness(args)
    sheets = report.tables(args.out, ce)
    if args.html:
        write_file(args.html, lambda p: report.write_html(args.out, p, sheets, ce, threshold))
        print(f"wrote {args.html}")
    if args.xlsx:
        write_file(args.xlsx, lambda p: report.write_xlsx(p, sheets))
        print(f"wrote {args.xlsx} (sheets: {', '.join(sheets)})")


def _validate(args: argparse.Namespace) -> None:
    cfg = load(args.config, args.overrides)
    n_sub = len(cfg.subcounties)
    n_fac = sum(s.counts.total for s in cfg.subcounties)
    print(f"{args.config}: ok ({cfg.name}: {n_sub} subcount{'y' if n_sub == 1 else 'ies'}, "
          f"{n_fac} facilities, {cfg.months} months)")
    if cfg.scaleup is not None:
        for line in describe_plan(cfg):
            print(line)


def _schema(args: argparse.Namespace) -> None:
    from sim import schema
    from sim.outputs import write_file

    if args.reference:
        text = schema.reference()
    else:
        text = schema.to_json(schema.experiment_schema() if args.experiment
                              else schema.scenario_schema())
    if args.out is None:
        print(text, end="")
        return
    write_file(args.out, lambda p: p.write_text(text, encoding="utf-8"))
    print(f"wrote {args.out}")


def _init(args: argparse.Namespace) -> None:
    from importlib.resources import files

    starter = files("sim") / "starter"
    names = ("county.yaml", "experiment.yaml")
    out = write_folder(args.dir, {name: (lambda p, name=name: p.write_bytes(
        (starter / name).read_bytes())) for name in names}, args.force)
    print(f"wrote {', '.join(names)} to {out}")
    print(f"  next: mentorsim validate {Path(args.dir) / 'county.yaml'}")


COMMANDS = {
    "run": _run, "validate": _validate, "init": _init, "schema": _schema, "batch": _batch, "compare": _compare,
    "plot": _plot, "cea": _cea, "tornado": _tornado, "report": _report, "optimise": _optimise,
    "calibrate": _calibrate,
    "report-validation": _report_validation, "power": _power, "voi": _voi,
}


def dispatch(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and run its command; a user's error raises
    :class:`ConfigError` or :class:`OutputError` (see :func:`sim.cli.main`)."""
    args = _parser().parse_args(argv)
    COMMANDS[args.command](args)
