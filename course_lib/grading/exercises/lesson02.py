"""Exercises of lesson 02, drift statistics (references in :mod:`course_lib.stats`).

Case factories and wrong answers import numpy and course_lib.stats when called, so listing
these ids stays light. The two value exercises (a choice of correction and a reading of a drift
report) have their zero-argument references here, at the end of the module.
"""

from __future__ import annotations

import functools
import math

from course_lib.grading.exercises.puzzles import called, entry_cases, misspelt, not_a_word, relabelled
from course_lib.grading.registry import Case, EntriesOneOf, Exercise, Mistake, OneOf, register

# ---------------------------------------------------------------------------------------------
# 02.ks_statistic: the two-sample KS statistic from the two ECDFs
# ---------------------------------------------------------------------------------------------


def _ks_public() -> list[Case]:
    import numpy as np

    rng = np.random.default_rng(201)
    return [
        Case("tiny samples, current to the right", ([0.1, 0.4, 0.7, 0.9], [0.5, 0.8, 1.2, 1.5, 1.9])),
        Case("current shifted left by 0.5 sd (n=300, m=200)", (rng.normal(0, 1, 300), rng.normal(-0.5, 1, 200))),
        Case("current shifted right by 0.5 sd (n=250, m=400)", (rng.normal(0, 1, 250), rng.normal(0.5, 1, 400))),
        Case("same mean, current twice as wide", (rng.normal(0, 1, 500), rng.normal(0, 2, 500))),
        Case("integer samples with ties", (rng.poisson(3, 200), rng.poisson(3.6, 150))),
    ]


def _ks_hidden(rng) -> list[Case]:
    cases = []
    for _ in range(6):
        n, m = (int(k) for k in rng.integers(20, 1500, size=2))
        shift, scale = float(rng.normal(0, 0.5)), float(rng.uniform(0.5, 2.0))
        cases.append(Case("random normals", (rng.normal(0, 1, n), rng.normal(shift, scale, m))))
    cases.append(Case("random integers with ties", (rng.poisson(4, 300), rng.poisson(float(rng.uniform(3, 5)), 250))))
    return cases


def _ecdf_gaps(reference, current, at: str = "pooled"):
    """F_ref - F_cur at the pooled points (or at the points of one sample only)."""
    import numpy as np

    a = np.sort(np.asarray(reference, dtype=float))
    b = np.sort(np.asarray(current, dtype=float))
    points = {"pooled": np.concatenate([a, b]), "reference": a, "current": b}[at]
    return np.searchsorted(a, points, side="right") / a.size - np.searchsorted(b, points, side="right") / b.size


def _ks_reference_above(reference, current):
    return float(_ecdf_gaps(reference, current).max())


def _ks_current_above(reference, current):
    return float((-_ecdf_gaps(reference, current)).max())


def _ks_reference_points_only(reference, current):
    return float(abs(_ecdf_gaps(reference, current, at="reference")).max())


def _ks_current_points_only(reference, current):
    return float(abs(_ecdf_gaps(reference, current, at="current")).max())


_ONE_SIDED_HINT = (
    "you took a one-sided maximum (F_ref - F_cur, or F_cur - F_ref): the two-sided statistic is "
    "the largest ABSOLUTE gap, max |F_ref(t) - F_cur(t)|, and drift can go either way."
)
_ONE_SAMPLE_POINTS_HINT = (
    "you evaluated the ECDFs at the points of one sample only: the largest gap can sit at a "
    "point of either sample, so evaluate both ECDFs at all n + m pooled points."
)

register(
    Exercise(
        id="02.ks_statistic",
        title="The two-sample Kolmogorov-Smirnov statistic from the two ECDFs",
        kind="function",
        reference="course_lib.stats:ks_statistic",
        returns="float",
        public_cases=_ks_public,
        hidden_cases=_ks_hidden,
        mistakes=(
            Mistake(_ONE_SIDED_HINT, wrong=_ks_reference_above),
            Mistake(_ONE_SIDED_HINT, wrong=_ks_current_above),
            Mistake(_ONE_SAMPLE_POINTS_HINT, wrong=_ks_reference_points_only),
            Mistake(_ONE_SAMPLE_POINTS_HINT, wrong=_ks_current_points_only),
        ),
        hint=(
            "pool both samples, evaluate each ECDF there with "
            "np.searchsorted(np.sort(x), t, side='right') / len(x), and return the largest "
            "absolute difference as a float."
        ),
    )
)

