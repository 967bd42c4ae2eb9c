"""course_lib.plots: what each figure draws, checked against numpy and scikit-learn.

Figures are drawn with the non-interactive Agg backend and inspected through matplotlib's
objects (lines, patches, labels), never as pixels.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402

from course_lib.plots import (  # noqa: E402
    CURRENT_COLOR,
    REFERENCE_COLOR,
    mark_change_points,
    plot_distributions,
    plot_feature_grid,
    plot_reliability,
    plot_stream,
)
from course_lib.simulate import drift_stream, make_tabular, windowed_mean  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _step_histogram(patch, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges and heights of a histogram drawn as one step polygon by ``Axes.hist``."""
    xy = patch.get_xy()
    return xy[0 : 2 * n_bins + 1 : 2, 0], xy[1 : 2 * n_bins : 2, 1]


def _outlines(ax) -> list:
    """The labelled outline polygon of each sample (the filled ones carry no label)."""
    return [patch for patch in ax.patches if patch.get_label() and not patch.get_label().startswith("_")]


# --- distributions --------------------------------------------------------------------------


def test_numeric_histograms_are_numpy_densities_over_shared_bins():
    rng = np.random.default_rng(0)
    reference, current = rng.normal(0, 1, 3000), rng.normal(0.5, 1.5, 2000)
    ax = plot_distributions(reference, current, bins=20, clip_quantile=0.99, xlabel="age (years)")
    both = np.concatenate([reference, current])
    low, high = np.quantile(both, [0.01, 0.99])
    edges = np.histogram_bin_edges(both, bins=20, range=(low, high))
    outlines = _outlines(ax)
    assert [patch.get_label() for patch in outlines] == ["reference", "current"]
    for patch, sample in zip(outlines, (reference, current)):
        drawn_edges, heights = _step_histogram(patch, 20)
        np.testing.assert_allclose(drawn_edges, edges)
        np.testing.assert_allclose(heights, np.histogram(sample, bins=edges, density=True)[0])
    assert matplotlib.colors.same_color(outlines[0].get_edgecolor(), REFERENCE_COLOR)
    assert matplotlib.colors.same_color(outlines[1].get_edgecolor(), CURRENT_COLOR)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("age (years)", "density")


def test_small_integers_get_one_bar_per_value():
    reference = np.array([0, 1, 1, 2, 2, 2, 5])
    current = np.array([1, 3, 3, 3])
    ax = plot_distributions(reference, current, clip_quantile=1)
    edges, heights = _step_histogram(_outlines(ax)[0], 6)
    np.testing.assert_allclose(edges, np.arange(-0.5, 6.0))
    np.testing.assert_allclose(heights, np.bincount(reference, minlength=6) / len(reference))


def test_categories_are_bars_of_shares_in_declared_order():
    reference = pd.Series(pd.Categorical(["b", "a", "a", "c"], categories=["a", "b", "c"]), name="plan")
    current = pd.Series(pd.Categorical(["c", "c", "a", "c"], categories=["a", "b", "c"]))
    ax = plot_distributions(reference, current, labels=("train", "prod"))
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["a", "b", "c"]
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights[:3], reference.value_counts(normalize=True, sort=False).to_numpy())
    np.testing.assert_allclose(heights[3:], current.value_counts(normalize=True, sort=False).to_numpy())
    assert ax.get_xlabel() == "plan" and ax.get_ylabel() == "share of rows"
    assert ax.get_legend_handles_labels()[1] == ["train", "prod"]


def test_large_values_get_short_tick_labels():
    rng = np.random.default_rng(1)
    ax = plot_distributions(rng.lognormal(10.6, 0.45, 500), rng.lognormal(11, 0.45, 500))
    ax.figure.canvas.draw()
    labels = [tick.get_text() for tick in ax.get_xticklabels() if tick.get_text()]
    assert labels and all(len(label) <= 5 for label in labels), labels


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"reference": []}, ValueError, "reference"),
        ({"current": [1.0, np.nan]}, ValueError, "current"),
        ({"bins": 0}, ValueError, "bins"),
        ({"labels": ("only one",)}, ValueError, "labels"),
        ({"clip_quantile": 1.5}, ValueError, "clip_quantile"),
        ({"ax": "left"}, TypeError, "ax"),
    ],
)
def test_plot_distributions_names_the_bad_argument(kwargs, error, name):
    arguments = {"reference": [1.0, 2.0], "current": [2.0, 3.0], **kwargs}
    with pytest.raises(error, match=name):
        plot_distributions(arguments.pop("reference"), arguments.pop("current"), **arguments)


def test_feature_grid_has_one_labelled_panel_per_column_and_one_legend():
    reference, current = make_tabular(400, seed=0), make_tabular(400, covariate_shift=1.0, seed=1)
    columns = ["age", "income", "support_calls", "plan"]
    figure = plot_feature_grid(reference, current, columns, ncols=3, units={"age": "years"}, title="shift")
    assert len(figure.axes) == len(columns)
    assert [ax.get_xlabel() for ax in figure.axes] == ["age (years)", "income", "support_calls", "plan"]
    assert [ax.get_legend() is not None for ax in figure.axes] == [True, False, False, False]
    assert figure._suptitle.get_text() == "shift"


def test_feature_grid_checks_its_tables():
    frame = make_tabular(50, seed=0)
    with pytest.raises(ValueError, match=r"current is missing the columns \['age'\]"):
        plot_feature_grid(frame, frame.drop(columns="age"), ["age"])
    with pytest.raises(TypeError, match="reference must be a pandas DataFrame"):
        plot_feature_grid(frame.to_numpy(), frame)
    with pytest.raises(ValueError, match="columns"):
        plot_feature_grid(frame, frame, [])


