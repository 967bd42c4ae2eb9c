"""The self-check's warning about names an exercise cell uses but does not define.

Only exercise cells are graded. judy's helper `my_ecdf`, defined in a cell of her own, made her
notebook say "all cases pass" while the grader gave 0 with NameError (issue 17). check() must
warn in the notebook; these tests run real kernels, as a learner's notebook does.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib.grading.cellnames import (
    bound_names,
    free_names,
    released_names_of,
    ungraded_names_warning,
)
from course_lib.grading.notebooks import read_notebook
from course_lib.grading.registry import exercise_ids
from course_lib.lessons import LESSONS

ROOT = Path(__file__).resolve().parents[1]


# --- scoping, as Python sees it --------------------------------------------------------------


def test_free_names_follow_python_scoping():
    source = """
import numpy as np
LIMIT = 3

def outer(values, scale=DEFAULT_SCALE):
    total = 0
    def inner(v):
        return v * scale + offset          # scale: closure; offset: global
    squares = [inner(v) ** 2 for v in values if v < LIMIT]
    return np.sum(squares) + total + helper(values) + len(values)

class Model(Base):
    size = WIDTH
    def fit(self):
        return self.size + other_global

fn = lambda x: x + lambda_global
"""
    assert free_names(source) == {"DEFAULT_SCALE", "offset", "helper", "Base", "WIDTH", "other_global", "lambda_global"}


def test_names_bound_at_the_top_level_only():
    source = """
import os.path
from math import sqrt as root
for i, (a, b) in enumerate([]):
    pass
with open("x") as handle:
    pass
try:
    pass
except ValueError as error:
    pass
if (n := 3):
    total = 1
def f():
    hidden = 1
class C:
    attribute = 2
squares = [k for k in range(3)]
"""
    assert bound_names(source) == {"os", "root", "i", "a", "b", "handle", "error", "n", "total", "f", "C", "squares"}


def test_a_global_declared_inside_a_function_is_free_unless_bound_at_the_top():
    assert free_names("def f():\n    global counter\n    counter += 1\n") == {"counter"}
    assert free_names("counter = 0\ndef f():\n    global counter\n    counter += 1\n") == set()


def test_a_cell_that_is_not_python_has_no_names():
    assert free_names("%timeit f(1)") == set()
    assert bound_names("%%bash\necho hi") == set()


# --- what the released cells define ----------------------------------------------------------


@pytest.mark.parametrize("lesson", [lesson for lesson in LESSONS if (ROOT / "notebooks" / lesson.notebook).exists()], ids=lambda item: item.number)
def test_every_exercise_of_every_lesson_has_its_answer_name(lesson):
    entry = released_names_of(read_notebook(ROOT / "notebooks" / lesson.notebook))
    assert set(entry["answers"]) == set(exercise_ids(lesson.number))
    assert all(name.isidentifier() for name in entry["answers"].values())
    # The imports of the set-up cells are released names: using np in an exercise is fine.
    assert {"check", "answer_or_reference"} <= set(entry["names"])


def test_a_library_function_is_not_looked_at():
    # The reference itself (defined in course_lib, not in a notebook cell) has no cell to read.
    from course_lib.simulate import windowed_mean as reference

    assert ungraded_names_warning("01.windowed_mean", reference, {"my_ecdf": 1}) is None


def test_an_unknown_lesson_gives_no_warning():
    assert ungraded_names_warning("99.nothing", lambda x: x, {}) is None


# --- in a real kernel ------------------------------------------------------------------------


def _notebook(*sources: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return notebook


def _run(notebook: nbformat.NotebookNode, tmp_path) -> list[str]:
    node = copy.deepcopy(notebook)
    NotebookClient(node, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    return ["".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream") for cell in node.cells]


SETUP = "import numpy as np\nfrom course_lib.grading import check"

HELPER_IN_OWN_CELL = "def my_means(values, window):\n    usable = len(values) // window * window\n    return np.asarray(values[:usable], dtype=float).reshape(-1, window).mean(axis=1)"

EXERCISE_USING_HELPER = "def windowed_mean(values, window):\n    return my_means(values, window)"

EXERCISE_WITH_HELPER_INSIDE = HELPER_IN_OWN_CELL + "\n\n" + EXERCISE_USING_HELPER

CHECK = 'check("01.windowed_mean", windowed_mean)'


@pytest.fixture(scope="module")
def kernel_outputs(tmp_path_factory):
    """One kernel run holding judy's case, the fixed case and a value exercise's case."""
    notebook = _notebook(
        SETUP,
        HELPER_IN_OWN_CELL,
        EXERCISE_USING_HELPER,
        CHECK,
        EXERCISE_WITH_HELPER_INSIDE,
        CHECK,
        # A value exercise whose cell uses the learner's own variable.
        "my_kind = 'covariate'",
        "shift_kind = {'A': my_kind, 'B': 'prior', 'C': 'concept'}",
        'check("01.shift_kind", shift_kind)',
        # The same value, written inside its cell: no warning.
        "shift_kind = {'A': 'covariate', 'B': 'prior', 'C': 'concept'}",
        'check("01.shift_kind", shift_kind)',
    )
    return _run(notebook, tmp_path_factory.mktemp("cellnames"))


def test_a_helper_from_the_learners_own_cell_is_named_in_a_warning(kernel_outputs):
    output = kernel_outputs[3]
    assert "✔ 01.windowed_mean" in output  # the answer itself is right...
    assert "⚠ 01.windowed_mean: this will score 0 when graded" in output  # ...and will score 0
    assert "`my_means`" in output and "move it into the exercise cell" in output
    assert "`np`" not in output  # released by the set-up cell


def test_no_warning_when_the_helper_is_inside_the_exercise_cell(kernel_outputs):
    output = kernel_outputs[5]
    assert "✔ 01.windowed_mean" in output
    assert "⚠" not in output


def test_a_value_exercise_built_from_the_learners_own_variable_is_warned(kernel_outputs):
    assert "⚠ 01.shift_kind" in kernel_outputs[8] and "`my_kind`" in kernel_outputs[8]
    assert "⚠" not in kernel_outputs[10]


@pytest.mark.parametrize("lesson", [lesson for lesson in LESSONS if (ROOT / "notebooks" / lesson.notebook).exists()], ids=lambda item: item.number)
def test_no_solution_exercise_cell_uses_a_name_the_grader_would_not_have(lesson):
    # The warning must never fire on the course's own solutions, and a solution that needed a
    # name from a cell the grader does not run (one after the last exercise) would score 0.
    from course_lib.grading.notebooks import cell_source, exercise_id

    solution = read_notebook(ROOT / "notebooks" / "solutions" / lesson.notebook)
    released = set(released_names_of(read_notebook(ROOT / "notebooks" / lesson.notebook))["names"])
    ipython_builtins = {"display", "get_ipython"}
    for cell in solution["cells"]:
        if cell["cell_type"] == "code" and exercise_id(cell):
            missing = free_names(cell_source(cell)) - released - ipython_builtins
            assert not missing, f"{exercise_id(cell)} uses {sorted(missing)}, which no released cell defines"
