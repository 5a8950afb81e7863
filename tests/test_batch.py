"""Batch experiments: durable tasks, resume after a kill, executors, common random numbers."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim import batch, compare, metrics, uncertainty
from sim import config as cfgmod
from sim.cli import main
from sim.config import ConfigError
from sim.engines import simulate
from sim.experiment import load_experiment

from conftest import CONFIGS, alive, children

EXPERIMENTS = CONFIGS / "experiments"


def _experiment_file(tmp_path: Path, reps: int = 6, months: int = 12) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(f"""
name: small
base: {CONFIGS / 'pilot.yaml'}
replications: {reps}
seed: 11
comparator: pilot
scenarios:
  pilot: {{months: {months}}}
  late_group: {{months: {months}, whatsapp.start_month: 8}}
""")
    return path


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    return {t: batch.read(out, t) for t in batch.TABLES}


def _assert_same(a: Path, b: Path) -> None:
    for name, df in _tables(a).items():
        pd.testing.assert_frame_equal(df, _tables(b)[name], obj=name)


def test_shipped_experiments_load():
    sweep = load_experiment(EXPERIMENTS / "ratio_sweep.yaml")
    assert len(sweep.scenarios) == 15
    assert sweep.comparator == "mentees_per_mentor=4,target_interval_days=30"
    assert sweep.scenario("mentees_per_mentor=8,target_interval_days=60").config.mentor.mentees_per_mentor == 8
    scen = load_experiment(EXPERIMENTS / "pilot_scenarios.yaml")
    assert [s.name for s in scen.scenarios] == ["pilot", "no_whatsapp", "supervisor_moderated",
                                                "half_release_days", "stockouts_doubled"]
    assert scen.scenario("no_whatsapp").config.whatsapp.enabled is False
    cvm = load_experiment(EXPERIMENTS / "classroom_vs_mentoring.yaml")
    classroom = cvm.scenario("classroom").config
    assert classroom.classroom.enabled and not classroom.mentor.enabled
    assert not classroom.whatsapp.enabled and cvm.scenario("blended").config.whatsapp.enabled
    assert not cvm.scenario("mentoring").config.classroom.enabled


@pytest.mark.parametrize("text, words", [
    ("name: x\nbase: nowhere.yaml\nreplications: 2\nseed: 1\ncomparator: a\nscenarios: {a: {}}\n",
     ["base: nowhere.yaml", "file not found"]),
    ("name: x\nbase: BASE\nreplications: 0\nseed: 1\ncomparator: a\nscenarios: {a: {}}\n",
     ["replications", "greater than or equal to 1"]),
    ("name: x\nbase: BASE\nreplications: 2\nseed: 1\ncomparator: b\nscenarios: {a: {}}\n",
     ["comparator: no scenario named 'b'"]),
    ("name: x\nbase: BASE\nreplications: 2\nseed: 1\ncomparator: a\nscenarios: {a: {mentor.ratio: 3}}\n",
     ["scenario a", "mentor.ratio", "unknown key"]),
    ("name: x\nbase: BASE\nreplications: 2\nseed: 1\ncomparator: a\nscenarios: {a: {mentor.mentees_per_mentor: 0}}\n",
     ["scenario a", "mentor.mentees_per_mentor"]),
    ("name: x\nbase: BASE\nreplications: 2\nseed: 1\ncomparator: a\n",
     ["give scenarios, a sweep, or both"]),
    ("name: x\nbase: BASE\nreplications: 2\nseed: 1\ncomparator: a\nscenarios: {a: {}}\nsweeps: {}\n",
     ["sweeps", "unknown key"]),
])
def test_bad_experiment_files_are_one_line_errors(tmp_path, capsys, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("BASE", str(CONFIGS / "pilot.yaml")))
    assert main(["batch", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(w in err for w in words), err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("workers", [2, 3, 8])
def test_the_chunks_let_the_workers_finish_together(tmp_path, workers):
    """Taken in turn by whichever worker is free first, each task costing its scenario's
    facility-months and each chunk's tables TABLES_FACILITY_MONTHS more, the chunks hold every
    task once, in order, and two or three workers finish within a smallest chunk of each
    other; eight, with a few chunks each, within their largest chunk of the mean."""
    path = _experiment_file(tmp_path, reps=45)
    path.write_text(path.read_text() + "  short: {months: 5}\n")
    exp = load_experiment(path)
    plan = batch.chunks(exp, exp.tasks(), workers)
    assert [(s, r) for s, reps in plan for r in reps] == exp.tasks()
    cost = {s.name: 40 * s.config.months for s in exp.scenarios}  # 40 pilot facilities
    assert all(len(reps) * cost[s] <= batch.CHUNK_FACILITY_MONTHS for s, reps in plan)
    free = [0.0] * workers
    chunk_costs = [len(reps) * cost[s] + batch.TABLES_FACILITY_MONTHS for s, reps in plan]
    for c in chunk_costs:
        free[free.index(min(free))] += c
    smallest = max(batch.TABLES_FACILITY_MONTHS, max(cost.values())) + batch.TABLES_FACILITY_MONTHS
    if workers <= 3:
        assert max(free) - min(free) <= smallest, (free, [len(r) for _, r in plan])
    else:
        assert max(free) - sum(free) / workers <= max(chunk_costs), free
    # and no more chunks than the work needs: at most a few per worker beyond the scenarios
    assert len(plan) <= len(exp.scenarios) + 3 * workers


def test_results_do_not_depend_on_workers_chunks_or_saves(tmp_path, monkeypatch):
    exp = load_experiment(_experiment_file(tmp_path))
    assert [len(reps) for _, reps in batch.chunks(exp, exp.tasks(), 1)] == [6, 6]
    assert [len(reps) for _, reps in batch.chunks(exp, exp.tasks(), 2)] == [6, 6]  # one each
    one = batch.run_batch(exp, tmp_path / "one", jobs=1)  # one save
    two = batch.run_batch(exp, tmp_path / "two", jobs=2, save_every=0)  # a part per chunk
    # saved once a worker has nothing left to run, and at the end
    idle = batch.run_batch(exp, tmp_path / "idle", jobs=2)
    monkeypatch.setattr(batch, "CHUNK_FACILITY_MONTHS", 1)
    single = batch.run_batch(exp, tmp_path / "single", jobs=1)  # a chunk per task
    assert len(list((one / "outcomes").iterdir())) == 1
    assert len(list((two / "outcomes").iterdir())) == 2
    assert len(list((idle / "outcomes").iterdir())) == 2
    assert len(list((single / "outcomes").iterdir())) == 1
    _assert_same(one, two)
    _assert_same(one, idle)
    _assert_same(one, single)
    outcomes = batch.read(one, "outcomes")
    assert len(outcomes) == 12 and set(outcomes["scenario"]) == {"pilot", "late_group"}
    assert list(outcomes["scenario"]) == ["pilot"] * 6 + ["late_group"] * 6
    assert list(outcomes["replicate"]) == [*range(6), *range(6)]
    params = batch.read(one, "parameters")  # no parameter drawn: the tasks, and no draw
    assert list(params.columns) == ["replicate", "draw", "scenario"] and params["draw"].isna().all()


def test_dask_local_cluster_gives_identical_results(tmp_path):
    distributed = pytest.importorskip("distributed")
    exp = load_experiment(_experiment_file(tmp_path, reps=4))
    local = batch.run_batch(exp, tmp_path / "local", jobs=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = batch.run_batch(exp, tmp_path / "dask", scheduler=cluster.scheduler_address)
    _assert_same(local, remote)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_batch_resumes_to_the_same_data(tmp_path, sig):
    path = _experiment_file(tmp_path, reps=10, months=24)  # four chunks of 10, two at a time
    path.write_text(path.read_text() + "  third: {months: 24}\n  fourth: {months: 24}\n")
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sim", "batch", str(path), "--out", str(out), "--jobs", "2",
           "--save-every", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = out / batch.MANIFEST
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if manifest.exists() and len(manifest.read_text().splitlines()) >= 2:
            break
        time.sleep(0.005)
    workers = children(proc.pid)
    assert workers, "the batch had started its worker processes"
    proc.send_signal(sig)
    proc.wait(timeout=60)
    deadline = time.monotonic() + 10  # the workers notice within half a second
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(w) for w in workers), "workers outlived the killed batch"
    finished = len(batch.Store(out, load_experiment(path), resume=True).done())
    assert 2 <= finished < 40, "the batch was not interrupted mid-run"
    assert main(["batch", str(path), "--out", str(out), "--jobs", "2", "--resume"]) == 0
    tasks = [(s, r) for line in manifest.read_text().splitlines()
             for s, reps in json.loads(line)["tasks"].items() for r in reps]
    assert len(tasks) == 40 and len(set(tasks)) == 40
    whole = batch.run_batch(load_experiment(path), tmp_path / "whole", jobs=1)
    _assert_same(out, whole)
    assert not list(out.rglob("*.tmp"))


def test_resume_refuses_a_different_experiment(tmp_path, capsys):
    path = _experiment_file(tmp_path, reps=2)
    out = tmp_path / "o"
    assert main(["batch", str(path), "--out", str(out), "--jobs", "1"]) == 0
    assert main(["batch", str(path), "--out", str(out), "--jobs", "1"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["batch", str(path), "--out", str(out), "--resume", "--set", "mentor.visit_hours=2"]) == 2
    assert "different experiment" in capsys.readouterr().err
    assert main(["batch", str(path), "--out", str(out), "--resume"]) == 0  # nothing left to do


def test_common_random_numbers_shrink_the_variance_of_differences(tmp_path):
    exp = load_experiment(_experiment_file(tmp_path, reps=30))
    out = batch.run_batch(exp, tmp_path / "crn", jobs=2)
    o = batch.read(out, "outcomes").pivot(index="replicate", columns="scenario",
                                          values="mean_competency_at_horizon")
    diff = o["late_group"] - o["pilot"]
    assert diff.var() < 0.25 * (o["late_group"].var() + o["pilot"].var())
    assert diff.mean() < 0  # a later group: less reinforcement


def test_ratio_sweep_has_the_expected_shape(tmp_path):
    """The shipped sweep at monthly visits: past capacity, visits and competency fall;
    cost per mentee falls throughout (fewer mentors, fewer visits)."""
    sweep = load_experiment(EXPERIMENTS / "ratio_sweep.yaml")
    keep = [f"mentees_per_mentor={r},target_interval_days=30" for r in (2, 4, 6, 8)]
    exp = dataclasses.replace(sweep, scenarios=tuple(sweep.scenario(n) for n in keep),
                              replications=8)
    out = batch.run_batch(exp, tmp_path / "sweep", jobs=2)
    table = compare.compare(out).pivot(index="scenario", columns="outcome", values="mean").loc[keep]
    visits, comp = table["visits_per_mentee"], table["mean_competency_at_horizon"]
    cost = table["cost_per_mentee_ksh"]
    assert visits.is_monotonic_decreasing and visits.iloc[1] > visits.iloc[2] > visits.iloc[3]
    assert comp.iloc[1] > comp.iloc[2] > comp.iloc[3]
    assert cost.is_monotonic_decreasing and cost.iloc[0] > cost.iloc[3]


def test_compare_and_plot_cli(tmp_path, capsys):
    path = _experiment_file(tmp_path, reps=5)
    out = tmp_path / "o"
    assert main(["batch", str(path), "--out", str(out), "--jobs", "1"]) == 0
    capsys.readouterr()
    assert main(["compare", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Difference from pilot, paired by replication" in text and "late_group" in text
    assert main(["compare", str(out), "--format", "csv"]) == 0
    csv = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert set(csv["outcome"]) == set(compare.OUTCOMES) and len(csv) == 2 * len(compare.OUTCOMES)
    pilot = csv[(csv["scenario"] == "pilot")]
    assert (pilot["diff_mean"].fillna(0) == 0).all()
    assert main(["compare", str(out), "--format", "markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("|---|") for line in lines) == 2
    assert main(["plot", str(out)]) == 0
    names = {p.name for p in (out / "plots").iterdir()}
    assert names == {f"{n}.{e}" for n in ("competency", "cost", "tradeoff") for e in ("png", "svg")}
    assert main(["compare", str(tmp_path)]) == 2
    assert math.isfinite(float(csv["mean"].iloc[0]))


def test_compare_needs_the_comparator(tmp_path, capsys):
    exp = load_experiment(_experiment_file(tmp_path, reps=2))
    # as if the pilot's tasks never finished
    out = batch.run_batch(dataclasses.replace(exp, scenarios=exp.scenarios[1:]), tmp_path / "o")
    assert main(["compare", str(out)]) == 2
    assert "no results yet for the comparator pilot" in capsys.readouterr().err


def test_a_batch_on_the_reference_engine_gives_the_same_tables_and_resumes_on_it_only(
        tmp_path, capsys):
    path = _experiment_file(tmp_path, reps=2)
    fast, ref = tmp_path / "fast", tmp_path / "ref"
    assert main(["batch", str(path), "--out", str(fast), "--jobs", "1"]) == 0
    assert main(["batch", str(path), "--out", str(ref), "--jobs", "2", "--engine", "reference"]) == 0
    for name in ("mentees", "mentors", "timeseries", "phases", "workforce", "turnover"):
        a, b = batch.read(fast, name), batch.read(ref, name)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=0, atol=1e-9, obj=name)
    key = ["scenario", "replicate", "day", "category", "who"]
    a, b = (batch.read(out, "costs").sort_values(key, ignore_index=True) for out in (fast, ref))
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=0, atol=1e-9, obj="costs")
    capsys.readouterr()
    assert main(["batch", str(path), "--out", str(ref), "--resume"]) == 2
    assert "reference engine; resume it with --engine reference" in capsys.readouterr().err
    assert main(["batch", str(path), "--out", str(ref), "--resume", "--engine", "reference"]) == 0


# --- the store -----------------------------------------------------------------------------


def _files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.is_file()]


def _manifest_tasks(out: Path) -> list[tuple[str, int]]:
    return [(s, r) for line in (out / batch.MANIFEST).read_text().splitlines()
            for s, reps in json.loads(line)["tasks"].items() for r in reps]


def test_a_160_task_batch_leaves_at_most_50_files(tmp_path):
    exp = load_experiment(_experiment_file(tmp_path, reps=80, months=2))
    out = batch.run_batch(exp, tmp_path / "o", jobs=2)
    assert len(batch.read(out, "outcomes")) == 160
    assert len(_files(out)) <= 50, sorted(str(p.relative_to(out)) for p in _files(out))


def test_an_extended_batch_equals_one_run_with_the_larger_count(tmp_path, capsys):
    path = _experiment_file(tmp_path, reps=3)
    out = tmp_path / "o"
    assert main(["batch", str(path), "--out", str(out), "--jobs", "1"]) == 0
    capsys.readouterr()
    assert main(["batch", str(path), "--out", str(out), "--jobs", "2", "--resume",
                 "--reps", "7"]) == 0
    assert capsys.readouterr().err == f"{out.resolve()}: 6 of 14 tasks done before, 8 to run\n"
    assert batch.experiment_of(out)["replications"] == 7
    whole = batch.run_batch(load_experiment(path, replications=7), tmp_path / "whole", jobs=1)
    _assert_same(out, whole)
    assert sorted(_manifest_tasks(out)) == sorted(load_experiment(path, replications=7).tasks())
    assert main(["batch", str(path), "--out", str(out), "--resume", "--reps", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "was started with 7 replications" in err, err
    assert "--reps 7" in err


def test_an_interrupted_save_names_no_part_and_resume_runs_only_the_rest(tmp_path, capsys,
                                                                         monkeypatch):
    path = _experiment_file(tmp_path, reps=4)
    out = tmp_path / "o"
    write, calls = batch.pq.write_table, []

    def interrupted(table, where, **kwargs):  # Ctrl-C from the second save on, mid-save
        calls.append(where)
        if len(calls) > len(batch.TABLES) + 3:
            raise KeyboardInterrupt
        write(table, where, **kwargs)

    monkeypatch.setattr(batch.pq, "write_table", interrupted)
    args = ["batch", str(path), "--out", str(out), "--jobs", "1", "--save-every", "0"]
    assert main(args) == 130
    monkeypatch.undo()
    assert len(calls) > len(batch.TABLES) + 3, "a save was interrupted"
    assert _manifest_tasks(out) == [("pilot", r) for r in range(4)]  # the first save's chunk
    for table in batch.TABLES:
        assert [p.name for p in (out / table).iterdir()] == ["part-00000.parquet"], table
    capsys.readouterr()
    assert main([*args, "--resume"]) == 0
    assert capsys.readouterr().err == f"{out.resolve()}: 4 of 8 tasks done before, 4 to run\n"
    _assert_same(out, batch.run_batch(load_experiment(path), tmp_path / "whole"))


def test_resume_ignores_then_removes_a_part_the_manifest_does_not_name(tmp_path):
    """A kill between a save's renames and its manifest line leaves such a part."""
    exp = load_experiment(_experiment_file(tmp_path, reps=2))
    out = batch.run_batch(exp, tmp_path / "o")
    whole = batch.run_batch(exp, tmp_path / "whole", save_every=0)
    for table in batch.TABLES:
        shutil.copy(out / table / "part-00000.parquet", out / table / "part-00001.parquet")
    with open(out / batch.MANIFEST, "a") as f:
        f.write('{"part": 1, "tas')
    _assert_same(out, whole)
    batch.run_batch(exp, out, resume=True)
    assert (out / batch.MANIFEST).read_text().count("\n") == 1
    assert not list(out.rglob("part-00001.parquet"))
    _assert_same(out, whole)


