"""Tests for drift.data_quality_report: one crafted table per kind of problem.

Each problem kind is planted in an otherwise clean pair of tables, and the shares in the
report are compared with the same quantity computed directly with pandas/numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_lib import drift


@pytest.fixture(scope="module")
def clean():
    rng = np.random.default_rng(2026)
    n = 1000

    def table():
        return pd.DataFrame(
            {
                "age": rng.integers(18, 90, n),
                "income": rng.lognormal(10, 0.5, n),
                "plan": rng.choice(["basic", "standard", "premium"], n),
                "active": rng.uniform(size=n) < 0.7,
            }
        )

    return table(), table()


def problems_about(report, column):
    return [text for text in report.problems if f"column {column!r}" in text]


def test_clean_tables_have_no_problems(clean):
    reference, current = clean
    report = drift.data_quality_report(reference, current)
    assert report.ok and report.problems == []
    assert repr(report) == "DataQualityReport(ok: no problems in 4 columns)"
    table = report.table.set_index("column")
    assert not table["problem"].any()
    assert table.loc["age", "out_of_range"] == 0.0  # integers 18..89 on both sides
    expected = float(np.mean((current["income"] < reference["income"].min()) | (current["income"] > reference["income"].max())))
    assert table.loc["income", "out_of_range"] == pytest.approx(expected)
    assert 0 < expected < 0.01  # a few new extremes are normal, and not flagged
    assert table.loc["plan", "new_categories"] == () and np.isnan(table.loc["plan", "out_of_range"])
    assert table["dtype_reference"].tolist() == [str(reference[c].dtype) for c in reference.columns]


def test_schema_missing_and_extra_columns(clean):
    reference, current = clean
    current = current.drop(columns="income").assign(channel="web")
    report = drift.data_quality_report(reference, current)
    table = report.table.set_index("column")
    assert table.loc["income", "schema"] == "only in reference" and pd.isna(table.loc["income", "dtype_current"])
    assert table.loc["channel", "schema"] == "only in current" and pd.isna(table.loc["channel", "dtype_reference"])
    assert problems_about(report, "income") == ["column 'income' is missing from current"]
    # the new column is also constant, but only the schema problem is reported for it
    assert problems_about(report, "channel") == ["column 'channel' is new in current (not in reference)"]
    assert list(table.index) == ["age", "income", "plan", "active", "channel"]


def test_dtype_change_numbers_read_as_text(clean):
    reference, current = clean
    current = current.assign(age=current["age"].astype(str))
    report = drift.data_quality_report(reference, current)
    row = report.table.set_index("column").loc["age"]
    assert row["schema"] == "dtype changed" and bool(row["problem"])
    assert problems_about(report, "age")[0] == (
        f"column 'age' changed dtype: {reference['age'].dtype} in reference, {current['age'].dtype} in current"
    )
    # numbers against text: neither a range nor a category comparison makes sense
    assert np.isnan(row["out_of_range"]) and row["new_categories"] == ()


def test_missing_values_appear_or_rise(clean):
    reference, current = clean
    income = current["income"].copy()
    income.iloc[:3] = np.nan  # 3 of 1000: the reference had none, so it is a problem
    plan = current["plan"].astype(object).copy()
    plan.iloc[:300] = None  # 30%
    report = drift.data_quality_report(reference, current.assign(income=income, plan=plan))
    table = report.table.set_index("column")
    assert table.loc["income", "missing_current"] == pytest.approx(income.isna().mean())
    assert table.loc["plan", "missing_current"] == pytest.approx(0.3)
    assert table.loc["income", "dtype_current"] == "float64" and table.loc["income", "schema"] == ""
    assert problems_about(report, "income") == ["column 'income': missing share rose from 0.0% to 0.3%"]
    assert "column 'plan': missing share rose from 0.0% to 30.0%" in problems_about(report, "plan")


def test_missing_share_rise_needs_to_be_significant_when_the_reference_had_gaps():
    rng = np.random.default_rng(3)
    values = rng.normal(size=1000)
    ref = values.copy()
    ref[:100] = np.nan  # 10% missing
    small = values.copy()
    small[:110] = np.nan  # 11%: within chance
    large = values.copy()
    large[:200] = np.nan  # 20%: not chance
    fewer = values.copy()
    fewer[:50] = np.nan  # fewer gaps is not a quality problem
    reference = pd.DataFrame({"x": ref})
    assert drift.data_quality_report(reference, pd.DataFrame({"x": small})).ok
    assert drift.data_quality_report(reference, pd.DataFrame({"x": fewer})).ok
    report = drift.data_quality_report(reference, pd.DataFrame({"x": large}))
    assert report.problems == ["column 'x': missing share rose from 10.0% to 20.0%"]


def test_infinite_values_count_as_missing_like_the_drift_report():
    reference = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    current = pd.DataFrame({"x": [1.0, np.inf, -np.inf, 2.0]})
    quality = drift.data_quality_report(reference, current).table.set_index("column")
    report = drift.drift_report(reference, current).table.set_index("column")
    assert quality.loc["x", "missing_current"] == report.loc["x", "missing_current"] == 0.5


def test_every_value_missing_in_current(clean):
    reference, current = clean
    report = drift.data_quality_report(reference, current.assign(income=np.nan))
    assert problems_about(report, "income") == ["column 'income': every value is missing in current"]
    assert report.table.set_index("column").loc["income", "missing_current"] == 1.0


def test_out_of_range_values(clean):
    reference, current = clean
    age = current["age"].copy()
    age.iloc[:50] = age.iloc[:50] + 1000  # a unit change in 5% of the rows
    report = drift.data_quality_report(reference, current.assign(age=age))
    share = float(np.mean((age < reference["age"].min()) | (age > reference["age"].max())))
    assert report.table.set_index("column").loc["age", "out_of_range"] == pytest.approx(share)
    low, high = reference["age"].min(), reference["age"].max()
    assert problems_about(report, "age") == [
        f"column 'age': {100 * share:.1f}% of current values lie outside the reference range [{low:g}, {high:g}]"
    ]


def test_out_of_range_tolerance_grows_for_small_references():
    reference = pd.DataFrame({"x": np.arange(10.0)})
    one_outside = pd.DataFrame({"x": [*np.linspace(0, 9, 20), 12.0]})  # 1 of 21 outside
    report = drift.data_quality_report(reference, one_outside)
    assert report.table.loc[0, "out_of_range"] == pytest.approx(1 / 21)
    assert report.ok  # 2 / 11 of new extremes are expected from 10 reference values
    many_outside = pd.DataFrame({"x": np.linspace(5, 20, 20)})
    assert not drift.data_quality_report(reference, many_outside).ok


def test_new_categories(clean):
    reference, current = clean
    plan = current["plan"].astype(object).copy()
    plan.iloc[:100] = "enterprise"
    plan.iloc[100:102] = "trial"
    report = drift.data_quality_report(reference, current.assign(plan=plan))
    row = report.table.set_index("column").loc["plan"]
    assert row["new_categories"] == ("enterprise", "trial")
    assert problems_about(report, "plan") == [
        "column 'plan': categories not seen in reference: 'enterprise' (10.0%), 'trial' (0.2%)"
    ]


def test_new_categories_in_categorical_and_boolean_columns():
    reference = pd.DataFrame({"tier": pd.Categorical(["a", "b", "a"]), "flag": [True, True, False]})
    current = pd.DataFrame({"tier": pd.Categorical(["a", "c", "c"]), "flag": [True, False, False]})
    report = drift.data_quality_report(reference, current)
    assert report.table.set_index("column").loc["tier", "new_categories"] == ("c",)
    assert problems_about(report, "flag") == []
    many = pd.DataFrame({"tier": [f"t{i}" for i in range(8)]})
    text = drift.data_quality_report(pd.DataFrame({"tier": ["a", "b"]}), many).problems[0]
    assert text.endswith("'t4' (12.5%) and 3 more")


def test_constant_columns(clean):
    reference, current = clean
    report = drift.data_quality_report(reference.assign(region="north"), current.assign(region="north", active=False))
    table = report.table.set_index("column")
    assert table.loc["region", "constant_reference"] and table.loc["region", "constant_current"]
    assert problems_about(report, "region") == [
        "column 'region' is constant in reference (value 'north'): it carries no information"
    ]
    assert not table.loc["active", "constant_reference"] and table.loc["active", "constant_current"]
    assert problems_about(report, "active") == [
        "column 'active' is constant in current (value False) but varied in reference"
    ]


def test_constant_numeric_column_message_reads_as_a_plain_number():
    reference = pd.DataFrame({"discount": [0.0, 0.1, 0.2, 0.1]})
    current = pd.DataFrame({"discount": np.zeros(4)})  # a default filled in upstream
    report = drift.data_quality_report(reference, current)
    assert report.problems == ["column 'discount' is constant in current (value 0.0) but varied in reference"]


def test_report_reads_and_renders(clean, tmp_path):
    reference, current = clean
    current = current.assign(plan=current["plan"].replace({"premium": "<gold>"}), extra=1.0)
    report = drift.data_quality_report(reference, current)
    assert not report.ok
    text = repr(report)
    assert text.startswith(f"DataQualityReport({len(report.problems)} problems in 2 of 5 columns:")
    for problem in report.problems:
        assert f"\n  - {problem}" in text
    page = report.to_html(tmp_path / "quality.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<h1>Data quality report</h1>" in page
    assert "&#x27;&lt;gold&gt;&#x27;" in page and "<gold>" not in page  # escaped
    assert page.count('<tr class="drifted">') == 2
    assert "<li>" in report._repr_html_()
    with pytest.raises(ValueError, match="path's folder"):
        report.to_html(tmp_path / "missing" / "quality.html")
    with pytest.raises(AttributeError):
        report.table = None  # frozen


def test_mappings_columns_and_empty_tables(clean):
    reference, current = clean
    as_mappings = drift.data_quality_report(
        {name: reference[name].tolist() for name in reference}, {name: current[name].to_numpy() for name in current}
    )
    pd.testing.assert_frame_equal(as_mappings.table, drift.data_quality_report(reference, current).table)
    subset = drift.data_quality_report(reference, current, columns=["plan"])
    assert subset.table["column"].tolist() == ["plan"]
    assert drift.data_quality_report(reference, current, columns="plan").table["column"].tolist() == ["plan"]
    empty = drift.data_quality_report(reference, current.iloc[:0])
    assert empty.problems[0] == "current has no rows"
    assert empty.table["missing_current"].isna().all()


@pytest.mark.parametrize(
    ("reference", "current", "kwargs", "error", "message"),
    [
        (np.zeros((3, 2)), {"a": [1]}, {}, TypeError, "reference must be a pandas DataFrame; got ndarray"),
        ({"a": [1]}, "table", {}, TypeError, "current must be a pandas DataFrame; got str"),
        ({"a": [1, 2]}, {"a": [1], "b": [1, 2]}, {}, ValueError, "current's columns must have the same length"),
        ({"a": [1]}, {"a": [1]}, {"columns": ["b"]}, ValueError, r"columns \['b'\] are in neither"),
        ({"a": 1}, {"a": [1]}, {}, TypeError, r"reference\['a'\] must be a sequence of values"),
    ],
)
def test_bad_inputs(reference, current, kwargs, error, message):
    with pytest.raises(error, match=message):
        drift.data_quality_report(reference, current, **kwargs)
