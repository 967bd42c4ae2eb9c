"""Exercises of lesson 06, observability (references in :mod:`course_lib.observability`).

In the notebook's order: ``histogram_quantile`` (how Prometheus estimates a latency p95 from
buckets), ``error_ratio_expr`` (which PromQL expression the error-rate alert needs: a choice),
``for_duration`` (the ``for:`` clause for a given noise level: a decision by simulation) and
``yaml_pack`` (the seed's challenge: the whole retraining hand-off as YAML, every artefact
checked by a real validator).

Nothing heavy is imported at module level: case factories and wrong answers import numpy and
course_lib.observability when called, so listing these ids stays light.
"""

from __future__ import annotations

import math

from course_lib.grading.registry import Case, Exercise, Mistake, OneOf, register

# ---------------------------------------------------------------------------------------------
# 06.histogram_quantile: PromQL's histogram_quantile on cumulative buckets
# ---------------------------------------------------------------------------------------------

_INF = math.inf
_LESSON_BOUNDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, _INF]


def _hq_public() -> list[Case]:
    return [
        Case("the median inside a bucket", (0.5, [0.1, 0.5, 1.0, _INF], [10, 60, 90, 100])),
        Case("a p90 inside a bucket", (0.9, [0.1, 0.25, 0.5, 1.0, _INF], [30, 70, 85, 95, 100])),
        Case("a rank in the first bucket (it starts at 0)", (0.05, [0.1, 0.5, 1.0, _INF], [10, 60, 90, 100])),
        Case("a p99 whose rank falls in the +Inf bucket", (0.99, [0.1, 0.5, 1.0, _INF], [10, 60, 90, 100])),
        Case("a histogram with no observations yet", (0.95, [0.1, 0.5, 1.0, _INF], [0, 0, 0, 0])),
        Case(
            "the p95 of the lesson's latency histogram",
            (0.95, _LESSON_BOUNDS, [12, 150, 610, 1480, 1720, 1802, 1830, 1846, 1850, 1851]),
        ),
    ]


def _hq_hidden(rng) -> list[Case]:
    cases = []
    for _ in range(8):
        size = int(rng.integers(2, 10))
        bounds = sorted({round(float(b), 3) for b in rng.uniform(0.005, 10.0, size)})
        counts = [int(c) for c in rng.integers(0, 200, len(bounds) + 1).cumsum()]
        counts[-1] += 1
        q = round(float(rng.uniform(0.01, 0.999)), 3)
        cases.append(Case("random buckets", (q, [*bounds, _INF], counts)))
    cases.append(Case("empty", (float(rng.uniform(0.1, 0.9)), [0.1, 1.0, _INF], [0, 0, 0])))
    return cases


def _locate(q, bounds, counts):
    """Prometheus' bucket search: the first bucket whose cumulative count reaches the rank."""
    rank = q * counts[-1]
    index = next((i for i in range(len(bounds) - 1) if counts[i] >= rank), len(bounds) - 1)
    return rank, index


def _hq_no_interpolation(q, upper_bounds, cumulative_counts):
    bounds, counts = list(upper_bounds), list(cumulative_counts)
    if counts[-1] == 0:
        return math.nan
    rank, index = _locate(q, bounds, counts)
    return float(bounds[min(index, len(bounds) - 2)])


def _hq_infinite(q, upper_bounds, cumulative_counts):
    from course_lib.observability import histogram_quantile

    bounds, counts = list(upper_bounds), list(cumulative_counts)
    if counts[-1] and _locate(q, bounds, counts)[1] == len(bounds) - 1:
        return math.inf
    return histogram_quantile(q, bounds, counts)


def _hq_not_decumulated(q, upper_bounds, cumulative_counts):
    """Interpolates with the cumulative count of the bucket instead of the bucket's own count."""
    bounds, counts = list(upper_bounds), list(cumulative_counts)
    if counts[-1] == 0:
        return math.nan
    rank, index = _locate(q, bounds, counts)
    if index == len(bounds) - 1:
        return float(bounds[-2])
    start = 0.0 if index == 0 else bounds[index - 1]
    return start + (bounds[index] - start) * (rank / counts[index])


def _hq_zero_when_empty(q, upper_bounds, cumulative_counts):
    from course_lib.observability import histogram_quantile

    if list(cumulative_counts)[-1] == 0:
        return 0.0
    return histogram_quantile(q, upper_bounds, cumulative_counts)


