"""course_lib.streams against river 0.26 on seeded streams, plus bounded state and bad input.

ADWIN, Page-Hinkley, DDM and EDDM must give exactly river's detection indices (same defaults,
same arithmetic); KSWIN agrees up to its first detection and then follows the paper (it keeps
the newest ``stat_size`` elements) where river empties its window.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from river import drift as river_drift
from river.drift import binary as river_binary

from course_lib import streams

SEEDS = range(8)


def river_indices(detector, values):
    found = []
    for index, value in enumerate(values):
        detector.update(value)
        if detector.drift_detected:
            found.append(index)
    return found


def mean_shift_stream(seed, sizes=(2000, 2000, 2000), means=(0.0, 0.6, -0.2), scales=(1.0, 1.0, 2.0)):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(m, s, n) for n, m, s in zip(sizes, means, scales)])


def error_stream(seed, sizes=(3000, 2000, 2000), rates=(0.1, 0.25, 0.05)):
    rng = np.random.default_rng(seed)
    return np.concatenate([(rng.random(n) < p).astype(int) for n, p in zip(sizes, rates)])


# --------------------------------------------------------------------- identical to river

ADWIN_PARAMETERS = [
    {},
    {"delta": 0.05, "clock": 1, "max_buckets": 2, "min_window_length": 3, "grace_period": 0},
    {"delta": 1e-5, "clock": 7, "max_buckets": 3, "min_window_length": 1, "grace_period": 50},
]


@pytest.mark.parametrize("parameters", ADWIN_PARAMETERS, ids=["defaults", "sensitive", "strict"])
def test_adwin_detects_where_river_does(parameters):
    total_detections = 0
    for seed in SEEDS:
        values = mean_shift_stream(seed)
        ours, theirs = streams.ADWIN(**parameters), river_drift.ADWIN(**parameters)
        expected = river_indices(theirs, values)
        assert streams.detect(ours, values) == expected, seed
        assert ours.width == theirs.width and ours.n_detections == len(expected)
        assert ours.estimation == pytest.approx(theirs.estimation, rel=1e-12)
        # river's `variance` is the window's sum of squared deviations; ours divides by width.
        assert ours.variance * ours.width == pytest.approx(theirs.variance, rel=1e-9)
        total_detections += len(expected)
    assert total_detections >= 2 * len(SEEDS), "the streams must make the detectors fire"


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    delta=st.sampled_from([1e-4, 0.002, 0.01, 0.2]),
    clock=st.integers(1, 40),
    max_buckets=st.integers(2, 8),
    min_window_length=st.integers(1, 12),
    grace_period=st.integers(0, 60),
    shift=st.floats(0.0, 3.0),
)
def test_adwin_matches_river_for_any_parameters(seed, delta, clock, max_buckets, min_window_length, grace_period, shift):
    parameters = dict(delta=delta, clock=clock, max_buckets=max_buckets,
                      min_window_length=min_window_length, grace_period=grace_period)  # fmt: skip
    values = mean_shift_stream(seed, sizes=(700, 700), means=(0.0, shift), scales=(1.0, 1.0))
    assert streams.detect(streams.ADWIN(**parameters), values) == river_indices(river_drift.ADWIN(**parameters), values)


PAGE_HINKLEY_PARAMETERS = [
    {},
    {"threshold": 20.0, "delta": 0.01, "alpha": 0.999, "min_instances": 10, "mode": "up"},
    {"threshold": 10.0, "alpha": 1.0, "mode": "down"},
]


@pytest.mark.parametrize("parameters", PAGE_HINKLEY_PARAMETERS, ids=["defaults", "up", "down"])
def test_page_hinkley_detects_where_river_does(parameters):
    total = 0
    for seed in SEEDS:
        values = mean_shift_stream(seed)
        expected = river_indices(river_drift.PageHinkley(**parameters), values)
        assert streams.detect(streams.PageHinkley(**parameters), values) == expected, seed
        total += len(expected)
    assert total >= len(SEEDS)


@pytest.mark.parametrize(
    "parameters", [{}, {"warm_start": 100, "warning_threshold": 1.5, "drift_threshold": 2.5}], ids=["defaults", "custom"]
)
def test_ddm_detects_and_warns_where_river_does(parameters):
    total = 0
    for seed in SEEDS:
        values = error_stream(seed)
        ours, theirs = streams.DDM(**parameters), river_binary.DDM(**parameters)
        for index, value in enumerate(values):
            fired = ours.update(value)
            theirs.update(value)
            assert (fired, ours.drift_detected, ours.warning_detected) == (
                theirs.drift_detected, theirs.drift_detected, theirs.warning_detected
            ), (seed, index)  # fmt: skip
            total += fired
    assert total >= len(SEEDS)


@pytest.mark.parametrize("parameters", [{}, {"warm_start": 50, "alpha": 0.9, "beta": 0.8}], ids=["defaults", "custom"])
def test_eddm_detects_where_river_does(parameters):
    total = 0
    for seed in SEEDS:
        values = error_stream(seed)
        ours, theirs = streams.EDDM(**parameters), river_binary.EDDM(**parameters)
        for index, value in enumerate(values):
            fired = ours.update(value)
            theirs.update(value)
            assert fired == theirs.drift_detected, (seed, index)
            # The one documented difference: a detection clears our warning, river keeps it.
            if not fired:
                assert ours.warning_detected == theirs.warning_detected, (seed, index)
            total += fired
    assert total >= len(SEEDS)


@pytest.mark.parametrize(
    "parameters", [{}, {"alpha": 0.01, "window_size": 80, "stat_size": 20}], ids=["defaults", "custom"]
)
def test_kswin_first_detection_equals_rivers(parameters):
    compared = 0
    for seed in range(6):
        values = mean_shift_stream(seed, sizes=(300, 300), means=(0.0, 1.5), scales=(1.0, 1.0))
        ours = streams.detect(streams.KSWIN(seed=seed, **parameters), values)
        theirs = river_indices(river_drift.KSWIN(seed=seed, **parameters), values)
        assert ours[:1] == theirs[:1], seed
        compared += bool(theirs)
    assert compared >= 4


def test_kswin_keeps_the_newest_elements_after_a_detection_and_river_does_not():
    values = mean_shift_stream(3, sizes=(300, 300), means=(0.0, 3.0), scales=(1.0, 1.0)).tolist()
    ours = streams.KSWIN(seed=1)
    first = next(index for index, value in enumerate(values) if ours.update(value))
    assert ours._window == values[first - 29 : first + 1]
    # river's next update empties its window: it cannot test again for window_size elements.
    theirs = river_drift.KSWIN(seed=1)
    river_indices(theirs, values[: first + 2])
    assert len(theirs.window) == 1 and len(ours._window) == 30
    ours.update(values[first + 1])
    assert len(ours._window) == 31


def test_kswin_p_value_and_statistic_match_scipy():
    import scipy.stats

    values = mean_shift_stream(5, sizes=(200, 40), means=(0.0, 0.8), scales=(1.0, 1.0)).tolist()
    detector = streams.KSWIN(alpha=1e-9, seed=2)
    rng = __import__("random").Random(2)
    for index, value in enumerate(values):
        detector.update(value)
        if index + 1 >= 100:
            window = values[index + 1 - 100 : index + 1]
            older = [window[i] for i in rng.sample(range(70), 30)]
            expected = scipy.stats.ks_2samp(older, window[70:])
            assert detector.statistic == pytest.approx(expected.statistic, abs=1e-12)
            assert detector.p_value == pytest.approx(expected.pvalue, rel=1e-9)


# ----------------------------------------------------------------- behaviour and state


def test_adwin_window_statistics_equal_numpy_without_a_change():
    values = np.random.default_rng(4).normal(3.0, 2.0, 5000)
    detector = streams.ADWIN()
    assert streams.detect(detector, values) == []
    assert detector.width == values.size
    assert detector.estimation == pytest.approx(values.mean(), rel=1e-12)
    assert detector.variance == pytest.approx(values.var(), rel=1e-9)


def test_adwin_state_stays_logarithmic_on_a_long_stationary_stream():
    detector = streams.ADWIN()
    rng = np.random.default_rng(5)
    counts = {}
    seen = 0
    for size in (1_000, 9_000, 90_000, 100_000):
        for value in rng.random(size).tolist():
            detector.update(value)
        seen += size
        counts[seen] = detector.n_buckets
        rows = math.floor(math.log2(detector.width)) + 1
        assert detector.n_buckets <= detector.max_buckets * rows
    assert detector.width == 200_000, "no false alarm expected on this stream"
    # 200 times more elements, about 3 times more buckets: logarithmic, not linear.
    assert counts[200_000] < 3 * counts[1_000]


def test_the_window_shrinks_to_the_new_concept_and_restarts_after_a_detection():
    values = np.concatenate([np.zeros(3000), np.ones(500)]).tolist()
    detector = streams.ADWIN()
    first = next(index for index, value in enumerate(values) if detector.update(value))
    assert 3000 <= first < 3100
    assert detector.width < first + 1 - 2000, "the cut drops (most of) the old concept"
    detector.update(1.0)
    assert not detector.drift_detected and detector.width == 1 and detector.estimation == 1.0


def test_kswin_window_is_bounded():
    detector = streams.KSWIN(window_size=50, stat_size=10, seed=0)
    for value in np.random.default_rng(0).random(5000).tolist():
        detector.update(value)
        assert len(detector._window) <= 50


@pytest.mark.parametrize(
    "make",
    [streams.ADWIN, streams.PageHinkley, streams.DDM, streams.EDDM, lambda: streams.KSWIN(seed=3)],
    ids=["ADWIN", "PageHinkley", "DDM", "EDDM", "KSWIN"],
)
def test_reset_gives_a_fresh_detector(make):
    values = error_stream(2)
    used = make()
    streams.detect(used, values[::-1])
    used.reset()
    assert streams.detect(used, values) == streams.detect(make(), values)


def test_detect_reads_lists_arrays_and_booleans_alike():
    values = error_stream(1)
    as_bool = values.astype(bool)
    expected = streams.detect(streams.DDM(), values)
    assert streams.detect(streams.DDM(), values.tolist()) == expected
    assert streams.detect(streams.DDM(), as_bool) == expected
    detector = streams.DDM()
    assert [i for i, v in enumerate(as_bool) if detector.update(v)] == expected


def test_reprs_show_the_parameters():
    assert repr(streams.ADWIN(delta=0.01)) == (
        "ADWIN(delta=0.01, clock=32, max_buckets=5, min_window_length=5, grace_period=10)"
    )
    assert repr(streams.PageHinkley(mode="up")).startswith("PageHinkley(min_instances=30, delta=0.005")
    assert "stat_size=30" in repr(streams.KSWIN())


# --------------------------------------------------------------------- evaluate_detector


class FiresAt(streams.DriftDetector):
    """A fake detector that fires at given indices, so scores can be worked out by hand."""

    __slots__ = ("indices", "seen")

    def __init__(self, indices):
        self.indices, self.seen, self.drift_detected = set(indices), -1, False

    def update(self, x):
        self.seen += 1
        self.drift_detected = self.seen in self.indices
        return self.drift_detected


def test_evaluate_detector_scores_a_known_detector():
    plans = iter([[10, 120], [105], [20, 40], []])
    score = streams.evaluate_detector(lambda: FiresAt(next(plans)), [np.zeros(200)] * 4, change_point=100)
    assert (score.n_streams, score.missed, score.false_alarms) == (4, 2, 3)
    assert score.detection_rate == 0.5
    assert (score.mean_delay, score.median_delay) == (12.5, 12.5)  # delays 20 and 5
    assert score.false_alarms_per_1000 == pytest.approx(3 / 400 * 1000)
    assert score.arl0 == pytest.approx(400 / 3)


def test_evaluate_detector_on_stationary_streams_counts_false_alarms_only():
    score = streams.evaluate_detector(lambda: FiresAt([5, 50]), np.zeros((3, 100)), change_point=None)
    assert score.false_alarms == 6 and score.arl0 == 50 and math.isnan(score.mean_delay)
    quiet = streams.evaluate_detector(lambda: FiresAt([]), np.zeros((2, 100)), change_point=None)
    assert quiet.arl0 == math.inf and quiet.false_alarms_per_1000 == 0


def test_evaluate_detector_with_real_detectors_orders_them_sensibly():
    rng = np.random.default_rng(9)
    runs = [np.concatenate([rng.normal(0, 1, 1000), rng.normal(1.0, 1, 500)]) for _ in range(15)]
    loose = streams.evaluate_detector(lambda: streams.PageHinkley(threshold=10), runs, 1000)
    strict = streams.evaluate_detector(lambda: streams.PageHinkley(threshold=60), runs, 1000)
    assert loose.false_alarms > strict.false_alarms and loose.median_delay < strict.median_delay


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("make", [streams.ADWIN, streams.PageHinkley, lambda: streams.KSWIN(seed=0)])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_numeric_detectors_reject_nan_and_inf(make, bad):
    with pytest.raises(ValueError, match="finite"):
        make().update(bad)


@pytest.mark.parametrize("make", [streams.ADWIN, streams.PageHinkley, lambda: streams.KSWIN(seed=0)])
@pytest.mark.parametrize("bad", ["1.0", None, [1.0], 1 + 2j])
def test_numeric_detectors_reject_non_numbers(make, bad):
    with pytest.raises(TypeError, match="x must be a real number"):
        make().update(bad)


@pytest.mark.parametrize("make", [streams.DDM, streams.EDDM])
@pytest.mark.parametrize("bad", [2, 0.5, -1, math.nan, "1", None])
def test_error_rate_detectors_reject_non_binary_values(make, bad):
    with pytest.raises(ValueError, match="0 .correct. or 1 .error."):
        make().update(bad)


def test_numeric_detectors_accept_ints_bools_and_numpy_scalars():
    detector = streams.ADWIN()
    for value in (1, True, np.float32(0.5), np.int64(2), np.float64(1.5)):
        detector.update(value)
    assert detector.width == 5 and detector.estimation == pytest.approx(6.0 / 5)


@pytest.mark.parametrize("delta", [0, 1, -0.1, 1.5, math.nan])
def test_adwin_delta_must_be_inside_0_1(delta):
    with pytest.raises(ValueError, match="delta"):
        streams.ADWIN(delta=delta)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: streams.ADWIN(clock=0), "clock"),
        (lambda: streams.ADWIN(max_buckets=0), "max_buckets"),
        (lambda: streams.ADWIN(min_window_length=0), "min_window_length"),
        (lambda: streams.ADWIN(grace_period=-1), "grace_period"),
        (lambda: streams.PageHinkley(mode="sideways"), "mode must be one of"),
        (lambda: streams.PageHinkley(alpha=0), "alpha"),
        (lambda: streams.PageHinkley(alpha=1.5), "alpha"),
        (lambda: streams.PageHinkley(threshold=0), "threshold"),
        (lambda: streams.PageHinkley(delta=-0.1), "delta"),
        (lambda: streams.PageHinkley(min_instances=0), "min_instances"),
        (lambda: streams.DDM(warning_threshold=3, drift_threshold=2), "drift_threshold"),
        (lambda: streams.EDDM(alpha=0.8, beta=0.9), "beta"),
        (lambda: streams.EDDM(alpha=1.2), "alpha"),
        (lambda: streams.KSWIN(window_size=50, stat_size=30), "window_size must be at least 2 \\* stat_size"),
        (lambda: streams.KSWIN(stat_size=0), "stat_size"),
        (lambda: streams.KSWIN(alpha=0), "alpha"),
    ],
)
def test_bad_parameters_raise_naming_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_parameter_types_raise_type_errors():
    with pytest.raises(TypeError, match="clock"):
        streams.ADWIN(clock=2.5)
    with pytest.raises(TypeError, match="seed"):
        streams.KSWIN(seed="abc")


def test_detect_checks_the_whole_stream_first():
    with pytest.raises(ValueError, match=r"stream contains NaN or infinite values \(1 of 3\)"):
        streams.detect(streams.ADWIN(), [1.0, math.nan, 2.0])
    with pytest.raises(ValueError, match="DDM takes a 0/1 error stream"):
        streams.detect(streams.DDM(), [0, 1, 2])
    with pytest.raises(TypeError, match="stream must hold numbers"):
        streams.detect(streams.ADWIN(), ["a", "b"])
    with pytest.raises(ValueError, match="1-D"):
        streams.detect(streams.ADWIN(), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="detector must be a drift detector"):
        streams.detect("ADWIN", [1.0])
    assert streams.detect(streams.ADWIN(), []) == []


def test_evaluate_detector_rejects_bad_arguments():
    runs = [np.zeros(100)] * 2
    with pytest.raises(TypeError, match="make_detector must be callable"):
        streams.evaluate_detector(streams.ADWIN(), runs, 50)
    with pytest.raises(ValueError, match="change_point .150. must be inside every stream"):
        streams.evaluate_detector(streams.ADWIN, runs, 150)
    with pytest.raises(ValueError, match="change_point"):
        streams.evaluate_detector(streams.ADWIN, runs, 0)
    with pytest.raises(ValueError, match="streams is empty"):
        streams.evaluate_detector(streams.ADWIN, [], 50)
    with pytest.raises(ValueError, match="one 1-D array"):
        streams.evaluate_detector(streams.ADWIN, np.zeros(100), 50)
    with pytest.raises(TypeError, match="make_detector\\(\\) must be a drift detector"):
        streams.evaluate_detector(lambda: None, runs, 50)


def test_page_hinkley_statistic_is_the_up_detectors_statistic_and_checks_its_input():
    values = mean_shift_stream(6, sizes=(300, 300), means=(0.0, 0.7), scales=(1.0, 1.0))
    detector = streams.PageHinkley(mode="up", threshold=1e9, alpha=0.99, delta=0.02)
    trajectory = []
    for value in values:
        detector.update(value)
        trajectory.append(detector.statistic)
    assert streams.page_hinkley_statistic(values, delta=0.02, alpha=0.99).tolist() == trajectory
    assert streams.page_hinkley_statistic([]).shape == (0,)
    with pytest.raises(ValueError, match="NaN"):
        streams.page_hinkley_statistic([1.0, math.nan])
    with pytest.raises(ValueError, match="alpha"):
        streams.page_hinkley_statistic([1.0], alpha=0)


@pytest.mark.parametrize(
    "values",
    [
        np.full(3000, 2.5),
        np.concatenate([np.full(1500, 1.0), np.full(1500, 1.0 + 1e-9)]) + np.random.default_rng(0).normal(0, 1e-12, 3000),
        1e6 + np.random.default_rng(1).normal(0, 1, 4000).round(1) * np.repeat([1, 3], 2000),
        (np.random.default_rng(2).random(6000) < np.repeat([0.1, 0.3, 0.1], 2000)).astype(float),
        # Outside [1e-100, 1e100] merges take the loop in river's exact order (no power-of-2
        # shortcut, which a subnormal or overflowing step would break).
        1e-300 * (np.random.default_rng(3).normal(0, 1, 4000) + np.repeat([0.0, 2.0], 2000)),
        1e150 * (np.random.default_rng(4).normal(0, 1, 4000) + np.repeat([0.0, 2.0], 2000)),
    ],
    ids=["constant", "almost constant", "large offset, variance change", "error rates", "tiny", "huge"],
)
def test_adwin_matches_river_on_streams_that_stress_rounding(values):
    # Sums of squares near zero, large magnitudes, ties: where a screen or a shortcut would
    # first disagree with river's arithmetic.
    for parameters in ({}, {"clock": 1, "min_window_length": 2, "delta": 0.1}):
        assert streams.detect(streams.ADWIN(**parameters), values) == river_indices(river_drift.ADWIN(**parameters), values)


@pytest.mark.parametrize("parameters", ADWIN_PARAMETERS, ids=["defaults", "sensitive", "strict"])
def test_adwin_detect_equals_calling_update_element_by_element(parameters):
    # detect() feeds ADWIN slices of the stream instead of calling update() per element; it
    # must leave the detector exactly as update() does, detections, resets and all.
    for seed in range(4):
        values = mean_shift_stream(seed).tolist()
        fast, slow = streams.ADWIN(**parameters), streams.ADWIN(**parameters)
        for start, stop in ((0, 2500), (2500, 2501), (2501, 6000)):  # resumes mid-stream too
            chunk = values[start:stop]
            expected = [start + i for i, x in enumerate(chunk) if slow.update(x)]
            assert [start + i for i in streams.detect(fast, chunk)] == expected
            assert (fast.width, fast.estimation, fast.variance, fast.n_buckets, fast.drift_detected) == (
                slow.width, slow.estimation, slow.variance, slow.n_buckets, slow.drift_detected
            )  # fmt: skip


def test_adwin_reading_its_state_between_updates_changes_nothing():
    # update() only appends; width, estimation, variance and n_buckets bring the pending
    # elements in first. Reading them at any element must match river and not move a detection.
    rng = np.random.default_rng(7)
    values = mean_shift_stream(7, sizes=(1500, 1500), means=(0.0, 1.0), scales=(1.0, 1.0)).tolist()
    for parameters in ({}, {"clock": 5, "max_buckets": 2, "grace_period": 3}):
        ours, theirs, untouched = (streams.ADWIN(**parameters), river_drift.ADWIN(**parameters),
                                   streams.ADWIN(**parameters))  # fmt: skip
        read_at = set(rng.choice(len(values), 300, replace=False).tolist())
        found, expected = [], []
        for index, value in enumerate(values):
            if ours.update(value):
                found.append(index)
            theirs.update(value)
            if theirs.drift_detected:
                expected.append(index)
            if index in read_at:
                assert ours.width == theirs.width, index
                assert ours.estimation == pytest.approx(theirs.estimation, rel=1e-12, abs=1e-12)
                assert ours.variance * ours.width == pytest.approx(theirs.variance, rel=1e-9, abs=1e-9)
                assert ours.n_buckets <= ours.max_buckets * (math.floor(math.log2(max(ours.width, 1))) + 1)
        assert found == expected == streams.detect(untouched, values)
        assert len(expected) >= 1


def river_order_cut_exists(detector):
    """River's cut test over every boundary of the detector's buckets, without any screen."""
    detector.n_buckets  # merge the pending elements as update() would before a check
    width, limit = detector._width, detector.min_window_length
    if width < 2 * limit:
        return False
    variance = detector._sq / width
    if variance < 0.0:
        return False
    delta_prime = math.log(2.0 * math.log(width) / detector.delta)
    n0, u0, u1 = 0.0, 0.0, detector._total
    totals = detector._totals
    for index in range(len(totals) - 1, -1, -1):
        size = float(2**index)
        row = totals[index] if index else totals[0][:-1]
        for bucket_total in row:
            n0 += size
            u0 += bucket_total
            u1 -= bucket_total
            n1 = width - n0
            if n1 < limit:
                return False
            if n0 >= limit:
                m = 1.0 / (n0 - limit + 1.0) + 1.0 / (n1 - limit + 1.0)
                gap = u0 / n0 - u1 / n1
                if abs(gap) > math.sqrt(2.0 * m * variance * delta_prime) + 2.0 / 3.0 * delta_prime * m:
                    return True
    return False


@pytest.mark.parametrize(
    "offset, scale, shift",
    [(0.0, 1.0, 0.8), (1e6, 1.0, 0.5), (-3e8, 10.0, 25.0), (1.0, 1e-9, 0.05), (5.0, 0.0, 0.0)],
    ids=["standard", "large offset", "huge negative offset", "tiny scale", "constant"],
)
def test_adwin_cut_screen_never_misses_a_cut_rivers_test_would_make(offset, scale, shift):
    # The screen in _some_cut_differs bounds each row's gaps from running sums and a rounding
    # allowance; it may only ever send more cuts to river's test, never fewer. Compare it with
    # the unscreened test on many windows, including ones just before and at a change.
    rng = np.random.default_rng(11)
    values = offset + scale * rng.normal(0.0, 1.0, 6000) + shift * np.repeat([0.0, 1.0, 0.0], 2000)
    for parameters in ({}, {"min_window_length": 1, "delta": 0.3}, {"max_buckets": 2, "min_window_length": 9}):
        detector = streams.ADWIN(clock=10**6, **parameters)  # never checks on its own
        agreements = positives = 0
        for index, value in enumerate(values.tolist()):
            detector.update(value)
            if index % 97 == 0 or 1990 <= index % 2000 or index % 2000 <= 40:
                expected = river_order_cut_exists(detector)
                assert detector._some_cut_differs() == expected, (parameters, index)
                agreements += 1
                positives += expected
        assert agreements > 100
        if shift:
            assert positives > 0, "the shifted stream must give cuts, or the test shows nothing"


# ------------------------------------------------------------------- ADWIN's batch path

def adwin_state(detector):
    """Everything a later update depends on: sums, every bucket and variance, flags."""
    detector.n_buckets  # brings pending elements in, as any read does
    exact = repr  # equal strings for equal floats, NaN included (nan != nan as floats)
    return (
        exact(detector._width), exact(detector._total), exact(detector._sq), detector.drift_detected,
        detector.n_detections, [list(map(exact, row)) for row in detector._totals],
        [row if row is None else list(map(exact, row)) for row in detector._variances],
    )  # fmt: skip


@pytest.fixture
def small_batches(monkeypatch):
    # update_many hands short inputs to the per-element path and splits long ones into blocks
    # of 1,024 checks; force the numpy path on every input and many block boundaries.
    monkeypatch.setattr(streams.ADWIN, "_BATCH_MINIMUM", 0)
    monkeypatch.setattr(streams.ADWIN, "_CHECKS_PER_BLOCK", 50)


def test_adwin_update_many_checks_its_input():
    with pytest.raises(ValueError, match=r"values contains NaN or infinite values \(1 of 3\)"):
        streams.ADWIN().update_many([1.0, math.inf, 2.0])
    with pytest.raises(TypeError, match="values must hold numbers"):
        streams.ADWIN().update_many(["a"])
    with pytest.raises(ValueError, match="values must be 1-D"):
        streams.ADWIN().update_many(np.zeros((4, 2)))
    detector = streams.ADWIN()
    assert detector.update_many([]) == [] and detector.width == 0


@pytest.mark.parametrize("max_buckets", [0, 1])
def test_adwin_needs_two_buckets_per_row(max_buckets):
    with pytest.raises(ValueError, match="max_buckets"):
        streams.ADWIN(max_buckets=max_buckets)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10**6),
    checks_per_block=st.sampled_from([1, 3, 1024]),
    block_elements=st.sampled_from([5, 64, 1 << 18]),
    delta=st.sampled_from([1e-4, 0.002, 0.05, 0.5]),
    clock=st.sampled_from([1, 2, 3, 7, 32, 33]),
    max_buckets=st.integers(2, 6),
    min_window_length=st.integers(1, 12),
    grace_period=st.sampled_from([0, 1, 9, 10, 11, 31, 32, 33, 100]),
    kind=st.sampled_from(["mean shifts", "error rates", "large offset", "tiny", "huge", "overflowing", "constant"]),
    chunks=st.lists(st.tuples(st.integers(1, 700), st.booleans()), min_size=1, max_size=12),
)
def test_adwin_update_many_equals_update_and_river(
    monkeypatch, seed, checks_per_block, block_elements, delta, clock, max_buckets, min_window_length,
    grace_period, kind, chunks,
):  # fmt: skip
    # Chunks of every length, fed by update_many or update in turn: detections inside a chunk
    # and at its last element, fresh windows after them, checks at the grace period's edges.
    monkeypatch.setattr(streams.ADWIN, "_BATCH_MINIMUM", 0)
    monkeypatch.setattr(streams.ADWIN, "_CHECKS_PER_BLOCK", checks_per_block)
    monkeypatch.setattr(streams.ADWIN, "_BLOCK_ELEMENTS", block_elements)  # blocks with no check too
    rng = np.random.default_rng(seed)
    n = sum(length for length, _ in chunks)
    levels = np.repeat(rng.normal(0.0, 2.0, 4), -(-n // 4))[:n]
    values = {
        "mean shifts": levels + rng.normal(0.0, 1.0, n),
        "error rates": (rng.random(n) < np.repeat(rng.random(4), -(-n // 4))[:n]).astype(float),
        "large offset": 1e6 + (levels + rng.normal(0.0, 1.0, n)).round(1),
        "tiny": 1e-300 * (levels + rng.normal(0.0, 1.0, n)),
        "huge": 1e150 * (levels + rng.normal(0.0, 1.0, n)),
        "overflowing": 1e307 * (levels + rng.normal(0.0, 1.0, n)),  # bucket sums become inf
        "constant": np.full(n, 2.5),
    }[kind]
    parameters = dict(delta=delta, clock=clock, max_buckets=max_buckets,
                      min_window_length=min_window_length, grace_period=grace_period)  # fmt: skip
    batched, single = streams.ADWIN(**parameters), streams.ADWIN(**parameters)
    found, expected, start = [], [], 0
    for length, by_batch in chunks:
        chunk = values[start : start + length]
        expected += [start + i for i, x in enumerate(chunk.tolist()) if single.update(x)]
        if by_batch:
            found += [start + i for i in batched.update_many(chunk)]
        else:
            found += [start + i for i, x in enumerate(chunk.tolist()) if batched.update(x)]
        assert found == expected
        assert adwin_state(batched) == adwin_state(single)
        start += length
    if kind != "overflowing":  # river's own state goes to inf/NaN there too, but compare it elsewhere
        assert expected == river_indices(river_drift.ADWIN(**parameters), values)


@pytest.mark.parametrize("parameters", ADWIN_PARAMETERS, ids=["defaults", "sensitive", "strict"])
def test_adwin_update_many_detects_inside_a_sequence_and_restarts(small_batches, parameters):
    for seed in range(3):
        values = mean_shift_stream(seed)
        expected = river_indices(river_drift.ADWIN(**parameters), values)
        assert len(expected) >= 2
        detector = streams.ADWIN(**parameters)
        assert detector.update_many(values) == expected
        # After the last detection the window holds exactly the elements after it.
        assert detector.width == len(values) - expected[-1] - 1
        repeat = streams.ADWIN(**parameters)
        assert repeat.update_many(values[: expected[0] + 1]) == [expected[0]]  # the last element
        assert repeat.drift_detected and repeat.update_many(values[expected[0] + 1 :]) == [
            index - expected[0] - 1 for index in expected[1:]
        ]  # fmt: skip


@pytest.mark.parametrize(
    "parameters",
    [{}, {"clock": 1, "min_window_length": 1, "delta": 0.3, "grace_period": 0}, {"clock": 5, "max_buckets": 2, "min_window_length": 9}],
)
def test_adwin_batch_screen_flags_every_check_rivers_test_would_cut(parameters):
    # The numpy test of update_many may flag more checks than river's test cuts (each flag is
    # decided by river's exact test), never fewer. Compare it, over one block without cuts,
    # with the unscreened test on a detector fed element by element that never checks.
    rng = np.random.default_rng(5)
    values = 3.0 + rng.normal(0.0, 1.0, 3000) + 0.8 * np.repeat([0.0, 1.0, 0.0], 1000)
    batched = streams.ADWIN(**parameters)
    with np.errstate(all="ignore"):  # as _update_block: cells that are no cut may divide by 0
        checks, totals, squares, queues, _ = batched._block_arrays(values)
        flagged = batched._cuts_at(checks, 0, totals, squares, queues).tolist()
    never_checks = streams.ADWIN(**{**parameters, "clock": 10**7})
    exact, fed = [], 0
    for check in checks.tolist():
        for value in values[fed:check].tolist():
            never_checks.update(value)
        fed = check
        exact.append(river_order_cut_exists(never_checks))
    assert sum(exact) > 10, "the stream must give cuts, or the test shows nothing"
    assert all(flag for flag, cut in zip(flagged, exact) if cut)
    assert sum(flagged) - sum(exact) <= 0.01 * len(exact)  # and the screen is tight
