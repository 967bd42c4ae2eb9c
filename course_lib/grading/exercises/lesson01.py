"""Exercises of lesson 01, drift theory (references in :mod:`course_lib.simulate`).

They are registered in the order the notebook presents them: ``windowed_mean`` (the dashboard
signal), ``prior_correction`` (Bayes' rule under prior shift), ``shift_kind`` and ``drift_pattern`` (two puzzles whose answer keys live next to their
generators in :mod:`course_lib.simulate`), ``labelled_fraction`` (label delay).

Case factories import numpy when called, so listing these ids stays light.
"""

from __future__ import annotations

from course_lib.grading.exercises.puzzles import called, entry_cases, misspelt, not_a_word, relabelled, word
from course_lib.grading.registry import Case, EntriesOneOf, Exercise, Mistake, register


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
        returns="numpy.ndarray",
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


# --- prior shift: correcting probabilities for a known new base rate --------------------------


def _prior_public() -> list[Case]:
    import numpy as np

    rng = np.random.default_rng(103)
    return [
        Case("the lesson's recession: 27.6 % -> 50 % churn", ([0.2, 0.5, 0.9], 0.276, 0.5)),
        Case("an unchanged rate changes nothing", ([0.1, 0.6], 0.3, 0.3)),
        Case("a falling rate lowers every probability", ([0.2, 0.5, 0.8], 0.4, 0.1)),
        Case("0 and 1 stay where they are", ([0.0, 1.0, 0.3], 0.2, 0.6)),
        Case("500 predictions, rate from 10 % to 25 %", (rng.beta(1, 6, 500), 0.1, 0.25)),
    ]


def _prior_hidden(rng) -> list[Case]:
    cases = []
    for _ in range(5):
        train_rate, new_rate = (float(r) for r in rng.uniform(0.05, 0.95, 2))
        cases.append(Case("random rates", (rng.random(int(rng.integers(5, 400))), train_rate, new_rate)))
    return cases


def _prior_swapped(probabilities, train_rate, new_rate):
    from course_lib.simulate import prior_corrected

    return prior_corrected(probabilities, new_rate, train_rate)


def _prior_positive_only(probabilities, train_rate, new_rate):
    import numpy as np

    positive = new_rate / train_rate * np.asarray(probabilities, dtype=float)
    return positive / (positive + 1 - np.asarray(probabilities, dtype=float))


def _prior_scaled(probabilities, train_rate, new_rate):
    import numpy as np

    return new_rate / train_rate * np.asarray(probabilities, dtype=float)


def _prior_shifted(probabilities, train_rate, new_rate):
    import numpy as np

    return np.clip(np.asarray(probabilities, dtype=float) + new_rate - train_rate, 0, 1)


register(
    Exercise(
        id="01.prior_correction",
        title="Correct a model's probabilities for a known new positive rate",
        kind="function",
        reference="course_lib.simulate:prior_corrected",
        public_cases=_prior_public,
        hidden_cases=_prior_hidden,
        returns="numpy.ndarray",
        mistakes=(
            Mistake(
                "your correction goes the wrong way: when churn becomes MORE common, every "
                "customer's churn probability must go UP. Weigh the positive class by "
                "new_rate / train_rate, not the inverse.",
                wrong=_prior_swapped,
            ),
            Mistake(
                "you re-weighted the positive class but not the negative one: the stayers' weight "
                "changes too, by (1 - new_rate) / (1 - train_rate), before you normalise.",
                wrong=_prior_positive_only,
            ),
            Mistake(
                "scaling p by new_rate / train_rate alone can give values above 1: re-weight both "
                "classes, then divide by their sum so the result is a probability again.",
                wrong=_prior_scaled,
            ),
            Mistake(
                "adding the change in base rate to every probability is not Bayes' rule: a customer "
                "at 0.01 and one at 0.9 do not move by the same amount. Multiply the odds instead.",
                wrong=_prior_shifted,
            ),
        ),
        hint="weigh the positive class by new_rate / train_rate and the negative class by "
        "(1 - new_rate) / (1 - train_rate), then normalise: p' = w1 p / (w1 p + w0 (1 - p)).",
    )
)


# --- value exercises: the two puzzles of the lesson --------------------------------------------
#
# Each answer is a dict of words, checked entry by entry: one case per batch (or stream), so the
# feedback says which entries are wrong and the hint speaks about that entry. reveal_expected is
# off: feedback normally shows "expected X, got Y", which here would hand out the answer to a
# puzzle with three or four options.

