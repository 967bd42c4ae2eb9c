"""Tests for multivariate drift: stats.mmd_test and drift.classifier_drift.

The MMD statistic is checked against a direct double loop over the formula of Gretton et al.
(2012) and against scikit-learn's rbf_kernel; its permutation p-value against scipy's exact
permutation test. The key teaching case is a correlation flip: both columns keep exactly the
same values (so every univariate test sees nothing) while the joint distribution changes.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import scipy.spatial.distance
import scipy.stats

from course_lib import drift, stats


def mmd_double_loop(x: np.ndarray, y: np.ndarray, sigma: float) -> float:
    """Unbiased MMD^2 (Gretton et al. 2012, eq. 3), written out term by term."""

    def k(a, b):
        return math.exp(-sum((ai - bi) ** 2 for ai, bi in zip(a, b)) / (2 * sigma**2))

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def median_heuristic(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.median(scipy.spatial.distance.pdist(np.vstack([x, y]))))


def correlation_flip(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference with correlation +0.8, current with -0.8, and exactly the same column values.

    The current sample re-pairs the reference's own values (each column keeps its multiset of
    values), so every univariate comparison sees identical samples.
    """
    rng = np.random.default_rng(seed)
    reference = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], size=n)
    pattern = rng.multivariate_normal([0, 0], [[1, -0.8], [-0.8, 1]], size=n)
    current = np.empty_like(reference)
    for j in range(2):
        ranks = np.argsort(np.argsort(pattern[:, j]))
        current[:, j] = np.sort(reference[:, j])[ranks]
    columns = ["tenure", "spend"]
    return pd.DataFrame(reference, columns=columns), pd.DataFrame(current, columns=columns)


# ---------------------------------------------------------------------------------------------
# mmd_test: the statistic


@pytest.mark.parametrize("shape", [(5, 7, 2), (6, 4, 1), (3, 3, 3)])
def test_mmd_statistic_matches_double_loop(shape):
    m, n, d = shape
    rng = np.random.default_rng(m * 100 + n * 10 + d)
    x, y = rng.normal(size=(m, d)), rng.normal(0.5, 1.3, size=(n, d))
    for sigma in (0.7, 2.5):
        result = stats.mmd_test(x, y, bandwidth=sigma, n_permutations=1, seed=0)
        assert result.statistic == pytest.approx(mmd_double_loop(x, y, sigma), rel=1e-10, abs=1e-13)
        assert result.bandwidth == sigma
    median = stats.mmd_test(x, y, n_permutations=1, seed=0)
    assert median.bandwidth == pytest.approx(median_heuristic(x, y), rel=1e-12)
    assert median.statistic == pytest.approx(mmd_double_loop(x, y, median.bandwidth), rel=1e-10, abs=1e-13)


def test_mmd_statistic_matches_sklearn_rbf_kernel():
    from sklearn.metrics.pairwise import rbf_kernel

    rng = np.random.default_rng(11)
    x = rng.normal(size=(40, 3))
    y = rng.normal(size=(60, 3)) @ np.array([[1, 0.5, 0], [0, 1, 0], [0, 0, 2]])
    result = stats.mmd_test(x, y, n_permutations=1, seed=0)
    sigma = median_heuristic(x, y)
    gamma = 1 / (2 * sigma**2)
    kxx, kyy, kxy = rbf_kernel(x, gamma=gamma), rbf_kernel(y, gamma=gamma), rbf_kernel(x, y, gamma=gamma)
    m, n = len(x), len(y)
    expected = (
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2 * kxy.mean()
    )
    assert result.bandwidth == pytest.approx(sigma, rel=1e-12)
    assert result.statistic == pytest.approx(expected, rel=1e-10)


def test_mmd_median_of_tied_data_falls_back_to_nonzero_distances():
    # 8 of the 10 values are 0: more than half the pairwise distances are 0.
    reference, current = [0.0, 0.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0, 3.0]
    assert median_heuristic(np.c_[reference], np.c_[current]) == 0.0
    distances = scipy.spatial.distance.pdist(np.c_[reference + current])
    result = stats.mmd_test(reference, current, n_permutations=1, seed=0)
    assert result.bandwidth == pytest.approx(np.median(distances[distances > 0]))
    constant = stats.mmd_test([1.0, 1.0], [1.0, 1.0, 1.0], n_permutations=5, seed=0)
    assert constant.bandwidth == 1.0 and constant.statistic == pytest.approx(0.0, abs=1e-15)
    assert constant.pvalue == 1.0  # every split ties with the observed statistic


