"""A small synthetic lesson for the grading tests (and the grading benchmark when no real lesson
notebook exists yet).

It is lesson 01 in miniature: the browser setup cell, a setup cell, the two registered exercises
of lesson 01 with check cells, an ``answer_or_reference`` cell that later cells build on, and a
cell after the last exercise. Its solutions are written here, independently of course_lib.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from course_lib.lessons import browser_setup_cell

WINDOWED_MEAN_SOLUTION = '''\
def windowed_mean(values, window):
    """Mean of each full, non-overlapping window."""
    # BEGIN SOLUTION
    values = np.asarray(values, dtype=float)
    full = len(values) // window * window
    return values[:full].reshape(-1, window).mean(axis=1)
    # END SOLUTION
'''

LABELLED_FRACTION_SOLUTION = '''\
def labelled_fraction(prediction_times, label_delays, now):
    """Share of the predictions made by `now` whose label has arrived."""
    # BEGIN SOLUTION
    times = np.asarray(prediction_times, dtype=float)
    arrivals = times + np.asarray(label_delays, dtype=float)
    made = times <= now
    return float(np.mean(arrivals[made] <= now)) if made.any() else float("nan")
    # END SOLUTION
'''


def _cell(kind: str, source: str, ident: str, exercise: str | None = None) -> dict:
    cell = {"cell_type": kind, "id": ident, "metadata": {}, "source": source}
    if exercise:
        cell["metadata"] = {"course": {"exercise": exercise}}
    if kind == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    return cell


def solution_notebook(lesson: str = "01") -> dict:
    """The source notebook of the synthetic lesson (with solutions)."""
    cells = [
        _cell("markdown", f"# Lesson {lesson} · A synthetic lesson for the grader's tests", "title"),
        _cell("code", browser_setup_cell(), "browser-setup"),
        _cell(
            "code",
            "import numpy as np\n"
            "from course_lib.grading import check, answer_or_reference\n\n"
            "rng = np.random.default_rng(0)",
            "imports",
        ),
        _cell("markdown", "### Exercise 01.windowed_mean: means of full windows", "ex1-text"),
        _cell("code", WINDOWED_MEAN_SOLUTION, "ex1", "01.windowed_mean"),
        _cell("code", 'check("01.windowed_mean", windowed_mean)', "ex1-check"),
        _cell(
            "code",
            'windowed_mean = answer_or_reference("01.windowed_mean", windowed_mean)\n'
            "means = windowed_mean(rng.normal(size=100), 10)",
            "ex1-use",
        ),
        _cell("markdown", "### Exercise 01.labelled_fraction: labels so far", "ex2-text"),
        _cell("code", LABELLED_FRACTION_SOLUTION, "ex2", "01.labelled_fraction"),
        _cell("code", 'check("01.labelled_fraction", labelled_fraction)', "ex2-check"),
        _cell("code", "print(means.round(2))", "after"),
    ]
    return {
        "cells": cells,
        "metadata": {
            "course": {"lesson": lesson},
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_notebook(path: Path, notebook: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def write_course(root: Path, lesson: str = "01", name: str = "01_synthetic.ipynb") -> Path:
    """Write the synthetic lesson as ``root/notebooks/solutions/<name>``; return the solutions folder."""
    solutions = root / "notebooks" / "solutions"
    write_notebook(solutions / name, solution_notebook(lesson))
    return solutions


def with_exercise(notebook: dict, exercise_id: str, source: str) -> dict:
    """A copy of ``notebook`` whose exercise cell ``exercise_id`` holds ``source``."""
    result = copy.deepcopy(notebook)
    for cell in result["cells"]:
        if cell.get("metadata", {}).get("course", {}).get("exercise") == exercise_id:
            cell["source"] = source
            return result
    raise KeyError(exercise_id)
