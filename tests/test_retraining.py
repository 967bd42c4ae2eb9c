"""course_lib.retraining: policy decisions on crafted signal sequences, the seed's rule and queue,
the model registry (hash check, atomic writes, two writer processes), and the policy simulation
(deterministic per seed, logistic fit equal to scikit-learn's)."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from conftest import ROOT
from course_lib import drift, retraining
from course_lib.retraining import (
    ModelRegistry,
    RegistryIntegrityError,
    RetrainingPolicy,
    Signals,
    budget_allows,
    enqueue_retraining_tasks,
    fit_logistic,
    make_policy_stream,
    retrain_days,
    should_trigger_retraining,
    simulate_policies,
    standard_policies,
)
from course_lib.simulate import FEATURES, make_tabular

# --- signals ----------------------------------------------------------------------------------


def test_unknown_signal_names_are_rejected_with_a_suggestion():
    with pytest.raises(ValueError, match=r"unknown signal name 'latency' \(did you mean 'latency_p95'\?\)"):
        Signals.from_mapping({"latency": 0.3})
    with pytest.raises(ValueError, match="unknown signal name 'mood'; known signals: drift_scores"):
        RetrainingPolicy(min_accuracy=0.8).decide({"mood": 1}, now=0)
    with pytest.raises(TypeError):
        Signals(acuracy=0.8)  # the dataclass itself refuses unknown keywords


@pytest.mark.parametrize(
    "values, error, message",
    [
        ({"accuracy": 1.2}, ValueError, "accuracy must be a finite number <= 1"),
        ({"accuracy": float("nan")}, ValueError, "accuracy must be a finite number"),
        ({"latency_p95": -0.1}, ValueError, "latency_p95 must be a finite number >= 0"),
        ({"n_samples": 10.5}, TypeError, "n_samples must be an integer"),
        ({"drift_scores": {"age": -1}}, ValueError, r"drift_scores\['age'\] must be a finite number >= 0"),
        ({"drift_scores": [0.1, 0.2]}, TypeError, "drift_scores must be a mapping"),
        ({"data_quality_ok": "yes"}, TypeError, "data_quality_ok must be True or False"),
        ({"time_since_retrain": "3 days"}, TypeError, "time_since_retrain must be a duration"),
    ],
)
def test_bad_signal_values_raise_clear_errors(values, error, message):
    with pytest.raises(error, match=message):
        Signals(**values)


def test_signals_from_a_real_drift_report_use_its_effect_sizes():
    reference = make_tabular(800, seed=1)
    current = make_tabular(800, covariate_shift=0.8, seed=2)
    report = drift.drift_report(reference, current, columns=list(FEATURES))
    signals = Signals.from_drift_report(report, accuracy=0.8)
    assert set(signals.drift_scores) == set(FEATURES)
    table = report.table.set_index("column")
    for column, score in signals.drift_scores.items():
        assert score == pytest.approx(table.loc[column, "effect_size"])
    assert signals.data_quality_ok and signals.accuracy == 0.8
    # A column that vanished is a broken pipeline, not drift.
    broken = drift.drift_report(reference, current.drop(columns=["age"]), columns=list(FEATURES))
    assert not Signals.from_drift_report(broken).data_quality_ok
    with pytest.raises(TypeError, match="DriftReport"):
        Signals.from_drift_report({"age": 0.3})


# --- policy: bad inputs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"min_accuracy": -0.1}, ValueError, "min_accuracy must be a finite number >= 0"),
        ({"max_latency": -1}, ValueError, "max_latency must be a finite number >= 0"),
        ({"drift_threshold": -0.2}, ValueError, "drift_threshold must be a finite number >= 0"),
        ({"drift_share": 0}, ValueError, "drift_share must be a finite number > 0"),
        ({"drift_share": 1.5}, ValueError, "drift_share must be a finite number <= 1"),
        ({"cooldown": "7 days"}, TypeError, "cooldown must be a duration"),
        ({"cooldown": [7]}, TypeError, "cooldown must be a duration"),
        ({"cooldown": -1}, ValueError, "cooldown must be a finite, non-negative duration"),
        ({"cooldown": dt.timedelta(days=-1)}, ValueError, "cooldown must be a finite, non-negative duration"),
        ({"every": 0}, ValueError, "every must be a positive duration"),
        ({"every": "monthly"}, TypeError, "every must be a duration"),
        ({"max_retrains": 2}, ValueError, "max_retrains and budget_period go together"),
        ({"max_retrains": 0, "budget_period": 30}, ValueError, "max_retrains must be an integer >= 1"),
        ({"hysteresis": "yes"}, TypeError, "hysteresis must be True or False"),
        ({"min_samples": -5}, ValueError, "min_samples must be an integer >= 0"),
        ({"last_retrain": "yesterday"}, TypeError, "last_retrain must be a time"),
    ],
)
def test_bad_policy_settings_raise_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        RetrainingPolicy(**kwargs)


def test_time_must_not_go_back_nor_change_kind():
    policy = RetrainingPolicy(min_accuracy=0.8)
    policy.decide(Signals(accuracy=0.9), now=5)
    with pytest.raises(ValueError, match="must not go back in time"):
        policy.decide(Signals(accuracy=0.9), now=4)
    with pytest.raises(TypeError, match="now must be a number"):
        policy.decide(Signals(accuracy=0.9), now=dt.datetime(2026, 1, 1))
    with pytest.raises(TypeError, match="now must be a time"):
        policy.decide(Signals(accuracy=0.9), now="2026-01-01")


# --- policy: crafted signal sequences -----------------------------------------------------------


def _run(policy, sequence):
    """Days on which the policy retrains, for a list of (day, Signals)."""
    return [day for day, signals in sequence if policy.decide(signals, now=day).retrain]


LOW = Signals(accuracy=0.70, n_samples=1000)
HIGH = Signals(accuracy=0.85, n_samples=1000)


def test_cooldown_is_respected_and_its_boundary_is_inclusive():
    policy = RetrainingPolicy(min_accuracy=0.78, cooldown=7, hysteresis=False)
    assert _run(policy, [(day, LOW) for day in range(0, 20)]) == [0, 7, 14]
    decision = RetrainingPolicy(min_accuracy=0.78, cooldown=7, last_retrain=0).decide(LOW, now=3)
    assert not decision.retrain and decision.blocked_by == ("cooldown",)
    assert "blocked: cooldown, 3 days since the last retrain < 7" in decision.reasons


def test_hysteresis_holds_a_persistent_trigger_until_it_clears():
    policy = RetrainingPolicy(min_accuracy=0.78, cooldown=7)
    sequence = [(day, LOW) for day in range(0, 30)] + [(30, HIGH)] + [(day, LOW) for day in range(31, 35)]
    assert _run(policy, sequence) == [0, 31]
    held = RetrainingPolicy(min_accuracy=0.78)
    held.decide(LOW, now=0)
    decision = held.decide(LOW, now=1)
    assert not decision.retrain and decision.blocked_by == ("hysteresis",)
    assert "held: accuracy has not cleared since the last retrain" in decision.reasons


def test_an_unmeasured_signal_rearms_its_trigger():
    # A new model has no labelled accuracy until its labels arrive: the next drop is a new episode.
    policy = RetrainingPolicy(min_accuracy=0.78)
    assert _run(policy, [(0, LOW), (1, LOW), (2, Signals(n_samples=1000)), (3, LOW)]) == [0, 3]


def test_a_trigger_blocked_by_the_cooldown_stays_armed():
    policy = RetrainingPolicy(max_drift_score=0.5, cooldown=5)
    scores = [0.6, 0.1, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]
    sequence = [(day, Signals(drift_scores={"x": s})) for day, s in enumerate(scores)]
    assert _run(policy, sequence) == [0, 5]


def test_budget_caps_retrains_per_trailing_period():
    policy = RetrainingPolicy(min_accuracy=0.78, hysteresis=False, max_retrains=2, budget_period=30)
    days = _run(policy, [(day, LOW) for day in range(0, 70)])
    assert days == [0, 1, 30, 31, 60, 61]
    blocked = policy.decide(LOW, now=70)
    assert blocked.blocked_by == ("budget",) and "2 retrains in the last 30 days" in blocked.reasons[-1]


def test_a_broken_pipeline_blocks_retraining_and_raises_an_alert():
    policy = RetrainingPolicy(min_accuracy=0.78, max_drift_score=0.3, min_label_coverage=0.5)
    bad_data = Signals(accuracy=0.6, drift_scores={"income": 9.0}, data_quality_ok=False)
    decision = policy.decide(bad_data, now=0)
    assert not decision.retrain and "data_quality" in decision.blocked_by
    assert decision.alerts and "data-quality check failed" in decision.alerts[0]
    no_labels = Signals(accuracy=0.6, label_coverage=0.1)
    decision = policy.decide(no_labels, now=1)
    assert not decision.retrain and decision.blocked_by == ("labels",)
    assert "labels missing: coverage 0.10 < 0.5" in decision.alerts
    # The alert fires even when nothing would have triggered, and the trigger stays armed.
    quiet = policy.decide(Signals(accuracy=0.9, data_quality_ok=False), now=2)
    assert not quiet.retrain and quiet.alerts and quiet.blocked_by == ()
    assert policy.decide(Signals(accuracy=0.6, label_coverage=0.9), now=3).retrain


def test_min_samples_blocks_thin_evidence():
    policy = RetrainingPolicy(min_accuracy=0.78, min_samples=500)
    assert policy.decide(Signals(accuracy=0.6, n_samples=120), now=0).blocked_by == ("min_samples",)
    assert policy.decide(Signals(accuracy=0.6), now=1).blocked_by == ("min_samples",)
    assert policy.decide(Signals(accuracy=0.6, n_samples=500), now=2).retrain


def test_schedule_counts_from_the_first_call_or_the_last_retrain():
    policy = RetrainingPolicy(every=30)
    assert _run(policy, [(day, Signals()) for day in range(10, 100)]) == [40, 70]
    outside = RetrainingPolicy(every=30).decide(Signals(time_since_retrain=31), now=5)
    assert outside.retrain and outside.triggers == ("schedule",)


def test_drift_share_and_score_triggers():
    scores = {"a": 0.4, "b": 0.05, "c": 0.2, "d": 0.0}
    assert RetrainingPolicy(drift_share=0.5, drift_threshold=0.2).decide(Signals(drift_scores=scores), 0).retrain
    assert not RetrainingPolicy(drift_share=0.75, drift_threshold=0.2).decide(Signals(drift_scores=scores), 0).retrain
    assert RetrainingPolicy(max_drift_score=0.4).decide(Signals(drift_scores=scores), 0).triggers == ("drift_score",)
    assert not RetrainingPolicy(max_drift_score=0.41).decide(Signals(drift_scores=scores), 0).retrain


def test_latency_error_business_and_accuracy_drop_triggers():
    policy = RetrainingPolicy(max_latency=0.5, max_error_rate=0.02, min_business_metric=100, max_accuracy_drop=0.05)
    signals = Signals(latency_p95=0.6, error_rate=0.03, business_metric=90, accuracy=0.70, expected_accuracy=0.80)
    assert set(policy.decide(signals, 0).triggers) == {"latency", "error_rate", "business_metric", "accuracy_drop"}
    fine = Signals(latency_p95=0.5, error_rate=0.02, business_metric=100, accuracy=0.76, expected_accuracy=0.80)
    assert RetrainingPolicy(max_latency=0.5, max_error_rate=0.02, min_business_metric=100,
                            max_accuracy_drop=0.05).decide(fine, 0).triggers == ()


def test_datetimes_and_timedeltas_behave_like_days():
    start = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    policy = RetrainingPolicy(min_accuracy=0.78, cooldown=dt.timedelta(days=7), hysteresis=False)
    days = [day for day in range(20) if policy.decide(LOW, now=start + dt.timedelta(days=day)).retrain]
    assert days == [0, 7, 14]


def test_reset_forgets_history_and_repr_is_readable():
    policy = RetrainingPolicy(min_accuracy=0.78, cooldown=7)
    policy.decide(LOW, now=0)
    assert policy.retrain_times == (0.0,)
    policy.reset()
    assert policy.retrain_times == () and policy.decide(LOW, now=1).retrain
    assert repr(policy) == "RetrainingPolicy(min_accuracy=0.78, cooldown=7.0)"
    assert repr(RetrainingPolicy(every=30, hysteresis=False)) == "RetrainingPolicy(every=30.0, hysteresis=False)"
    assert repr(RetrainingPolicy()) == "RetrainingPolicy()"


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=0, max_size=60),
    st.floats(0.05, 0.95),
    st.integers(0, 10),
)
def test_the_policy_agrees_with_the_exercise_rule(scores, threshold, cooldown):
    """RetrainingPolicy with one score trigger = retrain_days with clear_below = threshold."""
    policy = RetrainingPolicy(max_drift_score=threshold, cooldown=cooldown)
    days = [day for day, score in enumerate(scores) if policy.decide(Signals(drift_scores={"x": score}), now=day).retrain]
    assert days == retrain_days(scores, threshold=threshold, clear_below=threshold, cooldown=cooldown)


# --- the exercise rules -------------------------------------------------------------------------


def test_retrain_days_cooldown_hysteresis_and_nan():
    nan = math.nan
    assert retrain_days([], threshold=0.5, clear_below=0.2, cooldown=3) == []
    assert retrain_days([0.6, 0.6, 0.6, 0.6], threshold=0.5, clear_below=0.2, cooldown=1) == [0]
    assert retrain_days([0.6, 0.1, 0.6, 0.1, 0.6], threshold=0.5, clear_below=0.2, cooldown=3) == [0, 4]
    assert retrain_days([0.6, 0.3, 0.6], threshold=0.5, clear_below=0.2, cooldown=0) == [0]
    assert retrain_days([0.6, nan, 0.6, 0.1, nan, 0.7], threshold=0.5, clear_below=0.2, cooldown=0) == [0, 5]
    with pytest.raises(ValueError, match="clear_below must be a finite number <= 0.5"):
        retrain_days([0.1], threshold=0.5, clear_below=0.6, cooldown=1)
    with pytest.raises(TypeError, match="cooldown must be an integer"):
        retrain_days([0.1], threshold=0.5, clear_below=0.2, cooldown=1.5)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 100), max_size=15), st.integers(0, 120), st.integers(1, 5), st.integers(1, 60))
def test_budget_allows_equals_a_brute_force_count(times, now, max_retrains, period):
    recent = [t for t in times if now - period < t <= now]
    assert budget_allows(times, now, max_retrains=max_retrains, period=period) == (len(recent) < max_retrains)


def test_budget_allows_checks_its_arguments():
    with pytest.raises(ValueError, match="period must be a finite number > 0"):
        budget_allows([1], 5, max_retrains=1, period=0)
    with pytest.raises(ValueError, match="max_retrains must be an integer >= 1"):
        budget_allows([1], 5, max_retrains=0, period=3)


# --- the seed's rule and queue ------------------------------------------------------------------


def test_seed_rule_fires_on_drift_low_accuracy_or_high_latency_with_strict_bounds():
    assert not should_trigger_retraining({"age": False}, accuracy=0.78, latency=0.5).retrain
    assert should_trigger_retraining({"age": False}, accuracy=0.7799, latency=0.5).triggers == ("accuracy",)
    assert should_trigger_retraining({"age": False}, accuracy=0.9, latency=0.5001).triggers == ("latency",)
    assert should_trigger_retraining({"age": True}, accuracy=None, latency=None).triggers == ("drift:age",)
    with pytest.raises(ValueError, match="accuracy must be a finite number <= 1"):
        should_trigger_retraining({}, accuracy=78, latency=0.1)
    with pytest.raises(TypeError, match="report must be a DriftReport"):
        should_trigger_retraining(["age"], accuracy=0.9, latency=0.1)


def test_seed_rule_reads_real_reports_and_the_queue_floods():
    reference = make_tabular(800, seed=3)
    reports = {f"day {day}": drift.drift_report(reference, make_tabular(800, covariate_shift=0.8, seed=10 + day),
                                                columns=list(FEATURES)) for day in range(5)}  # fmt: skip
    decision = should_trigger_retraining(reports["day 0"], accuracy=0.8, latency=0.2)
    assert decision.triggers == tuple(f"drift:{name}" for name in reports["day 0"].drifted)
    queue = enqueue_retraining_tasks(reports, accuracy=0.75, latency=[0.2, 0.2, 0.9, 0.2, 0.2])
    expected = sum(len(report.drifted) for report in reports.values()) + 5 + 1
    assert len(queue) == expected >= 20
    assert {task.feature for task in queue if task.feature} == set().union(*(r.drifted for r in reports.values()))
    table = drift.detect_drift_across_features(reference, make_tabular(800, covariate_shift=0.8, seed=30))
    assert len(enqueue_retraining_tasks([table], accuracy=0.9, latency=0.1)) == int(table["drifted"].sum())
    with pytest.raises(ValueError, match=r"latency must be one number, or one per report \(5\)"):
        enqueue_retraining_tasks(reports, accuracy=0.9, latency=[0.1])


# --- the registry -----------------------------------------------------------------------------


def test_registry_round_trip_with_a_scikit_learn_model(tmp_path):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 3)), rng.integers(0, 2, 200)
    model = LogisticRegression().fit(x, y)
    registry = ModelRegistry(tmp_path / "registry")
    version = registry.register("churn", model, metrics={"accuracy": 0.81}, tags={"owner": "ml"},
                                training_data={"days": [0, 27], "rows": 200})  # fmt: skip
    assert (version.version, version.stage) == (1, "candidate")
    loaded = registry.load("churn", 1)
    assert np.array_equal(loaded.predict_proba(x), model.predict_proba(x))
    index = json.loads((tmp_path / "registry" / "registry.json").read_text())
    record = index["models"]["churn"]["versions"][0]
    assert record["metrics"] == {"accuracy": 0.81} and record["training_data"]["rows"] == 200
    assert "\n  " in (tmp_path / "registry" / "registry.json").read_text(), "the index is indented for people"
    import hashlib

    assert record["sha256"] == hashlib.sha256((tmp_path / "registry" / record["file"]).read_bytes()).hexdigest()


def test_promote_rollback_and_versions(tmp_path):
    registry = ModelRegistry(tmp_path)
    for weight in (1, 2, 3):
        registry.register("churn", {"w": weight}, metrics={"accuracy": 0.7 + weight / 100})
    with pytest.raises(ValueError, match="no production version yet"):
        registry.load("churn")
    registry.promote("churn", 1)
    registry.promote("churn", 3)
    assert registry.load("churn") == {"w": 3}
    assert registry.versions("churn")["stage"].tolist() == ["archived", "candidate", "production"]
    assert registry.rollback("churn").version == 1
    assert registry.load("churn") == {"w": 1}
    assert registry.versions("churn")["stage"].tolist() == ["production", "candidate", "rolled_back"]
    with pytest.raises(ValueError, match="no earlier production version"):
        registry.rollback("churn")
    assert registry.promote("churn", 3).stage == "production"
    assert registry.get("churn", "latest").version == 3 and registry.load("churn", "latest") == {"w": 3}
    with pytest.raises(ValueError, match=r"has no version 9; versions: \[1, 2, 3\]"):
        registry.load("churn", 9)
    with pytest.raises(ValueError, match="no model named 'fraud'"):
        registry.load("fraud")


def test_a_tampered_or_replaced_model_file_is_never_loaded(tmp_path):
    registry = ModelRegistry(tmp_path)
    version = registry.register("churn", {"w": 1})
    path = tmp_path / version.file
    data = bytearray(path.read_bytes())
    data[-2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RegistryIntegrityError, match="corrupted or replaced, so it is not loaded"):
        registry.load("churn", 1)
    path.write_bytes(pickle.dumps({"w": "evil"}))  # a valid pickle, but not the registered one
    with pytest.raises(RegistryIntegrityError, match="SHA-256"):
        registry.load("churn", 1)
    path.unlink()
    with pytest.raises(RegistryIntegrityError, match="is missing"):
        registry.load("churn", 1)
    (tmp_path / "registry.json").write_text("{not json")
    with pytest.raises(RegistryIntegrityError, match="not valid JSON"):
        registry.load("churn", 1)


def test_registry_bad_inputs(tmp_path):
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    with pytest.raises(ValueError, match="is a file; a model registry is a folder"):
        ModelRegistry(afile)
    with pytest.raises(TypeError, match="path must be a folder path"):
        ModelRegistry(3)
    registry = ModelRegistry(tmp_path / "r")
    with pytest.raises(ValueError, match="name must be 1-100 letters"):
        registry.register("../escape", {})
    with pytest.raises(TypeError, match="model cannot be pickled"):
        registry.register("churn", lambda x: x)
    with pytest.raises(ValueError, match=r"metrics\['auc'\] must be a finite number"):
        registry.register("churn", {}, metrics={"auc": float("nan")})
    with pytest.raises(TypeError, match="training_data must be JSON-serialisable"):
        registry.register("churn", {}, training_data={"rows": object()})
    with pytest.raises(TypeError, match="tags must be a mapping of str to str"):
        registry.register("churn", {}, tags={"n": 1})
    assert registry.versions().empty, "rejected registrations leave nothing behind"


def test_writes_are_atomic_when_the_rename_fails(tmp_path, monkeypatch):
    registry = ModelRegistry(tmp_path)
    registry.register("churn", {"w": 1})
    before = (tmp_path / "registry.json").read_text()
    real_replace = os.replace

    def failing_replace(source, target):
        if str(target).endswith("registry.json"):
            raise OSError("disk full")
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        registry.register("churn", {"w": 2})
    monkeypatch.setattr(os, "replace", real_replace)
    assert (tmp_path / "registry.json").read_text() == before
    assert not list(tmp_path.rglob("*.tmp")), "no temporary file is left behind"
    assert registry.register("churn", {"w": 3}).version == 2
    assert registry.load("churn", 2) == {"w": 3}


_WRITER = textwrap.dedent(
    """
    import sys
    from course_lib.retraining import ModelRegistry
    registry = ModelRegistry(sys.argv[1])
    for i in range(int(sys.argv[3])):
        registry.register("churn", {"writer": sys.argv[2], "i": i}, tags={"writer": sys.argv[2]})
    """
)


def test_two_writer_processes_lose_nothing(tmp_path):
    per_writer = 25
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), name, str(per_writer)], env=env)
        for name in ("a", "b")
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    registry = ModelRegistry(tmp_path)
    table = registry.versions("churn")
    assert sorted(table["version"]) == list(range(1, 2 * per_writer + 1))
    loaded = [registry.load("churn", int(v)) for v in table["version"]]
    assert sorted((m["writer"], m["i"]) for m in loaded) == sorted((w, i) for w in "ab" for i in range(per_writer))


def test_without_fcntl_the_registry_still_works_for_one_process(tmp_path, monkeypatch):
    # As in Pyodide or on Windows: no inter-process lock, every write still atomic.
    monkeypatch.setitem(sys.modules, "fcntl", None)
    registry = ModelRegistry(tmp_path)
    assert [registry.register("churn", {"i": i}).version for i in range(3)] == [1, 2, 3]
    registry.promote("churn", 3)
    assert registry.load("churn") == {"i": 2}


# --- the simulation ---------------------------------------------------------------------------


def test_fit_logistic_equals_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(4)
    x = rng.normal(size=(3000, 4))
    y = (rng.random(3000) < 1 / (1 + np.exp(-(x @ [1.0, -0.5, 0.2, 0.0] + 0.3)))).astype(int)
    ours = fit_logistic(x, y, l2=1e-3)
    theirs = LogisticRegression(C=1 / (1e-3 * len(y)), tol=1e-10, max_iter=1000).fit(x, y)
    assert np.allclose(ours, np.r_[theirs.intercept_, theirs.coef_.ravel()], atol=1e-5)
    with pytest.raises(ValueError, match="features must be"):
        fit_logistic(x[:, 0], y)


@pytest.fixture(scope="module")
def small_stream():
    return make_policy_stream(120, rows_per_day=80, seed=5)


def test_the_simulation_is_deterministic_for_a_seed(small_stream):
    policies = standard_policies()
    first = simulate_policies(small_stream, policies, retrain_cost=100)
    again = simulate_policies(make_policy_stream(120, rows_per_day=80, seed=5), policies, retrain_cost=100)
    pd.testing.assert_frame_equal(first.summary, again.summary)
    pd.testing.assert_frame_equal(first.daily, again.daily)
    other = make_policy_stream(120, rows_per_day=80, seed=6)
    assert not np.array_equal(other.labels, small_stream.labels)
    assert all(policy.retrain_times == () for policy in policies.values()), "the policies passed in are not changed"


def test_the_simulated_drift_signal_is_lesson_02s_mean_shift(small_stream):
    """The drift share the simulation computes from daily sums equals compute_mean_drift on the rows."""
    result = simulate_policies(small_stream, {"never": RetrainingPolicy()}, retrain_cost=1)
    daily = result.daily.set_index("day")
    reference = small_stream.features[small_stream.day < 0]  # the first model's training days
    shares = []
    for day in (3, 34, 40, 95, 119):
        recent = small_stream.features[(small_stream.day > day - 7) & (small_stream.day <= day)]
        scores = [drift.compute_mean_drift(reference[:, j], recent[:, j]).score for j in range(reference.shape[1])]
        shares.append(float(np.mean(np.array(scores) >= 0.2)))
        assert daily.loc[day, "drift_share"] == pytest.approx(shares[-1])
    assert len(set(shares)) >= 3, f"the days checked should see different drift: {shares}"


def test_retrains_use_only_labelled_validated_days_of_the_window(small_stream):
    result = simulate_policies(small_stream, {"every 20": RetrainingPolicy(every=20)}, retrain_cost=1, train_window=28)
    days = result.daily.loc[result.daily["retrained"], "day"].tolist()
    schedule = small_stream.schedule
    usable = schedule["labels_arrive"] & schedule["data_quality_ok"]
    expected = 0
    for day in days:
        window = usable.loc[day - small_stream.label_delay - 27: day - small_stream.label_delay]
        expected += 80 * int(window.sum())
    # Day 100 falls in the data incident (days 99-100 at this length): blocked, done the day after.
    assert days == [20, 40, 60, 80, 101]
    assert not schedule.loc[100, "data_quality_ok"]
    assert not usable.loc[60:100].all(), "the windows should cross the outage or the incident"
    assert result.summary.loc["every 20", "training_labels"] == expected


def test_simulation_accounting(small_stream):
    result = simulate_policies(small_stream, {"never": RetrainingPolicy(), "monthly": RetrainingPolicy(every=30)},
                               retrain_cost=100, error_cost=2)  # fmt: skip
    summary = result.summary
    assert summary.loc["never", "retrains"] == 0 and summary.loc["monthly", "retrains"] == 3
    for name, row in summary.iterrows():
        assert row["total_cost"] == row["retrains"] * 100 + row["errors"] * 2
        daily = result.daily[result.daily["policy"] == name]
        assert len(daily) == 120 and daily["retrained"].sum() == row["retrains"]
        assert row["accuracy"] == pytest.approx(1 - row["errors"] / (120 * 80))
    assert summary.loc["monthly", "training_labels"] > 0 and summary.loc["monthly", "monitoring_labels"] == 0
    # The data incident fails the quality check: every policy alerts on each of its days.
    incident_days = int((~small_stream.schedule["data_quality_ok"]).sum())
    assert incident_days >= 2 and (summary["alert_days"] == incident_days).all()


def test_the_default_year_tells_the_lessons_story():
    stream = make_policy_stream(seed=0)
    result = simulate_policies(stream, standard_policies(), retrain_cost=200)
    never = result.daily[result.daily["policy"] == "never"].set_index("day")
    # Drift without decay (covariate drift: inputs move), decay without drift (concept drift).
    assert never.loc[110:150, "drift_share"].mean() > 0.8
    assert never.loc[240:360, "drift_share"].mean() < 0.1
    assert never.loc[240:360, "accuracy"].mean() < never.loc[0:80, "accuracy"].mean() - 0.08
    summary = result.summary
    assert summary.loc["performance", "accuracy"] > summary.loc["never", "accuracy"] + 0.03
    assert summary.loc["performance", "retrains"] < summary.loc["periodic", "retrains"]


def test_simulation_bad_inputs(small_stream):
    with pytest.raises(TypeError, match="stream must be a PolicyStream"):
        simulate_policies(np.zeros(5), standard_policies(), retrain_cost=1)
    with pytest.raises(TypeError, match=r"policies\['x'\] must be a RetrainingPolicy"):
        simulate_policies(small_stream, {"x": "weekly"}, retrain_cost=1)
    with pytest.raises(ValueError, match="retrain_cost must be a finite number >= 0"):
        simulate_policies(small_stream, standard_policies(), retrain_cost=-5)
    with pytest.raises(ValueError, match="days must be an integer >= 60"):
        make_policy_stream(30)
