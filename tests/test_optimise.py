"""The best plan: the optimiser against a brute-force grid under the same common random
numbers, its chance constraint rerun with fresh seeds, the same result whatever the jobs
and after an interruption, and the one-line errors of a bad optimise block."""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

import sim
from sim import metrics, optimise
from sim.cli import main
from sim.execution import mapper

from conftest import CONFIGS
from test_faults import (_assert_interrupted, _cli, _gone, _interrupt, _one_error, _tree,
                         _wait_for, _workers)

GRID = {"mentor.mentees_per_mentor": [2, 4, 8], "mentor.target_interval_days": [20, 30, 60]}
LEVEL, CHANCE, MONTH = 0.5, 0.7, 6


def _experiment(tmp: Path, optimise_block: str, months: int = MONTH, reps: int = 8,
                name: str = "exp.yaml", extra: str = "") -> Path:
    path = tmp / name
    path.write_text(f"name: small\nbase: {CONFIGS / 'pilot.yaml'}\nreplications: {reps}\n"
                    f"seed: 3\ncomparator: pilot\nscenarios:\n  pilot: {{months: {months}}}\n"
                    f"{extra}optimise:\n" + "".join(f"  {line}\n" for line in
                                                    optimise_block.strip().splitlines()))
    return path


#: Two decisions of three values each, and a chance constraint that rules out the
#: cheapest plans.
SMALL = f"""
variables:
  mentor.mentees_per_mentor: {{choices: {GRID["mentor.mentees_per_mentor"]}}}
  mentor.target_interval_days: {{choices: {GRID["mentor.target_interval_days"]}}}
objective: {{minimise: total_cost_ksh}}
constraints:
  - {{outcome: share_proficient, month: {MONTH}, at_least: {LEVEL}, probability: {CHANCE}}}
trials: 40
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The small case searched by the CLI: (problem, output folder)."""
    t = tmp_path_factory.mktemp("small")
    path = _experiment(t, SMALL)
    assert main(["optimise", str(path), "--out", str(t / "out"), "--jobs", "1"]) == 0
    return optimise.load(path), t / "out"


def test_the_optimiser_finds_the_best_plan_of_a_brute_force_grid(small):
    problem, out = small
    grid = {}
    with mapper(1) as run:
        for values in itertools.product(*GRID.values()):
            plan = dict(zip(GRID, values, strict=True))
            grid[values] = optimise.evaluate(problem, optimise.plan_config(problem, plan), run)
    key = f"share_proficient@{MONTH}"
    cost = {v: float(np.mean(x["total_cost_ksh"])) for v, x in grid.items()}
    # the grid's own judgement: the share of replications reaching the level, and its
    # one-sided 90 % Wilson bound (scipy's two-sided 80 % interval)
    feasible = set()
    for v, x in grid.items():
        k = int(sum(s >= LEVEL for s in x[key]))
        lower = stats.binomtest(k, len(x[key])).proportion_ci(0.8, method="wilson").low
        if lower >= CHANCE:
            feasible.add(v)
    ranked = sorted(feasible, key=cost.get)
    assert ranked and min(cost, key=cost.get) not in feasible  # the constraint binds
    table = pd.read_csv(out / "candidates.csv")
    assert table["same_as"].isna().sum() == len(grid)  # the whole space, each plan once
    best = yaml.safe_load((out / "best.yaml").read_text())
    assert (best["mentor"]["mentees_per_mentor"], best["mentor"]["target_interval_days"]) \
        == ranked[0]
    res = optimise.results(problem, _study(problem, out))
    assert tuple(res.plans[res.runner_up].values()) == ranked[1]
    # the plan as written is the comparator itself, under the same common random numbers
    assert res.written == {"mentor.mentees_per_mentor": 4, "mentor.target_interval_days": 30.4}
    with mapper(1) as run:
        assert res.written_values == optimise.evaluate(problem, problem.base, run)
    # common random numbers: the optimiser's candidates are the grid's, value for value
    for candidate, plan in res.plans.items():
        assert res.values[candidate] == grid[tuple(plan.values())]
    # the frontier holds the feasible plans no other feasible plan beats on both axes
    front = pd.read_csv(out / "frontier.csv")
    eff = {v: float(np.mean(x["competency_point_years"])) for v, x in grid.items()}
    expected = {v for v in feasible if not any(
        cost[w] <= cost[v] and eff[w] >= eff[v] and (cost[w], eff[w]) != (cost[v], eff[v])
        for w in feasible)}
    assert {tuple(r) for r in front[list(GRID)].itertuples(index=False)} == expected
    assert (out / "frontier.png").stat().st_size > 10_000


