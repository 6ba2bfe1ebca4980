"""History: lossless .npz round trip without pickle, CSV export, damaged files; plots."""

from __future__ import annotations

import csv
import json
import math
import sys
import zipfile

import numpy as np
import pytest

from recgym._io import atomic_write
from recgym.population import PopulationEnv
from recgym.population.history import History
from recgym.population.metrics import METRICS
from recgym.population.plots import (
    plot_exposure,
    plot_metric_curves,
    plot_preference_scatter,
    principal_components,
)
from recgym.population.simulation import DEFAULT_METRICS, RECORDABLE, simulate

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(policy: str = "epsilon_greedy", **kwargs) -> History:
    env = PopulationEnv(
        n_users=40,
        n_items=6,
        step_per_episode=8,
        obs_std=0.1,
        reward_std=0.1,
        random_state=0,
        **kwargs,
    )
    groups = np.repeat(["a", "b"], 20)
    return simulate(env, policy, seed=1, record=RECORDABLE, groups=groups, every=3)


@pytest.fixture(scope="module")
def history() -> History:
    return run()


# ------------------------------------------------------------------------- save / load


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_then_load_gives_an_equal_history(tmp_path, dtype):
    original = run(dtype=dtype)
    assert any(np.isnan(series).any() for series in original.metrics.values())
    path = original.save(tmp_path / "run.npz")
    assert path == tmp_path / "run.npz"
    loaded = History.load(path)
    assert loaded == original
    assert loaded.trajectory.keys() == original.trajectory.keys()
    assert loaded.trajectory["states"].dtype == np.dtype(dtype)
    assert list(loaded.metrics) == list(original.metrics)  # order kept
    assert loaded.metadata == original.metadata


def test_the_file_holds_no_pickled_objects(tmp_path, history):
    path = history.save(tmp_path / "run.npz")
    with np.load(path, allow_pickle=False) as data:
        for name in data.files:
            assert data[name].dtype != object
    header = json.loads(str(np.load(path)["header"]))
    assert header["format"] == "recgym.History"
    assert header["version"] == 1


def test_equality_sees_every_field(history):
    assert history == run()
    assert history != run(policy="greedy")
    changed = run()
    changed.metrics["gini"] = changed.metrics["gini"].copy()
    changed.metrics["gini"][-1] += 1e-12
    assert history != changed
    changed = run()
    changed.trajectory.pop("observations")
    assert history != changed
    changed = run()
    changed.metadata["seed"] = 99
    assert history != changed
    changed = run()
    changed.exposure = changed.exposure.astype(np.int32)  # same values, other dtype
    assert history != changed
    assert history.__eq__(42) is NotImplemented
    with pytest.raises(TypeError):
        hash(history)


def test_saving_over_an_existing_file_replaces_it_atomically(tmp_path, history):
    path = tmp_path / "run.npz"
    path.write_bytes(b"old contents")
    history.save(path)
    assert History.load(path) == history
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]  # no temporary left


def test_atomic_write_leaves_nothing_behind_when_the_writer_fails(tmp_path):
    def failing(tmp: str) -> None:
        with open(tmp, "w") as handle:
            handle.write("half")
        raise RuntimeError("disk full")

    (tmp_path / "out.txt").write_text("previous")
    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(tmp_path / "out.txt", failing)
    assert (tmp_path / "out.txt").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_written_files_get_the_usual_permissions(tmp_path, history):
    reference = tmp_path / "reference.txt"
    reference.write_text("")  # created by open(): 0o666 minus the umask
    expected = reference.stat().st_mode & 0o777
    assert history.save(tmp_path / "run.npz").stat().st_mode & 0o777 == expected
    assert history.to_csv(tmp_path / "run.csv").stat().st_mode & 0o777 == expected


