"""Monitoring a model's performance when the labels arrive late, or not at all.

Concept drift shows up in the errors, and errors need labels. Lesson 03 uses three tools:

* :class:`RollingPerformance` keeps accuracy (and error rate, precision, recall, F1) over the
  last ``window`` labelled predictions and gives a verdict against a baseline: "insufficient
  data" before ``min_samples`` pairs, "ok", or "degraded" when a metric dropped by more than
  ``tolerance``.
* :func:`join_delayed_labels` joins predictions to labels that arrive later, as of a given
  time: which predictions are labelled, which labels may still come (pending), which never
  came within ``max_delay`` (missing) or came too late.
* :func:`estimate_accuracy` estimates accuracy without labels from the predicted
  probabilities of a calibrated classifier (the idea of confidence-based performance
  estimation). It sees covariate shift, because the model grows less confident; it is blind to
  concept shift, where the model stays confident and becomes wrong.

Examples
--------
>>> from course_lib.performance import RollingPerformance
>>> monitor = RollingPerformance(window=4, baseline={"accuracy": 0.9}, tolerance=0.1)
>>> monitor.update_many([1, 0, 1, 1], [1, 0, 0, 0])
>>> monitor.check()
PerformanceCheck(status='degraded', n=4, metrics={'accuracy': 0.5}, drops={'accuracy': 0.4}, degraded=('accuracy',))
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from course_lib.validation import as_1d_array, as_1d_numeric, check_choice, check_int, check_number

__all__ = [
    "METRICS",
    "PerformanceCheck",
    "RollingPerformance",
    "LabelJoin",
    "join_delayed_labels",
    "label_coverage",
    "AccuracyEstimate",
    "estimate_accuracy",
]

#: Metrics RollingPerformance can follow; for all but error_rate, higher is better.
METRICS = ("accuracy", "error_rate", "precision", "recall", "f1")


@dataclass(frozen=True)
class PerformanceCheck:
    """A verdict on the current window.

    Attributes
    ----------
    status : {"insufficient data", "ok", "degraded"}
    n : int
        Labelled pairs in the window.
    metrics : dict
        The window's metrics.
    drops : dict
        How much worse than the baseline each metric is (positive = worse; for error_rate, the
        increase). Empty before there is a baseline.
    degraded : tuple of str
        The metrics whose drop exceeds the tolerance.
    """

    status: str
    n: int
    metrics: dict
    drops: dict
    degraded: tuple

    def __repr__(self) -> str:
        rounded = {name: round(value, 4) for name, value in self.metrics.items()}
        drops = {name: round(value, 4) for name, value in self.drops.items()}
        return (
            f"PerformanceCheck(status={self.status!r}, n={self.n}, metrics={rounded}, "
            f"drops={drops}, degraded={self.degraded})"
        )


class RollingPerformance:
    """Classification metrics over the last ``window`` labelled predictions, with a verdict.

    The counts behind the metrics are kept incrementally, so an update costs O(1) whatever the
    window.

    Parameters
    ----------
    window : int
        Labelled pairs the metrics are computed over.
    metrics : sequence of str, default ("accuracy",)
        Any of ``METRICS``. Precision, recall and F1 treat ``positive`` as the positive class
        and are 0 when undefined (no predicted or no actual positives), like scikit-learn with
        ``zero_division=0``.
    baseline : dict, optional
        Expected value of each metric (e.g. from validation). Without it, the metrics of the
        first full window become the baseline.
    tolerance : float, default 0.05
        Largest drop (absolute, in metric units) still called "ok".
    min_samples : int, optional
        Pairs needed before any verdict; defaults to ``window``.
    positive : object, default 1
        The positive class.

    Examples
    --------
    >>> monitor = RollingPerformance(window=3, metrics=("accuracy", "recall"))
    >>> monitor.update_many(["a", "b", "a"], ["a", "b", "b"])
    >>> monitor.metrics()
    {'accuracy': 0.6666666666666666, 'recall': 0.0}
    """

    def __init__(
        self,
        window: int,
        metrics: Sequence[str] = ("accuracy",),
        *,
        baseline: Mapping[str, float] | None = None,
        tolerance: float = 0.05,
        min_samples: int | None = None,
        positive: Any = 1,
    ) -> None:
        self.window = check_int(window, "window", minimum=1)
        if isinstance(metrics, str):
            metrics = (metrics,)
        self.metric_names = tuple(check_choice(name, "metrics", METRICS) for name in metrics)
        if not self.metric_names:
            raise ValueError(f"metrics must name at least one of {', '.join(METRICS)}")
        self.tolerance = check_number(tolerance, "tolerance", minimum=0)
        self.min_samples = self.window if min_samples is None else check_int(min_samples, "min_samples", minimum=1)
        if self.min_samples > self.window:
            raise ValueError(f"min_samples ({self.min_samples}) cannot exceed window ({self.window})")
        self.positive = positive
        self.baseline = None if baseline is None else self._check_baseline(baseline)
        self._pairs: deque = deque()
        self._correct = self._tp = self._fp = self._fn = 0

    def _check_baseline(self, baseline: Mapping[str, float]) -> dict:
        if not isinstance(baseline, Mapping):
            raise TypeError(f"baseline must be a dict of metric -> value; got {type(baseline).__name__}")
        missing = [name for name in self.metric_names if name not in baseline]
        if missing:
            raise ValueError(f"baseline has no value for {', '.join(missing)}")
        return {name: check_number(baseline[name], f"baseline[{name!r}]", minimum=0, maximum=1) for name in self.metric_names}

    def __repr__(self) -> str:
        return (
            f"RollingPerformance(window={self.window}, metrics={self.metric_names}, baseline={self.baseline}, "
            f"tolerance={self.tolerance}, min_samples={self.min_samples})"
        )

    def _count(self, prediction: Any, label: Any, sign: int) -> None:
        self._correct += sign * (prediction == label)
        predicted, actual = prediction == self.positive, label == self.positive
        self._tp += sign * (predicted and actual)
        self._fp += sign * (predicted and not actual)
        self._fn += sign * (actual and not predicted)

    def update(self, prediction: Any, label: Any) -> None:
        """Add one labelled prediction (the oldest leaves once the window is full)."""
        for value, name in ((prediction, "prediction"), (label, "label")):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                raise ValueError(f"{name} is missing ({value!r}); join the labels first and skip unlabelled rows")
        self._pairs.append((prediction, label))
        self._count(prediction, label, +1)
        if len(self._pairs) > self.window:
            self._count(*self._pairs.popleft(), -1)
        if self.baseline is None and len(self._pairs) == self.window:
            self.baseline = self.metrics()

    def update_many(self, predictions: Any, labels: Any) -> None:
        """Add labelled predictions in order."""
        predictions = as_1d_array(predictions, "predictions")
        labels = as_1d_array(labels, "labels")
        if predictions.size != labels.size:
            raise ValueError(f"predictions and labels must have the same length; got {predictions.size} and {labels.size}")
        for prediction, label in zip(predictions.tolist(), labels.tolist()):
            self.update(prediction, label)

    @property
    def n(self) -> int:
        """Labelled pairs in the window."""
        return len(self._pairs)

    def metrics(self) -> dict[str, float]:
        """The window's metrics (nan for every metric while the window is empty)."""
        n = len(self._pairs)
        if not n:
            return {name: math.nan for name in self.metric_names}
        tp, fp, fn = self._tp, self._fp, self._fn
        values = {
            "accuracy": self._correct / n,
            "error_rate": 1.0 - self._correct / n,
            "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn) if tp + fn else 0.0,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        }
        return {name: values[name] for name in self.metric_names}

    def check(self) -> PerformanceCheck:
        """The verdict: "insufficient data", "ok" or "degraded" (see the class docstring)."""
        current = self.metrics()
        if len(self._pairs) < self.min_samples or self.baseline is None:
            return PerformanceCheck("insufficient data", len(self._pairs), current, {}, ())
        drops = {
            name: (current[name] - self.baseline[name]) if name == "error_rate" else (self.baseline[name] - current[name])
            for name in self.metric_names
        }
        # A tiny margin so that a drop equal to the tolerance (up to rounding) still counts as ok.
        degraded = tuple(name for name, drop in drops.items() if drop > self.tolerance + 1e-12)
        return PerformanceCheck("degraded" if degraded else "ok", len(self._pairs), current, drops, degraded)


# ------------------------------------------------------------------------------ delayed labels


@dataclass(frozen=True)
class LabelJoin:
    """Predictions joined to the labels known at ``as_of``.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per prediction made by ``as_of``: its columns, plus ``label``, ``label_time``,
        ``delay`` (label time minus prediction time) and ``status``: "labelled", "pending" (no
        label yet, but ``max_delay`` has not passed), "late" (the label came after
        ``max_delay``) or "missing" (``max_delay`` passed and no label came).
    coverage : float
        Share of the predictions that are labelled.
    counts : dict
        Number of predictions of each status.
    missing : pandas.DataFrame
        The rows whose label never came in time ("late" and "missing").
    orphan_labels : int
        Labels (known by ``as_of``) whose key matches no prediction.
    """

    table: Any
    coverage: float
    counts: dict
    missing: Any
    orphan_labels: int

    def __repr__(self) -> str:
        return (
            f"LabelJoin(predictions={len(self.table)}, coverage={self.coverage:.3f}, counts={self.counts}, "
            f"orphan_labels={self.orphan_labels})"
        )


LABEL_STATUSES = ("labelled", "pending", "late", "missing")


def _require_columns(frame: Any, name: str, columns: Sequence[str]) -> None:
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame; got {type(frame).__name__}")
    absent = [column for column in columns if column not in frame.columns]
    if absent:
        raise ValueError(f"{name} has no column {', '.join(map(repr, absent))}; its columns are {list(frame.columns)}")
    duplicated = int(frame[columns[0]].duplicated().sum())
    if duplicated:
        raise ValueError(f"{name} has {duplicated} duplicated value(s) in the key column {columns[0]!r}; keys must be unique")
    if frame[columns[1]].isna().any():
        raise ValueError(f"{name} has missing values in its time column {columns[1]!r}")


def join_delayed_labels(
    predictions: Any,
    labels: Any,
    *,
    key: str,
    max_delay: Any,
    time: str = "time",
    label: str = "label",
    as_of: Any = None,
) -> LabelJoin:
    """Join predictions to labels that arrive later, as known at time ``as_of``.

    Parameters
    ----------
    predictions : pandas.DataFrame
        One row per prediction, with a unique ``key`` and the ``time`` it was made.
    labels : pandas.DataFrame
        One row per label, with the ``key`` of its prediction, the ``time`` it arrived and the
        ``label`` column.
    key : str
        The column that identifies a prediction in both tables (a request or order id).
    max_delay : number or timedelta
        How long a label may take (same unit as the time columns). A label later than this is
        "late" and not used: a monitor cannot wait for ever.
    time, label : str
        Names of the time and label columns.
    as_of : number or datetime, optional
        The moment the join is made: only predictions made and labels arrived by then count.
        Defaults to the latest time in either table.

    Returns
    -------
    LabelJoin

    Raises
    ------
    ValueError
        If a column is missing, a key repeats, a time is missing, or a label arrives before its
        prediction.

    Examples
    --------
    >>> import pandas as pd
    >>> predictions = pd.DataFrame({"id": [1, 2, 3, 4], "time": [0, 1, 2, 9], "prediction": [1, 0, 1, 1]})
    >>> labels = pd.DataFrame({"id": [1, 2, 3], "time": [3, 12, 4], "label": [1, 1, 0]})
    >>> join_delayed_labels(predictions, labels, key="id", max_delay=7, as_of=10)
    LabelJoin(predictions=4, coverage=0.500, counts={'labelled': 2, 'pending': 1, 'late': 0, 'missing': 1}, orphan_labels=0)
    >>> join_delayed_labels(predictions, labels, key="id", max_delay=7).counts
    {'labelled': 2, 'pending': 1, 'late': 1, 'missing': 0}
    """
    import pandas as pd

    for value, name in ((key, "key"), (time, "time"), (label, "label")):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a column name (str); got {type(value).__name__}")
    _require_columns(predictions, "predictions", (key, time))
    _require_columns(labels, "labels", (key, time, label))
    if as_of is None:
        as_of = max(predictions[time].max(), labels[time].max()) if len(labels) else predictions[time].max()
    try:
        zero = max_delay - max_delay
        if max_delay < zero:
            raise ValueError(f"max_delay must not be negative; got {max_delay!r}")
    except TypeError:
        raise TypeError(f"max_delay must be a number or a timedelta; got {type(max_delay).__name__}") from None

    made = predictions[predictions[time] <= as_of]
    arrived = labels[labels[time] <= as_of]
    renamed = arrived[[key, time, label]].rename(columns={time: "label_time"})
    if label != "label":
        renamed = renamed.rename(columns={label: "label"})
    if "label" in made.columns or "label_time" in made.columns:
        raise ValueError("predictions must not already have 'label' or 'label_time' columns")
    table = made.merge(renamed, on=key, how="left", validate="one_to_one")
    table["delay"] = table["label_time"] - table[time]
    early = table["delay"] < zero
    if early.any():
        first = table.loc[early, key].iloc[0]
        raise ValueError(f"{int(early.sum())} label(s) arrive before their prediction (first key {first!r}); check the time columns")
    has_label = table["label_time"].notna()
    in_time = has_label & (table["delay"] <= max_delay)
    window_open = (as_of - table[time]) <= max_delay
    status = np.where(in_time, "labelled", np.where(has_label, "late", np.where(window_open, "pending", "missing")))
    table["status"] = pd.Categorical(status, categories=LABEL_STATUSES)
    counts = {name: int((status == name).sum()) for name in LABEL_STATUSES}
    orphans = int((~arrived[key].isin(made[key])).sum())
    coverage = counts["labelled"] / len(table) if len(table) else math.nan
    missing = table[table["status"].isin(["late", "missing"])].reset_index(drop=True)
    return LabelJoin(table.reset_index(drop=True), coverage, counts, missing, orphans)


def label_coverage(predictions: Any, labels: Any, as_of: Any, max_delay: Any) -> float:
    """Share of the predictions made by ``as_of`` whose label is known then, within ``max_delay``.

    The number a monitoring dashboard should show next to any labelled metric: how much of the
    traffic the metric actually covers. Both tables key predictions by an ``id`` column and
    carry a ``time`` column (when the prediction was made, when the label arrived).

    Parameters
    ----------
    predictions, labels : pandas.DataFrame
        Columns ``id`` and ``time`` (labels may have more, e.g. ``label``).
    as_of : number or datetime
        The moment the dashboard is looked at.
    max_delay : number or timedelta
        A label arriving later than this after its prediction does not count.

    Returns
    -------
    float
        nan when no prediction was made by ``as_of``.

    Examples
    --------
    >>> import pandas as pd
    >>> predictions = pd.DataFrame({"id": [1, 2, 3, 4], "time": [0, 1, 2, 9]})
    >>> labels = pd.DataFrame({"id": [1, 2, 3], "time": [3, 12, 4]})
    >>> label_coverage(predictions, labels, as_of=10, max_delay=7)
    0.5
    """
    labels = labels.assign(label=np.nan) if "label" not in getattr(labels, "columns", ()) else labels
    return float(join_delayed_labels(predictions, labels, key="id", max_delay=max_delay, as_of=as_of).coverage)


# ---------------------------------------------------------------------- label-free estimates


@dataclass(frozen=True)
class AccuracyEstimate:
    """Accuracy expected from predicted probabilities, with its sampling spread.

    Attributes
    ----------
    accuracy : float
        Mean confidence of the predicted class: the expected accuracy if the probabilities
        are calibrated for the data being scored.
    std_error : float
        Standard deviation of the realised accuracy around ``accuracy`` (a sum of independent
        Bernoulli outcomes): sqrt(sum c (1 - c)) / n.
    n : int
    """

    accuracy: float
    std_error: float
    n: int

    def __repr__(self) -> str:
        return f"AccuracyEstimate(accuracy={self.accuracy:.4f}, std_error={self.std_error:.4f}, n={self.n})"


def estimate_accuracy(probabilities: Any, *, threshold: float = 0.5) -> AccuracyEstimate:
    """Estimate a classifier's accuracy from its predicted probabilities alone.

    If the model is calibrated (among predictions made with confidence c, a share c is right),
    each prediction is right with probability c, its confidence in the class it predicts; the
    expected accuracy is the mean of c. This is the idea of confidence-based performance
    estimation (CBPE). It needs no labels, so it is available at once; it is only as good as
    the calibration. Under covariate shift the calibration P(y | x) still holds and the
    estimate follows the real accuracy; under concept shift P(y | x) itself changed, the model
    is as confident as ever, and the estimate does not move while the accuracy falls.

    Parameters
    ----------
    probabilities : array_like
        Either a 1-D array of P(class 1) for a binary classifier that predicts class 1 when
        the probability is at least ``threshold``, or a 2-D array (n, classes) whose rows sum
        to 1, for a classifier that predicts the most probable class.
    threshold : float, default 0.5
        Decision threshold of the binary classifier (ignored for a 2-D array).

    Returns
    -------
    AccuracyEstimate

    Examples
    --------
    >>> estimate_accuracy([0.9, 0.2, 0.6, 0.5])
    AccuracyEstimate(accuracy=0.7000, std_error=0.2151, n=4)
    >>> estimate_accuracy([[0.7, 0.2, 0.1], [0.3, 0.3, 0.4]]).accuracy
    0.55

    References
    ----------
    NannyML, "Confidence-based performance estimation (CBPE)",
    https://nannyml.readthedocs.io/en/stable/how_it_works/performance_estimation.html
    Guo, C., Pleiss, G., Sun, Y. and Weinberger, K. Q. (2017). On calibration of modern neural
    networks. ICML 2017.
    """
    array = np.asarray(probabilities, dtype=float) if not isinstance(probabilities, (str, bytes)) else None
    if array is None or array.ndim not in (1, 2):
        raise TypeError("probabilities must be a 1-D array of P(class 1) or a 2-D array (n, classes)")
    if array.ndim == 1:
        p = as_1d_numeric(array, "probabilities")
        threshold = check_number(threshold, "threshold", minimum=0, maximum=1)
        confidence = np.where(p >= threshold, p, 1.0 - p)
    else:
        if array.shape[0] == 0 or array.shape[1] < 2:
            raise ValueError(f"probabilities must have at least one row and two columns; got shape {array.shape}")
        if not np.isfinite(array).all():
            raise ValueError("probabilities contains NaN or infinite values")
        p = array
        if not np.allclose(array.sum(axis=1), 1.0, atol=1e-6):
            raise ValueError("each row of probabilities must sum to 1 (one probability per class)")
        confidence = array.max(axis=1)
    if (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must lie between 0 and 1")
    n = int(confidence.size)
    return AccuracyEstimate(
        accuracy=float(confidence.mean()),
        std_error=float(math.sqrt(float(np.sum(confidence * (1.0 - confidence)))) / n),
        n=n,
    )
