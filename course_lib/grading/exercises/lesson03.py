"""Exercises of lesson 03, concept drift (references in :mod:`course_lib.streams` and
:mod:`course_lib.performance`).

In the notebook's order: ``page_hinkley_statistic`` (implement the detector's update),
``ph_threshold`` (pick a threshold for a false-alarm budget, by simulation),
``accuracy_window`` (size a rolling-accuracy window for the noise you can accept) and
``label_coverage`` (join delayed labels as of a date). Case factories import numpy and pandas
when called, so listing these ids stays light.
"""

from __future__ import annotations

import functools
import math

from course_lib.grading.registry import Case, Exercise, Mistake, register

# ---------------------------------------------------------------------------------------------
# 03.page_hinkley_statistic: the increase statistic of Page-Hinkley, element by element
# ---------------------------------------------------------------------------------------------


def _ph_public() -> list[Case]:
    import numpy as np

    rng = np.random.default_rng(301)
    shifted = np.concatenate([rng.normal(0, 1, 200), rng.normal(1, 1, 200)])
    return [
        Case("five numbers you can follow by hand (delta=0.5, alpha=1)", ([1.0, 2.0, 3.0, 10.0, 10.0], 0.5, 1.0)),
        Case("a constant stream never accumulates evidence", ([2.0] * 20, 0.005, 1.0)),
        Case("mean up by 1 sd at element 200, the detector's defaults", (shifted, 0.005, 1 - 0.0001)),
        Case("forgetting factor alpha = 0.9", (shifted[150:300], 0.05, 0.9)),
        Case("an empty stream gives an empty array", (np.array([]), 0.005, 1.0)),
    ]


