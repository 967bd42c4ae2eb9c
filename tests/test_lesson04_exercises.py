"""Lesson 04's exercises: the references agree with statsmodels and with course_lib.canary, the
hints recognise wrong answers as a learner would write them (not only the registry's own wrong
functions), and the value exercises still contain the trap their text describes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from course_lib import canary
from course_lib.grading import answer_or_reference, get_exercise, run_cases
from course_lib.grading.exercises import lesson04


def _hints(exercise_id, answer):
    exercise = get_exercise(exercise_id)
    result = run_cases(exercise, answer, exercise.public_cases())
    assert result.status == "failed"
    return {outcome.hint for outcome in result.outcomes if not outcome.passed}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pooled_z_reference_equals_statsmodels_on_public_and_hidden_cases(seed):
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    exercise = get_exercise("04.pooled_z")
    for case in exercise.public_cases() + exercise.draw_hidden_cases(seed):
        s_a, n_a, s_b, n_b = case.args
        got = exercise.reference_solution()(*case.args)
        if s_a + s_b == 0:
            assert got == 0.0
            continue
        z, _ = proportion.proportions_ztest([s_b, s_a], [n_b, n_a])
        assert got == pytest.approx(z, rel=1e-10)


def test_a_learner_unpooled_z_gets_the_pooling_hint():
    def z_unpooled(s_a, n_a, s_b, n_b):
        p_a, p_b = s_a / n_a, s_b / n_b
        se = np.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
        return float((p_b - p_a) / se) if se > 0 else 0.0

    assert any("common rate" in hint for hint in _hints("04.pooled_z", z_unpooled))


def test_a_learner_z_that_divides_by_zero_gets_the_no_events_hint():
    def z_numpy(s_a, n_a, s_b, n_b):
        pooled = np.float64(s_a + s_b) / (n_a + n_b)
        with np.errstate(invalid="ignore", divide="ignore"):
            return float((s_b / n_b - s_a / n_a) / np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b)))

    assert any("0/0 is NaN" in hint for hint in _hints("04.pooled_z", z_numpy))


def test_a_z_returned_as_an_array_fails_on_its_type():
    def z_array(s_a, n_a, s_b, n_b):
        return np.array([lesson04.pooled_z(s_a, n_a, s_b, n_b)])

    exercise = get_exercise("04.pooled_z")
    result = run_cases(exercise, z_array, exercise.public_cases())
    assert result.status == "failed" and "must return a float" in result.outcomes[0].detail


def test_canary_hours_is_enough_time_and_one_hour_less_is_not():
    hours = lesson04.canary_hours_answer()
    per_hour = lesson04.HOURLY_REQUESTS * lesson04.CANARY_SHARE
    needed = canary.sample_size_two_proportions(lesson04.ERROR_RATE, lesson04.RELATIVE_MDE)
    assert hours * per_hour >= needed > (hours - 1) * per_hour


def test_canary_hours_mistakes_are_all_different_answers():
    exercise = get_exercise("04.canary_hours")
    answers = [mistake.wrong() for mistake in exercise.mistakes] + [lesson04.canary_hours_answer()]
    assert len(set(answers)) == len(answers), answers


@pytest.mark.parametrize(("answer", "status"), [(13.0, "passed"), (np.int64(13), "passed"), ("13", "failed"), (12.5, "failed")])
def test_canary_hours_accepts_whole_numbers_in_any_numeric_type(answer, status):
    exercise = get_exercise("04.canary_hours")
    assert run_cases(exercise, answer, exercise.public_cases()).status == status


def test_canary_hours_as_a_fraction_is_told_to_round():
    exercise = get_exercise("04.canary_hours")
    with pytest.raises(ValueError, match="whole number"):
        exercise.canonical(12.845)


def test_stopping_batch_data_still_holds_the_peeking_trap():
    naive, sequential = lesson04._first_naive_rejection(), lesson04.stopping_batch_answer()
    assert 1 <= naive < sequential < lesson04.STOPPING_BATCHES
    table = lesson04.stopping_batches()
    # The naive z-test crosses early and then falls back above 0.05: a fluke, not the evidence.
    pvalues = [
        canary.two_proportion_ztest(int(a), int(n), int(b), int(m)).pvalue
        for a, n, b, m in table[["baseline_errors", "baseline_requests", "canary_errors", "canary_requests"]].to_numpy()
    ]
    assert pvalues[naive - 1] < 0.05 and pvalues[naive] > 0.05
    # And the canary really is worse: the full sample's z-test is clear.
    assert pvalues[-1] < 0.01


def test_stopping_batch_learner_who_peeks_gets_the_peeking_hint():
    assert any("one in seven" in hint for hint in _hints("04.stopping_batch", lesson04._first_naive_rejection()))


def test_stopping_batch_passes_on_an_int():
    assert answer_or_reference("04.stopping_batch", float(lesson04.stopping_batch_answer())) == lesson04.stopping_batch_answer()


def test_rollout_answer_key_covers_every_action_and_matches_the_gates():
    answer = lesson04.rollout_actions_answer()
    assert set(answer.values()) == {"promote", "hold", "rollback"}
    assert math.isnan(lesson04.ROLLOUT_REPORTS["C"]["accuracy"]) and answer["C"] == "hold"
    assert lesson04.ROLLOUT_REPORTS["B"]["verdict"] == "Pass" and answer["B"] == "rollback"


def test_rollout_learner_who_trusts_only_the_judge_gets_the_absolute_limit_hint():
    trusting = {name: {"Pass": "promote", "Marginal": "hold", "Fail": "rollback"}[r["verdict"]]
                for name, r in lesson04.ROLLOUT_REPORTS.items()}  # fmt: skip
    hints = _hints("04.rollout_actions", trusting)
    assert any("absolute" in hint for hint in hints)


def test_rollout_learner_who_treats_marginal_as_failure_is_told_why_not():
    answer = {**lesson04.rollout_actions_answer(), "A": "rollback"}
    assert any("Marginal verdict" in hint for hint in _hints("04.rollout_actions", answer))


def test_rollout_answer_spelt_loosely_still_passes():
    loose = {key: f" {value.upper()}" for key, value in lesson04.rollout_actions_answer().items()}
    exercise = get_exercise("04.rollout_actions")
    assert run_cases(exercise, loose, exercise.public_cases()).status == "passed"


def test_sample_size_with_the_textbook_shortcut_gets_the_pooled_variance_hint():
    def shortcut(baseline_rate, mde, alpha=0.05, power=0.8):
        p1, p2 = baseline_rate, baseline_rate * (1 + mde)
        z = scipy.stats.norm.ppf(1 - alpha / 2) + scipy.stats.norm.ppf(power)
        return int(np.ceil(z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p2 - p1) ** 2))

    assert any("pooled variance" in hint for hint in _hints("04.sample_size", shortcut))


def test_sample_size_that_rounds_to_nearest_gets_the_rounding_hint():
    def nearest(baseline_rate, mde, alpha=0.05, power=0.8):
        p1, p2 = baseline_rate, baseline_rate * (1 + mde)
        p_bar = (p1 + p2) / 2
        z_a, z_b = scipy.stats.norm.ppf(1 - alpha / 2), scipy.stats.norm.ppf(power)
        return int(round(((z_a * np.sqrt(2 * p_bar * (1 - p_bar)) + z_b * np.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) / (p2 - p1)) ** 2))

    exercise = get_exercise("04.sample_size")
    result = run_cases(exercise, nearest, exercise.public_cases())
    assert result.status == "failed"
    assert {o.hint for o in result.outcomes if not o.passed} == {exercise.mistakes[3].hint}
    assert "Round up" in exercise.mistakes[3].hint


@pytest.mark.parametrize("seed", [4, 5])
def test_sample_size_hidden_cases_are_valid_rates(seed):
    exercise = get_exercise("04.sample_size")
    for case in exercise.draw_hidden_cases(seed):
        rate, mde = case.args
        assert 0 < rate * (1 + mde) < 1
        assert isinstance(exercise.reference_solution()(*case.args, **case.kwargs), int)
