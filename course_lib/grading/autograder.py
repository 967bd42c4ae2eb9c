"""Grade a folder of submitted notebooks: ``python -m course_lib.grading grade SUBMISSIONS --out RESULTS``.

For every ``.ipynb`` under ``SUBMISSIONS`` (one student per file, or per top-level folder; the
student id is the file or folder name) the grader

1. reads the notebook and finds its lesson (metadata, else its exercise ids, else its file name);
2. takes only the exercise cells' code, and runs it inside the released notebook's own cells in a
   sandboxed process (:mod:`course_lib.grading.runner`), so editing or deleting any other cell
   changes nothing; edits are flagged from the release manifest's checksums;
3. compares the answers, in this trusted process, with expected values it computes from the
   reference on the exercise's public cases and hidden cases drawn with the run's seed, using
   the same :func:`course_lib.grading.selfcheck.judge` as the learner's self-check;
4. gives 0 to an exercise whose cell uses the reference solution, and flags it: found in its
   source, and from the calls the grader served (the sandbox's course_lib has no answers; its
   withheld functions ask the grader, :func:`course_lib.grading.sandbox.call_reference`);
5. writes per-student feedback and a Gradescope ``results.json`` as soon as a submission is done,
   then the class gradebook and summary (:mod:`course_lib.grading.feedback`,
   :mod:`course_lib.grading.gradebook`).

The grader only reads ``SUBMISSIONS``. A re-run reuses the seed recorded in ``RESULTS`` and skips
submissions whose file, seed, release and limits are unchanged, unless forced.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import secrets
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from course_lib.grading import wire
from course_lib.grading.integrity import cell_changes, reference_use, tampering
from course_lib.grading.notebooks import cell_source, exercise_cells
from course_lib.grading.registry import Case, get_exercise, lesson_numbers
from course_lib.grading.release import Release, exercise_id_of, notebook_lesson
from course_lib.grading.sandbox import Limits
from course_lib.grading.selfcheck import CaseOutcome, CheckResult, Raised, judge
from course_lib.lessons import LESSONS

GRADER_VERSION = "2"
MAX_SUBMISSION_BYTES = 50 * 2**20
RECORD_NAME = "record.json"

#: Submission-level statuses, from best to worst.
STATUSES = ("graded", "not attempted", "wrong lesson", "unknown lesson", "unreadable", "grader error")


def hidden_seed(run_seed: int, exercise_id: str) -> int:
    """The seed of an exercise's hidden cases in a run: fixed by the run's seed and the id.

    Examples
    --------
    >>> hidden_seed(7, "01.windowed_mean") == hidden_seed(7, "01.windowed_mean")
    True
    >>> hidden_seed(7, "01.windowed_mean") != hidden_seed(8, "01.windowed_mean")
    True
    """
    digest = hashlib.sha256(f"{run_seed}:{exercise_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")


# --------------------------------------------------------------------------------------------
# submissions


@dataclass(frozen=True)
class Submission:
    """One submitted file: who sent it, where it is (relative to SUBMISSIONS), its bytes.

    A file named by Canvas's bulk download (:func:`course_lib.grading.roster.canvas_name`) also
    carries the Canvas user id, Canvas's late marker and the name the student uploaded.
    """

    student: str
    relpath: str
    data: bytes
    mtime: float
    lms_id: str = ""
    lms_late: bool = False
    original: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def student_id(relpath: str) -> str:
    """The student a submission belongs to: its top-level folder, or its file name without suffix.

    The name is kept exactly as the file system spells it: two names that differ only in their
    Unicode normalisation (``Zoë`` composed or decomposed) are two students, whose folders
    :func:`assign_folders` keeps apart and flags.

    Examples
    --------
    A file at the top level named by Canvas's bulk download belongs to the name Canvas put first.

    >>> student_id("alice/01_drift_theory.ipynb"), student_id("bob.ipynb")
    ('alice', 'bob')
    >>> student_id("heidi_LATE_12345_67890_02_drift_statistics.ipynb")
    'heidi'
    """
    from course_lib.grading.roster import canvas_name

    parts = Path(relpath).parts
    if len(parts) > 1:
        return parts[0]
    canvas = canvas_name(parts[0])
    return canvas.student if canvas is not None else Path(parts[0]).stem


@dataclass(frozen=True)
class Skipped:
    """An entry of the submissions folder the grader did not read, and why."""

    relpath: str
    reason: str


def find_submissions(folder: str | Path, skipped: list[Skipped] | None = None) -> list[Submission]:
    """Every ``.ipynb`` under ``folder`` (hidden files and ``.ipynb_checkpoints`` skipped), sorted.

    Parameters
    ----------
    folder : path
    skipped : list, optional
        Receives a :class:`Skipped` for every symbolic link (to a notebook or a folder) and every
        unreadable notebook: the grader never follows a link out of the submissions folder.

    Raises
    ------
    ValueError
        If ``folder`` is not a folder.
    """
    from course_lib.grading.roster import canvas_name

    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"submissions must be a folder of notebooks, got {str(root)!r}")
    found = []
    notes = skipped if skipped is not None else []
    for directory, subdirs, files in os.walk(root, followlinks=False):
        for name in sorted(subdirs):
            if (Path(directory) / name).is_symlink() and not name.startswith("."):
                relpath = (Path(directory) / name).relative_to(root).as_posix()
                notes.append(Skipped(relpath, "a symbolic link to a folder (links are never followed)"))
        subdirs[:] = sorted(
            d
            for d in subdirs
            if not d.startswith(".") and d != "__pycache__" and not (Path(directory) / d).is_symlink()
        )
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith(".ipynb"):
                continue
            path = Path(directory) / name
            if path.is_symlink():
                notes.append(Skipped(path.relative_to(root).as_posix(), "a symbolic link (links are never followed)"))
                continue
            if not path.is_file():
                notes.append(Skipped(path.relative_to(root).as_posix(), "not a regular file"))
                continue
            relpath = path.relative_to(root).as_posix()
            try:
                stat = path.stat()
                data = path.read_bytes() if stat.st_size <= MAX_SUBMISSION_BYTES else b""
            except OSError as exc:
                notes.append(Skipped(relpath, f"could not be read ({type(exc).__name__})"))
                continue
            canvas = canvas_name(name) if relpath == name else None
            if canvas is not None:
                found.append(
                    Submission(
                        canvas.student, relpath, data, stat.st_mtime, canvas.user_id, canvas.late, canvas.original
                    )
                )
            else:
                found.append(Submission(student_id(relpath), relpath, data, stat.st_mtime))
    return found


def hash_tree(folder: str | Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (to show the grader left it untouched)."""
    root = Path(folder)
    hashes = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            hashes[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


# --------------------------------------------------------------------------------------------
# records


@dataclass
class ExerciseGrade:
    """The grade of one exercise of one submission."""

    id: str
    title: str
    points: int
    score: float
    status: str
    message: str = ""
    public: CheckResult | None = None
    hidden: CheckResult | None = None
    #: For the instructor only (record.json): what the feedback leaves out, e.g. exception
    #: messages and what hidden cases returned.
    details: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["public"] = _result_to_json(self.public)
        data["hidden"] = _result_to_json(self.hidden)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ExerciseGrade":
        data = dict(data)
        data["public"] = _result_from_json(data.get("public"))
        data["hidden"] = _result_from_json(data.get("hidden"))
        return cls(**data)


def _result_to_json(result: CheckResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "exercise_id": result.exercise_id,
        "status": result.status,
        "passed": result.passed,
        "total": result.total,
        "hidden": result.hidden,
        "outcomes": [asdict(outcome) for outcome in result.outcomes],
    }


def _result_from_json(data: dict[str, Any] | None) -> CheckResult | None:
    if data is None:
        return None
    outcomes = tuple(CaseOutcome(**outcome) for outcome in data["outcomes"])
    return CheckResult(data["exercise_id"], data["status"], data["passed"], data["total"], outcomes, data["hidden"])


@dataclass
class GradeRecord:
    """The grade of one student's submission of one lesson, with what the feedback needs."""

    student: str
    lesson: str
    lesson_title: str
    submission: str
    sha256: str
    status: str
    score: float
    max_score: float
    seed: int
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exercises: list[ExerciseGrade] = field(default_factory=list)
    isolation: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    attempts: int = 0
    key: str = ""
    output: str = ""
    #: The folder name of the student's results (see :func:`course_lib.grading.feedback.assign_folders`).
    folder: str = ""
    #: For the instructor only: messages the feedback leaves out (errors raised by released cells).
    log: list[str] = field(default_factory=list)
    #: The term (:class:`course_lib.grading.roster.Term`), set on every run: the roster's name
    #: and LMS id, why the submission is late ("" if it is not), the instructor's adjustments
    #: (exercise, before, after, comment) and the points a late penalty took off.
    name: str = ""
    lms_id: str = ""
    late: str = ""
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    penalty: float = 0.0
    roster_problem: str = ""

    @property
    def adjusted_score(self) -> float:
        """The score after the instructor's adjustments."""
        return self.score + sum(item["after"] - item["before"] for item in self.adjustments)

    @property
    def final_score(self) -> float:
        """The score after adjustments and the late penalty: the grade."""
        return max(0.0, self.adjusted_score - self.penalty)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["exercises"] = [grade.to_json() for grade in self.exercises]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "GradeRecord":
        data = dict(data)
        data["exercises"] = [ExerciseGrade.from_json(item) for item in data.get("exercises", [])]
        return cls(**data)


# --------------------------------------------------------------------------------------------
# expected values (computed here, never in the sandbox)


@dataclass(frozen=True)
class CaseSet:
    """An exercise's cases in a run and their expected values."""

    public: list[Case]
    public_expected: list[Any]
    hidden: list[Case]
    hidden_expected: list[Any]


def case_sets(release: Release, lessons: Iterable[str], seed: int) -> dict[str, CaseSet]:
    """Cases and expected values of every exercise of ``lessons``, by exercise id."""
    from course_lib.grading.assignments import share_with_sandbox

    share_with_sandbox(release)  # an instructor's assignment: its answer-free specs, for the sandbox
    sets = {}
    for number in lessons:
        for item in release.lessons[number].exercises:
            exercise = get_exercise(item.id)
            public = list(exercise.public_cases())
            # An exercise without hidden cases (a value to write) is graded on its public cases.
            hidden = exercise.draw_hidden_cases(hidden_seed(seed, item.id)) if exercise.hidden_cases else []
            sets[item.id] = CaseSet(
                public,
                [exercise.expected_for(case) for case in public],
                hidden,
                [exercise.expected_for(case) for case in hidden],
            )
    return sets


# --------------------------------------------------------------------------------------------
# grading one submission


def submission_lesson(notebook: dict, relpath: str) -> str | None:
    """The lesson a submission claims: metadata, else its exercise ids, else its file name.

    ``relpath`` is the file's path, or the name the student gave it (a Canvas download's
    original name).
    """
    number = notebook_lesson(notebook)
    if number:
        return number
    # Only numbers of the course's lesson table: a lesson number becomes part of a path.
    known = set(lesson_numbers())  # lessons, and an instructor's assignments
    ids = [ident[:2] for ident in exercise_cells(notebook) if ident[:2] in known and ident[2:3] == "."]
    if ids:
        return Counter(ids).most_common(1)[0][0]
    name = Path(relpath).name
    return name[:2] if name[:2] in known and name[2:3] == "_" else None


#: Longest text of a submission's that a record keeps (an exception message, a failed case's
#: detail); longer text is cut with a note.
MAX_DETAIL_CHARS = 300
_TYPE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,79}")


