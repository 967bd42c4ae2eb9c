"""Per-student feedback: Markdown, HTML and a Gradescope ``results.json``.

Each graded submission gets a folder ``RESULTS/students/<folder>/<lesson>/`` (the folder name
from :func:`assign_folders`), to hand back to the student as it is (``RESULTS/students/<folder>``
holds everything of one student and nothing for the instructor's eyes only), with

- ``feedback.md`` and ``feedback.html``: the score of every exercise, which public or hidden case
  failed with expected vs got, and the hint for the mistake, in the words of the notebook's own
  self-check. Hidden cases are named by the type and shape of their inputs, never their data or
  the test code;
- ``results.json``: the same in the Gradescope autograder format (one test for the public and one
  for the hidden cases of each exercise, with score, max_score, output and visibility);

the feedback also lists the instructor's manual adjustments with their comments, and says when the
submission counted as late and what that cost. The grader's flags (reference used, edited cells...)
are for the instructor: they are in the gradebook and the record, never in the feedback, and notes
name a cell by its heading, never by a position the student cannot see;
(a run with a term also zips each student's folder into ``RESULTS/return/<folder>.zip``, see
:func:`write_return_zips`), and a folder ``RESULTS/instructor/<folder>/<lesson>/`` for the
instructor only, with

- ``record.json``: everything the grader knows (exception messages, what hidden cases returned,
  the seed), which a re-run reads to skip unchanged work;
- ``output.txt``: the start of what the notebook printed (a submission could print its hidden
  inputs).

The student's files never show the grading seed, an exception's message (its type only) or what
the code returned on a hidden case.

Examples
--------
>>> safe_name("Zoë/../x"), safe_name(".."), safe_name(".hidden")
('Zoë_.._x', '_', '_hidden')
"""

from __future__ import annotations

import html
import io
import json
import unicodedata
import zipfile
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Iterable

from course_lib.grading.atomic import write_bytes_atomic, write_text_atomic
from course_lib.grading.selfcheck import CheckResult

#: Gradescope visibility of each exercise's tests.
PUBLIC_VISIBILITY = "visible"
HIDDEN_VISIBILITY = "after_published"


def safe_name(name: str) -> str:
    """A file-name-safe version of a student id (Unicode kept, separators and controls replaced).

    The result is NFC-normalised, has no path separator, control character or leading dot, and
    is at most 120 characters long, so it is one plain folder name on every file system.
    """
    name = unicodedata.normalize("NFC", str(name))
    cleaned = "".join(
        "_" if ch in '/\\:*?"<>|' or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in name
    ).strip()
    cleaned = "_" + cleaned.lstrip(".") if cleaned.startswith(".") else cleaned
    cleaned = cleaned[:120]
    return "_" if cleaned.strip("._ ") == "" else cleaned


@dataclass(frozen=True)
class Folder:
    """The results folder name given to a student id, and why it is not just :func:`safe_name`."""

    name: str
    note: str | None = None


def assign_folders(students: Iterable[str]) -> dict[str, Folder]:
    """Give every student id its own folder name, resolving collisions in a fixed order.

    Ids that map to the same name (``x:y`` and ``x_y``; ``Zoë`` composed and decomposed; ``Bob``
    and ``bob`` on a case-insensitive disk) get ``name~2``, ``name~3``... in sorted order of
    the ids, and a note saying where their results are (without naming the other student: the
    note is part of the feedback handed back).

    Examples
    --------
    >>> folders = assign_folders(["x_y", "x:y"])
    >>> folders["x_y"].name, folders["x:y"].name
    ('x_y', 'x_y~2')
    >>> folders["x:y"].note
    "its folder name x_y is also another student's; its results are in x_y~2"
    """
    taken: dict[str, str] = {}
    folders = {}
    # An id that already is a safe name keeps it; the others give way, in sorted order.
    for student in sorted(set(students), key=lambda s: (safe_name(s) != s, s)):
        base = safe_name(student)
        name, number = base, 1
        while name.casefold() in taken:
            number += 1
            name = f"{base}~{number}"
        note = None
        if number > 1:
            first = taken[base.casefold()]
            why = (
                "differ only in their Unicode normalisation"
                if unicodedata.normalize("NFC", first) == unicodedata.normalize("NFC", student)
                else None
            )
            # The note reaches this student's feedback: it must not name the other student.
            note = f"its folder name {base} is also another student's" + (
                f" (the two ids {why})" if why else ""
            ) + f"; its results are in {name}"
        taken[name.casefold()] = student
        folders[student] = Folder(name, note)
    return folders