register(
    Exercise(
        id="06.histogram_quantile",
        title="The q-quantile of a Prometheus histogram, as PromQL's histogram_quantile computes it",
        kind="function",
        reference="course_lib.observability:histogram_quantile",
        public_cases=_hq_public,
        hidden_cases=_hq_hidden,
        returns="float",
        mistakes=(
            Mistake(
                "you returned the upper bound of the bucket where the rank falls: Prometheus "
                "interpolates linearly inside that bucket, assuming its observations are spread "
                "evenly between the bucket's lower and upper bound.",
                wrong=_hq_no_interpolation,
            ),
            Mistake(
                "a rank in the +Inf bucket has no upper end to interpolate to: Prometheus returns "
                "the largest finite bound there, not infinity.",
                wrong=_hq_infinite,
            ),
            Mistake(
                "the counts are cumulative: inside bucket i, use the bucket's own count "
                "counts[i] - counts[i-1] and the rank minus counts[i-1], not the cumulative count.",
                wrong=_hq_not_decumulated,
            ),
            Mistake(
                "with no observations there is no quantile: return nan (float('nan')), as "
                "Prometheus does; 0 would read as an impossibly fast service.",
                wrong=_hq_zero_when_empty,
            ),
        ),
        hint=(
            "rank = q * total (the last cumulative count); find the first bucket whose cumulative "
            "count is >= rank; interpolate between the previous bound (0 for the first bucket) and "
            "this bound by (rank - previous count) / (this count - previous count)."
        ),
    )
)

# ---------------------------------------------------------------------------------------------
# 06.error_ratio_expr: which PromQL expression is the error-rate ratio
# ---------------------------------------------------------------------------------------------

#: The four candidate expressions shown in the notebook.
ERROR_RATIO_CHOICES = {
    "E1": 'model_predictions_total{status="error"} / ignoring(status) model_predictions_total{status="success"}',
    "E2": 'sum(rate(model_predictions_total{status="error"}[5m]))',
    "E3": 'sum(rate(model_predictions_total{status="error"}[5m])) / sum(rate(model_predictions_total[5m]))',
    "E4": 'sum(model_predictions_total{status="error"}) / sum(model_predictions_total)',
}


def error_ratio_expr_answer() -> str:
    """Reference answer of 06.error_ratio_expr."""
    return "e3"


register(
    Exercise(
        id="06.error_ratio_expr",
        title="The PromQL expression for 'more than 5% of predictions fail over the last 5 minutes'",
        kind="value",
        reference="course_lib.grading.exercises.lesson06:error_ratio_expr_answer",
        public_cases=lambda: [Case("the expression the error-rate alert compares with 0.05")],
        normalize=OneOf("e1", "e2", "e3", "e4"),
        reveal_expected=False,
        mistakes=(
            Mistake(
                "that divides errors by successes, not by all predictions, and it divides the "
                "counters' totals since the process started: an hour-old outage still weighs on "
                "it a week later, and a restart resets it.",
                wrong=lambda: "E1",
            ),
            Mistake(
                "that is errors per second, not a share of predictions: 0.05 errors per second is "
                "a disaster at 1 request per second and noise at 10,000.",
                wrong=lambda: "E2",
            ),
            Mistake(
                "the ratio is right, but of the counters' totals since each process started: a "
                "counter only grows (and resets on restart), so take rate(...[5m]) of each side "
                "to look at the last five minutes.",
                wrong=lambda: "E4",
            ),
        ),
        hint="answer with one of the labels 'E1', 'E2', 'E3' or 'E4'.",
    )
)

# ---------------------------------------------------------------------------------------------
# 06.for_duration: the for: clause for the noise of the accuracy gauge
# ---------------------------------------------------------------------------------------------

#: The setting of the exercise: accuracy measured every minute on this many labelled predictions,
#: a healthy model of this accuracy, the SLA threshold, and the budget of false pages.
FOR_SETTING = {"labelled_per_minute": 200, "true_accuracy": 0.89, "threshold": 0.85, "pages_per_30_days": 1.0}
FOR_CHOICES = ("0m", "1m", "2m", "3m", "4m", "5m", "10m")


def _false_pages(for_duration: str) -> float:
    from course_lib.observability import breach_probability, expected_false_alerts

    p = breach_probability(FOR_SETTING["true_accuracy"], FOR_SETTING["threshold"], FOR_SETTING["labelled_per_minute"])
    return expected_false_alerts(p, for_duration, evaluation_interval="1m", horizon="720h")


def for_duration_answer() -> str:
    """Reference answer of 06.for_duration: the shortest for: with fewer than one false page a month."""
    return next(choice for choice in FOR_CHOICES if _false_pages(choice) < FOR_SETTING["pages_per_30_days"])


def _for_off_by_one() -> str:
    """Counting for/interval evaluations in a row instead of for/interval + 1."""
    from course_lib.observability import breach_probability

    p = breach_probability(FOR_SETTING["true_accuracy"], FOR_SETTING["threshold"], FOR_SETTING["labelled_per_minute"])
    for choice in FOR_CHOICES:
        k = max(1, int(choice[:-1]))
        if p**k * 43200 < FOR_SETTING["pages_per_30_days"]:
            return choice
    raise AssertionError("no choice meets the budget")


def _longer_than_needed() -> str:
    return FOR_CHOICES[-1]


def _one_too_short() -> str:
    return FOR_CHOICES[FOR_CHOICES.index(for_duration_answer()) - 1]


