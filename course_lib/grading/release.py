"""The release an instructor hands out: student notebooks and a manifest the grader trusts.

``python -m course_lib.grading release --out DIR`` writes a hand-out and, apart from it, what
the grader needs:

- ``DIR/students/``: for every source notebook in ``notebooks/solutions/`` (or in an
  instructor's course folder, ``--assignments``), its student copy ``NN_slug.ipynb``; a short
  ``README.md`` for the students (open the site, or install the included wheel and open the
  notebooks); the ``course_lib`` wheel; and, for an instructor's assignments, ``selfcheck.json``
  (the public cases frozen as data, :mod:`course_lib.grading.assignments`). This folder is what
  students get.
- ``DIR/instructor/manifest.json``, kept out of the students' folder, with

  - per lesson: the notebook's file name and SHA-256, the exercises (id, title, kind, points, the
    expression that names the learner's answer, the cell it sits in) and the maximum score;
  - a checksum of every non-exercise cell, so the grader can flag submissions whose setup, test
    or prose cells were edited or deleted (it never runs those cells from a submission anyway: it
    runs the released ones);
  - the checksum of ``selfcheck.json``, when there is one.

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
from course_lib.grading.registry import exercise_ids, get_exercise, lesson_numbers
from course_lib.lessons import LESSONS, lesson as find_lesson

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
#: The hand-out's two folders: what students get, and what stays with the instructor.
STUDENTS_DIR = "students"
INSTRUCTOR_DIR = "instructor"
README_NAME = "README.md"
#: The frozen self-check data of an instructor's assignments, in the students' folder.
SELFCHECK_FILE = "selfcheck.json"


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
    """Every released lesson (or assignment), by number.

    ``selfcheck`` is the frozen self-check data of an instructor's assignments (``selfcheck.json``),
    None for the course's own lessons, whose self-check runs from course_lib.
    """

    lessons: dict[str, ReleasedLesson]
    selfcheck: dict | None = None

    @property
    def selfcheck_text(self) -> str | None:
        if self.selfcheck is None:
            return None
        return json.dumps(self.selfcheck, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"

    def manifest(self) -> dict[str, Any]:
        from course_lib import __version__

        manifest = {
            "format": MANIFEST_FORMAT,
            "course_lib": __version__,
            "lessons": [self.lessons[number].manifest_entry() for number in sorted(self.lessons)],
        }
        text = self.selfcheck_text
        if text is not None:
            manifest["selfcheck"] = {
                "file": SELFCHECK_FILE,
                "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            }
        return manifest

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
    # The course's lessons, and the assignments of an instructor's course folder once loaded.
    return number if isinstance(number, str) and number in lesson_numbers() else None


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
    if number is None or number not in lesson_numbers():
        known = ", ".join(lesson_numbers())
        raise NotebookFormatError(
            f"{name}: metadata course.lesson must name a lesson or an assignment with registered exercises "
            f"({known}), got {number!r}"
        )
    student = student_version(source_notebook)
    registered = set(exercise_ids(number))
    is_lesson = any(item.number == number for item in LESSONS)
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
                f"{'lesson' if is_lesson else 'assignment'} {number} "
                f"(registered: {', '.join(sorted(registered)) or 'none'})"
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
        title=find_lesson(number).title if is_lesson else _assignment_title(source_notebook, number),
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


def _assignment_title(notebook: dict, number: str) -> str:
    from course_lib.grading.assignments import assignment_title

    return assignment_title(notebook, number)


def build_assignments_release(course: Any) -> tuple[Release, list[str]]:
    """Release an instructor's course folder (loaded with
    :func:`course_lib.grading.assignments.load_course`): its notebooks and frozen self-check data.

    Every exercise is checked first (:func:`course_lib.grading.assignments.check_exercise`), so a
    broken one is caught before any student sees it.

    Returns
    -------
    (Release, list of str)
        The release and the warnings found.

    Raises
    ------
    AssignmentError
        If the folder holds no assignment notebook, an exercise fails its checks, or a notebook
        uses an id the exercises module does not register.
    NotebookFormatError
        If a notebook breaks the exercise format.
    """
    from course_lib.grading.assignments import AssignmentError, check_exercise, selfcheck_data

    if not course.notebooks:
        raise AssignmentError(f"{course.folder} holds no assignment notebook (NN_slug.ipynb, e.g. 11_homework.ipynb)")
    warnings: list[str] = []
    errors: list[str] = []
    for exercise in course.exercises():
        try:
            warnings += check_exercise(exercise)
        except AssignmentError as exc:
            errors.append(str(exc))
    if errors:
        raise AssignmentError("\n".join(errors))
    released: dict[str, ReleasedLesson] = {}
    for path in course.notebooks:
        notebook = read_notebook(path)
        number = notebook_lesson(notebook) or path.name[:2]
        if number in {item.number for item in LESSONS}:
            raise AssignmentError(
                f"{path.name}: {number} is a lesson of the course; an assignment's notebook carries its own number "
                "(metadata course.lesson, e.g. '11') and its exercises' ids start with it"
            )
        if number not in course.numbers:
            raise AssignmentError(
                f"{path.name}: assignment {number} has no exercise registered in {course.folder / 'exercises.py'} "
                f"(registered assignments: {', '.join(course.numbers)})"
            )
        try:
            item = release_lesson(notebook, name=path.name)
        except NotebookFormatError as exc:
            raise AssignmentError(str(exc)) from exc
        if item.number in released:
            raise AssignmentError(f"two notebooks are assignment {item.number}: {released[item.number].notebook_name}, {path.name}")
        released[item.number] = item
    in_notebooks = [exercise.id for item in released.values() for exercise in item.exercises]
    for ident in course.exercise_ids:
        if ident not in in_notebooks:
            warnings.append(f"exercise {ident} is registered but no notebook cell carries it")
    exercises = [get_exercise(ident) for ident in in_notebooks]
    data = selfcheck_data(exercises)
    # What each hand-out notebook's cells define, for check()'s warning about names that only a
    # student's own cells define (course lessons keep theirs in released_names.py).
    from course_lib.grading.cellnames import released_names_of

    data["released_names"] = {number: released_names_of(item.notebook) for number, item in sorted(released.items())}
    return Release(released, data), warnings


def build_wheel(destination: str | Path, package: str | Path | None = None) -> Path:
    """Build the course_lib wheel (pure Python) from the source tree course_lib runs from.

    ``package`` builds it from another copy of the ``course_lib`` folder instead (a hand-out's
    copy without the answers, :func:`course_lib.grading.assignments.withheld_handout`), with the
    source tree's ``pyproject.toml``.

    Raises
    ------
    ValueError
        If course_lib is not installed from a source tree (then pass the wheel with ``--wheel``),
        or the build fails.
    """
    import subprocess
    import sys
    import tempfile

    import course_lib

    source = Path(course_lib.__file__).resolve().parent.parent
    if not (source / "pyproject.toml").is_file():
        raise ValueError("course_lib is not installed from its source tree; pass the wheel to include with --wheel")
    destination = Path(destination)
    with tempfile.TemporaryDirectory(prefix="course-lib-wheel-") as tmp:
        tree = source
        if package is not None:
            import shutil

            tree = Path(tmp) / "tree"
            tree.mkdir()
            for name in ("pyproject.toml", "README.md", "LICENSE"):
                if (source / name).is_file():
                    shutil.copy(source / name, tree / name)
            shutil.copytree(package, tree / "course_lib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        wheels = Path(tmp) / "wheels"
        command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(tree)]
        # Offline with the environment's setuptools first; an environment without setuptools (a
        # Python 3.12+ venv) lets pip fetch the build backend.
        done = subprocess.run([*command, "--no-build-isolation"], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        built = sorted(wheels.glob("course_lib-*-py3-none-any.whl"))
        if done.returncode != 0 or len(built) != 1:
            raise ValueError(f"building the course_lib wheel failed: {done.stderr.strip()[-500:] or 'no wheel'}")
        target = destination / built[0].name
        target.write_bytes(built[0].read_bytes())
    return target


def student_readme(release: Release, *, wheel: str | None, site: str | None) -> str:
    """The hand-out's README for students: what the notebooks are and two ways to open them."""
    lines = ["# Your notebooks", ""]
    for number in sorted(release.lessons):
        item = release.lessons[number]
        lines.append(f"- `{item.notebook_name}`: {item.title} ({item.max_points} points)")
    lines += ["", "## Open them", ""]
    if site:
        lines += [
            f"**In the browser, nothing to install**: open {site} and upload these notebooks"
            + (f" together with `{SELFCHECK_FILE}`" if release.selfcheck is not None else "")
            + " (drag them onto the file browser), then open one. Your work is saved in the browser;"
            " download the notebook (File > Download) to hand it in.",
            "",
        ]
    # Without an included wheel, the one the instructor hands out (course_lib is not on PyPI).
    lines += [
        f"**On your computer** (Python 3.11 or newer), in this folder:",
        "",
        "```bash",
        "python -m venv .venv",
        "source .venv/bin/activate            # Windows: .venv\\Scripts\\activate",
        # The extra brings what lessons 06 and 07 import (prometheus-client, OpenTelemetry, ...).
        f'pip install "{wheel}[observability]" jupyterlab'
        if wheel
        else f'pip install jupyterlab "course_lib-<version>-py3-none-any.whl[observability]"  # the wheel your instructor gives you',
        "jupyter lab",
        "```",
        "",
        "then open the notebooks from JupyterLab's file browser.",
    ]
    if release.selfcheck is not None:
        lines += [
            "",
            f"Keep `{SELFCHECK_FILE}` next to the notebooks: it holds the public cases that `check(...)` runs.",
        ]
    lines += [
        "",
        "## How your work is graded",
        "",
        "- Only the exercise cells (the cells under \"Exercise NN.name\") are graded, each run inside the",
        "  notebook's own other cells. Keep any helper you write inside the exercise cell.",
        "- `check(...)` under an exercise runs its public cases and explains what fails. The grader runs",
        "  the same cases and more, hidden ones of the same kind.",
        "- Hand in the `.ipynb` files themselves, with their names unchanged.",
        "",
    ]
    return "\n".join(lines)


