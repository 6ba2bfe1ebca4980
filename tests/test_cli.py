"""The ``recgym`` command: ``recgym study`` end to end, its options, errors, pipes and signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from recgym import __version__
from recgym.cli import main
from recgym.population.history import History
from recgym.population.policies import POLICIES
from recgym.population.study import SUMMARY_COLUMNS

SMALL = ["--users", "300", "--items", "30", "--dim", "4", "--steps", "20", "--seeds", "2"]
REPORT = {
    "report.md",
    "metrics.csv",
    "intervals.csv",
    "finals.csv",
    "summary.json",
    "study.json",
    "metrics.png",
    "reward_diversity.png",
    "preferences.png",
    "exposure.png",
}
#: ``recgym`` run as a script, the way the console entry point runs it.
COMMAND = [sys.executable, "-c", "import sys; from recgym.cli import main; sys.exit(main())"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """``recgym study`` at a small size with every policy: (exit code, out folder, stdout)."""
    out = tmp_path_factory.mktemp("cli") / "report"
    with pytest.MonkeyPatch.context() as patch:
        captured: list[str] = []
        patch.setattr(sys, "stdout", _Tee(captured))
        code = main(["study", *SMALL, "--out", str(out)])
    return code, out, "".join(captured)


class _Tee:
    """A stdout stand-in that keeps what is printed (module-scoped fixtures have no capsys)."""

    def __init__(self, sink: list[str]) -> None:
        self.sink = sink

    def write(self, text: str) -> int:
        self.sink.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def _environment() -> dict[str, str]:
    return {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"}


# ---------------------------------------------------------------------------- the study


def test_study_exits_zero_and_writes_every_file(study):
    code, out, _ = study
    assert code == 0
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == REPORT | {"histories"}
    assert {p.name for p in (out / "histories").iterdir()} == set(POLICIES)
    for name in POLICIES:
        for seed in (0, 1):
            assert History.load(out / "histories" / name / f"seed-{seed}.npz").policy == name
    for name in REPORT:
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_study_summary_json_parses_and_has_every_policy(study):
    _, out, _ = study
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["users"] == 300 and summary["config"]["seeds"] == 2
    assert summary["config"]["policies"] == list(POLICIES)
    assert list(summary["final"]) == list(POLICIES)
    for values in summary["final"].values():
        assert set(SUMMARY_COLUMNS) <= set(values)
    assert summary["provenance"]["recgym_version"] == __version__


def test_study_prints_its_settings_progress_and_the_summary_table(study):
    _, out, text = study
    lines = text.splitlines()
    assert lines[0] == (
        "recgym study: 300 users, 30 items, dim 4, alpha 1, 20 steps, 2 seeds (0, 1), "
        f"policies {', '.join(POLICIES)}"
    )
    for name in POLICIES:
        for seed in (0, 1):
            assert f"{name:>23} seed {seed}: 20 steps in " in text
    assert "final values: mean ± 95 % Student-t interval over 2 seeds" in lines
    header = next(line for line in lines if line.split()[:1] == ["policy"])
    assert header.split() == ["policy", *SUMMARY_COLUMNS]
    rows = [line.split()[0] for line in lines[lines.index(header) + 2 :]][: len(POLICIES)]
    assert rows == list(POLICIES)
    assert lines[-1] == (
        f"report written to {out}/ (report.md, summary.json, *.csv, *.png, histories/)"
    )


def test_the_noise_normalisation_alpha_and_record_options_reach_the_study(tmp_path, capsys):
    out = tmp_path / "options"
    options = ["--obs-std", "0.3", "--reward-std", "0", "--alpha", "0.5"]
    options += ["--normalization", "spectral", "--every", "5", "--seed", "7", "--seeds", "1"]
    argv = ["study", "--users", "40", "--items", "6", "--steps", "10", "--policies", "greedy"]
    assert main([*argv, *options, "--out", str(out)]) == 0
    config = json.loads((out / "summary.json").read_text())["config"]
    assert (config["obs_std"], config["reward_std"], config["alpha"]) == (0.3, 0.0, 0.5)
    assert (config["feature_normalization"], config["every"]) == ("spectral", 5)
    assert (config["seed"], config["seeds"]) == (7, 1)
    run = History.load(out / "histories" / "greedy" / "seed-7.npz")
    assert run.steps.tolist() == [0, 5, 10]
    assert run.metadata["obs_std"] == 0.3 and run.metadata["feature_normalization"] == "spectral"
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| assimilation step α | 0.5 |" in report and "`spectral`" in report
    assert "--alpha 0.5 --normalization spectral --obs-std 0.3 --reward-std 0 --every 5" in report


def test_a_rerun_reuses_runs_and_recomputes_a_corrupted_one(study, capsys):
    _, out, _ = study
    damaged = out / "histories" / "softmax" / "seed-1.npz"
    damaged.write_bytes(b"garbage")
    argv = ["study", *SMALL, "--policies", "random,softmax", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert f"random seed 0: reused {out / 'histories' / 'random' / 'seed-0.npz'}" in text
    assert "softmax seed 1: recomputing: cannot load a History file" in text
    assert "softmax seed 1: 20 steps in " in text
    assert History.load(damaged).policy == "softmax"


def test_a_folder_of_another_configuration_is_refused_with_exit_2(study, capsys):
    _, out, _ = study
    assert main(["study", *SMALL, "--seed", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"recgym: error: output folder '{out}' holds a study of other settings")
    assert "seed: 0 there, 1 here" in err
    assert History.load(out / "histories" / "random" / "seed-0.npz").metadata["seed"] == 0


def test_an_empty_output_path_is_refused_before_anything_runs(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["study", "--out", ""]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "recgym: error: `out` must name a folder, got '' (an empty path would write into the "
        "current folder)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_permission_error_is_reported_as_such_with_exit_1(tmp_path, capsys, monkeypatch):
    out = tmp_path / "denied"
    small = ["--users", "20", "--items", "4", "--steps", "2", "--seeds", "1"]
    assert main(["study", *small, "--policies", "random", "--out", str(out)]) == 0
    target = out / "histories" / "random" / "seed-0.npz"
    data = target.read_bytes()

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(History, "load", staticmethod(denied))
    capsys.readouterr()
    assert main(["study", *small, "--policies", "random", "--out", str(out)]) == 1
    assert capsys.readouterr().err == (
        f"recgym: error: permission denied: '{target}' (recgym reports a file it may not read "
        "or write and never overwrites it; fix the permissions or choose another --out)\n"
    )
    assert target.read_bytes() == data


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="chmod does not stop root from reading a file",
)
def test_an_unreadable_history_is_reported_not_overwritten(tmp_path):
    out = tmp_path / "chmod"
    argv = ["study", "--users", "20", "--items", "4", "--steps", "2", "--seeds", "1"]
    argv += ["--policies", "random", "--out", str(out)]
    assert main(argv) == 0
    target = out / "histories" / "random" / "seed-0.npz"
    data = target.read_bytes()
    target.chmod(0)
    try:
        result = subprocess.run(
            [*COMMAND, *argv], capture_output=True, text=True, env=_environment(), timeout=120
        )
    finally:
        target.chmod(0o644)
    assert result.returncode == 1
    assert result.stderr.startswith(f"recgym: error: permission denied: '{target}'")
    assert target.read_bytes() == data


def test_an_output_path_that_is_a_file_is_an_error(tmp_path, capsys):
    path = tmp_path / "taken"
    path.write_text("")
    argv = ["study", "--users", "20", "--items", "4", "--steps", "2", "--out", str(path)]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"recgym: error: output folder '{path}' is a file, not a folder: choose another --out\n"
    )


def test_progress_bars_only_on_a_terminal_or_when_asked(tmp_path, capsys):
    argv = ["study", "--users", "20", "--items", "4", "--steps", "2", "--seeds", "1"]
    argv += ["--policies", "random,greedy"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert capsys.readouterr().err == ""  # not a terminal: no bar
    assert main([*argv, "--progress", "--out", str(tmp_path / "b")]) == 0
    assert "recgym study: 100%" in capsys.readouterr().err


# -------------------------------------------------------------------- pipes and signals


def test_a_reader_that_goes_away_ends_the_study_quietly(tmp_path):
    # recgym study | head -1: the second line meets a closed pipe.
    out = tmp_path / "piped"
    argv = ["study", "--users", "300", "--items", "10", "--steps", "10", "--seeds", "2"]
    process = subprocess.Popen(
        [*COMMAND, *argv, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_environment(),
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    process.stdout.close()  # the reader is gone
    _, stderr = process.communicate(timeout=120)
    assert first.startswith(b"recgym study: 300 users")
    assert process.returncode == 141  # 128 + SIGPIPE, as a command killed by SIGPIPE
    assert stderr == b""  # no traceback, no "Exception ignored" from the final flush


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path):
    out = tmp_path / "interrupted"
    argv = ["study", "--users", "3000", "--items", "20", "--steps", "80", "--seeds", "3"]
    process = subprocess.Popen(
        [*COMMAND, *argv, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_environment(),
    )
    deadline = time.monotonic() + 60
    while not (out / "study.json").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.decode().splitlines() == [
        f"recgym: interrupted; the finished runs are saved in {out}/histories, and the same "
        "command resumes from them"
    ]


def test_ctrl_c_in_any_command_exits_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("recgym.cli._demo", interrupted)
    assert main(["demo"]) == 130
    assert capsys.readouterr().err == "recgym: interrupted\n"


# ------------------------------------------------------------------ help and arguments


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--users", "0"], "`users` must be a positive integer, got 0"),
        (["--steps", "-1"], "`steps` must be a positive integer, got -1"),
        (["--items", "0"], "`items` must be a positive integer, got 0"),
        (["--seed", "-5"], "`seed` must be a non-negative integer, got -5"),
        (["--seeds", "0"], "`seeds` must be a positive integer, got 0"),
        (["--reward-std", "-1"], "`reward_std` must be a non-negative finite float, got -1.0"),
        (
            ["--policies", "nope"],
            f"`policies` must hold names from {sorted(POLICIES)}, got 'nope'",
        ),
        (
            ["--policies", "greedy, ,nope"],
            f"`policies` must hold names from {sorted(POLICIES)}, got 'nope'",
        ),
        (["--policies", ","], "`policies` must name at least one policy, got none"),
    ],
)
def test_bad_values_exit_with_code_2_and_name_the_option(option, message, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["study", *option, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"recgym: error: {message}\n"
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["study", "--users", "abc"], "argument --users: invalid int value: 'abc'"),
        (["study", "--steps", "1.5"], "argument --steps: invalid int value: '1.5'"),
        (["study", "--colour", "red"], "unrecognized arguments: --colour red"),
        (["study", "--normalization", "l2"], "argument --normalization: invalid choice: 'l2'"),
        (["nope"], "argument COMMAND: invalid choice: 'nope'"),
    ],
)
def test_argument_errors_exit_with_code_2(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("usage: recgym")


def test_bare_recgym_prints_the_help_and_exits_0(capsys):
    assert main([]) == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: recgym")
    assert "demo" in text and "study" in text and "--version" in text


def test_bare_recgym_as_a_process_exits_0():
    result = subprocess.run(COMMAND, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and result.stdout.startswith("usage: recgym")
    assert result.stderr == ""


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"recgym {__version__}\n"


def test_study_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as info:
        main(["study", "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # undo the line wrapping
    for option in (
        "--users",
        "--items",
        "--dim",
        "--steps",
        "--policies",
        "--seed",
        "--seeds",
        "--alpha",
        "--normalization",
        "--obs-std",
        "--reward-std",
        "--every",
        "--out",
    ):
        assert option in text
    assert "--progress, --no-progress" in text
    assert "(default 10000)" in text and "(default 200)" in text and "(default 3;" in text
    assert f"(default: all of {', '.join(POLICIES)})" in text
    for name in ("report.md", "summary.json", "95 % confidence intervals", "refused"):
        assert name in text


def test_demo_runs(capsys):
    assert main(["demo", "--episodes", "2", "--items", "7"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "RECEnv-v0: 7 items, 100 users"
    assert [line.split(":")[0] for line in lines[1:]] == ["episode 0", "episode 1"]


def test_the_module_runs_as_a_script():
    result = subprocess.run(
        [sys.executable, "-m", "recgym.cli", "demo", "--episodes", "1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("RECEnv-v0: 100 items")
