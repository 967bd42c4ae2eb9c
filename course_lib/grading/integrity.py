"""What the grader flags in a submission without running it.

- :func:`reference_use`: an exercise cell that reaches for course_lib's reference solution of the
  same exercise (importing it, calling it through a course_lib module, or asking the grading
  package for it). Such an answer scores 0 for that exercise. The sandbox also counts calls to
  the reference while the exercise runs, which catches what this static look misses.
- :func:`tampering`: an exercise cell that assigns into course_lib or rebinds ``check``; harmless
  to the grade (the grader compares answers in its own process) but worth a look.
- :func:`cell_changes`: non-exercise cells edited, deleted or added, found from the release
  manifest's checksums. The grader never runs a submission's own copies of those cells.

Examples
--------
>>> from course_lib.grading import get_exercise
>>> exercise = get_exercise("01.windowed_mean")
>>> reference_use("from course_lib.simulate import windowed_mean as w", exercise)
'imports the reference course_lib.simulate.windowed_mean'
>>> reference_use("def windowed_mean(values, window):\\n    return values", exercise) is None
True
"""

from __future__ import annotations

import ast
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from course_lib.grading.notebooks import cell_source, parse_source
from course_lib.grading.registry import Exercise
from course_lib.grading.release import ReleasedLesson, cell_checksum, exercise_id_of

_REFERENCE_GETTERS = frozenset({"answer_or_reference", "reference_solution", "expected_for", "get_exercise"})
_CHECKER_NAMES = frozenset({"check", "answer_or_reference", "run_cases", "judge", "compare"})


def course_lib_names(sources: Iterable[str]) -> set[str]:
    """Names that code binds to course_lib or one of its modules (``import course_lib.stats as cs``)."""
    names = {"course_lib"}
    for source in sources:
        tree = parse_source(source)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "course_lib" or alias.name.startswith("course_lib."):
                        names.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "course_lib" or node.module.startswith("course_lib."):
                    for alias in node.names:
                        if alias.name != "*":
                            names.add(alias.asname or alias.name)
    return names


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def reference_use(source: str, exercise: Exercise, *, setup_sources: Iterable[str] = ()) -> str | None:
    """Why an exercise cell uses the exercise's reference solution, or None if it does not seem to.

    Parameters
    ----------
    source : str
        The exercise cell's code.
    exercise : Exercise
        The exercise; its ``reference`` names the solution to look for.
    setup_sources : iterable of str
        The released notebook's other code cells, whose imports the cell can use.
    """
    tree = parse_source(source)
    if tree is None:
        return None
    module, _, attribute = exercise.reference.partition(":")
    first, last = attribute.split(".")[0], attribute.split(".")[-1]
    roots = course_lib_names([*setup_sources, source])
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported = {alias.name for alias in node.names}
            if node.module == module and (first in imported or "*" in imported):
                return f"imports the reference {module}.{attribute}"
        elif isinstance(node, ast.Attribute) and node.attr == last and _root_name(node.value) in roots:
            return f"uses the reference {ast.unparse(node)}"
        elif isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if called in _REFERENCE_GETTERS:
                return f"asks the grading package for the reference ({called})"
            if (
                called == "getattr"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value == last
            ):
                return f"uses the reference through getattr(..., {last!r})"
        elif isinstance(node, ast.Constant) and node.value == exercise.reference:
            return f"names the reference {exercise.reference!r}"
    return None


def tampering(source: str, *, setup_sources: Iterable[str] = ()) -> list[str]:
    """What an exercise cell changes in course_lib or the checker (one line per finding)."""
    tree = parse_source(source)
    if tree is None:
        return []
    roots = course_lib_names([*setup_sources, source]) | {"sys"}
    found = []
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in _CHECKER_NAMES:
            found.append(f"line {node.lineno}: redefines {node.name}()")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr" and node.args:
            if _root_name(node.args[0]) in roots:
                found.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
        for target in targets:
            if isinstance(target, (ast.Attribute, ast.Subscript)) and _root_name(target) in roots:
                if _root_name(target) == "sys" and "modules" not in ast.unparse(target):
                    continue
                found.append(f"line {node.lineno}: assigns to {ast.unparse(target)[:80]}")
            elif isinstance(target, ast.Name) and target.id in _CHECKER_NAMES:
                found.append(f"line {node.lineno}: rebinds {target.id}")
    return found