# --- streams ------------------------------------------------------------------------------


def test_stream_plot_shows_values_concept_windows_and_change_points():
    stream = drift_stream(1000, pattern="gradual", change_points=(300,), width=200, seed=2)
    ax = plot_stream(stream, window=100)
    assert ax.get_title() == "gradual drift"
    observations, concept, means, change = ax.get_lines()
    np.testing.assert_array_equal(observations.get_ydata(), stream.values)
    np.testing.assert_array_equal(concept.get_ydata(), stream.concept)
    np.testing.assert_allclose(means.get_ydata(), windowed_mean(stream.values, 100))
    np.testing.assert_allclose(means.get_xdata(), np.arange(10) * 100 + 49.5)
    assert change.get_xdata()[0] == 300
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("time step", "value")


def test_stream_plot_takes_plain_values_and_checks_them():
    ax = plot_stream(np.arange(50.0), change_points=[10, 20], title="raw", xlabel="hour", ylabel="latency (ms)")
    assert ax.get_legend_handles_labels()[1] == ["observations", "change point"]
    assert ax.get_title() == "raw" and ax.get_ylabel() == "latency (ms)"
    with pytest.raises(ValueError, match="concept must have one value per observation"):
        plot_stream(np.arange(50.0), concept=np.zeros(10))
    with pytest.raises(ValueError, match="window"):
        plot_stream(np.arange(50.0), window=0)
    with pytest.raises(TypeError, match="stream"):
        plot_stream(["a", "b"])


def test_change_points_get_one_legend_entry():
    _, ax = plt.subplots()
    mark_change_points(ax, [10, 20, 30], label="detected")
    assert [float(line.get_xdata()[0]) for line in ax.get_lines()] == [10.0, 20.0, 30.0]
    assert ax.get_legend_handles_labels()[1] == ["detected"]
    mark_change_points(ax, [])
    assert len(ax.get_lines()) == 3
    with pytest.raises(TypeError, match="change_points"):
        mark_change_points(ax, ["soon"])
    with pytest.raises(ValueError, match="change_points"):
        mark_change_points(ax, [np.inf])


# --- reliability ----------------------------------------------------------------------------


def test_reliability_points_match_scikit_learn():
    rng = np.random.default_rng(3)
    p = rng.beta(2, 5, 5000)
    y = (rng.random(5000) < np.clip(p * 1.3, 0, 1)).astype(int)
    p[:3] = [0.1, 0.2, 1.0]  # values on bin edges go where scikit-learn puts them
    ax = plot_reliability({"current": (y, p)}, n_bins=10, min_count=1, title="calibration")
    diagonal, curve = ax.get_lines()
    observed, predicted = calibration_curve(y, p, n_bins=10)
    np.testing.assert_allclose(curve.get_xdata(), predicted)
    np.testing.assert_allclose(curve.get_ydata(), observed)
    assert ax.get_legend_handles_labels()[1] == ["perfectly calibrated", "current"]
    assert ax.get_title() == "calibration"


def test_reliability_leaves_out_sparse_bins():
    y = np.array([0, 1] * 50 + [1])
    p = np.array([0.25] * 100 + [0.95])
    ax = plot_reliability({"model": (y, p)}, n_bins=10, min_count=20)
    np.testing.assert_allclose(ax.get_lines()[1].get_xydata(), [[0.25, 0.5]])


@pytest.mark.parametrize(
    ("curves", "error", "match"),
    [
        ({}, TypeError, "curves"),
        ([([0, 1], [0.2, 0.8])], TypeError, "curves"),
        ({"m": ([0, 1], [0.2])}, ValueError, "differ in length"),
        ({"m": ([0, 2], [0.2, 0.8])}, ValueError, "y_true must hold only 0 and 1"),
        ({"m": ([0, 1], [0.2, 1.8])}, ValueError, "y_prob must be probabilities"),
        ({"m": [0, 1, 1]}, ValueError, "pair"),
    ],
)
def test_reliability_names_the_bad_argument(curves, error, match):
    with pytest.raises(error, match=match):
        plot_reliability(curves)


def test_many_categories_are_capped_but_shares_stay_shares_of_all_rows():
    reference = [f"c{i:02d}" for i in range(20) for _ in range(20 - i)]
    current = list(reference)
    ax = plot_distributions(reference, current, max_categories=5)
    ticks = [tick.get_text() for tick in ax.get_xticklabels()]
    assert ticks == ["c00", "c01", "c02", "c03", "c04"]
    assert ax.get_xlabel() == "value (5 most frequent of 20)"
    heights = [patch.get_height() for patch in ax.patches[:5]]
    assert heights[0] == pytest.approx(20 / len(reference))
    plt.close(ax.figure)


def test_large_valued_densities_show_no_offset_scale():
    """Issue 8: income densities showed a '1e-5' offset that read as data."""
    rng = np.random.default_rng(3)
    ax = plot_distributions(rng.lognormal(10.6, 0.4, 500), rng.lognormal(10.7, 0.4, 500))
    ax.figure.canvas.draw()
    assert not any(label.get_visible() and label.get_text() for label in ax.get_yticklabels())
    offset = ax.yaxis.get_offset_text()
    assert not (offset.get_visible() and offset.get_text())
    plt.close(ax.figure)


def test_drift_report_figures_keep_the_course_category_order():
    """Issue 8: lesson 02 drew plans as basic/premium/standard, lesson 01 as basic/standard/premium."""
    from course_lib.drift import drift_report
    from course_lib.simulate import make_tabular

    report = drift_report(make_tabular(300, seed=1), make_tabular(300, seed=2), columns=["plan"])
    fig, ax = plt.subplots()
    report._draw_column(ax, "plan")
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["basic", "standard", "premium"]
    plt.close(fig)
