"""Exercises of lesson 07, the capstone (real data: :func:`course_lib.datasets.load_weather`).

In the order of the notebook: ``alert_day`` (the first day a detector on late-arriving errors
can alert), ``drift_onset`` (since when a feature has drifted, robust to blips),
``drifted_features`` (the inputs the incident report should name, a judgement) and
``choose_policy`` (the retraining policy to recommend and its cost, a judgement).

The references of the two value exercises are computed from the shipped data with the lesson's
own procedure (the drift job, the policy replay); tests/test_lesson07_exercises.py checks them
against the executed solution notebook. Everything heavy is imported inside functions, so
listing these ids stays light.
"""

from __future__ import annotations

import math
from typing import Any

from course_lib.datasets import WEATHER_FEATURES
from course_lib.grading.registry import Case, Exercise, Mistake, OneOf, register

# ---------------------------------------------------------------------------------------------
# 07.alert_day: the first production day an error detector can alert, with delayed labels
# ---------------------------------------------------------------------------------------------


def first_alert_day(errors: Any, *, label_delay: int, first_day: int) -> int:
    """The production day on which ADWIN, fed the errors as their labels arrive, first alerts.

    ``errors[i]`` is 1 when the prediction of day ``first_day + i`` was wrong; its label arrives
    ``label_delay`` days later, so a detection at element ``i`` can be raised on day
    ``first_day + i + label_delay``. Returns -1 when ADWIN never fires.

    Examples
    --------
    >>> first_alert_day([0] * 50 + [1] * 50, label_delay=14, first_day=8000)
    8109
    >>> first_alert_day([], label_delay=14, first_day=8000)
    -1
    """
    from course_lib import streams

    detections = streams.detect(streams.ADWIN(), errors)
    if not detections:
        return -1
    return int(first_day + detections[0] + label_delay)


def _error_stream(rng, n_before: int, n_after: int, rate_before: float, rate_after: float) -> list[int]:
    return [int(x) for x in (rng.random(n_before) < rate_before)] + [int(x) for x in (rng.random(n_after) < rate_after)]


def _alert_day_public() -> list[Case]:
    import numpy as np

    rng = np.random.default_rng(2026)
    steady = _error_stream(rng, 400, 0, 0.2, 0.2)
    jump = _error_stream(rng, 300, 300, 0.2, 0.6)
    delayed = _error_stream(rng, 500, 400, 0.25, 0.55)
    twice = _error_stream(rng, 300, 300, 0.1, 0.5) + _error_stream(rng, 0, 300, 0.0, 0.9)
    return [
        Case("an empty stream: nothing to detect", ([],), {"label_delay": 14, "first_day": 8000}),
        Case("a steady error rate (ADWIN stays quiet)", (steady,), {"label_delay": 7, "first_day": 100}),
        Case("the error rate jumps at element 300; labels arrive at once, day 0 first", (jump,), {"label_delay": 0, "first_day": 0}),
        Case("a jump at element 500; labels 14 days late; production starts on day 8000", (delayed,),
             {"label_delay": 14, "first_day": 8000}),
        Case("two jumps: the monitor alerts at the first detection", (twice,), {"label_delay": 3, "first_day": 50}),
    ]


def _alert_day_hidden(rng) -> list[Case]:
    cases = []
    for _ in range(5):
        before, after = int(rng.integers(150, 600)), int(rng.integers(150, 600))
        low = float(rng.uniform(0.05, 0.3))
        stream = _error_stream(rng, before, after, low, low + float(rng.uniform(0.25, 0.5)))
        cases.append(Case("a jump in the error rate", (stream,),
                          {"label_delay": int(rng.integers(0, 30)), "first_day": int(rng.integers(0, 20000))}))
    cases.append(Case("a steady stream", (_error_stream(rng, int(rng.integers(100, 400)), 0, 0.3, 0.3),),
                      {"label_delay": 5, "first_day": 10}))
    return cases


def _detections(errors) -> list[int]:
    from course_lib import streams

    return streams.detect(streams.ADWIN(), errors)


def _alert_without_delay(errors, *, label_delay, first_day):
    found = _detections(errors)
    return int(first_day + found[0]) if found else -1


def _alert_without_first_day(errors, *, label_delay, first_day):
    found = _detections(errors)
    return int(found[0] + label_delay) if found else -1