def test_save_creates_missing_folders(tmp_path, history):
    path = history.save(tmp_path / "a" / "b" / "run.npz")
    assert History.load(path) == history


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_a_truncated_file_is_rejected_with_a_value_error(tmp_path, history, keep):
    data = history.save(tmp_path / "run.npz").read_bytes()
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match=r"^cannot load a History file from '.*damaged.npz': "):
        History.load(damaged)


def test_a_corrupted_array_is_rejected_with_a_value_error(tmp_path, history):
    path = history.save(tmp_path / "run.npz")
    with zipfile.ZipFile(path) as archive:
        offset = archive.getinfo("final_states.npy").header_offset
    data = bytearray(path.read_bytes())
    data[offset + 200] ^= 0xFF  # inside the stored array: the zip CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"cannot load a History file from .*: damaged or trunc"):
        History.load(path)


def test_a_foreign_npz_file_is_rejected_with_a_value_error(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, weights=np.arange(3))
    with pytest.raises(
        ValueError,
        match=r"^cannot load a History file from '.*foreign.npz': it has no 'header' entry "
        r"\(not a recgym.History file\)$",
    ):
        History.load(path)
    np.savez(path, header=np.array(json.dumps([1, 2])))
    with pytest.raises(ValueError, match=r"its header is a JSON list, not an object$"):
        History.load(path)


def test_a_newer_format_version_is_rejected(tmp_path, history):
    path = history.save(tmp_path / "run.npz")
    with np.load(path) as data:
        contents = {name: data[name] for name in data.files}
    header = json.loads(str(contents["header"]))
    contents["header"] = np.array(json.dumps({**header, "version": 2}))
    np.savez(path, **contents)
    with pytest.raises(
        ValueError, match=r"format version 2 is not supported \(this recgym reads version 1\)$"
    ):
        History.load(path)


def test_a_history_file_missing_an_array_is_rejected(tmp_path, history):
    path = history.save(tmp_path / "run.npz")
    with np.load(path) as data:
        contents = {name: data[name] for name in data.files if name != "metric:gini"}
    np.savez(path, **contents)
    with pytest.raises(ValueError, match=r"run.npz': 'metric:gini' is missing$"):
        History.load(path)


@pytest.mark.parametrize(
    ("contents", "name"),
    [(b"policy,step\nrandom,0\n", "table.csv"), (b"", "empty.npz"), (None, "array.npy")],
)
def test_files_that_are_not_npz_archives_are_rejected_with_a_value_error(tmp_path, contents, name):
    path = tmp_path / name
    if contents is None:
        np.save(path, np.arange(4))
    else:
        path.write_bytes(contents)
    with pytest.raises(
        ValueError,
        match=rf"^cannot load a History file from '.*{name}': not an .npz \(zip\) archive$",
    ):
        History.load(path)


def test_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no History file at '.*nothing.npz'"):
        History.load(tmp_path / "nothing.npz")


# --------------------------------------------------------------------------------- CSV


def test_to_csv_writes_one_row_per_recorded_step(tmp_path, history):
    path = history.to_csv(tmp_path / "metrics.csv")
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert header == ["policy", "step", *history.metrics]
    assert "reward" in header and "mean_reward" in header
    assert [int(row[1]) for row in body] == history.steps.tolist() == [0, 3, 6, 8]
    assert {row[0] for row in body} == {"epsilon_greedy"}
    for k, row in enumerate(body):
        for name, text in zip(history.metrics, row[2:]):
            expected = history.metrics[name][k]
            value = float(text)
            assert value == expected or (math.isnan(value) and math.isnan(expected))
    reward, mean = header.index("reward"), header.index("mean_reward")
    assert body[0][reward] == body[0][mean] == "nan"  # no reward before the first step
    assert [float(row[reward]) for row in body[1:]] == [history.rewards[t - 1] for t in (3, 6, 8)]
    assert float(body[-1][mean]) == history.rewards.mean() == history.final()["mean_reward"]
    assert body[0][header.index("gini")] == "nan"
    assert "gini[a]" in header


