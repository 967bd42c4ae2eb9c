"""The release an instructor hands out: student notebooks and a manifest the grader trusts.

``python -m course_lib.grading release --out DIR`` writes, for every source notebook in
``notebooks/solutions/``, its student copy ``DIR/NN_slug.ipynb`` and one ``DIR/manifest.json``:

- per lesson: the notebook's file name and SHA-256, the exercises (id, title, kind, points, the
  expression that names the learner's answer, the cell it sits in) and the maximum score;
- a checksum of every non-exercise cell, so the grader can flag submissions whose setup, test or
  prose cells were edited or deleted (it never runs those cells from a submission anyway: it runs
  the released ones).

The answer expression is read from the lesson's own check cell, ``check("01.x", windowed_mean)``
gives ``windowed_mean``, so the grader looks at exactly what the learner's self-check looks at.

Examples
--------
>>> cell = {"cell_type": "code", "source": "x = 1\\n", "metadata": {}}
>>> cell_checksum(cell) == cell_checksum({"cell_type": "code", "source": ["x = 1"], "metadata": {}})
True
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from course_lib.grading.notebooks import (
    METADATA_KEY,
    NotebookFormatError,
    cell_source,
    dumps_notebook,
    exercise_id,
    parse_source,
    read_notebook,
    student_version,
)
from course_lib.grading.registry import exercise_ids, get_exercise
from course_lib.lessons import LESSONS, lesson as find_lesson

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class CellChecksum:
    """A non-exercise cell of a released notebook: position, Jupyter cell id, type, checksum."""

    index: int
    cell_id: str | None
    cell_type: str
    sha256: str


@dataclass(frozen=True)
class ReleasedExercise:
    """An exercise as released: what the grader needs besides the registry entry."""

    id: str
    title: str
    kind: str
    points: int
    answer: str
    cell_index: int


@dataclass(frozen=True)
class ReleasedLesson:
    """One lesson of a release: its student notebook and what the manifest says about it."""

    number: str
    title: str
    notebook_name: str
    notebook: dict
    exercises: tuple[ReleasedExercise, ...]
    cells: tuple[CellChecksum, ...]

    @property
    def text(self) -> str:
        """The student notebook exactly as written to disk."""
        return dumps_notebook(self.notebook)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def max_points(self) -> int:
        return sum(exercise.points for exercise in self.exercises)

    def exercise(self, exercise_id: str) -> ReleasedExercise:
        for item in self.exercises:
            if item.id == exercise_id:
                return item
        raise KeyError(exercise_id)

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "lesson": self.number,
            "title": self.title,
            "notebook": self.notebook_name,
            "sha256": self.sha256,
            "max_points": self.max_points,
            "exercises": [
                {
                    "id": item.id,
                    "title": item.title,
                    "kind": item.kind,
                    "points": item.points,
                    "answer": item.answer,
                    "cell": item.cell_index,
                }
                for item in self.exercises
            ],
            "cells": [
                {"index": cell.index, "id": cell.cell_id, "type": cell.cell_type, "sha256": cell.sha256}
                for cell in self.cells
            ],
        }


@dataclass(frozen=True)
class Release:
    """Every released lesson, by lesson number."""

    lessons: dict[str, ReleasedLesson]

    def manifest(self) -> dict[str, Any]:
        from course_lib import __version__

        return {
            "format": MANIFEST_FORMAT,
            "course_lib": __version__,
            "lessons": [self.lessons[number].manifest_entry() for number in sorted(self.lessons)],
        }

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the manifest: changes whenever a released notebook or exercise changes."""
        text = json.dumps(self.manifest(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cell_checksum(cell: dict) -> str:
    """SHA-256 of a cell's type and source (line endings and surrounding blank space ignored)."""
    source = cell_source(cell).replace("\r\n", "\n").strip()
    return hashlib.sha256(f"{cell.get('cell_type', '')}\0{source}".encode("utf-8")).hexdigest()


def notebook_lesson(notebook: dict) -> str | None:
    """The lesson number in a notebook's metadata (``{"course": {"lesson": "NN"}}``), if valid."""
    meta = notebook.get("metadata") if isinstance(notebook, dict) else None
    course = meta.get(METADATA_KEY) if isinstance(meta, dict) else None
    number = course.get("lesson") if isinstance(course, dict) else None
    if isinstance(number, int) and not isinstance(number, bool):
        number = f"{number:02d}"
    return number if isinstance(number, str) and any(item.number == number for item in LESSONS) else None


def answer_expression(notebook: dict, exercise_id: str) -> str:
    """The expression a lesson's check cell passes as the answer of ``exercise_id``.

    Falls back on the last name the exercise cell defines when no check cell names it.

    Raises
    ------
    NotebookFormatError
        If neither gives an answer.
    """
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code" or exercise_id not in cell_source(cell):
            continue
        tree = parse_source(cell_source(cell))
        if tree is None:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "check"
                and len(node.args) >= 2
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value == exercise_id
            ):
                return ast.unparse(node.args[1])
    for cell in notebook.get("cells", []):
        if exercise_id_of(cell) == exercise_id:
            names = _defined_names(cell_source(cell))
            if names:
                return names[-1]
    raise NotebookFormatError(
        f"exercise {exercise_id!r}: no check cell `check({exercise_id!r}, answer)` and no name defined in its cell"
    )


def exercise_id_of(cell: dict) -> str | None:
    """The exercise id of a code cell, or None (markdown cells never count as exercises)."""
    return exercise_id(cell) if cell.get("cell_type") == "code" else None


def _defined_names(source: str) -> list[str]:
    tree = parse_source(source)
    if tree is None:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [target.id for target in targets if isinstance(target, ast.Name)]
    return names


def release_lesson(source_notebook: dict, *, name: str) -> ReleasedLesson:
    """Release one source notebook: its student copy and manifest entry.

    Parameters
    ----------
    source_notebook : dict
        The lesson's source notebook (with solutions).
    name : str
        Its file name, ``NN_slug.ipynb``; gives the lesson number when the metadata does not.

    Raises
    ------
    NotebookFormatError
        If the notebook names no known lesson, or an exercise cell has an id that is not a
        registered exercise of the lesson.
    """
    number = notebook_lesson(source_notebook) or (name[:2] if name[:2].isdigit() else None)
    if number is None or not any(item.number == number for item in LESSONS):
        raise NotebookFormatError(f"{name}: metadata course.lesson must name a lesson (01..{LESSONS[-1].number})")
    student = student_version(source_notebook)
    registered = set(exercise_ids(number))
    exercises = []
    cells = []
    for index, cell in enumerate(student.get("cells", [])):
        ident = exercise_id_of(cell)
        if ident is None:
            cells.append(CellChecksum(index, cell.get("id"), cell.get("cell_type", ""), cell_checksum(cell)))
            continue
        if ident not in registered:
            raise NotebookFormatError(
                f"{name}: cell {index} has exercise id {ident!r}, which is not a registered exercise of "
                f"lesson {number} (registered: {', '.join(sorted(registered)) or 'none'})"
            )
        exercise = get_exercise(ident)
        exercises.append(
            ReleasedExercise(
                id=ident,
                title=exercise.title,
                kind=exercise.kind,
                points=exercise.points,
                answer=answer_expression(student, ident),
                cell_index=index,
            )
        )
    return ReleasedLesson(
        number=number,
        title=find_lesson(number).title,
        notebook_name=name,
        notebook=student,
        exercises=tuple(exercises),
        cells=tuple(cells),
    )


def build_release(solutions_dir: str | Path, lessons: Iterable[str] | None = None) -> Release:
    """Release every source notebook ``NN_*.ipynb`` in ``solutions_dir`` (or only ``lessons``).

    Raises
    ------
    ValueError
        If the folder holds no lesson notebook, or a requested lesson has none.
    """
    folder = Path(solutions_dir)
    if not folder.is_dir():
        raise ValueError(f"solutions_dir must be a folder of source notebooks, got {str(folder)!r}")
    wanted = None if lessons is None else {find_lesson(number).number for number in lessons}
    released: dict[str, ReleasedLesson] = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        if wanted is not None and path.name[:2] not in wanted:
            continue
        item = release_lesson(read_notebook(path), name=path.name)
        if item.number in released:
            raise NotebookFormatError(
                f"two source notebooks are lesson {item.number}: {released[item.number].notebook_name}, {path.name}"
            )
        released[item.number] = item
    missing = sorted((wanted or set()) - set(released))
    if missing:
        raise ValueError(f"lessons {', '.join(missing)} have no source notebook in {str(folder)!r}")
    if not released:
        raise ValueError(f"no lesson notebooks (NN_slug.ipynb) in {str(folder)!r}")
    return Release(released)


def unreleased_exercises(release: Release) -> list[str]:
    """Registered exercises of the released lessons that no notebook cell carries."""
    missing = []
    for number, item in release.lessons.items():
        present = {exercise.id for exercise in item.exercises}
        missing += [ident for ident in exercise_ids(number) if ident not in present]
    return missing


def write_release(release: Release, out: str | Path) -> list[Path]:
    """Write the student notebooks and ``manifest.json`` into ``out``; return the paths."""
    from course_lib.grading.atomic import write_text_atomic

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for number in sorted(release.lessons):
        item = release.lessons[number]
        path = out / item.notebook_name
        write_text_atomic(path, item.text)
        written.append(path)
    manifest = out / MANIFEST_NAME
    write_text_atomic(manifest, json.dumps(release.manifest(), indent=1, ensure_ascii=False) + "\n")
    written.append(manifest)
    return written


def read_release(folder: str | Path) -> Release:
    """Read a release written by :func:`write_release`, checking every notebook against the manifest.

    Raises
    ------
    ValueError
        If the manifest is missing or malformed, or a notebook differs from its checksum.
    """
    folder = Path(folder)
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise ValueError(f"release must be a folder written by `release --out`; {str(path)!r} does not exist")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{path}: unsupported manifest format {manifest.get('format')!r}")
    lessons = {}
    for entry in manifest["lessons"]:
        notebook_path = folder / entry["notebook"]
        text = notebook_path.read_text(encoding="utf-8")
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != entry["sha256"]:
            raise ValueError(f"{notebook_path} does not match the manifest's checksum (was it edited after release?)")
        notebook = json.loads(text)
        lessons[entry["lesson"]] = ReleasedLesson(
            number=entry["lesson"],
            title=entry["title"],
            notebook_name=entry["notebook"],
            notebook=notebook,
            exercises=tuple(
                ReleasedExercise(e["id"], e["title"], e["kind"], int(e["points"]), e["answer"], int(e["cell"]))
                for e in entry["exercises"]
            ),
            cells=tuple(CellChecksum(c["index"], c["id"], c["type"], c["sha256"]) for c in entry["cells"]),
        )
    return Release(lessons)
