"""The figures: units on every axis, one legend per figure, distinct styles, one projection."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from recgym.population import PopulationEnv
from recgym.population.plots import (
    STEP_LABEL,
    metric_label,
    plot_exposure,
    plot_metric_intervals,
    plot_preference_scatter,
    plot_reward_diversity,
    policy_styles,
)
from recgym.population.seeds import run_seeds
from recgym.population.simulation import simulate

pytest.importorskip("matplotlib")

POLICIES = ("random", "greedy", "mass_media")


def _population(seed: int) -> PopulationEnv:
    return PopulationEnv(
        n_users=120,
        n_items=12,
        user_feature_dim=4,
        item_feature_dim=4,
        step_per_episode=10,
        feature_normalization="row",
        random_state=seed,
    )


@pytest.fixture(scope="module")
def summaries():
    return [run_seeds(_population, name, seeds=3, every=2) for name in POLICIES]


def _legends(figure):
    return figure.legends, [axis.get_legend() for axis in figure.axes]


def test_nine_policies_get_nine_colours_and_nine_markers_and_neighbours_differ_in_style():
    names = [f"p{i}" for i in range(9)]
    styles = policy_styles(names)
    assert len({s["color"] for s in styles.values()}) == 9
    assert len({s["marker"] for s in styles.values()}) == 9
    for a, b in itertools.pairwise(names):
        assert styles[a]["linestyle"] != styles[b]["linestyle"]


def test_metric_curves_with_bands_one_legend_and_units(summaries, tmp_path):
    figure = plot_metric_intervals(summaries, ["polarization", "drift"], path=tmp_path / "m.png")
    figure_legends, panel_legends = _legends(figure)
    assert len(figure_legends) == 1 and panel_legends == [None, None]
    assert [t.get_text() for t in figure_legends[0].get_texts()] == list(POLICIES)
    first, second = figure.axes
    assert " ".join(first.get_ylabel().split()) == metric_label("polarization")
    assert second.get_ylabel().replace("\n", " ").endswith("(rad)")
    assert first.get_xlabel() == STEP_LABEL
    assert len(first.collections) == len(POLICIES)  # one band per policy
    for collection in first.collections:  # bands stay inside the metric's range [0, 1]
        vertices = np.concatenate([path.vertices for path in collection.get_paths()])
        assert vertices[:, 1].min() >= 0.0 and vertices[:, 1].max() <= 1.0
    styles = {(line.get_linestyle(), line.get_marker(), line.get_color()) for line in first.lines}
    assert len(styles) == len(POLICIES)
    assert "3 seeds" in figure._suptitle.get_text()
    assert (tmp_path / "m.png").stat().st_size > 20_000


def test_one_seed_draws_no_band(tmp_path):
    one = [run_seeds(_population, "random", seeds=1)]
    figure = plot_metric_intervals(one, ["polarization"])
    assert len(figure.axes[0].collections) == 0
    assert figure._suptitle.get_text() == "one seed: no interval"


def test_the_preference_panels_share_one_projection(summaries):
    histories = [summary.histories[0] for summary in summaries]
    figure = plot_preference_scatter(histories)
    panels = [axis for axis in figure.axes if axis.get_visible()]
    assert len(panels) == len(POLICIES) + 1
    assert len({axis.get_xlim() for axis in panels}) == 1
    assert len({axis.get_ylim() for axis in panels}) == 1
    assert len({axis.get_xlabel() for axis in panels}) == 1
    assert "% of variance" in panels[0].get_xlabel()
    # The start panel of a one-history figure and of a three-history figure differ only
    # because the projection is fitted on every panel: the same users, other axes.
    alone = plot_preference_scatter(histories[:1])
    start_all = panels[0].collections[0].get_offsets()
    start_alone = alone.axes[0].collections[0].get_offsets()
    assert start_all.shape == start_alone.shape
    assert not np.allclose(np.abs(start_all), np.abs(start_alone))


def test_a_consensus_does_not_show_an_offset_or_a_zoomed_axis():
    env = PopulationEnv(
        n_users=120, n_items=12, step_per_episode=40, feature_normalization="row", random_state=0
    )
    history = simulate(env, "most_popular", seed=0)  # everyone ends on ±v (Result 2)
    figure = plot_preference_scatter([history])
    end = figure.axes[1].collections[0]
    assert len(end.get_offsets()) == 2  # everyone on ±v: two markers ...
    assert end.get_sizes().min() > 3 * np.sqrt(20)  # ... whose area shows the crowd
    figure.canvas.draw()
    for axis in figure.axes:
        if axis.get_visible():
            assert axis.yaxis.get_offset_text().get_text() == ""
            low, high = axis.get_ylim()
            assert high - low > 0.5


def test_exposure_averages_seeds_into_one_line_per_policy(summaries, tmp_path):
    every_run = [history for summary in summaries for history in summary.histories]
    figure = plot_exposure(every_run, path=tmp_path / "e.png")
    rank, lorenz = figure.axes
    assert [line.get_label() for line in rank.lines] == list(POLICIES)
    assert len(figure.legends) == 1 and rank.get_legend() is None
    assert "fraction" in rank.get_ylabel() and "fraction" in lorenz.get_xlabel()


def test_reward_against_diversity_one_point_per_policy_with_interval_bars(summaries, tmp_path):
    figure = plot_reward_diversity(summaries, path=tmp_path / "rd.png")
    polarization, gini = figure.axes
    assert "polarisation index" in polarization.get_xlabel()
    assert "Gini" in gini.get_xlabel() and "mean reward" in gini.get_ylabel()
    assert len(figure.legends) == 1
    labels = [text.get_text() for text in polarization.texts]
    assert sorted(labels) == sorted(POLICIES)  # every point is named next to it
    for summary, container in zip(summaries, polarization.containers):
        x = container.lines[0].get_xdata()[0]
        assert x == pytest.approx(summary.final_interval("polarization")[0])
        assert container.has_xerr and container.has_yerr
    assert (tmp_path / "rd.png").stat().st_size > 20_000


def test_reward_diversity_refuses_a_single_summary(summaries):
    with pytest.raises(TypeError, match=r"^`summaries` must be a list of SeedSummary objects"):
        plot_reward_diversity(summaries[0])


def test_a_history_counts_as_one_seed_in_the_summary_figures(summaries):
    histories = [summary.histories[0] for summary in summaries]
    figure = plot_reward_diversity(histories)
    assert figure._suptitle.get_text() == "one seed: no error bars"
    assert [container.has_xerr for container in figure.axes[0].containers] == [False] * 3
    curves = plot_metric_intervals(histories, ["drift"])
    assert len(curves.axes[0].lines) == 3 and len(curves.axes[0].collections) == 0
