"""Tests for course_lib.canary: routing across processes, the z-test and sample size against
statsmodels, scipy and closed forms, the sequential test's error rate by simulation, the
Kayenta-style judge on worked examples, the rollout state machine, and bad input."""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import canary
from course_lib.canary import MetricSpec, RolloutController, judge

try:  # a dev dependency; the closed forms below are checked either way
    import statsmodels.stats.power as sm_power
    import statsmodels.stats.proportion as sm_proportion
except ImportError:  # pragma: no cover - exercised only without the dev extra
    sm_power = sm_proportion = None

needs_statsmodels = pytest.mark.skipif(sm_proportion is None, reason="statsmodels is not installed")


# ------------------------------------------------------------------------------ routing


ROUTING_SCRIPT = """
import sys
from course_lib.canary import assign_variant
keys = [f"user-{i}" for i in range(300)]
print(hash("user-1"))
print(",".join(assign_variant(k, {"baseline": 90, "canary": 10}, salt="exp-7") for k in keys))
"""


def _run_with_hash_seed(seed: str) -> list[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run([sys.executable, "-c", ROUTING_SCRIPT], env=env, capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_assignment_is_the_same_in_two_interpreters_with_different_hash_seeds():
    first, second = _run_with_hash_seed("1"), _run_with_hash_seed("2")
    assert first[0] != second[0], "hash() should differ between the two processes, else the test proves nothing"
    assert first[1] == second[1]
    here = ",".join(canary.assign_variant(f"user-{i}", {"baseline": 90, "canary": 10}, salt="exp-7") for i in range(300))
    assert here == first[1]


def test_assignment_follows_the_documented_recipe():
    weights = {"a": 1, "b": 2, "c": 1}
    for i in range(500):
        digest = hashlib.sha256(f"salt-x:{i}".encode()).digest()
        unit = int.from_bytes(digest[:8], "big") / 2**64
        expected = "a" if unit < 0.25 else "b" if unit < 0.75 else "c"
        assert canary.assign_variant(i, weights, salt="salt-x") == expected


def test_shares_match_the_normalised_weights():
    weights = {"control": 3, "canary": 1}
    variants = [canary.assign_variant(f"k{i}", weights, salt="s") for i in range(20_000)]
    observed = [variants.count("control"), variants.count("canary")]
    assert scipy.stats.chisquare(observed, [15_000, 5_000]).pvalue > 0.001


def test_a_new_salt_makes_experiments_independent_and_the_same_salt_does_not():
    weights = {"canary": 10, "baseline": 90}
    keys = range(20_000)
    first = {k for k in keys if canary.assign_variant(k, weights, salt="exp-1") == "canary"}
    same = {k for k in keys if canary.assign_variant(k, weights, salt="exp-1") == "canary"}
    other = {k for k in keys if canary.assign_variant(k, weights, salt="exp-2") == "canary"}
    assert same == first
    overlap = len(first & other) / len(first)
    assert abs(overlap - 0.10) < 0.03


def test_raising_the_first_share_keeps_keys_already_in_it():
    small = {k for k in range(5000) if canary.assign_variant(k, {"canary": 5, "baseline": 95}) == "canary"}
    large = {k for k in range(5000) if canary.assign_variant(k, {"canary": 25, "baseline": 75}) == "canary"}
    assert small and small < large


@pytest.mark.parametrize(
    ("key", "weights", "salt", "error", "match"),
    [
        ("u", {}, "", ValueError, "weights is empty"),
        ("u", {"a": 1, "b": 0}, "", ValueError, "positive"),
        ("u", {"a": 1, "b": -2}, "", ValueError, "positive"),
        ("u", {"a": float("nan")}, "", ValueError, "finite"),
        ("u", [0.5, 0.5], "", TypeError, "mapping"),
        (1.5, {"a": 1}, "", TypeError, "key"),
        (None, {"a": 1}, "", TypeError, "key"),
        ("u", {"a": 1}, 3, TypeError, "salt"),
    ],
)
def test_routing_rejects_bad_input(key, weights, salt, error, match):
    with pytest.raises(error, match=match):
        canary.assign_variant(key, weights, salt=salt)


# ------------------------------------------------------------------------------ z-test


def _count_cases():
    rng = np.random.default_rng(404)
    for _ in range(8):
        n_a, n_b = (int(v) for v in rng.integers(50, 50_000, 2))
        p_a, p_b = rng.uniform(0.001, 0.5, 2)
        yield int(rng.binomial(n_a, p_a)), n_a, int(rng.binomial(n_b, p_b)), n_b
    yield 0, 1000, 3, 1000  # a baseline without events


@needs_statsmodels
@pytest.mark.parametrize("counts", list(_count_cases()))
def test_ztest_matches_statsmodels(counts):
    s_a, n_a, s_b, n_b = counts
    ours = canary.two_proportion_ztest(s_a, n_a, s_b, n_b, alpha=0.1)
    z, p = sm_proportion.proportions_ztest([s_b, s_a], [n_b, n_a])
    assert ours.statistic == pytest.approx(z, rel=1e-10)
    assert ours.pvalue == pytest.approx(p, rel=1e-8, abs=1e-300)
    low, high = sm_proportion.confint_proportions_2indep(s_b, n_b, s_a, n_a, method="wald", compare="diff", alpha=0.1)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((low, high), rel=1e-10)


@pytest.mark.parametrize("counts", list(_count_cases()))
def test_ztest_matches_the_closed_form(counts):
    s_a, n_a, s_b, n_b = counts
    p_a, p_b, pooled = s_a / n_a, s_b / n_b, (s_a + s_b) / (n_a + n_b)
    z = (p_b - p_a) / math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    result = canary.two_proportion_ztest(s_a, n_a, s_b, n_b)
    statistic, pvalue = result
    assert statistic == pytest.approx(z, rel=1e-12)
    assert pvalue == pytest.approx(2 * scipy.stats.norm.sf(abs(z)), rel=1e-10)
    assert result.significant == (pvalue < 0.05)
    if p_a > 0:
        assert result.relative_lift == pytest.approx(p_b / p_a - 1, rel=1e-12)
    else:
        assert math.isnan(result.relative_lift)


def test_ztest_with_no_events_anywhere_is_no_evidence():
    result = canary.two_proportion_ztest(0, 500, 0, 700)
    assert (result.statistic, result.pvalue, result.difference) == (0.0, 1.0, 0.0)


def test_wald_interval_covers_the_true_difference_about_as_often_as_promised():
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(2000):
        s_a, s_b = rng.binomial(4000, 0.05), rng.binomial(4000, 0.06)
        result = canary.two_proportion_ztest(int(s_a), 4000, int(s_b), 4000)
        covered += result.ci_low <= 0.01 <= result.ci_high
    assert abs(covered / 2000 - 0.95) < 0.02


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((5, 0, 5, 100), {}, ValueError, "n_a is 0"),
        ((5, 100, 0, 0), {}, ValueError, "n_b is 0"),
        ((101, 100, 5, 100), {}, ValueError, "successes_a must be <= n_a"),
        ((-1, 100, 5, 100), {}, ValueError, "successes_a"),
        ((5.5, 100, 5, 100), {}, TypeError, "successes_a must be an integer"),
        ((5, 100, 5, 100), {"alpha": 1.5}, ValueError, "alpha"),
    ],
)
def test_ztest_rejects_bad_counts(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        canary.two_proportion_ztest(*args, **kwargs)


# ------------------------------------------------------------------------------ sample size


def _power_of_pooled_ztest(p1, p2, n, alpha):
    """Normal-approximation power of the two-sided pooled z-test with n per arm."""
    p_bar = (p1 + p2) / 2
    z = scipy.stats.norm.isf(alpha / 2)
    return scipy.stats.norm.cdf(
        (abs(p2 - p1) * math.sqrt(n) - z * math.sqrt(2 * p_bar * (1 - p_bar))) / math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    )


SIZE_CASES = [(0.02, 0.25, 0.05, 0.8), (0.10, 0.10, 0.05, 0.8), (0.30, 0.05, 0.01, 0.9), (0.005, 1.0, 0.05, 0.8)]


@pytest.mark.parametrize(("rate", "mde", "alpha", "power"), SIZE_CASES)
def test_sample_size_is_the_smallest_n_with_the_power(rate, mde, alpha, power):
    n = canary.sample_size_two_proportions(rate, mde, alpha=alpha, power=power)
    p2 = rate * (1 + mde)
    assert _power_of_pooled_ztest(rate, p2, n, alpha) >= power - 1e-12
    assert _power_of_pooled_ztest(rate, p2, n - 1, alpha) < power


@needs_statsmodels
@pytest.mark.parametrize(("rate", "mde", "alpha", "power"), SIZE_CASES)
def test_sample_size_is_close_to_statsmodels_arcsine_power(rate, mde, alpha, power):
    ours = canary.sample_size_two_proportions(rate, mde, alpha=alpha, power=power)
    effect = sm_proportion.proportion_effectsize(rate * (1 + mde), rate)
    theirs = sm_power.NormalIndPower().solve_power(effect, alpha=alpha, power=power, ratio=1.0)
    assert ours == pytest.approx(theirs, rel=0.04)
    assert ours == pytest.approx(sm_power.zt_ind_solve_power(effect, alpha=alpha, power=power), rel=0.04)


def test_sample_size_gives_the_promised_power_by_simulation():
    rate, mde = 0.05, 0.3
    n = canary.sample_size_two_proportions(rate, mde)
    rng = np.random.default_rng(11)
    s_a = rng.binomial(n, rate, 3000)
    s_b = rng.binomial(n, rate * (1 + mde), 3000)
    detected = np.mean([canary.two_proportion_ztest(int(a), n, int(b), n).pvalue < 0.05 for a, b in zip(s_a, s_b)])
    assert abs(detected - 0.8) < 0.03


def test_relative_and_absolute_mde_agree():
    assert canary.sample_size_two_proportions(0.04, 0.5) == canary.sample_size_two_proportions(0.04, 0.02, relative=False)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((0.0, 0.1), {}, ValueError, "baseline_rate"),
        ((1.0, 0.1), {}, ValueError, "baseline_rate"),
        ((0.1, 0.0), {}, ValueError, "mde"),
        ((0.1, -0.2), {}, ValueError, "mde"),
        ((0.6, 1.0), {}, ValueError, "outside"),
        ((0.6, 0.5), {"relative": False}, ValueError, "outside"),
        ((0.1, 0.1), {"power": 1.0}, ValueError, "power"),
        ((0.1, 0.1), {"relative": "yes"}, TypeError, "relative"),
    ],
)
def test_sample_size_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        canary.sample_size_two_proportions(*args, **kwargs)


