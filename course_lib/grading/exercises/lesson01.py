"""Exercises of lesson 01, drift theory (references in :mod:`course_lib.simulate`).

Case factories import numpy when called, so listing these ids stays light.
"""

from __future__ import annotations

from course_lib.grading.registry import Case, Exercise, Mistake, register


def _windowed_mean_public() -> list[Case]:
    import numpy as np

    rng = np.random.default_rng(101)
    return [
        Case("a length that divides into windows", ([1.0, 3.0, 5.0, 7.0], 2)),
        Case("a last, partial window to leave out", ([1.0, 3.0, 5.0, 7.0, 100.0], 2)),
        Case("window of 1 returns the values", (np.array([0.5, 0.25, 0.75]), 1)),
        Case("500 predictions in windows of 50", (rng.random(500), 50)),
    ]


def _windowed_mean_hidden(rng) -> list[Case]:
    cases = []
    for _ in range(5):
        n = int(rng.integers(20, 2000))
        window = int(rng.integers(1, n // 3))
        cases.append(Case("random length and window", (rng.normal(size=n), window)))
    return cases


def _partial_window_kept(values, window):
    import numpy as np

    values = np.asarray(values, dtype=float)
    return np.array([values[i : i + window].mean() for i in range(0, len(values), window)])


def _rolling_mean(values, window):
    import numpy as np

    values = np.asarray(values, dtype=float)
    return np.convolve(values, np.ones(window) / window, mode="valid")


register(
    Exercise(
        id="01.windowed_mean",
        title="Mean of each full, non-overlapping window of values",
        kind="function",
        reference="course_lib.simulate:windowed_mean",
        public_cases=_windowed_mean_public,
        hidden_cases=_windowed_mean_hidden,
        mistakes=(
            Mistake(
                "your last window is shorter than the others: leave a partial window out, its "
                "mean rests on fewer values.",
                wrong=_partial_window_kept,
            ),
            Mistake(
                "you computed a rolling (overlapping) mean; the windows should not overlap: "
                "values 0..w-1, then w..2w-1, and so on.",
                wrong=_rolling_mean,
            ),
        ),
        hint="reshape the first len(values) // window * window values to (-1, window) and average each row.",
    )
)


def _labelled_fraction_public() -> list[Case]:
    import numpy as np

    rng = np.random.default_rng(102)
    times = np.sort(rng.uniform(0, 100, 400))
    delays = rng.exponential(10, 400)
    return [
        Case("four predictions, two labelled", ([0, 1, 2, 3], [1, 5, 0, 0]), {"now": 2}),
        Case("a label that never arrives (inf)", ([0, 1, 2], [0, float("inf"), 0]), {"now": 5}),
        Case("400 predictions, exponential delays", (times, delays), {"now": 60.0}),
    ]


def _labelled_fraction_hidden(rng) -> list[Case]:
    cases = []
    for _ in range(4):
        n = int(rng.integers(50, 1000))
        times = rng.uniform(0, 100, n)
        delays = rng.exponential(rng.uniform(1, 30), n)
        cases.append(Case("random arrivals", (times, delays), {"now": float(rng.uniform(20, 100))}))
    return cases


def _fraction_of_all(prediction_times, label_delays, now):
    import numpy as np

    times = np.asarray(prediction_times, dtype=float)
    return float(np.mean(times + np.asarray(label_delays, dtype=float) <= now))


def _delay_ignored(prediction_times, label_delays, now):
    return 1.0


register(
    Exercise(
        id="01.labelled_fraction",
        title="Share of the predictions made so far whose label has arrived",
        kind="function",
        reference="course_lib.simulate:labelled_fraction",
        public_cases=_labelled_fraction_public,
        hidden_cases=_labelled_fraction_hidden,
        mistakes=(
            Mistake(
                "you divided by all predictions, including those not made yet; count only the "
                "predictions with time <= now in the denominator.",
                wrong=_fraction_of_all,
            ),
            Mistake(
                "a prediction's label arrives at time + delay, not at the prediction time.",
                wrong=_delay_ignored,
            ),
        ),
        hint="keep the predictions with t <= now, then the share of them with t + delay <= now.",
    )
)
