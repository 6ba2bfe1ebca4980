"""run_study(): the report folder, the report's content, resuming by configuration, the folder."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import struct
import sys

import numpy as np
import pytest

from recgym import __version__
from recgym.population.history import History
from recgym.population.metrics import DEFAULT_METRICS, METRICS
from recgym.population.policies import POLICIES
from recgym.population.report import format_estimate
from recgym.population.simulation import simulate
from recgym.population.study import (
    MANIFEST,
    SUMMARY_COLUMNS,
    StudyConfig,
    StudyFolderError,
    run_study,
    summary_table,
)

SMALL = {"users": 200, "items": 20, "dim": 3, "steps": 12, "every": 3}
THREE = ("random", "greedy", "mass_media")
FIGURES = ("metrics.png", "reward_diversity.png", "preferences.png", "exposure.png")
TABLES = ("metrics.csv", "intervals.csv", "finals.csv", "summary.json", "report.md", MANIFEST)
LOCK = ".recgym-study.lock"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _strict_json(text: str) -> dict:
    def reject(constant: str) -> None:
        raise AssertionError(f"summary.json holds the non-JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


def _history_files(folder, policies, seeds) -> set[str]:
    return {f"histories/{name}/seed-{seed}.npz" for name in policies for seed in seeds}


def _files(folder) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def no_figures(monkeypatch):
    """Hide matplotlib: run_study skips its figures (faster, for tests about other files)."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One small study, three policies, two seeds: (config, out, summaries, log text)."""
    config = StudyConfig(**SMALL, policies=THREE, seeds=2)
    out = tmp_path_factory.mktemp("study") / "out"
    log = io.StringIO()
    summaries = run_study(config, out, log=log)
    return config, out, summaries, log.getvalue()


# --------------------------------------------------------------------------- the files


def test_the_report_folder_holds_every_promised_file(report):
    _config, out, summaries, _ = report
    files = set(_files(out))
    assert files == {*TABLES, *FIGURES, LOCK} | _history_files(out, THREE, (0, 1))
    assert list(summaries) == list(THREE)


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_is_a_real_png(report, name):
    _, out, _, _ = report
    width, height = _png_size(out / name)
    assert width >= 500 and height >= 400
    assert (out / name).stat().st_size > 30_000  # drawn, not an empty canvas


def test_each_saved_run_records_its_whole_configuration(report):
    config, out, summaries, _ = report
    for name, summary in summaries.items():
        for seed, history in zip((0, 1), summary.histories):
            loaded = History.load(out / "histories" / name / f"seed-{seed}.npz")
            assert loaded == history
            assert loaded.policy == name
            assert loaded.metadata["seed"] == seed == loaded.metadata["random_state"]
            assert loaded.metadata["study"] == config.identity()
            assert loaded.metadata["study"]["recgym_version"] == __version__
            assert loaded.metadata["recgym_version"] == __version__
            assert loaded.metadata["policy_parameters"] == config.policy_parameters(name)
            assert loaded.metadata["seconds"] > 0


def test_the_policies_of_one_seed_share_a_population_and_seeds_differ(report):
    _, _, summaries, _ = report
    first = [summary.histories[0].initial_states for summary in summaries.values()]
    second = [summary.histories[1].initial_states for summary in summaries.values()]
    for states in first[1:]:
        np.testing.assert_array_equal(states, first[0])
    assert not np.array_equal(first[0], second[0])


def test_summary_json_carries_the_provenance_settings_and_intervals(report):
    config, out, summaries, _ = report
    summary = _strict_json((out / "summary.json").read_text())
    assert summary["provenance"]["recgym_version"] == __version__
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", summary["provenance"]["date"])
    assert summary["config"] == {**vars(config), "policies": list(THREE)}
    assert summary["seeds"] == [0, 1] and summary["confidence"] == 0.95
    assert summary["command"] == config.command()
    assert summary["policy_parameters"]["greedy"] == config.policy_parameters("greedy")
    for name, result in summaries.items():
        for metric in SUMMARY_COLUMNS:
            entry = summary["final"][name][metric]
            mean, low, high = result.final_interval(metric)
            assert entry["mean"] == pytest.approx(mean)
            assert entry["ci_low"] == pytest.approx(low) and entry["ci_high"] == pytest.approx(high)
            assert entry["per_seed"] == pytest.approx(result.final[metric].tolist())
    assert summary["final"]["random"]["reward"]["per_seed"]  # every final value
    assert json.loads((out / MANIFEST).read_text())["identity"] == config.identity()


