"""Tests for course_lib.drift: the drift report against scipy, and the seed's heuristics."""

from __future__ import annotations

import base64
import math
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from course_lib import drift, stats


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(2026)
    n = 600
    reference = pd.DataFrame(
        {
            "shifted": rng.normal(0, 1, n),
            "stable": rng.normal(5, 2, n),
            "plan": rng.choice(["basic", "pro", "team"], n, p=[0.6, 0.3, 0.1]),
            "with_gaps": rng.normal(0, 1, n),
            "retired": rng.normal(size=n),
        }
    )
    current = pd.DataFrame(
        {
            "shifted": rng.normal(0.6, 1, n),
            "stable": rng.normal(5, 2, n),
            "plan": rng.choice(["basic", "pro", "team", "enterprise"], n, p=[0.3, 0.3, 0.1, 0.3]),
            "with_gaps": np.where(rng.uniform(size=n) < 0.3, np.nan, rng.normal(0, 1, n)),
            "launched": rng.normal(size=n),
        }
    )
    return reference, current


def _row(report, column):
    return report.table.set_index("column").loc[column]


def test_report_rows_match_scipy(frames):
    reference, current = frames
    report = drift.drift_report(reference, current, correction=None)
    for column in ("shifted", "stable"):
        row = _row(report, column)
        expected = scipy.stats.ks_2samp(reference[column], current[column])
        assert row["method"] == "ks" and row["kind"] == "numeric"
        assert row["statistic"] == pytest.approx(expected.statistic, abs=1e-12)
        assert row["pvalue"] == pytest.approx(expected.pvalue, rel=1e-9)
        distance = scipy.stats.wasserstein_distance(reference[column], current[column])
        assert row["effect_size"] == pytest.approx(distance / np.std(reference[column]), rel=1e-12)
        assert row["effect_measure"] == "wasserstein_normed"
    plan = _row(report, "plan")
    table = pd.crosstab(
        np.r_[["ref"] * len(reference), ["cur"] * len(current)],
        np.r_[reference["plan"].to_numpy(), current["plan"].to_numpy()],
    )
    expected = scipy.stats.chi2_contingency(table.to_numpy())
    assert plan["method"] == "chi2" and plan["kind"] == "categorical"
    assert plan["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert plan["pvalue"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert plan["effect_size"] == pytest.approx(stats.psi(reference["plan"], current["plan"]), rel=1e-12)
    assert plan["effect_measure"] == "psi"
    assert report.drifted == ["shifted", "plan"]


def test_missing_values_are_reported_not_dropped_silently(frames):
    reference, current = frames
    report = drift.drift_report(reference, current)
    gaps = _row(report, "with_gaps")
    missing = current["with_gaps"].isna()
    assert gaps["missing_reference"] == 0.0
    assert gaps["missing_current"] == pytest.approx(missing.mean())
    assert bool(gaps["missing_changed"]) is True
    assert gaps["n_current"] == (~missing).sum()
    expected = scipy.stats.ks_2samp(reference["with_gaps"], current["with_gaps"].dropna())
    assert gaps["pvalue"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert bool(_row(report, "stable")["missing_changed"]) is False


def test_missing_share_unchanged_is_not_flagged():
    rng = np.random.default_rng(1)
    values = rng.normal(size=2000)
    values[::10] = np.nan
    other = rng.normal(size=2000)
    other[5::10] = np.nan
    report = drift.drift_report(pd.DataFrame({"x": values}), pd.DataFrame({"x": other}))
    row = _row(report, "x")
    assert row["missing_reference"] == row["missing_current"] == pytest.approx(0.1)
    assert bool(row["missing_changed"]) is False


def test_columns_on_one_side_are_reported(frames):
    reference, current = frames
    report = drift.drift_report(reference, current)
    assert report.schema_changes == ["retired", "launched"]
    assert _row(report, "retired")["note"] == "only in reference"
    assert _row(report, "launched")["note"] == "only in current"
    assert not bool(_row(report, "launched")["drifted"])
    assert report.compared == ["shifted", "stable", "plan", "with_gaps"]
    assert report.share_drifted == pytest.approx(len(report.drifted) / 4)


def test_empty_and_mismatched_columns_are_reported():
    reference = pd.DataFrame({"gone": [1.0, 2.0, 3.0], "kind": [1.0, 2.0, 3.0]})
    current = pd.DataFrame({"gone": [np.nan, np.nan], "kind": ["a", "b"]})
    report = drift.drift_report(reference, current)
    assert _row(report, "gone")["note"] == "no values in current"
    assert _row(report, "gone")["missing_current"] == 1.0
    assert _row(report, "kind")["note"] == "numeric in reference, categorical in current"
    assert report.compared == [] and report.share_drifted == 0.0


@pytest.mark.parametrize("correction", ["bonferroni", "holm", "fdr_bh", None])
def test_correction_is_applied_across_tested_columns(frames, correction):
    reference, current = frames
    report = drift.drift_report(reference, current, correction=correction, alpha=0.01)
    tested = report.table[report.table["pvalue"].notna()]
    expected = stats.adjust_pvalues(tested["pvalue"].to_numpy(), correction)
    np.testing.assert_allclose(tested["pvalue_adjusted"], expected, rtol=1e-12)
    np.testing.assert_array_equal(tested["drifted"], expected < 0.01)


def test_bonferroni_removes_a_marginal_detection():
    # Two columns: one with p of about 0.03 on its own. Uncorrected it drifts; with
    # Bonferroni over two tests (p * 2 > 0.05) it does not.
    rng = np.random.default_rng(4)
    found = None
    for _ in range(200):
        reference = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
        current = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
        p = scipy.stats.ks_2samp(reference["a"], current["a"]).pvalue
        if 0.025 < p < 0.05 and scipy.stats.ks_2samp(reference["b"], current["b"]).pvalue > 0.1:
            found = reference, current
            break
    assert found is not None
    assert drift.drift_report(*found, correction=None).drifted == ["a"]
    assert drift.drift_report(*found, correction="bonferroni").drifted == []


def test_auto_picks_by_kind_and_size_and_says_so():
    rng = np.random.default_rng(9)
    small = drift.drift_report(
        pd.DataFrame({"x": rng.normal(size=1000), "c": rng.choice(list("ab"), 1000)}),
        pd.DataFrame({"x": rng.normal(size=900), "c": rng.choice(list("ab"), 900)}),
    )
    assert small.table["method"].tolist() == ["ks", "chi2"]
    assert small.table["note"].tolist() == ["auto: numeric, n <= 1000", "auto: categorical, n <= 1000"]
    reference = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(list("ab"), 5000)})
    current = pd.DataFrame({"x": rng.normal(0.5, 1, size=5000), "c": rng.choice(list("ab"), 5000)})
    large = drift.drift_report(reference, current)
    assert large.table["method"].tolist() == ["wasserstein", "psi"]
    assert large.table["note"].tolist() == ["auto: numeric, n > 1000", "auto: categorical, n > 1000"]
    x = _row(large, "x")
    expected = scipy.stats.wasserstein_distance(reference["x"], current["x"]) / np.std(reference["x"])
    assert x["statistic"] == pytest.approx(expected, rel=1e-12)
    assert expected >= 0.1 and bool(x["drifted"]) is True
    assert x["rule"] == "wasserstein >= 0.1" and math.isnan(x["pvalue"])
    assert large.drifted == ["x"]