def _psa_file(tmp_path: Path, base: Path, reps: int, months: int, *draws: str) -> Path:
    """Two strategies (WhatsApp groups or not) with a ``psa:`` block: the transport cost and
    ``draws``."""
    path = tmp_path / "psa.yaml"
    path.write_text(f"name: psa\nbase: {base}\nreplications: {reps}\nseed: 4\ncomparator: a\n"
                    f"scenarios:\n  a: {{months: {months}}}\n"
                    f"  b: {{months: {months}, whatsapp.enabled: false}}\npsa:\n"
                    "  costs.transport_per_visit: {distribution: uniform, low: 800, high: 1200}\n"
                    + "".join(f"  {d}\n" for d in draws))
    return path


def test_parameters_hold_each_replicates_psa_and_posterior_draws(tmp_path):
    exp = load_experiment(_psa_file(
        tmp_path, CONFIGS / "examples" / "pilot_posterior.yaml", 3, 2,
        "classroom.per_diem_per_day: {distribution: triangular, low: 2000, mode: 3000, high: 6000}"))
    out = batch.run_batch(exp, tmp_path / "o", jobs=2)
    table = batch.read(out, "parameters")
    posterior = cfgmod.read_posterior(exp.scenario("a").config.uncertainty.posterior).columns
    assert list(table.columns) == ["replicate", "draw", "costs.transport_per_visit",
                                   "classroom.per_diem_per_day", *posterior, "scenario"]
    assert list(table["scenario"]) == ["a"] * 3 + ["b"] * 3
    assert list(table["replicate"]) == [0, 1, 2] * 2
    for row in table.to_dict("records"):
        drawn = uncertainty.draw(exp.scenario(row["scenario"]).config, exp.seed, row["replicate"])
        assert row["draw"] == drawn.index + 1
        for key, value in {**exp.draws(row["replicate"]), **drawn.values}.items():
            assert row[key] == value, key
    costs = batch.read(out, "costs")
    transport = costs[costs["category"] == "transport"].groupby("replicate")["ksh"].max()
    assert transport.to_dict() == pytest.approx(
        {r: exp.draws(r)["costs.transport_per_visit"] for r in range(3)})