def _study(problem: optimise.Problem, out: Path):
    return optimise.open_study(problem, out / optimise.JOURNAL, resume=True)


def test_the_chance_constraint_holds_when_the_best_plan_is_rerun_with_fresh_seeds(small):
    """best.yaml runs as it is; with other seeds, the share of replications reaching the
    level is at least the probability asked, within two binomial standard errors."""
    _, out = small
    reps = 30
    res = sim.run(out / "best.yaml", reps=reps, seed=987)
    shares = [optimise.monthly(ts).at[MONTH, "share_proficient"]
              for _, ts in res.timeseries.groupby("replicate")]
    reached = np.mean(np.asarray(shares) >= LEVEL)
    assert reached >= CHANCE - 2 * math.sqrt(CHANCE * (1 - CHANCE) / reps), shares


def test_the_printed_choice_names_the_best_plan_and_how_sure_it_is(tmp_path, capsys):
    path = _experiment(tmp_path, SMALL.replace("trials: 40", "trials: 4"), reps=4)
    assert main(["optimise", str(path), "--out", str(tmp_path / "o"), "--jobs", "1"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"best plan \(candidate \d+\): mentor.mentees_per_mentor=\d, "
                     r"mentor.target_interval_days=\d+", text), text
    assert re.search(r"probability that the runner-up is in fact better: \d\.\d\d", text), text
    assert "share_proficient at month 6 >= 0.5 with probability 0.7:" in text
    # the plan as written, the pilot's own caseload and interval, beside the best
    assert "the plan as written (scenario pilot): mentor.mentees_per_mentor=4, " \
        "mentor.target_interval_days=30.4" in text, text
    assert re.search(r"the best plan less the plan as written: total_cost_ksh -?[\d,.]+ on the "
                     r"mean \(90% -?[\d,.]+ to -?[\d,.]+, paired over the 4 replications\)",
                     text), text


# --- reproducibility ---------------------------------------------------------------------

#: A continuous and an integer decision, so that no search ends by running out of plans.
OPEN = """
variables:
  mentor.mentees_per_mentor: {low: 2, high: 8}
  mentor.target_interval_days: {low: 20.0, high: 60.0}
objective: {minimise: cost_per_mentee_ksh}
constraints:
  - {outcome: mean_competency, month: 4, at_least: 2.7, probability: 0.5}
budget_ksh_per_year: 400000
trials: TRIALS
"""


def _open(tmp: Path, trials: int, name: str = "open.yaml") -> Path:
    return _experiment(tmp, OPEN.replace("TRIALS", str(trials)), months=4, reps=4, name=name)


def _outputs(out: Path) -> dict[str, bytes]:
    """The result files, the best plan's without its header (which names the file run)."""
    files = {n: (out / n).read_bytes() for n in ("candidates.csv", "frontier.csv", "best.yaml")}
    files["best.yaml"] = re.sub(rb"^# The best plan found by .*\n", b"", files["best.yaml"])
    return files


@pytest.fixture(scope="module")
def open_run(tmp_path_factory):
    t = tmp_path_factory.mktemp("open")
    path = _open(t, 6)
    assert main(["optimise", str(path), "--out", str(t / "one"), "--jobs", "1"]) == 0
    return path, t / "one"


def test_jobs_do_not_change_the_result(open_run, tmp_path):
    path, one = open_run
    assert main(["optimise", str(path), "--out", str(tmp_path / "two"), "--jobs", "2"]) == 0
    assert _outputs(tmp_path / "two") == _outputs(one)
    table = pd.read_csv(one / "candidates.csv")
    assert len(table) == 6 and table["same_as"].isna().all()


def test_resume_after_a_candidate_cut_short_continues_to_the_same_result(open_run, tmp_path):
    """Three candidates, a fourth asked for but never told (as Ctrl-C leaves it), then
    --resume with six: the candidates of an uninterrupted six."""
    _, whole = open_run
    path = _open(tmp_path, 3)
    out = tmp_path / "out"
    assert main(["optimise", str(path), "--out", str(out), "--jobs", "1"]) == 0
    problem = optimise.load(path)
    optimise.open_study(problem, out / optimise.JOURNAL, resume=True).ask()
    _open(tmp_path, 6)  # the same file, given more trials
    assert main(["optimise", str(path), "--out", str(out), "--jobs", "1", "--resume"]) == 0
    assert _outputs(out) == _outputs(whole)


def test_resume_refuses_another_problem(open_run, tmp_path, capsys):
    path, one = open_run
    other = _open(tmp_path, 6).read_text().replace("at_least: 2.7", "at_least: 2.6")
    (tmp_path / "open.yaml").write_text(other)
    before = _tree(one)
    assert main(["optimise", str(tmp_path / "open.yaml"), "--out", str(one), "--resume"]) == 2
    _one_error(capsys.readouterr().err, ["was started with a different experiment"])
    assert _tree(one) == before


def test_ctrl_c_then_resume_gives_the_uninterrupted_result(open_run, tmp_path):
    path, whole = open_run
    out = tmp_path / "interrupted"
    proc = _cli("optimise", path, "--out", out, "--jobs", "2", start_new_session=True)
    journal = out / optimise.JOURNAL
    _wait_for(lambda: journal.exists() and '"state":1' in journal.read_text(), proc,
              "finished candidate")
    workers = _workers(proc.pid)
    _interrupt(proc)
    out_err = proc.communicate(timeout=120)
    _assert_interrupted(proc.returncode, *out_err)
    assert _gone(workers), "workers outlived the interrupted search"
    assert [p.name for p in out.iterdir()] == [optimise.JOURNAL]  # no results half-written
    assert main(["optimise", str(path), "--out", str(out), "--jobs", "2", "--resume"]) == 0
    assert _outputs(out) == _outputs(whole)


def test_other_samplers_keep_the_best_feasible_candidate(tmp_path):
    for sampler in ("cmaes", "nsga2"):
        path = _open(tmp_path, 5, f"{sampler}.yaml")
        path.write_text(path.read_text() + f"  sampler: {sampler}\n")
        out = tmp_path / sampler
        assert main(["optimise", str(path), "--out", str(out), "--jobs", "1"]) == 0
        table = pd.read_csv(out / "candidates.csv")
        feasible = table[table["feasible"]]
        assert len(table) == 5 and len(feasible), sampler
        best = feasible.sort_values("cost_per_mentee_ksh_mean")["candidate"].iloc[0]
        assert f"(candidate {best})" in (out / "best.yaml").read_text(), sampler


# --- the pure parts ----------------------------------------------------------------------


@pytest.mark.parametrize("k,n", [(0, 10), (7, 10), (10, 10), (19, 20), (3, 40)])
def test_wilson_lower_bound_is_scipys(k, n):
    expected = stats.binomtest(k, n).proportion_ci(0.8, method="wilson").low
    assert optimise.wilson_lower(k, n, 0.9) == pytest.approx(expected, abs=1e-12)


def test_the_chance_the_runner_up_is_better():
    rng = np.random.default_rng(1)
    best = rng.normal(100, 10, 50)
    assert optimise.chance_runner_up_better(best, best + 5, minimise=True) == 0.0
    assert optimise.chance_runner_up_better(best, best + 5, minimise=False) == 1.0
    noise = rng.normal(0, 1, 50)
    noise -= noise.mean()  # no difference on average: a coin toss
    assert optimise.chance_runner_up_better(best, best + noise, True) == pytest.approx(0.5)
    assert optimise.chance_runner_up_better(best, best + 0.2 + noise, True) < 0.1


def test_the_frontier_keeps_the_non_dominated_points():
    cost = [1, 2, 2, 3, 4, 1]
    effect = [1, 3, 2, 3, 5, 0]
    assert optimise.non_dominated(cost, effect).tolist() == [True, True, False, False, True,
                                                             False]


def test_the_outcome_names_are_the_real_columns(make_config):
    cfg = make_config({"months": 2})
    values = optimise.replicate_values(cfg, 0, 0, [*optimise.OUTCOMES, *(
        f"{m}@2" for m in optimise.MONTHLY)])
    assert len(values) == len(optimise.OUTCOMES) + len(optimise.MONTHLY)
    rec = sim.engines.simulate(cfg, 0, 0)
    spells, ledger = metrics.mentees(cfg, [rec]), metrics.costs(cfg, [rec])
    ts = metrics.timeseries(cfg, [rec], ledger)
    columns = {*metrics.outcomes(spells, ledger, 1.0).columns,
               *metrics.economics(ledger, ts, 0.0).columns} - {"replicate"}
    assert columns | {"peak_annual_cost_ksh"} == set(optimise.OUTCOMES)
    # at the horizon, the monthly share proficient is the outcome's
    month = optimise.monthly(ts)
    share = metrics.outcomes(spells, ledger, 1.0)["share_all_areas_3_or_above"].iloc[0]
    assert month.at[2, "share_proficient"] == pytest.approx(share)


# --- a bad optimise block: one line, status 2, nothing written -------------------------------

GOOD = """
variables:
  mentor.mentees_per_mentor: {low: 2, high: 8}
objective: {minimise: total_cost_ksh}
constraints:
  - {outcome: share_proficient, month: 2, at_least: 0.5}
trials: 3
"""


@pytest.mark.parametrize("old,new,words", [
    ("{minimise: total_cost_ksh}", "{minimise: total_kost_ksh}",
     ["optimise.objective.minimise: unknown outcome 'total_kost_ksh'; did you mean "
      "total_cost_ksh?"]),
    ("{minimise: total_cost_ksh}", "{maximise: share_proficient}",
     ["optimise.objective.maximise: share_proficient is read at a month's end: give month"]),
    ("{minimise: total_cost_ksh}", "{minimise: total_cost_ksh, maximise: visits_per_mentee}",
     ["optimise.objective: give one of minimise and maximise"]),
    ("mentor.mentees_per_mentor:", "mentor.mentes_per_mentor:",
     ["optimise.variables.mentor.mentes_per_mentor", "unknown key",
      "did you mean mentees_per_mentor?"]),
    ("{low: 2, high: 8}", "{low: 8, high: 2}",
     ["optimise.variables.mentor.mentees_per_mentor: low (8) must be below high (2)"]),
    ("{low: 2, high: 8}", "{low: 0, high: 8}",
     ["optimise.variables.mentor.mentees_per_mentor = 0", "greater than or equal to 1"]),
    ("{low: 2, high: 8}", "{low: 2, high: 8, choices: [3]}",
     ["optimise.variables.mentor.mentees_per_mentor: give low and high"]),
    ("{low: 2, high: 8}", "{low: 2, high: 8, step: 4}",
     ["must be a whole number of steps"]),
    ("month: 2, at_least", "at_least", ["optimise.constraints.0.outcome: share_proficient is "
                                        "read at a month's end: give month"]),
    ("month: 2,", "month: 9,", ["optimise.constraints.0.month: 9 is past the scenario's 2 "
                                "months"]),
    ("outcome: share_proficient", "outcome: total_cost_ksh",
     ["optimise.constraints.0.outcome: total_cost_ksh is per replication: leave out month"]),
    ("{minimise: total_cost_ksh}", "{minimise: total_cost_ksh}\nfrontier: {effect: visits}",
     ["optimise.frontier.effect: unknown outcome 'visits'"]),
    ("at_least: 0.5", "at_least: 0.5, at_most: 0.9",
     ["optimise.constraints.0: give one of at_least and at_most"]),
    ("at_least: 0.5", "at_least: 0.5, probability: 1.5",
     ["optimise.constraints.0.probability", "less than 1"]),
    ("trials: 3", "trials: 3\nsampler: bayes", ["optimise.sampler", "'tpe', 'cmaes' or 'nsga2'"]),
    ("trials: 3", "trials: 3\ntrails: 4", ["optimise.trails: unknown key",
                                            "did you mean trials?"]),
])
def test_a_bad_optimise_block_is_one_line(old, new, words, tmp_path, capfd):
    assert old in GOOD
    path = _experiment(tmp_path, GOOD.replace(old, new), months=2)
    before = _tree(tmp_path)
    assert main(["optimise", str(path), "--out", str(tmp_path / "out")]) == 2
    out, err = capfd.readouterr()
    assert out == ""
    _one_error(err, words)
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("case,words", [
    ("no-block", ["optimise: required by `mentorsim optimise`"]),
    ("psa-variable", ["optimise.variables.mentor.mentees_per_mentor: drawn by the "
                      "experiment's psa"]),
    ("resume-nothing", ["--resume", "holds no study to resume"]),
])
def test_other_faults_are_one_line(case, words, tmp_path, capfd):
    path = _experiment(tmp_path, GOOD, months=2, extra="psa:\n  mentor.mentees_per_mentor: "
                       "{distribution: uniform, low: 2, high: 6}\n" if case == "psa-variable"
                       else "")
    if case == "no-block":
        path.write_text(path.read_text().split("optimise:")[0])
    args = ["optimise", str(path), "--out", str(tmp_path / "out")]
    before = _tree(tmp_path)
    assert main(args + (["--resume"] if case == "resume-nothing" else [])) == 2
    _one_error(capfd.readouterr().err, words)
    assert _tree(tmp_path) == before


def test_problem_fingerprint_leaves_out_the_trials(tmp_path):
    a = optimise.load(_open(tmp_path, 3, "a.yaml"))
    b = optimise.load(_open(tmp_path, 9, "b.yaml"))
    assert a.fingerprint() == b.fingerprint()
    c = dataclasses.replace(a, replications=5)
    assert c.fingerprint() != a.fingerprint()


def test_a_plan_that_is_no_scenario_is_recorded_not_simulated(tmp_path):
    """Each variable's values are valid alone (the pilot: 1 release day, 2 home-session days);
    together, 3 release days and 4 home-session days do not fit a 5-day week."""
    path = _experiment(tmp_path, """
variables:
  mentor.release_days_per_week: {choices: [1, 3]}
  mentor.home_session_days_per_week: {choices: [0, 4]}
objective: {maximise: visits_per_mentee}
trials: 20
""", months=2, reps=2)
    assert main(["optimise", str(path), "--out", str(tmp_path / "out"), "--jobs", "1"]) == 0
    table = pd.read_csv(tmp_path / "out" / "candidates.csv")
    distinct = table[table["same_as"].isna()]
    assert len(distinct) == 4  # the whole space
    bad = distinct[distinct["problem"].notna()]
    assert len(bad) == 1 and not bad["feasible"].any()
    assert bad[["mentor.release_days_per_week", "mentor.home_session_days_per_week"]
               ].values.tolist() == [[3, 4]]
    assert "not a valid scenario" in bad["problem"].iloc[0]
    assert bad["visits_per_mentee_mean"].isna().all()
