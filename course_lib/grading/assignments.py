"""Instructors' own assignments: exercises whose answers never ship to the students.

An instructor keeps a course folder of their own, outside the package::

    my-course/
        exercises.py              registers the exercises, in the registry format of the lessons
        11_drift_homework.ipynb   a source notebook in the lesson format (solutions in place)

``exercises.py`` is written like ``course_lib/grading/exercises/lessonNN.py``: ``register(
Exercise(...))`` with the reference, public cases, a hidden case generator, tolerances and known
mistakes. References are named ``f"{__name__}:function"`` (the module is loaded under a name
of its own). An assignment is numbered with two digits that no lesson of the course uses
(``11`` and up), which prefix its exercise ids (``11.psi_deciles``).

``python -m course_lib.grading release --assignments my-course --out release`` checks every
exercise (:func:`check_exercise`), then writes the students' notebooks and, beside them,
``selfcheck.json``: every public case frozen as data (inputs and expected values, encoded by
:mod:`course_lib.grading.wire`: JSON, never pickle), with each known mistake's wrong result on it
so the notebook's hints still work. ``check()`` in a student's notebook finds an exercise that
``course_lib`` does not know in that file (:func:`released_exercise`); the references and the
hidden case generators stay in the instructor's folder. The answer of a value exercise (a word,
a choice) is frozen as a salted SHA-256 digest, not in the clear.

Examples
--------
>>> spec = {"id": "11.answer", "title": "t", "kind": "value", "points": 1, "rtol": 1e-6,
...         "atol": 1e-9, "hint": "", "reveal_expected": False, "returns": None,
...         "normalize": {"one_of": ["yes", "no"], "aliases": {}, "entries": False},
...         "cases": [{"description": "the answer", "args": [], "kwargs": {"$": "dict", "items": []}, "entry": None,
...                    "expected_sha256": answer_digest("11.answer", 0, "yes")}],
...         "mistakes": []}
>>> from course_lib.grading.selfcheck import run_cases
>>> exercise = thaw_exercise(spec)
>>> run_cases(exercise, " Yes", exercise.public_cases()).status
'passed'
>>> run_cases(exercise, "no", exercise.public_cases()).status
'failed'
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import json
import os
import re
import sys
import textwrap
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from course_lib.grading import wire
from course_lib.grading.registry import (
    WITHHELD_REFERENCE,
    AnswerDigest,
    Case,
    EntriesOneOf,
    Exercise,
    Mistake,
    OneOf,
    _REGISTRY,
    get_exercise,
    is_released_copy,
    unregister,
)
from course_lib.lessons import LESSONS

SELFCHECK_NAME = "selfcheck.json"
SELFCHECK_FORMAT = 1
EXERCISES_MODULE = "exercises.py"
#: Environment variable naming a ``selfcheck.json`` to use instead of the one in the working folder.
SELFCHECK_ENV = "COURSE_LIB_SELFCHECK"


class AssignmentError(ValueError):
    """An instructor's course folder or exercise that cannot be released as it is."""


def withheld_reference(*args: Any, **kwargs: Any) -> Any:
    """Stands in for a reference that the hand-out does not hold."""
    raise RuntimeError(
        "the reference solution of this exercise is not part of the hand-out: answer the exercise "
        "(its check() must pass) before running the cells that use it"
    )


# --------------------------------------------------------------------------------------------
# the instructor's course folder


@dataclass(frozen=True)
class Course:
    """An instructor's course folder, loaded: its exercises module and its source notebooks."""

    folder: Path
    module_name: str
    exercise_ids: tuple[str, ...]
    notebooks: tuple[Path, ...]

    @property
    def numbers(self) -> tuple[str, ...]:
        """The assignment numbers its exercises use."""
        return tuple(sorted({ident[:2] for ident in self.exercise_ids}))

    def exercises(self) -> list[Exercise]:
        """Its registered exercises, in the order ``exercises.py`` registers them."""
        return [get_exercise(ident) for ident in self.exercise_ids]


_LOADED: dict[str, tuple[str, tuple[str, ...]]] = {}


def _module_name(folder: Path) -> str:
    digest = hashlib.sha256(str(folder.resolve()).encode("utf-8")).hexdigest()[:12]
    return f"course_assignments_{digest}"


def _where(exc: BaseException, path: Path) -> str:
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f" (line {exc.lineno})"
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if Path(frame.filename) == path]
    return f" (line {frames[-1].lineno})" if frames else ""


