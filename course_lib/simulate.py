"""Seeded simulators for lesson 01 (drift theory) and the lessons after it.

Three ways the world can change under a model, in the notation of Moreno-Torres et al. (2012):

- **covariate shift**: P(X) changes, P(Y|X) stays; the inputs move, the rule holds;
- **prior (label) shift**: P(Y) changes, P(X|Y) stays; the mix of outcomes moves;
- **concept shift**: P(Y|X) changes; the same inputs now mean something else.

:func:`make_tabular` draws a customer-churn-like table with a knob for each. :func:`drift_stream`
draws a one-dimensional stream whose concept changes abruptly, gradually, incrementally or
recurrently (Gama et al., 2014). :func:`feedback_loop` simulates a recommender that learns only
from what it chose to show. :func:`mystery_shifts` and :func:`mystery_streams` draw the two puzzles
of lesson 01's exercises. Everything takes a ``seed`` and is reproducible.

References
----------
.. [1] Moreno-Torres, J. G., Raeder, T., Alaiz-Rodríguez, R., Chawla, N. V., Herrera, F. (2012).
   A unifying view on dataset shift in classification. Pattern Recognition 45(1), 521-530.
.. [2] Gama, J., Žliobaitė, I., Bifet, A., Pechenizkiy, M., Bouchachia, A. (2014). A survey on
   concept drift adaptation. ACM Computing Surveys 46(4), 44.
.. [3] Sculley, D. et al. (2015). Hidden technical debt in machine learning systems. NeurIPS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from course_lib.validation import as_1d_numeric, check_int, check_number

__all__ = [
    "FEATURES",
    "NUMERIC_FEATURES",
    "CATEGORICAL_FEATURES",
    "TARGET",
    "make_tabular",
    "churn_probability",
    "Stream",
    "drift_stream",
    "windowed_mean",
    "labelled_fraction",
    "prior_corrected",
    "feedback_loop",
    "mystery_shifts",
    "mystery_streams",
    "correlated_pair",
    "mystery_joint_batches",
    "pipeline_incident",
]

NUMERIC_FEATURES = ("age", "income", "tenure_months", "support_calls")
CATEGORICAL_FEATURES = ("plan", "region")
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES
TARGET = "churned"

_PLANS = ("basic", "standard", "premium")
_REGIONS = ("north", "south", "east", "west")
_PLAN_EFFECT = {"basic": 0.6, "standard": 0.0, "premium": -0.7}


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, float)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or a numpy.random.Generator, got {type(seed).__name__}")
    return np.random.default_rng(int(seed))


def _check_fraction(value: float, name: str) -> float:
    return check_number(value, name, minimum=0.0, maximum=1.0)


def _draw_features(n: int, covariate_shift: float, rng: np.random.Generator) -> pd.DataFrame:
    # covariate_shift moves every numeric feature by that many of its standard deviations and
    # tilts the plan mix towards "basic": P(X) changes, the churn rule below does not.
    age = rng.normal(42 + 11 * covariate_shift, 11, n).clip(18, 90)
    income = np.exp(rng.normal(10.6 + 0.45 * covariate_shift, 0.45, n))
    tenure = rng.gamma(2.0, 12.0, n) * np.exp(-0.5 * covariate_shift)
    calls = rng.poisson(np.clip(1.5 + 1.2 * covariate_shift, 0.05, None), n)
    plan_weights = np.array([0.3 + 0.2 * covariate_shift, 0.45, 0.25 - 0.2 * covariate_shift]).clip(0.02, None)
    plan = rng.choice(_PLANS, size=n, p=plan_weights / plan_weights.sum())
    region = rng.choice(_REGIONS, size=n, p=[0.3, 0.25, 0.25, 0.2])
    return pd.DataFrame(
        {
            "age": age.round(1),
            "income": income.round(0),
            "tenure_months": tenure.round(1),
            "support_calls": calls,
            "plan": pd.Categorical(plan, categories=_PLANS),
            "region": pd.Categorical(region, categories=_REGIONS),
        }
    )


def churn_probability(features: pd.DataFrame, *, concept_shift: float = 0.0) -> np.ndarray:
    """P(churn | X): the true rule behind :func:`make_tabular`.

    ``concept_shift`` in [0, 1] blends the original rule into a new one in which support calls
    no longer predict churn and price (a basic plan with high income) does: the same customer gets
    a different churn probability, which is what concept shift means.

    Examples
    --------
    >>> frame = make_tabular(5, seed=1)
    >>> p_before = churn_probability(frame)
    >>> p_after = churn_probability(frame, concept_shift=1.0)
    >>> bool((p_before != p_after).any())
    True
    """
    concept_shift = _check_fraction(concept_shift, "concept_shift")
    if not isinstance(features, pd.DataFrame):
        raise TypeError(f"features must be a pandas DataFrame with the columns {list(FEATURES)}, got {type(features).__name__}")
    missing = [name for name in FEATURES if name not in features.columns]
    if missing:
        raise ValueError(f"features is missing the columns {missing}")
    age = (features["age"].to_numpy(float) - 42) / 11
    income = (np.log(features["income"].to_numpy(float)) - 10.6) / 0.45
    tenure = (features["tenure_months"].to_numpy(float) - 24) / 17
    calls = features["support_calls"].to_numpy(float) - 1.5
    plan = features["plan"].astype(str).map(_PLAN_EFFECT).to_numpy(float)
    old = -1.3 - 0.35 * age - 0.2 * income - 0.8 * tenure + 0.7 * calls + plan
    new = -1.3 - 0.35 * age + 0.9 * income - 0.8 * tenure + 0.0 * calls - plan
    logit = (1 - concept_shift) * old + concept_shift * new
    return 1 / (1 + np.exp(-logit))


def make_tabular(
    n: int = 2000,
    *,
    covariate_shift: float = 0.0,
    prior_shift: float | None = None,
    concept_shift: float = 0.0,
    seed: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """A churn table: four numeric and two categorical features and a binary target.

    Parameters
    ----------
    n : int
        Number of rows.
    covariate_shift : float
        How far P(X) moves, in standard deviations of the numeric features (0 = reference
        population, 1 = a clearly different one). P(Y|X) is unchanged.
    prior_shift : float, optional
        The positive rate P(churned = 1) to impose, keeping P(X|Y): rows are drawn class by class
        from the reference population. ``None`` keeps the natural rate (about 0.27).
    concept_shift : float
        In [0, 1]: how far P(Y|X) moves towards a new rule (see :func:`churn_probability`).
    seed : int or numpy.random.Generator

    Returns
    -------
    pandas.DataFrame
        Columns ``age, income, tenure_months, support_calls, plan, region, churned``.

    Examples
    --------
    >>> reference = make_tabular(1000, seed=0)
    >>> list(reference.columns)
    ['age', 'income', 'tenure_months', 'support_calls', 'plan', 'region', 'churned']
    >>> round(float(reference["churned"].mean()), 2)
    0.27
    >>> shifted = make_tabular(1000, prior_shift=0.5, seed=0)
    >>> float(shifted["churned"].mean())
    0.5
    """
    n = check_int(n, "n", minimum=1)
    if isinstance(covariate_shift, bool) or not isinstance(covariate_shift, (int, float, np.number)):
        raise TypeError(f"covariate_shift must be a number, got {type(covariate_shift).__name__}")
    if not -3 <= covariate_shift <= 3:
        raise ValueError(f"covariate_shift must be between -3 and 3 standard deviations, got {covariate_shift}")
    concept_shift = _check_fraction(concept_shift, "concept_shift")
    rng = _rng(seed)

    if prior_shift is None:
        frame = _draw_features(n, covariate_shift, rng)
        frame[TARGET] = (rng.random(n) < churn_probability(frame, concept_shift=concept_shift)).astype(int)
        return frame

    rate = _check_fraction(prior_shift, "prior_shift")
    n_positive = int(round(rate * n))
    wanted = {1: n_positive, 0: n - n_positive}
    parts = {0: [], 1: []}
    # Rejection by class keeps P(X|Y) exactly that of the reference population.
    while any(sum(len(p) for p in parts[label]) < wanted[label] for label in (0, 1)):
        pool = _draw_features(max(4 * n, 1000), covariate_shift, rng)
        pool[TARGET] = (rng.random(len(pool)) < churn_probability(pool, concept_shift=concept_shift)).astype(int)
        for label in (0, 1):
            parts[label].append(pool[pool[TARGET] == label])
    chosen = [pd.concat(parts[label]).iloc[: wanted[label]] for label in (0, 1)]
    frame = pd.concat(chosen).sample(frac=1.0, random_state=int(rng.integers(2**31))).reset_index(drop=True)
    return frame


Pattern = Literal["abrupt", "gradual", "incremental", "recurring"]
_PATTERNS = ("abrupt", "gradual", "incremental", "recurring")


@dataclass(frozen=True)
class Stream:
    """A simulated stream: the observed values and the concept (the mean) behind each one."""

    values: np.ndarray
    concept: np.ndarray
    change_points: tuple[int, ...]
    pattern: str

    def __repr__(self) -> str:
        return f"Stream(pattern={self.pattern!r}, n={len(self.values)}, change_points={self.change_points})"


def drift_stream(
    n: int = 2000,
    *,
    pattern: Pattern = "abrupt",
    change_points: tuple[int, ...] = (1000,),
    levels: tuple[float, ...] = (0.0, 1.0),
    width: int = 200,
    noise: float = 1.0,
    distribution: Literal["normal", "bernoulli"] = "normal",
    seed: int | np.random.Generator = 0,
) -> Stream:
    """A stream whose concept changes at ``change_points`` in one of four patterns [2]_.

    Parameters
    ----------
    n : int
        Length of the stream.
    pattern : {"abrupt", "gradual", "incremental", "recurring"}
        abrupt: the concept switches at once. gradual: over ``width`` steps the new concept
        appears more and more often (a mixture). incremental: the concept slides linearly over
        ``width`` steps. recurring: concepts alternate between ``levels[0]`` and ``levels[1]``.
    change_points : tuple of int
        Where each change starts, increasing, inside ``(0, n)``.
    levels : tuple of float
        The concept (mean, or probability for ``"bernoulli"``) before the first change and after
        each change; for "recurring" only the first two are used, alternately.
    width : int
        Duration of a gradual or incremental change.
    noise : float
        Standard deviation of the observations around the concept (normal only).
    distribution : {"normal", "bernoulli"}
        Normal observations, or 0/1 observations (e.g. a model's errors) with the concept as
        their probability.
    seed : int or numpy.random.Generator

    Examples
    --------
    >>> stream = drift_stream(1000, pattern="abrupt", change_points=(500,), seed=0)
    >>> stream
    Stream(pattern='abrupt', n=1000, change_points=(500,))
    >>> float(stream.concept[499]), float(stream.concept[500])
    (0.0, 1.0)
    >>> errors = drift_stream(1000, distribution="bernoulli", levels=(0.1, 0.3), change_points=(500,))
    >>> sorted(set(errors.values.tolist()))
    [0.0, 1.0]
    """
    n = check_int(n, "n", minimum=2)
    if pattern not in _PATTERNS:
        raise ValueError(f"pattern must be one of {', '.join(_PATTERNS)}; got {pattern!r}")
    if distribution not in ("normal", "bernoulli"):
        raise ValueError(f"distribution must be 'normal' or 'bernoulli', got {distribution!r}")
    if isinstance(change_points, (int, np.integer)):
        change_points = (change_points,)
    if any(isinstance(p, bool) or not isinstance(p, (int, np.integer)) for p in change_points):
        raise TypeError(f"change_points must be a tuple of ints, got {change_points!r}")
    points = tuple(int(p) for p in change_points)
    if not points or any(not 0 < p < n for p in points) or list(points) != sorted(set(points)):
        raise ValueError(f"change_points must be increasing positions inside (0, {n}), got {change_points}")
    width = check_int(width, "width", minimum=1)
    if pattern in ("gradual", "incremental") and any(b - a < width for a, b in zip(points, points[1:])):
        # A change that starts before the previous one has finished would silently cut it short.
        raise ValueError(f"change_points must be at least width = {width} apart for a {pattern} drift, got {points}")
    if any(isinstance(level, bool) or not isinstance(level, (int, float, np.number)) for level in levels):
        raise TypeError(f"levels must be a tuple of numbers, got {levels!r}")
    levels = tuple(float(level) for level in levels)
    if len(levels) < 2:
        raise ValueError(f"levels must hold at least two values, got {levels}")
    if pattern != "recurring" and len(levels) < len(points) + 1:
        raise ValueError(f"levels must hold one value more than change_points ({len(points) + 1}), got {len(levels)}")
    if distribution == "bernoulli" and any(not 0 <= level <= 1 for level in levels):
        raise ValueError(f"levels must be probabilities in [0, 1] for a bernoulli stream, got {levels}")
    noise = check_number(noise, "noise", minimum=0)
    rng = _rng(seed)

    if pattern == "recurring":
        levels = tuple(levels[i % 2] for i in range(len(points) + 1))
    steps = np.arange(n)
    concept = np.full(n, levels[0])
    # weight of the new concept at each step, per change
    for index, point in enumerate(points):
        old, new = levels[index], levels[index + 1]
        if pattern in ("abrupt", "recurring"):
            progress = (steps >= point).astype(float)
        else:
            progress = np.clip((steps - point + 1) / width, 0.0, 1.0)
        if pattern == "gradual":
            # each observation comes from the old or the new concept; the new one ever more often
            use_new = rng.random(n) < progress
            concept = np.where(steps >= point, np.where(use_new, new, old), concept)
        else:
            concept = np.where(steps >= point, old + (new - old) * progress, concept)

    if distribution == "normal":
        values = concept + rng.normal(0.0, noise, n)
    else:
        values = (rng.random(n) < concept).astype(float)
    return Stream(values, concept, points, pattern)


def windowed_mean(values, window: int) -> np.ndarray:
    """Mean of each full, non-overlapping window of ``window`` values.

    The simplest monitoring signal: a dashboard that plots the mean prediction (or error rate)
    per hour is plotting this. A last, partial window is left out, because its mean rests on
    fewer values and would be compared unfairly with the others.

    Parameters
    ----------
    values : array_like, 1-D
    window : int
        Number of values per window, at least 1 and at most ``len(values)``.

    Returns
    -------
    numpy.ndarray of length ``len(values) // window``

    Examples
    --------
    >>> windowed_mean([1, 3, 5, 7, 100], 2).tolist()
    [2.0, 6.0]
    """
    array = as_1d_numeric(values, "values")
    window = check_int(window, "window", minimum=1)
    if window > len(array):
        raise ValueError(f"window must be at most len(values) = {len(array)}, got {window}")
    full = len(array) // window * window
    return array[:full].reshape(-1, window).mean(axis=1)


def labelled_fraction(prediction_times, label_delays, now: float) -> float:
    """Share of the predictions made by ``now`` whose true label has arrived by ``now``.

    With label delay, performance can only be measured on the labelled part, which is the
    oldest part: this is how blind a performance monitor is at a given moment.

    Parameters
    ----------
    prediction_times : array_like, 1-D
        When each prediction was made.
    label_delays : array_like, 1-D, same length
        How long after its prediction each label arrives (>= 0; ``inf`` = never).
    now : float

    Returns
    -------
    float
        ``#{i : t_i <= now and t_i + d_i <= now} / #{i : t_i <= now}``, or ``nan`` when no
        prediction has been made by ``now``.

    Examples
    --------
    >>> labelled_fraction([0, 1, 2, 3], [1, 5, 0, 0], now=2)
    0.6666666666666666
    """
    times = as_1d_numeric(prediction_times, "prediction_times")
    now = check_number(now, "now")
    try:
        delays = np.asarray(label_delays, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"label_delays must hold numbers (inf for a label that never arrives), got {label_delays!r:.60}") from None
    if delays.ndim != 1 or len(delays) != len(times):
        raise ValueError(
            f"label_delays must be 1-D with the same length as prediction_times ({len(times)}), got shape {delays.shape}"
        )
    if np.isnan(delays).any() or (delays < 0).any():
        raise ValueError("label_delays must be >= 0 (use inf for a label that never arrives)")
    made = times <= now
    if not made.any():
        return float("nan")
    return float(np.mean(times[made] + delays[made] <= now))


def prior_corrected(probabilities, train_rate: float, new_rate: float) -> np.ndarray:
    """Adjust a classifier's probabilities to a new positive rate (prior shift).

    Under prior shift P(X | Y) stays and P(Y) moves from ``train_rate`` to ``new_rate``. By
    Bayes' rule every customer's odds of being positive are then multiplied by the same factor,
    the ratio of the new to the old prior odds [1]_:

    .. math::

        p' = \\frac{(\\pi'/\\pi)\\,p}{(\\pi'/\\pi)\\,p + \\frac{1-\\pi'}{1-\\pi}\\,(1-p)}

    Ranking is kept (AUC does not change), calibration is restored.

    Parameters
    ----------
    probabilities : array_like, 1-D
        Predicted P(Y = 1 | x) of a model calibrated on data with positive rate ``train_rate``;
        each in [0, 1].
    train_rate, new_rate : float
        The positive rate the model was trained at and the one it now faces, each in (0, 1).

    Returns
    -------
    numpy.ndarray
        The corrected probabilities, same length.

    References
    ----------
    .. [1] Saerens, M., Latinne, P., Decaestecker, C. (2002). Adjusting the outputs of a
       classifier to new a priori probabilities: a simple procedure. Neural Computation 14(1),
       21-41.

    Examples
    --------
    >>> prior_corrected([0.2, 0.5, 0.9], train_rate=0.276, new_rate=0.5).round(3)
    array([0.396, 0.724, 0.959])
    >>> prior_corrected([0.2], train_rate=0.3, new_rate=0.3)
    array([0.2])
    """
    p = as_1d_numeric(probabilities, "probabilities")
    if ((p < 0) | (p > 1)).any():
        raise ValueError("probabilities must each lie in [0, 1]")
    train_rate = check_number(train_rate, "train_rate")
    new_rate = check_number(new_rate, "new_rate")
    for name, rate in (("train_rate", train_rate), ("new_rate", new_rate)):
        if not 0 < rate < 1:
            raise ValueError(f"{name} must lie strictly between 0 and 1, got {rate}")
    positive = new_rate / train_rate * p
    negative = (1 - new_rate) / (1 - train_rate) * (1 - p)
    return positive / (positive + negative)


def feedback_loop(
    n_rounds: int = 60,
    *,
    n_items: int = 20,
    users_per_round: int = 400,
    exploration: float = 0.0,
    seed: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """A recommender that learns only from what it shows: a degenerate feedback loop [3]_.

    Each round, every user is shown one item: the item with the highest estimated click rate,
    or with probability ``exploration`` a random one. The estimates are updated from the clicks
    on shown items only, so an item never shown keeps its initial estimate: the model's own
    choices decide which data it gets, and without exploration it can lock onto a mediocre item.

    Parameters
    ----------
    n_rounds : int
    n_items : int
    users_per_round : int
    exploration : float
        Probability of showing a random item (epsilon-greedy).
    seed : int or numpy.random.Generator

    Returns
    -------
    pandas.DataFrame
        One row per round: ``round``, ``click_rate`` (clicks per impression),
        ``top_item_share`` (share of impressions of the most shown item), ``best_item_rank``
        (the rank of the truly best item in the model's estimates, 1 = found) and
        ``items_seen`` (items with at least one impression so far).

    Examples
    --------
    >>> greedy = feedback_loop(30, exploration=0.0, seed=3)
    >>> exploring = feedback_loop(30, exploration=0.1, seed=3)
    >>> int(greedy["items_seen"].iloc[-1]) < int(exploring["items_seen"].iloc[-1])
    True
    """
    n_rounds = check_int(n_rounds, "n_rounds", minimum=1)
    n_items = check_int(n_items, "n_items", minimum=2)
    users_per_round = check_int(users_per_round, "users_per_round", minimum=1)
    exploration = _check_fraction(exploration, "exploration")
    rng = _rng(seed)
    true_rate = rng.beta(2, 30, n_items)
    # Every item starts with the same optimistic-free prior: 1 click in 20 impressions.
    clicks = np.ones(n_items)
    shows = np.full(n_items, 20.0)
    # Break ties among identical priors at random once, as a real system's initial order would.
    tie_break = rng.random(n_items) * 1e-9
    ever_shown = np.zeros(n_items, dtype=bool)
    best = int(np.argmax(true_rate))
    rows = []
    for round_number in range(1, n_rounds + 1):
        estimate = clicks / shows + tie_break
        explore = rng.random(users_per_round) < exploration
        shown = np.where(explore, rng.integers(0, n_items, users_per_round), int(np.argmax(estimate)))
        clicked = rng.random(users_per_round) < true_rate[shown]
        np.add.at(shows, shown, 1.0)
        np.add.at(clicks, shown, clicked.astype(float))
        ever_shown[shown] = True
        counts = np.bincount(shown, minlength=n_items)
        estimate = clicks / shows + tie_break
        rank = int((estimate > estimate[best]).sum()) + 1
        rows.append(
            {
                "round": round_number,
                "click_rate": float(clicked.mean()),
                "top_item_share": float(counts.max() / users_per_round),
                "best_item_rank": rank,
                "items_seen": int(ever_shown.sum()),
            }
        )
    return pd.DataFrame(rows)


# The answer keys of lesson 01's two puzzles live next to the generators, so the exercise's
# reference and the data the learner sees cannot disagree.
_MYSTERY_SHIFTS = {
    "A": ("prior", {"prior_shift": 0.45}),
    "B": ("concept", {"concept_shift": 0.8}),
    "C": ("covariate", {"covariate_shift": 0.8}),
}
_MYSTERY_STREAMS = {
    "W": ("incremental", {"change_points": (500,), "width": 700}),
    "X": ("recurring", {"change_points": (300, 600, 900)}),
    "Y": ("gradual", {"change_points": (400,), "width": 700}),
    "Z": ("abrupt", {"change_points": (750,)}),
}


def mystery_shifts(n: int = 3000, *, seed: int | np.random.Generator = 2024) -> dict[str, pd.DataFrame]:
    """Three labelled batches ``"A"``, ``"B"``, ``"C"``, each drawn with one kind of shift.

    The puzzle of exercise ``01.shift_kind``: compare each batch with the reference population
    (``make_tabular()`` without shift) and say which of covariate, prior and concept shift it
    shows. Each kind occurs exactly once.

    Parameters
    ----------
    n : int
        Rows per batch.
    seed : int or numpy.random.Generator

    Returns
    -------
    dict of str to pandas.DataFrame
        Same columns as :func:`make_tabular`.

    Examples
    --------
    >>> batches = mystery_shifts(500)
    >>> sorted(batches), batches["A"].shape
    (['A', 'B', 'C'], (500, 7))
    """
    n = check_int(n, "n", minimum=1)
    rng = _rng(seed)
    return {name: make_tabular(n, seed=rng, **knobs) for name, (_, knobs) in _MYSTERY_SHIFTS.items()}


def mystery_streams(n: int = 1500, *, seed: int | np.random.Generator = 2024) -> dict[str, np.ndarray]:
    """Four streams ``"W"`` to ``"Z"``, one per drift pattern, without their labels.

    The puzzle of exercise ``01.drift_pattern``: plot each stream and say whether its drift is
    abrupt, gradual, incremental or recurring. Each pattern occurs exactly once. The concept
    moves between 0 and 3, with observation noise of standard deviation 0.6.

    Parameters
    ----------
    n : int
        Length of each stream, at least 1200 (the last change starts at step 900 and a
        gradual or incremental change lasts 700 steps).
    seed : int or numpy.random.Generator

    Returns
    -------
    dict of str to numpy.ndarray

    Examples
    --------
    >>> streams = mystery_streams()
    >>> sorted(streams), streams["W"].shape
    (['W', 'X', 'Y', 'Z'], (1500,))
    """
    n = check_int(n, "n", minimum=1200)
    rng = _rng(seed)
    return {
        name: drift_stream(n, pattern=pattern, levels=(0.0, 3.0, 0.0, 3.0), noise=0.6, seed=rng, **knobs).values
        for name, (pattern, knobs) in _MYSTERY_STREAMS.items()
    }


def correlated_pair(
    n: int,
    *,
    correlation: float = 0.8,
    shift: tuple[float, float] = (0.0, 0.0),
    seed: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """Two standard-normal features with a given correlation: the smallest multivariate world.

    Lesson 02 uses it to show drift that no univariate test sees: flip the sign of the
    correlation and each column keeps exactly its distribution, while the pair does not.

    Parameters
    ----------
    n : int
        Rows.
    correlation : float
        Pearson correlation of the two columns, in [-1, 1].
    shift : (float, float)
        Added to the means of ``x1`` and ``x2``.
    seed : int or numpy.random.Generator

    Returns
    -------
    pandas.DataFrame
        Columns ``x1`` and ``x2``.

    Examples
    --------
    >>> pair = correlated_pair(20_000, correlation=-0.8, seed=1)
    >>> round(float(pair["x1"].corr(pair["x2"])), 2)
    -0.8
    """
    n = check_int(n, "n", minimum=1)
    correlation = check_number(correlation, "correlation", minimum=-1.0, maximum=1.0)
    if len(shift) != 2:
        raise ValueError(f"shift must hold two numbers (x1, x2), got {shift!r}")
    shift = (check_number(shift[0], "shift[0]"), check_number(shift[1], "shift[1]"))
    rng = _rng(seed)
    first = rng.standard_normal(n)
    second = correlation * first + np.sqrt(1.0 - correlation**2) * rng.standard_normal(n)
    return pd.DataFrame({"x1": first + shift[0], "x2": second + shift[1]})


# The answer key of lesson 02's joint-drift puzzle, next to its generator (as for lesson 01).
_MYSTERY_JOINT = {
    "P": ("joint", {"correlation": -0.8}),
    "Q": ("marginal", {"correlation": 0.8, "shift": (0.3, 0.0)}),
    "R": ("none", {"correlation": 0.8}),
}


def mystery_joint_batches(n: int = 1000, *, seed: int | np.random.Generator = 2025) -> dict[str, pd.DataFrame]:
    """Three batches ``"P"``, ``"Q"``, ``"R"`` to compare with ``correlated_pair(n, seed=0)``.

    The puzzle of exercise ``02.joint_drift``: one batch has not drifted, one has drifted in a
    single column (a univariate test sees it), and one has drifted only in the joint
    distribution (each column alone looks the same). Each occurs exactly once.

    Examples
    --------
    >>> sorted(mystery_joint_batches(50))
    ['P', 'Q', 'R']
    """
    n = check_int(n, "n", minimum=10)
    rng = _rng(seed)
    return {name: correlated_pair(n, seed=rng, **knobs) for name, (_, knobs) in _MYSTERY_JOINT.items()}


# The answer key of lesson 02's data-quality puzzle: what happened to each column of the batch.
_PIPELINE_INCIDENT = {
    "age": "pipeline",  # a new upstream service reports age in months
    "income": "pipeline",  # a failed join leaves a third of the incomes empty
    "tenure_months": "drift",  # a campaign brought in newer customers: a real change
    "support_calls": "pipeline",  # the call counter stopped and reports 0 for everyone
    "plan": "ok",
    "region": "ok",
}


def pipeline_incident(n: int = 1000, *, seed: int | np.random.Generator = 2026) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference table and a current batch in which some columns broke and one really drifted.

    The puzzle of exercise ``02.pipeline_or_drift``: a drift report flags several columns, but
    only some changed because the customers changed; the others changed because the data
    pipeline broke (a unit change, a failed join, a stuck counter). Telling the two apart decides
    who is paged: the data engineers or the model's owners.

    Parameters
    ----------
    n : int
        Rows of each table.
    seed : int or numpy.random.Generator

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The reference and the current batch, with the columns of :func:`make_tabular`.

    Examples
    --------
    >>> reference, current = pipeline_incident(200)
    >>> list(current.columns) == list(reference.columns)
    True
    """
    n = check_int(n, "n", minimum=20)
    rng = _rng(seed)
    reference = make_tabular(n, seed=rng)
    current = make_tabular(n, seed=rng)
    current["age"] = current["age"] * 12
    current.loc[rng.random(n) < 1 / 3, "income"] = np.nan
    current["tenure_months"] = np.round(current["tenure_months"] * 0.6)
    current["support_calls"] = 0
    return reference, current
