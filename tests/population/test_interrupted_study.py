"""An interrupted ``recgym study`` leaves only complete files and resumes where it stopped.

Interruptions are simulated where they hurt: a ``KeyboardInterrupt`` in the middle of a
policy's rollout, a writer that dies half-way through a history file or the summary, and
a real SIGINT sent to a ``recgym study`` process. After each: no partial file under a
final name, no temporary file left behind, the histories written before are untouched,
and a rerun completes with the numbers of an uninterrupted study, reusing (not
rewriting) the earlier histories.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from recgym import cli
from recgym.population import PopulationEnv
from recgym.population.history import History
from recgym.population.study import StudyConfig, run_study

SMALL = {"users": 150, "items": 12, "dim": 3, "steps": 8}
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


def files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path → bytes), temporary ones included."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def without_timing(history: History) -> History:
    """``history`` without its run time and its study's policy list (a history reused from
    a study of fewer policies names those)."""
    metadata = {k: v for k, v in history.metadata.items() if k != "seconds"}
    metadata["study"] = {**metadata["study"], "policies": None}
    return History(**{**vars(history), "metadata": metadata})


def assert_resumes(out: Path, before: dict[str, bytes], uninterrupted: dict[str, History]):
    """Rerun the study in ``out``: earlier histories are reused byte for byte, the rest
    computed, and every history equals the uninterrupted study's."""
    log = io.StringIO()
    histories = run_study(StudyConfig(**SMALL, policies=POLICIES), out, log=log)
    after = files(out)
    for name, data in before.items():
        if name.startswith("histories/"):
            assert after[name] == data, f"{name} was rewritten"
            assert f"{Path(name).stem}: reused" in log.getvalue()
    assert set(after) == {"metrics.csv", "summary.json"} | {
        f"histories/{name}.npz" for name in POLICIES
    }
    for name in POLICIES:
        assert without_timing(histories[name]) == without_timing(uninterrupted[name])
        assert without_timing(History.load(out / "histories" / f"{name}.npz")) == (
            without_timing(uninterrupted[name])
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
    assert set(before) == {"histories/random.npz"}  # nothing partial, nothing temporary
    assert_resumes(out, before, uninterrupted)


def test_interrupt_while_a_history_is_written(tmp_path, monkeypatch, uninterrupted):
    savez = np.savez
    calls = 0

    def dies_half_way(file, **arrays):
        nonlocal calls
        calls += 1
        if calls == 2:  # the second history
            file.write(b"PK\x03\x04 half an archive")
            raise KeyboardInterrupt
        return savez(file, **arrays)

    out = tmp_path / "study"
    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(np, "savez", dies_half_way)
        run_study(StudyConfig(**SMALL, policies=POLICIES), out)
    before = files(out)
    assert set(before) == {"histories/random.npz"}
    History.load(out / "histories" / "random.npz")
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
    assert now["histories/random.npz"] == old["histories/random.npz"]
    assert set(now) == {"metrics.csv", "summary.json"} | {
        f"histories/{name}.npz" for name in POLICIES
    }
    assert_resumes(out, {k: v for k, v in now.items() if k.startswith("histories/")}, uninterrupted)


def test_sigint_to_recgym_study_then_rerun(tmp_path, monkeypatch, no_figures):
    out = tmp_path / "study"
    arguments = ["study", "--users", "1500", "--items", "20", "--dim", "3", "--steps", "60"]
    arguments += ["--policies", "random,greedy,softmax,mass_media", "--out", str(out)]
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
    first = out / "histories" / "random.npz"
    deadline = time.monotonic() + 60
    while not first.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0, "the study finished before it could be interrupted"
    assert b"KeyboardInterrupt" in stderr
    before = files(out)
    assert "histories/random.npz" in before
    # Whatever the signal hit, only complete histories are there, and nothing else.
    assert all(name.startswith("histories/") and name.endswith(".npz") for name in before)
    for name in before:
        History.load(out / name)

    assert cli.main(arguments) == 0
    after = files(out)
    for name, data in before.items():
        assert after[name] == data
    assert {f"histories/{name}.npz" for name in ("greedy", "softmax", "mass_media")} <= set(after)