_SHIFT_KINDS = ("covariate", "prior", "concept")
_PATTERNS = ("abrupt", "gradual", "incremental", "recurring")


def shift_kind_answer() -> dict:
    """Which shift each batch of :func:`course_lib.simulate.mystery_shifts` shows."""
    from course_lib.simulate import _MYSTERY_SHIFTS

    return {name: kind for name, (kind, _) in _MYSTERY_SHIFTS.items()}


def drift_pattern_answer() -> dict:
    """Which drift pattern each stream of :func:`course_lib.simulate.mystery_streams` follows."""
    from course_lib.simulate import _MYSTERY_STREAMS

    return {name: pattern for name, (pattern, _) in _MYSTERY_STREAMS.items()}


register(
    Exercise(
        id="01.shift_kind",
        title="Which shift does each of the batches A, B and C show?",
        kind="value",
        reference="course_lib.grading.exercises.lesson01:shift_kind_answer",
        public_cases=entry_cases(shift_kind_answer, "batch"),
        reveal_expected=False,
        normalize=EntriesOneOf(*_SHIFT_KINDS),
        mistakes=(
            Mistake(
                'answer with a dict {"A": ..., "B": ..., "C": ...} whose values are exactly '
                '"covariate", "prior" or "concept" (label shift is called "prior" here).',
                wrong=misspelt(shift_kind_answer, "label shift"),
                test=not_a_word(_SHIFT_KINDS),
            ),
            Mistake(
                "look at this batch class by class: compare its churners with the reference "
                "churners, and its stayers with the reference stayers. If each class looks as it "
                "did and what moved is the mix of the classes (the positive rate), with the "
                "model's probabilities too low for everyone, ask which distribution changed: P(X), "
                "P(Y) or P(Y | X)?",
                wrong=relabelled(shift_kind_answer, "prior", "covariate"),
                test=called("prior", ("covariate", "concept"), shift_kind_answer),
            ),
            Mistake(
                "in this batch the features moved within each class too (its churners differ from "
                "the reference churners), and the model's reliability curve still follows the "
                "diagonal. Which of P(X), P(Y) and P(Y | X) moved, and which held?",
                wrong=relabelled(shift_kind_answer, "covariate", "prior"),
                test=called("covariate", ("prior", "concept"), shift_kind_answer),
            ),
            Mistake(
                "this batch's features, over all customers, look just like the reference, yet the "
                "model's predictions no longer match the outcomes (a flat reliability curve, a low "
                "AUC): the same X now leads to a different Y. Which kind of shift can no look at "
                "the inputs alone reveal?",
                wrong=relabelled(shift_kind_answer, "concept", "covariate"),
                test=called("concept", ("covariate", "prior"), shift_kind_answer),
            ),
        ),
        hint="for each batch ask, in order: did P(X) move? did P(X | Y) move within each class? "
        "does the model still match the outcomes?",
    )
)


register(
    Exercise(
        id="01.drift_pattern",
        title="Which drift pattern does each of the streams W, X, Y and Z follow?",
        kind="value",
        reference="course_lib.grading.exercises.lesson01:drift_pattern_answer",
        public_cases=entry_cases(drift_pattern_answer, "stream"),
        reveal_expected=False,
        normalize=EntriesOneOf(*_PATTERNS),
        mistakes=(
            Mistake(
                'answer with a dict {"W": ..., "X": ..., "Y": ..., "Z": ...} whose values are exactly '
                '"abrupt", "gradual", "incremental" or "recurring".',
                wrong=misspelt(drift_pattern_answer, "sudden"),
                test=not_a_word(_PATTERNS),
            ),
            Mistake(
                "look at the points during the change, not at the window means (they form a ramp "
                "either way): do you see two separate bands of points taking turns, the new one "
                "ever denser, or one band sliding from the old level to the new one?",
                wrong=relabelled(drift_pattern_answer, "gradual", "incremental"),
                test=lambda case, got: (
                    (drift_pattern_answer()[case.entry], word(got, case.entry))
                    in {("gradual", "incremental"), ("incremental", "gradual")}
                ),
            ),
            Mistake(
                "follow this stream to its end: after the change, does it stay at its new level, or "
                "does it go back to the old one (and leave it again)? Which pattern makes old models "
                "worth keeping?",
                wrong=relabelled(drift_pattern_answer, "recurring", "abrupt"),
                test=called("recurring", ("abrupt", "gradual", "incremental"), drift_pattern_answer),
            ),
            Mistake(
                "this stream changes once, at one moment, and then stays where it went: it never "
                "goes back, and there is no period where two levels mix or one slides.",
                wrong=relabelled(drift_pattern_answer, "abrupt", "recurring"),
                test=called("abrupt", ("recurring", "gradual", "incremental"), drift_pattern_answer),
            ),
        ),
        hint="look at each stream around its change: one jump, jumps back and forth, two bands "
        "mixing, or one band sliding?",
    )
)


