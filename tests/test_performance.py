"""course_lib.performance: rolling metrics against scikit-learn, the delayed-label join against a
row-by-row reading of its rules, the label-free estimate against simulated calibrated labels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from course_lib.performance import RollingPerformance, estimate_accuracy, join_delayed_labels

SKLEARN = {
    "accuracy": accuracy_score,
    "error_rate": lambda y, p: 1.0 - accuracy_score(y, p),
    "precision": lambda y, p: precision_score(y, p, zero_division=0),
    "recall": lambda y, p: recall_score(y, p, zero_division=0),
    "f1": lambda y, p: f1_score(y, p, zero_division=0),
}


@pytest.mark.parametrize("window", [1, 7, 50])
def test_rolling_metrics_equal_sklearn_on_the_last_window(window):
    rng = np.random.default_rng(window)
    labels = rng.integers(0, 2, 400)
    predictions = np.where(rng.random(400) < 0.7, labels, 1 - labels)
    predictions[:30] = 0  # a stretch with no predicted positives: precision undefined
    monitor = RollingPerformance(window, metrics=tuple(SKLEARN))
    for step, (prediction, label) in enumerate(zip(predictions, labels)):
        monitor.update(prediction, label)
        if step % 13 == 0 or step < 40:
            start = max(0, step + 1 - window)
            y, p = labels[start : step + 1], predictions[start : step + 1]
            for name, value in monitor.metrics().items():
                assert value == pytest.approx(SKLEARN[name](y, p), abs=1e-12), (name, step)


def test_multiclass_accuracy_and_a_string_positive_class():
    rng = np.random.default_rng(3)
    classes = np.array(["cat", "dog", "bird"])
    labels = rng.choice(classes, 300)
    predictions = np.where(rng.random(300) < 0.6, labels, rng.choice(classes, 300))
    monitor = RollingPerformance(100, metrics=("accuracy", "recall", "precision"), positive="dog")
    monitor.update_many(predictions, labels)
    y, p = labels[-100:], predictions[-100:]
    expected = {
        "accuracy": accuracy_score(y, p),
        "recall": recall_score(y == "dog", p == "dog"),
        "precision": precision_score(y == "dog", p == "dog"),
    }
    assert monitor.metrics() == pytest.approx(expected)


def test_verdicts_follow_min_samples_baseline_and_tolerance():
    monitor = RollingPerformance(10, metrics=("accuracy", "error_rate"), tolerance=0.1, min_samples=5)
    monitor.update_many([1, 1, 1, 1], [1, 1, 1, 1])
    assert monitor.check().status == "insufficient data"  # 4 < min_samples, and no baseline yet
    monitor.update_many([1] * 6, [1] * 6)
    assert monitor.baseline == {"accuracy": 1.0, "error_rate": 0.0}  # the first full window
    assert monitor.check().status == "ok"
    monitor.update(1, 0)  # accuracy 0.9: a drop of exactly the tolerance is still ok
    assert monitor.check().status == "ok"
    monitor.update(1, 0)
    check = monitor.check()
    assert check.status == "degraded" and check.degraded == ("accuracy", "error_rate")
    assert check.drops == pytest.approx({"accuracy": 0.2, "error_rate": 0.2})


def test_a_given_baseline_is_used_from_min_samples_on():
    monitor = RollingPerformance(100, baseline={"accuracy": 0.9}, min_samples=20, tolerance=0.05)
    monitor.update_many([1] * 20, [1] * 14 + [0] * 6)
    check = monitor.check()
    assert check.status == "degraded" and check.n == 20 and check.drops["accuracy"] == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"window": 0}, ValueError, "window"),
        ({"window": 10, "metrics": ("auc",)}, ValueError, "metrics must be one of"),
        ({"window": 10, "metrics": ()}, ValueError, "at least one"),
        ({"window": 10, "tolerance": -0.1}, ValueError, "tolerance"),
        ({"window": 10, "min_samples": 20}, ValueError, "cannot exceed window"),
        ({"window": 10, "baseline": {"recall": 0.8}}, ValueError, "no value for accuracy"),
        ({"window": 10, "baseline": {"accuracy": 1.5}}, ValueError, "baseline\\['accuracy'\\]"),
        ({"window": 10, "baseline": 0.9}, TypeError, "baseline must be a dict"),
    ],
)
def test_rolling_performance_rejects_bad_arguments(arguments, error, message):
    with pytest.raises(error, match=message):
        RollingPerformance(**arguments)


def test_rolling_performance_rejects_missing_and_mismatched_input():
    monitor = RollingPerformance(5)
    with pytest.raises(ValueError, match="label is missing"):
        monitor.update(1, float("nan"))
    with pytest.raises(ValueError, match="prediction is missing"):
        monitor.update(None, 1)
    with pytest.raises(ValueError, match="same length"):
        monitor.update_many([1, 0], [1])
    assert math.isnan(monitor.metrics()["accuracy"])


# --------------------------------------------------------------------------- delayed labels


def _by_the_rules(predictions, labels, max_delay, as_of):
    """Each prediction's status, read one row at a time from the rules in the docstring."""
    arrived = {row.id: row.time for row in labels.itertuples() if row.time <= as_of}
    statuses = {}
    for row in predictions.itertuples():
        if row.time > as_of:
            continue
        if row.id in arrived:
            statuses[row.id] = "labelled" if arrived[row.id] - row.time <= max_delay else "late"
        else:
            statuses[row.id] = "pending" if as_of - row.time <= max_delay else "missing"
    return statuses