def load_course(folder: str | Path) -> Course:
    """Load an instructor's course folder: import ``exercises.py`` and register its exercises.

    Loading the same unchanged folder again reuses what was registered; a changed module is
    loaded afresh (its old exercises are unregistered first). One course folder is loaded at a
    time: loading another unregisters the previous one's exercises.

    Raises
    ------
    AssignmentError
        If the folder or its ``exercises.py`` is missing, the module fails to import (the message
        gives the exception and the line), registers no exercise, or registers an exercise whose
        number belongs to a lesson of the course or whose reference cannot be found.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise AssignmentError(f"assignments must be a course folder, got {str(folder)!r} (not a folder)")
    path = folder / EXERCISES_MODULE
    if not path.is_file():
        raise AssignmentError(
            f"{folder} has no {EXERCISES_MODULE}: write the assignment's exercises there "
            "(the registry format of course_lib/grading/exercises/lessonNN.py)"
        )
    notebooks = tuple(sorted(folder.glob("[0-9][0-9]_*.ipynb")))
    text = path.read_bytes()
    digest = hashlib.sha256(text).hexdigest()
    name = _module_name(folder)
    previous = _LOADED.get(name)
    if previous is not None and previous[0] == digest and name in sys.modules:
        return Course(folder, name, previous[1], notebooks)
    for other, (_, ids) in list(_LOADED.items()):
        for ident in ids:
            unregister(ident)
        sys.modules.pop(other, None)
        del _LOADED[other]
    sys.modules.pop(name, None)
    course_numbers = {item.number for item in LESSONS}

    # The same file imported under another name (a test runner's module collector) registered
    # these exercises already: they are this module's, loaded afresh below.
    for ident, exercise in list(_REGISTRY.items()):
        owner = sys.modules.get(exercise.reference.partition(":")[0])
        if ident[:2] not in course_numbers and getattr(owner, "__file__", None) and (
            Path(owner.__file__).resolve() == path.resolve()
        ):
            del _REGISTRY[ident]
    before = dict(_REGISTRY)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - whatever the instructor's module raises is the message
        _forget(name, before)
        raise AssignmentError(
            f"{path} could not be loaded: {type(exc).__name__}: {exc}{_where(exc, path)}"
        ) from exc
    ids = tuple(ident for ident, exercise in _REGISTRY.items() if before.get(ident) is not exercise)
    problems = []
    if not ids:
        problems.append(f"{path} registers no exercise: call register(Exercise(...)) for each one")
    for ident in ids:
        if ident[:2] in course_numbers:
            problems.append(
                f"exercise {ident!r}: {ident[:2]} is a lesson of the course; number assignments with two "
                f"digits no lesson uses ({', '.join(sorted(course_numbers))} are taken), e.g. '11.{ident[3:]}'"
            )
            continue
        exercise = _REGISTRY[ident]
        try:
            solution = exercise.reference_solution()
        except Exception as exc:  # noqa: BLE001
            problems.append(
                f"exercise {ident!r}: its reference {exercise.reference!r} cannot be found ({type(exc).__name__}: "
                f"{exc}); write reference=f\"{{__name__}}:function_name\" for a function of {EXERCISES_MODULE}"
            )
            continue
        if not callable(solution):
            problems.append(f"exercise {ident!r}: its reference {exercise.reference!r} is not a function")
    if problems:
        _forget(name, before)
        raise AssignmentError("\n".join(problems))
    _LOADED[name] = (digest, ids)
    return Course(folder, name, ids, notebooks)


def _forget(name: str, before: dict[str, Exercise]) -> None:
    """Undo a failed load: drop what it registered (restoring lessons' entries it displaced)."""
    for ident in list(_REGISTRY):
        if before.get(ident) is not _REGISTRY[ident]:
            if ident in before:
                _REGISTRY[ident] = before[ident]
            else:
                del _REGISTRY[ident]
    sys.modules.pop(name, None)
    _LOADED.pop(name, None)


# --------------------------------------------------------------------------------------------
# checking an exercise before anyone sees it


def _describe_case(number: int, case: Case) -> str:
    return f"public case {number} ({case.description})"


def check_exercise(exercise: Exercise, *, seeds: Iterable[int] = (0, 1)) -> list[str]:
    """Check that an exercise can be released; return warnings, raise on errors.

    Errors: the public cases cannot be listed or are empty; the reference raises on a public
    case, returns a result of the wrong type, or disagrees with a case's given expected value;
    a case cannot be frozen as data; the hidden case generator fails, or the reference raises on
    a hidden case. Warnings: a known mistake that passes every public case (the notebook cannot
    show its hint), a mistake that cannot be frozen, a number answer of a value exercise (frozen
    in the clear).

    Raises
    ------
    AssignmentError
        With every error found, one per line.
    """
    from course_lib.grading.selfcheck import compare_case, run_cases

    errors: list[str] = []
    warnings: list[str] = []
    ident = exercise.id
    try:
        reference = exercise.reference_solution()
        cases = list(exercise.public_cases())
    except Exception as exc:  # noqa: BLE001
        raise AssignmentError(f"{ident}: the public cases cannot be listed ({type(exc).__name__}: {exc})") from exc
    if not cases:
        errors.append(f"{ident}: it has no public case; students could not check their answer")
    for number, case in enumerate(cases, start=1):
        if not isinstance(case, Case):
            errors.append(f"{ident}: public case {number} is a {type(case).__name__}, not a Case")
            continue
        try:
            got = reference() if exercise.kind == "value" else reference(*case.args, **dict(case.kwargs))
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{ident}: the reference raises {type(exc).__name__}: {exc} on {_describe_case(number, case)}")
            continue
        if exercise.kind == "function":
            problem = exercise.result_type_problem(got)
            if problem:
                errors.append(f"{ident}: on {_describe_case(number, case)} the reference breaks returns=: {problem}")
                continue
        else:
            try:
                got = exercise.canonical(got)
            except (TypeError, ValueError) as exc:
                errors.append(f"{ident}: normalize refuses the reference's own answer: {exc}")
                continue
        if case.has_expected:
            result = compare_case(exercise, case, case.expected, got)
            if not result.ok:
                errors.append(
                    f"{ident}: the reference fails {_describe_case(number, case)}, whose expected value is "
                    f"given: {result.detail}"
                )
        try:
            wire.encode((list(case.args), dict(case.kwargs), got))
        except (wire.WireError, TypeError) as exc:
            errors.append(f"{ident}: {_describe_case(number, case)} cannot be frozen as data ({exc})")
    if exercise.hidden_cases is not None:
        for seed in seeds:
            try:
                hidden = exercise.draw_hidden_cases(seed)
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{ident}: the hidden case generator raises {type(exc).__name__}: {exc} (seed {seed})")
                break
            for number, case in enumerate(hidden, start=1):
                try:
                    if exercise.kind == "function":
                        reference(*case.args, **dict(case.kwargs))
                except Exception as exc:  # noqa: BLE001
                    errors.append(
                        f"{ident}: the reference raises {type(exc).__name__}: {exc} on hidden case {number} "
                        f"({case.description}, seed {seed})"
                    )
    if not errors:
        for mistake in exercise.mistakes:
            if mistake.wrong is None:
                warnings.append(f"{ident}: a mistake without wrong= is not in the hand-out: {mistake.hint[:60]!r}")
                continue
            try:
                wrong = mistake.wrong() if exercise.kind == "value" else mistake.wrong
                if run_cases(exercise, wrong, cases).status == "passed":
                    warnings.append(f"{ident}: the mistake {mistake.hint[:60]!r} passes every public case")
            except Exception as exc:  # noqa: BLE001
                warnings.append(f"{ident}: the mistake {mistake.hint[:60]!r} cannot be evaluated ({exc})")
        try:
            delegates = ".reference_solution()" in inspect.getsource(reference)
        except (OSError, TypeError):
            delegates = False
        if delegates:
            warnings.append(
                f"{ident}: its reference still calls a course exercise's reference (as scaffolded), which "
                "every student's course_lib holds; write your variant's own"
            )
        if exercise.kind == "value" and not _exact(exercise.canonical(reference())):
            warnings.append(
                f"{ident}: its answer is a number, which the hand-out holds in the clear (only an exact "
                "answer, a word or a choice, is frozen as a digest); consider a function exercise"
            )
    if errors:
        raise AssignmentError("\n".join(errors))
    return warnings


# --------------------------------------------------------------------------------------------
# freezing public cases as data, and thawing them in the student's kernel


def _plain(value: Any) -> Any:
    """An exact answer in a canonical plain form (numpy scalars as Python's, text folded)."""
    if hasattr(value, "item") and type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in sorted(value.items(), key=lambda kv: str(kv[0]))}
    return value


