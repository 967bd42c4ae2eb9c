"""Canary analysis: route traffic, test the difference, judge many metrics, roll out in stages.

Lesson 04 builds each piece; this module holds the reference versions.

Routing: :func:`assign_variant` sends a user (or request key) to a variant by a cryptographic
hash of ``salt + key``, so the same key gets the same variant in every process and on every
machine (Python's own ``hash()`` of a string is salted per process and does not).

Tests of one rate (error rate, conversion): :func:`two_proportion_ztest` (fixed sample size),
:func:`sample_size_two_proportions` (how many per arm before starting) and
:func:`sequential_test`, a mixture sequential probability ratio test whose always-valid p-value
may be looked at after every batch without inflating the false-positive rate.

Many metrics at once: :func:`judge` is a Kayenta-style judge (Netflix and Google's automated
canary analysis): each metric is classified Pass / High / Low / Nodata from a Mann-Whitney
(Hodges-Lehmann) confidence interval of the shift, metric groups are scored and weighted, and a
failed critical metric fails the whole canary. :func:`mann_whitney_shift` is the interval alone.

Rollout: :class:`RolloutController` is a staged rollout (5% -> 25% -> 50% -> 100% by default)
that promotes, holds or rolls back on each health report. :func:`evaluate_canary` is the course
seed's one-shot verdict, with its fault fixed (see its docstring).

Examples
--------
>>> from course_lib import canary
>>> canary.assign_variant("user-42", {"baseline": 95, "canary": 5}, salt="ranker-v7")
'baseline'
>>> result = canary.two_proportion_ztest(200, 10_000, 260, 10_000)
>>> round(result.statistic, 3), round(result.pvalue, 4)
(2.83, 0.0047)
>>> canary.sample_size_two_proportions(0.02, 0.25)
13809
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
# The normal CDF and its inverse as plain ufuncs: scipy.stats.norm's methods cost ~100x more per call.
from scipy.special import ndtr, ndtri

from course_lib.validation import (
    as_1d_numeric,
    check_choice,
    check_int,
    check_number,
    check_probability,
)

__all__ = [
    "assign_variant",
    "ZTestResult",
    "two_proportion_ztest",
    "sample_size_two_proportions",
    "SequentialResult",
    "sequential_test",
    "ShiftInterval",
    "mann_whitney_shift",
    "MetricSpec",
    "MetricResult",
    "CanaryJudgement",
    "judge",
    "RolloutDecision",
    "RolloutController",
    "CanaryVerdict",
    "evaluate_canary",
    "DIRECTIONS",
    "CLASSIFICATIONS",
    "VERDICTS",
    "ACTIONS",
]

DIRECTIONS = ("either", "increase", "decrease")
CLASSIFICATIONS = ("Pass", "High", "Low", "Nodata")
VERDICTS = ("Pass", "Marginal", "Fail")
ACTIONS = ("promote", "hold", "rollback")

# 64 bits of the digest give buckets far finer than any traffic share anyone sets.
_HASH_BITS = 64

# --------------------------------------------------------------------------------------------
# Routing


def _hash_unit(key: str, salt: str) -> float:
    """A number in [0, 1) from SHA-256 of ``salt:key``, the same in every process."""
    digest = hashlib.sha256(f"{salt}:{key}".encode("utf-8")).digest()
    return int.from_bytes(digest[: _HASH_BITS // 8], "big") / 2.0**_HASH_BITS


def _weight(value: Any, name: str) -> float:
    # The common case checked without numpy: routing runs once per request.
    if type(value) in (int, float) and math.isfinite(value):
        return float(value)
    return check_number(value, f"weights[{name!r}]")


def _check_weights(weights: Any) -> tuple[list[str], list[float]]:
    """Variant names and the upper edges of their slices of [0, 1)."""
    if isinstance(weights, Mapping):
        try:
            return _slices(tuple(weights.items()))
        except TypeError:  # unhashable weights: checked below, without the cache
            pass
    return _slices_uncached(weights)


@functools.lru_cache(maxsize=64)
def _slices(items: tuple) -> tuple[list[str], list[float]]:
    # Routing runs once per request with the same few weight tables: check each table once.
    return _slices_uncached(dict(items))


def _slices_uncached(weights: Any) -> tuple[list[str], list[float]]:
    if not isinstance(weights, Mapping):
        raise TypeError(
            f"weights must be a mapping of variant name to weight, e.g. {{'baseline': 95, 'canary': 5}}; "
            f"got {type(weights).__name__}"
        )
    if not weights:
        raise ValueError("weights is empty; give at least one variant")
    names = [str(name) for name in weights]
    values = [_weight(value, name) for name, value in weights.items()]
    bad = [name for name, value in zip(names, values) if value <= 0]
    if bad:
        raise ValueError(f"weights must be positive; got a weight <= 0 for {bad}")
    total = math.fsum(values)
    edges = list(itertools.accumulate(value / total for value in values))
    return names, edges


def assign_variant(key: Any, weights: Mapping[str, float], *, salt: str = "") -> str:
    """Assign a key (a user id, a session id) to a variant, the same way in every process.

    The key and the salt are hashed with SHA-256; the first 64 bits, read as a number ``u`` in
    ``[0, 1)``, pick the variant whose slice of the cumulative weights contains ``u``. So

    * the same key and salt give the same variant on every machine and after every restart
      (Python's ``hash()`` of a string is salted at each interpreter start and would not);
    * over many keys, the variants' shares are the normalised weights, within sampling error;
    * a new salt per experiment makes the assignments of two experiments independent;
    * raising the share of the *first* variant only moves keys into it: keys already there stay.

    Parameters
    ----------
    key : str or int
        What identifies the unit of randomisation. ``int`` keys are used as ``str(key)``.
    weights : mapping of str to float
        Variant name -> positive weight; normalised to sum to 1. The order of the mapping is the
        order of the slices in ``[0, 1)``.
    salt : str, default ""
        Mixed into the hash; use one salt per experiment.

    Returns
    -------
    str
        The variant's name.

    Examples
    --------
    >>> weights = {"canary": 5, "baseline": 95}
    >>> assign_variant("user-1", weights, salt="exp-1")
    'baseline'
    >>> shares = [assign_variant(i, weights, salt="exp-1") for i in range(10_000)].count("canary") / 10_000
    >>> abs(shares - 0.05) < 0.01
    True

    References
    ----------
    Kohavi, R., Tang, D., Xu, Y. (2020). *Trustworthy Online Controlled Experiments*. Cambridge
    University Press, chapter 4 (randomisation units, hashing with a per-experiment salt).
    """
    if isinstance(key, bool) or not isinstance(key, (str, numbers.Integral)):
        raise TypeError(f"key must be a str or an int (a user or request id); got {type(key).__name__}")
    if not isinstance(salt, str):
        raise TypeError(f"salt must be a str; got {type(salt).__name__}")
    names, edges = _check_weights(weights)
    unit = _hash_unit(str(key), salt)
    # The last variant takes everything above the second-to-last edge, so rounding of the
    # cumulative sum can never leave a gap at the top.
    return names[bisect.bisect_right(edges, unit, hi=len(edges) - 1)]


# --------------------------------------------------------------------------------------------
# One rate: fixed-n z-test, sample size


def _check_counts(successes: Any, n: Any, side: str) -> tuple[int, int]:
    n = check_int(n, f"n_{side}", minimum=0)
    if n == 0:
        raise ValueError(f"n_{side} is 0: the {side} side has no observations; both sides need n > 0")
    successes = check_int(successes, f"successes_{side}", minimum=0)
    if successes > n:
        raise ValueError(f"successes_{side} must be <= n_{side} ({n}); got {successes}")
    return successes, n


@dataclass(frozen=True)
class ZTestResult:
    """The outcome of a two-proportion z-test of ``rate_b - rate_a``.

    Attributes
    ----------
    statistic : float
        The pooled z statistic ``(p_b - p_a) / se_pooled``; 0 when both rates are 0 or both 1.
    pvalue : float
        Two-sided p-value from the standard normal distribution.
    rate_a, rate_b : float
        The observed rates ``successes / n`` (``a`` is the baseline, ``b`` the candidate).
    difference : float
        ``rate_b - rate_a``.
    ci_low, ci_high : float
        Wald (unpooled) confidence interval of the difference at level ``1 - alpha``.
    relative_lift : float
        ``difference / rate_a``; NaN when ``rate_a`` is 0 (a relative change of nothing is
        undefined).
    alpha : float
    """

    statistic: float
    pvalue: float
    rate_a: float
    rate_b: float
    difference: float
    ci_low: float
    ci_high: float
    relative_lift: float
    alpha: float

    def __iter__(self) -> Iterator[float]:
        return iter((self.statistic, self.pvalue))

    def __repr__(self) -> str:
        return (
            f"ZTestResult(statistic={self.statistic:.4g}, pvalue={self.pvalue:.4g}, rate_a={self.rate_a:.4g}, "
            f"rate_b={self.rate_b:.4g}, difference={self.difference:.4g}, "
            f"ci=[{self.ci_low:.4g}, {self.ci_high:.4g}], relative_lift={self.relative_lift:.4g}, alpha={self.alpha:g})"
        )

    @property
    def significant(self) -> bool:
        """Whether ``pvalue < alpha``."""
        return self.pvalue < self.alpha


def two_proportion_ztest(
    successes_a: int, n_a: int, successes_b: int, n_b: int, *, alpha: float = 0.05
) -> ZTestResult:
    r"""Two-sided z-test that two rates are equal, with an interval of their difference.

    .. math:: z = \frac{\hat p_b - \hat p_a}{\sqrt{\bar p (1 - \bar p) (1/n_a + 1/n_b)}},\quad
              \bar p = \frac{s_a + s_b}{n_a + n_b}

    The test uses the pooled standard error (the rates are equal under the null hypothesis);
    the interval uses the unpooled one, :math:`\sqrt{\hat p_a(1-\hat p_a)/n_a + \hat p_b(1-\hat p_b)/n_b}`.
    The sample size is fixed in advance: computing this p-value after every batch and stopping
    at the first small one inflates the false-positive rate (use :func:`sequential_test`).

    Parameters
    ----------
    successes_a, n_a : int
        Events (errors, conversions) and trials on side ``a``, the baseline.
    successes_b, n_b : int
        The same on side ``b``, the candidate.
    alpha : float, default 0.05
        Significance level; the interval has level ``1 - alpha``.

    Returns
    -------
    ZTestResult
        Unpacks as ``statistic, pvalue``.

    Examples
    --------
    >>> result = two_proportion_ztest(200, 10_000, 260, 10_000)
    >>> round(result.difference, 4), round(result.ci_low, 4), round(result.ci_high, 4)
    (0.006, 0.0018, 0.0102)
    >>> round(result.relative_lift, 2)
    0.3

    References
    ----------
    Fleiss, J. L., Levin, B., Paik, M. C. (2003). *Statistical Methods for Rates and
    Proportions*, 3rd ed., Wiley, section 2.5. statsmodels' ``proportions_ztest`` computes the
    same statistic.
    """
    successes_a, n_a = _check_counts(successes_a, n_a, "a")
    successes_b, n_b = _check_counts(successes_b, n_b, "b")
    alpha = check_probability(alpha, "alpha")
    rate_a, rate_b = successes_a / n_a, successes_b / n_b
    difference = rate_b - rate_a
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    statistic = difference / se_pooled if se_pooled > 0 else 0.0
    pvalue = float(2 * ndtr(-abs(statistic)))
    se = math.sqrt(rate_a * (1 - rate_a) / n_a + rate_b * (1 - rate_b) / n_b)
    half_width = float(-ndtri(alpha / 2)) * se
    lift = difference / rate_a if rate_a > 0 else math.nan
    return ZTestResult(
        float(statistic), pvalue, rate_a, rate_b, difference, difference - half_width,
        difference + half_width, lift, alpha,
    )  # fmt: skip


def sample_size_two_proportions(
    baseline_rate: float,
    mde: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    relative: bool = True,
) -> int:
    r"""Observations needed per arm for a two-sided two-proportion z-test to detect ``mde``.

    .. math:: n = \left\lceil \frac{\left(z_{1-\alpha/2}\sqrt{2\bar p(1-\bar p)} +
              z_{power}\sqrt{p_1(1-p_1) + p_2(1-p_2)}\right)^2}{(p_2 - p_1)^2} \right\rceil,
              \quad \bar p = \frac{p_1 + p_2}{2}

    with :math:`p_1` the baseline rate and :math:`p_2 = p_1(1 + \text{mde})` (relative) or
    :math:`p_1 + \text{mde}` (absolute). The first term is the pooled standard error the test
    uses under the null hypothesis, the second the one under the alternative.

    Parameters
    ----------
    baseline_rate : float
        The rate today, strictly between 0 and 1.
    mde : float
        Minimum detectable effect, > 0: relative (``0.1`` = a 10% increase) or absolute.
    alpha : float, default 0.05
        Two-sided significance level.
    power : float, default 0.8
        Probability of detecting an effect of exactly ``mde``.
    relative : bool, default True
        Whether ``mde`` is relative to ``baseline_rate``.

    Returns
    -------
    int
        Observations per arm (each of baseline and candidate needs this many).

    Examples
    --------
    >>> sample_size_two_proportions(0.10, 0.10)
    14751
    >>> sample_size_two_proportions(0.10, 0.01, relative=False)
    14751

    References
    ----------
    Fleiss, J. L., Levin, B., Paik, M. C. (2003). *Statistical Methods for Rates and
    Proportions*, 3rd ed., Wiley, equation 4.14 (without the continuity correction).
    """
    baseline_rate = check_probability(baseline_rate, "baseline_rate")
    mde = check_number(mde, "mde", minimum=0.0, strict=True)
    alpha = check_probability(alpha, "alpha")
    power = check_probability(power, "power")
    if not isinstance(relative, (bool, np.bool_)):
        raise TypeError(f"relative must be True or False; got {type(relative).__name__}")
    p1 = baseline_rate
    p2 = p1 * (1 + mde) if relative else p1 + mde
    if not 0 < p2 < 1:
        kind = "relative" if relative else "absolute"
        raise ValueError(
            f"mde={mde:g} ({kind}) moves the rate from {p1:g} to {p2:g}, outside (0, 1); "
            "choose a smaller mde"
        )
    p_bar = (p1 + p2) / 2
    z_alpha = float(-ndtri(alpha / 2))
    z_power = float(ndtri(power))
    numerator = z_alpha * math.sqrt(2 * p_bar * (1 - p_bar)) + z_power * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    # The tiny slack keeps an exact integer result from rounding up to the next one.
    return int(math.ceil((numerator / (p2 - p1)) ** 2 - 1e-9))


# --------------------------------------------------------------------------------------------
# Sequential test: mixture SPRT with always-valid p-values


@dataclass(frozen=True)
class SequentialResult:
    """The outcome of :func:`sequential_test` over a series of looks.

    Attributes
    ----------
    likelihood_ratio : numpy.ndarray
        The mixture likelihood ratio at each look.
    pvalue : numpy.ndarray
        The always-valid p-value at each look: ``min(1, 1 / ratio)``, made non-increasing.
    difference : numpy.ndarray
        ``rate_b - rate_a`` at each look.
    stop_look : int or None
        Index (0-based) of the first look whose always-valid p-value is ``<= alpha``: the
        stopping rule says stop there and reject. None if no look crossed.
    alpha, tau : float
    """

    likelihood_ratio: np.ndarray
    pvalue: np.ndarray
    difference: np.ndarray
    stop_look: int | None
    alpha: float
    tau: float

    @property
    def rejected(self) -> bool:
        """Whether the test stopped and rejected "the rates are equal"."""
        return self.stop_look is not None

    def __repr__(self) -> str:
        looks = len(self.pvalue)
        return (
            f"SequentialResult(looks={looks}, stop_look={self.stop_look}, "
            f"final_pvalue={float(self.pvalue[-1]):.4g}, alpha={self.alpha}, tau={self.tau})"
        )


def _cumulative_counts(values: Any, name: str) -> np.ndarray:
    array = as_1d_numeric(np.atleast_1d(values), name)
    if np.any(array < 0) or np.any(array != np.round(array)):
        raise ValueError(f"{name} must hold non-negative whole counts")
    if np.any(np.diff(array) < 0):
        raise ValueError(f"{name} must be cumulative counts, non-decreasing from one look to the next")
    return array


def sequential_test(
    successes_a: Any,
    n_a: Any,
    successes_b: Any,
    n_b: Any,
    *,
    alpha: float = 0.05,
    tau: float = 0.01,
) -> SequentialResult:
    r"""Mixture sequential probability ratio test of two rates, valid at every look.

    At each look the cumulative counts give the difference :math:`\hat\theta = \hat p_b - \hat p_a`
    and its variance under "no difference", :math:`V = \bar p(1-\bar p)(1/n_a + 1/n_b)`. With a
    normal mixture :math:`\theta \sim N(0, \tau^2)` over the alternatives, the likelihood ratio
    of "some difference" to "none" is

    .. math:: \Lambda = \sqrt{\frac{V}{V + \tau^2}}
              \exp\left(\frac{\tau^2 \hat\theta^2}{2 V (V + \tau^2)}\right).

    Under the null hypothesis :math:`\Lambda` is a non-negative martingale with mean 1, so by
    Ville's inequality the chance that it *ever* exceeds :math:`1/\alpha` is at most
    :math:`\alpha`. The stopping rule: stop and reject at the first look where
    :math:`\Lambda \ge 1/\alpha`, i.e. where the always-valid p-value
    :math:`\min_{k \le n} \min(1, 1/\Lambda_k)` is at most :math:`\alpha`; otherwise keep going
    until the planned maximum and accept. Looking after every batch is then allowed.

    Parameters
    ----------
    successes_a, n_a, successes_b, n_b : array_like of int
        Cumulative counts at each look (non-decreasing), one entry per look, ``n > 0``.
    alpha : float, default 0.05
    tau : float, default 0.01
        Standard deviation of the mixture over differences of rates: about the size of the
        difference you expect to matter. Any ``tau > 0`` keeps the test valid; a good one makes
        it stop sooner.

    Returns
    -------
    SequentialResult

    Examples
    --------
    >>> looks = np.arange(1, 6) * 2000
    >>> result = sequential_test(looks // 50, looks, looks * 3 // 100, looks)
    >>> result.stop_look, result.rejected
    (2, True)
    >>> np.round(result.pvalue, 3)
    array([0.434, 0.078, 0.012, 0.002, 0.   ])

    References
    ----------
    Robbins, H. (1970). Statistical methods related to the law of the iterated logarithm.
    *Annals of Mathematical Statistics* 41(5), 1397-1409.
    Johari, R., Koomen, P., Pekelis, L., Walsh, D. (2017). Peeking at A/B tests: why it matters,
    and what to do about it. *KDD '17*, 1517-1525.
    """
    alpha = check_probability(alpha, "alpha")
    tau = check_number(tau, "tau", minimum=0.0, strict=True)
    arrays = [
        _cumulative_counts(values, name)
        for values, name in ((successes_a, "successes_a"), (n_a, "n_a"), (successes_b, "successes_b"), (n_b, "n_b"))
    ]
    if len({array.size for array in arrays}) != 1:
        raise ValueError(
            "successes_a, n_a, successes_b and n_b must have one entry per look each; got lengths "
            f"{[array.size for array in arrays]}"
        )
    sa, na, sb, nb = arrays
    for successes, n, side in ((sa, na, "a"), (sb, nb, "b")):
        if np.any(n <= 0):
            raise ValueError(f"n_{side} must be > 0 at every look: the {side} side has no observations")
        if np.any(successes > n):
            raise ValueError(f"successes_{side} must be <= n_{side} at every look")
    difference = sb / nb - sa / na
    pooled = (sa + sb) / (na + nb)
    variance = pooled * (1 - pooled) * (1 / na + 1 / nb)
    tau2 = tau * tau
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = 0.5 * np.log(variance / (variance + tau2)) + tau2 * difference**2 / (
            2 * variance * (variance + tau2)
        )
    # No variance (no events yet on either side, or all events): no evidence either way.
    log_ratio = np.where(variance > 0, log_ratio, 0.0)
    ratio = np.exp(np.minimum(log_ratio, 700.0))
    pvalue = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_ratio)))
    crossed = np.flatnonzero(pvalue <= alpha)
    stop = int(crossed[0]) if crossed.size else None
    return SequentialResult(ratio, pvalue, difference, stop, alpha, tau)


# --------------------------------------------------------------------------------------------
# Mann-Whitney / Hodges-Lehmann interval of a shift


@dataclass(frozen=True)
class ShiftInterval:
    """A distribution-free estimate and confidence interval of the shift ``canary - baseline``.

    Attributes
    ----------
    estimate : float
        The Hodges-Lehmann estimate: the median of all ``canary_j - baseline_i`` differences.
    low, high : float
        The confidence interval from inverting the Mann-Whitney test (``-inf``/``inf`` when the
        samples are too small for the requested confidence).
    confidence : float
    """

    estimate: float
    low: float
    high: float
    confidence: float

    def __iter__(self) -> Iterator[float]:
        return iter((self.estimate, self.low, self.high))

    def __repr__(self) -> str:
        return (
            f"ShiftInterval(estimate={self.estimate:.4g}, low={self.low:.4g}, high={self.high:.4g}, "
            f"confidence={self.confidence:g})"
        )


# Up to this many pairwise differences they are formed explicitly; beyond it, order statistics
# of the differences are found by counting (O((n + m) log n) per step, no n x m array).
_PAIRWISE_LIMIT = 250_000


def _count_differences_at_most(x: np.ndarray, y: np.ndarray, d: float) -> int:
    """#{(i, j): y_j - x_i <= d} for sorted x."""
    return int(x.size * y.size - np.searchsorted(x, y - d, side="left").sum())


def _kth_differences(x: np.ndarray, y: np.ndarray, ranks: Sequence[int]) -> list[float]:
    """The order statistics ``ranks`` (1-based) of the pairwise differences ``y_j - x_i``."""
    if x.size * y.size <= _PAIRWISE_LIMIT:
        differences = np.subtract.outer(y, x).ravel()
        values = np.partition(differences, [r - 1 for r in ranks])
        return [float(values[r - 1]) for r in ranks]
    smallest, largest = float(y[0] - x[-1]), float(y[-1] - x[0])
    few = 4 * (x.size + y.size)
    results = []
    for rank in ranks:
        # Bisection on the value, keeping count(low) < rank <= count(high), until few enough
        # differences lie in (low, high] to list them, or only one value fits in between.
        low, high = smallest - 1.0 - (largest - smallest), largest
        count_low, count_high = 0, x.size * y.size
        while count_high - count_low > few:
            middle = 0.5 * (low + high)
            if middle <= low or middle >= high:
                break
            count = _count_differences_at_most(x, y, middle)
            if count >= rank:
                high, count_high = middle, count
            else:
                low, count_low = middle, count
        if count_high - count_low > few:  # (low, high] holds one tied value, many times
            results.append(high)
            continue
        starts = np.searchsorted(x, y - high, side="left")
        stops = np.searchsorted(x, y - low, side="left")
        candidates = np.concatenate([y[j] - x[starts[j] : stops[j]] for j in np.flatnonzero(stops > starts)])
        results.append(float(np.sort(candidates)[rank - count_low - 1]))
    return results


def _tie_corrected_sd(x: np.ndarray, y: np.ndarray) -> float:
    n, m = x.size, y.size
    total = n + m
    _, counts = np.unique(np.concatenate([x, y]), return_counts=True)
    ties = float(np.sum(counts.astype(float) ** 3 - counts))
    return math.sqrt(n * m / 12.0 * ((total + 1) - ties / (total * (total - 1)))) if total > 1 else 0.0


def mann_whitney_shift(baseline: Any, canary: Any, *, confidence: float = 0.98) -> ShiftInterval:
    r"""Hodges-Lehmann estimate and Mann-Whitney confidence interval of ``canary - baseline``.

    The estimate is the median of the :math:`nm` pairwise differences
    :math:`d_{ij} = \text{canary}_j - \text{baseline}_i`. The interval is the set of shifts
    :math:`\delta` that a two-sided Mann-Whitney test of ``canary - delta`` against ``baseline``
    (normal approximation with the tie correction, no continuity correction) does not reject at
    level :math:`1 - \text{confidence}`. It is :math:`[d_{(k)}, d_{(nm + 1 - k)}]` with
    :math:`k = \lceil nm/2 - z_{(1+c)/2}\,\sigma_U \rceil`. Neither needs a distribution: latency,
    CPU and error counts are skewed and heavy-tailed, which is why Kayenta uses it.

    Parameters
    ----------
    baseline, canary : array_like of numbers
        Finite, non-empty samples of one metric.
    confidence : float, default 0.98

    Returns
    -------
    ShiftInterval

    Examples
    --------
    >>> shift = mann_whitney_shift([10.0, 11, 12, 13, 14, 15], [13.0, 14, 15, 16, 17, 18], confidence=0.9)
    >>> shift.estimate, shift.low, shift.high
    (3.0, 1.0, 5.0)

    References
    ----------
    Hodges, J. L., Lehmann, E. L. (1963). Estimates of location based on rank tests. *Annals of
    Mathematical Statistics* 34(2), 598-611.
    Bauer, D. F. (1972). Constructing confidence sets using rank statistics. *Journal of the
    American Statistical Association* 67(339), 687-690.
    """
    x = np.sort(as_1d_numeric(baseline, "baseline"))
    y = np.sort(as_1d_numeric(canary, "canary"))
    confidence = check_probability(confidence, "confidence")
    return _shift_interval(x, y, confidence)


def _shift_interval(x: np.ndarray, y: np.ndarray, confidence: float) -> ShiftInterval:
    nm = x.size * y.size
    z = float(-ndtri((1 - confidence) / 2))
    k = math.ceil(nm / 2 - z * _tie_corrected_sd(x, y) - 1e-9)
    middle = [(nm + 1) // 2, nm // 2 + 1]
    if k >= 1:
        lower, upper, *central = _kth_differences(x, y, [k, nm + 1 - k, *middle])
    else:
        lower, upper = -math.inf, math.inf
        central = _kth_differences(x, y, middle)
    return ShiftInterval(0.5 * (central[0] + central[1]), lower, upper, confidence)


# --------------------------------------------------------------------------------------------
# Kayenta-style judge


@dataclass(frozen=True)
class MetricSpec:
    """How the judge treats one metric.

    Parameters
    ----------
    name : str
        The metric's key in the ``baseline`` and ``canary`` mappings.
    direction : {"either", "increase", "decrease"}, default "either"
        Which change counts against the canary: ``"increase"`` for latency or errors (only
        *High* fails), ``"decrease"`` for throughput or accuracy (only *Low* fails).
    critical : bool, default False
        A critical metric that does not pass (High, Low or Nodata) makes the score 0.
    group : str, default "default"
        The group the metric is scored in.
    """

    name: str
    direction: str = "either"
    critical: bool = False
    group: str = "default"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"MetricSpec.name must be a non-empty str; got {self.name!r}")
        check_choice(self.direction, "direction", DIRECTIONS)
        if not isinstance(self.critical, (bool, np.bool_)):
            raise TypeError(f"MetricSpec.critical must be True or False; got {self.critical!r}")
        if not isinstance(self.group, str) or not self.group:
            raise TypeError(f"MetricSpec.group must be a non-empty str; got {self.group!r}")


@dataclass(frozen=True)
class MetricResult:
    """The judge's classification of one metric, with the numbers behind it.

    Attributes
    ----------
    name, group, direction, critical
        From the :class:`MetricSpec`.
    classification : {"Pass", "High", "Low", "Nodata"}
    estimate : float
        Hodges-Lehmann shift ``canary - baseline`` (NaN for Nodata).
    ci_low, ci_high : float
        Confidence interval of the shift.
    band_low, band_high : float
        The tolerance band ``-/+ tolerance x |estimate|``: High when ``ci_low > band_high``,
        Low when ``ci_high < band_low``.
    n_baseline, n_canary : int
    reason : str
        One sentence explaining the classification.
    """

    name: str
    group: str
    direction: str
    critical: bool
    classification: str
    estimate: float
    ci_low: float
    ci_high: float
    band_low: float
    band_high: float
    n_baseline: int
    n_canary: int
    reason: str


@dataclass(frozen=True)
class CanaryJudgement:
    """What :func:`judge` decided, and why.

    Attributes
    ----------
    score : float
        0 to 100: the weighted sum of group scores, or 0 after a critical failure.
    verdict : {"Pass", "Marginal", "Fail"}
    metrics : tuple of MetricResult
    group_scores : dict
        Group -> share of its classified (not Nodata) metrics that pass, x 100; NaN for a group
        with no data.
    group_weights : dict
        Group -> weight used, in percent (they sum to 100).
    critical_failures : tuple of str
        Critical metrics that did not pass.
    pass_threshold, marginal_threshold : float
    """

    score: float
    verdict: str
    metrics: tuple[MetricResult, ...]
    group_scores: dict = field(default_factory=dict)
    group_weights: dict = field(default_factory=dict)
    critical_failures: tuple[str, ...] = ()
    pass_threshold: float = 95.0
    marginal_threshold: float = 75.0

    def __repr__(self) -> str:
        counts = {label: sum(m.classification == label for m in self.metrics) for label in CLASSIFICATIONS}
        shown = ", ".join(f"{label}={count}" for label, count in counts.items() if count)
        return (
            f"CanaryJudgement(verdict={self.verdict!r}, score={self.score:.1f}, metrics: {shown}, "
            f"critical_failures={list(self.critical_failures)})"
        )

    def metric(self, name: str) -> MetricResult:
        """The result of one metric by name."""
        for result in self.metrics:
            if result.name == name:
                return result
        raise KeyError(f"no metric named {name!r}; metrics are {[m.name for m in self.metrics]}")

    def table(self):
        """One row per metric: classification, estimate, interval, band and reason (a DataFrame)."""
        import pandas as pd

        return pd.DataFrame([vars(result) for result in self.metrics])

    def explain(self) -> str:
        """A few lines saying how the score and the verdict came about."""
        lines = [f"verdict {self.verdict} (score {self.score:.1f}; Pass >= {self.pass_threshold:g}, "
                 f"Marginal >= {self.marginal_threshold:g})"]  # fmt: skip
        for group, score in self.group_scores.items():
            shown = "no data" if math.isnan(score) else f"{score:.1f}"
            lines.append(f"  group {group}: score {shown}, weight {self.group_weights[group]:.1f}%")
        if self.critical_failures:
            lines.append(f"  critical metric(s) not passing: {', '.join(self.critical_failures)} -> score 0")
        for result in self.metrics:
            if result.classification != "Pass":
                lines.append(f"  {result.name}: {result.classification}, {result.reason}")
        return "\n".join(lines)


def _metric_sample(data: Mapping[str, Any], name: str, side: str) -> np.ndarray | None:
    """The sample of one metric on one side, or None when there is none (Nodata)."""
    values = data.get(name)
    if values is None:
        return None
    if isinstance(values, (str, bytes)) or np.ndim(values) != 1:
        raise TypeError(f"{side}[{name!r}] must be a 1-D sequence of numbers; got {type(values).__name__}")
    if len(values) == 0:
        return None
    return as_1d_numeric(values, f"{side}[{name!r}]")


def _classify(spec: MetricSpec, x: np.ndarray | None, y: np.ndarray | None, tolerance: float,
              confidence: float) -> MetricResult:  # fmt: skip
    n_x = 0 if x is None else x.size
    n_y = 0 if y is None else y.size
    if x is None or y is None:
        missing = " and ".join(side for side, sample in (("baseline", x), ("canary", y)) if sample is None)
        nan = math.nan
        return MetricResult(spec.name, spec.group, spec.direction, spec.critical, "Nodata", nan, nan, nan,
                            nan, nan, n_x, n_y, f"no data for the {missing}")  # fmt: skip
    shift = _shift_interval(np.sort(x), np.sort(y), confidence)
    band = tolerance * abs(shift.estimate)
    if spec.direction in ("either", "increase") and shift.low > band:
        label = "High"
        reason = f"the shift's interval [{shift.low:.4g}, {shift.high:.4g}] lies above the band (+{band:.4g})"
    elif spec.direction in ("either", "decrease") and shift.high < -band:
        label = "Low"
        reason = f"the shift's interval [{shift.low:.4g}, {shift.high:.4g}] lies below the band (-{band:.4g})"
    else:
        label = "Pass"
        reason = f"the shift's interval [{shift.low:.4g}, {shift.high:.4g}] reaches into the band +/-{band:.4g}"
        if spec.direction != "either" and (shift.low > band or shift.high < -band):
            counted = "an increase" if spec.direction == "increase" else "a decrease"
            reason = f"it moved the other way, and only {counted} counts against the canary"
    return MetricResult(spec.name, spec.group, spec.direction, spec.critical, label, shift.estimate,
                        shift.low, shift.high, -band, band, n_x, n_y, reason)  # fmt: skip


def _group_weights(groups: list[str], group_weights: Any) -> dict[str, float]:
    """Weights in percent: given ones as they are, the rest share what is left equally."""
    if group_weights is None:
        group_weights = {}
    if not isinstance(group_weights, Mapping):
        raise TypeError(f"group_weights must be a mapping of group name to weight; got {type(group_weights).__name__}")
    unknown = [name for name in group_weights if name not in groups]
    if unknown:
        raise ValueError(f"group_weights names groups that no metric belongs to: {unknown}; groups are {groups}")
    given = {name: check_number(value, f"group_weights[{name!r}]", minimum=0.0) for name, value in group_weights.items()}
    rest = [name for name in groups if name not in given]
    total = sum(given.values())
    if not rest:
        if total <= 0:
            raise ValueError("group_weights sum to 0; give at least one group a positive weight")
        return {name: 100.0 * given[name] / total for name in groups}
    if total > 100.0 + 1e-9:
        raise ValueError(
            f"group_weights are percentages and sum to {total:g} > 100 while groups {rest} have no "
            "weight; give every group a weight, or keep the given ones at or below 100 in total"
        )
    share = (100.0 - total) / len(rest)
    weights = {name: given.get(name, share) for name in groups}
    if sum(weights.values()) <= 0:
        raise ValueError("group_weights sum to 0 and leave nothing for the other groups")
    return weights


def judge(
    baseline: Mapping[str, Any],
    canary: Mapping[str, Any],
    *,
    metrics: Sequence[MetricSpec | str],
    group_weights: Mapping[str, float] | None = None,
    tolerance: float = 0.25,
    confidence: float = 0.98,
    pass_threshold: float = 95.0,
    marginal_threshold: float = 75.0,
) -> CanaryJudgement:
    """Judge a canary against its baseline on many metrics at once, as Kayenta does.

    1. Each metric is classified: **Nodata** when either side has no sample (missing or empty);
       otherwise from the Hodges-Lehmann shift ``canary - baseline`` and its Mann-Whitney
       interval (:func:`mann_whitney_shift`) against the band ``+/- tolerance x |estimate|``:
       **High** if the interval lies above the band (and ``direction`` is "increase" or
       "either"), **Low** if below it (``direction`` "decrease" or "either"), else **Pass**.
    2. Each group scores ``100 x passing / classified`` over its metrics that have data; a group
       with no data at all scores nothing (its weight is lost, as in Kayenta).
    3. The score is ``sum(group score x weight / 100)``. Weights are percentages; groups without
       a weight share what is left of 100 equally (if every group has a weight, they are
       rescaled to sum to 100). A **critical** metric that is not Pass makes the score 0.
    4. Verdict: **Pass** if ``score >= pass_threshold``, **Marginal** if
       ``score >= marginal_threshold``, else **Fail**.

    Parameters
    ----------
    baseline, canary : mapping of str to array_like
        Metric name -> samples (e.g. per-minute values) from the baseline and the canary.
        Samples must be finite numbers; a metric missing or empty on a side is Nodata.
    metrics : sequence of MetricSpec (or names)
        The metrics to judge; a plain name means ``MetricSpec(name)``.
    group_weights : mapping of str to float, optional
        Group -> weight in percent.
    tolerance : float, default 0.25
        Width of the band, as a fraction of ``|estimate|``.
    confidence : float, default 0.98
        Level of each metric's interval.
    pass_threshold, marginal_threshold : float, default 95 and 75
        ``0 <= marginal_threshold <= pass_threshold <= 100``.

    Returns
    -------
    CanaryJudgement

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> baseline = {"latency": rng.lognormal(4.0, 0.3, 300), "errors": rng.poisson(2, 300)}
    >>> canary = {"latency": rng.lognormal(4.3, 0.3, 300), "errors": rng.poisson(2, 300)}
    >>> result = judge(baseline, canary, metrics=[MetricSpec("latency", "increase"), MetricSpec("errors", "increase")])
    >>> [(m.name, m.classification) for m in result.metrics], result.score, result.verdict
    ([('latency', 'High'), ('errors', 'Pass')], 50.0, 'Fail')

    References
    ----------
    Netflix and Google (2018). Kayenta: automated canary analysis for Spinnaker, the NetflixACAJudge
    (``MannWhitneyClassifier`` and ``WeightedSumScorer``), https://github.com/spinnaker/kayenta.
    Graff, M., Sanden, C. (2018). Automated canary analysis at Netflix with Kayenta. Netflix
    Technology Blog.
    """
    if not isinstance(baseline, Mapping) or not isinstance(canary, Mapping):
        raise TypeError("baseline and canary must be mappings of metric name to samples")
    if isinstance(metrics, (str, MetricSpec)) or not isinstance(metrics, Sequence) or not metrics:
        raise ValueError("metrics must be a non-empty list of MetricSpec (or metric names)")
    specs = [MetricSpec(item) if isinstance(item, str) else item for item in metrics]
    for spec in specs:
        if not isinstance(spec, MetricSpec):
            raise TypeError(f"metrics must hold MetricSpec objects or names; got {type(spec).__name__}")
    names = [spec.name for spec in specs]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"metrics lists {duplicated} more than once")
    tolerance = check_number(tolerance, "tolerance", minimum=0.0)
    confidence = check_probability(confidence, "confidence")
    pass_threshold = check_number(pass_threshold, "pass_threshold", minimum=0.0, maximum=100.0)
    marginal_threshold = check_number(marginal_threshold, "marginal_threshold", minimum=0.0, maximum=100.0)
    if marginal_threshold > pass_threshold:
        raise ValueError(
            f"thresholds out of order: marginal_threshold ({marginal_threshold:g}) must be <= "
            f"pass_threshold ({pass_threshold:g})"
        )
    groups = list(dict.fromkeys(spec.group for spec in specs))
    weights = _group_weights(groups, group_weights)

    results = tuple(
        _classify(spec, _metric_sample(baseline, spec.name, "baseline"), _metric_sample(canary, spec.name, "canary"),
                  tolerance, confidence)  # fmt: skip
        for spec in specs
    )
    group_scores = {}
    for group in groups:
        labels = [r.classification for r in results if r.group == group and r.classification != "Nodata"]
        group_scores[group] = 100.0 * labels.count("Pass") / len(labels) if labels else math.nan
    score = sum(weights[g] * s / 100.0 for g, s in group_scores.items() if not math.isnan(s))
    critical = tuple(r.name for r in results if r.critical and r.classification != "Pass")
    if critical:
        score = 0.0
    score = float(min(100.0, max(0.0, score)))
    if score >= pass_threshold:
        verdict = "Pass"
    elif score >= marginal_threshold:
        verdict = "Marginal"
    else:
        verdict = "Fail"
    return CanaryJudgement(score, verdict, results, group_scores, weights, critical, pass_threshold, marginal_threshold)


# --------------------------------------------------------------------------------------------
# Staged rollout


@dataclass(frozen=True)
class RolloutDecision:
    """One decision of a :class:`RolloutController`.

    Attributes
    ----------
    observation : int
        1 for the first health report, 2 for the second, ...
    action : {"promote", "hold", "rollback"}
    traffic_before, traffic_after : float
        Percent of traffic on the candidate before and after the decision (0 after a rollback).
    reason : str
    """

    observation: int
    action: str
    traffic_before: float
    traffic_after: float
    reason: str


class RolloutController:
    """A staged rollout of one candidate: promote, hold or roll back on each health report.

    The candidate starts at ``steps[0]`` percent of the traffic. Each :meth:`observe` reads a
    health report and decides, in this order:

    1. **rollback** if a gate is broken: ``error_rate > max_error_rate``,
       ``p95_latency_ms > max_p95_latency_ms``, ``accuracy < min_accuracy`` or
       ``verdict == "Fail"`` (the judge's verdict against the baseline);
    2. **hold** (stay at this step) if a value is missing or NaN, or the verdict is
       "Marginal"; once it has held ``max_holds`` times in a row, the next such report is a
       **rollback** instead (evidence that never comes is a failure too);
    3. **promote** to the next step otherwise; a promotion at the last step completes the rollout.

    A rollback sends the traffic to 0 and is final: the controller refuses further reports
    (a new candidate gets a new controller). Every decision is kept in :attr:`history`.

    Parameters
    ----------
    steps : sequence of float, default (5, 25, 50, 100)
        Increasing traffic percentages, each in (0, 100].
    max_error_rate : float, default 0.02
    max_p95_latency_ms : float, default 300.0
    min_accuracy : float, default 0.8
    max_holds : int, default 3
        Holds in a row allowed at one step before a report that would hold rolls back.

    Examples
    --------
    >>> rollout = RolloutController(steps=(10, 50, 100))
    >>> healthy = {"error_rate": 0.004, "p95_latency_ms": 180.0, "accuracy": 0.91, "verdict": "Pass"}
    >>> rollout.observe(healthy).action, rollout.traffic_percent
    ('promote', 50.0)
    >>> decision = rollout.observe({**healthy, "p95_latency_ms": 420.0})
    >>> decision.action, decision.reason, rollout.state
    ('rollback', 'p95 latency 420 ms > 300 ms', 'rolled_back')

    References
    ----------
    Beyer, B., Murphy, N. R., Rensin, D. K., Kawahara, K., Thorne, S. (2018). *The Site
    Reliability Workbook*, O'Reilly, chapter 16, "Canarying releases".
    """

    HEALTH_KEYS = ("error_rate", "p95_latency_ms", "accuracy", "verdict")

    def __init__(
        self,
        steps: Sequence[float] = (5, 25, 50, 100),
        *,
        max_error_rate: float = 0.02,
        max_p95_latency_ms: float = 300.0,
        min_accuracy: float = 0.8,
        max_holds: int = 3,
    ) -> None:
        if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence) or len(steps) == 0:
            raise ValueError(f"steps must be a non-empty sequence of traffic percentages; got {steps!r}")
        values = [check_number(step, "steps", minimum=0.0, strict=True, maximum=100.0) for step in steps]
        if any(b <= a for a, b in zip(values, values[1:])):
            raise ValueError(f"steps must be strictly increasing; got {list(steps)}")
        self.steps = tuple(values)
        self.max_error_rate = check_number(max_error_rate, "max_error_rate", minimum=0.0, maximum=1.0)
        self.max_p95_latency_ms = check_number(max_p95_latency_ms, "max_p95_latency_ms", minimum=0.0, strict=True)
        self.min_accuracy = check_number(min_accuracy, "min_accuracy", minimum=0.0, maximum=1.0)
        self.max_holds = check_int(max_holds, "max_holds", minimum=1)
        self._step = 0
        self._holds = 0
        self._state = "running"
        self._history: list[RolloutDecision] = []

    def __repr__(self) -> str:
        return (
            f"RolloutController(state={self._state!r}, traffic_percent={self.traffic_percent:g}, "
            f"steps={self.steps}, observations={len(self._history)})"
        )

    @property
    def state(self) -> str:
        """``"running"``, ``"complete"`` (promoted at the last step) or ``"rolled_back"``."""
        return self._state

    @property
    def traffic_percent(self) -> float:
        """Percent of the traffic the candidate gets now."""
        return 0.0 if self._state == "rolled_back" else self.steps[self._step]

    @property
    def history(self) -> tuple[RolloutDecision, ...]:
        """Every decision so far, oldest first."""
        return tuple(self._history)

    def history_frame(self):
        """The history as a pandas DataFrame, one row per decision."""
        import pandas as pd

        columns = ["observation", "action", "traffic_before", "traffic_after", "reason"]
        return pd.DataFrame([vars(decision) for decision in self._history], columns=columns)

    def _gates(self, health: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        """Broken gates (rollback reasons) and missing data (hold reasons)."""
        broken, missing = [], []
        limits = (
            ("error_rate", "error rate", lambda v: v > self.max_error_rate, f"> {self.max_error_rate:g}", ""),
            ("p95_latency_ms", "p95 latency", lambda v: v > self.max_p95_latency_ms, f"> {self.max_p95_latency_ms:g} ms", " ms"),
            ("accuracy", "accuracy", lambda v: v < self.min_accuracy, f"< {self.min_accuracy:g}", ""),
        )  # fmt: skip
        for key, label, breaks, limit, unit in limits:
            value = health.get(key)
            if value is None or (isinstance(value, numbers.Real) and math.isnan(value)):
                missing.append(f"no {label} reported")
                continue
            value = check_number(value, f"health[{key!r}]")
            if breaks(value):
                broken.append(f"{label} {value:g}{unit} {limit}")
        verdict = health.get("verdict")
        if isinstance(verdict, CanaryJudgement):
            verdict = verdict.verdict
        if verdict is None:
            missing.append("no canary verdict")
        else:
            check_choice(verdict, "health['verdict']", VERDICTS)
            if verdict == "Fail":
                broken.append("canary judge verdict Fail")
            elif verdict == "Marginal":
                missing.append("canary judge verdict Marginal")
        return broken, missing

    def observe(self, health: Mapping[str, Any]) -> RolloutDecision:
        """Read one health report and decide; returns the decision (also kept in the history).

        Parameters
        ----------
        health : mapping
            ``error_rate`` (0-1), ``p95_latency_ms``, ``accuracy`` (0-1) and ``verdict``
            ("Pass", "Marginal" or "Fail", or the :class:`CanaryJudgement` itself); a value that
            is None or NaN counts as missing.

        Raises
        ------
        RuntimeError
            If the rollout was rolled back or is complete.
        """
        if self._state != "running":
            raise RuntimeError(
                f"the rollout is {self._state.replace('_', ' ')}; a rollback is final and a complete "
                "rollout takes no more reports. Start a new RolloutController for a new candidate."
            )
        if not isinstance(health, Mapping):
            raise TypeError(f"health must be a mapping with keys {self.HEALTH_KEYS}; got {type(health).__name__}")
        unknown = [key for key in health if key not in self.HEALTH_KEYS]
        if unknown:
            raise ValueError(f"health has unknown keys {unknown}; expected keys are {self.HEALTH_KEYS}")
        broken, missing = self._gates(health)
        before = self.traffic_percent
        if broken:
            action, reason = "rollback", "; ".join(broken)
        elif missing and self._holds >= self.max_holds:
            action, reason = "rollback", f"{'; '.join(missing)} (after {self.max_holds} holds in a row)"
        elif missing:
            action, reason = "hold", "; ".join(missing)
        elif self._step == len(self.steps) - 1:
            action, reason = "promote", "healthy at the last step: rollout complete"
        else:
            action, reason = "promote", f"healthy at {before:g}%"
        if action == "rollback":
            self._state = "rolled_back"
        elif action == "hold":
            self._holds += 1
        else:
            self._holds = 0
            if self._step == len(self.steps) - 1:
                self._state = "complete"
            else:
                self._step += 1
        decision = RolloutDecision(len(self._history) + 1, action, before, self.traffic_percent, reason)
        self._history.append(decision)
        return decision


# --------------------------------------------------------------------------------------------
# The seed's one-shot verdict, fixed


@dataclass(frozen=True)
class CanaryVerdict:
    """The outcome of :func:`evaluate_canary`.

    Attributes
    ----------
    promote : bool
        Whether every check passed.
    checks : dict
        Check name -> passed (``"error_rate"``, ``"latency"``, ``"accuracy"``).
    reasons : tuple of str
        One sentence per failed check.
    """

    promote: bool
    checks: dict
    reasons: tuple[str, ...] = ()

    @property
    def decision(self) -> str:
        """``"promote"`` or ``"rollback"``."""
        return "promote" if self.promote else "rollback"


_SEED_KEYS = ("error_rate", "p95_latency_ms", "accuracy")


def _seed_metrics(metrics: Any, name: str) -> dict[str, float]:
    if not isinstance(metrics, Mapping):
        raise TypeError(f"{name} must be a mapping with keys {_SEED_KEYS}; got {type(metrics).__name__}")
    missing = [key for key in _SEED_KEYS if key not in metrics]
    if missing:
        raise ValueError(f"{name} lacks {missing}; expected keys {_SEED_KEYS}")
    values = {key: check_number(metrics[key], f"{name}[{key!r}]", minimum=0.0) for key in _SEED_KEYS}
    for key in ("error_rate", "accuracy"):
        if values[key] > 1:
            raise ValueError(f"{name}[{key!r}] must be a rate between 0 and 1; got {values[key]:g}")
    return values


def evaluate_canary(
    baseline_metrics: Mapping[str, float],
    candidate_metrics: Mapping[str, float],
    *,
    allowed_latency_delta: float = 0.05,
    min_accuracy: float = 0.8,
    allowed_error_delta: float = 0.005,
) -> CanaryVerdict:
    """The seed tutorial's canary verdict: promote when error rate, latency and accuracy hold.

    Checks: the candidate's error rate is at most the baseline's plus ``allowed_error_delta``
    (an absolute margin); its p95 latency is at most the baseline's times
    ``1 + allowed_latency_delta``; its accuracy is at least ``min_accuracy``.

    Fixed from the seed: the seed allowed an error rate of ``baseline x (1 + delta)``, a
    *relative* margin, so a baseline with no errors in the window allowed none at all and a
    single canary error failed the canary. An absolute margin does not collapse at zero. Note
    what this one-shot rule still lacks (lesson 04): it compares point values with no sample
    size, so noise decides close calls; :func:`judge` and :func:`two_proportion_ztest` do not.

    Parameters
    ----------
    baseline_metrics, candidate_metrics : mapping
        ``error_rate`` (0-1), ``p95_latency_ms`` (> 0 for the baseline) and ``accuracy`` (0-1).
    allowed_latency_delta : float, default 0.05
        Relative latency margin (0.05 = 5% slower allowed).
    min_accuracy : float, default 0.8
    allowed_error_delta : float, default 0.005
        Absolute error-rate margin (0.005 = half a percentage point).

    Returns
    -------
    CanaryVerdict

    Examples
    --------
    >>> baseline = {"error_rate": 0.0, "p95_latency_ms": 200.0, "accuracy": 0.90}
    >>> evaluate_canary(baseline, {"error_rate": 0.001, "p95_latency_ms": 204.0, "accuracy": 0.91}).decision
    'promote'
    >>> verdict = evaluate_canary(baseline, {"error_rate": 0.001, "p95_latency_ms": 230.0, "accuracy": 0.91})
    >>> verdict.decision, verdict.reasons
    ('rollback', ('p95 latency 230 ms > 210 ms (baseline 200 ms + 5%)',))
    """
    base = _seed_metrics(baseline_metrics, "baseline_metrics")
    cand = _seed_metrics(candidate_metrics, "candidate_metrics")
    allowed_latency_delta = check_number(allowed_latency_delta, "allowed_latency_delta", minimum=0.0)
    min_accuracy = check_number(min_accuracy, "min_accuracy", minimum=0.0, maximum=1.0)
    allowed_error_delta = check_number(allowed_error_delta, "allowed_error_delta", minimum=0.0, maximum=1.0)
    if base["p95_latency_ms"] <= 0:
        raise ValueError("baseline_metrics['p95_latency_ms'] must be > 0 (the latency margin is relative to it)")
    error_limit = base["error_rate"] + allowed_error_delta
    latency_limit = base["p95_latency_ms"] * (1 + allowed_latency_delta)
    checks = {
        "error_rate": cand["error_rate"] <= error_limit + 1e-12,
        "latency": cand["p95_latency_ms"] <= latency_limit * (1 + 1e-12),
        "accuracy": cand["accuracy"] >= min_accuracy,
    }
    reasons = []
    if not checks["error_rate"]:
        reasons.append(
            f"error rate {cand['error_rate']:g} > {error_limit:g} "
            f"(baseline {base['error_rate']:g} + {allowed_error_delta:g})"
        )
    if not checks["latency"]:
        reasons.append(
            f"p95 latency {cand['p95_latency_ms']:g} ms > {latency_limit:g} ms "
            f"(baseline {base['p95_latency_ms']:g} ms + {allowed_latency_delta:.0%})"
        )
    if not checks["accuracy"]:
        reasons.append(f"accuracy {cand['accuracy']:g} < {min_accuracy:g}")
    return CanaryVerdict(all(checks.values()), checks, tuple(reasons))