def _alert_minus_delay(errors, *, label_delay, first_day):
    found = _detections(errors)
    return int(first_day + found[0] - label_delay) if found else -1


def _alert_at_last_detection(errors, *, label_delay, first_day):
    found = _detections(errors)
    return int(first_day + found[-1] + label_delay) if found else -1


register(
    Exercise(
        id="07.alert_day",
        title="The first production day an ADWIN monitor on late-arriving errors can alert",
        kind="function",
        reference="course_lib.grading.exercises.lesson07:first_alert_day",
        public_cases=_alert_day_public,
        hidden_cases=_alert_day_hidden,
        returns="int",
        mistakes=(
            Mistake(
                "the detection happens when the label of the bad day arrives, not on the day of the "
                "prediction: add the label delay to the day of the element ADWIN fired on.",
                wrong=_alert_without_delay,
            ),
            Mistake(
                "ADWIN's detection is an index into the stream (0 for the first production day): turn it "
                "into a day by adding first_day.",
                wrong=_alert_without_first_day,
            ),
            Mistake(
                "you moved the alert earlier than the detection: the label of day d arrives on day "
                "d + label_delay, and the monitor cannot alert before the label that triggered it has arrived.",
                wrong=_alert_minus_delay,
            ),
            Mistake(
                "the monitor alerts at its first detection; later detections come after the alert was raised.",
                wrong=_alert_at_last_detection,
            ),
        ),
        hint="streams.detect(streams.ADWIN(), errors) gives the indices where ADWIN fired; the first one, "
        "as a production day, plus the label delay, is the answer (-1 when the list is empty).",
    )
)

# ---------------------------------------------------------------------------------------------
# 07.drift_onset: the first day of the first persistent run of drift alerts
# ---------------------------------------------------------------------------------------------


def drift_onset(scores: Any, days: Any, *, threshold: float, persistence: int) -> int:
    """The day of the first job of the first run of ``persistence`` jobs with score >= threshold.

    A missing score (NaN) is not at or above the threshold and breaks a run. Returns -1 when
    there is no such run.

    Examples
    --------
    >>> drift_onset([0.1, 0.5, 0.1, 0.4, 0.6, 0.7], [28, 56, 84, 112, 140, 168], threshold=0.3, persistence=2)
    112
    >>> drift_onset([], [], threshold=0.3, persistence=2)
    -1
    """
    run = 0
    for k, score in enumerate(scores):
        run = run + 1 if score >= threshold else 0
        if run == persistence:
            return int(days[k - persistence + 1])
    return -1


def _onset_public() -> list[Case]:
    nan = math.nan
    job_days = [8363, 8391, 8419, 8447, 8475, 8503, 8531, 8559]
    return [
        Case("no job yet", ([], []), {"threshold": 0.3, "persistence": 2}),
        Case("never above the threshold", ([0.1, 0.2, 0.25, 0.1], job_days[:4]), {"threshold": 0.3, "persistence": 2}),
        Case("a one-job blip, then a persistent run", ([0.1, 0.5, 0.1, 0.4, 0.6, 0.7, 0.2, 0.1], job_days),
             {"threshold": 0.3, "persistence": 2}),
        Case("a score exactly at the threshold counts", ([0.1, 0.3, 0.3, 0.1], job_days[:4]), {"threshold": 0.3, "persistence": 2}),
        Case("a missing job (nan) breaks a run", ([0.5, 0.1, 0.5, nan, 0.5, 0.1, 0.6, 0.7], job_days),
             {"threshold": 0.3, "persistence": 2}),
        Case("a run of exactly `persistence` jobs at the end", ([0.1, 0.2, 0.1, 0.1, 0.9, 0.8, 0.9], job_days[:7]),
             {"threshold": 0.5, "persistence": 3}),
        Case("persistence 1: the first job at or above the threshold", ([0.2, 0.1, 0.35, 0.1], job_days[:4]),
             {"threshold": 0.3, "persistence": 1}),
    ]


def _onset_hidden(rng) -> list[Case]:
    cases = []
    for _ in range(6):
        n = int(rng.integers(5, 40))
        scores = [float(x) for x in rng.uniform(0.0, 0.6, n).round(3)]
        if rng.random() < 0.3:
            scores[int(rng.integers(0, n))] = math.nan
        start = int(rng.integers(0, 15000))
        job_days = [start + 28 * k for k in range(n)]
        cases.append(Case("random drift scores", (scores, job_days),
                          {"threshold": float(rng.choice([0.2, 0.3, 0.4])), "persistence": int(rng.integers(1, 4))}))
    return cases


