"""Run an exercise's cases against a learner's answer and explain what went wrong.

This is the code behind ``check("02.psi", psi)`` in the notebooks. It runs in the browser too,
so it uses no threads, subprocesses or sockets: it calls the learner's function directly. The
autograder calls :func:`run_cases` with hidden cases, in a separate process with limits.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

from course_lib.grading.compare import Comparison, compare, describe, describe_inputs
from course_lib.grading.registry import AnswerDigest, Case, Exercise, get_exercise, is_released_copy

Status = Literal["passed", "failed", "not attempted"]

NOT_ATTEMPTED_MESSAGE = "not attempted yet"


class _NotAttempted(Exception):
    """Raised inside run_cases when the answer is still the notebook's stub."""


class AnswerNeeded(RuntimeError):
    """``answer_or_reference`` in a hand-out that holds no reference, for an answer that fails."""


@dataclass(frozen=True)
class CaseOutcome:
    """The result of one case: passed or not, and why."""

    number: int
    description: str
    passed: bool
    detail: str = ""
    hint: str = ""


@dataclass(frozen=True)
class CheckResult:
    """What :func:`check` found.

    Attributes
    ----------
    exercise_id : str
    status : {"passed", "failed", "not attempted"}
    passed, total : int
        Cases passed and cases run.
    outcomes : tuple of CaseOutcome
    hidden : bool
        Whether the cases were the autograder's hidden ones.
    """

    exercise_id: str
    status: Status
    passed: int
    total: int
    outcomes: tuple[CaseOutcome, ...] = ()
    hidden: bool = False

    @property
    def score(self) -> float:
        """Fraction of cases passed (0 when not attempted)."""
        return self.passed / self.total if self.total else 0.0

    def __repr__(self) -> str:
        return (
            f"CheckResult(exercise_id={self.exercise_id!r}, status={self.status!r}, "
            f"passed={self.passed}, total={self.total})"
        )

    def _ipython_display_(self) -> None:
        # check() has already printed the full report; showing the repr again as the cell's
        # value would only repeat it. Code that needs the result still gets the object.
        return None

    def report(self) -> str:
        """The feedback text, as check() prints it."""
        kind = "hidden" if self.hidden else "public"
        if self.status == "not attempted":
            return (
                f"… {self.exercise_id}: {NOT_ATTEMPTED_MESSAGE}. Write your answer in the exercise "
                "cell, run it, then run this cell again."
            )
        if self.status == "passed":
            if self.total == 1:
                return f"✔ {self.exercise_id}: the {kind} case passes."
            return f"✔ {self.exercise_id}: all {self.total} {kind} cases pass."
        if self.total == 1:
            lines = [f"✘ {self.exercise_id}: the {kind} case fails."]
        else:
            lines = [f"✘ {self.exercise_id}: {self.passed} of {self.total} {kind} cases pass."]
        shown: set[str] = set()
        for outcome in self.outcomes:
            if outcome.passed:
                continue
            lines.append(f"  case {outcome.number} ({outcome.description}): {outcome.detail}")
            # One hint said once reads better than the same paragraph under every case.
            if outcome.hint and outcome.hint not in shown:
                lines.append(f"    hint: {outcome.hint}")
                shown.add(outcome.hint)
        return "\n".join(lines)


def is_stub(answer: Any) -> bool:
    """Whether an answer is still the notebook's placeholder (None or ``...``)."""
    return answer is None or answer is Ellipsis


def _call(exercise: Exercise, answer: Any, case: Case) -> Any:
    if exercise.kind == "value":
        return answer
    # Copies, so an answer that modifies its inputs cannot change the reference's view of them.
    args = copy.deepcopy(case.args)
    kwargs = copy.deepcopy(dict(case.kwargs))
    try:
        return answer(*args, **kwargs)
    except NotImplementedError as exc:
        raise _NotAttempted from exc


_NO_ENTRY = object()


def _entry(value: Any, entry: str | None) -> Any:
    """The part of a value a case looks at: one entry of a dict answer, or the whole value."""
    if entry is None:
        return value
    return value.get(entry, _NO_ENTRY) if isinstance(value, Mapping) else _NO_ENTRY


def compare_case(exercise: Exercise, case: Case, expected: Any, got: Any) -> Comparison:
    """Compare an answer with the expected value as ``case`` asks (one entry or all of it),
    hiding the expected value when the exercise does not reveal it."""
    got = _entry(got, case.entry)
    if got is _NO_ENTRY:
        return Comparison(False, f"your answer has no entry {case.entry!r}: answer with a dict")
    if isinstance(expected, AnswerDigest):
        # A hand-out's value exercise: only a digest of the answer is known (already per entry).
        result = Comparison(expected.matches(got), "")
    else:
        result = compare(_entry(expected, case.entry), got, rtol=exercise.rtol, atol=exercise.atol)
    if isinstance(expected, AnswerDigest) and not result.ok:
        where = f"for {case.entry!r}, " if case.entry is not None else ""
        return Comparison(False, f"{where}{describe(got)} is not the right answer")
    if result.ok or exercise.reveal_expected:
        return result
    where = f"for {case.entry!r}, " if case.entry is not None else ""
    return Comparison(False, f"{where}{describe(got)} is not the right answer")