def test_metrics_csv_has_one_row_per_policy_seed_and_step(report):
    _, out, summaries, _ = report
    with open(out / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:3] == ["policy", "seed", "step"]
    steps = summaries["random"].steps.tolist()
    assert len(rows) == len(THREE) * 2 * len(steps)
    for row in rows:
        summary = summaries[row["policy"]]
        seed = int(row["seed"])
        k = steps.index(int(row["step"]))
        for name in DEFAULT_METRICS:
            value, expected = float(row[name]), summary.values[name][seed, k]
            assert value == expected or (math.isnan(value) and math.isnan(expected))


def test_intervals_csv_is_the_tidy_table_of_the_summaries(report):
    _, out, summaries, _ = report
    with open(out / "intervals.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = [row for summary in summaries.values() for row in summary.rows()]
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected):
        assert (row["policy"], row["metric"], int(row["step"])) == (
            want["policy"],
            want["metric"],
            want["step"],
        )
        for key in ("mean", "ci_low", "ci_high"):
            value = float(row[key])
            assert value == want[key] or (math.isnan(value) and math.isnan(want[key]))


# -------------------------------------------------------------------------- the report


def test_the_report_states_every_setting_and_the_provenance(report):
    config, out, _, _ = report
    text = (out / "report.md").read_text(encoding="utf-8")
    for line in (
        "| users | 200 |",
        "| items | 20 |",
        "| feature dimension d | 3 |",
        "| assimilation step α | 1 |",
        "| horizon | 12 steps",
        "| record interval | metrics every 3 steps",
        "`row`: every user and item vector has unit length",
        "| observation noise (`obs_std`) | 0.1:",
        "`⟨s, v⟩ + 0.1·ξ`",
        "| seeds | 2: 0, 1 (base seed 0",
        "95 % Student t over seeds",
        f"by recgym {__version__}",
        config.command(),
    ):
        assert line in text, line
    assert re.search(r"Generated on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)
    assert "| `epsilon_greedy` |" not in text  # only the study's policies
    assert "| `greedy` | Recommend the item of highest estimated affinity" in text
    assert "`max_chunk_bytes=67108864`" in text


def test_the_report_lists_each_policys_parameters():
    config = StudyConfig(**SMALL, policies=("exposure_capped", "softmax"), seeds=1)
    text = _report_text(config)
    assert "`max_share=0.0625`" in text  # 1.25 / 20 items
    assert "`temperature=0.1`" in text


def _report_text(config) -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "matplotlib", None)
        patch.setitem(sys.modules, "matplotlib.figure", None)
        run_study(config, os.path.join(folder, "out"))
        with open(os.path.join(folder, "out", "report.md"), encoding="utf-8") as handle:
            return handle.read()


def test_the_results_table_gives_means_and_intervals_at_their_precision(report):
    _, out, summaries, _ = report
    text = (out / "report.md").read_text(encoding="utf-8")
    header = "| policy | " + " | ".join(SUMMARY_COLUMNS) + " |"
    assert header in text
    lines = text.splitlines()
    start = lines.index(header)
    for offset, (name, summary) in enumerate(summaries.items(), start=2):
        cells = [cell.strip() for cell in lines[start + offset].strip("|").split("|")]
        assert cells[0] == name
        for cell, metric in zip(cells[1:], SUMMARY_COLUMNS):
            assert cell == format_estimate(*summary.final_interval(metric))
    drift = format_estimate(*summaries["greedy"].final_interval("drift"))
    assert re.fullmatch(r"-?\d+(\.\d+)? ± \d+(\.\d+)?", drift)
    decimals = [len(part.split(".")[1]) if "." in part else 0 for part in drift.split(" ± ")]
    assert decimals[0] == decimals[1]  # the mean to the interval's decimal


def test_the_glossary_explains_every_metric_from_the_registry(report):
    _, out, _, _ = report
    text = (out / "report.md").read_text(encoding="utf-8")
    glossary = text[text.index("## Metric glossary") :]
    for name in DEFAULT_METRICS:
        metric = METRICS[name]
        entry = next(line for line in glossary.splitlines() if line.startswith(f"- **`{name}`**"))
        assert metric.description in entry and f"Unit: {metric.unit}." in entry
        for formula in re.findall(r"`[^`]+`", metric.definition):
            assert formula in entry


