"""Notebook tooling: student versions of the source notebooks, and their exercise cells.

The source of every lesson is ``notebooks/solutions/NN_slug.ipynb``: solutions in place and
outputs executed. An exercise cell carries ``{"course": {"exercise": "NN.name"}}`` in its
metadata and marks its solution with ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines.
The student version (``notebooks/NN_slug.ipynb``) is generated from it:

- an indented solution block (the body of a function) becomes
  ``raise NotImplementedError("write your answer here")`` at the same indentation, so the
  self-check reports "not attempted yet" instead of an error;
- a solution block at the top level is removed, so the placeholder the author wrote above it
  (``answer = None``) remains;
- outputs and execution counts are cleared; cell ids and all metadata are kept.

Only the standard library is used: the grader and ``make student`` call it, and it has no
reason to pull in nbformat.

Examples
--------
>>> source = "def f(x):\\n    # BEGIN SOLUTION\\n    return 2 * x\\n    # END SOLUTION\\n"
>>> print(strip_solutions(source))
def f(x):
    raise NotImplementedError("write your answer here")
<BLANKLINE>
"""

from __future__ import annotations

import ast
import copy
import json
import re
import threading
from pathlib import Path
from typing import Any

METADATA_KEY = "course"
BEGIN_SOLUTION = "# BEGIN SOLUTION"
END_SOLUTION = "# END SOLUTION"
STUB = 'raise NotImplementedError("write your answer here")'

_MARKER = re.compile(r"^(?P<indent>[ \t]*)# (?P<kind>BEGIN|END) SOLUTION\s*$")


class NotebookFormatError(ValueError):
    """A source notebook breaks the exercise format (unbalanced markers, duplicate ids...)."""


def cell_source(cell: dict) -> str:
    """A cell's source as one string (notebooks store it as a string or a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def exercise_id(cell: dict) -> str | None:
    """The exercise id in a cell's metadata, or None for any other cell."""
    meta = cell.get("metadata", {}).get(METADATA_KEY, {})
    return meta.get("exercise") if isinstance(meta, dict) else None


def strip_solutions(source: str) -> str:
    """Replace every ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block of a cell by its stub."""
    out: list[str] = []
    inside: str | None = None
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        match = _MARKER.match(line.rstrip("\n"))
        if match and match["kind"] == "BEGIN":
            if inside is not None:
                raise NotebookFormatError(f"line {number}: BEGIN SOLUTION inside another solution block")
            inside = match["indent"]
            if inside:
                out.append(f"{inside}{STUB}\n")
        elif match and match["kind"] == "END":
            if inside is None:
                raise NotebookFormatError(f"line {number}: END SOLUTION without BEGIN SOLUTION")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise NotebookFormatError("BEGIN SOLUTION without END SOLUTION")
    return "".join(out)


# CPython 3.11 can fail with "SystemError: AST constructor recursion depth mismatch" when two
# threads parse at once (python/cpython#106905); the grader works on two threads.
_PARSE_LOCK = threading.Lock()


def parse_source(source: str) -> ast.Module | None:
    """A cell's source as a syntax tree, or None when it is not valid Python."""
    try:
        with _PARSE_LOCK:
            return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def has_solution(source: str) -> bool:
    """Whether a cell's source contains a solution block."""
    return any(_MARKER.match(line) for line in source.splitlines())