def _leaves(node: object, key: str = "") -> list[tuple[str, object]]:
    """Every number and flag of a config's dict, by dotted key (list items by index)."""
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, f"{key}{k}.")]
    if isinstance(node, list):
        return [leaf for i, v in enumerate(node) for leaf in _leaves(v, f"{key}{i}.")]
    return [(key[:-1], node)] if isinstance(node, int | float) else []


def test_the_tables_read_only_what_metrics_reads_names():
    """Change any number or flag of a phased county's config that metrics.READS does not name:
    the same records give the same tables, so replicates that differ there (a sensitivity
    analysis's draws) can share one call."""
    cfg = cfgmod.load(CONFIGS / "scaleup_machakos_county.yaml", ["months=14"])
    records = [simulate(cfg, 2, r) for r in range(2)]
    base = batch.task_tables(cfg, records)
    checked = 0
    for key, value in _leaves(cfg.to_dict()):
        if metrics.reads(key):
            continue
        data = cfg.to_dict()
        cfgmod.set_dotted(data, key, (not value) if isinstance(value, bool) else
                          value + 1 if isinstance(value, int) else value * 0.97 + 0.01)
        try:
            other = cfgmod.from_dict(data, key)
        except ConfigError:
            continue  # no valid scenario with that value
        for name, df in batch.task_tables(other, records).items():
            pd.testing.assert_frame_equal(df, base[name], obj=f"{name} after changing {key}")
        checked += 1
    assert checked >= 40, checked


