"""The fast paths of course_lib.stats (issue 10) against scipy on seeded data.

The KS statistic is searched coarse to fine, its exact p-value is computed from the statistic
(Hodges' reflection sum for equal sizes), and the Wasserstein distance of unequal samples uses
the quantile form: each must give scipy's answer, ties, unequal sizes and argument order
included. No timings here: speed is measured in benchmarks/bench_drift_statistics.py.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.stats

try:  # scipy's own Horner loop for equal sizes (private; the public comparisons below suffice)
    from scipy.stats._stats_py import _compute_prob_outside_square
except ImportError:  # pragma: no cover - depends on the scipy release
    _compute_prob_outside_square = None

from course_lib import drift, stats


def scipy_ks(a, b, method="auto"):
    with warnings.catch_warnings():
        # scipy warns when its exact recursion fails and it switches to the asymptotic form.
        warnings.simplefilter("ignore", RuntimeWarning)
        return scipy.stats.ks_2samp(a, b, method=method)


def sample_pair(rng: np.random.Generator, n: int, m: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    if kind == "continuous":
        return rng.normal(0.0, 1.0, n), rng.normal(rng.uniform(0.0, 0.4), 1.0, m)
    if kind == "ties":  # few distinct values: long runs of equal values on both sides
        return rng.integers(0, 12, n).astype(float), rng.integers(0, 13, m).astype(float)
    if kind == "rounded":  # ties within and across samples, and a small shift
        return np.round(rng.normal(0.0, 1.0, n), 1), np.round(rng.normal(0.1, 1.0, m), 1)
    if kind == "shared":  # the current sample is drawn from the reference's own values
        a = rng.normal(0.0, 1.0, n)
        return a, rng.choice(a, m)
    raise ValueError(kind)


KINDS = ("continuous", "ties", "rounded", "shared")


# --------------------------------------------------------------------------------------------
# Exact p-value, computed from the statistic


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 50, 99, 257, 1000, 3001, 9999, 10_000])
def test_equal_size_exact_tail_matches_scipys_horner_loop(n):
    if _compute_prob_outside_square is None:
        pytest.skip("this scipy release has no _compute_prob_outside_square")
    for h in sorted({1, 2, 3, n // 7 + 1, n // 3 + 1, n // 2 + 1, n}):
        if 1 <= h <= n:
            ours = stats._ks_exact_sf_equal(n, h)
            theirs = _compute_prob_outside_square(n, h)
            assert ours == pytest.approx(theirs, rel=1e-11, abs=1e-300), (n, h)


@pytest.mark.parametrize("kind", KINDS)
def test_exact_pvalues_match_scipy_on_many_seeded_sizes(kind):
    rng = np.random.default_rng(10 + KINDS.index(kind))
    sizes = [(n, n) for n in rng.integers(1, 400, 25)]  # equal sizes: the reflection sum
    sizes += [tuple(pair) for pair in rng.integers(1, 400, (25, 2))]  # mostly unequal
    sizes += [(1, 1), (1, 7), (7, 1), (2, 3), (40, 60), (60, 40), (500, 499), (800, 200)]
    for n, m in sizes:
        a, b = sample_pair(rng, int(n), int(m), kind)
        ours = stats.ks_2samp(a, b)
        theirs = scipy_ks(a, b)
        assert ours.statistic == theirs.statistic, (n, m)
        assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300), (n, m)


@pytest.mark.parametrize(
    ("n", "m"), [(10_000, 10_000), (10_000, 9_999), (9_999, 10_000), (10_000, 2_500), (10_001, 10_000), (10_001, 10_001)]
)
def test_pvalues_at_the_exact_cutoff_match_scipy(n, m):
    rng = np.random.default_rng(n + 7 * m)
    for shift in (0.0, 0.05):
        a, b = rng.normal(0.0, 1.0, n), rng.normal(shift, 1.0, m)
        ours, theirs = stats.ks_2samp(a, b), scipy_ks(a, b)
        assert ours.statistic == theirs.statistic
        assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-9 if max(n, m) <= 10_000 else 1e-6, abs=1e-300)


# Unequal sizes by structure: tiny samples, coprime sizes, a common divisor (the lattice has
# repeated boundary points), one sample much larger than the other; each with ties too.
UNEQUAL_GRID = [
    *[(n, m) for n in (1, 2, 3, 4, 5) for m in (1, 2, 6, 17, 250, 9_999)],
    (97, 89), (997, 1_009), (4_999, 5_000),  # coprime
    (600, 400), (1_000, 250), (6_000, 9_000), (4_096, 1_024),  # common divisor
    (7, 9_000), (9_000, 11), (50, 8_000),  # one much larger
]


@pytest.mark.parametrize("kind", ("continuous", "ties", "rounded"))
def test_exact_pvalues_match_scipy_exact_on_a_grid_of_unequal_sizes(kind):
    rng = np.random.default_rng(40 + ("continuous", "ties", "rounded").index(kind))
    for n, m in UNEQUAL_GRID:
        a, b = sample_pair(rng, n, m, kind)
        ours, theirs = stats.ks_2samp(a, b), scipy_ks(a, b, method="exact")
        assert ours.statistic == theirs.statistic, (n, m)
        assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300), (n, m, ours, theirs)


def test_exact_pvalue_of_a_total_separation_is_the_smallest_possible():
    # All of b above all of a: D = 1, and only 2 of the C(n+m, n) orders are this extreme.
    n, m = 6, 4
    result = stats.ks_2samp(np.arange(n), np.arange(m) + 100.0)
    assert result.statistic == 1.0
    assert result.pvalue == pytest.approx(2 / math.comb(n + m, n), rel=1e-12)
    assert result.pvalue == pytest.approx(scipy_ks(np.arange(n), np.arange(m) + 100.0).pvalue, rel=1e-12)


def test_equal_size_pvalue_is_one_at_the_smallest_possible_statistic():
    # Two samples of n distinct values always differ by at least 1/n somewhere.
    result = stats.ks_2samp([0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0], [1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0])
    assert result.statistic == pytest.approx(1 / 7)
    assert result.pvalue == pytest.approx(1.0, abs=1e-12)


def test_exact_sf_falls_back_when_the_recursion_is_not_a_probability(monkeypatch):
    # scipy switches to the asymptotic distribution when its recursion fails; so does ks_2samp.
    monkeypatch.setattr(stats, "_ks_exact_sf_unequal", lambda n, m, h: math.nan)
    a, b = np.linspace(0, 1, 50), np.linspace(0.2, 1.2, 40)
    result = stats.ks_2samp(a, b)
    assert result.pvalue == pytest.approx(scipy_ks(a, b, method="asymp").pvalue, rel=1e-12)


# --------------------------------------------------------------------------------------------
# The statistic, searched coarse to fine


@pytest.mark.parametrize("kind", KINDS)
def test_refined_statistic_is_scipys_float_for_large_samples(kind):
    rng = np.random.default_rng(30 + KINDS.index(kind))
    for n, m in [(20_000, 20_000), (50_000, 7_000), (3_000, 60_000), (513, 100_000), (65_537, 65_536)]:
        a, b = sample_pair(rng, n, m, kind)
        assert stats.ks_statistic(a, b) == scipy_ks(a, b, method="asymp").statistic, (n, m)


def test_refined_statistic_on_identical_and_nested_samples():
    # Nearly every block stays a candidate here, so the full search takes over.
    rng = np.random.default_rng(5)
    a = rng.normal(0.0, 1.0, 30_000)
    assert stats.ks_statistic(a, a.copy()) == 0.0
    assert stats.ks_statistic(a, a[:20_000]) == scipy_ks(a, a[:20_000], method="asymp").statistic
    assert stats.ks_statistic(a, np.concatenate([a, a])) == 0.0


def test_refined_statistic_with_the_maximum_at_either_end():
    rng = np.random.default_rng(6)
    base = rng.normal(0.0, 1.0, 40_000)
    cases = [
        (base, np.concatenate([base[:30_000], np.full(5_000, -10.0)])),  # mass moved below everything
        (base, np.concatenate([base[:30_000], np.full(5_000, 10.0)])),  # and above everything
        (np.sort(base), np.sort(base)[::2] + 1e-9),  # gaps of one value everywhere
    ]
    for a, b in cases:
        assert stats.ks_statistic(a, b) == scipy_ks(a, b, method="asymp").statistic


@pytest.mark.parametrize("kind", KINDS)
def test_ks_does_not_depend_on_argument_order(kind):
    rng = np.random.default_rng(40 + KINDS.index(kind))
    for n, m in [(30, 500), (1_000, 30_000), (12_000, 800)]:
        a, b = sample_pair(rng, n, m, kind)
        assert tuple(stats.ks_2samp(a, b)) == tuple(stats.ks_2samp(b, a))


# --------------------------------------------------------------------------------------------
# Wasserstein, quantile form


@pytest.mark.parametrize("kind", KINDS)
def test_wasserstein_matches_scipy_for_unequal_sizes(kind):
    rng = np.random.default_rng(50 + KINDS.index(kind))
    sizes = [tuple(pair) for pair in rng.integers(1, 300, (40, 2))]
    sizes += [(1, 1), (1, 9), (9, 1), (6, 4), (4, 6), (100_000, 80_000), (7, 70_000), (65_536, 65_537)]
    for n, m in sizes:
        a, b = sample_pair(rng, int(n), int(m), kind)
        theirs = scipy.stats.wasserstein_distance(a, b)
        assert stats.wasserstein(a, b) == pytest.approx(theirs, rel=1e-10, abs=1e-14), (n, m)
        assert stats.wasserstein(b, a) == pytest.approx(theirs, rel=1e-10, abs=1e-14), (n, m)


def test_wasserstein_quantile_form_on_a_hand_example():
    # a = {0, 1}, b = {0, 1, 2}: on (0, 1/3] both quantiles are 0; on (1/3, 1/2] a is 0, b 1;
    # on (1/2, 2/3] both are 1; on (2/3, 1] a is 1, b 2: W = 1/6 + 1/3 = 1/2.
    assert stats.wasserstein([0.0, 1.0], [0.0, 1.0, 2.0]) == pytest.approx(0.5, rel=1e-15)
    assert scipy.stats.wasserstein_distance([0.0, 1.0], [0.0, 1.0, 2.0]) == pytest.approx(0.5)


# --------------------------------------------------------------------------------------------
# The drift report uses the same paths


def test_drift_report_ks_rows_match_scipy_for_unequal_sizes_and_swapped_tables():
    rng = np.random.default_rng(60)
    reference = pd_frame(rng, 3_000, 4)
    current = pd_frame(rng, 2_000, 4, shift=0.15)
    report = drift.drift_report(reference, current, method="ks", correction=None)
    swapped = drift.drift_report(current, reference, method="ks", correction=None)
    for row, other in zip(report.table.itertuples(), swapped.table.itertuples()):
        theirs = scipy_ks(reference[row.column], current[row.column])
        assert row.statistic == theirs.statistic
        assert row.pvalue == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)
        assert (other.statistic, other.pvalue) == (row.statistic, row.pvalue)
        w = scipy.stats.wasserstein_distance(reference[row.column], current[row.column])
        assert row.effect_size == pytest.approx(w / np.std(reference[row.column]), rel=1e-10)


def pd_frame(rng, rows, columns, shift=0.0):
    import pandas as pd

    return pd.DataFrame(
        {f"x{i}": rng.normal(shift * (i % 2), 1.0, rows) for i in range(columns)}
    )


# --------------------------------------------------------------------------------------------
# PSI's quantile edges without numpy's partition, and categorical columns from their codes


def test_sorted_quantiles_are_numpys_floats():
    rng = np.random.default_rng(70)
    for trial in range(600):
        n = int(rng.integers(1, 3_000))
        kind = trial % 3
        sample = rng.normal(0.0, 1.0, n) if kind == 0 else rng.integers(0, 7, n).astype(float)
        if kind == 2:
            sample = rng.exponential(1.0, n) * 1e6
        levels = np.linspace(0.0, 1.0, int(rng.integers(2, 40)) + 1)[1:-1]
        ordered = np.sort(sample)
        np.testing.assert_array_equal(stats._sorted_quantiles(ordered, levels), np.quantile(sample, levels))


def test_psi_edges_and_values_unchanged_by_the_sorted_path():
    rng = np.random.default_rng(71)
    reference, current = rng.normal(0.0, 1.0, 50_000), rng.normal(0.1, 1.2, 40_000)
    edges = np.unique(np.quantile(reference, np.linspace(0.0, 1.0, 11)[1:-1]))
    np.testing.assert_array_equal(stats.binned_proportions(reference, current).edges, edges)
    counts = np.histogram(current, np.concatenate(([-np.inf], edges, [np.inf])))[0]
    np.testing.assert_array_equal(stats.binned_proportions(reference, current).current, counts / current.size)


@pytest.mark.parametrize("dtype", ["category", "str", "object"])
def test_categorical_report_rows_do_not_depend_on_the_dtype(dtype):
    import pandas as pd

    rng = np.random.default_rng(72)
    levels = np.array(["basic", "standard", "premium", "trial"])
    reference = pd.DataFrame({"plan": rng.choice(levels[:3], 5_000), "region": rng.choice(levels, 5_000)})
    current = pd.DataFrame({"plan": rng.choice(levels, 4_000, p=[0.2, 0.3, 0.3, 0.2]), "region": rng.choice(levels, 4_000)})
    current.loc[:9, "plan"] = None  # missing values are counted, not compared
    expected = drift.drift_report(reference.astype(object), current.astype(object), method="chi2", correction=None)
    for method in ("chi2", "psi", "js"):
        ours = drift.drift_report(reference.astype(dtype), current.astype(dtype), method=method, correction=None)
        if method == "chi2":
            pd.testing.assert_series_equal(ours.table["pvalue"], expected.table["pvalue"], rtol=1e-12)
            for name in ("plan", "region"):
                present = current[name].dropna()
                table = pd.concat([reference[name].value_counts(), present.value_counts()], axis=1).fillna(0)
                theirs = scipy.stats.chi2_contingency(table.to_numpy().T)
                row = ours.table.set_index("column").loc[name]
                assert row["statistic"] == pytest.approx(theirs.statistic, rel=1e-12)
        assert ours.table["missing_current"].tolist() == [10 / 4_000, 0.0]


def test_categorical_counts_from_codes_match_the_hashed_counts():
    import pandas as pd

    # A category that appears late, one declared but never used, one only in current.
    reference = pd.Categorical(list("bbbbcccc") * 500 + ["z"], categories=["a", "b", "c", "z", "unused"])
    current = pd.Categorical(["q"] + list("ccbb") * 300 + ["a"])
    ours = stats._category_counts(reference, current)
    theirs = stats.category_counts(np.asarray(reference, dtype=object), np.asarray(current, dtype=object))
    assert ours.categories == theirs.categories == ("b", "c", "z", "q", "a")
    np.testing.assert_array_equal(ours.table, theirs.table)