def read_notebook(path: str | Path) -> dict:
    """Read a notebook as plain JSON."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def dumps_notebook(notebook: dict) -> str:
    """Serialise a notebook the way Jupyter does (one-space indent, sorted keys)."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_notebook(notebook: dict, path: str | Path) -> None:
    """Write a notebook, creating the folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_notebook(notebook), encoding="utf-8")


def student_version(notebook: dict) -> dict:
    """The student copy of a source notebook (see the module docstring)."""
    student = copy.deepcopy(notebook)
    seen: set[str] = set()
    for cell in student.get("cells", []):
        ident = exercise_id(cell)
        if ident is not None:
            if ident in seen:
                raise NotebookFormatError(f"exercise id {ident!r} is used by two cells")
            seen.add(ident)
        if cell.get("cell_type") != "code":
            continue
        source = cell_source(cell)
        if has_solution(source):
            if ident is None:
                raise NotebookFormatError(
                    f"a cell with a solution block has no exercise id in its metadata: {source[:60]!r}"
                )
            source = strip_solutions(source)
        cell["source"] = source
        cell["outputs"] = []
        cell["execution_count"] = None
        cell.get("metadata", {}).pop("execution", None)
    student.setdefault("metadata", {}).pop("widgets", None)
    return student


def exercise_cells(notebook: dict) -> dict[str, str]:
    """Map exercise id -> source of its cell (the only part of a submission the grader uses)."""
    cells: dict[str, str] = {}
    for cell in notebook.get("cells", []):
        ident = exercise_id(cell)
        if ident is not None and cell.get("cell_type") == "code":
            cells[ident] = cell_source(cell)
    return cells


def solution_dir(root: str | Path) -> Path:
    return Path(root) / "notebooks" / "solutions"


def student_notebooks(root: str | Path) -> dict[Path, str]:
    """Every student notebook's path and the text ``make student`` writes there."""
    root = Path(root)
    result: dict[Path, str] = {}
    for source in sorted(solution_dir(root).glob("[0-9][0-9]_*.ipynb")):
        result[root / "notebooks" / source.name] = dumps_notebook(student_version(read_notebook(source)))
    return result


RELEASED_NAMES_MODULE = Path("course_lib") / "grading" / "released_names.py"


def student_files(root: str | Path) -> dict[Path, str]:
    """Every file ``make student`` writes: the student notebooks, and what their cells define
    (:mod:`course_lib.grading.released_names`, read by the self-check's name warning)."""
    from course_lib.grading.cellnames import released_names_module

    root = Path(root)
    files = student_notebooks(root)
    lessons = [(path.name[:2], json.loads(text)) for path, text in files.items()]
    files[root / RELEASED_NAMES_MODULE] = released_names_module(lessons)
    return files


def write_student_notebooks(root: str | Path) -> list[Path]:
    """Regenerate ``notebooks/*.ipynb`` from ``notebooks/solutions/``; return what changed."""
    changed = []
    for path, text in student_files(root).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def stale_student_notebooks(root: str | Path) -> list[Path]:
    """Files ``make student`` writes (see :func:`student_files`) that differ from what it would write."""
    return [
        path
        for path, text in student_files(root).items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


#: A source notebook must stay under this size (figures are most of it); a test checks it.
MAX_SOURCE_NOTEBOOK_BYTES = 1_000_000


def compact_png(data: bytes, colors: int = 128) -> bytes:
    """The same figure as a palette PNG of ``colors`` colours, if that is smaller.

    Matplotlib writes full-colour PNGs, and the anti-aliased, semi-transparent points of a
    scatter plot compress badly: a palette of 128 colours looks the same and is about a third
    of the size. Needs Pillow (a dependency of matplotlib), imported here only.
    """
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(data))
    if image.mode == "P":
        return data  # compacted already: quantizing again would only lose colours
    palette = image.convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    buffer = io.BytesIO()
    palette.save(buffer, format="png", optimize=True)
    return buffer.getvalue() if len(buffer.getvalue()) < len(data) else data


def compact_notebook_figures(folder: str | Path) -> list[Path]:
    """Rewrite the PNG outputs of every notebook in ``folder`` with :func:`compact_png`.

    Run by ``make solutions`` after executing the source notebooks. nbval never compares PNG
    outputs, so this changes only the size of the committed notebooks. Returns the changed files.
    """
    import base64

    changed = []
    for path in sorted(Path(folder).glob("[0-9][0-9]_*.ipynb")):
        notebook = read_notebook(path)
        touched = False
        for cell in notebook.get("cells", []):
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                if "image/png" not in data:
                    continue
                raw = base64.b64decode("".join(data["image/png"]))
                smaller = compact_png(raw)
                if smaller is not raw:
                    data["image/png"] = base64.b64encode(smaller).decode("ascii")
                    touched = True
        if touched:
            write_notebook(notebook, path)
            changed.append(path)
    return changed
