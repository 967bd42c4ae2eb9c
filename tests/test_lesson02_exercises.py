"""Lesson 02's exercises: the references agree with scipy, the hints recognise wrong answers as a
learner would write them (not only the registry's own wrong functions), and the value exercises
still contain the trap their text describes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given, settings, strategies as st

from course_lib import stats
from course_lib.grading import get_exercise, run_cases
from course_lib.grading.exercises import lesson02


def _hints(exercise_id, answer):
    exercise = get_exercise(exercise_id)
    result = run_cases(exercise, answer, exercise.public_cases())
    assert result.status == "failed"
    return {outcome.hint for outcome in result.outcomes if not outcome.passed}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ks_reference_equals_scipy_on_public_and_hidden_cases(seed):
    exercise = get_exercise("02.ks_statistic")
    for case in exercise.public_cases() + exercise.draw_hidden_cases(seed):
        expected = scipy.stats.ks_2samp(*case.args).statistic
        assert exercise.reference_solution()(*case.args) == pytest.approx(expected, abs=1e-12)


def test_kl_reference_equals_scipy_entropy_of_the_clipped_shares():
    exercise = get_exercise("02.kl_divergence")
    for case in exercise.public_cases():
        shares = stats.binned_proportions(*case.args, **case.kwargs)
        r, c = np.maximum(shares.reference, 1e-4), np.maximum(shares.current, 1e-4)
        expected = scipy.stats.entropy(r, c)  # normalises both, natural log
        assert exercise.expected_for(case) == pytest.approx(expected, rel=1e-12)


def test_kl_in_the_wrong_direction_gets_the_direction_hint():
    def kl_reversed(reference, current, bins=10):
        shares = stats.binned_proportions(reference, current, bins=bins)
        r, c = np.maximum(shares.reference, 1e-4), np.maximum(shares.current, 1e-4)
        return float(scipy.stats.entropy(c, r))

    assert any("KL(current || reference)" in hint for hint in _hints("02.kl_divergence", kl_reversed))


def test_psi_without_clipping_gets_the_eps_hint():
    def psi_unclipped(reference, current, bins=10):
        edges = np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1])
        r = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=bins) / len(reference)
        c = np.bincount(np.searchsorted(edges, current, side="right"), minlength=bins) / len(current)
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum((c - r) * np.log(c / r)))

    assert any("eps = 1e-4" in hint for hint in _hints("02.psi", psi_unclipped))


def test_one_sided_ks_gets_the_one_sided_hint():
    def ks_one_sided(reference, current):
        pooled = np.concatenate([reference, current])
        return float(np.max(stats.ecdf(reference, pooled) - stats.ecdf(current, pooled)))

    assert any("one-sided" in hint for hint in _hints("02.ks_statistic", ks_one_sided))


def _holm_rejections(pvalues, alpha):
    """Holm's procedure as Holm (1979) states it: reject in order until p_(k) > alpha / (m - k + 1)."""
    order = np.argsort(pvalues, kind="stable")
    rejected = np.zeros(len(pvalues), dtype=bool)
    for k, index in enumerate(order):
        if pvalues[index] > alpha / (len(pvalues) - k):
            break
        rejected[index] = True
    return rejected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=25), st.sampled_from([0.01, 0.05, 0.1]))
def test_holm_adjusted_pvalues_reject_what_holms_procedure_rejects(pvalues, alpha):
    p = np.array(pvalues)
    # Away from the exact boundaries p = alpha / j, where rounding may fall either way.
    assume(np.min(np.abs(p[:, None] - alpha / np.arange(1, p.size + 1))) > 1e-12)
    adjusted = get_exercise("02.adjust_pvalues").reference_solution()(p, "holm")
    assert np.array_equal(adjusted <= alpha, _holm_rejections(p, alpha))
    # ... and never fewer than Bonferroni, the reason 02.choose_correction's answer is Holm.
    assert np.all(adjusted <= stats.adjust_pvalues(p, "bonferroni") + 1e-15)


def test_read_report_still_has_a_column_only_the_correction_clears():
    answer = lesson02.read_report_answer()
    uncorrected = lesson02._uncorrected_reading()
    assert answer and set(answer) < set(uncorrected)
    assert "tenure_months" in set(uncorrected) - set(answer), "the exercise text points at tenure_months"


def test_read_report_in_another_order_gets_the_order_hint():
    answer = lesson02.read_report_answer()
    assert any("order" in hint for hint in _hints("02.read_report", list(reversed(answer))))