def _matching_hint(exercise: Exercise, case: Case, got: Any) -> str:
    for mistake in exercise.mistakes:
        try:
            if mistake.test is not None and mistake.test(case, got):
                return mistake.hint
            if mistake.wrong is not None:
                if exercise.kind == "value":
                    wrong = exercise.canonical(mistake.wrong())
                else:
                    wrong = mistake.wrong(*case.args, **dict(case.kwargs))
                if compare_case(exercise, case, wrong, got).ok:
                    return mistake.hint
        except Exception:  # noqa: BLE001 - a hint that cannot be evaluated is just not shown
            continue
    return exercise.hint


def _raised_hint(exercise: Exercise, case: Case, got: "Raised") -> str:
    """The hint of a known mistake that raises the same exception on this case (dividing by zero
    where the answer should be nan), else the general hint."""
    if exercise.kind == "function":
        for mistake in exercise.mistakes:
            if mistake.wrong is None:
                continue
            try:
                mistake.wrong(*copy.deepcopy(case.args), **copy.deepcopy(dict(case.kwargs)))
            except Exception as exc:  # noqa: BLE001 - the mistake's own failure is what we match
                if type(exc).__name__ == got.type_name:
                    return mistake.hint
    return exercise.hint


@dataclass(frozen=True)
class Raised:
    """An answer that raised an exception instead of returning, as the grader records it.

    The autograder runs a learner's code in another process and gets back only the type and
    message of the exception, which is all the feedback needs.
    """

    type_name: str
    message: str

    def __str__(self) -> str:
        return f"raised {self.type_name}: {self.message}" if self.message else f"raised {self.type_name}"


def case_label(case: Case, *, hidden: bool) -> str:
    """How a case is named in feedback: its description, or for a hidden case only the type and
    shape of its inputs (hidden data is never shown)."""
    return f"inputs {describe_inputs(case.args, dict(case.kwargs))}" if hidden else case.description


def judge(
    exercise: Exercise,
    cases: Sequence[Case],
    answers: Sequence[Any],
    *,
    expected: Sequence[Any] | None = None,
    hidden: bool = False,
) -> CheckResult:
    """Compare answers already computed for ``cases`` with the expected values.

    This is the half of :func:`run_cases` that does not run the learner's code, so the
    autograder can run that code elsewhere (in a sandboxed process) and judge here.

    Parameters
    ----------
    exercise : Exercise
    cases : sequence of Case
    answers : sequence
        One per case: what the answer returned, or a :class:`Raised`.
    expected : sequence, optional
        The expected values, when already computed (by default, :meth:`Exercise.expected_for`).
    hidden : bool
        Whether the cases are hidden (their labels then show only the inputs' shapes).

    Examples
    --------
    >>> import numpy as np
    >>> from course_lib.grading import get_exercise
    >>> from course_lib.grading.selfcheck import Raised, judge
    >>> exercise = get_exercise("01.windowed_mean")
    >>> cases = exercise.public_cases()[:2]
    >>> judge(exercise, cases, [np.array([2.0, 6.0]), Raised("ValueError", "bad window")])
    CheckResult(exercise_id='01.windowed_mean', status='failed', passed=1, total=2)
    >>> print(judge(exercise, cases[:1], [[2.0, 6.0]]).report())
    ✘ 01.windowed_mean: the public case fails.
      case 1 (a length that divides into windows): the function must return a numpy.ndarray, got [2.0, 6.0] (a list)
    """
    if len(answers) != len(cases):
        raise ValueError(f"answers must hold one entry per case ({len(cases)}), got {len(answers)}")
    if expected is not None and len(expected) != len(cases):
        raise ValueError(f"expected must hold one entry per case ({len(cases)}), got {len(expected)}")
    outcomes = []
    for index, (case, got) in enumerate(zip(cases, answers, strict=True)):
        number = index + 1
        label = case_label(case, hidden=hidden)
        if isinstance(got, Raised):
            outcomes.append(CaseOutcome(number, label, False, str(got), _raised_hint(exercise, case, got)))
            continue
        want = expected[index] if expected is not None else exercise.expected_for(case)
        problem = _form_problem(exercise, got)
        if problem is not None:
            # A value of the wrong form may still match a known format mistake's test (a str where
            # a dict of words is asked); a function's wrong return type is explained by the detail.
            hint = _matching_hint(exercise, case, got) if exercise.kind == "value" else ""
            outcomes.append(CaseOutcome(number, label, False, problem, hint))
            continue
        got = exercise.canonical(got)
        result = compare_case(exercise, case, want, got)
        hint = "" if result.ok else _matching_hint(exercise, case, got)
        outcomes.append(CaseOutcome(number, label, result.ok, result.detail, hint))
    passed = sum(outcome.passed for outcome in outcomes)
    status: Status = "passed" if passed == len(outcomes) else "failed"
    return CheckResult(exercise.id, status, passed, len(outcomes), tuple(outcomes), hidden)


