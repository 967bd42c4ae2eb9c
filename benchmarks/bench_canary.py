"""Time course_lib.canary against scipy, statsmodels and plain numpy, in the same run.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_canary.py``). Prints best-of-N
wall times and the ratio peer / course_lib (above 1: course_lib is faster):

* the judge's Mann-Whitney / Hodges-Lehmann interval (:func:`canary.mann_whitney_shift`) against
  ``scipy.stats.mannwhitneyu`` plus the direct Hodges-Lehmann computation (all n x m pairwise
  differences, their median and the two order statistics of the interval), at a size where both
  form the differences and at one where course_lib counts them instead;
* :func:`canary.judge` on 40 metrics against a loop of the same scipy + numpy recipe per metric;
* :func:`canary.two_proportion_ztest` against statsmodels' ``proportions_ztest`` plus
  ``confint_proportions_2indep`` (the same statistic and interval);
* :func:`canary.sample_size_two_proportions` (closed form) against statsmodels'
  ``NormalIndPower().solve_power`` (a root finder on the arcsine effect size);
* :func:`canary.assign_variant` against a bare ``hashlib.sha256`` bucket (its floor).

Before timing, each pair of results is checked to agree, so a fast wrong answer cannot pass.
statsmodels rows are skipped when it is not installed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import platform

import numpy as np
import scipy
import scipy.stats

from course_lib import canary

import timing  # benchmarks/timing.py: make bench runs the scripts from this folder

REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))


def best_of(function, repeats: int = REPEATS) -> tuple[float, object]:
    """Best wall time of ``repeats`` calls, and the last result."""
    return timing.best_of(function, repeats)


def report_line(name: str, ours: float, peer: float, peer_name: str) -> None:
    print(f"{name:<46} course_lib {ours * 1e3:9.3f} ms   {peer_name:<22} {peer * 1e3:9.3f} ms   ratio {peer / ours:6.2f}x")


def direct_shift(baseline: np.ndarray, candidate: np.ndarray, confidence: float = 0.98):
    """scipy's Mann-Whitney test plus the textbook Hodges-Lehmann estimate and interval."""
    test = scipy.stats.mannwhitneyu(candidate, baseline, method="asymptotic", use_continuity=False)
    differences = np.sort(np.subtract.outer(candidate, baseline).ravel())
    n, m = baseline.size, candidate.size
    _, counts = np.unique(np.concatenate([baseline, candidate]), return_counts=True)
    total = n + m
    sd = math.sqrt(n * m / 12 * ((total + 1) - np.sum(counts**3.0 - counts) / (total * (total - 1))))
    k = math.ceil(n * m / 2 - scipy.stats.norm.isf((1 - confidence) / 2) * sd - 1e-9)
    return float(np.median(differences)), float(differences[k - 1]), float(differences[n * m - k]), test.pvalue


def bench_shift(rng: np.random.Generator) -> None:
    for size in (300, 2000):
        baseline = rng.lognormal(5.0, 0.4, size)
        candidate = rng.lognormal(5.05, 0.4, size)
        ours_time, ours = best_of(lambda: canary.mann_whitney_shift(baseline, candidate))
        peer_time, peer = best_of(lambda: direct_shift(baseline, candidate), max(2, REPEATS // 2))
        assert np.allclose(tuple(ours), peer[:3], rtol=1e-12), (ours, peer)
        report_line(f"Mann-Whitney/HL interval, {size} vs {size}", ours_time, peer_time, "scipy MWU + numpy HL")


def bench_judge(rng: np.random.Generator) -> None:
    names = [f"metric_{i}" for i in range(40)]
    baseline = {name: rng.gamma(3.0, 10.0, 120) for name in names}
    candidate = {name: rng.gamma(3.0, 10.0, 120) * rng.uniform(0.9, 1.2) for name in names}
    specs = [canary.MetricSpec(name) for name in names]

    def peer():
        labels = []
        for name in names:
            estimate, low, high, _ = direct_shift(baseline[name], candidate[name])
            band = 0.25 * abs(estimate)
            labels.append("High" if low > band else "Low" if high < -band else "Pass")
        return labels

    ours_time, ours = best_of(lambda: canary.judge(baseline, candidate, metrics=specs))
    peer_time, theirs = best_of(peer)
    assert [m.classification for m in ours.metrics] == theirs
    report_line("judge, 40 metrics x 120 values per side", ours_time, peer_time, "scipy MWU + numpy HL")


def bench_ztest(rng: np.random.Generator) -> None:
    if importlib.util.find_spec("statsmodels") is None:
        print("z-test and sample size: statsmodels not installed, skipped")
        return
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import confint_proportions_2indep, proportion_effectsize, proportions_ztest

    counts = [(int(rng.binomial(20_000, 0.02)), 20_000, int(rng.binomial(5_000, 0.025)), 5_000) for _ in range(200)]

    def ours():
        return [canary.two_proportion_ztest(*c) for c in counts]

    def theirs():
        results = []
        for s_a, n_a, s_b, n_b in counts:
            z, p = proportions_ztest([s_b, s_a], [n_b, n_a])
            low, high = confint_proportions_2indep(s_b, n_b, s_a, n_a, method="wald", compare="diff")
            results.append((z, p, low, high))
        return results

    ours_time, mine = best_of(ours)
    peer_time, peer = best_of(theirs)
    for a, b in zip(mine, peer):
        assert np.allclose((a.statistic, a.pvalue, a.ci_low, a.ci_high), b, rtol=1e-9)
    report_line("two-proportion z-test + interval, 200 calls", ours_time, peer_time, "statsmodels")

    settings = [(rate, mde) for rate in (0.005, 0.02, 0.1) for mde in (0.1, 0.25, 0.5)]

    def our_sizes():
        return [canary.sample_size_two_proportions(rate, mde) for rate, mde in settings]

    def their_sizes():
        power = NormalIndPower()
        return [power.solve_power(proportion_effectsize(rate * (1 + mde), rate), alpha=0.05, power=0.8) for rate, mde in settings]

    ours_time, mine = best_of(our_sizes)
    peer_time, peer = best_of(their_sizes)
    # Different approximations (pooled/unpooled normal vs arcsine): within 4% of each other.
    assert np.allclose(mine, peer, rtol=0.04), (mine, peer)
    report_line("sample size, 9 settings", ours_time, peer_time, "statsmodels power")


def bench_routing() -> None:
    keys = [f"user-{i}" for i in range(20_000)]
    weights = {"canary": 5, "baseline": 95}

    def bare():
        return [
            "canary" if int.from_bytes(hashlib.sha256(f"exp:{k}".encode()).digest()[:8], "big") / 2**64 < 0.05 else "baseline"
            for k in keys
        ]

    ours_time, mine = best_of(lambda: [canary.assign_variant(k, weights, salt="exp") for k in keys], 3)
    peer_time, peer = best_of(bare, 3)
    assert mine == peer
    report_line("assign_variant, 20,000 keys", ours_time, peer_time, "bare hashlib bucket")


def main() -> None:
    print(f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, best of {REPEATS}")
    rng = np.random.default_rng(2026)
    bench_shift(rng)
    bench_judge(rng)
    bench_ztest(rng)
    bench_routing()


if __name__ == "__main__":
    main()