def test_mmd_is_symmetric_and_zero_mean_shift_invariant():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(30, 2)), rng.normal(1, 1, size=(25, 2))
    forward = stats.mmd_test(x, y, n_permutations=1, seed=0)
    backward = stats.mmd_test(y, x, n_permutations=1, seed=0)
    shifted = stats.mmd_test(x + 100.0, y + 100.0, n_permutations=1, seed=0)
    assert backward.statistic == pytest.approx(forward.statistic, rel=1e-10)
    assert shifted.statistic == pytest.approx(forward.statistic, rel=1e-9)


def test_mmd_accepts_1d_series_and_dataframes():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(20, 2)), rng.normal(size=(30, 2))
    base = stats.mmd_test(x, y, n_permutations=50, seed=1)
    frame_x = pd.DataFrame(x, columns=["a", "b"])
    frame_y = pd.DataFrame(y, columns=["a", "b"])
    assert stats.mmd_test(frame_x, frame_y, n_permutations=50, seed=1) == base
    # columns are matched by name, not position
    assert stats.mmd_test(frame_x, frame_y[["b", "a"]], n_permutations=50, seed=1) == base
    assert stats.mmd_test(frame_x, y, n_permutations=50, seed=1) == base
    one_d = stats.mmd_test(x[:, 0], y[:, 0], n_permutations=50, seed=1)
    assert stats.mmd_test(pd.Series(x[:, 0]), list(y[:, 0]), n_permutations=50, seed=1) == one_d
    assert stats.mmd_test(x[:, :1], y[:, :1], n_permutations=50, seed=1) == one_d
    rounded = frame_x.round()
    nullable = stats.mmd_test(rounded.astype({"a": "Int64"}), frame_y, n_permutations=50, seed=1)
    assert nullable == stats.mmd_test(rounded, frame_y, n_permutations=50, seed=1)


def test_mmd_result_unpacks_and_reads():
    result = stats.mmd_test([0.0, 1.0, 2.0], [5.0, 6.0, 7.0], n_permutations=19, seed=0)
    statistic, pvalue = result
    assert (statistic, pvalue) == (result.statistic, result.pvalue)
    assert repr(result).startswith("MMDResult(statistic=") and "n_permutations=19" in repr(result)
    with pytest.raises(AttributeError):
        result.pvalue = 0.5  # frozen


# ---------------------------------------------------------------------------------------------
# mmd_test: the p-value


def test_mmd_pvalue_matches_scipy_exact_permutation_test():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=5), rng.normal(0.4, 1, size=5)
    sigma = 1.1

    def statistic(a, b):
        return mmd_double_loop(a[:, None], b[:, None], sigma)

    exact = scipy.stats.permutation_test(
        (x, y), statistic, permutation_type="independent", alternative="greater", n_resamples=np.inf
    )
    ours = stats.mmd_test(x, y, bandwidth=sigma, n_permutations=20_000, seed=2)
    assert ours.statistic == pytest.approx(exact.statistic, rel=1e-10)
    # scipy enumerates all 252 splits; ours samples 20000: agree within 4 standard errors.
    p = exact.pvalue
    assert 0.02 < p < 0.5  # a case where the comparison means something
    assert abs(ours.pvalue - p) < 4 * math.sqrt(p * (1 - p) / 20_000) + 1 / 20_001


def test_mmd_pvalue_matches_enumeration_of_all_splits_in_2d():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(4, 2)), rng.normal(0.7, 1, size=(4, 2))
    pooled = np.vstack([x, y])
    sigma = median_heuristic(x, y)
    observed = mmd_double_loop(x, y, sigma)
    splits = list(itertools.combinations(range(8), 4))
    null = [
        mmd_double_loop(pooled[list(s)], pooled[[i for i in range(8) if i not in s]], sigma) for s in splits
    ]
    exact = np.mean(np.array(null) >= observed - 1e-12)
    ours = stats.mmd_test(x, y, n_permutations=20_000, seed=4)
    assert abs(ours.pvalue - exact) < 4 * math.sqrt(exact * (1 - exact) / 20_000) + 1 / 20_001


def test_mmd_null_pvalues_are_roughly_uniform():
    rng = np.random.default_rng(2026)
    pvalues = np.array(
        [
            stats.mmd_test(rng.normal(size=(30, 2)), rng.normal(size=(30, 2)), n_permutations=99, seed=rng).pvalue
            for _ in range(100)
        ]
    )
    assert 0.01 <= np.mean(pvalues < 0.05) <= 0.12
    assert 0.03 <= np.mean(pvalues < 0.2) / 4 <= 0.08  # rejection rate at 0.2 about 0.2
    # a permutation p-value is never below 1 / (B + 1)
    assert pvalues.min() >= 1 / 100


