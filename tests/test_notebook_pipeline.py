"""The notebook pipeline: source notebooks -> student notebooks, and what each must satisfy.

Strict execution of the source notebooks is nbval's job (``make test`` runs it on
notebooks/solutions/). These tests check the generated student copies and the format rules.
"""

from __future__ import annotations

import copy
import re

import nbformat
import numpy as np
import pytest
from hypothesis import given, strategies as st
from nbclient import NotebookClient

from conftest import ROOT
from course_lib.grading import exercise_ids
from course_lib.grading.notebooks import (
    MAX_SOURCE_NOTEBOOK_BYTES,
    compact_png,
    NotebookFormatError,
    cell_source,
    exercise_cells,
    exercise_id,
    read_notebook,
    stale_student_notebooks,
    strip_solutions,
    student_version,
)
from course_lib.lessons import LESSONS, browser_setup_cell

SOURCES = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))
SOURCE_IDS = [path.stem for path in SOURCES]


def _code_cell(source: str, **course) -> dict:
    metadata = {"course": course} if course else {}
    return {"cell_type": "code", "id": "c1", "metadata": metadata, "source": source, "outputs": [{"x": 1}], "execution_count": 3}


# --- the transformation -------------------------------------------------------------------


def test_an_indented_solution_becomes_a_stub_at_its_indentation():
    source = "def f(x):\n    '''doc'''\n    # BEGIN SOLUTION\n    y = 2 * x\n    return y\n    # END SOLUTION\n"
    assert strip_solutions(source) == "def f(x):\n    '''doc'''\n    raise NotImplementedError(\"write your answer here\")\n"


def test_a_top_level_solution_is_removed_and_the_placeholder_stays():
    source = "answer = None  # your answer\n# BEGIN SOLUTION\nanswer = 'holm'\n# END SOLUTION\nprint(answer)"
    assert strip_solutions(source) == "answer = None  # your answer\nprint(answer)"


@pytest.mark.parametrize(
    "source",
    ["# BEGIN SOLUTION\nx = 1\n", "x = 1\n# END SOLUTION\n", "# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n"],
)
def test_unbalanced_markers_are_an_error(source):
    with pytest.raises(NotebookFormatError):
        strip_solutions(source)


