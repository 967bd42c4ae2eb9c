"""Time course_lib.stats and course_lib.drift against scipy and plain numpy.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_drift_statistics.py``). Prints
best-of-N wall times, the ratio peer / course_lib (above 1: course_lib is faster) and whether
each target of issue 3 is met:

* KS (statistic and p-value) on 1e6 vs 1e6 values: at least 4x faster than
  ``scipy.stats.ks_2samp``;
* PSI on 1e6 vs 1e6 values: within 1.2x of a plain numpy-histogram PSI;
* ``drift_report`` on 100 numeric columns x 1e5 rows: under 1.5 s (compared with a loop that
  calls ``scipy.stats.ks_2samp`` per column).

Before timing, each pair of results is checked to agree, so a fast wrong answer cannot pass.
Other drift libraries are timed when installed and skipped otherwise (Evidently, for instance,
does not import with pandas 3; river has no two-sample statistics).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import time

import numpy as np
import pandas as pd
import scipy
import scipy.stats

from course_lib import drift, stats

REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))


def best_of(function, repeats: int = REPEATS) -> tuple[float, object]:
    """Best wall time of ``repeats`` calls, and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def plain_numpy_psi(reference: np.ndarray, current: np.ndarray, bins: int = 10, eps: float = 1e-4) -> float:
    """The usual PSI recipe: reference-quantile edges, numpy.histogram, shares clipped at eps.

    Outer edges are made infinite so both versions count the same observations.
    """
    edges = np.quantile(reference, np.linspace(0.0, 1.0, bins + 1))
    edges[0], edges[-1] = -np.inf, np.inf
    r = np.clip(np.histogram(reference, edges)[0] / reference.size, eps, None)
    c = np.clip(np.histogram(current, edges)[0] / current.size, eps, None)
    return float(np.sum((c - r) * np.log(c / r)))


def report_line(name: str, ours: float, peer: float, peer_name: str, target: str, met: bool | None) -> None:
    verdict = "" if met is None else ("  target met" if met else "  TARGET MISSED")
    print(
        f"{name:<44} course_lib {ours * 1e3:8.1f} ms   {peer_name} {peer * 1e3:8.1f} ms   "
        f"ratio {peer / ours:5.2f}x   ({target}){verdict}"
    )


def bench_ks(rng: np.random.Generator) -> list[bool]:
    n = 1_000_000
    reference = rng.normal(0.0, 1.0, n)
    outcomes = []
    # A small shift that is detected (the p-value takes scipy's slow tail branch), and none.
    for label, shift in (("shifted by 0.005 SD (drift detected)", 0.005), ("no shift", 0.0)):
        current = rng.normal(shift, 1.0, n)
        ours_time, ours = best_of(lambda: stats.ks_2samp(reference, current))
        scipy_time, theirs = best_of(lambda: scipy.stats.ks_2samp(reference, current), max(2, REPEATS // 2))
        assert ours.statistic == theirs.statistic, (ours, theirs)
        assert abs(ours.pvalue - theirs.pvalue) <= 0.02 * theirs.pvalue, (ours, theirs)
        met = scipy_time / ours_time >= 4.0
        outcomes.append(met)
        report_line(f"KS 1e6 vs 1e6, {label}", ours_time, scipy_time, "scipy", ">= 4x", met)
        print(f"{'':44} p-value course_lib {ours.pvalue:.6g}, scipy {theirs.pvalue:.6g}")
    return outcomes


def bench_psi(rng: np.random.Generator) -> list[bool]:
    n = 1_000_000
    reference = rng.normal(0.0, 1.0, n)
    current = rng.normal(0.05, 1.1, n)
    ours_time, ours = best_of(lambda: stats.psi(reference, current))
    plain_time, plain = best_of(lambda: plain_numpy_psi(reference, current))
    assert abs(ours - plain) <= 1e-12 * max(1.0, plain), (ours, plain)
    met = ours_time <= 1.2 * plain_time
    report_line("PSI 1e6 vs 1e6 (10 quantile bins)", ours_time, plain_time, "numpy", "<= 1.2x numpy's time", met)
    uniform_time, _ = best_of(lambda: stats.psi(reference, current, strategy="uniform"))
    print(f"{'PSI 1e6 vs 1e6 (10 uniform bins)':<44} course_lib {uniform_time * 1e3:8.1f} ms")
    wass_time, ours_w = best_of(lambda: stats.wasserstein(reference, current))
    scipy_w_time, theirs_w = best_of(lambda: scipy.stats.wasserstein_distance(reference, current), 2)
    assert abs(ours_w - theirs_w) <= 1e-9 * theirs_w
    report_line("Wasserstein 1e6 vs 1e6", wass_time, scipy_w_time, "scipy", "no target", None)
    return [met]


def bench_report(rng: np.random.Generator) -> list[bool]:
    rows, columns = 100_000, 100
    names = [f"f{i:03d}" for i in range(columns)]
    shifts = np.where(np.arange(columns) % 10 == 0, 0.05, 0.0)  # every tenth column drifts a little
    reference = pd.DataFrame(rng.normal(0.0, 1.0, (rows, columns)), columns=names)
    current = pd.DataFrame(rng.normal(shifts, 1.0, (rows, columns)), columns=names)

    def naive_loop() -> list[float]:
        return [scipy.stats.ks_2samp(reference[name], current[name]).pvalue for name in names]

    ours_time, report = best_of(lambda: drift.drift_report(reference, current, method="ks"), 3)
    loop_time, pvalues = best_of(naive_loop, 2)
    np.testing.assert_allclose(report.table["pvalue"], pvalues, rtol=0.02)
    met = ours_time < 1.5
    report_line("drift_report 100 cols x 1e5 rows, method=ks", ours_time, loop_time, "scipy loop",
                "< 1.5 s", met)  # fmt: skip
    print(f"{'':44} drifted: {len(report.drifted)} of {columns} (10 shifted by 0.05 SD)")
    # Equal sizes let the effect size (Wasserstein) take its sorted-difference shortcut;
    # time unequal sizes too, so that shortcut does not flatter the result.
    shorter = current.iloc[:80_000]
    unequal_time, _ = best_of(lambda: drift.drift_report(reference, shorter, method="ks"), 3)
    print(f"{'drift_report, 1e5 vs 8e4 rows, method=ks':<44} course_lib {unequal_time * 1e3:8.1f} ms")
    auto_time, auto = best_of(lambda: drift.drift_report(reference, current), 3)
    print(f"{'drift_report, method=auto (Wasserstein)':<44} course_lib {auto_time * 1e3:8.1f} ms"
          f"   drifted: {len(auto.drifted)}")  # fmt: skip
    return [met]


def bench_other_libraries() -> None:
    for module in ("evidently", "nannyml", "alibi_detect"):
        if importlib.util.find_spec(module) is None:
            print(f"{module}: not installed, skipped")
            continue
        try:
            importlib.import_module(module)
        except Exception as error:  # noqa: BLE001 - report any import failure and go on
            print(f"{module}: installed but fails to import ({type(error).__name__}), skipped")
        else:
            print(f"{module}: installed, but no comparison is written for it yet")


def main() -> int:
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"pandas {pd.__version__}, {os.cpu_count()} CPUs, best of {REPEATS}")  # fmt: skip
    rng = np.random.default_rng(2026)
    outcomes = bench_ks(rng) + bench_psi(rng) + bench_report(rng)
    bench_other_libraries()
    print(f"targets met: {sum(outcomes)} of {len(outcomes)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