def test_a_psa_batch_shares_chunks_unless_it_draws_what_the_tables_read(tmp_path, monkeypatch):
    learning = "mentee.learning.rate: {distribution: uniform, low: 0.2, high: 0.4}"
    exp = load_experiment(_psa_file(tmp_path, CONFIGS / "pilot.yaml", 5, 3, learning))
    assert [len(reps) for _, reps in batch.chunks(exp, exp.tasks(), 1)] == [5, 5]
    shared = batch.run_batch(exp, tmp_path / "shared", jobs=1)
    monkeypatch.setattr(batch, "CHUNK_FACILITY_MONTHS", 1)
    alone = batch.run_batch(exp, tmp_path / "alone", jobs=1)  # a chunk per task
    _assert_same(shared, alone)
    costs = batch.read(shared, "costs")
    transport = costs[costs["category"] == "transport"].groupby("replicate")["ksh"].max()
    assert transport.to_dict() == pytest.approx(
        {r: exp.draws(r)["costs.transport_per_visit"] for r in range(5)})
    monkeypatch.undo()
    exp = load_experiment(_psa_file(tmp_path, CONFIGS / "pilot.yaml", 5, 3, learning,
                                    "costs.discount_rate: {distribution: uniform, low: 0.0, "
                                    "high: 0.06}"))
    assert [len(reps) for _, reps in batch.chunks(exp, exp.tasks(), 1)] == [1] * 10