register(
    Exercise(
        id="06.for_duration",
        title="The shortest for: that keeps a healthy model below one false page in 30 days",
        kind="value",
        reference="course_lib.grading.exercises.lesson06:for_duration_answer",
        public_cases=lambda: [Case("the for: duration of the accuracy alert")],
        normalize=OneOf(*FOR_CHOICES, aliases={"0": "0m", "0s": "0m", "60s": "1m", "120s": "2m", "180s": "3m", "240s": "4m", "300s": "5m", "600s": "10m"}),
        reveal_expected=False,
        mistakes=(
            Mistake(
                "without for: (or with a very short one) every noisy minute pages: a healthy model "
                "measured on 200 labels dips below 0.85 about 3% of the minutes, over a thousand "
                "times a month.",
                wrong=lambda: "0m",
            ),
            Mistake(
                "still over the budget: at this duration a healthy model is expected to page more "
                "than once in 30 days. Compute the expected number of false pages for each choice.",
                wrong=_one_too_short,
            ),
            Mistake(
                "off by one: the alert goes pending at the first true evaluation and fires at the "
                "first one for: later, so for: N minutes needs N + 1 true evaluations in a row "
                "(for: 0m needs one). Redo the count with N + 1.",
                wrong=_for_off_by_one,
            ),
            Mistake(
                "that meets the budget, but it is not the shortest duration that does: each extra "
                "minute delays the page for a real drop in accuracy.",
                wrong=_longer_than_needed,
            ),
        ),
        hint="answer with one of '0m', '1m', '2m', '3m', '4m', '5m' or '10m'.",
    )
)

# ---------------------------------------------------------------------------------------------
# 06.yaml_pack: the seed's challenge
# ---------------------------------------------------------------------------------------------


def _normalize_pack(answer):
    from course_lib.observability import check_yaml_pack

    return check_yaml_pack(answer)


def _pack_with(entry: str, old: str, new: str):
    """The reference pack with one textual change in one entry (a known mistake)."""

    def wrong() -> dict:
        from course_lib.observability import yaml_pack

        pack = yaml_pack()
        assert old in pack[entry], (entry, old)
        pack[entry] = pack[entry].replace(old, new, 1)
        return pack

    return wrong


def _pack_public() -> list[Case]:
    from course_lib.observability import YAML_PACK_ENTRIES

    # Every entry is expected to be "ok"; the reference is the real pack (what later cells get).
    expected = {name: "ok" for name in YAML_PACK_ENTRIES}
    return [Case(f"the {name} entry", expected=expected, has_expected=True, entry=name) for name in YAML_PACK_ENTRIES]


register(
    Exercise(
        id="06.yaml_pack",
        title="The YAML pack: accuracy alert, drift config, CloudEvent, Argo workflow and the sensor that triggers it",
        kind="value",
        reference="course_lib.observability:yaml_pack",
        public_cases=_pack_public,
        normalize=_normalize_pack,
        mistakes=(
            Mistake(
                "an alert expression is true when the alert should fire: the accuracy alert fires "
                "when accuracy falls BELOW the SLA.",
                wrong=_pack_with("alert_rules", "model_accuracy < 0.85", "model_accuracy > 0.85"),
            ),
            Mistake(
                "without for: one noisy evaluation pages; the exercise asks for 10 minutes below "
                "the SLA (for: 10m).",
                wrong=_pack_with("alert_rules", "    for: 10m\n", ""),
            ),
            Mistake(
                "a breached accuracy SLA wakes someone up: the label that routes it is "
                "severity: critical.",
                wrong=_pack_with("alert_rules", "severity: critical", "severity: warning"),
            ),
            Mistake(
                "KS, PSI and Wasserstein compare numeric features; both monitored features must "
                "be numeric (type: numeric).",
                wrong=_pack_with("drift_config", "  type: numeric\n  method: psi", "  type: categorical\n  method: psi"),
            ),
            Mistake(
                "a drifting share of missing values is drift too: add checks.missing_values with "
                "the columns it covers and a max_share.",
                wrong=lambda: _pack_without_missing_check(),
            ),
            Mistake(
                "a CloudEvent needs the required context attributes id, source, specversion and "
                "type; a receiver refuses an event without them (and a missing id must not be invented on the way).",
                wrong=_pack_with("cloudevent", "id: 5b7d7c1e-perf-0001\n", ""),
            ),
            Mistake(
                "this event reports degraded performance (accuracy below its threshold), not "
                "drift: its type is the performance one.",
                wrong=_pack_with("cloudevent", "type: ml.performance.degraded", "type: ml.data.drift.detected"),
            ),
            Mistake(
                "the workflow must redeploy after retraining: a step reached from the entrypoint "
                "runs a container with deploy.py.",
                wrong=_pack_with("workflow", "    - - name: deploy-canary\n        template: deploy\n", ""),
            ),
            Mistake(
                "the sensor must react to the same event type the monitor emits, or the "
                "retraining never starts.",
                wrong=_pack_with("sensor", "        - ml.performance.degraded", "        - ml.data.drift.detected"),
            ),
        ),
        hint=(
            "each entry is YAML text; the feedback line says what the checker found in it. "
            "Compare with the corresponding section of the lesson."
        ),
    )
)


def _pack_without_missing_check() -> dict:
    from course_lib.observability import drift_config, yaml_pack

    pack = yaml_pack()
    pack["drift_config"] = drift_config({"age": "numeric", "income": "numeric"}, methods={"income": "psi"}, thresholds={"income": 0.2}, missing_max_share=None)
    return pack
