"""The presets: each paper's direction on the numbers, the result object, its folder, the CLI.

The direction of each claim is asserted on the numbers the runs produced — per seed, from
the curves — never on the result's own ``holds`` flag, which is tested separately
against an interval recomputed here. Every preset runs once at ``scale="small"`` with
three seeds (a module fixture); the ``paper`` scale runs only under ``-m slow``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import sys

import numpy as np
import pytest
from scipy.stats import t as student_t

from recgym import __version__
from recgym.cli import main
from recgym.presets import (
    PRESETS,
    Estimate,
    RankDiscountedChoice,
    Replication,
    ReplicationFolderError,
    replicate,
)
from recgym.presets.folder import FILES, MANIFEST
from recgym.presets.replication import CSV_COLUMNS

SEEDS = 3


@pytest.fixture(scope="module")
def replications() -> dict[str, Replication]:
    """Every preset at the small scale, three seeds."""
    return {name: replicate(name, seeds=SEEDS) for name in PRESETS}


def last(replication: Replication, panel: str, series: str) -> np.ndarray:
    """Each seed's last recorded value of a curve, ``(n_seeds,)``."""
    return replication.curve(panel, series).values[:, -1]


# ------------------------------------------------------------------- the directions


def test_dean_morgenstern_greedy_turns_users_onto_items_and_balanced_keeps_them(replications):
    result = replications["dean_morgenstern_2022"]
    assert result.seeds == (0, 1, 2)
    greedy, balanced = last(result, "drift", "greedy"), last(result, "drift", "balanced")
    assert np.all(greedy > balanced + 0.2), (greedy, balanced)  # radians, on every seed
    onto = last(result, "item_alignment", "greedy")
    assert np.all(onto > 0.999)  # every user on an item's axis
    assert np.all(onto > last(result, "item_alignment", "balanced") + 0.1)
    # Greedy maximises reward: near 1 once users are on their items; balanced keeps it > 0.
    assert np.all(last(result, "reward", "greedy") > 0.95)
    assert np.all(last(result, "reward", "balanced") > 0.2)
    # Mass media, the non-personalised baseline, polarises more than greedy on every seed.
    mass_media = last(result, "polarization", "mass media")
    assert np.all(mass_media > last(result, "polarization", "greedy") + 0.05)


JIANG_LEVELS = {"LinUCB α": (0.3, 1, 3), "Thompson σ": (0.3, 1, 3)}


def test_jiang_more_exploration_delays_the_collapse_and_slows_degeneracy(replications):
    result = replications["jiang_2019"]
    labels = [arm["label"] for arm in result.settings["arms"]]
    assert labels == [f"{learner} = {v:g}" for learner, v in _levels()]
    for learner, values in JIANG_LEVELS.items():
        least, most = f"{learner} = {values[0]:g}", f"{learner} = {values[-1]:g}"
        collapse = (last(result, "collapse_time", least), last(result, "collapse_time", most))
        assert np.all(collapse[1] > collapse[0] + 5.0), collapse  # steps, on every seed
        degeneracy = np.array(
            [result.curve("degeneracy", f"{learner} = {v:g}").values.mean(axis=1) for v in values]
        )  # (levels, seeds): the mean over the run
        assert np.all(np.diff(degeneracy, axis=0) < 0), degeneracy  # less at every level
        # Every level degenerates: the users' scores moved, and the more so the less exploration.
        assert np.all(last(result, "degeneracy", most) > 0.5)


def _levels() -> list[tuple[str, float]]:
    return [(learner, v) for learner, values in JIANG_LEVELS.items() for v in values]


def test_kalimeris_the_trained_recommender_amplifies_the_leaning(replications):
    result = replications["kalimeris_2021"]
    trained = result.curve("class_affinity", "collaborative filtering").values
    control = result.curve("class_affinity", "random").values
    assert np.all(trained[:, 0] == control[:, 0])  # the same users at step 0
    assert np.all(trained[:, -1] > 2 * trained[:, 0]), trained[:, [0, -1]]  # amplified
    assert np.all(trained[:, -1] - trained[:, 0] > control[:, -1] - control[:, 0] + 0.05)
    steps = result.curve("own_class_share", "random").steps
    late = steps > 75
    share = result.curve("own_class_share", "collaborative filtering").values[:, late]
    random_share = result.curve("own_class_share", "random").values[:, late]
    assert np.all(share.mean(axis=1) > 0.52), share.mean(axis=1)  # above 1/2 classes
    assert np.all(share.mean(axis=1) > random_share.mean(axis=1))