# ---------------------------------------------------------------------------------------------
# 02.psi: Population Stability Index with reference-quantile bins
# ---------------------------------------------------------------------------------------------


def _psi_public() -> list[Case]:
    import numpy as np

    rng = np.random.default_rng(202)
    reference = rng.normal(0, 1, 1000)
    return [
        Case("two samples from the same normal (n=1000 each)", (reference, rng.normal(0, 1, 1000))),
        Case("current shifted by 0.5 sd", (reference, rng.normal(0.5, 1, 800))),
        Case(
            "current only above the reference median: empty bins",
            (reference, np.abs(rng.normal(0, 1, 500)) + float(np.median(reference))),
        ),
        Case("5 bins, a wider current", (reference, rng.normal(0, 1.5, 600)), {"bins": 5}),
        Case(
            "integer counts: many values sit exactly on a bin edge",
            (rng.poisson(2.0, 1000), rng.poisson(2.4, 800)),
            {"bins": 5},
        ),
    ]


def _psi_hidden(rng) -> list[Case]:
    cases = []
    for _ in range(5):
        n, m = (int(k) for k in rng.integers(200, 3000, size=2))
        reference = rng.normal(0, 1, n)
        current = rng.normal(float(rng.normal(0, 0.4)), float(rng.uniform(0.7, 1.5)), m)
        cases.append(Case("random normals", (reference, current), {"bins": int(rng.integers(4, 16))}))
    reference = rng.exponential(1.0, 1000)
    cases.append(Case("current beyond the reference's range", (reference, reference.max() + rng.exponential(1.0, 300))))
    rate = float(rng.uniform(1.0, 4.0))
    cases.append(Case("integer counts", (rng.poisson(rate, 900), rng.poisson(rate * 1.2, 700)), {"bins": 5}))
    return cases


def _psi_log10(reference, current, bins=10):
    from course_lib import stats

    return stats.psi(reference, current, bins=bins) / math.log(10)


def _psi_equal_width(reference, current, bins=10):
    from course_lib import stats

    return stats.psi(reference, current, bins=bins, strategy="uniform")


def _psi_current_quantiles(reference, current, bins=10):
    import numpy as np

    from course_lib import stats

    edges = np.unique(np.quantile(np.asarray(current, dtype=float), np.linspace(0, 1, bins + 1)[1:-1]))
    return stats.psi(reference, current, bins=edges)


def _psi_eps_added(reference, current, bins=10):
    import numpy as np

    from course_lib import stats

    shares = stats.binned_proportions(reference, current, bins=bins)
    r, c = shares.reference + 1e-4, shares.current + 1e-4
    return float(np.sum((c - r) * np.log(c / r)))


def _psi_edge_values_below(reference, current, bins=10):
    import numpy as np

    from course_lib import stats

    r, c = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    edges = stats.bin_edges(r, c, bins=bins)
    shares = [np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(edges) + 1) / x.size for x in (r, c)]
    r_share, c_share = (np.maximum(share, 1e-4) for share in shares)
    return float(np.sum((c_share - r_share) * np.log(c_share / r_share)))


def _psi_unclipped(reference, current, bins=10):
    import numpy as np

    from course_lib import stats

    shares = stats.binned_proportions(reference, current, bins=bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum((shares.current - shares.reference) * np.log(shares.current / shares.reference)))


def _not_finite(case: Case, got) -> bool:
    try:
        return not math.isfinite(float(got))
    except (TypeError, ValueError):
        return False