# ------------------------------------------------------------------------------ sequential test


def test_likelihood_ratio_is_the_ratio_of_two_normal_densities():
    s_a, n_a, s_b, n_b = 180, 9000, 230, 9100
    result = canary.sequential_test([s_a], [n_a], [s_b], [n_b], tau=0.02)
    theta = s_b / n_b - s_a / n_a
    pooled = (s_a + s_b) / (n_a + n_b)
    v = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    expected = scipy.stats.norm.pdf(theta, 0, math.sqrt(v + 0.02**2)) / scipy.stats.norm.pdf(theta, 0, math.sqrt(v))
    assert result.likelihood_ratio[0] == pytest.approx(expected, rel=1e-10)
    assert result.pvalue[0] == pytest.approx(min(1.0, 1 / expected), rel=1e-10)


def _null_experiments(rng, experiments, looks, batch, rate=0.05):
    a = rng.binomial(batch, rate, (experiments, looks)).cumsum(axis=1)
    b = rng.binomial(batch, rate, (experiments, looks)).cumsum(axis=1)
    n = batch * np.arange(1, looks + 1)
    return a, b, n


def test_peeking_with_a_fixed_n_ztest_inflates_false_positives_to_about_14_percent():
    rng = np.random.default_rng(2024)
    a, b, n = _null_experiments(rng, 4000, 5, 1000)
    pooled = (a + b) / (2 * n)
    z = (b - a) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    ever = np.mean((2 * scipy.stats.norm.sf(np.abs(z)) < 0.05).any(axis=1))
    assert 0.12 < ever < 0.165


