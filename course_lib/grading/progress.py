"""Your progress through the course's exercises, remembered on your own machine.

Every ``check("NN.name", answer)`` in a lesson records its verdict (passed or failed, how many
public cases passed, and when) in a small JSON file, ``course-progress.json``, in the folder the
notebook runs in. :func:`progress` (also ``course_lib.progress()``) reads it back and shows, for
every exercise of every lesson, whether it passes, fails or is not attempted yet, as a table
and a small figure.

Where the file lives:

- **JupyterLab on a laptop**: beside the notebooks (the kernel's working folder is the
  notebook's folder), e.g. ``notebooks/course-progress.json``.
- **In the browser (JupyterLite)**: the Pyodide kernel's working folder is the notebook's folder
  on JupyterLite's drive (``/drive/...``), which JupyterLite keeps in this browser's storage for
  the site, like the notebooks you save: the file shows up in the file browser and survives a
  reload. When the browser cannot share that drive with the kernel (a Firefox private window,
  for instance) the kernel works in ``/home/pyodide``, which is lost at reload;
  :func:`progress` says so.
- ``COURSE_PROGRESS_FILE=/some/file.json`` puts it elsewhere; ``COURSE_PROGRESS_FILE=off`` turns
  recording off (the course's own tests do that). Every function also takes ``path=``.

Nothing leaves the machine: the file is plain JSON that you can read, move or delete (deleting
it starts your record afresh; your notebooks are not touched).

The latest check of an exercise wins: an exercise that passed and then fails after a change
shows as failed, with the time of that check, until it passes again. A check of an untouched
exercise cell ("not attempted yet") records nothing, so running a fresh copy of a lesson never
erases what you did before. Only the public cases of the self-check are recorded: this is not
the grade, which the instructor's grader computes with hidden cases too.

A file of that name that this module did not write (or that got damaged) is never overwritten:
:func:`progress` refuses it with a message, and the next check moves it aside to
``course-progress.json.bak`` (or ``.bak.1``, ``.bak.2``...) with a warning before starting a new
record.

Importing this module imports neither pandas nor matplotlib; :func:`progress` does.

Examples
--------
>>> import tempfile, pathlib
>>> from course_lib.grading.selfcheck import CheckResult
>>> from course_lib.grading.progress import progress, record
>>> path = pathlib.Path(tempfile.mkdtemp()) / "course-progress.json"
>>> _ = record(CheckResult("01.windowed_mean", "passed", 4, 4), path=path)
>>> _ = record(CheckResult("01.shift_kind", "failed", 1, 3), path=path)
>>> report = progress(lesson="01", path=path)
>>> print(report.table[["exercise", "status"]].head(3).to_string(index=False))
           exercise        status
   01.windowed_mean        passed
01.prior_correction not attempted
      01.shift_kind        failed
>>> report.table.loc[report.table["exercise"] == "01.shift_kind", "cases"].item()
'1/3'
>>> report
Progress(lesson='01', passed=1, failed=1, not_attempted=3)

References
----------
.. [1] JupyterLite, "Accessing files and notebooks from a kernel",
   https://jupyterlite.readthedocs.io/en/stable/howto/content/python.html
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from course_lib.grading.selfcheck import CheckResult

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "FILE_NAME",
    "Progress",
    "ProgressFileError",
    "ProgressWarning",
    "progress",
    "progress_path",
    "read_progress",
    "record",
    "remember",
]

#: Name of the progress file in the notebook's folder.
FILE_NAME = "course-progress.json"
#: Environment variable that relocates the file (a path) or turns recording off (``off``).
ENVIRONMENT_VARIABLE = "COURSE_PROGRESS_FILE"
#: What the file says it is, so a foreign JSON file of the same name is recognised as such.
FILE_FORMAT = "course_lib progress"
FILE_VERSION = 1

STATUSES = ("passed", "failed", "not attempted")
RECORDED_STATUSES = ("passed", "failed")

#: Colours of the figure: green as in course_lib.plots' palette, red its CHANGE_COLOR, grey for
#: what is still to do (fixed here so that importing matplotlib waits until a figure is drawn).
STATUS_COLORS = {"passed": "#55A868", "failed": "#C44E52", "not attempted": "#BBBBBB"}


class ProgressFileError(ValueError):
    """The progress file exists but is not one this module wrote (damaged, or another program's).

    ``reason`` says what is wrong with it, ``path`` which file it is.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"{path} is not a progress file written by course_lib ({reason}). It is left as it is; "
            f"the next check() will move it to {path.name}.bak and start a new record. If it is "
            f"yours, move it away, or set {ENVIRONMENT_VARIABLE} to keep your progress in another file."
        )
        self.path = path
        self.reason = reason


