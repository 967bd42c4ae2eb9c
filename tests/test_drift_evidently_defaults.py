"""Pin how drift_report's defaults relate to Evidently's (issue 10), as its Notes state.

Evidently's formulas (evidently 0.7.23, ``evidently/legacy/calculations/stattests``) are one
scipy call each on per-category shares: ``scipy.spatial.distance.jensenshannon(r, c)`` (natural
log), ``sum((r - c) * log(r / c))`` and ``scipy.stats.wasserstein_distance / max(std, 0.001)``,
so the comparisons below use scipy on the same shares. ``make bench PEERS=1`` compares the
flagged columns with the real Evidently, in its own environment.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.spatial.distance
import scipy.stats

from course_lib import drift


def the_issues_example() -> tuple[pd.DataFrame, pd.DataFrame]:
    reference = pd.DataFrame({"c": ["a"] * 5000 + ["b"] * 5000})
    current = pd.DataFrame({"c": ["a"] * 6200 + ["b"] * 3800})
    return reference, current


def test_js_is_base_2_and_evidentlys_is_sqrt_ln2_times_smaller():
    reference, current = the_issues_example()
    row = drift.drift_report(reference, current, method="js").table.iloc[0]
    shares_ref, shares_cur = np.array([0.5, 0.5]), np.array([0.62, 0.38])
    assert row["statistic"] == pytest.approx(scipy.spatial.distance.jensenshannon(shares_ref, shares_cur, base=2), rel=1e-12)
    evidently_value = scipy.spatial.distance.jensenshannon(shares_ref, shares_cur)  # Evidently: base=None
    assert evidently_value == pytest.approx(row["statistic"] * math.sqrt(math.log(2)), rel=1e-12)
    # The issue's numbers: 0.1028 here (drifted at 0.1), 0.0856 in Evidently (not drifted).
    assert round(row["statistic"], 4) == 0.1028 and row["drifted"]
    assert round(evidently_value, 4) == 0.0856 and evidently_value < 0.1


def test_the_documented_js_threshold_reproduces_evidentlys_decision():
    reference, current = the_issues_example()
    evidently_rule = drift.drift_report(reference, current, method="js", thresholds={"js": 0.1201})
    assert evidently_rule.drifted == []
    assert 0.1 / math.sqrt(math.log(2)) == pytest.approx(0.1201, abs=1e-4)


def test_categorical_psi_is_evidentlys_formula_on_the_same_shares():
    rng = np.random.default_rng(80)
    levels = np.array(["a", "b", "c", "d"])
    reference = pd.DataFrame({"c": rng.choice(levels, 4000)})
    current = pd.DataFrame({"c": rng.choice(levels, 3000, p=[0.4, 0.3, 0.2, 0.1])})
    row = drift.drift_report(reference, current, method="psi").table.iloc[0]
    r = reference["c"].value_counts(normalize=True).reindex(levels).to_numpy()
    c = current["c"].value_counts(normalize=True).reindex(levels).to_numpy()
    assert row["statistic"] == pytest.approx(np.sum((r - c) * np.log(r / c)), rel=1e-12)


def test_numeric_psi_and_js_use_reference_deciles_not_evidentlys_sturges_bins():
    rng = np.random.default_rng(81)
    reference = pd.DataFrame({"x": rng.normal(0.0, 1.0, 20_000)})
    current = pd.DataFrame({"x": rng.normal(0.2, 1.3, 20_000)})
    ours = drift.drift_report(reference, current, method="psi").table.iloc[0]["statistic"]
    edges = np.quantile(reference["x"], np.linspace(0, 1, 11)[1:-1])
    outer = np.concatenate(([-np.inf], edges, [np.inf]))
    r = np.maximum(np.histogram(reference["x"], outer)[0] / 20_000, 1e-4)
    c = np.maximum(np.histogram(current["x"], outer)[0] / 20_000, 1e-4)
    assert ours == pytest.approx(np.sum((c - r) * np.log(c / r)), rel=1e-12)
    sturges = np.histogram_bin_edges(np.concatenate([reference["x"], current["x"]]), bins="sturges")
    r_e = np.histogram(reference["x"], sturges)[0] / 20_000
    c_e = np.histogram(current["x"], sturges)[0] / 20_000
    r_e[r_e == 0], c_e[c_e == 0] = 1e-4, 1e-4
    evidently_psi = np.sum((r_e - c_e) * np.log(r_e / c_e))
    assert sturges.size - 1 == math.ceil(math.log2(40_000) + 1)  # Sturges: 17 equal-width bins
    assert abs(evidently_psi - ours) > 0.01  # same formula, other bins, another value


def test_wasserstein_is_normalised_as_evidently_except_for_a_constant_reference():
    rng = np.random.default_rng(82)
    reference = pd.DataFrame({"x": rng.normal(3.0, 2.0, 5000), "k": 7.0})
    current = pd.DataFrame({"x": rng.normal(3.5, 2.0, 6000), "k": 7.5})
    table = drift.drift_report(reference, current, method="wasserstein").table.set_index("column")
    evidently_x = scipy.stats.wasserstein_distance(reference["x"], current["x"]) / max(np.std(reference["x"]), 0.001)
    assert table.loc["x", "statistic"] == pytest.approx(evidently_x, rel=1e-12)
    # Evidently divides a constant reference's distance by 0.001 (here 500); the report says inf.
    assert table.loc["k", "statistic"] == math.inf and table.loc["k", "drifted"]


def test_auto_counts_the_larger_side_where_evidently_counts_the_reference():
    rng = np.random.default_rng(83)
    reference = pd.DataFrame({"x": rng.normal(0.0, 1.0, 800), "c": rng.choice(["a", "b", "c"], 800)})
    current = pd.DataFrame({"x": rng.normal(0.0, 1.0, 5000), "c": rng.choice(["a", "b", "c"], 5000)})
    table = drift.drift_report(reference, current).table.set_index("column")
    # Evidently (reference <= 1000): KS and chi-squared. Here max(800, 5000) > 1000: distances,
    # and PSI (Evidently: Jensen-Shannon) for the categorical column.
    assert table.loc["x", "method"] == "wasserstein" and table.loc["c", "method"] == "psi"
    assert drift.AUTO_TEST_MAX_N == 1000
    small = drift.drift_report(reference, current.iloc[:1000]).table.set_index("column")
    assert small.loc["x", "method"] == "ks" and small.loc["c", "method"] == "chi2"


def test_default_thresholds_are_pinned():
    assert drift.DEFAULT_THRESHOLDS == {"wasserstein": 0.1, "psi": 0.1, "js": 0.1}