@pytest.mark.parametrize("tau", [0.005, 0.02])
def test_sequential_test_keeps_its_false_positive_rate_under_continuous_peeking(tau):
    rng = np.random.default_rng(99)
    a, b, n = _null_experiments(rng, 2000, 40, 250)
    rejected = np.mean([canary.sequential_test(a[i], n, b[i], n, tau=tau).rejected for i in range(len(a))])
    # Ville's inequality bounds it by alpha; 3 standard errors of slack for the simulation.
    assert rejected <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 2000)


def test_sequential_test_stops_early_on_a_real_difference():
    rng = np.random.default_rng(5)
    n = 500 * np.arange(1, 41)
    stops = []
    for _ in range(300):
        a = rng.binomial(500, 0.02, 40).cumsum()
        b = rng.binomial(500, 0.04, 40).cumsum()
        result = canary.sequential_test(a, n, b, n, tau=0.02)
        stops.append(result.stop_look)
    found = [s for s in stops if s is not None]
    assert len(found) / len(stops) > 0.9
    assert np.median(found) < 20


def test_sequential_pvalues_never_increase_and_the_stop_is_the_first_crossing():
    rng = np.random.default_rng(3)
    n = 800 * np.arange(1, 31)
    result = canary.sequential_test(rng.binomial(800, 0.03, 30).cumsum(), n, rng.binomial(800, 0.037, 30).cumsum(), n)
    assert np.all(np.diff(result.pvalue) <= 0)
    crossed = np.flatnonzero(result.pvalue <= 0.05)
    assert result.stop_look == (int(crossed[0]) if crossed.size else None)
    assert "SequentialResult(looks=30" in repr(result)