def test_the_report_shows_each_figure_with_a_caption_holding_the_settings(report):
    _, out, _, _ = report
    text = (out / "report.md").read_text(encoding="utf-8")
    for number, name in enumerate(FIGURES, start=1):
        assert re.search(rf"!\[[^\]]+\]\({re.escape(name)}\)", text), name
        caption = next(line for line in text.splitlines() if line.startswith(f"*Figure {number}.*"))
        assert "200 users, 20 items, d = 3, α = 1" in caption
        assert "2 seeds (0, 1)" in caption


def test_the_log_reports_each_run_and_the_summary_table(report):
    config, _, summaries, log = report
    for name in THREE:
        for seed in (0, 1):
            assert f"{name} seed {seed}: {config.steps} steps in " in log
    assert summary_table(summaries) in log


def test_summary_table_rows_and_intervals(report):
    _, _, summaries, _ = report
    lines = summary_table(summaries).splitlines()
    assert lines[0] == "final values: mean ± 95 % Student-t interval over 2 seeds"
    assert lines[1].split() == ["policy", *SUMMARY_COLUMNS]
    assert set(lines[2]) == {"-"}
    assert [line.split()[0] for line in lines[3:]] == list(THREE)
    assert len({len(line) for line in lines[1:]}) == 1  # aligned
    mass_media = lines[-1]
    expected = format_estimate(*summaries["mass_media"].final_interval("polarization"))
    assert expected in mass_media


def test_one_seed_prints_three_significant_digits_and_says_so(tmp_path, no_figures):
    config = StudyConfig(**SMALL, policies=("greedy",), seeds=1)
    log = io.StringIO()
    summaries = run_study(config, tmp_path / "one", log=log)
    assert "final values, one seed (no interval)" in log.getvalue()
    text = (tmp_path / "one" / "report.md").read_text(encoding="utf-8")
    assert "one seed: no interval" in text
    assert "Figures skipped: Plotting needs matplotlib" in text
    value = summaries["greedy"].final_interval("drift")[0]
    assert "| greedy | " in text and f"{value:.3g}" in text


# ------------------------------------------------------------------------ resuming


def _copy_study(source, target) -> None:
    for relative, data in _files(source).items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_a_rerun_reuses_every_run_and_gives_the_same_results(report, tmp_path, no_figures):
    config, out, summaries, _ = report
    folder = tmp_path / "again"
    _copy_study(out, folder)
    before = _files(folder)
    log = io.StringIO()
    rerun = run_study(config, folder, log=log)
    for name in THREE:
        for seed in (0, 1):
            path = folder / "histories" / name / f"seed-{seed}.npz"
            assert f"{name} seed {seed}: reused {path}" in log.getvalue()
    for name in THREE:
        np.testing.assert_array_equal(rerun[name].values["drift"], summaries[name].values["drift"])
    after = _files(folder)
    for name in _history_files(folder, THREE, (0, 1)):
        assert after[name] == before[name]


def test_more_seeds_and_fewer_policies_reuse_what_is_there(report, tmp_path, no_figures):
    _config, out, _, _ = report
    folder = tmp_path / "more"
    _copy_study(out, folder)
    log = io.StringIO()
    more = StudyConfig(**SMALL, policies=("greedy",), seeds=3)
    summaries = run_study(more, folder, log=log)
    text = log.getvalue()
    assert "greedy seed 0: reused" in text and "greedy seed 1: reused" in text
    assert f"greedy seed 2: {SMALL['steps']} steps in " in text
    assert summaries["greedy"].seeds == (0, 1, 2)
    assert "random" not in text  # not asked for: left alone
    assert (folder / "histories" / "random" / "seed-0.npz").exists()


def test_another_policys_file_under_a_policys_name_is_recomputed_not_reused(
    report, tmp_path, no_figures
):
    config, out, summaries, _ = report
    folder = tmp_path / "swapped"
    _copy_study(out, folder)
    target = folder / "histories" / "random" / "seed-0.npz"
    target.write_bytes((folder / "histories" / "greedy" / "seed-0.npz").read_bytes())
    log = io.StringIO()
    rerun = run_study(config, folder, log=log)
    assert (
        f"random seed 0: recomputing: {target} holds another run "
        "(policy 'greedy', not 'random'; policy parameters {\"slate_size\": 1, "
        "\"max_chunk_bytes\": 67108864}, not {\"slate_size\": 1})"
    ) in log.getvalue()
    assert History.load(target).policy == "random"
    np.testing.assert_array_equal(
        rerun["random"].values["drift"], summaries["random"].values["drift"]
    )