def chaney_utility(result: Replication, label: str) -> np.ndarray:
    """Each seed's mean utility of the consumed items over the run (NaN at step 0)."""
    return np.nanmean(result.curve("utility", label).values, axis=1)


def test_chaney_confounded_training_costs_utility_and_concentrates_consumption(replications):
    result = replications["chaney_2018"]
    ideal = chaney_utility(result, "ideal")
    for label in ("MF, repeated", "MF, once", "popularity", "random"):
        assert np.all(ideal > chaney_utility(result, label) + 0.05), label  # on every seed
    # The population's consumption concentrates on fewer items under the feedback loop.
    assert np.all(last(result, "gini", "MF, repeated") > last(result, "gini", "ideal") + 0.05)
    # Popularity makes neighbours consume the same items more than anything else does.
    popular = last(result, "jaccard_nn", "popularity")
    assert np.all(popular > last(result, "jaccard_nn", "ideal") + 0.1)


def test_chaney_confounded_training_homogenises_similar_users_at_lower_utility(replications):
    """The claim: neighbours consume more of the same items under MF, for less utility."""
    result = replications["chaney_2018"]
    ideal = last(result, "jaccard_nn", "ideal")
    trained = last(result, "jaccard_nn", "MF, repeated")
    assert np.all(trained > ideal + 0.05), (trained, ideal)  # on every seed
    assert np.all(chaney_utility(result, "ideal") > chaney_utility(result, "MF, repeated") + 0.2)
    # Random lists, which learn nothing, homogenise least.
    assert np.all(last(result, "jaccard_nn", "random") < ideal - 0.1)
    # The catalogue grows as in the paper: 10 items at the start, about 10 per step.
    settings = result.settings
    assert (settings["initial_items"], settings["arrivals_per_step"]) == (10, 10.0)
    assert settings["slate_size"] == 10


def test_mansoury_feedback_raises_popularity_and_draws_the_minority_in(replications):
    result = replications["mansoury_2020"]
    steps = result.curve("relative_popularity", "MF").steps
    first = int(np.flatnonzero(steps > result.settings["startup"])[0])
    for label in ("MF", "item-kNN"):
        popularity = result.curve("relative_popularity", label).values
        assert np.all(popularity[:, -1] > popularity[:, first]), (label, popularity)
        assert np.all(popularity[:, -1] > 2.0)  # twice as popular as the average item
    control = result.curve("relative_popularity", "random").values[:, 1:]
    assert np.allclose(control.mean(axis=1), 1.0, atol=0.05)  # random lists: the average

    def drift(label: str) -> np.ndarray:
        alignment = result.curve("minority_alignment", label).values
        return alignment[:, -1] - alignment[:, 0]

    assert np.all(drift("MF") > drift("random") + 0.05)
    assert np.all(drift("popularity") > drift("MF"))
    assert np.all(drift("item-kNN") < drift("random"))  # the departure: kNN pushes it away
    late = steps > 0.75 * result.settings["steps"]
    gap = {
        label: np.nanmean(result.curve("miscalibration_gap", label).values[:, late], axis=1)
        for label in ("MF", "item-kNN", "random")
    }
    assert np.all(gap["MF"] > 0) and np.all(gap["item-kNN"] > 0)  # the minority served worse
    assert np.all(gap["random"] < 0)


def test_rank_discounted_choice_takes_the_largest_discounted_utility():
    choice = RankDiscountedChoice(0.8)
    utilities = np.array([[0.3, 0.5, 0.9], [0.3, 0.5, 0.5], [0.2, 0.2, 0.9]])
    expected = [2, 0, 2]  # 0.3, 0.287, 0.374; 0.3, 0.287, 0.208; 0.2, 0.115, 0.374
    probabilities = choice.probabilities(utilities)
    assert probabilities.shape == (3, 4) and np.all(probabilities.sum(axis=1) == 1.0)
    assert probabilities.argmax(axis=1).tolist() == expected
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert choice.choose(utilities, rng).tolist() == expected
    assert rng.bit_generator.state == state and not choice.draws  # nothing drawn
    available = np.array([[True, True, False], [False, False, False], [True, True, True]])
    assert choice.choose(utilities, rng, available=available).tolist() == [0, -1, 2]
    assert choice.probabilities(utilities, available=available)[1].tolist() == [0, 0, 0, 1]
    assert RankDiscountedChoice(0.0).choose(np.array([[0.1, 0.9]]), rng).tolist() == [1]
    assert RankDiscountedChoice(5.0).choose(np.array([[0.1, 0.9]]), rng).tolist() == [0]
    assert RankDiscountedChoice(0.0).choose(np.array([[0.5, 0.5]]), rng).tolist() == [0]  # tie
    assert repr(choice) == "RankDiscountedChoice(exponent=0.8)"