register(
    Exercise(
        id="02.psi",
        title="Population Stability Index with bins at the reference's quantiles",
        kind="function",
        reference="course_lib.stats:psi",
        returns="float",
        public_cases=_psi_public,
        hidden_cases=_psi_hidden,
        mistakes=(
            Mistake(
                "your PSI is infinite or NaN: an empty bin gives log(0). Clip every share below at "
                "eps = 1e-4 (np.maximum(share, eps)) before taking the log.",
                wrong=_psi_unclipped,
                test=_not_finite,
            ),
            Mistake(
                "a value equal to an inner edge belongs to the bin ABOVE that edge: "
                "np.searchsorted(edges, x, side='right'). With continuous data no value ever sits "
                "on an edge, but integer features (counts, ratings) put many values there.",
                wrong=_psi_edge_values_below,
            ),
            Mistake("you used log10 (or log2); PSI uses the natural log, np.log.", wrong=_psi_log10),
            Mistake(
                "your bins have equal widths; here the inner edges are the reference's quantiles "
                "np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]).",
                wrong=_psi_equal_width,
            ),
            Mistake(
                "you took the bin edges from the current sample; they come from the reference, "
                "the distribution the model was built on.",
                wrong=_psi_current_quantiles,
            ),
            Mistake(
                "you added eps to every share; clip instead (np.maximum(share, eps)), which leaves "
                "the non-empty bins exactly as they are.",
                wrong=_psi_eps_added,
            ),
        ),
        hint=(
            "inner edges = the reference's quantiles; shares = np.bincount(np.searchsorted(edges, x, "
            "side='right'), minlength=bins) / len(x) for each sample; clip at 1e-4; then "
            "sum((c - r) * ln(c / r))."
        ),
    )
)

# ---------------------------------------------------------------------------------------------
# 02.kl_divergence: KL(reference || current), in the right direction
# ---------------------------------------------------------------------------------------------


def _kl_public() -> list[Case]:
    import numpy as np

    rng = np.random.default_rng(203)
    plans = np.array(["basic", "standard", "premium"])
    return [
        Case(
            "categories, the same three in both",
            (rng.choice(plans, 600, p=[0.3, 0.45, 0.25]), rng.choice(plans, 400, p=[0.5, 0.4, 0.1])),
        ),
        Case(
            "a category the current sample lacks",
            (rng.choice(plans, 500, p=[0.2, 0.5, 0.3]), rng.choice(plans[:2], 500, p=[0.4, 0.6])),
        ),
        Case("numbers, current shifted by 0.3 sd", (rng.normal(0, 1, 1000), rng.normal(0.3, 1, 1000))),
        Case("numbers, current narrower, 5 bins", (rng.normal(0, 1, 800), rng.normal(0, 0.5, 700)), {"bins": 5}),
    ]


def _kl_hidden(rng) -> list[Case]:
    import numpy as np

    cases = []
    letters = np.array(list("abcde"))
    for _ in range(3):
        p, q = rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(5))
        cases.append(Case("random categories", (rng.choice(letters, 500, p=p), rng.choice(letters, 400, p=q))))
    for _ in range(3):
        reference = rng.normal(0, 1, int(rng.integers(300, 2000)))
        current = rng.normal(float(rng.normal(0, 0.5)), float(rng.uniform(0.5, 1.5)), int(rng.integers(300, 2000)))
        cases.append(Case("random normals", (reference, current), {"bins": int(rng.integers(4, 16))}))
    return cases


def _kl_shares(reference, current, bins=10, *, renormalise=True):
    import numpy as np

    from course_lib import stats

    shares = stats.binned_proportions(reference, current, bins=bins)
    r, c = np.maximum(shares.reference, 1e-4), np.maximum(shares.current, 1e-4)
    if renormalise:
        r, c = r / r.sum(), c / c.sum()
    return r, c


def _kl_reversed(reference, current, bins=10):
    import numpy as np

    r, c = _kl_shares(reference, current, bins)
    return float(np.sum(c * np.log(c / r)))


def _kl_base2(reference, current, bins=10):
    from course_lib import stats

    return stats.kl_divergence(reference, current, bins=bins) / math.log(2)


def _kl_symmetric(reference, current, bins=10):
    return _kl_reversed(reference, current, bins) + _kl_base_e(reference, current, bins)


