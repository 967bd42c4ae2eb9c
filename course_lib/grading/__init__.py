"""Exercises: the registry, the learner's self-check and (``python -m course_lib.grading``) the
instructor's tools.

In a lesson::

    from course_lib.grading import check, answer_or_reference
    check("02.psi", psi)                          # prints feedback on the public cases
    psi = answer_or_reference("02.psi", psi)      # later cells fall back to the reference

Importing this package, and listing the exercise ids of a lesson, imports neither numpy nor
pandas: the browser test of the site relies on that.

Examples
--------
>>> from course_lib.grading import exercise_ids
>>> exercise_ids("01")[0]
'01.windowed_mean'
"""

from course_lib.grading.registry import Case, Exercise, Mistake, exercise_ids, get_exercise, register
from course_lib.grading.selfcheck import CheckResult, answer_or_reference, check, run_cases

__all__ = [
    "Case",
    "CheckResult",
    "Exercise",
    "Mistake",
    "answer_or_reference",
    "check",
    "exercise_ids",
    "get_exercise",
    "register",
    "run_cases",
]