def write_release(
    release: Release,
    out: str | Path,
    *,
    wheel: str | Path | None = None,
    site: str | None = None,
) -> list[Path]:
    """Write the hand-out ``out/students/`` and the manifest ``out/instructor/manifest.json``.

    Parameters
    ----------
    release : Release
    out : path
    wheel : path, optional
        A course_lib wheel to include in the students' folder (see :func:`build_wheel`).
    site : str, optional
        The address of the course site, for the students' README.

    Returns
    -------
    list of Path
        The files written.
    """
    from course_lib.grading.atomic import write_bytes_atomic, write_text_atomic

    out = Path(out)
    students, instructor = out / STUDENTS_DIR, out / INSTRUCTOR_DIR
    students.mkdir(parents=True, exist_ok=True)
    instructor.mkdir(parents=True, exist_ok=True)
    written = []
    for number in sorted(release.lessons):
        item = release.lessons[number]
        path = students / item.notebook_name
        write_text_atomic(path, item.text)
        written.append(path)
    text = release.selfcheck_text
    if text is not None:
        write_text_atomic(students / SELFCHECK_FILE, text)
        written.append(students / SELFCHECK_FILE)
    wheel_name = None
    if wheel is not None:
        wheel = Path(wheel)
        for old in students.glob("course_lib-*.whl"):
            if old.name != wheel.name:
                old.unlink()
        target = students / wheel.name
        if wheel.resolve() != target.resolve():
            write_bytes_atomic(target, wheel.read_bytes())
        written.append(target)
        wheel_name = wheel.name
    write_text_atomic(students / README_NAME, student_readme(release, wheel=wheel_name, site=site))
    written.append(students / README_NAME)
    manifest = instructor / MANIFEST_NAME
    write_text_atomic(manifest, json.dumps(release.manifest(), indent=1, ensure_ascii=False) + "\n")
    written.append(manifest)
    # A release written by an earlier version kept the manifest beside the notebooks.
    for stale in (out / MANIFEST_NAME,):
        if stale.is_file():
            stale.unlink()
    return written


