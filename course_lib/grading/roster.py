"""The term around a grading run: who a submission belongs to, whether it was late, and the
instructor's manual adjustments.

- :func:`canvas_name`: Canvas's bulk-download file names,
  ``name_LATE_userid_fileid_original.ipynb`` (or without ``LATE``), give the student, the Canvas
  user id, the late marker and the file name the student uploaded;
- :class:`Roster`: an optional CSV, one row per student: ``student_id``, ``name``, ``lms_id`` and
  ``match`` (a file-name pattern such as ``heidi*`` or the name of the student's folder), which
  maps submissions to the class list, so the gradebook has one row per enrolled student;
- :class:`Adjustments`: an instructor's CSV (``student``, ``exercise``, ``points`` or ``delta``,
  ``comment``): a new score for an exercise, or points added to or taken from it, with the reason
  the student reads in the feedback;
- :class:`Term`: the above with the due time and the late penalty, applied to every graded record
  by :func:`course_lib.grading.autograder.grade`.

Late work. A submission is late when Canvas marked it ``LATE`` in its file name (Canvas knows
when it was submitted), or, for a file not named by Canvas, when ``due`` is set and the file was
last modified after it (keep the times when unpacking: ``unzip`` and ``tar -x`` do). A late
submission loses nothing unless ``late_penalty`` is set: then that fraction of its (adjusted)
score is taken off.

Examples
--------
>>> canvas_name("heidi_LATE_12345_67890_02_drift_statistics.ipynb")
CanvasName(student='heidi', late=True, user_id='12345', file_id='67890', original='02_drift_statistics.ipynb')
>>> canvas_name("heidi_12345_67890_02_drift_statistics-1.ipynb").late
False
>>> canvas_name("alice.ipynb") is None
True
"""

from __future__ import annotations

import csv
import datetime as _dt
import fnmatch
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable

_CANVAS = re.compile(
    r"^(?P<student>[^_/\\]+?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<file>\d+)_(?P<original>[^/\\]+\.ipynb)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CanvasName:
    """The parts of a Canvas download name."""

    student: str
    late: bool
    user_id: str
    file_id: str
    original: str


def canvas_name(file_name: str) -> CanvasName | None:
    """Parse a Canvas bulk-download name, or None when ``file_name`` is not one.

    Canvas names a submission ``<name>_<userid>_<fileid>_<original>`` (``<name>_LATE_...`` when
    it came after the due date); ``<name>`` is the student's sortable name in lower case without
    spaces or underscores.
    """
    if not isinstance(file_name, str):
        raise TypeError(f"file_name must be a str, got {type(file_name).__name__}")
    match = _CANVAS.match(file_name)
    if match is None:
        return None
    return CanvasName(
        match["student"], match["late"] is not None, match["user"], match["file"], match["original"]
    )


def _read_csv(path: str | Path, what: str, required: Iterable[str]) -> list[dict[str, str]]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"{what} {str(path)!r} could not be read ({exc.strerror or exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in required if name not in header]
    if missing:
        raise ValueError(
            f"{what} {str(path)!r} must have the columns {', '.join(required)}; missing: {', '.join(missing)}"
        )
    rows = []
    for row in reader:
        clean = {
            (key or "").strip().lower(): (value or "").strip() if isinstance(value, str) else ""
            for key, value in row.items()
        }
        if any(clean.values()):
            rows.append(clean)
    return rows


# --------------------------------------------------------------------------------------------
# roster


@dataclass(frozen=True)
class Student:
    """One row of the roster."""

    student_id: str
    name: str = ""
    lms_id: str = ""
    match: str = ""

    def identity(self) -> "Identity":
        return Identity(self.student_id, self.name, self.lms_id)


@dataclass(frozen=True)
class Identity:
    """Who a submission belongs to, as the roster says (or why the roster does not say)."""

    student: str
    name: str = ""
    lms_id: str = ""
    problem: str = ""


@dataclass(frozen=True)
class Roster:
    """The class list: who is enrolled, and how their submissions are recognised.

    A submission belongs to the roster row whose ``lms_id`` is the Canvas user id in its file
    name, else whose ``student_id`` is the submission's own id (its folder, file stem, or Canvas
    name), else whose ``match`` pattern matches the submission's top-level folder or file name
    (shell patterns: ``heidi*``, ``*_12345_*``). A submission no row claims, or two rows claim,
    keeps its own id and is flagged.
    """

    students: tuple[Student, ...]

    @classmethod
    def read(cls, path: str | Path) -> "Roster":
        """Read a roster CSV with the columns ``student_id`` (required), ``name``, ``lms_id``, ``match``.

        Raises
        ------
        ValueError
            If the file cannot be read, lacks ``student_id``, or names a student twice.
        """
        rows = _read_csv(path, "roster", ["student_id"])
        students = []
        seen: set[str] = set()
        for number, row in enumerate(rows, start=2):
            ident = row.get("student_id", "")
            if not ident:
                raise ValueError(f"roster {str(path)!r}, line {number}: student_id is empty")
            if ident in seen:
                raise ValueError(f"roster {str(path)!r}, line {number}: student_id {ident!r} appears twice")
            seen.add(ident)
            students.append(Student(ident, row.get("name", ""), row.get("lms_id", ""), row.get("match", "")))
        return cls(tuple(students))

    def identify(self, student: str, relpath: str, lms_id: str | None = None) -> Identity:
        """The roster's student for a submission (see the class docstring)."""
        if lms_id:
            rows = [row for row in self.students if row.lms_id and row.lms_id == lms_id]
            if len(rows) == 1:
                return rows[0].identity()
        rows = [row for row in self.students if row.student_id == student]
        if len(rows) == 1:
            return rows[0].identity()
        top = PurePosixPath(relpath).parts[0] if relpath else ""
        rows = [
            row
            for row in self.students
            if row.match and (fnmatch.fnmatchcase(top, row.match) or fnmatch.fnmatchcase(top, row.match.rstrip("/")))
        ]
        if len(rows) == 1:
            return rows[0].identity()
        if len(rows) > 1:
            names = ", ".join(row.student_id for row in rows)
            return Identity(student, "", lms_id or "", f"matches several roster rows ({names})")
        return Identity(student, "", lms_id or "", "not on the roster")


# --------------------------------------------------------------------------------------------
# adjustments


@dataclass(frozen=True)
class Adjustment:
    """One manual adjustment: a new score (``points``) or a change (``delta``) of an exercise."""

    student: str
    exercise: str
    points: float | None
    delta: float | None
    comment: str

    def apply(self, score: float) -> float:
        """The exercise's score after this adjustment (never below 0)."""
        value = self.points if self.points is not None else score + (self.delta or 0.0)
        return max(0.0, value)


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {text!r}")
    return value


@dataclass(frozen=True)
class Adjustments:
    """An instructor's manual adjustments, in the order of the file."""

    items: tuple[Adjustment, ...] = ()

    @classmethod
    def read(cls, path: str | Path, exercises: Iterable[str] | None = None) -> "Adjustments":
        """Read an adjustments CSV: ``student``, ``exercise``, ``points`` or ``delta``, ``comment``.

        Parameters
        ----------
        path : path
        exercises : iterable of str, optional
            The exercise ids that may be adjusted (those of the release).

        Raises
        ------
        ValueError
            If a row names an unknown exercise, has both or neither of ``points`` and ``delta``,
            a value that is not a number, a negative ``points``, or no comment.
        """
        rows = _read_csv(path, "adjustments", ["student", "exercise", "comment"])
        known = set(exercises) if exercises is not None else None
        items = []
        for number, row in enumerate(rows, start=2):
            where = f"adjustments {str(path)!r}, line {number}"
            student, exercise, comment = row.get("student", ""), row.get("exercise", ""), row.get("comment", "")
            points, delta = row.get("points", ""), row.get("delta", "")
            if not student or not exercise:
                raise ValueError(f"{where}: student and exercise must both be given")
            if known is not None and exercise not in known:
                raise ValueError(
                    f"{where}: exercise {exercise!r} is not an exercise of the release "
                    f"({', '.join(sorted(known))})"
                )
            if bool(points) == bool(delta):
                raise ValueError(f"{where}: give either points (a new score) or delta (a change), not both or neither")
            if not comment:
                raise ValueError(f"{where}: comment must say why (the student reads it in the feedback)")
            value_points = _number(points, f"{where}: points") if points else None
            value_delta = _number(delta, f"{where}: delta") if delta else None
            if value_points is not None and value_points < 0:
                raise ValueError(f"{where}: points must be >= 0, got {points!r}")
            items.append(Adjustment(student, exercise, value_points, value_delta, comment))
        return cls(tuple(items))

    def for_student(self, student: str) -> list[Adjustment]:
        return [item for item in self.items if item.student == student]


# --------------------------------------------------------------------------------------------
# the term


def parse_due(text: str) -> _dt.datetime:
    """A due time from ISO 8601 text (``2026-10-05T23:59``, ``2026-10-05T23:59-04:00``).

    Without a UTC offset the time is the grading machine's local time.

    Raises
    ------
    ValueError
        If ``text`` is not an ISO 8601 date or time.
    """
    try:
        value = _dt.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"due must be an ISO 8601 time such as 2026-10-05T23:59-04:00, got {text!r}") from None
    return value