def test_sequential_test_without_events_has_no_evidence():
    result = canary.sequential_test([0, 0], [100, 200], [0, 0], [100, 200])
    assert np.array_equal(result.pvalue, [1.0, 1.0]) and not result.rejected


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([1, 2], [10, 20], [1], [10]), {}, "one entry per look"),
        (([3, 2], [10, 20], [1, 2], [10, 20]), {}, "cumulative"),
        (([1, 2], [0, 20], [1, 2], [10, 20]), {}, "n_a must be > 0"),
        (([1, 2], [10, 20], [11, 12], [10, 20]), {}, "successes_b must be <= n_b"),
        (([1.5, 2], [10, 20], [1, 2], [10, 20]), {}, "whole counts"),
        (([1, np.nan], [10, 20], [1, 2], [10, 20]), {}, "NaN"),
        (([1, 2], [10, 20], [1, 2], [10, 20]), {"tau": 0.0}, "tau"),
    ],
)
def test_sequential_test_rejects_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        canary.sequential_test(*args, **kwargs)


# ------------------------------------------------------------------------------ Mann-Whitney shift


def _direct_hodges_lehmann(x, y):
    return float(np.median(np.subtract.outer(np.asarray(y, float), np.asarray(x, float))))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_estimate_is_the_median_of_pairwise_differences(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.lognormal(3, 0.5, int(rng.integers(5, 200))), rng.lognormal(3.2, 0.5, int(rng.integers(5, 200)))
    assert canary.mann_whitney_shift(x, y).estimate == pytest.approx(_direct_hodges_lehmann(x, y), rel=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: (rng.normal(0, 1, 700), rng.normal(0.3, 2, 900)),
        lambda rng: (rng.poisson(3, 800).astype(float), rng.poisson(3.4, 600).astype(float)),  # many ties
        lambda rng: (np.round(rng.lognormal(5, 1, 600)), np.round(rng.lognormal(5.1, 1, 650))),
    ],
)
def test_counting_path_for_large_samples_equals_the_explicit_differences(make, monkeypatch):
    x, y = make(np.random.default_rng(8))
    explicit = canary.mann_whitney_shift(x, y)
    monkeypatch.setattr(canary, "_PAIRWISE_LIMIT", 0)
    counted = canary.mann_whitney_shift(x, y)
    assert tuple(counted) == pytest.approx(tuple(explicit), rel=1e-12, abs=1e-12)
    assert explicit.estimate == pytest.approx(_direct_hodges_lehmann(x, y))


@pytest.mark.parametrize("confidence", [0.9, 0.98])
def test_interval_is_where_scipys_mann_whitney_test_stops_rejecting(confidence):
    rng = np.random.default_rng(21)
    x, y = rng.normal(10, 2, 120), rng.normal(11, 3, 150)
    shift = canary.mann_whitney_shift(x, y, confidence=confidence)
    gaps = np.diff(np.unique(np.subtract.outer(y, x)))
    eps = gaps.min() / 4

    def pvalue(delta):
        return scipy.stats.mannwhitneyu(y - delta, x, method="asymptotic", use_continuity=False).pvalue

    level = 1 - confidence
    assert pvalue(shift.low + eps) >= level and pvalue(shift.high - eps) >= level
    assert pvalue(shift.low - eps) < level and pvalue(shift.high + eps) < level
    assert shift.low < shift.estimate < shift.high


samples = st.lists(st.one_of(st.floats(-1e3, 1e3), st.sampled_from([0.0, 1.0, 2.5])), min_size=3, max_size=30)


