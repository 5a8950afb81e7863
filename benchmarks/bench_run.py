"""Benchmark: single replications from the pilot to a national rollout.

Not part of the test suite. Run from the repository root:

    python benchmarks/bench_run.py            # all scenarios, a Markdown table
    python benchmarks/bench_run.py --quick    # fewer replications

Each scenario runs in its own child process (one core), so its peak memory is
its own. Per scenario the table gives the wall time of one replication
(``sim.engines.simulate``: build, run and free the model; the median over
replications run back to back, as a batch worker runs them, and the first),
the mentee-years it simulates and the cost of one mentee-year, its events per
second, and its peak resident memory. Every scenario runs on the fast engine but the
last, the pilot on the reference engine (whose posts and rounds are SimPy events).
The child first measures, on the same core, raw SimPy (1,000 processes each
yielding ``env.timeout(1)`` 1,000 times) and the pilot's cost per mentee-year,
so that the event rate reads as a share of what SimPy itself manages and the
cost per mentee-year as a multiple of the pilot's, each against a reference
taken minutes apart: this shared machine's speed drifts over a run.

Two event counts are reported. *Scheduled* events went through SimPy's queue.
*Simulated* events add the events the model handles in calendars of its own:
the mentors' rounds (one SimPy event runs all of a day's, see
``sim/engines/fast/rounds.py``) and the WhatsApp posts, which groups draw lazily
(``sim/engines/fast/groups.py``). Each is a point event of the model handled in
time order, without a queue entry of its own.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import simpy

ROOT = Path(__file__).resolve().parents[1]

# name: (config, facilities multiplier, other overrides, replications, quick replications)
SCENARIOS = {
    "pilot": ("pilot.yaml", 1, (), 50, 10),
    "pilot x10": ("pilot.yaml", 10, (), 10, 3),
    "pilot x100": ("pilot.yaml", 100, (), 2, 1),
    "pilot x225": ("pilot.yaml", 225, (), 2, 1),  # 9,000 facilities: the national size
    "county": ("scaleup_machakos_county.yaml", 1, (), 3, 1),
    "national": ("kenya_national.yaml", 1, (), 3, 1),  # counties join in yearly phases
    # every county from month 1: 9,000 nurses mentored for five years, the full load
    "national, all at once": ("kenya_national.yaml", 1, ("scaleup=null",), 2, 1),
    "pilot, reference engine": ("pilot.yaml", 1, (), 20, 5),
}
REFERENCE = {"pilot, reference engine"}  # run on the reference engine; the rest on the fast one


def raw_simpy_events_per_second(processes: int = 1000, timeouts: int = 1000) -> float:
    env = simpy.Environment()

    def ticker(env):
        for _ in range(timeouts):
            yield env.timeout(1)

    for _ in range(processes):
        env.process(ticker(env))
    start = time.perf_counter()
    env.run()
    # scheduled = processed: each process's start, its timeouts and its end
    return processes * (timeouts + 2) / (time.perf_counter() - start)


def load(config: str, factor: int, overrides: tuple[str, ...] = ()):
    import sim

    path = ROOT / "configs" / config
    cfg = sim.load(path, list(overrides))
    if factor == 1:
        return cfg
    scaled = [f"subcounties.{sub.name}.facilities.{o}={sub.counts[o] * factor}"
              for sub in cfg.subcounties for o in ("public", "faith_based", "private")]
    return sim.load(path, [*overrides, *scaled])


def replications(cfg, reps: int, engine: str = "fast") -> list[tuple[float, int, int, float]]:
    """(wall, scheduled events, simulated events, mentee-years) of each of ``reps`` replications."""
    from sim.engines import simulate

    rows = []
    for r in range(reps):
        start = time.perf_counter()
        rec = simulate(cfg, 0, r, engine)
        wall = time.perf_counter() - start
        years = sum(s.end - s.start for s in rec.spells) / 365.0
        rows.append((wall, rec.events, rec.events + rec.rounds + len(rec.posts), years))
        del rec
    return rows


def measure(name: str, reps: int) -> dict:
    """One scenario, in this process, after the raw SimPy rate and the pilot's cost per
    mentee-year (so that both ratios compare runs made minutes apart on the same core)."""
    config, factor, overrides, _, _ = SCENARIOS[name]
    cfg = load(config, factor, overrides)
    raw = raw_simpy_events_per_second()
    pilot = replications(load("pilot.yaml", 1), SCENARIOS["pilot"][4])
    pilot_us = 1e6 * statistics.median(w / y for w, _, _, y in pilot)
    rows = replications(cfg, reps, "reference" if name in REFERENCE else "fast")
    wall, scheduled, simulated, years = (statistics.median(col) for col in zip(*rows, strict=True))
    return {
        "first_s": rows[0][0],
        "scenario": name,
        "facilities": sum(s.facilities.total for s in cfg.subcounties),
        "months": cfg.months,
        "reps": reps,
        "wall_s": wall,
        "mentee_years": years,
        "us_per_mentee_year": 1e6 * wall / years,
        "pilot_us_per_mentee_year": pilot_us,
        "mentee_years_per_s": years / wall,
        "scheduled_per_s": scheduled / wall,
        "simulated_per_s": simulated / wall,
        "raw_simpy_per_s": raw,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def table(results: list[dict]) -> str:
    head = ("| scenario | facilities | months | wall per rep (first) | mentee-years | µs per mentee-year "
            "| mentee-years/s | scheduled events/s (% of raw SimPy) "
            "| simulated events/s (% of raw) | peak RSS |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        def fmt(x: float) -> str:
            return f"{1000 * x:.0f} ms" if x < 1 else f"{x:.1f} s"

        wall = f"{fmt(r['wall_s'])} ({fmt(r['first_s'])})"
        rel = (f" ({r['us_per_mentee_year'] / r['pilot_us_per_mentee_year']:.2f}x pilot)"
               if r["scenario"] != "pilot" else "")
        lines.append(
            f"| {r['scenario']} | {r['facilities']:,} | {r['months']} | {wall} "
            f"| {r['mentee_years']:,.0f} | {r['us_per_mentee_year']:,.0f}{rel} "
            f"| {r['mentee_years_per_s']:,.0f} "
            f"| {r['scheduled_per_s']:,.0f} ({100 * r['scheduled_per_s'] / r['raw_simpy_per_s']:.0f} %) "
            f"| {r['simulated_per_s']:,.0f} ({100 * r['simulated_per_s'] / r['raw_simpy_per_s']:.0f} %) "
            f"| {r['peak_rss_mib']:,.0f} MiB |")
    return "\n".join(lines)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numpy

    return (f"{cpu}, {platform.system()} {platform.machine()}, Python {platform.python_version()}, "
            f"SimPy {simpy.__version__}, numpy {numpy.__version__}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer replications")
    parser.add_argument("--only", choices=list(SCENARIOS), action="append",
                        help="run only these scenarios (repeatable)")
    parser.add_argument("--child", choices=list(SCENARIOS), help=argparse.SUPPRESS)
    parser.add_argument("--reps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.reps)))
        return
    results = []
    for name in args.only or SCENARIOS:
        reps = SCENARIOS[name][4 if args.quick else 3]
        out = subprocess.run([sys.executable, __file__, "--child", name, "--reps", str(reps)],
                             check=True, capture_output=True, text=True)
        results.append(json.loads(out.stdout))
        print(f"{name}: {results[-1]['wall_s']:.3f} s per replication", file=sys.stderr)
    print(f"Machine: {machine()}\n")
    print(table(results))


if __name__ == "__main__":
    main()