class ProgressWarning(UserWarning):
    """About saving your progress: a verdict not saved (read-only folder, full disk...) or a
    foreign file moved aside. The check itself always runs and prints its feedback."""


def progress_path(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The progress file to use, or None when recording is turned off.

    Parameters
    ----------
    path : str or path-like, optional
        An explicit file. By default ``$COURSE_PROGRESS_FILE`` if set (``off`` turns recording
        off), else ``course-progress.json`` in the current working folder (the notebook's).

    Examples
    --------
    >>> import os
    >>> from course_lib.grading.progress import progress_path
    >>> progress_path("elsewhere/mine.json").name
    'mine.json'
    """
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a file path (str or pathlib.Path), got {type(path).__name__}")
        return Path(path)
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if value.lower() == "off":
        return None
    if value:
        return Path(value).expanduser()
    return Path.cwd() / FILE_NAME


def _parse(text: str, path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProgressFileError(path, f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
        raise ProgressFileError(path, f"it has no \"format\": {FILE_FORMAT!r} entry")
    if data.get("version") != FILE_VERSION:
        raise ProgressFileError(path, f"version {data.get('version')!r}, this course_lib reads version {FILE_VERSION}")
    exercises = data.get("exercises")
    if not isinstance(exercises, dict):
        raise ProgressFileError(path, "its \"exercises\" entry is not an object")
    for exercise_id, entry in exercises.items():
        valid = (
            isinstance(entry, dict)
            and entry.get("status") in RECORDED_STATUSES
            and all(type(entry.get(key)) is int and entry[key] >= 0 for key in ("passed", "total"))
            and isinstance(entry.get("checked_at"), str)
        )
        if not valid:
            raise ProgressFileError(path, f"its entry for {exercise_id!r} is not status/passed/total/checked_at")
        try:
            aware = datetime.fromisoformat(entry["checked_at"]).tzinfo is not None
        except ValueError:
            aware = False
        if not aware:
            raise ProgressFileError(path, f"its entry for {exercise_id!r} has no ISO time with a zone in checked_at")
    return exercises


def read_progress(path: str | os.PathLike[str] | None = None) -> dict[str, dict[str, Any]]:
    """The recorded verdicts, by exercise id (empty when nothing was recorded yet).

    Parameters
    ----------
    path : str or path-like, optional
        The progress file; by default as :func:`progress_path` says.

    Returns
    -------
    dict
        ``{"02.psi": {"status": "passed", "passed": 5, "total": 5, "checked_at": "2026-...+00:00"}}``.

    Raises
    ------
    ProgressFileError
        If the file exists but is not a progress file this module wrote.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from course_lib.grading.progress import read_progress
    >>> read_progress(pathlib.Path(tempfile.mkdtemp()) / "none-yet.json")
    {}
    """
    target = progress_path(path)
    if target is None or not target.exists():
        return {}
    try:
        text = target.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ProgressFileError(target, "not UTF-8 text") from None
    return _parse(text, target)


def _set_aside(path: Path) -> Path:
    """Rename a file we must not overwrite to the first free ``NAME.bak``, ``NAME.bak.1``..."""
    backup = path.with_name(path.name + ".bak")
    number = 0
    while backup.exists():
        number += 1
        backup = path.with_name(f"{path.name}.bak.{number}")
    path.rename(backup)
    return backup


def _write(path: Path, exercises: dict[str, dict[str, Any]]) -> None:
    text = json.dumps(
        {"format": FILE_FORMAT, "version": FILE_VERSION, "exercises": dict(sorted(exercises.items()))},
        indent=1,
        ensure_ascii=False,
    )
    # A temporary file renamed over the old one: a kernel stopped mid-write leaves the old record
    # whole. Browser drives without rename support get a plain write instead.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text + "\n", encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        path.write_text(text + "\n", encoding="utf-8")


def record(
    result: CheckResult,
    *,
    path: str | os.PathLike[str] | None = None,
    checked_at: datetime | None = None,
) -> Path | None:
    """Remember one check's verdict; the latest check of an exercise replaces the earlier one.

    Parameters
    ----------
    result : CheckResult
        What :func:`course_lib.grading.check` returned. "not attempted" and hidden-case results
        are not recorded.
    path : str or path-like, optional
        The progress file; by default as :func:`progress_path` says.
    checked_at : datetime, optional
        When the check ran (timezone-aware); by default now.

    Returns
    -------
    pathlib.Path or None
        The file written, or None when nothing was recorded.

    Raises
    ------
    OSError
        If the file cannot be written (:func:`remember` is the variant that never raises).

    Warns
    -----
    ProgressWarning
        When an existing file was not a progress file and was moved aside (the message names
        the backup).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from course_lib.grading.selfcheck import CheckResult
    >>> from course_lib.grading.progress import read_progress, record
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "course-progress.json"
    >>> _ = record(CheckResult("02.psi", "passed", 5, 5), path=path)
    >>> _ = record(CheckResult("02.psi", "failed", 3, 5), path=path)
    >>> read_progress(path)["02.psi"]["status"]
    'failed'
    """
    if not isinstance(result, CheckResult):
        raise TypeError(f"result must be the CheckResult that check() returns, got {type(result).__name__}")
    if checked_at is None:
        checked_at = datetime.now(timezone.utc)
    elif not isinstance(checked_at, datetime) or checked_at.tzinfo is None:
        raise TypeError(f"checked_at must be a timezone-aware datetime, got {checked_at!r}")
    if result.hidden or result.status not in RECORDED_STATUSES:
        return None
    target = progress_path(path)
    if target is None:
        return None
    try:
        exercises = read_progress(target)
    except ProgressFileError as problem:
        backup = _set_aside(target)
        warnings.warn(
            f"{target} was not a progress file written by course_lib ({problem.reason}): "
            f"it was moved to {backup.name}, and a new record starts with {result.exercise_id}.",
            ProgressWarning,
            stacklevel=2,
        )
        exercises = {}
    exercises[result.exercise_id] = {
        "status": result.status,
        "passed": result.passed,
        "total": result.total,
        "checked_at": checked_at.isoformat(timespec="seconds"),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    _write(target, exercises)
    return target


def remember(result: CheckResult) -> None:
    """:func:`record` for :func:`~course_lib.grading.check`: a failure to save never breaks the check.

    A read-only folder, a full disk or a damaged file gives a :class:`ProgressWarning` warning
    (shown once per session) and the check's feedback as usual.
    """
    try:
        record(result)
    except Exception as exc:  # noqa: BLE001 - saving progress is a convenience; the check matters
        warnings.warn(
            f"your progress could not be saved ({type(exc).__name__}: {exc}); the check above is "
            f"unaffected. Set {ENVIRONMENT_VARIABLE} to a file you can write, or to off.",
            ProgressWarning,
            stacklevel=3,
        )


def _figure_size(lessons: int) -> tuple[float, float]:
    """Small: a bar per lesson, 72 dpi, so the notebook stays light."""
    return (6.5, 0.45 * lessons + 1.2)


def _in_browser_memory(path: Path) -> bool:
    """Whether the file is in Pyodide's in-memory folders, which a reload of the page empties."""
    return sys.platform == "emscripten" and not str(path.resolve()).startswith("/drive")


@dataclass(frozen=True, eq=False)
class Progress:
    """Where you stand in the course: one row per exercise.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``lesson``, ``exercise``, ``title``, ``status`` ("passed", "failed" or
        "not attempted"), ``cases`` ("4/5" public cases passed at the last check, empty when not
        attempted) and ``last_checked`` (a timezone-aware time, NaT when not attempted), in course
        order.
    path : pathlib.Path or None
        The progress file read (None when recording is off).
    lesson : str or None
        The lesson shown, or None for the whole course.
    """

    table: Any
    path: Path | None
    lesson: str | None = None

    def counts(self) -> Any:
        """Exercises per lesson and status: a DataFrame indexed by lesson, one column per status."""
        import pandas as pd

        counts = pd.crosstab(self.table["lesson"], self.table["status"])
        return counts.reindex(columns=list(STATUSES), fill_value=0)

    def _count(self, status: str) -> int:
        return int((self.table["status"] == status).sum())

    def plot(self, ax: Any = None) -> Any:
        """A horizontal bar per lesson, split into passed, failed and not attempted exercises.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; by default a new small figure.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        counts = self.counts()
        if ax is None:
            _, ax = plt.subplots(figsize=_figure_size(len(counts)), dpi=72)
        elif not hasattr(ax, "barh"):
            raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
        labels = [f"lesson {number}" for number in counts.index]
        left = [0] * len(counts)
        for status in STATUSES:
            widths = counts[status].tolist()
            ax.barh(labels, widths, left=left, color=STATUS_COLORS[status], label=status, height=0.6)
            left = [start + width for start, width in zip(left, widths)]
        ax.invert_yaxis()  # lesson 01 on top, as in the table
        ax.set_xlabel("exercises")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("Your progress: exercises per lesson")
        ax.set_xlim(0, max(left, default=0) * 1.02 or 1)
        # Beside the bars, not on them: a finished lesson's bar spans the whole width.
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.figure.tight_layout()
        return ax

    def _figure_png(self) -> str:
        from matplotlib.figure import Figure

        figure = Figure(figsize=_figure_size(self.table["lesson"].nunique()), dpi=72)
        self.plot(figure.add_subplot())
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=72)
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    def summary(self) -> str:
        """One sentence: how many exercises pass, fail and wait, and where that is remembered."""
        scope = "the course" if self.lesson is None else f"lesson {self.lesson}"
        counts = (
            f"Of the {len(self.table)} exercises of {scope}, {self._count('passed')} pass, "
            f"{self._count('failed')} fail and {self._count('not attempted')} are not attempted yet."
        )
        if self.path is None:
            return counts + f" Recording is off ({ENVIRONMENT_VARIABLE}=off): checks are not remembered."
        where = f" Remembered in {self.path.name} in {self.path.parent}, on this machine only."
        if _in_browser_memory(self.path):
            where += (
                " This browser session keeps it in memory only: it is lost when the page reloads "
                "(JupyterLite could not share its storage with the kernel)."
            )
        return counts + where

    def __repr__(self) -> str:
        return (
            f"Progress(lesson={self.lesson!r}, passed={self._count('passed')}, "
            f"failed={self._count('failed')}, not_attempted={self._count('not attempted')})"
        )

    def __str__(self) -> str:
        return self.summary() + "\n\n" + self.table.to_string(index=False)

    def _repr_html_(self) -> str:
        from html import escape

        table = self.table.assign(last_checked=self.table["last_checked"].dt.strftime("%Y-%m-%d %H:%M UTC").fillna(""))
        return (
            f"<p>{escape(self.summary())}</p>"
            f'<img alt="exercises per lesson by status" src="data:image/png;base64,{self._figure_png()}"/>'
            + table.to_html(index=False, escape=True)
        )


def progress(lesson: str | None = None, *, path: str | os.PathLike[str] | None = None) -> Progress:
    """Show which exercises pass, fail or are not attempted yet, per lesson.

    Parameters
    ----------
    lesson : str, optional
        A two-digit lesson number such as ``"02"``; by default every lesson.
    path : str or path-like, optional
        The progress file; by default as :func:`progress_path` says.

    Returns
    -------
    Progress
        Shown in a notebook as a sentence, a figure and the table; ``.table`` is the DataFrame.

    Raises
    ------
    ProgressFileError
        If the file is not a progress file this module wrote (it is left untouched).
    ValueError
        If ``lesson`` names no lesson.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from course_lib.grading.progress import progress
    >>> report = progress(lesson="02", path=pathlib.Path(tempfile.mkdtemp()) / "new.json")
    >>> set(report.table["status"])
    {'not attempted'}
    """
    import pandas as pd

    from course_lib.grading.registry import exercise_ids, get_exercise
    from course_lib.lessons import LESSONS, lesson as find_lesson

    numbers = [item.number for item in LESSONS] if lesson is None else [find_lesson(lesson).number]
    target = progress_path(path)
    recorded = read_progress(target) if target is not None else {}
    rows = []
    for number in numbers:
        for exercise_id in exercise_ids(number):
            entry = recorded.get(exercise_id)
            rows.append(
                {
                    "lesson": number,
                    "exercise": exercise_id,
                    "title": get_exercise(exercise_id).title,
                    "status": entry["status"] if entry else "not attempted",
                    "cases": f"{entry['passed']}/{entry['total']}" if entry else "",
                    "last_checked": pd.Timestamp(entry["checked_at"]).tz_convert("UTC") if entry else pd.NaT,
                }
            )
    columns = ["lesson", "exercise", "title", "status", "cases", "last_checked"]
    table = pd.DataFrame(rows, columns=columns)
    table["last_checked"] = pd.to_datetime(table["last_checked"], utc=True)
    return Progress(table, target, None if lesson is None else numbers[0])