def test_mmd_and_classifier_see_a_correlation_flip_that_univariate_tests_miss():
    reference, current = correlation_flip(500, seed=7)
    assert reference.corr().iloc[0, 1] > 0.75 and current.corr().iloc[0, 1] < -0.75
    for column in reference.columns:
        ks = scipy.stats.ks_2samp(reference[column], current[column])
        assert ks.statistic == 0.0 and ks.pvalue == 1.0
    report = drift.drift_report(reference, current)
    assert report.drifted == []
    mmd = stats.mmd_test(reference, current, n_permutations=200, seed=0)
    assert mmd.pvalue == 1 / 201
    classifier = drift.classifier_drift(reference, current, n_permutations=19, seed=0)
    assert classifier.auc > 0.8 and classifier.pvalue == 1 / 20
    # the classifier needs both features: each one alone says nothing
    assert set(classifier.feature_importance.index) == {"tenure", "spend"}
    assert (classifier.feature_importance > 0.1).all()


def test_mmd_power_grows_with_the_shift():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(80, 3))
    small = stats.mmd_test(x, rng.normal(0.1, 1, size=(80, 3)), n_permutations=99, seed=0)
    large = stats.mmd_test(x, rng.normal(1.0, 1, size=(80, 3)), n_permutations=99, seed=0)
    assert large.statistic > small.statistic
    assert large.pvalue == 0.01


def test_mmd_is_deterministic_per_seed():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(25, 2)), rng.normal(0.3, 1, size=(25, 2))
    first = stats.mmd_test(x, y, n_permutations=300, seed=42)
    assert stats.mmd_test(x, y, n_permutations=300, seed=42) == first
    others = {stats.mmd_test(x, y, n_permutations=300, seed=s).pvalue for s in range(5)}
    assert len(others) > 1  # the seed does drive the permutations
    generator = stats.mmd_test(x, y, n_permutations=300, seed=np.random.default_rng(42))
    assert generator == first


# ---------------------------------------------------------------------------------------------
# mmd_test: bad inputs


@pytest.mark.parametrize(
    ("reference", "current", "kwargs", "error", "message"),
    [
        ([1.0, np.nan, 2.0], [1.0, 2.0], {}, ValueError, "reference contains NaN"),
        ([1.0, 2.0], [1.0, np.inf], {}, ValueError, "current contains NaN or infinite"),
        ([], [1.0, 2.0], {}, ValueError, "reference is empty"),
        ([1.0, 2.0], np.zeros((0, 2)), {}, ValueError, "current is empty"),
        ([1.0], [1.0, 2.0], {}, ValueError, "reference needs at least 2 observations"),
        (np.zeros((3, 2)), np.zeros((3, 3)), {}, ValueError, "reference has 2 columns .* current has 3"),
        (np.zeros((3, 2, 2)), np.zeros((3, 2)), {}, ValueError, "reference must be 1-D .* or 2-D"),
        (["a", "b"], [1.0, 2.0], {}, TypeError, "reference must hold numbers"),
        ([True, False], [1.0, 2.0], {}, TypeError, "reference must hold numbers"),
        ({"a": [1.0]}, [1.0, 2.0], {}, TypeError, "reference must be a 1-D or 2-D array"),
        ([1.0, 2.0], None, {}, TypeError, "current must be a 1-D or 2-D array"),
        ([1.0, 2.0], [3.0, 4.0], {"n_permutations": 0}, ValueError, "n_permutations must be an integer >= 1"),
        ([1.0, 2.0], [3.0, 4.0], {"n_permutations": 2.5}, TypeError, "n_permutations must be an integer"),
        ([1.0, 2.0], [3.0, 4.0], {"bandwidth": 0.0}, ValueError, "bandwidth must be a finite number > 0"),
        ([1.0, 2.0], [3.0, 4.0], {"bandwidth": "mean"}, ValueError, "bandwidth must be 'median' or a number"),
        ([1.0, 2.0], [3.0, 4.0], {"seed": 1.5}, TypeError, "seed must be None, an int or"),
    ],
)
def test_mmd_rejects_bad_inputs(reference, current, kwargs, error, message):
    with pytest.raises(error, match=message):
        stats.mmd_test(reference, current, **kwargs)


def test_mmd_rejects_bad_frames_and_oversized_samples():
    good = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 0.5]})
    with pytest.raises(TypeError, match="current column 'plan' must hold numbers"):
        stats.mmd_test(good, good.assign(plan=["x", "y", "z"]).drop(columns="b"))
    with pytest.raises(ValueError, match=r"missing \['b'\], extra \['c'\]"):
        stats.mmd_test(good, good.rename(columns={"b": "c"}))
    big = np.zeros((stats.MMD_MAX_POOLED // 2 + 1, 1))
    with pytest.raises(ValueError, match="compare random subsamples"):
        stats.mmd_test(big, big)