def _onset_first_flag(scores, days, *, threshold, persistence):
    return drift_onset(scores, days, threshold=threshold, persistence=1)


def _onset_confirmed(scores, days, *, threshold, persistence):
    run = 0
    for k, score in enumerate(scores):
        run = run + 1 if score >= threshold else 0
        if run == persistence:
            return int(days[k])
    return -1


def _onset_strict(scores, days, *, threshold, persistence):
    return drift_onset(scores, days, threshold=math.nextafter(threshold, math.inf), persistence=persistence)


def _onset_index(scores, days, *, threshold, persistence):
    found = drift_onset(scores, list(range(len(scores))), threshold=threshold, persistence=persistence)
    return found


def _onset_nan_ignored(scores, days, *, threshold, persistence):
    kept = [(score, day) for score, day in zip(scores, days) if not (isinstance(score, float) and math.isnan(score))]
    return drift_onset([s for s, _ in kept], [d for _, d in kept], threshold=threshold, persistence=persistence)


register(
    Exercise(
        id="07.drift_onset",
        title="Since when has a feature drifted: the first job of the first persistent run above the threshold",
        kind="function",
        reference="course_lib.grading.exercises.lesson07:drift_onset",
        public_cases=_onset_public,
        hidden_cases=_onset_hidden,
        returns="int",
        mistakes=(
            Mistake(
                "a single job above the threshold can be a blip: the onset is the start of the first run of "
                "`persistence` consecutive jobs at or above it.",
                wrong=_onset_first_flag,
            ),
            Mistake(
                "you returned the day the run was confirmed (its last job); the question is since when the "
                "feature has drifted, which is the first job of the run.",
                wrong=_onset_confirmed,
            ),
            Mistake("a score equal to the threshold counts as drifted (at or above, >=).", wrong=_onset_strict),
            Mistake("return the job's day (days[k]), not its position in the list.", wrong=_onset_index),
            Mistake(
                "a job that did not run (nan) is no evidence of drift: it breaks the run instead of being "
                "skipped over.",
                wrong=_onset_nan_ignored,
            ),
        ),
        hint="walk through the jobs counting consecutive scores >= threshold (reset on anything else); when the "
        "count reaches persistence, return the day of the run's first job; -1 if it never does.",
    )
)

# ---------------------------------------------------------------------------------------------
# 07.drifted_features: the inputs the incident report should name (a judgement)
# ---------------------------------------------------------------------------------------------

# The data's own list (course_lib.datasets imports only the standard library at module level).
FEATURES = WEATHER_FEATURES

#: The day of the incident (the first day of the new regime) and the drift job of the lesson:
#: every 28 days, the last 364 days against the training days 0-6999. Public names on purpose:
#: the grading sandbox withholds the private (underscored) constants an answer key reads.
INCIDENT_DAY = 12000
TRAIN_LAST, FIRST_DAY, JOB_SPAN, JOB_EVERY = 6999, 8000, 364, 28


class FeatureNames:
    """A ``normalize`` for a list of feature names: one yes/no per feature, as a dict.

    Case, spaces and hyphens are forgiven (``"Dew point" -> "dew_point"``) and duplicates do not
    matter; any other name raises a ``ValueError`` listing the valid names. A dict of feature ->
    bool (the canonical form itself) is accepted too. Each feature is then its own case, so a
    wrong feature gets its own hint and the feedback never repeats the right names.

    Examples
    --------
    >>> FeatureNames(("dew_point", "visibility", "rain"))(["Visibility", "dew-point"])
    {'dew_point': True, 'visibility': True, 'rain': False}
    """

    def __init__(self, choices: tuple[str, ...]) -> None:
        self.choices = tuple(choices)

    def _name(self, item: Any) -> str:
        if not isinstance(item, str):
            raise TypeError(f"every entry must be a feature name (a str); got {item!r}")
        name = item.strip().lower().replace(" ", "_").replace("-", "_")
        if name not in self.choices:
            raise ValueError(f"{item!r} is not a feature; the features are {', '.join(self.choices)}")
        return name

    def __call__(self, answer: Any) -> dict:
        if isinstance(answer, dict):
            chosen = {self._name(key) for key, value in answer.items() if value is True}
            if not all(isinstance(value, bool) for value in answer.values()):
                raise TypeError("a dict answer must map every feature name to True or False")
        elif isinstance(answer, (list, tuple, set)):
            chosen = {self._name(item) for item in answer}
        else:
            raise TypeError(f"answer must be a list of feature names such as ['temperature']; got {type(answer).__name__}")
        return {name: name in chosen for name in self.choices}