def test_explicit_methods_thresholds_and_fallback():
    rng = np.random.default_rng(10)
    reference = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(list("abc"), 400)})
    current = pd.DataFrame({"x": rng.normal(0.3, 1, size=400), "c": rng.choice(list("abc"), 400)})
    report = drift.drift_report(reference, current, method="psi", thresholds={"psi": 0.05})
    x = _row(report, "x")
    assert x["statistic"] == pytest.approx(stats.psi(reference["x"], current["x"]), rel=1e-12)
    assert x["rule"] == "psi >= 0.05"
    js = drift.drift_report(reference, current, method={"c": "js"})
    assert _row(js, "c")["statistic"] == pytest.approx(stats.js_distance(reference["c"], current["c"]), rel=1e-12)
    assert _row(js, "x")["method"] == "ks"
    fallback = drift.drift_report(reference, current, method="ks")
    assert _row(fallback, "c")["method"] == "chi2"
    assert _row(fallback, "c")["note"] == "ks does not apply to categorical columns; used chi2"


def test_columns_selects_and_orders():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    assert drift.drift_report(frame, frame, columns=["b"]).table["column"].tolist() == ["b"]


@pytest.mark.parametrize(
    ("options", "error", "fragment"),
    [
        ({"alpha": 1.5}, ValueError, "alpha must be strictly between 0 and 1"),
        ({"correction": "sidak"}, ValueError, "correction must be one of"),
        ({"method": "anderson"}, ValueError, "method must be one of"),
        ({"method": {"a": "anderson"}}, ValueError, r"method\['a'\] must be one of"),
        ({"method": {"zzz": "ks"}}, ValueError, "method names column 'zzz'"),
        ({"columns": ["zzz"]}, ValueError, r"columns \['zzz'\] are in neither"),
        ({"thresholds": {"ks": 0.1}}, ValueError, "thresholds key must be one of"),
        ({"thresholds": {"psi": -1}}, ValueError, r"thresholds\['psi'\] must be a finite number >= 0"),
    ],
)
def test_bad_report_options_are_named(options, error, fragment):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    with pytest.raises(error, match=fragment):
        drift.drift_report(frame, frame, **options)


