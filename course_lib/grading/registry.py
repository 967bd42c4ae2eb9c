"""The exercise registry: what each exercise is, how it is checked and what hints it gives.

Every lesson registers its exercises in ``course_lib/grading/exercises/lessonNN.py``. An entry
holds the reference solution (as a dotted path, resolved only when needed), the public cases the
learner's self-check runs, a generator of hidden randomised cases for the autograder, the
tolerance and the hints for known mistakes.

Listing ids imports only the lesson's exercise module, which must not import numpy, scipy,
pandas or matplotlib at module level (case factories import what they need when called).

Examples
--------
>>> from course_lib.grading.registry import exercise_ids
>>> "01.windowed_mean" in exercise_ids("01")
True
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Sequence

from course_lib.lessons import LESSONS, lesson as _lesson


@dataclass(frozen=True)
class Case:
    """One input of an exercise.

    Parameters
    ----------
    description : str
        What the case tests, shown to the learner when it fails ("two identical samples").
    args, kwargs
        Arguments passed to the learner's function and to the reference. Ignored for value
        exercises.
    expected : object, optional
        The expected result. When omitted it is computed by calling the reference, which is
        how nearly all cases are written, so the reference stays the single source of truth.
    entry : str, optional
        For a value exercise whose answer is a dict: check only this entry, so that each entry
        is its own case (partial credit, one hint per wrong entry).
    """

    description: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    expected: Any = None
    has_expected: bool = False
    entry: str | None = None

    @classmethod
    def with_expected(cls, description: str, expected: Any, *args: Any, **kwargs: Any) -> "Case":
        """A case whose expected value is given instead of computed by the reference."""
        return cls(description, tuple(args), dict(kwargs), expected, True)


@dataclass(frozen=True)
class AnswerDigest:
    """The expected value of a hand-out's value exercise, kept as a salted SHA-256 digest.

    A released assignment must not hold the answer of a value exercise (a word, a choice) in the
    clear; the self-check compares the digest of the learner's canonical answer with this one
    (see :func:`course_lib.grading.assignments.answer_digest`).
    """

    exercise_id: str
    case_index: int
    sha256: str

    def matches(self, value: Any) -> bool:
        from course_lib.grading.assignments import answer_digest

        try:
            return answer_digest(self.exercise_id, self.case_index, value) == self.sha256
        except (TypeError, ValueError):
            return False

    def __repr__(self) -> str:
        return "<the expected answer (withheld)>"


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer and the hint that explains it.

    Parameters
    ----------
    hint : str
        What the learner probably did and how to fix it.
    wrong : callable, optional
        Computes the wrong answer from the case's arguments (for a function exercise) or with no
        arguments (for a value exercise). When the learner's result matches it, the hint is shown.
    test : callable, optional
        ``test(case, got) -> bool`` for mistakes that are easier to recognise than to compute.
    """

    hint: str
    wrong: Callable[..., Any] | None = None
    test: Callable[[Case, Any], bool] | None = None


