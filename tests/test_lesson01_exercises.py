"""Lesson 01's two puzzle exercises: checked entry by entry, with hints, and never giving the
answer away in their feedback (a multiple-choice answer shown as "expected ..." would)."""

from __future__ import annotations

import pytest

from course_lib.grading import check, get_exercise, run_cases
from course_lib.grading.exercises.lesson01 import drift_pattern_answer, shift_kind_answer

PUZZLES = {"01.shift_kind": shift_kind_answer, "01.drift_pattern": drift_pattern_answer}


@pytest.mark.parametrize("ident", PUZZLES)
def test_feedback_names_the_wrong_entries_but_not_their_answers(ident):
    answer = PUZZLES[ident]()
    words = sorted(set(answer.values()))
    for guess in words:
        result = check(ident, {key: guess for key in answer}, quiet=True)
        failed = [outcome for outcome in result.outcomes if not outcome.passed]
        assert len(failed) == sum(word != guess for word in answer.values())
        for outcome in failed:
            key = outcome.description.split()[-1]
            assert outcome.detail == f"for {key!r}, {guess!r} is not the right answer"
            assert answer[key] not in outcome.detail, outcome.detail
            assert outcome.hint


def test_one_wrong_entry_costs_one_case_and_gets_its_own_hint():
    answer = shift_kind_answer()
    prior_batch = next(key for key, kind in answer.items() if kind == "prior")
    result = check("01.shift_kind", {**answer, prior_batch: "covariate"}, quiet=True)
    assert (result.passed, result.total) == (2, 3)
    (failed,) = [outcome for outcome in result.outcomes if not outcome.passed]
    assert failed.description == f"batch {prior_batch}"
    assert "class by class" in failed.hint and "P(Y)" in failed.hint
    assert "prior" not in failed.hint.lower()  # the hint leads to the answer without naming it


def test_words_are_compared_without_case_or_surrounding_spaces():
    shouted = {key: f"  {word.upper()} " for key, word in drift_pattern_answer().items()}
    assert check("01.drift_pattern", shouted, quiet=True).status == "passed"


def test_swapping_gradual_and_incremental_explains_the_bands():
    answer = drift_pattern_answer()
    swap = {"gradual": "incremental", "incremental": "gradual"}
    result = check("01.drift_pattern", {key: swap.get(word, word) for key, word in answer.items()}, quiet=True)
    failed = [outcome for outcome in result.outcomes if not outcome.passed]
    assert len(failed) == 2 and all("two separate bands" in outcome.hint for outcome in failed)


@pytest.mark.parametrize("answer", ["prior", ["prior", "concept", "covariate"], {"A": "label shift"}])
def test_an_answer_of_the_wrong_shape_is_told_the_expected_shape(answer):
    result = run_cases(get_exercise("01.shift_kind"), answer, get_exercise("01.shift_kind").public_cases())
    assert result.status == "failed"
    assert all('answer with a dict {"A": ...' in outcome.hint for outcome in result.outcomes if not outcome.passed)


def test_a_list_that_passes_every_number_still_fails_the_promised_array_type():
    """Issue 8, hole 2: a list of window means passed every case, then broke the lesson's plot
    (``100 * list`` repeats the list). The check now asks for the promised numpy array."""

    def windowed_mean(values, window):
        v = list(values)
        n = len(v) // window
        return [sum(v[i * window : (i + 1) * window]) / window for i in range(n)]

    result = check("01.windowed_mean", windowed_mean, quiet=True)
    assert result.status == "failed" and result.passed == 0
    assert all("must return a numpy.ndarray" in outcome.detail for outcome in result.outcomes)


def test_labelled_fraction_must_return_nan_before_the_first_prediction():
    """Issue 8, hole 4: raising ZeroDivisionError passed every case."""

    def labelled_fraction(prediction_times, label_delays, now):
        made = [(t, d) for t, d in zip(prediction_times, label_delays) if t <= now]
        return sum(t + d <= now for t, d in made) / len(made)

    result = check("01.labelled_fraction", labelled_fraction, quiet=True)
    (failed,) = [outcome for outcome in result.outcomes if not outcome.passed]
    assert "ZeroDivisionError" in failed.detail and "nan" in failed.hint


def test_strict_now_and_never_arriving_labels_get_their_own_hints():
    """Issue 8, hole 5: both mistakes used to get other mistakes' hints."""
    import numpy as np

    def strict(prediction_times, label_delays, now):
        t, d = np.asarray(prediction_times, float), np.asarray(label_delays, float)
        made = t < now
        return float(np.mean(t[made] + d[made] < now)) if made.any() else float("nan")

    def inf_arrives(prediction_times, label_delays, now):
        t, d = np.asarray(prediction_times, float), np.asarray(label_delays, float)
        made = t <= now
        return float(np.mean((t[made] + d[made] <= now) | np.isinf(d[made]))) if made.any() else float("nan")

    for answer, words in ((strict, "<= now, not < now"), (inf_arrives, "never arrives")):
        result = check("01.labelled_fraction", answer, quiet=True)
        hints = {outcome.hint for outcome in result.outcomes if not outcome.passed}
        assert len(hints) == 1 and words in hints.pop()