def _job_scores(end: int):
    """The drift job's effect sizes (the last 364 days up to ``end`` vs the training days)."""
    from course_lib.datasets import load_weather
    from course_lib.drift import drift_report

    weather = load_weather()
    reference = weather.loc[:TRAIN_LAST, list(FEATURES)]
    report = drift_report(reference, weather.loc[end - JOB_SPAN + 1: end, list(FEATURES)])
    return report.table.set_index("column")["effect_size"]


def _investigation_jobs() -> tuple[int, int]:
    """The last drift job before the incident, and the first one at least a year later."""
    jobs = range(FIRST_DAY + JOB_SPAN - 1, 18159, JOB_EVERY)
    before = max(day for day in jobs if day < INCIDENT_DAY)
    return before, min(day for day in jobs if day >= before + JOB_SPAN)


def incident_features() -> list[str]:
    """Features whose drift score rose by more than 0.3 between the last drift job before the
    incident and the job a year later (the lesson's investigation table)."""
    before, after = _investigation_jobs()
    change = _job_scores(after) - _job_scores(before)
    return [name for name in FEATURES if change[name] > 0.3]


def drifted_features_answer() -> dict:
    """Reference answer of 07.drifted_features, in its canonical form: feature -> named or not."""
    chosen = incident_features()
    return {name: name in chosen for name in FEATURES}


def _with_extra(name: str):
    return lambda: [*incident_features(), name]


def _named(case: Case, got: Any, *, wanted: bool, features) -> bool:
    return case.entry in features and isinstance(got, dict) and got.get(case.entry) is wanted and not drifted_features_answer()[case.entry] is wanted


register(
    Exercise(
        id="07.drifted_features",
        title="The inputs whose distribution changed at the incident",
        kind="value",
        reference="course_lib.grading.exercises.lesson07:drifted_features_answer",
        public_cases=lambda: [Case(f"the feature {name}", entry=name) for name in FEATURES],
        reveal_expected=False,
        normalize=FeatureNames(FEATURES),
        mistakes=(
            Mistake(
                "visibility's score was already far above the threshold for years before the incident, while "
                "the accuracy held: it drifted, but it is not what changed on the day the model broke.",
                wrong=_with_extra("visibility"),
                test=lambda case, got: _named(case, got, wanted=True, features=("visibility",)),
            ),
            Mistake(
                "a wind speed's score moved by a few hundredths, or went up and down again, around the "
                "incident: compare the score before the incident with the score a year later, not at one job.",
                wrong=_with_extra("max_sustained_wind_speed"),
                test=lambda case, got: _named(case, got, wanted=True, features=("average_wind_speed", "max_sustained_wind_speed")),
            ),
            Mistake(
                "this input's drift score rose by far more than the others' between the job before the "
                "incident and a year later: read the 'change' column of the investigation table for every feature.",
                wrong=lambda: incident_features()[:1],
                test=lambda case, got: _named(case, got, wanted=False, features=FEATURES),
            ),
            Mistake(
                "the temperatures have drift scores near 0.1 before and after the incident: they did not change.",
                wrong=_with_extra("temperature"),
                test=lambda case, got: _named(case, got, wanted=True, features=("temperature", "minimum_temperature", "maximum_temperature")),
            ),
        ),
        hint="name a feature when its drift score changed a lot between the last job before the incident and "
        "a year later; leave out the ones that were high all along and the ones that barely moved.",
    )
)

# ---------------------------------------------------------------------------------------------
# 07.choose_policy: the policy to recommend and its cost (a judgement)
# ---------------------------------------------------------------------------------------------

POLICIES = ("never", "yearly", "drift", "performance", "combined")

