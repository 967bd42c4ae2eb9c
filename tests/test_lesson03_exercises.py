"""Lesson 03's exercises: references checked against river and against simulation, every known
mistake caught by a public case with its own hint, and wrong answers written the way a learner
would write them (not the registry's own wrong functions) recognised too."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from river import drift as river_drift

from course_lib.grading import answer_or_reference, get_exercise, run_cases
from course_lib.grading.exercises import lesson03

IDS = ["03.page_hinkley_statistic", "03.ph_threshold", "03.accuracy_window", "03.label_coverage"]


def _hints(exercise_id, answer):
    exercise = get_exercise(exercise_id)
    result = run_cases(exercise, answer, exercise.public_cases())
    assert result.status == "failed"
    return {outcome.hint for outcome in result.outcomes if not outcome.passed}


def test_the_lesson_has_four_exercises_two_of_them_judgement():
    from course_lib.grading import exercise_ids

    assert exercise_ids("03") == IDS
    assert [get_exercise(i).kind for i in IDS].count("value") >= 2


@pytest.mark.parametrize("ident", IDS)
def test_every_known_mistake_fails_a_public_case_with_its_own_hint(ident):
    exercise = get_exercise(ident)
    assert len(exercise.mistakes) >= 3
    for mistake in exercise.mistakes:
        answer = mistake.wrong() if exercise.kind == "value" else mistake.wrong
        hints = _hints(ident, answer)
        assert mistake.hint in hints
        assert not hints - {mistake.hint, exercise.hint, ""}, hints


# --------------------------------------------------------------------------- Page-Hinkley


def test_page_hinkley_reference_equals_rivers_internal_statistic():
    exercise = get_exercise("03.page_hinkley_statistic")
    reference = exercise.reference_solution()
    for case in exercise.public_cases() + exercise.draw_hidden_cases(3):
        stream, delta, alpha = case.args
        detector = river_drift.PageHinkley(threshold=1e12, delta=delta, alpha=alpha, mode="up")
        theirs = []
        for x in np.asarray(stream, dtype=float):
            detector.update(x)
            theirs.append(detector._sum_increase - detector._min_increase)
        np.testing.assert_allclose(reference(*case.args), theirs, rtol=0, atol=1e-12)


def _vectorised_page_hinkley(stream, delta, alpha, *, shift_mean=False):
    """How a learner might write it with numpy: cumulative means, then a loop for the sum."""
    x = np.asarray(stream, dtype=float)
    means = np.cumsum(x) / np.arange(1, x.size + 1)
    if shift_mean:
        means = np.concatenate([[0.0], means[:-1]])
    u = np.empty(x.size)
    total = 0.0
    for i, deviation in enumerate(x - means):
        total = alpha * total + deviation - delta
        u[i] = total
    return u - np.minimum.accumulate(u) if x.size else u


def test_a_vectorised_page_hinkley_passes():
    exercise = get_exercise("03.page_hinkley_statistic")
    assert run_cases(exercise, _vectorised_page_hinkley, exercise.public_cases()).status == "passed"
    assert run_cases(exercise, _vectorised_page_hinkley, exercise.draw_hidden_cases(5), hidden=True).status == "passed"


def test_a_vectorised_page_hinkley_with_the_previous_mean_gets_that_hint():
    def answer(stream, delta, alpha):
        return _vectorised_page_hinkley(stream, delta, alpha, shift_mean=True)

    assert any("BEFORE x_t was added" in hint for hint in _hints("03.page_hinkley_statistic", answer))


def test_a_list_instead_of_an_array_fails_with_the_type_message():
    exercise = get_exercise("03.page_hinkley_statistic")

    def as_list(stream, delta, alpha):
        return _vectorised_page_hinkley(stream, delta, alpha).tolist()

    result = run_cases(exercise, as_list, exercise.public_cases())
    assert result.status == "failed" and "must return a numpy.ndarray" in result.report()


# ----------------------------------------------------------------------------- threshold


def test_threshold_answer_agrees_with_a_simulation_using_river():
    runs = np.random.default_rng(lesson03.PH_SEED).normal(0.0, 1.0, (lesson03.PH_STREAMS, lesson03.PH_LENGTH))
    shares = {}
    for threshold in (30, 40):
        alarmed = 0
        for run in runs:
            detector = river_drift.PageHinkley(threshold=threshold, delta=lesson03.PH_DELTA)
            for x in run:
                detector.update(x)
                if detector.drift_detected:
                    alarmed += 1
                    break
        shares[threshold] = alarmed / len(runs)
    answer = lesson03.ph_threshold_answer()
    assert answer == 40
    assert shares[40] <= lesson03.PH_BUDGET < shares[30]
    assert lesson03._false_alarm_shares()[30] == shares[30]


def test_threshold_answer_is_forgiving_about_number_types_only():
    exercise = get_exercise("03.ph_threshold")
    for spelling in (40, 40.0, np.int64(40), np.float64(40.0)):
        assert run_cases(exercise, spelling, exercise.public_cases()).status == "passed"
    assert answer_or_reference("03.ph_threshold", 40.0) == 40
    for wrong, message in (("forty", "must be one number"), (45, "must be one of 10, 20"), (True, "one number")):
        result = run_cases(exercise, wrong, exercise.public_cases())
        assert result.status == "failed" and message in result.report()


# ------------------------------------------------------------------------ window for noise


def test_accuracy_window_answer_agrees_with_simulated_windows():
    rng = np.random.default_rng(0)
    answer = lesson03.accuracy_window_answer()
    smaller = lesson03.WINDOWS[lesson03.WINDOWS.index(answer) - 1]
    spread = {n: rng.binomial(n, 0.9, 20_000).std() / n for n in (answer, smaller)}
    assert spread[answer] < lesson03.WINDOW_NOISE < spread[smaller]


def test_every_wrong_window_answer_gets_a_hint_without_the_answer():
    exercise = get_exercise("03.accuracy_window")
    answer = str(lesson03.accuracy_window_answer())
    for window in lesson03.WINDOWS:
        result = run_cases(exercise, window, exercise.public_cases())
        if str(window) == answer:
            assert result.status == "passed"
            continue
        for outcome in result.outcomes:
            assert outcome.hint and answer not in outcome.detail


# -------------------------------------------------------------------------- label coverage


def _coverage_by_rows(predictions, labels, as_of, max_delay):
    """The rule read one row at a time, without pandas joins."""
    arrived = {row.id: row.time for row in labels.itertuples() if row.time <= as_of}
    made = [row for row in predictions.itertuples() if row.time <= as_of]
    covered = sum(1 for row in made if row.id in arrived and arrived[row.id] - row.time <= max_delay)
    return covered / len(made) if made else math.nan


def test_label_coverage_reference_equals_a_row_by_row_count():
    exercise = get_exercise("03.label_coverage")
    reference = exercise.reference_solution()
    for case in exercise.public_cases() + exercise.draw_hidden_cases(1) + exercise.draw_hidden_cases(2):
        expected = _coverage_by_rows(*case.args)
        got = reference(*case.args)
        assert (math.isnan(expected) and math.isnan(got)) or got == pytest.approx(expected, abs=1e-12)


def test_a_merge_without_the_as_of_filter_gets_the_future_hint():
    def answer(predictions, labels, as_of, max_delay):
        made = predictions[predictions.time <= as_of]
        joined = pd.merge(made, labels, on="id", suffixes=("_p", "_l"))
        ok = joined[(joined.time_l - joined.time_p) <= max_delay]
        return len(ok) / len(made) if len(made) else float("nan")

    assert any("AFTER as_of" in hint for hint in _hints("03.label_coverage", answer))


def test_counting_labels_per_prediction_without_the_delay_gets_the_delay_hint():
    def answer(predictions, labels, as_of, max_delay):
        made = predictions[predictions.time <= as_of]
        known = set(labels.loc[labels.time <= as_of, "id"])
        return float(made.id.isin(known).mean()) if len(made) else float("nan")

    assert any("max_delay" in hint for hint in _hints("03.label_coverage", answer))