@settings(max_examples=60, deadline=None)
@given(samples, samples, st.floats(-50, 50), st.floats(0.1, 10))
def test_shift_moves_with_the_canary_and_scales_with_the_unit(baseline, sample, offset, scale):
    """Hodges-Lehmann and its interval are shift- and scale-equivariant: they are order statistics
    of the pairwise differences."""
    base = canary.mann_whitney_shift(baseline, sample, confidence=0.9)
    assert base.low <= base.estimate <= base.high
    moved = canary.mann_whitney_shift(baseline, np.array(sample) + offset, confidence=0.9)
    scaled = canary.mann_whitney_shift(np.array(baseline) * scale, np.array(sample) * scale, confidence=0.9)
    assert moved.estimate == pytest.approx(base.estimate + offset, abs=1e-6)
    assert scaled.estimate == pytest.approx(base.estimate * scale, rel=1e-9, abs=1e-9)
    if math.isfinite(base.low):
        assert scaled.high == pytest.approx(base.high * scale, rel=1e-9, abs=1e-9)
        # The interval's rank depends on the ties of the pooled sample (the tie correction), so
        # the shift carries it along only when moving the canary creates or breaks no tie.
        ties_before = np.unique(baseline + sample, return_counts=True)[1]
        ties_after = np.unique(baseline + list(np.array(sample) + offset), return_counts=True)[1]
        if sorted(ties_before) == sorted(ties_after):
            assert moved.low == pytest.approx(base.low + offset, abs=1e-6)


def test_interval_too_small_for_the_confidence_is_infinite():
    shift = canary.mann_whitney_shift([1.0, 2.0], [3.0, 4.0], confidence=0.98)
    assert (shift.low, shift.high) == (-math.inf, math.inf) and shift.estimate == 2.0


@pytest.mark.parametrize(
    ("baseline", "sample", "error", "match"),
    [
        ([], [1.0], ValueError, "baseline is empty"),
        ([1.0], [], ValueError, "canary is empty"),
        ([1.0, np.nan], [1.0], ValueError, "NaN"),
        (["a"], [1.0], TypeError, "numbers"),
    ],
)
def test_shift_rejects_bad_samples(baseline, sample, error, match):
    with pytest.raises(error, match=match):
        canary.mann_whitney_shift(baseline, sample)


# ------------------------------------------------------------------------------ judge


def _steady(rng, n=200):
    """Ten metrics of a healthy service: latency, CPU, memory, error counts."""
    return {
        "latency_p50": rng.lognormal(4.0, 0.2, n), "latency_p99": rng.lognormal(5.0, 0.3, n),
        "cpu": rng.normal(55, 5, n), "memory": rng.normal(2000, 50, n),
        "errors_5xx": rng.poisson(3, n), "errors_4xx": rng.poisson(10, n),
    }  # fmt: skip


SPECS = [
    MetricSpec("latency_p50", "increase", group="latency"),
    MetricSpec("latency_p99", "increase", group="latency"),
    MetricSpec("cpu", "either", group="system"),
    MetricSpec("memory", "either", group="system"),
    MetricSpec("errors_5xx", "increase", critical=True, group="errors"),
    MetricSpec("errors_4xx", "increase", group="errors"),
]


def test_an_identical_canary_passes_with_100():
    rng = np.random.default_rng(1)
    result = judge(_steady(rng), _steady(rng), metrics=SPECS)
    assert [m.classification for m in result.metrics] == ["Pass"] * 6
    assert (result.score, result.verdict, result.critical_failures) == (100.0, "Pass", ())
    assert result.group_weights == pytest.approx({"latency": 100 / 3, "system": 100 / 3, "errors": 100 / 3})


def test_a_failing_critical_metric_zeroes_the_score():
    rng = np.random.default_rng(2)
    base, cand = _steady(rng), _steady(rng)
    cand["errors_5xx"] = rng.poisson(6, 200)
    result = judge(base, cand, metrics=SPECS)
    assert result.metric("errors_5xx").classification == "High"
    assert result.group_scores["errors"] == 50.0
    assert result.critical_failures == ("errors_5xx",)
    assert (result.score, result.verdict) == (0.0, "Fail")
    assert "errors_5xx" in result.explain()
    # The same data with the metric not critical: one metric of six fails, in one group.
    relaxed = [MetricSpec(s.name, s.direction, False, s.group) for s in SPECS]
    result = judge(base, cand, metrics=relaxed)
    assert result.score == pytest.approx(100 / 3 + 100 / 3 + 50 / 3)
    assert result.verdict == "Marginal"


