"""Time course_lib's multivariate drift tests against the plain recipes a user would write.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_multivariate_drift.py``). Prints
best-of-N wall times and the ratio peer / course_lib (above 1: course_lib is faster):

* ``stats.mmd_test`` on 2 x 300 rows, 5 features, 100 permutations, against the textbook
  loop: ``sklearn.metrics.pairwise.rbf_kernel`` recomputed on each permuted pooled sample and
  the unbiased MMD^2 taken from its blocks. course_lib computes the kernel matrix once and
  gets every permuted statistic from one matrix product.
* ``drift.classifier_drift`` on 2 x 1000 rows (a correlation flip plus 3 noise features), 5
  folds, 5 permutations, against a loop of ``cross_val_score(model, X, y, cv=...,
  scoring="roc_auc")`` over the observed and the shuffled labels with the same model and
  folds. Both run with OpenMP limited to one thread (as classifier_drift does): on a shared
  2-core machine, letting HistGradientBoosting start a thread per core made one
  cross-validation 15 to 40 times slower.

Before timing, each pair is checked to agree (same MMD^2 statistic, same fold AUCs), so a fast
wrong answer cannot pass. The whole script takes about 10-30 s (more on a busy machine).
"""

from __future__ import annotations

import os
import platform
import sys
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.model_selection import StratifiedKFold, cross_val_score
from threadpoolctl import threadpool_limits

from course_lib import drift, stats

import timing  # benchmarks/timing.py: make bench runs the scripts from this folder

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


def best_of(function, repeats: int = REPEATS) -> tuple[float, object]:
    """Best wall time of ``repeats`` calls, and the last result."""
    return timing.best_of(function, repeats)


def naive_mmd_test(x: np.ndarray, y: np.ndarray, sigma: float, n_permutations: int, seed: int):
    """The textbook permutation test: a fresh rbf_kernel on every permuted pooled sample."""
    gamma = 1.0 / (2.0 * sigma**2)
    m, n = len(x), len(y)

    def mmd2(a, b):
        kaa, kbb, kab = rbf_kernel(a, gamma=gamma), rbf_kernel(b, gamma=gamma), rbf_kernel(a, b, gamma=gamma)
        return (
            (kaa.sum() - np.trace(kaa)) / (m * (m - 1))
            + (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
            - 2.0 * kab.mean()
        )

    observed = mmd2(x, y)
    pooled = np.vstack([x, y])
    rng = np.random.default_rng(seed)
    exceed = 0
    for _ in range(n_permutations):
        shuffled = pooled[rng.permutation(m + n)]
        exceed += mmd2(shuffled[:m], shuffled[m:]) >= observed - 1e-12
    return observed, (exceed + 1) / (n_permutations + 1)


def correlation_flip(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    reference = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], size=n)
    current = rng.multivariate_normal([0, 0], [[1, -0.8], [-0.8, 1]], size=n)
    noise = [f"noise{i}" for i in range(3)]
    frames = []
    for data in (reference, current):
        frame = pd.DataFrame(data, columns=["tenure", "spend"])
        frames.append(frame.join(pd.DataFrame(rng.normal(size=(n, 3)), columns=noise)))
    return frames[0], frames[1]


def bench_mmd(rng: np.random.Generator) -> bool:
    x = rng.normal(size=(300, 5))
    y = rng.normal(size=(300, 5)) + np.r_[0.2, 0, 0, 0, 0]
    n_permutations = 100
    ours_time, ours = best_of(lambda: stats.mmd_test(x, y, n_permutations=n_permutations, seed=0))
    naive_time, (statistic, pvalue) = best_of(
        lambda: naive_mmd_test(x, y, ours.bandwidth, n_permutations, seed=0), repeats=1
    )
    agree = abs(ours.statistic - statistic) <= 1e-9 * max(1.0, abs(statistic))
    print(f"{'mmd_test 300 vs 300 x 5, 100 permutations':<48} course_lib {ours_time * 1e3:8.1f} ms   "
          f"rbf_kernel per permutation {naive_time * 1e3:8.1f} ms   ratio {naive_time / ours_time:6.1f}x")  # fmt: skip
    print(f"{'':48} MMD^2 {ours.statistic:.6g} vs {statistic:.6g} ({'same' if agree else 'DIFFERENT'}); "
          f"p-values {ours.pvalue:.3g} vs {pvalue:.3g} (different random splits)")  # fmt: skip
    return agree


def bench_classifier(rng: np.random.Generator) -> bool:
    reference, current = correlation_flip(1000, rng)
    X = np.vstack([reference.to_numpy(), current.to_numpy()])
    y = np.r_[np.zeros(len(reference), dtype=int), np.ones(len(current), dtype=int)]
    splitter = StratifiedKFold(5, shuffle=True, random_state=0)
    model = drift.default_drift_classifier(random_state=0)
    n_permutations = 5

    def ours():
        return drift.classifier_drift(
            reference, current, model=model, cv=splitter, n_permutations=n_permutations, seed=0
        )

    def plain():
        shuffle = np.random.default_rng(0)
        with threadpool_limits(limits=1, user_api="openmp"):
            scores = cross_val_score(model, X, y, cv=splitter, scoring="roc_auc")
            null = [
                cross_val_score(model, X, shuffle.permutation(y), cv=splitter, scoring="roc_auc").mean()
                for _ in range(n_permutations)
            ]
        return scores, (1 + sum(auc >= scores.mean() - 1e-12 for auc in null)) / (n_permutations + 1)

    ours_time, result = best_of(ours, repeats=1)
    plain_time, (scores, pvalue) = best_of(plain, repeats=1)
    agree = np.allclose(result.fold_aucs, scores, rtol=0, atol=1e-12)
    print(f"{'classifier_drift 1000 vs 1000 x 5, 5 folds, 5 perm.':<48} course_lib {ours_time * 1e3:8.1f} ms   "
          f"cross_val_score loop {plain_time * 1e3:8.1f} ms   ratio {plain_time / ours_time:6.2f}x")  # fmt: skip
    print(f"{'':48} AUC {result.auc:.4f} vs {scores.mean():.4f} ({'same folds' if agree else 'DIFFERENT'}); "
          f"p-values {result.pvalue:.3g} vs {pvalue:.3g}; course_lib also computes the importance")  # fmt: skip
    one_cv, _ = best_of(lambda: drift.classifier_drift(reference, current, n_permutations=0, seed=0))
    print(f"{'classifier_drift, no permutations (AUC only)':<48} course_lib {one_cv * 1e3:8.1f} ms")
    return bool(agree)


def main() -> int:
    print(f"python {platform.python_version()}, numpy {np.__version__}, scikit-learn {sklearn.__version__}, "
          f"{os.cpu_count()} CPUs, best of {REPEATS} (naive and loop peers: 1 run), wall time")  # fmt: skip
    start = time.perf_counter()
    rng = np.random.default_rng(2026)
    outcomes = [bench_mmd(rng), bench_classifier(rng)]
    print(f"results agree: {sum(outcomes)} of {len(outcomes)} ({time.perf_counter() - start:.0f} s)")
    return 0 if all(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
