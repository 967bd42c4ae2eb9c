"""Every registered exercise, checked against itself: the registry is the contract the notebook
self-check and the autograder share, so a broken entry would mislead learners and graders alike."""

from __future__ import annotations

import re

import pytest

from course_lib.grading import answer_or_reference, exercise_ids, get_exercise, run_cases
from course_lib.grading.compare import compare, describe
from course_lib.lessons import LESSONS

ALL_IDS = exercise_ids()


def test_every_lesson_with_a_notebook_has_exercises(repo_root):
    for lesson in LESSONS:
        if (repo_root / "notebooks" / "solutions" / lesson.notebook).exists():
            assert len(exercise_ids(lesson.number)) >= 3, f"lesson {lesson.number} needs at least three exercises"


def test_ids_are_unique_and_prefixed_by_their_lesson():
    assert len(ALL_IDS) == len(set(ALL_IDS))
    for lesson in LESSONS:
        assert all(ident.startswith(lesson.number + ".") for ident in exercise_ids(lesson.number))


def test_unknown_id_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"01\.windowed_mean"):
        get_exercise("01.no_such_exercise")
    with pytest.raises(ValueError, match="valid ids are"):
        get_exercise("42.anything")
    with pytest.raises(TypeError, match="exercise_id"):
        get_exercise(1)


@pytest.mark.parametrize("ident", ALL_IDS)
def test_reference_passes_public_and_hidden_cases(ident):
    exercise = get_exercise(ident)
    reference = exercise.reference_solution()
    answer = reference() if exercise.kind == "value" else reference
    public = run_cases(exercise, answer, exercise.public_cases())
    assert public.status == "passed", public.report()
    assert public.total >= 1
    hidden = run_cases(exercise, answer, exercise.draw_hidden_cases(seed=7), hidden=True)
    assert hidden.status == "passed", hidden.report()


@pytest.mark.parametrize("ident", ALL_IDS)
def test_every_known_mistake_fails_a_public_case_with_its_own_hint(ident):
    """A mistake the course knows about is caught in the notebook, never first in the grade, and
    the learner reads the hint written for it, not another mistake's."""
    exercise = get_exercise(ident)
    for mistake in exercise.mistakes:
        assert mistake.wrong is not None, f"{ident}: mistake {mistake.hint[:50]!r} has no wrong= to reproduce it"
        answer = mistake.wrong() if exercise.kind == "value" else mistake.wrong
        result = run_cases(exercise, answer, exercise.public_cases())
        assert result.status == "failed", f"{ident}: the mistake {mistake.hint[:50]!r} passes the public cases"
        hints = {outcome.hint for outcome in result.outcomes if not outcome.passed}
        assert mistake.hint in hints, f"{ident}: expected the hint {mistake.hint[:50]!r}, got {hints}"
        others = hints - {mistake.hint, exercise.hint, ""}
        assert not others, f"{ident}: the mistake {mistake.hint[:50]!r} is also shown another mistake's hint: {others}"


def _leaf_words(value) -> list[str]:
    if isinstance(value, str):
        return [value.strip().lower()]
    if isinstance(value, dict):
        return [word for item in value.values() for word in _leaf_words(item)]
    if isinstance(value, (list, tuple)):
        return [word for item in value for word in _leaf_words(item)]
    return []


def _shouted(value):
    """The same answer as a learner might type it: other case, stray spaces."""
    if isinstance(value, str):
        return f" {value.upper()} "
    if isinstance(value, dict):
        return {key: _shouted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shouted(item) for item in value]
    return value


VALUE_IDS = [ident for ident in ALL_IDS if get_exercise(ident).kind == "value"]
FUNCTION_IDS = [ident for ident in ALL_IDS if get_exercise(ident).kind == "function"]


