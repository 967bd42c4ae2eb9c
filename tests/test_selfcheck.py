"""The learner's self-check: what it prints and returns for right, wrong and missing answers."""

from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
import pytest

from course_lib.grading import answer_or_reference, check, run_cases
from course_lib.grading.compare import compare, describe_inputs
from course_lib.simulate import windowed_mean


def test_a_correct_answer_passes(capsys):
    result = check("01.windowed_mean", windowed_mean)
    assert result.status == "passed" and result.passed == result.total == 4
    assert capsys.readouterr().out.startswith("✔ 01.windowed_mean: all 4 public cases pass")


def test_a_known_mistake_gets_its_specific_hint(capsys):
    def with_partial_window(values, window):
        values = np.asarray(values, dtype=float)
        return np.array([values[i : i + window].mean() for i in range(0, len(values), window)])

    result = check("01.windowed_mean", with_partial_window)
    out = capsys.readouterr().out
    assert result.status == "failed" and result.passed == 3
    assert "case 2 (a last, partial window to leave out): expected shape (2,), got shape (3,)" in out
    assert "hint: your last window is shorter than the others" in out


def test_an_exception_in_the_answer_is_reported_not_raised(capsys):
    def broken(values, window):
        return 1 / 0

    result = check("01.windowed_mean", broken)
    assert result.status == "failed" and result.passed == 0
    assert "raised ZeroDivisionError: division by zero" in capsys.readouterr().out


def test_a_stub_is_not_attempted(capsys):
    def stub(values, window):
        raise NotImplementedError("write your answer here")

    assert check("01.windowed_mean", stub).status == "not attempted"
    assert "not attempted yet" in capsys.readouterr().out
    assert check("01.windowed_mean", None, quiet=True).status == "not attempted"


def test_a_value_where_a_function_is_expected(capsys):
    result = check("01.windowed_mean", 3.0)
    assert result.status == "failed"
    assert "expected a function, got 3" in capsys.readouterr().out


def test_an_answer_that_modifies_its_input_cannot_fool_the_reference():
    def mutating(values, window):
        expected = windowed_mean(values, window)
        if isinstance(values, np.ndarray):
            values[:] = 0.0
        return expected

    assert check("01.windowed_mean", mutating, quiet=True).status == "passed"


def test_unknown_exercise_id_lists_valid_ids():
    with pytest.raises(ValueError, match="valid ids are: 01.windowed_mean"):
        check("01.windowed_means", windowed_mean)


def test_answer_or_reference_keeps_a_passing_answer(capsys):
    assert answer_or_reference("01.windowed_mean", windowed_mean) is windowed_mean
    assert capsys.readouterr().out == ""


def test_answer_or_reference_falls_back_visibly(capsys):
    def wrong(values, window):
        return np.zeros(1)

    fallback = answer_or_reference("01.windowed_mean", wrong)
    assert fallback is windowed_mean
    assert "does not pass its checks yet" in capsys.readouterr().out


def test_result_repr_is_short_and_readable():
    result = check("01.windowed_mean", windowed_mean, quiet=True)
    assert repr(result) == "CheckResult(exercise_id='01.windowed_mean', status='passed', passed=4, total=4)"
    assert result.score == 1.0


@dataclass(frozen=True)
class Result:
    statistic: float
    pvalue: float


Pair = namedtuple("Pair", "statistic pvalue")


@pytest.mark.parametrize(
    ("expected", "got", "ok"),
    [
        (0.3, 0.1 + 0.2, True),
        (0.3, 0.31, False),
        (1, 1.0, True),
        (float("nan"), math.nan, True),
        (True, np.True_, True),
        (True, 1, False),
        ("Covariate", " covariate ", True),
        ("covariate", "concept", False),
        ([1.0, 2.0], np.array([1.0, 2.0]), True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        (Result(0.2, 0.5), Pair(0.2, 0.5), True),
        (Result(0.2, 0.5), (0.2, 0.6), False),
        (np.array([1.0, 2.0]), [1.0, 2.0, 3.0], False),
        (2.0, "2.0", False),
    ],
)
def test_compare(expected, got, ok):
    assert compare(expected, got).ok is ok


def test_compare_says_where_arrays_differ():
    detail = compare(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 3.0])).detail
    assert detail == "1 of 3 values differ; first at index 1: expected 2, got 2.5"


def test_compare_pandas_frames():
    import pandas as pd

    frame = pd.DataFrame({"x": [1.0, 2.0]})
    assert compare(frame, frame.copy()).ok
    assert not compare(frame, frame.assign(x=[1.0, 3.0])).ok
    assert not compare(frame, frame["x"]).ok


def test_hidden_inputs_are_described_by_shape_only():
    text = describe_inputs((np.arange(5.0), [1, 2]), {"now": 3.5})
    assert text == "(ndarray(5,), list[2], now=float)"


def _puzzle(reveal: bool):
    from course_lib.grading import Case, Exercise, Mistake

    key = {"A": "covariate", "B": "prior"}
    return Exercise(
        id="01.puzzle_for_tests",
        title="not registered",
        kind="value",
        reference="course_lib.simulate:make_tabular",  # never called: the cases carry their answer
        public_cases=lambda: [Case(f"batch {k}", expected=key, has_expected=True, entry=k) for k in key],
        mistakes=(Mistake("prior keeps P(X|Y)", test=lambda case, got: case.entry == "B" and got.get("B") == "covariate"),),
        reveal_expected=reveal,
    )


def test_entry_cases_give_partial_credit_and_hide_the_answer_when_asked():
    exercise = _puzzle(reveal=False)
    result = run_cases(exercise, {"A": "covariate", "B": "covariate"}, exercise.public_cases())
    assert (result.status, result.passed, result.total) == ("failed", 1, 2)
    failed = result.outcomes[1]
    assert failed.detail == "for 'B', 'covariate' is not the right answer"
    assert "prior" not in failed.detail and failed.hint == "prior keeps P(X|Y)"


def test_entry_cases_show_the_expected_value_by_default():
    exercise = _puzzle(reveal=True)
    result = run_cases(exercise, {"A": "covariate", "B": "concept"}, exercise.public_cases())
    assert result.outcomes[1].detail == "expected 'prior', got 'concept'"


def test_a_missing_entry_is_named():
    exercise = _puzzle(reveal=False)
    result = run_cases(exercise, {"A": "covariate"}, exercise.public_cases())
    assert result.outcomes[1].detail == "your answer has no entry 'B': answer with a dict"
    assert run_cases(exercise, "covariate", exercise.public_cases()).passed == 0


def test_a_hint_shared_by_several_failing_cases_is_printed_once(capsys):
    def constant(values, window):
        return np.array([0.0])

    result = check("01.windowed_mean", constant)
    out = capsys.readouterr().out
    assert result.passed == 0 and out.count("  case ") == 4
    hints = [line for line in out.splitlines() if line.strip().startswith("hint:")]
    assert len(hints) == len(set(hints)) >= 1


def test_one_case_is_reported_in_the_singular(capsys):
    """Issue 8, item 7: "all 1 public cases pass"."""
    check("02.choose_correction", "holm")
    assert capsys.readouterr().out.strip() == "✔ 02.choose_correction: the public case passes."
    check("02.choose_correction", "fdr_bh")
    assert capsys.readouterr().out.startswith("✘ 02.choose_correction: the public case fails.")


def test_the_fallback_notice_reads_as_a_sentence(capsys):
    answer_or_reference("01.windowed_mean", lambda values, window: -1.5)
    out = capsys.readouterr().out
    assert "Note: 01.windowed_mean does not pass its checks yet, so the cells below use" in out
    assert " is does " not in out