@pytest.mark.parametrize("as_of", [5, 20, 40, 100])
def test_join_statuses_follow_the_rules_row_by_row(as_of):
    rng = np.random.default_rng(as_of)
    n = 300
    predictions = pd.DataFrame({"id": rng.permutation(n), "time": rng.integers(0, 60, n), "prediction": rng.integers(0, 2, n)})
    came = rng.random(n) < 0.8
    labels = pd.DataFrame({
        "id": predictions["id"][came],
        "time": predictions["time"][came] + rng.exponential(6, came.sum()).round(1),
        "label": rng.integers(0, 2, came.sum()),
    }).sample(frac=1, random_state=1)  # fmt: skip
    joined = join_delayed_labels(predictions, labels, key="id", max_delay=10, as_of=as_of)
    expected = _by_the_rules(predictions, labels, 10, as_of)
    assert dict(zip(joined.table["id"], joined.table["status"].astype(str))) == expected
    assert joined.counts["labelled"] == sum(s == "labelled" for s in expected.values())
    assert joined.coverage == pytest.approx(joined.counts["labelled"] / len(expected))
    assert set(joined.missing["id"]) == {k for k, s in expected.items() if s in ("late", "missing")}
    labelled = joined.table[joined.table["status"] == "labelled"].set_index("id")
    truth = labels.set_index("id")
    assert (labelled["label"] == truth.loc[labelled.index, "label"]).all()


def test_join_with_datetimes_and_orphan_labels():
    start = pd.Timestamp("2026-01-01")
    predictions = pd.DataFrame({"order": ["a", "b", "c"], "time": start + pd.to_timedelta([0, 1, 2], unit="D")})
    labels = pd.DataFrame({
        "order": ["a", "c", "zz"], "time": start + pd.to_timedelta([3, 20, 4], unit="D"), "label": [1, 0, 1],
    })  # fmt: skip
    joined = join_delayed_labels(predictions, labels, key="order", max_delay=pd.Timedelta(days=7))
    assert list(joined.table["status"].astype(str)) == ["labelled", "missing", "late"]
    assert joined.orphan_labels == 1 and joined.coverage == pytest.approx(1 / 3)


def test_join_rejects_bad_tables():
    predictions = pd.DataFrame({"id": [1, 2], "time": [0, 1]})
    labels = pd.DataFrame({"id": [1, 2], "time": [2, 3], "label": [0, 1]})
    with pytest.raises(ValueError, match="predictions has 1 duplicated"):
        join_delayed_labels(pd.DataFrame({"id": [1, 1], "time": [0, 1]}), labels, key="id", max_delay=5)
    with pytest.raises(ValueError, match="labels has no column 'label'"):
        join_delayed_labels(predictions, labels.drop(columns="label"), key="id", max_delay=5)
    with pytest.raises(ValueError, match="arrive before their prediction"):
        join_delayed_labels(predictions, labels.assign(time=[-1, 3]), key="id", max_delay=5)
    with pytest.raises(ValueError, match="max_delay must not be negative"):
        join_delayed_labels(predictions, labels, key="id", max_delay=-1)
    with pytest.raises(TypeError, match="max_delay must be a number"):
        join_delayed_labels(predictions, labels, key="id", max_delay="a week")
    with pytest.raises(TypeError, match="predictions must be a pandas DataFrame"):
        join_delayed_labels([1, 2], labels, key="id", max_delay=5)
    with pytest.raises(ValueError, match="missing values in its time column"):
        join_delayed_labels(predictions.assign(time=[0, None]), labels, key="id", max_delay=5)


# ------------------------------------------------------------------------ label-free estimate


def test_estimate_tracks_realised_accuracy_when_calibrated():
    rng = np.random.default_rng(11)
    p = rng.beta(2, 2, 20_000)
    labels = rng.random(p.size) < p  # calibrated by construction
    estimate = estimate_accuracy(p)
    realised = accuracy_score(labels, p >= 0.5)
    assert abs(estimate.accuracy - realised) < 4 * estimate.std_error
    assert estimate.accuracy == pytest.approx(np.mean(np.maximum(p, 1 - p)))


def test_estimate_with_other_thresholds_and_multiclass():
    p = np.array([0.3, 0.8, 0.1])
    assert estimate_accuracy(p, threshold=0.25).accuracy == pytest.approx((0.3 + 0.8 + 0.9) / 3)
    rng = np.random.default_rng(2)
    proba = rng.dirichlet([1, 1, 1], 5000)
    labels = np.array([rng.choice(3, p=row) for row in proba])
    estimate = estimate_accuracy(proba)
    assert abs(estimate.accuracy - accuracy_score(labels, proba.argmax(axis=1))) < 4 * estimate.std_error


@pytest.mark.parametrize(
    ("probabilities", "error", "message"),
    [
        ([0.2, 1.3], ValueError, "between 0 and 1"),
        ([0.2, float("nan")], ValueError, "NaN"),
        ([[0.5, 0.6]], ValueError, "sum to 1"),
        ([[1.0]], ValueError, "two columns"),
        ("0.5", TypeError, "probabilities must be"),
        ([], ValueError, "empty"),
    ],
)
def test_estimate_rejects_bad_probabilities(probabilities, error, message):
    with pytest.raises(error, match=message):
        estimate_accuracy(probabilities)
