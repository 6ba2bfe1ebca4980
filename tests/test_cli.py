"""The ``recgym`` command: ``recgym study`` end to end, its errors and help; ``recgym demo``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from recgym.cli import main
from recgym.population.history import History
from recgym.population.policies import POLICIES
from recgym.population.study import SUMMARY_COLUMNS

SMALL = ["--users", "300", "--items", "30", "--dim", "4", "--steps", "20"]
REPORT = {"metrics.csv", "summary.json", "metrics.png", "preferences.png", "exposure.png"}


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


def test_study_exits_zero_and_writes_every_file(study):
    code, out, _ = study
    assert code == 0
    assert {p.name for p in out.iterdir()} == REPORT | {"histories"}
    assert {p.name for p in (out / "histories").iterdir()} == {f"{n}.npz" for n in POLICIES}
    for name in POLICIES:
        assert History.load(out / "histories" / f"{name}.npz").policy == name
    for name in ("metrics.png", "preferences.png", "exposure.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_study_summary_json_parses_and_has_every_policy(study):
    _, out, _ = study
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["users"] == 300
    assert summary["config"]["policies"] == list(POLICIES)
    assert list(summary["final"]) == list(POLICIES)
    for values in summary["final"].values():
        assert set(SUMMARY_COLUMNS) <= set(values)


def test_study_prints_its_settings_progress_and_the_summary_table(study):
    _, out, text = study
    lines = text.splitlines()
    assert lines[0] == (
        f"recgym study: 300 users, 30 items, dim 4, 20 steps, policies {', '.join(POLICIES)}"
    )
    for name in POLICIES:
        assert f"{name:>16}: 20 steps in " in text
    header = next(line for line in lines if line.split()[:1] == ["policy"])
    assert header.split() == ["policy", *SUMMARY_COLUMNS]
    rows = [line.split()[0] for line in lines[lines.index(header) + 2 :]][: len(POLICIES)]
    assert rows == list(POLICIES)
    assert lines[-1] == f"report written to {out}/ (metrics.csv, summary.json, *.png, histories/)"


def test_a_rerun_reuses_histories_and_recomputes_a_corrupted_one(study, capsys):
    _, out, _ = study
    damaged = out / "histories" / "softmax.npz"
    damaged.write_bytes(b"garbage")
    assert main(["study", *SMALL, "--policies", "random,softmax", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"random: reused {out / 'histories' / 'random.npz'}" in text
    assert "softmax: 20 steps in " in text
    assert History.load(damaged).policy == "softmax"


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--users", "0"], "`users` must be a positive integer, got 0"),
        (["--steps", "-1"], "`steps` must be a positive integer, got -1"),
        (["--items", "0"], "`items` must be a positive integer, got 0"),
        (["--seed", "-5"], "`seed` must be a non-negative integer, got -5"),
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
        (["nope"], "argument COMMAND: invalid choice: 'nope'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_argument_errors_exit_with_code_2(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("usage: recgym")


def test_an_output_path_that_is_a_file_is_an_error(tmp_path, capsys):
    path = tmp_path / "taken"
    path.write_text("")
    assert main(["study", "--users", "20", "--items", "4", "--steps", "2", "--out", str(path)])
    assert capsys.readouterr().err.startswith("recgym: error: ")


def test_study_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as info:
        main(["study", "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # undo the line wrapping
    for option in ("--users", "--items", "--dim", "--steps", "--policies", "--seed", "--out"):
        assert option in text
    assert "--progress, --no-progress" in text
    assert "(default 10000)" in text and "(default 200)" in text
    assert f"(default: all of {', '.join(POLICIES)})" in text
    for name in ("metrics.csv", "summary.json", "reused"):
        assert name in text


def test_top_level_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "demo" in text and "study" in text


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