def type_only(text: Any) -> str:
    """The leading exception or type name of a text from the sandbox, nothing else of it.

    Examples
    --------
    >>> type_only("ValueError: hidden0=[0.469, -0.26]"), type_only("<script>")
    ('ValueError', 'an error')
    """
    match = _TYPE_NAME.match(text) if isinstance(text, str) else None
    return match.group(0) if match else "an error"


def cut(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """``text`` at most ``limit`` characters long, with a note when it was cut."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + f"... [cut: {len(text)} characters]"


def _answers(raw: Any, count: int) -> list[Any]:
    """Decode the sandbox's answers to ``count`` cases (exceptions as :class:`Raised`, message kept)."""
    if not isinstance(raw, list) or len(raw) != count:
        raise wire.WireError("the number of answers does not match the cases")
    answers: list[Any] = []
    for item in raw:
        if isinstance(item, dict) and "value" in item:
            try:
                answers.append(wire.decode(item["value"]))
            except wire.WireError as exc:
                answers.append(Raised("AnswerNotGradable", str(exc)))
        elif isinstance(item, dict) and isinstance(item.get("raised"), list) and len(item["raised"]) == 2:
            kind, message = (str(part) for part in item["raised"])
            answers.append(Raised(type_only(kind), cut(message)))
        else:
            raise wire.WireError("an answer is neither a value nor an exception")
    return answers


def _for_student(result: CheckResult) -> CheckResult:
    """A check result as the student's feedback shows it.

    Text an answer produced cannot be told apart from data it smuggles out (the hidden inputs it
    was called with, read from memory): exception messages are dropped (their type stays), and
    a failed hidden case says only that it failed, never what the answer returned. Public cases
    keep their expected-vs-got line (cut), as the notebook's own ``check()`` shows it.
    """
    outcomes = []
    for outcome in result.outcomes:
        detail = outcome.detail
        if detail.startswith("raised "):
            detail = "raised " + type_only(detail[len("raised ") :])
        elif result.hidden and not outcome.passed:
            detail = "wrong result (what a hidden case returned is not shown)"
        outcomes.append(CaseOutcome(outcome.number, outcome.description, outcome.passed, cut(detail), outcome.hint))
    return CheckResult(result.exercise_id, result.status, result.passed, result.total, tuple(outcomes), result.hidden)


def grade_exercise(
    item: Any,
    raw: dict[str, Any],
    cases: CaseSet,
    reference_reason: str | None,
    reference_calls: int = 0,
) -> ExerciseGrade:
    """Turn the sandbox's report on one exercise into a grade (see the module docstring).

    ``reference_calls`` are the calls to the exercise's reference that the grader itself served
    to this submission before the exercise was graded (the sandbox has no copy of it).
    """
    exercise = get_exercise(item.id)
    grade = ExerciseGrade(item.id, item.title, item.points, 0.0, "failed")
    status = raw.get("status")
    if reference_reason or reference_calls > 0:
        grade.status = "reference used"
        grade.message = (
            f"Your cell {reference_reason}; an answer must not use course_lib's solution."
            if reference_reason
            else f"Your code called the reference solution ({exercise.reference}) before this exercise was graded."
        )
        if reference_calls:
            grade.details.append(f"{reference_calls} call(s) to {exercise.reference} served by the grader")
        return grade
    error = raw.get("error") if isinstance(raw.get("error"), str) else ""
    cell_error = raw.get("cell_error") if isinstance(raw.get("cell_error"), str) else ""
    if cell_error:
        grade.details.append(f"cell error: {cut(cell_error)}")
    if status == "missing":
        grade.status, grade.message = (
            "missing",
            "The exercise cell is missing from the notebook (or its metadata was removed).",
        )
    elif status == "not attempted":
        grade.status, grade.message = "not attempted", "Not attempted."
    elif status == "no answer":
        grade.status = "no answer"
        grade.details.append(f"error: {cut(error)}")
        grade.message = f"After your cell ran, `{item.answer}` could not be read ({type_only(cell_error or error)})."
    elif status == "not a function":
        grade.message = f"`{item.answer}` should be a function, but it is not."
        grade.details.append(cut(error))
    elif status in ("timed out", "crashed"):
        # These texts are the grader's own (limits, exit codes), never the submission's.
        grade.status, grade.message = status, f"The grader stopped your code: it {cut(error)}."
    elif status == "ran":
        try:
            public = _answers(raw.get("public"), len(cases.public))
            hidden = _answers(raw.get("hidden"), len(cases.hidden))
        except wire.WireError as exc:
            grade.status, grade.message = "crashed", f"The grader could not read your answers ({cut(exc)})."
            return grade
        try:
            full_public = judge(exercise, cases.public, public, expected=cases.public_expected)
            full_hidden = (
                judge(exercise, cases.hidden, hidden, expected=cases.hidden_expected, hidden=True)
                if cases.hidden
                else None
            )
        except Exception as exc:  # noqa: BLE001 - an answer the comparer cannot handle
            # (complex where a real is expected, 10**400 as a float...): this exercise only.
            grade.status = "not gradable"
            grade.message = (
                "The grader could not compare your answer with the expected one "
                f"({type(exc).__name__}); return a value of the type the exercise asks for."
            )
            grade.details.append(f"comparison failed: {cut(repr(exc))}")
            return grade
        for result in (full_public, full_hidden):
            for outcome in result.outcomes if result is not None else ():
                if not outcome.passed:
                    kind = "hidden" if result.hidden else "public"
                    grade.details.append(f"{kind} case {outcome.number}: {cut(outcome.detail)}")
        grade.public = _for_student(full_public)
        grade.hidden = _for_student(full_hidden) if full_hidden is not None else None
        results = [result for result in (grade.public, grade.hidden) if result is not None]
        passed = sum(result.passed for result in results)
        total = sum(result.total for result in results)
        grade.score = item.points * passed / total if total else 0.0
        grade.status = "passed" if passed == total else "failed"
        if cell_error:
            grade.message = f"Your cell raised {type_only(cell_error)}, but it defined `{item.answer}`, which was graded."
    else:
        grade.status, grade.message = "crashed", "The grader got no usable report for this exercise."
    return grade


@dataclass(frozen=True)
class Plan:
    """A submission to grade, with the lesson it is graded as and the duplicates it won over."""

    submission: Submission
    notebook: dict | None
    lesson: str | None
    problem: str | None
    duplicates: tuple[str, ...] = ()
    #: Exercise cells (and the lesson, as "lesson") recognised by their cell ids because the
    #: submission's metadata was removed.
    restored: tuple[str, ...] = ()


def lesson_by_cell_ids(notebook: dict, release: Release) -> str | None:
    """The released lesson most of a notebook's cell ids come from (None if none shares an id).

    Jupyter gives every cell an id that editors keep when they strip metadata, so a notebook whose
    metadata was removed still says which release it came from.
    """
    ids = {cell["id"] for cell in notebook.get("cells", []) if isinstance(cell.get("id"), str)}
    counts = []
    for number, released in release.lessons.items():
        released_ids = {cell.get("id") for cell in released.notebook.get("cells", []) if isinstance(cell.get("id"), str)}
        shared = len(ids & released_ids)
        if shared:
            counts.append((shared, number))
    return max(counts)[1] if counts else None


def restore_exercise_cells(notebook: dict, released: Any) -> tuple[str, ...]:
    """Mark the exercise cells of a notebook whose metadata was lost, by the release's cell ids.

    A code cell without exercise metadata whose id is the id of a released exercise cell gets that
    exercise's id back (unless another cell already carries it). Changes ``notebook`` in place
    and returns the exercise ids restored.
    """
    released_cells = released.notebook.get("cells", [])
    by_cell_id = {}
    for item in released.exercises:
        cell_id = released_cells[item.cell_index].get("id") if item.cell_index < len(released_cells) else None
        if isinstance(cell_id, str):
            by_cell_id[cell_id] = item.id
    present = set(exercise_cells(notebook))
    restored = []
    for cell in notebook.get("cells", []):
        ident = by_cell_id.get(cell.get("id"))
        if cell.get("cell_type") == "code" and exercise_id_of(cell) is None and ident and ident not in present:
            cell["metadata"] = {"course": {"exercise": ident}}
            present.add(ident)
            restored.append(ident)
    return tuple(restored)


def _clean_cell(cell: dict) -> dict:
    """Only the parts of a submitted cell the grader reads, each of the expected type."""
    meta = cell.get("metadata")
    course = meta.get("course") if isinstance(meta, dict) else None
    exercise = course.get("exercise") if isinstance(course, dict) else None
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(part for part in source if isinstance(part, str))
    clean: dict[str, Any] = {
        "cell_type": cell.get("cell_type") if isinstance(cell.get("cell_type"), str) else "",
        "source": source if isinstance(source, str) else "",
        "metadata": {"course": {"exercise": exercise}} if isinstance(exercise, str) else {},
    }
    if isinstance(cell.get("id"), str):
        clean["id"] = cell["id"]
    return clean


def parse_submission(data: bytes) -> tuple[dict | None, str | None]:
    """A submitted file as a clean notebook (cells and the lesson number only), or why not.

    Everything else in the file is dropped, so the rest of the grader reads well-typed data
    whatever the file holds.
    """
    if not data:
        return None, "the file is empty (or larger than the 50 MB the grader reads)"
    try:
        notebook = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return None, f"the file is not valid notebook JSON ({type(exc).__name__}: {str(exc)[:120]})"
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return None, "the file is JSON but not a Jupyter notebook (no list of cells)"
    if not all(isinstance(cell, dict) for cell in notebook["cells"]):
        return None, "the notebook's cells are malformed"
    lesson = notebook_lesson(notebook)
    return {
        "cells": [_clean_cell(cell) for cell in notebook["cells"]],
        "metadata": {"course": {"lesson": lesson}} if lesson else {},
    }, None


def plan_submissions(submissions: list[Submission], release: Release, lesson: str | None = None) -> list[Plan]:
    """Parse the submissions, find their lessons, and keep one per student and lesson.

    Among duplicates the most recently modified file wins (then the last path in sort order);
    the others are listed on the winner.
    """
    plans: dict[tuple[str, str | None], list[Plan]] = {}
    for submission in submissions:
        notebook, problem = parse_submission(submission.data)
        restored: tuple[str, ...] = ()
        name = submission.original or submission.relpath
        number = submission_lesson(notebook, name) if notebook is not None else None
        if notebook is not None and number is None:
            number = lesson_by_cell_ids(notebook, release)
            if number is not None:
                restored = ("lesson",)
        if notebook is not None and number in release.lessons:
            restored += restore_exercise_cells(notebook, release.lessons[number])
        if notebook is not None and number is None:
            number = lesson if lesson else (next(iter(release.lessons)) if len(release.lessons) == 1 else None)
        if notebook is not None and lesson is not None and number != lesson:
            problem = f"this is the notebook of lesson {number or '?'}, not of lesson {lesson}"
            number = lesson
            key = (submission.student, lesson)
        elif notebook is not None and number not in release.lessons:
            problem = f"lesson {number or '?'} is not in the release" if number else "the notebook names no lesson"
            key = (submission.student, number)
        else:
            key = (submission.student, number)
        plans.setdefault(key, []).append(Plan(submission, notebook, number, problem, (), restored))
    chosen = []
    for group in plans.values():
        # A readable notebook of the right lesson beats a broken one; then the newest wins.
        group.sort(key=lambda p: (p.problem is None, p.submission.mtime, p.submission.relpath))
        best = group[-1]
        others = tuple(p.submission.relpath for p in group[:-1])
        chosen.append(Plan(best.submission, best.notebook, best.lesson, best.problem, others, best.restored))
    return sorted(chosen, key=lambda p: (p.submission.student, p.lesson or "", p.submission.relpath))


def record_key(plan: Plan, seed: int, release: Release, limits: Limits) -> str:
    """What a record depends on: when it is unchanged, a re-run reuses the record."""
    material = {
        "grader": GRADER_VERSION,
        "sha256": plan.submission.sha256,
        "relpath": plan.submission.relpath,
        "lesson": plan.lesson,
        "duplicates": list(plan.duplicates),
        "seed": seed,
        "release": release.fingerprint,
        "limits": asdict(limits),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode("utf-8")).hexdigest()


def _normalized(source: str) -> str:
    return source.replace("\r\n", "\n").strip()


def _heading(cell: dict) -> str | None:
    """The first Markdown heading of a cell, without its ``#`` marks, or None."""
    if cell.get("cell_type") != "markdown":
        return None
    for line in cell_source(cell).splitlines():
        if line.lstrip().startswith("#"):
            text = line.strip().lstrip("#").strip()
            if text:
                return text if len(text) <= 70 else text[:67] + "..."
    return None


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def describe_cell(notebook: dict, index: int) -> str:
    """A released cell as the student can find it: by its heading, never by its position.

    Examples
    --------
    >>> nb = {"cells": [{"cell_type": "markdown", "source": "## Setup"},
    ...                 {"cell_type": "code", "source": "x = 1"}, {"cell_type": "code", "source": "y = 2"}]}
    >>> describe_cell(nb, 0), describe_cell(nb, 2)
    ('the text cell "Setup"', 'the 2nd code cell under "Setup"')
    """
    cells = notebook.get("cells", [])
    if not isinstance(index, int) or not 0 <= index < len(cells):
        return "a cell of the lesson"
    cell = cells[index]
    heading = _heading(cell)
    if cell.get("cell_type") == "markdown":
        if heading:
            return f'the text cell "{heading}"'
        first = next((line.strip() for line in cell_source(cell).splitlines() if line.strip()), "")
        return f'the text cell starting "{first[:50]}"' if first else "an empty text cell"
    kind = "code cell" if cell.get("cell_type") == "code" else "cell"
    count = 1
    for above in range(index - 1, -1, -1):
        heading = _heading(cells[above])
        if heading:
            ordinal = "" if count == 1 else _ordinal(count) + " "
            return f'the {ordinal}{kind} under "{heading}"'
        count += cells[above].get("cell_type") == cell.get("cell_type")
    return f"the {kind} at the top of the notebook"


def _describe_cells(notebook: dict, indices: Iterable[int]) -> str:
    return "; ".join(describe_cell(notebook, index) for index in indices)


def grade_plan(plan: Plan, release: Release, cases: dict[str, CaseSet], seed: int, limits: Limits) -> GradeRecord:
    """Grade one planned submission (never raises for a bad submission)."""
    from course_lib.grading.runner import Execution, execute

    submission = plan.submission
    released = release.lessons.get(plan.lesson or "")
    record = GradeRecord(
        student=submission.student,
        lesson=plan.lesson or "?",
        lesson_title=released.title if released else "",
        submission=submission.relpath,
        sha256=submission.sha256,
        status="graded",
        score=0.0,
        max_score=float(released.max_points) if released else 0.0,
        seed=seed,
    )
    if plan.restored:
        record.flags.append("metadata lost")
        exercises = [ident for ident in plan.restored if ident != "lesson"]
        found = "its lesson" + (f" and its exercise cells ({', '.join(exercises)})" if exercises else "")
        if "lesson" not in plan.restored:
            found = f"its exercise cells ({', '.join(exercises)})"
        record.notes.append(
            "The notebook's metadata was removed (some editors do this when saving); "
            f"{found} were recognised by their cell ids. Keep the notebook's metadata next time."
        )
    if plan.duplicates:
        record.flags.append(f"duplicate submissions: {len(plan.duplicates) + 1}")
        record.notes.append(f"Graded {submission.relpath}; ignored {', '.join(plan.duplicates)}.")
    if plan.problem is not None or released is None:
        record.status = (
            "unreadable"
            if plan.notebook is None
            else "wrong lesson"
            if "not of lesson" in (plan.problem or "")
            else "unknown lesson"
        )
        record.notes.append((plan.problem or "unknown lesson").capitalize() + ".")
        if record.status == "wrong lesson":
            record.flags.append("wrong lesson")
        if released is not None:
            record.exercises = [
                ExerciseGrade(item.id, item.title, item.points, 0.0, "missing", "Not graded: " + (plan.problem or ""))
                for item in released.exercises
            ]
        return record

    notebook = plan.notebook or {}
    wanted = {item.id for item in released.exercises}
    all_cells = [cell for cell in notebook.get("cells", []) if exercise_id_of(cell) in wanted]
    counts = Counter(exercise_id_of(cell) for cell in all_cells)
    for ident, count in sorted(counts.items()):
        if count > 1:
            record.notes.append(f"{ident} appears in {count} cells; the last one was graded.")
    sources = {ident: source for ident, source in exercise_cells(notebook).items() if ident in wanted}

    setup = [
        cell_source(c)
        for c in released.notebook.get("cells", [])
        if c.get("cell_type") == "code" and exercise_id_of(c) is None
    ]
    reasons: dict[str, str | None] = {}
    for ident, source in sources.items():
        reasons[ident] = reference_use(source, get_exercise(ident), setup_sources=setup)
        found = tampering(source, setup_sources=setup)
        if found:
            record.flags.append(f"modifies course_lib: {ident}")
            record.notes.append(
                f"{ident} changes course_lib or the checker ({'; '.join(found)}); it does not affect grading."
            )

    changes = cell_changes(released, notebook)
    if changes.edited:
        record.flags.append(f"edited cells: {len(changes.edited)}")
        cells = _describe_cells(released.notebook, changes.edited)
        record.notes.append(f"Edited cells that are not exercises ({cells}): the released versions were run.")
        record.log.append(f"edited released cells at positions {', '.join(map(str, changes.edited))}")
    if changes.deleted:
        record.flags.append(f"deleted cells: {len(changes.deleted)}")
        cells = _describe_cells(released.notebook, changes.deleted)
        record.notes.append(f"Deleted cells that are not exercises ({cells}): the released versions were run.")
        record.log.append(f"deleted released cells at positions {', '.join(map(str, changes.deleted))}")
    if changes.added:
        record.notes.append(f"{changes.added} cell(s) added to the notebook; only exercise cells are graded.")

    released_cells = released.notebook.get("cells", [])
    touched = {
        ident
        for ident, source in sources.items()
        if _normalized(source) != _normalized(cell_source(released_cells[released.exercise(ident).cell_index]))
    }
    if not touched:
        # Every exercise cell is as released (or gone): nothing of the student's to run.
        execution = Execution(results={ident: {"status": "not attempted"} for ident in sources})
        for ident in wanted - set(sources):
            execution.results[ident] = {"status": "missing"}
    else:
        lesson_cases = {item.id: (cases[item.id].public, cases[item.id].hidden) for item in released.exercises}
        execution = execute(released, sources, None, limits, cases=lesson_cases)
        if not execution.isolation:
            # The sandbox never said it was ready: a problem of the grader's machine, not of the
            # submission; say so instead of blaming the student.
            reason = next((r.get("error") for r in execution.results.values() if r.get("error")), "unknown")
            record.status = "grader error"
            record.flags.append("grader error")
            record.notes.append(f"The sandbox did not start: {reason}. Nothing was graded.")
            record.exercises = [
                ExerciseGrade(item.id, item.title, item.points, 0.0, "not graded", "The grader failed; see the notes.")
                for item in released.exercises
            ]
            return record
    record.isolation = execution.isolation
    record.seconds = round(execution.seconds, 3)
    record.attempts = execution.attempts
    record.output = execution.output
    if execution.output_dropped:
        record.notes.append(
            f"The notebook printed more than the grader keeps; {execution.output_dropped} characters were dropped."
        )
    for error in execution.cell_errors[:50]:
        index = error.get("index") if isinstance(error.get("index"), int) else "?"
        where = describe_cell(released.notebook, index) if isinstance(index, int) else "a cell of the lesson"
        record.notes.append(f"{where[0].upper()}{where[1:]} (as released) raised {type_only(error.get('error'))}.")
        record.log.append(f"released cell {index}: {cut(str(error.get('error')), 500)}")

    for item in released.exercises:
        raw = execution.results.get(item.id, {"status": "crashed", "error": "no result"})
        try:
            # Counted by the grader as it served the calls; nothing the sandbox says about them counts.
            calls = execution.reference_calls.get(item.id, 0)
            grade = grade_exercise(item, raw, cases[item.id], reasons.get(item.id), calls)
        except Exception as exc:  # noqa: BLE001 - one exercise never costs the others their grade
            grade = ExerciseGrade(item.id, item.title, item.points, 0.0, "not gradable")
            grade.message = "The grader could not grade this exercise; the instructor has the details."
            grade.details.append(cut(traceback.format_exc(limit=5), 2000))
            record.flags.append(f"grader error: {item.id}")
            del exc
        record.exercises.append(grade)
        if grade.status in ("reference used", "timed out", "crashed"):
            record.flags.append(f"{grade.status}: {item.id}")
    record.score = sum(grade.score for grade in record.exercises)
    if all(grade.status in ("not attempted", "missing") for grade in record.exercises):
        record.status = "not attempted"
    return record


# --------------------------------------------------------------------------------------------
# the batch


@dataclass
class GradingRun:
    """The outcome of :func:`grade`: records of this run, its seed, and what was reused."""

    records: list[GradeRecord]
    seed: int
    release: str
    limits: Limits
    reused: int = 0
    seconds: float = 0.0
    submissions_unchanged: bool = True
    skipped: list[Skipped] = field(default_factory=list)


def _previous_seed(out: Path) -> int | None:
    path = out / "gradebook.json"
    try:
        seed = json.loads(path.read_text(encoding="utf-8")).get("seed")
    except (OSError, ValueError, AttributeError):
        return None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def _is_within(inner: Path, outer: Path) -> bool:
    inner, outer = inner.resolve(), outer.resolve()
    return inner == outer or outer in inner.parents


def grade(
    submissions: str | Path,
    out: str | Path,
    *,
    release: Release,
    seed: int | None = None,
    limits: Limits | None = None,
    workers: int = 2,
    force: bool = False,
    lesson: str | None = None,
    progress: Callable[[GradeRecord, bool], None] | None = None,
    term: Any | None = None,
) -> GradingRun:
    """Grade every notebook under ``submissions`` into ``out``; see the module docstring.

    Parameters
    ----------
    submissions, out : path
        The folder of submissions (only read) and the results folder (created).
    release : Release
        The released lessons (:func:`course_lib.grading.release.read_release` or ``build_release``).
    seed : int, optional
        The grading seed of the hidden cases. By default the one recorded in ``out`` by an
        earlier run, else a new random one; either way it is recorded in the gradebook.
    limits : Limits, optional
    workers : int
        Submissions graded at once (each in its own process).
    force : bool
        Regrade submissions even when unchanged since the last run.
    lesson : str, optional
        Grade only this lesson: notebooks of other lessons get the status "wrong lesson".
    progress : callable, optional
        Called with each record and whether it was reused.
    term : course_lib.grading.roster.Term, optional
        Roster, due time, late penalty and manual adjustments. With a term, submissions are
        named by the roster, every record (reused ones too) gets its late flag, adjustments and
        penalty, its feedback is rewritten, ``gradebook_wide.csv`` is written (one row per
        student, roster students without a submission included), and each student's feedback
        is zipped into ``return/<folder>.zip``, ready to upload.

    Raises
    ------
    ValueError
        If ``out`` is inside ``submissions`` (the grader never writes there), or an argument is
        invalid.

    Notes
    -----
    Sandboxed processes come from a ``multiprocessing`` fork server, which imports the calling
    script's main module in each of them: call this from a script only under
    ``if __name__ == "__main__":`` (the command line and notebooks need nothing).
    """
    from course_lib.grading.feedback import assign_folders, instructor_folder, student_folder, write_student_outputs
    from course_lib.grading.gradebook import write_gradebook, write_summary

    start = time.monotonic()
    submissions, out = Path(submissions), Path(out)
    limits = limits or Limits()
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if not isinstance(release, Release):
        raise TypeError(f"release must be a Release, got {type(release).__name__}")
    if lesson is not None and lesson not in release.lessons:
        raise ValueError(
            f"lesson must be one of the released lessons ({', '.join(sorted(release.lessons))}), got {lesson!r}"
        )
    if not submissions.is_dir():
        raise ValueError(f"submissions must be a folder of notebooks, got {str(submissions)!r}")
    if _is_within(out, submissions) or _is_within(submissions, out):
        raise ValueError(
            "out and submissions must not overlap (the grader never writes into submissions): "
            f"{str(out)!r}, {str(submissions)!r}"
        )
    skipped: list[Skipped] = []
    found = find_submissions(submissions, skipped)
    identities: dict[str, Any] = {}
    if term is not None and getattr(term, "roster", None) is not None:
        for position, item in enumerate(found):
            identity = term.roster.identify(item.student, item.relpath, item.lms_id)
            identities[item.relpath] = identity
            found[position] = dataclasses.replace(item, student=identity.student)
    if seed is None:
        seed = _previous_seed(out)
    if seed is None:
        seed = secrets.randbelow(2**31)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    before = {item.relpath: item.sha256 for item in found}

    plans = plan_submissions(found, release, lesson)
    needed = sorted({p.lesson for p in plans if p.lesson in release.lessons and p.problem is None})
    cases = case_sets(release, needed, seed)
    out.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    reused = 0

    folders = assign_folders(plan.submission.student for plan in plans)
    known = set(lesson_numbers())  # lessons, and an instructor's assignments

    def _apply_term(record: GradeRecord, plan: Plan) -> None:
        identity = identities.get(plan.submission.relpath)
        record.name = identity.name if identity else ""
        record.lms_id = (identity.lms_id if identity else "") or plan.submission.lms_id
        record.roster_problem = identity.problem if identity else ""
        term.apply(record, plan.submission)

    def run_one(plan: Plan) -> GradeRecord:
        nonlocal reused
        folder = folders[plan.submission.student]
        # The folder is part of what a record depends on: a new student can rename a folder.
        key = hashlib.sha256(
            f"{record_key(plan, seed, release, limits)}:{folder.name}:{folder.note}".encode("utf-8")
        ).hexdigest()
        lesson_part = plan.lesson if plan.lesson in known else None
        student_dir = student_folder(out, folder.name, lesson_part)
        instructor_dir = instructor_folder(out, folder.name, lesson_part)
        if not force:
            try:
                previous = GradeRecord.from_json(
                    json.loads((instructor_dir / RECORD_NAME).read_text(encoding="utf-8"))
                )
            except (OSError, ValueError, TypeError, KeyError):
                previous = None
            if previous is not None and previous.key == key:
                with lock:
                    reused += 1
                if term is not None:
                    _apply_term(previous, plan)
                    write_student_outputs(previous, student_dir, instructor_dir)
                if progress:
                    progress(previous, True)
                return previous
        try:
            record = grade_plan(plan, release, cases, seed, limits)
        except Exception:  # noqa: BLE001 - one bad submission never stops the batch
            record = GradeRecord(
                plan.submission.student,
                plan.lesson or "?",
                "",
                plan.submission.relpath,
                plan.submission.sha256,
                "grader error",
                0.0,
                0.0,
                seed,
                ["grader error"],
                ["The grader failed on this submission (not because of your code, as far as it can tell)."],
                log=[traceback.format_exc(limit=5)],
            )
        record.key = key
        record.folder = folder.name
        if folder.note:
            record.flags.append("folder renamed")
            record.notes.append(f"Student id {plan.submission.student!r}: {folder.note}.")
        if term is not None:
            _apply_term(record, plan)
        write_student_outputs(record, student_dir, instructor_dir)
        if progress:
            progress(record, False)
        return record

    if any(p.problem is None for p in plans):
        from course_lib.grading.runner import configure_zygotes, fork_context, sandbox_mode
        from course_lib.lessons import lesson as find_lesson

        lessons = [number for number in needed if number in {item.number for item in LESSONS}]
        modules = [f"course_lib.{name}" for number in lessons for name in find_lesson(number).modules]
        preload = tuple(modules + [find_lesson(number).exercise_module for number in lessons])
        if sandbox_mode(limits) == "bwrap":
            configure_zygotes(preload)
        else:
            fork_context(preload)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        records = list(pool.map(run_one, plans))

    after = {item.relpath: item.sha256 for item in find_submissions(submissions)}
    run = GradingRun(
        records,
        seed,
        release.fingerprint,
        limits,
        reused,
        round(time.monotonic() - start, 3),
        before == after,
        skipped,
    )
    write_gradebook(run, out, release)
    if term is not None:
        from course_lib.grading.feedback import write_return_zips
        from course_lib.grading.gradebook import write_wide_gradebook

        write_wide_gradebook(run, out, release, term)
        write_return_zips(out)
    write_summary(run, out, release)
    return run
