"""run_study(): the report folder, resuming from saved histories, the configuration."""

from __future__ import annotations

import csv
import io
import json
import math
import sys

import numpy as np
import pytest

from recgym.population.history import History
from recgym.population.policies import POLICIES
from recgym.population.study import SUMMARY_COLUMNS, StudyConfig, run_study, summary_table

SMALL = {"users": 200, "items": 20, "dim": 3, "steps": 12}
REPORT_FILES = {"metrics.csv", "summary.json", "metrics.png", "preferences.png", "exposure.png"}


def _strict_json(text: str) -> dict:
    def reject(constant: str) -> None:
        raise AssertionError(f"summary.json holds the non-JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


@pytest.fixture
def no_figures(monkeypatch):
    """Hide matplotlib: run_study skips its figures (faster, for tests about other files)."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One small study with three policies: (config, out folder, histories, log text)."""
    config = StudyConfig(**SMALL, policies=("random", "greedy", "mass_media"))
    out = tmp_path_factory.mktemp("study")
    log = io.StringIO()
    histories = run_study(config, out, log=log)
    return config, out, histories, log.getvalue()


def test_the_report_folder_holds_every_promised_file(report):
    config, out, histories, _ = report
    assert {p.name for p in out.iterdir()} == REPORT_FILES | {"histories"}
    assert {p.name for p in (out / "histories").iterdir()} == {
        f"{name}.npz" for name in config.policies
    }
    for name in ("metrics.png", "preferences.png", "exposure.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(histories) == list(config.policies)


def test_saved_histories_load_equal_to_the_returned_ones(report):
    _, out, histories, _ = report
    for name, history in histories.items():
        loaded = History.load(out / "histories" / f"{name}.npz")
        assert loaded == history
        assert loaded.policy == name
        assert loaded.metadata["study"]["users"] == SMALL["users"]
        assert loaded.metadata["seconds"] > 0


def test_every_policy_starts_from_the_same_population(report):
    _, _, histories, _ = report
    first = next(iter(histories.values()))
    for history in histories.values():
        np.testing.assert_array_equal(history.initial_states, first.initial_states)


def test_summary_json_is_strict_json_with_every_policy(report):
    config, out, histories, _ = report
    summary = _strict_json((out / "summary.json").read_text())
    assert summary["config"] == {**vars(config), "policies": list(config.policies)}
    assert list(summary["final"]) == list(config.policies)
    assert list(summary["seconds"]) == list(config.policies)
    for name, history in histories.items():
        final = history.final()
        assert summary["final"][name] == pytest.approx(final)
        assert set(SUMMARY_COLUMNS) <= set(summary["final"][name])


def test_metrics_csv_has_one_row_per_policy_and_recorded_step(report):
    config, out, histories, _ = report
    with open(out / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == sum(len(h.steps) for h in histories.values())
    assert [row["policy"] for row in rows if row["step"] == "0"] == list(config.policies)
    for row in rows:
        history = histories[row["policy"]]
        k = history.steps.tolist().index(int(row["step"]))
        for name, series in history.metrics.items():
            value = float(row[name])
            assert value == series[k] or (math.isnan(value) and math.isnan(series[k]))


def test_the_log_reports_each_policy_and_the_summary_table(report):
    config, _, histories, log = report
    for name in config.policies:
        assert f"{name}: {config.steps} steps in " in log
    assert summary_table(histories) in log


def test_summary_table_has_a_row_per_policy_and_the_headline_columns(report):
    _, _, histories, _ = report
    lines = summary_table(histories).splitlines()
    assert lines[0].split() == ["policy", *SUMMARY_COLUMNS]
    assert set(lines[1]) == {"-"}
    assert [line.split()[0] for line in lines[2:]] == list(histories)
    mass_media = dict(zip(SUMMARY_COLUMNS, map(float, lines[-1].split()[1:])))
    assert mass_media["polarization"] == pytest.approx(
        histories["mass_media"].final()["polarization"], abs=5e-5
    )


def test_a_rerun_reuses_saved_histories_and_recomputes_damaged_ones(report, tmp_path):
    config, out, histories, _ = report
    folder = tmp_path / "again"
    (folder / "histories").mkdir(parents=True)
    for name in config.policies:
        source = out / "histories" / f"{name}.npz"
        (folder / "histories" / source.name).write_bytes(source.read_bytes())
    damaged = folder / "histories" / "greedy.npz"
    damaged.write_bytes(damaged.read_bytes()[:500])
    log = io.StringIO()
    rerun = run_study(config, folder, log=log)
    text = log.getvalue()
    assert f"random: reused {folder / 'histories' / 'random.npz'}" in text
    assert "mass_media: reused" in text
    assert f"greedy: {config.steps} steps in " in text
    assert rerun["random"] == histories["random"]
    assert rerun["mass_media"] == histories["mass_media"]
    recomputed = History.load(damaged)
    assert _without_timing(recomputed) == _without_timing(histories["greedy"])
    assert _without_timing(rerun["greedy"]) == _without_timing(histories["greedy"])
    assert {p.name for p in folder.iterdir()} == REPORT_FILES | {"histories"}


def _without_timing(history: History) -> History:
    metadata = {k: v for k, v in history.metadata.items() if k != "seconds"}
    return History(**{**vars(history), "metadata": metadata})


def test_histories_of_other_settings_are_not_reused(report, tmp_path, no_figures):
    _, out, _, _ = report
    (tmp_path / "histories").mkdir()
    source = out / "histories" / "random.npz"
    (tmp_path / "histories" / "random.npz").write_bytes(source.read_bytes())
    other = StudyConfig(**{**SMALL, "seed": 1}, policies=("random",))
    log = io.StringIO()
    run_study(other, tmp_path, log=log)
    assert "reused" not in log.getvalue()
    assert History.load(tmp_path / "histories" / "random.npz").metadata["study"]["seed"] == 1


def test_a_foreign_file_in_the_histories_folder_is_replaced(tmp_path, no_figures):
    (tmp_path / "histories").mkdir()
    (tmp_path / "histories" / "random.npz").write_text("not a history")
    config = StudyConfig(**SMALL, policies=("random",))
    run_study(config, tmp_path)
    assert History.load(tmp_path / "histories" / "random.npz").policy == "random"


def test_the_exposure_cap_binds_in_a_study(tmp_path, no_figures):
    # 25 % above the fair share per item and step: ceil(1.25 / 30 * 300) = 13 users.
    config = StudyConfig(
        users=300, items=30, dim=2, steps=10, policies=("greedy", "exposure_capped")
    )
    assert config.policy_arguments("exposure_capped") == {"max_share": 1.25 / 30}
    assert config.policy_arguments("greedy") == {}
    histories = run_study(config, tmp_path)
    assert histories["greedy"].exposure.max() > 13 * config.steps
    assert histories["exposure_capped"].exposure.max() <= 13 * config.steps
    assert histories["exposure_capped"].final()["gini"] < histories["greedy"].final()["gini"]


def test_figures_are_skipped_with_a_message_when_matplotlib_is_missing(tmp_path, no_figures):
    log = io.StringIO()
    run_study(StudyConfig(**SMALL, policies=("random",)), tmp_path, log=log)
    assert "figures skipped: Plotting needs matplotlib" in log.getvalue()
    assert {p.name for p in tmp_path.iterdir()} == {"metrics.csv", "summary.json", "histories"}


def test_the_default_study_is_the_documented_one():
    config = StudyConfig()
    assert (config.users, config.items, config.dim, config.steps) == (10_000, 200, 8, 100)
    assert config.policies == tuple(POLICIES)
    env = config.make_env()
    assert env.n_users == 10_000
    assert env.config.feature_normalization == "row"
    np.testing.assert_allclose(np.linalg.norm(env.item_features, axis=1), 1.0)


def test_former_policy_names_are_replaced_by_the_registry_names(tmp_path, no_figures):
    config = StudyConfig(**{**SMALL, "steps": 4}, policies=("cf", "random"))
    assert config.policies == ("collaborative_filtering", "random")
    log = io.StringIO()
    histories = run_study(config, tmp_path, log=log)
    assert list(histories) == ["collaborative_filtering", "random"]
    assert histories["collaborative_filtering"].policy == "collaborative_filtering"
    assert (tmp_path / "histories" / "collaborative_filtering.npz").exists()
    # The name column widens to the longest name, so the table stays aligned.
    lines = log.getvalue().splitlines()
    assert "collaborative_filtering: 4 steps in " in lines[0]
    assert lines[1].startswith("                 random: 4 steps in ")
    table = summary_table(histories).splitlines()
    assert len({len(line) for line in table}) == 1
    assert table[0].startswith(f"{'policy':>23} ")
    assert table[2].startswith("collaborative_filtering ")
    with pytest.raises(
        ValueError, match="`policies` must name each policy once, got 'oracle_greedy'"
    ):
        StudyConfig(policies=("oracle", "oracle_greedy"))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"users": 0}, ValueError, "`users` must be a positive integer, got 0"),
        ({"items": -3}, ValueError, "`items` must be a positive integer, got -3"),
        ({"dim": 2.0}, TypeError, "`dim` must be a positive integer, got 2.0"),
        ({"steps": 0}, ValueError, "`steps` must be a positive integer, got 0"),
        ({"points": 0}, ValueError, "`points` must be a positive integer, got 0"),
        ({"seed": -1}, ValueError, "`seed` must be a non-negative integer, got -1"),
        ({"policies": ()}, ValueError, "`policies` must name at least one policy, got none"),
        (
            {"policies": ("greedy", "nope")},
            ValueError,
            f"`policies` must hold names from {sorted(POLICIES)}, got 'nope'",
        ),
    ],
)
def test_bad_configurations_are_rejected_with_pinned_messages(kwargs, error, message):
    with pytest.raises(error) as info:
        StudyConfig(**kwargs)
    assert str(info.value) == message