@dataclass(frozen=True)
class Exercise:
    """An exercise: a function or a value the learner writes in a notebook cell.

    Parameters
    ----------
    id : str
        ``"NN.name"``: the lesson number and a short name; also the cell's metadata.
    title : str
        One line saying what to write.
    kind : {"function", "value"}
        A function is called on every case; a value is compared as it is.
    reference : str
        ``"module:attribute"`` of the reference solution: a function for a function exercise,
        a function of no arguments returning the right value for a value exercise.
    public_cases : callable
        ``public_cases() -> list[Case]``: the cases shown in the notebook's self-check.
    hidden_cases : callable, optional
        ``hidden_cases(rng) -> list[Case]`` with ``rng`` a ``numpy.random.Generator``: randomised
        cases for the autograder. Defaults to the public cases.
    rtol, atol : float
        Tolerance for numbers and arrays (``numpy.isclose`` semantics).
    mistakes : sequence of Mistake
        Known mistakes with their hints.
    hint : str
        A general hint shown when a case fails and no known mistake matches.
    points : int
        Points in the gradebook.
    reveal_expected : bool
        Whether feedback shows the expected value. Turn it off for multiple-choice answers,
        where "expected 'prior'" would hand out the answer: feedback then says which case is
        wrong, and the hints explain why.
    normalize : callable, optional
        For a value exercise: ``normalize(answer) -> canonical answer`` (``"Holm " -> "holm"``),
        raising ``ValueError`` or ``TypeError`` with a message for the learner when the answer
        has the wrong form. The canonical value is what is compared and what
        ``answer_or_reference`` passes on, so a passing answer never breaks a later cell.
    returns : str, optional
        For a function exercise: the type its result must have, ``"numpy.ndarray"``,
        ``"pandas.DataFrame"``, ``"float"``, ``"int"``, ``"bool"``, ``"str"``, ``"dict"``,
        ``"list"`` or a dotted class name. A result of another type fails the case with a message
        naming the expected type, since later cells rely on it (a list where an array is promised
        breaks ``100 * result``).
    """

    id: str
    title: str
    kind: Literal["function", "value"]
    reference: str
    public_cases: Callable[[], list[Case]]
    hidden_cases: Callable[[Any], list[Case]] | None = None
    rtol: float = 1e-6
    atol: float = 1e-9
    mistakes: Sequence[Mistake] = ()
    hint: str = ""
    points: int = 1
    reveal_expected: bool = True
    normalize: Callable[[Any], Any] | None = None
    returns: str | None = None

    def __post_init__(self) -> None:
        number, _, name = self.id.partition(".")
        if len(number) != 2 or not number.isdigit() or not name:
            raise ValueError(f"id must look like 'NN.name', got {self.id!r}")
        if self.kind not in ("function", "value"):
            raise ValueError(f"kind must be 'function' or 'value', got {self.kind!r}")
        if ":" not in self.reference:
            raise ValueError(f"reference must be 'module:attribute', got {self.reference!r}")
        if self.normalize is not None and (self.kind != "value" or not callable(self.normalize)):
            raise ValueError(f"normalize must be a callable and is only for value exercises ({self.id})")
        if self.returns is not None and (self.kind != "function" or not isinstance(self.returns, str)):
            raise ValueError(f"returns must be a type name and is only for function exercises ({self.id})")

    def canonical(self, answer: Any) -> Any:
        """The answer in its canonical form (``normalize``), or the answer itself.

        Raises whatever ``normalize`` raises (``ValueError``/``TypeError``) for an answer of the
        wrong form; the message is the learner's feedback.
        """
        return answer if self.normalize is None else self.normalize(answer)

    def result_type_problem(self, result: Any) -> str | None:
        """Why ``result`` breaks the promised return type, or None when it keeps it."""
        if self.returns is None or _has_type(result, self.returns):
            return None
        from course_lib.grading.compare import describe

        return f"the function must return a {self.returns}, got {describe(result)} (a {type(result).__name__})"

    @property
    def lesson(self) -> str:
        """The two-digit lesson number."""
        return self.id[:2]

    def reference_solution(self) -> Callable[..., Any]:
        """Import and return the reference solution."""
        module_name, _, attribute = self.reference.partition(":")
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
        return target

    def expected_for(self, case: Case) -> Any:
        """The expected result of ``case``: given, or computed by the reference."""
        if case.has_expected:
            return case.expected
        solution = self.reference_solution()
        if self.kind == "value":
            return solution()
        return solution(*case.args, **dict(case.kwargs))

    def draw_hidden_cases(self, seed: int) -> list[Case]:
        """Hidden cases for the autograder, drawn reproducibly from ``seed``."""
        if self.hidden_cases is None:
            return list(self.public_cases())
        import numpy as np

        return list(self.hidden_cases(np.random.default_rng(seed)))


def _has_type(value: Any, name: str) -> bool:
    """Whether ``value`` is of the type called ``name`` (numbers of numpy count as Python's)."""
    import numbers

    if name == "float":
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if name == "int":
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if name == "bool":
        return isinstance(value, bool) or type(value).__name__ == "bool_"
    builtin = {"str": str, "dict": dict, "list": list, "tuple": tuple}
    if name in builtin:
        return isinstance(value, builtin[name])
    module_name, _, class_name = name.rpartition(".")
    module = importlib.import_module(module_name)
    return isinstance(value, getattr(module, class_name))


class OneOf:
    """A ``normalize`` for a multiple-choice answer: a word from a fixed set of choices.

    Case and surrounding spaces are forgiven (``" Holm" -> "holm"``); anything else raises a
    ``ValueError`` listing the choices, which is the learner's feedback. ``None`` is a choice when
    listed. Applied to a dict, every entry must be one of the choices (puzzles with one word per
    item); the keys are kept as they are.

    Examples
    --------
    >>> normalize = OneOf("bonferroni", "holm", None)
    >>> normalize(" Holm ")
    'holm'
    >>> normalize({"A": "BONFERRONI"}, entries=True)
    {'A': 'bonferroni'}
    >>> normalize("hochberg")
    Traceback (most recent call last):
    ...
    ValueError: answer must be one of 'bonferroni', 'holm', None; got 'hochberg'
    """

    def __init__(self, *choices: str | None, aliases: Mapping[str, str | None] | None = None) -> None:
        self.choices = tuple(choices)
        self.aliases = dict(aliases or {})

    def _word(self, value: Any, what: str) -> str | None:
        if value is None and None in self.choices:
            return None
        if isinstance(value, str):
            word = value.strip().lower()
            if word in self.aliases:
                return self.aliases[word]
            if word in self.choices:
                return word
        listed = ", ".join(repr(choice) for choice in self.choices)
        raise ValueError(f"{what} must be one of {listed}; got {value!r}")

    def __call__(self, answer: Any, *, entries: bool = False) -> Any:
        if not entries:
            return self._word(answer, "answer")
        if not isinstance(answer, dict):
            raise TypeError(f"answer must be a dict of words, got {type(answer).__name__}")
        return {key: self._word(value, f"the entry {key!r}") for key, value in answer.items()}