def _form_problem(exercise: Exercise, got: Any) -> str | None:
    """Why an answer cannot even be compared: a value of the wrong form (``normalize`` refuses
    it) or a function result of the wrong type. None when it can be compared."""
    if exercise.kind == "function":
        return exercise.result_type_problem(got)
    try:
        exercise.canonical(got)
    except (TypeError, ValueError) as exc:
        return str(exc)
    return None


def run_cases(exercise: Exercise, answer: Any, cases: Sequence[Case], *, hidden: bool = False) -> CheckResult:
    """Run ``answer`` on ``cases`` and compare with the reference.

    Exceptions raised by the answer are reported as failed cases, except
    ``NotImplementedError`` (the stub of a student notebook), which means "not attempted".
    Hidden cases are described by their inputs' types and shapes, never their data.
    """
    if is_stub(answer):
        return CheckResult(exercise.id, "not attempted", 0, len(cases), hidden=hidden)
    if exercise.kind == "function" and not callable(answer):
        outcome = CaseOutcome(1, "type of the answer", False, f"expected a function, got {describe(answer)}")
        return CheckResult(exercise.id, "failed", 0, len(cases), (outcome,), hidden)

    answers: list[Any] = []
    for case in cases:
        try:
            answers.append(_call(exercise, answer, case))
        except _NotAttempted:
            return CheckResult(exercise.id, "not attempted", 0, len(cases), hidden=hidden)
        except Exception as exc:  # noqa: BLE001 - the learner's error is the feedback
            answers.append(Raised(type(exc).__name__, str(exc)))
    return judge(exercise, cases, answers, hidden=hidden)


def check(exercise_id: str, answer: Any, *, quiet: bool = False) -> CheckResult:
    """Check an answer against the exercise's public cases and print feedback.

    Parameters
    ----------
    exercise_id : str
        ``"NN.name"``, as written above the exercise in the notebook.
    answer : object
        The function or value you wrote.
    quiet : bool
        Return the result without printing it.

    Returns
    -------
    CheckResult

    Raises
    ------
    ValueError
        If ``exercise_id`` is unknown; the message lists the valid ids.

    Examples
    --------
    >>> from course_lib.grading import check
    >>> def windowed_mean(values, window):
    ...     raise NotImplementedError
    >>> result = check("01.windowed_mean", windowed_mean)
    … 01.windowed_mean: not attempted yet. Write your answer in the exercise cell, run it, then run this cell again.
    >>> result.status
    'not attempted'
    """
    exercise = get_exercise(exercise_id)
    result = run_cases(exercise, answer, exercise.public_cases())
    if not quiet:
        print(result.report())
        if result.status != "not attempted":
            # The grader runs exercise cells only: a helper from the learner's own cell is
            # missing there, and a passing answer would score 0 without this warning.
            from course_lib.grading.cellnames import ungraded_names_warning

            warning = ungraded_names_warning(exercise_id, answer)
            if warning:
                print(warning)
    # For course_lib.progress(): saved beside the notebook; a failure to save only warns.
    from course_lib.grading.progress import remember

    remember(result)
    return result


def answer_or_reference(exercise_id: str, answer: Any) -> Any:
    """Your answer if it passes its checks, else the reference solution, with a notice.

    Later cells of a lesson build on earlier exercises. This lets a learner who skipped or has
    not yet solved an exercise still run the rest of the lesson, and says so visibly.

    In an instructor's hand-out (:mod:`course_lib.grading.assignments`) there is no reference to
    fall back on: an answer that does not pass raises :class:`AnswerNeeded`, whose message asks
    the learner to answer the exercise first.

    Examples
    --------
    >>> from course_lib.grading import answer_or_reference
    >>> f = answer_or_reference("01.windowed_mean", None)
    Note: 01.windowed_mean is not attempted yet, so the cells below use the reference solution (course_lib.simulate:windowed_mean).
    >>> f([1.0, 3.0, 5.0, 7.0], 2).tolist()
    [2.0, 6.0]
    """
    exercise = get_exercise(exercise_id)
    result = run_cases(exercise, answer, exercise.public_cases())
    if result.status == "passed":
        # What passed is the canonical form, and that is what later cells get ("Holm " -> "holm").
        return exercise.canonical(answer) if exercise.kind == "value" else answer
    reason = f"is {NOT_ATTEMPTED_MESSAGE}" if result.status == "not attempted" else "does not pass its checks yet"
    if is_released_copy(exercise):
        # A hand-out without the reference (an instructor's assignment): nothing to fall back on.
        raise AnswerNeeded(
            f"{exercise_id} {reason}, and this hand-out has no reference solution to use instead: "
            f"answer {exercise_id} (until its check() passes), then run this cell again."
        )
    print(
        f"Note: {exercise_id} {reason}, so the cells below use the reference solution "
        f"({exercise.reference})."
    )
    solution = exercise.reference_solution()
    return solution() if exercise.kind == "value" else solution