def _ph_hidden(rng) -> list[Case]:
    cases = []
    for _ in range(5):
        n, change = int(rng.integers(50, 600)), int(rng.integers(10, 40))
        stream = rng.normal(0, 1, n)
        stream[n * change // 50 :] += float(rng.uniform(-1, 2))
        cases.append(Case("random stream", (stream, float(rng.uniform(0, 0.2)), float(rng.uniform(0.8, 1.0)))))
    return cases


def _ph_variant(stream, delta, alpha, *, previous_mean=False, raw=False, alpha_outside=False, plus_delta=False):
    import numpy as np

    values = np.asarray(stream, dtype=float)
    result = np.empty(values.size)
    n = mean = cumulative = 0.0
    lowest = math.inf
    for index, x in enumerate(values):
        n += 1.0
        before = mean
        mean += (x - mean) / n
        deviation = x - (before if previous_mean else mean)
        step = deviation + delta if plus_delta else deviation - delta
        cumulative = alpha * (cumulative + step) if alpha_outside else alpha * cumulative + step
        lowest = min(lowest, cumulative)
        result[index] = cumulative if raw else cumulative - lowest
    return result


register(
    Exercise(
        id="03.page_hinkley_statistic",
        title="Page-Hinkley's statistic for an increase, after each element",
        kind="function",
        reference="course_lib.streams:page_hinkley_statistic",
        public_cases=_ph_public,
        hidden_cases=_ph_hidden,
        returns="numpy.ndarray",
        atol=1e-7,
        mistakes=(
            Mistake(
                "your deviation uses the mean BEFORE x_t was added. Update the running mean with "
                "x_t first, then take x_t - mean: the first deviation is then 0, not x_1.",
                wrong=functools.partial(_ph_variant, previous_mean=True),
            ),
            Mistake(
                "you returned the cumulative sum U_t itself. The statistic is how far U_t has "
                "climbed above its lowest value so far: U_t - min(U_1, ..., U_t), never negative.",
                wrong=functools.partial(_ph_variant, raw=True),
            ),
            Mistake(
                "alpha multiplies only the PAST sum: U_t = alpha * U_(t-1) + (x_t - mean_t) - delta. "
                "You multiplied the new deviation by alpha as well.",
                wrong=functools.partial(_ph_variant, alpha_outside=True),
            ),
            Mistake(
                "for an increase, delta is SUBTRACTED at every step: it is the drift you tolerate, "
                "so small deviations must not pile up. Adding it makes any stream look like it rises.",
                wrong=functools.partial(_ph_variant, plus_delta=True),
            ),
        ),
        hint="loop over the stream keeping n, the running mean, U and min(U): mean += (x - mean) / n; "
        "U = alpha * U + (x - mean) - delta; store U - min(U).",
    )
)

# ---------------------------------------------------------------------------------------------
# 03.ph_threshold: the smallest threshold within a false-alarm budget (judgement, by simulation)
# ---------------------------------------------------------------------------------------------

#: The simulation the exercise text describes: stationary standard-normal streams.
PH_STREAMS, PH_LENGTH, PH_SEED, PH_DELTA = 100, 1000, 303, 0.1
PH_THRESHOLDS = (10, 20, 30, 40, 50, 75, 100)
PH_BUDGET = 0.05  # at most this share of the streams may raise any (false) alarm


class GridChoice:
    """A ``normalize`` for an answer that must be one number of a fixed grid.

    Examples
    --------
    >>> GridChoice((10, 20), "threshold")(20.0)
    20
    >>> GridChoice((10, 20), "threshold")(15)
    Traceback (most recent call last):
    ...
    ValueError: threshold must be one of 10, 20; got 15
    """

    def __init__(self, choices: tuple, what: str) -> None:
        self.choices = tuple(choices)
        self.what = what

    def __call__(self, answer):
        listed = ", ".join(str(choice) for choice in self.choices)
        is_number = isinstance(answer, (int, float)) or type(answer).__module__ == "numpy"
        if isinstance(answer, bool) or not is_number:
            raise TypeError(f"{self.what} must be one number, one of {listed}; got {answer!r}")
        try:
            value = float(answer)
        except (TypeError, ValueError):
            raise TypeError(f"{self.what} must be one number, one of {listed}; got {answer!r}") from None
        for choice in self.choices:
            if value == choice:
                return choice
        raise ValueError(f"{self.what} must be one of {listed}; got {answer!r}")


@functools.lru_cache(maxsize=1)
def _false_alarm_shares() -> dict:
    """Share of the stationary streams with at least one alarm, for each threshold of the grid."""
    import numpy as np

    from course_lib.streams import PageHinkley, detect

    runs = np.random.default_rng(PH_SEED).normal(0.0, 1.0, (PH_STREAMS, PH_LENGTH))
    return {
        threshold: float(np.mean([bool(detect(PageHinkley(threshold=threshold, delta=PH_DELTA), run)) for run in runs]))
        for threshold in PH_THRESHOLDS
    }


def ph_threshold_answer() -> int:
    """Reference answer of 03.ph_threshold: the smallest threshold within the budget."""
    shares = _false_alarm_shares()
    return min(threshold for threshold in PH_THRESHOLDS if shares[threshold] <= PH_BUDGET)


def _ph_threshold_shifted(steps: int):
    def answer() -> int:
        index = PH_THRESHOLDS.index(ph_threshold_answer()) + steps
        return PH_THRESHOLDS[max(0, min(index, len(PH_THRESHOLDS) - 1))]

    return answer


register(
    Exercise(
        id="03.ph_threshold",
        title="The smallest Page-Hinkley threshold whose false alarms stay within the budget",
        kind="value",
        reference="course_lib.grading.exercises.lesson03:ph_threshold_answer",
        public_cases=lambda: [Case("the threshold for 100 stationary streams of 1,000 elements, budget 5%")],
        reveal_expected=False,
        normalize=GridChoice(PH_THRESHOLDS, "threshold"),
        mistakes=(
            Mistake(
                "that threshold is over the budget: count, for each threshold, the streams with AT "
                "LEAST ONE alarm (all alarms there are false, the streams never change), divide by "
                "the number of streams, and keep the thresholds at or below 5%.",
                wrong=_ph_threshold_shifted(-1),
            ),
            Mistake(
                "that threshold meets the budget, but a lower one does too. Every step up in the "
                "threshold adds detection delay on a real change: take the smallest one that keeps "
                "the share of streams with a false alarm at or below 5%.",
                wrong=_ph_threshold_shifted(+1),
            ),
            Mistake(
                "the largest threshold is the safest against false alarms and the slowest to "
                "detect; the budget lets you go lower. Take the smallest threshold within budget.",
                wrong=lambda: PH_THRESHOLDS[-1],
            ),
        ),
        hint="answer with one number of the grid 10, 20, 30, 40, 50, 75, 100: for each, run "
        "PageHinkley(threshold=t, delta=0.1) over the 100 streams and count the streams with an alarm.",
    )
)

# ---------------------------------------------------------------------------------------------
# 03.accuracy_window: how many labels a rolling accuracy needs (judgement)
# ---------------------------------------------------------------------------------------------

WINDOWS = (50, 100, 200, 500, 1000, 2000, 3000, 5000)
WINDOW_ACCURACY, WINDOW_NOISE = 0.9, 0.01  # true accuracy; the standard deviation you accept


def _smallest_window(spread) -> int:
    return min(window for window in WINDOWS if spread(window) < WINDOW_NOISE)


def accuracy_window_answer() -> int:
    """Reference answer of 03.accuracy_window: sqrt(p (1 - p) / n) below one percentage point."""
    p = WINDOW_ACCURACY
    return _smallest_window(lambda n: math.sqrt(p * (1 - p) / n))


register(
    Exercise(
        id="03.accuracy_window",
        title="The smallest window whose rolling accuracy is steady to one percentage point",
        kind="value",
        reference="course_lib.grading.exercises.lesson03:accuracy_window_answer",
        public_cases=lambda: [Case("the window for a 90%-accurate model, standard deviation below 0.01")],
        reveal_expected=False,
        normalize=GridChoice(WINDOWS, "window"),
        mistakes=(
            Mistake(
                "you compared the VARIANCE p(1 - p)/n with 0.01. The spread of the windowed accuracy "
                "is its standard deviation, the square root of that variance, in the units of accuracy.",
                wrong=lambda: _smallest_window(lambda n: 0.9 * 0.1 / n),
            ),
            Mistake(
                "you used p = 0.5, the worst case. The model's accuracy is known here (90%), and a "
                "Bernoulli's variance p(1 - p) is much smaller at 0.9 than at 0.5.",
                wrong=lambda: _smallest_window(lambda n: math.sqrt(0.25 / n)),
            ),
            Mistake(
                "you asked for the 95% interval (1.96 standard deviations) to be within 0.01. The "
                "exercise asks for the standard deviation itself.",
                wrong=lambda: _smallest_window(lambda n: 1.96 * math.sqrt(0.09 / n)),
            ),
        ),
        hint="answer with one window of 50, 100, 200, 500, 1000, 2000, 3000, 5000: the accuracy of n "
        "independent predictions has standard deviation sqrt(p (1 - p) / n).",
    )
)

# ---------------------------------------------------------------------------------------------
# 03.label_coverage: join delayed labels as of a date
# ---------------------------------------------------------------------------------------------


def _coverage_tables():
    import pandas as pd

    predictions = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6, 7, 8], "time": [0, 1, 2, 11, 5, 8, 12, 20]})
    labels = pd.DataFrame({
        "id": [1, 2, 3, 4, 5, 6, 7, 99, 98],
        "time": [2, 15, 6, 17, 9, 14, 17, 3, 4],
        "label": [1, 0, 1, 1, 0, 0, 1, 1, 0],
    })  # fmt: skip
    return predictions, labels