def release_folders(folder: str | Path) -> tuple[Path, Path]:
    """The manifest and the students' folder of a release: ``folder/instructor/manifest.json`` with
    ``folder/students/``; or ``folder`` being that ``instructor/`` folder; or, as releases were
    written before the hand-out layout, ``folder/manifest.json`` beside the notebooks.

    Raises
    ------
    ValueError
        If no manifest is found.
    """
    folder = Path(folder)
    candidates = [
        (folder / INSTRUCTOR_DIR / MANIFEST_NAME, folder / STUDENTS_DIR),
        (folder / MANIFEST_NAME, folder.parent / STUDENTS_DIR if folder.name == INSTRUCTOR_DIR else folder),
    ]
    for manifest, students in candidates:
        if manifest.is_file():
            return manifest, students
    raise ValueError(
        f"release must be a folder written by `release --out`; {str(folder / INSTRUCTOR_DIR / MANIFEST_NAME)!r} "
        "does not exist"
    )


def read_release(folder: str | Path) -> Release:
    """Read a release written by :func:`write_release`, checking every file against the manifest.

    Raises
    ------
    ValueError
        If the manifest is missing or malformed, or a notebook (or the self-check data) differs
        from its checksum.
    """
    path, students = release_folders(folder)
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{path}: unsupported manifest format {manifest.get('format')!r}")
    lessons = {}
    for entry in manifest["lessons"]:
        notebook_path = students / entry["notebook"]
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
    selfcheck = None
    if isinstance(manifest.get("selfcheck"), dict):
        data_path = students / manifest["selfcheck"]["file"]
        text = data_path.read_text(encoding="utf-8")
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != manifest["selfcheck"]["sha256"]:
            raise ValueError(f"{data_path} does not match the manifest's checksum (was it edited after release?)")
        selfcheck = json.loads(text)
    return Release(lessons, selfcheck)