def test_student_version_clears_outputs_and_keeps_ids_and_metadata():
    notebook = {
        "cells": [_code_cell("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", exercise="01.f")],
        "metadata": {"course": {"lesson": "01"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    original = copy.deepcopy(notebook)
    student = student_version(notebook)
    cell = student["cells"][0]
    assert cell["outputs"] == [] and cell["execution_count"] is None
    assert cell["id"] == "c1" and exercise_id(cell) == "01.f"
    assert "return 1" not in cell_source(cell)
    assert student["metadata"] == {"course": {"lesson": "01"}}
    assert notebook == original, "student_version must not change its input"


def test_a_solution_outside_an_exercise_cell_is_an_error():
    notebook = {"cells": [_code_cell("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n")], "metadata": {}}
    with pytest.raises(NotebookFormatError, match="no exercise id"):
        student_version(notebook)


def test_duplicate_exercise_ids_are_an_error():
    cell = _code_cell("x = None\n", exercise="01.f")
    with pytest.raises(NotebookFormatError, match="used by two cells"):
        student_version({"cells": [cell, copy.deepcopy(cell)], "metadata": {}})


# --- the committed notebooks ----------------------------------------------------------------


def test_there_is_a_source_notebook_for_the_first_lesson():
    assert SOURCES and SOURCES[0].name == LESSONS[0].notebook


def test_committed_student_notebooks_equal_what_make_student_writes():
    stale = stale_student_notebooks(ROOT)
    assert not stale, f"run `make student`: {[str(p.relative_to(ROOT)) for p in stale]}"


def test_no_student_notebook_contains_solution_code():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path.name


@pytest.mark.parametrize("path", SOURCES, ids=SOURCE_IDS)
def test_every_lesson_opens_and_closes_the_same_way(path):
    # AUTHORING.md: goals, time, what to know first and how it is graded at the top; Summary,
    # Common misconceptions and References as the last three cells.
    cells = read_notebook(path)["cells"]
    opening = cell_source(cells[0])
    for part in ("**Time**: about", "**Before you start**", "**How it is graded**"):
        assert part in opening, f"{path.name}: the first cell must say {part}"
    assert "only the exercise cells are graded" in opening, f"{path.name}: say that only exercise cells are graded"
    closing = [cell_source(cell).split("\n", 1)[0] for cell in cells if cell["cell_type"] == "markdown"][-3:]
    assert closing == ["## Summary", "## Common misconceptions", "## References"], path.name


def test_every_student_notebook_has_a_source():
    sources = {path.name for path in SOURCES}
    students = {path.name for path in (ROOT / "notebooks").glob("*.ipynb")}
    assert students == sources


@pytest.mark.parametrize("path", SOURCES, ids=SOURCE_IDS)
def test_source_notebook_follows_the_lesson_format(path):
    notebook = read_notebook(path)
    number = path.name[:2]
    lesson = next(item for item in LESSONS if item.number == number)
    assert path.name == lesson.notebook
    assert notebook["metadata"].get("course", {}).get("lesson") == number
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    cells = notebook["cells"]
    assert cells[0]["cell_type"] == "markdown" and cell_source(cells[0]).startswith(f"# Lesson {number}")
    first_code = next(cell for cell in cells if cell["cell_type"] == "code")
    setup = cell_source(first_code)
    assert setup.startswith(browser_setup_cell().rsplit("[", 1)[0]), "first code cell must be the browser setup cell"
    assert re.search(r'await piplite\.install\(\["course-lib"', setup)
    ids = [cell.get("id") for cell in cells]
    assert all(ids) and len(set(ids)) == len(ids), "every cell needs a unique id"
    assert set(exercise_cells(notebook)) == set(exercise_ids(number)), "exercise cells and registry disagree"


@pytest.mark.parametrize("path", SOURCES, ids=SOURCE_IDS)
def test_source_notebook_is_committed_executed_without_errors(path):
    notebook = read_notebook(path)
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code" or not cell_source(cell).strip():
            continue
        assert cell["execution_count"] is not None, f"unexecuted cell {cell['id']}: run `make solutions`"
        assert not [o for o in cell["outputs"] if o["output_type"] == "error"], f"error output in cell {cell['id']}"


def _execute(notebook: dict, tmp_path) -> nbformat.NotebookNode:
    node = nbformat.from_dict(copy.deepcopy(notebook))
    client = NotebookClient(node, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return node


def _text_output(cell) -> str:
    return "".join(out.get("text", "") for out in cell.get("outputs", []) if out["output_type"] == "stream")


@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCES, ids=SOURCE_IDS)
def test_untouched_student_notebook_runs_top_to_bottom(path, tmp_path):
    student = read_notebook(ROOT / "notebooks" / path.name)
    executed = _execute(student, tmp_path)  # raises CellExecutionError on any error
    outputs = "\n".join(_text_output(cell) for cell in executed.cells if cell.cell_type == "code")
    for ident in exercise_ids(path.name[:2]):
        assert f"{ident}: not attempted yet" in outputs, f"no 'not attempted' feedback for {ident}"
    assert "✔" not in outputs, "an untouched exercise must not pass"


@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCES, ids=SOURCE_IDS)
def test_a_wrong_answer_gets_a_failing_check_with_a_specific_message(path, tmp_path):
    student = read_notebook(ROOT / "notebooks" / path.name)
    for cell in student["cells"]:
        ident = exercise_id(cell)
        if ident is None:
            continue
        source = cell_source(cell)
        if "raise NotImplementedError" in source:
            cell["source"] = source.replace('raise NotImplementedError("write your answer here")', "return -1.5")
        else:
            cell["source"] = source + "\n" + _wrong_value_assignment(source)
    executed = _execute(student, tmp_path)
    outputs = "\n".join(_text_output(cell) for cell in executed.cells if cell.cell_type == "code")
    for ident in exercise_ids(path.name[:2]):
        pattern = rf"✘ {re.escape(ident)}: (0 of \d+ public cases pass|the public case fails)"
        assert re.search(pattern, outputs), f"{ident} did not fail"
    assert "case 1 (" in outputs and "expected" in outputs and "got" in outputs
    assert "so the cells below use the reference solution" in outputs


def _wrong_value_assignment(source: str) -> str:
    """For a value exercise, assign a wrong value to the placeholder variable."""
    match = re.search(r"^(\w+)\s*=\s*None", source, flags=re.MULTILINE)
    assert match, f"a value exercise needs a `name = None` placeholder:\n{source}"
    return f"{match[1]} = 'no idea'"


def test_lesson01_wrong_answer_gets_the_partial_window_hint(tmp_path):
    student = read_notebook(ROOT / "notebooks" / LESSONS[0].notebook)
    for cell in student["cells"]:
        if exercise_id(cell) == "01.windowed_mean":
            cell["source"] = cell_source(cell).replace(
                'raise NotImplementedError("write your answer here")',
                "import numpy as np\n    v = np.asarray(values, float)\n"
                "    return np.array([v[i:i + window].mean() for i in range(0, len(v), window)])",
            )
    executed = _execute(student, tmp_path)
    outputs = "\n".join(_text_output(cell) for cell in executed.cells if cell.cell_type == "code")
    assert "✘ 01.windowed_mean: 3 of 4 public cases pass." in outputs
    assert "hint: your last window is shorter than the others" in outputs


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"), max_size=40), max_size=20))
def test_a_cell_without_markers_is_unchanged(lines):
    source = "\n".join(line for line in lines if "SOLUTION" not in line)
    assert strip_solutions(source) == source


@pytest.mark.parametrize("path", SOURCES, ids=SOURCE_IDS)
def test_source_notebook_stays_under_a_megabyte(path):
    """Issue 8: 1.5 MB notebooks are slow to open in the browser and bloat the repository;
    `make solutions` compacts the figures (compact_notebook_figures)."""
    assert path.stat().st_size < MAX_SOURCE_NOTEBOOK_BYTES, f"{path.name}: {path.stat().st_size} bytes"


def test_compacting_a_figure_keeps_it_a_png_of_the_same_size_and_is_idempotent():
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    fig, ax = plt.subplots(figsize=(4, 3))
    rng = np.random.default_rng(0)
    ax.plot(rng.normal(size=3000), ".", alpha=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72)
    plt.close(fig)
    raw = buffer.getvalue()
    small = compact_png(raw)
    assert len(small) < 0.8 * len(raw)
    assert Image.open(io.BytesIO(small)).size == Image.open(io.BytesIO(raw)).size
    assert compact_png(small) is small
