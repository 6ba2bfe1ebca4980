"""An interrupted ``recgym study`` leaves only complete files and resumes where it stopped.

Interruptions are simulated where they hurt: a ``KeyboardInterrupt`` in the middle of a
policy's rollout, a writer that dies half-way through a history file or the summary, and
a real SIGINT sent to a ``recgym study`` process. After each: no partial file under a
final name, no temporary file left behind, the histories written before are untouched,
and a rerun completes with the numbers of an uninterrupted study, reusing (not
rewriting) the earlier histories. The folder's ``study.json`` (written first) and its
lock file are there from the start.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recgym import _io, cli
from recgym.population import PopulationEnv
from recgym.population.history import History
from recgym.population.study import StudyConfig, run_study

SMALL = {"users": 150, "items": 12, "dim": 3, "steps": 8, "seeds": 1}
#: Written when a study starts: the folder's configuration and its lock.
FOLDER = {"study.json", ".recgym-study.lock"}
REPORT = {"metrics.csv", "intervals.csv", "finals.csv", "summary.json", "report.md"}
POLICIES = ("random", "greedy", "mass_media")


@pytest.fixture
def no_figures(monkeypatch):
    """Hide matplotlib: run_study skips its figures (faster; figures are not the point)."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)


@pytest.fixture
def uninterrupted(tmp_path, no_figures):
    """The histories of the same study run in one go."""
    return run_study(StudyConfig(**SMALL, policies=POLICIES), tmp_path / "uninterrupted")


def history(name: str) -> str:
    """The path of policy ``name``'s run (seed 0) in a study folder."""
    return f"histories/{name}/seed-0.npz"


def files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path → bytes), temporary ones included."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def without_timing(run: History) -> History:
    """``run`` without its run time."""
    metadata = {k: v for k, v in run.metadata.items() if k != "seconds"}
    return History(**{**vars(run), "metadata": metadata})


def assert_resumes(out: Path, before: dict[str, bytes], uninterrupted: dict[str, History]):
    """Rerun the study in ``out``: earlier histories are reused byte for byte, the rest
    computed, and every history equals the uninterrupted study's."""
    log = io.StringIO()
    histories = run_study(StudyConfig(**SMALL, policies=POLICIES), out, log=log)
    after = files(out)
    for name, data in before.items():
        if name.startswith("histories/"):
            assert after[name] == data, f"{name} was rewritten"
            assert f"{Path(name).parent.name} seed 0: reused" in log.getvalue()
    assert set(after) == FOLDER | REPORT | {history(name) for name in POLICIES}
    for name in POLICIES:
        assert without_timing(histories[name].histories[0]) == without_timing(
            uninterrupted[name].histories[0]
        )
        assert without_timing(History.load(out / history(name))) == (
            without_timing(uninterrupted[name].histories[0])
        )
    uninterrupted_csv = (out.parent / "uninterrupted" / "metrics.csv").read_bytes()
    assert after["metrics.csv"] == uninterrupted_csv


def test_interrupt_in_the_middle_of_a_rollout(tmp_path, monkeypatch, uninterrupted):
    calls = 0
    step_batch = PopulationEnv.step_batch

    def interrupted(self, actions):
        nonlocal calls
        calls += 1
        if calls == SMALL["steps"] + 3:  # the 3rd step of the 2nd policy
            raise KeyboardInterrupt
        return step_batch(self, actions)

    out = tmp_path / "study"
    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(PopulationEnv, "step_batch", interrupted)
        run_study(StudyConfig(**SMALL, policies=POLICIES), out)
    before = files(out)
    assert set(before) == FOLDER | {history("random")}  # nothing partial, nothing temporary
    assert_resumes(out, before, uninterrupted)


def test_interrupt_while_a_history_is_written(tmp_path, monkeypatch, uninterrupted):
    write_npz = _io.write_npz
    calls = 0

    def dies_half_way(file, arrays, compress):
        nonlocal calls
        calls += 1
        if calls == 2:  # the second history
            file.write(b"PK\x03\x04 half an archive")
            raise KeyboardInterrupt
        return write_npz(file, arrays, compress)

    out = tmp_path / "study"
    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(_io, "write_npz", dies_half_way)
        run_study(StudyConfig(**SMALL, policies=POLICIES), out)
    before = files(out)
    assert set(before) == FOLDER | {history("random")}
    History.load(out / history("random"))
    assert_resumes(out, before, uninterrupted)


def test_interrupt_while_the_summary_is_written_keeps_the_old_report(
    tmp_path, monkeypatch, uninterrupted
):
    out = tmp_path / "study"
    run_study(StudyConfig(**SMALL, policies=POLICIES[:1]), out)  # an earlier, smaller study
    old = files(out)
    write_text = Path.write_text

    def dies_half_way(self, data, *args, **kwargs):
        write_text(self, data[: len(data) // 2], *args, **kwargs)
        raise KeyboardInterrupt

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(Path, "write_text", dies_half_way)
        run_study(StudyConfig(**SMALL, policies=POLICIES), out)
    now = files(out)
    assert now["summary.json"] == old["summary.json"]  # the complete old summary, intact
    assert now[history("random")] == old[history("random")]
    assert set(now) == FOLDER | REPORT | {history(name) for name in POLICIES}
    assert_resumes(out, {k: v for k, v in now.items() if k.startswith("histories/")}, uninterrupted)


def test_sigint_to_recgym_study_then_rerun(tmp_path, monkeypatch, no_figures):
    out = tmp_path / "study"
    arguments = ["study", "--users", "1500", "--items", "20", "--dim", "3", "--steps", "60"]
    arguments += ["--seeds", "1", "--policies", "random,greedy,softmax,mass_media"]
    arguments += ["--out", str(out)]
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from recgym.cli import main; sys.exit(main())",
            *arguments,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    first = out / history("random")
    deadline = time.monotonic() + 60
    while not first.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, "the study finished before it could be interrupted"
    assert stderr.decode().splitlines() == [
        f"recgym: interrupted; the finished runs are saved in {out}/histories, and the same "
        "command resumes from them"
    ]
    before = files(out)
    assert history("random") in before
    # Whatever the signal hit, only complete histories are there, and nothing else.
    histories = {name for name in before if name.startswith("histories/")}
    assert set(before) - histories == FOLDER
    assert all(name.endswith(".npz") for name in histories)
    for name in histories:
        History.load(out / name)

    assert cli.main(arguments) == 0
    after = files(out)
    for name, data in before.items():
        assert after[name] == data
    assert {history(name) for name in ("greedy", "softmax", "mass_media")} <= set(after)