def _random_tables(rng, n: int):
    import numpy as np
    import pandas as pd

    predictions = pd.DataFrame({"id": rng.permutation(n), "time": np.sort(rng.integers(0, 60, n))})
    came = rng.random(n) < 0.8
    arrived = predictions[came]
    labels = pd.DataFrame({
        "id": np.concatenate([arrived["id"], n + np.arange(5)]),
        "time": np.concatenate([arrived["time"] + rng.exponential(5, len(arrived)).round(1), rng.integers(0, 60, 5)]),
        "label": rng.integers(0, 2, len(arrived) + 5),
    }).sample(frac=1, random_state=int(rng.integers(1000)))  # fmt: skip
    return predictions, labels.reset_index(drop=True)


def _coverage_public() -> list[Case]:
    import numpy as np

    predictions, labels = _coverage_tables()
    big_predictions, big_labels = _random_tables(np.random.default_rng(304), 400)
    return [
        Case("eight predictions, labels late, early and for unknown ids", (predictions, labels, 16, 7)),
        Case("the same tables a week later", (predictions, labels, 23, 7)),
        Case("400 predictions over 60 days, as of day 30", (big_predictions, big_labels, 30, 10)),
        Case("no prediction made yet: coverage is nan", (predictions, labels, -1, 7)),
    ]


def _coverage_hidden(rng) -> list[Case]:
    cases = []
    for _ in range(4):
        predictions, labels = _random_tables(rng, int(rng.integers(50, 500)))
        cases.append(Case("random tables", (predictions, labels, int(rng.integers(10, 70)), int(rng.integers(2, 15)))))
    return cases


def _coverage_variant(predictions, labels, as_of, max_delay, *, see_future=False, ignore_delay=False,
                      all_predictions=False, no_join=False):  # fmt: skip
    made = predictions if all_predictions else predictions[predictions["time"] <= as_of]
    known = labels if see_future else labels[labels["time"] <= as_of]
    if no_join:
        return len(known) / len(made) if len(made) else math.nan
    joined = made.merge(known, on="id", suffixes=("", "_label"))
    if not ignore_delay:
        joined = joined[joined["time_label"] - joined["time"] <= max_delay]
    return len(joined) / len(made) if len(made) else math.nan


register(
    Exercise(
        id="03.label_coverage",
        title="Share of predictions labelled by a given day, within the allowed delay",
        kind="function",
        reference="course_lib.performance:label_coverage",
        public_cases=_coverage_public,
        hidden_cases=_coverage_hidden,
        returns="float",
        mistakes=(
            Mistake(
                "you used labels that arrive AFTER as_of. On that day they do not exist yet: keep "
                "only the labels with time <= as_of before joining.",
                wrong=functools.partial(_coverage_variant, see_future=True),
            ),
            Mistake(
                "you counted labels that came later than max_delay after their prediction. A "
                "monitor cannot wait for ever: a label counts only if label time - prediction "
                "time <= max_delay.",
                wrong=functools.partial(_coverage_variant, ignore_delay=True),
            ),
            Mistake(
                "you divided by every prediction, including those made after as_of. The coverage "
                "is over the predictions made by as_of.",
                wrong=functools.partial(_coverage_variant, all_predictions=True),
            ),
            Mistake(
                "you counted labels without joining them to the predictions: labels whose id "
                "matches no prediction (and late labels) are not coverage. Merge on id first.",
                wrong=functools.partial(_coverage_variant, no_join=True),
            ),
        ),
        hint="predictions made by as_of, merged on id with labels that arrived by as_of; keep the "
        "rows whose label came within max_delay; divide their count by the number of predictions "
        "made by as_of (nan when there are none).",
    )
)
