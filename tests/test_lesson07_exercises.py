"""Lesson 07's exercises: the references agree with the course's tools and with the executed
solution notebook, every known mistake fails a public case with its own hint, and answers written
as a learner would write them get the right feedback."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from conftest import ROOT
from course_lib import streams
from course_lib.grading import get_exercise, run_cases
from course_lib.grading.exercises import lesson07

IDS = ["07.alert_day", "07.drift_onset", "07.drifted_features", "07.choose_policy"]
NOTEBOOK = ROOT / "notebooks" / "solutions" / "07_capstone.ipynb"


def _outputs() -> str:
    notebook = json.loads(NOTEBOOK.read_text())
    texts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


def _failing_hints(exercise_id, answer):
    exercise = get_exercise(exercise_id)
    result = run_cases(exercise, answer, exercise.public_cases())
    assert result.status == "failed", result.report()
    return {outcome.hint for outcome in result.outcomes if not outcome.passed}


def test_four_exercises_two_of_them_judgements():
    assert [get_exercise(ident).id for ident in IDS] == IDS
    assert [ident for ident in IDS if get_exercise(ident).kind == "value"] == ["07.drifted_features", "07.choose_policy"]


@pytest.mark.parametrize("ident", IDS)
def test_every_known_mistake_fails_a_public_case_with_its_own_hint(ident):
    exercise = get_exercise(ident)
    assert len(exercise.mistakes) >= 3
    for mistake in exercise.mistakes:
        answer = mistake.wrong() if exercise.kind == "value" else mistake.wrong
        hints = _failing_hints(ident, answer)
        assert mistake.hint in hints
        assert not hints - {mistake.hint, exercise.hint}


# --- 07.alert_day -----------------------------------------------------------------------------


def test_alert_day_follows_adwin_on_a_stream_with_a_jump():
    rng = np.random.default_rng(5)
    errors = np.r_[rng.random(600) < 0.2, rng.random(600) < 0.6].astype(int)
    index = streams.detect(streams.ADWIN(), errors)[0]
    assert 600 < index < 700
    assert lesson07.first_alert_day(errors, label_delay=14, first_day=8000) == 8000 + index + 14
    assert lesson07.first_alert_day(np.zeros(300, int), label_delay=14, first_day=8000) == -1


def test_alert_day_written_as_a_learner_would_without_the_delay():
    def learner(errors, *, label_delay, first_day):
        found = [i for i, e in enumerate(errors) if e] and streams.detect(streams.ADWIN(), errors)
        return first_day + found[0] if found else -1

    assert get_exercise("07.alert_day").mistakes[0].hint in _failing_hints("07.alert_day", learner)


def test_alert_day_on_the_real_stream_is_the_notebooks():
    day = re.search(r"ADWIN on the errors alerts on day (\d+)", _outputs())
    assert day is not None and 12000 < int(day.group(1)) < 12200


# --- 07.drift_onset ---------------------------------------------------------------------------


def test_drift_onset_rules():
    days = [10, 20, 30, 40, 50]
    assert lesson07.drift_onset([0.5, 0.1, 0.5, 0.5, 0.1], days, threshold=0.3, persistence=2) == 30
    assert lesson07.drift_onset([0.3, 0.3], days[:2], threshold=0.3, persistence=2) == 10
    assert lesson07.drift_onset([0.5, math.nan, 0.5], days[:3], threshold=0.3, persistence=2) == -1
    assert lesson07.drift_onset(np.array([0.1, 0.9]), np.array(days[:2]), threshold=0.3, persistence=1) == 20
    assert isinstance(lesson07.drift_onset(np.array([0.9]), np.array([7]), threshold=0.3, persistence=1), int)


def test_drift_onset_agrees_with_a_pandas_rolling_window():
    """An independent formulation: the first window of `persistence` jobs whose minimum is >= threshold."""
    import pandas as pd

    rng = np.random.default_rng(3)
    for _ in range(200):
        n, persistence = int(rng.integers(1, 30)), int(rng.integers(1, 4))
        scores = rng.uniform(0, 0.6, n)
        days = np.arange(n) * 28 + 100
        flags = pd.Series(scores >= 0.3).rolling(persistence).min() == 1
        expected = int(days[flags.to_numpy().argmax() - persistence + 1]) if flags.any() else -1
        assert lesson07.drift_onset(scores, days, threshold=0.3, persistence=persistence) == expected


# --- 07.drifted_features ----------------------------------------------------------------------


def test_drifted_features_are_the_ones_the_notebook_names():
    answer = lesson07.incident_features()
    assert answer == ["dew_point", "sea_level_pressure"]
    assert lesson07.drifted_features_answer() == {name: name in answer for name in lesson07.FEATURES}
    assert f"features to report: {answer}" in _outputs()


def test_each_wrong_feature_gets_its_own_case():
    exercise = get_exercise("07.drifted_features")
    result = run_cases(exercise, ["dew_point", "visibility"], exercise.public_cases())
    failed = [case.entry for case, outcome in zip(exercise.public_cases(), result.outcomes) if not outcome.passed]
    assert failed == ["sea_level_pressure", "visibility"]


def test_drifted_features_accept_a_learners_spelling():
    exercise = get_exercise("07.drifted_features")
    result = run_cases(exercise, ["Sea-level pressure", "dew point", "dew_point"], exercise.public_cases())
    assert result.status == "passed", result.report()


@pytest.mark.parametrize("answer, message", [("dew_point", "list of feature names"), (["humidity"], "not a feature"),
                                             ([3], "feature name"), ({"dew_point": "yes"}, "True or False")])
def test_drifted_features_of_the_wrong_form_explain_themselves(answer, message):
    with pytest.raises((TypeError, ValueError), match=message):
        get_exercise("07.drifted_features").canonical(answer)


# --- 07.choose_policy -------------------------------------------------------------------------


def test_policy_replay_numbers_are_the_notebooks():
    """The answer key's table is the one the executed solution notebook printed."""
    text = _outputs()
    for name, row in lesson07.POLICY_REPLAY.items():
        line = re.search(rf"^{name}\s+(\d+)\s+(\d+)\s+[\d.]+\s+(\d+)\s*$", text, re.M)
        assert line is not None, name
        assert (int(line.group(1)), int(line.group(2))) == (row["retrains"], row["errors"])
        assert int(line.group(3)) == lesson07.policy_cost(name)
    assert f"RETRAIN_COST = {lesson07.RETRAIN_COST}" in NOTEBOOK.read_text()


