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


def alibi_detect_mmd2(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """alibi-detect 0.13's MMDDrift statistic and bandwidth, transcribed to numpy.

    From alibi_detect/utils/pytorch/kernels.py (sigma_median, GaussianRBF) and distance.py
    (mmd2_from_kernel_matrix): the pooled sample is [x_ref, x], sigma comes from the lower
    median of the squared pairwise distances, the kernel's diagonal is zeroed. alibi-detect
    itself needs PyTorch or TensorFlow for MMD and pins numpy < 2, so it cannot run here.
    """
    pooled = np.vstack([x, y])
    total = len(pooled)
    dist = ((pooled[:, None, :] - pooled[None, :, :]) ** 2).sum(axis=-1)
    n_median = total + (total * total - total) // 2 - 1
    sigma = math.sqrt(0.5 * np.sort(dist.ravel())[n_median])
    kernel = np.exp(-dist / (2 * sigma**2))
    np.fill_diagonal(kernel, 0.0)
    m = len(y)
    n = total - m
    k_xx, k_yy, k_xy = kernel[:-m, :-m], kernel[-m:, -m:], kernel[-m:, :-m]
    return float(k_xx.sum() / (n * (n - 1)) + k_yy.sum() / (m * (m - 1)) - 2 * k_xy.mean()), sigma


def test_mmd_reproduces_alibi_detect_with_its_bandwidth():
    rng = np.random.default_rng(21)
    x, y = rng.normal(size=(60, 3)), rng.normal(0.3, 1, size=(45, 3))
    expected, alibi_sigma = alibi_detect_mmd2(x, y)
    ours = stats.mmd_test(x, y, bandwidth=alibi_sigma, n_permutations=1, seed=0)
    assert ours.statistic == pytest.approx(expected, rel=1e-10)
    # alibi-detect's median heuristic gives a bandwidth about 1/sqrt(2) of ours
    default = stats.mmd_test(x, y, n_permutations=1, seed=0)
    assert alibi_sigma == pytest.approx(default.bandwidth / math.sqrt(2), rel=1e-2)


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


# ---------------------------------------------------------------------------------------------
# classifier_drift


@pytest.fixture(autouse=True)
def single_threaded_openmp():
    """The comparisons with cross_val_score fit tree models outside classifier_drift, which
    otherwise start one OpenMP thread per core (much slower on a shared machine)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def mixed_frames():
    rng = np.random.default_rng(31)
    n = 400
    reference = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "plan": rng.choice(["basic", "standard", "premium"], n),
            "calls": rng.poisson(2, n),
        }
    )
    current = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "plan": rng.choice(["basic", "standard", "premium", "enterprise"], n, p=[0.3, 0.2, 0.2, 0.3]),
            "calls": rng.poisson(2, n),
        }
    )
    return reference, current


def test_classifier_auc_agrees_with_cross_val_score():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    rng = np.random.default_rng(4)
    reference = pd.DataFrame(rng.normal(size=(300, 3)), columns=list("abc"))
    current = pd.DataFrame(rng.normal(0.2, 1.0, size=(250, 3)), columns=list("abc"))
    X = np.vstack([reference.to_numpy(), current.to_numpy()])
    y = np.r_[np.zeros(300), np.ones(250)]
    for model in (LogisticRegression(), drift.default_drift_classifier(random_state=3)):
        splitter = StratifiedKFold(4, shuffle=True, random_state=0)
        expected = cross_val_score(model, X, y, cv=splitter, scoring="roc_auc")
        result = drift.classifier_drift(reference, current, model=model, cv=splitter, n_permutations=0)
        assert result.fold_aucs == pytest.approx(tuple(expected), abs=1e-12)
        assert result.auc == pytest.approx(expected.mean(), abs=1e-12)
        assert math.isnan(result.pvalue) and result.n_permutations == 0


def test_classifier_encodes_categories_like_a_hand_built_matrix(mixed_frames):
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    reference, current = mixed_frames
    plan_codes, _ = pd.factorize(pd.concat([reference["plan"], current["plan"]], ignore_index=True))
    X = np.column_stack(
        [
            np.r_[reference["age"], current["age"]],
            plan_codes,
            np.r_[reference["calls"], current["calls"]],
        ]
    )
    y = np.r_[np.zeros(len(reference)), np.ones(len(current))]
    splitter = StratifiedKFold(5, shuffle=True, random_state=1)
    model = drift.default_drift_classifier([False, True, False], random_state=0)
    expected = cross_val_score(model, X, y, cv=splitter, scoring="roc_auc")
    result = drift.classifier_drift(reference, current, cv=splitter, n_permutations=0, seed=0)
    assert result.fold_aucs == pytest.approx(tuple(expected), abs=1e-12)
    # the new "enterprise" plan is what gives current away
    assert result.feature_importance.index[0] == "plan"
    assert result.feature_importance["plan"] > 0.1
    assert abs(result.feature_importance["age"]) < 0.05


def test_classifier_auc_is_near_half_without_drift():
    rng = np.random.default_rng(15)
    reference = pd.DataFrame({"x": rng.normal(size=400), "g": rng.choice(["a", "b"], 400)})
    current = pd.DataFrame({"x": rng.normal(size=400), "g": rng.choice(["a", "b"], 400)})
    result = drift.classifier_drift(reference, current, n_permutations=9, seed=0)
    assert abs(result.auc - 0.5) < 0.06
    assert result.pvalue > 0.2
    assert (result.feature_importance.abs() < 0.05).all()


def test_classifier_null_pvalues_are_not_too_small():
    from sklearn.naive_bayes import GaussianNB

    # The permutation p-value is valid for any model; a fast one keeps this test short.
    rng = np.random.default_rng(6)
    pvalues = np.array(
        [
            drift.classifier_drift(
                pd.DataFrame(rng.normal(size=(40, 2))), pd.DataFrame(rng.normal(size=(40, 2))),
                model=GaussianNB(), cv=3, n_permutations=9, seed=rng,
            ).pvalue
            for _ in range(30)
        ]
    )  # fmt: skip
    assert pvalues.min() >= 1 / 10
    assert np.mean(pvalues <= 0.2) <= 0.4  # expected 0.2
    assert np.mean(pvalues <= 0.5) >= 0.25  # and not all large either (expected 0.5)


def test_classifier_sees_missing_values_appear():
    rng = np.random.default_rng(7)
    reference = pd.DataFrame({"income": rng.lognormal(10, 0.5, 500), "age": rng.normal(40, 10, 500)})
    income = rng.lognormal(10, 0.5, 500)
    income[rng.uniform(size=500) < 0.3] = np.nan  # a broken join upstream
    current = pd.DataFrame({"income": income, "age": rng.normal(40, 10, 500)})
    result = drift.classifier_drift(reference, current, n_permutations=0, seed=1)
    assert result.auc > 0.6
    assert result.feature_importance.index[0] == "income"


def test_classifier_is_deterministic_per_seed_and_accepts_mappings(mixed_frames):
    reference, current = mixed_frames
    first = drift.classifier_drift(reference, current, n_permutations=3, seed=11)
    again = drift.classifier_drift(reference, current, n_permutations=3, seed=11)
    assert first == again
    pd.testing.assert_series_equal(first.feature_importance, again.feature_importance)
    as_mappings = drift.classifier_drift(
        {name: reference[name].tolist() for name in reference},
        {name: current[name].to_numpy() for name in current},
        n_permutations=3,
        seed=11,
    )
    assert as_mappings == first
    other = drift.classifier_drift(reference, current, n_permutations=3, seed=12)
    assert other.fold_aucs != first.fold_aucs  # the seed drives the folds
    subset = drift.classifier_drift(reference, current, columns=["age", "calls"], n_permutations=0, seed=0)
    assert list(subset.feature_importance.index) == ["age", "calls"] or set(subset.feature_importance.index) == {"age", "calls"}
    assert subset.auc < first.auc


def test_classifier_result_reads_well(mixed_frames):
    reference, current = mixed_frames
    result = drift.classifier_drift(reference, current, n_permutations=4, seed=0)
    text = repr(result)
    assert text.startswith(f"ClassifierDriftResult(auc={result.auc:.3f}, pvalue=")
    assert "top features: plan (" in text
    assert result.feature_importance.name == "auc_drop"
    assert result.feature_importance.is_monotonic_decreasing
    assert len(result.fold_aucs) == 5
    with pytest.raises(AttributeError):
        result.auc = 0.5


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"columns": ["age", "missing"]}, ValueError, r"columns \['missing'\] are not in reference"),
        ({"n_permutations": -1}, ValueError, "n_permutations must be an integer >= 0"),
        ({"cv": 1}, ValueError, "cv must be an integer >= 2"),
        ({"cv": "five"}, TypeError, "cv must be an int >= 2 or a scikit-learn splitter"),
        ({"cv": 500}, ValueError, "reference has 400 rows; cross-validation with 500 folds"),
        ({"model": object()}, TypeError, "model must be a scikit-learn classifier"),
        ({"seed": "x"}, TypeError, "seed must be None, an int or"),
        ({"columns": []}, ValueError, "no columns to compare"),
    ],
)
def test_classifier_rejects_bad_arguments(mixed_frames, kwargs, error, message):
    reference, current = mixed_frames
    with pytest.raises(error, match=message):
        drift.classifier_drift(reference, current, **kwargs)


def test_classifier_rejects_bad_tables(mixed_frames):
    reference, current = mixed_frames
    with pytest.raises(ValueError, match=r"columns \['plan'\] are missing from current"):
        drift.classifier_drift(reference, current.drop(columns="plan"))
    with pytest.raises(TypeError, match="reference must be a pandas DataFrame; got ndarray"):
        drift.classifier_drift(np.zeros((10, 2)), current)
    with pytest.raises(ValueError, match=r"current's columns must have the same length; got \{'a': 3, 'b': 2\}"):
        drift.classifier_drift({"a": [1, 2, 3], "b": [1, 2, 3]}, {"a": [1, 2, 3], "b": [1, 2]})
    with pytest.raises(TypeError, match=r"reference\['a'\] must be a sequence of values"):
        drift.classifier_drift({"a": 5}, {"a": [1, 2]})
    with pytest.raises(TypeError, match=r"reference\['a'\] must be a sequence of values"):
        drift.classifier_drift({"a": {1, 2, 3}}, {"a": [1, 2]})
    from sklearn.model_selection import KFold

    with pytest.raises(ValueError, match="cv made a fold with rows of one table only"):
        drift.classifier_drift(reference, current, cv=KFold(2), n_permutations=0)  # unshuffled


def test_drift_functions_accept_mappings_like_the_seed():
    """Issue 8, item 8: the seed passed mappings of feature name to values."""
    baseline = {"age": [30.0, 40.0, 50.0, 60.0], "income": [1.0, 2.0, 3.0, 4.0]}
    current = {"age": [35.0, 45.0, 55.0, 65.0], "income": [1.0, 2.0, 3.0, 4.0]}
    table = drift.detect_drift_across_features(baseline, current)
    expected = drift.detect_drift_across_features(pd.DataFrame(baseline), pd.DataFrame(current))
    pd.testing.assert_frame_equal(table, expected)
    assert table["drifted"].tolist() == [True, False]
    report = drift.drift_report(baseline, pd.DataFrame(current))
    assert report.table["column"].tolist() == ["age", "income"]
    series_mapping = {"age": pd.Series([1.0, 2.0, 3.0], index=[10, 11, 12]), "income": [4.0, 5.0, 6.0]}
    assert drift._as_frame(series_mapping, "reference")["age"].tolist() == [1.0, 2.0, 3.0]