class EntriesOneOf(OneOf):
    """A ``normalize`` for a dict answer whose every entry is one of ``choices``.

    Entries that are not one of the choices are kept as they are, so that the other entries
    still earn their cases (each entry is its own case) and the entry's case says what is wrong.

    Examples
    --------
    >>> EntriesOneOf("abrupt", "gradual")({"W": " Abrupt", "X": "sudden"})
    {'W': 'abrupt', 'X': 'sudden'}
    """

    def __call__(self, answer: Any, *, entries: bool = True) -> Any:
        if not isinstance(answer, dict):
            raise TypeError(f"answer must be a dict of words, got {type(answer).__name__}")
        result = {}
        for key, value in answer.items():
            try:
                result[key] = self._word(value, "entry")
            except ValueError:
                result[key] = value
        return result


_REGISTRY: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    """Add an exercise to the registry (called by the lesson modules at import)."""
    if not isinstance(exercise, Exercise):
        raise TypeError(f"exercise must be an Exercise, got {type(exercise).__name__}")
    previous = _REGISTRY.get(exercise.id)
    # A released (answer-free) copy gives way to the real entry when the instructor's module loads.
    if previous is not None and previous is not exercise and not is_released_copy(previous):
        raise ValueError(f"exercise id {exercise.id!r} is registered twice")
    _REGISTRY[exercise.id] = exercise
    return exercise


#: The ``reference`` of an exercise rebuilt from a release's frozen data: there is no reference.
WITHHELD_REFERENCE = "course_lib.grading.assignments:withheld_reference"


def is_released_copy(exercise: Exercise) -> bool:
    """Whether ``exercise`` was rebuilt from a release's frozen public cases (no reference)."""
    return exercise.reference == WITHHELD_REFERENCE


def unregister(exercise_id: str) -> None:
    """Remove an exercise of an instructor's course (so that its module can be loaded again).

    Raises
    ------
    ValueError
        For an exercise of the course's own lessons, which stay registered.
    """
    if exercise_id[:2] in {item.number for item in LESSONS}:
        raise ValueError(f"exercise_id {exercise_id!r} belongs to a lesson of the course and stays registered")
    _REGISTRY.pop(exercise_id, None)


def lesson_numbers() -> list[str]:
    """The numbers of the course's lessons and of the instructor's assignments registered so far.

    An instructor's assignment is numbered with two digits that no lesson uses (see
    :mod:`course_lib.grading.assignments`); its exercises are registered like a lesson's.

    Examples
    --------
    >>> lesson_numbers()[:2]
    ['01', '02']
    """
    course = [item.number for item in LESSONS]
    extra = sorted({key[:2] for key in _REGISTRY} - set(course))
    return course + extra


def _load_lesson(number: str) -> None:
    module_name = _lesson(number).exercise_module
    try:
        importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise


def exercise_ids(lesson: str | None = None) -> list[str]:
    """The ids of the registered exercises, of one lesson or of all, in course order.

    Parameters
    ----------
    lesson : str, optional
        A two-digit lesson number such as ``"02"``.
    """
    if lesson is not None and isinstance(lesson, str) and lesson in lesson_numbers()[len(LESSONS) :]:
        # An instructor's assignment: its module registered its exercises already.
        return [key for key in _REGISTRY if key[:2] == lesson]
    numbers = [item.number for item in LESSONS] if lesson is None else [_lesson(lesson).number]
    for number in numbers:
        _load_lesson(number)
    # Registration order inside a lesson is the order the exercises appear in the notebook.
    return [key for key in _REGISTRY if key[:2] in numbers]


def get_exercise(exercise_id: str) -> Exercise:
    """Return the registered exercise with this id.

    Raises
    ------
    ValueError
        If no exercise has that id; the message lists the valid ids (of the same lesson when the
        lesson exists).
    """
    if not isinstance(exercise_id, str):
        raise TypeError(f"exercise_id must be a string such as '02.psi', got {type(exercise_id).__name__}")
    number = exercise_id[:2]
    known_lesson = any(item.number == number for item in LESSONS)
    if known_lesson:
        # A course_lib without the lesson's answers (a hand-out, the grading sandbox) ships the
        # lesson's exercises frozen instead of its exercise module.
        from course_lib.grading.assignments import withheld_here

        frozen = withheld_here(exercise_id)
        if frozen is not None:
            return frozen
        _load_lesson(number)
    if exercise_id in _REGISTRY:
        return _REGISTRY[exercise_id]
    if not known_lesson:
        # A student's hand-out: the assignment's public cases, frozen in the release's data.
        from course_lib.grading.assignments import released_exercise

        found = released_exercise(exercise_id)
        if found is not None:
            return found
    valid = exercise_ids(number) if known_lesson else exercise_ids()
    # An instructor's assignment is known from its hand-out's selfcheck.json, kept by the notebook.
    where = "" if known_lesson else " (an assignment's exercise: keep the hand-out's selfcheck.json next to the notebook)"
    raise ValueError(
        f"exercise_id {exercise_id!r} is not a known exercise{where}; valid ids are: {', '.join(valid)}"
    )