@pytest.mark.parametrize("ident", VALUE_IDS)
def test_what_answer_or_reference_passes_on_is_the_checked_canonical_value(ident, capsys):
    """An answer that passes in another spelling reaches later cells in the reference's form
    ("Holm " -> "holm"), so a passing answer never breaks a later cell."""
    exercise = get_exercise(ident)
    reference = exercise.reference_solution()()
    variant = _shouted(reference)
    if run_cases(exercise, variant, exercise.public_cases()).status != "passed":
        return  # the exercise is strict about spelling; then nothing is passed on unchecked
    passed_on = answer_or_reference(ident, variant)
    assert type(passed_on) is type(reference) and passed_on == reference, (ident, passed_on)
    assert "reference solution" not in capsys.readouterr().out


@pytest.mark.parametrize("ident", FUNCTION_IDS)
def test_every_function_exercise_states_the_type_it_returns(ident):
    """Later cells rely on the type (an array, a float, a DataFrame); the check enforces it."""
    exercise = get_exercise(ident)
    assert exercise.returns, f"{ident}: set returns= (the type the function must return)"
    reference = exercise.reference_solution()
    for case in exercise.public_cases():
        assert exercise.result_type_problem(reference(*case.args, **dict(case.kwargs))) is None


def _reveals(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", text.lower()) is not None


@pytest.mark.parametrize("ident", [i for i in ALL_IDS if not get_exercise(i).reveal_expected])
def test_feedback_of_a_hidden_answer_exercise_never_names_the_answer(ident):
    """For multiple-choice exercises, neither the detail nor the hint of a failing case names the
    right choice, unless the hint lists every choice (a reminder of the options)."""
    exercise = get_exercise(ident)
    reference = exercise.reference_solution()()
    choices = getattr(exercise.normalize, "choices", None)
    if choices is None and isinstance(reference, (int, float)):  # one free number: never printed
        for answer in [m.wrong() for m in exercise.mistakes] + [123.0]:
            text = run_cases(exercise, answer, exercise.public_cases()).report()
            assert describe(reference) not in text and f"{reference:.3g}" not in text, text
        return
    assert choices, f"{ident}: a multiple-choice exercise needs normalize=OneOf(...)/EntriesOneOf(...)"
    words = [c for c in choices if isinstance(c, str)]
    wrong_answers = [m.wrong() for m in exercise.mistakes] + ["no idea", {}]
    for answer in wrong_answers:
        result = run_cases(exercise, answer, exercise.public_cases())
        for case, outcome in zip(exercise.public_cases(), result.outcomes):
            if outcome.passed:
                continue
            expected = reference if case.entry is None else reference[case.entry]
            for word in _leaf_words(expected):
                for text in (outcome.detail, outcome.hint):
                    if text and not all(_reveals(text, w) for w in words):
                        assert not _reveals(text, word), f"{ident} case {outcome.number} names {word!r}: {text}"


@pytest.mark.parametrize("ident", ALL_IDS)
def test_hidden_cases_are_reproducible_and_depend_on_the_seed(ident):
    exercise = get_exercise(ident)
    first, again = exercise.draw_hidden_cases(11), exercise.draw_hidden_cases(11)
    assert len(first) == len(again) >= 1
    for left, right in zip(first, again):
        assert compare(left.args, right.args).ok and compare(dict(left.kwargs), dict(right.kwargs)).ok
    if exercise.hidden_cases is not None and exercise.kind == "function":
        other = exercise.draw_hidden_cases(12)
        same = all(compare(a.args, b.args).ok and compare(dict(a.kwargs), dict(b.kwargs)).ok for a, b in zip(first, other))
        assert not same, f"{ident}: hidden cases do not depend on the seed"


@pytest.mark.parametrize("ident", ALL_IDS)
def test_a_stub_is_not_attempted(ident):
    exercise = get_exercise(ident)

    def stub(*args, **kwargs):
        raise NotImplementedError("write your answer here")

    answer = None if exercise.kind == "value" else stub
    assert run_cases(exercise, answer, exercise.public_cases()).status == "not attempted"