def _exact(value: Any) -> bool:
    """Whether an answer is compared exactly (so a digest can stand for it): words, integers,
    booleans, None, and lists or dicts of those."""
    value = _plain(value)
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, list):
        return all(_exact(item) for item in value)
    if isinstance(value, dict):
        return all(_exact(item) for item in value.values())
    return False


def answer_digest(exercise_id: str, case_index: int, value: Any) -> str:
    """The salted SHA-256 of an exact answer, as a hand-out freezes it.

    Examples
    --------
    >>> answer_digest("11.x", 0, " Holm") == answer_digest("11.x", 0, "holm")
    True
    >>> answer_digest("11.x", 0, "holm") == answer_digest("11.x", 1, "holm")
    False
    """
    text = json.dumps(_plain(value), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{exercise_id}\0{case_index}\0{text}".encode("utf-8")).hexdigest()


def _freeze_normalize(exercise: Exercise, *, from_lesson_module: bool = False) -> dict | None:
    normalize = exercise.normalize
    if normalize is None:
        return None
    if isinstance(normalize, OneOf):
        return {
            "one_of": list(normalize.choices),
            "aliases": dict(normalize.aliases),
            "entries": isinstance(normalize, EntriesOneOf),
        }
    if from_lesson_module:
        # A lesson's own normalize stays in its exercise module, which a hand-out without the
        # answers keeps stripped to what normalizing needs (withheld_handout).
        return {"lesson_module": _normalize_root(exercise)[0]}
    module = getattr(normalize, "__module__", "") or ""
    qualname = getattr(normalize, "__qualname__", "")
    if module.startswith("course_lib.") and qualname and "<" not in qualname and "." not in qualname:
        return {"function": f"{module}:{qualname}"}
    raise AssignmentError(
        f"{exercise.id}: its normalize ({getattr(normalize, '__qualname__', normalize)!r}) is code of your course "
        "folder, which students do not get; use OneOf(...) or EntriesOneOf(...) from "
        "course_lib.grading.registry, or a function of course_lib"
    )


def _normalize_root(exercise: Exercise) -> tuple[str, str]:
    """The module and the top-level name (function, factory or class) a normalize comes from."""
    normalize = exercise.normalize
    owner = normalize if inspect.isfunction(normalize) else type(normalize)
    return owner.__module__, owner.__qualname__.split(".")[0]


def _outcome(function: Any, case: Case, kind: str) -> dict | None:
    try:
        value = function() if kind == "value" else function(*case.args, **dict(case.kwargs))
    except Exception as exc:  # noqa: BLE001 - a mistake that raises is matched by its exception's type
        return {"raised": type(exc).__name__}
    try:
        return {"value": wire.encode(value)}
    except (wire.WireError, TypeError):
        return None


def freeze_exercise(exercise: Exercise, *, from_lesson_module: bool = False) -> dict[str, Any]:
    """An exercise's public face as JSON-compatible data: no reference, no hidden cases.

    Function exercises keep each public case's inputs and expected value; a value exercise with
    an exact answer keeps a salted digest of it instead (:func:`answer_digest`). Every known
    mistake keeps its wrong result on each public case, so the hand-out shows its hint.
    """
    cases = []
    for index, case in enumerate(exercise.public_cases()):
        expected = exercise.expected_for(case)
        item: dict[str, Any] = {
            "description": case.description,
            "args": wire.encode(list(case.args)),
            "kwargs": wire.encode(dict(case.kwargs)),
            "entry": case.entry,
        }
        if exercise.kind == "value":
            # As the self-check compares: the case's expected value, against the canonical answer.
            part = expected.get(case.entry) if case.entry is not None and isinstance(expected, dict) else expected
            if _exact(part):
                item["expected_sha256"] = answer_digest(exercise.id, index, part)
            else:
                item["expected"] = wire.encode(expected)
        else:
            item["expected"] = wire.encode(expected)
        cases.append(item)
    public = list(exercise.public_cases())
    mistakes = [
        {"hint": mistake.hint, "wrong": [_outcome(mistake.wrong, case, exercise.kind) for case in public]}
        for mistake in exercise.mistakes
        if mistake.wrong is not None
    ]
    return {
        "id": exercise.id,
        "title": exercise.title,
        "kind": exercise.kind,
        "points": exercise.points,
        "rtol": exercise.rtol,
        "atol": exercise.atol,
        "hint": exercise.hint,
        "reveal_expected": exercise.reveal_expected,
        "returns": exercise.returns,
        "normalize": _freeze_normalize(exercise, from_lesson_module=from_lesson_module),
        "cases": cases,
        "mistakes": mistakes,
    }


class _NoFrozenOutcome(Exception):
    pass


class FrozenWrong:
    """A known mistake rebuilt from its frozen results: the wrong result on each public case.

    Called with a public case's arguments it returns (or raises) what the mistake did; on other
    arguments it raises, which the self-check treats as "this mistake does not match".
    """

    def __init__(self, cases: list[Case], outcomes: list[dict | None], kind: str) -> None:
        self.cases = cases
        self.outcomes = outcomes
        self.kind = kind

    def _give(self, outcome: dict | None) -> Any:
        if outcome is None:
            raise _NoFrozenOutcome
        if "raised" in outcome:
            raise type(str(outcome["raised"]), (Exception,), {})()
        return wire.decode(outcome["value"])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from course_lib.grading.compare import compare

        if self.kind == "value":
            return self._give(self.outcomes[0] if self.outcomes else None)
        for case, outcome in zip(self.cases, self.outcomes):
            if compare([list(case.args), dict(case.kwargs)], [list(args), kwargs], rtol=0.0, atol=0.0).ok:
                return self._give(outcome)
        raise _NoFrozenOutcome


def _thaw_normalize(spec: dict | None, ident: str = "") -> Any:
    if spec is None:
        return None
    if "one_of" in spec:
        kind = EntriesOneOf if spec.get("entries") else OneOf
        return kind(*spec["one_of"], aliases=spec.get("aliases") or {})
    if "lesson_module" in spec:
        return _lesson_normalize(ident, str(spec["lesson_module"]))
    module_name, _, attribute = str(spec["function"]).partition(":")
    if not module_name.startswith("course_lib."):
        raise ValueError(f"normalize must be a function of course_lib, got {spec['function']!r}")
    return getattr(importlib.import_module(module_name), attribute)


#: The lessons' own normalize functions, kept when their frozen copies replace their entries.
_LESSON_NORMALIZE: dict[str, Any] = {}


def _lesson_normalize(exercise_id: str, module_name: str) -> Any:
    if not module_name.startswith("course_lib.grading.exercises."):
        raise ValueError(f"normalize must come from a lesson's exercise module, got {module_name!r}")
    importlib.import_module(module_name)
    current = _REGISTRY.get(exercise_id)
    if current is not None and not is_released_copy(current):
        _LESSON_NORMALIZE[exercise_id] = current.normalize
    return _LESSON_NORMALIZE[exercise_id]


def thaw_exercise(spec: dict[str, Any]) -> Exercise:
    """Rebuild an exercise from :func:`freeze_exercise`'s data (its reference is withheld)."""
    ident = spec["id"]
    cases = []
    for index, item in enumerate(spec["cases"]):
        args = tuple(wire.decode(item["args"]))
        kwargs = dict(wire.decode(item["kwargs"]))
        if "expected_sha256" in item:
            expected: Any = AnswerDigest(ident, index, str(item["expected_sha256"]))
        else:
            expected = wire.decode(item["expected"])
        cases.append(Case(str(item["description"]), args, kwargs, expected, True, item.get("entry")))
    mistakes = tuple(
        Mistake(str(item["hint"]), wrong=FrozenWrong(cases, list(item["wrong"]), spec["kind"]))
        for item in spec.get("mistakes", [])
    )
    return Exercise(
        id=ident,
        title=str(spec["title"]),
        kind=spec["kind"],
        reference=WITHHELD_REFERENCE,
        public_cases=lambda: list(cases),
        rtol=float(spec["rtol"]),
        atol=float(spec["atol"]),
        mistakes=mistakes,
        hint=str(spec.get("hint", "")),
        points=int(spec["points"]),
        reveal_expected=bool(spec["reveal_expected"]),
        normalize=_thaw_normalize(spec.get("normalize"), ident),
        returns=spec.get("returns"),
    )


def selfcheck_data(exercises: Iterable[Exercise], *, from_lesson_module: bool = False) -> dict[str, Any]:
    """The contents of a hand-out's ``selfcheck.json`` (``from_lesson_module``: lessons' exercises
    whose normalize stays in their stripped exercise module, see :func:`withheld_handout`)."""
    return {
        "format": SELFCHECK_FORMAT,
        "exercises": [freeze_exercise(exercise, from_lesson_module=from_lesson_module) for exercise in exercises],
    }


_THAWED: dict[tuple[str, float], dict[str, dict]] = {}


def _selfcheck_files() -> list[Path]:
    found = []
    named = os.environ.get(SELFCHECK_ENV)
    if named:
        found.append(Path(named))
    found.append(Path.cwd() / SELFCHECK_NAME)
    # In the grading sandbox: what the grader wrote into the course_lib copy it shows there.
    found.append(Path(__file__).resolve().parent / SANDBOX_FILE)
    return [path for path in found if path.is_file()]


def released_exercise(exercise_id: str) -> Exercise | None:
    """The exercise ``exercise_id`` from the hand-out's frozen data, or None.

    The data is ``selfcheck.json`` in the working folder (where a notebook's kernel starts), or
    the file named by the environment variable ``COURSE_LIB_SELFCHECK``. The exercise is
    registered, so later look-ups find it directly.
    """
    for path in _selfcheck_files():
        found = _from_file(path, exercise_id)
        if found is not None:
            return found
    return None


_THAWED_EXERCISES: dict[tuple[tuple[str, float], str], Exercise] = {}


def _from_file(path: Path, exercise_id: str, *, override: bool = False) -> Exercise | None:
    try:
        key = (str(path.resolve()), path.stat().st_mtime)
        if key not in _THAWED:
            data = _read_frozen(path)
            if data.get("format") != SELFCHECK_FORMAT:
                return None
            _THAWED[key] = {spec["id"]: spec for spec in data["exercises"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    spec = _THAWED[key].get(exercise_id)
    if spec is None:
        return None
    current = _REGISTRY.get(exercise_id)
    if current is not None and not is_released_copy(current) and not override:
        return current
    if (key, exercise_id) not in _THAWED_EXERCISES:
        _THAWED_EXERCISES[(key, exercise_id)] = thaw_exercise(spec)
    exercise = _THAWED_EXERCISES[(key, exercise_id)]
    _REGISTRY[exercise_id] = exercise
    return exercise


def use_released(spec: dict[str, Any]) -> Exercise:
    """Register the exercise of a frozen spec, unless the real one is registered; return it."""
    current = _REGISTRY.get(spec["id"])
    if current is not None and not is_released_copy(current):
        return current
    exercise = thaw_exercise(spec)
    _REGISTRY[exercise.id] = exercise
    return exercise


#: Frozen exercises shipped inside a course_lib without their answers: written by the grader
#: into the copy of course_lib its sandboxes see, and into a hand-out's copy (``withheld_handout``).
#: A Python module holding the JSON as a string, so that wheels carry it; read, never imported.
SANDBOX_FILE = "released_exercises.py"


def _write_frozen_module(path: Path, specs: list[dict]) -> None:
    from course_lib.grading.atomic import write_text_atomic

    text = json.dumps({"format": SELFCHECK_FORMAT, "exercises": specs}, allow_nan=False)
    write_text_atomic(
        path,
        '"""Exercises frozen as data for a course_lib without their answers (generated; do not edit)."""\n\n'
        f"DATA = {text!r}\n",
    )


def _read_frozen(path: Path) -> dict:
    """The JSON data of a file written by :func:`_write_frozen_module` (parsed, not imported), or
    of a ``selfcheck.json``."""
    import ast

    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return json.loads(text)
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["DATA"]:
            return json.loads(ast.literal_eval(node.value))
    raise ValueError(f"{path} holds no DATA")


def share_with_sandbox(release: Any) -> Path | None:
    """Show the grading sandbox the answer-free specs of a release's assignment exercises.

    The sandbox never imports the instructor's module (it holds the references). It needs to
    know each exercise (its kind, and its public cases for ``answer_or_reference`` in the
    released cells): the grader writes the release's frozen specs into the copy of course_lib
    without answers that sandboxes see in place of course_lib
    (:func:`course_lib.grading.runner.withheld`), where :func:`released_exercise` finds them.
    Returns the file written, or None for a release of the course's own lessons.
    """
    from course_lib.grading.runner import withheld

    path = Path(withheld().folder) / "grading" / SANDBOX_FILE
    specs = (release.selfcheck or {}).get("exercises") if release.selfcheck else None
    if not specs:
        # Exactly the release being graded: a file left by an earlier release goes.
        path.unlink(missing_ok=True)
        return None
    _write_frozen_module(path, specs)
    return path


def withheld_here(exercise_id: str) -> Exercise | None:
    """A lesson's exercise from frozen data shipped inside this very course_lib, or None.

    Only a course_lib without the answers holds such data: a hand-out of lessons released with
    their answers withheld (:func:`withheld_handout`), or the grading sandbox's copy. There the
    frozen exercise replaces the lesson's entry, whose reference is withheld.
    """
    path = Path(__file__).resolve().parent / SANDBOX_FILE
    if not path.is_file():
        return None
    return _from_file(path, exercise_id, override=True)


class AnswerWithheld(RuntimeError):
    """A course_lib function called in a hand-out that does not hold it (an exercise's answer)."""


def withheld_in_handout(name: str, args: tuple, kwargs: dict) -> Any:
    """What a function withheld from a hand-out does when called: explain, and stop."""
    module, _, function = name.partition(":")
    raise AnswerWithheld(
        f"{module}.{function} is the answer of an exercise of this course, withheld in this hand-out: "
        "write it in the exercise's cell (until its check() passes) and use your own version"
    )


_SANDBOX_CALL = "__import__('course_lib.grading.sandbox', fromlist=['call_reference']).call_reference("
_HANDOUT_CALL = "__import__('course_lib.grading.assignments', fromlist=['withheld_in_handout']).withheld_in_handout("


def withheld_handout(destination: str | Path, lessons: Iterable[str]) -> Path:
    """Write a copy of course_lib without the answers of ``lessons``, for a hand-out.

    The copy is the grading sandbox's (:func:`course_lib.grading.integrity.withheld_course_lib`:
    each reference's body and the answer keys it reads are gone) with three changes: a withheld
    function raises :class:`AnswerWithheld` with a message for the student; the lessons' exercise
    modules keep only what their normalize functions need (hidden case generators, known
    mistakes' code and case factories lose their bodies, :func:`_strip_module`); and the lessons'
    exercises are frozen in ``course_lib/grading/released_exercises.py``, so ``check()`` works
    (:func:`withheld_here`) and ``answer_or_reference`` asks for the answer instead of using
    the reference.

    Returns
    -------
    Path
        The copy, ``destination/course_lib``.
    """
    import shutil

    from course_lib.grading.integrity import withheld_course_lib
    from course_lib.grading.registry import exercise_ids
    from course_lib.lessons import lesson

    numbers = [lesson(number).number for number in lessons]
    exercises = [get_exercise(ident) for number in numbers for ident in exercise_ids(number)]
    copy = withheld_course_lib(destination, [exercise.reference for exercise in exercises])
    target = Path(copy.folder)
    stub_docstring = "Withheld in the grading sandbox: the grader computes it."
    for path in target.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if stub_docstring not in text:
            continue
        stubs = text.count(stub_docstring)
        text = text.replace(_SANDBOX_CALL, _HANDOUT_CALL).replace(
            stub_docstring, "Withheld in this hand-out: it is the answer of an exercise."
        )
        if text.count(_HANDOUT_CALL) < stubs:
            raise AssignmentError(f"the hand-out's copy of {path.name} still calls the grader")
        path.write_text(text, encoding="utf-8")
    for number in numbers:
        keep = {_normalize_root(exercise)[1] for exercise in exercises
                if exercise.lesson == number and exercise.normalize is not None
                and not isinstance(exercise.normalize, OneOf)
                and _normalize_root(exercise)[0] == lesson(number).exercise_module}
        _strip_module(target / "grading" / "exercises" / f"lesson{number}.py", keep)
    shutil.rmtree(target / "grading" / "exercises" / "__pycache__", ignore_errors=True)
    data = selfcheck_data(exercises, from_lesson_module=True)
    _write_frozen_module(target / "grading" / SANDBOX_FILE, data["exercises"])
    return target


def _strip_module(path: Path, keep: set[str]) -> None:
    """Leave in a lesson's exercise module only what its normalize functions need.

    The functions and classes named in ``keep``, and the top-level ones they use, stay; every
    other function (case generators, known mistakes, helpers) and method loses its body, which
    raises :class:`AnswerWithheld` if called. Module-level statements stay, so the module still
    imports (its entries register, and are replaced by the frozen ones).
    """
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {node.name: node for node in tree.body
           if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    kept: set[str] = set()
    todo = [name for name in keep if name in top]
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        kept.add(name)
        todo += [node.id for node in ast.walk(top[name]) if isinstance(node, ast.Name) and node.id in top]
    withheld = "__import__('course_lib.grading.assignments', fromlist=['AnswerWithheld']).AnswerWithheld"
    stub = ast.parse(f"raise {withheld}('withheld in this hand-out')").body
    # A function the module calls as it loads is a factory (of a known mistake, say): it still
    # returns a function, one that refuses to run.
    factory_stub = ast.parse(
        "def withheld(*args, **kwargs):\n"
        f"    raise {withheld}('withheld in this hand-out')\n"
        "return withheld"
    ).body
    called = {
        node.func.id
        for statement in tree.body
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        for node in ast.walk(statement)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in top
    }
    for name, node in top.items():
        if name in kept:
            continue
        functions = [node] if not isinstance(node, ast.ClassDef) else [
            item for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
        ]
        for function in functions:
            function.body = list(factory_stub if name in called else stub)
    path.write_text(ast.unparse(ast.fix_missing_locations(tree)) + "\n", encoding="utf-8")


def graders_problems(release: Any) -> list[str]:
    """Check that every exercise of a release can be graded here; return warnings.

    Warnings: an assignment exercise whose public cases differ from those frozen in the release
    (the module changed after the release: students checked against the released ones).

    Raises
    ------
    AssignmentError
        If an exercise of the release is not registered with its reference (an instructor's
        assignment whose course folder was not loaded: ``--assignments``).
    """
    frozen = {spec["id"]: spec for spec in (release.selfcheck or {}).get("exercises", [])}
    missing, warnings = [], []
    for number in sorted(release.lessons):
        for item in release.lessons[number].exercises:
            try:
                exercise = get_exercise(item.id)
            except ValueError:
                missing.append(item.id)
                continue
            if is_released_copy(exercise):
                missing.append(item.id)
                continue
            if item.id in frozen:
                now = json.loads(json.dumps(freeze_exercise(exercise), allow_nan=False))
                if now["cases"] != frozen[item.id]["cases"]:
                    warnings.append(
                        f"the public cases of {item.id} changed since the release; the students checked "
                        "their answers against the released ones (release again, or revert the change)"
                    )
    if missing:
        raise AssignmentError(
            f"the release holds exercises whose references are not loaded: {', '.join(missing)}; pass "
            "--assignments FOLDER, the course folder the release was made from"
        )
    return warnings


# --------------------------------------------------------------------------------------------
# the release must not hold any reference


def _significant_lines(source: str) -> list[str]:
    """The lines of a function's body that identify it: no signature, docstring, imports,
    comments or short lines, whitespace collapsed."""
    try:
        import ast

        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return []
    function = tree.body[0] if tree.body else None
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return []
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]
    lines = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        for line in (ast.get_source_segment(textwrap.dedent(source), node) or "").splitlines():
            text = " ".join(line.split())
            if len(text) >= 16 and not text.startswith("#"):
                lines.append(text)
    return lines


def secret_sources(exercise: Exercise) -> dict[str, list[str]]:
    """What must never enter a release, by name: the reference and the hidden case generator's
    bodies, as their identifying lines."""
    found = {}
    items = [("reference of " + exercise.id, exercise.reference_solution())]
    if exercise.hidden_cases is not None:
        items.append(("hidden cases of " + exercise.id, exercise.hidden_cases))
    for name, function in items:
        try:
            lines = _significant_lines(inspect.getsource(function))
        except (OSError, TypeError):
            continue
        if lines:
            found[name] = lines
    return found


def _release_texts(folder: Path) -> dict[str, str]:
    import zipfile

    texts = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        relpath = path.relative_to(folder).as_posix()
        if path.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    texts[f"{relpath}!{member}"] = archive.read(member).decode("utf-8", errors="replace")
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        if path.suffix == ".ipynb":
            try:
                notebook = json.loads(text)
                text += "\n" + "\n".join(
                    "".join(cell.get("source", "")) for cell in notebook.get("cells", [])
                )
            except ValueError:
                pass
        texts[relpath] = text
    return texts


def find_leaks(folder: str | Path, exercises: Iterable[Exercise]) -> list[str]:
    """Files of a release that hold a reference's or a hidden case generator's code.

    A file leaks a function when it holds, one after the other, at least half of the function's
    identifying lines (:func:`secret_sources`; whitespace ignored). Notebooks are searched in
    their cells' sources too (their JSON escapes quotes and line ends), wheels and zips member
    by member.
    """
    texts = {name: " ".join(text.split()) for name, text in _release_texts(Path(folder)).items()}
    leaks = []
    for exercise in exercises:
        for what, lines in secret_sources(exercise).items():
            needed = max(1, (len(lines) + 1) // 2)
            for name, text in texts.items():
                run = _longest_run(lines, text)
                if run >= needed:
                    leaks.append(f"{name} holds the {what} ({run} of its {len(lines)} lines, in order)")
    return leaks


def _longest_run(lines: list[str], text: str) -> int:
    """The most consecutive ``lines`` found together (joined by a space) in ``text``."""
    best = 0
    for start in range(len(lines)):
        end = start
        while end < len(lines) and " ".join(lines[start : end + 1]) in text:
            end += 1
        best = max(best, end - start)
    return best


# --------------------------------------------------------------------------------------------
# scaffolding a variant of a lesson's exercise


_ID = re.compile(r"^(?P<number>\d\d)\.(?P<name>[a-z_][a-z0-9_]*)$")


def _lesson_cells(root: Path, exercise_id: str) -> tuple[dict | None, dict | None, dict | None]:
    """The markdown, exercise and check cells of a lesson's exercise in its source notebook."""
    from course_lib.grading.notebooks import cell_source, exercise_id as cell_exercise, read_notebook
    from course_lib.lessons import lesson

    path = root / "notebooks" / "solutions" / lesson(exercise_id[:2]).notebook
    if not path.is_file():
        return None, None, None
    cells = read_notebook(path)["cells"]
    for index, cell in enumerate(cells):
        if cell.get("cell_type") == "code" and cell_exercise(cell) == exercise_id:
            text = next(
                (c for c in reversed(cells[:index]) if c.get("cell_type") == "markdown"
                 and exercise_id in cell_source(c)),
                None,
            )
            check = next(
                (c for c in cells[index + 1:] if c.get("cell_type") == "code"
                 and f'check("{exercise_id}"' in cell_source(c)),
                None,
            )
            return text, cell, check
    return None, None, None


def _new_cell(kind: str, source: str, ident: str, exercise: str | None = None) -> dict:
    cell: dict[str, Any] = {"cell_type": kind, "id": ident, "metadata": {}, "source": source}
    if exercise:
        cell["metadata"] = {"course": {"exercise": exercise}}
    if kind == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    return cell


def _assignment_notebook(number: str, title: str) -> dict:
    from course_lib.lessons import browser_setup_cell

    return {
        "cells": [
            _new_cell(
                "markdown",
                f"# Assignment {number} · {title}\n\nWhat you will practise, the time it takes and what to "
                "read first. Only the exercise cells are graded; keep helpers you write inside the exercise "
                "cell. `check(...)` under each exercise runs its public cases; more cases are run when graded.",
                "title",
            ),
            _new_cell("code", browser_setup_cell(), "browser-setup"),
            _new_cell(
                "code",
                "import numpy as np\n\nfrom course_lib.grading import answer_or_reference, check\n\n"
                "rng = np.random.default_rng(0)",
                "imports",
            ),
        ],
        "metadata": {
            "course": {"lesson": number, "title": title},
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def scaffold(
    source_id: str,
    new_id: str,
    folder: str | Path,
    *,
    root: str | Path = ".",
    title: str | None = None,
) -> list[Path]:
    """Create an assignment's exercise as a variant of a lesson's: registry entry, notebook cells,
    and a test, in an instructor's course folder.

    The registry entry starts as the lesson's (``dataclasses.replace`` of it: same cases, hints and
    mistakes) with a reference of its own in ``exercises.py`` that calls the course's until you
    write yours; the notebook gets the lesson's exercise text, cell and check cell under the new
    id; ``tests/test_<id>.py`` checks that the assignment can be released.

    Returns
    -------
    list of Path
        The files created or changed.

    Raises
    ------
    ValueError
        If an id is malformed, ``source_id`` is not a lesson exercise, ``new_id``'s number is a
        lesson's, or ``new_id`` exists already.
    """
    from course_lib.grading.notebooks import read_notebook, write_notebook

    folder, root = Path(folder), Path(root)
    match = _ID.match(new_id or "")
    if match is None:
        raise ValueError(f"new_id must look like 'NN.name' (lower case), got {new_id!r}")
    if new_id[:2] in {item.number for item in LESSONS}:
        raise ValueError(f"new_id {new_id!r}: {new_id[:2]} is a lesson of the course; use a number such as 11")
    base = get_exercise(source_id)
    if is_released_copy(base) or source_id[:2] not in {item.number for item in LESSONS}:
        raise ValueError(f"source_id must be an exercise of the course's lessons, got {source_id!r}")
    folder.mkdir(parents=True, exist_ok=True)
    module = folder / EXERCISES_MODULE
    existing = module.read_text(encoding="utf-8") if module.is_file() else ""
    if re.search(rf"id=[\"']{re.escape(new_id)}[\"']", existing):
        raise ValueError(f"new_id {new_id!r} is registered in {module} already")
    title = title or f"{base.title} (a variant)"
    name = match["name"]
    reference = base.reference_solution()
    try:
        signature = str(inspect.signature(reference))
    except (TypeError, ValueError):
        signature = "(*args, **kwargs)"
    parameters = inspect.signature(reference).parameters if signature != "(*args, **kwargs)" else {}
    call = ", ".join(
        f"*{p}" if v.kind is v.VAR_POSITIONAL else f"**{p}" if v.kind is v.VAR_KEYWORD
        else f"{p}={p}" if v.kind is v.KEYWORD_ONLY else p
        for p, v in parameters.items()
    ) or "*args, **kwargs"
    header = "" if existing else (
        '"""My course\'s exercises (registry format: course_lib/grading/exercises/lessonNN.py)."""\n\n'
        "from __future__ import annotations\n\n"
        "import dataclasses\n\n"
        "from course_lib.grading.registry import Case, Exercise, Mistake, get_exercise, register\n"
    )
    if existing and "import dataclasses" not in existing:
        header = "\nimport dataclasses\n"
    if existing and "get_exercise" not in existing:
        header += "\nfrom course_lib.grading.registry import get_exercise, register\n"
    entry = f'''

# ---------------------------------------------------------------------------------------------
# {new_id}: a variant of the course's {source_id} (scaffolded: make the cases and the reference yours)
# ---------------------------------------------------------------------------------------------


def {name}{signature}:
    """The reference of {new_id}. It calls the course's {source_id} until you write your variant."""
    return get_exercise("{source_id}").reference_solution()({call})


register(
    dataclasses.replace(
        get_exercise("{source_id}"),
        id="{new_id}",
        title={title!r},
        reference=f"{{__name__}}:{name}",
        # Replace what makes it a variant, e.g. public_cases=..., hidden_cases=..., mistakes=(...)
    )
)
'''
    module.write_text(existing + header + entry, encoding="utf-8")
    written = [module]

    number = new_id[:2]
    notebooks = sorted(folder.glob(f"{number}_*.ipynb"))
    path = notebooks[0] if notebooks else folder / f"{number}_assignment.ipynb"
    notebook = read_notebook(path) if path.is_file() else _assignment_notebook(number, title)
    text, cell, check = _lesson_cells(root, source_id)
    from course_lib.grading.notebooks import cell_source

    answer = "answer"
    if check is not None:
        found = re.search(rf'check\("{re.escape(source_id)}",\s*([^)]+)\)', cell_source(check))
        answer = found.group(1).strip() if found else answer
    body = (
        cell_source(text).replace(source_id, new_id)
        if text is not None
        else f"### Exercise {new_id}: {title}\n\nWhat to write, and how it is checked."
    )
    code = (
        cell_source(cell)
        if cell is not None
        else f"def {answer}{signature}:\n    # BEGIN SOLUTION\n    ...\n    # END SOLUTION\n"
    )
    slug = new_id.replace(".", "-").replace("_", "-")
    notebook["cells"] += [
        _new_cell("markdown", body, f"{slug}-text"),
        _new_cell("code", code, f"{slug}", new_id),
        _new_cell("code", f'check("{new_id}", {answer})', f"{slug}-check"),
    ]
    write_notebook(notebook, path)
    written.append(path)

    test = folder / "tests" / f"test_{new_id.replace('.', '_')}.py"
    test.parent.mkdir(parents=True, exist_ok=True)
    test.write_text(
        f'''"""{new_id}: the reference passes its cases, every known mistake is caught, and it can be released."""

from pathlib import Path

from course_lib.grading import get_exercise, run_cases
from course_lib.grading.assignments import check_exercise, load_course

COURSE = Path(__file__).resolve().parent.parent


def test_{new_id.replace('.', '_')}_can_be_released():
    load_course(COURSE)
    exercise = get_exercise("{new_id}")
    warnings = check_exercise(exercise)  # raises on any error
    assert not [warning for warning in warnings if "passes every public case" in warning], warnings
    reference = exercise.reference_solution()
    answer = reference() if exercise.kind == "value" else reference
    assert run_cases(exercise, answer, exercise.public_cases()).status == "passed"
    assert run_cases(exercise, answer, exercise.draw_hidden_cases(7), hidden=True).status == "passed"
''',
        encoding="utf-8",
    )
    written.append(test)
    return written


def assignment_title(notebook: dict, number: str) -> str:
    """An assignment's title: the notebook's ``course.title`` metadata, else its first heading."""
    from course_lib.grading.notebooks import cell_source

    meta = notebook.get("metadata", {}).get("course", {})
    if isinstance(meta, dict) and isinstance(meta.get("title"), str) and meta["title"].strip():
        return meta["title"].strip()
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in cell_source(cell).splitlines():
                if line.startswith("# "):
                    title = line[2:].strip()
                    return re.sub(rf"^(Assignment|Lesson|Homework)\s+{number}\s*[·:\-]\s*", "", title)
    return f"Assignment {number}"


__all__ = [
    "AssignmentError",
    "Course",
    "answer_digest",
    "share_with_sandbox",
    "check_exercise",
    "find_leaks",
    "freeze_exercise",
    "graders_problems",
    "load_course",
    "withheld_handout",
    "released_exercise",
    "scaffold",
    "selfcheck_data",
    "thaw_exercise",
]