# ------------------------------------------------------------------------------- plots


def test_plot_returns_a_figure_and_writes_a_png(tmp_path, history):
    from matplotlib.figure import Figure

    figure = history.plot(path=tmp_path / "curves.png")
    assert isinstance(figure, Figure)
    titles = [axis.get_title() for axis in figure.axes if axis.get_visible()]
    assert titles == list(DEFAULT_METRICS)  # ungrouped metrics only
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG_MAGIC
    assert "matplotlib.pyplot" not in sys.modules or not _pyplot_figures()


def _pyplot_figures() -> list[int]:
    return sys.modules["matplotlib.pyplot"].get_fignums()


def test_plot_labels_the_y_axis_with_the_registry_description_and_unit(history):
    figure = history.plot(["reward", "mean_reward", "gini[b]"])
    labels = [" ".join(axis.get_ylabel().split()) for axis in figure.axes if axis.get_visible()]
    assert labels == [
        f"{METRICS[name].description} ({METRICS[name].unit})"
        for name in ("reward", "mean_reward", "gini")
    ]
    assert len(figure.axes[1].lines) == 1


def test_plot_draws_the_chosen_metrics_without_a_file(tmp_path, history):
    figure = history.plot(["polarization", "gini[b]"])
    assert [axis.get_title() for axis in figure.axes] == ["polarization", "gini[b]"]
    assert len(figure.axes[0].lines) == 1
    assert list(tmp_path.iterdir()) == []


def test_comparison_figures_draw_one_line_or_panel_per_history(tmp_path, history):
    other = run(policy="greedy")
    curves = plot_metric_curves([history, other], ["drift"], path=tmp_path / "m.png")
    assert [line.get_label() for line in curves.axes[0].lines] == ["epsilon_greedy", "greedy"]
    scatter = plot_preference_scatter([history, other], path=tmp_path / "p.png")
    titles = [axis.get_title() for axis in scatter.axes if axis.get_visible()]
    assert titles == ["start", "end: epsilon_greedy", "end: greedy"]
    exposure = plot_exposure([history, other], path=tmp_path / "e.png")
    assert len(exposure.axes[0].lines) == 2
    for name in ("m.png", "p.png", "e.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC


def test_principal_components_are_the_top_axes_of_the_centred_states():
    rng = np.random.default_rng(0)
    states = rng.standard_normal((200, 4)) * np.array([5.0, 2.0, 0.5, 0.1])
    projection = principal_components(states)
    assert projection.shape == (200, 2)
    np.testing.assert_allclose(projection.mean(axis=0), 0.0, atol=1e-12)
    variances = projection.var(axis=0)
    assert variances[0] > variances[1] > 0.5 * 4.0
    assert principal_components(states[:, :1]).shape == (200, 2)  # padded when d < k


def test_plotting_without_matplotlib_raises_a_clear_error(monkeypatch, history, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    message = (
        r"^Plotting needs matplotlib, which is not installed; install the plot extra: "
        r"pip install 'recgym\[plot\]'$"
    )
    with pytest.raises(ModuleNotFoundError, match=message):
        history.plot()
    with pytest.raises(ModuleNotFoundError, match=message):
        plot_exposure([history], path=tmp_path / "e.png")
    assert list(tmp_path.iterdir()) == []


def test_csv_derives_the_reward_columns_of_histories_that_did_not_record_them(tmp_path, history):
    older = History(
        **{**vars(history), "metrics": {
            k: v for k, v in history.metrics.items() if k not in ("reward", "mean_reward")
        }}
    )  # fmt: skip
    written = {}
    for name, run in (("new", history), ("old", older)):
        with open(run.to_csv(tmp_path / f"{name}.csv"), newline="") as handle:
            rows = list(csv.DictReader(handle))
        written[name] = [(row["reward"], row["mean_reward"]) for row in rows]
    assert written["old"] == written["new"]