def _kl_base_e(reference, current, bins=10):
    from course_lib import stats

    return stats.kl_divergence(reference, current, bins=bins)


def _kl_not_renormalised(reference, current, bins=10):
    import numpy as np

    r, c = _kl_shares(reference, current, bins, renormalise=False)
    return float(np.sum(r * np.log(r / c)))


def _kl_unclipped(reference, current, bins=10):
    import numpy as np

    from course_lib import stats

    shares = stats.binned_proportions(reference, current, bins=bins)
    r, c = shares.reference, shares.current
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(r > 0, r * np.log(r / c), 0.0)
    return float(np.sum(terms))


register(
    Exercise(
        id="02.kl_divergence",
        title="KL(reference || current) on binned or categorical samples",
        kind="function",
        reference="course_lib.stats:kl_divergence",
        returns="float",
        public_cases=_kl_public,
        hidden_cases=_kl_hidden,
        mistakes=(
            Mistake(
                "you computed KL(current || reference). KL is not symmetric: weigh the log-ratio by "
                "the REFERENCE shares, sum r * ln(r / c).",
                wrong=_kl_reversed,
            ),
            Mistake("you used log base 2 (bits); this exercise, like scipy.stats.entropy, uses nats (np.log).", wrong=_kl_base2),
            Mistake(
                "you returned KL(r || c) + KL(c || r), which is the PSI; KL is one direction only.",
                wrong=_kl_symmetric,
            ),
            Mistake(
                "after clipping at eps the shares no longer sum to 1: divide each by its sum before "
                "taking the KL.",
                wrong=_kl_not_renormalised,
            ),
            Mistake(
                "your KL is infinite: a bin empty in the current sample gives ln(r / 0). Clip both "
                "share vectors below at eps = 1e-4 first.",
                wrong=_kl_unclipped,
                test=_not_finite,
            ),
        ),
        hint=(
            "shares = stats.binned_proportions(reference, current, bins=bins); clip r and c at 1e-4, "
            "divide each by its sum, return float(sum(r * ln(r / c)))."
        ),
    )
)

# ---------------------------------------------------------------------------------------------
# 02.psi_threshold: a PSI alarm threshold for the window sizes at hand (a decision)
# ---------------------------------------------------------------------------------------------

#: The monitor of the exercise: a reference window of 1000 values, daily windows of 500, 10 bins.
PSI_WINDOWS = (1000, 500)
PSI_FALSE_ALARM_RATE = 0.05


@functools.lru_cache(maxsize=1)
def _null_psi() -> tuple:
    """PSI between seeded pairs of samples of the exercise's sizes from one distribution."""
    import numpy as np

    from course_lib import stats

    rng = np.random.default_rng(2_002)
    n, m = PSI_WINDOWS
    return tuple(stats.psi(rng.normal(size=n), rng.normal(size=m)) for _ in range(4000))


def psi_threshold_answer() -> float:
    """Reference answer of 02.psi_threshold: the 95th percentile of the no-drift PSI."""
    import numpy as np

    return float(np.quantile(_null_psi(), 1 - PSI_FALSE_ALARM_RATE))


def _null_psi_quantile(q: float):
    def answer() -> float:
        import numpy as np

        return float(np.quantile(_null_psi(), q))

    return answer


