"""Lesson 02's exercises: the references agree with scipy, the hints recognise wrong answers as a
learner would write them (not only the registry's own wrong functions), and the value exercises
still contain the trap their text describes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given, settings, strategies as st

from course_lib import stats
from course_lib.grading import answer_or_reference, check, get_exercise, run_cases
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


@pytest.mark.parametrize("spelling", ["Holm", "holm ", " HOLM"])
def test_a_passing_correction_reaches_the_report_in_its_canonical_form(spelling, capsys):
    """Issue 8, hole 1: "Holm" passed the check, was passed on unchanged and broke the report."""
    from course_lib.drift import drift_report
    from course_lib.simulate import make_tabular

    assert check("02.choose_correction", spelling, quiet=True).status == "passed"
    correction = answer_or_reference("02.choose_correction", spelling)
    assert correction == "holm"
    report = drift_report(make_tabular(200, seed=1), make_tabular(200, seed=2), correction=correction)
    assert "pvalue_adjusted" in report.table


def test_the_correction_feedback_does_not_print_the_answer():
    """Issue 8, hole 6: the first wrong try printed "expected 'holm'"."""
    text = check("02.choose_correction", "bonferroni", quiet=True).report()
    assert "holm" not in text.lower()


def test_psi_with_bin_edge_values_on_the_wrong_side_fails_a_public_case():
    """Issue 8, hole 3: side='left' passed every public case (continuous data never sits on an
    edge) and lost marks only in the grade; on integer data it differs (0.0808 vs 0.0757)."""
    import numpy as np

    from course_lib import stats

    def psi_left(reference, current, bins=10):
        r, c = np.asarray(reference, float), np.asarray(current, float)
        edges = np.quantile(r, np.linspace(0, 1, bins + 1)[1:-1])
        shares = [np.maximum(np.bincount(np.searchsorted(edges, x, side="left"), minlength=bins) / x.size, 1e-4) for x in (r, c)]
        return float(np.sum((shares[1] - shares[0]) * np.log(shares[1] / shares[0])))

    result = check("02.psi", psi_left, quiet=True)
    failed = [outcome for outcome in result.outcomes if not outcome.passed]
    assert failed and all("side='right'" in outcome.hint for outcome in failed)