def test_weighted_groups_worked_example():
    rng = np.random.default_rng(3)
    base, cand = _steady(rng), _steady(rng)
    cand["latency_p99"] = cand["latency_p99"] * 1.5  # one latency metric of two is High
    specs = [MetricSpec(s.name, s.direction, False, s.group) for s in SPECS]
    # latency 60%, the two others share the remaining 40%: 0.6 x 50 + 0.2 x 100 + 0.2 x 100 = 70.
    result = judge(base, cand, metrics=specs, group_weights={"latency": 60})
    assert result.group_scores == {"latency": 50.0, "system": 100.0, "errors": 100.0}
    assert result.group_weights == pytest.approx({"latency": 60.0, "system": 20.0, "errors": 20.0})
    assert result.score == pytest.approx(70.0)
    assert result.verdict == "Fail"
    assert judge(base, cand, metrics=specs, group_weights={"latency": 60}, marginal_threshold=70).verdict == "Marginal"
    # Weights for every group are rescaled to 100: 1:1:2 -> 25, 25, 50.
    result = judge(base, cand, metrics=specs, group_weights={"latency": 1, "system": 1, "errors": 2})
    assert result.score == pytest.approx(0.25 * 50 + 25 + 50)


def test_nodata_metrics_and_groups():
    rng = np.random.default_rng(4)
    base, cand = _steady(rng), _steady(rng)
    cand["cpu"] = []
    del cand["memory"]
    result = judge(base, cand, metrics=[MetricSpec(s.name, s.direction, False, s.group) for s in SPECS])
    assert result.metric("cpu").classification == "Nodata" and "canary" in result.metric("cpu").reason
    assert result.metric("memory").classification == "Nodata"
    assert math.isnan(result.group_scores["system"])
    # Kayenta: a group with no data adds nothing, so its third of the weight is lost.
    assert result.score == pytest.approx(200 / 3)
    # A critical metric without data fails the canary.
    critical_cpu = [MetricSpec("cpu", critical=True)] + [MetricSpec("latency_p50", "increase")]
    assert judge(base, cand, metrics=critical_cpu).score == 0.0


def test_direction_decides_which_change_counts():
    rng = np.random.default_rng(5)
    base = {"latency": rng.lognormal(4, 0.2, 300)}
    faster = {"latency": rng.lognormal(3.7, 0.2, 300)}
    assert judge(base, faster, metrics=[MetricSpec("latency", "either")]).metric("latency").classification == "Low"
    kept = judge(base, faster, metrics=[MetricSpec("latency", "increase")]).metric("latency")
    assert kept.classification == "Pass" and "only" in kept.reason
    assert judge(base, faster, metrics=[MetricSpec("latency", "decrease")]).metric("latency").classification == "Low"


@pytest.mark.parametrize("seed", range(4))
def test_classification_follows_the_interval_and_the_band(seed):
    rng = np.random.default_rng(seed)
    base = {f"m{i}": rng.gamma(2, 10, 150) for i in range(8)}
    cand = {f"m{i}": rng.gamma(2, 10, 150) * rng.uniform(0.8, 1.25) for i in range(8)}
    result = judge(base, cand, metrics=list(base), tolerance=0.3, confidence=0.95)
    for metric in result.metrics:
        shift = canary.mann_whitney_shift(base[metric.name], cand[metric.name], confidence=0.95)
        band = 0.3 * abs(shift.estimate)
        expected = "High" if shift.low > band else "Low" if shift.high < -band else "Pass"
        assert metric.classification == expected
        assert (metric.estimate, metric.ci_low, metric.ci_high, metric.band_high) == pytest.approx(
            (shift.estimate, shift.low, shift.high, band)
        )
    table = result.table()
    assert list(table["name"]) == list(base) and "classification" in table


