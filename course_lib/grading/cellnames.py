"""Names an exercise cell uses without defining them: answers that pass in the notebook and score 0.

The grader runs a lesson's released cells and the learner's exercise cells, nothing else. A
helper the learner wrote in a cell of their own is therefore missing when the submission is
graded, and an exercise that used it raises ``NameError`` there although its self-check passed
in the notebook. :func:`ungraded_names_warning` is how ``check()`` says so before it happens.

What the released cells define is computed from the student notebooks when they are generated
(``make student`` writes :mod:`course_lib.grading.released_names`; an instructor's release puts
it into the hand-out's ``selfcheck.json``), so this works in the browser too, where the notebook
file is not at hand.

Only the standard library is used: ``check()`` runs in the browser and in the grader.

Examples
--------
>>> sorted(free_names("def f(x):\\n    return my_ecdf(x) + np.pi + len(x)\\n"))
['my_ecdf', 'np']
>>> sorted(bound_names("import numpy as np\\nfrom scipy import stats\\nx, y = 1, 2\\ndef f(): pass\\n"))
['f', 'np', 'stats', 'x', 'y']
"""

from __future__ import annotations

import ast
import builtins
import linecache
import symtable
import sys
from typing import Any, Iterable

from course_lib.grading.notebooks import cell_source, exercise_id, parse_source

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class _TopLevelBindings(ast.NodeVisitor):
    """Names bound at a module's top level (not inside functions, classes or comprehensions)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.names.add(node.id)

    def visit_alias(self, node: ast.alias) -> None:
        if node.name != "*":
            self.names.add(node.asname or node.name.split(".")[0])

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.names.add(node.target.id)
        self.generic_visit(node)

    def generic_visit(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _SCOPES):
                # The scope's own name is bound here; what happens inside it is not top level.
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    self.names.add(child.name)
                    for part in (*child.decorator_list, *getattr(child, "bases", ())):
                        self.visit(part)
                continue
            self.visit(child)


def bound_names(source: str) -> set[str]:
    """Names a cell binds at its top level: assignments, imports, ``def``, ``class``, loops.

    A cell that is not valid Python (a cell magic, a syntax error) binds nothing we can see.
    """
    tree = parse_source(source)
    if tree is None:
        return set()
    visitor = _TopLevelBindings()
    visitor.visit(tree)
    return visitor.names


def free_names(source: str) -> set[str]:
    """Names a cell reads from the global namespace without binding them itself (builtins aside).

    Built on :mod:`symtable`, so the scoping is Python's own: parameters, locals, closures and
    comprehension variables are not free; a name read inside a function that the cell binds at
    its top level is not free either. Returns an empty set when the cell does not compile.
    """
    try:
        table = symtable.symtable(source, "<cell>", "exec")
    except (SyntaxError, ValueError):
        return set()
    bound = bound_names(source)
    used: set[str] = set()

    def collect(scope: symtable.SymbolTable, top: bool) -> None:
        for symbol in scope.get_symbols():
            if top:
                if symbol.is_referenced():
                    used.add(symbol.get_name())
            elif symbol.is_declared_global() or (symbol.is_referenced() and symbol.is_global()):
                # `global n; n += 1` only assigns in symtable's eyes, yet needs n to exist.
                used.add(symbol.get_name())
        for child in scope.get_children():
            collect(child, False)

    collect(table, True)
    return {
        name
        for name in used - bound
        if not hasattr(builtins, name) and not (name.startswith("__") and name.endswith("__"))
    }


def released_names_of(notebook: dict) -> dict[str, Any]:
    """What a student notebook's cells define, as :mod:`released_names` stores it per lesson.

    ``names``: every name bound at the top level of a code cell up to the last exercise cell
    (the cells the grader runs); ``answers``: each exercise's answer name, as its check cell
    passes it.
    """
    from course_lib.grading.release import answer_expression

    cells = [cell for cell in notebook.get("cells", []) if cell.get("cell_type") == "code"]
    last = max((index for index, cell in enumerate(cells) if exercise_id(cell)), default=-1)
    names: set[str] = set()
    for cell in cells[: last + 1]:
        names |= bound_names(cell_source(cell))
    answers = {}
    for cell in cells:
        ident = exercise_id(cell)
        if ident:
            answers[ident] = answer_expression(notebook, ident)
    return {"names": sorted(names), "answers": dict(sorted(answers.items()))}


def released_names_module(notebooks: Iterable[tuple[str, dict]]) -> str:
    """The source of :mod:`course_lib.grading.released_names` for ``(lesson, notebook)`` pairs."""
    lines = [
        '"""What each lesson\'s released cells define (generated by `make student`; do not edit).',
        "",
        "Read by :mod:`course_lib.grading.cellnames` to warn about names an exercise cell uses",
        "but does not define. ``tests/test_notebook_pipeline.py`` fails when this file is stale.",
        '"""',
        "",
        "RELEASED = {",
    ]
    for lesson, notebook in notebooks:
        entry = released_names_of(notebook)
        lines.append(f"    {lesson!r}: {{")
        lines.append(f"        'names': {tuple(entry['names'])!r},")
        lines.append(f"        'answers': {entry['answers']!r},")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _lesson_entry(exercise_id_: str) -> dict[str, Any] | None:
    lesson = exercise_id_.split(".", 1)[0]
    try:
        from course_lib.grading.released_names import RELEASED
    except ImportError:  # a checkout where `make student` has not run yet
        RELEASED = {}
    if lesson in RELEASED:
        return RELEASED[lesson]
    # An instructor's assignment: its hand-out's selfcheck.json says what its cells define.
    from course_lib.grading.assignments import _read_frozen, _selfcheck_files

    for path in _selfcheck_files():
        try:
            entry = _read_frozen(path).get("released_names", {}).get(lesson)
        except (OSError, ValueError, AttributeError):
            continue
        if entry:
            return entry
    return None