# ------------------------------------------------------------------------ the verdict


def _interval(values: tuple[float, ...]) -> tuple[float, float]:
    n = len(values)
    half = student_t.ppf(0.975, n - 1) * np.std(values, ddof=1) / math.sqrt(n)
    return float(np.mean(values) - half), float(np.mean(values) + half)


@pytest.mark.parametrize("name", list(PRESETS))
def test_holds_agrees_with_an_interval_recomputed_from_the_per_seed_values(replications, name):
    result = replications[name]
    assert result.tests, "every preset tests its claim"
    verdicts = []
    for estimate in result.tests:
        low, high = _interval(estimate.values)
        assert (estimate.low, estimate.high) == pytest.approx((low, high), rel=1e-12)
        verdicts.append(low > 0 if estimate.expected == "> 0" else high < 0)
        assert estimate.holds is verdicts[-1]
    assert result.holds is all(verdicts)
    assert result.verdict == ("holds" if all(verdicts) else "does not hold")


def test_an_estimate_holds_only_when_its_interval_is_on_the_predicted_side():
    assert Estimate("a", "a", (1.0, 1.2, 0.9), expected="> 0").holds is True
    assert Estimate("a", "a", (1.0, -1.2, 0.9), expected="> 0").holds is False
    assert Estimate("a", "a", (-1.0, -1.2, -0.9), expected="< 0").holds is True
    assert Estimate("a", "a", (-1.0, -1.2, -0.9), expected="> 0").holds is False
    assert Estimate("a", "a", (1.0,), expected="> 0").holds is None  # one seed: no interval
    assert Estimate("a", "a", (1.0, 2.0)).holds is None  # reported, not a test
    constant = Estimate("a", "a", (0.5, 0.5, 0.5), expected="> 0")
    assert (constant.low, constant.high, constant.holds) == (0.5, 0.5, True)


def test_a_replication_holds_when_every_test_holds(replications):
    result = replications["dean_morgenstern_2022"]
    good = Estimate("good", "good", (1.0, 1.1, 0.9), expected="> 0")
    bad = Estimate("bad", "bad", (1.0, -1.1, 0.9), expected="> 0")
    one = Estimate("one", "one", (1.0,), expected="> 0")
    assert dataclasses.replace(result, estimates=(good,)).holds is True
    assert dataclasses.replace(result, estimates=(good, bad)).holds is False
    assert dataclasses.replace(result, estimates=(one,)).holds is None
    assert dataclasses.replace(result, estimates=(one, bad)).holds is False
    assert "undetermined" in dataclasses.replace(result, estimates=(one,)).verdict


def test_one_seed_gives_no_interval_and_an_undetermined_verdict():
    result = replicate("dean_morgenstern_2022", seeds=1, base_seed=4)
    assert result.seeds == (4,)
    assert result.holds is None and all(math.isnan(e.low) for e in result.estimates)
    assert "One seed" in result.to_markdown("figure.png")


# ---------------------------------------------------------------- the result object


def test_the_same_seeds_give_the_same_numbers():
    first = replicate("dean_morgenstern_2022", seeds=1, base_seed=7)
    second = replicate("dean_morgenstern_2022", seeds=1, base_seed=7)
    assert [e.values for e in first.estimates] == [e.values for e in second.estimates]
    assert all(
        np.array_equal(a.values, b.values, equal_nan=True)
        for a, b in zip(first.curves, second.curves)
    )
    other = replicate("dean_morgenstern_2022", seeds=1, base_seed=8)
    assert first.estimates[0].values != other.estimates[0].values


