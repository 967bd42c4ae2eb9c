"""The course map: every lesson, its notebook and the module that holds its exercises.

This is the single list that the README table, the student-notebook pipeline, the site tests
and the autograder read, so a new lesson is added here once. It imports nothing heavy.

Examples
--------
>>> from course_lib.lessons import LESSONS, lesson
>>> [l.number for l in LESSONS][:2]
['01', '02']
>>> lesson("02").notebook
'02_drift_statistics.ipynb'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lesson:
    """One lesson of the course.

    Parameters
    ----------
    number : str
        Two digits, ``"01"`` to ``"07"``; also the prefix of every exercise id of the lesson.
    slug : str
        Short name used in file names.
    title : str
        Title shown in the README and at the top of the notebook.
    modules : tuple of str
        The course_lib modules behind the lesson.
    """

    number: str
    slug: str
    title: str
    modules: tuple[str, ...]

    @property
    def notebook(self) -> str:
        """File name of the lesson's notebook (the same in ``notebooks/`` and its ``solutions/``)."""
        return f"{self.number}_{self.slug}.ipynb"

    @property
    def exercise_module(self) -> str:
        """Dotted name of the module that registers the lesson's exercises."""
        return f"course_lib.grading.exercises.lesson{self.number}"


LESSONS: tuple[Lesson, ...] = (
    Lesson("01", "drift_theory", "Drift theory: why models decay", ("simulate",)),
    Lesson("02", "drift_statistics", "Drift statistics: when do two samples differ?", ("stats", "drift")),
    Lesson("03", "concept_drift", "Concept drift: detectors on streams", ("streams", "performance")),
    Lesson("04", "canary_analysis", "Canary analysis", ("canary",)),
    Lesson("05", "retraining_triggers", "Retraining triggers", ("retraining",)),
    Lesson("06", "observability", "Observability for ML services", ("observability",)),
    Lesson("07", "capstone", "Capstone: an incident on real data", ()),
)


def lesson(number: str) -> Lesson:
    """Return the lesson with this two-digit number.

    Raises
    ------
    ValueError
        If ``number`` names no lesson; the message lists the valid numbers.
    """
    if not isinstance(number, str):
        raise TypeError(f"number must be a two-digit string such as '02', got {type(number).__name__}")
    for item in LESSONS:
        if item.number == number:
            return item
    valid = ", ".join(item.number for item in LESSONS)
    raise ValueError(f"number must be one of {valid}; got {number!r}")


#: The first code cell of every lesson. In the browser (JupyterLite's Pyodide kernel) it installs
#: course_lib, and the lesson's extra packages, from the site's own package index; under a normal
#: kernel it does nothing, since course_lib is installed in the environment already.
BROWSER_SETUP_CELL = """\
# Setup. In the browser this installs course_lib from the course site; elsewhere it does nothing.
import sys

if sys.platform == "emscripten":
    import piplite

    await piplite.install(["course-lib"{extra}])"""


def browser_setup_cell(extra_packages: tuple[str, ...] = ()) -> str:
    """The source of a lesson's first code cell, installing ``extra_packages`` as well.

    Examples
    --------
    >>> print(browser_setup_cell(("prometheus-client",)).splitlines()[-1])
        await piplite.install(["course-lib", "prometheus-client"])
    """
    extra = "".join(f', "{name}"' for name in extra_packages)
    return BROWSER_SETUP_CELL.format(extra=extra)