def test_report_needs_data_frames():
    with pytest.raises(TypeError, match="reference must be a pandas DataFrame; got ndarray"):
        drift.drift_report(np.zeros((3, 2)), pd.DataFrame({"a": [1.0]}))
    duplicated = pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])
    with pytest.raises(ValueError, match="current has duplicate column names"):
        drift.drift_report(pd.DataFrame({"a": [1.0]}), duplicated)


def test_plot_draws_one_panel_per_compared_column(frames):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reference, current = frames
    report = drift.drift_report(reference, current)
    fig = report.plot()
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(report.compared)
    assert "shifted: ks" in visible[0].get_title() and "DRIFT" in visible[0].get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="were not compared"):
        report.plot(["retired"])


def test_to_html_writes_one_self_contained_file(frames, tmp_path):
    reference, current = frames
    reference = reference.rename(columns={"stable": "<b>stable</b>"})
    current = current.rename(columns={"stable": "<b>stable</b>"})
    report = drift.drift_report(reference, current)
    path = report.to_html(tmp_path / "report.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(report.compared)
    assert all(base64.b64decode(image).startswith(b"\x89PNG\r\n\x1a\n") for image in images)
    assert not re.search(r"<script|<link|https?://|@import|url\(", page)
    assert "&lt;b&gt;stable&lt;/b&gt;" in page and "<b>stable</b>" not in page
    assert page.count('class="drifted"') == len(report.drifted)
    assert "launched" in page and "only in current" in page
    with pytest.raises(ValueError, match="path's folder"):
        report.to_html(tmp_path / "missing" / "report.html")


def test_report_repr_and_html_repr(frames):
    report = drift.drift_report(*frames)
    assert repr(report).startswith("DriftReport(2 of 4 columns drifted")
    assert "<table>" in report._repr_html_()


def test_importing_drift_does_not_import_matplotlib():
    code = "import sys, course_lib.drift; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# ----------------------------------------------------------------- the seed's heuristic


def test_compute_mean_drift_by_hand():
    baseline = pd.Series([1.0, 2.0, 3.0, 4.0], name="tenure")
    current = [2.0, 3.0, 4.0, 5.5]
    result = drift.compute_mean_drift(baseline, current)
    expected = abs(np.mean(current) - 2.5) / np.std([1.0, 2.0, 3.0, 4.0], ddof=1)
    assert result.feature == "tenure"
    assert result.score == pytest.approx(expected)
    assert result.drifted is True and result.note == ""
    assert drift.compute_mean_drift(baseline, current, threshold=2.0).drifted is False
    assert drift.compute_mean_drift([1.0, 2.0], [1.0, 2.0], feature="x").feature == "x"


def test_compute_mean_drift_constant_baseline():
    same = drift.compute_mean_drift([3.0, 3.0, 3.0], [3.0, 3.0])
    assert (same.score, same.drifted, same.note) == (0.0, False, "constant baseline")
    moved = drift.compute_mean_drift([3.0], [3.5])
    assert (moved.score, moved.drifted, moved.note) == (math.inf, True, "constant baseline")


def test_compute_mean_drift_bad_input():
    with pytest.raises(ValueError, match="threshold must be a finite number >= 0"):
        drift.compute_mean_drift([1.0], [1.0], threshold=-0.1)
    with pytest.raises(ValueError, match="baseline is empty"):
        drift.compute_mean_drift([], [1.0])
    with pytest.raises(ValueError, match="current contains NaN"):
        drift.compute_mean_drift([1.0], [np.nan])


def test_detect_drift_across_features_names_each_feature():
    baseline = pd.DataFrame({"age": [30.0, 40.0, 50.0, np.nan], "flat": [1.0] * 4, "city": list("abcd"),
                             "old": [1.0, 2.0, 3.0, 4.0]})  # fmt: skip
    current = pd.DataFrame({"age": [45.0, 55.0, 65.0, 60.0], "flat": [1.0] * 4, "city": list("abcd"),
                            "new": [1.0, 2.0, 3.0, 4.0]})  # fmt: skip
    table = drift.detect_drift_across_features(baseline, current, threshold=0.5)
    assert table["feature"].tolist() == ["age", "flat", "old", "new"]
    age = table.set_index("feature").loc["age"]
    assert age["score"] == pytest.approx(abs(np.mean([45.0, 55.0, 65.0, 60.0]) - 40.0) / 10.0)
    assert bool(age["drifted"]) and age["n_missing"] == 1
    flat = table.set_index("feature").loc["flat"]
    assert flat["score"] == 0.0 and flat["note"] == "constant baseline" and not bool(flat["drifted"])
    assert table.set_index("feature").loc["old", "note"] == "only in baseline"
    assert table.set_index("feature").loc["new", "note"] == "only in current"
    with pytest.raises(TypeError, match="baseline_frame must be a pandas DataFrame"):
        drift.detect_drift_across_features([1.0], current)