@pytest.mark.parametrize("name", list(PRESETS))
def test_the_result_states_its_paper_claim_settings_and_provenance(replications, name):
    result = replications[name]
    preset = PRESETS[name]
    assert (result.name, result.citation, result.claim) == (
        name,
        preset.paper.citation,
        preset.claim,
    )
    assert result.version == __version__ and result.scale == "small" and result.seconds > 0
    settings = result.settings
    assert settings["seeds"] == [0, 1, 2] and settings["scale"] == "small"
    assert [arm["label"] for arm in settings["arms"]] == [
        arm.label for arm in preset.arms(preset.scales["small"])
    ]
    json.dumps(settings)  # JSON values only
    assert result.command == f"recgym replicate {name} --scale small --seeds 3 --base-seed 0"
    keys = {panel.key for panel in result.panels}
    assert {curve.panel for curve in result.curves} == keys
    for curve in result.curves:
        assert curve.values.shape == (SEEDS, len(curve.steps))


@pytest.mark.parametrize("name", list(PRESETS))
def test_the_csv_round_trips_every_number(replications, name, tmp_path):
    result = replications[name]
    path = result.to_csv(tmp_path / "results.csv")
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == [*CSV_COLUMNS, "seed_0", "seed_1", "seed_2"]
        rows = list(reader)
    estimates = [row for row in rows if row["kind"] == "estimate"]
    assert [row["quantity"] for row in estimates] == [e.name for e in result.estimates]
    for row, estimate in zip(estimates, result.estimates):
        assert float(row["mean"]) == estimate.mean
        assert (float(row["ci_low"]), float(row["ci_high"])) == estimate.interval
        assert tuple(float(row[f"seed_{s}"]) for s in result.seeds) == estimate.values
        assert row["expected"] == (estimate.expected or "") and row["step"] == ""
    curves = [row for row in rows if row["kind"] == "curve"]
    assert len(curves) == sum(len(curve.steps) for curve in result.curves)
    first = result.curves[0]
    row = next(r for r in curves if (r["quantity"], r["series"]) == (first.panel, first.series))
    assert int(row["step"]) == first.steps[0]
    written = np.array([float(row[f"seed_{s}"]) for s in result.seeds])
    assert np.array_equal(written, first.values[:, 0], equal_nan=True)  # NaN: undefined at 0


@pytest.mark.parametrize("name", list(PRESETS))
def test_the_markdown_report_holds_the_numbers_settings_and_command(replications, name):
    result = replications[name]
    text = result.to_markdown("figure.png")
    for estimate in result.estimates:
        assert f"| {estimate.text()} |" in text
    assert result.claim in text and result.rule in text and result.command in text
    assert f"the claim's direction {result.verdict}" in text
    assert f"recgym {__version__}" in text and "![" in text and "](figure.png)" in text
    assert "| users |" in text or "| n_users |" in text
    assert "](figure.png)" not in result.to_markdown(None)


@pytest.mark.parametrize("name", list(PRESETS))
def test_the_figure_has_a_panel_per_quantity_labels_and_one_legend(replications, name):
    figure = replications[name].figure()
    axes = [axis for axis in figure.axes if axis.get_visible()]
    panels = replications[name].panels
    assert [axis.get_title() for axis in axes] == [panel.title for panel in panels]
    for axis, panel in zip(axes, panels):
        assert axis.get_xlabel() == "step (recommendations per user)"
        assert axis.get_ylabel().replace("\n", " ") == panel.label
        assert axis.get_legend() is None  # one legend, the figure's
        assert axis.collections, "bands for the intervals"
    assert len(figure.legends) == 1
    assert figure.get_supxlabel().replace("\n", " ").startswith(replications[name].caption[:30])


# --------------------------------------------------------------------------- folders


