"""Figures shared by the lessons: streams with change points, reference-vs-current distributions
and reliability diagrams.

Each helper draws on a matplotlib ``Axes`` you pass (or on a new one), gives it a title, axis
labels and a legend, and returns it, so a lesson can arrange several of them in its own layout
and still add to them. The colours are the same in every lesson: blue for the reference
(training) data, orange for the current (production) data.

matplotlib is imported by this module, not by ``import course_lib``.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from course_lib.plots import plot_distributions
>>> ax = plot_distributions([1.0, 2.0, 2.5, 3.0], [2.0, 3.0, 3.5, 4.0], xlabel="age (years)")
>>> ax.get_xlabel(), ax.get_ylabel()
('age (years)', 'density')
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import EngFormatter

from course_lib.validation import as_1d_array, as_1d_numeric, check_int, check_number, is_categorical

__all__ = [
    "REFERENCE_COLOR",
    "CURRENT_COLOR",
    "CHANGE_COLOR",
    "mark_change_points",
    "plot_stream",
    "plot_distributions",
    "plot_feature_grid",
    "plot_reliability",
]

#: Colour of reference (training-time) data in every figure of the course.
REFERENCE_COLOR = "#4C72B0"
#: Colour of current (production) data.
CURRENT_COLOR = "#DD8452"
#: Colour of change points and other moments marked on a time axis.
CHANGE_COLOR = "#C44E52"


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    elif not hasattr(ax, "plot"):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def _check_labels(labels: Any) -> tuple[str, str]:
    if isinstance(labels, str) or not isinstance(labels, Sequence) or len(labels) != 2:
        raise ValueError(f"labels must be two strings (reference, current), got {labels!r}")
    return str(labels[0]), str(labels[1])


def mark_change_points(
    ax: Any,
    change_points: Sequence[float],
    *,
    label: str | None = "change point",
    color: str = CHANGE_COLOR,
    linestyle: str = "--",
) -> Any:
    """Draw a vertical line at each change point; only the first gets a legend entry.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    change_points : sequence of float
        Positions on the x axis; may be empty.
    label : str or None
        Legend text for the lines (``None``: no legend entry).
    color, linestyle : str

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> _, ax = plt.subplots()
    >>> ax = mark_change_points(ax, [100, 300])
    >>> [float(line.get_xdata()[0]) for line in ax.get_lines()]
    [100.0, 300.0]
    """
    ax = _axes(ax, (8, 3))
    try:
        points = np.atleast_1d(np.asarray(change_points, dtype=float))
    except (TypeError, ValueError):
        raise TypeError(f"change_points must be a sequence of numbers, got {change_points!r}") from None
    if points.ndim != 1 or not np.isfinite(points).all():
        raise ValueError(f"change_points must be finite numbers, got {change_points!r}")
    for index, point in enumerate(points):
        ax.axvline(point, color=color, linestyle=linestyle, linewidth=1.2, label=label if index == 0 else None)
    return ax


def plot_stream(
    stream: Any,
    *,
    concept: Any = None,
    change_points: Sequence[float] | None = None,
    window: int | None = None,
    ax: Any = None,
    title: str | None = None,
    xlabel: str = "time step",
    ylabel: str = "value",
) -> Any:
    """A stream of observations over time, with its concept, window means and change points.

    Parameters
    ----------
    stream : Stream or array_like
        A :class:`course_lib.simulate.Stream` (its concept, change points and pattern are then
        used unless given), or the observed values.
    concept : array_like, optional
        The true mean behind each observation (only a simulation knows it).
    change_points : sequence of float, optional
        Where the concept starts to change; drawn as dashed vertical lines.
    window : int, optional
        Also draw the mean of each full, non-overlapping window of this many values: what a
        dashboard that aggregates per window would show.
    ax : matplotlib.axes.Axes, optional
    title, xlabel, ylabel : str

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from course_lib.simulate import drift_stream
    >>> ax = plot_stream(drift_stream(1000, change_points=(500,), seed=0), window=100)
    >>> ax.get_title()
    'abrupt drift'
    >>> ax.get_legend_handles_labels()[1]
    ['observations', 'concept (true mean)', 'mean of each 100 values', 'change point']
    """
    if hasattr(stream, "values") and hasattr(stream, "change_points") and not hasattr(stream, "to_numpy"):
        concept = stream.concept if concept is None else concept
        change_points = stream.change_points if change_points is None else change_points
        title = f"{stream.pattern} drift" if title is None else title
        stream = stream.values
    values = as_1d_numeric(stream, "stream")
    steps = np.arange(len(values))
    ax = _axes(ax, (9, 3.2))
    ax.plot(steps, values, ".", markersize=2.5, alpha=0.35, color=REFERENCE_COLOR, label="observations")
    if concept is not None:
        concept = as_1d_numeric(concept, "concept")
        if len(concept) != len(values):
            raise ValueError(f"concept must have one value per observation ({len(values)}), got {len(concept)}")
        # Dots, not a line: during a gradual drift each observation comes from the old or the new
        # concept, and a line between them would fill the transition with a black block.
        ax.plot(steps, concept, linestyle="none", marker=".", markersize=1.5, color="black", label="concept (true mean)")
    if window is not None:
        from course_lib.simulate import windowed_mean

        window = check_int(window, "window", minimum=1)
        means = windowed_mean(values, window)
        centres = np.arange(len(means)) * window + (window - 1) / 2
        ax.plot(centres, means, "o-", color=CURRENT_COLOR, markersize=4, linewidth=1.5, label=f"mean of each {window} values")
    mark_change_points(ax, () if change_points is None else change_points)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small", framealpha=0.9)
    return ax


def _integer_edges(low: float, high: float) -> np.ndarray:
    # One bar per integer, centred on it: counts (support calls, items) read naturally.
    return np.arange(np.floor(low) - 0.5, np.ceil(high) + 1.0)


def plot_distributions(
    reference: Any,
    current: Any,
    *,
    ax: Any = None,
    bins: int = 30,
    clip_quantile: float = 0.995,
    labels: Sequence[str] = ("reference", "current"),
    title: str | None = None,
    xlabel: str | None = None,
    max_categories: int = 15,
) -> Any:
    """The reference and the current distribution of one feature, on the same axes.

    Numbers are drawn as two density histograms over the same bins (one bar per value when both
    samples hold small integers); categories as side-by-side bars of their shares.

    Parameters
    ----------
    reference, current : array_like, 1-D
        Two samples of the same feature, numeric or categorical.
    ax : matplotlib.axes.Axes, optional
    bins : int
        Number of equal-width bins for numbers.
    clip_quantile : float
        The bins span the ``1 - clip_quantile`` to ``clip_quantile`` quantiles of both samples
        together, so a long tail (incomes) does not squeeze the bulk into one bar; 1 spans all.
    labels : (str, str)
        Legend names of the two samples.
    title, xlabel : str, optional
        ``xlabel`` defaults to the name of a pandas Series, else ``"value"``.
    max_categories : int
        Draw at most this many categories, the most frequent in both samples together; the
        shares stay shares of all rows, and the axis label says how many were left out.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_distributions(["basic", "premium", "basic"], ["premium", "premium", "basic"])
    >>> ax.get_ylabel(), [tick.get_text() for tick in ax.get_xticklabels()]
    ('share of rows', ['basic', 'premium'])
    """
    first, second = _check_labels(labels)
    bins = check_int(bins, "bins", minimum=1)
    max_categories = check_int(max_categories, "max_categories", minimum=1)
    clip_quantile = check_number(clip_quantile, "clip_quantile", minimum=0.5)
    if clip_quantile > 1:
        raise ValueError(f"clip_quantile must be between 0.5 and 1, got {clip_quantile}")
    if xlabel is None:
        name = getattr(reference, "name", None)
        xlabel = str(name) if isinstance(name, str) else "value"
    ax = _axes(ax, (5, 3.2))

    if is_categorical(reference) or is_categorical(current):
        ref = as_1d_array(reference, "reference")
        cur = as_1d_array(current, "current")
        declared = getattr(getattr(reference, "dtype", None), "categories", None)
        if declared is not None:
            categories = [str(value) for value in declared]
        else:
            categories = list(dict.fromkeys(str(value) for value in np.concatenate([ref, cur]).tolist()))
        ref_text = np.array([str(value) for value in ref.tolist()])
        cur_text = np.array([str(value) for value in cur.tolist()])
        if len(categories) > max_categories:
            pooled = np.concatenate([ref_text, cur_text])
            counts = {category: int(np.sum(pooled == category)) for category in categories}
            kept = set(sorted(categories, key=lambda c: -counts[c])[:max_categories])
            xlabel = f"{xlabel} ({max_categories} most frequent of {len(categories)})"
            categories = [category for category in categories if category in kept]
        positions = np.arange(len(categories))
        ref_share = [np.mean(ref_text == category) for category in categories]
        cur_share = [np.mean(cur_text == category) for category in categories]
        ax.bar(positions - 0.2, ref_share, width=0.4, color=REFERENCE_COLOR, alpha=0.8, label=first)
        ax.bar(positions + 0.2, cur_share, width=0.4, color=CURRENT_COLOR, alpha=0.8, label=second)
        many = len(categories) > 6
        ax.set_xticks(positions, [c[:12] for c in categories], rotation=45 if many else 0, ha="right" if many else "center")
        ax.set_ylabel("share of rows")
    else:
        ref = as_1d_numeric(reference, "reference")
        cur = as_1d_numeric(current, "current")
        both = np.concatenate([ref, cur])
        low, high = np.quantile(both, [1 - clip_quantile, clip_quantile])
        if np.all(both == np.round(both)) and high - low <= 40:
            edges = _integer_edges(low, high)
        else:
            edges = np.histogram_bin_edges(both, bins=bins, range=(low, high) if high > low else None)
        for sample, colour, name in ((ref, REFERENCE_COLOR, first), (cur, CURRENT_COLOR, second)):
            ax.hist(sample, bins=edges, density=True, histtype="stepfilled", alpha=0.3, color=colour)
            ax.hist(sample, bins=edges, density=True, histtype="step", linewidth=1.6, color=colour, label=name)
        if max(abs(low), abs(high)) >= 1e4:
            # 50k rather than 50000: five-digit tick labels run into each other.
            ax.xaxis.set_major_formatter(EngFormatter(sep=""))
            # Densities per unit of a large quantity are tiny (1e-5) and come with an axis offset
            # that reads as data; their shape is what matters, so the scale is left out.
            ax.tick_params(axis="y", labelleft=False)
            ax.yaxis.get_offset_text().set_visible(False)
        ax.set_ylabel("density")
    ax.set_xlabel(xlabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def plot_feature_grid(
    reference: Any,
    current: Any,
    columns: Sequence[str] | None = None,
    *,
    ncols: int = 3,
    units: Mapping[str, str] | None = None,
    labels: Sequence[str] = ("reference", "current"),
    title: str | None = None,
) -> Any:
    """:func:`plot_distributions` for several columns of two tables, one panel per column.

    Parameters
    ----------
    reference, current : pandas.DataFrame
    columns : sequence of str, optional
        Columns to draw; by default every column of ``reference``.
    ncols : int
        Panels per row.
    units : mapping of str to str, optional
        Unit of each column, added to its axis label (``{"age": "years"}``).
    labels : (str, str)
    title : str, optional
        Title of the whole figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from course_lib.simulate import make_tabular
    >>> figure = plot_feature_grid(make_tabular(300, seed=0), make_tabular(300, covariate_shift=1, seed=1),
    ...                            ["age", "plan"], units={"age": "years"})
    >>> [ax.get_xlabel() for ax in figure.axes]
    ['age (years)', 'plan']
    """
    for name, frame in (("reference", reference), ("current", current)):
        if not hasattr(frame, "columns"):
            raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    columns = list(reference.columns) if columns is None else list(columns)
    if not columns:
        raise ValueError("columns must name at least one column")
    for name, frame in (("reference", reference), ("current", current)):
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise ValueError(f"{name} is missing the columns {missing}")
    ncols = check_int(ncols, "ncols", minimum=1)
    ncols = min(ncols, len(columns))
    nrows = -(-len(columns) // ncols)
    units = dict(units or {})
    figure, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.1 * nrows), squeeze=False)
    for index, ax in enumerate(axes.ravel()):
        if index >= len(columns):
            ax.remove()
            continue
        column = columns[index]
        xlabel = f"{column} ({units[column]})" if column in units else column
        plot_distributions(reference[column], current[column], ax=ax, labels=labels, xlabel=xlabel)
        if index > 0:
            ax.get_legend().remove()
    if title is not None:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def _reliability_points(y_true: np.ndarray, y_prob: np.ndarray, n_bins: int, min_count: int) -> tuple[np.ndarray, np.ndarray]:
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Equal-width bins (a, b] over [0, 1], the first one closed: the same bins as scikit-learn's
    # calibration_curve, so the two draw the same points.
    index = np.searchsorted(edges[1:-1], y_prob)
    counts = np.bincount(index, minlength=n_bins)
    keep = counts >= min_count
    mean_predicted = np.bincount(index, weights=y_prob, minlength=n_bins)[keep] / counts[keep]
    observed = np.bincount(index, weights=y_true, minlength=n_bins)[keep] / counts[keep]
    return mean_predicted, observed


def plot_reliability(
    curves: Mapping[str, tuple[Any, Any]],
    *,
    n_bins: int = 10,
    min_count: int = 20,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Reliability diagram: observed positive rate against predicted probability, per curve.

    A model whose predicted probabilities are right lies on the diagonal. When the data shift,
    the curve of the new data shows how P(Y | prediction) moved: parallel above or below the
    diagonal when only the base rate changed, flattened or bent when the rule changed.

    Parameters
    ----------
    curves : mapping of str to (y_true, y_prob)
        For each legend label, the 0/1 outcomes and the predicted probabilities.
    n_bins : int
        Equal-width bins of the predicted probability over [0, 1].
    min_count : int
        Bins with fewer predictions are left out: their rate is mostly noise.
    ax : matplotlib.axes.Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_reliability({"reference": ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])}, n_bins=2, min_count=1)
    >>> ax.get_lines()[1].get_xydata().round(2).tolist()
    [[0.15, 0.0], [0.85, 1.0]]
    """
    if not isinstance(curves, Mapping) or not curves:
        raise TypeError("curves must be a non-empty mapping of label to (y_true, y_prob)")
    n_bins = check_int(n_bins, "n_bins", minimum=1)
    min_count = check_int(min_count, "min_count", minimum=1)
    ax = _axes(ax, (4.8, 4.5))
    ax.plot([0, 1], [0, 1], linestyle=":", color="0.4", label="perfectly calibrated")
    palette = [REFERENCE_COLOR, CURRENT_COLOR, "#55A868", "#8172B3", "#937860", CHANGE_COLOR]
    for number, (label, pair) in enumerate(curves.items()):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"curves[{label!r}] must be a pair (y_true, y_prob), got {type(pair).__name__}")
        y_true = as_1d_numeric(pair[0], f"curves[{label!r}] y_true")
        y_prob = as_1d_numeric(pair[1], f"curves[{label!r}] y_prob")
        if len(y_true) != len(y_prob):
            raise ValueError(f"curves[{label!r}]: y_true and y_prob differ in length ({len(y_true)} vs {len(y_prob)})")
        if not np.isin(y_true, (0.0, 1.0)).all():
            raise ValueError(f"curves[{label!r}] y_true must hold only 0 and 1")
        if (y_prob < 0).any() or (y_prob > 1).any():
            raise ValueError(f"curves[{label!r}] y_prob must be probabilities in [0, 1]")
        predicted, observed = _reliability_points(y_true, y_prob, n_bins, min_count)
        ax.plot(predicted, observed, "o-", color=palette[number % len(palette)], label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted probability (bin mean)")
    ax.set_ylabel("observed positive rate")
    if title is not None:
        ax.set_title(title)
    ax.legend(fontsize="small", loc="upper left")
    return ax
