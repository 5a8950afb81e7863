"""Faults: bad input, unusable output, an absent scheduler and Ctrl-C each end with one line
on stderr, the right exit status, no traceback and nothing (half-)written.

Most cases fail before anything is simulated and run in-process through ``main``
(``capfd`` also sees what child processes write); the reported faults, Ctrl-C and
the process pools run the real CLI in a subprocess.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import termios
import time
import types
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim import batch, calibrate, evaluation, survey
from sim.cli import main
from sim.config import ConfigError, read_raw
from sim.execution import progress
from sim.experiment import load_experiment
from sim.rng import seed_states

from conftest import CONFIGS, alive, children, write_yaml

TARGETS = CONFIGS / "targets" / "lari.yaml"
LARI = CONFIGS / "pilot_lari.yaml"


# --- inputs ------------------------------------------------------------------------------


def _pilot(tmp: Path, name: str = "good.yaml", text: Callable[[str], str] | None = None,
           **changes) -> Path:
    """The pilot, includes resolved, as one file (months 2 unless changed)."""
    data = {**read_raw(CONFIGS / "pilot.yaml"), "months": 2, **changes}
    path = write_yaml(tmp / name, data)
    if text is not None:
        path.write_text(text(path.read_text()))
    return path


def _experiment(tmp: Path, body: str, name: str = "exp.yaml", reps: int = 2) -> Path:
    path = tmp / name
    path.write_text(f"name: small\nbase: {CONFIGS / 'pilot.yaml'}\nreplications: {reps}\n"
                    f"seed: 11\n{body}")
    return path


SCENARIOS = ("comparator: pilot\nscenarios:\n  pilot: {months: 2}\n"
             "  late: {months: 2, whatsapp.start_month: 2}\n")
PSA = ("comparator: classroom\nscenarios:\n  mentoring: {months: 2}\n"
       "  classroom: {months: 2, classroom.enabled: true, mentor.enabled: false, "
       "whatsapp.enabled: false}\n"
       "psa:\n  costs.transport_per_visit: {distribution: uniform, low: 800, high: 1200}\n")


OPTIMISE = ("optimise:\n  variables: {mentor.mentees_per_mentor: {low: 2, high: 6}}\n"
            "  objective: {minimise: total_cost_ksh}\n  trials: 2\n")


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root``, with a file's bytes (folders: None)."""
    return {str(p.relative_to(root)): None if p.is_dir() else p.read_bytes()
            for p in sorted(root.rglob("*"))}


def _one_error(err: str, words: list[str]) -> None:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mentorsim: error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])


def _misspell(text: str) -> str:
    return text.replace("mentees_per_mentor:", "mentes_per_mentor:")


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if anything is simulated: these faults must be found first."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was built before the fault was reported")

    monkeypatch.setattr("sim.engines.fast.model.Model.__init__", refuse)