def test_save_writes_the_report_folder_and_rewrites_the_same_replication(replications, tmp_path):
    result = replications["dean_morgenstern_2022"]
    out = tmp_path / "dm"
    paths = result.save(out)
    assert set(paths) == {"report", "csv", "figure", "manifest"}
    assert {path.name for path in out.iterdir() if not path.name.startswith(".")} == set(
        FILES.values()
    )
    assert (out / "figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "figure.png").stat().st_size < 200_000
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["identity"] == {
        "preset": "dean_morgenstern_2022",
        "scale": "small",
        "seeds": [0, 1, 2],
        "recgym_version": __version__,
    }
    assert manifest["holds"] is result.holds
    assert [e["name"] for e in manifest["estimates"]] == [e.name for e in result.estimates]
    assert "(figure.png)" in (out / "report.md").read_text()
    result.save(out)  # the same replication again: allowed


def test_save_refuses_a_folder_of_other_results_and_leaves_it_untouched(replications, tmp_path):
    result = replications["dean_morgenstern_2022"]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ReplicationFolderError) as info:
        result.save(foreign)
    assert str(info.value) == (
        f"output folder '{foreign}' is not empty (notes.txt) and holds no recgym replication "
        "(no replication.json): choose a new or empty folder with --out"
    )
    assert [path.name for path in foreign.iterdir()] == ["notes.txt"]
    other = tmp_path / "other"
    dataclasses.replace(result, seeds=(0, 1)).save(other)
    with pytest.raises(ReplicationFolderError, match=r"seeds: \[0, 1\] there, \[0, 1, 2\] here"):
        result.save(other)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / MANIFEST).write_text("{")
    with pytest.raises(ReplicationFolderError, match=r"has a damaged replication\.json \("):
        result.save(damaged)
    taken = tmp_path / "taken"
    taken.write_text("")
    with pytest.raises(ReplicationFolderError, match="is a file, not a folder"):
        result.save(taken)