def _decision_file(tmp_path: Path, cap: int) -> Path:
    path = tmp_path / "decide.yaml"
    path.write_text(f"""
name: decide
base: {CONFIGS / 'pilot_lari.yaml'}
replications: {cap}
seed: 5
comparator: mentoring
scenarios:
  mentoring: {{months: 6}}
  none: {{months: 6, mentor.enabled: false, whatsapp.enabled: false}}
  same: {{months: 6, survey.discrimination: 2.5}}
""")
    return path


def test_an_adaptive_batch_stops_early_on_a_large_difference(tmp_path, capsys):
    """Mentoring against none: the first round of 4 already excludes zero, and the folder is
    the batch of 4 replications that a plain run gives."""
    exp = _decision_file(tmp_path, cap=40)
    out = tmp_path / "adaptive"
    assert main(["batch", str(exp), "--out", str(out), "--jobs", "1", "--until-decided",
                 "mentoring,none", "--step", "4"]) == 0
    printed = capsys.readouterr().out
    assert "x 4 replications" in printed and "stopped at its interval excludes zero" in printed
    plain = tmp_path / "plain"
    assert main(["batch", str(exp), "--out", str(plain), "--jobs", "1", "--reps", "4"]) == 0
    _assert_same(out, plain)
    # the outcomes --outcome may name are the table's
    assert tuple(c for c in batch.read(out, "outcomes").columns
                 if c not in ("replicate", "scenario")) == metrics.OUTCOMES


