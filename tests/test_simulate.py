"""The statistical contract of course_lib.simulate, checked on seeded data.

Each kind of shift is defined by what it keeps: covariate shift keeps P(Y | X), prior shift keeps
P(X | Y), concept shift keeps P(X). The tests check both halves (what moves and what stays) with
scipy's two-sample KS test and binomial standard errors, on samples large enough that a real
change is unmistakable and the seeded draws are stable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from course_lib.simulate import (
    CATEGORICAL_FEATURES,
    FEATURES,
    NUMERIC_FEATURES,
    TARGET,
    Stream,
    churn_probability,
    drift_stream,
    feedback_loop,
    labelled_fraction,
    make_tabular,
    mystery_shifts,
    mystery_streams,
    windowed_mean,
)

N = 20_000


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return make_tabular(N, seed=100)


def _calibration_gap(frame: pd.DataFrame, probability: np.ndarray, bins: int = 10) -> float:
    """Largest |observed rate - mean probability| over probability deciles, in standard errors."""
    deciles = pd.qcut(probability, bins, labels=False, duplicates="drop")
    worst = 0.0
    for decile in np.unique(deciles):
        inside = deciles == decile
        p = probability[inside].mean()
        observed = frame[TARGET].to_numpy()[inside].mean()
        standard_error = np.sqrt(p * (1 - p) / inside.sum())
        worst = max(worst, abs(observed - p) / standard_error)
    return worst


# --- the table ------------------------------------------------------------------------------


def test_table_has_the_documented_columns_and_types(reference):
    assert list(reference.columns) == [*FEATURES, TARGET]
    assert all(pd.api.types.is_numeric_dtype(reference[name]) for name in NUMERIC_FEATURES)
    assert all(isinstance(reference[name].dtype, pd.CategoricalDtype) for name in CATEGORICAL_FEATURES)
    assert set(reference[TARGET].unique()) == {0, 1}


def test_labels_follow_the_churn_rule(reference):
    # P(Y | X) of the reference population is churn_probability: labels are calibrated to it.
    assert _calibration_gap(reference, churn_probability(reference)) < 4


def test_same_seed_same_table_other_seed_other_table():
    pd.testing.assert_frame_equal(make_tabular(500, seed=3), make_tabular(500, seed=3))
    assert not make_tabular(500, seed=3).equals(make_tabular(500, seed=4))
    generator_table = make_tabular(500, seed=np.random.default_rng(3))
    pd.testing.assert_frame_equal(generator_table, make_tabular(500, seed=3))


# --- covariate shift: P(X) moves, P(Y | X) stays ------------------------------------------------


def test_covariate_shift_moves_every_numeric_feature(reference):
    shifted = make_tabular(N, covariate_shift=1.0, seed=101)
    for name in NUMERIC_FEATURES:
        assert stats.ks_2samp(reference[name], shifted[name]).pvalue < 1e-12, name
    # "about one standard deviation": age has sd 11 (clipping at 18 and 90 costs a little)
    assert 9 < shifted["age"].mean() - reference["age"].mean() < 12
    assert shifted["plan"].eq("basic").mean() > reference["plan"].eq("basic").mean() + 0.1


def test_covariate_shift_keeps_the_rule(reference):
    shifted = make_tabular(N, covariate_shift=1.0, seed=102)
    # The labels of the shifted population are drawn from the reference rule: calibrated to it in
    # every decile, including the new regions of X the reference rarely visited.
    assert _calibration_gap(shifted, churn_probability(shifted)) < 4
    # ... and the positive rate moves with the inputs, as covariate shift allows.
    assert shifted[TARGET].mean() > reference[TARGET].mean() + 0.1


# --- prior shift: P(Y) is set, P(X | Y) stays ----------------------------------------------


@pytest.mark.parametrize(("n", "rate"), [(1000, 0.5), (999, 0.1), (20_001, 0.73), (10, 0.0), (10, 1.0)])
def test_prior_shift_sets_the_positive_rate_exactly(n, rate):
    table = make_tabular(n, prior_shift=rate, seed=5)
    assert len(table) == n
    assert int(table[TARGET].sum()) == round(rate * n)


def test_prior_shift_keeps_each_class_as_it_was(reference):
    shifted = make_tabular(N, prior_shift=0.6, seed=103)
    for label in (0, 1):
        before = reference[reference[TARGET] == label]
        after = shifted[shifted[TARGET] == label]
        for name in NUMERIC_FEATURES:
            assert stats.ks_2samp(before[name], after[name]).pvalue > 1e-3, (label, name)
        table = pd.crosstab(
            np.r_[np.zeros(len(before)), np.ones(len(after))],
            np.r_[before["plan"].astype(str), after["plan"].astype(str)],
        )
        assert stats.chi2_contingency(table).pvalue > 1e-3, label


def test_prior_shift_moves_the_mixture(reference):
    shifted = make_tabular(N, prior_shift=0.6, seed=104)
    # Churners call support more, so a churn-heavy mix calls more: P(X) moves although P(X | Y) does not.
    assert stats.ks_2samp(reference["support_calls"], shifted["support_calls"]).pvalue < 1e-12


# --- concept shift: P(Y | X) moves, P(X) stays --------------------------------------------


def test_concept_shift_keeps_the_inputs_and_changes_the_rule():
    before = make_tabular(N, seed=105)
    after = make_tabular(N, concept_shift=1.0, seed=105)
    # Same seed, same draws of X: only the labels can differ.
    pd.testing.assert_frame_equal(before[list(FEATURES)], after[list(FEATURES)])
    p_before = churn_probability(before)
    p_after = churn_probability(after, concept_shift=1.0)
    assert np.mean(np.abs(p_after - p_before) > 0.2) > 0.25
    assert _calibration_gap(after, p_after) < 4
    assert _calibration_gap(after, p_before) > 10
    assert (before[TARGET] != after[TARGET]).mean() > 0.2


def test_concept_shift_blends_the_two_rules_and_keeps_the_base_rate():
    frame = make_tabular(N, seed=106)
    p0, p_half, p1 = (churn_probability(frame, concept_shift=c) for c in (0.0, 0.5, 1.0))
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    np.testing.assert_allclose(logit(p_half), (logit(p0) + logit(p1)) / 2, rtol=1e-9, atol=1e-9)
    # The positive rate barely moves, so a concept shift cannot pass for a prior shift.
    assert abs(p1.mean() - p0.mean()) < 0.03


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"n": 0}, ValueError, "n"),
        ({"n": 10.0}, TypeError, "n"),
        ({"n": True}, TypeError, "n"),
        ({"covariate_shift": 5}, ValueError, "covariate_shift"),
        ({"covariate_shift": "big"}, TypeError, "covariate_shift"),
        ({"prior_shift": 1.5}, ValueError, "prior_shift"),
        ({"concept_shift": -0.1}, ValueError, "concept_shift"),
        ({"seed": "seven"}, TypeError, "seed"),
        ({"seed": 1.5}, TypeError, "seed"),
    ],
)
def test_make_tabular_names_the_bad_argument(kwargs, error, name):
    with pytest.raises(error, match=name):
        make_tabular(**{"n": 10, **kwargs})


def test_churn_probability_checks_its_input(reference):
    with pytest.raises(ValueError, match="missing the columns.*income"):
        churn_probability(reference.drop(columns="income"))
    with pytest.raises(TypeError, match="features must be a pandas DataFrame"):
        churn_probability(reference.to_numpy())
    with pytest.raises(ValueError, match="concept_shift"):
        churn_probability(reference, concept_shift=2)


# --- streams ------------------------------------------------------------------------------


def test_abrupt_concept_switches_at_each_change_point():
    stream = drift_stream(3000, pattern="abrupt", change_points=(1000, 2000), levels=(0.0, 2.0, -1.0), seed=1)
    assert isinstance(stream, Stream) and stream.change_points == (1000, 2000)
    np.testing.assert_array_equal(stream.concept[:1000], 0.0)
    np.testing.assert_array_equal(stream.concept[1000:2000], 2.0)
    np.testing.assert_array_equal(stream.concept[2000:], -1.0)


def test_incremental_concept_is_a_linear_ramp_of_the_given_width():
    stream = drift_stream(2000, pattern="incremental", change_points=(500,), levels=(1.0, 3.0), width=400, seed=2)
    np.testing.assert_array_equal(stream.concept[:500], 1.0)
    ramp = stream.concept[500:900]
    np.testing.assert_allclose(ramp, 1.0 + 2.0 * np.arange(1, 401) / 400)
    np.testing.assert_array_equal(stream.concept[899:], 3.0)


def test_gradual_concept_mixes_old_and_new_ever_more_often():
    stream = drift_stream(20_000, pattern="gradual", change_points=(5000,), levels=(0.0, 1.0), width=10_000, seed=3)
    concept = stream.concept
    assert set(np.unique(concept)) == {0.0, 1.0}, "each observation comes from one concept or the other"
    np.testing.assert_array_equal(concept[:5000], 0.0)
    np.testing.assert_array_equal(concept[15_000 - 1 :], 1.0)
    # share of the new concept in each fifth of the transition: about 0.1, 0.3, 0.5, 0.7, 0.9
    shares = concept[5000:15_000].reshape(5, -1).mean(axis=1)
    np.testing.assert_allclose(shares, [0.1, 0.3, 0.5, 0.7, 0.9], atol=0.03)


def test_recurring_concept_alternates_between_the_first_two_levels():
    stream = drift_stream(1000, pattern="recurring", change_points=(200, 400, 600, 800), levels=(0.0, 5.0), seed=4)
    segments = np.split(stream.concept, [200, 400, 600, 800])
    assert [float(np.unique(segment).item()) for segment in segments] == [0.0, 5.0, 0.0, 5.0, 0.0]


def test_observations_scatter_around_the_concept():
    normal = drift_stream(50_000, change_points=(25_000,), noise=0.5, seed=5)
    residual = normal.values - normal.concept
    assert abs(residual.mean()) < 0.01 and abs(residual.std() - 0.5) < 0.01
    assert stats.normaltest(residual).pvalue > 1e-3
    errors = drift_stream(50_000, change_points=(25_000,), levels=(0.1, 0.4), distribution="bernoulli", seed=5)
    assert set(np.unique(errors.values)) == {0.0, 1.0}
    assert abs(errors.values[:25_000].mean() - 0.1) < 0.01 and abs(errors.values[25_000:].mean() - 0.4) < 0.01


def test_streams_reproduce_with_their_seed():
    first = drift_stream(500, pattern="gradual", change_points=(100,), width=100, seed=9)
    again = drift_stream(500, pattern="gradual", change_points=(100,), width=100, seed=9)
    other = drift_stream(500, pattern="gradual", change_points=(100,), width=100, seed=10)
    np.testing.assert_array_equal(first.values, again.values)
    np.testing.assert_array_equal(first.concept, again.concept)
    assert not np.array_equal(first.values, other.values)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"pattern": "sudden"}, ValueError, "pattern"),
        ({"change_points": (0,)}, ValueError, "change_points"),
        ({"change_points": (600, 400)}, ValueError, "change_points"),
        ({"change_points": (500.5,)}, TypeError, "change_points"),
        ({"pattern": "gradual", "change_points": (300, 400), "levels": (0, 1, 2), "width": 200}, ValueError, "change_points"),
        ({"change_points": (300, 600)}, ValueError, "levels"),
        ({"levels": (0.0, "high")}, TypeError, "levels"),
        ({"levels": (0.1, 1.5), "distribution": "bernoulli"}, ValueError, "levels"),
        ({"distribution": "poisson"}, ValueError, "distribution"),
        ({"noise": -1.0}, ValueError, "noise"),
        ({"noise": "loud"}, TypeError, "noise"),
        ({"width": 0}, ValueError, "width"),
        ({"n": 1}, ValueError, "n"),
    ],
)
def test_drift_stream_names_the_bad_argument(kwargs, error, name):
    with pytest.raises(error, match=name):
        drift_stream(**{"n": 1000, "change_points": (500,), **kwargs})


# --- the dashboard signal and label delay ----------------------------------------------------


@pytest.mark.parametrize(("n", "window"), [(100, 10), (101, 10), (7, 7), (5, 1)])
def test_windowed_mean_matches_pandas_groupby(n, window):
    values = np.random.default_rng(n).normal(size=n)
    full = n // window * window
    expected = pd.Series(values[:full]).groupby(np.arange(full) // window).mean().to_numpy()
    np.testing.assert_allclose(windowed_mean(values, window), expected)


@pytest.mark.parametrize(
    ("values", "window", "error", "name"),
    [
        ([1.0, 2.0], 0, ValueError, "window"),
        ([1.0, 2.0], 3, ValueError, "window"),
        ([1.0, 2.0], 1.5, TypeError, "window"),
        ([], 1, ValueError, "values"),
        ([1.0, np.nan], 1, ValueError, "values"),
        (["a", "b"], 1, TypeError, "values"),
    ],
)
def test_windowed_mean_names_the_bad_argument(values, window, error, name):
    with pytest.raises(error, match=name):
        windowed_mean(values, window)


def test_labelled_fraction_matches_a_plain_count():
    rng = np.random.default_rng(8)
    times = rng.uniform(0, 100, 1000)
    delays = rng.exponential(15, 1000)
    delays[::10] = np.inf
    for now in (5.0, 50.0, 99.0, 500.0):
        made = [i for i in range(1000) if times[i] <= now]
        labelled = [i for i in made if times[i] + delays[i] <= now]
        assert labelled_fraction(times, delays, now) == pytest.approx(len(labelled) / len(made))
    assert np.isnan(labelled_fraction(times, delays, now=-1.0))


@pytest.mark.parametrize(
    ("times", "delays", "now", "error", "name"),
    [
        ([0.0, 1.0], [1.0], 2.0, ValueError, "label_delays"),
        ([0.0, 1.0], [1.0, -1.0], 2.0, ValueError, "label_delays"),
        ([0.0, 1.0], ["soon", "late"], 2.0, TypeError, "label_delays"),
        ([0.0, 1.0], [1.0, 1.0], float("nan"), ValueError, "now"),
        ([0.0, 1.0], [1.0, 1.0], "today", TypeError, "now"),
        ([], [], 2.0, ValueError, "prediction_times"),
    ],
)
def test_labelled_fraction_names_the_bad_argument(times, delays, now, error, name):
    with pytest.raises(error, match=name):
        labelled_fraction(times, delays, now)


# --- feedback loop ----------------------------------------------------------------------------


def test_feedback_loop_greedy_gets_stuck_and_exploration_finds_the_best_item():
    greedy = [feedback_loop(40, exploration=0.0, seed=seed) for seed in range(20)]
    exploring = [feedback_loop(40, exploration=0.2, seed=seed) for seed in range(20)]
    assert list(greedy[0].columns) == ["round", "click_rate", "top_item_share", "best_item_rank", "items_seen"]
    # Greedy shows one item per round to everyone; it stops exploring after a few switches.
    assert all((run["top_item_share"] == 1.0).all() for run in greedy)
    assert np.mean([run["items_seen"].iloc[-1] for run in greedy]) < 5
    assert all(run["items_seen"].iloc[-1] == 20 for run in exploring)
    found = lambda runs: np.mean([run["best_item_rank"].iloc[-1] == 1 for run in runs])  # noqa: E731
    assert found(exploring) > found(greedy) + 0.4


def test_feedback_loop_reproduces_and_validates():
    pd.testing.assert_frame_equal(feedback_loop(10, seed=2), feedback_loop(10, seed=2))
    with pytest.raises(ValueError, match="exploration"):
        feedback_loop(10, exploration=1.5)
    with pytest.raises(ValueError, match="n_items"):
        feedback_loop(10, n_items=1)


# --- the lesson's puzzles --------------------------------------------------------------------


def test_mystery_shifts_show_the_shift_their_answer_key_says():
    from course_lib.grading.exercises.lesson01 import shift_kind_answer

    answer = shift_kind_answer()
    assert sorted(answer.values()) == ["concept", "covariate", "prior"]
    batches = mystery_shifts()
    reference = make_tabular(len(batches["A"]), seed=7)
    by_kind = {kind: batches[name] for name, kind in answer.items()}
    # concept: inputs as in the reference; prior: churners as in the reference; covariate: neither
    assert stats.ks_2samp(reference["support_calls"], by_kind["concept"]["support_calls"]).pvalue > 1e-3
    churners = lambda frame: frame.loc[frame[TARGET] == 1, "age"]  # noqa: E731
    assert stats.ks_2samp(churners(reference), churners(by_kind["prior"])).pvalue > 1e-3
    assert stats.ks_2samp(churners(reference), churners(by_kind["covariate"])).pvalue < 1e-6
    assert _calibration_gap(by_kind["covariate"], churn_probability(by_kind["covariate"])) < 4
    pd.testing.assert_frame_equal(mystery_shifts(200, seed=1)["B"], mystery_shifts(200, seed=1)["B"])


def test_mystery_streams_follow_the_pattern_their_answer_key_says():
    from course_lib.grading.exercises.lesson01 import drift_pattern_answer

    answer = drift_pattern_answer()
    assert sorted(answer.values()) == ["abrupt", "gradual", "incremental", "recurring"]
    streams = mystery_streams()
    assert all(values.shape == (1500,) for values in streams.values())
    by_pattern = {pattern: streams[name] for name, pattern in answer.items()}
    # Recurring comes back down; the others end high. Gradual has two bands mid-change
    # (values near 0 and near 3), incremental one band near the middle.
    assert by_pattern["recurring"][650:850].mean() < 0.5
    middle = lambda values: values[700:800]  # noqa: E731
    assert np.mean(np.abs(middle(by_pattern["gradual"]) - 1.5) < 0.6) < 0.2
    assert np.mean(np.abs(middle(by_pattern["incremental"]) - 1.0) < 1.0) > 0.8
    with pytest.raises(ValueError, match="n"):
        mystery_streams(100)
