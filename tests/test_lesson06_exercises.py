"""Lesson 06's exercises: the answer keys agree with the real tools (promtool evaluates the PromQL,
a simulation counts the false pages), answers written the way a learner would write them get the
right hint, and the YAML pack accepts any valid way of writing each artefact."""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest
import yaml

from conftest import require_tool
from course_lib import observability as obs
from course_lib.grading import answer_or_reference, check, get_exercise, run_cases
from course_lib.grading.exercises import lesson06

HINT = "install Prometheus (Debian: apt-get install --no-install-recommends prometheus), which brings promtool"


def _hints(exercise_id, answer):
    exercise = get_exercise(exercise_id)
    result = run_cases(exercise, answer, exercise.public_cases())
    assert result.status == "failed"
    return {outcome.hint for outcome in result.outcomes if not outcome.passed}


def _promtool_test(tmp_path, document: dict, rules: dict | None = None) -> subprocess.CompletedProcess:
    promtool = require_tool("promtool", HINT)
    if rules is not None:
        (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
        document = {"rule_files": ["rules.yml"], **document}
    else:
        document = {"rule_files": [], **document}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(document))
    return subprocess.run([promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=60)


# --- 06.histogram_quantile ----------------------------------------------------------------


@pytest.mark.parametrize("seed", [None, 1, 2])
def test_histogram_quantile_key_equals_prometheus_on_public_and_hidden_cases(tmp_path, seed):
    exercise = get_exercise("06.histogram_quantile")
    cases = exercise.public_cases() if seed is None else exercise.draw_hidden_cases(seed)
    tests = []
    for case in cases:
        q, bounds, counts = case.args
        series = [
            {"series": f'h_bucket{{le="{"+Inf" if b == math.inf else f"{b:g}"}"}}', "values": f"{c:g}x2"}
            for b, c in zip(bounds, counts)
        ]
        expected = exercise.expected_for(case)
        expr = f"histogram_quantile({q!r}, h_bucket)"
        if math.isnan(expected):
            # promtool 2.42 finds NaN unequal to NaN; only NaN is unequal to itself, so count that.
            expr, expected = f"count({expr} != {expr})", 1
        tests.append(
            {
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [{"expr": expr, "eval_time": "1m", "exp_samples": [{"labels": "{}", "value": expected}]}],
            }
        )
    result = _promtool_test(tmp_path, {"tests": tests})
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_learner_who_forgets_the_counts_are_cumulative_gets_that_hint():
    def quantile(q, upper_bounds, cumulative_counts):
        counts = np.asarray(cumulative_counts, float)
        if counts[-1] == 0:
            return float("nan")
        rank = q * counts[-1]
        i = int(np.searchsorted(counts, rank))
        if i == len(counts) - 1:
            return float(upper_bounds[-2])
        lower = 0.0 if i == 0 else upper_bounds[i - 1]
        return float(lower + (upper_bounds[i] - lower) * rank / counts[i])

    assert any("cumulative" in hint for hint in _hints("06.histogram_quantile", quantile))


def test_a_learner_returning_inf_or_zero_gets_those_hints():
    def quantile(q, upper_bounds, cumulative_counts):
        return obs.histogram_quantile(q, upper_bounds, cumulative_counts) if cumulative_counts[-1] else 0.0

    assert any("return nan" in hint for hint in _hints("06.histogram_quantile", quantile))

    def quantile_inf(q, upper_bounds, cumulative_counts):
        if cumulative_counts[-1] and q * cumulative_counts[-1] > cumulative_counts[-2]:
            return float("inf")
        return obs.histogram_quantile(q, upper_bounds, cumulative_counts)

    assert any("largest finite bound" in hint for hint in _hints("06.histogram_quantile", quantile_inf))


def test_a_list_or_array_result_is_refused_with_the_type():
    result = check("06.histogram_quantile", lambda q, b, c: np.array([obs.histogram_quantile(q, b, c)]), quiet=True)
    assert result.status == "failed" and "must return a float" in result.outcomes[0].detail


# --- 06.error_ratio_expr ------------------------------------------------------------------


def test_only_the_key_expression_gives_the_error_share_of_the_last_five_minutes(tmp_path):
    """A process that had an outage an hour ago, then restarted: over the last 5 minutes 4% of
    predictions fail. promtool evaluates every candidate; only the key gives 0.04."""
    minutes = 90
    # 1000 predictions a minute: an outage (half fail), then 10% failing, then 4% in the last 15.
    error_per_min = np.r_[np.full(30, 500), np.full(45, 100), np.full(15, 40)]
    success_per_min = 1000 - error_per_min
    success, error = np.r_[0, success_per_min.cumsum()], np.r_[0, error_per_min.cumsum()]
    restart = 45  # counters reset
    success[restart:] -= success[restart]
    error[restart:] -= error[restart]
    series = [
        {"series": 'model_predictions_total{model_version="v1",status="success"}', "values": " ".join(str(int(v)) for v in success)},
        {"series": 'model_predictions_total{model_version="v1",status="error"}', "values": " ".join(str(int(v)) for v in error)},
    ]
    key = lesson06.error_ratio_expr_answer().upper()
    check_value = {"interval": "1m", "input_series": series, "promql_expr_test": [{"expr": lesson06.ERROR_RATIO_CHOICES[key], "eval_time": f"{minutes}m", "exp_samples": [{"labels": "{}", "value": 0.04}]}]}
    assert _promtool_test(tmp_path, {"tests": [check_value]}).returncode == 0
    for label, expr in lesson06.ERROR_RATIO_CHOICES.items():
        if label == key:
            continue
        wrong = {"interval": "1m", "input_series": series, "promql_expr_test": [{"expr": expr, "eval_time": f"{minutes}m", "exp_samples": [{"labels": "{}", "value": 0.04}]}]}
        assert _promtool_test(tmp_path, {"tests": [wrong]}).returncode != 0, f"{label} also gives 0.04"


def test_error_ratio_answer_is_normalised_and_each_wrong_choice_has_its_own_hint(capsys):
    assert answer_or_reference("06.error_ratio_expr", " E3") == "e3"
    hints = {label: _hints("06.error_ratio_expr", label) for label in ("E1", "E2", "E4")}
    assert len({frozenset(h) for h in hints.values()}) == 3
    assert "successes" in next(iter(hints["E1"])) and "per second" in next(iter(hints["E2"]))


# --- 06.for_duration ----------------------------------------------------------------------


def _simulated_pages(p_breach: float, for_minutes: int, months: int, rng) -> float:
    """Pages per 30 days when every minute breaches with probability p: Prometheus fires once per
    run of at least for/interval + 1 true evaluations."""
    breaches = rng.random(43200 * months) < p_breach
    k = for_minutes + 1
    edges = np.diff(np.r_[0, breaches.astype(np.int8), 0])
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return np.count_nonzero(lengths >= k) / months


def test_expected_false_alerts_matches_a_simulation_of_binomial_accuracy():
    rng = np.random.default_rng(2024)
    setting = lesson06.FOR_SETTING
    # The breach probability from simulated accuracy measurements, not from the formula.
    correct = rng.binomial(setting["labelled_per_minute"], setting["true_accuracy"], 400_000)
    p_simulated = np.mean(correct / setting["labelled_per_minute"] < setting["threshold"])
    p = obs.breach_probability(setting["true_accuracy"], setting["threshold"], setting["labelled_per_minute"])
    assert p_simulated == pytest.approx(p, abs=0.002)
    for minutes, months in ((0, 2), (1, 4), (2, 40)):
        expected = obs.expected_false_alerts(p, f"{minutes}m")
        assert _simulated_pages(p, minutes, months, rng) == pytest.approx(expected, rel=0.12)


def test_prometheus_needs_for_plus_one_true_evaluations(tmp_path):
    """The off-by-one the exercise's hint names, checked with the real rule engine."""
    rules = {"groups": [{"name": "g", "rules": [{"alert": "Low", "expr": "m < 0.85", "for": "2m"}]}]}
    two = {"interval": "1m", "input_series": [{"series": "m", "values": "0.9 0.8 0.8 0.9 0.9"}],
           "alert_rule_test": [{"eval_time": t, "alertname": "Low", "exp_alerts": []} for t in ("1m", "2m", "3m")]}
    three = {"interval": "1m", "input_series": [{"series": "m", "values": "0.9 0.8 0.8 0.8 0.9"}],
             "alert_rule_test": [{"eval_time": "2m", "alertname": "Low", "exp_alerts": []},
                                 {"eval_time": "3m", "alertname": "Low", "exp_alerts": [{"exp_labels": {}}]}]}
    result = _promtool_test(tmp_path, {"tests": [two, three]}, rules)
    assert result.returncode == 0, result.stdout + result.stderr


def test_for_duration_key_is_the_shortest_under_budget_and_the_trap_is_real():
    answer = lesson06.for_duration_answer()
    pages = {choice: lesson06._false_pages(choice) for choice in lesson06.FOR_CHOICES}
    assert pages[answer] < 1 <= pages[lesson06.FOR_CHOICES[lesson06.FOR_CHOICES.index(answer) - 1]]
    assert lesson06._for_off_by_one() != answer, "the off-by-one count must lead to another choice"
    assert check("06.for_duration", "180s", quiet=True).status == "passed"
    assert any("N + 1" in hint for hint in _hints("06.for_duration", lesson06._for_off_by_one()))


# --- 06.yaml_pack -------------------------------------------------------------------------

HAND_WRITTEN_PACK = {
    "alert_rules": """
groups:
- name: model
  rules:
  - alert: AccuracyBelowSLA
    expr: 0.85 > model_accuracy
    for: 600s
    labels: {severity: critical, team: ml}
""",
    "drift_config": """
features:
  - {name: tenure_months, type: numeric, method: wasserstein, threshold: 0.1}
  - {name: monthly_charges, type: numeric, method: ks, threshold: 0.01}
  - {name: plan, type: categorical, method: chi2, threshold: 0.01}
checks:
  missing_values: {columns: [tenure_months, monthly_charges, plan], max_share: 0.02}
""",
    "cloudevent": """
specversion: "1.0"
id: "42"
source: https://monitor.example.com/churn
type: ml.performance.degraded
time: 2026-03-01T10:00:00Z
data: {metric: accuracy, value: 0.79, threshold: 0.85, model_version: "7"}
""",
    "workflow": """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: redeploy}
spec:
  entrypoint: deploy
  templates:
  - name: deploy
    container: {image: "python:3.12", command: [python, /app/deploy.py]}
""",
    "sensor": """
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: on-degraded}
spec:
  dependencies:
  - name: ev
    eventSourceName: webhook
    eventName: monitor
    filters:
      data: [{path: body.type, type: string, value: [ml.performance.degraded]}]
  triggers:
  - template:
      name: run
      argoWorkflow:
        operation: submit
        source:
          resource:
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: redeploy-}
            spec:
              entrypoint: deploy
              templates:
              - name: deploy
                container: {image: "python:3.12", command: [python, deploy.py]}
""",
}


def test_a_hand_written_pack_in_other_words_passes():
    assert obs.check_yaml_pack(HAND_WRITTEN_PACK) == {name: "ok" for name in obs.YAML_PACK_ENTRIES}
    assert check("06.yaml_pack", HAND_WRITTEN_PACK, quiet=True).status == "passed"


@pytest.mark.parametrize(
    "entry, old, new, found",
    [
        ("alert_rules", "0.85 > model_accuracy", "model_accuracy >= 0.85", "above its threshold"),
        ("alert_rules", "0.85 > model_accuracy", "0.8 > model_accuracy", "threshold is 0.8"),
        ("alert_rules", "for: 600s", "for: 10 minutes", "not a Prometheus duration"),
        ("alert_rules", "severity: critical", "severity: page", "severity label is 'page'"),
        ("drift_config", "monthly_charges, type: numeric, method: ks", "monthly_charges, type: categorical, method: psi", "1 numeric feature"),
        ("drift_config", "method: wasserstein", "method: chi2", "does not follow its schema at features[0]"),
        ("drift_config", "columns: [tenure_months, monthly_charges, plan]", "columns: [plan]", "does not cover tenure_months, monthly_charges"),
        ("cloudevent", 'specversion: "1.0"\n', "", "lacks the required attribute(s) specversion"),
        ("cloudevent", "model_version: \"7\"", "version: \"7\"", "data must hold"),
        ("cloudevent", 'id: "42"', "id: 42", "Attribute 'id' must be a <class 'str'>"),
        ("workflow", "deploy.py", "train.py", "runs deploy.py"),
        ("workflow", "kind: Workflow", "kind: Job", "kind"),
        ("sensor", "value: [ml.performance.degraded]", "value: [ml.performance.degrade]", "does not filter"),
        ("sensor", "command: [python, deploy.py]", "command: [python, serve.py]", "no step running deploy.py"),
        ("sensor", "operation: submit", "operation: launch", "operation"),
    ],
)
def test_each_problem_is_found_in_its_entry_only(entry, old, new, found):
    pack = dict(HAND_WRITTEN_PACK)
    assert old in pack[entry]
    pack[entry] = pack[entry].replace(old, new)
    result = obs.check_yaml_pack(pack)
    assert found in result[entry], result[entry]
    assert all(value == "ok" for name, value in result.items() if name != entry)


def test_broken_yaml_and_wrong_types_are_explained():
    pack = {**HAND_WRITTEN_PACK, "alert_rules": "groups: [", "cloudevent": {"type": "ml.performance.degraded"}}
    result = obs.check_yaml_pack(pack)
    assert result["alert_rules"].startswith("the rule file is not valid YAML")
    assert result["cloudevent"] == "the CloudEvent must be YAML text (a string); got dict"
    with pytest.raises(TypeError, match="dict with the keys"):
        obs.check_yaml_pack(["alert_rules"])


def test_every_known_pack_mistake_still_passes_promtool_so_the_checker_is_needed(tmp_path):
    """promtool checks syntax; the semantic mistakes of the pack are valid rule files."""
    promtool = require_tool("promtool", HINT)
    exercise = get_exercise("06.yaml_pack")
    packs = [obs.yaml_pack(), *(mistake.wrong() for mistake in exercise.mistakes)]
    for index, pack in enumerate(packs):
        path = tmp_path / f"rules{index}.yml"
        path.write_text(pack["alert_rules"])
        result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
    path = tmp_path / "hand.yml"
    path.write_text(HAND_WRITTEN_PACK["alert_rules"])
    assert subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, timeout=60).returncode == 0


def test_a_failing_pack_hands_the_reference_pack_to_later_cells(capsys):
    passed_on = answer_or_reference("06.yaml_pack", {"alert_rules": "groups: []"})
    assert passed_on == obs.yaml_pack()
    assert "reference solution" in capsys.readouterr().out