@pytest.fixture
def read_only(tmp_path):
    """An empty folder that refuses new files even to root (``chattr +i``; as another user,
    its permission bits)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    root = os.geteuid() == 0
    if root:
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(folder)],
                                                        capture_output=True).returncode:
            pytest.skip("no way to make a folder read-only for root here (chattr +i)")
    else:
        folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except OSError:
        pass
    else:
        pytest.skip("the folder still accepts files")
    try:
        yield folder
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


# --- malformed input: one line, status 2, nothing written ---------------------------------


def _cases() -> list[tuple[str, Callable[[Path], list], list[str]]]:
    """(id, argv from the temporary folder, words the error line must hold)."""

    def run(*extra, config=None):
        return lambda t: ["run", config(t) if config else _pilot(t), "--out", t / "out", *extra]

    def experiment(body):
        return lambda t: ["batch", _experiment(t, body), "--out", t / "out", "--jobs", "1"]

    def file(text: bytes, name="bad.yaml"):
        def make(t):
            (t / name).write_bytes(text)
            return t / name
        return make

    return [
        # the reported faults
        ("impossible-date", run(config=_impossible_date),
         ["line 1: 2018-02-30 is not a date: day is out of range for month"]),
        ("impossible-date-set", run("--set", "start_date=2018-02-30"),
         ["--set start_date=2018-02-30", "not a date"]),
        ("typo-missing-key", run(config=lambda t: _pilot(t, text=_misspell)),
         ["mentor.mentes_per_mentor: unknown key (check the spelling; "
          "did you mean mentees_per_mentor?)"]),
        ("typo-set", run("--set", "mentor.mentes_per_mentor=6"),
         ["mentor.mentes_per_mentor: unknown key", "did you mean mentees_per_mentor?"]),
        ("experiment-typo", experiment("comparitor: pilot\nscenarios: {pilot: {}}\n"),
         ["comparitor: unknown key", "did you mean comparator?"]),
        ("experiment-sweep-key", experiment(
            "comparator: mentees_per_mentor=4\nsweep:\n  mentor.mentes_per_mentor: [2, 4]\n"),
         ["scenario mentes_per_mentor=2", "mentor.mentes_per_mentor: unknown key"]),
        ("experiment-value-behind-comparator",
         experiment("scenarios:\n  pilot: {}\n  comparator: pilot\n"),
         ["scenarios.comparator", "valid dictionary"]),
        # more malformed inputs
        ("negative-rate", run("--set", "mentee.turnover.hazard_per_year=-0.1"),
         ["mentee.turnover.hazard_per_year", "greater than or equal to 0"]),
        ("non-numeric", run("--set", "mentor.visit_hours=two"),
         ["mentor.visit_hours", "valid number"]),
        ("list-for-mapping", run("--set", "mentor=[1, 2]"), ["mentor", "valid dictionary"]),
        ("empty-file", run(config=file(b"")), ["expected a mapping"]),
        ("missing-include", run(config=file(b"include: nowhere.yaml\nname: x\n")),
         ["include: nowhere.yaml: file not found"]),
        ("include-cycle", run(config=file(b"include: bad.yaml\nname: x\n")), ["includes itself"]),
        ("yaml-syntax", run(config=file(b"name: x\nmonths: 2\n  oops: 1\n")),
         ["line 3", "YAML syntax error"]),
        ("non-utf8", run(config=file(b"name: caf\xe9\n")), ["cannot read file", "utf-8"]),
        ("directory-as-config", run(config=lambda t: t), ["is a directory"]),
        ("missing-config", run(config=lambda t: t / "none.yaml"), ["none.yaml: file not found"]),
        ("bad-set-syntax", run("--set", "months"), ["--set months: expected dotted.key=value"]),
        ("set-into-a-number", run("--set", "months.x=1"), ["'months' is not a mapping"]),
        ("unknown-phase-subcounty",
         run("--set", "scaleup={phases: [{start_month: 2, subcounties: [Nairobi]}]}"),
         ["scaleup: no subcounty named Nairobi"]),
        ("reps-0", run("--reps", "0"), ["--reps", "must be at least 1, got 0"]),
        ("reps-not-a-number", run("--reps", "x"), ["--reps", "expected a whole number"]),
        ("jobs-0", run("--jobs", "0"), ["--jobs", "must be at least 1"]),
        ("negative-seed-power", lambda t: ["power", _pilot(t), "--n", "10", "--seed", "-1",
                                           "--out", t / "out"], ["--seed", "at least 0"]),
        ("power-size-1", lambda t: ["power", _pilot(t), "--n", "20,1", "--out", t / "out"],
         ["--n", "at least 2"]),
        ("out-is-a-file", lambda t: ["run", _pilot(t), "--out", _pilot(t, "other.yaml")],
         ["exists and is not a directory"]),
        ("missing-targets", lambda t: ["calibrate", LARI, "--targets", t / "none.yaml",
                                       "--out", t / "out"], ["none.yaml: file not found"]),
        ("save-every-negative", lambda t: ["batch", _experiment(t, SCENARIOS), "--out", t / "out",
                                           "--save-every", "-1"],
         ["--save-every", "must be at least 0, got -1"]),
        ("experiment-without-scenarios", experiment("comparator: pilot\n"),
         ["give scenarios, a sweep, or both"]),
        ("resume-a-damaged-batch", lambda t: ["batch", _experiment(t, SCENARIOS), "--out",
                                              _damaged_batch(t), "--resume"],
         ["not an experiment record"]),
        ("scheduler-address", lambda t: ["batch", _experiment(t, SCENARIOS), "--out", t / "out",
                                         "--scheduler", "nowhere"],
         ["--scheduler nowhere: cannot connect"]),
        ("tornado-unknown-strategy", lambda t: ["tornado", _experiment(t, PSA), "--strategy",
                                                "lecture", "--wtp", "1", "--out", t / "out"],
         ["no strategy 'lecture'"]),
        ("unknown-command", lambda t: ["frobnicate"], ["invalid choice"]),
    ]


def _impossible_date(t: Path) -> Path:
    """The pilot starting on 30 February, on line 1."""
    return _pilot(t, "date.yaml", text=lambda s: "start_date: 2018-02-30\n" + "".join(
        line for line in s.splitlines(keepends=True) if not line.startswith("start_date:")))


def _damaged_batch(t: Path) -> Path:
    out = t / "damaged"
    out.mkdir()
    (out / batch.EXPERIMENT).write_text("{not json")
    return out


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c[0])
def test_malformed_input_one_line_status_2_nothing_written(case, tmp_path, capfd, no_simulation):
    _, argv, words = case
    args = [str(a) for a in argv(tmp_path)]
    before = _tree(tmp_path)
    assert main(args) == 2
    out, err = capfd.readouterr()
    assert out == ""
    _one_error(err, words)
    assert _tree(tmp_path) == before


def test_a_misspelt_key_is_one_error_not_two(tmp_path):
    """It is both an unknown key and a missing one; the line names it once, with no
    "(+1 more)" for the key it was meant to be."""
    path = _pilot(tmp_path, text=_misspell)
    with pytest.raises(ConfigError) as err:
        sim.load(path)
    assert str(err.value) == (f"{path}: mentor.mentes_per_mentor: unknown key (check the "
                              "spelling; did you mean mentees_per_mentor?)")


# --- outputs that cannot be written: found before anything is simulated -------------------


def _commands(t: Path, out: Path) -> dict[str, list]:
    return {
        "run": ["run", _pilot(t), "--out", out],
        "power": ["power", _pilot(t), "--n", "10", "--reps", "2", "--out", out],
        "calibrate": ["calibrate", LARI, "--targets", TARGETS, "--reps", "1",
                      "--evaluations", "2", "--out", out],
        "report-validation": ["report-validation", LARI, "--targets", TARGETS, "--reps", "2",
                              "--out", out],
        "tornado": ["tornado", _experiment(t, PSA), "--strategy", "mentoring", "--wtp", "1",
                    "--reps", "1", "--out", out],
        "batch": ["batch", _experiment(t, SCENARIOS), "--out", out, "--jobs", "1"],
        "report": ["report", t, "--html", out / "report.html"],
        "optimise": ["optimise", _experiment(t, SCENARIOS + OPTIMISE), "--out", out],
    }


@pytest.mark.parametrize("command", ["run", "power", "calibrate", "report-validation",
                                     "tornado", "batch", "report", "optimise"])
@pytest.mark.parametrize("where", ["under-a-file", "read-only-folder", "in-read-only-folder"])
def test_unwritable_output_is_refused_before_simulating(command, where, tmp_path, capfd,
                                                        no_simulation, request):
    if where == "under-a-file":
        (tmp_path / "file.txt").write_text("x")
        out = tmp_path / "file.txt" / "sub"
    else:
        folder = request.getfixturevalue("read_only")
        out = folder if where == "read-only-folder" else folder / "sub"
    args = [str(a) for a in _commands(tmp_path, out)[command]]
    before = _tree(tmp_path)
    assert main(args) == 2
    _one_error(capfd.readouterr().err, ["cannot"])
    assert _tree(tmp_path) == before


def test_a_failed_write_is_one_line_and_leaves_nothing(tmp_path, capfd, monkeypatch):
    """The safety net: an OSError while writing (here, a full disk) after the checks passed."""

    def full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    monkeypatch.setattr(batch.pq, "write_table", full)
    args = ["run", str(_pilot(tmp_path)), "--out", str(tmp_path / "out")]
    assert main(args) == 2
    _one_error(capfd.readouterr().err, ["out: cannot write: No space left on device"])
    assert [p.name for p in tmp_path.iterdir()] == ["good.yaml"]
    args = ["batch", str(_experiment(tmp_path, SCENARIOS)), "--out", str(tmp_path / "b"),
            "--jobs", "1"]
    assert main(args) == 2
    _one_error(capfd.readouterr().err, ["b: cannot write: No space left on device"])
    assert not any((tmp_path / "b").rglob("*.parquet")) and not any(tmp_path.rglob("*.tmp"))


def test_negative_seed_is_refused_by_the_streams():
    """Not hashed for ever (its words were shifted out until memory ran out)."""
    with pytest.raises(ValueError, match="non-negative"):
        seed_states(-1, [(0, 1)])
    with pytest.raises(ConfigError, match="seed"):
        sim.run(sim.load(CONFIGS / "pilot.yaml"), seed=-1)


# --- the reported faults in a real process ------------------------------------------------


def _cli(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim", *map(str, args)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


REAL = {  # id -> (argv from the temporary folder, words)
    "impossible-date": (lambda t: ["validate", _impossible_date(t)],
                        ["line 1: 2018-02-30 is not a date"]),
    "typo": (lambda t: ["run", _pilot(t, "typo.yaml", text=_misspell), "--out", t / "typo"],
             ["mentor.mentes_per_mentor: unknown key", "did you mean mentees_per_mentor?"]),
    "unwritable-out": (lambda t: ["run", _pilot(t, "w.yaml"), "--out", t / "file.txt" / "sub"],
                       ["cannot be created", "file.txt is not a directory"]),
    "hidden-experiment-error": (lambda t: ["batch", _experiment(
        t, "comparator: mentees_per_mentor=4\nsweep: {mentor.mentes_per_mentor: [2, 4]}\n",
        "sweep.yaml"), "--out", t / "sweep"], ["mentor.mentes_per_mentor: unknown key"]),
}


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """Every REAL case run at once, as they do not depend on each other:
    ({id: (status, stdout, stderr)}, their folder, its contents before)."""
    t = tmp_path_factory.mktemp("real")
    (t / "file.txt").write_text("x")
    argvs = {name: argv(t) for name, (argv, _) in REAL.items()}
    before = _tree(t)
    procs = {name: _cli(*args) for name, args in argvs.items()}
    outputs = {name: proc.communicate(timeout=300) for name, proc in procs.items()}
    return {name: (procs[name].returncode, *outputs[name]) for name in procs}, t, before


@pytest.mark.parametrize("name", list(REAL))
def test_reported_fault_in_a_real_process(name, real):
    results, folder, before = real
    status, out, err = results[name]
    assert status == 2, err
    assert out == ""
    _one_error(err, REAL[name][1])
    assert _tree(folder) == before  # no out folder, no experiment.json: a rerun is not blocked


def test_an_absent_scheduler_fails_within_the_connect_timeout(tmp_path, capfd):
    pytest.importorskip("distributed")
    args = ["batch", str(_experiment(tmp_path, SCENARIOS)), "--out", str(tmp_path / "out"),
            "--scheduler", "tcp://127.0.0.1:1"]
    before = _tree(tmp_path)
    start = time.monotonic()
    assert main(args) == 2
    assert time.monotonic() - start < batch.CONNECT_TIMEOUT + 10
    _one_error(capfd.readouterr().err, ["--scheduler tcp://127.0.0.1:1: cannot connect"])
    assert _tree(tmp_path) == before  # no out folder or experiment.json to block a rerun


# --- Ctrl-C ------------------------------------------------------------------------------


def _interrupt(proc: subprocess.Popen) -> None:
    """Ctrl-C as a terminal sends it: SIGINT to the whole process group."""
    os.killpg(proc.pid, signal.SIGINT)


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen, what: str,
              timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.01)


def _workers(pid: int) -> list[int]:
    """Linux: the pool workers of ``pid``, the children forked from it (so with its command
    line, which the resource tracker, say, has not)."""

    def cmdline(p: int) -> bytes:
        try:
            return Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            return b""

    return [c for c in children(pid) if cmdline(c) == cmdline(pid)]


def _gone(pids: list[int], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _assert_interrupted(status: int, out: str, err: str) -> None:
    assert status == 130, err
    assert out == "" and err == "mentorsim: interrupted\n", err


def _loaded(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def test_ctrl_c_while_the_libraries_load(tmp_path):
    # sim.cli imports nothing heavy, so numpy's extension is first mapped inside main()
    config = _pilot(tmp_path)
    before = _tree(tmp_path)
    proc = _cli("run", config, "--reps", "5000", "--out", tmp_path / "out",
                start_new_session=True)
    _wait_for(lambda: _loaded(proc.pid, "_multiarray_umath"), proc, "numpy loading")
    _interrupt(proc)
    out, err = proc.communicate(timeout=120)
    _assert_interrupted(proc.returncode, out, err)
    assert _tree(tmp_path) == before


def test_ctrl_c_while_the_commands_import(monkeypatch, capsys):
    class Loading(types.ModuleType):
        def __getattr__(self, name):
            raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "sim.commands", Loading("sim.commands"))
    assert main(["validate", "x.yaml"]) == 130
    assert capsys.readouterr().err == "mentorsim: interrupted\n"


def test_ctrl_c_in_a_run_with_workers(tmp_path):
    config = _pilot(tmp_path, months=12)
    before = _tree(tmp_path)
    proc = _cli("run", config, "--reps", "5000", "--jobs", "2", "--out", tmp_path / "out",
                start_new_session=True)
    _wait_for(lambda: len(_workers(proc.pid)) >= 2, proc, "pool workers")
    workers = _workers(proc.pid)
    _interrupt(proc)
    out, err = proc.communicate(timeout=120)
    _assert_interrupted(proc.returncode, out, err)
    assert _gone(workers), "workers outlived the interrupted run"
    assert _tree(tmp_path) == before


def _read_terminal(fd: int, until: Callable[[str], bool], timeout: float) -> str:
    text, deadline = "", time.monotonic() + timeout
    while not until(text) and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the other end closed: the process has ended
                break
            if not chunk:
                break
            text += chunk.decode(errors="replace")
    return text


def test_ctrl_c_in_a_run_on_a_terminal_after_its_progress_shows(tmp_path):
    config = _pilot(tmp_path, months=12)
    before = _tree(tmp_path)
    leader, follower = pty.openpty()
    # a new terminal is 0 columns wide, and so would be the bar
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", str(config), "--reps", "5000",
                             "--jobs", "1", "--out", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=follower, env=env, text=True,
                            start_new_session=True)
    os.close(follower)
    try:
        shown = re.compile(r"\b[1-9]\d*/5000\b")  # a replicate done, of 5000
        text = _read_terminal(leader, lambda s: shown.search(s) is not None, 180)
        assert shown.search(text), f"no progress shown: {text!r}"
        _interrupt(proc)
        assert proc.wait(timeout=120) == 130
        text += _read_terminal(leader, lambda s: False, 5)
    finally:
        os.close(leader)
    assert proc.stdout.read() == ""
    proc.stdout.close()
    assert "Traceback" not in text
    lines = [x.strip() for x in re.split(r"[\r\n]+", text) if x.strip()]
    assert [x for x in lines if not re.search(r"\d+/5000", x)] == ["mentorsim: interrupted"], text
    assert _tree(tmp_path) == before


def test_ctrl_c_in_a_batch_then_resume_gives_the_uninterrupted_data(tmp_path):
    path = _experiment(tmp_path, SCENARIOS.replace("months: 2", "months: 12"), reps=6)
    out = tmp_path / "interrupted"
    proc = _cli("batch", path, "--out", out, "--jobs", "2", "--save-every", "0",
                start_new_session=True)
    manifest = out / batch.MANIFEST
    _wait_for(lambda: manifest.exists() and manifest.read_text().count("\n") >= 1, proc,
              "saved task")
    workers = _workers(proc.pid)
    _interrupt(proc)
    out_err = proc.communicate(timeout=120)
    _assert_interrupted(proc.returncode, *out_err)
    assert _gone(workers), "workers outlived the interrupted batch"
    assert not list(out.rglob("*.tmp")) and not list(out.rglob(".mentorsim-*"))
    parts = {f"part-{json.loads(line)['part']:05d}.parquet"
             for line in manifest.read_text().splitlines()}
    for table in batch.TABLES:  # the parts the manifest names, complete, and no other
        assert {p.name for p in (out / table).iterdir()} == parts, table
    exp = load_experiment(path)
    finished = batch.Store(out, exp, resume=True).done()
    assert 1 <= len(finished) < 12, "the batch was not interrupted mid-run"
    assert main(["batch", str(path), "--out", str(out), "--jobs", "2", "--resume"]) == 0
    whole = batch.run_batch(exp, tmp_path / "whole", jobs=2)
    for table in batch.TABLES:
        pd.testing.assert_frame_equal(batch.read(out, table), batch.read(whole, table), obj=table)
    assert len(batch.Store(out, exp, resume=True).done()) == 12


def test_ctrl_c_in_a_calibration_then_resume_gives_the_uninterrupted_posterior(tmp_path):
    """The sampler's chain is kept after every step: an interrupted calibration leaves it
    whole, and --resume finishes with the posterior an uninterrupted run writes."""
    args = ["calibrate", CONFIGS / "pilot_lari.yaml", "--targets",
            CONFIGS / "targets" / "lari.yaml", "--reps", "1", "--evaluations", "2",
            "--walkers", "4", "--steps", "20", "--items", "keep", "--check-reps", "2",
            "--fit", "mentee.learning.rate,mentee.baseline.level", "--seed", "3"]
    out = tmp_path / "interrupted"
    proc = _cli(*args, "--out", out, "--jobs", "2", start_new_session=True)
    _wait_for(lambda: (out / "chain.npz").exists(), proc, "sampler step")
    workers = _workers(proc.pid)
    _interrupt(proc)
    out_err = proc.communicate(timeout=120)
    _assert_interrupted(proc.returncode, *out_err)
    assert _gone(workers), "workers outlived the interrupted calibration"
    assert {p.name for p in out.iterdir()} == {"chain.npz"}  # no half-written results
    assert main([*map(str, args), "--out", str(out), "--jobs", "1", "--resume"]) == 0
    assert main([*map(str, args), "--out", str(tmp_path / "whole"), "--jobs", "1"]) == 0
    assert (out / "posterior.csv").read_text() == (tmp_path / "whole" / "posterior.csv").read_text()


# --- run --jobs, folder modes, progress ----------------------------------------------------


def test_run_jobs_2_writes_the_same_bytes_as_jobs_1(tmp_path):
    config = _pilot(tmp_path, months=6)
    for jobs in ("1", "2"):
        assert main(["run", str(config), "--reps", "5", "--seed", "3", "--jobs", jobs,
                     "--out", str(tmp_path / jobs)]) == 0
    one, two = _tree(tmp_path / "1"), _tree(tmp_path / "2")
    assert sorted(one) == sorted(two) and any(n.endswith(".parquet") for n in one)
    for name in one:
        assert one[name] == two[name], name


def test_outputs_follow_the_umask(tmp_path):
    config = _pilot(tmp_path)
    old = os.umask(0o027)
    try:
        assert main(["run", str(config), "--out", str(tmp_path / "a" / "run")]) == 0
        assert main(["batch", str(_experiment(tmp_path, SCENARIOS)), "--out",
                     str(tmp_path / "batch"), "--jobs", "1"]) == 0
    finally:
        os.umask(old)
    made = [tmp_path / "a", *(tmp_path / "a").rglob("*"), tmp_path / "batch",
            *(tmp_path / "batch").rglob("*")]
    for path in made:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o750 if path.is_dir() else 0o640), (path, oct(mode))


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _fast_objective(self, values: dict[str, float]) -> calibrate.Evaluation:
    return calibrate.Evaluation(sum(values.values()), {})


@pytest.mark.parametrize("work, shown", [
    (lambda: sim.run(sim.load(CONFIGS / "pilot.yaml", ["months=2"]), reps=3), "3/3"),
    (lambda: evaluation.power(sim.load(LARI, ["months=2"]), [10], reps=2), "2/2"),
    (lambda: calibrate.calibrate(sim.load(LARI), survey.load_targets(TARGETS), evaluations=4),
     "evaluation"),
], ids=["run", "power", "calibrate"])
def test_long_work_shows_progress_on_a_terminal(work, shown, monkeypatch):
    monkeypatch.setattr(calibrate.Objective, "__call__", _fast_objective)  # the bar, not the fit
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    work()
    assert shown in sys.stderr.getvalue()


def test_progress_is_silent_off_a_terminal_and_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    for stream, ci, shown in ((_Terminal(), None, True), (_Terminal(), "1", False),
                              (io.StringIO(), None, False)):
        monkeypatch.setattr(sys, "stderr", stream)
        if ci:
            monkeypatch.setenv("CI", ci)
        with progress(2, "work", "step") as bar:
            bar.update(2)
        assert ("2/2" in stream.getvalue()) == shown, (ci, stream.getvalue())