def _history() -> list[str]:
    """The sources of the cells run so far in this IPython session (empty outside IPython)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if shell is None:
        return []
    history = shell.user_ns.get("In", [])
    return [text for text in history if isinstance(text, str)]


def exercise_cell_source(answer: Any, answer_name: str | None) -> str | None:
    """The source of the cell that defined ``answer``, when it was defined in a notebook cell.

    A function keeps its cell's code name, and IPython keeps each cell's source in
    :mod:`linecache` under it. A value has no such link: the latest cell before this one that
    binds the answer's name is its cell.
    """
    code = getattr(answer, "__code__", None)
    if code is not None:
        if getattr(answer, "__module__", None) != "__main__":
            return None  # a library function, e.g. the reference itself
        lines = linecache.getlines(code.co_filename)
        if lines:
            return "".join(lines)
    if not answer_name or not answer_name.isidentifier():
        return None
    for source in reversed(_history()[:-1]):
        if answer_name in bound_names(source):
            return source
    return None


def ungraded_names(exercise_id_: str, answer: Any, namespace: dict[str, Any] | None = None) -> list[str]:
    """Names the answer's cell uses that only cells of the learner's own define.

    Parameters
    ----------
    exercise_id_ : str
        The exercise checked.
    answer : object
        The learner's function or value.
    namespace : dict, optional
        The notebook's global namespace (default: ``__main__``'s). Only names that exist there
        count: a name defined nowhere already fails the check with ``NameError``.
    """
    entry = _lesson_entry(exercise_id_)
    if entry is None:
        return []
    source = exercise_cell_source(answer, entry["answers"].get(exercise_id_))
    if source is None:
        return []
    if namespace is None:
        namespace = vars(sys.modules["__main__"])
    released = set(entry["names"])
    return sorted(
        name
        for name in free_names(source)
        if name in namespace and name not in released and not hasattr(builtins, name)
    )


def ungraded_names_warning(exercise_id_: str, answer: Any, namespace: dict[str, Any] | None = None) -> str | None:
    """The warning ``check()`` prints when :func:`ungraded_names` finds any, else None.

    Examples
    --------
    >>> def my_ecdf(values):
    ...     return values
    >>> namespace = {"my_ecdf": my_ecdf}
    >>> print(ungraded_names_warning("01.windowed_mean", None, namespace))
    None
    """
    try:
        names = ungraded_names(exercise_id_, answer, namespace)
    except Exception:  # noqa: BLE001 - a warning we cannot work out must never break check()
        return None
    if not names:
        return None
    quoted = ", ".join(f"`{name}`" for name in names)
    it = "it" if len(names) == 1 else "them"
    return (
        f"⚠ {exercise_id_}: this will score 0 when graded. The exercise cell uses {quoted}, "
        f"defined in a cell of your own, and only exercise cells are graded: move {it} into the "
        "exercise cell."
    )