def test_a_run_of_another_seed_under_a_seeds_name_is_recomputed(report, tmp_path, no_figures):
    config, out, _, _ = report
    folder = tmp_path / "seed-swapped"
    _copy_study(out, folder)
    target = folder / "histories" / "greedy" / "seed-0.npz"
    target.write_bytes((folder / "histories" / "greedy" / "seed-1.npz").read_bytes())
    log = io.StringIO()
    run_study(config, folder, log=log)
    assert f"greedy seed 0: recomputing: {target} holds another run (run seed 1, not 0)" in (
        log.getvalue()
    )
    assert History.load(target).metadata["seed"] == 0


def test_a_damaged_run_is_recomputed(report, tmp_path, no_figures):
    config, out, _, _ = report
    folder = tmp_path / "damaged"
    _copy_study(out, folder)
    target = folder / "histories" / "greedy" / "seed-1.npz"
    target.write_bytes(target.read_bytes()[:500])
    log = io.StringIO()
    run_study(config, folder, log=log)
    assert f"greedy seed 1: recomputing: cannot load a History file from '{target}'" in (
        log.getvalue()
    )
    assert History.load(target).metadata["seed"] == 1


@pytest.mark.parametrize(
    ("change", "difference"),
    [
        ({"seed": 1}, "seed: 0 there, 1 here"),
        ({"users": 300}, "users: 200 there, 300 here"),
        ({"alpha": 0.5}, "alpha: 1.0 there, 0.5 here"),
        ({"obs_std": 0.0}, "obs_std: 0.1 there, 0.0 here"),
        ({"every": 4}, "every: 3 there, 4 here"),
        ({"feature_normalization": "spectral"}, "feature_normalization: 'row' there, 'spectral'"),
    ],
)
def test_a_folder_of_other_settings_is_refused_and_left_untouched(
    report, tmp_path, no_figures, change, difference
):
    _, out, _, _ = report
    folder = tmp_path / "other"
    _copy_study(out, folder)
    before = _files(folder)
    other = StudyConfig(**{**SMALL, **change}, policies=THREE, seeds=2)
    with pytest.raises(StudyFolderError) as info:
        run_study(other, folder)
    message = str(info.value)
    assert message.startswith(f"output folder '{folder}' holds a study of other settings (")
    assert difference in message
    assert message.endswith(
        "); recgym never mixes results of different settings: choose another --out, or "
        "delete the folder to start over"
    )
    assert _files(folder) == before  # nothing replaced, nothing added


def test_seed_1_into_a_seed_0_folder_keeps_the_seed_0_results(report, tmp_path, no_figures):
    _, out, _, _ = report
    folder = tmp_path / "seed0"
    _copy_study(out, folder)
    before = _files(folder)
    with pytest.raises(StudyFolderError, match="seed: 0 there, 1 here"):
        run_study(StudyConfig(**SMALL, policies=THREE, seed=1, seeds=1), folder)
    assert _files(folder) == before