def test_an_adaptive_batch_runs_to_its_cap_on_no_difference(tmp_path):
    """A survey setting changes no programme outcome: under common random numbers every
    paired difference is 0, the interval never excludes zero, and the batch runs to its cap
    in rounds; then it can be extended like any batch."""
    exp = load_experiment(_decision_file(tmp_path, cap=9))
    out = tmp_path / "adaptive"
    res = batch.run_until_decided(exp, out, "mentoring", "same", "mean_competency_at_horizon",
                                  step=4)
    assert (res.replications, res.mean, res.reason) == (9, 0.0, "cap")
    assert batch.experiment_of(out)["replications"] == 9
    precise = batch.run_until_decided(dataclasses.replace(exp, replications=20), out,
                                      "mentoring", "same", "mean_competency_at_horizon",
                                      step=4, precision=0.01, resume=True)
    assert (precise.replications, precise.reason) == (9, "precision")  # nothing more to run


@pytest.mark.parametrize("args, message", [
    (["--until-decided", "mentoring"], "--until-decided: expected two scenarios A,B"),
    (["--until-decided", "mentoring,nope"], "--until-decided: no scenario 'nope'"),
    (["--until-decided", "mentoring,none", "--precision", "0"], "--precision: must be above 0"),
    (["--until-decided", "mentoring,none", "--outcome", "happiness"],
     "--outcome: 'happiness' is not an outcome"),
])
def test_adaptive_batch_bad_options_are_one_line(tmp_path, capsys, args, message):
    exp = _decision_file(tmp_path, cap=4)
    assert main(["batch", str(exp), "--out", str(tmp_path / "o"), "--jobs", "1",
                 "--step", "2", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # refused before anything ran