@pytest.mark.parametrize(
    ("change", "kwargs", "error", "match"),
    [
        (lambda c: c.update(cpu=[1.0, np.nan]), {}, ValueError, r"canary\['cpu'\] contains NaN"),
        (lambda c: None, {"group_weights": {"latency": 0, "system": 0, "errors": 0}}, ValueError, "sum to 0"),
        (lambda c: None, {"group_weights": {"latency": 80, "system": 40}}, ValueError, "> 100"),
        (lambda c: None, {"group_weights": {"network": 10}}, ValueError, "no metric belongs"),
        (lambda c: None, {"group_weights": {"latency": -5}}, ValueError, "latency"),
        (lambda c: None, {"pass_threshold": 70, "marginal_threshold": 80}, ValueError, "out of order"),
        (lambda c: None, {"pass_threshold": 120}, ValueError, "pass_threshold"),
        (lambda c: None, {"tolerance": -0.1}, ValueError, "tolerance"),
        (lambda c: None, {"confidence": 1.0}, ValueError, "confidence"),
        (lambda c: None, {"metrics": []}, ValueError, "non-empty"),
        (lambda c: None, {"metrics": ["cpu", "cpu"]}, ValueError, "more than once"),
        (lambda c: None, {"metrics": [3]}, TypeError, "MetricSpec"),
        (lambda c: c.update(cpu="fast"), {}, TypeError, "1-D sequence"),
    ],
)
def test_judge_rejects_bad_input(change, kwargs, error, match):
    rng = np.random.default_rng(6)
    base, cand = _steady(rng, 30), _steady(rng, 30)
    change(cand)
    options = {"metrics": SPECS, **kwargs}
    with pytest.raises(error, match=match):
        judge(base, cand, **options)


def test_metric_spec_rejects_an_unknown_direction():
    with pytest.raises(ValueError, match="direction must be one of 'either', 'increase', 'decrease'; got 'up'"):
        MetricSpec("latency", direction="up")
    with pytest.raises(TypeError, match="critical"):
        MetricSpec("latency", critical="yes")


# ------------------------------------------------------------------------------ rollout

HEALTHY = {"error_rate": 0.004, "p95_latency_ms": 180.0, "accuracy": 0.91, "verdict": "Pass"}


def test_a_healthy_candidate_goes_through_every_step_and_completes():
    rollout = RolloutController()
    traffic = [rollout.traffic_percent]
    for _ in range(4):
        assert rollout.observe(HEALTHY).action == "promote"
        traffic.append(rollout.traffic_percent)
    assert traffic == [5, 25, 50, 100, 100] and rollout.state == "complete"
    assert "rollout complete" in rollout.history[-1].reason
    with pytest.raises(RuntimeError, match="complete"):
        rollout.observe(HEALTHY)
    assert list(rollout.history_frame()["traffic_after"]) == [25, 50, 100, 100]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"error_rate": 0.05}, "error rate 0.05 > 0.02"),
        ({"p95_latency_ms": 350.0}, "p95 latency 350 ms > 300 ms"),
        ({"accuracy": 0.7}, "accuracy 0.7 < 0.8"),
        ({"verdict": "Fail"}, "verdict Fail"),
    ],
)
def test_each_broken_gate_rolls_back_for_good(change, reason):
    rollout = RolloutController()
    rollout.observe(HEALTHY)
    decision = rollout.observe({**HEALTHY, **change})
    assert (decision.action, decision.traffic_before, decision.traffic_after) == ("rollback", 25, 0)
    assert reason in decision.reason
    assert rollout.state == "rolled_back" and rollout.traffic_percent == 0
    with pytest.raises(RuntimeError, match="rolled back"):
        rollout.observe(HEALTHY)
    assert [d.action for d in rollout.history] == ["promote", "rollback"]


def test_marginal_or_missing_data_holds_and_too_many_holds_roll_back():
    rollout = RolloutController(max_holds=3)
    assert rollout.observe({**HEALTHY, "verdict": "Marginal"}).action == "hold"
    assert rollout.observe({**HEALTHY, "accuracy": float("nan")}).reason == "no accuracy reported"
    assert rollout.traffic_percent == 5
    assert rollout.observe(HEALTHY).action == "promote"  # a promotion resets the count
    for _ in range(3):
        assert rollout.observe({**HEALTHY, "verdict": None}).action == "hold"
    decision = rollout.observe({**HEALTHY, "verdict": None})
    assert decision.action == "rollback" and "after 3 holds in a row" in decision.reason
    assert [d.action for d in rollout.history].count("hold") == 5


def test_the_judgement_itself_can_stand_for_its_verdict():
    rng = np.random.default_rng(12)
    base, cand = _steady(rng), _steady(rng)
    cand["cpu"] = cand["cpu"] + 20
    judgement = judge(base, cand, metrics=SPECS, group_weights={"system": 90})
    assert judgement.verdict == "Fail"
    decision = RolloutController().observe({**HEALTHY, "verdict": judgement})
    assert decision.action == "rollback" and "verdict Fail" in decision.reason