@dataclass(frozen=True)
class CellChanges:
    """Non-exercise cells of a submission that differ from the release.

    Attributes
    ----------
    edited, deleted : tuple of int
        Positions (in the released notebook) of cells changed or missing.
    added : int
        Cells the submission has and the release does not (empty cells are not counted).
    """

    edited: tuple[int, ...] = ()
    deleted: tuple[int, ...] = ()
    added: int = 0


def cell_changes(released: ReleasedLesson, submission: dict) -> CellChanges:
    """Compare a submission's non-exercise cells with the release manifest's checksums.

    Cells are matched by their Jupyter cell id when they have one, otherwise by content.
    """
    cells = submission.get("cells") if isinstance(submission, dict) else None
    cells = [cell for cell in (cells or []) if isinstance(cell, dict) and exercise_id_of(cell) is None]
    by_id: dict[str, str] = {}
    unmatched: Counter[str] = Counter()
    for cell in cells:
        if not cell_source(cell).strip():
            continue
        checksum = cell_checksum(cell)
        if isinstance(cell.get("id"), str) and cell["id"] not in by_id:
            by_id[cell["id"]] = checksum
        unmatched[checksum] += 1
    edited, deleted, pending = [], [], []
    for cell in released.cells:
        if cell.cell_id is not None and cell.cell_id in by_id:
            if by_id[cell.cell_id] != cell.sha256:
                edited.append(cell.index)
                unmatched[by_id[cell.cell_id]] -= 1
            else:
                unmatched[cell.sha256] -= 1
        else:
            pending.append(cell)
    empty = cell_checksum({"cell_type": "code", "source": ""}), cell_checksum({"cell_type": "markdown", "source": ""})
    for cell in pending:
        if unmatched[cell.sha256] > 0:
            unmatched[cell.sha256] -= 1
        elif cell.sha256 not in empty:
            deleted.append(cell.index)
    added = sum(count for count in unmatched.values() if count > 0)
    return CellChanges(tuple(sorted(edited)), tuple(sorted(deleted)), added)


# --------------------------------------------------------------------------------------------
# a course_lib without the answers, for the sandbox


@dataclass(frozen=True)
class WithheldCourseLib:
    """A copy of course_lib whose answers are withheld, and what was withheld.

    Attributes
    ----------
    folder : str
        The copy (a folder named ``course_lib``), shown to sandboxes in place of course_lib.
    functions : frozenset of str
        ``module:function`` names whose body was replaced by a call to the grader, which runs the
        real one and counts the calls (:func:`course_lib.grading.sandbox.call_reference`).
    data : frozenset of str
        ``module:name`` module constants (answer keys such as lesson 01's ``_MYSTERY_SHIFTS``)
        set to None in the copy.
    kept : tuple of str
        References that are not plain module functions (classes, methods): left in the copy,
        so their use is found only by :func:`reference_use`. None exists, and
        ``tests/test_autograder_sandbox.py`` fails if one is registered: an instance's state
        lives in the sandbox, so withholding a class would take a grader that holds every
        instance and serves each method and attribute, or state shipped as plain data, which the
        course's classes (detectors holding deques and random generators) do not have.
    """

    folder: str
    functions: frozenset[str]
    data: frozenset[str]
    kept: tuple[str, ...]


def _module_path(root: Path, module: str) -> Path | None:
    parts = module.split(".")
    if parts[0] != "course_lib":
        return None
    path = root.joinpath(*parts[1:]).with_suffix(".py") if len(parts) > 1 else root / "__init__.py"
    return path if path.is_file() else None


def _top_functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _private_constants(tree: ast.Module) -> set[str]:
    """Private module constants that hold a table (``_KEY = {...}``): possible answer keys."""
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if not isinstance(getattr(node, "value", None), (ast.Dict, ast.List, ast.Tuple, ast.Set)):
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id.startswith("_") and not target.id.startswith("__"):
                names.add(target.id)
    return names


