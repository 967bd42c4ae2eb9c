"""Every registered exercise, checked against itself: the registry is the contract the notebook
self-check and the autograder share, so a broken entry would mislead learners and graders alike."""

from __future__ import annotations

import pytest

from course_lib.grading import exercise_ids, get_exercise, run_cases
from course_lib.grading.compare import compare
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
def test_each_known_mistake_fails_with_its_hint(ident):
    exercise = get_exercise(ident)
    for mistake in exercise.mistakes:
        if mistake.wrong is None:
            continue
        answer = mistake.wrong() if exercise.kind == "value" else mistake.wrong
        result = run_cases(exercise, answer, exercise.public_cases())
        assert result.status == "failed", f"{ident}: the mistake {mistake.hint[:40]!r} passes the public cases"
        hints = [outcome.hint for outcome in result.outcomes if not outcome.passed]
        assert mistake.hint in hints, f"{ident}: expected the hint {mistake.hint[:40]!r}, got {hints}"


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