def _a_threshold(answer) -> float:
    """A threshold is one positive number."""
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) and type(answer).__module__ != "numpy":
        raise TypeError(f"answer must be one number (a PSI value such as 0.2), got {type(answer).__name__}")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise TypeError(f"answer must be one number (a PSI value such as 0.2), got {answer!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"answer must be a positive PSI value, got {value}")
    return value


_RULE_OF_THUMB_HINT = (
    "that is a textbook threshold, and it does not depend on the window sizes. With 1000 and 500 "
    "values the no-drift PSI almost never gets there, so a real shift can hide below it. Simulate "
    "the PSI of many pairs of samples of these sizes drawn from ONE distribution, and find the "
    "value that only 5% of them exceed."
)

register(
    Exercise(
        id="02.psi_threshold",
        title="A PSI alarm threshold that keeps false alarms under 5% for these window sizes",
        kind="value",
        reference="course_lib.grading.exercises.lesson02:psi_threshold_answer",
        public_cases=lambda: [Case("the threshold for a 1000-value reference and 500-value daily windows")],
        rtol=0.12,
        # One number is the whole answer: printing "expected 0.051" would hand it out.
        reveal_expected=False,
        normalize=_a_threshold,
        mistakes=(
            Mistake(_RULE_OF_THUMB_HINT, wrong=lambda: 0.1),
            Mistake(_RULE_OF_THUMB_HINT, wrong=lambda: 0.25),
            Mistake(
                "about half of the no-drift windows exceed the typical (mean or median) no-drift PSI: "
                "that threshold would page on every other quiet day. You want the value that only 5% "
                "of them exceed.",
                wrong=_null_psi_quantile(0.5),
            ),
            Mistake(
                "that threshold keeps false alarms near 1%, not 5%: it is stricter than asked and "
                "misses more real drift. The smallest threshold with at most 5% false alarms is lower.",
                wrong=_null_psi_quantile(0.99),
            ),
            Mistake(
                "95% of the no-drift windows exceed that value: it is the 5th percentile. A threshold "
                "is crossed by the share of quiet windows ABOVE it.",
                wrong=_null_psi_quantile(0.05),
            ),
        ),
        hint="draw, say, 1000 pairs (1000 and 500 values) from the same distribution, compute their "
        "PSI with 10 bins, and take the 95th percentile (or use the chi-squared approximation of "
        "section 7 with these two sizes).",
    )
)

# ---------------------------------------------------------------------------------------------
# 02.adjust_pvalues: Bonferroni and Holm
# ---------------------------------------------------------------------------------------------


def _adjust_public() -> list[Case]:
    import numpy as np

    rng = np.random.default_rng(204)
    small = [0.01, 0.04, 0.03, 0.20]
    twenty = np.concatenate([rng.uniform(0, 0.004, 4), rng.uniform(0, 1, 16)])
    rng.shuffle(twenty)
    return [
        Case("four p-values, Bonferroni", (small, "bonferroni")),
        Case("four p-values, Holm", (small, "holm")),
        Case("twenty p-values, four small, Bonferroni", (twenty, "bonferroni")),
        Case("twenty p-values, four small, Holm", (twenty, "holm")),
    ]


def _adjust_hidden(rng) -> list[Case]:
    import numpy as np

    cases = []
    for method in ("bonferroni", "holm", "holm", "holm"):
        m = int(rng.integers(3, 40))
        k = int(rng.integers(0, m))
        pvalues = np.concatenate([rng.uniform(0, 0.01, k), rng.uniform(0, 1, m - k)])
        rng.shuffle(pvalues)
        cases.append(Case(f"random p-values, {method}", (pvalues, method)))
    return cases


def _adjust_always_bonferroni(pvalues, method):
    from course_lib import stats

    return stats.adjust_pvalues(pvalues, "bonferroni")


def _holm_parts(pvalues):
    import numpy as np

    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    return p, order, np.arange(1, p.size + 1)


def _adjust_holm_without_running_max(pvalues, method):
    import numpy as np

    from course_lib import stats

    if method != "holm":
        return stats.adjust_pvalues(pvalues, method)
    p, order, rank = _holm_parts(pvalues)
    result = np.empty(p.size)
    result[order] = np.minimum((p.size - rank + 1) * p[order], 1.0)
    return result


def _adjust_holm_off_by_one(pvalues, method):
    import numpy as np

    from course_lib import stats

    if method != "holm":
        return stats.adjust_pvalues(pvalues, method)
    p, order, rank = _holm_parts(pvalues)
    result = np.empty(p.size)
    result[order] = np.minimum(np.maximum.accumulate((p.size - rank) * p[order]), 1.0)
    return result


def _adjust_sorted_order(pvalues, method):
    import numpy as np

    from course_lib import stats

    return stats.adjust_pvalues(np.sort(np.asarray(pvalues, dtype=float)), method)


def _adjust_uncapped(pvalues, method):
    import numpy as np

    p, order, rank = _holm_parts(pvalues)
    if method == "bonferroni":
        return p * p.size
    result = np.empty(p.size)
    result[order] = np.maximum.accumulate((p.size - rank + 1) * p[order])
    return result


register(
    Exercise(
        id="02.adjust_pvalues",
        title="Bonferroni and Holm adjusted p-values",
        kind="function",
        reference="course_lib.stats:adjust_pvalues",
        returns="numpy.ndarray",
        public_cases=_adjust_public,
        hidden_cases=_adjust_hidden,
        mistakes=(
            Mistake(
                "for method='holm' you returned the Bonferroni values: Holm multiplies the smallest "
                "p-value by m, the next by m - 1, ..., the largest by 1.",
                wrong=_adjust_always_bonferroni,
            ),
            Mistake(
                "your Holm values are not monotone: take the running maximum over the sorted "
                "values (np.maximum.accumulate), so a larger p-value never gets a smaller "
                "adjusted p-value.",
                wrong=_adjust_holm_without_running_max,
            ),
            Mistake(
                "off by one: the i-th smallest p-value (i = 1, 2, ...) is multiplied by m - i + 1, "
                "so the smallest by m and the largest by 1.",
                wrong=_adjust_holm_off_by_one,
            ),
            Mistake(
                "your result is in sorted order; return the adjusted p-values in the input's order "
                "(result[order] = adjusted).",
                wrong=_adjust_sorted_order,
            ),
            Mistake("an adjusted p-value is a probability: cap it at 1 (np.minimum(..., 1.0)).", wrong=_adjust_uncapped),
        ),
        hint=(
            "Bonferroni: min(1, m * p). Holm: sort, multiply the i-th smallest by m - i + 1, take the "
            "running maximum, cap at 1, and put the values back in the input's order."
        ),
    )
)

# ---------------------------------------------------------------------------------------------
# 02.choose_correction: which correction fits a paging drift monitor
# ---------------------------------------------------------------------------------------------


def choose_correction_answer() -> str:
    """Reference answer of 02.choose_correction."""
    return "holm"


register(
    Exercise(
        id="02.choose_correction",
        title="The correction for a drift monitor that pages someone on any alarm",
        kind="value",
        reference="course_lib.grading.exercises.lesson02:choose_correction_answer",
        public_cases=lambda: [Case("the correction for the paging monitor")],
        reveal_expected=False,
        normalize=OneOf("bonferroni", "holm", "fdr_bh", None, aliases={"none": None, "no correction": None}),
        mistakes=(
            Mistake(
                "Bonferroni does keep the chance of any false page at 5%, but it is the bluntest way "
                "to do so. Is there a step-down procedure with the same guarantee that never "
                "rejects less than it?",
                wrong=lambda: "bonferroni",
            ),
            Mistake(
                "Benjamini-Hochberg controls the expected SHARE of false alarms among the alarms, "
                "not the chance of any false alarm: when a few features really drift, it lets "
                "more false alarms through on the others than the 5% promise allows.",
                wrong=lambda: "fdr_bh",
            ),
            Mistake(
                "without a correction, 20 tests at 5% give at least one false page on about "
                "1 - 0.95**20 = 64% of the days without drift.",
                wrong=lambda: "none",
            ),
        ),
        hint='answer with one of the strings "bonferroni", "holm", "fdr_bh" or "none".',
    )
)

# ---------------------------------------------------------------------------------------------
# 02.read_report: reading the drift report of the lesson
# ---------------------------------------------------------------------------------------------

#: The data and options of the lesson's drift report (section 10 of the notebook).
REPORT_ROWS = (1000, 800)
REPORT_SEEDS = (11, 12)
REPORT_COVARIATE_SHIFT = 0.2


def _lesson_report(correction):
    from course_lib.drift import drift_report
    from course_lib.simulate import FEATURES, make_tabular

    reference = make_tabular(REPORT_ROWS[0], seed=REPORT_SEEDS[0])
    current = make_tabular(REPORT_ROWS[1], covariate_shift=REPORT_COVARIATE_SHIFT, seed=REPORT_SEEDS[1])
    return drift_report(reference, current, columns=list(FEATURES), correction=correction)


def read_report_answer() -> list:
    """Reference answer of 02.read_report: the columns the lesson's Holm-corrected report flags."""
    return _lesson_report("holm").drifted


def _uncorrected_reading() -> list:
    table = _lesson_report("holm").table
    return table.loc[table["pvalue"] < 0.05, "column"].tolist()


def _column_names(answer) -> list:
    """The learner's list of column names, with stray spaces and capitals forgiven."""
    if isinstance(answer, str) or not isinstance(answer, (list, tuple)):
        raise TypeError(f"answer must be a list of column names such as ['age'], got {type(answer).__name__}")
    if not all(isinstance(name, str) for name in answer):
        raise TypeError("answer must hold column names (strings)")
    return [name.strip().lower() for name in answer]


def _same_columns_other_order(case: Case, got) -> bool:
    expected = read_report_answer()
    try:
        return list(got) != expected and sorted(got) == sorted(expected)
    except TypeError:
        return False


register(
    Exercise(
        id="02.read_report",
        title="The columns the lesson's drift report flags after the Holm correction",
        kind="value",
        reference="course_lib.grading.exercises.lesson02:read_report_answer",
        public_cases=lambda: [Case("the drifted columns of the report, in the table's order")],
        normalize=_column_names,
        mistakes=(
            Mistake(
                "you read the raw p-values (or the effect sizes): a column whose raw p-value is below "
                "0.05 can have a Holm-adjusted p-value above it. Use the pvalue_adjusted column.",
                wrong=_uncorrected_reading,
            ),
            Mistake(
                "the right columns, in another order: list them in the table's order.",
                wrong=lambda: list(reversed(read_report_answer())),
                test=_same_columns_other_order,
            ),
        ),
        hint="list the names in the `column` column whose pvalue_adjusted is below 0.05, top to bottom.",
    )
)

# ---------------------------------------------------------------------------------------------
# 02.pipeline_or_drift: who gets paged for each column, data engineers or model owners (a triage)
# ---------------------------------------------------------------------------------------------

_ROUTES = ("ok", "drift", "pipeline")


def pipeline_or_drift_answer() -> dict:
    """What happened to each column of :func:`course_lib.simulate.pipeline_incident`."""
    from course_lib.simulate import _PIPELINE_INCIDENT

    return dict(_PIPELINE_INCIDENT)


register(
    Exercise(
        id="02.pipeline_or_drift",
        title="For each column: fine, a real drift, or a broken pipeline?",
        kind="value",
        reference="course_lib.grading.exercises.lesson02:pipeline_or_drift_answer",
        public_cases=entry_cases(pipeline_or_drift_answer, "column"),
        reveal_expected=False,
        normalize=EntriesOneOf(*_ROUTES),
        mistakes=(
            Mistake(
                'answer with a dict of every column name to "ok", "drift" or "pipeline".',
                wrong=misspelt(pipeline_or_drift_answer, "broken"),
                test=not_a_word(_ROUTES),
            ),
            Mistake(
                "the drift report flags this column (or would, if it counted the missing values), "
                "but read the quality report first: values outside any possible range, a gap left by "
                "a join, or a counter stuck at one value are bugs upstream. Retraining on them would "
                "teach the model the bug.",
                wrong=relabelled(pipeline_or_drift_answer, "pipeline", "drift"),
                test=called("pipeline", ("drift", "ok"), pipeline_or_drift_answer),
            ),
            Mistake(
                "this column passes every quality check (no missing values, nothing outside the "
                "reference range, not constant), yet its distribution moved: nothing is broken, the "
                "customers changed. That is for the model's owners.",
                wrong=relabelled(pipeline_or_drift_answer, "drift", "pipeline"),
                test=called("drift", ("pipeline", "ok"), pipeline_or_drift_answer),
            ),
            Mistake(
                "neither report has anything to say about this column: no quality problem, and its "
                "adjusted p-value is far above 0.05.",
                wrong=relabelled(pipeline_or_drift_answer, "ok", "drift"),
                test=called("ok", ("drift", "pipeline"), pipeline_or_drift_answer),
            ),
        ),
        hint="for each column read the data-quality report first (is something broken?), then the "
        "drift report (did a valid distribution move?).",
    )
)


# ---------------------------------------------------------------------------------------------
# 02.joint_drift: which batch drifted in one column, which only jointly (a diagnosis)
# ---------------------------------------------------------------------------------------------

_JOINT_KINDS = ("none", "marginal", "joint")


def joint_drift_answer() -> dict:
    """Which kind of drift each batch of :func:`course_lib.simulate.mystery_joint_batches` shows."""
    from course_lib.simulate import _MYSTERY_JOINT

    return {name: kind for name, (kind, _) in _MYSTERY_JOINT.items()}


register(
    Exercise(
        id="02.joint_drift",
        title="Which batch has no drift, drift in one column, or drift in the joint distribution only?",
        kind="value",
        reference="course_lib.grading.exercises.lesson02:joint_drift_answer",
        public_cases=entry_cases(joint_drift_answer, "batch"),
        reveal_expected=False,
        normalize=EntriesOneOf(*_JOINT_KINDS),
        mistakes=(
            Mistake(
                'answer with a dict {"P": ..., "Q": ..., "R": ...} whose values are exactly "none", '
                '"marginal" or "joint".',
                wrong=misspelt(joint_drift_answer, "correlation"),
                test=not_a_word(_JOINT_KINDS),
            ),
            Mistake(
                "for this batch the per-column tests pass, yet the multivariate tests (MMD, the domain "
                "classifier) reject with a tiny p-value. Plot x1 against x2: is the cloud still "
                "tilted the same way?",
                wrong=relabelled(joint_drift_answer, "joint", "none"),
                test=called("joint", ("none", "marginal"), joint_drift_answer),
            ),
            Mistake(
                "in this batch a per-column test already rejects (look at its KS p-values): the change "
                "shows in one column on its own, not only in how the columns move together.",
                wrong=relabelled(joint_drift_answer, "marginal", "joint"),
                test=called("marginal", ("none", "joint"), joint_drift_answer),
            ),
            Mistake(
                "in this batch neither the per-column tests nor the multivariate ones find anything "
                "beyond chance: with a p-value well above 0.05 everywhere, call nothing.",
                wrong=relabelled(joint_drift_answer, "none", "joint"),
                test=called("none", ("marginal", "joint"), joint_drift_answer),
            ),
        ),
        hint="for each batch, first test each column alone (KS), then the pair (MMD or a domain "
        "classifier), and compare what the two kinds of test say.",
    )
)


# ---------------------------------------------------------------------------------------------
# 02.reference_choice: which reference window for a weekly-seasonal feature (a decision)
# ---------------------------------------------------------------------------------------------


def reference_choice_answer() -> str:
    """Reference answer of 02.reference_choice."""
    return "seasonal"


register(
    Exercise(
        id="02.reference_choice",
        title="The reference window for a feature with a weekly pattern",
        kind="value",
        reference="course_lib.grading.exercises.lesson02:reference_choice_answer",
        public_cases=lambda: [Case("the reference for the weekly-seasonal monitor")],
        reveal_expected=False,
        normalize=OneOf("fixed", "sliding", "seasonal"),
        mistakes=(
            Mistake(
                "the training window mixes weekdays and weekends, so every single day differs from "
                "that mixture: count its alarms in the weeks BEFORE the real shift. A reference must "
                "hold the same mix of conditions as the window it is compared with.",
                wrong=lambda: "fixed",
            ),
            Mistake(
                "yesterday as the reference flags every Saturday and every Monday, and once the real "
                "shift has happened it becomes the new normal within a day: count its alarms in the "
                "weeks AFTER the shift. Which reference compares like with like and stays put?",
                wrong=lambda: "sliding",
            ),
        ),
        hint='answer with one of the strings "fixed", "sliding" or "seasonal".',
    )
)