def test_a_non_empty_folder_without_a_study_is_refused(tmp_path, no_figures):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious")
    with pytest.raises(StudyFolderError) as info:
        run_study(StudyConfig(**SMALL, policies=("random",), seeds=1), folder)
    assert str(info.value) == (
        f"output folder '{folder}' is not empty (thesis.tex) and holds no recgym study "
        "(no study.json): choose a new or empty folder with --out"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.tex"]


def test_a_study_of_an_earlier_recgym_without_manifest_is_refused(tmp_path, no_figures):
    folder = tmp_path / "old"
    (folder / "histories").mkdir(parents=True)
    (folder / "summary.json").write_text("{}")
    (folder / "histories" / "random.npz").write_bytes(b"PK")
    with pytest.raises(StudyFolderError) as info:
        run_study(StudyConfig(**SMALL, policies=("random",), seeds=1), folder)
    assert str(info.value) == (
        f"output folder '{folder}' holds a study written by an earlier recgym (no "
        "study.json), whose settings cannot be checked: choose another --out, or delete the "
        "folder to start over"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["histories", "summary.json"]


def test_a_damaged_manifest_is_refused(report, tmp_path, no_figures):
    _, out, _, _ = report
    folder = tmp_path / "manifest"
    _copy_study(out, folder)
    (folder / MANIFEST).write_text("{not json")
    with pytest.raises(StudyFolderError, match=r"has a damaged study\.json \("):
        run_study(StudyConfig(**SMALL, policies=THREE, seeds=2), folder)


def test_stale_temporary_files_of_a_killed_write_are_removed(report, tmp_path, no_figures):
    config, out, _, _ = report
    folder = tmp_path / "stale"
    _copy_study(out, folder)
    stale = [
        folder / ".summary.json.0123456789abcdef0123456789abcdef.tmp",
        folder / "histories" / "random" / ".seed-0.npz.fedcba9876543210fedcba9876543210.tmp",
    ]
    for path in stale:
        path.write_bytes(b"half a file")
    kept = folder / ".my-notes.tmp"  # not a name recgym writes: left alone
    kept.write_text("mine")
    log = io.StringIO()
    run_study(config, folder, log=log)
    assert not any(path.exists() for path in stale)
    assert kept.read_text() == "mine"
    assert (
        "removed 2 temporary file(s) of an interrupted write: "
        ".summary.json.0123456789abcdef0123456789abcdef.tmp, "
        "histories/random/.seed-0.npz.fedcba9876543210fedcba9876543210.tmp"
    ) in log.getvalue()


def test_a_folder_holding_only_stale_temporary_files_is_a_new_study(tmp_path, no_figures):
    folder = tmp_path / "fresh"
    folder.mkdir()
    (folder / ".study.json.0123456789abcdef0123456789abcdef.tmp").write_text("{")
    run_study(StudyConfig(**SMALL, policies=("random",), seeds=1), folder)
    assert (folder / MANIFEST).is_file()
    assert not list(folder.glob(".study.json.*.tmp"))


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="chmod does not stop root from reading a file",
)
def test_an_unreadable_run_is_reported_never_recomputed(report, tmp_path, no_figures):
    config, out, _, _ = report
    folder = tmp_path / "unreadable"
    _copy_study(out, folder)
    target = folder / "histories" / "greedy" / "seed-0.npz"
    data = target.read_bytes()
    target.chmod(0)
    try:
        with pytest.raises(PermissionError):
            run_study(config, folder)
    finally:
        target.chmod(0o644)
    assert target.read_bytes() == data


def test_a_permission_error_is_raised_as_such_not_taken_for_damage(
    report, tmp_path, monkeypatch, no_figures
):
    # The same as above for any user (root included): History.load meets EACCES.
    config, out, _, _ = report
    folder = tmp_path / "denied"
    _copy_study(out, folder)
    target = folder / "histories" / "greedy" / "seed-0.npz"
    data = target.read_bytes()
    load = History.load

    def denied(path):
        if str(path) == str(target):
            raise PermissionError(13, "Permission denied", str(path))
        return load(path)

    monkeypatch.setattr(History, "load", staticmethod(denied))
    with pytest.raises(PermissionError):
        run_study(config, folder)
    assert target.read_bytes() == data


def test_a_running_study_holds_the_folder(tmp_path, no_figures):
    fcntl = pytest.importorskip("fcntl")
    folder = tmp_path / "busy"
    config = StudyConfig(**SMALL, policies=("random",), seeds=1)
    run_study(config, folder)
    with open(folder / LOCK, "rb+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(StudyFolderError) as info:
            run_study(config, folder)
    assert str(info.value) == (
        f"output folder '{folder}' is in use by another recgym study: wait for it to finish, "
        "or choose another --out"
    )
    run_study(config, folder)  # the lock is free again


def test_an_empty_output_path_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"^`out` must name a folder, got ''"):
        run_study(StudyConfig(**SMALL, policies=("random",), seeds=1), "")
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------------- progress


def test_no_progress_bar_off_a_terminal_and_one_bar_when_asked(tmp_path, capsys, no_figures):
    config = StudyConfig(**SMALL, policies=("random", "greedy"), seeds=1)
    run_study(config, tmp_path / "quiet")
    assert capsys.readouterr().err == ""  # stderr is not a terminal here
    run_study(config, tmp_path / "loud", progress=True)
    err = capsys.readouterr().err
    assert "recgym study: 100%" in err and "2/2" in err and "run/s" in err


# ------------------------------------------------------------------- the configuration


def test_the_default_study_is_the_documented_one():
    config = StudyConfig()
    assert (config.users, config.items, config.dim, config.steps) == (10_000, 200, 8, 100)
    assert (config.seed, config.seeds, config.seed_list) == (0, 3, (0, 1, 2))
    assert (config.alpha, config.feature_normalization, config.every) == (1.0, "row", 2)
    assert (config.obs_std, config.reward_std) == (0.1, 0.1)
    assert config.policies == tuple(POLICIES)
    env = config.make_env()
    assert env.n_users == 10_000
    assert env.config.feature_normalization == "row"
    np.testing.assert_allclose(np.linalg.norm(env.item_features, axis=1), 1.0)


def test_the_study_population_is_the_plain_environment_of_its_seed():
    from recgym.population import PopulationEnv

    config = StudyConfig(**SMALL)
    plain = PopulationEnv(
        n_users=200,
        n_items=20,
        user_feature_dim=3,
        item_feature_dim=3,
        step_per_episode=12,
        obs_std=0.1,
        reward_std=0.1,
        feature_normalization="row",
        random_state=4,
    )
    ours = simulate(config.make_env(4), "softmax", seed=4)
    theirs = simulate(plain, "softmax", seed=4)
    np.testing.assert_array_equal(ours.final_states, theirs.final_states)
    np.testing.assert_array_equal(ours.rewards, theirs.rewards)


def test_alpha_zero_leaves_preferences_where_they_are():
    config = StudyConfig(**SMALL, alpha=0.0)
    history = simulate(config.make_env(0), "greedy", seed=0, metrics=["drift"])
    assert history.metrics["drift"][-1] < 1e-12  # normalising a unit vector: rounding only
    moved = simulate(StudyConfig(**SMALL).make_env(0), "greedy", seed=0, metrics=["drift"])
    assert moved.metrics["drift"][-1] > 0.1


def test_former_policy_names_are_replaced_by_the_registry_names(tmp_path, no_figures):
    config = StudyConfig(**{**SMALL, "steps": 4}, policies=("cf", "random"), seeds=1)
    assert config.policies == ("collaborative_filtering", "random")
    log = io.StringIO()
    summaries = run_study(config, tmp_path, log=log)
    assert list(summaries) == ["collaborative_filtering", "random"]
    assert (tmp_path / "histories" / "collaborative_filtering" / "seed-0.npz").exists()
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("collaborative_filtering seed 0: 4 steps in ")
    assert lines[1].startswith("                 random seed 0: 4 steps in ")
    table = summary_table(summaries).splitlines()[1:]
    assert len({len(line) for line in table}) == 1
    assert table[2].startswith("collaborative_filtering ")
    with pytest.raises(
        ValueError, match="`policies` must name each policy once, got 'oracle_greedy'"
    ):
        StudyConfig(policies=("oracle", "oracle_greedy"))


def test_the_exposure_cap_binds_in_a_study(tmp_path, no_figures):
    # 25 % above the fair share per item and step: ceil(1.25 / 30 * 300) = 13 users.
    config = StudyConfig(
        users=300, items=30, dim=2, steps=10, policies=("greedy", "exposure_capped"), seeds=1
    )
    assert config.policy_arguments("exposure_capped") == {"max_share": 1.25 / 30}
    assert config.policy_parameters("exposure_capped")["max_share"] == 1.25 / 30
    assert config.policy_arguments("greedy") == {}
    summaries = run_study(config, tmp_path)
    greedy = summaries["greedy"].histories[0]
    capped = summaries["exposure_capped"].histories[0]
    assert greedy.exposure.max() > 13 * config.steps
    assert capped.exposure.max() <= 13 * config.steps
    assert capped.final()["gini"] < greedy.final()["gini"]


def test_figures_are_skipped_with_a_message_when_matplotlib_is_missing(tmp_path, no_figures):
    log = io.StringIO()
    run_study(StudyConfig(**SMALL, policies=("random",), seeds=1), tmp_path, log=log)
    assert "figures skipped: Plotting needs matplotlib" in log.getvalue()
    assert {p.name for p in tmp_path.iterdir()} == {*TABLES, LOCK, "histories"}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"users": 0}, ValueError, "`users` must be a positive integer, got 0"),
        ({"items": -3}, ValueError, "`items` must be a positive integer, got -3"),
        ({"dim": 2.0}, TypeError, "`dim` must be a positive integer, got 2.0"),
        ({"steps": 0}, ValueError, "`steps` must be a positive integer, got 0"),
        ({"every": 0}, ValueError, "`every` must be a positive integer, got 0"),
        ({"seeds": 0}, ValueError, "`seeds` must be a positive integer, got 0"),
        ({"seed": -1}, ValueError, "`seed` must be a non-negative integer, got -1"),
        ({"alpha": -1}, ValueError, "`alpha` must be a non-negative finite float, got -1.0"),
        (
            {"feature_normalization": "l2"},
            ValueError,
            "`feature_normalization` must be one of ['row', 'spectral'], got 'l2'",
        ),
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