def test_a_broken_gate_wins_over_missing_data():
    decision = RolloutController().observe({"error_rate": 0.5, "verdict": "Marginal"})
    assert decision.action == "rollback" and decision.reason == "error rate 0.5 > 0.02"


@pytest.mark.parametrize(
    ("kwargs", "health", "error", "match"),
    [
        ({"steps": (5, 5, 100)}, None, ValueError, "strictly increasing"),
        ({"steps": (50, 150)}, None, ValueError, "<= 100"),
        ({"steps": ()}, None, ValueError, "non-empty"),
        ({"max_holds": 0}, None, ValueError, "max_holds"),
        ({}, {**HEALTHY, "latency": 3}, ValueError, "unknown keys"),
        ({}, {**HEALTHY, "verdict": "OK"}, ValueError, "verdict"),
        ({}, {**HEALTHY, "error_rate": "low"}, TypeError, "error_rate"),
        ({}, [0.1, 200], TypeError, "mapping"),
    ],
)
def test_rollout_rejects_bad_input(kwargs, health, error, match):
    with pytest.raises(error, match=match):
        RolloutController(**kwargs).observe(health)


# ------------------------------------------------------------------------------ evaluate_canary


def _seed_rule(baseline, candidate, delta=0.05):
    """The seed's error check: a relative margin, which allows nothing when the baseline had no errors."""
    return candidate["error_rate"] <= baseline["error_rate"] * (1 + delta)


def test_a_zero_baseline_error_rate_no_longer_fails_any_canary_error():
    baseline = {"error_rate": 0.0, "p95_latency_ms": 200.0, "accuracy": 0.9}
    candidate = {"error_rate": 0.0008, "p95_latency_ms": 201.0, "accuracy": 0.9}
    assert not _seed_rule(baseline, candidate)
    verdict = canary.evaluate_canary(baseline, candidate)
    assert verdict.promote and verdict.decision == "promote" and verdict.reasons == ()
    assert not canary.evaluate_canary(baseline, {**candidate, "error_rate": 0.02}).promote


@pytest.mark.parametrize(
    ("change", "check", "reason"),
    [
        ({"error_rate": 0.02}, "error_rate", "error rate 0.02 > 0.015"),
        ({"p95_latency_ms": 211.0}, "latency", "p95 latency 211 ms > 210 ms"),
        ({"accuracy": 0.79}, "accuracy", "accuracy 0.79 < 0.8"),
    ],
)
def test_each_check_fails_alone_with_its_reason(change, check, reason):
    baseline = {"error_rate": 0.01, "p95_latency_ms": 200.0, "accuracy": 0.9}
    verdict = canary.evaluate_canary(baseline, {**baseline, **change})
    assert verdict.decision == "rollback"
    assert [name for name, ok in verdict.checks.items() if not ok] == [check]
    assert len(verdict.reasons) == 1 and verdict.reasons[0].startswith(reason)


def test_the_margins_are_inclusive():
    baseline = {"error_rate": 0.01, "p95_latency_ms": 200.0, "accuracy": 0.9}
    edge = {"error_rate": 0.015, "p95_latency_ms": 210.0, "accuracy": 0.8}
    assert canary.evaluate_canary(baseline, edge).promote


@pytest.mark.parametrize(
    ("baseline", "candidate", "kwargs", "error", "match"),
    [
        ({"error_rate": 0.0, "p95_latency_ms": 200.0}, HEALTHY, {}, ValueError, "lacks"),
        ({"error_rate": 1.5, "p95_latency_ms": 200.0, "accuracy": 0.9}, HEALTHY, {}, ValueError, "between 0 and 1"),
        ({"error_rate": 0.0, "p95_latency_ms": 0.0, "accuracy": 0.9}, HEALTHY, {}, ValueError, "> 0"),
        ({"error_rate": float("nan"), "p95_latency_ms": 1.0, "accuracy": 0.9}, HEALTHY, {}, ValueError, "finite"),
        ([0.0, 200.0, 0.9], HEALTHY, {}, TypeError, "mapping"),
        (HEALTHY, HEALTHY, {"min_accuracy": 2}, ValueError, "min_accuracy"),
    ],
)
def test_evaluate_canary_rejects_bad_input(baseline, candidate, kwargs, error, match):
    with pytest.raises(error, match=match):
        canary.evaluate_canary(baseline, candidate, **kwargs)