def inside(root: str | Path, *parts: str) -> Path:
    """``root/part/...``, after checking that every part is one plain name and the result stays in ``root``.

    Raises
    ------
    ValueError
        If a part is empty, ``.``, ``..``, holds a separator or a NUL, or the path (symbolic links
        resolved) leaves ``root``.
    """
    base = Path(root).resolve()
    path = base
    for part in parts:
        if not isinstance(part, str) or part in ("", ".", "..") or any(c in part for c in "/\\\x00"):
            raise ValueError(f"refusing to write to a path built from {part!r}")
        path = path / part
    resolved = path.resolve()
    if resolved != base and base not in resolved.parents:
        raise ValueError(f"refusing to write outside the results folder: {str(path)!r}")
    return path


def student_folder(out: str | Path, folder: str, lesson: str | None) -> Path:
    """Where a student's feedback for a lesson goes (``out/students/<folder>/<lesson>``)."""
    return inside(out, "students", folder, lesson if lesson else "unknown")


def instructor_folder(out: str | Path, folder: str, lesson: str | None) -> Path:
    """Where the instructor-only record and log go (``out/instructor/<folder>/<lesson>``)."""
    return inside(out, "instructor", folder, lesson if lesson else "unknown")


def _points(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _failures(result: CheckResult | None) -> list[tuple[str, str]]:
    """(line, hint) for each failed case, labelled "public case N" or "hidden case N"."""
    if result is None:
        return []
    kind = "hidden" if result.hidden else "public"
    return [
        (f"{kind} case {outcome.number} ({outcome.description}): {outcome.detail}", outcome.hint)
        for outcome in result.outcomes
        if not outcome.passed
    ]


def _headline(result: CheckResult | None) -> str | None:
    return None if result is None else result.report().splitlines()[0]


def exercise_text(grade: Any, results: tuple[CheckResult | None, ...] | None = None) -> str:
    """The plain-text feedback of one exercise, or of some of its ``results`` (a Gradescope test)."""
    lines = [grade.message] if grade.message else []
    for result in (grade.public, grade.hidden) if results is None else results:
        headline = _headline(result)
        if headline:
            lines.append(headline)
        for line, hint in _failures(result):
            lines.append(f"  {line}")
            if hint:
                lines.append(f"    hint: {hint}")
    return "\n".join(lines)


def _term_lines(record: Any) -> list[str]:
    """Plain-text lines on the instructor's adjustments and lateness (empty when there are none)."""
    lines = []
    for item in getattr(record, "adjustments", None) or []:
        lines.append(
            f"{item['exercise']}: {_points(item['before'])} → {_points(item['after'])} points. {item['comment']}"
        )
    late = getattr(record, "late", "")
    if late:
        penalty = getattr(record, "penalty", 0.0)
        cost = f"{_points(penalty)} points were taken off" if penalty else "no points were taken off"
        lines.append(f"Submitted late ({late}): {cost}.")
    return lines


def _score_line(record: Any) -> str:
    final = getattr(record, "final_score", record.score)
    if abs(final - record.score) > 1e-12:
        return (
            f"Score: {_points(final)} / {_points(record.max_score)} "
            f"(graded automatically: {_points(record.score)}; see the adjustments below)"
        )
    return f"Score: {_points(record.score)} / {_points(record.max_score)}"


def feedback_title(record: Any) -> str:
    """``Lesson 02 · Drift statistics...`` for a course lesson, ``Assignment 11 · ...`` for an
    instructor's own (numbers no lesson uses)."""
    from course_lib.lessons import LESSONS

    kind = "Lesson" if any(item.number == record.lesson for item in LESSONS) else "Assignment"
    return f"{kind} {record.lesson}" + (f" · {record.lesson_title}" if record.lesson_title else "")


def render_markdown(record: Any) -> str:
    """Feedback for one student and lesson, in Markdown."""
    title = feedback_title(record)
    lines = [
        f"# Feedback for {record.student} · {title}",
        "",
        f"**{_score_line(record)}** · status: {record.status} · submission `{record.submission}`",
        "",
        "Hidden cases are described by the type and shape of their inputs only; what your code "
        "returned or raised on them is not shown.",
        "",
    ]
    if record.exercises:
        lines += ["| exercise | score | result |", "|---|---|---|"]
        lines += [f"| {g.id} | {_points(g.score)} / {g.points} | {g.status} |" for g in record.exercises]
        lines.append("")
    for grade in record.exercises:
        lines += [f"## {grade.id}: {grade.title} ({_points(grade.score)} / {grade.points})", ""]
        if grade.message:
            lines += [grade.message, ""]
        for result in (grade.public, grade.hidden):
            headline = _headline(result)
            if headline is None:
                continue
            lines.append(headline)
            lines.append("")
            for line, hint in _failures(result):
                lines.append(f"- {line}" + (f"  \n  *hint:* {hint}" if hint else ""))
            if _failures(result):
                lines.append("")
    if _term_lines(record):
        lines += ["## From your instructor", ""] + [f"- {line}" for line in _term_lines(record)] + [""]
    if record.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in record.notes] + [""]
    return "\n".join(lines)


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }
.passed { color: #176b2c; } .failed, .crashed, .timed-out, .reference-used { color: #a4161a; }
.hint { color: #555; font-style: italic; } code { background: #f3f3f3; padding: 0 .2rem; }
"""


def render_html(record: Any) -> str:
    """Feedback for one student and lesson, as a standalone HTML page."""
    e = html.escape
    title = feedback_title(record)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Feedback for {e(record.student)} · {e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Feedback for {e(record.student)} · {e(title)}</h1>",
        f"<p><strong>{e(_score_line(record))}</strong> · status: "
        f"{e(record.status)} · submission <code>{e(record.submission)}</code></p>",
        "<p>Hidden cases are described by the type and shape of their inputs only; what your code "
        "returned or raised on them is not shown.</p>",
    ]
    if record.exercises:
        parts.append("<table><tr><th>exercise</th><th>score</th><th>result</th></tr>")
        for grade in record.exercises:
            css = grade.status.replace(" ", "-")
            parts.append(
                f"<tr><td>{e(grade.id)}</td><td>{_points(grade.score)} / {grade.points}</td>"
                f'<td class="{e(css)}">{e(grade.status)}</td></tr>'
            )
        parts.append("</table>")
    for grade in record.exercises:
        parts.append(f"<h2>{e(grade.id)}: {e(grade.title)} ({_points(grade.score)} / {grade.points})</h2>")
        if grade.message:
            parts.append(f"<p>{e(grade.message)}</p>")
        for result in (grade.public, grade.hidden):
            headline = _headline(result)
            if headline is None:
                continue
            parts.append(f'<p class="{e(result.status)}">{e(headline)}</p>')
            failures = _failures(result)
            if failures:
                parts.append("<ul>")
                for line, hint in failures:
                    hint_html = f'<br><span class="hint">hint: {e(hint)}</span>' if hint else ""
                    parts.append(f"<li>{e(line)}{hint_html}</li>")
                parts.append("</ul>")
    if _term_lines(record):
        items = "".join(f"<li>{e(line)}</li>" for line in _term_lines(record))
        parts.append(f"<h2>From your instructor</h2><ul>{items}</ul>")
    if record.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(note)}</li>" for note in record.notes) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _split(total: float, part: float, whole: float) -> tuple[float, float]:
    """``total`` split in proportion ``part / whole``, both shares rounded to 2 decimals and adding up."""
    first = round(total * part / whole, 2) if whole else 0.0
    return first, round(total - first, 2)


def gradescope_results(record: Any) -> dict[str, Any]:
    """The record in Gradescope's autograder ``results.json`` format.

    An exercise's points are split between its public and hidden tests in proportion to their
    numbers of cases, rounded to 2 decimals so that the two tests add up to the exercise's points
    and score. Hidden tests are visible after the grades are published, so the top-level
    ``output`` (always visible) gives the public cases' points only, never the total.

    References
    ----------
    Gradescope autograder specifications, https://gradescope-autograders.readthedocs.io/en/latest/specs/
    """
    tests = []
    public_score = public_max = 0.0
    hidden_tests = False
    for position, grade in enumerate(record.exercises, start=1):
        results = [r for r in (grade.public, grade.hidden) if r is not None]
        total = sum(r.total for r in results)
        points = float(grade.points)
        if not results or total == 0:
            tests.append(
                {
                    "name": f"{grade.id}: {grade.title}",
                    "number": f"{position}",
                    "score": 0.0,
                    "max_score": round(points, 2),
                    "status": "failed",
                    "output": grade.message or grade.status,
                    "visibility": PUBLIC_VISIBILITY,
                }
            )
            public_max += round(points, 2)
            continue
        referenced = grade.status == "reference used"
        passed = 0.0 if referenced else float(sum(r.passed for r in results))
        maxima = _split(points, results[0].total, total)
        scores = _split(points * passed / total, 0.0 if referenced else results[0].passed, passed or 1.0)
        for sub, result in enumerate(results, start=1):
            kind = "hidden" if result.hidden else "public"
            max_score = maxima[sub - 1] if len(results) > 1 else round(points, 2)
            score = scores[sub - 1] if len(results) > 1 else round(points * passed / total, 2)
            score = min(max(score, 0.0), max_score)
            tests.append(
                {
                    "name": f"{grade.id}: {grade.title} ({kind} cases)",
                    "number": f"{position}.{sub}",
                    "score": score,
                    "max_score": max_score,
                    "status": "passed" if result.status == "passed" and not referenced else "failed",
                    "output": exercise_text(grade, (result,)),
                    "visibility": HIDDEN_VISIBILITY if result.hidden else PUBLIC_VISIBILITY,
                }
            )
            if result.hidden:
                hidden_tests = True
            else:
                public_score += score
                public_max += max_score
    if hidden_tests:
        summary = (
            f"Public cases: {_points(public_score)} / {_points(public_max)} points ({record.status}). "
            "Hidden cases are graded too; their results and your total appear when the grades are published."
        )
    else:
        summary = f"Score {_points(record.score)} / {_points(record.max_score)} ({record.status})."
    if record.notes:
        summary += "\n" + "\n".join(record.notes)
    return {
        "score": round(sum(test["score"] for test in tests), 2),
        "execution_time": round(float(record.seconds), 3),
        "output": summary,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


#: Largest size of each result file; every part of a record is bounded far below this, so the
#: bound only guards against a mistake (the file then says it was cut).
MAX_FILE_BYTES = 4 * 2**20


def _bounded(text: str, limit: int = MAX_FILE_BYTES) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    cut = data[: limit - 200].decode("utf-8", errors="ignore")
    return cut + f"\n\n[cut: this file would have been {len(data)} bytes; the grader keeps at most {limit}]\n"


def _bounded_json(data: Any, limit: int = MAX_FILE_BYTES) -> str:
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    if len(text.encode("utf-8")) <= limit:
        return text
    return json.dumps({"error": f"the record was larger than {limit} bytes and was not written"}) + "\n"


def write_student_outputs(record: Any, student_dir: str | Path, instructor_dir: str | Path) -> None:
    """Write a record's feedback and Gradescope results into ``student_dir`` (to hand back), and
    its full record and printed output into ``instructor_dir`` (instructor only; the record last,
    as a re-run reads it)."""
    student_dir, instructor_dir = Path(student_dir), Path(instructor_dir)
    write_text_atomic(student_dir / "feedback.md", _bounded(render_markdown(record)))
    write_text_atomic(student_dir / "feedback.html", _bounded(render_html(record)))
    write_text_atomic(student_dir / "results.json", _bounded_json(gradescope_results(record)))
    write_text_atomic(instructor_dir / "output.txt", _bounded(record.output))
    write_text_atomic(instructor_dir / "record.json", _bounded_json(record.to_json()))


def write_return_zips(out: str | Path) -> list[Path]:
    """Zip each student's folder of ``out/students`` into ``out/return/<folder>.zip``; return the zips.

    Each zip holds exactly what the student may see (``<NN>/feedback.md``, ``feedback.html``,
    ``results.json``), ready to upload to the LMS as that student's feedback. Zips of students no
    longer in ``students/`` are removed, so ``return/`` always matches the last run.
    """
    out = Path(out)
    students = out / "students"
    target = inside(out, "return")
    written = []
    folders = sorted(path for path in students.iterdir() if path.is_dir() and not path.is_symlink()) if students.is_dir() else []
    for folder in folders:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=(2020, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
        path = inside(out, "return", folder.name + ".zip")
        write_bytes_atomic(path, buffer.getvalue())
        written.append(path)
    keep = {path.name for path in written}
    for stale in target.glob("*.zip") if target.is_dir() else []:
        if stale.name not in keep:
            stale.unlink()
    return written
