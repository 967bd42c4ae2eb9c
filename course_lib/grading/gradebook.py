"""The class gradebook and summary of a grading run.

- ``gradebook.csv``: one row per student and lesson: student, lesson, one column per exercise
  (after the instructor's adjustments), total, max, status, flags, the grading seed, the
  submission's path, then late (why, or empty), the late penalty and the final score;
- ``gradebook_wide.csv`` (when the run has a :class:`course_lib.grading.roster.Term`): one row per
  student (every roster student, with or without a submission): student, name, LMS id, per lesson
  its final score and one column per exercise, then the course total, its maximum, and the late
  lessons and flags;
- ``gradebook.json``: the run (seed, release fingerprint, limits, isolation, whether the
  submissions were left untouched) and every record without the printed output;
- ``summary.md`` / ``summary.html`` with ``score_distribution.png``: per lesson, the score
  distribution, the statuses, and the exercises most often failed with their commonest hint.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import statistics
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from course_lib.grading.atomic import write_bytes_atomic, write_text_atomic
from course_lib.grading.release import Release

NOT_DONE = ("not attempted", "missing")


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def exercise_columns(release: Release, records: list[Any]) -> list[str]:
    """The exercise columns: every exercise of the lessons in ``records``, in course order."""
    lessons = {record.lesson for record in records}
    return [
        item.id for number in sorted(release.lessons) if number in lessons for item in release.lessons[number].exercises
    ]


def _spreadsheet_safe(text: str) -> str:
    """Text from file names, made inert for spreadsheets that run cells starting with ``=``."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def record_flags(record: Any) -> list[str]:
    """A record's flags, with the term's (late, adjusted, roster problems) after the grader's."""
    flags = list(record.flags)
    if getattr(record, "late", ""):
        flags.append("late")
    if getattr(record, "adjustments", None):
        flags.append(f"adjusted: {', '.join(sorted({item['exercise'] for item in record.adjustments}))}")
    if getattr(record, "roster_problem", ""):
        flags.append(record.roster_problem)
    return flags


def gradebook_rows(run: Any, release: Release) -> tuple[list[str], list[list[str]]]:
    """The CSV header and rows."""
    from course_lib.grading.roster import adjusted_exercise_scores

    columns = exercise_columns(release, run.records)
    header = [
        "student", "lesson", *columns, "total", "max", "status", "flags", "seed", "submission",
        "late", "penalty", "final",
    ]  # fmt: skip
    rows = []
    for record in sorted(run.records, key=lambda r: (r.student, r.lesson, r.submission)):
        scores = {ident: _number(score) for ident, score in adjusted_exercise_scores(record).items()}
        rows.append(
            [
                _spreadsheet_safe(record.student),
                record.lesson,
                *(scores.get(column, "") for column in columns),
                _number(record.adjusted_score),
                _number(record.max_score),
                record.status,
                "; ".join(record_flags(record)),
                str(record.seed),
                _spreadsheet_safe(record.submission),
                _spreadsheet_safe(record.late),
                _number(record.penalty),
                _number(record.final_score),
            ]
        )
    return header, rows


def wide_gradebook_rows(run: Any, release: Release, term: Any = None) -> tuple[list[str], list[list[str]]]:
    """One row per student: the header and rows of ``gradebook_wide.csv``.

    Every released lesson gets a column of its final score (after adjustments and any late
    penalty) followed by one column per exercise (after adjustments); an empty cell means no
    submission. Students of the roster without any submission get a row too, and adjustments of
    a lesson they did not submit count from 0.
    """
    from course_lib.grading.roster import adjusted_exercise_scores

    lessons = sorted(release.lessons)
    header = ["student", "name", "lms_id"]
    for number in lessons:
        header += [f"{number} total", *(item.id for item in release.lessons[number].exercises)]
    header += ["total", "max", "late", "flags"]
    roster = getattr(term, "roster", None)
    people: dict[str, dict[str, Any]] = {}
    for student in roster.students if roster is not None else ():
        people[student.student_id] = {"name": student.name, "lms_id": student.lms_id, "records": {}}
    for record in run.records:
        entry = people.setdefault(record.student, {"name": "", "lms_id": "", "records": {}})
        entry["name"] = entry["name"] or getattr(record, "name", "")
        entry["lms_id"] = entry["lms_id"] or getattr(record, "lms_id", "")
        if record.lesson in release.lessons:
            entry["records"][record.lesson] = record
    adjustments = getattr(term, "adjustments", None)
    course_max = sum(release.lessons[number].max_points for number in lessons)
    rows = []
    for student in sorted(people):
        entry = people[student]
        cells = [_spreadsheet_safe(student), _spreadsheet_safe(entry["name"]), _spreadsheet_safe(entry["lms_id"])]
        total, late, flags = 0.0, [], []
        for number in lessons:
            record = entry["records"].get(number)
            exercises = [item.id for item in release.lessons[number].exercises]
            if record is not None:
                scores = adjusted_exercise_scores(record)
                final = record.final_score
                cells += [_number(final), *(_number(scores[e]) if e in scores else "" for e in exercises)]
                total += final
                if record.late:
                    late.append(number)
                flags += [f"{number}: {flag}" for flag in record_flags(record) if flag != "late"]
                continue
            missing = [a for a in (adjustments.for_student(student) if adjustments else ()) if a.exercise in exercises]
            if not missing:
                cells += [""] * (1 + len(exercises))
                continue
            scores = {}
            for item in missing:
                scores[item.exercise] = item.apply(scores.get(item.exercise, 0.0))
            lesson_total = sum(scores.values())
            cells += [_number(lesson_total), *(_number(scores[e]) if e in scores else "" for e in exercises)]
            total += lesson_total
            flags.append(f"{number}: adjusted without a submission")
        cells += [_number(total), _number(course_max), " ".join(late), "; ".join(flags)]
        rows.append(cells)
    return header, rows


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_wide_gradebook(run: Any, out: str | Path, release: Release, term: Any = None) -> None:
    """Write ``gradebook_wide.csv`` into ``out`` (see :func:`wide_gradebook_rows`)."""
    header, rows = wide_gradebook_rows(run, release, term)
    write_text_atomic(Path(out) / "gradebook_wide.csv", _csv_text(header, rows))