def test_the_recommendation_depends_on_the_retrain_cost():
    assert lesson07._cheapest(0) == min(lesson07.POLICY_REPLAY, key=lambda n: lesson07.POLICY_REPLAY[n]["errors"])
    assert lesson07._cheapest(10_000) == "never"


def test_choose_policy_forgives_spelling_and_integer_costs():
    exercise = get_exercise("07.choose_policy")
    answer = lesson07.choose_policy_answer()
    shouted = {"policy": f" {answer['policy'].upper()} ", "cost": int(answer["cost"])}
    assert run_cases(exercise, shouted, exercise.public_cases()).status == "passed"
    # What a student gets from the notebook's table: costs["cost"].min() is a numpy integer.
    from_pandas = {"policy": answer["policy"], "cost": np.int64(answer["cost"])}
    assert run_cases(exercise, from_pandas, exercise.public_cases()).status == "passed"


@pytest.mark.parametrize(
    "answer",
    ["drift", {"policy": "drift"}, {"policy": "drift", "cost": "cheap"}, {"policy": "weekly", "cost": 1.0},
     {"policy": "drift", "cost": float("nan")}, {"policy": "drift", "cost": True}],
)
def test_choose_policy_of_the_wrong_form_explains_itself(answer):
    with pytest.raises((TypeError, ValueError)):
        get_exercise("07.choose_policy").canonical(answer)