@dataclass(frozen=True)
class Term:
    """What the instructor knows beyond the notebooks: roster, due time, penalty, adjustments.

    Parameters
    ----------
    roster : Roster, optional
    adjustments : Adjustments
    due : datetime, optional
        Files not named by Canvas that were modified after it are late.
    late_penalty : float
        Fraction of a late submission's score taken off (0, the default, takes nothing off).
    """

    roster: Roster | None = None
    adjustments: Adjustments = field(default_factory=Adjustments)
    due: _dt.datetime | None = None
    late_penalty: float = 0.0

    def __post_init__(self) -> None:
        if self.roster is not None and not isinstance(self.roster, Roster):
            raise TypeError(f"roster must be a Roster, got {type(self.roster).__name__}")
        if not isinstance(self.adjustments, Adjustments):
            raise TypeError(f"adjustments must be Adjustments, got {type(self.adjustments).__name__}")
        if self.due is not None and not isinstance(self.due, _dt.datetime):
            raise TypeError(f"due must be a datetime, got {type(self.due).__name__}")
        penalty = self.late_penalty
        if isinstance(penalty, bool) or not isinstance(penalty, (int, float)) or not 0 <= penalty <= 1:
            raise ValueError(f"late_penalty must be a fraction between 0 and 1, got {penalty!r}")

    def late(self, submission: Any) -> str:
        """Why a submission is late ("" when it is not)."""
        if getattr(submission, "lms_late", False):
            return "Canvas marked it LATE"
        if getattr(submission, "lms_id", None) or self.due is None:
            return ""
        due = self.due.timestamp()
        if submission.mtime > due:
            hours = (submission.mtime - due) / 3600
            return f"modified {hours:.1f} h after the due time {self.due.isoformat(timespec='minutes')}"
        return ""

    def apply(self, record: Any, submission: Any | None) -> None:
        """Set a record's late flag, adjustments and penalty from this term (idempotent)."""
        record.late = self.late(submission) if submission is not None else ""
        points = {grade.id: grade for grade in record.exercises}
        applied = []
        for item in self.adjustments.for_student(record.student):
            grade = points.get(item.exercise)
            if grade is None:
                continue
            before = next((a["after"] for a in reversed(applied) if a["exercise"] == item.exercise), grade.score)
            applied.append(
                {
                    "exercise": item.exercise,
                    "before": before,
                    "after": item.apply(before),
                    "comment": item.comment,
                }
            )
        record.adjustments = applied
        record.penalty = round(record.adjusted_score * self.late_penalty, 6) if record.late else 0.0


def unmatched_adjustments(term: Term, records: Iterable[Any]) -> list[Adjustment]:
    """Adjustments that reach no gradebook row: their student has no submission and is not on the roster."""
    known = {record.student for record in records}
    if term.roster is not None:
        known |= {student.student_id for student in term.roster.students}
    return [item for item in term.adjustments.items if item.student not in known]


def adjusted_exercise_scores(record: Any) -> dict[str, float]:
    """Each exercise's score in a record after the record's adjustments."""
    scores = {grade.id: grade.score for grade in record.exercises}
    for item in getattr(record, "adjustments", []) or []:
        if item["exercise"] in scores:
            scores[item["exercise"]] = item["after"]
    return scores