def test_without_matplotlib_the_folder_has_everything_but_the_figure(
    replications, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    out = tmp_path / "no-figure"
    paths = replications["jiang_2019"].save(out)
    assert set(paths) == {"report", "csv", "manifest"}
    assert not (out / "figure.png").exists()
    assert "No figure (matplotlib is not installed" in (out / "report.md").read_text()


def test_a_preset_declares_both_scales():
    preset = PRESETS["jiang_2019"]
    with pytest.raises(
        ValueError, match=r"`scales` must give the settings of \['small', 'paper'\]"
    ):
        dataclasses.replace(preset, scales={"small": preset.scales["small"]})
    assert preset.settings("paper")["users"] == 10_000
    with pytest.raises(TypeError):
        preset.scales["small"]["users"] = 5  # read-only


# ------------------------------------------------------------------------------- CLI


def test_replicate_list_names_every_preset_its_paper_claim_and_time(capsys):
    assert main(["replicate", "--list"]) == 0
    text = capsys.readouterr().out
    for name, preset in PRESETS.items():
        assert f"{name}\n" in text
        assert preset.paper.citation in text and preset.claim in text
        assert f"about {preset.seconds:.0f} s at --scale small" in text


def test_replicate_writes_its_report_folder(tmp_path, capsys):
    out = tmp_path / "dm"
    code = main(["replicate", "dean_morgenstern_2022", "--seeds", "3", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0] == (
        "recgym replicate dean_morgenstern_2022: Dean & Morgenstern (2022), scale small, "
        "3 seeds (0, 1, 2)"
    )
    assert lines[-1] == (
        f"report written to {out}/ (report.md, results.csv, figure.png, replication.json)"
    )
    assert "the claim's direction holds" in text
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == set(FILES.values())
    report = (out / "report.md").read_text()
    assert "recgym replicate dean_morgenstern_2022 --scale small --seeds 3 --base-seed 0" in report


@pytest.mark.parametrize("name", ["chaney_2018", "mansoury_2020"])
def test_replicate_writes_the_folder_of_the_newer_presets(name, tmp_path, capsys):
    out = tmp_path / name
    assert main(["replicate", name, "--seeds", "3", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "the claim's direction holds" in text
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == set(FILES.values())
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["holds"] is True and manifest["identity"]["seeds"] == [0, 1, 2]
    assert (out / "figure.png").stat().st_size < 200_000


def test_replicate_writes_to_replications_name_by_default(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["replicate", "dean_morgenstern_2022", "--seeds", "2", "--base-seed", "3"]) == 0
    manifest = json.loads((tmp_path / "replications/dean_morgenstern_2022" / MANIFEST).read_text())
    assert manifest["seeds"] == [3, 4]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope"], f"`name` must be one of {list(PRESETS)}, got 'nope'"),
        ([], f"`name` must be one of {list(PRESETS)} (or --list), got none"),
        (["dean_morgenstern_2022", "--seeds", "0"], "`seeds` must be a positive integer, got 0"),
        (["dean_morgenstern_2022", "--base-seed", "-1"], "`base_seed` must be a non-negative"),
        (["dean_morgenstern_2022", "--scale", "big"], "`scale` must be one of ['small', 'paper']"),
        (["dean_morgenstern_2022", "--out", ""], "`out` must name a folder, got ''"),
        (
            ["--list", "jiang_2019"],
            "`--list` lists every preset and takes no NAME, got 'jiang_2019'",
        ),
    ],
)
def test_replicate_refuses_bad_arguments_with_exit_2_and_one_line(argv, message, capsys):
    assert main(["replicate", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"recgym: error: {message}")
    assert captured.err.count("\n") == 1 and captured.out == ""


def test_replicate_refuses_a_foreign_folder_before_running(tmp_path, capsys):
    out = tmp_path / "study"
    out.mkdir()
    (out / "study.json").write_text("{}")
    assert main(["replicate", "dean_morgenstern_2022", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before the header, before any run
    assert "holds no recgym replication (no replication.json)" in captured.err
    assert [path.name for path in out.iterdir()] == ["study.json"]


def test_replicate_is_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "replicate a paper of the feedback-loop literature" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["replicate", "--help"])
    text = capsys.readouterr().out
    assert f"the preset to run: {', '.join(PRESETS)}" in " ".join(text.split())
    assert "--scale small|paper" in text and "%%" not in text


def test_progress_draws_a_bar_over_the_runs(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    replicate("dean_morgenstern_2022", seeds=1, progress=True)
    assert "recgym replicate dean_morgenstern_2022" in stream.getvalue()
    assert "3/3" in stream.getvalue()


# ------------------------------------------------------------------------- paper scale


@pytest.mark.slow
def test_jiang_at_paper_scale():
    result = replicate("jiang_2019", scale="paper", seeds=3)
    assert result.settings["users"] == 10_000
    for learner, values in JIANG_LEVELS.items():
        least, most = f"{learner} = {values[0]:g}", f"{learner} = {values[-1]:g}"
        assert np.all(last(result, "collapse_time", most) > last(result, "collapse_time", least))
        assert np.all(
            result.curve("degeneracy", least).values.mean(axis=1)
            > result.curve("degeneracy", most).values.mean(axis=1)
        )


@pytest.mark.slow
def test_kalimeris_at_paper_scale():
    result = replicate("kalimeris_2021", scale="paper", seeds=3)
    assert result.settings["users"] == 10_000
    trained = result.curve("class_affinity", "collaborative filtering").values
    control = result.curve("class_affinity", "random").values
    assert np.all(trained[:, -1] - trained[:, 0] > control[:, -1] - control[:, 0])
    late = result.curve("own_class_share", "random").steps > 0.75 * result.settings["steps"]
    assert np.all(
        result.curve("own_class_share", "collaborative filtering").values[:, late].mean(axis=1)
        > result.curve("own_class_share", "random").values[:, late].mean(axis=1)
    )


@pytest.mark.slow
def test_dean_morgenstern_at_paper_scale():
    result = replicate("dean_morgenstern_2022", scale="paper", seeds=3)
    assert result.settings["users"] == 10_000
    assert np.all(last(result, "drift", "greedy") > last(result, "drift", "balanced") + 0.1)
    assert np.all(
        last(result, "item_alignment", "greedy") > last(result, "item_alignment", "balanced")
    )


@pytest.mark.slow
def test_chaney_at_paper_scale():
    result = replicate("chaney_2018", scale="paper", seeds=3)
    assert (result.settings["users"], result.settings["items"]) == (100, 1000)
    assert np.all(chaney_utility(result, "ideal") > chaney_utility(result, "MF, repeated"))
    assert np.all(last(result, "gini", "MF, repeated") > last(result, "gini", "ideal"))
    assert np.all(last(result, "jaccard_nn", "MF, repeated") > last(result, "jaccard_nn", "ideal"))


@pytest.mark.slow
def test_mansoury_at_paper_scale():
    result = replicate("mansoury_2020", scale="paper", seeds=3)
    assert (result.settings["users"], result.settings["items"]) == (6040, 3706)
    steps = result.curve("relative_popularity", "MF").steps
    first = int(np.flatnonzero(steps > result.settings["startup"])[0])
    for label in ("MF", "item-kNN"):
        popularity = result.curve("relative_popularity", label).values
        assert np.all(popularity[:, -1] > popularity[:, first])
    alignment = {
        label: result.curve("minority_alignment", label).values for label in ("MF", "random")
    }
    drift = {label: values[:, -1] - values[:, 0] for label, values in alignment.items()}
    assert np.all(drift["MF"] > drift["random"])