def write_gradebook(run: Any, out: str | Path, release: Release) -> None:
    """Write ``gradebook.csv`` and ``gradebook.json`` into ``out``."""
    out = Path(out)
    header, rows = gradebook_rows(run, release)
    write_text_atomic(out / "gradebook.csv", _csv_text(header, rows))
    isolation = next((record.isolation for record in run.records if record.isolation), {})
    data = {
        "seed": run.seed,
        "release": run.release,
        "limits": asdict(run.limits),
        "isolation": {key: value for key, value in isolation.items() if key != "workdir"},
        "submissions_unchanged": run.submissions_unchanged,
        "reused": run.reused,
        "seconds": run.seconds,
        "skipped": [{"path": item.relpath, "reason": item.reason} for item in getattr(run, "skipped", [])],
        "records": [
            {key: value for key, value in record.to_json().items() if key != "output"} for record in run.records
        ],
    }
    write_text_atomic(out / "gradebook.json", json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def exercise_statistics(run: Any, lesson: str) -> list[dict[str, Any]]:
    """Per exercise of a lesson: submissions, attempts, full marks, mean score, commonest hint.

    Sorted from the most often failed (lowest share of full marks) to the least.
    """
    records = [record for record in run.records if record.lesson == lesson and record.exercises]
    table: dict[str, dict[str, Any]] = {}
    for record in records:
        for grade in record.exercises:
            row = table.setdefault(
                grade.id,
                {
                    "id": grade.id,
                    "title": grade.title,
                    "submissions": 0,
                    "attempted": 0,
                    "full": 0,
                    "score": 0.0,
                    "points": grade.points,
                    "hints": Counter(),
                },
            )
            row["submissions"] += 1
            row["attempted"] += grade.status not in NOT_DONE
            row["full"] += grade.status == "passed"
            row["score"] += grade.score
            for result in (grade.public, grade.hidden):
                for outcome in result.outcomes if result is not None else ():
                    if not outcome.passed and outcome.hint:
                        row["hints"][outcome.hint] += 1
    rows = []
    for row in table.values():
        n = row["submissions"]
        hint = row["hints"].most_common(1)
        rows.append(
            {
                "id": row["id"],
                "title": row["title"],
                "submissions": n,
                "attempted": row["attempted"],
                "full_marks": row["full"],
                "failed_share": 1 - row["full"] / n if n else 0.0,
                "mean_score": row["score"] / n if n else 0.0,
                "points": row["points"],
                "common_hint": hint[0][0] if hint else "",
            }
        )
    return sorted(rows, key=lambda r: (-r["failed_share"], r["id"]))


def _percentages(run: Any, lesson: str) -> list[float]:
    return [
        100.0 * record.score / record.max_score
        for record in run.records
        if record.lesson == lesson and record.max_score > 0
    ]


def score_distribution_png(run: Any, lessons: list[str]) -> bytes:
    """A histogram of the class's scores (percent of the maximum), one panel per lesson."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 2.6 * max(1, len(lessons))), layout="constrained")
    axes = figure.subplots(max(1, len(lessons)), 1, squeeze=False)[:, 0]
    if not lessons:
        axes[0].set_title("No graded submissions")
        axes[0].set_axis_off()
    for ax, lesson in zip(axes, lessons):
        values = _percentages(run, lesson)
        ax.hist(values, bins=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100.0001], color="#3b6ea5", edgecolor="white")
        ax.set_title(f"Lesson {lesson}: how the class scored ({len(values)} submissions)")
        ax.set_xlabel("Score (% of the maximum)")
        ax.set_ylabel("Students")
        ax.set_xlim(0, 100)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def summary_markdown(run: Any, release: Release) -> str:
    """The class summary in Markdown."""
    lessons = sorted({record.lesson for record in run.records})
    lines = [
        "# Grading summary",
        "",
        f"{len(run.records)} submissions graded with seed {run.seed} "
        f"({run.reused} unchanged since the last run were reused).",
        f"Submissions folder untouched: {'yes' if run.submissions_unchanged else 'NO'}.",
        "",
        "![Score distribution](score_distribution.png)",
        "",
    ]
    skipped = getattr(run, "skipped", [])
    if skipped:
        lines += [f"Skipped, not graded ({len(skipped)}):", ""]
        lines += [f"- {item.relpath}: {item.reason}" for item in skipped]
        lines.append("")
    for lesson in lessons:
        values = _percentages(run, lesson)
        statuses = Counter(record.status for record in run.records if record.lesson == lesson)
        title = release.lessons[lesson].title if lesson in release.lessons else "unknown lesson"
        lines += [f"## Lesson {lesson} · {title}", ""]
        if values:
            lines.append(
                f"Mean {statistics.fmean(values):.1f} %, median {statistics.median(values):.1f} % of the maximum "
                f"over {len(values)} submissions."
            )
        lines.append("Statuses: " + ", ".join(f"{status} {count}" for status, count in sorted(statuses.items())) + ".")
        lines.append("")
        rows = exercise_statistics(run, lesson)
        if rows:
            lines += [
                "Exercises, most often failed first:",
                "",
                "| exercise | attempted | full marks | failed | mean score | commonest hint |",
                "|---|---|---|---|---|---|",
            ]
            for row in rows:
                lines.append(
                    f"| {row['id']} | {row['attempted']}/{row['submissions']} | {row['full_marks']} | "
                    f"{100 * row['failed_share']:.0f} % | {row['mean_score']:.2f} / {row['points']} | "
                    f"{row['common_hint'].replace('|', chr(92) + '|')} |"
                )
            lines.append("")
        late = [record for record in run.records if record.lesson == lesson and getattr(record, "late", "")]
        if late:
            lines += [f"Late: {len(late)} ({', '.join(sorted(record.student for record in late))}).", ""]
        flagged = [record for record in run.records if record.lesson == lesson and record_flags(record)]
        if flagged:
            lines += ["Flagged submissions:", ""]
            lines += [f"- {record.student}: {'; '.join(record_flags(record))}" for record in flagged]
            lines.append("")
    return "\n".join(lines)


def summary_html(markdown_text: str) -> str:
    """The summary as a standalone HTML page (a small renderer for the Markdown above)."""
    e = html.escape
    body = []
    in_table = in_list = False
    for line in markdown_text.splitlines():
        if line.startswith("|"):
            cells = [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
            if set("".join(cells)) <= {"-"}:
                continue
            if not in_table:
                body.append("<table>")
                tag = "th"
                in_table = True
            else:
                tag = "td"
            body.append("<tr>" + "".join(f"<{tag}>{e(cell)}</{tag}>" for cell in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{e(line[2:])}</li>")
            continue
        if in_list:
            body.append("</ul>")
            in_list = False
        if line.startswith("## "):
            body.append(f"<h2>{e(line[3:])}</h2>")
        elif line.startswith("# "):
            body.append(f"<h1>{e(line[2:])}</h1>")
        elif line.startswith("!["):
            body.append('<p><img src="score_distribution.png" alt="Score distribution of the class"></p>')
        elif line:
            body.append(f"<p>{e(line)}</p>")
    if in_table:
        body.append("</table>")
    if in_list:
        body.append("</ul>")
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Grading summary</title>'
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_summary(run: Any, out: str | Path, release: Release) -> None:
    """Write ``summary.md``, ``summary.html`` and ``score_distribution.png`` into ``out``."""
    out = Path(out)
    lessons = sorted({record.lesson for record in run.records if record.max_score > 0})
    write_bytes_atomic(out / "score_distribution.png", score_distribution_png(run, lessons))
    text = summary_markdown(run, release)
    write_text_atomic(out / "summary.md", text)
    write_text_atomic(out / "summary.html", summary_html(text))
