"""Tests for course_lib.stats against scipy (and numpy), on seeded data, plus invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon

from course_lib import stats

SETTINGS = settings(max_examples=60, deadline=None)

finite_floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
# Few distinct values, so ties within and across samples are common.
tied_floats = st.sampled_from([-2.0, -0.5, 0.0, 0.25, 1.0, 3.0])
samples = st.lists(st.one_of(finite_floats, tied_floats), min_size=1, max_size=40)
categories = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=40)


def numpy_histogram_psi(reference, current, edges, eps=1e-4):
    """PSI straight from numpy.histogram, with infinite outer edges (an independent recipe)."""
    outer = np.concatenate(([-np.inf], edges, [np.inf]))
    r = np.histogram(reference, outer)[0] / len(reference)
    c = np.histogram(current, outer)[0] / len(current)
    r, c = np.clip(r, eps, None), np.clip(c, eps, None)
    return float(np.sum((c - r) * np.log(c / r)))


# ---------------------------------------------------------------------------------- KS


def _ks_cases():
    rng = np.random.default_rng(20261123)
    yield "equal sizes", rng.normal(size=200), rng.normal(0.2, 1, size=200)
    yield "unequal sizes", rng.normal(size=137), rng.normal(0.0, 1.5, size=451)
    yield "tiny", rng.normal(size=3), rng.normal(size=5)
    yield "one value each", np.array([1.0]), np.array([2.0])
    yield "integer ties", rng.integers(0, 5, 300).astype(float), rng.integers(0, 6, 250).astype(float)
    yield "shared values", np.repeat([0.0, 1.0, 2.0], [50, 30, 20]), np.repeat([0.0, 1.0, 2.0], [30, 30, 40])
    yield "identical", np.arange(50.0), np.arange(50.0)
    yield "disjoint", np.arange(10.0), np.arange(10.0) + 100
    yield "at the exact limit", rng.normal(size=10_000), rng.normal(0.03, 1, size=9_000)


@pytest.mark.parametrize(("label", "reference", "current"), list(_ks_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_ks_2samp_matches_scipy_exact_path(label, reference, current):
    ours = stats.ks_2samp(reference, current)
    theirs = scipy.stats.ks_2samp(reference, current)
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-12, rel=0)
    assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-9, abs=0)


def _large_ks_cases():
    rng = np.random.default_rng(7)
    base = rng.normal(size=20_000)
    yield "20000 vs 20000, no shift", base, rng.normal(size=20_000)
    yield "20000 vs 20000, small shift", base, rng.normal(0.04, 1, size=20_000)
    yield "20000 vs 20000, large shift", base, rng.normal(0.12, 1, size=20_000)
    yield "20000 vs 7000", base, rng.normal(0.05, 1, size=7_000)
    yield "20000 vs 300", base, rng.normal(0.3, 1, size=300)
    yield "20000 rounded values", np.round(base, 1), np.round(rng.normal(0.02, 1, size=20_000), 1)
    yield "60000 vs 60000, shift", rng.normal(size=60_000), rng.normal(0.03, 1, size=60_000)


@pytest.mark.parametrize(("label", "reference", "current"), list(_large_ks_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_ks_2samp_matches_scipy_asymptotic_path(label, reference, current):
    ours = stats.ks_2samp(reference, current)
    theirs = scipy.stats.ks_2samp(reference, current)
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-12, rel=0)
    assert ours.pvalue == pytest.approx(theirs.pvalue, rel=0.02, abs=0)
    assert 0.0 < theirs.pvalue  # the cases stay away from underflow, so rel is meaningful


@pytest.mark.parametrize("n", [200, 5_000, 60_000])
@pytest.mark.parametrize("z2", [0.3, 1.0, 2.2, 4.0, 20.0, 150.0, 369.0])
def test_kolmogorov_sf_matches_scipy_kstwo_in_every_branch(n, z2):
    d = math.sqrt(z2 / n)
    assert stats._kolmogorov_sf(n, d) == pytest.approx(scipy.stats.kstwo.sf(d, n), rel=1e-8, abs=1e-300)


@pytest.mark.parametrize(("n", "d"), [(150, 0.2), (20_000, 0.0105), (50_000, 0.02), (250_000, 0.004)])
def test_smirnov_sum_matches_scipy_smirnov(n, d):
    # 250000 terms are summed on an even grid of 20000; the claim is about 1e-9 relative.
    assert stats._smirnov_sf(n, d) == pytest.approx(scipy.special.smirnov(n, d), rel=1e-8)


@SETTINGS
@given(samples, samples)
def test_ks_statistic_equals_scipy_and_is_a_probability(reference, current):
    ours = stats.ks_2samp(reference, current)
    theirs = scipy.stats.ks_2samp(reference, current)
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-12, rel=0)
    assert 0.0 <= ours.statistic <= 1.0
    assert 0.0 <= ours.pvalue <= 1.0
    assert stats.ks_2samp(current, reference).statistic == ours.statistic


def test_ks_result_unpacks_and_identical_samples_give_zero():
    statistic, pvalue = stats.ks_2samp([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert (statistic, pvalue) == (0.0, 1.0)


def test_ecdf_matches_scipy():
    rng = np.random.default_rng(3)
    sample = np.round(rng.normal(size=500), 1)
    points = np.linspace(-4, 4, 81)
    expected = scipy.stats.ecdf(sample).cdf.evaluate(points)
    np.testing.assert_allclose(stats.ecdf(sample, points), expected, rtol=0, atol=1e-15)
    assert stats.ecdf(sample, 100.0) == 1.0 and stats.ecdf(sample, -100.0) == 0.0
    with pytest.raises(ValueError, match="at contains NaN"):
        stats.ecdf(sample, [np.nan])


# --------------------------------------------------------------------------- Wasserstein


@pytest.mark.parametrize(("label", "reference", "current"), list(_ks_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_wasserstein_matches_scipy(label, reference, current):
    expected = scipy.stats.wasserstein_distance(reference, current)
    assert stats.wasserstein(reference, current) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    if np.std(reference) > 0:
        normalized = stats.wasserstein(reference, current, normalize=True)
        assert normalized == pytest.approx(expected / np.std(reference), rel=1e-12, abs=1e-12)


def test_normalized_wasserstein_with_constant_reference():
    assert stats.wasserstein([2.0, 2.0], [2.0], normalize=True) == 0.0
    assert stats.wasserstein([2.0, 2.0], [3.0], normalize=True) == math.inf


@SETTINGS
@given(samples, samples)
def test_wasserstein_equals_scipy_and_is_symmetric(reference, current):
    ours = stats.wasserstein(reference, current)
    assert ours == pytest.approx(scipy.stats.wasserstein_distance(reference, current), rel=1e-9, abs=1e-9)
    assert stats.wasserstein(current, reference) == pytest.approx(ours, rel=1e-12, abs=1e-12)
    assert ours >= 0


# ------------------------------------------------------------------------------ binning


def test_quantile_edges_are_the_reference_quantiles():
    rng = np.random.default_rng(11)
    reference, current = rng.normal(size=1001), rng.normal(5, 1, size=300)
    edges = stats.bin_edges(reference, current, bins=5)
    np.testing.assert_allclose(edges, np.quantile(reference, [0.2, 0.4, 0.6, 0.8]), rtol=1e-14)


def test_uniform_edges_span_the_pooled_range_and_match_numpy_histogram():
    rng = np.random.default_rng(12)
    reference, current = rng.normal(size=1000), rng.normal(1, 2, size=700)
    full = np.histogram_bin_edges(np.concatenate([reference, current]), bins=8)
    edges = stats.bin_edges(reference, current, bins=8, strategy="uniform")
    np.testing.assert_allclose(edges, full[1:-1], rtol=1e-15)
    shares = stats.binned_proportions(reference, current, bins=8, strategy="uniform")
    np.testing.assert_array_equal(shares.reference * 1000, np.histogram(reference, full)[0])
    np.testing.assert_allclose(shares.current * 700, np.histogram(current, full)[0])


def test_tied_quantiles_are_merged():
    reference = np.array([0.0] * 50 + [1.0] * 50)  # deciles 0, 0, 0, 0, 0.5, 1, 1, 1, 1
    edges = stats.bin_edges(reference, reference, bins=10)
    assert edges.tolist() == [0.0, 0.5, 1.0]
    shares = stats.binned_proportions(reference, reference, bins=10)
    assert shares.reference.tolist() == [0.0, 0.5, 0.0, 0.5]


def test_current_values_outside_the_reference_range_are_counted():
    shares = stats.binned_proportions(np.arange(100.0), np.array([-50.0, 500.0, 600.0, 50.0]), bins=4)
    assert shares.current.tolist() == [0.25, 0.0, 0.25, 0.5]
    assert shares.reference.sum() == pytest.approx(1.0)


def test_explicit_edges_are_all_inner_edges():
    shares = stats.binned_proportions([0.1, 0.6, 0.7, 2.0], [-1.0, 0.5, 1.0], bins=[0.0, 0.5, 1.0])
    np.testing.assert_array_equal(shares.edges, [0.0, 0.5, 1.0])
    assert shares.reference.tolist() == [0.0, 0.25, 0.5, 0.25]
    assert shares.current.tolist() == pytest.approx([1 / 3, 0.0, 1 / 3, 1 / 3])


def test_category_counts_cover_new_and_vanished_categories():
    counts = stats.category_counts(np.array(["a", "b", "b", "gone"]), ["b", "new", "new"])
    assert counts.categories == ("a", "b", "gone", "new")
    assert counts.reference.tolist() == [1, 2, 1, 0]
    assert counts.current.tolist() == [0, 1, 0, 2]
    assert counts.table.shape == (2, 4)


# ------------------------------------------------------------------------- divergences


def _binned_cases():
    rng = np.random.default_rng(99)
    yield "shift", rng.normal(size=5000), rng.normal(0.3, 1, size=4000), {}
    yield "spread", rng.normal(size=3000), rng.normal(0, 2, size=3000), {"bins": 20}
    yield "uniform", rng.exponential(size=2000), rng.exponential(1.5, size=2500), {"strategy": "uniform"}
    yield "edges", rng.normal(size=500), rng.normal(1, 1, size=500), {"bins": [-1.0, 0.0, 1.0]}


@pytest.mark.parametrize(("label", "reference", "current", "options"), list(_binned_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_binned_divergences_match_numpy_and_scipy(label, reference, current, options):
    shares = stats.binned_proportions(reference, current, **options)
    r, c = shares.reference, shares.current
    assert stats.psi(reference, current, **options) == pytest.approx(
        numpy_histogram_psi(reference, current, shares.edges), rel=1e-12
    )
    rc, cc = np.clip(r, 1e-4, None), np.clip(c, 1e-4, None)
    # PSI is the symmetrised KL of the clipped shares.
    symmetric = np.sum(scipy.special.rel_entr(rc, cc)) + np.sum(scipy.special.rel_entr(cc, rc))
    assert stats.psi(reference, current, **options) == pytest.approx(symmetric, rel=1e-12)
    assert stats.kl_divergence(reference, current, **options) == pytest.approx(scipy.stats.entropy(rc, cc), rel=1e-12)
    assert stats.js_distance(reference, current, **options) == pytest.approx(jensenshannon(r, c, base=2), rel=1e-9)
    assert stats.js_distance(reference, current, base=math.e, **options) == pytest.approx(jensenshannon(r, c), rel=1e-9)
    hellinger = np.linalg.norm(np.sqrt(r) - np.sqrt(c)) / math.sqrt(2)
    assert stats.hellinger(reference, current, **options) == pytest.approx(hellinger, rel=1e-9)


def test_kl_direction_matters():
    reference = ["a"] * 90 + ["b"] * 10
    current = ["a"] * 50 + ["b"] * 50
    forward = scipy.stats.entropy([0.9, 0.1], [0.5, 0.5])
    backward = scipy.stats.entropy([0.5, 0.5], [0.9, 0.1])
    assert stats.kl_divergence(reference, current) == pytest.approx(forward, rel=1e-9)
    assert stats.kl_divergence(current, reference) == pytest.approx(backward, rel=1e-9)


def test_categorical_psi_counts_a_new_category():
    reference = ["a"] * 50 + ["b"] * 50
    current = ["a"] * 50 + ["b"] * 40 + ["new"] * 10
    expected = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    assert stats.psi(reference, current) == pytest.approx(expected, rel=1e-12)
    assert stats.psi(reference, reference) == 0.0


def test_psi_and_kl_with_zero_eps_are_infinite_for_an_empty_bin():
    assert stats.psi(["a", "b"], ["a", "a"], eps=0) == math.inf
    assert stats.kl_divergence(["a", "b"], ["a", "a"], eps=0) == math.inf
    assert stats.kl_divergence(["a", "a"], ["a", "b"], eps=0) == pytest.approx(math.log(2))


@SETTINGS
@given(samples, samples)
def test_numeric_divergence_invariants(reference, current):
    assert stats.psi(reference, current) >= 0
    assert stats.psi(reference, reference) == 0.0
    assert stats.kl_divergence(reference, current) >= -1e-12
    assert stats.kl_divergence(reference, reference) == pytest.approx(0.0, abs=1e-12)
    js = stats.js_distance(reference, current)
    assert 0.0 <= js <= 1.0 + 1e-12
    hellinger = stats.hellinger(reference, current)
    assert 0.0 <= hellinger <= 1.0
    # Uniform bins come from the pooled range, so swapping the samples keeps the bins.
    assert stats.js_distance(current, reference, strategy="uniform") == pytest.approx(
        stats.js_distance(reference, current, strategy="uniform"), abs=1e-12
    )
    assert stats.psi(current, reference, strategy="uniform") == pytest.approx(
        stats.psi(reference, current, strategy="uniform"), rel=1e-12, abs=1e-12
    )


@SETTINGS
@given(categories, categories)
def test_categorical_divergence_invariants(reference, current):
    assert stats.psi(reference, current) == pytest.approx(stats.psi(current, reference), rel=1e-12)
    assert stats.hellinger(reference, current) == pytest.approx(stats.hellinger(current, reference), abs=1e-12)
    assert 0.0 <= stats.js_distance(reference, current) <= 1.0 + 1e-12
    if set(reference).isdisjoint(current):
        assert stats.js_distance(reference, current) == pytest.approx(1.0)
        assert stats.hellinger(reference, current) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- chi2


def _chi2_cases():
    rng = np.random.default_rng(5)
    yield "same categories", rng.choice(list("abcd"), 400, p=[0.4, 0.3, 0.2, 0.1]), rng.choice(list("abcd"), 300)
    yield "new and vanished", rng.choice(list("abc"), 200), rng.choice(list("bcd"), 250)
    yield "two categories (Yates)", rng.choice(["yes", "no"], 120), rng.choice(["yes", "no"], 80, p=[0.7, 0.3])
    yield "integer codes", rng.integers(0, 6, 500), rng.integers(0, 7, 500)


@pytest.mark.parametrize(("label", "reference", "current"), list(_chi2_cases()), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("correction", [True, False])
def test_chi2_test_matches_scipy_chi2_contingency(label, reference, current, correction):
    levels = sorted(set(reference.tolist()) | set(current.tolist()))
    table = np.array([[np.sum(sample == level) for level in levels] for sample in (reference, current)])
    expected = scipy.stats.chi2_contingency(table, correction=correction)
    ours = stats.chi2_test(reference, current, correction=correction)
    assert ours.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert ours.pvalue == pytest.approx(expected.pvalue, rel=1e-9)


def test_chi2_test_with_one_category():
    assert tuple(stats.chi2_test(["a", "a"], ["a"])) == (0.0, 1.0)


# ------------------------------------------------------------------- multiple testing


def test_adjust_pvalues_fdr_bh_matches_scipy():
    rng = np.random.default_rng(8)
    pvalues = np.concatenate([rng.uniform(size=40), rng.uniform(0, 0.01, size=10), [0.02, 0.02]])
    np.testing.assert_allclose(
        stats.adjust_pvalues(pvalues, "fdr_bh"), scipy.stats.false_discovery_control(pvalues), rtol=1e-12
    )


def test_adjust_pvalues_holm_and_bonferroni_by_hand():
    p = [0.01, 0.04, 0.03, 0.005]
    # Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04;
    # running maximum 0.02, 0.03, 0.06, 0.06; back in input order:
    np.testing.assert_allclose(stats.adjust_pvalues(p, "holm"), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(stats.adjust_pvalues(p, "bonferroni"), [0.04, 0.16, 0.12, 0.02])
    np.testing.assert_allclose(stats.adjust_pvalues([0.5, 0.3], "bonferroni"), [1.0, 0.6])
    np.testing.assert_array_equal(stats.adjust_pvalues(p, None), p)
    assert stats.adjust_pvalues([], "holm").size == 0


@SETTINGS
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_adjusted_pvalues_are_ordered_bh_holm_bonferroni(pvalues):
    raw = np.array(pvalues)
    bh = stats.adjust_pvalues(raw, "fdr_bh")
    holm = stats.adjust_pvalues(raw, "holm")
    bonferroni = stats.adjust_pvalues(raw, "bonferroni")
    assert np.all(raw <= bh + 1e-15) and np.all(bh <= holm + 1e-12) and np.all(holm <= bonferroni + 1e-12)
    assert np.all(bonferroni <= 1.0)


# ------------------------------------------------------------------------- bad input

NUMERIC_FUNCTIONS = [stats.ks_2samp, stats.wasserstein, stats.psi, stats.kl_divergence, stats.js_distance,
                     stats.hellinger, stats.bin_edges, stats.binned_proportions]  # fmt: skip
BINNED_FUNCTIONS = [stats.psi, stats.kl_divergence, stats.js_distance, stats.hellinger, stats.bin_edges,
                    stats.binned_proportions]  # fmt: skip


@pytest.mark.parametrize("function", NUMERIC_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("reference", "current", "error", "fragment"),
    [
        ([], [1.0], ValueError, "reference is empty"),
        ([1.0], [], ValueError, "current is empty"),
        ([1.0, np.nan], [1.0], ValueError, "reference contains NaN"),
        ([1.0], [np.inf], ValueError, "current contains NaN or infinite"),
        (np.ones((3, 2)), [1.0], ValueError, "reference must be 1-D"),
        ([1.0], np.ones((2, 2)), ValueError, "current must be 1-D"),
        (1.0, [1.0], TypeError, "reference must be a 1-D sequence"),
    ],
)
def test_bad_samples_are_named(function, reference, current, error, fragment):
    with pytest.raises(error, match=fragment):
        function(reference, current)


@pytest.mark.parametrize("function", [stats.ks_2samp, stats.wasserstein], ids=lambda f: f.__name__)
def test_numeric_only_statistics_reject_categories(function):
    with pytest.raises(TypeError, match="reference must hold numbers"):
        function(["a", "b"], [1.0])


@pytest.mark.parametrize("function", BINNED_FUNCTIONS[:-2] + [stats.binned_proportions, stats.chi2_test,
                                      stats.category_counts], ids=lambda f: f.__name__)  # fmt: skip
def test_mixed_kinds_are_rejected(function):
    with pytest.raises(TypeError, match="reference is numeric but current is categorical"):
        function([1.0, 2.0], ["a", "b"])


@pytest.mark.parametrize("function", BINNED_FUNCTIONS, ids=lambda f: f.__name__)
def test_bad_binning_options_are_named(function):
    data = [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="bins must be an integer >= 2; got 1"):
        function(data, data, bins=1)
    with pytest.raises(TypeError, match="bins must be an integer"):
        function(data, data, bins=2.5)
    with pytest.raises(ValueError, match="bins, given as edges, must be strictly increasing"):
        function(data, data, bins=[0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="bins contains NaN"):
        function(data, data, bins=[0.0, np.nan])
    with pytest.raises(ValueError, match="strategy must be one of 'quantile', 'uniform'; got 'sturges'"):
        function(data, data, strategy="sturges")


@pytest.mark.parametrize("function", [stats.psi, stats.kl_divergence], ids=lambda f: f.__name__)
def test_negative_eps_is_rejected(function):
    with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
        function([0.0, 1.0], [0.5, 1.5], eps=-1e-4)


def test_js_base_must_exceed_one():
    with pytest.raises(ValueError, match="base must be a finite number > 1"):
        stats.js_distance([0.0, 1.0], [1.0, 2.0], base=1)


def test_categorical_missing_values_are_rejected():
    with pytest.raises(ValueError, match="current contains missing values"):
        stats.chi2_test(["a", "b"], np.array(["a", None], dtype=object))


def test_adjust_pvalues_rejects_bad_input():
    with pytest.raises(ValueError, match="method must be one of 'bonferroni', 'holm', 'fdr_bh', None"):
        stats.adjust_pvalues([0.1], "sidak")
    with pytest.raises(ValueError, match=r"pvalues must each lie in \[0, 1\]"):
        stats.adjust_pvalues([0.1, 1.2], "holm")
    with pytest.raises(ValueError, match="pvalues contains NaN"):
        stats.adjust_pvalues([np.nan], "holm")
    with pytest.raises(ValueError, match="pvalues must be 1-D"):
        stats.adjust_pvalues([[0.1]], "holm")