#: The lesson's policy replay (section 7 of the notebook): retrains and wrong forecasts of each
#: policy over the production days 8000-18158. tests/test_lesson07_exercises.py checks these
#: numbers against the executed solution notebook's table.
POLICY_REPLAY = {
    "never": {"retrains": 0, "errors": 4124},
    "yearly": {"retrains": 27, "errors": 2421},
    "drift": {"retrains": 5, "errors": 2458},
    "performance": {"retrains": 13, "errors": 2614},
    "combined": {"retrains": 24, "errors": 2490},
}
RETRAIN_COST = 40


def policy_cost(name: str, retrain_cost: float = RETRAIN_COST) -> float:
    """Total cost of a policy in the replay: one per wrong forecast plus ``retrain_cost`` per retrain."""
    row = POLICY_REPLAY[name]
    return float(row["errors"] + retrain_cost * row["retrains"])


def _cheapest(retrain_cost: float = RETRAIN_COST) -> str:
    return min(POLICIES, key=lambda name: policy_cost(name, retrain_cost))


def choose_policy_answer() -> dict:
    """Reference answer of 07.choose_policy: the cheapest policy at a retrain cost of 40, and its cost."""
    best = _cheapest()
    return {"policy": best, "cost": policy_cost(best)}


class PolicyAndCost:
    """A ``normalize`` for ``{"policy": word, "cost": number}``: the word canonical, the cost a float.

    Examples
    --------
    >>> PolicyAndCost(("never", "yearly"))({"policy": " Yearly", "cost": 12})
    {'policy': 'yearly', 'cost': 12.0}
    >>> import numpy as np
    >>> PolicyAndCost(("never", "yearly"))({"policy": "never", "cost": np.int64(40)})
    {'policy': 'never', 'cost': 40.0}
    """

    def __init__(self, choices: tuple[str, ...]) -> None:
        self.choices = tuple(choices)
        self._word = OneOf(*choices)

    def __call__(self, answer: Any) -> dict:
        if not isinstance(answer, dict) or set(answer) != {"policy", "cost"}:
            raise TypeError('answer must be a dict with exactly the keys "policy" and "cost"')
        # Imported here: listing the exercises must not load numpy. Any real number counts,
        # numpy's too (costs["cost"].min() is an np.int64).
        from course_lib.validation import check_number

        return {"policy": self._word(answer["policy"]), "cost": check_number(answer["cost"], 'answer["cost"]')}


def _most_accurate() -> str:
    return min(POLICIES, key=lambda name: (POLICY_REPLAY[name]["errors"], name))


def _chose(word_of):
    def test(case: Case, got) -> bool:
        return case.entry == "policy" and isinstance(got, dict) and got.get("policy") == word_of() != choose_policy_answer()["policy"]

    return test


register(
    Exercise(
        id="07.choose_policy",
        title="The retraining policy to recommend for a retrain cost of 40, and its total cost",
        kind="value",
        reference="course_lib.grading.exercises.lesson07:choose_policy_answer",
        public_cases=lambda: [Case("the policy", entry="policy"), Case("its total cost", entry="cost")],
        reveal_expected=False,
        normalize=PolicyAndCost(POLICIES),
        rtol=1e-3,
        atol=0.5,
        mistakes=(
            Mistake(
                "never retraining spends nothing on retrains and pays for every wrong forecast after the "
                "incident, for the remaining years: count those errors too.",
                wrong=lambda: {"policy": "never", "cost": policy_cost("never")},
                test=_chose(lambda: "never"),
            ),
            Mistake(
                "the policy with the fewest wrong forecasts is not the cheapest when each retrain costs 40: "
                "add the retrains to the cost.",
                wrong=lambda: {"policy": _most_accurate(), "cost": policy_cost(_most_accurate())},
                test=_chose(_most_accurate),
            ),
            Mistake(
                "the cost counts the retrains too: errors plus 40 per retrain.",
                wrong=lambda: {"policy": _cheapest(), "cost": float(POLICY_REPLAY[_cheapest()]["errors"])},
                test=lambda case, got: case.entry == "cost" and isinstance(got, dict)
                and abs(got.get("cost", math.nan) - POLICY_REPLAY[_cheapest()]["errors"]) <= 0.5,
            ),
        ),
        hint='pick the policy with the lowest "cost" in the policy table (errors + 40 x retrains) and give that cost.',
    )
)