# --- label delay (section 4 of the notebook) -----------------------------------------------


def _labelled_fraction_public() -> list[Case]:
    import numpy as np

    rng = np.random.default_rng(102)
    times = np.sort(rng.uniform(0, 100, 400))
    delays = rng.exponential(10, 400)
    return [
        Case("four predictions, three made by now, two of those labelled", ([0, 1, 2, 3], [1, 5, 0, 0]), {"now": 2.5}),
        Case("a prediction made at now, labelled at once, counts", ([0, 1, 2, 3, 4], [0, 9, 0, 0, 0]), {"now": 2}),
        Case("a label that never arrives (inf)", ([0, 1, 2, 3], [0, float("inf"), 10, 0]), {"now": 5}),
        Case("no prediction made yet: nan", ([5.0, 6.0], [1.0, 1.0]), {"now": 2.0}),
        Case("400 predictions, exponential delays", (times, delays), {"now": 60.0}),
    ]


def _labelled_fraction_hidden(rng) -> list[Case]:
    cases = []
    for _ in range(4):
        n = int(rng.integers(50, 1000))
        times = rng.uniform(0, 100, n)
        delays = rng.exponential(rng.uniform(1, 30), n)
        delays[rng.random(n) < 0.1] = float("inf")
        cases.append(Case("random arrivals", (times, delays), {"now": float(rng.uniform(20, 100))}))
    cases.append(Case("nothing predicted yet", (rng.uniform(50, 100, 20), rng.exponential(5, 20)), {"now": 10.0}))
    return cases


def _arrays(prediction_times, label_delays):
    import numpy as np

    return np.asarray(prediction_times, dtype=float), np.asarray(label_delays, dtype=float)


def _fraction_of_all(prediction_times, label_delays, now):
    times, delays = _arrays(prediction_times, label_delays)
    return float(((times <= now) & (times + delays <= now)).sum() / len(times))


def _strictly_before_now(prediction_times, label_delays, now):
    import numpy as np

    times, delays = _arrays(prediction_times, label_delays)
    made = times < now
    return float(np.mean(times[made] + delays[made] < now)) if made.any() else float("nan")


def _never_counted_as_arrived(prediction_times, label_delays, now):
    import numpy as np

    times, delays = _arrays(prediction_times, label_delays)
    made = times <= now
    arrived = (times[made] + delays[made] <= now) | np.isinf(delays[made])
    return float(np.mean(arrived)) if made.any() else float("nan")


def _delay_ignored(prediction_times, label_delays, now):
    times, _ = _arrays(prediction_times, label_delays)
    return 1.0 if (times <= now).any() else float("nan")


def _divides_by_zero(prediction_times, label_delays, now):
    times, delays = _arrays(prediction_times, label_delays)
    made = times <= now
    return float(((times + delays) <= now)[made].sum()) / int(made.sum())


register(
    Exercise(
        id="01.labelled_fraction",
        title="Share of the predictions made so far whose label has arrived",
        kind="function",
        reference="course_lib.simulate:labelled_fraction",
        public_cases=_labelled_fraction_public,
        hidden_cases=_labelled_fraction_hidden,
        returns="float",
        mistakes=(
            Mistake(
                "you divided by all predictions, including those not made yet; count only the "
                "predictions with time <= now in the denominator.",
                wrong=_fraction_of_all,
            ),
            Mistake(
                "a prediction made exactly at `now`, and a label arriving exactly at `now`, have "
                "happened: use <= now, not < now.",
                wrong=_strictly_before_now,
            ),
            Mistake(
                "a delay of inf means the label never arrives: t + inf <= now is False, so it must "
                "not count as labelled.",
                wrong=_never_counted_as_arrived,
            ),
            Mistake(
                "a prediction's label arrives at time + delay, not at the prediction time.",
                wrong=_delay_ignored,
            ),
            Mistake(
                "before the first prediction there is nothing to divide by: return float('nan') "
                "when no prediction has been made by `now` (the share is undefined, not 0).",
                wrong=_divides_by_zero,
            ),
        ),
        hint="keep the predictions with t <= now, then the share of them with t + delay <= now.",
    )
)