def _stub(function: ast.FunctionDef, qualified: str) -> None:
    """Replace ``function``'s body by a call to the grader that passes on every argument."""
    spec = function.args
    positional = [arg.arg for arg in spec.posonlyargs + spec.args]
    items = positional + ([f"*{spec.vararg.arg}"] if spec.vararg else [])
    keywords = [f"{arg.arg!r}: {arg.arg}" for arg in spec.kwonlyargs]
    keywords += [f"**{spec.kwarg.arg}"] if spec.kwarg else []
    call = (
        "return __import__('course_lib.grading.sandbox', fromlist=['call_reference']).call_reference("
        f"{qualified!r}, ({', '.join(items)}{',' if len(items) == 1 else ''}), {{{', '.join(keywords)}}})"
    )
    docstring = ast.Expr(ast.Constant("Withheld in the grading sandbox: the grader computes it."))
    function.body = [docstring, *ast.parse(call).body]


def withheld_course_lib(destination: str | Path, references: Iterable[str]) -> WithheldCourseLib:
    """Write a copy of course_lib into ``destination`` without the answers of ``references``.

    Each reference (``module:function``) that is a plain function of a course_lib module loses
    its body, as do the module constants whose names start with ``_`` that it reads (answer
    keys) and every other function of that module that reads them (the puzzles' generators).
    A withheld function still works in the sandbox: it asks the grader, which runs the real one
    and sees every call. The copy is what the bubblewrap sandbox shows as course_lib.

    Parameters
    ----------
    destination : path
        An existing empty folder; the copy is written to ``destination/course_lib``.
    references : iterable of str
        ``module:attribute`` names (the exercises' ``reference``).
    """
    import shutil

    import course_lib

    source = Path(course_lib.__file__).resolve().parent
    target = Path(destination) / "course_lib"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    trees: dict[str, ast.Module] = {}

    def tree_of(module: str) -> ast.Module | None:
        if module not in trees:
            path = _module_path(source, module)
            if path is None:
                return None
            trees[module] = ast.parse(path.read_text(encoding="utf-8"))
        return trees[module]

    functions: set[tuple[str, str]] = set()
    kept = []
    for reference in sorted(set(references)):
        module, _, attribute = reference.partition(":")
        tree = tree_of(module)
        if tree is not None and attribute in _top_functions(tree):
            functions.add((module, attribute))
        else:
            kept.append(reference)
    data: set[tuple[str, str]] = set()
    for module, name in sorted(functions):
        body = _top_functions(tree_of(module))[name]  # type: ignore[arg-type]
        constants = _private_constants(tree_of(module))  # type: ignore[arg-type]
        for node in ast.walk(body):
            if isinstance(node, ast.Name) and node.id in constants:
                data.add((module, node.id))
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("course_lib"):
                other = tree_of(node.module)
                for alias in node.names:
                    if other is not None and alias.name in _private_constants(other):
                        data.add((node.module, alias.name))
    for module, constant in sorted(data):
        for name, function in _top_functions(tree_of(module)).items():  # type: ignore[arg-type]
            if any(isinstance(node, ast.Name) and node.id == constant for node in ast.walk(function)):
                functions.add((module, name))
    for module in sorted({module for module, _ in functions} | {module for module, _ in data}):
        tree = tree_of(module)
        assert tree is not None
        for name, function in _top_functions(tree).items():
            if (module, name) in functions:
                _stub(function, f"{module}:{name}")
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if any(isinstance(t, ast.Name) and (module, t.id) in data for t in targets):
                node.value = ast.Constant(None)
        path = _module_path(target, module)
        assert path is not None
        path.write_text(ast.unparse(ast.fix_missing_locations(tree)) + "\n", encoding="utf-8")
    for folder, _, files in os.walk(target):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return WithheldCourseLib(
        str(target),
        frozenset(f"{module}:{name}" for module, name in functions),
        frozenset(f"{module}:{name}" for module, name in data),
        tuple(kept),
    )
